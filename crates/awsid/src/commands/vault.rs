//! `awsid vault …`: long-term keys kept encrypted (the `awsid-vault` crate), unlocked once per
//! login session through the agent, and served to the aws CLI and SDKs by
//! `awsid credential-process`.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

use awsid_profile::writer::{self, EditValue, FileKind, SectionEdit};
use awsid_profile::{Locations as FileLocations, ProfileSet};
use awsid_vault::agent::{self, AgentClient};
use awsid_vault::secret_service::{SecretServiceError, SecretServiceKeyring};
use awsid_vault::{KdfParams, Key, Locations, StoredKeys, Vault, VaultError};
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use crate::cli::GlobalArgs;
use crate::error::{CliError, ExitKind};

/// `awsid vault …`.
#[derive(Debug, Args)]
pub(crate) struct VaultArgs {
    /// What to do.
    #[command(subcommand)]
    pub(crate) command: VaultCommand,
}

/// Subcommands of `vault`.
#[derive(Debug, Subcommand)]
pub(crate) enum VaultCommand {
    /// Store a profile's long-term keys in the vault and point the profile at
    /// `awsid credential-process`. The keys are read from the terminal, from
    /// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (--env), or moved out of the shared files
    /// (--from-profile).
    Add(AddArgs),
    /// List the profiles in the vault (never their secrets).
    List,
    /// Remove a profile's keys from the vault.
    Remove(RemoveArgs),
    /// Unlock the vault for this login session (the agent keeps the key until it is unused
    /// for the idle timeout; AWSID_VAULT_KEYRING=keyutils or secret-service chooses the kernel
    /// or the desktop keyring instead).
    Unlock(UnlockArgs),
    /// Forget the unlocked key now: the agent exits, the kernel keyring's copy is deleted, and
    /// with AWSID_VAULT_KEYRING=secret-service the desktop keyring's item too.
    Lock,
    /// Show the vault, its parameters and whether it is unlocked.
    Status,
    /// Rotate a profile's access key through IAM: create a new key, keep it in the vault,
    /// check it with GetCallerIdentity, then delete the old key (with the new one).
    Rotate(RotateArgs),
    /// Change the vault's passphrase.
    Passwd(PasswdArgs),
    /// Run the agent (started for you by the first unlock).
    #[command(hide = true)]
    Agent(AgentArgs),
}

/// Options of `vault add`.
#[derive(Debug, Args)]
pub(crate) struct AddArgs {
    /// The profile to store keys for (default: --from-profile's, or --profile's).
    #[arg(value_name = "PROFILE")]
    pub(crate) profile: Option<String>,
    /// Move the keys of this profile out of the credentials (or config) file: they are stored
    /// in the vault first, then the profile is pointed at `awsid credential-process`, then the
    /// key lines are removed from the file.
    #[arg(long, value_name = "PROFILE", conflicts_with = "env")]
    pub(crate) from_profile: Option<String>,
    /// Read the keys from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and
    /// AWS_SESSION_TOKEN).
    #[arg(long)]
    pub(crate) env: bool,
    /// Leave the config file alone (do not set `credential_process`).
    #[arg(long)]
    pub(crate) no_config: bool,
    #[command(flatten)]
    pub(crate) pass: PassArgs,
}

/// How the passphrase is read.
#[derive(Debug, Args)]
pub(crate) struct PassArgs {
    /// Read the passphrase from the first line of standard input instead of the terminal
    /// (for headless unlocking: `pass show awsid | awsid vault unlock --passphrase-stdin`).
    #[arg(long)]
    pub(crate) passphrase_stdin: bool,
    /// Forget the unlocked key after this many seconds without use (default 3600, or
    /// AWSID_VAULT_IDLE_TIMEOUT).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) idle_timeout: Option<u64>,
}

/// Options of `vault remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    /// The profile whose keys to remove.
    #[arg(value_name = "PROFILE")]
    pub(crate) profile: String,
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub(crate) yes: bool,
}

/// Options of `vault rotate`.
#[derive(Debug, Args)]
pub(crate) struct RotateArgs {
    /// The profile whose key to rotate (default: --profile's).
    #[arg(value_name = "PROFILE")]
    pub(crate) profile: Option<String>,
    /// Deactivate the old key (UpdateAccessKey Inactive) instead of deleting it.
    #[arg(long)]
    pub(crate) keep_old_inactive: bool,
    /// How long to wait for the new key to be accepted (IAM is eventually consistent).
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub(crate) verify_timeout: u64,
    #[command(flatten)]
    pub(crate) pass: PassArgs,
}

/// Options of `vault unlock`.
#[derive(Debug, Args)]
pub(crate) struct UnlockArgs {
    #[command(flatten)]
    pub(crate) pass: PassArgs,
}

/// Options of `vault passwd`.
#[derive(Debug, Args)]
pub(crate) struct PasswdArgs {
    /// Read the old and the new passphrase from the first two lines of standard input.
    #[arg(long)]
    pub(crate) passphrase_stdin: bool,
}

/// Options of the hidden `vault agent`.
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    /// The socket to listen on.
    #[arg(long, value_name = "PATH")]
    pub(crate) socket: PathBuf,
}

