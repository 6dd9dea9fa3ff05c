//! EC2 (EC2 Query protocol, API version 2016-11-15): RunInstances with an instance profile
//! (each instance gets its own IMDS listener), DescribeInstances (with the `awsid:imds-endpoint`
//! tag), TerminateInstances, the instance profile associations (IMDS switches roles on the next
//! request), ModifyInstanceMetadataOptions (applied immediately) and launch templates.

use std::collections::BTreeMap;

use http::StatusCode;

use crate::http::{text, HttpResponse, RequestData};
use crate::launch::{self, invalid_parameter, LaunchSpec};
use crate::query::{Call, QueryError, Service};
use crate::state::{iso8601, State};
use crate::sts::params::Params;
use crate::sts::xml::Xml;
use crate::world::{
    ids, EndpointState, HttpTokens, Instance, InstanceState, RawLaunchTemplate,
    RawLaunchTemplateVersion, RawMetadataOptions, World,
};

/// The EC2 XML namespace.
pub const NS: &str = "http://ec2.amazonaws.com/doc/2016-11-15/";

/// The tag DescribeInstances adds: the instance's metadata endpoint.
pub const IMDS_TAG: &str = "awsid:imds-endpoint";

/// Answers one EC2 request.
pub fn handle(state: &State, req: &RequestData, params: Params) -> HttpResponse {
    crate::query::serve(state, req, params, Service::Ec2, dispatch, render)
}

/// EC2's error document; authentication failures are reported as AuthFailure, as EC2 does.
fn render(e: QueryError, rid: &str, auth: bool) -> HttpResponse {
    let e = match e.code.as_ref() {
        "InvalidClientTokenId" if auth => QueryError::new(
            StatusCode::UNAUTHORIZED,
            "AuthFailure",
            "AWS was not able to validate the provided access credentials",
        ),
        _ => e,
    };
    e.ec2_response(rid)
}

/// Every action `dispatch` answers (the metrics labels).
pub const ACTIONS: &[&str] = &[
    "RunInstances",
    "DescribeInstances",
    "TerminateInstances",
    "AssociateIamInstanceProfile",
    "ReplaceIamInstanceProfileAssociation",
    "DisassociateIamInstanceProfile",
    "DescribeIamInstanceProfileAssociations",
    "ModifyInstanceMetadataOptions",
    "CreateLaunchTemplate",
    "DescribeLaunchTemplates",
    "DescribeLaunchTemplateVersions",
    "DeleteLaunchTemplate",
];

fn dispatch(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    match call.action.as_str() {
        "RunInstances" => run_instances(call),
        "DescribeInstances" => describe_instances(call),
        "TerminateInstances" => terminate_instances(call),
        "AssociateIamInstanceProfile" => associate(call),
        "ReplaceIamInstanceProfileAssociation" => replace_association(call),
        "DisassociateIamInstanceProfile" => disassociate(call),
        "DescribeIamInstanceProfileAssociations" => describe_associations(call),
        "ModifyInstanceMetadataOptions" => modify_metadata_options(call),
        "CreateLaunchTemplate" => create_launch_template(call),
        "DescribeLaunchTemplates" => describe_launch_templates(call),
        "DescribeLaunchTemplateVersions" => describe_launch_template_versions(call),
        "DeleteLaunchTemplate" => delete_launch_template(call),
        other => Err(crate::query::unknown_action(other, Service::Ec2)),
    }
}

/// `<ActionResponse xmlns=…><requestId>…</requestId>…</ActionResponse>`.
fn respond(call: &Call<'_>, body: impl FnOnce(&mut Xml)) -> Result<HttpResponse, QueryError> {
    let mut x = Xml::starting(
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{}Response xmlns=\"{NS}\">\n",
            call.action
        ),
        1,
    );
    x.leaf("requestId", &call.rid);
    body(&mut x);
    let mut out = x.into_string();
    out.push_str(&format!("</{}Response>\n", call.action));
    Ok(text(StatusCode::OK, "text/xml;charset=UTF-8", out))
}

/// `arn:PARTITION:ec2:REGION:ACCOUNT:{path}` in the world's region, for the caller's account.
fn ec2_arn(call: &Call<'_>, path: &str) -> String {
    format!(
        "arn:{}:ec2:{}:{}:{path}",
        call.partition(),
        call.view.world.settings.region,
        call.account()
    )
}

fn instance_arn(call: &Call<'_>, id: &str) -> String {
    ec2_arn(call, &format!("instance/{id}"))
}

/// A launch template's ARN (`id` may be `*`).
fn template_arn(call: &Call<'_>, id: &str) -> String {
    ec2_arn(call, &format!("launch-template/{id}"))
}

fn not_found(id: &str) -> QueryError {
    QueryError::new(
        StatusCode::BAD_REQUEST,
        "InvalidInstanceID.NotFound",
        format!("The instance ID '{id}' does not exist"),
    )
}

fn check_instance_id(id: &str) -> Result<(), QueryError> {
    if !id.starts_with("i-") || id.len() < 10 {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "InvalidInstanceID.Malformed",
            format!("Invalid id: \"{id}\""),
        ));
    }
    Ok(())
}

/// The `NextToken` / `MaxResults` page of `items` (MaxResults within `range`; everything when
/// absent), with EC2's errors: `InvalidParameterValue` for the size, `InvalidPaginationToken`
/// for a token this server did not hand out.
fn ec2_page<T>(
    call: &Call<'_>,
    items: Vec<T>,
    range: std::ops::RangeInclusive<usize>,
) -> Result<(Vec<T>, Option<String>), QueryError> {
    let size = call.get("MaxResults");
    let all = items.len().max(1);
    crate::query::page(items, call.get("NextToken"), size, all, range.clone()).map_err(|e| match e {
        crate::query::PageError::Size => launch::invalid_parameter(format!(
            "Value ( {} ) for parameter maxResults is invalid. Parameter must be between {} and {}.",
            size.unwrap_or_default(),
            range.start(),
            range.end()
        )),
        crate::query::PageError::Token => QueryError::new(
            StatusCode::BAD_REQUEST,
            "InvalidPaginationToken",
            "The specified pagination token is not valid or is expired.",
        ),
    })
}

