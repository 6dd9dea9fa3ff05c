//! One module per command family; each turns parsed arguments into library calls and output.

pub mod completion;
pub mod configure;
pub mod explain;
pub mod export;
pub mod mint;
pub mod serve;
pub mod serve_shell;
pub mod sso;
pub mod sts;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// Runs the parsed command and returns its exit status.
pub fn dispatch(cli: Cli, env: &awsid_profile::Env) -> Result<u8, CliError> {
    match cli.command {
        Command::Configure(args) => configure::run(&cli.global, args, env),
        Command::Sts(args) => sts::run(&cli.global, args, env),
        Command::Serve(args) => serve::run(&cli.global, args, env),
        Command::Sso(args) => sso::run(&cli.global, args, env),
        Command::MintWebIdentityToken(args) => mint::run(&cli.global, args, env),
        Command::Explain(args) => explain::run(&cli.global, args, env),
        Command::Completion(args) => completion::run(args),
    }
}