/// Runs `vault …`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: VaultArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    match args.command {
        VaultCommand::Agent(a) => {
            agent::run(&a.socket).map_err(vault_error)?;
            Ok(0)
        }
        VaultCommand::Add(a) => add(global, a, env),
        VaultCommand::List => list(global, env),
        VaultCommand::Remove(a) => remove(a, env),
        VaultCommand::Unlock(a) => {
            let locs = locations(env)?;
            let vault = load_existing(&locs)?;
            let mut pass = Passphrases::new(a.pass.passphrase_stdin);
            let holder = Holder::from_env(&locs, env)?;
            let idle = idle(&a.pass, env)?;
            unlock(&vault, &locs, &holder, &mut pass, idle)?;
            eprintln!(
                "vault {} unlocked ({})",
                vault.path().display(),
                holder.describe(idle)
            );
            Ok(0)
        }
        VaultCommand::Lock => {
            let locs = locations(env)?;
            let mut was = AgentClient::new(&locs.agent_socket)
                .lock()
                .map_err(vault_error)?;
            if let Ok(Some(vault)) = Vault::load(&locs.vault) {
                was |= awsid_vault::keyring::forget(vault.id());
                // Only when chosen: connecting could start (D-Bus activate) a keyring daemon.
                if wants_secret_service(env) {
                    let ss = SecretServiceKeyring::connect().map_err(secret_service_error)?;
                    was |= ss.forget(vault.id()).map_err(secret_service_error)? > 0;
                }
            }
            eprintln!(
                "{}",
                if was {
                    "vault locked: the session forgot the key"
                } else {
                    "vault locked (it was not unlocked)"
                }
            );
            Ok(0)
        }
        VaultCommand::Status => status(env),
        VaultCommand::Passwd(a) => passwd(a, env),
        VaultCommand::Rotate(a) => rotate(global, a, env),
    }
}

/// The exit status and message of a vault failure.
pub(crate) fn vault_error(e: VaultError) -> CliError {
    let kind = match e {
        VaultError::WrongPassphrase(_) => ExitKind::Configuration,
        _ => ExitKind::General,
    };
    let mut text = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    CliError::new(kind, text)
}

pub(crate) fn locations(env: &awsid_profile::Env) -> Result<Locations, CliError> {
    Locations::from_env(env).ok_or_else(|| {
        CliError::configuration(
            "cannot find a place for the vault: set HOME, XDG_DATA_HOME or AWSID_VAULT_FILE",
        )
    })
}

pub(crate) fn load_existing(locs: &Locations) -> Result<Vault, CliError> {
    Vault::load(&locs.vault)
        .map_err(vault_error)?
        .ok_or_else(|| {
            CliError::configuration(format!(
                "there is no vault at {}: add keys with `awsid vault add PROFILE`",
                locs.vault.display()
            ))
        })
}

fn idle(pass: &PassArgs, env: &awsid_profile::Env) -> Result<Duration, CliError> {
    let secs = match pass.idle_timeout {
        Some(s) => s,
        None => match env.get_non_empty("AWSID_VAULT_IDLE_TIMEOUT") {
            Some(v) => v.parse().map_err(|_| {
                CliError::configuration(format!(
                    "AWSID_VAULT_IDLE_TIMEOUT must be a number of seconds, not {v:?}"
                ))
            })?,
            None => agent::DEFAULT_IDLE.as_secs(),
        },
    };
    if secs == 0 {
        return Err(CliError::new(
            ExitKind::Usage,
            "the idle timeout must be at least one second",
        ));
    }
    Ok(Duration::from_secs(secs))
}

/// Where passphrases come from: the terminal (`/dev/tty`, so it works under the aws CLI, which
/// owns stdin and swallows stderr) or standard input.
pub(crate) struct Passphrases {
    stdin: bool,
    lines: Option<std::io::Lines<std::io::StdinLock<'static>>>,
}

impl Passphrases {
    pub(crate) fn new(stdin: bool) -> Passphrases {
        Passphrases { stdin, lines: None }
    }

    fn interactive(&self) -> bool {
        !self.stdin
    }

    fn ask(&mut self, prompt: &str) -> Result<Zeroizing<String>, CliError> {
        if self.stdin {
            let lines = self
                .lines
                .get_or_insert_with(|| std::io::stdin().lock().lines());
            return match lines.next() {
                Some(Ok(line)) => Ok(Zeroizing::new(line)),
                _ => Err(CliError::configuration(
                    "--passphrase-stdin: no passphrase on standard input",
                )),
            };
        }
        rpassword::prompt_password(prompt)
            .map(Zeroizing::new)
            .map_err(|e| {
                CliError::configuration(format!(
                    "the vault is locked and there is no terminal to ask for its passphrase ({e}): \
                     run `awsid vault unlock` in a terminal first, or `awsid vault unlock --passphrase-stdin`"
                ))
            })
    }
}

/// Who keeps the unlocked key for the session: the agent (default), the kernel's session
/// keyring (`AWSID_VAULT_KEYRING=keyutils`) or the desktop keyring through the Secret Service
/// API (`AWSID_VAULT_KEYRING=secret-service`).
pub(crate) enum Holder {
    /// The `awsid vault agent` process on the user's socket.
    Agent(AgentClient),
    /// The kernel key retention service (session keyring).
    Kernel,
    /// The Secret Service on the D-Bus session bus (GNOME Keyring, KWallet, KeePassXC).
    SecretService(SecretServiceKeyring),
}

/// `e` and its sources, one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(&format!(": {s}"));
        source = s.source();
    }
    text
}

/// The error of the Secret Service backend, chosen with AWSID_VAULT_KEYRING=secret-service.
fn secret_service_error(e: SecretServiceError) -> CliError {
    CliError::configuration(format!(
        "AWSID_VAULT_KEYRING=secret-service, but {}; start the desktop keyring (GNOME Keyring, \
         KWallet, KeePassXC) or unset AWSID_VAULT_KEYRING to use the vault agent",
        chain(&e)
    ))
}

/// Whether AWSID_VAULT_KEYRING chooses the Secret Service.
fn wants_secret_service(env: &awsid_profile::Env) -> bool {
    env.get_non_empty("AWSID_VAULT_KEYRING") == Some("secret-service")
}

impl Holder {
    pub(crate) fn from_env(locs: &Locations, env: &awsid_profile::Env) -> Result<Holder, CliError> {
        match env.get_non_empty("AWSID_VAULT_KEYRING") {
            None | Some("agent") => Ok(Holder::Agent(AgentClient::new(&locs.agent_socket))),
            Some("keyutils") if awsid_vault::keyring::available() => Ok(Holder::Kernel),
            Some("keyutils") => Err(CliError::configuration(
                "AWSID_VAULT_KEYRING=keyutils, but the kernel keyring cannot be used here \
                 (keyctl refused); unset it to use the vault agent",
            )),
            Some("secret-service") => SecretServiceKeyring::connect()
                .map(Holder::SecretService)
                .map_err(secret_service_error),
            Some(other) => Err(CliError::configuration(format!(
                "AWSID_VAULT_KEYRING must be agent, keyutils or secret-service, not {other:?}"
            ))),
        }
    }

