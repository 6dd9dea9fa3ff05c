//! The `sso` provider: token cache (`~/.aws/sso/cache`), sso-session token refresh through
//! SSO-OIDC `CreateToken`, and portal `GetRoleCredentials` (`process-and-sso.md` §2).

use std::sync::Arc;

use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::cache::{sso_cache_key, sso_entry, sso_token_key, Lookup};
use crate::endpoint::Service;
use crate::error::ServiceError;
use crate::http::{HttpRequest, HttpResponse};
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
        let cache = self.services.sso_cache.as_ref().ok_or_else(|| {
            CredentialsError::SsoTokenLoad(format!(
                "Token for {} does not exist",
                self.token_name()
            ))
        })?;
        let path = cache.path(&sso_token_key(self.token_name()));
        let Ok(bytes) = std::fs::read(&path) else {
            return Err(CredentialsError::SsoTokenLoad(format!(
                "Token for {} does not exist",
                self.token_name()
            )));
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
        let endpoint = self
            .services
            .endpoint(Service::SsoOidc, Some(&self.step.region))?;
        let body = json!({
            "grantType": "refresh_token",
            "clientId": client_id,
            "clientSecret": secret,
            "refreshToken": refresh,
        });
        let req = HttpRequest::new("POST", join(&endpoint.url, "/token"))
            .header("Content-Type", "application/json")
            .header("User-Agent", crate::user_agent())
            .body(body.to_string());
        let resp = self
            .services
            .transport()
            .send(&req)
            .map_err(|_| CredentialsError::Connect {
                url: req.url.clone(),
            })?;
        if resp.status != 200 {
            return Err(rest_json_error(&resp, "CreateToken").into());
        }
        let out: Value =
            serde_json::from_slice(&resp.body).map_err(|e| CredentialsError::BadResponse {
                url: req.url.clone(),
                message: e.to_string(),
            })?;
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
}

pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The error of a non-2xx rest-json answer (SSO portal and OIDC), as botocore reads it: the
/// code from `x-amzn-ErrorType` (else the body's `__type`, `code`, or OAuth `error`), cut at
/// `:` and after `#`; the message from `message`/`Message`, else OAuth's `error_description`.
pub(crate) fn rest_json_error(resp: &HttpResponse, operation: &str) -> ServiceError {
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let code = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype"))
        .map(|(_, v)| v.clone())
        .or_else(|| text("__type"))
        .or_else(|| text("code"))
        .or_else(|| text("error"))
        .unwrap_or_default();
    let code = code.split(':').next().unwrap_or("");
    let code = code.rsplit('#').next().unwrap_or("");
    ServiceError {
        code: if code.is_empty() { "Unknown" } else { code }.to_string(),
        message: text("message")
            .or_else(|| text("Message"))
            .or_else(|| text("error_description"))
            .unwrap_or_else(|| "Unknown".into()),
        operation: operation.into(),
        status: resp.status,
        retries: 0,
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
            .map_err(|_| CredentialsError::Connect { url: url.clone() })?;
        if resp.status != 200 {
            let err = rest_json_error(&resp, "GetRoleCredentials");
            if err.code == "UnauthorizedException" {
                return Err(CredentialsError::UnauthorizedSsoToken);
            }
            return Err(err.into());
        }
        let out: Value =
            serde_json::from_slice(&resp.body).map_err(|e| CredentialsError::BadResponse {
                url: url.clone(),
                message: e.to_string(),
            })?;
        let rc = out.get("roleCredentials").cloned().unwrap_or(Value::Null);
        let field = |k: &str| rc.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(akid), Some(secret), Some(token), Some(ms)) = (
            field("accessKeyId"),
            field("secretAccessKey"),
            field("sessionToken"),
            rc.get("expiration").and_then(Value::as_i64),
        ) else {
            return Err(CredentialsError::BadResponse {
                url,
                message: "roleCredentials is incomplete".into(),
            });
        };
        let expiry = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)).map_err(|e| {
            CredentialsError::BadResponse {
                url: url.clone(),
                message: e.to_string(),
            }
        })?;
        let creds = Credentials::new(akid, secret, METHOD)
            .with_session_token(Some(token))
            .with_expiry(Some(expiry))
            .with_account_id(Some(self.step.account_id.clone()));
        if let Some(cache) = &self.services.cli_cache {
            cache.store(&key, &sso_entry(&creds))?;
        }
        Ok(Some(creds))
    }
}
