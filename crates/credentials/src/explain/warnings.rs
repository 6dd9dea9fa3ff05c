//! Warnings a person should see: keys in the config file, a credentials file others can read,
//! selections that disagree, environment keys shadowing a profile, unusable cache entries.

use awsid_profile::ProfileSource;
use time::OffsetDateTime;

use super::model::{CacheState, OutcomeStatus, RegionReport, Source, Warning};
use super::providers::Walk;
use super::sources::Origins;
use crate::Session;

pub(super) fn collect(
    session: &Session,
    origins: &Origins<'_>,
    walk: &Walk,
    region: &RegionReport,
    _now: OffsetDateTime,
) -> Vec<Warning> {
    let mut out = Vec::new();
    let mut warn = |code: &'static str, message: String| out.push(Warning { code, message });
    let env = &session.env;
    let sel = session.selection();

    // Profiles in play: the selected one and every source profile of its chain.
    let mut in_play: Vec<String> = vec![sel.name.clone()];
    for p in &walk.outcome.source_profiles {
        if !in_play.contains(p) {
            in_play.push(p.clone());
        }
    }
    for p in &in_play {
        if let Some(s) = origins.file_setting(
            awsid_profile::SharedFile::Config,
            p,
            "aws_secret_access_key",
            true,
        ) {
            let at = match &s.source {
                Source::File { path, line, .. } => format!(" ({path}, line {line})"),
                _ => String::new(),
            };
            warn(
                "keys-in-config-file",
                format!(
                    "profile {p} keeps a secret access key in the config file{at}; the \
                     credentials file (mode 0600) is the place for secrets"
                ),
            );
        }
        let props = session.profiles.profile(p);
        if props.is_some_and(|x| {
            x.contains("role_arn")
                && x.contains("aws_access_key_id")
                && !x.contains("web_identity_token_file")
        }) && p == &sel.name
        {
            warn(
                "keys-and-role",
                format!(
                    "profile {p} has both static keys and role_arn: the role is assumed; its \
                     keys are used only where it is another profile's source_profile (or its \
                     own)"
                ),
            );
        }
    }

    for (path, label) in [
        (&session.locations.credentials_file, "credentials file"),
        (&session.locations.config_file, "config file"),
    ] {
        use std::os::unix::fs::PermissionsExt;
        let Ok(meta) = std::fs::metadata(path) else {
            continue;
        };
        let mode = meta.permissions().mode() & 0o777;
        let holds_secrets =
            label == "credentials file" || walk_holds_config_keys(session, &in_play);
        if meta.is_file() && holds_secrets && mode & 0o077 != 0 {
            warn(
                if label == "credentials file" {
                    "credentials-file-permissions"
                } else {
                    "config-file-permissions"
                },
                format!(
                    "the {label} {} is readable or writable by others (mode {mode:04o}); \
                     run chmod 600 on it",
                    path.display()
                ),
            );
        }
    }

    if let (ProfileSource::Flag, Some(envp)) = (sel.source, env.get("AWS_PROFILE")) {
        if envp != sel.name {
            warn(
                "profile-flag-overrides-env",
                format!(
                    "--profile {} overrides AWS_PROFILE={envp}: programs started from this \
                     shell without --profile use {envp}",
                    sel.name
                ),
            );
        }
    }
    if let (Some(a), Some(b)) = (env.get("AWS_PROFILE"), env.get("AWS_DEFAULT_PROFILE")) {
        if a != b && sel.source != ProfileSource::Flag {
            warn(
                "profile-env-disagree",
                format!(
                    "AWS_PROFILE={a} and AWS_DEFAULT_PROFILE={b} disagree: the aws CLI v2 and \
                     awsid use AWS_PROFILE, the aws CLI v1 and older SDKs AWS_DEFAULT_PROFILE"
                ),
            );
        }
    }
    if env.get_non_empty("AWS_ACCESS_KEY_ID").is_some() {
        if sel.is_explicit() {
            warn(
                "env-keys-ignored",
                "AWS_ACCESS_KEY_ID is set but --profile was given: the environment keys are not \
                 used (programs started without --profile will use them)"
                    .into(),
            );
        } else if sel.is_selected() {
            warn(
                "env-keys-shadow-profile",
                format!(
                    "AWS_ACCESS_KEY_ID is set: the environment keys win over profile {} \
                     selected by {}; unset them or pass --profile",
                    sel.name,
                    if sel.source == ProfileSource::AwsProfile {
                        "AWS_PROFILE"
                    } else {
                        "AWS_DEFAULT_PROFILE"
                    }
                ),
            );
        }
    }
    if sel.is_selected() && session.profiles.profile(&sel.name).is_none() {
        warn(
            "profile-not-found",
            format!("profile {} is in neither file", sel.name),
        );
    }
    for hop in &walk.outcome.hops {
        if let Some(d) = &hop.duration_seconds {
            if hop.duration_used.is_none() {
                warn(
                    "duration-ignored",
                    format!(
                        "duration_seconds = {} of profile {} is not an integer: it is ignored \
                         and the role's default (one hour) applies",
                        d.value, hop.profile
                    ),
                );
            }
        }
        if let Some(c) = &hop.cache {
            if c.state == CacheState::Unusable {
                warn(
                    "cache-entry-unusable",
                    format!(
                        "the cache entry {} of profile {} cannot be used ({}); the next call \
                         replaces it",
                        c.path,
                        hop.profile,
                        c.reason.as_deref().unwrap_or("unknown")
                    ),
                );
            }
        }
    }
    if let Some(base) = &walk.outcome.base {
        if let Some(t) = &base.token_cache {
            match t.state {
                CacheState::Absent | CacheState::Expired | CacheState::Unusable => warn(
                    "sso-token-missing",
                    format!(
                        "no usable SSO token ({}): run `awsid sso login --profile {}` (or \
                         `aws sso login`)",
                        t.path,
                        base.profile.as_deref().unwrap_or(&sel.name)
                    ),
                ),
                _ => {}
            }
        }
    }
    let needs_sts = !walk.outcome.hops.is_empty()
        || walk
            .outcome
            .base
            .as_ref()
            .is_some_and(|b| b.provider == "assume-role-with-web-identity");
    let custom_sts = env.get_non_empty("AWS_ENDPOINT_URL_STS").is_some()
        || env.get_non_empty("AWS_ENDPOINT_URL").is_some();
    if needs_sts
        && region.value.is_none()
        && custom_sts
        && walk.outcome.status == OutcomeStatus::Chosen
    {
        warn(
            "region-missing",
            "the chain calls STS at a custom endpoint but no region is configured: the call \
             fails with \"You must specify a region.\" unless instance metadata supplies one"
                .into(),
        );
    }
    out
}

fn walk_holds_config_keys(session: &Session, profiles: &[String]) -> bool {
    profiles.iter().any(|p| {
        session
            .profiles
            .config_profile(p)
            .is_some_and(|x| x.contains("aws_secret_access_key"))
    })
}
