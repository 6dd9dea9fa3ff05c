//! Auto Scaling (Query protocol, API version 2011-01-01): launch configurations (seed 003's
//! `create-launch-configuration … --iam-instance-profile` verbatim), groups from a launch
//! configuration or an EC2 launch template, and their desired capacity, which becomes running
//! instances (each with its IMDS) in the same transaction as the change that set it.

use std::collections::BTreeMap;

use http::StatusCode;

use crate::http::{HttpResponse, RequestData};
use crate::launch::{self, LaunchSpec};
use crate::query::{Call, QueryError, Service};
use crate::state::{iso8601, State};
use crate::sts::params::Params;
use crate::sts::xml::{success_in, Xml};
use crate::world::{
    ids, EndpointState, HttpTokens, InstanceState, RawAutoScalingGroup, RawLaunchConfiguration,
    RawMetadataOptions, RawTemplateRef, RawWorld, World,
};

/// The Auto Scaling XML namespace.
pub const NS: &str = "http://autoscaling.amazonaws.com/doc/2011-01-01/";

/// Answers one Auto Scaling request.
pub fn handle(state: &State, req: &RequestData, params: Params) -> HttpResponse {
    crate::query::serve(
        state,
        req,
        params,
        Service::AutoScaling,
        dispatch,
        |e, rid, _| e.response_in(NS, rid),
    )
}

/// Every action `dispatch` answers (the metrics labels).
pub const ACTIONS: &[&str] = &[
    "CreateLaunchConfiguration",
    "DescribeLaunchConfigurations",
    "DeleteLaunchConfiguration",
    "CreateAutoScalingGroup",
    "UpdateAutoScalingGroup",
    "SetDesiredCapacity",
    "DeleteAutoScalingGroup",
    "DescribeAutoScalingGroups",
    "DescribeAutoScalingInstances",
];

fn dispatch(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    match call.action.as_str() {
        "CreateLaunchConfiguration" => create_launch_configuration(call),
        "DescribeLaunchConfigurations" => describe_launch_configurations(call),
        "DeleteLaunchConfiguration" => delete_launch_configuration(call),
        "CreateAutoScalingGroup" => create_group(call),
        "UpdateAutoScalingGroup" => update_group(call),
        "SetDesiredCapacity" => set_desired_capacity(call),
        "DeleteAutoScalingGroup" => delete_group(call),
        "DescribeAutoScalingGroups" => describe_groups(call),
        "DescribeAutoScalingInstances" => describe_instances(call),
        other => Err(crate::query::unknown_action(other, Service::AutoScaling)),
    }
}

fn ok(call: &Call<'_>, result: impl FnOnce(&mut Xml)) -> Result<HttpResponse, QueryError> {
    Ok(success_in(NS, &call.action, &call.rid, Some(result)))
}

fn done(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    Ok(success_in(
        NS,
        &call.action,
        &call.rid,
        None::<fn(&mut Xml)>,
    ))
}

fn required<'c>(call: &'c Call<'_>, name: &str) -> Result<&'c str, QueryError> {
    crate::query::required(&call.params, name, Service::AutoScaling)
}

fn validation(message: impl Into<String>) -> QueryError {
    QueryError::validation(message)
}

fn lc_arn(world: &World, lc: &RawLaunchConfiguration) -> String {
    format!(
        "arn:{}:autoscaling:{}:{}:launchConfiguration:{}:launchConfigurationName/{}",
        world.settings.partition, world.settings.region, lc.account, lc.id, lc.name
    )
}

/// The ARN pattern of the caller's launch configuration `name`, whatever its id (what a
/// configuration not created yet, or not found, is authorized on).
fn lc_arn_by_name(call: &Call<'_>, name: &str) -> String {
    format!(
        "arn:{}:autoscaling:{}:{}:launchConfiguration:*:launchConfigurationName/{name}",
        call.partition(),
        call.view.world.settings.region,
        call.account()
    )
}

fn group_arn(world: &World, g: &RawAutoScalingGroup) -> String {
    format!(
        "arn:{}:autoscaling:{}:{}:autoScalingGroup:{}:autoScalingGroupName/{}",
        world.settings.partition, world.settings.region, g.account, g.id, g.name
    )
}

