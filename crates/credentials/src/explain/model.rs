//! The explanation's data: what `awsid explain` reports, serialised as the stable JSON schema
//! `awsid-explain/1` (documented in `docs/explain.md`, `docs/explain.schema.json`). No field ever holds a
//! secret: secret values are masked before they get here.

use serde::Serialize;

/// The schema identifier written as the document's `schema` field.
pub const SCHEMA: &str = "awsid-explain/1";

/// The whole explanation of one credential resolution.
#[derive(Clone, Debug, Serialize)]
pub struct Explanation {
    /// Always [`SCHEMA`].
    pub schema: &'static str,
    /// The selected profile and why it is the one.
    pub profile: ProfileReport,
    /// The two shared files.
    pub files: FilesReport,
    /// Every provider of the default chain, in the order the CLI tries them.
    pub providers: Vec<ProviderReport>,
    /// Which provider gives the credentials and, for profiles, the chain behind them.
    pub credentials: Outcome,
    /// The region of the credential clients (STS) and where it comes from.
    pub region: RegionReport,
    /// Endpoint settings in force for the services the chain may call.
    pub endpoints: Vec<EndpointReport>,
    /// Things a person should know (each with a stable code).
    pub warnings: Vec<Warning>,
    /// The configuration error the resolution stops at, if any.
    pub error: Option<ErrorReport>,
    /// What `--resolve` found (absent without `--resolve`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved: Option<Resolution>,
}

/// Where a value comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Source {
    /// A line of a shared file.
    File {
        /// `config` or `credentials`.
        file: FileKind,
        /// The file's path as read.
        path: String,
        /// The raw section name (`profile dev`, `default`, `sso-session s`).
        section: String,
        /// The 1-based line.
        line: usize,
    },
    /// An environment variable.
    Env {
        /// The variable's name.
        name: String,
    },
    /// A command-line option.
    Flag {
        /// The option (`--profile`, `--region`).
        name: String,
    },
    /// Built in: nothing configured it.
    Default,
    /// Asked from the instance metadata service (`--resolve` only).
    InstanceMetadata,
}

/// Which shared file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FileKind {
    /// The config file.
    Config,
    /// The credentials file.
    Credentials,
}

/// One configured value and its source; secrets are masked (`masked: true`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Setting {
    /// The setting's name (`role_arn`, `AWS_REGION`…).
    pub name: String,
    /// The value, or its masked form (`****************WXYZ`).
    pub value: String,
    /// Whether `value` is masked.
    pub masked: bool,
    /// Where it comes from.
    pub source: Source,
}

/// How the profile was selected.
#[derive(Clone, Debug, Serialize)]
pub struct ProfileReport {
    /// The profile name (`default` when none was selected).
    pub name: String,
    /// `--profile`, `AWS_PROFILE`, `AWS_DEFAULT_PROFILE`, or the built-in default.
    pub selected_by: Source,
    /// Whether `--profile` was given (it disables the environment provider).
    pub explicit: bool,
    /// Whether either file has the profile.
    pub exists: bool,
    /// The profile's sections (config header, credentials header), where they exist.
    pub sections: Vec<Source>,
}

/// Both shared files.
#[derive(Clone, Debug, Serialize)]
pub struct FilesReport {
    /// The config file.
    pub config: FileReport,
    /// The credentials file.
    pub credentials: FileReport,
}

/// One shared file.
#[derive(Clone, Debug, Serialize)]
pub struct FileReport {
    /// The path as read (variables and `~` expanded).
    pub path: String,
    /// `AWS_CONFIG_FILE` / `AWS_SHARED_CREDENTIALS_FILE`, or the default location.
    pub source: Source,
    /// Whether it is a readable regular file.
    pub exists: bool,
    /// Its permission bits in octal (`0600`), when it exists.
    pub mode: Option<String>,
}

