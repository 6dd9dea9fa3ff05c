//! The IAM Identity Center part of a world: instances (start URL, region), their users,
//! permission sets and account assignments, validated with errors naming the entry, and the
//! `AWSReservedSSO_<set>_<hex>` roles every assignment materialises in its account.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::policy::{Policy, PolicyKind};
use crate::world::error::{At, InvalidEntry, Problem};
use crate::world::{PolicySource, Role};

/// The IAM path of every role an Identity Center assignment creates.
pub const RESERVED_ROLE_PATH: &str = "/aws-reserved/sso.amazonaws.com/";

/// `[[sso_instances]]` as written in a world file.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSsoInstance {
    start_url: String,
    region: String,
    #[serde(default)]
    users: Vec<RawSsoUser>,
    #[serde(default)]
    permission_sets: Vec<RawPermissionSet>,
    #[serde(default)]
    assignments: Vec<RawAssignment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    auto_approve: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    auto_approve_after_polls: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_token_lifetime_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_code_lifetime_seconds: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_poll_interval_seconds: Option<i64>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawSsoUser {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    display_name: Option<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawPermissionSet {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    session_duration_seconds: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    policies: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
struct RawAssignment {
    user: String,
    account: String,
    permission_set: String,
}

/// An Identity Center user (the session name of its role sessions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoUser {
    /// The user name (often an e-mail address).
    pub name: String,
    /// The name shown on the approval pages.
    pub display_name: String,
}

/// A permission set: what its `AWSReservedSSO_…` roles may do and how long their sessions last.
#[derive(Clone, Debug)]
pub struct PermissionSet {
    /// The name (what profiles put in `sso_role_name`).
    pub name: String,
    /// Lifetime of role credentials, seconds (3600–43200).
    pub session_duration: i64,
    /// `AWSReservedSSO_<name>_<16 hex>`, the same in every account.
    pub role_name: String,
}

/// One assignment: a user may use a permission set in an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    /// Index into [`SsoInstance::users`].
    pub user: usize,
    /// The account id.
    pub account: String,
    /// Index into [`SsoInstance::permission_sets`].
    pub permission_set: usize,
    /// Index of the materialised role in [`crate::World::roles`].
    pub role: usize,
}

/// An IAM Identity Center instance with its directory and assignments.
#[derive(Clone, Debug)]
pub struct SsoInstance {
    /// The AWS access portal URL (`sso_start_url`), as configured.
    pub start_url: String,
    /// The instance's region (`sso_region`).
    pub region: String,
    /// Users.
    pub users: Vec<SsoUser>,
    /// Permission sets.
    pub permission_sets: Vec<PermissionSet>,
    /// Assignments, in world order.
    pub assignments: Vec<Assignment>,
    /// Test knob: approve every device authorization and browser authorization as this user
    /// (index into `users`) without showing a page.
    pub auto_approve: Option<usize>,
    /// With `auto_approve`: the device code is approved only after this many token polls.
    pub auto_approve_after_polls: u32,
    /// Lifetime of access tokens (`expiresIn` of CreateToken), seconds.
    pub access_token_lifetime: i64,
    /// Lifetime of device codes (`expiresIn` of StartDeviceAuthorization), seconds.
    pub device_code_lifetime: i64,
    /// The polling interval handed to device-flow clients, seconds.
    pub poll_interval: i64,
}

impl RawSsoInstance {
    /// The policy documents of the permission set `name`, as written (for the console).
    pub(crate) fn permission_set_policies(&self, name: &str) -> Option<&[String]> {
        self.permission_sets
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.policies.as_slice())
    }
}

impl SsoInstance {
    /// Whether `url` names this instance (trailing `/` and `#/` are ignored, as the portal
    /// accepts both spellings).
    pub fn matches_start_url(&self, url: &str) -> bool {
        normalize_start_url(&self.start_url) == normalize_start_url(url)
    }

    /// The user called `name`, if any.
    pub fn user(&self, name: &str) -> Option<usize> {
        self.users.iter().position(|u| u.name == name)
    }