fn metadata_options(p: &Params) -> Result<RawMetadataOptions, QueryError> {
    let http_tokens = match p.get("MetadataOptions.HttpTokens") {
        None => None,
        Some("optional") => Some(HttpTokens::Optional),
        Some("required") => Some(HttpTokens::Required),
        Some(v) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{v}' at 'metadataOptions.httpTokens' failed to satisfy constraint: Member must satisfy enum value set: [optional, required]"
            )))
        }
    };
    let hop_limit = match p.get("MetadataOptions.HttpPutResponseHopLimit") {
        None => None,
        Some(v) => Some(v.parse::<u32>().ok().filter(|n| (1..=64).contains(n)).ok_or_else(|| {
            validation(format!(
                "1 validation error detected: Value '{v}' at 'metadataOptions.httpPutResponseHopLimit' failed to satisfy constraint: Member must have value less than or equal to 64"
            ))
        })?),
    };
    let endpoint = match p.get("MetadataOptions.HttpEndpoint") {
        None => None,
        Some("enabled") => Some(EndpointState::Enabled),
        Some("disabled") => Some(EndpointState::Disabled),
        Some(v) => {
            return Err(validation(format!(
                "1 validation error detected: Value '{v}' at 'metadataOptions.httpEndpoint' failed to satisfy constraint: Member must satisfy enum value set: [disabled, enabled]"
            )))
        }
    };
    Ok(RawMetadataOptions {
        http_tokens,
        hop_limit,
        endpoint,
    })
}

fn create_launch_configuration(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "LaunchConfigurationName")?.to_string();
    if name.len() > 255 {
        return Err(validation(
            "1 validation error detected: Value at 'launchConfigurationName' failed to satisfy constraint: Member must have length less than or equal to 255",
        ));
    }
    let world = &call.view.world;
    let image_id = call
        .get("ImageId")
        .ok_or_else(|| validation("Valid requests must contain either the ImageId parameter or the InstanceId parameter."))?
        .to_string();
    let instance_type = call
        .get("InstanceType")
        .ok_or_else(|| validation("Valid requests must contain the InstanceType parameter when the InstanceId parameter is not specified."))?
        .to_string();
    let profile = call.get("IamInstanceProfile").map(str::to_string);
    call.authorize(
        "autoscaling:CreateLaunchConfiguration",
        &lc_arn_by_name(call, &name),
    )?;
    if let Some(p) = &profile {
        let role = launch::resolve_profile(world, call.account(), p)
            .map_err(|_| validation(format!("Invalid IamInstanceProfile: {p}")))?
            .1;
        if let Some(role) = role {
            launch::check_pass_role(call, &role)?;
        }
    }
    let lc = RawLaunchConfiguration {
        account: call.account().to_string(),
        name: name.clone(),
        id: ids::uuid(),
        image_id,
        instance_type,
        iam_instance_profile: profile,
        key_name: call.get("KeyName").map(str::to_string),
        security_groups: call
            .params
            .list("SecurityGroups")
            .into_iter()
            .map(str::to_string)
            .collect(),
        user_data: call.get("UserData").map(str::to_string),
        metadata_options: metadata_options(&call.params)?,
        created: Some(iso8601(call.state.clock.now())),
    };
    call.state.live.change(|raw, _| {
        if raw
            .launch_configurations
            .iter()
            .any(|x| x.account == lc.account && x.name == lc.name)
        {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "AlreadyExists",
                format!("Launch Configuration by this name already exists - A launch configuration already exists with the name {name}"),
            ));
        }
        raw.launch_configurations.push(lc.clone());
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