/// The caller's instance `id` (terminated ones included).
fn instance<'w>(call: &Call<'_>, world: &'w World, id: &str) -> Result<&'w Instance, QueryError> {
    check_instance_id(id)?;
    world
        .instances
        .iter()
        .find(|i| i.id == id && i.account == call.account())
        .ok_or_else(|| not_found(id))
}

/// Tag specifications of resource type `instance`.
fn instance_tags(p: &Params) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    for i in 1.. {
        let Some(kind) = p.get(&format!("TagSpecification.{i}.ResourceType")) else {
            break;
        };
        if kind != "instance" {
            continue;
        }
        for j in 1.. {
            let Some(k) = p.get(&format!("TagSpecification.{i}.Tag.{j}.Key")) else {
                break;
            };
            let v = p
                .get(&format!("TagSpecification.{i}.Tag.{j}.Value"))
                .unwrap_or("");
            tags.insert(k.to_string(), v.to_string());
        }
    }
    tags
}

/// `Prefix.HttpTokens`, `.HttpPutResponseHopLimit`, `.HttpEndpoint`.
fn metadata_options(p: &Params, prefix: &str) -> Result<RawMetadataOptions, QueryError> {
    let key = |k: &str| {
        if prefix.is_empty() {
            k.to_string()
        } else {
            format!("{prefix}.{k}")
        }
    };
    let http_tokens = match p.get(&key("HttpTokens")) {
        None => None,
        Some("optional") => Some(HttpTokens::Optional),
        Some("required") => Some(HttpTokens::Required),
        Some(v) => {
            return Err(invalid_parameter(format!(
                "Value ({v}) for parameter HttpTokens is invalid. Valid values are optional and required"
            )))
        }
    };
    let hop_limit = match p.get(&key("HttpPutResponseHopLimit")) {
        None => None,
        Some(v) => Some(
            v.parse::<u32>()
                .ok()
                .filter(|n| (1..=64).contains(n))
                .ok_or_else(|| {
                    invalid_parameter(format!(
                        "Value ({v}) for parameter HttpPutResponseHopLimit is invalid. Valid values are 1 to 64"
                    ))
                })?,
        ),
    };
    let endpoint = match p.get(&key("HttpEndpoint")) {
        None => None,
        Some("enabled") => Some(EndpointState::Enabled),
        Some("disabled") => Some(EndpointState::Disabled),
        Some(v) => {
            return Err(invalid_parameter(format!(
                "Value ({v}) for parameter HttpEndpoint is invalid. Valid values are enabled and disabled"
            )))
        }
    };
    Ok(RawMetadataOptions {
        http_tokens,
        hop_limit,
        endpoint,
    })
}

fn count(p: &Params, name: &str) -> Result<usize, QueryError> {
    let v = p.get(name).ok_or_else(|| {
        QueryError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            format!("The request must contain the parameter {name}"),
        )
    })?;
    v.parse::<usize>()
        .ok()
        .filter(|n| *n >= 1)
        .ok_or_else(|| invalid_parameter(format!("Value ({v}) for parameter {name} is invalid.")))
}

/// The account's launch template with this id or name, or EC2's `InvalidLaunchTemplateId.NotFound`.
fn find_template<'w>(
    world: &'w World,
    account: &str,
    id: Option<&str>,
    name: Option<&str>,
) -> Result<&'w RawLaunchTemplate, QueryError> {
    world
        .raw
        .launch_templates
        .iter()
        .find(|t| {
            t.account == account
                && (id.is_some_and(|i| i == t.id) || name.is_some_and(|n| n == t.name))
        })
        .ok_or_else(|| {
            QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidLaunchTemplateId.NotFound",
                format!(
                    "The specified launch template, with template ID {}, does not exist.",
                    id.or(name).unwrap_or("")
                ),
            )
        })
}

/// A launch template version as a launch spec (`$Latest`, `$Default` or a number).
pub(crate) fn template_spec(
    world: &World,
    account: &str,
    id: Option<&str>,
    name: Option<&str>,
    version: Option<&str>,
) -> Result<(LaunchSpec, String), QueryError> {
    let lt = find_template(world, account, id, name)?;
    let number = match version.unwrap_or("$Default") {
        "$Latest" => lt.versions.len() as u32,
        "$Default" => lt.default_version.unwrap_or(1),
        v => v.parse().map_err(|_| {
            QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidLaunchTemplateId.VersionNotFound",
                format!(
                    "Could not find launch template version {v} for template {}",
                    lt.id
                ),
            )
        })?,
    };
    let v = lt
        .versions
        .iter()
        .find(|v| v.number == number)
        .ok_or_else(|| {
            QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidLaunchTemplateId.VersionNotFound",
                format!(
                    "Could not find launch template version {number} for template {}",
                    lt.id
                ),
            )
        })?;
    Ok((
        LaunchSpec {
            image_id: v.image_id.clone().unwrap_or_default(),
            instance_type: v.instance_type.clone(),
            instance_profile: v.iam_instance_profile.clone(),
            key_name: v.key_name.clone(),
            user_data: v.user_data.clone(),
            metadata: v.metadata_options.clone(),
            launched_from: Some(format!("{}:{number}", lt.id)),
            ..LaunchSpec::default()
        },
        lt.id.clone(),
    ))
}