    /// The assignment of `user` to permission set `set_name` in `account`, if any.
    pub fn assignment(&self, user: usize, account: &str, set_name: &str) -> Option<&Assignment> {
        self.assignments.iter().find(|a| {
            a.user == user
                && a.account == account
                && self.permission_sets[a.permission_set].name == set_name
        })
    }
}

/// The start URL without the trailing `#/` or `/` a browser may add.
pub fn normalize_start_url(url: &str) -> &str {
    let u = url.strip_suffix("#/").unwrap_or(url);
    u.strip_suffix('/').unwrap_or(u)
}

/// What validation needs from the rest of the world, and where materialised roles go.
pub(crate) struct WorldParts<'a> {
    /// The ARN partition.
    pub partition: &'a str,
    /// Declared account ids.
    pub accounts: &'a [String],
    /// The roles validated so far; materialised roles are appended.
    pub roles: &'a mut Vec<Role>,
    /// Unique ids in use (users, roles).
    pub unique_ids: &'a mut HashSet<String>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

/// Permission set names: 1–32 of `[A-Za-z0-9_+=,.@-]` (the role name must fit in 64).
fn check_set_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > 32
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    {
        return Err(format!(
            "name \"{name}\" must be 1–32 characters of [A-Za-z0-9_+=,.@-]"
        ));
    }
    Ok(())
}

/// User names become role session names: 2–64 of `[A-Za-z0-9_+=,.@-]`.
fn check_user_name(name: &str) -> Result<(), String> {
    if name.len() < 2
        || name.len() > 64
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@-".contains(&b))
    {
        return Err(format!(
            "name \"{name}\" must be 2–64 characters of [A-Za-z0-9_+=,.@-] (it is the role session name)"
        ));
    }
    Ok(())
}

fn seconds(value: Option<i64>, default: i64, range: (i64, i64), key: &str) -> Result<i64, String> {
    let v = value.unwrap_or(default);
    if v < range.0 || v > range.1 {
        return Err(format!("{key} {v} must be {}–{}", range.0, range.1));
    }
    Ok(v)
}

/// The 16 hex digits of a permission set's role name: a digest of the instance and the set, so
/// the name is the same in every account, on every replica and after every restart.
fn role_suffix(start_url: &str, set_name: &str) -> String {
    let d = Sha256::digest(format!("{}\n{set_name}", normalize_start_url(start_url)));
    hex::encode(&d[..8])
}

/// A unique id `AROA` + 17 characters derived from the role ARN.
fn role_id(arn: &str) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let d = Sha256::digest(arn.as_bytes());
    let mut id = String::from("AROA");
    id.extend(
        d.iter()
            .take(17)
            .map(|b| ALPHABET[(b & 31) as usize] as char),
    );
    id
}

fn trust_policy(partition: &str, account: &str, start_url: &str) -> String {
    let provider = hex::encode(&Sha256::digest(normalize_start_url(start_url).as_bytes())[..8]);
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Federated":"arn:{partition}:iam::{account}:saml-provider/AWSSSO_{provider}_DO_NOT_DELETE"}},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"],"Condition":{{"StringEquals":{{"SAML:aud":"https://signin.aws.amazon.com/saml"}}}}}}]}}"#
    )
}

