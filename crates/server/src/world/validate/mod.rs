//! Validation of a world in file form into a [`World`], one section at a time: identity
//! (accounts, managed policies, users, roles, instance profiles, MFA devices), compute
//! (instances, launch configurations and templates, Auto Scaling groups, ECS tasks) and
//! federation (OIDC providers, pre-issued sessions). Errors name the section, entry and field.

mod compute;
pub(crate) use compute::imds_tag_key;
mod federation;
mod iam;

use std::collections::{HashMap, HashSet};

use super::error::{At, InvalidEntry, Problem};
use super::*;
use crate::policy::{Policy, PolicyKind};

/// What the sections validated so far tell the later ones.
pub(crate) struct Ctx {
    /// The ARN partition.
    pub partition: String,
    /// Declared account ids, in order.
    pub accounts: Vec<String>,
    /// Unique ids in use (users, roles, instance profiles, policies).
    pub unique_ids: HashSet<String>,
}

impl Ctx {
    /// Checks that `account` is declared.
    pub(super) fn known_account(&self, at: &At, account: &str) -> Result<(), InvalidEntry> {
        if self.accounts.iter().any(|a| a == account) {
            Ok(())
        } else {
            Err(at.err(Problem::UnknownAccount(account.to_string())))
        }
    }

    /// Records a unique id, failing on a duplicate.
    pub(super) fn claim_id(&mut self, at: &At, id: &str) -> Result<(), InvalidEntry> {
        if self.unique_ids.insert(id.to_string()) {
            Ok(())
        } else {
            Err(at.err(Problem::Duplicate(format!("id \"{id}\""))))
        }
    }
}

/// Validates every section; the result keeps `raw` as its file form.
pub(crate) fn validate(raw: RawWorld) -> Result<World, InvalidEntry> {
    let kept = raw.clone();
    let settings = settings(raw.settings)?;
    let (accounts, account_info) = accounts(&raw.accounts)?;
    let mut ctx = Ctx {
        partition: settings.partition.clone(),
        accounts,
        unique_ids: HashSet::new(),
    };
    let managed_policies = iam::managed_policies(&mut ctx, &raw.managed_policies)?;
    let (users, access_keys) = iam::users(&mut ctx, &raw.users, &managed_policies)?;
    let mut roles = iam::roles(&mut ctx, &raw.roles, &managed_policies)?;
    // Identity Center: every assignment materialises an AWSReservedSSO_… role.
    let sso_instances = crate::sso::model::validate(
        raw.sso_instances,
        crate::sso::model::WorldParts {
            partition: &ctx.partition,
            accounts: &ctx.accounts,
            roles: &mut roles,
            unique_ids: &mut ctx.unique_ids,
        },
    )?;
    let roles_by_arn: HashMap<String, usize> = roles
        .iter()
        .enumerate()
        .map(|(i, r)| (r.arn.clone(), i))
        .collect();
    let instance_profiles = iam::instance_profiles(&mut ctx, &raw.instance_profiles, &roles)?;
    iam::virtual_mfa_devices(&ctx, &raw.virtual_mfa_devices, &users)?;
    let instances = compute::instances(&ctx, raw.instances, &instance_profiles)?;
    compute::launch_configurations(&ctx, &raw.launch_configurations)?;
    compute::launch_templates(&ctx, &raw.launch_templates)?;
    compute::auto_scaling_groups(&ctx, &raw.auto_scaling_groups, &kept)?;
    let ecs_tasks = compute::ecs_tasks(&ctx, raw.ecs_tasks, &roles)?;
    let oidc_providers = federation::oidc_providers(&ctx, raw.oidc_providers)?;
    let sessions = federation::sessions(raw.sessions, &users, &roles_by_arn)?;
    let faults = match &raw.faults {
        Some(v) => crate::faults::parse_table(v).map_err(|m| {
            let m = m
                .strip_prefix("faults: ")
                .or_else(|| m.strip_prefix("faults."))
                .unwrap_or(&m)
                .to_string();
            At::section("faults").msg(m)
        })?,
        None => Vec::new(),
    };
    Ok(World {
        settings,
        accounts: ctx.accounts,
        users,
        roles,
        instance_profiles,
        instances,
        ecs_tasks,
        oidc_providers,
        sessions,
        sso_instances,
        managed_policies,
        raw: kept,
        generation: 0,
        faults,
        account_info,
        access_keys,
        roles_by_arn,
    })
}

fn settings(s: RawSettings) -> Result<Settings, InvalidEntry> {
    let at = At::section("settings");
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
        return Err(at.field("sts_clock_skew_seconds").msg("must be positive"));
    }
    if let Some(l) = settings.sts_session_lifetime_seconds {
        if !(5..=129_600).contains(&l) {
            return Err(at
                .field("sts_session_lifetime_seconds")
                .msg(format!("{l} must be 5–129600")));
        }
    }
    Ok(settings)
}

