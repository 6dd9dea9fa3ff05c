//! Compute sections: EC2 instances (with their IMDS metadata), launch configurations, launch
//! templates, Auto Scaling groups and ECS tasks.

use super::*;
use crate::policy::parse_date;

pub(super) fn instances(
    ctx: &Ctx,
    raw: Vec<RawInstance>,
    profiles: &[InstanceProfile],
) -> Result<Vec<Instance>, InvalidEntry> {
    let mut instances: Vec<Instance> = Vec::new();
    for (i, inst) in raw.into_iter().enumerate() {
        let at = At::entry("instances", i, &inst.id);
        ctx.known_account(&at, &inst.account)?;
        if !inst.id.starts_with("i-") || inst.id.len() < 10 {
            return Err(at.msg("id must look like i-0123456789abcdef0"));
        }
        if instances.iter().any(|x| x.id == inst.id) {
            return Err(at.err(Problem::Duplicate("instance id".into())));
        }
        let instance_profile = match &inst.instance_profile {
            None => None,
            Some(name) => Some(
                profiles
                    .iter()
                    .position(|x| x.account == inst.account && x.name.eq_ignore_ascii_case(name))
                    .ok_or_else(|| {
                        at.err(Problem::NotFound {
                            what: "instance_profile",
                            name: name.clone(),
                            scope: String::new(),
                        })
                    })?,
            ),
        };
        let hop_limit = inst.hop_limit.unwrap_or(1);
        if !(1..=64).contains(&hop_limit) {
            return Err(at.msg(format!("hop_limit {hop_limit} must be 1–64")));
        }
        let (lifetime, margin) = lifetimes(
            &at,
            inst.credential_lifetime_seconds,
            inst.rotation_margin_seconds,
        )?;
        let metadata = instance_metadata(&inst.id, &inst.account, inst.metadata);
        let az = metadata["placement/availability-zone"].clone();
        let region = metadata
            .get("placement/region")
            .cloned()
            .unwrap_or_else(|| region_of_zone(&az));
        if let Some(t) = &inst.pending_time {
            parse_date(t).ok_or_else(|| at.msg(format!("pending_time \"{t}\" is not a date")))?;
        }
        // Tags reach IMDS only with instance metadata tags on; EC2 allows other keys otherwise.
        if inst.metadata_tags {
            if let Some(key) = inst.tags.keys().find(|k| !imds_tag_key(k)) {
                return Err(at.msg(format!(
                    "tag key \"{key}\" cannot be served by IMDS (metadata_tags is on)"
                )));
            }
        }
        if let Some(listen) = &inst.listen {
            listen
                .parse::<std::net::SocketAddr>()
                .map_err(|_| at.msg(format!("listen \"{listen}\" is not an address:port")))?;
        }
        let association_id = inst
            .association_id
            .clone()
            .unwrap_or_else(|| crate::world::ids::association_for(&inst.id));
        instances.push(Instance {
            association_id,
            state: inst.state,
            auto_scaling_group: inst.auto_scaling_group,
            launched_from: inst.launched_from,
            key_name: inst.key_name,
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
                .unwrap_or_else(|| crate::world::ids::EPOCH_DATE.into()),
        });
    }
    Ok(instances)
}

fn metadata_options(at: &At, o: &RawMetadataOptions) -> Result<(), InvalidEntry> {
    if let Some(h) = o.hop_limit {
        if !(1..=64).contains(&h) {
            return Err(at
                .field("metadata_options")
                .msg(format!("hop_limit {h} must be 1–64")));
        }
    }
    Ok(())
}

pub(super) fn launch_configurations(
    ctx: &Ctx,
    raw: &[RawLaunchConfiguration],
) -> Result<(), InvalidEntry> {
    for (i, lc) in raw.iter().enumerate() {
        let at = At::entry("launch_configurations", i, &lc.name);
        ctx.known_account(&at, &lc.account)?;
        if lc.name.is_empty() || lc.name.len() > 255 {
            return Err(at.msg("name must be 1–255 characters"));
        }
        if raw[..i]
            .iter()
            .any(|x| x.account == lc.account && x.name == lc.name)
        {
            return Err(at.err(Problem::Duplicate(
                "launch configuration name in this account".into(),
            )));
        }
        metadata_options(&at, &lc.metadata_options)?;
        check_date(&at, "created", lc.created.as_deref())?;
    }
    Ok(())
}

