//! `awsid configure export-credentials`: resolve credentials and print them (v2 formats).

use clap::Args;

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `configure export-credentials`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Output format: process, env, env-no-export, powershell, windows-cmd, fish.
    #[arg(long, default_value = "process")]
    pub format: String,
}

/// Runs `configure export-credentials`.
pub fn run(global: &GlobalArgs, args: ExportArgs, env: &profile::Env) -> Result<u8, CliError> {
    let _ = (global, args, env);
    Err(CliError::general("export-credentials: not implemented yet"))
}