/// A provider's part in the resolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Its settings are absent: the chain moves on.
    NotConfigured,
    /// Left out of the chain (`reason` says why).
    Skipped,
    /// Looked, found no credentials, and the chain moved on.
    NoCredentials,
    /// The provider that gives (or would give) the credentials.
    Chosen,
    /// Would be asked, but whether it has credentials needs a network call (`--resolve`).
    NeedsNetwork,
    /// The provider that stops the resolution with an error.
    Error,
    /// After the chosen provider: never asked.
    NotReached,
    /// Configured for a provider of the aws CLI v2 that awsid does not implement.
    Unsupported,
}

/// One provider of the default chain.
#[derive(Clone, Debug, Serialize)]
pub struct ProviderReport {
    /// The provider's method name as the CLI names it (`env`, `assume-role`…).
    pub provider: &'static str,
    /// Its part.
    pub status: Status,
    /// Why (one sentence).
    pub reason: String,
}

/// The result of the walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutcomeStatus {
    /// One provider gives the credentials (or fails trying: see `error`).
    Chosen,
    /// Only a provider that needs the network is left (`candidates`).
    Undetermined,
    /// No provider has credentials.
    None,
    /// The configuration is rejected before any credentials are fetched.
    Error,
}

/// Which provider gives the credentials, and the chain behind it.
#[derive(Clone, Debug, Serialize)]
pub struct Outcome {
    /// The result.
    pub status: OutcomeStatus,
    /// The deciding provider (chosen, or the one that fails).
    pub provider: Option<&'static str>,
    /// With `undetermined`: the providers that may still give credentials.
    pub candidates: Vec<&'static str>,
    /// Where the first credentials of a profile chain come from.
    pub base: Option<BaseReport>,
    /// The roles assumed from the base, in order (the last is the selected profile's).
    pub hops: Vec<HopReport>,
    /// The profile names from the selected one down to the base (`source_profile` links).
    pub source_profiles: Vec<String>,
}

/// The start of the credentials: static keys, a named source, web identity, SSO, a process,
/// or a non-profile provider.
#[derive(Clone, Debug, Serialize)]
pub struct BaseReport {
    /// The provider method name.
    pub provider: &'static str,
    /// The profile holding the settings (none for environment/container/IMDS).
    pub profile: Option<String>,
    /// Its settings, secrets masked.
    pub settings: Vec<Setting>,
    /// The credential cache entry it uses, if it caches.
    pub cache: Option<CacheReport>,
    /// For SSO: the token cache entry.
    pub token_cache: Option<CacheReport>,
    /// What it will do (one sentence each).
    pub notes: Vec<String>,
}

/// One `AssumeRole` hop.
#[derive(Clone, Debug, Serialize)]
pub struct HopReport {
    /// The profile holding `role_arn`.
    pub profile: String,
    /// `role_arn`.
    pub role_arn: Setting,
    /// `source_profile` or `credential_source`.
    pub source: Setting,
    /// `role_session_name` (absent: a generated `botocore-session-<epoch>` name).
    pub role_session_name: Option<Setting>,
    /// `external_id`.
    pub external_id: Option<Setting>,
    /// `mfa_serial` (the CLI prompts for a code).
    pub mfa_serial: Option<Setting>,
    /// `duration_seconds` as written.
    pub duration_seconds: Option<Setting>,
    /// The `DurationSeconds` sent: the parsed value (at most 3600 when the hop is assumed with
    /// an MFA session), or `None` (the service default, 3600).
    pub duration_used: Option<i64>,
    /// The hop's entry in `~/.aws/cli/cache`.
    pub cache: Option<CacheReport>,
    /// With `mfa_serial`: where the code comes from and the MFA session the hop may use.
    pub mfa: Option<MfaReport>,
}

