//! What the network providers share: endpoint inputs, the lazily built HTTP client, the file
//! caches, the MFA prompt and the clock.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use awsid_profile::{Env, Properties};

use crate::cache::JsonFileCache;
use crate::endpoint::{Endpoint, EndpointSettings, Service};
use crate::http::{HttpClient, Transport};
use crate::profiles::MemoryProfiles;
use crate::retry::{Retrier, RetryConfig};
use crate::sts::StsClient;
use crate::CredentialsError;

/// Asks the user for an MFA code.
pub trait MfaPrompt: Send + Sync {
    /// The code for device `serial`.
    fn code(&self, serial: &str) -> Result<String, CredentialsError>;
}

/// Prompts `Enter MFA code for <serial>: ` on the terminal (`/dev/tty`, so it works where
/// stdin and stdout belong to someone else, as under `credential_process`) with echo off.
#[derive(Clone, Copy, Debug, Default)]
pub struct TtyPrompt;

impl MfaPrompt for TtyPrompt {
    fn code(&self, serial: &str) -> Result<String, CredentialsError> {
        rpassword::prompt_password(format!("Enter MFA code for {serial}: ")).map_err(|e| {
            let reason = if e.kind() == std::io::ErrorKind::Interrupted
                || e.kind() == std::io::ErrorKind::UnexpectedEof
            {
                format!("reading it from the terminal failed ({e})")
            } else {
                format!(
                    "there is no terminal to ask on (/dev/tty: {e}). Run the command from a \
                     terminal once (the credentials are cached), or set mfa_process (a command \
                     that prints the code) in the profile"
                )
            };
            CredentialsError::MfaCode {
                serial: serial.to_string(),
                reason,
            }
        })
    }
}

/// Shared state of one resolution.
pub struct Services {
    env: Env,
    profile: Properties,
    services: MemoryProfiles,
    /// The configured region of credential clients; when `None`, each client asks IMDS
    /// ([`Services::client_region`]), and without an answer uses global STS.
    pub region: Option<String>,
    transport: OnceLock<Arc<dyn Transport>>,
    custom_transport: Option<Arc<dyn Transport>>,
    /// `~/.aws/cli/cache` (None: no file cache).
    pub cli_cache: Option<JsonFileCache>,
    /// `~/.aws/sso/cache`.
    pub sso_cache: Option<JsonFileCache>,
    /// The MFA prompt.
    pub mfa: Arc<dyn MfaPrompt>,
    /// Variables added to the environment of `credential_process` children.
    pub child_env: Vec<(String, String)>,
    backoff: Duration,
    retrier: OnceLock<Arc<Retrier>>,
}

impl Services {
    /// Services for the selected profile's settings `profile`; `services_section` is the
    /// `[services NAME]` section it references, if any.
    pub fn new(
        env: Env,
        profile: Properties,
        services_section: Option<(String, Properties)>,
        region: Option<String>,
    ) -> Services {
        let mut services = MemoryProfiles::new();
        if let Some((name, section)) = services_section {
            services = services.services(&name, section);
        }
        Services {
            env,
            profile,
            services,
            region,
            transport: OnceLock::new(),
            custom_transport: None,
            cli_cache: None,
            sso_cache: None,
            mfa: Arc::new(TtyPrompt),
            child_env: Vec::new(),
            backoff: Duration::from_secs(1),
            retrier: OnceLock::new(),
        }
    }

    /// Sends HTTP through `transport` instead of the default client (tests).
    pub fn with_transport(mut self, transport: Arc<dyn Transport>) -> Services {
        self.custom_transport = Some(transport);
        self
    }

    /// Replaces the retry backoff base (tests).
    pub fn with_backoff(mut self, backoff: Duration) -> Services {
        self.backoff = backoff;
        self
    }

    /// The retry rules (and the quota and rate limiter they share) of every STS, IAM and SSO
    /// call of this resolution: `retry_mode`, `max_attempts` (see [`crate::retry`]). An invalid
    /// setting fails here, when a client is created, as botocore's client creation does.
    pub fn retrier(&self) -> Result<Arc<Retrier>, CredentialsError> {
        if let Some(r) = self.retrier.get() {
            return Ok(r.clone());
        }
        let config = RetryConfig::from_settings(&self.env, &self.profile)?;
        let retrier = Arc::new(Retrier::with_parts(
            config,
            self.backoff,
            crate::retry::monotonic_clock(),
            Arc::new(std::thread::sleep),
        ));
        Ok(self.retrier.get_or_init(|| retrier).clone())
    }

    /// The environment snapshot.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The transport for STS and SSO (built on first use; botocore's 60 s timeouts).
    pub fn transport(&self) -> Arc<dyn Transport> {
        if let Some(t) = &self.custom_transport {
            return t.clone();
        }
        self.transport
            .get_or_init(|| Arc::new(HttpClient::new(Duration::from_secs(60), true)))
            .clone()
    }

    /// The endpoint of `service` in `region`.
    pub fn endpoint(
        &self,
        service: Service,
        region: Option<&str>,
    ) -> Result<Endpoint, CredentialsError> {
        EndpointSettings {
            env: &self.env,
            profile: &self.profile,
            data: &self.services,
        }
        .resolve(service, region, None)
    }

    /// The region of a credential client created now: the configured one, else a new IMDS
    /// lookup. v2 creates a client per assume-role or web-identity fetch, each resolving the
    /// region anew (`credentials.py` `_get_client_creator` with `region_name=None`), so every
    /// hop without a configured region asks IMDS again.
    pub fn client_region(&self) -> Result<Option<String>, CredentialsError> {
        if let Some(r) = &self.region {
            return Ok(Some(r.clone()));
        }
        crate::imds_region(&self.env, &self.profile, self.custom_transport.clone())
    }

    /// The endpoint of `service` in `region`, `explicit_url` (`--endpoint-url`) first.
    pub fn endpoint_with_url(
        &self,
        service: Service,
        region: Option<&str>,
        explicit_url: Option<&str>,
    ) -> Result<Endpoint, CredentialsError> {
        EndpointSettings {
            env: &self.env,
            profile: &self.profile,
            data: &self.services,
        }
        .resolve(service, region, explicit_url)
    }

    /// An STS client for the credential region.
    pub fn sts(&self) -> Result<StsClient, CredentialsError> {
        let region = self.client_region()?;
        let endpoint = self.endpoint(Service::Sts, region.as_deref())?;
        Ok(StsClient::with_retrier(
            endpoint,
            self.transport(),
            self.retrier()?,
        ))
    }

    /// An STS client for unsigned calls (`AssumeRoleWithWebIdentity`): as in botocore, a custom
    /// endpoint needs no region when nothing is signed.
    pub fn sts_unsigned(&self) -> Result<StsClient, CredentialsError> {
        let region = self.client_region()?;
        let endpoint = match self.endpoint(Service::Sts, region.as_deref()) {
            // Only a configured endpoint URL without a region ends here; the signing region
            // of that endpoint is never used.
            Err(CredentialsError::NoRegion) => self.endpoint(Service::Sts, Some("us-east-1"))?,
            other => other?,
        };
        Ok(StsClient::with_retrier(
            endpoint,
            self.transport(),
            self.retrier()?,
        ))
    }
}
