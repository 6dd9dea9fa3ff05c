//! Credential resolution as the AWS CLI does it: providers, the default chain, caching and
//! refresh.
//!
//! * [`Session`] — the shared files and the selected profile; [`Session::plan`] decides which
//!   providers the chain tries (no I/O), [`Session::resolve`] runs them.
//! * [`resolve_credentials`] — one call for "the credentials of this profile and the provider
//!   that found them" (used by `configure list` and `export-credentials`).
//! * [`Credentials`] — the value; `Debug`/`Display` never show the secret or the token.
//! * [`refresh::RefreshingCredentials`] — async refresh in the reference's 900 s / 600 s windows
//!   with one refresh in flight.
//! * [`cache`] — the `~/.aws/cli/cache` JSON cache shared with the AWS CLI.
//! * [`login`] — the `login` provider of `aws login` sessions (DPoP-bound refresh) and the
//!   login flow itself.
//! * [`sso`] — the SSO provider, `sso login` (device and PKCE flows) and `sso logout`; what the
//!   user sees during a login is the caller's ([`sso::LoginUi`]).
//!
//! Nothing here builds an HTTP client, a TLS configuration or a runtime unless a provider that
//! needs the network actually runs.

pub mod assume_role;
pub mod cache;
pub mod chain;
pub mod container;
mod credentials;
pub mod endpoint;
pub mod env_provider;
mod error;
pub mod explain;
pub mod http;
pub mod iam;
pub mod imds;
pub mod key_session;
pub mod legacy;
pub mod login;
pub mod mfa;
pub mod plan;
pub mod process;
pub mod profiles;
pub mod refresh;
pub mod retry;
pub mod services;
mod settings;
mod signing;
pub mod single_flight;
pub mod sso;
pub mod sts;
#[cfg(test)]
mod testing;
pub mod time;

use std::sync::Arc;

pub use crate::credentials::{Credentials, Secret};
pub use crate::error::{CredentialsError, ServiceError};
pub use chain::Resolved;
pub use plan::Plan;
pub use profiles::ProfileData;
pub use services::{MfaPrompt, TtyPrompt};

use awsid_profile::{Env, Locations, ProfileSelection, ProfileSet, Properties};

/// A source of credentials.
pub trait Provider: Send + Sync {
    /// The reference's method name (`env`, `assume-role`, `iam-role`…).
    fn method(&self) -> &'static str;
    /// Fetches credentials: `Ok(None)` when this provider is not configured or found none.
    fn provide(&self) -> Result<Option<Credentials>, CredentialsError>;
    /// Why the last [`provide`](Self::provide) found none (or failed with the reference's
    /// summary), when its source failed: the instance metadata service unreachable or erring,
    /// an SSO token refresh that failed — the endpoint and the error, never a secret. The
    /// reference says nothing more (`Unable to locate credentials`, `Token has expired and
    /// refresh failed`); a long-running awsid process names the cause.
    fn last_miss(&self) -> Option<String> {
        None
    }
}

/// The `User-Agent` sent to STS, SSO and IMDS.
pub fn user_agent() -> String {
    format!(
        "awsid/{} md/credentials os/{}",
        env!("CARGO_PKG_VERSION"),
        std::env::consts::OS
    )
}

/// Options of one resolution.
#[derive(Clone, Default)]
pub struct ResolveOptions {
    /// `--region`: the region of credential clients (STS), before `AWS_REGION` & co.
    pub region: Option<String>,
    /// The MFA prompt (default: the terminal).
    pub mfa: Option<Arc<dyn MfaPrompt>>,
    /// Variables added to the environment of `credential_process` children.
    pub child_env: Vec<(String, String)>,
    /// Send HTTP through this transport instead of the default client.
    pub transport: Option<Arc<dyn http::Transport>>,
    /// `DurationSeconds` for the selected profile's own role, instead of its
    /// `duration_seconds` (`exec --duration`); ignored when the profile assumes no role.
    pub role_duration: Option<i64>,
}

/// A failed resolution and the provider that failed.
#[derive(Debug)]
pub struct ResolveError {
    /// The method name of the provider that failed, if one ran.
    pub provider: Option<&'static str>,
    /// The error.
    pub error: CredentialsError,
    /// Whether it happened in the deferred fetch of an assume-role, web-identity or SSO step
    /// (v2 reports those errors unwrapped, as the botocore exception they are).
    pub deferred: bool,
}

