//! `awsid credential-process`: a profile's credentials as `credential_process` Version 1 JSON,
//! so that the aws CLI and every SDK can use awsid as their source:
//!
//! ```ini
//! [profile dev]
//! credential_process = awsid credential-process --profile dev-role
//! ```
//!
//! It resolves like `configure export-credentials --format process` — through the shared
//! `~/.aws/cli/cache` and its per-entry single flight, so a cached hit costs about a process
//! start and many callers at once make one refresh — and asks for MFA codes on the terminal
//! (`/dev/tty`), since the caller owns stdin and swallows stderr. Without a terminal an
//! MFA-protected profile fails with a message saying so.

use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::export;
use crate::error::CliError;

/// Options of `credential-process` (the profile is the global `--profile`).
#[derive(Debug, Args)]
#[command(after_help = "Use it as the credential_process of another profile: \
    `credential_process = awsid credential-process --profile PROFILE`. Prints \
    {\"Version\": 1, \"AccessKeyId\", \"SecretAccessKey\", \"SessionToken\", \"Expiration\"}; \
    MFA codes are asked on the terminal (/dev/tty), or taken from mfa_process.")]
pub(crate) struct CredentialProcessArgs {}

/// Runs `credential-process`.
pub(crate) fn run(
    global: &GlobalArgs,
    _args: CredentialProcessArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let credentials = export::resolve(global, env)?;
    export::print(&export::format_credentials(&credentials, "process"))
}
