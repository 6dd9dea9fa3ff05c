//! MFA codes and MFA sessions, configured in the profile that names `mfa_serial` (or, for
//! settings it leaves out, in its `source_profile`). The aws CLI ignores these keys.
//!
//! Where a code comes from, first match wins:
//!
//! * `mfa_process = <command>` — run with `sh -c`; its stdout, trimmed, is the code (as
//!   aws-vault users know it: `mfa_process = op item get aws --otp`);
//! * `mfa_prompt = ykman` — `ykman oath accounts code --single <name>`, the name being
//!   `ykman_oath_credential_name`, else `$YKMAN_OATH_CREDENTIAL_NAME`, else the `mfa_serial`;
//! * otherwise the terminal (`/dev/tty`), `mfa_prompt = terminal`.
//!
//! MFA sessions (`mfa_session = true`, opt-in): the first role that names an `mfa_serial`
//! calls `GetSessionToken` with one code (`DurationSeconds` = `mfa_session_duration`, default
//! 43200, STS allows 900–129600) and caches the session 0600 in `~/.aws/cli/cache` under the
//! single flight; every role naming that serial is then assumed with the session instead of a
//! code, so a person types one code per session, not one per role and hour. STS treats
//! `AssumeRole` with such a session like role chaining and caps it at one hour, so a longer
//! `duration_seconds` is requested as 3600. The session needs long-term keys as the role's
//! source; with any other source the role asks for a code as usual.

use std::process::{Command, Stdio};

use awsid_profile::Properties;

use crate::cache::{sts_entry, PyJson};
use crate::services::Services;
use crate::single_flight::Refresh;
use crate::{Credentials, CredentialsError};

/// `GetSessionToken`'s default duration for IAM users (12 hours).
pub const DEFAULT_SESSION_SECS: i64 = 43_200;
/// The longest `AssumeRole` STS allows when the caller is itself a session (role chaining).
pub const CHAINED_ROLE_MAX_SECS: i64 = 3_600;
/// `GetSessionToken`'s `DurationSeconds` range for IAM users.
pub const SESSION_SECS_RANGE: std::ops::RangeInclusive<i64> = 900..=129_600;

const SESSION_METHOD: &str = "mfa-session";

/// Where MFA codes come from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CodeSource {
    /// Ask on the terminal (or the prompt the caller installed).
    #[default]
    Terminal,
    /// `ykman oath accounts code --single <name>` (`None`: the `mfa_serial`).
    Ykman(Option<String>),
    /// A shell command whose stdout is the code.
    Process(String),
}

/// The MFA settings of one role hop.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MfaSettings {
    /// Where codes come from.
    pub source: CodeSource,
    /// `mfa_session = true`: reuse one `GetSessionToken` per `mfa_serial`.
    pub session: bool,
    /// `mfa_session_duration` (seconds), when set.
    pub session_duration: Option<i64>,
}

impl MfaSettings {
    /// Reads the settings from `profile` (named `name`), falling back to `fallback` (its
    /// `source_profile`) for keys it does not set; a bad value is an error naming the
    /// profile and the key.
    pub fn from_profiles(
        name: &str,
        profile: &Properties,
        fallback: Option<&Properties>,
    ) -> Result<MfaSettings, CredentialsError> {
        let get = |key: &str| {
            profile
                .get_str(key)
                .or_else(|| fallback.and_then(|f| f.get_str(key)))
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let invalid = |key: &str, message: String| CredentialsError::InvalidSetting {
            setting: format!("{key} in profile {name}"),
            message,
        };
        let session = match get("mfa_session").map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => {
                return Err(invalid(
                    "mfa_session",
                    format!("{other:?} is neither true nor false"),
                ))
            }
        };
        let session_duration = match get("mfa_session_duration") {
            None => None,
            Some(text) => match crate::plan::parse_python_int(text) {
                Some(secs) if SESSION_SECS_RANGE.contains(&secs) => Some(secs),
                _ => {
                    return Err(invalid(
                        "mfa_session_duration",
                        format!(
                            "{text:?} is not a number of seconds from {} to {}",
                            SESSION_SECS_RANGE.start(),
                            SESSION_SECS_RANGE.end()
                        ),
                    ))
                }
            },
        };
        let source = if let Some(command) = get("mfa_process") {
            CodeSource::Process(command.to_string())
        } else {
            match get("mfa_prompt").map(str::to_ascii_lowercase).as_deref() {
                None | Some("terminal") => CodeSource::Terminal,
                Some("ykman") => {
                    CodeSource::Ykman(get("ykman_oath_credential_name").map(str::to_string))
                }
                Some(other) => {
                    return Err(invalid(
                        "mfa_prompt",
                        format!("{other:?} is not one of terminal, ykman"),
                    ))
                }
            }
        };
        Ok(MfaSettings {
            source,
            session,
            session_duration,
        })
    }
}