fn lc_xml(x: &mut Xml, world: &World, lc: &RawLaunchConfiguration) {
    x.open("member")
        .leaf("LaunchConfigurationName", &lc.name)
        .leaf("LaunchConfigurationARN", &lc_arn(world, lc))
        .leaf("ImageId", &lc.image_id)
        .leaf("KeyName", lc.key_name.as_deref().unwrap_or(""));
    x.open("SecurityGroups");
    for g in &lc.security_groups {
        x.leaf("member", g);
    }
    x.close("SecurityGroups");
    x.open("ClassicLinkVPCSecurityGroups")
        .close("ClassicLinkVPCSecurityGroups");
    x.leaf("UserData", lc.user_data.as_deref().unwrap_or(""))
        .leaf("InstanceType", &lc.instance_type)
        .leaf("KernelId", "")
        .leaf("RamdiskId", "");
    x.open("BlockDeviceMappings").close("BlockDeviceMappings");
    x.open("InstanceMonitoring")
        .leaf("Enabled", "true")
        .close("InstanceMonitoring");
    x.opt("IamInstanceProfile", lc.iam_instance_profile.as_deref())
        .leaf(
            "CreatedTime",
            lc.created.as_deref().unwrap_or(ids::EPOCH_DATE),
        )
        .leaf("EbsOptimized", "false");
    let o = &lc.metadata_options;
    if o != &RawMetadataOptions::default() {
        x.open("MetadataOptions")
            .opt("HttpTokens", o.http_tokens.map(HttpTokens::as_str))
            .opt(
                "HttpPutResponseHopLimit",
                o.hop_limit.map(|h| h.to_string()).as_deref(),
            )
            .opt("HttpEndpoint", o.endpoint.map(EndpointState::as_str))
            .close("MetadataOptions");
    }
    x.close("member");
}

fn describe_launch_configurations(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("autoscaling:DescribeLaunchConfigurations", "*")?;
    let names = call.params.list("LaunchConfigurationNames");
    let world = &call.view.world;
    let configurations: Vec<_> = world
        .raw
        .launch_configurations
        .iter()
        .filter(|lc| {
            lc.account == call.account() && (names.is_empty() || names.contains(&lc.name.as_str()))
        })
        .collect();
    let (configurations, next) = asg_page(call, configurations, 100)?;
    ok(call, |x| {
        x.open("LaunchConfigurations");
        for lc in configurations {
            lc_xml(x, world, lc);
        }
        x.close("LaunchConfigurations");
        x.opt("NextToken", next.as_deref());
    })
}

fn delete_launch_configuration(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "LaunchConfigurationName")?.to_string();
    // Authorized on the configuration's ARN (resource type `launchConfiguration`); one that
    // does not exist is named by its name with any id.
    let world = &call.view.world;
    let arn = world
        .raw
        .launch_configurations
        .iter()
        .find(|lc| lc.account == call.account() && lc.name == name)
        .map(|lc| lc_arn(world, lc))
        .unwrap_or_else(|| lc_arn_by_name(call, &name));
    call.authorize("autoscaling:DeleteLaunchConfiguration", &arn)?;
    call.state.live.change(|raw, _| {
        let acct = call.account().to_string();
        if !raw
            .launch_configurations
            .iter()
            .any(|lc| lc.account == acct && lc.name == name)
        {
            return Err(validation(format!("Launch configuration name not found - Launch configuration {name} not found")));
        }
        if raw
            .auto_scaling_groups
            .iter()
            .any(|g| g.account == acct && g.launch_configuration.as_deref() == Some(name.as_str()))
        {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "ResourceInUse",
                format!("Cannot delete launch configuration {name} because it is attached to AutoScalingGroup"),
            ));
        }
        raw.launch_configurations
            .retain(|lc| !(lc.account == acct && lc.name == name));
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

fn size(call: &Call<'_>, name: &str) -> Result<Option<u32>, QueryError> {
    match call.get(name) {
        None => Ok(None),
        Some(v) => v.parse().map(Some).map_err(|_| {
            validation(format!(
                "1 validation error detected: Value '{v}' at '{}' failed to satisfy constraint: Member must have value greater than or equal to 0",
                lower_first(name)
            ))
        }),
    }
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_lowercase().chain(c).collect())
        .unwrap_or_default()
}

fn check_sizes(min: u32, max: u32, desired: u32) -> Result<(), QueryError> {
    if min > max {
        return Err(validation(format!(
            "Max bound, {max}, must be greater than or equal to min bound, {min}"
        )));
    }
    if desired < min || desired > max {
        return Err(validation(format!(
            "Desired capacity:{desired} must be between the specified min size:{min} and max size:{max}"
        )));
    }
    Ok(())
}

