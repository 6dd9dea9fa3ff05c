//! `awsid sts …`: a few STS calls made with the resolved credentials.

use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// `sts` and its subcommand.
#[derive(Debug, Args)]
pub struct StsArgs {
    /// The STS operation.
    #[command(subcommand)]
    pub command: StsCommand,
}

/// STS operations.
#[derive(Debug, Subcommand)]
pub enum StsCommand {
    /// Who am I? Prints the same JSON as `aws sts get-caller-identity`.
    GetCallerIdentity,
}

/// Runs `sts …`.
pub fn run(global: &GlobalArgs, args: StsArgs, env: &profile::Env) -> Result<u8, CliError> {
    let _ = (global, args, env);
    Err(CliError::general("sts: not implemented yet"))
}
