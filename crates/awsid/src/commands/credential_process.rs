//! `awsid credential-process --profile P`: a profile's credentials as `credential_process`
//! Version 1 JSON, so that the aws CLI and every SDK can use awsid as their source:
//!
//! ```ini
//! [profile dev]
//! credential_process = awsid credential-process --profile dev-role
//! ```
//!
//! A profile kept in the vault is answered from the vault (unlocked once per session through
//! the agent, asking on the terminal). Any other profile resolves like
//! `configure export-credentials --format process`: through the shared `~/.aws/cli/cache` and
//! its per-entry single flight, so a cached hit costs about a process start and many callers
//! at once make one refresh. MFA codes are asked on the terminal (`/dev/tty`), since the caller
//! owns stdin and swallows stderr, or come from `mfa_process` / `ykman`; without a terminal an
//! MFA-protected profile fails with a message saying so.

use std::io::Write;

use awsid_profile::ProfileSelection;
use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::{export, vault};
use crate::error::CliError;

/// Options of `credential-process` (the profile is the global `--profile`).
#[derive(Debug, Args)]
#[command(after_help = "Use it as the credential_process of another profile: \
    `credential_process = awsid credential-process --profile PROFILE`. Prints \
    {\"Version\": 1, \"AccessKeyId\", \"SecretAccessKey\", \"SessionToken\", \"Expiration\"}; \
    MFA codes are asked on the terminal (/dev/tty), or taken from mfa_process or ykman.")]
pub(crate) struct CredentialProcessArgs {}

/// Runs `credential-process`.
pub(crate) fn run(
    global: &GlobalArgs,
    _args: CredentialProcessArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let profile = ProfileSelection::resolve(global.profile.as_deref(), env).name;
    if let Some(keys) = vault::keys_for(&profile, env)? {
        let q = awsid_credentials::cache::python_json_string;
        let mut lines = vec![
            "  \"Version\": 1".to_string(),
            format!("  \"AccessKeyId\": {}", q(&keys.access_key_id)),
            format!("  \"SecretAccessKey\": {}", q(&keys.secret_access_key)),
        ];
        if let Some(t) = &keys.session_token {
            lines.push(format!("  \"SessionToken\": {}", q(t)));
        }
        let text = zeroize::Zeroizing::new(format!("{{\n{}\n}}\n", lines.join(",\n")));
        drop(lines);
        let mut out = std::io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()?;
        return Ok(0);
    }
    let credentials = export::resolve(global, env)?;
    export::print(&export::format_credentials(&credentials, "process"))
}
