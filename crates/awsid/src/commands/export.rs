//! `awsid configure export-credentials`: resolve credentials and print them (v2 formats,
//! `docs/spec/configure-cli.md` §7).

use std::io::Write;

use awsid_credentials::{Credentials, ResolveError, ResolveOptions, Session};
use clap::Args;

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// The env var holding the profiles being exported up the process tree (CSV row).
const RECURSION_VAR: &str = "_AWS_CLI_PROFILE_CHAIN";
/// Nesting limit of `credential_process = awsid configure export-credentials …`.
const MAX_RECURSION: usize = 4;

/// Options of `configure export-credentials`.
#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Output format: process, env, env-no-export, powershell, windows-cmd, fish.
    #[arg(
        long,
        default_value = "process",
        value_parser = ["process", "env", "env-no-export", "powershell", "windows-cmd", "fish"]
    )]
    pub format: String,
}

/// Runs `configure export-credentials`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ExportArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let credentials = resolve(global, env)?;
    print(&format_credentials(&credentials, &args.format))
}

/// Resolves the selected profile's credentials for handing them to another program (here and
/// in `credential-process`): the nesting guard of `credential_process` chains, v2's messages.
pub(crate) fn resolve(
    global: &GlobalArgs,
    env: &awsid_profile::Env,
) -> Result<Credentials, CliError> {
    // An unparseable file stops v2 before any command runs (exit 255).
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let profile = session.selection().name.clone();
    let seen = parse_csv_row(env.get(RECURSION_VAR).unwrap_or(""));
    check_recursion(&seen, &profile)?;
    let mut chain = seen;
    chain.push(profile.clone());
    let options = ResolveOptions {
        region: global.region.clone(),
        child_env: vec![(RECURSION_VAR.to_string(), write_csv_row(&chain))],
        ..Default::default()
    };
    let resolved = session
        .resolve_reporting(&options)
        .map_err(|e| resolution_error(e, &profile))?;
    match resolved {
        Some(resolved) => Ok(resolved.credentials),
        None => Err(CliError::configuration(
            "Unable to retrieve credentials: no credentials found",
        )),
    }
}

/// Writes `text` to stdout; exit status 0.
pub(crate) fn print(text: &str) -> Result<u8, CliError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(0)
}

/// A resolution error as v2 reports it: errors of `get_credentials()` become
/// `Unable to retrieve credentials: <message>` (`ConfigurationError`, exit 253); errors of
/// the deferred fetch (an assume-role, web-identity or SSO call) escape v2's `try` and are
/// reported as the botocore exception they are (a service error exits 254). Either way awsid
/// adds the profile and the provider as additional error details.
pub(crate) fn resolution_error(e: ResolveError, profile: &str) -> CliError {
    let error = if e.deferred {
        CliError::from_credentials(e.error)
    } else {
        CliError::configuration(format!(
            "Unable to retrieve credentials: {}\n",
            e.error.to_string().trim()
        ))
    };
    let error = error.with_detail("Profile", profile);
    match e.provider {
        Some(p) => error.with_detail("Provider", p),
        None => error,
    }
}

fn check_recursion(seen: &[String], profile: &str) -> Result<(), CliError> {
    if seen.len() >= MAX_RECURSION {
        return Err(CliError::configuration(format!(
            "Maximum recursive credential process resolution reached ({MAX_RECURSION}).\nProfiles seen: {}",
            seen.join(" -> ")
        )));
    }
    if seen.iter().any(|p| p == profile) {
        let mut cycle = seen.to_vec();
        cycle.push(profile.to_string());
        return Err(CliError::configuration(format!(
            "Credential process resolution detected an infinite loop, profile cycle: {}\n",
            cycle.join(" -> ")
        )));
    }
    Ok(())
}

/// The credentials in one of the v2 formats, byte for byte.
pub(crate) fn format_credentials(c: &Credentials, format: &str) -> String {
    let expiry = c.expiry.map(awsid_credentials::time::format_iso);
    let token = c.session_token.as_ref().map(|t| t.expose().to_string());
    let secret = c.secret_access_key.expose();
    if format == "process" {
        let q = awsid_credentials::cache::python_json_string;
        let mut lines = vec![
            "  \"Version\": 1".to_string(),
            format!("  \"AccessKeyId\": {}", q(&c.access_key_id)),
            format!("  \"SecretAccessKey\": {}", q(secret)),
        ];
        if let Some(t) = &token {
            lines.push(format!("  \"SessionToken\": {}", q(t)));
        }
        if let Some(e) = &expiry {
            lines.push(format!("  \"Expiration\": {}", q(e)));
        }
        return format!("{{\n{}\n}}\n", lines.join(",\n"));
    }
    let line = |name: &str, value: &str| -> String {
        match format {
            "env" => format!("export {name}={value}\n"),
            "env-no-export" => format!("{name}={value}\n"),
            "powershell" => format!("$Env:{name}=\"{value}\"\n"),
            "windows-cmd" => format!("set {name}={value}\n"),
            _ => format!("set -gx {name} \"{value}\"\n"),
        }
    };
    let mut out =
        line("AWS_ACCESS_KEY_ID", &c.access_key_id) + &line("AWS_SECRET_ACCESS_KEY", secret);
    if let Some(t) = &token {
        out += &line("AWS_SESSION_TOKEN", t);
    }
    if let Some(e) = &expiry {
        out += &line("AWS_CREDENTIAL_EXPIRATION", e);
    }
    out
}