    /// The key the holder keeps for `vault`; an error only when the chosen Secret Service
    /// fails (the agent and the kernel keyring simply do not have it).
    fn get(&self, vault: &Vault, idle: Duration) -> Result<Option<Key>, CliError> {
        let key = match self {
            Holder::Agent(client) => match client.get(vault.id()) {
                Ok(k) => k,
                Err(e) => {
                    tracing::debug!(error = %e, "vault agent unavailable");
                    None
                }
            },
            Holder::Kernel => awsid_vault::keyring::get(vault.id(), idle),
            Holder::SecretService(ss) => ss.get(vault.id()).map_err(secret_service_error)?,
        };
        Ok(key.filter(|k| vault.accepts(k)))
    }

    /// Where the key is kept, for the unlock message.
    fn describe(&self, idle: Duration) -> String {
        match self {
            Holder::Agent(_) => format!("the agent forgets the key after {} s without use", idle.as_secs()),
            Holder::Kernel => format!(
                "the kernel session keyring forgets the key after {} s without use",
                idle.as_secs()
            ),
            Holder::SecretService(ss) => format!(
                "the key is kept by the Secret Service on {} until `awsid vault lock` (the idle timeout does not apply)",
                ss.bus()
            ),
        }
    }

    fn keep(&self, vault: &Vault, key: &Key, idle: Duration) {
        let kept = match self {
            Holder::Agent(client) => hand_to_agent(client, vault, key, idle),
            Holder::Kernel => awsid_vault::keyring::put(vault.id(), key, idle),
            Holder::SecretService(ss) => ss
                .put(vault.id(), vault.path(), key)
                .map(|collection| {
                    tracing::debug!(collection, "vault key kept by the Secret Service");
                })
                .map_err(|e| chain(&e)),
        };
        if let Err(e) = kept {
            // Still usable for this call; the next one asks again.
            let _ = writeln!(
                tty_or_stderr(),
                "awsid: the unlocked vault key cannot be kept for the session ({e}); the passphrase will be asked again"
            );
        }
    }
}

/// The vault's data key: from the session's holder (agent or kernel keyring) when it has it,
/// else from the passphrase (asked once even when several processes ask at the same moment),
/// then handed to the holder.
pub(crate) fn unlock(
    vault: &Vault,
    locs: &Locations,
    holder: &Holder,
    pass: &mut Passphrases,
    idle: Duration,
) -> Result<Key, CliError> {
    if let Some(key) = holder.get(vault, idle)? {
        return Ok(key);
    }
    // One prompt per session: whoever holds this lock asks; the others wait, then find the
    // key kept.
    let lock_path = locs.agent_socket.with_extension("unlock.lock");
    agent::prepare_dir(&locs.agent_socket).map_err(vault_error)?;
    let _guard = awsid_profile::atomic::LockFile::acquire(&lock_path, Duration::from_secs(300))
        .map_err(CliError::general)?;
    if let Some(key) = holder.get(vault, idle)? {
        return Ok(key);
    }
    let attempts = if pass.interactive() { 3 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let phrase = pass.ask(&format!("Vault passphrase ({}): ", vault.path().display()))?;
        match vault.unlock(phrase.as_bytes()) {
            Ok(key) => {
                holder.keep(vault, &key, idle);
                return Ok(key);
            }
            Err(e @ VaultError::WrongPassphrase(_)) => {
                if pass.interactive() {
                    let _ = writeln!(tty_or_stderr(), "wrong passphrase, try again");
                }
                last = Some(e);
            }
            Err(e) => return Err(vault_error(e)),
        }
    }
    Err(vault_error(last.expect("at least one attempt")))
}

fn hand_to_agent(
    client: &AgentClient,
    vault: &Vault,
    key: &Key,
    idle: Duration,
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let socket = client.socket().to_string_lossy().into_owned();
    client
        .ensure_running(&exe, &["vault", "agent", "--socket", &socket])
        .map_err(|e| e.to_string())?;
    match client.put(vault.id(), key, idle) {
        Ok(true) => Ok(()),
        Ok(false) => Err("the agent is not running".into()),
        Err(e) => Err(e.to_string()),
    }
}

fn tty_or_stderr() -> Box<dyn Write> {
    match std::fs::OpenOptions::new().write(true).open("/dev/tty") {
        Ok(f) => Box::new(f),
        Err(_) => Box::new(std::io::stderr()),
    }
}

/// Opens the vault for writing: the existing one unlocked, or a new one whose passphrase is
/// asked twice.
fn open_or_create(
    locs: &Locations,
    holder: &Holder,
    pass: &mut Passphrases,
    idle: Duration,
) -> Result<(Vault, Key), CliError> {
    if let Some(vault) = Vault::load(&locs.vault).map_err(vault_error)? {
        let key = unlock(&vault, locs, holder, pass, idle)?;
        return Ok((vault, key));
    }
    let first = pass.ask(&format!(
        "New vault at {}; choose a passphrase: ",
        locs.vault.display()
    ))?;
    if first.chars().count() < 8 {
        return Err(CliError::new(
            ExitKind::Usage,
            "the passphrase must be at least 8 characters long; nothing was written",
        ));
    }
    if pass.interactive() {
        let again = pass.ask("Repeat the passphrase: ")?;
        if *again != *first {
            return Err(CliError::new(
                ExitKind::Usage,
                "the passphrases do not match; nothing was written",
            ));
        }
    }
    let (vault, key) = Vault::create(&locs.vault, first.as_bytes(), KdfParams::new_default())
        .map_err(vault_error)?;
    holder.keep(&vault, &key, idle);
    Ok((vault, key))
}

