//! `awsid exec [--profile P] [--server env|ecs|imds] [--duration D] [-- COMMAND ARGS…]`: runs a
//! command with a profile's credentials, for programs that cannot read profiles themselves.
//!
//! * `--server env` (default): the credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
//!   `AWS_SESSION_TOKEN`, `AWS_CREDENTIAL_EXPIRATION` and the region in `AWS_REGION` /
//!   `AWS_DEFAULT_REGION`; awsid then *becomes* the command (`execve`), so signals, the exit
//!   status and the terminal are the command's own and nothing is left running.
//! * `--server ecs` / `--server imds`: a private server on 127.0.0.1 (a free port, so any
//!   number run side by side, no root) speaking the container-credentials protocol (a random
//!   token in `AWS_CONTAINER_AUTHORIZATION_TOKEN`) or IMDSv2 (`AWS_EC2_METADATA_SERVICE_ENDPOINT`),
//!   serving only this OS user (and root). No secret is in the command's environment, and the
//!   server refreshes the credentials before they expire (through the shared cache, so many
//!   execs of one profile make one refresh), so SDKs in a long-running command keep working.
//!   awsid stays the command's parent, forwards signals ([`child`]), exits with its status and
//!   takes the server down with it.
//!
//! Every mode first removes the variables by which the command could pick other credentials
//! ([`environment::CREDENTIAL_VARS`]). Without a command, `$SHELL` runs. `AWSID_EXEC` marks the
//! command's environment, so a nested `awsid exec` is detected and explained.

mod child;
mod duration;
mod environment;
pub(crate) mod source;

use std::ffi::OsString;
use std::sync::Arc;

use awsid_credentials::plan::{Base, Step};
use awsid_credentials::{Credentials, CredentialsError, Plan, ResolveOptions, Session};
use awsid_server::relay::{Admission, RelayHandler, RelayOptions};
use clap::{Args, ValueEnum};

use crate::cli::GlobalArgs;
use crate::commands::export;
use crate::error::CliError;

pub(crate) use duration::SessionDuration;
pub(crate) use environment::IMDS_PATIENCE;
use environment::{Delivery, NESTING_VAR};
use source::ProfileSource;

/// How the command gets its credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ServerMode {
    /// Environment variables (no server; awsid becomes the command).
    Env,
    /// A private container-credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI).
    Ecs,
    /// A private IMDSv2 endpoint (AWS_EC2_METADATA_SERVICE_ENDPOINT).
    Imds,
}

/// Options of `exec`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    awsid exec --profile dev -- aws s3 ls\n  \
    awsid exec --profile dev --server imds -- jupyter lab\n  \
    awsid exec --profile dev            # a shell with the credentials\n\n\
    With --server ecs|imds no secret is in the command's environment and the credentials are \
    refreshed before they expire. Exit status and signals pass through.")]
pub(crate) struct ExecArgs {
    /// How the command gets the credentials: env (variables), ecs (container-credentials
    /// endpoint), imds (instance metadata endpoint).
    #[arg(long, value_enum, default_value = "env", value_name = "MODE")]
    pub server: ServerMode,
    /// How long the temporary credentials awsid asks STS for last (the profile's own role, or
    /// the session of long-term keys in server modes): 3600, 90m, 1h30m; 15m to 36h.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<SessionDuration>,
    /// The command and its arguments (default: $SHELL). Every word from the command's name on
    /// is the command's, hyphens included; a command whose name starts with `-` follows `--`.
    /// An unknown option before the command is a usage error, not a command to run.
    #[arg(trailing_var_arg = true, value_name = "COMMAND")]
    pub command: Vec<OsString>,
}

