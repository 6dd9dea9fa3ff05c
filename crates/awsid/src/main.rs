//! `awsid`: argument parsing and output formatting only; the work happens in the library crates.

mod cli;
mod commands;
mod error;
mod fastpath;

use std::process::ExitCode;

use error::CliError;

fn main() -> ExitCode {
    let code = match run() {
        Ok(code) => code,
        Err(err) => err.report(),
    };
    ExitCode::from(code)
}

fn run() -> Result<u8, CliError> {
    commands::completion::complete_if_asked();
    let cli = cli::parse(std::env::args_os())?;
    if cli.global.debug {
        init_debug_logging();
    }
    let env = awsid_profile::Env::from_process();
    commands::dispatch(cli, &env)
}

/// `--debug`: log to stderr. Nothing logged may carry a secret (see `awsid_credentials::Credentials`).
fn init_debug_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::DEBUG)
        .with_target(true)
        .init();
}
