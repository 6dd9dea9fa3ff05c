//! The `sso` credential provider: the token cache (`~/.aws/sso/cache`), the sso-session
//! token refresh through SSO-OIDC `CreateToken`, and the portal's `GetRoleCredentials`
//! (`docs/spec/process-and-sso.md` §2). Both the token refresh and the role credentials go
//! through the cross-process single flight ([`crate::single_flight`]).

use std::sync::Arc;

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::oidc::OidcClient;
use super::rest_json::{join, send};
use crate::cache::{sso_cache_key, sso_entry, sso_token_key, PyJson};
use crate::endpoint::Service;
use crate::http::HttpRequest;
use crate::plan::SsoStep;
use crate::services::Services;
use crate::single_flight::Refresh;
use crate::{Credentials, CredentialsError, Provider};

const METHOD: &str = "sso";

/// Fetches SSO role credentials for one profile.
pub struct SsoProvider {
    step: SsoStep,
    services: Arc<Services>,
    /// Why the last token refresh failed (the reference then goes on with the cached token,
    /// or says only `Token has expired and refresh failed`): reported by
    /// [`Provider::last_miss`] for long-running callers. Never a token.
    refresh_failure: std::sync::Mutex<Option<String>>,
}

impl SsoProvider {
    /// A provider for `step`.
    pub fn new(step: SsoStep, services: Arc<Services>) -> SsoProvider {
        SsoProvider {
            step,
            services,
            refresh_failure: std::sync::Mutex::new(None),
        }
    }

    fn token_name(&self) -> &str {
        self.step
            .session_name
            .as_deref()
            .unwrap_or(&self.step.start_url)
    }

    fn token_path(&self) -> Result<std::path::PathBuf, CredentialsError> {
        let cache = self
            .services
            .sso_cache
            .as_ref()
            .ok_or_else(|| self.missing())?;
        Ok(cache.path(&sso_token_key(self.token_name())))
    }

    fn missing(&self) -> CredentialsError {
        CredentialsError::SsoTokenLoad(format!("Token for {} does not exist", self.token_name()))
    }

    fn load_token(&self) -> Result<Value, CredentialsError> {
        let path = self.token_path()?;
        // The aws CLI writes this file in place; a reader can catch it half-written. That is
        // a miss for a moment, not an invalid token: read again (briefly) before judging.
        let mut pause = std::time::Duration::from_millis(5);
        let token: Value = loop {
            let Ok(bytes) = std::fs::read(&path) else {
                return Err(self.missing());
            };
            match serde_json::from_slice(&bytes) {
                Ok(token) => break token,
                Err(e) if e.is_eof() && pause.as_millis() < 100 => {
                    std::thread::sleep(pause);
                    pause *= 2;
                }
                // The reference raises a raw KeyError for a corrupt file; name the file.
                Err(e) => {
                    return Err(CredentialsError::SsoTokenLoad(format!(
                        "Token for {} is invalid: {} is not valid JSON ({e})",
                        self.token_name(),
                        path.display()
                    )))
                }
            }
        };
        if token.get("accessToken").is_none() || token.get("expiresAt").is_none() {
            return Err(CredentialsError::SsoTokenLoad(format!(
                "Token for {} is invalid",
                self.step.start_url
            )));
        }
        Ok(token)
    }