/// Runs `exec`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ExecArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    check_nesting(env, &session)?;
    let resolved = Resolved::new(global, &session, args.duration, args.server)?;
    let (program, program_args) = command(&args.command, env);
    if args.server == ServerMode::Env {
        let changes = environment::changes(
            &Delivery::Env(&resolved.credentials),
            &resolved.profile,
            resolved.region.as_deref(),
        );
        return exec(&program, &program_args, &changes);
    }
    warn_if_shadowed(&session, &resolved.profile, args.server);
    let profile = resolved.profile.clone();
    let region = resolved.region.clone();
    let (source, role_name) = resolved.into_source(global, env, &session)?;
    let relay_options = RelayOptions {
        imds: args.server == ServerMode::Imds,
        container_token: (args.server == ServerMode::Ecs).then(random_token),
        role_name,
    };
    let handler = RelayHandler::new(source.clone(), relay_options.clone(), own_users())
        .map_err(CliError::general)?;
    // Blocked before the runtime starts its threads, so that they all inherit the mask and
    // the signals reach the signalfd only.
    let signals = child::take_signals()?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let any: std::net::SocketAddr = "127.0.0.1:0".parse().expect("literal address");
        let server = awsid_server::relay::start(handler, &[any])
            .await
            .map_err(|e| CliError::general(format!("cannot start the credential server: {e}")))?;
        let addr = server.bound[0];
        let delivery = match &relay_options.container_token {
            Some(token) => Delivery::Container {
                url: format!("http://{addr}{}", awsid_server::relay::CONTAINER_PATH),
                token: token.clone(),
            },
            None => Delivery::Imds {
                endpoint: format!("http://{addr}/"),
            },
        };
        tracing::debug!(%addr, mode = ?args.server, %profile, "credential server listening");
        let refresher = tokio::spawn(source.refresh_loop());
        let changes = environment::changes(&delivery, &profile, region.as_deref());
        let result = match child::spawn(&program, &program_args, &changes) {
            Ok(pid) => child::supervise(pid, signals).await,
            Err(e) => Ok(spawn_failure(&program, &std::io::Error::from(e))),
        };
        refresher.abort();
        server.shutdown().await;
        result
    })
}

/// A profile resolved for handing out: its credentials now, and how to get them again.
pub(crate) struct Resolved {
    /// The profile's name.
    pub(crate) profile: String,
    /// Its credentials, as resolved now.
    pub(crate) credentials: Credentials,
    /// Its region, when it has one.
    pub(crate) region: Option<String>,
    plan: Plan,
    options: ResolveOptions,
    duration: Option<i64>,
}

impl Resolved {
    /// Resolves the session's profile, `--duration` checked against what the credentials
    /// are (`mode`: how they are handed over).
    pub(crate) fn new(
        global: &GlobalArgs,
        session: &Session,
        duration: Option<SessionDuration>,
        mode: ServerMode,
    ) -> Result<Resolved, CliError> {
        let profile = session.selection().name.clone();
        let plan = session.plan().map_err(CliError::from_credentials)?;
        let kind = Kind::of(&plan);
        if let Some(d) = duration {
            kind.check_duration(d, mode, &profile)?;
        }
        let duration = duration.map(|d| d.secs());
        let options = ResolveOptions {
            region: global.region.clone(),
            role_duration: duration.filter(|_| kind == Kind::Role),
            ..Default::default()
        };
        let credentials = resolve(session, &options, &profile)?;
        let region = session.region(global.region.as_deref());
        Ok(Resolved {
            profile,
            credentials,
            region,
            plan,
            options,
            duration,
        })
    }

    /// For a relay: the temporary credentials (long-term keys become a shared session) as a
    /// source that refreshes them through the profile's chain, and the role name IMDS lists.
    pub(crate) fn into_source(
        self,
        global: &GlobalArgs,
        env: &awsid_profile::Env,
        session: &Session,
    ) -> Result<(ProfileSource, String), CliError> {
        let Resolved {
            profile,
            credentials,
            plan,
            options,
            duration,
            ..
        } = self;
        let credentials = temporary(credentials, session, &options, duration)
            .map_err(|e| CliError::from_credentials(e).with_detail("Profile", &profile))?;
        let role_arn = plan
            .profile_chain()
            .and_then(|c| c.roles.last())
            .map(|r| r.role_arn.clone());
        let fetch: source::Fetch = {
            let env = env.clone();
            let flag = global.profile.clone();
            let profile = profile.clone();
            Arc::new(move || {
                let session = Session::load(&env, flag.as_deref()).map_err(|e| e.to_string())?;
                let c = resolve_explaining(&session, &options, &profile)?;
                temporary(c, &session, &options, duration).map_err(|e| e.to_string())
            })
        };
        let clock: source::Clock = Arc::new(|| awsid_credentials::time::now().unix_timestamp());
        let source = ProfileSource::new(&profile, role_arn.clone(), &credentials, fetch, clock)
            .map_err(CliError::configuration)?;
        let role_name = role_name(role_arn.as_deref(), session, &profile);
        Ok((source, role_name))
    }
}

