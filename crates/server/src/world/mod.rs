//! The world: accounts, users, roles, managed policies, instance profiles, instances, launch
//! configurations and templates, Auto Scaling groups, ECS tasks, OIDC providers and pre-issued
//! sessions, loaded from one TOML file (format in `crates/server/WORLD.md`) and validated with
//! errors naming the section, entry and field at fault. A [`World`] is an immutable snapshot;
//! changes go through [`crate::live::LiveWorld`], which validates a new one.

pub(crate) mod error;
pub mod ids;
pub mod managed;
mod raw;
mod validate;
pub(crate) use validate::imds_tag_key;

use std::collections::{BTreeMap, HashMap};

use crate::jwt::RsaKey;
use crate::policy::Policy;

pub use error::{InvalidEntry, Location, Problem, WorldError};
pub(crate) use raw::*;
pub use raw::{EndpointState, HttpTokens, InstanceState, RawWorld};

/// The embedded default world in which every configuration example of the seed documents
/// works verbatim.
pub const DEFAULT_WORLD: &str = include_str!("default_world.toml");

/// Server-wide settings of a world.
#[derive(Clone, Debug)]
pub struct Settings {
    /// The ARN partition (`aws`).
    pub partition: String,
    /// The default region (instance identity, signing scope check).
    pub region: String,
    /// Allowed clock skew for signed STS requests, in seconds.
    pub sts_clock_skew_seconds: i64,
    /// Master key material given inline in the world (base64), if any.
    pub master_key: Option<String>,
    /// Master key file named by the world, if any.
    pub master_key_file: Option<String>,
    /// Regions accepted in a SigV4 credential scope (empty = any syntactically valid region).
    pub allowed_regions: Vec<String>,
    /// `sts_session_lifetime_seconds` (a test knob): every session STS issues
    /// (`AssumeRole*`, `GetSessionToken`, `GetFederationToken`) expires this many seconds after it was issued,
    /// whatever `DurationSeconds` said (which is still validated and reported nowhere else).
    pub sts_session_lifetime_seconds: Option<i64>,
}

impl Settings {
    /// When a session issued at `now` for `duration` seconds expires: `now + duration`, or
    /// `now +` [`Settings::sts_session_lifetime_seconds`] when the world sets it.
    pub fn session_expiry(&self, now: i64, duration: i64) -> i64 {
        now + self.sts_session_lifetime_seconds.unwrap_or(duration)
    }
}

/// An IAM user's long-term access key.
#[derive(Clone)]
pub struct AccessKey {
    /// `AKIA…`.
    pub id: String,
    /// The secret access key.
    pub secret: String,
    /// Whether the key is `Active`.
    pub active: bool,
    /// CreateDate (ISO 8601).
    pub created: String,
}

impl std::fmt::Debug for AccessKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("active", &self.active)
            .finish()
    }
}

/// A virtual MFA device (TOTP, RFC 6238).
#[derive(Clone)]
pub struct MfaDevice {
    /// The serial number (`arn:aws:iam::<acct>:mfa/<name>`).
    pub serial: String,
    /// The decoded TOTP secret.
    pub secret: Vec<u8>,
}

impl std::fmt::Debug for MfaDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaDevice")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}

/// An IAM user.
#[derive(Clone, Debug)]
pub struct User {
    /// The owning account.
    pub account: String,
    /// The user name.
    pub name: String,
    /// The path (`/` by default).
    pub path: String,
    /// The unique id (`AIDA…`).
    pub id: String,
    /// `arn:<partition>:iam::<acct>:user<path><name>`.
    pub arn: String,
    /// Long-term access keys.
    pub access_keys: Vec<AccessKey>,
    /// Virtual MFA devices.
    pub mfa_devices: Vec<MfaDevice>,
    /// Identity policies: inline ones, then attached managed ones.
    pub policies: Vec<Policy>,
    /// What each of `policies` is.
    pub policy_sources: Vec<PolicySource>,
    /// Tags (`aws:PrincipalTag/*`).
    pub tags: BTreeMap<String, String>,
    /// CreateDate (ISO 8601).
    pub created: String,
}