/// The `credential_process` line that points a profile at the vault.
pub(crate) fn credential_process_line(profile: &str) -> String {
    // `awsid` when the awsid on PATH is this binary, else this binary's absolute path.
    let me = std::env::current_exe().ok();
    let on_path = awsid_lockdown::system::find_program("awsid");
    let program = match (&me, &on_path) {
        (Some(me), Some(found))
            if std::fs::canonicalize(me).ok() == std::fs::canonicalize(found).ok() =>
        {
            "awsid".to_string()
        }
        (Some(me), _) => awsid_profile::shell::quote(&me.to_string_lossy()),
        _ => "awsid".to_string(),
    };
    format!(
        "{program} credential-process --profile {}",
        awsid_profile::shell::quote(profile)
    )
}

fn config_section(profile: &str) -> String {
    if profile == "default" {
        "default".into()
    } else if profile.contains([' ', '\t']) {
        format!("profile {}", awsid_profile::shell::quote(profile))
    } else {
        format!("profile {profile}")
    }
}

fn add(global: &GlobalArgs, a: AddArgs, env: &awsid_profile::Env) -> Result<u8, CliError> {
    let locs = locations(env)?;
    let files = FileLocations::from_env(env);
    let profile = a
        .profile
        .clone()
        .or_else(|| a.from_profile.clone())
        .or_else(|| global.profile.clone())
        .ok_or_else(|| crate::error::usage::required(&["profile"]))?;
    let mut pass = Passphrases::new(a.pass.passphrase_stdin);
    let idle = idle(&a.pass, env)?;
    // Read the keys before anything is written.
    let (keys, found_in) = match &a.from_profile {
        Some(from) => {
            let (k, found) = keys_from_profile(&files, from)?;
            (k, found)
        }
        None if a.env => (keys_from_env(env)?, Vec::new()),
        None => (keys_from_terminal()?, Vec::new()),
    };
    // 1. The vault first: if anything after this fails, the keys are in both places, never
    //    in none.
    let holder = Holder::from_env(&locs, env)?;
    let (vault, key) = open_or_create(&locs, &holder, &mut pass, idle)?;
    let path = vault.path().to_owned();
    let vault_id = vault.id().to_string();
    awsid_vault::file::locked(&path, || {
        // Re-read under the lock so a concurrent writer's entries are kept.
        let mut current = Vault::load(&path)?.unwrap_or(vault);
        if current.id() != vault_id {
            return Err(VaultError::Corrupt {
                path: path.clone(),
                reason: "the vault was replaced while awsid was adding keys".into(),
            });
        }
        current.put(&profile, &keys, &key, false);
        current.save()
    })
    .map_err(vault_error)?;
    // 2. Point the profile at awsid credential-process.
    let mut out = std::io::stdout().lock();
    if !a.no_config {
        let config = files.config_file_for_write();
        let existing = ProfileSet::load(&files).ok().and_then(|set| {
            set.config_profile(&profile)
                .and_then(|p| p.get_str("credential_process").map(str::to_string))
        });
        let line = credential_process_line(&profile);
        match existing {
            Some(other) if !other.contains("credential-process") && a.from_profile.is_none() => {
                writeln!(
                    out,
                    "note: profile {profile} already has credential_process = {other}; left as it is"
                )?;
            }
            _ => {
                writer::update_file(
                    &config,
                    &SectionEdit {
                        section: config_section(&profile),
                        values: vec![(
                            "credential_process".into(),
                            EditValue::Scalar(line.clone()),
                        )],
                    },
                )
                .map_err(|e| CliError::general(format!("cannot update the config file: {e}")))?;
                writeln!(
                    out,
                    "profile {profile}: credential_process = {line} (in {})",
                    config.display()
                )?;
            }
        }
    }
    // 3. Only now remove the plain-text keys.
    for (kind, file, section) in found_in {
        let edit = SectionEdit {
            section,
            values: [
                "aws_access_key_id",
                "aws_secret_access_key",
                "aws_session_token",
                "aws_security_token",
            ]
            .iter()
            .map(|k| (k.to_string(), EditValue::Remove))
            .collect(),
        };
        writer::update_file_as(kind, &file, &edit).map_err(|e| {
            CliError::general(format!(
                "the keys are in the vault, but removing them from {} failed: {e}",
                file.display()
            ))
        })?;
        writeln!(out, "removed the keys of {profile} from {}", file.display())?;
    }
    writeln!(
        out,
        "stored the keys of {profile} ({}) in {}",
        mask(&keys.access_key_id),
        path.display()
    )?;
    Ok(0)
}

/// Where a profile's keys were found: which file, its path, the section.
type KeyPlace = (FileKind, PathBuf, String);

/// The static keys of `profile` in the shared files, and where they are (kind, file, section).
fn keys_from_profile(
    files: &FileLocations,
    profile: &str,
) -> Result<(StoredKeys, Vec<KeyPlace>), CliError> {
    let set = ProfileSet::load(files).map_err(CliError::configuration)?;
    let mut found = Vec::new();
    let mut id = None;
    let mut secret = None;
    let mut token = None;
    // The credentials file wins over the config file, as in the provider chain.
    let sources = [
        (
            FileKind::Config,
            files.config_file_for_write(),
            config_section(profile),
            set.config_profile(profile),
        ),
        (
            FileKind::Credentials,
            files.credentials_file_for_write(),
            profile.to_string(),
            set.credentials_section(profile),
        ),
    ];
    for (kind, file, section, props) in sources {
        let Some(props) = props else { continue };
        if props.contains("aws_access_key_id") || props.contains("aws_secret_access_key") {
            id = props
                .get_str("aws_access_key_id")
                .map(str::to_string)
                .or(id);
            secret = props
                .get_str("aws_secret_access_key")
                .map(|s| Zeroizing::new(s.to_string()))
                .or(secret);
            token = props
                .get_str("aws_session_token")
                .or_else(|| props.get_str("aws_security_token"))
                .map(|s| Zeroizing::new(s.to_string()))
                .or(token);
            found.push((kind, file, section));
        }
    }
    match (id, secret) {
        (Some(access_key_id), Some(secret_access_key))
            if !access_key_id.is_empty() && !secret_access_key.is_empty() =>
        {
            Ok((
                StoredKeys {
                    access_key_id,
                    secret_access_key,
                    session_token: token,
                },
                found,
            ))
        }
        _ => Err(CliError::configuration(format!(
            "profile {profile} has no aws_access_key_id and aws_secret_access_key in {} or {}",
            files.credentials_file.display(),
            files.config_file.display()
        ))),
    }
}