/// Validates the instances and appends one role per (account, permission set) in use.
pub(crate) fn validate(
    raw: Vec<RawSsoInstance>,
    parts: WorldParts<'_>,
) -> Result<Vec<SsoInstance>, InvalidEntry> {
    let WorldParts {
        partition,
        accounts,
        roles,
        unique_ids,
    } = parts;
    let mut out: Vec<SsoInstance> = Vec::new();
    for (i, inst) in raw.into_iter().enumerate() {
        let at = At::entry("sso_instances", i, &inst.start_url);
        let fail = |m: String| at.msg(m);
        let is_url = inst
            .start_url
            .strip_prefix("https://")
            .or_else(|| inst.start_url.strip_prefix("http://"))
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !is_url {
            return Err(fail("start_url must be an http(s) URL".into()));
        }
        if out.iter().any(|o| o.matches_start_url(&inst.start_url)) {
            return Err(fail("duplicate start_url".into()));
        }
        if !is_region(&inst.region) {
            return Err(fail(format!(
                "region \"{}\" is not a region name",
                inst.region
            )));
        }
        let access_token_lifetime = seconds(
            inst.access_token_lifetime_seconds,
            8 * 3600,
            (900, 90 * 86400),
            "access_token_lifetime_seconds",
        )
        .map_err(fail)?;
        let device_code_lifetime = seconds(
            inst.device_code_lifetime_seconds,
            600,
            (1, 3600),
            "device_code_lifetime_seconds",
        )
        .map_err(fail)?;
        let poll_interval = seconds(
            inst.device_poll_interval_seconds,
            1,
            (1, 60),
            "device_poll_interval_seconds",
        )
        .map_err(fail)?;

        let mut users: Vec<SsoUser> = Vec::new();
        for (k, u) in inst.users.into_iter().enumerate() {
            let uat = at.field(format!("users[{k}] \"{}\"", u.name));
            let fail = |m: String| uat.msg(m);
            check_user_name(&u.name).map_err(fail)?;
            if users.iter().any(|x| x.name.eq_ignore_ascii_case(&u.name)) {
                return Err(fail("duplicate user name".into()));
            }
            users.push(SsoUser {
                display_name: u.display_name.unwrap_or_else(|| u.name.clone()),
                name: u.name,
            });
        }

        let mut sets: Vec<(PermissionSet, Vec<Policy>)> = Vec::new();
        for (k, p) in inst.permission_sets.into_iter().enumerate() {
            let pat = at.field(format!("permission_sets[{k}] \"{}\"", p.name));
            let fail = |m: String| pat.msg(m);
            check_set_name(&p.name).map_err(fail)?;
            if sets.iter().any(|(x, _)| x.name == p.name) {
                return Err(fail("duplicate permission set name".into()));
            }
            let session_duration = seconds(
                p.session_duration_seconds,
                3600,
                (3600, 43200),
                "session_duration_seconds",
            )
            .map_err(fail)?;
            let mut policies = Vec::new();
            for (n, doc) in p.policies.iter().enumerate() {
                policies.push(
                    Policy::parse(doc, PolicyKind::Identity)
                        .map_err(|e| pat.field(format!("policies[{n}]")).err(e))?,
                );
            }
            sets.push((
                PermissionSet {
                    role_name: format!(
                        "AWSReservedSSO_{}_{}",
                        p.name,
                        role_suffix(&inst.start_url, &p.name)
                    ),
                    name: p.name,
                    session_duration,
                },
                policies,
            ));
        }

        let mut assignments: Vec<Assignment> = Vec::new();
        for (k, a) in inst.assignments.into_iter().enumerate() {
            let aat = at.field(format!("assignments[{k}]"));
            let fail = |m: String| aat.msg(m);
            let user = users
                .iter()
                .position(|u| u.name == a.user)
                .ok_or_else(|| fail(format!("user \"{}\" is not in users", a.user)))?;
            if !accounts.contains(&a.account) {
                return Err(aat.err(Problem::UnknownAccount(a.account.clone())));
            }
            let set = sets
                .iter()
                .position(|(s, _)| s.name == a.permission_set)
                .ok_or_else(|| {
                    fail(format!(
                        "permission set \"{}\" is not in permission_sets",
                        a.permission_set
                    ))
                })?;
            if assignments
                .iter()
                .any(|x| x.user == user && x.account == a.account && x.permission_set == set)
            {
                return Err(fail("duplicate assignment".into()));
            }
            let (ps, policies) = &sets[set];
            let arn = format!(
                "arn:{partition}:iam::{}:role{RESERVED_ROLE_PATH}{}",
                a.account, ps.role_name
            );
            let role = match roles.iter().position(|r| r.arn == arn) {
                Some(r) => r,
                None => {
                    if roles.iter().any(|r| {
                        r.account == a.account && r.name.eq_ignore_ascii_case(&ps.role_name)
                    }) {
                        return Err(fail(format!(
                            "role \"{}\" is already declared in account {}",
                            ps.role_name, a.account
                        )));
                    }
                    let id = role_id(&arn);
                    if !unique_ids.insert(id.clone()) {
                        return Err(fail(format!("role id \"{id}\" is already in use")));
                    }
                    let trust = trust_policy(partition, &a.account, &inst.start_url);
                    roles.push(Role {
                        account: a.account.clone(),
                        name: ps.role_name.clone(),
                        path: RESERVED_ROLE_PATH.into(),
                        id,
                        arn,
                        trust_policy: Policy::parse(&trust, PolicyKind::Trust)
                            .map_err(|e| fail(format!("materialised trust policy: {e}")))?,
                        trust_document: trust.clone(),
                        description: None,
                        reserved: true,
                        policy_sources: (1..=policies.len())
                            .map(|n| PolicySource::Inline(format!("policy-{n}")))
                            .collect(),
                        policies: policies.clone(),
                        max_session_duration: ps.session_duration,
                        tags: Default::default(),
                        created: crate::world::ids::EPOCH_DATE.into(),
                    });
                    roles.len() - 1
                }
            };
            assignments.push(Assignment {
                user,
                account: a.account,
                permission_set: set,
                role,
            });
        }

        let auto_approve = match &inst.auto_approve {
            None => None,
            Some(name) => {
                Some(users.iter().position(|u| &u.name == name).ok_or_else(|| {
                    fail(format!("auto_approve: user \"{name}\" is not in users"))
                })?)
            }
        };
        if inst.auto_approve_after_polls > 0 && auto_approve.is_none() {
            return Err(fail("auto_approve_after_polls needs auto_approve".into()));
        }
        out.push(SsoInstance {
            start_url: inst.start_url,
            region: inst.region,
            users,
            permission_sets: sets.into_iter().map(|(s, _)| s).collect(),
            assignments,
            auto_approve,
            auto_approve_after_polls: inst.auto_approve_after_polls,
            access_token_lifetime,
            device_code_lifetime,
            poll_interval,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::World;

    const BASE: &str = r#"
[[accounts]]
id = "111122223333"
[[sso_instances]]
start_url = "https://d-1234567890.awsapps.com/start"
region = "eu-west-1"
[[sso_instances.users]]
name = "alice@example.com"
[[sso_instances.permission_sets]]
name = "ReadOnly"
policies = ['{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}']
[[sso_instances.assignments]]
user = "alice@example.com"
account = "111122223333"
permission_set = "ReadOnly"
"#;

    fn err(text: &str) -> String {
        World::parse(text, "w.toml").unwrap_err().to_string()
    }

    #[test]
    fn assignments_materialise_reserved_roles() {
        let w = World::parse(BASE, "w.toml").unwrap();
        let inst = &w.sso_instances[0];
        let a = &inst.assignments[0];
        let role = &w.roles[a.role];
        assert!(role.name.starts_with("AWSReservedSSO_ReadOnly_"));
        let suffix = &role.name["AWSReservedSSO_ReadOnly_".len()..];
        assert_eq!(suffix.len(), 16);
        assert!(suffix.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(role.path, RESERVED_ROLE_PATH);
        assert_eq!(
            role.arn,
            format!(
                "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/{}",
                role.name
            )
        );
        assert_eq!(w.role_by_arn(&role.arn), Some(a.role));
        assert_eq!(role.policies.len(), 1);
        assert_eq!(role.max_session_duration, 3600);
        assert_eq!(inst.access_token_lifetime, 28800);
        assert_eq!((inst.device_code_lifetime, inst.poll_interval), (600, 1));
        // The name is a function of the instance and the set: stable across loads.
        let again = World::parse(BASE, "w.toml").unwrap();
        assert_eq!(
            again.roles[again.sso_instances[0].assignments[0].role].name,
            role.name
        );
        assert!(inst.matches_start_url("https://d-1234567890.awsapps.com/start/#/"));
        assert!(!inst.matches_start_url("https://d-1234567890.awsapps.com/other"));
    }

    #[test]
    fn errors_name_the_entry() {
        let e = err(&BASE.replace("user = \"alice@example.com\"", "user = \"bob\""));
        assert_eq!(
            e,
            "w.toml: sso_instances[0] \"https://d-1234567890.awsapps.com/start\": assignments[0]: user \"bob\" is not in users"
        );
        let e = err(&BASE.replace("account = \"111122223333\"", "account = \"999999999999\""));
        assert!(
            e.contains("assignments[0]: account \"999999999999\" is not declared"),
            "{e}"
        );
        let e = err(&BASE.replace(
            "permission_set = \"ReadOnly\"",
            "permission_set = \"Admin\"",
        ));
        assert!(
            e.contains("permission set \"Admin\" is not in permission_sets"),
            "{e}"
        );
        let e = err(&BASE.replace("\"s3:Get*\"", "\"s3:Get*\",\"Principal\":\"*\""));
        assert!(
            e.contains("permission_sets[0] \"ReadOnly\": policies[0]:"),
            "{e}"
        );
        let e = err(&BASE.replace("eu-west-1", "Europe"));
        assert!(e.contains("region \"Europe\" is not a region name"), "{e}");
        let e = err(&BASE.replace(
            "name = \"ReadOnly\"",
            "name = \"ReadOnly\"\nsession_duration_seconds = 60",
        ));
        assert!(
            e.contains("session_duration_seconds 60 must be 3600–43200"),
            "{e}"
        );
        let e = err(&BASE.replace(
            "region = \"eu-west-1\"",
            "region = \"eu-west-1\"\nauto_approve = \"nobody\"",
        ));
        assert!(
            e.contains("auto_approve: user \"nobody\" is not in users"),
            "{e}"
        );
        let e = err(&BASE.replace("start_url = \"https://", "start_url = \"ftp://"));
        assert!(e.contains("start_url must be an http(s) URL"), "{e}");
        let e = err(&BASE.replace(
            "name = \"alice@example.com\"",
            "name = \"alice@example.com\"\nmail = \"x\"",
        ));
        assert!(e.contains("unknown field `mail`"), "{e}");
        let long = "x".repeat(33);
        let e = err(&BASE.replace("\"ReadOnly\"", &format!("\"{long}\"")));
        assert!(e.contains("must be 1–32 characters"), "{e}");
    }

    #[test]
    fn the_world_md_example_has_an_sso_instance() {
        let doc = include_str!("../../WORLD.md");
        let start = doc.find("```toml\n").unwrap() + 8;
        let end = doc[start..].find("```").unwrap() + start;
        let w = World::parse(&doc[start..end], "WORLD.md").unwrap();
        let inst = w
            .sso_instance("https://d-1234567890.awsapps.com/start")
            .unwrap();
        let a = inst.assignment(0, "111122223333", "ReadOnly").unwrap();
        assert_eq!(w.roles[a.role].max_session_duration, 7200);
        assert_eq!(
            w.account_info("111122223333").name.as_deref(),
            Some("Sandbox")
        );
    }

    #[test]
    fn default_world_serves_the_seed_instance() {
        let w = World::default_world();
        let inst = w
            .sso_instances
            .iter()
            .find(|i| i.matches_start_url("https://my-sso-portal.awsapps.com/start"))
            .expect("the seed's start URL");
        assert_eq!(inst.region, "us-east-1");
        let names: Vec<&str> = inst
            .permission_sets
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        for set in ["readOnly", "ReadOnly", "FullAccess"] {
            assert!(names.contains(&set), "{set} missing from {names:?}");
            for account in ["111122223333", "444455556666"] {
                let a = inst
                    .assignment(0, account, set)
                    .unwrap_or_else(|| panic!("{set} not assigned in {account}"));
                assert_eq!(w.roles[a.role].account, account);
            }
        }
        let info = w.account_info("111122223333");
        assert_eq!(info.name.as_deref(), Some("DeveloperAccount"));
        assert_eq!(
            info.email.as_deref(),
            Some("developer-account-admin@example.com")
        );
        let info = w.account_info("444455556666");
        assert_eq!(info.name.as_deref(), Some("ProductionAccount"));
        assert_eq!(
            info.email.as_deref(),
            Some("production-account-admin@example.com")
        );
    }
}
