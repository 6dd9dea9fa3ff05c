//! The `sso` credential provider: the token cache (`~/.aws/sso/cache`), the sso-session
//! token refresh through SSO-OIDC `CreateToken`, and the portal's `GetRoleCredentials`
//! (`docs/spec/process-and-sso.md` §2).

use std::sync::Arc;

use serde_json::{json, Value};
use time::OffsetDateTime;

use super::oidc::OidcClient;
use super::rest_json::{join, rest_json_error};
use crate::cache::{sso_cache_key, sso_entry, sso_token_key, Lookup};
use crate::endpoint::Service;
use crate::http::HttpRequest;
use crate::plan::SsoStep;
use crate::services::Services;
use crate::{Credentials, CredentialsError, Provider};

const METHOD: &str = "sso";

/// Fetches SSO role credentials for one profile.
pub struct SsoProvider {
    step: SsoStep,
    services: Arc<Services>,
}

impl SsoProvider {
    /// A provider for `step`.
    pub fn new(step: SsoStep, services: Arc<Services>) -> SsoProvider {
        SsoProvider { step, services }
    }

    fn token_name(&self) -> &str {
        self.step
            .session_name
            .as_deref()
            .unwrap_or(&self.step.start_url)
    }

    fn load_token(&self) -> Result<(std::path::PathBuf, Value), CredentialsError> {
        let missing = || {
            CredentialsError::SsoTokenLoad(format!(
                "Token for {} does not exist",
                self.token_name()
            ))
        };
        let cache = self.services.sso_cache.as_ref().ok_or_else(missing)?;
        let path = cache.path(&sso_token_key(self.token_name()));
        let Ok(bytes) = std::fs::read(&path) else {
            return Err(missing());
        };
        // The reference raises a raw KeyError for a corrupt file; name the file instead.
        let token: Value = serde_json::from_slice(&bytes).map_err(|e| {
            CredentialsError::SsoTokenLoad(format!(
                "Token for {} is invalid: {} is not valid JSON ({e})",
                self.token_name(),
                path.display()
            ))
        })?;
        if token.get("accessToken").is_none() || token.get("expiresAt").is_none() {
            return Err(CredentialsError::SsoTokenLoad(format!(
                "Token for {} is invalid",
                self.step.start_url
            )));
        }
        Ok((path, token))
    }

    /// The access token to use, refreshing an sso-session token that is close to expiry.
    fn access_token(&self, now: OffsetDateTime) -> Result<String, CredentialsError> {
        let (path, mut token) = self.load_token()?;
        let expiry = |t: &Value| {
            t.get("expiresAt")
                .and_then(Value::as_str)
                .and_then(|s| crate::time::parse(s).ok())
        };
        let remaining = |t: &Value| expiry(t).map_or(-1.0, |e| (e - now).as_seconds_f64());
        if self.step.session_name.is_none() {
            if remaining(&token) <= 0.0 {
                return Err(CredentialsError::UnauthorizedSsoToken);
            }
        } else {
            if remaining(&token) < crate::refresh::ADVISORY_REFRESH_SECS as f64 {
                match self.refresh_token(&token, now) {
                    Ok(Some(fresh)) => {
                        let text = serde_json::to_string(&fresh).unwrap_or_default();
                        awsid_profile::atomic::write_atomic(&path, text.as_bytes(), 0o600)
                            .map_err(|e| CredentialsError::file_write("SSO token cache file", e))?;
                        token = fresh;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!("SSO token refresh failed: {e}"),
                }
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
    fn refresh_token(
        &self,
        token: &Value,
        now: OffsetDateTime,
    ) -> Result<Option<Value>, CredentialsError> {
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
        let expires_in = out.get("expiresIn").and_then(Value::as_i64).unwrap_or(0);
        let mut fresh = serde_json::Map::new();
        fresh.insert("startUrl".into(), json!(self.step.start_url));
        fresh.insert("region".into(), json!(self.step.region));
        fresh.insert(
            "accessToken".into(),
            out.get("accessToken").cloned().unwrap_or(Value::Null),
        );
        fresh.insert(
            "expiresAt".into(),
            json!(crate::time::format_z(
                now + time::Duration::seconds(expires_in)
            )),
        );
        fresh.insert("clientId".into(), json!(client_id));
        fresh.insert("clientSecret".into(), json!(secret));
        fresh.insert("registrationExpiresAt".into(), json!(reg_exp));
        if let Some(r) = out.get("refreshToken") {
            fresh.insert("refreshToken".into(), r.clone());
        }
        Ok(Some(Value::Object(fresh)))
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
        let req = HttpRequest::new("GET", url.clone())
            .header("x-amz-sso_bearer_token", token)
            .header("User-Agent", crate::user_agent());
        let resp = self
            .services
            .transport()
            .send(&req)
            .map_err(|source| CredentialsError::transport(&url, source))?;
        if resp.status != 200 {
            let err = rest_json_error(&resp, "GetRoleCredentials");
            if err.code == "UnauthorizedException" {
                return Err(CredentialsError::UnauthorizedSsoToken);
            }
            return Err(err.into());
        }
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

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        let now = crate::time::now();
        let key = sso_cache_key(
            &self.step.account_id,
            &self.step.role_name,
            self.step.session_name.as_deref(),
            &self.step.start_url,
        );
        if let Some(cache) = &self.services.cli_cache {
            match cache.lookup(&key, METHOD, now) {
                Lookup::Hit(c) => return Ok(Some(c)),
                Lookup::Corrupt(why) => {
                    tracing::warn!("ignoring unusable SSO credential cache entry {why}")
                }
                Lookup::Miss => {}
            }
        }
        let token = self.access_token(now)?;
        let creds = self.role_credentials(token)?;
        if let Some(cache) = &self.services.cli_cache {
            cache.store(&key, &sso_entry(&creds))?;
        }
        Ok(Some(creds))
    }
}
