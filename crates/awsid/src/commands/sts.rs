//! `awsid sts …`: a few STS calls made with the resolved credentials.

use std::io::Write;

use awsid_credentials::{ResolveOptions, Session};
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// `sts` and its subcommand.
#[derive(Debug, Args)]
pub(crate) struct StsArgs {
    /// The STS operation.
    #[command(subcommand)]
    pub command: StsCommand,
}

/// STS operations.
#[derive(Debug, Subcommand)]
pub(crate) enum StsCommand {
    /// Who am I? Prints the same JSON as `aws sts get-caller-identity`.
    GetCallerIdentity,
}

/// Runs `sts …`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: StsArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    match args.command {
        StsCommand::GetCallerIdentity => get_caller_identity(global, env),
    }
}

fn get_caller_identity(global: &GlobalArgs, env: &awsid_profile::Env) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let output = global
        .output
        .clone()
        .or_else(|| env.get_non_empty("AWS_DEFAULT_OUTPUT").map(str::to_string))
        .or_else(|| {
            session
                .profile_settings()
                .get_str("output")
                .map(str::to_string)
        })
        .unwrap_or_else(|| "json".into());
    match output.as_str() {
        "json" | "text" | "off" => {}
        // v2's other formats: a chosen gap of awsid, refused before any call.
        "table" | "yaml" | "yaml-stream" => {
            return Err(CliError::param_validation(format!(
                "output format {output:?} is not supported by awsid sts (json, text, off)"
            )))
        }
        // An unknown format from AWS_DEFAULT_OUTPUT or the profile (`--output` is checked by
        // the parser): v2's `formatter.get_formatter` raises `ValueError` (255).
        _ => return Err(CliError::general(format!("Unknown output type: {output}"))),
    }
    // v2 creates the command's client first: its region comes from the CLI's chain, IMDS
    // last (`Session._resolve_region_name`), and the credential clients then use that region
    // (`_last_client_region_used`).
    let region = session
        .client_region(global.region.as_deref())
        .map_err(CliError::from_credentials)?;
    let options = ResolveOptions {
        region,
        ..Default::default()
    };
    // At signing, botocore reads the credentials (running any deferred fetch), then checks
    // the region, and only then finds that there are no credentials.
    let resolved = session
        .resolve(&options)
        .map_err(CliError::from_credentials)?;
    let client = session
        .command_sts_client(&options, global.endpoint_url.as_deref())
        .map_err(CliError::from_credentials)?;
    let Some(resolved) = resolved else {
        return Err(CliError::no_credentials());
    };
    let id = client
        .get_caller_identity(&resolved.credentials)
        .map_err(CliError::from_credentials)?;
    let q = awsid_credentials::cache::python_json_string;
    let text = if output == "off" {
        // 2.34.0: `--output off` prints nothing (the exit status still tells).
        String::new()
    } else if output == "text" {
        // Text output lists the values in key order: Account, Arn, UserId.
        format!("{}\t{}\t{}\n", id.account, id.arn, id.user_id)
    } else {
        format!(
            "{{\n    \"UserId\": {},\n    \"Account\": {},\n    \"Arn\": {}\n}}\n",
            q(&id.user_id),
            q(&id.account),
            q(&id.arn)
        )
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(0)
}
