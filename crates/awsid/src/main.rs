//! `awsid`: argument parsing and output formatting only; the work happens in the library crates.

mod cli;
mod commands;
mod error;
mod fastpath;

use std::process::ExitCode;

use error::{CliError, ErrorFormat};

fn main() -> ExitCode {
    let env = awsid_profile::Env::from_process();
    let mut globals = None;
    let code = match run(&env, &mut globals) {
        Ok(code) => code,
        Err(err) => {
            // v2 resolves the error format only when it has an error to write.
            let (flag, profile) = match &globals {
                Some(g) => (g.cli_error_format.as_deref(), g.profile.as_deref()),
                None => (None, None),
            };
            err.report(ErrorFormat::resolve(flag, &env, profile))
        }
    };
    ExitCode::from(code)
}

/// Parses and runs the command; `globals` receives the global options once they are parsed
/// (the error report reads `--cli-error-format` and `--profile` from them).
fn run(env: &awsid_profile::Env, globals: &mut Option<cli::GlobalArgs>) -> Result<u8, CliError> {
    commands::completion::complete_if_asked();
    let cli = cli::parse(std::env::args_os())?;
    if cli.global.debug {
        init_debug_logging();
    }
    *globals = Some(cli.global.clone());
    commands::dispatch(cli, env)
}

/// `--debug`: log to stderr. Nothing logged may carry a secret (see `awsid_credentials::Credentials`).
fn init_debug_logging() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::DEBUG)
        .with_target(true)
        .init();
}