/// How a hop with `mfa_serial` gets past MFA ([`crate::mfa`]).
#[derive(Clone, Debug, Serialize)]
pub struct MfaReport {
    /// Where a code comes from: `terminal`, `mfa_process` or `ykman`.
    pub code_source: &'static str,
    /// With `mfa_session = true`: the `GetSessionToken` session shared by every role naming
    /// the serial (absent otherwise).
    pub session: Option<MfaSessionReport>,
}

/// The MFA session a hop may be assumed with.
#[derive(Clone, Debug, Serialize)]
pub struct MfaSessionReport {
    /// The `mfa_serial` the session belongs to.
    pub serial: String,
    /// The `DurationSeconds` a new session asks for (`mfa_session_duration`, else 43200).
    pub duration: i64,
    /// Whether the hop is assumed with the session: only when its source gives long-term keys
    /// (`false`: a code is asked as without a session); `None` when only the source's answer
    /// tells (a `credential_process` or the environment).
    pub used: Option<bool>,
    /// The session's entry in `~/.aws/cli/cache` (its state and expiry; never its contents).
    pub cache: Option<CacheReport>,
}

/// A cache entry's state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheState {
    /// No file.
    Absent,
    /// Will be used.
    Fresh,
    /// Valid but inside the 15-minute window: the next use calls the service.
    Expiring,
    /// Expired.
    Expired,
    /// Unreadable or malformed: the next use replaces it.
    Unusable,
}

/// One cache entry (its file, state and expiry; never its contents).
#[derive(Clone, Debug, Serialize)]
pub struct CacheReport {
    /// The entry's file.
    pub path: String,
    /// Its state now.
    pub state: CacheState,
    /// Expiration (ISO 8601 UTC), when readable.
    pub expiration: Option<String>,
    /// Seconds until expiration (negative when expired).
    pub remaining_seconds: Option<i64>,
    /// Why it is unusable.
    pub reason: Option<String>,
}

/// The region and its source.
#[derive(Clone, Debug, Serialize)]
pub struct RegionReport {
    /// The region, if configured.
    pub value: Option<String>,
    /// Where it comes from.
    pub source: Option<Source>,
    /// What happens without one.
    pub note: Option<String>,
}

/// An endpoint setting in force.
#[derive(Clone, Debug, Serialize)]
pub struct EndpointReport {
    /// `sts`, `sso`, `sso-oidc`, `imds` or `container`.
    pub service: &'static str,
    /// The URL requests go to (for STS: as computed for the region; no request is made).
    pub url: Option<String>,
    /// Where the URL comes from (`default` when computed).
    pub source: Source,
    /// Extra facts (signing region, endpoint mode, ignored overrides).
    pub notes: Vec<String>,
}

/// Something a person should know.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// A stable identifier (`keys-in-config-file`, `credentials-file-permissions`…).
    pub code: &'static str,
    /// One or two sentences.
    pub message: String,
}

/// The configuration error that stops the resolution.
#[derive(Clone, Debug, Serialize)]
pub struct ErrorReport {
    /// The provider that raises it, when one does.
    pub provider: Option<&'static str>,
    /// The message, as the CLI prints it.
    pub message: String,
}

/// What `--resolve` found.
#[derive(Clone, Debug, Serialize)]
pub struct Resolution {
    /// The provider that gave the credentials.
    pub provider: Option<&'static str>,
    /// The access key id, masked.
    pub access_key_id: Option<String>,
    /// Expiration of temporary credentials.
    pub expiration: Option<String>,
    /// `GetCallerIdentity`'s answer.
    pub identity: Option<Identity>,
    /// The region asked from instance metadata, when none was configured.
    pub imds_region: Option<String>,
    /// What failed.
    pub error: Option<String>,
}

/// The caller identity.
#[derive(Clone, Debug, Serialize)]
pub struct Identity {
    /// Account id.
    pub account: String,
    /// Caller ARN.
    pub arn: String,
    /// User id.
    pub user_id: String,
}

/// `configure list`'s mask: sixteen `*` and the last four characters.
pub fn mask(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("{}{tail}", "*".repeat(16))
}
