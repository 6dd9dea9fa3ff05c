//! `aws sso logout`: every cached token is logged out at its portal and deleted, with the
//! role credentials fetched with it.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::login::LoginError;
use super::rest_json::{join, rest_json_error};
use crate::endpoint::Service;
use crate::http::HttpRequest;
use crate::services::Services;
use crate::CredentialsError;

/// What `sso logout` removed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogoutReport {
    /// Token files deleted from `~/.aws/sso/cache`.
    pub tokens: Vec<PathBuf>,
    /// SSO credential files deleted from `~/.aws/cli/cache`.
    pub credentials: Vec<PathBuf>,
}

/// `aws sso logout`: every token file (a JSON object with `accessToken`) in the SSO cache is
/// logged out at the portal of its `region` (best effort) and deleted; every
/// `"ProviderType": "sso"` file in the CLI cache is deleted.
pub fn logout(services: &Services) -> Result<LogoutReport, LoginError> {
    let mut report = LogoutReport::default();
    if let Some(cache) = &services.sso_cache {
        for (path, v) in json_files(cache.dir()) {
            let Some(token) = v.get("accessToken") else {
                continue;
            };
            if let (Some(region), Some(token)) = (
                v.get("region")
                    .and_then(Value::as_str)
                    .filter(|r| !r.is_empty()),
                token.as_str(),
            ) {
                portal_logout(services, region, token);
            }
            remove(&path)?;
            report.tokens.push(path);
        }
    }
    if let Some(cache) = &services.cli_cache {
        for (path, v) in json_files(cache.dir()) {
            if v.get("ProviderType").and_then(Value::as_str) == Some("sso") {
                remove(&path)?;
                report.credentials.push(path);
            }
        }
    }
    Ok(report)
}

/// `sso logout --sso-session S` (awsid's own): only that session's token is logged out at the
/// portal and deleted, with the cached role credentials of the `(account, role)` pairs its
/// profiles name (`role_pairs`); other sessions stay logged in.
pub fn logout_session(
    services: &Services,
    session: &str,
    role_pairs: &[(String, String)],
) -> Result<LogoutReport, LoginError> {
    let mut report = LogoutReport::default();
    if let Some(cache) = &services.sso_cache {
        let path = cache
            .dir()
            .join(format!("{}.json", crate::cache::sso_token_key(session)));
        if let Some(v) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        {
            if let (Some(region), Some(token)) = (
                v.get("region")
                    .and_then(Value::as_str)
                    .filter(|r| !r.is_empty()),
                v.get("accessToken").and_then(Value::as_str),
            ) {
                portal_logout(services, region, token);
            }
        }
        if path.exists() {
            remove(&path)?;
            report.tokens.push(path);
        }
    }
    if let Some(cache) = &services.cli_cache {
        for (account, role) in role_pairs {
            let key = crate::cache::sso_cache_key(account, role, Some(session), "");
            let path = cache.dir().join(format!("{key}.json"));
            if path.exists() {
                remove(&path)?;
                report.credentials.push(path);
            }
        }
    }
    Ok(report)
}

/// The files of `dir` that hold JSON, in name order (unreadable and non-JSON files skipped).
fn json_files(dir: &Path) -> Vec<(PathBuf, Value)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| Some(e.ok()?.path())).collect();
    files.sort();
    files
        .into_iter()
        .filter(|p| p.is_file())
        .filter_map(|p| {
            let v = serde_json::from_slice::<Value>(&std::fs::read(&p).ok()?).ok()?;
            Some((p, v))
        })
        .collect()
}

fn remove(path: &Path) -> Result<(), LoginError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(CredentialsError::File {
            what: "SSO cache file",
            path: path.to_path_buf(),
            source,
        }
        .into()),
    }
}

/// Portal `Logout`; failures are logged and ignored (the token may already be invalid).
fn portal_logout(services: &Services, region: &str, token: &str) {
    let endpoint = match services.endpoint(Service::Sso, Some(region)) {
        Ok(e) => e,
        Err(e) => {
            tracing::debug!("no SSO portal endpoint for {region}: {e}");
            return;
        }
    };
    let req = HttpRequest::new("POST", join(&endpoint.url, "/logout"))
        .header("x-amz-sso_bearer_token", token)
        .header("User-Agent", crate::user_agent());
    match services.transport().send(&req) {
        Ok(r) if (200..300).contains(&r.status) => {}
        Ok(r) => tracing::debug!("Logout answered {}", rest_json_error(&r, "Logout")),
        Err(e) => tracing::debug!("Logout failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::session;
    use super::*;
    use crate::testing::{FakeServer, Reply};
    use crate::ResolveOptions;

    #[test]
    fn logout_sweeps_both_caches() {
        let portal = FakeServer::start(|_| Reply::ok(""));
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            "",
            &[("AWS_ENDPOINT_URL_SSO", &portal.url())],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let sso = dir.path().join(".aws/sso/cache");
        let cli = dir.path().join(".aws/cli/cache");
        std::fs::create_dir_all(&sso).unwrap();
        std::fs::create_dir_all(&cli).unwrap();
        std::fs::write(
            sso.join("a.json"),
            r#"{"accessToken": "TOKEN-A", "region": "us-east-1"}"#,
        )
        .unwrap();
        std::fs::write(sso.join("b.json"), r#"{"accessToken": "TOKEN-B"}"#).unwrap();
        std::fs::write(
            sso.join("reg.json"),
            r#"{"clientId": "c", "clientSecret": "s", "expiresAt": "x"}"#,
        )
        .unwrap();
        std::fs::write(sso.join("junk.json"), "not json").unwrap();
        std::fs::write(
            cli.join("s.json"),
            r#"{"ProviderType": "sso", "Credentials": {}}"#,
        )
        .unwrap();
        std::fs::write(cli.join("r.json"), r#"{"Credentials": {}}"#).unwrap();
        let report = logout(&services).unwrap();
        assert_eq!(report.tokens, [sso.join("a.json"), sso.join("b.json")]);
        assert_eq!(report.credentials, [cli.join("s.json")]);
        for kept in [
            sso.join("reg.json"),
            sso.join("junk.json"),
            cli.join("r.json"),
        ] {
            assert!(kept.exists(), "{}", kept.display());
        }
        let calls = portal.requests();
        assert_eq!(
            calls.len(),
            1,
            "only tokens with a region are logged out at the portal"
        );
        assert_eq!(
            (calls[0].method.as_str(), calls[0].path.as_str()),
            ("POST", "/logout")
        );
        assert_eq!(calls[0].header("x-amz-sso_bearer_token"), Some("TOKEN-A"));
        // Nothing left: a second logout does nothing.
        assert_eq!(logout(&services).unwrap(), LogoutReport::default());
    }
}
