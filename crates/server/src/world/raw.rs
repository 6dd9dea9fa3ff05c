//! The TOML shape of a world file: what `awsid serve` loads, what the state store keeps (one
//! record per entry) and what `awsid world export` writes back. Validation into a [`World`]
//! is in `validate/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `HttpTokens` of an instance.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HttpTokens {
    /// IMDSv1 and v2.
    #[default]
    Optional,
    /// IMDSv2 only.
    Required,
}

impl HttpTokens {
    /// The EC2 API spelling (`optional` / `required`).
    pub fn as_str(self) -> &'static str {
        match self {
            HttpTokens::Optional => "optional",
            HttpTokens::Required => "required",
        }
    }
}

/// `HttpEndpoint` of an instance.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EndpointState {
    /// IMDS answers.
    #[default]
    Enabled,
    /// Every request gets 403.
    Disabled,
}

impl EndpointState {
    /// The EC2 API spelling (`enabled` / `disabled`).
    pub fn as_str(self) -> &'static str {
        match self {
            EndpointState::Enabled => "enabled",
            EndpointState::Disabled => "disabled",
        }
    }
}

/// The lifecycle state of an instance.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum InstanceState {
    /// Running: its IMDS listener serves.
    #[default]
    Running,
    /// Terminated: kept for DescribeInstances, no IMDS.
    Terminated,
}

impl InstanceState {
    /// The EC2 API name and code (`running` 16, `terminated` 48).
    pub fn name_and_code(self) -> (&'static str, u32) {
        match self {
            InstanceState::Running => ("running", 16),
            InstanceState::Terminated => ("terminated", 48),
        }
    }
}

fn is_default<T: Default + PartialEq>(v: &T) -> bool {
    *v == T::default()
}

/// A whole world file. Its `Debug` shows only entry counts: entries hold secrets.
#[derive(Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawWorld {
    #[serde(default, skip_serializing_if = "is_default")]
    pub(crate) settings: RawSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) accounts: Vec<RawAccount>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) users: Vec<RawUser>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) roles: Vec<RawRole>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) managed_policies: Vec<RawManagedPolicy>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) instance_profiles: Vec<RawInstanceProfile>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) virtual_mfa_devices: Vec<RawVirtualMfa>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) instances: Vec<RawInstance>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) launch_configurations: Vec<RawLaunchConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) launch_templates: Vec<RawLaunchTemplate>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) auto_scaling_groups: Vec<RawAutoScalingGroup>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) ecs_tasks: Vec<RawEcsTask>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) oidc_providers: Vec<RawOidcProvider>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sessions: Vec<RawSession>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) sso_instances: Vec<crate::sso::model::RawSsoInstance>,
    /// The fault switchboard's initial settings (`[faults.<target>]`, [`crate::faults`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) faults: Option<toml::Value>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts_clock_skew_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sts_session_lifetime_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master_key_file: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_regions: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccount {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
    /// Account name and e-mail (Organizations data, listed by the SSO portal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAccessKey {
    pub id: String,
    pub secret: String,
    #[serde(default = "active", skip_serializing_if = "is_active")]
    pub status: String,
    /// When the key was created (ISO 8601), for ListAccessKeys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

fn active() -> String {
    "Active".into()
}

fn is_active(s: &str) -> bool {
    s == "Active"
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMfa {
    pub serial: String,
    pub secret_base32: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUser {
    pub account: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// Unnamed inline policies (named `policy-1`, `policy-2`, … by the IAM API).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Named inline policies (PutUserPolicy).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of attached managed policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_keys: Vec<RawAccessKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mfa_devices: Vec<RawMfa>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawRole {
    pub account: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_session_duration: Option<i64>,
    pub trust_policy: String,
    /// Unnamed inline policies (named `policy-1`, `policy-2`, … by the IAM API).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<String>,
    /// Named inline policies (PutRolePolicy).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of attached managed policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_policies: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

/// A customer managed policy (AWS managed policies are built in).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawManagedPolicy {
    pub account: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    pub document: String,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstanceProfile {
    pub account: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The role it holds (IAM allows at most one); none right after CreateInstanceProfile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

/// A virtual MFA device not (yet) enabled for a user.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawVirtualMfa {
    pub account: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    pub secret_base32: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawInstance {
    pub id: String,
    pub account: String,
    #[serde(default, skip_serializing_if = "is_default")]
    pub state: InstanceState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_profile: Option<String>,
    /// `iip-assoc-…` of the instance profile association (derived from the id when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub association_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub http_tokens: HttpTokens,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u32>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub endpoint: EndpointState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_api: Option<bool>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub metadata_tags: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_lifetime_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_margin_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending_time: Option<String>,
    /// The Auto Scaling group that launched it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auto_scaling_group: Option<String>,
    /// The launch configuration or `lt-…:version` it was launched from (`RunInstances`
    /// without either).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launched_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, String>,
}

/// IMDS options a launch configuration or template gives its instances.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMetadataOptions {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http_tokens: Option<HttpTokens>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hop_limit: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<EndpointState>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLaunchConfiguration {
    pub account: String,
    pub name: String,
    /// The UUID in the ARN.
    pub id: String,
    pub image_id: String,
    pub instance_type: String,
    /// Instance profile name or ARN, as given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_instance_profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_groups: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub metadata_options: RawMetadataOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLaunchTemplateVersion {
    pub number: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_type: Option<String>,
    /// Instance profile name or ARN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iam_instance_profile: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub metadata_options: RawMetadataOptions,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLaunchTemplate {
    pub account: String,
    pub name: String,
    /// `lt-…`.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_version: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    /// The ARN of the caller that created it (EC2's `createdBy`); the account's root when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    pub versions: Vec<RawLaunchTemplateVersion>,
}

/// Which launch template (id or name) and version a group launches.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTemplateRef {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A number, `$Latest` or `$Default` (default `$Default`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawAutoScalingGroup {
    pub account: String,
    pub name: String,
    /// The UUID in the ARN.
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_configuration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub launch_template: Option<RawTemplateRef>,
    pub min_size: u32,
    pub max_size: u32,
    pub desired_capacity: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub availability_zones: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawEcsTask {
    pub id: String,
    pub account: String,
    pub role: String,
    pub credentials_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential_lifetime_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation_margin_seconds: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOidcKey {
    pub kid: String,
    /// PKCS#8 PEM private key (dev providers only: lets `awsid` mint tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub private_key_pem: Option<String>,
    /// JWK modulus (base64url), when only the public key is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// JWK exponent (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawOidcProvider {
    pub account: String,
    pub url: String,
    pub client_ids: Vec<String>,
    pub keys: Vec<RawOidcKey>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSession {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
    /// A user ARN or a role ARN.
    pub principal: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<String>,
    #[serde(default, skip_serializing_if = "is_default")]
    pub mfa: bool,
}

impl std::fmt::Debug for RawWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawWorld")
            .field("accounts", &self.accounts.len())
            .field("users", &self.users.len())
            .field("roles", &self.roles.len())
            .field("instances", &self.instances.len())
            .finish_non_exhaustive()
    }
}

impl RawWorld {
    /// Parses world text (TOML) without validating it.
    pub(crate) fn from_toml(text: &str) -> Result<RawWorld, toml::de::Error> {
        toml::from_str(text)
    }

    /// The world as TOML text, policies as JSON strings.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).expect("a world serializes to TOML")
    }
}
