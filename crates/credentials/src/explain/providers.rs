//! The walk over the default chain: each provider's status and reason, and the chosen
//! provider's chain (base and role hops) with sources and cache entries.

use awsid_profile::{Properties, SharedFile};
use time::OffsetDateTime;

use super::model::*;
use super::sources::Origins;
use crate::cache::{role_cache_key, sso_cache_key, sso_token_key, EntryState, JsonFileCache};
use crate::plan::{self, Base, NamedSource, Plan, ProfileChain, RoleStep, Step};
use crate::{CredentialsError, Provider, Session};

/// The default chain of the aws CLI v2, in order (`create_credential_resolver` and
/// `ProfileProviderBuilder.providers`).
pub(super) const ORDER: [&str; 12] = [
    "env",
    "assume-role",
    "assume-role-with-web-identity",
    "sso",
    "shared-credentials-file",
    "login",
    "custom-process",
    "config-file",
    "ec2-credentials-file",
    "boto-config",
    "container-role",
    "iam-role",
];

/// What the walk found.
pub(super) struct Walk {
    pub providers: Vec<ProviderReport>,
    pub outcome: Outcome,
    pub error: Option<ErrorReport>,
}

struct Walker<'a> {
    session: &'a Session,
    origins: &'a Origins<'a>,
    now: OffsetDateTime,
    name: String,
    props: Properties,
    reports: Vec<ProviderReport>,
}

pub(super) fn walk(session: &Session, origins: &Origins<'_>, now: OffsetDateTime) -> Walk {
    let w = Walker {
        session,
        origins,
        now,
        name: session.selection().name.clone(),
        props: session.profile_settings(),
        reports: Vec::new(),
    };
    match session.plan() {
        Err(e) => w.rejected(e),
        Ok(plan) => w.planned(&plan),
    }
}

fn outcome(status: OutcomeStatus, provider: Option<&'static str>) -> Outcome {
    Outcome {
        status,
        provider,
        candidates: Vec::new(),
        base: None,
        hops: Vec::new(),
        source_profiles: Vec::new(),
    }
}

