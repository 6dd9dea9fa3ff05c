//! Identity sections: managed policies, users (keys, MFA devices), roles, instance profiles and
//! unassigned virtual MFA devices.

use std::collections::HashMap;
use std::sync::OnceLock;

use super::*;

/// The built-in AWS managed policies, parsed once per process.
fn aws_catalogue() -> &'static [(String, Policy)] {
    static PARSED: OnceLock<Vec<(String, Policy)>> = OnceLock::new();
    PARSED.get_or_init(|| {
        crate::world::managed::CATALOGUE
            .iter()
            .map(|(name, doc)| {
                let p = Policy::parse(doc, PolicyKind::Identity)
                    .expect("built-in managed policies are valid");
                (name.to_string(), p)
            })
            .collect()
    })
}

pub(super) fn managed_policies(
    ctx: &mut Ctx,
    raw: &[RawManagedPolicy],
) -> Result<Vec<ManagedPolicy>, InvalidEntry> {
    let p = ctx.partition.clone();
    let mut out: Vec<ManagedPolicy> = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let at = At::entry("managed_policies", i, &m.name);
        ctx.known_account(&at, &m.account)?;
        check_name(&at, &m.name, 128)?;
        check_id(&at, &m.id, "ANPA")?;
        ctx.claim_id(&at, &m.id)?;
        let path = check_path(&at, m.path.as_deref())?;
        if out
            .iter()
            .any(|x| x.account.as_deref() == Some(&m.account) && x.name == m.name)
        {
            return Err(at.err(Problem::Duplicate("policy name in this account".into())));
        }
        let policy = Policy::parse(&m.document, PolicyKind::Identity)
            .map_err(|e| at.field("document").err(e))?;
        out.push(ManagedPolicy {
            arn: format!("arn:{p}:iam::{}:policy{path}{}", m.account, m.name),
            account: Some(m.account.clone()),
            name: m.name.clone(),
            path,
            id: m.id.clone(),
            policy,
            document: m.document.clone(),
            description: m.description.clone(),
            created: check_date(&at, "created", m.created.as_deref())?,
        });
    }
    for ((name, policy), (_, doc)) in aws_catalogue().iter().zip(crate::world::managed::CATALOGUE) {
        out.push(ManagedPolicy {
            account: None,
            name: name.clone(),
            path: "/".into(),
            id: crate::world::managed::aws_policy_id(name),
            arn: format!("arn:{p}:iam::aws:policy/{name}"),
            policy: policy.clone(),
            document: doc.to_string(),
            description: None,
            created: crate::world::ids::EPOCH_DATE.into(),
        });
    }
    Ok(out)
}

/// Inline (unnamed list, then named map) and attached managed policies of a user or role.
fn identity_policies(
    at: &At,
    account: &str,
    list: &[String],
    named: &BTreeMap<String, String>,
    attached: &[String],
    managed: &[ManagedPolicy],
) -> Result<(Vec<Policy>, Vec<PolicySource>), InvalidEntry> {
    let mut policies = parse_policies(at, "policies", list)?;
    let mut sources: Vec<PolicySource> = (1..=list.len())
        .map(|k| PolicySource::Inline(format!("policy-{k}")))
        .collect();
    for (name, doc) in named {
        let at = at.field(format!("inline_policies.{name}"));
        check_name(&at, name, 128)?;
        if sources.contains(&PolicySource::Inline(name.clone())) {
            return Err(at.err(Problem::Duplicate("inline policy name".into())));
        }
        policies.push(Policy::parse(doc, PolicyKind::Identity).map_err(|e| at.err(e))?);
        sources.push(PolicySource::Inline(name.clone()));
    }
    for (k, arn) in attached.iter().enumerate() {
        let at = at.field(format!("managed_policies[{k}]"));
        let m = managed
            .iter()
            .find(|m| m.arn == *arn && m.account.as_deref().is_none_or(|a| a == account))
            .ok_or_else(|| {
                at.err(Problem::NotFound {
                    what: "managed policy",
                    name: arn.clone(),
                    scope: String::new(),
                })
            })?;
        if sources.contains(&PolicySource::Managed(arn.clone())) {
            return Err(at.err(Problem::Duplicate("attachment".into())));
        }
        policies.push(m.policy.clone());
        sources.push(PolicySource::Managed(arn.clone()));
    }
    Ok((policies, sources))
}