type Accounts = (Vec<String>, HashMap<String, AccountInfo>);

fn accounts(raw: &[RawAccount]) -> Result<Accounts, InvalidEntry> {
    let mut accounts: Vec<String> = Vec::new();
    let mut info = HashMap::new();
    for (i, a) in raw.iter().enumerate() {
        let at = At::entry("accounts", i, &a.id);
        if !is_account(&a.id) {
            return Err(at.msg("id must be 12 digits"));
        }
        if accounts.contains(&a.id) {
            return Err(at.err(Problem::Duplicate("account".into())));
        }
        accounts.push(a.id.clone());
        info.insert(
            a.id.clone(),
            AccountInfo {
                name: a.name.clone().or_else(|| a.alias.clone()),
                email: a.email.clone(),
            },
        );
    }
    Ok((accounts, info))
}

/// Whether `s` is a 12-digit account id.
pub(crate) fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// An IAM path (`/` by default): begins and ends with `/`.
pub(crate) fn check_path(at: &At, path: Option<&str>) -> Result<String, InvalidEntry> {
    let path = path.unwrap_or("/");
    if !path.starts_with('/') || !path.ends_with('/') || path.len() > 512 {
        return Err(at.msg(format!(
            "path \"{path}\" must begin and end with / (at most 512 characters)"
        )));
    }
    Ok(path.to_string())
}

/// An IAM unique id with its prefix.
pub(crate) fn check_id(at: &At, id: &str, prefix: &str) -> Result<(), InvalidEntry> {
    if !id.starts_with(prefix)
        || id.len() < 16
        || !id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
    {
        return Err(at.msg(format!(
            "id \"{id}\" must start with {prefix} and have at least 16 upper-case letters or digits"
        )));
    }
    Ok(())
}

/// An IAM name: 1–`max` of `[A-Za-z0-9+=,.@_-]`.
pub(crate) fn check_name(at: &At, name: &str, max: usize) -> Result<(), InvalidEntry> {
    if name.is_empty()
        || name.len() > max
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b))
    {
        return Err(at.msg(format!(
            "name \"{name}\" must be 1–{max} characters of [A-Za-z0-9+=,.@_-]"
        )));
    }
    Ok(())
}

/// An ISO 8601 date field, when present; returns it or the fixed epoch date.
pub(crate) fn check_date(
    at: &At,
    field: &str,
    value: Option<&str>,
) -> Result<String, InvalidEntry> {
    match value {
        None => Ok(super::ids::EPOCH_DATE.to_string()),
        Some(t) => {
            crate::policy::parse_date(t)
                .ok_or_else(|| at.field(field).msg(format!("\"{t}\" is not a date")))?;
            Ok(t.to_string())
        }
    }
}

/// Bounds of `credential_lifetime_seconds`: down to one minute (soak tests rotate quickly), up
/// to the longest role session STS issues (12 hours). Without the upper bound a huge lifetime
/// overflowed the expiry arithmetic and IMDS served an `Expiration` in 1970.
pub(crate) const LIFETIME_RANGE: std::ops::RangeInclusive<i64> = 60..=43_200;

/// Credential lifetime and rotation margin of an instance or task.
pub(crate) fn lifetimes(
    at: &At,
    lifetime: Option<i64>,
    margin: Option<i64>,
) -> Result<(i64, i64), InvalidEntry> {
    let lifetime = lifetime.unwrap_or(6 * 3600);
    if !LIFETIME_RANGE.contains(&lifetime) {
        return Err(at.msg(format!(
            "credential_lifetime_seconds {lifetime} must be {}–{}",
            LIFETIME_RANGE.start(),
            LIFETIME_RANGE.end()
        )));
    }
    // New credentials appear at least 5 minutes before the old ones expire (as on EC2), or half
    // the lifetime when that is shorter.
    let min_margin = 300.min(lifetime / 2);
    let margin = margin.unwrap_or_else(|| 1800.min(lifetime / 2));
    if margin < min_margin || margin >= lifetime {
        return Err(at.msg(format!(
            "rotation_margin_seconds {margin} must be at least {min_margin} and less than the lifetime"
        )));
    }
    Ok((lifetime, margin))
}

/// Parses identity policy documents; an error names `field[k]`.
pub(crate) fn parse_policies(
    at: &At,
    field: &str,
    docs: &[String],
) -> Result<Vec<Policy>, InvalidEntry> {
    docs.iter()
        .enumerate()
        .map(|(k, d)| {
            Policy::parse(d, PolicyKind::Identity)
                .map_err(|e| at.field(format!("{field}[{k}]")).err(e))
        })
        .collect()
}