fn keys_from_env(env: &awsid_profile::Env) -> Result<StoredKeys, CliError> {
    match (
        env.get_non_empty("AWS_ACCESS_KEY_ID"),
        env.get_non_empty("AWS_SECRET_ACCESS_KEY"),
    ) {
        (Some(id), Some(secret)) => Ok(StoredKeys {
            access_key_id: id.to_string(),
            secret_access_key: Zeroizing::new(secret.to_string()),
            session_token: env
                .get_non_empty("AWS_SESSION_TOKEN")
                .map(|t| Zeroizing::new(t.to_string())),
        }),
        _ => Err(CliError::configuration(
            "--env: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set",
        )),
    }
}

fn keys_from_terminal() -> Result<StoredKeys, CliError> {
    let no_tty = |e: std::io::Error| {
        CliError::configuration(format!(
            "no terminal to read the keys from ({e}): use --env or --from-profile"
        ))
    };
    let mut tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(no_tty)?;
    write!(tty, "Access key ID: ").map_err(no_tty)?;
    tty.flush().map_err(no_tty)?;
    let mut id = String::new();
    std::io::BufReader::new(&tty)
        .read_line(&mut id)
        .map_err(no_tty)?;
    let id = id.trim().to_string();
    let secret = rpassword::prompt_password("Secret access key: ").map_err(no_tty)?;
    if id.is_empty() || secret.is_empty() {
        return Err(CliError::new(
            ExitKind::Usage,
            "both the access key ID and the secret access key are needed; nothing was written",
        ));
    }
    Ok(StoredKeys {
        access_key_id: id,
        secret_access_key: Zeroizing::new(secret),
        session_token: None,
    })
}

/// `AKIA…` as the CLI masks it: 16 `*` and the last four characters.
fn mask(id: &str) -> String {
    let tail: String = id
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("****************{tail}")
}

fn list(global: &GlobalArgs, env: &awsid_profile::Env) -> Result<u8, CliError> {
    let locs = locations(env)?;
    let vault = Vault::load(&locs.vault).map_err(vault_error)?;
    let mut out = std::io::stdout().lock();
    let entries: Vec<(String, awsid_vault::file::Entry)> = vault
        .as_ref()
        .map(|v| {
            v.entries()
                .iter()
                .map(|(k, e)| (k.clone(), e.clone()))
                .collect()
        })
        .unwrap_or_default();
    if global.output.as_deref() == Some("json") {
        let rows: Vec<serde_json::Value> = entries
            .iter()
            .map(|(p, e)| {
                serde_json::json!({
                    "Profile": p,
                    "AccessKeyId": mask(&e.access_key_id),
                    "Added": e.added,
                    "Rotated": e.rotated,
                })
            })
            .collect();
        writeln!(
            out,
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({ "Profiles": rows }))
                .unwrap_or_default()
        )?;
        return Ok(0);
    }
    if entries.is_empty() {
        writeln!(out, "no profiles in the vault ({})", locs.vault.display())?;
        return Ok(0);
    }
    writeln!(
        out,
        "{:<24} {:<22} {:<22} ROTATED",
        "PROFILE", "ACCESS KEY", "ADDED"
    )?;
    for (p, e) in entries {
        writeln!(
            out,
            "{:<24} {:<22} {:<22} {}",
            p,
            mask(&e.access_key_id),
            e.added,
            e.rotated.as_deref().unwrap_or("-")
        )?;
    }
    Ok(0)
}

fn remove(a: RemoveArgs, env: &awsid_profile::Env) -> Result<u8, CliError> {
    let locs = locations(env)?;
    let vault = load_existing(&locs)?;
    if vault.entry(&a.profile).is_none() {
        return Err(CliError::configuration(format!(
            "profile {} is not in the vault {}",
            a.profile,
            vault.path().display()
        )));
    }
    if !a.yes
        && !confirm(&format!(
            "Remove the keys of {} from the vault? They cannot be recovered. (y/N) ",
            a.profile
        ))?
    {
        return Err(CliError::general("nothing was removed"));
    }
    let path = vault.path().to_owned();
    awsid_vault::file::locked(&path, || {
        let mut current = Vault::load(&path)?.ok_or_else(|| VaultError::Corrupt {
            path: path.clone(),
            reason: "the vault disappeared".into(),
        })?;
        current.remove(&a.profile);
        current.save()
    })
    .map_err(vault_error)?;
    println!(
        "removed profile {} from {} (its credential_process line, if any, is left in the config file)",
        a.profile,
        path.display()
    );
    Ok(0)
}

fn confirm(question: &str) -> Result<bool, CliError> {
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|_| {
            CliError::new(
                ExitKind::Usage,
                "no terminal to confirm on: pass --yes to remove without asking",
            )
        })?;
    let mut w = &tty;
    write!(w, "{question}")?;
    let mut answer = String::new();
    std::io::BufReader::new(&tty).read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