type Users = (Vec<User>, HashMap<String, (usize, usize)>);

pub(super) fn users(
    ctx: &mut Ctx,
    raw: &[RawUser],
    managed: &[ManagedPolicy],
) -> Result<Users, InvalidEntry> {
    let p = ctx.partition.clone();
    let mut users: Vec<User> = Vec::new();
    let mut access_keys = HashMap::new();
    for (i, u) in raw.iter().enumerate() {
        let at = At::entry("users", i, &u.name);
        ctx.known_account(&at, &u.account)?;
        check_name(&at, &u.name, 64)?;
        check_id(&at, &u.id, "AIDA")?;
        ctx.claim_id(&at, &u.id)?;
        if users
            .iter()
            .any(|x| x.account == u.account && x.name.eq_ignore_ascii_case(&u.name))
        {
            return Err(at.err(Problem::Duplicate("user name in this account".into())));
        }
        let path = check_path(&at, u.path.as_deref())?;
        let arn = format!("arn:{p}:iam::{}:user{path}{}", u.account, u.name);
        let mut keys = Vec::new();
        for (k, key) in u.access_keys.iter().enumerate() {
            let at = at.field(format!("access_keys[{k}]"));
            if !key.id.starts_with("AKIA")
                || key.id.len() < 16
                || !key.id.bytes().all(|b| b.is_ascii_alphanumeric())
            {
                return Err(at.msg(format!(
                    "id \"{}\" must be AKIA followed by letters/digits",
                    key.id
                )));
            }
            if key.secret.is_empty() {
                return Err(at.msg("secret must not be empty"));
            }
            let active = match key.status.as_str() {
                "Active" => true,
                "Inactive" => false,
                other => {
                    return Err(at.msg(format!(
                        "status must be Active or Inactive, not \"{other}\""
                    )))
                }
            };
            if access_keys
                .insert(key.id.clone(), (users.len(), keys.len()))
                .is_some()
            {
                return Err(at.msg(format!("access key \"{}\" is used twice", key.id)));
            }
            keys.push(AccessKey {
                id: key.id.clone(),
                secret: key.secret.clone(),
                active,
                created: check_date(&at, "created", key.created.as_deref())?,
            });
        }
        let mut mfa_devices = Vec::new();
        for (k, m) in u.mfa_devices.iter().enumerate() {
            let at = at.field(format!("mfa_devices[{k}]"));
            let secret = crate::totp::decode_base32(&m.secret_base32)
                .ok_or_else(|| at.msg("secret_base32 is not valid base32"))?;
            if secret.len() < 10 {
                return Err(at.msg("secret_base32 must decode to at least 10 bytes"));
            }
            if m.serial.len() < 9 {
                return Err(at.msg("serial must be at least 9 characters"));
            }
            mfa_devices.push(MfaDevice {
                serial: m.serial.clone(),
                secret,
            });
        }
        let (policies, policy_sources) = identity_policies(
            &at,
            &u.account,
            &u.policies,
            &u.inline_policies,
            &u.managed_policies,
            managed,
        )?;
        users.push(User {
            account: u.account.clone(),
            name: u.name.clone(),
            path,
            id: u.id.clone(),
            arn,
            access_keys: keys,
            mfa_devices,
            policies,
            policy_sources,
            tags: u.tags.clone(),
            created: check_date(&at, "created", u.created.as_deref())?,
        });
    }
    Ok((users, access_keys))
}