/// Python `csv.reader` of one line (an empty line is no fields).
fn parse_csv_row(line: &str) -> Vec<String> {
    if line.is_empty() {
        return Vec::new();
    }
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => fields.push(std::mem::take(&mut field)),
            (_, c) => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// Python `csv.writer` (minimal quoting) of one row, stripped like the reference does.
fn write_csv_row(fields: &[String]) -> String {
    let quote = |f: &String| {
        if f.contains([',', '"', '\r', '\n']) || (f.is_empty() && fields.len() == 1) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.clone()
        }
    };
    fields
        .iter()
        .map(quote)
        .collect::<Vec<_>>()
        .join(",")
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;

    fn creds(temp: bool) -> Credentials {
        let c = Credentials::new("ASIAEXAMPLE", "secretEXAMPLE", "env");
        if temp {
            c.with_session_token(Some("tokenEXAMPLE".into()))
                .with_expiry(Some(
                    awsid_credentials::time::parse("2026-11-23T07:48:59Z").unwrap(),
                ))
        } else {
            c
        }
    }

    #[test]
    fn formats_match_v2() {
        assert_eq!(
            format_credentials(&creds(true), "process"),
            "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"ASIAEXAMPLE\",\n  \"SecretAccessKey\": \"secretEXAMPLE\",\n  \"SessionToken\": \"tokenEXAMPLE\",\n  \"Expiration\": \"2026-11-23T07:48:59+00:00\"\n}\n"
        );
        assert_eq!(
            format_credentials(&creds(false), "process"),
            "{\n  \"Version\": 1,\n  \"AccessKeyId\": \"ASIAEXAMPLE\",\n  \"SecretAccessKey\": \"secretEXAMPLE\"\n}\n"
        );
        assert_eq!(
            format_credentials(&creds(true), "env"),
            "export AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nexport AWS_SECRET_ACCESS_KEY=secretEXAMPLE\nexport AWS_SESSION_TOKEN=tokenEXAMPLE\nexport AWS_CREDENTIAL_EXPIRATION=2026-11-23T07:48:59+00:00\n"
        );
        assert_eq!(
            format_credentials(&creds(false), "env-no-export"),
            "AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nAWS_SECRET_ACCESS_KEY=secretEXAMPLE\n"
        );
        assert_eq!(
            format_credentials(&creds(true), "powershell"),
            "$Env:AWS_ACCESS_KEY_ID=\"ASIAEXAMPLE\"\n$Env:AWS_SECRET_ACCESS_KEY=\"secretEXAMPLE\"\n$Env:AWS_SESSION_TOKEN=\"tokenEXAMPLE\"\n$Env:AWS_CREDENTIAL_EXPIRATION=\"2026-11-23T07:48:59+00:00\"\n"
        );
        assert_eq!(
            format_credentials(&creds(false), "windows-cmd"),
            "set AWS_ACCESS_KEY_ID=ASIAEXAMPLE\nset AWS_SECRET_ACCESS_KEY=secretEXAMPLE\n"
        );
        assert_eq!(
            format_credentials(&creds(true), "fish"),
            "set -gx AWS_ACCESS_KEY_ID \"ASIAEXAMPLE\"\nset -gx AWS_SECRET_ACCESS_KEY \"secretEXAMPLE\"\nset -gx AWS_SESSION_TOKEN \"tokenEXAMPLE\"\nset -gx AWS_CREDENTIAL_EXPIRATION \"2026-11-23T07:48:59+00:00\"\n"
        );
    }

    #[test]
    fn recursion_guard() {
        let seen = parse_csv_row("a,b");
        assert_eq!(seen, vec!["a", "b"]);
        let e = check_recursion(&seen, "a").unwrap_err();
        assert_eq!(e.kind(), ExitKind::Configuration);
        let seen = parse_csv_row("a,b,c,d");
        assert!(check_recursion(&seen, "e").is_err());
        assert!(check_recursion(&parse_csv_row(""), "default").is_ok());
        assert_eq!(
            write_csv_row(&["a".into(), "b,c".into(), "d\"e".into()]),
            "a,\"b,c\",\"d\"\"e\""
        );
        assert_eq!(
            parse_csv_row("a,\"b,c\",\"d\"\"e\""),
            vec!["a", "b,c", "d\"e"]
        );
    }
}
