//! `configure list-profiles`: every profile name of the merged view, one per line.

use std::io::Write;

use awsid_profile::{Env, Locations};
use clap::Args;

use super::load;
use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `configure list-profiles` (none).
#[derive(Debug, Args)]
pub(crate) struct ListProfilesArgs {}

/// Runs `configure list-profiles`: config profiles in file order, then credentials-only ones.
pub(super) fn run(
    _global: &GlobalArgs,
    _args: ListProfilesArgs,
    env: &Env,
) -> Result<u8, CliError> {
    let set = load(&Locations::from_env(env))?;
    let mut text = String::new();
    for name in set.profile_names() {
        text.push_str(name);
        text.push('\n');
    }
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(0)
}