/// The shared files, the environment and the selected profile of one command.
pub struct Session {
    env: Env,
    locations: Locations,
    profiles: ProfileSet,
    selection: ProfileSelection,
}

impl Session {
    /// Reads both shared files for `env`; `profile_flag` is `--profile`.
    pub fn load(env: &Env, profile_flag: Option<&str>) -> Result<Session, CredentialsError> {
        let locations = Locations::from_env(env);
        let profiles = ProfileSet::load(&locations)?;
        Ok(Session::from_parts(
            env.clone(),
            locations,
            profiles,
            profile_flag,
        ))
    }

    /// A session over already-loaded files.
    pub fn from_parts(
        env: Env,
        locations: Locations,
        profiles: ProfileSet,
        profile_flag: Option<&str>,
    ) -> Session {
        let selection = ProfileSelection::resolve(profile_flag, &env);
        Session {
            env,
            locations,
            profiles,
            selection,
        }
    }

    /// The selected profile.
    pub fn selection(&self) -> &ProfileSelection {
        &self.selection
    }

    /// The profile data.
    pub fn profiles(&self) -> &ProfileSet {
        &self.profiles
    }

    /// The environment.
    pub fn env(&self) -> &Env {
        &self.env
    }

    /// The selected profile's merged settings (empty when it does not exist).
    pub fn profile_settings(&self) -> Properties {
        self.profiles
            .profile(&self.selection.name)
            .cloned()
            .unwrap_or_default()
    }

    /// The chain plan for the selected profile (no I/O).
    pub fn plan(&self) -> Result<Plan, CredentialsError> {
        plan::plan(
            &self.profiles,
            &self.env,
            &self.selection.name,
            self.selection.is_explicit(),
            self.selection.is_selected(),
        )
    }

    /// The region for credential clients: `region_flag`, `AWS_REGION`, `AWS_DEFAULT_REGION`,
    /// the profile's `region`.
    pub fn region(&self, region_flag: Option<&str>) -> Option<String> {
        endpoint::session_region(region_flag, &self.env, &self.profile_settings())
    }

    /// The region of the instance this runs on, from IMDS (`placement/availability-zone`),
    /// with the selected profile's IMDS settings: v2's last region source (`awscli/clidriver.py`
    /// `_construct_cli_region_chain`, `IMDSRegionProvider`). `None` when IMDS is disabled,
    /// unreachable or has no answer; an error where v2's lookup raises (an invalid IMDS
    /// endpoint, mode or timeout setting; no token while IMDSv1 is disabled).
    pub fn imds_region(&self) -> Result<Option<String>, CredentialsError> {
        imds_region(&self.env, &self.profile_settings(), None)
    }

    /// The region of a client created now, as v2's `Session._resolve_region_name` finds it:
    /// [`Session::region`], else a fresh IMDS lookup ([`Session::imds_region`]).
    pub fn client_region(
        &self,
        region_flag: Option<&str>,
    ) -> Result<Option<String>, CredentialsError> {
        match self.region(region_flag) {
            Some(r) => Ok(Some(r)),
            None => self.imds_region(),
        }
    }

    /// Services (endpoints, caches, prompt) for this session.
    pub fn services(&self, options: &ResolveOptions) -> services::Services {
        let props = self.profile_settings();
        let section = props
            .get_str("services")
            .and_then(|name| Some((name.to_string(), self.profiles.services(name)?.clone())));
        let mut s = services::Services::new(
            self.env.clone(),
            props,
            section,
            self.region(options.region.as_deref()),
        );
        if self.locations.home.is_some() {
            s.cli_cache = Some(cache::JsonFileCache::new(self.locations.cli_cache_dir()));
            s.sso_cache = Some(cache::JsonFileCache::new(self.locations.sso_cache_dir()));
        }
        if let Some(m) = &options.mfa {
            s.mfa = m.clone();
        }
        if let Some(t) = &options.transport {
            s = s.with_transport(t.clone());
        }
        s.child_env = options.child_env.clone();
        s
    }

    /// An STS client for a command's own calls (`sts get-caller-identity`): `endpoint_url`
    /// (`--endpoint-url`) beats the configured endpoint URLs; the region is that of
    /// [`Session::region`].
    pub fn command_sts_client(
        &self,
        options: &ResolveOptions,
        endpoint_url: Option<&str>,
    ) -> Result<sts::StsClient, CredentialsError> {
        let services = self.services(options);
        let props = self.profile_settings();
        let region = self.region(options.region.as_deref());
        let endpoint = endpoint::EndpointSettings {
            env: &self.env,
            profile: &props,
            data: &self.profiles,
        }
        .resolve(endpoint::Service::Sts, region.as_deref(), endpoint_url)?;
        Ok(sts::StsClient::with_retrier(
            endpoint,
            services.transport(),
            services.retrier()?,
        ))
    }