fn run_instances(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let p = &call.params;
    let min = count(p, "MinCount")?;
    let max = count(p, "MaxCount")?;
    if min > max {
        return Err(invalid_parameter(format!(
            "MinCount ({min}) must be less than or equal to MaxCount ({max})"
        )));
    }
    const LIMIT: usize = 20;
    if min > LIMIT {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "InstanceLimitExceeded",
            format!(
                "You have requested more instances ({min}) than your current instance limit of {LIMIT} allows for the specified instance type. Please visit http://aws.amazon.com/contact-us/ec2-request to request an adjustment to this limit."
            ),
        ));
    }
    let n = max.min(LIMIT);
    let world = &call.view.world;
    let mut spec = if p.has_prefix("LaunchTemplate.") {
        template_spec(
            world,
            call.account(),
            p.get("LaunchTemplate.LaunchTemplateId"),
            p.get("LaunchTemplate.LaunchTemplateName"),
            p.get("LaunchTemplate.Version"),
        )?
        .0
    } else {
        LaunchSpec {
            launched_from: Some("RunInstances".into()),
            ..LaunchSpec::default()
        }
    };
    if let Some(i) = p.get("ImageId") {
        spec.image_id = i.to_string();
    }
    if spec.image_id.is_empty() {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "The request must contain the parameter ImageId",
        ));
    }
    if !spec.image_id.starts_with("ami-") {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "InvalidAMIID.Malformed",
            format!("Invalid id: \"{}\" (expecting \"ami-...\")", spec.image_id),
        ));
    }
    if let Some(t) = p.get("InstanceType") {
        spec.instance_type = Some(t.to_string());
    }
    if let Some(k) = p.get("KeyName") {
        spec.key_name = Some(k.to_string());
    }
    if let Some(u) = p.get("UserData") {
        spec.user_data = Some(u.to_string());
    }
    match (p.get("IamInstanceProfile.Name"), p.get("IamInstanceProfile.Arn")) {
        (Some(n), None) => spec.instance_profile = Some(n.to_string()),
        (None, Some(a)) => spec.instance_profile = Some(a.to_string()),
        (Some(_), Some(_)) => {
            return Err(invalid_parameter(
                "The parameter 'iamInstanceProfile.name' may not be used in combination with 'iamInstanceProfile.arn'",
            ))
        }
        (None, None) => {}
    }
    let opts = metadata_options(p, "MetadataOptions")?;
    spec.metadata = RawMetadataOptions {
        http_tokens: opts.http_tokens.or(spec.metadata.http_tokens),
        hop_limit: opts.hop_limit.or(spec.metadata.hop_limit),
        endpoint: opts.endpoint.or(spec.metadata.endpoint),
    };
    spec.tags.extend(instance_tags(p));
    spec.availability_zone = p.get("Placement.AvailabilityZone").map(str::to_string);
    call.authorize("ec2:RunInstances", &instance_arn(call, "*"))?;
    if let Some(profile) = &spec.instance_profile {
        if let (_, Some(role)) = launch::resolve_profile(world, call.account(), profile)? {
            launch::check_pass_role(call, &role)?;
        }
    }
    check_dry_run(call)?;
    let (ids, world) = call
        .state
        .live
        .change(|raw, world| launch::launch(call.state, raw, world, call.account(), &spec, n))?;
    let reservation = world
        .instance(&ids[0])
        .and_then(|i| i.metadata.get("reservation-id").cloned())
        .unwrap_or_default();
    respond(call, |x| {
        x.leaf("reservationId", &reservation)
            .leaf("ownerId", call.account());
        x.open("groupSet").close("groupSet");
        x.open("instancesSet");
        for id in &ids {
            if let Some(i) = world.instance(id) {
                instance_xml(call, x, &world, i);
            }
        }
        x.close("instancesSet");
    })
}

/// `DryRun=true` once the caller is authorized: nothing is checked or changed further and EC2
/// answers 412 `DryRunOperation` (every action whose botocore model has a `DryRun` member:
/// "checks whether you have the required permissions for the action, without actually
/// making the request"; docs/spec/world-apis.md).
fn check_dry_run(call: &Call<'_>) -> Result<(), QueryError> {
    if call.get("DryRun") == Some("true") {
        return Err(dry_run());
    }
    Ok(())
}

fn dry_run() -> QueryError {
    QueryError::new(
        StatusCode::PRECONDITION_FAILED,
        "DryRunOperation",
        "Request would have succeeded, but DryRun flag is set.",
    )
}

fn instance_xml(call: &Call<'_>, x: &mut Xml, world: &World, i: &Instance) {
    let m = &i.metadata;
    let (state, code) = i.state.name_and_code();
    x.open("item")
        .leaf("instanceId", &i.id)
        .leaf("imageId", &m["ami-id"]);
    x.open("instanceState")
        .leaf("code", &code.to_string())
        .leaf("name", state)
        .close("instanceState");
    x.leaf("privateDnsName", &m["local-hostname"])
        .leaf("dnsName", &m["public-hostname"])
        .leaf("reason", "")
        .opt("keyName", i.key_name.as_deref())
        .leaf("amiLaunchIndex", &m["ami-launch-index"])
        .leaf("instanceType", &m["instance-type"])
        .leaf("launchTime", &i.pending_time);
    x.open("placement")
        .leaf("availabilityZone", &m["placement/availability-zone"])
        .leaf("groupName", "")
        .leaf("tenancy", "default")
        .close("placement");
    x.open("monitoring")
        .leaf("state", "disabled")
        .close("monitoring");
    x.leaf("privateIpAddress", &m["local-ipv4"]);
    if i.state == InstanceState::Running {
        x.leaf("ipAddress", &m["public-ipv4"]);
    }
    x.leaf("architecture", &i.architecture)
        .leaf("rootDeviceType", "ebs")
        .leaf("rootDeviceName", "/dev/xvda")
        .leaf("virtualizationType", "hvm")
        .leaf("hypervisor", "xen");
    if let Some(p) = i.instance_profile {
        let p = &world.instance_profiles[p];
        x.open("iamInstanceProfile")
            .leaf("arn", &p.arn)
            .leaf("id", &p.id)
            .close("iamInstanceProfile");
    }
    let mut tags: Vec<(String, String)> = i.tags.clone().into_iter().collect();
    if i.state == InstanceState::Running {
        if let Some(addr) = call.state.imds_endpoint(world, &i.id) {
            tags.push((IMDS_TAG.to_string(), format!("http://{addr}/")));
        }
    }
    if !tags.is_empty() {
        x.open("tagSet");
        for (k, v) in &tags {
            x.open("item").leaf("key", k).leaf("value", v).close("item");
        }
        x.close("tagSet");
    }
    metadata_options_xml(x, "metadataOptions", i, "applied");
    x.close("item");
}

