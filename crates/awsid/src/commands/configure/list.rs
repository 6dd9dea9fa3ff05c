//! `configure list`: the profile, keys and region in use and where they come from (v2.31+
//! layout: left-aligned columns separated by ` : `, no dashes row).

use std::io::Write;

use awsid_profile::{Env, Locations, ProfileSelection, ProfileSet, ProfileSource};
use clap::Args;

use super::{get::scoped_config, load, mask};
use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `configure list` (none beyond the global `--profile`).
#[derive(Debug, Args)]
pub(crate) struct ListArgs {}

/// One row: value, type, location.
struct Row {
    value: String,
    kind: String,
    location: String,
}

impl Row {
    fn not_set() -> Row {
        Row {
            value: "<not set>".to_owned(),
            kind: "None".to_owned(),
            location: "None".to_owned(),
        }
    }
}

fn line(name: &str, value: &str, kind: &str, location: &str) -> String {
    format!("{name:<10} : {value:<24} : {kind:<16} : {location}\n")
}

/// Runs `configure list`. Rows are printed as they are found, so an error (a missing
/// profile) comes after the rows before it, as in the reference.
pub(super) fn run(global: &GlobalArgs, _args: ListArgs, env: &Env) -> Result<u8, CliError> {
    let locations = Locations::from_env(env);
    let set = load(&locations)?;
    let selection = ProfileSelection::resolve(global.profile.as_deref(), env);
    let mut out = std::io::stdout().lock();
    out.write_all(line("NAME", "VALUE", "TYPE", "LOCATION").as_bytes())?;

    let profile = match selection.source {
        ProfileSource::Flag => Row {
            value: selection.name.clone(),
            kind: "manual".to_owned(),
            location: "--profile".to_owned(),
        },
        ProfileSource::AwsProfile | ProfileSource::AwsDefaultProfile => Row {
            value: selection.name.clone(),
            kind: "env".to_owned(),
            location: "['AWS_PROFILE', 'AWS_DEFAULT_PROFILE']".to_owned(),
        },
        ProfileSource::Default => Row::not_set(),
    };
    out.write_all(line("profile", &profile.value, &profile.kind, &profile.location).as_bytes())?;
    out.flush()?;

    let session = awsid_credentials::Session::from_parts(
        env.clone(),
        locations.clone(),
        set.clone(),
        global.profile.as_deref(),
    );
    let (access, secret) = match credentials_rows(&session) {
        Ok(rows) => rows,
        Err(e) => {
            out.flush()?;
            return Err(e);
        }
    };
    for (name, row) in [("access_key", access), ("secret_key", secret)] {
        out.write_all(line(name, &row.value, &row.kind, &row.location).as_bytes())?;
    }
    out.flush()?;

    let region = region_row(env, &locations, &set, &selection, &session, global)?;
    out.write_all(line("region", &region.value, &region.kind, &region.location).as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// The access-key and secret-key rows from one run of the credential chain: masked values,
/// the provider's method name, no location.
fn credentials_rows(session: &awsid_credentials::Session) -> Result<(Row, Row), CliError> {
    let resolved = session
        .resolve(&awsid_credentials::ResolveOptions::default())
        .map_err(CliError::from_credentials)?;
    Ok(match resolved {
        None => (Row::not_set(), Row::not_set()),
        Some(r) => {
            let c = r.credentials;
            let row = |v: &str| Row {
                value: mask(Some(v)),
                kind: c.method.to_owned(),
                location: String::new(),
            };
            (row(&c.access_key_id), row(c.secret_access_key.expose()))
        }
    })
}

/// Region (v2 `list.py` `_lookup_region`): `AWS_REGION` then `AWS_DEFAULT_REGION`, else the
/// profile's `region` labelled with the config-file setting as written, else whatever the
/// CLI's region chain gives — `--region` or IMDS — which v2 labels `imds` in both cases.
fn region_row(
    env: &Env,
    locations: &Locations,
    set: &ProfileSet,
    selection: &ProfileSelection,
    session: &awsid_credentials::Session,
    global: &GlobalArgs,
) -> Result<Row, CliError> {
    if let Some(region) = env
        .get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
    {
        return Ok(Row {
            value: region.to_owned(),
            kind: "env".to_owned(),
            location: "['AWS_REGION', 'AWS_DEFAULT_REGION']".to_owned(),
        });
    }
    let region = scoped_config(set, selection)?.and_then(|p| p.get_str("region"));
    Ok(match region {
        Some(r) => Row {
            value: r.to_owned(),
            kind: "config-file".to_owned(),
            location: locations.config_file_setting.clone(),
        },
        // v2's region chain: `--region` (an instance variable), then IMDS; either way the
        // row says `imds` with an empty location, as in the reference.
        None => match global
            .region
            .clone()
            .filter(|r| !r.is_empty())
            .map(Some)
            .map_or_else(|| session.imds_region(), Ok)
            .map_err(CliError::from_credentials)?
        {
            Some(r) => Row {
                value: r,
                kind: "imds".to_owned(),
                location: String::new(),
            },
            None => Row::not_set(),
        },
    })
}