fn status(env: &awsid_profile::Env) -> Result<u8, CliError> {
    let locs = locations(env)?;
    let mut out = std::io::stdout().lock();
    let vault = Vault::load(&locs.vault).map_err(vault_error)?;
    match &vault {
        None => writeln!(out, "vault: none yet at {}", locs.vault.display())?,
        Some(v) => {
            let k = v.kdf();
            writeln!(
                out,
                "vault: {} ({} profiles)",
                v.path().display(),
                v.entries().len()
            )?;
            writeln!(
                out,
                "key derivation: {} v{} memory {} KiB, {} passes, {} lane(s); cipher XChaCha20-Poly1305",
                k.algorithm, k.version, k.memory_kib, k.iterations, k.parallelism
            )?;
        }
    }
    if let Some(v) = &vault {
        let kernel = if !awsid_vault::keyring::available() {
            "unavailable here"
        } else if awsid_vault::keyring::holds(v.id()) {
            // Looked up, not read: status leaves the key's idle timeout running.
            "holds the unlocked key (AWSID_VAULT_KEYRING=keyutils)"
        } else {
            "does not hold the key"
        };
        writeln!(out, "kernel session keyring: {kernel}")?;
        if wants_secret_service(env) {
            let line = match SecretServiceKeyring::connect().and_then(|ss| {
                let held = ss.get(v.id())?;
                Ok((ss, held))
            }) {
                Ok((ss, Some(k))) if v.accepts(&k) => format!(
                    "holds the unlocked key (AWSID_VAULT_KEYRING=secret-service, bus {})",
                    ss.bus()
                ),
                Ok((ss, Some(_))) => format!(
                    "holds a key that does not open this vault (bus {})",
                    ss.bus()
                ),
                Ok((ss, None)) => format!("does not hold the key (bus {})", ss.bus()),
                Err(e) => format!("unavailable: {}", chain(&e)),
            };
            writeln!(out, "Secret Service: {line}")?;
        } else {
            writeln!(
                out,
                "Secret Service: not used (AWSID_VAULT_KEYRING=secret-service keeps the key in the desktop keyring)"
            )?;
        }
    }
    let client = AgentClient::new(&locs.agent_socket);
    match client.status().map_err(vault_error)? {
        None => writeln!(out, "agent: not running ({})", locs.agent_socket.display())?,
        Some(st) => {
            let held = vault
                .as_ref()
                .and_then(|v| st.vaults.iter().find(|(id, _)| id == v.id()));
            match held {
                Some((_, secs)) => writeln!(
                    out,
                    "agent: pid {} at {}; unlocked, forgotten after {secs} s without use",
                    st.pid,
                    locs.agent_socket.display()
                )?,
                None => writeln!(
                    out,
                    "agent: pid {} at {}; locked",
                    st.pid,
                    locs.agent_socket.display()
                )?,
            }
        }
    }
    Ok(0)
}

fn passwd(a: PasswdArgs, env: &awsid_profile::Env) -> Result<u8, CliError> {
    let locs = locations(env)?;
    let vault = load_existing(&locs)?;
    let mut pass = Passphrases::new(a.passphrase_stdin);
    // Always the old passphrase, even when the agent holds the key.
    let old = pass.ask(&format!(
        "Current passphrase ({}): ",
        vault.path().display()
    ))?;
    let key = vault.unlock(old.as_bytes()).map_err(vault_error)?;
    let new = pass.ask("New passphrase: ")?;
    if new.chars().count() < 8 {
        return Err(CliError::new(
            ExitKind::Usage,
            "the passphrase must be at least 8 characters long; nothing was changed",
        ));
    }
    if pass.interactive() && *pass.ask("Repeat the new passphrase: ")? != *new {
        return Err(CliError::new(
            ExitKind::Usage,
            "the passphrases do not match; nothing was changed",
        ));
    }
    let path = vault.path().to_owned();
    awsid_vault::file::locked(&path, || {
        let mut current = Vault::load(&path)?.unwrap_or(vault);
        current.change_passphrase(&key, new.as_bytes())?;
        current.save()
    })
    .map_err(vault_error)?;
    println!("passphrase of {} changed", path.display());
    Ok(0)
}

