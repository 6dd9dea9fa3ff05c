//! The `custom-process` provider: `credential_process`, the Version 1 contract
//! (`docs/spec/process-and-sso.md` §1).

use std::process::{Command, Stdio};

use crate::plan::ProcessStep;
use crate::{Credentials, CredentialsError, Provider};

const METHOD: &str = "custom-process";

/// Runs the configured command (shell-word split, no shell) and parses its JSON output.
#[derive(Clone, Debug)]
pub struct ProcessProvider {
    step: ProcessStep,
    extra_env: Vec<(String, String)>,
}

impl ProcessProvider {
    /// A provider for `step`; `extra_env` is added to the child's inherited environment.
    pub fn new(step: ProcessStep, extra_env: Vec<(String, String)>) -> ProcessProvider {
        ProcessProvider { step, extra_env }
    }
}

fn retrieval(message: impl Into<String>) -> CredentialsError {
    CredentialsError::retrieval(METHOD, message)
}

/// Python `str()` of a JSON value, for the version error.
fn python_str(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "None".into(),
        serde_json::Value::Bool(true) => "True".into(),
        serde_json::Value::Bool(false) => "False".into(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn is_version_one(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Bool(b) => *b,
        serde_json::Value::Number(n) => n.as_f64() == Some(1.0),
        _ => false,
    }
}

impl Provider for ProcessProvider {
    fn method(&self) -> &'static str {
        METHOD
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        let argv = awsid_profile::shell::split(&self.step.command).map_err(|e| {
            CredentialsError::InvalidSetting {
                setting: "credential_process".into(),
                message: e.to_string(),
            }
        })?;
        let Some((program, args)) = argv.split_first() else {
            return Err(CredentialsError::InvalidSetting {
                setting: "credential_process".into(),
                message: "empty command".into(),
            });
        };
        let output = Command::new(program)
            .args(args)
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::inherit())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| retrieval(format!("unable to run {program}: {e}")))?;
        if !output.status.success() {
            return Err(retrieval(String::from_utf8_lossy(&output.stderr)));
        }
        parse_output(&output.stdout, self.step.account_id.as_deref()).map(Some)
    }
}

/// Reads a credential process's standard output (the version-1 JSON document): the
/// credentials, or the reference's error for a wrong version, a missing key or a bad
/// `Expiration`. `account_id` is the profile's `aws_account_id`, used when the output has none.
pub fn parse_output(
    stdout: &[u8],
    account_id: Option<&str>,
) -> Result<Credentials, CredentialsError> {
    let parsed: serde_json::Value = serde_json::from_slice(stdout)
        .map_err(|e| retrieval(format!("output is not valid JSON: {e}")))?;
    match parsed.get("Version") {
        Some(v) if is_version_one(v) => {}
        other => {
            let shown = other.map_or("<Version key not provided>".to_string(), python_str);
            return Err(retrieval(format!(
                "Unsupported version '{shown}' for credential process provider, supported versions: 1"
            )));
        }
    }
    let field = |k: &str| parsed.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let Some(akid) = field("AccessKeyId") else {
        return Err(retrieval("Missing required key in response: 'AccessKeyId'"));
    };
    let Some(secret) = field("SecretAccessKey") else {
        return Err(retrieval(
            "Missing required key in response: 'SecretAccessKey'",
        ));
    };
    let expiry = match field("Expiration") {
        Some(t) => Some(
            crate::time::parse(&t).map_err(|e| retrieval(format!("invalid Expiration: {e}")))?,
        ),
        None => None,
    };
    Ok(Credentials::new(akid, secret, METHOD)
        .with_session_token(field("SessionToken"))
        .with_expiry(expiry)
        .with_account_id(field("AccountId").or_else(|| account_id.map(str::to_string))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(script: &str) -> Result<Option<Credentials>, CredentialsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sh");
        std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
        ProcessProvider::new(
            ProcessStep {
                command: format!("/bin/sh '{}'", path.display()),
                account_id: Some("111122223333".into()),
            },
            vec![("AWSID_TEST_MARK".into(), "m1".into())],
        )
        .provide()
    }

    #[test]
    fn version_one_contract() {
        let c = run(r#"echo '{"Version": 1, "AccessKeyId": "AK", "SecretAccessKey": "SK", "SessionToken": "T", "Expiration": "2099-01-01T00:00:00Z"}'"#)
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "AK");
        assert_eq!(c.method, "custom-process");
        assert!(c.expiry.is_some());
        assert_eq!(c.account_id.as_deref(), Some("111122223333"));
    }

    #[test]
    fn stderr_is_the_message() {
        let e = run("echo boom >&2; exit 1").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Error when retrieving credentials from custom-process: boom\n"
        );
    }

    #[test]
    fn version_checks() {
        let e = run(r#"echo '{"Version": "1", "AccessKeyId": "AK", "SecretAccessKey": "SK"}'"#)
            .unwrap_err();
        assert!(e.to_string().ends_with(
            "Unsupported version '1' for credential process provider, supported versions: 1"
        ));
        let e = run(r#"echo '{"AccessKeyId": "AK"}'"#).unwrap_err();
        assert!(e.to_string().contains("'<Version key not provided>'"));
        assert!(
            run(r#"echo '{"Version": true, "AccessKeyId": "AK", "SecretAccessKey": "SK"}'"#)
                .is_ok()
        );
        let e = run(r#"echo '{"Version": 1.0, "AccessKeyId": "AK"}'"#).unwrap_err();
        assert!(e
            .to_string()
            .ends_with("Missing required key in response: 'SecretAccessKey'"));
    }

    #[test]
    fn child_gets_extra_env_and_no_shell() {
        let c = run(r#"echo "{\"Version\": 1, \"AccessKeyId\": \"$AWSID_TEST_MARK\", \"SecretAccessKey\": \"S\"}""#)
            .unwrap()
            .unwrap();
        assert_eq!(c.access_key_id, "m1");
    }
}
