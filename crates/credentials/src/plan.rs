//! The chain *plan*: which provider the reference would use for a profile, decided from the
//! environment and the profile data alone (no I/O). Execution lives in [`crate::chain`].

use awsid_profile::{Env, Properties};

use crate::credentials::Secret;
use crate::imds::ImdsConfig;
use crate::profiles::ProfileData;
use crate::CredentialsError;

/// A `credential_source` name (case-sensitive, `docs/spec/assume-role.md` §4.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NamedSource {
    /// `Environment`: the env provider, even with `--profile`.
    Environment,
    /// `Ec2InstanceMetadata`: the IMDS provider.
    Ec2InstanceMetadata,
    /// `EcsContainer`: the container provider.
    EcsContainer,
}

impl NamedSource {
    /// Parses the exact canonical name.
    pub fn parse(name: &str) -> Option<NamedSource> {
        match name {
            "Environment" => Some(NamedSource::Environment),
            "Ec2InstanceMetadata" => Some(NamedSource::Ec2InstanceMetadata),
            "EcsContainer" => Some(NamedSource::EcsContainer),
            _ => None,
        }
    }

    /// The canonical name.
    pub fn name(self) -> &'static str {
        match self {
            NamedSource::Environment => "Environment",
            NamedSource::Ec2InstanceMetadata => "Ec2InstanceMetadata",
            NamedSource::EcsContainer => "EcsContainer",
        }
    }
}

/// Static keys found in a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StaticKeys {
    /// `shared-credentials-file` or `config-file`.
    pub method: &'static str,
    /// `aws_access_key_id`.
    pub access_key_id: String,
    /// `aws_secret_access_key`.
    pub secret_access_key: Secret,
    /// `aws_security_token`, else `aws_session_token`.
    pub session_token: Option<Secret>,
    /// `aws_account_id`.
    pub account_id: Option<String>,
}

/// Web identity settings (env or profile per key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebIdentityStep {
    /// `role_arn` / `AWS_ROLE_ARN`.
    pub role_arn: String,
    /// `web_identity_token_file` / `AWS_WEB_IDENTITY_TOKEN_FILE`.
    pub token_file: String,
    /// `role_session_name` / `AWS_ROLE_SESSION_NAME`, if set.
    pub role_session_name: Option<String>,
}