    /// An IAM client for a command's own calls (`vault rotate`): `endpoint_url` beats the
    /// configured endpoint URLs (`AWS_ENDPOINT_URL_IAM`, `AWS_ENDPOINT_URL`, `[services]`,
    /// `endpoint_url`).
    pub fn command_iam_client(
        &self,
        options: &ResolveOptions,
        endpoint_url: Option<&str>,
    ) -> Result<iam::IamClient, CredentialsError> {
        let services = self.services(options);
        let props = self.profile_settings();
        let region = self.region(options.region.as_deref());
        let endpoint = endpoint::EndpointSettings {
            env: &self.env,
            profile: &props,
            data: &self.profiles,
        }
        .resolve(endpoint::Service::Iam, region.as_deref(), endpoint_url)?;
        Ok(iam::IamClient::new(sts::StsClient::with_retrier(
            endpoint,
            services.transport(),
            services.retrier()?,
        )))
    }

    /// A session of the long-term keys `keys` lasting `duration` seconds, cached and shared
    /// across processes ([`key_session`]).
    pub fn key_session(
        &self,
        options: &ResolveOptions,
        keys: &Credentials,
        duration: i64,
    ) -> Result<Credentials, CredentialsError> {
        key_session::session(&self.services(options), keys, duration)
    }

    /// Plans and runs the chain: `Ok(None)` when no provider found credentials.
    pub fn resolve(&self, options: &ResolveOptions) -> Result<Option<Resolved>, CredentialsError> {
        self.resolve_reporting(options).map_err(|e| e.error)
    }

    /// As [`Session::resolve`]; an error names the provider that failed (`None` when the
    /// configuration was rejected before any provider ran).
    pub fn resolve_reporting(
        &self,
        options: &ResolveOptions,
    ) -> Result<Option<Resolved>, ResolveError> {
        self.resolve_explaining(options).0
    }

    /// As [`Session::resolve_reporting`], with why providers found nothing when their source
    /// failed ([`Provider::last_miss`]: the instance metadata service unreachable…), so that a
    /// long-running caller can say more than `Unable to locate credentials`.
    pub fn resolve_explaining(
        &self,
        options: &ResolveOptions,
    ) -> (Result<Option<Resolved>, ResolveError>, Vec<String>) {
        let mut plan = match self.plan() {
            Ok(plan) => plan,
            Err(error) => {
                let e = ResolveError {
                    provider: None,
                    error,
                    deferred: false,
                };
                return (Err(e), Vec::new());
            }
        };
        if let Some(secs) = options.role_duration {
            plan.override_role_duration(secs);
        }
        let runner = chain::ChainRunner::new(Arc::new(self.services(options)));
        let result = runner.run_reporting(&plan).map_err(|e| ResolveError {
            provider: Some(e.method),
            error: e.error,
            deferred: e.deferred,
        });
        (result, runner.misses())
    }
}

/// v2's IMDS region lookup with the settings of `env` and `profile`, through `transport` when
/// given (tests) or a client with the IMDS timeout.
pub(crate) fn imds_region(
    env: &Env,
    profile: &Properties,
    transport: Option<Arc<dyn http::Transport>>,
) -> Result<Option<String>, CredentialsError> {
    let config = imds::ImdsConfig::from_settings(env, profile)?;
    let provider = match transport {
        Some(t) => imds::ImdsProvider::with_transport(config, t),
        None => imds::ImdsProvider::new(config),
    };
    let region = provider.region()?;
    tracing::debug!("region from the instance metadata service: {region:?}");
    Ok(region)
}

/// Resolves the chain for `profile_flag` (`--profile`, or `None` for the environment's choice)
/// and returns the credentials; their `method` names the provider that found them.
pub fn resolve_credentials(
    env: &Env,
    profile_flag: Option<&str>,
) -> Result<Option<Credentials>, CredentialsError> {
    let session = Session::load(env, profile_flag)?;
    Ok(session
        .resolve(&ResolveOptions::default())?
        .map(|r| r.credentials))
}
