//! Executes a [`Plan`]: builds the providers of each step and runs them in order.

use std::sync::{Arc, Mutex};

use crate::assume_role::{AssumeRoleProvider, WebIdentityProvider};
use crate::container::ContainerProvider;
use crate::env_provider::EnvProvider;
use crate::imds::ImdsProvider;
use crate::legacy::{BotoProvider, Ec2CredentialFileProvider};
use crate::plan::{Base, NamedSource, Plan, ProfileChain, StaticKeys, Step};
use crate::process::ProcessProvider;
use crate::refresh::SharedCredentials;
use crate::services::Services;
use crate::sso::SsoProvider;
use crate::{Credentials, CredentialsError, Provider};

/// Fixed credentials (static keys from a file).
struct StaticProvider(Credentials);

impl Provider for StaticProvider {
    fn method(&self) -> &'static str {
        self.0.method
    }
    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        Ok(Some(self.0.clone()))
    }
}

fn static_credentials(k: &StaticKeys) -> Credentials {
    Credentials {
        access_key_id: k.access_key_id.clone(),
        secret_access_key: k.secret_access_key.clone(),
        session_token: k.session_token.clone(),
        expiry: None,
        account_id: k.account_id.clone(),
        method: k.method,
    }
}

/// Resolved credentials and the refreshing holder that produced them.
pub struct Resolved {
    /// The credentials, fresh as of resolution.
    pub credentials: Credentials,
    /// Refreshes them in the reference's windows.
    pub source: Arc<SharedCredentials>,
}

impl std::fmt::Debug for Resolved {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Resolved")
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// A failed step of the chain.
#[derive(Debug)]
pub struct StepError {
    /// The reference's method name of the step (`assume-role`, `env`…).
    pub method: &'static str,
    /// The error.
    pub error: CredentialsError,
    /// Whether it happened in the deferred fetch (the STS / SSO call of an assume-role,
    /// web-identity or SSO step), which the reference runs only when the credentials are
    /// first read, outside `get_credentials()`.
    pub deferred: bool,
}

/// Runs plans against shared services.
pub struct ChainRunner {
    services: Arc<Services>,
    /// Why providers that found nothing did so, when their source failed
    /// ([`Provider::last_miss`]).
    misses: Mutex<Vec<String>>,
}

impl ChainRunner {
    /// A runner using `services` for the network and caches.
    pub fn new(services: Arc<Services>) -> ChainRunner {
        ChainRunner {
            services,
            misses: Mutex::new(Vec::new()),
        }
    }

