//! `awsid sts …`: a few STS calls made with the resolved credentials.

use std::io::Write;

use awsid_credentials::{CredentialsError, ResolveOptions, Session};
use clap::{Args, Subcommand};

use crate::cli::GlobalArgs;
use crate::error::{CliError, ExitKind};

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

/// The exit status the aws CLI v2 uses for each failure.
fn cli_error(e: CredentialsError) -> CliError {
    match &e {
        CredentialsError::Service(_) => CliError::new(ExitKind::Service, e),
        // The CLI appends its hint to NoRegionError.
        CredentialsError::NoRegion => CliError::general(format!(
            "{e} You can also configure your region by running \"aws configure\"."
        )),
        _ => CliError::general(e),
    }
}

fn get_caller_identity(global: &GlobalArgs, env: &awsid_profile::Env) -> Result<u8, CliError> {
    let session = Session::load(env, global.profile.as_deref()).map_err(cli_error)?;
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
    if output != "json" && output != "text" {
        return Err(CliError::new(
            ExitKind::Usage,
            format!("awsid: output format {output:?} is not supported (json, text)"),
        ));
    }
    let options = ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    };
    // Like the CLI, credentials are resolved before the client's region is checked.
    let Some(resolved) = session.resolve(&options).map_err(cli_error)? else {
        return Err(CliError::new(
            ExitKind::Configuration,
            "Unable to locate credentials. You can configure credentials by running \"aws configure\".",
        ));
    };
    let client = session
        .command_sts_client(&options, global.endpoint_url.as_deref())
        .map_err(cli_error)?;
    let id = client
        .get_caller_identity(&resolved.credentials)
        .map_err(cli_error)?;
    let q = awsid_credentials::cache::python_json_string;
    let text = if output == "text" {
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