/// An instance's metadata options; `state` is `pending` in ModifyInstanceMetadataOptions'
/// answer and `applied` in DescribeInstances (the operation's documentation: a running
/// instance's change answers `pending`, later describes show `applied`; awsid applies it at once).
fn metadata_options_xml(x: &mut Xml, element: &str, i: &Instance, state: &str) {
    x.open(element)
        .leaf("state", state)
        .leaf("httpTokens", i.http_tokens.as_str())
        .leaf("httpPutResponseHopLimit", &i.hop_limit.to_string())
        .leaf("httpEndpoint", i.endpoint.as_str())
        .leaf("httpProtocolIpv6", "disabled")
        .leaf(
            "instanceMetadataTags",
            if i.metadata_tags {
                "enabled"
            } else {
                "disabled"
            },
        )
        .close(element);
}

/// The filter names of one action: those awsid serves (`served`, and `tag:<key>` / `tag-key`
/// when `tags`) and those AWS documents for it (`aws`, blank-separated, `tag:<key>` when
/// `aws_tags`).
struct FilterNames {
    served: &'static [&'static str],
    tags: bool,
    aws: &'static str,
    aws_tags: bool,
}

const INSTANCE_FILTERS: FilterNames = FilterNames {
    served: &[
        "instance-id",
        "instance-state-name",
        "instance-state-code",
        "image-id",
        "instance-type",
        "availability-zone",
        "iam-instance-profile.arn",
    ],
    tags: true,
    aws: AWS_DESCRIBE_INSTANCES,
    aws_tags: true,
};

const ASSOCIATION_FILTERS: FilterNames = FilterNames {
    served: &["instance-id", "state"],
    tags: false,
    aws: "instance-id state",
    aws_tags: false,
};

const TEMPLATE_FILTERS: FilterNames = FilterNames {
    served: &["launch-template-name"],
    tags: false,
    aws: AWS_DESCRIBE_LAUNCH_TEMPLATES,
    aws_tags: true,
};

const TEMPLATE_VERSION_FILTERS: FilterNames = FilterNames {
    served: &[],
    tags: false,
    aws: AWS_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS,
    aws_tags: false,
};

/// DescribeInstances's filter names besides `tag:<key>`, separated by blanks (botocore 1.43.11's
/// EC2 model).
const AWS_DESCRIBE_INSTANCES: &str = "\
    affinity architecture availability-zone availability-zone-id \
    block-device-mapping.attach-time block-device-mapping.delete-on-termination \
    block-device-mapping.device-name block-device-mapping.status block-device-mapping.volume-id \
    boot-mode capacity-reservation-id \
    capacity-reservation-specification.capacity-reservation-preference \
    capacity-reservation-specification.capacity-reservation-target.capacity-reservation-id \
    capacity-reservation-specification.capacity-reservation-target.capacity-reservation-resource-group-arn \
    client-token current-instance-boot-mode dns-name ebs-optimized ena-support \
    enclave-options.enabled hibernation-options.configured host-id hypervisor \
    iam-instance-profile.arn iam-instance-profile.id image-id instance-id instance-lifecycle \
    instance-state-code instance-state-name instance-type instance.group-id instance.group-name \
    ip-address ipv6-address kernel-id key-name launch-index launch-time \
    maintenance-options.auto-recovery metadata-options.http-endpoint \
    metadata-options.http-protocol-ipv4 metadata-options.http-protocol-ipv6 \
    metadata-options.http-put-response-hop-limit metadata-options.http-tokens \
    metadata-options.instance-metadata-tags metadata-options.state monitoring-state \
    network-interface.addresses.association.allocation-id \
    network-interface.addresses.association.association-id \
    network-interface.addresses.association.carrier-ip \
    network-interface.addresses.association.customer-owned-ip \
    network-interface.addresses.association.ip-owner-id \
    network-interface.addresses.association.public-dns-name \
    network-interface.addresses.association.public-ip network-interface.addresses.primary \
    network-interface.addresses.private-dns-name network-interface.addresses.private-ip-address \
    network-interface.association.allocation-id network-interface.association.association-id \
    network-interface.association.carrier-ip network-interface.association.customer-owned-ip \
    network-interface.association.ip-owner-id network-interface.association.public-dns-name \
    network-interface.association.public-ip network-interface.attachment.attach-time \
    network-interface.attachment.attachment-id \
    network-interface.attachment.delete-on-termination network-interface.attachment.device-index \
    network-interface.attachment.instance-id network-interface.attachment.instance-owner-id \
    network-interface.attachment.network-card-index network-interface.attachment.status \
    network-interface.availability-zone network-interface.deny-all-igw-traffic \
    network-interface.description network-interface.group-id network-interface.group-name \
    network-interface.ipv4-prefixes.ipv4-prefix network-interface.ipv6-address \
    network-interface.ipv6-addresses.ipv6-address \
    network-interface.ipv6-addresses.is-primary-ipv6 network-interface.ipv6-native \
    network-interface.ipv6-prefixes.ipv6-prefix network-interface.mac-address \
    network-interface.network-interface-id network-interface.operator.managed \
    network-interface.operator.principal network-interface.outpost-arn \
    network-interface.owner-id network-interface.private-dns-name \
    network-interface.private-ip-address network-interface.public-dns-name \
    network-interface.requester-id network-interface.requester-managed network-interface.status \
    network-interface.source-dest-check network-interface.subnet-id network-interface.tag-key \
    network-interface.tag-value network-interface.vpc-id \
    network-performance-options.bandwidth-weighting operator.managed operator.principal \
    outpost-arn owner-id placement-group-name placement-partition-number platform \
    platform-details private-dns-name private-dns-name-options.enable-resource-name-dns-a-record \
    private-dns-name-options.enable-resource-name-dns-aaaa-record \
    private-dns-name-options.hostname-type private-ip-address product-code product-code.type \
    ramdisk-id reason requester-id reservation-id root-device-name root-device-type \
    source-dest-check spot-instance-request-id state-reason-code state-reason-message subnet-id \
    tag-key tenancy tpm-support usage-operation usage-operation-update-time virtualization-type \
    vpc-id";
/// DescribeLaunchTemplates's filter names besides `tag:<key>`, separated by blanks (botocore 1.43.11's
/// EC2 model).
const AWS_DESCRIBE_LAUNCH_TEMPLATES: &str = "\
    create-time launch-template-name tag-key";
