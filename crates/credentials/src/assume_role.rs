//! One `AssumeRole` hop (`assume-role`) and `AssumeRoleWithWebIdentity`
//! (`assume-role-with-web-identity`), both through the JSON file cache.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::cache::{role_cache_key, sts_entry, Lookup, RoleKeyParams};
use crate::plan::{RoleStep, WebIdentityStep};
use crate::refresh::SharedCredentials;
use crate::services::Services;
use crate::sts::{assumed_role, validate_params, Param};
use crate::{Credentials, CredentialsError, Provider};

fn generated_session_name() -> String {
    format!("botocore-session-{}", crate::time::now().unix_timestamp())
}

/// Looks `key` up in the CLI cache; corrupt entries are a miss (and get overwritten).
fn cached(services: &Services, key: &str, method: &'static str) -> Option<Credentials> {
    let cache = services.cli_cache.as_ref()?;
    match cache.lookup(key, method, crate::time::now()) {
        Lookup::Hit(c) => Some(c),
        Lookup::Miss => None,
        Lookup::Corrupt(why) => {
            tracing::warn!("ignoring unusable credential cache entry {why}");
            None
        }
    }
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
        // Only the first fetch may prompt for an MFA code, like the reference.
        if self.step.mfa_serial.is_some() && self.fetched.swap(true, Ordering::SeqCst) {
            return Err(CredentialsError::RefreshWithMfaUnsupported);
        }
        let key = self.cache_key();
        if let Some(c) = cached(&self.services, &key, "assume-role") {
            return Ok(Some(c));
        }
        let s = &self.step;
        let mut params = vec![("RoleArn", s.role_arn.clone())];
        params.push((
            "RoleSessionName",
            s.role_session_name
                .clone()
                .unwrap_or_else(generated_session_name),
        ));
        if let Some(d) = s.duration_seconds {
            params.push(("DurationSeconds", d.to_string()));
        }
        if let Some(e) = &s.external_id {
            params.push(("ExternalId", e.clone()));
        }
        if let Some(serial) = &s.mfa_serial {
            params.push(("SerialNumber", serial.clone()));
            params.push(("TokenCode", self.services.mfa.code(serial)?));
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
        if let Some(serial) = &s.mfa_serial {
            checks.push(("SerialNumber", Param::Text(serial)));
        }
        if let Some(d) = s.duration_seconds {
            checks.push(("DurationSeconds", Param::Int(d)));
        }
        checks.push(("RoleArn", Param::Text(&s.role_arn)));
        if let Some((_, code)) = params.iter().find(|(k, _)| *k == "TokenCode") {
            checks.push(("TokenCode", Param::Text(code)));
        }
        // The source hop resolves first (botocore builds its STS client, and so fetches the
        // source credentials, before the call validates its parameters).
        let sts = self.services.sts()?;
        let source = self.source.get()?;
        validate_params(&checks)?;
        let xml = sts.call("AssumeRole", &params, Some(&source))?;
        let result = assumed_role("AssumeRole", &xml, "assume-role")?;
        store(&self.services, &key, &result)?;
        Ok(Some(result.credentials))
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
        const METHOD: &str = "assume-role-with-web-identity";
        let key = role_cache_key(&RoleKeyParams {
            role_arn: self.step.role_arn.clone(),
            role_session_name: self.step.role_session_name.clone(),
            ..Default::default()
        });
        if self.file_cached {
            if let Some(c) = cached(&self.services, &key, METHOD) {
                return Ok(Some(c));
            }
        }
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
        let result = assumed_role("AssumeRoleWithWebIdentity", &xml, METHOD)?;
        if self.file_cached {
            store(&self.services, &key, &result)?;
        }
        Ok(Some(result.credentials))
    }
}
