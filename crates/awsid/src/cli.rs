//! Command-line grammar: `awsid [global options] <command> [<subcommand>] [arguments]`, with the
//! global options accepted anywhere, as the aws CLI accepts them.

use std::ffi::OsString;

use clap::{Args, CommandFactory, Parser, Subcommand};
use clap_complete::engine::ArgValueCandidates;

use crate::commands;
use crate::error::CliError;

/// The parsed command line.
#[derive(Debug, Parser)]
#[command(
    name = "awsid",
    version,
    about = "The AWS CLI's credential and configuration system, and a local identity plane \
             (IMDS, ECS, STS) to test it against.",
    propagate_version = true,
    args_override_self = true
)]
pub(crate) struct Cli {
    /// Options every command accepts.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Global options, accepted before or after the command like the aws CLI's.
#[derive(Clone, Debug, Args)]
pub(crate) struct GlobalArgs {
    /// Use a specific profile from your credential file.
    #[arg(long, global = true, value_name = "PROFILE",
          add = ArgValueCandidates::new(commands::completion::profile_candidates))]
    pub profile: Option<String>,
    /// The region to use. Overrides config/env settings.
    #[arg(long, global = true, value_name = "REGION")]
    pub region: Option<String>,
    /// The formatting style for command output (v2's choices: json, text, table, yaml,
    /// yaml-stream, off; each command says which it prints).
    #[arg(long, global = true, value_name = "FORMAT", value_parser = OUTPUT_CHOICES)]
    pub output: Option<String>,
    /// Override the command's default URL with the given URL.
    #[arg(long, global = true, value_name = "URL")]
    pub endpoint_url: Option<String>,
    /// Turn on debug logging (secrets are never logged).
    #[arg(long, global = true)]
    pub debug: bool,
    /// The formatting style for error output (legacy, json, yaml, text, table, enhanced;
    /// default: AWS_CLI_ERROR_FORMAT, the profile's cli_error_format, else enhanced).
    #[arg(long, global = true, value_name = "FORMAT", value_parser = crate::error::format::CHOICES)]
    pub cli_error_format: Option<String>,
}

/// v2's `--output` choices (`awscli/data/cli.json`; `off` since 2.34.0, aws-cli 8f7bc7e9b).
pub(crate) const OUTPUT_CHOICES: [&str; 6] =
    ["json", "text", "table", "yaml", "yaml-stream", "off"];

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Configure credentials and settings, like `aws configure`.
    Configure(commands::configure::ConfigureArgs),
    /// Print a profile's credentials as credential_process JSON (Version 1): from the vault
    /// when it holds the profile, else resolved, cached and refreshed once per machine.
    CredentialProcess(commands::credential_process::CredentialProcessArgs),
    /// AWS Security Token Service calls (`get-caller-identity`).
    Sts(commands::sts::StsArgs),
    /// Which credentials a command would use, and why: the chain walked without calling any
    /// service (`--output json` for the documented `awsid-explain/1` document).
    Explain(commands::explain::ExplainArgs),
    /// IAM Identity Center: `sso login` and `sso logout`, like the aws CLI v2's.
    Sso(commands::sso::SsoArgs),
    /// Sign in with your AWS console user (`aws login`): temporary credentials refreshed for
    /// up to 12 hours, saved as the profile's `login_session`.
    Login(commands::login::LoginArgs),
    /// Print (or `--open`) a console sign-in URL for the profile's credentials (federation
    /// endpoint; IAM users through GetFederationToken).
    Console(commands::console::ConsoleArgs),
    /// Remove the cached credentials of the profile's `aws login` session (`--all`: of every
    /// session).
    Logout(commands::login::LogoutArgs),
    /// Run the local identity plane (IMDS, ECS credentials, STS).
    Serve(commands::serve::ServeArgs),
    /// Print a web-identity token (JWT) signed with the world's dev OIDC key.
    MintWebIdentityToken(commands::mint::MintArgs),
    /// Lock the instance metadata addresses to OS users (`imds lockdown`, `imds status`).
    Imds(commands::imds::ImdsArgs),
    /// Long-term keys kept encrypted: `vault add|list|remove|unlock|lock|status|passwd`.
    Vault(commands::vault::VaultArgs),
    /// Run a command with a profile's credentials: in its environment (default), or served to
    /// it by a private, refreshing ECS or IMDS endpoint (`--server ecs|imds`).
    Exec(commands::exec::ExecArgs),
    /// Serve one profile's credentials over IMDSv2 and the container protocol until stopped,
    /// refreshed before they expire (for tools that only know the metadata services).
    ServeCredentials(commands::serve_credentials::ServeCredentialsArgs),
    /// Print a shell completion script (subcommands, options, profile names from your files):
    /// `source <(awsid completion bash)`.
    Completion(commands::completion::CompletionArgs),
}

/// The clap command tree (for completion).
pub(crate) fn command() -> clap::Command {
    Cli::command()
}

/// Parses `argv`. `--help` and `--version` print and exit 0; usage errors become the
/// aws CLI v2's argparse errors (exit 252, [`crate::error::usage`]).
pub(crate) fn parse<I>(argv: I) -> Result<Cli, CliError>
where
    I: IntoIterator<Item = OsString>,
{
    use clap::error::ErrorKind;
    use clap::CommandFactory;
    let argv: Vec<OsString> = argv.into_iter().collect();
    if let Some(cli) = crate::fastpath::parse(&argv) {
        return Ok(cli);
    }
    Cli::try_parse_from(&argv).map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            std::process::exit(0);
        }
        _ => {
            let mut root = Cli::command();
            root.build();
            crate::error::usage::from_clap(&e, &root, &argv)
        }
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_tree_is_consistent() {
        super::command().debug_assert();
    }
}
