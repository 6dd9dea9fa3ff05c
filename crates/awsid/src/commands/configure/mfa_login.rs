//! `configure mfa-login`: `GetSessionToken` with an MFA code, written as a profile of the
//! credentials file — v2's `awscli/customizations/configure/mfalogin.py` (added in 2.30.3,
//! error writer since 2.34.0, permission warning since 2.34.53), prompt for prompt.
//!
//! With credentials for the selected profile: serial (`--serial-number`, the profile's
//! `mfa_serial`, else asked), code, target profile (`--update-profile`, else asked with a name
//! made from the serial), then `GetSessionToken` through the session's STS client. Without
//! credentials: the keys, serial and code are asked first and a fresh session (the default
//! profile's settings, not `--profile`'s) makes the call. Prompts go to stdout and answers come
//! from stdin, echoed, as v2's `input()` does; failures print v2's `[ERROR]:` line and exit 1.

use std::io::{BufRead, Write};

use awsid_credentials::{Credentials, CredentialsError, ResolveOptions, Session};
use awsid_profile::writer::{update_file_as, EditValue, FileKind, SectionEdit};
use awsid_profile::{Env, Locations};
use clap::Args;

use super::{warn_if_permissive, write_error};
use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Options of `configure mfa-login`.
#[derive(Debug, Args)]
pub(crate) struct MfaLoginArgs {
    /// The profile to update with temporary credentials. If not provided, a default name will
    /// be generated.
    #[arg(long, value_name = "PROFILE")]
    pub update_profile: Option<String>,
    /// The duration, in seconds, that the credentials should remain valid. Minimum is 900
    /// seconds (15 minutes), maximum is 129600 seconds (36 hours).
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 43200,
        allow_negative_numbers = true
    )]
    pub duration_seconds: i64,
    /// The ARN or serial number of the MFA device associated with the IAM user. If not
    /// provided, will use the mfa_serial from the profile configuration.
    #[arg(long, value_name = "SERIAL")]
    pub serial_number: Option<String>,
}

/// Runs `configure mfa-login` on the process's stdin and stdout.
pub(super) fn run(global: &GlobalArgs, args: MfaLoginArgs, env: &Env) -> Result<u8, CliError> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal() && std::io::stdout().is_terminal();
    let mut io = Io {
        input: &mut stdin.lock(),
        output: &mut std::io::stdout().lock(),
        terminal,
    };
    run_with(global, &args, env, &mut io)
}

/// The prompts' input and output.
struct Io<'a, R, W> {
    input: &'a mut R,
    output: &'a mut W,
    terminal: bool,
}

impl<R: BufRead, W: Write> Io<'_, R, W> {
    /// Python `input(text)`: the prompt on stdout, one line back without its newline.
    fn input(&mut self, text: &str) -> Result<String, CliError> {
        write!(self.output, "{text}")?;
        self.output.flush()?;
        let mut line = Vec::new();
        if self.input.read_until(b'\n', &mut line)? == 0 {
            return Err(CliError::general(if self.terminal {
                ""
            } else {
                "EOF when reading a line"
            }));
        }
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        Ok(String::from_utf8_lossy(&line).into_owned())
    }

    /// `get_credential_value`: `<text>: `, `None` for an empty answer.
    fn value(&mut self, text: &str) -> Result<Option<String>, CliError> {
        let answer = self.input(&format!("{text}: "))?;
        Ok((!answer.is_empty()).then_some(answer))
    }

    /// `get_value`: `<text> [<current>]: `, the current value for an empty answer.
    fn value_or(&mut self, text: &str, current: &str) -> Result<String, CliError> {
        let answer = self.input(&format!("{text} [{current}]: "))?;
        Ok(if answer.is_empty() {
            current.to_string()
        } else {
            answer
        })
    }
}

/// v2's `write_error` and `return 1`.
fn failed(message: &str) -> CliError {
    CliError::command_failed(message)
}

/// `_generate_profile_name_from_mfa`: `<account>-<device>` for an IAM MFA ARN, else
/// `session-<serial>`.
fn profile_name_for(serial: &str) -> Result<String, CliError> {
    if !serial.starts_with("arn:aws:iam::") {
        return Ok(format!("session-{serial}"));
    }
    let parts: Vec<&str> = serial.split(':').collect();
    // v2 indexes the parts blindly and fails with a traceback (IndexError) on a short ARN.
    match (parts.get(4), parts.get(5)) {
        (Some(account), Some(resource)) => Ok(format!(
            "{account}-{}",
            resource.rsplit('/').next().unwrap_or(resource)
        )),
        _ => Err(CliError::general(format!(
            "The MFA device ARN {serial} is malformed: expected arn:aws:iam::<account>:mfa/<name>"
        ))),
    }
}

fn target_profile<R: BufRead, W: Write>(
    io: &mut Io<'_, R, W>,
    args: &MfaLoginArgs,
    serial: &str,
) -> Result<String, CliError> {
    match &args.update_profile {
        Some(p) if !p.is_empty() => Ok(p.clone()),
        _ => {
            let generated = profile_name_for(serial)?;
            io.value_or("Profile to update", &generated)
        }
    }
}