/// The launch spec of a group (from its launch configuration or template).
fn group_spec(world: &World, g: &RawAutoScalingGroup) -> Result<LaunchSpec, QueryError> {
    let mut spec = if let Some(name) = &g.launch_configuration {
        let lc = world
            .raw
            .launch_configurations
            .iter()
            .find(|lc| lc.account == g.account && lc.name == *name)
            .ok_or_else(|| {
                validation(format!(
                    "Launch configuration name not found - Launch configuration {name} not found"
                ))
            })?;
        LaunchSpec {
            image_id: lc.image_id.clone(),
            instance_type: Some(lc.instance_type.clone()),
            instance_profile: lc.iam_instance_profile.clone(),
            key_name: lc.key_name.clone(),
            user_data: lc.user_data.clone(),
            metadata: lc.metadata_options.clone(),
            launched_from: Some(lc.name.clone()),
            ..LaunchSpec::default()
        }
    } else if let Some(t) = &g.launch_template {
        crate::ec2::template_spec(
            world,
            &g.account,
            t.id.as_deref(),
            t.name.as_deref(),
            t.version.as_deref(),
        )?
        .0
    } else {
        return Err(validation(
            "The group has no launch configuration or template",
        ));
    };
    spec.group = Some(g.name.clone());
    spec.availability_zone = g.availability_zones.first().cloned();
    spec.tags = g.tags.clone();
    Ok(spec)
}

/// Brings every group's running instances to its desired capacity: launches the missing ones
/// and terminates the surplus (newest first), inside the caller's change.
pub fn reconcile(state: &State, raw: &mut RawWorld, world: &World) -> Result<(), QueryError> {
    let groups = raw.auto_scaling_groups.clone();
    for g in &groups {
        let running: Vec<String> = raw
            .instances
            .iter()
            .filter(|i| {
                i.account == g.account
                    && i.state == InstanceState::Running
                    && i.auto_scaling_group.as_deref() == Some(g.name.as_str())
            })
            .map(|i| i.id.clone())
            .collect();
        let desired = g.desired_capacity as usize;
        if running.len() < desired {
            let spec = group_spec(world, g)?;
            launch::launch(
                state,
                raw,
                world,
                &g.account,
                &spec,
                desired - running.len(),
            )?;
        } else if running.len() > desired {
            let surplus: Vec<String> = running
                .iter()
                .rev()
                .take(running.len() - desired)
                .cloned()
                .collect();
            launch::terminate(raw, &surplus);
        }
    }
    Ok(())
}

fn template_ref(p: &Params) -> Option<RawTemplateRef> {
    let id = p.get("LaunchTemplate.LaunchTemplateId").map(str::to_string);
    let name = p
        .get("LaunchTemplate.LaunchTemplateName")
        .map(str::to_string);
    if id.is_none() && name.is_none() {
        return None;
    }
    Some(RawTemplateRef {
        id,
        name,
        version: p.get("LaunchTemplate.Version").map(str::to_string),
    })
}

/// Checks `iam:PassRole` for the role a group will launch with.
fn pass_group_role(call: &Call<'_>, g: &RawAutoScalingGroup) -> Result<(), QueryError> {
    let world = &call.view.world;
    let spec = group_spec(world, g)?;
    if let Some(p) = &spec.instance_profile {
        if let (_, Some(role)) = launch::resolve_profile(world, &g.account, p)? {
            launch::check_pass_role(call, &role)?;
        }
    }
    Ok(())
}