/// An IAM role.
#[derive(Clone, Debug)]
pub struct Role {
    /// The owning account.
    pub account: String,
    /// The role name.
    pub name: String,
    /// The path.
    pub path: String,
    /// The unique id (`AROA…`).
    pub id: String,
    /// `arn:<partition>:iam::<acct>:role<path><name>`.
    pub arn: String,
    /// The trust policy.
    pub trust_policy: Policy,
    /// The trust policy as written.
    pub trust_document: String,
    /// Description.
    pub description: Option<String>,
    /// Whether the role is managed by a service (Identity Center's reserved roles): IAM
    /// refuses to change it.
    pub reserved: bool,
    /// Permission (identity) policies: inline ones, then attached managed ones.
    pub policies: Vec<Policy>,
    /// What each of `policies` is (for decision logs).
    pub policy_sources: Vec<PolicySource>,
    /// MaxSessionDuration in seconds (3600–43200).
    pub max_session_duration: i64,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// CreateDate (ISO 8601).
    pub created: String,
}

/// Where an identity policy of a user or role comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PolicySource {
    /// An inline policy with this name.
    Inline(String),
    /// An attached managed policy with this ARN.
    Managed(String),
}

impl std::fmt::Display for PolicySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicySource::Inline(n) => write!(f, "inline policy {n}"),
            PolicySource::Managed(a) => write!(f, "managed policy {a}"),
        }
    }
}

/// A managed policy: customer managed (in an account) or AWS managed (built in).
#[derive(Clone, Debug)]
pub struct ManagedPolicy {
    /// The owning account; `None` for AWS managed policies.
    pub account: Option<String>,
    /// Name.
    pub name: String,
    /// Path.
    pub path: String,
    /// `ANPA…`.
    pub id: String,
    /// `arn:<partition>:iam::<acct|aws>:policy<path><name>`.
    pub arn: String,
    /// The parsed document.
    pub policy: Policy,
    /// The document as written.
    pub document: String,
    /// Description.
    pub description: Option<String>,
    /// CreateDate (ISO 8601).
    pub created: String,
}

/// An instance profile holding one role.
#[derive(Clone, Debug)]
pub struct InstanceProfile {
    /// The owning account.
    pub account: String,
    /// Name.
    pub name: String,
    /// Unique id (`AIPA…`).
    pub id: String,
    /// ARN.
    pub arn: String,
    /// Path.
    pub path: String,
    /// Index of the role in [`World::roles`] (IAM allows one; none after CreateInstanceProfile).
    pub role: Option<usize>,
    /// CreateDate (ISO 8601).
    pub created: String,
}

/// IMDS options and metadata of one EC2 instance.
#[derive(Clone, Debug)]
pub struct Instance {
    /// `i-…`.
    pub id: String,
    /// The owning account.
    pub account: String,
    /// Running or terminated.
    pub state: InstanceState,
    /// Index of the instance profile, if any.
    pub instance_profile: Option<usize>,
    /// `iip-assoc-…` of the instance profile association.
    pub association_id: String,
    /// The Auto Scaling group that launched it, if any.
    pub auto_scaling_group: Option<String>,
    /// The launch configuration or template it came from (`RunInstances` for a plain
    /// launch), if any.
    pub launched_from: Option<String>,
    /// The key pair name, if any.
    pub key_name: Option<String>,
    /// Listen address of its IMDS listener when not given on the command line.
    pub listen: Option<String>,
    /// `HttpTokens`.
    pub http_tokens: HttpTokens,
    /// `HttpPutResponseHopLimit` (1–64): IP TTL of token responses.
    pub hop_limit: u32,
    /// `HttpEndpoint`.
    pub endpoint: EndpointState,
    /// Whether the `-extended` credential paths are served.
    pub extended_api: bool,
    /// Whether `tags/instance` is served.
    pub metadata_tags: bool,
    /// Lifetime of issued role credentials, seconds.
    pub credential_lifetime: i64,
    /// Rotate this many seconds before expiry.
    pub rotation_margin: i64,
    /// Metadata leaf values by path under `meta-data/` (complete, defaults filled in).
    pub metadata: BTreeMap<String, String>,
    /// Instance tags.
    pub tags: BTreeMap<String, String>,
    /// Raw user data, if any.
    pub user_data: Option<String>,
    /// The region (from the availability zone).
    pub region: String,
    /// `architecture` of the identity document.
    pub architecture: String,
    /// `pendingTime` of the identity document.
    pub pending_time: String,
}