/// SSO settings after merging the `[sso-session]` section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoStep {
    /// The profile that holds them.
    pub profile: String,
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`.
    pub region: String,
    /// `sso_account_id`.
    pub account_id: String,
    /// `sso_role_name`.
    pub role_name: String,
    /// `sso_session` (the sso-session shape), or `None` (legacy shape).
    pub session_name: Option<String>,
}

/// `credential_process` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProcessStep {
    /// The command line (shell-word split at run time).
    pub command: String,
    /// `aws_account_id` of the profile (fallback for the process output).
    pub account_id: Option<String>,
}

/// `login_session` settings (`aws login`, `docs/spec/login.md` §3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginStep {
    /// The profile that holds them.
    pub profile: String,
    /// `login_session`: the ARN of the console session the token file belongs to.
    pub session: String,
}

/// Where the first credentials of a profile chain come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Base {
    /// Static keys from the credentials or config file.
    Static(StaticKeys),
    /// A `credential_source`.
    Named(NamedSource),
    /// `AssumeRoleWithWebIdentity`.
    WebIdentity(WebIdentityStep),
    /// SSO `GetRoleCredentials`.
    Sso(SsoStep),
    /// `credential_process`.
    Process(ProcessStep),
    /// The `aws login` token of `login_session`.
    Login(LoginStep),
}

impl Base {
    /// The provider method name of this base.
    pub fn method(&self) -> &'static str {
        match self {
            Base::Static(k) => k.method,
            Base::Named(_) => "assume-role",
            Base::WebIdentity(_) => "assume-role-with-web-identity",
            Base::Sso(_) => "sso",
            Base::Process(_) => "custom-process",
            Base::Login(_) => "login",
        }
    }
}

/// One `AssumeRole` hop with the parameters the profile configures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleStep {
    /// The profile holding `role_arn`.
    pub profile: String,
    /// `role_arn`.
    pub role_arn: String,
    /// `role_session_name`, if configured (else generated per call).
    pub role_session_name: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `mfa_serial`.
    pub mfa_serial: Option<String>,
    /// `duration_seconds`, when it parses as an integer (otherwise ignored, like the reference).
    pub duration_seconds: Option<i64>,
    /// Where the MFA code comes from and whether an MFA session is reused (awsid's settings,
    /// read only when `mfa_serial` is set; see [`crate::mfa`]).
    pub mfa: crate::mfa::MfaSettings,
}

/// A base provider followed by zero or more role hops, in the order they are assumed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileChain {
    /// Where the first credentials come from.
    pub base: Base,
    /// Roles assumed in order (the last one is the selected profile's role).
    pub roles: Vec<RoleStep>,
}

impl ProfileChain {
    /// The method name of the credentials this chain produces.
    pub fn method(&self) -> &'static str {
        if self.roles.is_empty() {
            self.base.method()
        } else {
            "assume-role"
        }
    }
}

/// One step of the default chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// `AWS_ACCESS_KEY_ID` and friends.
    Environment,
    /// A profile-based provider (assume-role, web identity, SSO, files, process); it either
    /// yields credentials or fails.
    Profile(ProfileChain),
    /// Legacy `AWS_CREDENTIAL_FILE` (may yield nothing).
    Ec2CredentialFile(String),
    /// Legacy boto2 config files (may yield nothing).
    BotoConfig,
    /// ECS/EKS container endpoint (yields or fails).
    Container,
    /// EC2 instance metadata (may yield nothing).
    InstanceMetadata,
}

impl Step {
    /// The method name of the provider this step runs.
    pub fn method(&self) -> &'static str {
        match self {
            Step::Environment => "env",
            Step::Profile(c) => c.method(),
            Step::Ec2CredentialFile(_) => "ec2-credentials-file",
            Step::BotoConfig => "boto-config",
            Step::Container => "container-role",
            Step::InstanceMetadata => "iam-role",
        }
    }
}

/// The ordered steps the chain will try for one profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// The profile name the chain uses (`default` when none is selected).
    pub profile: String,
    /// Whether the profile was explicit (`--profile`).
    pub explicit: bool,
    /// Steps in order; the first that yields credentials wins, any error aborts.
    pub steps: Vec<Step>,
    /// IMDS settings (validated when the plan is made, like the reference).
    pub imds: ImdsConfig,
}

impl Plan {
    /// The profile chain step, if the plan has one.
    pub fn profile_chain(&self) -> Option<&ProfileChain> {
        self.steps.iter().find_map(|s| match s {
            Step::Profile(c) => Some(c),
            _ => None,
        })
    }

    /// Sets the `DurationSeconds` of the selected profile's own role (the last hop) to `secs`,
    /// as if the profile said `duration_seconds = secs`; `false` when the plan assumes no
    /// role.
    pub fn override_role_duration(&mut self, secs: i64) -> bool {
        let last = self.steps.iter_mut().find_map(|s| match s {
            Step::Profile(c) => c.roles.last_mut(),
            _ => None,
        });
        match last {
            Some(role) => {
                role.duration_seconds = Some(secs);
                true
            }
            None => false,
        }
    }
}

/// Builds the plan for `profile` (the selected name, `default` if none) from `env` and `data`.
/// `explicit` is true for `--profile`, `selected` when any profile was selected (flag or env).
pub fn plan(
    data: &dyn ProfileData,
    env: &Env,
    profile: &str,
    explicit: bool,
    selected: bool,
) -> Result<Plan, CredentialsError> {
    let empty = Properties::default();
    let props = match data.profile(profile) {
        Some(p) => p,
        None if selected => return Err(CredentialsError::ProfileNotFound(profile.to_string())),
        None => &empty,
    };
    let imds = ImdsConfig::from_settings(env, props)?;
    let mut steps = Vec::new();
    if !explicit && env.get_non_empty("AWS_ACCESS_KEY_ID").is_some() {
        steps.push(Step::Environment);
        return Ok(Plan {
            profile: profile.to_string(),
            explicit,
            steps,
            imds,
        });
    }
    let chain = if has_assume_role_vars(props) {
        let mut planner = RolePlanner {
            data,
            env,
            visited: vec![profile.to_string()],
        };
        Some(planner.role_chain(profile)?)
    } else {
        profile_providers(data, env, profile, props, !explicit)?
    };
    if let Some(chain) = chain {
        steps.push(Step::Profile(chain));
    } else {
        if let Some(path) = env.get("AWS_CREDENTIAL_FILE") {
            steps.push(Step::Ec2CredentialFile(path.to_string()));
        }
        steps.push(Step::BotoConfig);
        if env.contains("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            || env.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        {
            steps.push(Step::Container);
        }
        if !imds.disabled {
            steps.push(Step::InstanceMetadata);
        }
    }
    Ok(Plan {
        profile: profile.to_string(),
        explicit,
        steps,
        imds,
    })
}

pub(crate) fn has_assume_role_vars(p: &Properties) -> bool {
    p.contains("role_arn") && !p.contains("web_identity_token_file")
}

pub(crate) fn has_static_keys(p: &Properties) -> bool {
    p.contains("aws_access_key_id") || p.contains("aws_secret_access_key")
}

fn get(p: &Properties, key: &str) -> Option<String> {
    p.get_str(key).map(str::to_string)
}

/// The profile sub-chain: web identity, SSO, credentials file, login, process, config file
/// (v2 `ProfileProviderBuilder.providers`).
fn profile_providers(
    data: &dyn ProfileData,
    env: &Env,
    name: &str,
    props: &Properties,
    env_vars: bool,
) -> Result<Option<ProfileChain>, CredentialsError> {
    let base = if let Some(w) = web_identity(env, props, env_vars)? {
        Base::WebIdentity(w)
    } else if let Some(s) = sso(data, name, props)? {
        Base::Sso(s)
    } else if let Some(k) = static_keys(data.credentials_section(name), "shared-credentials-file")?
    {
        Base::Static(k)
    } else if let Some(session) = get(props, "login_session") {
        Base::Login(LoginStep {
            profile: name.to_string(),
            session,
        })
    } else if let Some(command) = get(props, "credential_process") {
        Base::Process(ProcessStep {
            command,
            account_id: get(props, "aws_account_id"),
        })
    } else if let Some(k) = static_keys(data.config_profile(name), "config-file")? {
        Base::Static(k)
    } else {
        return Ok(None);
    };
    Ok(Some(ProfileChain {
        base,
        roles: Vec::new(),
    }))
}

pub(crate) fn static_keys(
    section: Option<&Properties>,
    method: &'static str,
) -> Result<Option<StaticKeys>, CredentialsError> {
    let Some(p) = section else { return Ok(None) };
    let Some(access_key_id) = p.get_str("aws_access_key_id") else {
        return Ok(None);
    };
    let Some(secret) = p.get_str("aws_secret_access_key") else {
        return Err(CredentialsError::partial(method, "aws_secret_access_key"));
    };
    let token = p
        .get_str("aws_security_token")
        .or_else(|| p.get_str("aws_session_token"));
    Ok(Some(StaticKeys {
        method,
        access_key_id: access_key_id.to_string(),
        secret_access_key: Secret::new(secret),
        session_token: token.map(Secret::new),
        account_id: get(p, "aws_account_id"),
    }))
}

pub(crate) fn web_identity(
    env: &Env,
    props: &Properties,
    env_vars: bool,
) -> Result<Option<WebIdentityStep>, CredentialsError> {
    let lookup = |var: &str, key: &str| -> Option<String> {
        if env_vars {
            if let Some(v) = env.get(var) {
                return Some(v.to_string());
            }
        }
        get(props, key)
    };
    let token_file = match lookup("AWS_WEB_IDENTITY_TOKEN_FILE", "web_identity_token_file") {
        Some(t) if !t.is_empty() => t,
        _ => return Ok(None),
    };
    let role_arn = match lookup("AWS_ROLE_ARN", "role_arn") {
        Some(r) if !r.is_empty() => r,
        _ => {
            return Err(CredentialsError::InvalidConfig(
                "The provided profile or the current environment is configured to assume role with web identity but has no role ARN configured. Ensure that the profile has the role_arnconfiguration set or the AWS_ROLE_ARN env var is set."
                    .into(),
            ))
        }
    };
    Ok(Some(WebIdentityStep {
        role_arn,
        token_file,
        role_session_name: lookup("AWS_ROLE_SESSION_NAME", "role_session_name"),
    }))
}

pub(crate) fn sso(
    data: &dyn ProfileData,
    name: &str,
    props: &Properties,
) -> Result<Option<SsoStep>, CredentialsError> {
    if !props.contains("sso_account_id") && !props.contains("sso_role_name") {
        return Ok(None);
    }
    let mut merged: Vec<(String, String)> = props
        .iter()
        .filter_map(|(k, v)| Some((k.to_string(), v.as_str()?.to_string())))
        .collect();
    let session_name = get(props, "sso_session");
    if let Some(session) = &session_name {
        let Some(section) = data.sso_session(session) else {
            return Err(CredentialsError::InvalidConfig(format!(
                "The specified sso-session does not exist: \"{session}\""
            )));
        };
        for (k, v) in section.iter() {
            let Some(v) = v.as_str() else { continue };
            match merged.iter().find(|(mk, _)| mk == k) {
                Some((_, existing)) if existing != v => {
                    return Err(CredentialsError::InvalidConfig(format!(
                        "The value for {k} is inconsistent between profile ({existing}) and sso-session ({v})."
                    )))
                }
                Some(_) => {}
                None => merged.push((k.to_string(), v.to_string())),
            }
        }
    }
    let lookup = |k: &str| {
        merged
            .iter()
            .find(|(mk, _)| mk == k)
            .map(|(_, v)| v.clone())
    };
    let mut required = vec![
        "sso_role_name",
        "sso_account_id",
        "sso_start_url",
        "sso_region",
    ];
    if session_name.is_some() {
        required.push("sso_session");
    }
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| lookup(k).is_none())
        .collect();
    if !missing.is_empty() {
        return Err(CredentialsError::InvalidConfig(format!(
            "The profile \"{name}\" is configured to use SSO but is missing required configuration: {}",
            missing.join(", ")
        )));
    }
    Ok(Some(SsoStep {
        profile: name.to_string(),
        start_url: lookup("sso_start_url").unwrap_or_default(),
        region: lookup("sso_region").unwrap_or_default(),
        account_id: lookup("sso_account_id").unwrap_or_default(),
        role_name: lookup("sso_role_name").unwrap_or_default(),
        session_name,
    }))
}

/// Walks `source_profile` links exactly like botocore's `AssumeRoleProvider`.
struct RolePlanner<'a> {
    data: &'a dyn ProfileData,
    env: &'a Env,
    visited: Vec<String>,
}

impl RolePlanner<'_> {
    fn profile(&self, name: &str) -> &Properties {
        self.data
            .profile(name)
            .expect("validated before use: profile exists")
    }

    /// Plans the hops ending with `name`'s role.
    fn role_chain(&mut self, name: &str) -> Result<ProfileChain, CredentialsError> {
        let props = self.profile(name).clone();
        let role = self.role_config(name, &props)?;
        let mut chain = match (
            get(&props, "credential_source"),
            get(&props, "source_profile"),
        ) {
            (Some(source), _) => ProfileChain {
                base: Base::Named(NamedSource::parse(&source).expect("validated")),
                roles: Vec::new(),
            },
            (None, Some(source)) => {
                self.visited.push(source.clone());
                self.source_profile_chain(&source)?
            }
            (None, None) => unreachable!("validated in role_config"),
        };
        chain.roles.push(role);
        Ok(chain)
    }

    fn source_profile_chain(&mut self, name: &str) -> Result<ProfileChain, CredentialsError> {
        let props = self.profile(name).clone();
        if has_static_keys(&props) || !has_assume_role_vars(&props) {
            return match profile_providers(self.data, self.env, name, &props, false)? {
                Some(c) => Ok(c),
                None => Err(CredentialsError::InvalidConfig(format!(
                    "The source profile \"{name}\" must have credentials."
                ))),
            };
        }
        self.role_chain(name)
    }

    fn role_config(&self, name: &str, p: &Properties) -> Result<RoleStep, CredentialsError> {
        let source_profile = get(p, "source_profile");
        let credential_source = get(p, "credential_source");
        match (&credential_source, &source_profile) {
            (Some(_), Some(_)) => {
                return Err(CredentialsError::InvalidConfig(format!(
                    "The profile \"{name}\" contains both source_profile and credential_source."
                )))
            }
            (None, None) => {
                return Err(CredentialsError::partial(
                    "assume-role",
                    "source_profile or credential_source",
                ))
            }
            (Some(cs), None) => {
                if NamedSource::parse(cs).is_none() {
                    return Err(CredentialsError::InvalidConfig(format!(
                        "The credential source \"{cs}\" referenced in profile \"{name}\" is not valid."
                    )));
                }
            }
            (None, Some(sp)) => {
                let Some(source) = self.data.profile(sp) else {
                    return Err(CredentialsError::InvalidConfig(format!(
                        "The source_profile \"{sp}\" referenced in the profile \"{name}\" does not exist."
                    )));
                };
                if self.visited.iter().any(|v| v == sp) && (sp != name || !has_static_keys(source))
                {
                    return Err(CredentialsError::InfiniteLoop {
                        profile: sp.clone(),
                        visited: self.visited.clone(),
                    });
                }
            }
        }
        let mfa_serial = get(p, "mfa_serial");
        let mfa = match &mfa_serial {
            Some(_) => crate::mfa::MfaSettings::from_profiles(
                name,
                p,
                source_profile
                    .as_deref()
                    .and_then(|sp| self.data.profile(sp)),
            )?,
            None => crate::mfa::MfaSettings::default(),
        };
        Ok(RoleStep {
            profile: name.to_string(),
            role_arn: get(p, "role_arn").unwrap_or_default(),
            role_session_name: get(p, "role_session_name"),
            external_id: get(p, "external_id"),
            mfa_serial,
            duration_seconds: p.get_str("duration_seconds").and_then(parse_python_int),
            mfa,
        })
    }
}

/// Python `int(text)`: surrounding whitespace, an optional sign, digits with single `_`
/// separators.
pub(crate) fn parse_python_int(text: &str) -> Option<i64> {
    let t = text.trim();
    let (neg, digits) = match t.as_bytes().first()? {
        b'+' => (false, &t[1..]),
        b'-' => (true, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty()
        || digits.starts_with('_')
        || digits.ends_with('_')
        || digits.contains("__")
        || !digits.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return None;
    }
    let v: i64 = digits.replace('_', "").parse().ok()?;
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profiles::{properties, MemoryProfiles};

    fn env() -> Env {
        Env::from_pairs([("AWS_EC2_METADATA_DISABLED", "true")])
    }

    fn plan_of(data: &MemoryProfiles, name: &str) -> Result<Plan, CredentialsError> {
        plan(data, &env(), name, true, true)
    }

    #[test]
    fn python_int() {
        assert_eq!(parse_python_int(" 900 "), Some(900));
        assert_eq!(parse_python_int("+5"), Some(5));
        assert_eq!(parse_python_int("1_000"), Some(1000));
        assert_eq!(parse_python_int("abc"), None);
        assert_eq!(parse_python_int("1.5"), None);
        assert_eq!(parse_python_int(""), None);
    }

    #[test]
    fn credential_source_is_case_sensitive() {
        let d = MemoryProfiles::new().config(
            "p",
            properties([("role_arn", "arn:r"), ("credential_source", "environment")]),
        );
        assert_eq!(
            plan_of(&d, "p").unwrap_err().to_string(),
            "The credential source \"environment\" referenced in profile \"p\" is not valid."
        );
    }

    #[test]
    fn cycles_name_visited_profiles() {
        let d = MemoryProfiles::new()
            .config(
                "c1",
                properties([("role_arn", "r1"), ("source_profile", "c2")]),
            )
            .config(
                "c2",
                properties([("role_arn", "r2"), ("source_profile", "c3")]),
            )
            .config(
                "c3",
                properties([("role_arn", "r3"), ("source_profile", "c2")]),
            );
        assert!(plan_of(&d, "c1").unwrap_err().to_string().ends_with(
            "Attempting to load from profile c2 which has already been visited. Visited profiles: ['c1', 'c2', 'c3']"
        ));
        let d = MemoryProfiles::new().config(
            "selfnokeys",
            properties([("role_arn", "r"), ("source_profile", "selfnokeys")]),
        );
        assert!(plan_of(&d, "selfnokeys")
            .unwrap_err()
            .to_string()
            .ends_with("Visited profiles: ['selfnokeys']"));
    }

    #[test]
    fn source_profile_with_only_region_has_no_credentials() {
        let d = MemoryProfiles::new()
            .config(
                "p",
                properties([("role_arn", "r"), ("source_profile", "s")]),
            )
            .config("s", properties([("region", "us-east-1")]));
        assert_eq!(
            plan_of(&d, "p").unwrap_err().to_string(),
            "The source profile \"s\" must have credentials."
        );
    }

    #[test]
    fn source_profile_may_use_process() {
        let d = MemoryProfiles::new()
            .config(
                "p",
                properties([("role_arn", "r"), ("source_profile", "proc")]),
            )
            .config("proc", properties([("credential_process", "/bin/creds")]));
        let chain = plan_of(&d, "p").unwrap().profile_chain().cloned().unwrap();
        assert!(matches!(chain.base, Base::Process(_)));
        assert_eq!(chain.roles.len(), 1);
    }

    #[test]
    fn env_credentials_win_unless_explicit() {
        let d = MemoryProfiles::new().config(
            "p",
            properties([("role_arn", "r"), ("credential_source", "Environment")]),
        );
        let e = env().with("AWS_ACCESS_KEY_ID", "AKID");
        let implicit = plan(&d, &e, "p", false, true).unwrap();
        assert_eq!(implicit.steps, vec![Step::Environment]);
        let explicit = plan(&d, &e, "p", true, true).unwrap();
        assert!(matches!(explicit.steps[0], Step::Profile(_)));
    }

    #[test]
    fn file_precedence() {
        // credentials-file keys beat credential_process; config-file keys do not.
        let d = MemoryProfiles::new()
            .config("p", properties([("credential_process", "x")]))
            .credentials(
                "p",
                properties([("aws_access_key_id", "A"), ("aws_secret_access_key", "S")]),
            );
        assert_eq!(
            plan_of(&d, "p").unwrap().profile_chain().unwrap().method(),
            "shared-credentials-file"
        );
        let d = MemoryProfiles::new().config(
            "p",
            properties([
                ("credential_process", "x"),
                ("aws_access_key_id", "A"),
                ("aws_secret_access_key", "S"),
            ]),
        );
        assert_eq!(
            plan_of(&d, "p").unwrap().profile_chain().unwrap().method(),
            "custom-process"
        );
    }

    #[test]
    fn partial_keys_name_the_provider() {
        let d = MemoryProfiles::new().credentials("p", properties([("aws_access_key_id", "A")]));
        assert_eq!(
            plan_of(&d, "p").unwrap_err().to_string(),
            "Partial credentials found in shared-credentials-file, missing: aws_secret_access_key"
        );
    }

    #[test]
    fn sso_errors() {
        let d = MemoryProfiles::new().config("default", properties([("sso_account_id", "1")]));
        assert_eq!(
            plan(&d, &env(), "default", false, false).unwrap_err().to_string(),
            "The profile \"default\" is configured to use SSO but is missing required configuration: sso_role_name, sso_start_url, sso_region"
        );
        let d = MemoryProfiles::new()
            .config(
                "p",
                properties([
                    ("sso_account_id", "1"),
                    ("sso_role_name", "r"),
                    ("sso_session", "s"),
                    ("sso_region", "us-west-2"),
                ]),
            )
            .sso_session(
                "s",
                properties([("sso_region", "us-east-1"), ("sso_start_url", "u")]),
            );
        assert_eq!(
            plan_of(&d, "p").unwrap_err().to_string(),
            "The value for sso_region is inconsistent between profile (us-west-2) and sso-session (us-east-1)."
        );
        let d = MemoryProfiles::new().config(
            "p",
            properties([
                ("sso_account_id", "1"),
                ("sso_role_name", "r"),
                ("sso_session", "nope"),
            ]),
        );
        assert_eq!(
            plan_of(&d, "p").unwrap_err().to_string(),
            "The specified sso-session does not exist: \"nope\""
        );
    }

    #[test]
    fn missing_explicit_profile() {
        let d = MemoryProfiles::new();
        assert_eq!(
            plan_of(&d, "nope").unwrap_err().to_string(),
            "The config profile (nope) could not be found"
        );
        assert!(plan(&d, &env(), "default", false, false)
            .unwrap()
            .steps
            .contains(&Step::BotoConfig));
    }
}