/// The code for device `serial` from the configured source.
pub fn code(
    services: &Services,
    serial: &str,
    settings: &MfaSettings,
) -> Result<String, CredentialsError> {
    let failed = |reason: String| CredentialsError::MfaCode {
        serial: serial.to_string(),
        reason,
    };
    let (what, mut command) = match &settings.source {
        CodeSource::Terminal => return services.mfa.code(serial),
        CodeSource::Process(line) => {
            let mut c = Command::new("sh");
            c.arg("-c").arg(line);
            ("mfa_process", c)
        }
        CodeSource::Ykman(name) => {
            let name = name
                .clone()
                .or_else(|| {
                    services
                        .env()
                        .get_non_empty("YKMAN_OATH_CREDENTIAL_NAME")
                        .map(str::to_string)
                })
                .unwrap_or_else(|| serial.to_string());
            let mut c = Command::new("ykman");
            c.args(["oath", "accounts", "code", "--single", &name]);
            ("ykman", c)
        }
    };
    let output = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| failed(format!("cannot run {what}: {e}")))?;
    if !output.status.success() {
        return Err(failed(format!("{what} failed ({})", output.status)));
    }
    let code = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if code.is_empty() {
        return Err(failed(format!("{what} printed no code")));
    }
    Ok(code)
}

/// The cache key of the MFA session of `serial` (never one of the CLI's keys: those name a
/// `RoleArn`).
pub fn session_cache_key(serial: &str) -> String {
    let json = PyJson::Obj(vec![
        ("MfaSession".into(), PyJson::Str("GetSessionToken".into())),
        ("SerialNumber".into(), PyJson::Str(serial.into())),
    ]);
    crate::cache::sha1_key(&json)
}

/// The MFA session of `serial` for the long-term keys `source`: the cached one while it has
/// at least 15 minutes left, else a new `GetSessionToken` with one code, cached under the
/// single flight (others wait for the one code).
pub fn session(
    services: &Services,
    serial: &str,
    settings: &MfaSettings,
    source: &Credentials,
) -> Result<Credentials, CredentialsError> {
    let fetch = || -> Result<Credentials, CredentialsError> {
        let duration = settings.session_duration.unwrap_or(DEFAULT_SESSION_SECS);
        let sts = services.sts()?;
        let code = code(services, serial, settings)?;
        let mut result = sts.get_session_token(
            source,
            Some(duration),
            Some((serial, &code)),
            SESSION_METHOD,
        )?;
        result.credentials.account_id = serial
            .strip_prefix("arn:")
            .and_then(|a| a.split(':').nth(3))
            .filter(|a| !a.is_empty())
            .map(str::to_string)
            .or_else(|| source.account_id.clone());
        if let Some(cache) = &services.cli_cache {
            let entry = sts_entry(
                &result.credentials,
                None,
                None,
                result.request_id.as_deref(),
            );
            cache.store(&session_cache_key(serial), &entry)?;
        }
        Ok(result.credentials)
    };
    match &services.cli_cache {
        Some(cache) => cache.single_flight(
            &session_cache_key(serial),
            SESSION_METHOD,
            Refresh::Interactive.wait(services.env()),
            fetch,
        ),
        None => fetch(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Properties {
        let text: String = std::iter::once("[default]\n".to_string())
            .chain(pairs.iter().map(|(k, v)| format!("{k} = {v}\n")))
            .collect();
        awsid_profile::ProfileSet::from_texts(&text, "c".into(), "", "k".into())
            .unwrap()
            .profile("default")
            .unwrap()
            .clone()
    }

    #[test]
    fn settings_from_the_profile_then_its_source() {
        let role = props(&[("mfa_session", "TRUE")]);
        let source = props(&[
            ("mfa_session_duration", "3600"),
            ("mfa_prompt", "ykman"),
            ("ykman_oath_credential_name", "aws:work"),
        ]);
        assert_eq!(
            MfaSettings::from_profiles("r", &role, Some(&source)).unwrap(),
            MfaSettings {
                source: CodeSource::Ykman(Some("aws:work".into())),
                session: true,
                session_duration: Some(3600),
            }
        );
        let role = props(&[("mfa_process", "echo 123456"), ("mfa_session", "false")]);
        let got = MfaSettings::from_profiles("r", &role, Some(&source)).unwrap();
        assert_eq!(got.source, CodeSource::Process("echo 123456".into()));
        assert!(!got.session);
        assert_eq!(
            MfaSettings::from_profiles("r", &props(&[]), None).unwrap(),
            MfaSettings::default()
        );
    }

    #[test]
    fn bad_settings_name_profile_and_key() {
        for (pairs, want) in [
            (
                &[("mfa_session", "yes")][..],
                "Invalid value for mfa_session in profile dev: \"yes\" is neither true nor false",
            ),
            (
                &[("mfa_session_duration", "60")],
                "Invalid value for mfa_session_duration in profile dev: \"60\" is not a number of seconds from 900 to 129600",
            ),
            (
                &[("mfa_prompt", "zenity")],
                "Invalid value for mfa_prompt in profile dev: \"zenity\" is not one of terminal, ykman",
            ),
        ] {
            let err = MfaSettings::from_profiles("dev", &props(pairs), None).unwrap_err();
            assert_eq!(err.to_string(), want);
        }
    }

    #[test]
    fn session_keys_differ_per_serial_and_from_role_keys() {
        let a = session_cache_key("arn:aws:iam::123456789012:mfa/user1");
        let b = session_cache_key("arn:aws:iam::123456789012:mfa/other");
        assert_ne!(a, b);
        assert_eq!(a.len(), 40);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
    }
}