/// DescribeLaunchTemplateVersions's filter names besides `tag:<key>`, separated by blanks (botocore 1.43.11's
/// EC2 model).
const AWS_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS: &str = "\
    create-time ebs-optimized http-endpoint http-protocol-ipv4 host-resource-group-arn \
    http-tokens iam-instance-profile image-id instance-type is-default-version kernel-id \
    license-configuration-arn network-card-index ram-disk-id";

/// `Filter.N.Name` / `Filter.N.Value.M`. A name the action does not serve is refused with
/// AWS's `InvalidParameterValue`: "The filter 'NAME' is invalid" when AWS does not know it
/// either, and a message saying awsid does not serve it when AWS does (matching everything
/// instead would answer a narrower question with every instance).
fn filters(p: &Params, names: &FilterNames) -> Result<Vec<(String, Vec<String>)>, QueryError> {
    let mut out = Vec::new();
    for i in 1.. {
        let Some(name) = p.get(&format!("Filter.{i}.Name")) else {
            break;
        };
        let is_tag = name.starts_with("tag:") || name == "tag-key";
        if !(names.served.contains(&name) || (names.tags && is_tag)) {
            let aws_knows = names.aws.split_ascii_whitespace().any(|n| n == name)
                || (names.aws_tags && name.starts_with("tag:"));
            let message = if aws_knows {
                let mut served = names.served.join(", ");
                if names.tags {
                    served.push_str(", tag-key, tag:<key>");
                }
                if served.is_empty() {
                    format!("The filter '{name}' is not supported by awsid serve, which serves no filter here")
                } else {
                    format!(
                        "The filter '{name}' is not supported by awsid serve (it serves {served})"
                    )
                }
            } else {
                format!("The filter '{name}' is invalid")
            };
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidParameterValue",
                message,
            ));
        }
        let values = p
            .flat_list(&format!("Filter.{i}.Value"))
            .into_iter()
            .map(str::to_string)
            .collect();
        out.push((name.to_string(), values));
    }
    Ok(out)
}

/// EC2 filter values: `*` and `?` wildcards.
fn filter_match(pattern: &str, value: &str) -> bool {
    crate::policy::glob::matches(&crate::policy::glob::compile(pattern), value, false)
}

fn instance_matches(world: &World, i: &Instance, filters: &[(String, Vec<String>)]) -> bool {
    filters.iter().all(|(name, values)| {
        let any = |v: &str| values.iter().any(|p| filter_match(p, v));
        match name.as_str() {
            "instance-id" => any(&i.id),
            "instance-state-name" => any(i.state.name_and_code().0),
            "instance-state-code" => any(&i.state.name_and_code().1.to_string()),
            "image-id" => any(&i.metadata["ami-id"]),
            "instance-type" => any(&i.metadata["instance-type"]),
            "availability-zone" => any(&i.metadata["placement/availability-zone"]),
            "iam-instance-profile.arn" => i
                .instance_profile
                .is_some_and(|p| any(&world.instance_profiles[p].arn)),
            "tag-key" => i.tags.keys().any(|k| any(k)),
            n if n.starts_with("tag:") => i.tags.get(&n[4..]).is_some_and(|v| any(v)),
            // `filters` refused every other name.
            _ => false,
        }
    })
}

fn describe_instances(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("ec2:DescribeInstances", "*")?;
    check_dry_run(call)?;
    let world = &call.view.world;
    let wanted = call.params.flat_list("InstanceId");
    for id in &wanted {
        instance(call, world, id)?;
    }
    let filters = filters(&call.params, &INSTANCE_FILTERS)?;
    if !wanted.is_empty() && call.get("MaxResults").is_some() {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "InvalidParameterCombination",
            "The parameter instancesSet cannot be used with the parameter maxResults",
        ));
    }
    let instances: Vec<&Instance> = world
        .instances
        .iter()
        .filter(|i| i.account == call.account())
        .filter(|i| wanted.is_empty() || wanted.contains(&i.id.as_str()))
        .filter(|i| instance_matches(world, i, &filters))
        .collect();
    // Pages count instances; each page groups its own by reservation.
    let (instances, next) = ec2_page(call, instances, 5..=1000)?;
    // One reservation per launch (instances launched together share it).
    let mut reservations: BTreeMap<String, Vec<&Instance>> = BTreeMap::new();
    for i in instances {
        reservations
            .entry(i.metadata["reservation-id"].clone())
            .or_default()
            .push(i);
    }
    respond(call, |x| {
        x.open("reservationSet");
        for (r, items) in &reservations {
            x.open("item")
                .leaf("reservationId", r)
                .leaf("ownerId", call.account());
            x.open("groupSet").close("groupSet");
            x.open("instancesSet");
            for i in items {
                instance_xml(call, x, world, i);
            }
            x.close("instancesSet");
            x.close("item");
        }
        x.close("reservationSet");
        x.opt("nextToken", next.as_deref());
    })
}

fn terminate_instances(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let ids: Vec<String> = call
        .params
        .flat_list("InstanceId")
        .into_iter()
        .map(str::to_string)
        .collect();
    if ids.is_empty() {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "MissingParameter",
            "The request must contain the parameter InstanceId",
        ));
    }
    for id in &ids {
        call.authorize("ec2:TerminateInstances", &instance_arn(call, id))?;
    }
    check_dry_run(call)?;
    let (before, _) = call.state.live.change(|raw, world| {
        let mut before = Vec::new();
        for id in &ids {
            before.push(instance(call, world, id)?.state);
        }
        launch::terminate(raw, &ids);
        // A group whose instance was terminated by hand replaces it: lower the capacity the
        // way `--should-decrement-desired-capacity` does not; Auto Scaling relaunches.
        crate::autoscaling::reconcile(call.state, raw, world)?;
        Ok::<_, QueryError>(before)
    })?;
    respond(call, |x| {
        x.open("instancesSet");
        for (id, prev) in ids.iter().zip(before) {
            let (pn, pc) = prev.name_and_code();
            x.open("item").leaf("instanceId", id);
            x.open("currentState")
                .leaf("code", "48")
                .leaf("name", "terminated")
                .close("currentState");
            x.open("previousState")
                .leaf("code", &pc.to_string())
                .leaf("name", pn)
                .close("previousState");
            x.close("item");
        }
        x.close("instancesSet");
    })
}

