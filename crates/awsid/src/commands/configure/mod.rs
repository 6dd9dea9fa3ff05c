//! `awsid configure …`: the interactive wizard and its subcommands, byte-compatible with
//! `aws configure` (v2).

use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::commands::export;
use crate::error::CliError;

/// `configure` with an optional subcommand; without one it runs the interactive wizard.
#[derive(Debug, Args)]
pub struct ConfigureArgs {
    /// The subcommand; none runs the interactive wizard.
    #[command(subcommand)]
    pub command: Option<ConfigureCommand>,
}

/// `configure` subcommands.
#[derive(Debug, Subcommand)]
pub enum ConfigureCommand {
    /// Print credentials in a format other tools can consume (`--format`).
    ExportCredentials(export::ExportArgs),
}

/// Runs `configure` (wizard or subcommand).
pub fn run(global: &GlobalArgs, args: ConfigureArgs, env: &profile::Env) -> Result<u8, CliError> {
    match args.command {
        None => Err(CliError::general("configure: not implemented yet")),
        Some(ConfigureCommand::ExportCredentials(a)) => export::run(global, a, env),
    }
}