fn create_group(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "AutoScalingGroupName")?.to_string();
    let min = size(call, "MinSize")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'minSize' failed to satisfy constraint: Member must not be null")
    })?;
    let max = size(call, "MaxSize")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'maxSize' failed to satisfy constraint: Member must not be null")
    })?;
    let desired = size(call, "DesiredCapacity")?.unwrap_or(min);
    check_sizes(min, max, desired)?;
    let lc = call.get("LaunchConfigurationName").map(str::to_string);
    let lt = template_ref(&call.params);
    if lc.is_some() == lt.is_some() {
        return Err(validation(
            "Valid requests must contain either LaunchTemplate, LaunchConfigurationName, InstanceId or MixedInstancesPolicy parameter.",
        ));
    }
    let world = &call.view.world;
    let mut zones: Vec<String> = call
        .params
        .list("AvailabilityZones")
        .into_iter()
        .map(str::to_string)
        .collect();
    if zones.is_empty() {
        match call.get("VPCZoneIdentifier") {
            Some(s) if !s.is_empty() => zones.push(format!("{}a", world.settings.region)),
            _ => {
                return Err(validation(
                    "At least one Availability Zone or VPC Subnet is required.",
                ))
            }
        }
    }
    let g = RawAutoScalingGroup {
        account: call.account().to_string(),
        name: name.clone(),
        id: ids::uuid(),
        launch_configuration: lc,
        launch_template: lt,
        min_size: min,
        max_size: max,
        desired_capacity: desired,
        availability_zones: zones,
        created: Some(iso8601(call.state.clock.now())),
        tags: call
            .params
            .tags("Tags")
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
    };
    call.authorize("autoscaling:CreateAutoScalingGroup", &group_arn(world, &g))?;
    pass_group_role(call, &g)?;
    call.state.live.change(|raw, world| {
        if raw
            .auto_scaling_groups
            .iter()
            .any(|x| x.account == g.account && x.name == g.name)
        {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "AlreadyExists",
                format!("AutoScalingGroup by this name already exists - A group with the name {name} already exists"),
            ));
        }
        raw.auto_scaling_groups.push(g.clone());
        // The launch configuration or template must exist in this transaction's world.
        group_spec(world, &g)?;
        reconcile(call.state, raw, world)
    })?;
    done(call)
}

fn find_group<'r>(
    raw: &'r mut RawWorld,
    account: &str,
    name: &str,
) -> Result<&'r mut RawAutoScalingGroup, QueryError> {
    raw.auto_scaling_groups
        .iter_mut()
        .find(|g| g.account == account && g.name == name)
        .ok_or_else(|| {
            validation(format!(
                "AutoScalingGroup name not found - AutoScalingGroup {name} not found"
            ))
        })
}

fn update_group(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "AutoScalingGroupName")?.to_string();
    let (min, max, desired) = (
        size(call, "MinSize")?,
        size(call, "MaxSize")?,
        size(call, "DesiredCapacity")?,
    );
    let lc = call.get("LaunchConfigurationName").map(str::to_string);
    let lt = template_ref(&call.params);
    let mut probe = call.view.world.raw.clone();
    let current = find_group(&mut probe, call.account(), &name)?.clone();
    call.authorize(
        "autoscaling:UpdateAutoScalingGroup",
        &group_arn(&call.view.world, &current),
    )?;
    let mut updated = current.clone();
    if lc.is_some() || lt.is_some() {
        updated.launch_configuration = lc.clone();
        updated.launch_template = lt.clone();
        pass_group_role(call, &updated)?;
    }
    call.state.live.change(|raw, world| {
        let g = find_group(raw, call.account(), &name)?;
        let min = min.unwrap_or(g.min_size);
        let max = max.unwrap_or(g.max_size);
        // Like the service: a new min or max pulls the desired capacity inside the bounds.
        let desired = desired.unwrap_or_else(|| g.desired_capacity.clamp(min, max.max(min)));
        check_sizes(min, max, desired)?;
        g.min_size = min;
        g.max_size = max;
        g.desired_capacity = desired;
        if lc.is_some() || lt.is_some() {
            g.launch_configuration = lc.clone();
            g.launch_template = lt.clone();
        }
        let g = g.clone();
        group_spec(world, &g)?;
        reconcile(call.state, raw, world)
    })?;
    done(call)
}