    /// The access token to use. An sso-session token with less than 15 minutes left is
    /// refreshed first, once per machine: under the token file's single flight, with the
    /// refresh token read under the lock (the server rotates it: a second refresh with the
    /// same one would fail and lose the session).
    fn access_token(&self, now: OffsetDateTime) -> Result<String, CredentialsError> {
        let expiry = |t: &Value| {
            t.get("expiresAt")
                .and_then(Value::as_str)
                .and_then(|s| crate::time::parse(s).ok())
        };
        let remaining = |t: &Value| expiry(t).map_or(-1.0, |e| (e - now).as_seconds_f64());
        let mut token = self.load_token()?;
        if self.step.session_name.is_none() {
            if remaining(&token) <= 0.0 {
                return Err(CredentialsError::UnauthorizedSsoToken);
            }
        } else {
            let window = crate::refresh::ADVISORY_REFRESH_SECS as f64;
            if remaining(&token) < window {
                let path = self.token_path()?;
                let fresh = || self.load_token().ok().filter(|t| remaining(t) >= window);
                token = crate::single_flight::run(
                    &path,
                    Refresh::Network.wait(self.services.env()),
                    fresh,
                    || -> Result<Value, CredentialsError> {
                        let current = self.load_token()?;
                        match self.refresh_token(&current, now) {
                            Ok(Some(new)) => {
                                awsid_profile::atomic::write_atomic(
                                    &path,
                                    new.dumps().as_bytes(),
                                    0o600,
                                )
                                .map_err(|e| {
                                    CredentialsError::file_write("SSO token cache file", e)
                                })?;
                                Ok(serde_json::from_str(&new.dumps()).unwrap_or(current))
                            }
                            Ok(None) => Ok(current),
                            Err(e) => {
                                tracing::warn!("SSO token refresh failed: {e}");
                                *self
                                    .refresh_failure
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner()) = Some(format!(
                                    "refreshing the SSO token failed: {}",
                                    e.to_string().trim_end_matches('.')
                                ));
                                Ok(current)
                            }
                        }
                    },
                )?;
            }
            if remaining(&token) <= 0.0 {
                return Err(CredentialsError::TokenRetrieval {
                    provider: METHOD.into(),
                    message: "Token has expired and refresh failed".into(),
                });
            }
        }
        Ok(token
            .get("accessToken")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string())
    }

    /// `CreateToken` with the refresh token; `Ok(None)` when the token cannot be refreshed.
    /// The new token has botocore's keys in its order and separators; `expiresAt` is written
    /// `...Z` like `sso login`'s (botocore writes `...UTC`, which RFC 3339 readers such as the
    /// Rust SDK refuse; every reader takes `Z`).
    fn refresh_token(
        &self,
        token: &Value,
        now: OffsetDateTime,
    ) -> Result<Option<PyJson>, CredentialsError> {
        let s = |k: &str| token.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(refresh), Some(client_id), Some(secret), Some(reg_exp)) = (
            s("refreshToken"),
            s("clientId"),
            s("clientSecret"),
            s("registrationExpiresAt"),
        ) else {
            return Ok(None);
        };
        if crate::time::parse(&reg_exp).map_or(true, |e| e <= now) {
            return Ok(None);
        }
        let out = OidcClient::new(&self.services, &self.step.region).call(
            "/token",
            "CreateToken",
            &json!({
                "grantType": "refresh_token",
                "clientId": client_id,
                "clientSecret": secret,
                "refreshToken": refresh,
            }),
        )?;
        let text = |k: &str| out.get(k).and_then(Value::as_str).map(str::to_string);
        let Some(access) = text("accessToken") else {
            return Err(CredentialsError::TokenRetrieval {
                provider: METHOD.into(),
                message: "CreateToken returned no accessToken".into(),
            });
        };
        let expires_in = out.get("expiresIn").and_then(Value::as_i64).unwrap_or(0);
        let expires = crate::time::format_z(now + time::Duration::seconds(expires_in));
        let mut fresh = vec![
            (
                "startUrl".to_string(),
                PyJson::Str(self.step.start_url.clone()),
            ),
            ("region".to_string(), PyJson::Str(self.step.region.clone())),
            ("accessToken".to_string(), PyJson::Str(access)),
            ("expiresAt".to_string(), PyJson::Str(expires)),
            ("clientId".to_string(), PyJson::Str(client_id)),
            ("clientSecret".to_string(), PyJson::Str(secret)),
            ("registrationExpiresAt".to_string(), PyJson::Str(reg_exp)),
        ];
        if let Some(r) = text("refreshToken") {
            fresh.push(("refreshToken".to_string(), PyJson::Str(r)));
        }
        Ok(Some(PyJson::Obj(fresh)))
    }

    /// The portal's `GetRoleCredentials` with `token`.
    fn role_credentials(&self, token: String) -> Result<Credentials, CredentialsError> {
        let endpoint = self
            .services
            .endpoint(Service::Sso, Some(&self.step.region))?;
        let url = format!(
            "{}?role_name={}&account_id={}",
            join(&endpoint.url, "/federation/credentials"),
            crate::sts::encode(&self.step.role_name),
            crate::sts::encode(&self.step.account_id)
        );
        let build = || {
            HttpRequest::new("GET", url.clone())
                .header("x-amz-sso_bearer_token", token.clone())
                .header("User-Agent", crate::user_agent())
        };
        let resp = match send(&self.services, "GetRoleCredentials", build) {
            Err(CredentialsError::Service(e)) if e.code == "UnauthorizedException" => {
                return Err(CredentialsError::UnauthorizedSsoToken)
            }
            other => other?,
        };
        let bad = |message: String| CredentialsError::BadResponse {
            url: url.clone(),
            message,
        };
        let out: Value = serde_json::from_slice(&resp.body).map_err(|e| bad(e.to_string()))?;
        let rc = out.get("roleCredentials").cloned().unwrap_or(Value::Null);
        let field = |k: &str| rc.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(akid), Some(secret), Some(token), Some(ms)) = (
            field("accessKeyId"),
            field("secretAccessKey"),
            field("sessionToken"),
            rc.get("expiration").and_then(Value::as_i64),
        ) else {
            return Err(bad("roleCredentials is incomplete".into()));
        };
        let expiry = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
            .map_err(|e| bad(e.to_string()))?;
        Ok(Credentials::new(akid, secret, METHOD)
            .with_session_token(Some(token))
            .with_expiry(Some(expiry))
            .with_account_id(Some(self.step.account_id.clone())))
    }
}

impl Provider for SsoProvider {
    fn method(&self) -> &'static str {
        METHOD
    }

    fn last_miss(&self) -> Option<String> {
        self.refresh_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        *self
            .refresh_failure
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = None;
        let key = sso_cache_key(
            &self.step.account_id,
            &self.step.role_name,
            self.step.session_name.as_deref(),
            &self.step.start_url,
        );
        let fetch = || -> Result<Credentials, CredentialsError> {
            let token = self.access_token(crate::time::now())?;
            let creds = self.role_credentials(token)?;
            if let Some(cache) = &self.services.cli_cache {
                cache.store(&key, &sso_entry(&creds))?;
            }
            Ok(creds)
        };
        match &self.services.cli_cache {
            Some(cache) => cache
                .single_flight(
                    &key,
                    METHOD,
                    Refresh::Network.wait(self.services.env()),
                    fetch,
                )
                .map(Some),
            None => fetch().map(Some),
        }
    }
}