impl Walker<'_> {
    fn push(&mut self, provider: &'static str, status: Status, reason: impl Into<String>) {
        self.reports.push(ProviderReport {
            provider,
            status,
            reason: reason.into(),
        });
    }

    /// Reports every provider of `ORDER` not yet reported as never asked.
    fn rest_not_reached(&mut self, why: &str) {
        for p in ORDER.iter().skip(self.reports.len()) {
            self.push(p, Status::NotReached, why);
        }
    }

    /// Reports providers up to (excluding) `until` as not configured, with their reasons.
    fn not_configured_until(&mut self, until: &str) {
        while let Some(&p) = ORDER.get(self.reports.len()) {
            if p == until {
                break;
            }
            let (status, reason) = self.why_not(p);
            self.push(p, status, reason);
        }
    }

    /// The plan rejected the configuration: the error, and the provider that raises it.
    fn rejected(mut self, e: CredentialsError) -> Walk {
        let provider = self.blame();
        match provider {
            Some(p) => {
                self.not_configured_until(p);
                self.push(p, Status::Error, e.to_string());
                self.rest_not_reached("the resolution stops at the error above");
            }
            None => self.rest_not_reached(
                "the configuration is rejected before any provider runs (see error)",
            ),
        }
        Walk {
            providers: self.reports,
            outcome: outcome(OutcomeStatus::Error, provider),
            error: Some(ErrorReport {
                provider,
                message: e.to_string(),
            }),
        }
    }

    /// The provider whose configuration the plan rejected (the order of the plan's checks).
    fn blame(&self) -> Option<&'static str> {
        let s = self.session;
        let sel = s.selection();
        if sel.is_selected() && s.profiles.profile(&sel.name).is_none() {
            return None;
        }
        if crate::imds::ImdsConfig::from_settings(&s.env, &self.props).is_err() {
            return None;
        }
        if plan::has_assume_role_vars(&self.props) {
            return Some("assume-role");
        }
        if plan::web_identity(&s.env, &self.props, !sel.is_explicit()).is_err() {
            return Some("assume-role-with-web-identity");
        }
        if plan::sso(&s.profiles, &sel.name, &self.props).is_err() {
            return Some("sso");
        }
        let creds = s.profiles.credentials_section(&sel.name);
        if plan::static_keys(creds, "shared-credentials-file").is_err() {
            return Some("shared-credentials-file");
        }
        if plan::static_keys(s.profiles.config_profile(&sel.name), "config-file").is_err() {
            return Some("config-file");
        }
        None
    }

    fn planned(mut self, plan: &Plan) -> Walk {
        if plan.steps.first() == Some(&Step::Environment) {
            return self.environment();
        }
        if let Some(chain) = plan.profile_chain() {
            return self.profile_chain(chain, plan);
        }
        self.not_configured_until("ec2-credentials-file");
        let mut candidates = Vec::new();
        for step in &plan.steps {
            let method = step.method();
            self.not_configured_until(method);
            let result = match step {
                Step::Ec2CredentialFile(path) => {
                    crate::legacy::Ec2CredentialFileProvider::new(path, &self.session.env).provide()
                }
                Step::BotoConfig => crate::legacy::BotoProvider::new(&self.session.env).provide(),
                Step::Container => return self.container(),
                Step::InstanceMetadata => {
                    self.push(
                        method,
                        Status::NeedsNetwork,
                        format!(
                            "asks the instance metadata service at {} for a role's credentials \
                             (not contacted: run with --resolve); with no answer there are no \
                             credentials",
                            plan.imds.base_url
                        ),
                    );
                    candidates.push(method);
                    continue;
                }
                Step::Environment | Step::Profile(_) => unreachable!("handled above"),
            };
            match result {
                Ok(Some(c)) => {
                    self.push(method, Status::Chosen, "its file has a key pair");
                    self.rest_not_reached("an earlier provider gives the credentials");
                    let mut out = outcome(OutcomeStatus::Chosen, Some(method));
                    out.base = Some(BaseReport {
                        provider: method,
                        profile: None,
                        settings: vec![Setting {
                            name: "access_key_id".into(),
                            value: mask(&c.access_key_id),
                            masked: true,
                            source: Source::Default,
                        }],
                        cache: None,
                        token_cache: None,
                        notes: Vec::new(),
                    });
                    return self.finish(out, None);
                }
                Ok(None) => {
                    let (_, reason) = self.why_not(method);
                    self.push(method, Status::NoCredentials, reason);
                }
                Err(e) => return self.failed(method, e),
            }
        }
        self.not_configured_until("");
        let status = if candidates.is_empty() {
            OutcomeStatus::None
        } else {
            OutcomeStatus::Undetermined
        };
        let mut out = outcome(status, None);
        out.candidates = candidates;
        self.finish(out, None)
    }

    fn finish(self, outcome: Outcome, error: Option<ErrorReport>) -> Walk {
        Walk {
            providers: self.reports,
            outcome,
            error,
        }
    }

    /// `provider` fails locally with `e` (no service was needed to know).
    fn failed(mut self, provider: &'static str, e: CredentialsError) -> Walk {
        self.push(provider, Status::Error, e.to_string());
        self.rest_not_reached("the resolution stops at the error above");
        let error = ErrorReport {
            provider: Some(provider),
            message: e.to_string(),
        };
        self.finish(outcome(OutcomeStatus::Chosen, Some(provider)), Some(error))
    }

    fn environment(mut self) -> Walk {
        let env = &self.session.env;
        match crate::env_provider::EnvProvider::new(env.clone()).provide() {
            Ok(_) => {
                self.push("env", Status::Chosen, "AWS_ACCESS_KEY_ID is set");
                self.rest_not_reached("the environment provider gives the credentials");
                let mut out = outcome(OutcomeStatus::Chosen, Some("env"));
                let settings = [
                    ("AWS_ACCESS_KEY_ID", true),
                    ("AWS_SECRET_ACCESS_KEY", true),
                    ("AWS_SECURITY_TOKEN", true),
                    ("AWS_SESSION_TOKEN", true),
                    ("AWS_CREDENTIAL_EXPIRATION", false),
                    ("AWS_ACCOUNT_ID", false),
                ]
                .iter()
                .filter(|(v, _)| env.get_non_empty(v).is_some())
                .filter_map(|(v, secret)| self.origins.env_setting(v, *secret))
                .collect();
                out.base = Some(BaseReport {
                    provider: "env",
                    profile: None,
                    settings,
                    cache: None,
                    token_cache: None,
                    notes: Vec::new(),
                });
                self.finish(out, None)
            }
            Err(e) => self.failed("env", e),
        }
    }

    fn container(mut self) -> Walk {
        let env = &self.session.env;
        let url = match crate::container::endpoint(env) {
            Ok(crate::container::ContainerEndpoint::Url(u)) => u,
            Ok(crate::container::ContainerEndpoint::NotConfigured) => unreachable!("planned"),
            Err(e) => return self.failed("container-role", e),
        };
        self.push(
            "container-role",
            Status::Chosen,
            format!("fetches credentials from {url} (not contacted: run with --resolve)"),
        );
        self.rest_not_reached("the container provider gives the credentials or fails");
        let mut settings = Vec::new();
        for var in [
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        ] {
            settings.extend(self.origins.env_setting(var, false));
        }
        settings.extend(
            self.origins
                .env_setting("AWS_CONTAINER_AUTHORIZATION_TOKEN", true),
        );
        let mut out = outcome(OutcomeStatus::Chosen, Some("container-role"));
        out.base = Some(BaseReport {
            provider: "container-role",
            profile: None,
            settings,
            cache: None,
            token_cache: None,
            notes: vec![format!("GET {url}")],
        });
        self.finish(out, None)
    }

    /// Why `provider` does not apply to the selected profile (status and one sentence).
    fn why_not(&self, provider: &str) -> (Status, String) {
        let s = self.session;
        let p = &self.name;
        let explicit = s.selection().is_explicit();
        let missing = s.profiles.profile(p).is_none();
        let no_profile = || format!("profile {p} does not exist");
        let nc = |text: String| (Status::NotConfigured, text);
        match provider {
            "env" if explicit => (
                Status::Skipped,
                "--profile was given: the CLI leaves the environment provider out".into(),
            ),
            "env" => nc("AWS_ACCESS_KEY_ID is not set (or empty)".into()),
            _ if missing && ORDER[1..8].contains(&provider) => nc(no_profile()),
            "assume-role" if self.props.contains("role_arn") => nc(format!(
                "profile {p} has role_arn with web_identity_token_file: that is web identity"
            )),
            "assume-role" => nc(format!("profile {p} has no role_arn")),
            "assume-role-with-web-identity" if explicit => nc(format!(
                "profile {p} has no web_identity_token_file (AWS_WEB_IDENTITY_TOKEN_FILE is \
                 not used with --profile)"
            )),
            "assume-role-with-web-identity" => nc(format!(
                "neither AWS_WEB_IDENTITY_TOKEN_FILE nor profile {p}'s web_identity_token_file \
                 is set"
            )),
            "sso" => nc(format!(
                "profile {p} has neither sso_account_id nor sso_role_name"
            )),
            "shared-credentials-file" => nc(format!(
                "the credentials file has no aws_access_key_id in section [{p}]"
            )),
            "login" => nc(format!("profile {p} has no login_session")),
            "custom-process" => nc(format!("profile {p} has no credential_process")),
            "config-file" => nc(format!(
                "the config file has no aws_access_key_id for profile {p}"
            )),
            "ec2-credentials-file" => nc("AWS_CREDENTIAL_FILE is not set".into()),
            "boto-config" => nc(match s.env.get("BOTO_CONFIG") {
                Some(path) => format!("no [Credentials] key pair in BOTO_CONFIG ({path})"),
                None => "no [Credentials] key pair in /etc/boto.cfg or ~/.boto".into(),
            }),
            "container-role" => nc("neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor \
                 AWS_CONTAINER_CREDENTIALS_FULL_URI is set"
                .into()),
            "iam-role" => (
                Status::Skipped,
                "instance metadata is disabled (AWS_EC2_METADATA_DISABLED=true)".into(),
            ),
            _ => nc("not configured".into()),
        }
    }

    fn profile_chain(mut self, chain: &ProfileChain, plan: &Plan) -> Walk {
        let method = chain.method();
        self.not_configured_until(method);
        let mut out = outcome(OutcomeStatus::Chosen, Some(method));
        out.hops = (chain.roles.iter().enumerate())
            .map(|(i, r)| self.hop(r, i, &chain.base))
            .collect();
        let base_profile = match chain.roles.first() {
            None => Some(self.name.clone()),
            Some(_) if matches!(chain.base, Base::Named(_)) => None,
            Some(first) => self
                .session
                .profiles
                .profile(&first.profile)
                .and_then(|p| p.get_str("source_profile"))
                .map(str::to_string),
        };
        out.source_profiles = chain
            .roles
            .iter()
            .rev()
            .map(|r| r.profile.clone())
            .collect();
        if !chain.roles.is_empty() {
            out.source_profiles.extend(base_profile.clone());
        }
        let (base, error) = self.base(chain, base_profile.as_deref(), plan);
        out.base = Some(base);
        let reason = match (&error, chain.roles.last()) {
            (Some(e), _) => e.clone(),
            (None, Some(r)) => format!(
                "profile {} has role_arn {}: {} role hop(s) from {}",
                r.profile,
                r.role_arn,
                chain.roles.len(),
                chain.base.method()
            ),
            (None, None) => self.chosen_reason(method),
        };
        let status = if error.is_some() {
            Status::Error
        } else {
            Status::Chosen
        };
        self.push(method, status, reason);
        self.rest_not_reached("a profile provider gives the credentials or fails");
        let error = error.map(|message| ErrorReport {
            provider: Some(method),
            message,
        });
        self.finish(out, error)
    }

    fn chosen_reason(&self, method: &str) -> String {
        let p = &self.name;
        match method {
            "shared-credentials-file" => {
                format!("the credentials file has aws_access_key_id in section [{p}]")
            }
            "config-file" => format!("the config file has aws_access_key_id for profile {p}"),
            "custom-process" => format!("profile {p} has credential_process"),
            "sso" => format!("profile {p} has SSO settings"),
            _ => format!("profile {p} has web identity settings"),
        }
    }

    /// Hop `index` of a chain starting at `base`.
    fn hop(&self, r: &RoleStep, index: usize, base: &Base) -> HopReport {
        let o = self.origins;
        let get = |k: &str| o.profile_setting(&r.profile, k, false);
        let fallback = |name: &str, value: &str| Setting {
            name: name.into(),
            value: value.into(),
            masked: false,
            source: Source::Default,
        };
        let cache = self.cli_cache().map(|c| {
            let key = role_cache_key(&crate::cache::RoleKeyParams {
                role_arn: r.role_arn.clone(),
                role_session_name: r.role_session_name.clone(),
                external_id: r.external_id.clone(),
                serial_number: r.mfa_serial.clone(),
                duration_seconds: r.duration_seconds,
            });
            self.cache_report(&c, &key)
        });
        let mfa = r
            .mfa_serial
            .as_ref()
            .map(|serial| self.mfa(r, serial, index, base));
        // STS caps a role assumed with a session at one hour (crate::assume_role).
        let duration_used = match (r.duration_seconds, &mfa) {
            (Some(d), Some(m))
                if m.session.as_ref().and_then(|s| s.used) == Some(true)
                    && d > crate::mfa::CHAINED_ROLE_MAX_SECS =>
            {
                Some(crate::mfa::CHAINED_ROLE_MAX_SECS)
            }
            (d, _) => d,
        };
        HopReport {
            profile: r.profile.clone(),
            role_arn: get("role_arn").unwrap_or_else(|| fallback("role_arn", &r.role_arn)),
            source: get("credential_source")
                .or_else(|| get("source_profile"))
                .unwrap_or_else(|| fallback("source_profile", "")),
            role_session_name: get("role_session_name"),
            external_id: get("external_id"),
            mfa_serial: get("mfa_serial"),
            duration_seconds: get("duration_seconds"),
            duration_used,
            cache,
            mfa,
        }
    }

    /// The MFA part of hop `index` (which has `mfa_serial = serial`).
    fn mfa(&self, r: &RoleStep, serial: &str, index: usize, base: &Base) -> MfaReport {
        use crate::mfa::CodeSource;
        let code_source = match r.mfa.source {
            CodeSource::Terminal => "terminal",
            CodeSource::Process(_) => "mfa_process",
            CodeSource::Ykman(_) => "ykman",
        };
        let session = r.mfa.session.then(|| {
            // The session needs long-term keys as the hop's source (crate::assume_role).
            let used = match base {
                _ if index > 0 => Some(false),
                Base::Static(k) => Some(k.session_token.is_none()),
                Base::Process(_) => None,
                Base::Named(NamedSource::Environment) => None,
                _ => Some(false),
            };
            MfaSessionReport {
                serial: serial.to_string(),
                duration: r
                    .mfa
                    .session_duration
                    .unwrap_or(crate::mfa::DEFAULT_SESSION_SECS),
                used,
                cache: self
                    .cli_cache()
                    .map(|c| self.cache_report(&c, &crate::mfa::session_cache_key(serial))),
            }
        });
        MfaReport {
            code_source,
            session,
        }
    }

    fn cli_cache(&self) -> Option<JsonFileCache> {
        let l = &self.session.locations;
        l.home
            .as_ref()
            .map(|_| JsonFileCache::new(l.cli_cache_dir()))
    }

    fn cache_report(&self, cache: &JsonFileCache, key: &str) -> CacheReport {
        let info = cache.inspect(key, self.now);
        let (state, reason) = match info.state {
            EntryState::Absent => (CacheState::Absent, None),
            EntryState::Fresh => (CacheState::Fresh, None),
            EntryState::Expiring => (CacheState::Expiring, None),
            EntryState::Expired => (CacheState::Expired, None),
            EntryState::Unusable(why) => (CacheState::Unusable, Some(why)),
        };
        CacheReport {
            path: info.path.display().to_string(),
            state,
            expiration: info.expiration.map(crate::time::format_z),
            remaining_seconds: info.expiration.map(|e| (e - self.now).whole_seconds()),
            reason,
        }
    }

    /// The base of a profile chain, and the error a local check finds in it.
    fn base(
        &self,
        chain: &ProfileChain,
        profile: Option<&str>,
        plan: &Plan,
    ) -> (BaseReport, Option<String>) {
        let o = self.origins;
        let mut base = BaseReport {
            provider: chain.base.method(),
            profile: profile.map(str::to_string),
            settings: Vec::new(),
            cache: None,
            token_cache: None,
            notes: Vec::new(),
        };
        let p = profile.unwrap_or(&self.name);
        let mut error = None;
        match &chain.base {
            Base::Static(k) => {
                let file = if k.method == "shared-credentials-file" {
                    SharedFile::Credentials
                } else {
                    SharedFile::Config
                };
                for (key, secret) in [
                    ("aws_access_key_id", true),
                    ("aws_secret_access_key", true),
                    ("aws_security_token", true),
                    ("aws_session_token", true),
                    ("aws_account_id", false),
                ] {
                    base.settings.extend(o.file_setting(file, p, key, secret));
                }
            }
            Base::Process(_) => {
                base.settings
                    .extend(o.profile_setting(p, "credential_process", false));
                base.notes.push(
                    "runs the command and reads its JSON (not run by explain; the CLI does not \
                     cache the result)"
                        .into(),
                );
            }
            Base::Named(source) => {
                let first = chain.roles.first().map_or(p, |r| r.profile.as_str());
                base.provider = match source {
                    NamedSource::Environment => "env",
                    NamedSource::Ec2InstanceMetadata => "iam-role",
                    NamedSource::EcsContainer => "container-role",
                };
                base.settings
                    .extend(o.profile_setting(first, "credential_source", false));
                error = self.named_source(*source, first, plan, &mut base);
            }
            Base::WebIdentity(w) => {
                let env_first = chain.roles.is_empty() && !self.session.selection().is_explicit();
                for (var, key) in [
                    ("AWS_ROLE_ARN", "role_arn"),
                    ("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file"),
                    ("AWS_ROLE_SESSION_NAME", "role_session_name"),
                ] {
                    base.settings
                        .extend(o.env_or_profile(env_first, var, p, key));
                }
                if !std::path::Path::new(&w.token_file).is_file() {
                    base.notes.push(format!(
                        "the token file {} does not exist (yet): the call will fail unless it \
                         appears",
                        w.token_file
                    ));
                }
                if chain.roles.is_empty() {
                    base.cache = self.cli_cache().map(|c| {
                        let key = role_cache_key(&crate::cache::RoleKeyParams {
                            role_arn: w.role_arn.clone(),
                            role_session_name: w.role_session_name.clone(),
                            ..Default::default()
                        });
                        self.cache_report(&c, &key)
                    });
                }
            }
            Base::Sso(step) => self.sso_base(step, &mut base),
            Base::Login(step) => error = self.login_base(step, &mut base),
        }
        (base, error)
    }

    fn named_source(
        &self,
        source: NamedSource,
        profile: &str,
        plan: &Plan,
        base: &mut BaseReport,
    ) -> Option<String> {
        let none = || {
            CredentialsError::retrieval(
                source.name(),
                format!(
                    "No credentials found in credential_source referenced in profile {profile}"
                ),
            )
            .to_string()
        };
        let env = &self.session.env;
        match source {
            NamedSource::Environment => {
                match crate::env_provider::EnvProvider::new(env.clone()).provide() {
                    Ok(Some(_)) => {
                        for (var, secret) in [
                            ("AWS_ACCESS_KEY_ID", true),
                            ("AWS_SECRET_ACCESS_KEY", true),
                            ("AWS_SESSION_TOKEN", true),
                        ] {
                            base.settings.extend(self.origins.env_setting(var, secret));
                        }
                        None
                    }
                    Ok(None) => Some(none()),
                    Err(e) => Some(e.to_string()),
                }
            }
            NamedSource::Ec2InstanceMetadata if plan.imds.disabled => Some(none()),
            NamedSource::Ec2InstanceMetadata => {
                base.notes.push(format!(
                    "asks the instance metadata service at {} (not contacted: run with \
                     --resolve)",
                    plan.imds.base_url
                ));
                None
            }
            NamedSource::EcsContainer => match crate::container::endpoint(env) {
                Ok(crate::container::ContainerEndpoint::NotConfigured) => Some(none()),
                Ok(crate::container::ContainerEndpoint::Url(u)) => {
                    base.notes.push(format!(
                        "fetches credentials from {u} (not contacted: run with --resolve)"
                    ));
                    None
                }
                Err(e) => Some(e.to_string()),
            },
        }
    }

    fn sso_base(&self, step: &crate::plan::SsoStep, base: &mut BaseReport) {
        let o = self.origins;
        for key in [
            "sso_session",
            "sso_start_url",
            "sso_region",
            "sso_account_id",
            "sso_role_name",
        ] {
            let found = o.profile_setting(&step.profile, key, false).or_else(|| {
                step.session_name
                    .as_deref()
                    .and_then(|s| o.sso_session_setting(s, key))
            });
            base.settings.extend(found);
        }
        let token_name = step.session_name.as_deref().unwrap_or(&step.start_url);
        let l = &self.session.locations;
        if l.home.is_some() {
            let path = l
                .sso_cache_dir()
                .join(format!("{}.json", sso_token_key(token_name)));
            base.token_cache = Some(self.token_report(&path));
        }
        base.cache = self.cli_cache().map(|c| {
            let key = sso_cache_key(
                &step.account_id,
                &step.role_name,
                step.session_name.as_deref(),
                &step.start_url,
            );
            self.cache_report(&c, &key)
        });
        base.notes.push(match &step.session_name {
            Some(s) => {
                format!("uses the token of `sso login --sso-session {s}` (refreshed near expiry)")
            }
            None => "uses the token of `sso login` (legacy configuration: no refresh)".into(),
        });
    }

    /// A `login_session` base: its setting, the login token file (expiry only) and the error
    /// the chain will report when the token is missing or incomplete.
    fn login_base(&self, step: &crate::plan::LoginStep, base: &mut BaseReport) -> Option<String> {
        base.settings.extend(
            self.origins
                .profile_setting(&step.profile, "login_session", false),
        );
        let cache = crate::login::LoginCache::from_env(&self.session.env)?;
        let path = cache.path(&step.session);
        let mut report = CacheReport {
            path: path.display().to_string(),
            state: CacheState::Absent,
            expiration: None,
            remaining_seconds: None,
            reason: None,
        };
        let token = match cache.load(&step.session) {
            Ok(Some(t)) => t,
            Ok(None) => {
                base.token_cache = Some(report);
                return Some(format!(
                    "Error loading login session token: Unable to load a existing login session for session {}, Please reauthenticate with 'aws login'.",
                    step.session
                ));
            }
            Err(e) => {
                report.state = CacheState::Unusable;
                report.reason = Some(e.to_string());
                base.token_cache = Some(report);
                return Some(e.to_string());
            }
        };
        let missing = token.missing_fields();
        if let Some(e) = token.expires_at() {
            let left = (e - self.now).whole_seconds();
            report.state = if left <= 0 {
                CacheState::Expired
            } else if left <= crate::login::REFRESH_THRESHOLD_SECS {
                CacheState::Expiring
            } else {
                CacheState::Fresh
            };
            report.expiration = Some(crate::time::format_z(e));
            report.remaining_seconds = Some(left);
        }
        base.notes.push(
            "uses the credentials of an `aws login` session; below five minutes left they are \
             refreshed with CreateOAuth2Token (DPoP-bound refresh token, rotated)"
                .into(),
        );
        if !missing.is_empty() {
            report.state = CacheState::Unusable;
            report.reason = Some(format!("missing {}", missing.join(", ")));
            base.token_cache = Some(report);
            return Some(format!(
                "Error loading login session token: Failed to load access token from token cache, missing one or more required fields: {}.",
                missing.join(", ")
            ));
        }
        base.token_cache = Some(report);
        None
    }

    /// An SSO token cache file: expiry only (the token never leaves the file).
    fn token_report(&self, path: &std::path::Path) -> CacheReport {
        let mut report = CacheReport {
            path: path.display().to_string(),
            state: CacheState::Absent,
            expiration: None,
            remaining_seconds: None,
            reason: None,
        };
        let Ok(bytes) = std::fs::read(path) else {
            return report;
        };
        let json: Option<serde_json::Value> = serde_json::from_slice(&bytes).ok();
        let expiry = json
            .as_ref()
            .filter(|j| j.get("accessToken").is_some())
            .and_then(|j| j.get("expiresAt"))
            .and_then(|v| v.as_str())
            .and_then(|t| crate::time::parse(t).ok());
        match expiry {
            None => {
                report.state = CacheState::Unusable;
                report.reason = Some("not a token file (accessToken or expiresAt missing)".into());
            }
            Some(e) => {
                let left = (e - self.now).whole_seconds();
                report.state = if left <= 0 {
                    CacheState::Expired
                } else if left < crate::refresh::ADVISORY_REFRESH_SECS {
                    CacheState::Expiring
                } else {
                    CacheState::Fresh
                };
                report.expiration = Some(crate::time::format_z(e));
                report.remaining_seconds = Some(left);
            }
        }
        report
    }
}
