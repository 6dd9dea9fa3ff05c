//! Launching and terminating instances: what RunInstances and Auto Scaling share. A launch
//! resolves the instance profile, checks `iam:PassRole` for its role (passed to
//! `ec2.amazonaws.com`), adds the instances to the world in the caller's transaction and
//! reserves each one's IMDS listener on 127.0.0.1, so its address is known (and persisted)
//! before the call returns.

use std::collections::BTreeMap;

use http::StatusCode;

use crate::query::{Call, QueryError};
use crate::state::{iso8601, State};
use crate::world::{
    ids, EndpointState, HttpTokens, InstanceState, RawInstance, RawMetadataOptions, RawWorld, World,
};

/// What to launch.
#[derive(Clone, Debug, Default)]
pub(crate) struct LaunchSpec {
    /// `ami-…`.
    pub image_id: String,
    /// `t3.micro` when absent.
    pub instance_type: Option<String>,
    /// Instance profile name or ARN.
    pub instance_profile: Option<String>,
    /// Key pair.
    pub key_name: Option<String>,
    /// User data (as given, base64).
    pub user_data: Option<String>,
    /// IMDS options.
    pub metadata: RawMetadataOptions,
    /// Instance tags.
    pub tags: BTreeMap<String, String>,
    /// The Auto Scaling group launching it.
    pub group: Option<String>,
    /// The launch configuration or template it came from (`RunInstances` for a plain launch).
    pub launched_from: Option<String>,
    /// The availability zone (the region's `a` zone when absent).
    pub availability_zone: Option<String>,
}

/// 400 `InvalidParameterValue` (EC2 wording).
pub fn invalid_parameter(message: impl Into<String>) -> QueryError {
    QueryError::new(StatusCode::BAD_REQUEST, "InvalidParameterValue", message)
}

/// The instance profile a spec names (`name` or ARN) in `account`: its name and, when it holds
/// one, its role's ARN.
pub fn resolve_profile(
    world: &World,
    account: &str,
    given: &str,
) -> Result<(String, Option<String>), QueryError> {
    let found = if given.starts_with("arn:") {
        world
            .instance_profiles
            .iter()
            .find(|p| p.arn == given && p.account == account)
    } else {
        world
            .instance_profile(account, given)
            .map(|i| &world.instance_profiles[i])
    };
    let p = found.ok_or_else(|| {
        if given.starts_with("arn:") {
            invalid_parameter(format!(
                "Value ({given}) for parameter iamInstanceProfile.arn is invalid. Invalid IAM Instance Profile ARN"
            ))
        } else {
            invalid_parameter(format!(
                "Value ({given}) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name"
            ))
        }
    })?;
    Ok((p.name.clone(), p.role.map(|r| world.roles[r].arn.clone())))
}

/// Checks that the caller may pass the profile's role to EC2.
pub fn check_pass_role(call: &Call<'_>, role_arn: &str) -> Result<(), QueryError> {
    call.authorize_with(
        "iam:PassRole",
        role_arn,
        &[("iam:PassedToService", "ec2.amazonaws.com")],
    )
}

/// Adds `count` instances of `spec` for `account` to `raw`; returns their ids.
pub(crate) fn launch(
    state: &State,
    raw: &mut RawWorld,
    world: &World,
    account: &str,
    spec: &LaunchSpec,
    count: usize,
) -> Result<Vec<String>, QueryError> {
    let profile = match &spec.instance_profile {
        Some(p) => Some(resolve_profile(world, account, p)?.0),
        None => None,
    };
    let region = &world.settings.region;
    let az = spec
        .availability_zone
        .clone()
        .unwrap_or_else(|| format!("{region}a"));
    let now = iso8601(state.clock.now());
    let reservation = ids::ec2_id("r");
    let mut out = Vec::new();
    for index in 0..count {
        let id = ids::ec2_id("i");
        let listen = state.reserve_imds(&id).map_err(|e| {
            QueryError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                format!("cannot reserve an IMDS listener for {id}: {e}"),
            )
        })?;
        let mut metadata = BTreeMap::new();
        metadata.insert("ami-id".to_string(), spec.image_id.clone());
        metadata.insert(
            "instance-type".to_string(),
            spec.instance_type
                .clone()
                .unwrap_or_else(|| "t3.micro".into()),
        );
        metadata.insert("placement/availability-zone".to_string(), az.clone());
        metadata.insert("ami-launch-index".to_string(), index.to_string());
        metadata.insert("reservation-id".to_string(), reservation.clone());
        let mut tags = spec.tags.clone();
        if let Some(g) = &spec.group {
            tags.insert("aws:autoscaling:groupName".into(), g.clone());
        }
        raw.instances.push(RawInstance {
            id: id.clone(),
            account: account.to_string(),
            state: InstanceState::Running,
            instance_profile: profile.clone(),
            association_id: profile.as_ref().map(|_| ids::ec2_id("iip-assoc")),
            listen: Some(listen.to_string()),
            http_tokens: spec.metadata.http_tokens.unwrap_or(HttpTokens::Optional),
            hop_limit: spec.metadata.hop_limit,
            endpoint: spec.metadata.endpoint.unwrap_or(EndpointState::Enabled),
            extended_api: None,
            metadata_tags: false,
            credential_lifetime_seconds: None,
            rotation_margin_seconds: None,
            user_data: spec.user_data.as_deref().map(decode_user_data),
            architecture: None,
            pending_time: Some(now.clone()),
            auto_scaling_group: spec.group.clone(),
            launched_from: spec.launched_from.clone(),
            key_name: spec.key_name.clone(),
            tags: tags.into_iter().filter(|(k, _)| !k.is_empty()).collect(),
            metadata,
        });
        out.push(id);
    }
    Ok(out)
}

/// User data arrives base64-encoded; IMDS serves the decoded text (as given when it is not
/// valid base64 of UTF-8).
fn decode_user_data(given: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(given.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_else(|| given.to_string())
}

/// Marks `ids` terminated (their IMDS listeners stop when the change is published).
pub(crate) fn terminate(raw: &mut RawWorld, ids: &[String]) {
    for inst in raw.instances.iter_mut() {
        if ids.contains(&inst.id) {
            inst.state = InstanceState::Terminated;
        }
    }
}
