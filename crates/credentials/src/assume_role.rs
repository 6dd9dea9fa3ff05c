//! One `AssumeRole` hop (`assume-role`) and `AssumeRoleWithWebIdentity`
//! (`assume-role-with-web-identity`), both through the JSON file cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cache::{role_cache_key, sts_entry, RoleKeyParams};
use crate::plan::{RoleStep, WebIdentityStep};
use crate::refresh::SharedCredentials;
use crate::services::Services;
use crate::single_flight::Refresh;
use crate::sts::{assumed_role, validate_params, Param};
use crate::{Credentials, CredentialsError, Provider};

fn generated_session_name() -> String {
    format!("botocore-session-{}", crate::time::now().unix_timestamp())
}

fn store(
    services: &Services,
    key: &str,
    r: &crate::sts::AssumedRole,
) -> Result<(), CredentialsError> {
    match &services.cli_cache {
        Some(cache) => cache.store(
            key,
            &sts_entry(
                &r.credentials,
                r.assumed_role_id.as_deref(),
                r.arn.as_deref(),
                r.request_id.as_deref(),
            ),
        ),
        None => Ok(()),
    }
}

/// Assumes one role with credentials from `source`.
pub struct AssumeRoleProvider {
    step: RoleStep,
    source: Arc<SharedCredentials>,
    services: Arc<Services>,
    fetched: AtomicBool,
}

impl AssumeRoleProvider {
    /// A hop assuming `step.role_arn` with `source`'s credentials.
    pub fn new(
        step: RoleStep,
        source: Arc<SharedCredentials>,
        services: Arc<Services>,
    ) -> AssumeRoleProvider {
        AssumeRoleProvider {
            step,
            source,
            services,
            fetched: AtomicBool::new(false),
        }
    }

    /// The cache key of this hop.
    pub fn cache_key(&self) -> String {
        role_cache_key(&RoleKeyParams {
            role_arn: self.step.role_arn.clone(),
            role_session_name: self.step.role_session_name.clone(),
            external_id: self.step.external_id.clone(),
            serial_number: self.step.mfa_serial.clone(),
            duration_seconds: self.step.duration_seconds,
        })
    }
}

impl Provider for AssumeRoleProvider {
    fn method(&self) -> &'static str {
        "assume-role"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        // Only the first fetch may prompt for an MFA code, like the reference (an MFA
        // session refreshes the role without a code while it lasts).
        if self.step.mfa_serial.is_some()
            && !self.step.mfa.session
            && self.fetched.swap(true, Ordering::SeqCst)
        {
            return Err(CredentialsError::RefreshWithMfaUnsupported);
        }
        let Some(cache) = &self.services.cli_cache else {
            return self.assume(None).map(Some);
        };
        let key = self.cache_key();
        let kind = match self.step.mfa_serial {
            Some(_) => Refresh::Interactive,
            None => Refresh::Network,
        };
        cache
            .single_flight(&key, "assume-role", kind.wait(self.services.env()), || {
                self.assume(Some(&key))
            })
            .map(Some)
    }
}

impl AssumeRoleProvider {
    /// Calls `AssumeRole` and stores the result under `key` (when caching).
    fn assume(&self, key: Option<&str>) -> Result<Credentials, CredentialsError> {
        let s = &self.step;
        let session = self.mfa_session()?;
        let mut params = vec![("RoleArn", s.role_arn.clone())];
        params.push((
            "RoleSessionName",
            s.role_session_name
                .clone()
                .unwrap_or_else(generated_session_name),
        ));
        // STS caps a role assumed with a session at one hour, as for role chaining.
        let duration = match (s.duration_seconds, &session) {
            (Some(d), Some(_)) if d > crate::mfa::CHAINED_ROLE_MAX_SECS => {
                tracing::debug!(
                    "profile {}: duration_seconds {d} requested as {} (assumed with an MFA session)",
                    s.profile,
                    crate::mfa::CHAINED_ROLE_MAX_SECS
                );
                Some(crate::mfa::CHAINED_ROLE_MAX_SECS)
            }
            (d, _) => d,
        };
        if let Some(d) = duration {
            params.push(("DurationSeconds", d.to_string()));
        }
        if let Some(e) = &s.external_id {
            params.push(("ExternalId", e.clone()));
        }
        if let (Some(serial), None) = (&s.mfa_serial, &session) {
            params.push(("SerialNumber", serial.clone()));
            params.push((
                "TokenCode",
                crate::mfa::code(&self.services, serial, &s.mfa)?,
            ));
        }
        // botocore reports violations in its kwargs order: configured session name, external
        // id, serial, duration, role ARN, token code.
        let mut checks = Vec::new();
        if let Some(n) = &s.role_session_name {
            checks.push(("RoleSessionName", Param::Text(n)));
        }
        if let Some(e) = &s.external_id {
            checks.push(("ExternalId", Param::Text(e)));
        }
        if let (Some(serial), None) = (&s.mfa_serial, &session) {
            checks.push(("SerialNumber", Param::Text(serial)));
        }
        if let Some(d) = duration {
            checks.push(("DurationSeconds", Param::Int(d)));
        }
        checks.push(("RoleArn", Param::Text(&s.role_arn)));
        if let Some((_, code)) = params.iter().find(|(k, _)| *k == "TokenCode") {
            checks.push(("TokenCode", Param::Text(code)));
        }
        // The source hop resolves first (botocore builds its STS client, and so fetches the
        // source credentials, before the call validates its parameters).
        let sts = self.services.sts()?;
        let source = match session {
            Some(session) => session,
            None => self.source.get()?,
        };
        validate_params(&checks)?;
        let xml = sts.call("AssumeRole", &params, Some(&source))?;
        let result = assumed_role("AssumeRole", &xml, "assume-role")?;
        if let Some(key) = key {
            store(&self.services, key, &result)?;
        }
        Ok(result.credentials)
    }
}