fn association_xml(x: &mut Xml, world: &World, i: &Instance, state: &str, now: &str) {
    x.open("iamInstanceProfileAssociation")
        .leaf("associationId", &i.association_id)
        .leaf("instanceId", &i.id);
    if let Some(p) = i.instance_profile {
        let p = &world.instance_profiles[p];
        x.open("iamInstanceProfile")
            .leaf("arn", &p.arn)
            .leaf("id", &p.id)
            .close("iamInstanceProfile");
    }
    x.leaf("state", state).leaf("timestamp", now);
    x.close("iamInstanceProfileAssociation");
}

/// `IamInstanceProfile.Name` or `.Arn`, required.
fn profile_param(call: &Call<'_>) -> Result<String, QueryError> {
    call.get("IamInstanceProfile.Arn")
        .or(call.get("IamInstanceProfile.Name"))
        .map(str::to_string)
        .ok_or_else(|| {
            QueryError::new(
                StatusCode::BAD_REQUEST,
                "MissingParameter",
                "The request must contain the parameter IamInstanceProfile",
            )
        })
}

/// Sets a running instance's profile; `None` removes it.
fn set_profile(
    call: &Call<'_>,
    instance_id: &str,
    profile: Option<&str>,
    new_association: bool,
) -> Result<std::sync::Arc<World>, QueryError> {
    let (_, world) = call.state.live.change(|raw, world| {
        let name = match profile {
            Some(p) => Some(launch::resolve_profile(world, call.account(), p)?.0),
            None => None,
        };
        let inst = raw
            .instances
            .iter_mut()
            .find(|i| i.id == instance_id)
            .ok_or_else(|| not_found(instance_id))?;
        inst.instance_profile = name;
        if new_association {
            inst.association_id = Some(ids::ec2_id("iip-assoc"));
        }
        Ok::<_, QueryError>(())
    })?;
    Ok(world)
}

fn pass_profile_role(call: &Call<'_>, profile: &str) -> Result<(), QueryError> {
    if let (_, Some(role)) = launch::resolve_profile(&call.view.world, call.account(), profile)? {
        launch::check_pass_role(call, &role)?;
    }
    Ok(())
}

fn associate(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let id = crate::query::required(&call.params, "InstanceId", Service::Ec2)?.to_string();
    let profile = profile_param(call)?;
    call.authorize("ec2:AssociateIamInstanceProfile", &instance_arn(call, &id))?;
    pass_profile_role(call, &profile)?;
    let inst = instance(call, &call.view.world, &id)?;
    if inst.state != InstanceState::Running {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "IncorrectInstanceState",
            format!("The instance '{id}' is not in a state from which it can be associated."),
        ));
    }
    if inst.instance_profile.is_some() {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "IncorrectState",
            format!("There is an existing association for instance {id}"),
        ));
    }
    let world = set_profile(call, &id, Some(&profile), true)?;
    let i = world.instance(&id).ok_or_else(|| not_found(&id))?;
    let now = iso8601(call.state.clock.now());
    respond(call, |x| association_xml(x, &world, i, "associating", &now))
}

/// The running instance holding association `aid`.
fn by_association<'w>(
    call: &Call<'_>,
    world: &'w World,
    aid: &str,
) -> Result<&'w Instance, QueryError> {
    world
        .instances
        .iter()
        .find(|i| {
            i.account == call.account()
                && i.state == InstanceState::Running
                && i.instance_profile.is_some()
                && i.association_id == aid
        })
        .ok_or_else(|| {
            QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidAssociationID.NotFound",
                format!("An association with ID {aid} does not exist."),
            )
        })
}

fn replace_association(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let aid = crate::query::required(&call.params, "AssociationId", Service::Ec2)?.to_string();
    let profile = profile_param(call)?;
    let id = by_association(call, &call.view.world, &aid)?.id.clone();
    call.authorize(
        "ec2:ReplaceIamInstanceProfileAssociation",
        &instance_arn(call, &id),
    )?;
    pass_profile_role(call, &profile)?;
    let world = set_profile(call, &id, Some(&profile), true)?;
    let i = world.instance(&id).ok_or_else(|| not_found(&id))?;
    let now = iso8601(call.state.clock.now());
    respond(call, |x| association_xml(x, &world, i, "associating", &now))
}

fn disassociate(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let aid = crate::query::required(&call.params, "AssociationId", Service::Ec2)?.to_string();
    let before = by_association(call, &call.view.world, &aid)?;
    let id = before.id.clone();
    call.authorize(
        "ec2:DisassociateIamInstanceProfile",
        &instance_arn(call, &id),
    )?;
    let world_before = call.view.world.clone();
    set_profile(call, &id, None, false)?;
    let now = iso8601(call.state.clock.now());
    respond(call, |x| {
        association_xml(x, &world_before, before, "disassociating", &now)
    })
}

fn describe_associations(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("ec2:DescribeIamInstanceProfileAssociations", "*")?;
    let world = &call.view.world;
    let wanted = call.params.flat_list("AssociationId");
    let filters = filters(&call.params, &ASSOCIATION_FILTERS)?;
    let now = iso8601(call.state.clock.now());
    let items: Vec<&Instance> = world
        .instances
        .iter()
        .filter(|i| {
            i.account == call.account()
                && i.state == InstanceState::Running
                && i.instance_profile.is_some()
        })
        .filter(|i| wanted.is_empty() || wanted.contains(&i.association_id.as_str()))
        .filter(|i| {
            filters.iter().all(|(n, vs)| match n.as_str() {
                "instance-id" => vs.contains(&i.id),
                "state" => vs.iter().any(|v| v == "associated"),
                // `filters` refused every other name.
                _ => false,
            })
        })
        .collect();
    let (items, next) = ec2_page(call, items, 5..=1000)?;
    respond(call, |x| {
        x.open("iamInstanceProfileAssociationSet");
        for i in items {
            let p = &world.instance_profiles[i.instance_profile.expect("filtered")];
            x.open("item")
                .leaf("associationId", &i.association_id)
                .leaf("instanceId", &i.id);
            x.open("iamInstanceProfile")
                .leaf("arn", &p.arn)
                .leaf("id", &p.id)
                .close("iamInstanceProfile");
            x.leaf("state", "associated").leaf("timestamp", &now);
            x.close("item");
        }
        x.close("iamInstanceProfileAssociationSet");
        x.opt("nextToken", next.as_deref());
    })
}