/// What the profile's credentials are, as far as `--duration` and the servers care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// The profile assumes a role (its own `role_arn`).
    Role,
    /// Long-term keys (the shared files, or the environment).
    Keys,
    /// Anything else: SSO, `credential_process`, web identity, container, instance metadata.
    Other(&'static str),
}

impl Kind {
    fn of(plan: &Plan) -> Kind {
        match plan.steps.first() {
            Some(Step::Environment) => Kind::Keys,
            Some(Step::Profile(chain)) if !chain.roles.is_empty() => Kind::Role,
            Some(Step::Profile(chain)) => match &chain.base {
                Base::Static(_) => Kind::Keys,
                other => Kind::Other(other.method()),
            },
            _ => Kind::Other("the default chain"),
        }
    }

    /// `--duration` sets a role's `DurationSeconds`, or the session of long-term keys in a
    /// server mode; anywhere else the source decides how long credentials live.
    fn check_duration(
        self,
        d: SessionDuration,
        mode: ServerMode,
        profile: &str,
    ) -> Result<(), CliError> {
        let refuse = |why: &str| {
            Err(CliError::param_validation(format!(
                "--duration {d}: {why} for profile {profile}"
            )))
        };
        match (self, mode) {
            (Kind::Role, _) => Ok(()),
            (Kind::Keys, ServerMode::Env) => refuse(
                "long-term keys are handed over as they are with --server env \
                 (use --server ecs or imds for a session of that length)",
            ),
            (Kind::Keys, _) => Ok(()),
            (Kind::Other(method), _) => refuse(&format!(
                "the credentials come from {method}, which decides how long they last"
            )),
        }
    }
}

/// The profile's credentials now, with v2's error report on failure.
fn resolve(
    session: &Session,
    options: &ResolveOptions,
    profile: &str,
) -> Result<Credentials, CliError> {
    match session
        .resolve_reporting(options)
        .map_err(|e| export::resolution_error(e, profile))?
    {
        Some(r) => Ok(r.credentials),
        None => Err(CliError::no_credentials().with_detail("Profile", profile)),
    }
}

/// The profile's credentials again for a relay's refresh, or why not: the chain's message,
/// and when no provider found any, why those whose source failed found none (`Unable to
/// locate credentials: the instance metadata service did not answer: …`), and after an
/// error why the source failed when the provider knows (`… Token has expired and refresh
/// failed (refreshing the SSO token failed: …)`) — the reference's bare messages do not tell
/// an outage from a machine without credentials or a lapsed login.
fn resolve_explaining(
    session: &Session,
    options: &ResolveOptions,
    profile: &str,
) -> Result<Credentials, String> {
    let (resolved, misses) = session.resolve_explaining(options);
    let resolved = resolved.map_err(|e| {
        let text = export::resolution_error(e, profile)
            .message()
            .trim()
            .to_string();
        if misses.is_empty() {
            text
        } else {
            format!("{} ({})", text.trim_end_matches('.'), misses.join("; "))
        }
    })?;
    match resolved {
        Some(r) => Ok(r.credentials),
        None if misses.is_empty() => Err(CliError::no_credentials().message().to_string()),
        None => Err(format!(
            "Unable to locate credentials: {}",
            misses.join("; ")
        )),
    }
}

/// How long the session of long-term keys served by `--server ecs|imds` lasts without
/// `--duration` (aws-vault's default too).
const KEY_SESSION_SECS: i64 = 3600;

/// The servers hand out temporary credentials only; long-term keys first become a session
/// (`GetSessionToken`, cached and shared by every exec of those keys).
fn temporary(
    credentials: Credentials,
    session: &Session,
    options: &ResolveOptions,
    duration: Option<i64>,
) -> Result<Credentials, CredentialsError> {
    if credentials.session_token.is_some() {
        return Ok(credentials);
    }
    session.key_session(options, &credentials, duration.unwrap_or(KEY_SESSION_SECS))
}

