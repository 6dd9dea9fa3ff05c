//! `configure get VARNAME`: one value from the merged view of both files (v2 `get.py`).

use std::io::Write;

use awsid_profile::{Env, Locations, ProfileSelection, ProfileSet, Properties, Value};
use clap::Args;

use super::{load, mutually_exclusive};
use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `configure get`.
#[derive(Debug, Args)]
pub(crate) struct GetArgs {
    /// The name of the config value to retrieve (`region`, `profile.dev.region`,
    /// `default.s3.max_concurrent_requests`, `plugins.NAME`).
    pub varname: String,
    /// Read from the `[sso-session NAME]` section.
    #[arg(long, value_name = "NAME",
          add = clap_complete::engine::ArgValueCandidates::new(
              crate::commands::completion::sso_session_candidates))]
    pub sso_session: Option<String>,
    /// Read from the `[services NAME]` section.
    #[arg(long, value_name = "NAME")]
    pub services: Option<String>,
}

/// What a lookup found.
#[derive(Debug, PartialEq, Eq)]
enum Found<'a> {
    /// A value to print.
    Text(&'a str),
    /// A nested section (an error for `get`).
    Section,
}

impl<'a> Found<'a> {
    fn of(value: &'a Value) -> Found<'a> {
        match value {
            Value::Scalar(s) => Found::Text(s),
            Value::Nested(_) => Found::Section,
        }
    }
}

/// Runs `configure get`.
pub(super) fn run(global: &GlobalArgs, args: GetArgs, env: &Env) -> Result<u8, CliError> {
    if args.sso_session.is_some() && args.services.is_some() {
        return Err(mutually_exclusive());
    }
    let set = load(&Locations::from_env(env))?;
    let selection = ProfileSelection::resolve(global.profile.as_deref(), env);
    let varname = args.varname.as_str();
    let found = if let Some(name) = &args.sso_session {
        subsection_value(set.sso_session(name), name, varname)?
    } else if let Some(name) = &args.services {
        subsection_value(set.services(name), name, varname)?
    } else if !varname.contains('.') {
        scoped_config(&set, &selection)?
            .and_then(|p| p.get(varname))
            .map(Found::of)
    } else {
        dotted_value(&set, &selection, varname)?
    };
    match found {
        Some(Found::Text(s)) => {
            let mut out = std::io::stdout().lock();
            out.write_all(s.as_bytes())?;
            out.write_all(b"\n")?;
            out.flush()?;
            Ok(0)
        }
        // The reference writes this without a trailing newline.
        Some(Found::Section) => Err(CliError::not_found(format!(
            "varname ({varname}) must reference a value, not a section or sub-section."
        ))),
        None => Err(CliError::not_found("")),
    }
}

/// `Session.get_scoped_config()`: the selected profile, which must exist when a profile was
/// selected; `default` (or nothing) otherwise.
pub(super) fn scoped_config<'a>(
    set: &'a ProfileSet,
    selection: &ProfileSelection,
) -> Result<Option<&'a Properties>, CliError> {
    if !selection.is_selected() {
        return Ok(set.profile("default"));
    }
    set.profile(&selection.name).map(Some).ok_or_else(|| {
        CliError::general(format!(
            "The config profile ({}) could not be found",
            selection.name
        ))
    })
}

/// The dotted forms: `plugins.KEY`, `profile.NAME.KEY[.SUB]`, `default.KEY[.SUB]`,
/// `NAME.KEY[.SUB]` for an existing profile `NAME`, else `KEY.SUB` in the selected profile.
fn dotted_value<'a>(
    set: &'a ProfileSet,
    selection: &ProfileSelection,
    varname: &str,
) -> Result<Option<Found<'a>>, CliError> {
    let parts: Vec<&str> = varname.split('.').collect();
    if parts.len() == 2 && parts[0] == "plugins" {
        let key = parts[1];
        return Ok(set
            .plain_section("plugins")
            .and_then(|p| p.get(key))
            .or_else(|| set.profile("plugins").and_then(|p| p.get(key)))
            .map(Found::of));
    }
    let (profile, key, remaining) = if parts[0] == "profile" {
        if parts.len() < 3 {
            return Err(CliError::general(format!(
                "varname ({varname}) must name a key: profile.NAME.KEY"
            )));
        }
        (parts[1], parts[2], &parts[3..])
    } else if parts[0] == "default" || set.profile(parts[0]).is_some() {
        (parts[0], parts[1], &parts[2..])
    } else {
        (selection.name.as_str(), parts[0], &parts[1..])
    };
    let value = set.profile(profile).and_then(|p| p.get(key));
    Ok(match remaining {
        // A sub-key of a scalar (or of nothing) is "not found".
        [sub] => value.and_then(|v| v.sub(sub)).map(Found::Text),
        // Deeper names fall back to the key's own value, as in the reference.
        _ => value.map(Found::of),
    })
}

/// `--sso-session` / `--services`: the section must exist; `KEY` or `KEY.SUB`.
fn subsection_value<'a>(
    section: Option<&'a Properties>,
    name: &str,
    varname: &str,
) -> Result<Option<Found<'a>>, CliError> {
    let section = section.ok_or_else(|| {
        // No released v2 has the trailing space 2.34.22's first draft had.
        CliError::general(format!(
            "The config sub-section ({name}) could not be found"
        ))
    })?;
    if !varname.contains('.') {
        return Ok(section.get(varname).map(Found::of));
    }
    let parts: Vec<&str> = varname.split('.').collect();
    if parts.len() != 2 {
        return Ok(None);
    }
    Ok(section
        .get(parts[0])
        .and_then(|v| v.sub(parts[1]))
        .map(Found::Text))
}