fn not_running_for_metadata(id: &str) -> QueryError {
    QueryError::new(
        StatusCode::BAD_REQUEST,
        "IncorrectInstanceState",
        format!("The instance '{id}' is not in a state from which its metadata options can be modified."),
    )
}

fn modify_metadata_options(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let id = crate::query::required(&call.params, "InstanceId", Service::Ec2)?.to_string();
    let opts = metadata_options(&call.params, "")?;
    call.authorize(
        "ec2:ModifyInstanceMetadataOptions",
        &instance_arn(call, &id),
    )?;
    check_dry_run(call)?;
    let tags = match call.get("InstanceMetadataTags") {
        None => None,
        Some("enabled") => Some(true),
        Some("disabled") => Some(false),
        Some(v) => {
            return Err(invalid_parameter(format!(
                "Value ({v}) for parameter InstanceMetadataTags is invalid. Valid values are enabled and disabled"
            )))
        }
    };
    let (_, world) = call.state.live.change(|raw, world| {
        let i = instance(call, world, &id)?;
        if i.state != InstanceState::Running {
            return Err(not_running_for_metadata(&id));
        }
        if tags == Some(true) {
            if let Some(key) = i.tags.keys().find(|k| !crate::world::imds_tag_key(k)) {
                return Err(invalid_parameter(format!(
                    "The instance's tag key \"{key}\" is not allowed in instance metadata: tag keys \
                     can contain only letters, numbers and + - = . , _ : @, and cannot be \
                     \".\", \"..\" or \"_index\". Change the tag, then turn on instance metadata tags"
                )));
            }
        }
        let inst = raw
            .instances
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| not_found(&id))?;
        if let Some(t) = opts.http_tokens {
            inst.http_tokens = t;
        }
        if let Some(h) = opts.hop_limit {
            inst.hop_limit = Some(h);
        }
        if let Some(e) = opts.endpoint {
            inst.endpoint = e;
        }
        if let Some(t) = tags {
            inst.metadata_tags = t;
        }
        Ok::<_, QueryError>(())
    })?;
    let i = world.instance(&id).ok_or_else(|| not_found(&id))?;
    respond(call, |x| {
        x.leaf("instanceId", &id);
        metadata_options_xml(x, "instanceMetadataOptions", i, "pending");
    })
}

fn template_data(p: &Params, prefix: &str) -> Result<RawLaunchTemplateVersion, QueryError> {
    let get = |k: &str| p.get(&format!("{prefix}.{k}")).map(str::to_string);
    Ok(RawLaunchTemplateVersion {
        number: 1,
        description: p.get("VersionDescription").map(str::to_string),
        image_id: get("ImageId"),
        instance_type: get("InstanceType"),
        iam_instance_profile: get("IamInstanceProfile.Arn").or(get("IamInstanceProfile.Name")),
        key_name: get("KeyName"),
        user_data: get("UserData"),
        metadata_options: metadata_options(p, &format!("{prefix}.MetadataOptions"))?,
        created: None,
    })
}

/// A launch template's XML; `createdBy` is its creator's ARN, `root_arn` (the account's root)
/// for a template the world file defines without one.
fn template_xml(x: &mut Xml, element: &str, t: &RawLaunchTemplate, root_arn: &str) {
    x.open(element)
        .leaf("launchTemplateId", &t.id)
        .leaf("launchTemplateName", &t.name)
        .leaf(
            "createTime",
            t.created.as_deref().unwrap_or(ids::EPOCH_DATE),
        )
        .leaf("createdBy", t.created_by.as_deref().unwrap_or(root_arn))
        .leaf(
            "defaultVersionNumber",
            &t.default_version.unwrap_or(1).to_string(),
        )
        .leaf("latestVersionNumber", &t.versions.len().to_string())
        .close(element);
}

fn create_launch_template(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let name =
        crate::query::required(&call.params, "LaunchTemplateName", Service::Ec2)?.to_string();
    let mut data = template_data(&call.params, "LaunchTemplateData")?;
    call.authorize("ec2:CreateLaunchTemplate", &template_arn(call, "*"))?;
    check_dry_run(call)?;
    let created = iso8601(call.state.clock.now());
    data.created = Some(created.clone());
    let (t, _) = call.state.live.change(|raw, world| {
        if let Some(p) = &data.iam_instance_profile {
            launch::resolve_profile(world, call.account(), p)?;
        }
        if raw
            .launch_templates
            .iter()
            .any(|t| t.account == call.account() && t.name == name)
        {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidLaunchTemplateName.AlreadyExistsException",
                "Launch template name already in use.",
            ));
        }
        let t = RawLaunchTemplate {
            account: call.account().to_string(),
            name: name.clone(),
            id: ids::ec2_id("lt"),
            default_version: Some(1),
            created: Some(created.clone()),
            created_by: Some(call.caller.arn.clone()),
            versions: vec![data.clone()],
        };
        raw.launch_templates.push(t.clone());
        Ok::<_, QueryError>(t)
    })?;
    let root = root_arn(call);
    respond(call, |x| template_xml(x, "launchTemplate", &t, &root))
}

/// The ARN of the caller's account root (`arn:PARTITION:iam::ACCOUNT:root`).
fn root_arn(call: &Call<'_>) -> String {
    format!("arn:{}:iam::{}:root", call.partition(), call.account())
}