/// Refuses a nested exec that would only hand the same credentials on again.
fn check_nesting(env: &awsid_profile::Env, session: &Session) -> Result<(), CliError> {
    let Some(outer) = env.get_non_empty(NESTING_VAR) else {
        return Ok(());
    };
    let selection = session.selection();
    if !selection.is_selected() {
        return Err(CliError::configuration(format!(
            "this shell already runs under `awsid exec` with profile {outer} ({NESTING_VAR}={outer}), \
             and the command would get those credentials again. Leave that shell first, name \
             another profile with --profile to nest on purpose, or unset {NESTING_VAR} to run it \
             anyway."
        )));
    }
    if selection.name == outer {
        return Err(CliError::configuration(format!(
            "this shell already runs under `awsid exec` with profile {outer} ({NESTING_VAR}={outer}). \
             Leave that shell first, or unset {NESTING_VAR} to run it anyway."
        )));
    }
    Ok(())
}

/// In a server mode the command finds the default profile before the server: credentials
/// there would win, silently. Says so.
fn warn_if_shadowed(session: &Session, profile: &str, mode: ServerMode) {
    if profile == "default" {
        return;
    }
    let Some(default) = session.profiles().profile("default") else {
        return;
    };
    let found = [
        "aws_access_key_id",
        "role_arn",
        "credential_process",
        "sso_session",
        "sso_start_url",
        "web_identity_token_file",
        "login_session",
    ]
    .into_iter()
    .find(|k| default.contains(k));
    if let Some(key) = found {
        let flag = match mode {
            ServerMode::Ecs => "ecs",
            _ => "imds",
        };
        crate::error::warn(&format!(
            "the default profile sets {key}: SDKs in the command use the default profile's \
             credentials before the --server {flag} endpoint. Move them to a named profile, or \
             use --server env."
        ));
    }
}

/// The role name IMDS lists: the role's own name, else the SSO role's, else the profile's when
/// it is a valid IAM name, else `awsid`.
fn role_name(role_arn: Option<&str>, session: &Session, profile: &str) -> String {
    let valid = |n: &str| {
        !n.is_empty()
            && n.len() <= 64
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-".contains(c))
    };
    if let Some(name) = role_arn
        .and_then(|a| a.rsplit('/').next())
        .filter(|n| valid(n))
    {
        return name.to_string();
    }
    let settings = session.profile_settings();
    if let Some(name) = settings.get_str("sso_role_name").filter(|n| valid(n)) {
        return name.to_string();
    }
    if valid(profile) {
        return profile.to_string();
    }
    "awsid".into()
}

/// The peers a per-process server serves: this OS user, and root (who can read its memory
/// anyway).
pub(crate) fn own_users() -> Admission {
    Admission {
        users: awsid_server::peer::UidAllowList::new([nix::unistd::getuid().as_raw(), 0]),
        container_networks: Vec::new(),
    }
}

/// 32 random bytes, hex: the container endpoint's `Authorization` value.
pub(crate) fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The program and its arguments: the command given, else `$SHELL` (else `/bin/sh`).
fn command(args: &[OsString], env: &awsid_profile::Env) -> (OsString, Vec<OsString>) {
    match args.split_first() {
        Some((program, rest)) => (program.clone(), rest.to_vec()),
        None => (
            OsString::from(env.get_non_empty("SHELL").unwrap_or("/bin/sh")),
            Vec::new(),
        ),
    }
}

/// `--server env`: becomes the command. Returns only when that fails.
fn exec(
    program: &OsString,
    args: &[OsString],
    changes: &environment::Changes,
) -> Result<u8, CliError> {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    changes.apply(&mut cmd);
    let e = cmd.exec();
    Ok(spawn_failure(program, &e))
}

