//! `awsid credential-process --profile P`: prints the `credential_process` Version 1 JSON for
//! a profile, so the aws CLI and every SDK can use awsid as their credential source
//! (`credential_process = awsid credential-process --profile P`). A profile kept in the vault
//! is answered from the vault (unlocked once per session through the agent, asking on the
//! terminal); any other profile is resolved like `configure export-credentials`.

use std::io::Write;

use awsid_profile::ProfileSelection;
use clap::Args;

use crate::cli::GlobalArgs;
use crate::commands::{export, vault};
use crate::error::CliError;

/// Options of `credential-process` (the profile is the global `--profile`).
#[derive(Debug, Args)]
pub(crate) struct CredentialProcessArgs {}

/// Runs `credential-process`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: CredentialProcessArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let _ = args;
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
    export::run(
        global,
        export::ExportArgs {
            format: "process".into(),
        },
        env,
    )
}