fn describe_launch_templates(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("ec2:DescribeLaunchTemplates", "*")?;
    check_dry_run(call)?;
    let filters = filters(&call.params, &TEMPLATE_FILTERS)?;
    let ids_wanted = call.params.flat_list("LaunchTemplateId");
    let names = call.params.flat_list("LaunchTemplateName");
    let world = &call.view.world;
    let mine = || {
        world
            .raw
            .launch_templates
            .iter()
            .filter(|t| t.account == call.account())
    };
    // A template asked for by id or name must exist (a filter matching nothing is no error).
    for id in &ids_wanted {
        if !mine().any(|t| t.id == *id) {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidLaunchTemplateId.NotFound",
                format!("The specified launch template, with template ID {id}, does not exist."),
            ));
        }
    }
    if names.iter().any(|n| !mine().any(|t| t.name == *n)) {
        return Err(QueryError::new(
            StatusCode::BAD_REQUEST,
            "InvalidLaunchTemplateName.NotFoundException",
            "At least one of the launch templates specified in the request does not exist.",
        ));
    }
    let root = root_arn(call);
    let templates: Vec<&RawLaunchTemplate> = mine()
        .filter(|t| {
            (ids_wanted.is_empty() || ids_wanted.contains(&t.id.as_str()))
                && (names.is_empty() || names.contains(&t.name.as_str()))
                && filters.iter().all(|(_, values)| {
                    // `launch-template-name`, the only one `filters` lets through.
                    values.iter().any(|p| filter_match(p, &t.name))
                })
        })
        .collect();
    let (templates, next) = ec2_page(call, templates, 1..=200)?;
    respond(call, |x| {
        x.open("launchTemplates");
        for t in templates {
            template_xml(x, "item", t, &root);
        }
        x.close("launchTemplates");
        x.opt("nextToken", next.as_deref());
    })
}

fn describe_launch_template_versions(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    call.authorize("ec2:DescribeLaunchTemplateVersions", "*")?;
    check_dry_run(call)?;
    filters(&call.params, &TEMPLATE_VERSION_FILTERS)?;
    let world = &call.view.world;
    let id = call.get("LaunchTemplateId");
    let name = call.get("LaunchTemplateName");
    let t = find_template(world, call.account(), id, name)?;
    let default = t.default_version.unwrap_or(1);
    let (versions, next) = ec2_page(call, t.versions.iter().collect(), 1..=200)?;
    respond(call, |x| {
        x.open("launchTemplateVersionSet");
        for v in versions {
            x.open("item")
                .leaf("launchTemplateId", &t.id)
                .leaf("launchTemplateName", &t.name)
                .leaf("versionNumber", &v.number.to_string())
                .opt("versionDescription", v.description.as_deref())
                .leaf(
                    "createTime",
                    v.created.as_deref().unwrap_or(ids::EPOCH_DATE),
                )
                .leaf(
                    "defaultVersion",
                    if v.number == default { "true" } else { "false" },
                );
            x.open("launchTemplateData")
                .opt("imageId", v.image_id.as_deref())
                .opt("instanceType", v.instance_type.as_deref())
                .opt("keyName", v.key_name.as_deref());
            if let Some(p) = &v.iam_instance_profile {
                x.open("iamInstanceProfile");
                if p.starts_with("arn:") {
                    x.leaf("arn", p);
                } else {
                    x.leaf("name", p);
                }
                x.close("iamInstanceProfile");
            }
            let o = &v.metadata_options;
            if o != &RawMetadataOptions::default() {
                x.open("metadataOptions")
                    .opt("httpTokens", o.http_tokens.map(HttpTokens::as_str))
                    .opt(
                        "httpPutResponseHopLimit",
                        o.hop_limit.map(|h| h.to_string()).as_deref(),
                    )
                    .opt("httpEndpoint", o.endpoint.map(EndpointState::as_str))
                    .close("metadataOptions");
            }
            x.close("launchTemplateData");
            x.close("item");
        }
        x.close("launchTemplateVersionSet");
        x.opt("nextToken", next.as_deref());
    })
}

fn delete_launch_template(call: &Call<'_>) -> Result<HttpResponse, QueryError> {
    let id = call.get("LaunchTemplateId").map(str::to_string);
    let name = call.get("LaunchTemplateName").map(str::to_string);
    // Authorized on the template's ARN (the Service Authorization Reference's resource type
    // `launch-template`); a template that does not exist is named by the id asked for.
    let target = find_template(
        &call.view.world,
        call.account(),
        id.as_deref(),
        name.as_deref(),
    )
    .ok()
    .map(|t| t.id.clone())
    .or_else(|| id.clone())
    .unwrap_or_else(|| "*".into());
    call.authorize("ec2:DeleteLaunchTemplate", &template_arn(call, &target))?;
    check_dry_run(call)?;
    let root = root_arn(call);
    let (t, _) = call.state.live.change(|raw, _| {
        let pos = raw
            .launch_templates
            .iter()
            .position(|t| {
                t.account == call.account()
                    && (id.as_deref() == Some(&t.id) || name.as_deref() == Some(&t.name))
            })
            .ok_or_else(|| {
                QueryError::new(
                    StatusCode::BAD_REQUEST,
                    "InvalidLaunchTemplateId.NotFound",
                    format!(
                        "The specified launch template, with template ID {}, does not exist.",
                        id.clone().or(name.clone()).unwrap_or_default()
                    ),
                )
            })?;
        let t = raw.launch_templates[pos].clone();
        if raw.auto_scaling_groups.iter().any(|g| {
            g.launch_template.as_ref().is_some_and(|r| {
                r.id.as_deref() == Some(&t.id) || r.name.as_deref() == Some(&t.name)
            })
        }) {
            return Err(QueryError::new(
                StatusCode::BAD_REQUEST,
                "InvalidLaunchTemplateId.InUse",
                format!(
                    "The launch template {} is in use by an Auto Scaling group.",
                    t.id
                ),
            ));
        }
        raw.launch_templates.remove(pos);
        Ok::<_, QueryError>(t)
    })?;
    respond(call, |x| template_xml(x, "launchTemplate", &t, &root))
}

#[cfg(test)]
mod actions_tests {
    /// `ACTIONS` names exactly the actions `dispatch` matches.
    #[test]
    fn actions_list_matches_dispatch() {
        let arms = crate::query::dispatch_arms(include_str!("ec2.rs"));
        assert_eq!(arms, super::ACTIONS);
    }
}