    /// Why the providers that found no credentials (or whose deferred fetch failed) in the
    /// runs so far did so, when their source failed (the instance metadata service
    /// unreachable, an SSO token refresh failing…): one line each, in order.
    pub fn misses(&self) -> Vec<String> {
        self.misses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The services.
    pub fn services(&self) -> &Arc<Services> {
        &self.services
    }

    /// Runs the steps of `plan` in order: the first credentials win, any error aborts,
    /// `Ok(None)` when no provider had credentials.
    pub fn run(&self, plan: &Plan) -> Result<Option<Resolved>, CredentialsError> {
        self.run_reporting(plan).map_err(|e| e.error)
    }

    /// As [`run`](Self::run); an error comes with the method name of the step that failed.
    pub fn run_reporting(&self, plan: &Plan) -> Result<Option<Resolved>, StepError> {
        for step in &plan.steps {
            match self.run_step(step, plan) {
                Ok(Some(r)) => return Ok(Some(r)),
                Ok(None) => {}
                Err((error, deferred)) => {
                    return Err(StepError {
                        method: step.method(),
                        error,
                        deferred,
                    })
                }
            }
        }
        Ok(None)
    }

    /// Runs one step; the error says whether it came from the deferred fetch.
    fn run_step(
        &self,
        step: &Step,
        plan: &Plan,
    ) -> Result<Option<Resolved>, (CredentialsError, bool)> {
        let built = self.build_step(step, plan).map_err(|e| (e, false))?;
        match built {
            // Eager holders already hold their credentials, so only a deferred one can fail
            // here: the reference's `DeferredRefreshableCredentials` fetching on first use.
            Some(holder) => {
                let credentials = holder.get().map_err(|e| {
                    if let Some(miss) = holder.last_miss() {
                        self.misses
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push(miss);
                    }
                    (e, true)
                })?;
                Ok(Some(Resolved {
                    credentials,
                    source: holder,
                }))
            }
            None => Ok(None),
        }
    }

    /// Builds the holder of one step: eager providers run now (the reference loads them at
    /// chain time), deferred ones (assume-role, web identity, SSO) only when first read.
    fn build_step(
        &self,
        step: &Step,
        plan: &Plan,
    ) -> Result<Option<Arc<SharedCredentials>>, CredentialsError> {
        {
            let holder = match step {
                Step::Environment => {
                    self.eager(Arc::new(EnvProvider::new(self.services.env().clone())))?
                }
                Step::Profile(chain) => Some(self.profile_chain(chain, plan)?),
                Step::Ec2CredentialFile(path) => self.eager(Arc::new(
                    Ec2CredentialFileProvider::new(path, self.services.env()),
                ))?,
                Step::BotoConfig => self.eager(Arc::new(BotoProvider::new(self.services.env())))?,
                Step::Container => self.eager(Arc::new(ContainerProvider::new(
                    self.services.env().clone(),
                )))?,
                Step::InstanceMetadata => {
                    self.eager(Arc::new(ImdsProvider::new(plan.imds.clone())))?
                }
            };
            Ok(holder)
        }
    }

    /// Runs `provider` now (the reference loads these at chain time) and wraps the result.
    fn eager(
        &self,
        provider: Arc<dyn Provider>,
    ) -> Result<Option<Arc<SharedCredentials>>, CredentialsError> {
        let found = provider.provide()?;
        if found.is_none() {
            if let Some(miss) = provider.last_miss() {
                self.misses
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(miss);
            }
        }
        Ok(found.map(|c| Arc::new(SharedCredentials::with_initial(c, provider))))
    }

    fn named_source(
        &self,
        source: NamedSource,
        profile: &str,
        plan: &Plan,
    ) -> Result<Arc<SharedCredentials>, CredentialsError> {
        let provider: Arc<dyn Provider> = match source {
            NamedSource::Environment => Arc::new(EnvProvider::new(self.services.env().clone())),
            NamedSource::EcsContainer => {
                Arc::new(ContainerProvider::new(self.services.env().clone()))
            }
            NamedSource::Ec2InstanceMetadata => Arc::new(ImdsProvider::new(plan.imds.clone())),
        };
        self.eager(provider)?.ok_or_else(|| {
            CredentialsError::retrieval(
                source.name(),
                format!(
                    "No credentials found in credential_source referenced in profile {profile}"
                ),
            )
        })
    }

    fn profile_chain(
        &self,
        chain: &ProfileChain,
        plan: &Plan,
    ) -> Result<Arc<SharedCredentials>, CredentialsError> {
        let s = &self.services;
        let mut holder = match &chain.base {
            Base::Static(k) => {
                let c = static_credentials(k);
                Arc::new(SharedCredentials::with_initial(
                    c.clone(),
                    Arc::new(StaticProvider(c)),
                ))
            }
            // v2 loads the cached token at chain time, expired or not; the first use refreshes.
            Base::Login(step) => {
                let provider = Arc::new(crate::login::LoginProvider::new(step.clone(), s.clone()));
                let initial = provider.load_cached()?;
                Arc::new(SharedCredentials::with_initial(initial, provider))
            }
            Base::Process(p) => self
                .eager(Arc::new(ProcessProvider::new(
                    p.clone(),
                    s.child_env.clone(),
                )))?
                .expect("the process provider yields credentials or fails"),
            Base::Named(source) => {
                let profile = chain
                    .roles
                    .first()
                    .map_or(plan.profile.as_str(), |r| r.profile.as_str());
                self.named_source(*source, profile, plan)?
            }
            // The CLI file-caches only its top-level web-identity provider; as the source of
            // a role chain it is resolved by the profile sub-chain, cached in memory only.
            Base::WebIdentity(w) => Arc::new(SharedCredentials::deferred(Arc::new(
                WebIdentityProvider::new(w.clone(), s.clone()).file_cached(chain.roles.is_empty()),
            ))),
            Base::Sso(step) => Arc::new(SharedCredentials::deferred(Arc::new(SsoProvider::new(
                step.clone(),
                s.clone(),
            )))),
        };
        for role in &chain.roles {
            holder = Arc::new(SharedCredentials::deferred(Arc::new(
                AssumeRoleProvider::new(role.clone(), holder, s.clone()),
            )));
        }
        Ok(holder)
    }
}