fn set_desired_capacity(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "AutoScalingGroupName")?.to_string();
    let desired = size(call, "DesiredCapacity")?.ok_or_else(|| {
        validation("1 validation error detected: Value null at 'desiredCapacity' failed to satisfy constraint: Member must not be null")
    })?;
    let mut probe = call.view.world.raw.clone();
    let current = find_group(&mut probe, call.account(), &name)?.clone();
    call.authorize(
        "autoscaling:SetDesiredCapacity",
        &group_arn(&call.view.world, &current),
    )?;
    call.state.live.change(|raw, world| {
        let g = find_group(raw, call.account(), &name)?;
        if desired < g.min_size || desired > g.max_size {
            let (side, bound, limit) = if desired < g.min_size {
                ("below", "min", g.min_size)
            } else {
                ("above", "max", g.max_size)
            };
            return Err(validation(format!(
                "New SetDesiredCapacity value {desired} is {side} {bound} value {limit}."
            )));
        }
        g.desired_capacity = desired;
        reconcile(call.state, raw, world)
    })?;
    done(call)
}

fn delete_group(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name = required(call, "AutoScalingGroupName")?.to_string();
    let force = call.get("ForceDelete") == Some("true");
    let mut probe = call.view.world.raw.clone();
    let current = find_group(&mut probe, call.account(), &name)?.clone();
    call.authorize(
        "autoscaling:DeleteAutoScalingGroup",
        &group_arn(&call.view.world, &current),
    )?;
    call.state.live.change(|raw, _| {
        let acct = call.account().to_string();
        let members: Vec<String> = raw
            .instances
            .iter()
            .filter(|i| {
                i.account == acct
                    && i.state == InstanceState::Running
                    && i.auto_scaling_group.as_deref() == Some(name.as_str())
            })
            .map(|i| i.id.clone())
            .collect();
        if !members.is_empty() && !force {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "ResourceInUse",
                "You cannot delete an AutoScalingGroup while there are instances or pending Spot instance request(s) still in the group.",
            ));
        }
        launch::terminate(raw, &members);
        raw.auto_scaling_groups
            .retain(|g| !(g.account == acct && g.name == name));
        Ok::<_, QueryError>(())
    })?;
    done(call)
}

fn instance_members(x: &mut Xml, world: &World, g: &RawAutoScalingGroup) {
    x.open("Instances");
    for i in world.instances.iter().filter(|i| {
        i.account == g.account
            && i.state == InstanceState::Running
            && i.auto_scaling_group.as_deref() == Some(g.name.as_str())
    }) {
        x.open("member")
            .leaf("InstanceId", &i.id)
            .leaf("InstanceType", &i.metadata["instance-type"])
            .leaf(
                "AvailabilityZone",
                &i.metadata["placement/availability-zone"],
            )
            .leaf("LifecycleState", "InService")
            .leaf("HealthStatus", "Healthy")
            .opt("LaunchConfigurationName", g.launch_configuration.as_deref())
            .leaf("ProtectedFromScaleIn", "false")
            .close("member");
    }
    x.close("Instances");
}

/// The `NextToken` / `MaxRecords` page of `items` (MaxRecords 1 to `max`, default 50), with
/// Auto Scaling's errors: `ValidationError` for the size, `InvalidNextToken` for a token this
/// server did not hand out.
fn asg_page<T>(
    call: &Call<'_>,
    items: Vec<T>,
    max: usize,
) -> Result<(Vec<T>, Option<String>), QueryError> {
    let size = call.get("MaxRecords");
    crate::query::page(items, call.get("NextToken"), size, 50, 1..=max).map_err(|e| match e {
        crate::query::PageError::Size => validation(format!(
            "1 validation error detected: Value '{}' at 'maxRecords' failed to satisfy constraint: Member must have value between 1 and {max}",
            size.unwrap_or_default()
        )),
        crate::query::PageError::Token => QueryError::new(
            StatusCode::BAD_REQUEST,
            "InvalidNextToken",
            "The token provided is not valid.",
        ),
    })
}