pub(super) fn roles(
    ctx: &mut Ctx,
    raw: &[RawRole],
    managed: &[ManagedPolicy],
) -> Result<Vec<Role>, InvalidEntry> {
    let p = ctx.partition.clone();
    let mut roles: Vec<Role> = Vec::new();
    for (i, r) in raw.iter().enumerate() {
        let at = At::entry("roles", i, &r.name);
        ctx.known_account(&at, &r.account)?;
        check_name(&at, &r.name, 64)?;
        check_id(&at, &r.id, "AROA")?;
        ctx.claim_id(&at, &r.id)?;
        let path = check_path(&at, r.path.as_deref())?;
        let arn = format!("arn:{p}:iam::{}:role{path}{}", r.account, r.name);
        if roles
            .iter()
            .any(|x| x.account == r.account && x.name.eq_ignore_ascii_case(&r.name))
        {
            return Err(at.err(Problem::Duplicate("role name in this account".into())));
        }
        let trust_policy = Policy::parse(&r.trust_policy, PolicyKind::Trust)
            .map_err(|e| at.field("trust_policy").err(e))?;
        let (policies, policy_sources) = identity_policies(
            &at,
            &r.account,
            &r.policies,
            &r.inline_policies,
            &r.managed_policies,
            managed,
        )?;
        let max = r.max_session_duration.unwrap_or(3600);
        if !(3600..=43200).contains(&max) {
            return Err(at.msg(format!("max_session_duration {max} must be 3600–43200")));
        }
        roles.push(Role {
            account: r.account.clone(),
            name: r.name.clone(),
            path,
            id: r.id.clone(),
            arn,
            trust_policy,
            trust_document: r.trust_policy.clone(),
            description: r.description.clone(),
            reserved: false,
            policies,
            policy_sources,
            max_session_duration: max,
            tags: r.tags.clone(),
            created: check_date(&at, "created", r.created.as_deref())?,
        });
    }
    Ok(roles)
}

pub(super) fn instance_profiles(
    ctx: &mut Ctx,
    raw: &[RawInstanceProfile],
    roles: &[Role],
) -> Result<Vec<InstanceProfile>, InvalidEntry> {
    let p = ctx.partition.clone();
    let mut out: Vec<InstanceProfile> = Vec::new();
    for (i, ip) in raw.iter().enumerate() {
        let at = At::entry("instance_profiles", i, &ip.name);
        ctx.known_account(&at, &ip.account)?;
        check_name(&at, &ip.name, 128)?;
        check_id(&at, &ip.id, "AIPA")?;
        ctx.claim_id(&at, &ip.id)?;
        let path = check_path(&at, ip.path.as_deref())?;
        if out
            .iter()
            .any(|x| x.account == ip.account && x.name.eq_ignore_ascii_case(&ip.name))
        {
            return Err(at.err(Problem::Duplicate(
                "instance profile name in this account".into(),
            )));
        }
        let role = match &ip.role {
            None => None,
            Some(name) => Some(
                roles
                    .iter()
                    .position(|r| r.account == ip.account && r.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        at.err(Problem::NotFound {
                            what: "role",
                            name: name.clone(),
                            scope: format!(" in account {}", ip.account),
                        })
                    })?,
            ),
        };
        out.push(InstanceProfile {
            arn: format!(
                "arn:{p}:iam::{}:instance-profile{path}{}",
                ip.account, ip.name
            ),
            account: ip.account.clone(),
            name: ip.name.clone(),
            id: ip.id.clone(),
            path,
            role,
            created: check_date(&at, "created", ip.created.as_deref())?,
        });
    }
    Ok(out)
}

pub(super) fn virtual_mfa_devices(
    ctx: &Ctx,
    raw: &[RawVirtualMfa],
    users: &[User],
) -> Result<(), InvalidEntry> {
    let mut serials: Vec<String> = users
        .iter()
        .flat_map(|u| u.mfa_devices.iter().map(|d| d.serial.clone()))
        .collect();
    for (i, m) in raw.iter().enumerate() {
        let at = At::entry("virtual_mfa_devices", i, &m.name);
        ctx.known_account(&at, &m.account)?;
        check_name(&at, &m.name, 226)?;
        let path = check_path(&at, m.path.as_deref())?;
        let serial = format!(
            "arn:{}:iam::{}:mfa{path}{}",
            ctx.partition, m.account, m.name
        );
        let secret = crate::totp::decode_base32(&m.secret_base32)
            .ok_or_else(|| at.msg("secret_base32 is not valid base32"))?;
        if secret.len() < 10 {
            return Err(at.msg("secret_base32 must decode to at least 10 bytes"));
        }
        if serials.contains(&serial) {
            return Err(at.err(Problem::Duplicate(format!("serial \"{serial}\""))));
        }
        check_date(&at, "created", m.created.as_deref())?;
        serials.push(serial);
    }
    Ok(())
}