fn run_with<R: BufRead, W: Write>(
    global: &GlobalArgs,
    args: &MfaLoginArgs,
    env: &Env,
    io: &mut Io<'_, R, W>,
) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let options = ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    };
    let resolved = session
        .resolve(&options)
        .map_err(CliError::from_credentials)?;
    let Some(resolved) = resolved else {
        return interactive(args, env, io);
    };
    let serial = match &args.serial_number {
        Some(s) if !s.is_empty() => s.clone(),
        _ => match session.profile_settings().get_str("mfa_serial") {
            Some(s) if !s.is_empty() => s.to_string(),
            _ => match io.value("MFA serial number or ARN")? {
                Some(s) => s,
                None => return Err(failed("MFA serial number or MFA device ARN is required")),
            },
        },
    };
    let Some(code) = io.value("MFA token code")? else {
        return Err(failed("MFA token code is required"));
    };
    let target = target_profile(io, args, &serial)?;
    // v2 builds the client from the session: its region and configured endpoints, not
    // `--endpoint-url`.
    let sts = session
        .command_sts_client(&options, None)
        .map_err(CliError::from_credentials)?;
    let issued = get_session_token(&sts, &resolved.credentials, args, &serial, &code)?;
    write_credentials(env, &issued, &target, io)
}

/// No credentials for the profile: ask for the keys too, then call with a fresh session.
fn interactive<R: BufRead, W: Write>(
    args: &MfaLoginArgs,
    env: &Env,
    io: &mut Io<'_, R, W>,
) -> Result<u8, CliError> {
    writeln!(io.output, "Please provide your AWS credentials:")?;
    let mut ask = |text: &str| -> Result<String, CliError> {
        match io.value(text)? {
            Some(v) if v != "None" => Ok(v),
            _ => Err(failed(&format!("{text} is required"))),
        }
    };
    let access_key = ask("AWS Access Key ID")?;
    let secret_key = ask("AWS Secret Access Key")?;
    let serial = match &args.serial_number {
        Some(s) if !s.is_empty() => s.clone(),
        _ => ask("MFA serial number or ARN")?,
    };
    let code = ask("MFA token code")?;
    let target = target_profile(io, args, &serial)?;
    let fresh = Session::load(env, None).map_err(CliError::from_credentials)?;
    let sts = fresh
        .command_sts_client(&ResolveOptions::default(), None)
        .map_err(CliError::from_credentials)?;
    let keys = Credentials::new(access_key, secret_key, "explicit");
    let issued = get_session_token(&sts, &keys, args, &serial, &code)?;
    write_credentials(env, &issued, &target, io)
}

fn get_session_token(
    sts: &awsid_credentials::sts::StsClient,
    keys: &Credentials,
    args: &MfaLoginArgs,
    serial: &str,
    code: &str,
) -> Result<Credentials, CliError> {
    match sts.get_session_token(
        keys,
        Some(args.duration_seconds),
        Some((serial, code)),
        "mfa-login",
    ) {
        Ok(r) => Ok(r.credentials),
        // A service error is reported and the command fails with 1; client-side validation
        // is botocore's ParamValidationError (exit 252), anything else the CLI's own error.
        Err(CredentialsError::Service(e)) => Err(failed(&format!("An error occurred: {e}"))),
        Err(e) => Err(CliError::from_credentials(e)),
    }
}

fn write_credentials<R: BufRead, W: Write>(
    env: &Env,
    c: &Credentials,
    profile: &str,
    io: &mut Io<'_, R, W>,
) -> Result<u8, CliError> {
    let path = Locations::from_env(env).credentials_file_for_write();
    let secret = |v: &str| EditValue::Scalar(v.to_string());
    let edit = SectionEdit {
        section: profile.to_string(),
        values: vec![
            ("aws_access_key_id".into(), secret(&c.access_key_id)),
            (
                "aws_secret_access_key".into(),
                secret(c.secret_access_key.expose()),
            ),
            (
                "aws_session_token".into(),
                secret(
                    c.session_token
                        .as_ref()
                        .map(|t| t.expose())
                        .unwrap_or_default(),
                ),
            ),
        ],
    };
    update_file_as(FileKind::Credentials, &path, &edit).map_err(write_error)?;
    warn_if_permissive(&path);
    // strftime('%Y-%m-%d %H:%M:%S UTC') of the response's Expiration.
    let expires = c
        .expiry
        .map(|t| {
            awsid_credentials::time::format_z(t)
                .replacen('T', " ", 1)
                .replace('Z', " UTC")
        })
        .unwrap_or_else(|| "None".into());
    write!(
        io.output,
        "Temporary credentials written to profile '{profile}'\n\
         Credentials will expire at {expires}\n\
         To use these credentials, specify --profile {profile} when running AWS CLI commands\n"
    )?;
    io.output.flush()?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_profile_names() {
        assert_eq!(
            profile_name_for("arn:aws:iam::123456789012:mfa/user").unwrap(),
            "123456789012-user"
        );
        assert_eq!(
            profile_name_for("arn:aws:iam::123456789012:mfa/path/dev").unwrap(),
            "123456789012-dev"
        );
        assert_eq!(
            profile_name_for("GAHT12345678").unwrap(),
            "session-GAHT12345678"
        );
        assert!(profile_name_for("arn:aws:iam::123").is_err());
    }
}