fn rotate(global: &GlobalArgs, a: RotateArgs, env: &awsid_profile::Env) -> Result<u8, CliError> {
    use awsid_credentials::{Credentials, ResolveOptions, Session};
    let profile = a
        .profile
        .clone()
        .or_else(|| global.profile.clone())
        .ok_or_else(|| crate::error::usage::required(&["profile"]))?;
    let locs = locations(env)?;
    let vault = load_existing(&locs)?;
    if vault.entry(&profile).is_none() {
        return Err(CliError::configuration(format!(
            "profile {profile} is not in the vault {}",
            vault.path().display()
        )));
    }
    let mut pass = Passphrases::new(a.pass.passphrase_stdin);
    let holder = Holder::from_env(&locs, env)?;
    let key = unlock(&vault, &locs, &holder, &mut pass, idle(&a.pass, env)?)?;
    let old = vault
        .keys(&profile, &key)
        .map_err(vault_error)?
        .expect("entry checked above");
    // The profile's settings (region, endpoint URLs), never its credential chain: the keys
    // come from the vault.
    let session = Session::load(env, Some(&profile)).map_err(CliError::configuration)?;
    let options = ResolveOptions {
        region: global.region.clone(),
        ..Default::default()
    };
    let service = |e: awsid_credentials::CredentialsError| match e {
        awsid_credentials::CredentialsError::Service(_) => CliError::new(ExitKind::Service, e),
        other => CliError::general(other),
    };
    let sts = session
        .command_sts_client(&options, global.endpoint_url.as_deref())
        .map_err(service)?;
    let iam = session
        .command_iam_client(&options, global.endpoint_url.as_deref())
        .map_err(service)?;
    let as_creds = |id: &str, secret: &str| Credentials::new(id, secret, "vault");
    let old_creds = as_creds(&old.access_key_id, &old.secret_access_key);
    // A failure before CreateAccessKey changes nothing: the error names the step (a reset's
    // text does not name the operation) and says where the key stands.
    let untouched = |step: &str, works: &str, e: awsid_credentials::CredentialsError| {
        let kind = match e {
            awsid_credentials::CredentialsError::Service(_) => ExitKind::Service,
            _ => ExitKind::General,
        };
        CliError::new(
            kind,
            format!(
                "{step} failed: {}; nothing was changed: the vault keeps the key {}{works}",
                e.to_string().trim_end_matches('.'),
                old.access_key_id
            ),
        )
    };
    let who = sts
        .get_caller_identity(&old_creds)
        .map_err(|e| untouched("checking the vault's key at STS", "", e))?;
    if !who.arn.contains(":user/") {
        return Err(CliError::configuration(format!(
            "profile {profile}'s keys belong to {}, not to an IAM user: only IAM users' access keys can be rotated",
            who.arn
        )));
    }
    let existing = iam.list_access_keys(&old_creds).map_err(|e| {
        untouched(
            "listing the user's access keys",
            ", which works (STS accepted it just before)",
            e,
        )
    })?;
    if existing.len() >= 2 {
        let others: Vec<&str> = existing
            .iter()
            .map(|k| k.access_key_id.as_str())
            .filter(|id| *id != old.access_key_id)
            .collect();
        return Err(CliError::configuration(format!(
            "{} already has two access keys, the most IAM allows; delete the one not in the vault first ({})",
            who.arn,
            others.join(", ")
        )));
    }
    let new = match iam.create_access_key(&old_creds) {
        Ok(new) => new,
        Err(e) => {
            return Err(CliError::new(
                ExitKind::Service,
                create_failed(
                    &e.to_string(),
                    &iam,
                    &old_creds,
                    &existing,
                    &old.access_key_id,
                ),
            ))
        }
    };
    let new_keys = StoredKeys {
        access_key_id: new.access_key_id.clone(),
        secret_access_key: Zeroizing::new(new.secret_access_key.clone()),
        session_token: None,
    };
    // Kept at once: IAM shows a secret only once.
    let path = vault.path().to_owned();
    let store = |keys: &StoredKeys, rotated: bool| {
        awsid_vault::file::locked(&path, || {
            let mut current = Vault::load(&path)?.ok_or_else(|| VaultError::Corrupt {
                path: path.clone(),
                reason: "the vault disappeared".into(),
            })?;
            current.put(&profile, keys, &key, rotated);
            current.save()
        })
        .map_err(vault_error)
    };
    if let Err(e) = store(&new_keys, true) {
        // The new key cannot be kept, so its secret would be lost: delete it again (with the
        // old key, which the vault still holds) rather than leave a key nobody can use in
        // one of the user's two IAM slots.
        let undone = delete_checked(&iam, &old_creds, &new.access_key_id);
        return Err(CliError::new(
            ExitKind::Service,
            new_key_not_kept(
                &format!("could not be kept in the vault ({})", e.message()),
                &new.access_key_id,
                &old.access_key_id,
                undone,
            ),
        ));
    }
    let new_creds = as_creds(&new.access_key_id, &new.secret_access_key);
    let deadline = std::time::Instant::now() + Duration::from_secs(a.verify_timeout);
    let mut wait = Duration::from_millis(250);
    let verified = loop {
        match sts.get_caller_identity(&new_creds) {
            Ok(id) if id.arn == who.arn => break Ok(()),
            Ok(id) => {
                break Err(format!(
                    "the new key belongs to {}, not {}",
                    id.arn, who.arn
                ))
            }
            Err(e) if std::time::Instant::now() + wait < deadline => {
                tracing::debug!(error = %e, "new key not accepted yet");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(5));
            }
            Err(e) => break Err(e.to_string()),
        }
    };
    if let Err(why) = verified {
        // Roll back: the old key is still active; put it back in the vault, drop the new one.
        if let Err(e) = store(&old, false) {
            return Err(CliError::new(
                ExitKind::Service,
                format!(
                    "the new access key {} could not be verified at STS ({why}) and putting the old key {} back in the vault failed ({}): the vault holds the new key, IAM has both (both active); check which works with `aws sts get-caller-identity` and delete the other with `aws iam delete-access-key --access-key-id …`",
                    new.access_key_id,
                    old.access_key_id,
                    e.message()
                ),
            ));
        }
        let undone = delete_checked(&iam, &old_creds, &new.access_key_id);
        return Err(CliError::new(
            ExitKind::Service,
            new_key_not_kept(
                &format!("could not be verified at STS ({why})"),
                &new.access_key_id,
                &old.access_key_id,
                undone,
            ),
        ));
    }
    let retired = if a.keep_old_inactive {
        iam.update_access_key(&new_creds, &old.access_key_id, "Inactive")
            .map(|()| "deactivated")
    } else {
        deleted(iam.delete_access_key(&new_creds, &old.access_key_id)).map(|()| "deleted")
    };
    let retired = match retired {
        Ok(done) => done,
        Err(e) => {
            let (verb, how, wanted) = if a.keep_old_inactive {
                (
                    "deactivating",
                    "update-access-key --status Inactive",
                    Some("Inactive"),
                )
            } else {
                ("deleting", "delete-access-key", None)
            };
            // The call may have been carried out with its answer lost: look before saying
            // where the old key stands.
            let state = match iam.list_access_keys(&new_creds) {
                Ok(keys) => match keys.iter().find(|k| k.access_key_id == old.access_key_id) {
                    None if wanted.is_none() => Ok(()),
                    Some(k) if Some(k.status.as_str()) == wanted => Ok(()),
                    Some(k) => Err(format!("IAM lists the old key as {}", k.status)),
                    None => Err("IAM no longer lists the old key".to_string()),
                },
                Err(l) => Err(format!(
                    "whether it changed is unknown (listing the keys failed too: {l})"
                )),
            };
            match state {
                // Done after all: an earlier attempt was carried out, its answer lost.
                Ok(()) if wanted.is_some() => "deactivated",
                Ok(()) => "deleted",
                Err(state) => {
                    return Err(CliError::new(
                        ExitKind::Service,
                        format!(
                            "the vault now holds the new key {} (it works), but {verb} the old key {} failed: {}; {state}: finish with `aws iam {how} --access-key-id {}`",
                            new.access_key_id,
                            old.access_key_id,
                            e.to_string().trim_end_matches('.'),
                            old.access_key_id
                        ),
                    ))
                }
            }
        }
    };
    println!(
        "rotated {profile} ({}): new key {} in the vault, old key {} {retired}",
        who.arn,
        mask(&new.access_key_id),
        mask(&old.access_key_id)
    );
    Ok(0)
}