/// An ECS task with a task role.
#[derive(Clone, Debug)]
pub struct EcsTask {
    /// The task id (used as the session name).
    pub id: String,
    /// The owning account.
    pub account: String,
    /// Index of the task role.
    pub role: usize,
    /// The id in `/v2/credentials/<id>` (relative-URI form).
    pub credentials_id: String,
    /// The `Authorization` value for the full-URI form, if any.
    pub auth_token: Option<String>,
    /// Credential lifetime, seconds.
    pub credential_lifetime: i64,
    /// Rotation margin, seconds.
    pub rotation_margin: i64,
}

/// An IAM OIDC identity provider.
#[derive(Clone, Debug)]
pub struct OidcProvider {
    /// The owning account.
    pub account: String,
    /// Issuer URL (`https://host/path`).
    pub url: String,
    /// The issuer without `https://` (the ARN suffix and condition-key prefix).
    pub host_path: String,
    /// `arn:<partition>:iam::<acct>:oidc-provider/<host_path>`.
    pub arn: String,
    /// Accepted audiences (client ids).
    pub client_ids: Vec<String>,
    /// Verification keys by `kid`.
    pub keys: Vec<RsaKey>,
}

/// A pre-issued session: fixed credentials that authenticate as a principal (so the
/// documentation's example session credentials work).
#[derive(Clone)]
pub struct PreIssuedSession {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret: String,
    /// Session token.
    pub session_token: String,
    /// Who it authenticates as.
    pub principal: SessionPrincipal,
    /// Expiry (epoch seconds), if any.
    pub expires: Option<i64>,
    /// Whether it counts as MFA-authenticated.
    pub mfa: bool,
}

impl std::fmt::Debug for PreIssuedSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreIssuedSession")
            .field("access_key_id", &self.access_key_id)
            .field("principal", &self.principal)
            .finish_non_exhaustive()
    }
}

/// Who a pre-issued session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionPrincipal {
    /// A GetSessionToken-style session of a user (index into [`World::users`]).
    User(usize),
    /// A session of a role (index) with a session name.
    Role(usize, String),
}

/// Organizations data of an account (shown by the SSO portal's ListAccounts).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountInfo {
    /// The account name.
    pub name: Option<String>,
    /// The account's root e-mail address.
    pub email: Option<String>,
}

/// A validated world with lookup indexes.
#[derive(Debug)]
pub struct World {
    /// Settings.
    pub settings: Settings,
    /// Account ids.
    pub accounts: Vec<String>,
    /// Users.
    pub users: Vec<User>,
    /// Roles.
    pub roles: Vec<Role>,
    /// Instance profiles.
    pub instance_profiles: Vec<InstanceProfile>,
    /// Instances.
    pub instances: Vec<Instance>,
    /// ECS tasks.
    pub ecs_tasks: Vec<EcsTask>,
    /// OIDC providers.
    pub oidc_providers: Vec<OidcProvider>,
    /// Pre-issued sessions.
    pub sessions: Vec<PreIssuedSession>,
    /// IAM Identity Center instances (their assignments' roles are in `roles`).
    pub sso_instances: Vec<crate::sso::model::SsoInstance>,
    /// Customer managed policies of every account, then the AWS managed policies.
    pub managed_policies: Vec<ManagedPolicy>,
    /// The file form this snapshot was validated from (what the store keeps and export writes).
    pub raw: RawWorld,
    /// Incremented by every change (0 for a world fresh from a file).
    pub generation: u64,
    /// The fault switchboard's settings at start (`[faults]`; off when empty).
    pub faults: Vec<(crate::faults::Target, crate::faults::FaultSpec)>,
    account_info: HashMap<String, AccountInfo>,
    access_keys: HashMap<String, (usize, usize)>,
    roles_by_arn: HashMap<String, usize>,
}

impl World {
    /// Loads the embedded default world.
    pub fn default_world() -> World {
        World::parse(DEFAULT_WORLD, "<default world>").expect("the embedded default world is valid")
    }