impl AssumeRoleProvider {
    /// The MFA session to assume this role with, when the profile asks for one (`mfa_session`)
    /// and the source is long-term keys ([`crate::mfa`]).
    fn mfa_session(&self) -> Result<Option<Credentials>, CredentialsError> {
        let s = &self.step;
        let (Some(serial), true) = (&s.mfa_serial, s.mfa.session) else {
            return Ok(None);
        };
        let source = self.source.get()?;
        if source.session_token.is_some() {
            tracing::debug!(
                "profile {}: mfa_session needs long-term keys as the source; asking for a code",
                s.profile
            );
            return Ok(None);
        }
        crate::mfa::session(&self.services, serial, &s.mfa, &source).map(Some)
    }
}

/// `AssumeRoleWithWebIdentity` with a token file read verbatim on every call.
pub struct WebIdentityProvider {
    step: WebIdentityStep,
    services: Arc<Services>,
    file_cached: bool,
}

impl WebIdentityProvider {
    /// A provider for `step`, using the `~/.aws/cli/cache` file cache.
    pub fn new(step: WebIdentityStep, services: Arc<Services>) -> WebIdentityProvider {
        WebIdentityProvider {
            step,
            services,
            file_cached: true,
        }
    }

    /// Whether results go through the file cache (the CLI caches only a top-level web-identity
    /// provider, not one resolving a `source_profile`).
    pub fn file_cached(mut self, yes: bool) -> WebIdentityProvider {
        self.file_cached = yes;
        self
    }
}

impl Provider for WebIdentityProvider {
    fn method(&self) -> &'static str {
        "assume-role-with-web-identity"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        let key = role_cache_key(&RoleKeyParams {
            role_arn: self.step.role_arn.clone(),
            role_session_name: self.step.role_session_name.clone(),
            ..Default::default()
        });
        match (&self.services.cli_cache, self.file_cached) {
            (Some(cache), true) => cache
                .single_flight(
                    &key,
                    WEB_IDENTITY,
                    Refresh::Network.wait(self.services.env()),
                    || self.assume(Some(&key)),
                )
                .map(Some),
            _ => self.assume(None).map(Some),
        }
    }
}

const WEB_IDENTITY: &str = "assume-role-with-web-identity";

impl WebIdentityProvider {
    /// Calls `AssumeRoleWithWebIdentity` with the token file's contents and stores the result
    /// under `key` (when caching).
    fn assume(&self, key: Option<&str>) -> Result<Credentials, CredentialsError> {
        let token = std::fs::read_to_string(&self.step.token_file).map_err(|source| {
            CredentialsError::File {
                what: "web identity token file",
                path: self.step.token_file.clone().into(),
                source,
            }
        })?;
        let params = vec![
            ("RoleArn", self.step.role_arn.clone()),
            (
                "RoleSessionName",
                self.step
                    .role_session_name
                    .clone()
                    .unwrap_or_else(generated_session_name),
            ),
            ("WebIdentityToken", token),
        ];
        let mut checks = Vec::new();
        if let Some(n) = &self.step.role_session_name {
            checks.push(("RoleSessionName", Param::Text(n)));
        }
        checks.push(("RoleArn", Param::Text(&self.step.role_arn)));
        checks.push(("WebIdentityToken", Param::Text(&params[2].1)));
        validate_params(&checks)?;
        let sts = self.services.sts_unsigned()?;
        let xml = sts.call("AssumeRoleWithWebIdentity", &params, None)?;
        let result = assumed_role("AssumeRoleWithWebIdentity", &xml, WEB_IDENTITY)?;
        if let Some(key) = key {
            store(&self.services, key, &result)?;
        }
        Ok(result.credentials)
    }
}
