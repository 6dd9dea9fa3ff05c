//! One module per command family; each turns parsed arguments into library calls and output.

pub(crate) mod completion;
pub(crate) mod configure;
pub(crate) mod console;
pub(crate) mod credential_process;
pub(crate) mod exec;
pub(crate) mod explain;
pub(crate) mod export;
pub(crate) mod imds;
pub(crate) mod login;
pub(crate) mod mint;
pub(crate) mod serve;
pub(crate) mod serve_credentials;
pub(crate) mod serve_shell;
pub(crate) mod sso;
pub(crate) mod sts;
pub(crate) mod vault;

use crate::cli::{Cli, Command};
use crate::error::CliError;

/// Runs the parsed command and returns its exit status.
pub(crate) fn dispatch(cli: Cli, env: &awsid_profile::Env) -> Result<u8, CliError> {
    match cli.command {
        Command::Configure(args) => configure::run(&cli.global, args, env),
        Command::CredentialProcess(args) => credential_process::run(&cli.global, args, env),
        Command::Sts(args) => sts::run(&cli.global, args, env),
        Command::Serve(args) => serve::run(&cli.global, args, env),
        Command::Sso(args) => sso::run(&cli.global, args, env),
        Command::MintWebIdentityToken(args) => mint::run(&cli.global, args, env),
        Command::Explain(args) => explain::run(&cli.global, args, env),
        Command::Completion(args) => completion::run(args),
        Command::Imds(args) => imds::run(&cli.global, args, env),
        Command::Vault(args) => vault::run(&cli.global, args, env),
        Command::Exec(args) => exec::run(&cli.global, args, env),
        Command::ServeCredentials(args) => serve_credentials::run(&cli.global, args, env),
        Command::Console(args) => console::run(&cli.global, args, env),
        Command::Login(args) => login::run_login(&cli.global, args, env),
        Command::Logout(args) => login::run_logout(&cli.global, args, env),
    }
}