/// Reports a command that could not start, with the shell's statuses: 127 when it was not
/// found, 126 when it could not be run.
fn spawn_failure(program: &OsString, e: &std::io::Error) -> u8 {
    use std::io::Write;
    let code = if e.kind() == std::io::ErrorKind::NotFound {
        127
    } else {
        126
    };
    let line = crate::error::error_line(&format!("cannot run {}: {e}", program.to_string_lossy()));
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(line.as_bytes());
    let _ = err.flush();
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(
        config: &str,
        credentials: &str,
        flag: Option<&str>,
        env: &[(&str, &str)],
    ) -> Session {
        let set = awsid_profile::ProfileSet::from_texts(
            config,
            "config".into(),
            credentials,
            "credentials".into(),
        )
        .unwrap();
        let env = awsid_profile::Env::from_pairs(env.iter().copied());
        let locations = awsid_profile::Locations::from_env(&env);
        Session::from_parts(env, locations, set, flag)
    }

    const CONFIG: &str = "[profile dev]\nrole_arn = arn:aws:iam::123456789012:role/dev-role\nsource_profile = keys\n\n[profile sso]\nsso_account_id = 1\nsso_role_name = ReadOnly\nsso_start_url = https://x\nsso_region = us-east-1\n";
    const CREDENTIALS: &str =
        "[keys]\naws_access_key_id = AKIAEXAMPLE\naws_secret_access_key = s\n";

    #[test]
    fn nesting_is_refused_unless_another_profile_is_named() {
        let nested = [(NESTING_VAR, "dev")];
        let e = check_nesting(
            &awsid_profile::Env::from_pairs(nested),
            &session(CONFIG, CREDENTIALS, None, &nested),
        )
        .unwrap_err();
        assert!(e
            .message()
            .contains("already runs under `awsid exec` with profile dev"));
        assert!(e.message().contains("--profile"));
        let e = check_nesting(
            &awsid_profile::Env::from_pairs(nested),
            &session(CONFIG, CREDENTIALS, Some("dev"), &nested),
        )
        .unwrap_err();
        assert!(e.message().contains("unset AWSID_EXEC"));
        assert!(check_nesting(
            &awsid_profile::Env::from_pairs(nested),
            &session(CONFIG, CREDENTIALS, Some("keys"), &nested)
        )
        .is_ok());
        assert!(check_nesting(
            &awsid_profile::Env::from_pairs([("HOME", "/x")]),
            &session(CONFIG, CREDENTIALS, None, &[])
        )
        .is_ok());
    }

    #[test]
    fn duration_applies_to_roles_and_sessions_only() {
        let d: SessionDuration = "1h".parse().unwrap();
        let kind = |flag| {
            Kind::of(
                &session(CONFIG, CREDENTIALS, Some(flag), &[])
                    .plan()
                    .unwrap(),
            )
        };
        assert_eq!(kind("dev"), Kind::Role);
        assert_eq!(kind("keys"), Kind::Keys);
        assert_eq!(kind("sso"), Kind::Other("sso"));
        assert!(Kind::Role.check_duration(d, ServerMode::Env, "dev").is_ok());
        assert!(Kind::Keys
            .check_duration(d, ServerMode::Imds, "keys")
            .is_ok());
        let e = Kind::Keys
            .check_duration(d, ServerMode::Env, "keys")
            .unwrap_err();
        assert!(
            e.message().contains("--server ecs or imds"),
            "{}",
            e.message()
        );
        let e = Kind::Other("sso")
            .check_duration(d, ServerMode::Ecs, "sso")
            .unwrap_err();
        assert_eq!(
            e.message(),
            "--duration 3600s: the credentials come from sso, which decides how long they last for profile sso"
        );
    }

    #[test]
    fn imds_role_names() {
        let s = session(CONFIG, CREDENTIALS, Some("sso"), &[]);
        assert_eq!(
            role_name(
                Some("arn:aws:iam::123456789012:role/path/dev-role"),
                &s,
                "dev"
            ),
            "dev-role"
        );
        assert_eq!(role_name(None, &s, "sso"), "ReadOnly");
        let s = session(CONFIG, CREDENTIALS, Some("keys"), &[]);
        assert_eq!(role_name(None, &s, "keys"), "keys");
        assert_eq!(role_name(None, &s, "my profile/x"), "awsid");
    }

    #[test]
    fn tokens_are_random_hex() {
        let (a, b) = (random_token(), random_token());
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
