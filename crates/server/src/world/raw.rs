//! The TOML shape of a world file and its validation into a [`World`].

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Deserialize;

use super::*;
use crate::policy::parse_date;

/// `HttpTokens` of an instance.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum HttpTokens {
    /// IMDSv1 and v2.
    #[default]
    Optional,
    /// IMDSv2 only.
    Required,
}

/// `HttpEndpoint` of an instance.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum EndpointState {
    /// IMDS answers.
    #[default]
    Enabled,
    /// Every request gets 403.
    Disabled,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawWorld {
    #[serde(default)]
    settings: RawSettings,
    #[serde(default)]
    accounts: Vec<RawAccount>,
    #[serde(default)]
    users: Vec<RawUser>,
    #[serde(default)]
    roles: Vec<RawRole>,
    #[serde(default)]
    instance_profiles: Vec<RawInstanceProfile>,
    #[serde(default)]
    instances: Vec<RawInstance>,
    #[serde(default)]
    ecs_tasks: Vec<RawEcsTask>,
    #[serde(default)]
    oidc_providers: Vec<RawOidcProvider>,
    #[serde(default)]
    sessions: Vec<RawSession>,
    #[serde(default)]
    sso_instances: Vec<crate::sso::model::RawSsoInstance>,
    /// The fault switchboard's initial settings (`[faults.<target>]`, [`crate::faults`]).
    #[serde(default)]
    faults: Option<toml::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSettings {
    partition: Option<String>,
    region: Option<String>,
    sts_clock_skew_seconds: Option<i64>,
    sts_session_lifetime_seconds: Option<i64>,
    master_key: Option<String>,
    master_key_file: Option<String>,
    #[serde(default)]
    allowed_regions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccount {
    id: String,
    alias: Option<String>,
    /// Account name and e-mail (Organizations data, listed by the SSO portal).
    name: Option<String>,
    email: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAccessKey {
    id: String,
    secret: String,
    #[serde(default = "active")]
    status: String,
}

fn active() -> String {
    "Active".into()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMfa {
    serial: String,
    secret_base32: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    account: String,
    name: String,
    path: Option<String>,
    id: String,
    #[serde(default)]
    access_keys: Vec<RawAccessKey>,
    #[serde(default)]
    mfa_devices: Vec<RawMfa>,
    #[serde(default)]
    policies: Vec<String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    account: String,
    name: String,
    path: Option<String>,
    id: String,
    trust_policy: String,
    #[serde(default)]
    policies: Vec<String>,
    max_session_duration: Option<i64>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstanceProfile {
    account: String,
    name: String,
    path: Option<String>,
    id: String,
    role: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstance {
    id: String,
    account: String,
    instance_profile: Option<String>,
    listen: Option<String>,
    #[serde(default)]
    http_tokens: HttpTokens,
    hop_limit: Option<u32>,
    #[serde(default)]
    endpoint: EndpointState,
    extended_api: Option<bool>,
    #[serde(default)]
    metadata_tags: bool,
    credential_lifetime_seconds: Option<i64>,
    rotation_margin_seconds: Option<i64>,
    #[serde(default)]
    metadata: BTreeMap<String, String>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    user_data: Option<String>,
    architecture: Option<String>,
    pending_time: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEcsTask {
    id: String,
    account: String,
    role: String,
    credentials_id: String,
    auth_token: Option<String>,
    credential_lifetime_seconds: Option<i64>,
    rotation_margin_seconds: Option<i64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidcKey {
    kid: String,
    /// PKCS#8 PEM private key (dev providers only: lets `awsid` mint tokens).
    private_key_pem: Option<String>,
    /// JWK modulus (base64url), when only the public key is known.
    n: Option<String>,
    /// JWK exponent (base64url).
    e: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOidcProvider {
    account: String,
    url: String,
    client_ids: Vec<String>,
    keys: Vec<RawOidcKey>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSession {
    access_key_id: String,
    secret_access_key: String,
    session_token: String,
    /// A user ARN or a role ARN.
    principal: String,
    session_name: Option<String>,
    expires: Option<String>,
    #[serde(default)]
    mfa: bool,
}

type Invalid = (String, String);

fn entry(kind: &str, i: usize, name: &str) -> String {
    format!("{kind}[{i}] \"{name}\"")
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn check_path(path: Option<&str>) -> Result<String, String> {
    let path = path.unwrap_or("/");
    if !path.starts_with('/') || !path.ends_with('/') {
        return Err(format!("path \"{path}\" must begin and end with /"));
    }
    Ok(path.to_string())
}

fn check_id(id: &str, prefix: &str) -> Result<(), String> {
    if !id.starts_with(prefix)
        || id.len() < 16
        || !id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(format!(
            "id \"{id}\" must start with {prefix} and have at least 16 upper-case letters or digits"
        ));
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        return Err(format!(
            "name \"{name}\" must be 1–64 characters of [A-Za-z0-9+=,.@_-]"
        ));
    }
    Ok(())
}

impl RawWorld {
    pub(super) fn validate(self) -> Result<World, Invalid> {
        let s = self.settings;
        let settings = Settings {
            partition: s.partition.unwrap_or_else(|| "aws".into()),
            region: s.region.unwrap_or_else(|| "us-east-1".into()),
            sts_clock_skew_seconds: s.sts_clock_skew_seconds.unwrap_or(900),
            master_key: s.master_key,
            master_key_file: s.master_key_file,
            allowed_regions: s.allowed_regions,
            sts_session_lifetime_seconds: s.sts_session_lifetime_seconds,
        };
        if settings.sts_clock_skew_seconds <= 0 {
            return Err((
                "settings".into(),
                "sts_clock_skew_seconds must be positive".into(),
            ));
        }
        if let Some(l) = settings.sts_session_lifetime_seconds {
            if !(5..=129_600).contains(&l) {
                return Err((
                    "settings".into(),
                    format!("sts_session_lifetime_seconds {l} must be 5–129600"),
                ));
            }
        }
        let p = settings.partition.clone();
        let faults = match &self.faults {
            Some(v) => crate::faults::parse_table(v).map_err(|m| {
                let m = m.strip_prefix("faults.").unwrap_or(&m).to_string();
                ("faults".to_string(), m)
            })?,
            None => Vec::new(),
        };

        let mut accounts = Vec::new();
        let mut account_info = HashMap::new();
        for (i, a) in self.accounts.iter().enumerate() {
            if !is_account(&a.id) {
                return Err((entry("accounts", i, &a.id), "id must be 12 digits".into()));
            }
            if accounts.contains(&a.id) {
                return Err((entry("accounts", i, &a.id), "duplicate account".into()));
            }
            accounts.push(a.id.clone());
            account_info.insert(
                a.id.clone(),
                AccountInfo {
                    name: a.name.clone().or_else(|| a.alias.clone()),
                    email: a.email.clone(),
                },
            );
        }
        let known_account = |acct: &str| -> Result<(), String> {
            if accounts.iter().any(|a| a == acct) {
                Ok(())
            } else {
                Err(format!(
                    "account \"{acct}\" is not declared in [[accounts]]"
                ))
            }
        };
        let mut unique_ids = HashSet::new();

        // Users.
        let mut users = Vec::new();
        let mut access_keys = HashMap::new();
        for (i, u) in self.users.into_iter().enumerate() {
            let at = entry("users", i, &u.name);
            let fail = |m: String| (at.clone(), m);
            known_account(&u.account).map_err(fail)?;
            check_name(&u.name).map_err(fail)?;
            check_id(&u.id, "AIDA").map_err(fail)?;
            if !unique_ids.insert(u.id.clone()) {
                return Err(fail(format!("duplicate id \"{}\"", u.id)));
            }
            let path = check_path(u.path.as_deref()).map_err(fail)?;
            let arn = format!("arn:{p}:iam::{}:user{path}{}", u.account, u.name);
            let mut keys = Vec::new();
            for (k, key) in u.access_keys.into_iter().enumerate() {
                let fail = |m: String| (format!("{at}: access_keys[{k}]"), m);
                if !key.id.starts_with("AKIA")
                    || key.id.len() < 16
                    || !key.id.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(fail(format!(
                        "id \"{}\" must be AKIA followed by letters/digits",
                        key.id
                    )));
                }
                if key.secret.is_empty() {
                    return Err(fail("secret must not be empty".into()));
                }
                let active = match key.status.as_str() {
                    "Active" => true,
                    "Inactive" => false,
                    other => {
                        return Err(fail(format!(
                            "status must be Active or Inactive, not \"{other}\""
                        )))
                    }
                };
                if access_keys
                    .insert(key.id.clone(), (users.len(), keys.len()))
                    .is_some()
                {
                    return Err(fail(format!("access key \"{}\" is used twice", key.id)));
                }
                keys.push(AccessKey {
                    id: key.id,
                    secret: key.secret,
                    active,
                });
            }
            let mut mfa_devices = Vec::new();
            for (k, m) in u.mfa_devices.into_iter().enumerate() {
                let fail = |msg: String| (format!("{at}: mfa_devices[{k}]"), msg);
                let secret = crate::totp::decode_base32(&m.secret_base32)
                    .ok_or_else(|| fail("secret_base32 is not valid base32".into()))?;
                if secret.len() < 10 {
                    return Err(fail(
                        "secret_base32 must decode to at least 10 bytes".into(),
                    ));
                }
                if m.serial.len() < 9 {
                    return Err(fail("serial must be at least 9 characters".into()));
                }
                mfa_devices.push(MfaDevice {
                    serial: m.serial,
                    secret,
                });
            }
            let policies = parse_policies(&u.policies, PolicyKind::Identity)
                .map_err(|(k, m)| (format!("{at}: policies[{k}]"), m))?;
            users.push(User {
                account: u.account,
                name: u.name,
                path,
                id: u.id,
                arn,
                access_keys: keys,
                mfa_devices,
                policies,
                tags: u.tags,
            });
        }

        // Roles.
        let mut roles = Vec::new();
        let mut roles_by_arn = HashMap::new();
        for (i, r) in self.roles.into_iter().enumerate() {
            let at = entry("roles", i, &r.name);
            let fail = |m: String| (at.clone(), m);
            known_account(&r.account).map_err(fail)?;
            check_name(&r.name).map_err(fail)?;
            check_id(&r.id, "AROA").map_err(fail)?;
            if !unique_ids.insert(r.id.clone()) {
                return Err(fail(format!("duplicate id \"{}\"", r.id)));
            }
            let path = check_path(r.path.as_deref()).map_err(fail)?;
            let arn = format!("arn:{p}:iam::{}:role{path}{}", r.account, r.name);
            if roles
                .iter()
                .any(|x: &Role| x.account == r.account && x.name.eq_ignore_ascii_case(&r.name))
            {
                return Err(fail("duplicate role name in this account".into()));
            }
            let trust_policy = Policy::parse(&r.trust_policy, PolicyKind::Trust)
                .map_err(|e| fail(format!("trust_policy: {e}")))?;
            let policies = parse_policies(&r.policies, PolicyKind::Identity)
                .map_err(|(k, m)| (format!("{at}: policies[{k}]"), m))?;
            let max = r.max_session_duration.unwrap_or(3600);
            if !(3600..=43200).contains(&max) {
                return Err(fail(format!(
                    "max_session_duration {max} must be 3600–43200"
                )));
            }
            roles_by_arn.insert(arn.clone(), roles.len());
            roles.push(Role {
                account: r.account,
                name: r.name,
                path,
                id: r.id,
                arn,
                trust_policy,
                policies,
                max_session_duration: max,
                tags: r.tags,
            });
        }
        // Identity Center: every assignment materialises an AWSReservedSSO_… role.
        let first_sso_role = roles.len();
        let sso_instances = crate::sso::model::validate(
            self.sso_instances,
            crate::sso::model::WorldParts {
                partition: &p,
                accounts: &accounts,
                roles: &mut roles,
                unique_ids: &mut unique_ids,
            },
        )?;
        for (i, r) in roles.iter().enumerate().skip(first_sso_role) {
            roles_by_arn.insert(r.arn.clone(), i);
        }
        let find_role = |account: &str, name: &str| {
            roles
                .iter()
                .position(|r| r.account == account && r.name == name)
        };

        // Instance profiles.
        let mut instance_profiles = Vec::new();
        for (i, ip) in self.instance_profiles.into_iter().enumerate() {
            let at = entry("instance_profiles", i, &ip.name);
            let fail = |m: String| (at.clone(), m);
            known_account(&ip.account).map_err(fail)?;
            check_name(&ip.name).map_err(fail)?;
            check_id(&ip.id, "AIPA").map_err(fail)?;
            let path = check_path(ip.path.as_deref()).map_err(fail)?;
            let role = find_role(&ip.account, &ip.role).ok_or_else(|| {
                fail(format!(
                    "role \"{}\" not found in account {}",
                    ip.role, ip.account
                ))
            })?;
            instance_profiles.push(InstanceProfile {
                arn: format!(
                    "arn:{p}:iam::{}:instance-profile{path}{}",
                    ip.account, ip.name
                ),
                account: ip.account,
                name: ip.name,
                id: ip.id,
                role,
            });
        }

        // Instances.
        let mut instances = Vec::new();
        for (i, inst) in self.instances.into_iter().enumerate() {
            let at = entry("instances", i, &inst.id);
            let fail = |m: String| (at.clone(), m);
            known_account(&inst.account).map_err(fail)?;
            if !inst.id.starts_with("i-") || inst.id.len() < 10 {
                return Err(fail("id must look like i-0123456789abcdef0".into()));
            }
            if instances.iter().any(|x: &Instance| x.id == inst.id) {
                return Err(fail("duplicate instance id".into()));
            }
            let instance_profile = match &inst.instance_profile {
                None => None,
                Some(name) => Some(
                    instance_profiles
                        .iter()
                        .position(|x| x.account == inst.account && x.name == *name)
                        .ok_or_else(|| fail(format!("instance_profile \"{name}\" not found")))?,
                ),
            };
            let hop_limit = inst.hop_limit.unwrap_or(1);
            if !(1..=64).contains(&hop_limit) {
                return Err(fail(format!("hop_limit {hop_limit} must be 1–64")));
            }
            let (lifetime, margin) = lifetimes(
                inst.credential_lifetime_seconds,
                inst.rotation_margin_seconds,
            )
            .map_err(fail)?;
            let metadata = instance_metadata(&inst.id, &inst.account, inst.metadata);
            let az = metadata["placement/availability-zone"].clone();
            let region = metadata
                .get("placement/region")
                .cloned()
                .unwrap_or_else(|| az[..az.len().saturating_sub(1)].to_string());
            if let Some(t) = &inst.pending_time {
                parse_date(t).ok_or_else(|| fail(format!("pending_time \"{t}\" is not a date")))?;
            }
            for key in inst.tags.keys() {
                if key.is_empty()
                    || key == "."
                    || key == ".."
                    || key == "_index"
                    || !key
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+-=.,_:@".contains(&b))
                {
                    return Err(fail(format!("tag key \"{key}\" cannot be served by IMDS")));
                }
            }
            if let Some(listen) = &inst.listen {
                listen
                    .parse::<std::net::SocketAddr>()
                    .map_err(|_| fail(format!("listen \"{listen}\" is not an address:port")))?;
            }
            instances.push(Instance {
                id: inst.id,
                account: inst.account,
                instance_profile,
                listen: inst.listen,
                http_tokens: inst.http_tokens,
                hop_limit,
                endpoint: inst.endpoint,
                extended_api: inst.extended_api.unwrap_or(true),
                metadata_tags: inst.metadata_tags,
                credential_lifetime: lifetime,
                rotation_margin: margin,
                metadata,
                tags: inst.tags,
                user_data: inst.user_data,
                region,
                architecture: inst.architecture.unwrap_or_else(|| "x86_64".into()),
                pending_time: inst
                    .pending_time
                    .unwrap_or_else(|| "2026-01-01T00:00:00Z".into()),
            });
        }

        // ECS tasks.
        let mut ecs_tasks = Vec::new();
        for (i, t) in self.ecs_tasks.into_iter().enumerate() {
            let at = entry("ecs_tasks", i, &t.id);
            let fail = |m: String| (at.clone(), m);
            known_account(&t.account).map_err(fail)?;
            let role = find_role(&t.account, &t.role).ok_or_else(|| {
                fail(format!(
                    "role \"{}\" not found in account {}",
                    t.role, t.account
                ))
            })?;
            if t.credentials_id.is_empty() || t.credentials_id.contains('/') {
                return Err(fail(
                    "credentials_id must be non-empty and contain no /".into(),
                ));
            }
            if ecs_tasks
                .iter()
                .any(|x: &EcsTask| x.credentials_id == t.credentials_id)
            {
                return Err(fail("duplicate credentials_id".into()));
            }
            if let Some(tok) = &t.auth_token {
                if tok.is_empty() || tok.bytes().any(|b| b < 0x20 || b == 0x7f) {
                    return Err(fail(
                        "auth_token must be a non-empty legal header value".into(),
                    ));
                }
            }
            let (lifetime, margin) =
                lifetimes(t.credential_lifetime_seconds, t.rotation_margin_seconds)
                    .map_err(fail)?;
            ecs_tasks.push(EcsTask {
                id: t.id,
                account: t.account,
                role,
                credentials_id: t.credentials_id,
                auth_token: t.auth_token,
                credential_lifetime: lifetime,
                rotation_margin: margin,
            });
        }

        // OIDC providers.
        let mut oidc_providers = Vec::new();
        for (i, o) in self.oidc_providers.into_iter().enumerate() {
            let at = entry("oidc_providers", i, &o.url);
            let fail = |m: String| (at.clone(), m);
            known_account(&o.account).map_err(fail)?;
            let host_path = o
                .url
                .strip_prefix("https://")
                .ok_or_else(|| fail("url must start with https://".into()))?
                .trim_end_matches('/')
                .to_string();
            if host_path.is_empty() {
                return Err(fail("url has no host".into()));
            }
            if o.client_ids.is_empty() {
                return Err(fail("client_ids must not be empty".into()));
            }
            let mut keys = Vec::new();
            for (k, key) in o.keys.iter().enumerate() {
                let fail = |m: String| (format!("{at}: keys[{k}] \"{}\"", key.kid), m);
                let parsed = match (&key.private_key_pem, &key.n, &key.e) {
                    (Some(pem), None, None) => RsaKey::from_private_pem(&key.kid, pem),
                    (None, Some(n), Some(e)) => RsaKey::from_jwk(&key.kid, n, e),
                    _ => Err("give either private_key_pem or both n and e".into()),
                }
                .map_err(fail)?;
                keys.push(parsed);
            }
            if keys.is_empty() {
                return Err(fail("keys must not be empty".into()));
            }
            oidc_providers.push(OidcProvider {
                arn: format!("arn:{p}:iam::{}:oidc-provider/{host_path}", o.account),
                account: o.account,
                url: o.url,
                host_path,
                client_ids: o.client_ids,
                keys,
            });
        }

        // Pre-issued sessions.
        let mut sessions = Vec::new();
        for (i, s) in self.sessions.into_iter().enumerate() {
            let at = entry("sessions", i, &s.access_key_id);
            let fail = |m: String| (at.clone(), m);
            if s.secret_access_key.is_empty() || s.session_token.is_empty() {
                return Err(fail(
                    "secret_access_key and session_token must not be empty".into(),
                ));
            }
            let principal = if let Some(u) = users.iter().position(|u| u.arn == s.principal) {
                SessionPrincipal::User(u)
            } else if let Some(r) = roles_by_arn.get(&s.principal) {
                let name = s
                    .session_name
                    .clone()
                    .ok_or_else(|| fail("a role session needs session_name".into()))?;
                SessionPrincipal::Role(*r, name)
            } else {
                return Err(fail(format!(
                    "principal \"{}\" is not a user or role ARN of this world",
                    s.principal
                )));
            };
            let expires = match &s.expires {
                None => None,
                Some(t) => Some(
                    parse_date(t)
                        .ok_or_else(|| fail(format!("expires \"{t}\" is not a date")))?
                        .unix_timestamp(),
                ),
            };
            sessions.push(PreIssuedSession {
                access_key_id: s.access_key_id,
                secret: s.secret_access_key,
                session_token: s.session_token,
                principal,
                expires,
                mfa: s.mfa,
            });
        }

        Ok(World {
            settings,
            accounts,
            users,
            roles,
            instance_profiles,
            instances,
            ecs_tasks,
            oidc_providers,
            sessions,
            sso_instances,
            faults,
            account_info,
            access_keys,
            roles_by_arn,
        })
    }
}

/// Bounds of `credential_lifetime_seconds`: down to one minute (soak tests rotate quickly), up
/// to the longest role session STS issues (12 hours). Without the upper bound a huge lifetime
/// overflowed the expiry arithmetic and IMDS served an `Expiration` in 1970.
pub(super) const LIFETIME_RANGE: std::ops::RangeInclusive<i64> = 60..=43_200;

fn lifetimes(lifetime: Option<i64>, margin: Option<i64>) -> Result<(i64, i64), String> {
    let lifetime = lifetime.unwrap_or(6 * 3600);
    if !LIFETIME_RANGE.contains(&lifetime) {
        return Err(format!(
            "credential_lifetime_seconds {lifetime} must be {}–{}",
            LIFETIME_RANGE.start(),
            LIFETIME_RANGE.end()
        ));
    }
    // New credentials appear at least 5 minutes before the old ones expire (as on EC2), or half
    // the lifetime when that is shorter.
    let min_margin = 300.min(lifetime / 2);
    let margin = margin.unwrap_or_else(|| 1800.min(lifetime / 2));
    if margin < min_margin || margin >= lifetime {
        return Err(format!(
            "rotation_margin_seconds {margin} must be at least {min_margin} and less than the lifetime"
        ));
    }
    Ok((lifetime, margin))
}

fn parse_policies(docs: &[String], kind: PolicyKind) -> Result<Vec<Policy>, (usize, String)> {
    docs.iter()
        .enumerate()
        .map(|(k, d)| Policy::parse(d, kind).map_err(|e| (k, e.to_string())))
        .collect()
}

/// Fills in every metadata leaf the IMDS tree serves, deriving defaults from the instance id.
fn instance_metadata(
    id: &str,
    account: &str,
    given: BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let suffix: String = id.trim_start_matches("i-").chars().take(8).collect();
    let octet =
        |i: usize| u8::from_str_radix(suffix.get(i..i + 2).unwrap_or("0a"), 16).unwrap_or(10);
    let ip = format!("10.0.{}.{}", octet(0), octet(2).max(4));
    let host = format!("ip-{}.ec2.internal", ip.replace('.', "-"));
    let mac = format!(
        "02:{}:{}:{}:{}:01",
        &suffix.get(0..2).unwrap_or("00"),
        &suffix.get(2..4).unwrap_or("00"),
        &suffix.get(4..6).unwrap_or("00"),
        &suffix.get(6..8).unwrap_or("00")
    );
    let defaults: [(&str, String); 25] = [
        ("ami-id", "ami-0abcdef1234567890".into()),
        ("ami-launch-index", "0".into()),
        ("ami-manifest-path", "(unknown)".into()),
        ("hostname", host.clone()),
        ("instance-action", "none".into()),
        ("instance-id", id.into()),
        ("instance-life-cycle", "on-demand".into()),
        ("instance-type", "t3.micro".into()),
        ("local-hostname", host),
        ("local-ipv4", ip),
        ("mac", mac),
        ("profile", "default-hvm".into()),
        (
            "public-hostname",
            "ec2-203-0-113-25.compute-1.amazonaws.com".into(),
        ),
        ("public-ipv4", "203.0.113.25".into()),
        ("reservation-id", "r-0efghijk987654321".into()),
        ("security-groups", "default".into()),
        ("placement/availability-zone", "us-east-1a".into()),
        ("placement/availability-zone-id", "use1-az4".into()),
        ("services/domain", "amazonaws.com".into()),
        ("services/partition", "aws".into()),
        ("block-device-mapping/ami", "/dev/xvda".into()),
        ("block-device-mapping/root", "/dev/xvda".into()),
        (
            "metrics/vhostmd",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>".into(),
        ),
        ("events/maintenance/scheduled", "[]".into()),
        (
            "public-keys/0/openssh-key",
            "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDawsidExampleKeyOnly my-key".into(),
        ),
    ];
    let mut out: BTreeMap<String, String> = defaults
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    out.extend(given);
    let az = out["placement/availability-zone"].clone();
    out.entry("placement/region".into())
        .or_insert_with(|| az[..az.len().saturating_sub(1)].to_string());
    out.entry("events/maintenance/history".into())
        .or_insert_with(|| "[]".into());
    // The primary network interface, keyed by the MAC.
    let mac = out["mac"].clone();
    let nic = format!("network/interfaces/macs/{mac}/");
    let nic_values = [
        ("device-number", "0".to_string()),
        ("interface-id", "eni-0123456789abcdef0".into()),
        ("local-hostname", out["local-hostname"].clone()),
        ("local-ipv4s", out["local-ipv4"].clone()),
        ("mac", mac.clone()),
        ("owner-id", account.to_string()),
        ("public-hostname", out["public-hostname"].clone()),
        ("public-ipv4s", out["public-ipv4"].clone()),
        ("security-groups", out["security-groups"].clone()),
        ("security-group-ids", "sg-0123456789abcdef0".into()),
        ("subnet-id", "subnet-0123456789abcdef0".into()),
        ("subnet-ipv4-cidr-block", "10.0.0.0/16".into()),
        ("vpc-id", "vpc-0123456789abcdef0".into()),
        ("vpc-ipv4-cidr-block", "10.0.0.0/16".into()),
        ("vpc-ipv4-cidr-blocks", "10.0.0.0/16".into()),
    ];
    for (k, v) in nic_values {
        out.entry(format!("{nic}{k}")).or_insert(v);
    }
    out
}