pub(super) fn launch_templates(ctx: &Ctx, raw: &[RawLaunchTemplate]) -> Result<(), InvalidEntry> {
    for (i, lt) in raw.iter().enumerate() {
        let at = At::entry("launch_templates", i, &lt.name);
        ctx.known_account(&at, &lt.account)?;
        if !lt.id.starts_with("lt-") {
            return Err(at.msg(format!("id \"{}\" must start with lt-", lt.id)));
        }
        if raw[..i]
            .iter()
            .any(|x| x.id == lt.id || (x.account == lt.account && x.name == lt.name))
        {
            return Err(at.err(Problem::Duplicate("launch template name or id".into())));
        }
        if lt.versions.is_empty() {
            return Err(at.msg("versions must not be empty"));
        }
        for (k, v) in lt.versions.iter().enumerate() {
            if v.number as usize != k + 1 {
                return Err(at.field(format!("versions[{k}]")).msg(format!(
                    "number {} must be {}",
                    v.number,
                    k + 1
                )));
            }
            metadata_options(&at.field(format!("versions[{k}]")), &v.metadata_options)?;
        }
        if let Some(d) = lt.default_version {
            if d == 0 || d as usize > lt.versions.len() {
                return Err(at.msg(format!("default_version {d} is not a version")));
            }
        }
        check_date(&at, "created", lt.created.as_deref())?;
    }
    Ok(())
}

pub(super) fn auto_scaling_groups(
    ctx: &Ctx,
    raw: &[RawAutoScalingGroup],
    world: &RawWorld,
) -> Result<(), InvalidEntry> {
    for (i, g) in raw.iter().enumerate() {
        let at = At::entry("auto_scaling_groups", i, &g.name);
        ctx.known_account(&at, &g.account)?;
        if raw[..i]
            .iter()
            .any(|x| x.account == g.account && x.name == g.name)
        {
            return Err(at.err(Problem::Duplicate("group name in this account".into())));
        }
        match (&g.launch_configuration, &g.launch_template) {
            (Some(lc), None) => {
                if !world
                    .launch_configurations
                    .iter()
                    .any(|x| x.account == g.account && x.name == *lc)
                {
                    return Err(at.err(Problem::NotFound {
                        what: "launch configuration",
                        name: lc.clone(),
                        scope: String::new(),
                    }));
                }
            }
            (None, Some(t)) => {
                let found = world.launch_templates.iter().any(|x| {
                    x.account == g.account
                        && (t.id.as_deref() == Some(&x.id) || t.name.as_deref() == Some(&x.name))
                });
                if !found {
                    return Err(at.err(Problem::NotFound {
                        what: "launch template",
                        name: t.id.clone().or(t.name.clone()).unwrap_or_default(),
                        scope: String::new(),
                    }));
                }
            }
            _ => return Err(at.msg("give exactly one of launch_configuration and launch_template")),
        }
        if g.min_size > g.max_size
            || g.desired_capacity < g.min_size
            || g.desired_capacity > g.max_size
        {
            return Err(at.msg(format!(
                "sizes must satisfy min_size {} ≤ desired_capacity {} ≤ max_size {}",
                g.min_size, g.desired_capacity, g.max_size
            )));
        }
        check_date(&at, "created", g.created.as_deref())?;
    }
    Ok(())
}

pub(super) fn ecs_tasks(
    ctx: &Ctx,
    raw: Vec<RawEcsTask>,
    roles: &[Role],
) -> Result<Vec<EcsTask>, InvalidEntry> {
    let mut ecs_tasks: Vec<EcsTask> = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        let at = At::entry("ecs_tasks", i, &t.id);
        ctx.known_account(&at, &t.account)?;
        let role = roles
            .iter()
            .position(|r| r.account == t.account && r.name == t.role)
            .ok_or_else(|| {
                at.err(Problem::NotFound {
                    what: "role",
                    name: t.role.clone(),
                    scope: format!(" in account {}", t.account),
                })
            })?;
        if t.credentials_id.is_empty() || t.credentials_id.contains('/') {
            return Err(at.msg("credentials_id must be non-empty and contain no /"));
        }
        if ecs_tasks
            .iter()
            .any(|x| x.credentials_id == t.credentials_id)
        {
            return Err(at.err(Problem::Duplicate("credentials_id".into())));
        }
        if let Some(tok) = &t.auth_token {
            if tok.is_empty() || tok.bytes().any(|b| b < 0x20 || b == 0x7f) {
                return Err(at.msg("auth_token must be a non-empty legal header value"));
            }
        }
        let (lifetime, margin) = lifetimes(
            &at,
            t.credential_lifetime_seconds,
            t.rotation_margin_seconds,
        )?;
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
    Ok(ecs_tasks)
}

/// Fills in every metadata leaf the IMDS tree serves, deriving defaults from the instance id.
/// The region of an availability zone named as AWS names them, region + one letter
/// (`us-east-1a`): the name without its last character (a character, not a byte: the world
/// file may say anything).
fn region_of_zone(az: &str) -> String {
    let mut region = az.to_string();
    region.pop();
    region
}

pub(crate) fn instance_metadata(
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
        .or_insert_with(|| region_of_zone(&az));
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

/// Whether IMDS can serve `key` under `meta-data/tags/instance/`: letters, digits and
/// `+ - = . , _ : @`, not `.`, `..` or `_index` (the EC2 user guide's rules for tags in
/// instance metadata; docs/spec/world-apis.md).
pub(crate) fn imds_tag_key(key: &str) -> bool {
    !key.is_empty()
        && key != "."
        && key != ".."
        && key != "_index"
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+-=.,_:@".contains(&b))
}
