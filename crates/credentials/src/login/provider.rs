//! The `login` credential provider (v2 `LoginProvider` / `LoginCredentialFetcher` in
//! `awscli/botocore/credentials.py`; `docs/spec/login.md` §3): the chain loads the cached
//! credentials as they are (even expired); a refresh re-reads the file and calls
//! `CreateOAuth2Token` only when fewer than [`REFRESH_THRESHOLD_SECS`] remain.

use std::sync::Arc;

use serde_json::{json, Value};

use super::cache::{AccessTokenOutput, LoginCache, LoginToken};
use super::client::{SigninClient, SigninError};
use super::{DpopKey, LoginError};
use crate::plan::LoginStep;
use crate::refresh::Clock;
use crate::services::Services;
use crate::{Credentials, CredentialsError, Provider};

/// A cached token with more than this many seconds left is used as it is
/// (`LoginCredentialFetcher._REFRESH_THRESHOLD`).
pub const REFRESH_THRESHOLD_SECS: i64 = 5 * 60;

/// Credentials of a profile's `login_session`.
pub struct LoginProvider {
    step: LoginStep,
    services: Arc<Services>,
    cache: Option<LoginCache>,
    clock: Clock,
}

impl LoginProvider {
    /// The provider for `step`, reading the login cache of `services`' environment.
    pub fn new(step: LoginStep, services: Arc<Services>) -> LoginProvider {
        let cache = LoginCache::from_env(services.env());
        LoginProvider {
            step,
            services,
            cache,
            clock: Arc::new(crate::time::now),
        }
    }

    /// Replaces the clock that decides freshness and stamps refreshed tokens (tests).
    pub fn with_clock(mut self, clock: Clock) -> LoginProvider {
        self.clock = clock;
        self
    }

    /// Reads the cache in `dir` instead of the environment's (tests).
    pub fn with_cache(mut self, cache: LoginCache) -> LoginProvider {
        self.cache = Some(cache);
        self
    }

    fn cache(&self) -> Result<&LoginCache, CredentialsError> {
        self.cache.as_ref().ok_or_else(|| {
            LoginError::TokenLoad(
                "Cannot find the login token cache: HOME is not set and AWS_LOGIN_CACHE_DIRECTORY is not either".into(),
            )
            .into()
        })
    }

    /// The token file's credentials, expired or not (the chain's first load); an absent or
    /// incomplete token is v2's `LoginTokenLoadError`.
    pub fn load_cached(&self) -> Result<Credentials, CredentialsError> {
        let cache = self.cache()?;
        let token = self.required(cache.load(&self.step.session)?)?;
        Ok(token.credentials()?)
    }

    /// v2's checks of a loaded token: present, with the four required fields.
    fn required(&self, token: Option<LoginToken>) -> Result<LoginToken, LoginError> {
        let Some(token) = token else {
            return Err(LoginError::TokenLoad(format!(
                "Unable to load a existing login session for session {}, Please reauthenticate with 'aws login'.",
                self.step.session
            )));
        };
        let missing = token.missing_fields();
        if !missing.is_empty() {
            return Err(LoginError::TokenLoad(format!(
                "Failed to load access token from token cache, missing one or more required fields: {}.",
                missing.join(", ")
            )));
        }
        Ok(token)
    }

    /// The cached credentials if they have more than the threshold left.
    fn fresh(&self, cache: &LoginCache) -> Option<Credentials> {
        let token = cache.load(&self.step.session).ok()??;
        let c = token.credentials().ok()?;
        let left = c.seconds_remaining((self.clock)())?;
        (left > REFRESH_THRESHOLD_SECS as f64).then_some(c)
    }

    /// `refresh_credentials`: re-read the file; still good → use it; else `CreateOAuth2Token`
    /// with the refresh token and a DPoP proof, the answer written back. Across processes the
    /// call is made once per expiry ([`crate::single_flight`]): the service rotates the refresh
    /// token, so a second refresher holding the old one would lose the session.
    fn refresh(&self) -> Result<Credentials, CredentialsError> {
        let cache = self.cache()?;
        let path = cache.path(&self.step.session);
        crate::single_flight::run(
            &path,
            crate::single_flight::Refresh::Network.wait(self.services.env()),
            || self.fresh(cache),
            || self.refresh_locked(cache),
        )
    }

    fn refresh_locked(&self, cache: &LoginCache) -> Result<Credentials, CredentialsError> {
        let mut token = self.required(cache.load(&self.step.session)?)?;
        let key = DpopKey::from_pem(token.dpop_key_pem().unwrap_or_default())?;
        let client = SigninClient::for_services(&self.services)?;
        let input = json!({
            "clientId": token.client_id().unwrap_or_default(),
            "refreshToken": token.refresh_token().unwrap_or_default(),
            "grantType": "refresh_token",
        });
        let out = match client.create_oauth2_token(&input, &key) {
            Ok(out) => out,
            Err(SigninError::Service { error, oauth_error })
                if error.code == "AccessDeniedException" =>
            {
                return Err(LoginError::from_refresh_denial(oauth_error.as_deref(), error).into())
            }
            Err(e) => return Err(e.into()),
        };
        let url = client.token_url();
        let bad = |what: &str| CredentialsError::BadResponse {
            url: url.clone(),
            message: format!("{what} is missing"),
        };
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let access = out.get("accessToken").ok_or_else(|| bad("accessToken"))?;
        let field = |k: &str| text(access, k).ok_or_else(|| bad(&format!("accessToken.{k}")));
        let (key_id, secret, session) = (
            field("accessKeyId")?,
            field("secretAccessKey")?,
            field("sessionToken")?,
        );
        let refresh = text(&out, "refreshToken").ok_or_else(|| bad("refreshToken"))?;
        let expires_in = out
            .get("expiresIn")
            .and_then(Value::as_i64)
            .ok_or_else(|| bad("expiresIn"))?;
        token.apply_refresh(
            &AccessTokenOutput {
                access_key_id: &key_id,
                secret_access_key: &secret,
                session_token: &session,
                expires_in,
            },
            &refresh,
            (self.clock)(),
        );
        cache.save(&self.step.session, &token)?;
        tracing::debug!(
            "login session {} refreshed; new credentials expire at {:?}",
            self.step.session,
            token.expires_at()
        );
        Ok(token.credentials()?)
    }
}

impl Provider for LoginProvider {
    fn method(&self) -> &'static str {
        "login"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        self.refresh().map(Some)
    }
}

#[cfg(test)]
mod tests;
