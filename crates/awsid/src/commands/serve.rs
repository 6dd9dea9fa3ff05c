//! `awsid serve`: run the local identity plane on its world and print how to point clients at it.

use clap::Args;

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {}

/// Runs `serve` until interrupted.
pub fn run(global: &GlobalArgs, args: ServeArgs, env: &profile::Env) -> Result<u8, CliError> {
    let _ = (global, args, env);
    Err(CliError::general("serve: not implemented yet"))
}
