//! `awsid configure …`: the interactive wizard and its subcommands, byte-compatible with
//! `aws configure` (v2).

mod get;
mod import;
mod list;
mod list_profiles;
mod mfa_login;
mod set;
mod sso;
mod wizard;

pub(crate) use get::GetArgs;
pub(crate) use list::ListArgs;
pub(crate) use list_profiles::ListProfilesArgs;

use awsid_profile::writer::{EditError, WriteError};
use awsid_profile::{Env, Locations, ProfileSet};
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::commands::export;
use crate::error::CliError;

/// `configure` with an optional subcommand; without one it runs the interactive wizard
/// (prompts for the access key, secret key, region and output format of the profile).
#[derive(Debug, Args)]
#[command(
    after_help = "Without a command, prompts for the AWS Access Key ID, AWS Secret Access Key, \
    default region name and default output format of the selected profile (`--profile`, \
    AWS_PROFILE, AWS_DEFAULT_PROFILE, else default) and, for temporary (ASIA...) keys, the \
    AWS Session Token, showing current values in brackets \
    (keys masked); Enter keeps a value. Keys go to the credentials file, region and output to \
    the config file; only changed values are written."
)]
pub(crate) struct ConfigureArgs {
    /// The subcommand; none runs the interactive wizard.
    #[command(subcommand)]
    pub command: Option<ConfigureCommand>,
}

/// `configure` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigureCommand {
    /// Print credentials in a format other tools can consume (`--format`).
    ExportCredentials(export::ExportArgs),
    /// Set one configuration value.
    ///
    /// Writes the config file, or the credentials file for aws_access_key_id,
    /// aws_secret_access_key and aws_session_token. Examples: `set region us-west-2`,
    /// `set profile.dev.region eu-west-1`, `set default.s3.max_concurrent_requests 20`,
    /// `set sso_region us-east-1 --sso-session corp`.
    Set(set::SetArgs),
    /// Print one configuration value.
    ///
    /// Reads the config and credentials files only (never the environment); exits 1 without
    /// output when the value is not set.
    Get(get::GetArgs),
    /// Show the profile, access key, secret key and region in use and where each comes from.
    List(list::ListArgs),
    /// List the names of all profiles in the config and credentials files.
    ListProfiles(list_profiles::ListProfilesArgs),
    /// Import access keys from an IAM console CSV file into the credentials file.
    Import(import::ImportArgs),
    /// Get temporary credentials with an MFA code (STS GetSessionToken) and write them to a
    /// profile of the credentials file.
    ///
    /// Uses the selected profile's credentials (long-term keys) and its mfa_serial, or asks
    /// for them; asks for the code and the profile to update (default `<account>-<device>`).
    MfaLogin(mfa_login::MfaLoginArgs),
    /// Create or update a profile that gets its credentials from IAM Identity Center.
    ///
    /// Prompts for the SSO session name (blank: the legacy form without a session), start URL,
    /// region and scopes, logs in, lists the accounts and roles to choose from, then the
    /// profile's default region, output format and name (`--profile` names it without a
    /// prompt); Enter keeps the value in [brackets]. Every answer also has a flag, and `--all`
    /// writes one profile per account and role.
    Sso(sso::SsoArgs),
    /// Create or update an `[sso-session]` section (name, start URL, region, scopes).
    SsoSession(sso::SsoSessionArgs),
}

/// Runs `configure` (wizard or subcommand).
pub(crate) fn run(global: &GlobalArgs, args: ConfigureArgs, env: &Env) -> Result<u8, CliError> {
    match args.command {
        None => wizard::run(global, env),
        Some(ConfigureCommand::ExportCredentials(a)) => export::run(global, a, env),
        Some(ConfigureCommand::Set(a)) => set::run(global, a, env),
        Some(ConfigureCommand::Get(a)) => get::run(global, a, env),
        Some(ConfigureCommand::List(a)) => list::run(global, a, env),
        Some(ConfigureCommand::ListProfiles(a)) => list_profiles::run(global, a, env),
        Some(ConfigureCommand::Import(a)) => import::run(global, a, env),
        Some(ConfigureCommand::MfaLogin(a)) => mfa_login::run(global, a, env),
        Some(ConfigureCommand::Sso(a)) => sso::run(global, a, env),
        Some(ConfigureCommand::SsoSession(a)) => sso::run_session(global, a, env),
    }
}

/// Loads both shared files; a malformed file is `Unable to parse config file: <path>: line
/// <n>: <reason>` with exit 255.
fn load(locations: &Locations) -> Result<ProfileSet, CliError> {
    ProfileSet::load(locations).map_err(CliError::general)
}

/// A write failure as the CLI reports it: validation and parse errors exit 255 with their
/// message; I/O errors name the file.
fn write_error(e: WriteError) -> CliError {
    match &e {
        WriteError::Edit(EditError::Parse(error)) => CliError::general(error),
        other => CliError::general(other),
    }
    .caused_by(&e)
}

/// `profile_to_section`: `default` stays `default`; any other name becomes `profile NAME`,
/// shell-quoted when it holds a space or a tab.
fn profile_to_section(profile: &str) -> String {
    if profile == "default" {
        return profile.to_owned();
    }
    section_header("profile", profile)
}

/// `get_section_header`: `TYPE NAME`, the name shell-quoted when it holds a space or tab.
fn section_header(kind: &str, name: &str) -> String {
    if name.contains([' ', '\t']) {
        format!("{kind} {}", awsid_profile::shell::quote(name))
    } else {
        format!("{kind} {name}")
    }
}

/// The CLI's masking of keys: 16 `*` and the last four characters (`None` when unset).
fn mask(value: Option<&str>) -> String {
    match value {
        None => "None".to_owned(),
        Some(v) => {
            let chars: Vec<char> = v.chars().collect();
            let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
            format!("{}{tail}", "*".repeat(16))
        }
    }
}

/// The credentials-file keys of v2 `configure set` (`set.py` `_WRITE_TO_CREDS_FILE`;
/// `aws_security_token` since 2.34.37, as in v1).
const CREDENTIALS_FILE_KEYS: [&str; 4] = [
    "aws_access_key_id",
    "aws_secret_access_key",
    "aws_session_token",
    "aws_security_token",
];

/// v2's warning after writing secrets into a file other users can read.
fn warn_if_permissive(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_file() && meta.permissions().mode() & 0o077 != 0 {
        let p = path.display();
        crate::error::warn(&format!(
            "The file '{p}' is accessible by other users. Consider running \
             'chmod 600 {p}' to restrict access to only your user."
        ));
    }
}

/// `--sso-session` / `--services` given together: v2's mutual-exclusion message (exit 252).
fn mutually_exclusive() -> CliError {
    CliError::param_validation(
        "The key \"services\" cannot be specified when one of the following keys are also specified: sso_session",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking() {
        assert_eq!(mask(Some("AKIAIOSFODNN7EXAMPLE")), "****************MPLE");
        assert_eq!(mask(Some("abc")), "****************abc");
        assert_eq!(mask(None), "None");
        assert_eq!(mask(Some("ééééé")), "****************éééé");
    }

    #[test]
    fn sections() {
        assert_eq!(profile_to_section("default"), "default");
        assert_eq!(profile_to_section("dev"), "profile dev");
        assert_eq!(profile_to_section("my prof"), "profile 'my prof'");
        assert_eq!(section_header("sso-session", "a\tb"), "sso-session 'a\tb'");
    }
}