    /// Reads and validates a world file.
    pub fn load(path: &std::path::Path) -> Result<World, WorldError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| WorldError::Io {
            file: file.clone(),
            source,
        })?;
        World::parse(&text, &file)
    }

    /// Parses and validates world text; `file` names it in errors.
    pub fn parse(text: &str, file: &str) -> Result<World, WorldError> {
        World::from_raw(World::parse_raw(text, file)?, file)
    }

    /// Parses world text without validating it.
    pub fn parse_raw(text: &str, file: &str) -> Result<RawWorld, WorldError> {
        RawWorld::from_toml(text).map_err(|e| WorldError::Syntax {
            file: file.to_string(),
            message: syntax_message(text, &e),
        })
    }

    /// Validates a world in file form; `file` names it in errors.
    pub fn from_raw(raw: RawWorld, file: &str) -> Result<World, WorldError> {
        validate::validate(raw).map_err(|source| WorldError::Invalid {
            file: file.to_string(),
            source,
        })
    }

    /// The world as a world file (TOML).
    pub fn to_toml(&self) -> String {
        self.raw.to_toml()
    }

    /// The managed policy with this ARN (customer or AWS managed).
    pub fn managed_policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        self.managed_policies.iter().find(|p| p.arn == arn)
    }

    /// The user `name` of `account`.
    pub fn user(&self, account: &str, name: &str) -> Option<usize> {
        self.users
            .iter()
            .position(|u| u.account == account && u.name == name)
    }

    /// The role `name` of `account` (names are case-insensitive in IAM).
    pub fn role(&self, account: &str, name: &str) -> Option<usize> {
        self.roles
            .iter()
            .position(|r| r.account == account && r.name.eq_ignore_ascii_case(name))
    }

    /// The instance profile `name` of `account`.
    pub fn instance_profile(&self, account: &str, name: &str) -> Option<usize> {
        self.instance_profiles
            .iter()
            .position(|p| p.account == account && p.name.eq_ignore_ascii_case(name))
    }

    /// The instance with this id.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.iter().find(|i| i.id == id)
    }

    /// Whether `id` is a declared account.
    pub fn has_account(&self, id: &str) -> bool {
        self.accounts.iter().any(|a| a == id)
    }

    /// Finds a long-term access key: `(user, key)`.
    pub fn access_key(&self, id: &str) -> Option<(&User, &AccessKey)> {
        let (u, k) = *self.access_keys.get(id)?;
        Some((&self.users[u], &self.users[u].access_keys[k]))
    }

    /// Index of the user owning a long-term access key.
    pub fn access_key_owner(&self, id: &str) -> Option<usize> {
        self.access_keys.get(id).map(|(u, _)| *u)
    }

    /// Name and e-mail of a declared account (empty for an unknown one).
    pub fn account_info(&self, id: &str) -> AccountInfo {
        self.account_info.get(id).cloned().unwrap_or_default()
    }

    /// The Identity Center instance with this start URL, if any.
    pub fn sso_instance(&self, start_url: &str) -> Option<&crate::sso::model::SsoInstance> {
        self.sso_instances
            .iter()
            .find(|i| i.matches_start_url(start_url))
    }

    /// Index of the role with this exact ARN.
    pub fn role_by_arn(&self, arn: &str) -> Option<usize> {
        self.roles_by_arn.get(arn).copied()
    }

    /// Pre-issued sessions with this access key id.
    pub fn pre_issued(&self, access_key_id: &str) -> impl Iterator<Item = &PreIssuedSession> {
        let id = access_key_id.to_string();
        self.sessions.iter().filter(move |s| s.access_key_id == id)
    }

    /// The OIDC provider of `account` whose issuer is `iss` (with or without `https://`).
    pub fn oidc_provider(&self, account: &str, iss: &str) -> Option<&OidcProvider> {
        let host_path = iss.strip_prefix("https://").unwrap_or(iss);
        self.oidc_providers
            .iter()
            .find(|p| p.account == account && p.host_path == host_path)
    }

    /// The ECS task with this relative-URI credentials id.
    pub fn ecs_task_by_credentials_id(&self, id: &str) -> Option<&EcsTask> {
        self.ecs_tasks.iter().find(|t| t.credentials_id == id)
    }

    /// The role of an instance (through its instance profile), if any.
    pub fn instance_role(&self, instance: &Instance) -> Option<&Role> {
        let profile = &self.instance_profiles[instance.instance_profile?];
        Some(&self.roles[profile.role?])
    }
}

/// The parser's message with the line and column, without the quoted source line (which
/// may hold a secret).
fn syntax_message(text: &str, e: &toml::de::Error) -> String {
    let message = e.message().trim_end();
    match e.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message.to_string(),
    }
}

#[cfg(test)]
mod tests;