/// `DeleteAccessKey`'s outcome with `NoSuchEntity` counted as done: the key was listed (or
/// created) earlier in the rotation, so it is gone — deleted by an earlier attempt of this call
/// whose answer was lost (the retry then finds nothing), or by someone else.
fn deleted(
    r: Result<(), awsid_credentials::CredentialsError>,
) -> Result<(), awsid_credentials::CredentialsError> {
    match r {
        Err(awsid_credentials::CredentialsError::Service(e)) if e.code == "NoSuchEntity" => Ok(()),
        other => other,
    }
}

/// Deletes `id` (see [`deleted`]); when that fails, the keys are listed to tell whether the
/// key is gone all the same (an attempt carried out, its answer lost): `Err` only when IAM
/// still lists it, or when nobody can tell (then the error says so).
fn delete_checked(
    iam: &awsid_credentials::iam::IamClient,
    creds: &awsid_credentials::Credentials,
    id: &str,
) -> Result<(), String> {
    let Err(e) = deleted(iam.delete_access_key(creds, id)) else {
        return Ok(());
    };
    match iam.list_access_keys(creds) {
        Ok(keys) if !keys.iter().any(|k| k.access_key_id == id) => Ok(()),
        Ok(_) => Err(e.to_string()),
        Err(l) => Err(format!(
            "{e}; whether it is gone is unknown: listing the keys failed too ({l})"
        )),
    }
}

/// The error of a failed `CreateAccessKey`. A key may exist all the same: IAM can carry the
/// call out and the answer be lost (a reset, a timeout), and a retry then meets the first key
/// (`LimitExceeded`) or makes another. Keys IAM lists now that it did not list before
/// (`existing`) are such keys, with secrets nobody has: they are deleted again (signed with
/// the old key), and the error says what was found and done.
fn create_failed(
    error: &str,
    iam: &awsid_credentials::iam::IamClient,
    old_creds: &awsid_credentials::Credentials,
    existing: &[awsid_credentials::iam::AccessKeyMetadata],
    old_id: &str,
) -> String {
    let now = match iam.list_access_keys(old_creds) {
        Ok(now) => now,
        Err(e) => {
            return format!(
                "{error}; whether IAM created a key before failing is unknown (listing the keys failed too: {e}): check with `aws iam list-access-keys`; the vault keeps the old key {old_id}, which still works"
            )
        }
    };
    let stray: Vec<&str> = now
        .iter()
        .map(|k| k.access_key_id.as_str())
        .filter(|id| !existing.iter().any(|k| k.access_key_id == *id))
        .collect();
    if stray.is_empty() {
        return error.to_string();
    }
    let mut kept = Vec::new();
    let mut gone = Vec::new();
    for id in &stray {
        match delete_checked(iam, old_creds, id) {
            Ok(()) => gone.push(*id),
            Err(e) => kept.push(format!("{id} ({e})")),
        }
    }
    let mut out = format!(
        "{error}; IAM had created {} whose answer never arrived (its secret is kept nowhere)",
        stray.join(", ")
    );
    if !gone.is_empty() {
        out.push_str(&format!(": deleted again ({})", gone.join(", ")));
    }
    if !kept.is_empty() {
        out.push_str(&format!(
            "; deleting failed for {}: delete with `aws iam delete-access-key --access-key-id …`",
            kept.join(", ")
        ));
    }
    out.push_str(&format!(
        "; the vault keeps the old key {old_id}, which still works"
    ));
    out
}

/// The error of a rotation undone after `CreateAccessKey`: the new key `what` (could not be
/// kept, could not be verified), whether deleting it again worked, and where each key is — the
/// vault keeps the old key, which still works.
fn new_key_not_kept(what: &str, new_id: &str, old_id: &str, undone: Result<(), String>) -> String {
    match undone {
        Ok(()) => format!(
            "the new access key {new_id} {what}; it was deleted again, and the vault keeps the old key {old_id}, which still works"
        ),
        Err(e) => format!(
            "the new access key {new_id} {what}, and deleting it again failed ({e}): IAM may still have it (active, its secret kept nowhere) next to the old key {old_id}, which the vault keeps and which still works; delete the new one with `aws iam delete-access-key --access-key-id {new_id}` (signed as this user)"
        ),
    }
}

/// The vault's keys of `profile`, unlocking as needed; `None` when the vault has no entry
/// for it (or there is no vault).
pub(crate) fn keys_for(
    profile: &str,
    env: &awsid_profile::Env,
) -> Result<Option<StoredKeys>, CliError> {
    let Some(locs) = Locations::from_env(env) else {
        return Ok(None);
    };
    let Some(vault) = Vault::load(&locs.vault).map_err(vault_error)? else {
        return Ok(None);
    };
    if vault.entry(profile).is_none() {
        return Ok(None);
    }
    let idle = idle(
        &PassArgs {
            passphrase_stdin: false,
            idle_timeout: None,
        },
        env,
    )?;
    let holder = Holder::from_env(&locs, env)?;
    let key = unlock(&vault, &locs, &holder, &mut Passphrases::new(false), idle)?;
    vault.keys(profile, &key).map_err(vault_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_sections() {
        assert_eq!(mask("AKIAIOSFODNN7EXAMPLE"), "****************MPLE");
        assert_eq!(config_section("default"), "default");
        assert_eq!(config_section("vaulted"), "profile vaulted");
        assert!(
            credential_process_line("vaulted").ends_with(" credential-process --profile vaulted")
        );
    }
}
