//! `awsid explain`: the credential chain walked in the CLI's order without calling any
//! service — which provider is chosen and why the others are not, every value with the file
//! line, variable or option it comes from, the role hops with their cache entries, the region,
//! the endpoint overrides and the warnings a person should see.
//!
//! The decision is the chain plan's ([`crate::plan`]), so it is the decision `resolve` makes.
//! Only local things are looked at: the shared files, the environment, cache entries, token
//! files and the legacy credential files. A `credential_process` is never run and no HTTP
//! request is made (`--resolve` does that, in the binary, through [`crate::Session::resolve`]).

mod endpoints;
mod model;
mod providers;
mod sources;
mod warnings;

pub use model::*;

use time::OffsetDateTime;

use crate::Session;
use sources::Origins;

/// Options of one explanation.
#[derive(Clone, Debug, Default)]
pub struct ExplainOptions {
    /// `--region`.
    pub region_flag: Option<String>,
    /// The clock for cache states (`None`: now).
    pub now: Option<OffsetDateTime>,
}

/// Explains how `session` resolves credentials, without network I/O.
pub fn explain(session: &Session, options: &ExplainOptions) -> Explanation {
    let now = options.now.unwrap_or_else(crate::time::now);
    let origins = Origins::new(session);
    let walk = providers::walk(session, &origins, now);
    let region = region(session, &origins, options.region_flag.as_deref());
    let endpoints = endpoints::report(session, &origins, region.value.as_deref());
    let warnings = warnings::collect(session, &origins, &walk, &region, now);
    Explanation {
        schema: SCHEMA,
        profile: profile(session, &origins),
        files: files(session),
        providers: walk.providers,
        credentials: walk.outcome,
        region,
        endpoints,
        warnings,
        error: walk.error,
        resolved: None,
    }
}

fn profile(session: &Session, origins: &Origins<'_>) -> ProfileReport {
    use awsid_profile::ProfileSource;
    let selection = session.selection();
    let selected_by = match selection.source {
        ProfileSource::Flag => Source::Flag {
            name: "--profile".into(),
        },
        ProfileSource::AwsProfile => Source::Env {
            name: "AWS_PROFILE".into(),
        },
        ProfileSource::AwsDefaultProfile => Source::Env {
            name: "AWS_DEFAULT_PROFILE".into(),
        },
        ProfileSource::Default => Source::Default,
    };
    let (config, credentials) = session.profiles().section_lines(&selection.name);
    ProfileReport {
        name: selection.name.clone(),
        selected_by,
        explicit: selection.is_explicit(),
        exists: session.profiles().profile(&selection.name).is_some(),
        sections: [config, credentials]
            .into_iter()
            .flatten()
            .map(|o| origins.file_source(o))
            .collect(),
    }
}

fn files(session: &Session) -> FilesReport {
    let l = &session.locations;
    let one = |path: &std::path::Path, var: &str| {
        let meta = std::fs::metadata(path).ok().filter(|m| m.is_file());
        FileReport {
            path: path.display().to_string(),
            source: if session.env.contains(var) {
                Source::Env { name: var.into() }
            } else {
                Source::Default
            },
            exists: meta.is_some(),
            mode: meta.map(|m| {
                use std::os::unix::fs::PermissionsExt;
                format!("{:04o}", m.permissions().mode() & 0o7777)
            }),
        }
    };
    FilesReport {
        config: one(&l.config_file, "AWS_CONFIG_FILE"),
        credentials: one(&l.credentials_file, "AWS_SHARED_CREDENTIALS_FILE"),
    }
}

/// The credential clients' region: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the
/// profile's `region` (the order of [`Session::region`]).
fn region(session: &Session, origins: &Origins<'_>, flag: Option<&str>) -> RegionReport {
    let name = &session.selection().name;
    let found = if let Some(r) = flag.filter(|r| !r.is_empty()) {
        Some((
            r.to_string(),
            Source::Flag {
                name: "--region".into(),
            },
        ))
    } else if let Some((var, r)) = ["AWS_REGION", "AWS_DEFAULT_REGION"]
        .iter()
        .find_map(|v| session.env.get_non_empty(v).map(|r| (*v, r)))
    {
        Some((r.to_string(), Source::Env { name: var.into() }))
    } else {
        origins
            .profile_setting(name, "region", false)
            .filter(|s| !s.value.is_empty())
            .map(|s| (s.value, s.source))
    };
    match found {
        Some((value, source)) => RegionReport {
            value: Some(value),
            source: Some(source),
            note: None,
        },
        None => RegionReport {
            value: None,
            source: None,
            note: Some(
                "No region is configured (--region, AWS_REGION, AWS_DEFAULT_REGION or the \
                 profile's region). The aws CLI v2 then asks the instance metadata service, \
                 which explain does not contact without --resolve; STS calls to a custom \
                 endpoint fail with \"You must specify a region.\""
                    .into(),
            ),
        },
    }
}

#[cfg(test)]
mod tests;