fn describe_groups(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("autoscaling:DescribeAutoScalingGroups", "*")?;
    let names = call.params.list("AutoScalingGroupNames");
    let world = &call.view.world;
    let groups: Vec<_> = world
        .raw
        .auto_scaling_groups
        .iter()
        .filter(|g| {
            g.account == call.account() && (names.is_empty() || names.contains(&g.name.as_str()))
        })
        .collect();
    let (groups, next) = asg_page(call, groups, 100)?;
    ok(call, |x| {
        x.open("AutoScalingGroups");
        for g in groups {
            x.open("member")
                .leaf("AutoScalingGroupName", &g.name)
                .leaf("AutoScalingGroupARN", &group_arn(world, g))
                .opt("LaunchConfigurationName", g.launch_configuration.as_deref());
            if let Some(t) = &g.launch_template {
                x.open("LaunchTemplate")
                    .opt("LaunchTemplateId", t.id.as_deref())
                    .opt("LaunchTemplateName", t.name.as_deref())
                    .opt("Version", t.version.as_deref())
                    .close("LaunchTemplate");
            }
            x.leaf("MinSize", &g.min_size.to_string())
                .leaf("MaxSize", &g.max_size.to_string())
                .leaf("DesiredCapacity", &g.desired_capacity.to_string())
                .leaf("DefaultCooldown", "300");
            x.open("AvailabilityZones");
            for z in &g.availability_zones {
                x.leaf("member", z);
            }
            x.close("AvailabilityZones");
            x.open("LoadBalancerNames").close("LoadBalancerNames");
            x.open("TargetGroupARNs").close("TargetGroupARNs");
            x.leaf("HealthCheckType", "EC2")
                .leaf("HealthCheckGracePeriod", "0");
            instance_members(x, world, g);
            x.leaf(
                "CreatedTime",
                g.created.as_deref().unwrap_or(ids::EPOCH_DATE),
            );
            x.open("SuspendedProcesses").close("SuspendedProcesses");
            x.open("EnabledMetrics").close("EnabledMetrics");
            x.open("Tags");
            for (k, v) in &g.tags {
                x.open("member")
                    .leaf("ResourceId", &g.name)
                    .leaf("ResourceType", "auto-scaling-group")
                    .leaf("Key", k)
                    .leaf("Value", v)
                    .leaf("PropagateAtLaunch", "true")
                    .close("member");
            }
            x.close("Tags");
            x.open("TerminationPolicies")
                .leaf("member", "Default")
                .close("TerminationPolicies");
            x.leaf("NewInstancesProtectedFromScaleIn", "false")
                .leaf(
                    "ServiceLinkedRoleARN",
                    &format!(
                        "arn:{}:iam::{}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling",
                        world.settings.partition, g.account
                    ),
                )
                .close("member");
        }
        x.close("AutoScalingGroups");
        x.opt("NextToken", next.as_deref());
    })
}

fn describe_instances(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("autoscaling:DescribeAutoScalingInstances", "*")?;
    let wanted = call.params.list("InstanceIds");
    let world = &call.view.world;
    let instances: Vec<_> = world
        .instances
        .iter()
        .filter(|i| {
            i.account == call.account()
                && i.state == InstanceState::Running
                && i.auto_scaling_group.is_some()
                && (wanted.is_empty() || wanted.contains(&i.id.as_str()))
        })
        .collect();
    let (instances, next) = asg_page(call, instances, 50)?;
    ok(call, |x| {
        x.open("AutoScalingInstances");
        for i in instances {
            x.open("member")
                .leaf("InstanceId", &i.id)
                .leaf("InstanceType", &i.metadata["instance-type"])
                .leaf(
                    "AutoScalingGroupName",
                    i.auto_scaling_group.as_deref().unwrap_or(""),
                )
                .leaf(
                    "AvailabilityZone",
                    &i.metadata["placement/availability-zone"],
                )
                .leaf("LifecycleState", "InService")
                .leaf("HealthStatus", "HEALTHY")
                .opt(
                    "LaunchConfigurationName",
                    i.launched_from.as_deref().filter(|l| !l.starts_with("lt-")),
                )
                .leaf("ProtectedFromScaleIn", "false")
                .close("member");
        }
        x.close("AutoScalingInstances");
        x.opt("NextToken", next.as_deref());
    })
}

#[cfg(test)]
mod actions_tests {
    /// `ACTIONS` names exactly the actions `dispatch` matches.
    #[test]
    fn actions_list_matches_dispatch() {
        let arms = crate::query::dispatch_arms(include_str!("autoscaling.rs"));
        assert_eq!(arms, super::ACTIONS);
    }
}
