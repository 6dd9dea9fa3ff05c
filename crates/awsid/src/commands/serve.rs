//! `awsid serve`: run the local identity plane on its world and print how to point clients at it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use awsid_server::{Issuer, Listen, State, World};
use clap::Args;

use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Default STS (API) listener.
pub(crate) const DEFAULT_API: &str = "127.0.0.1:4590";
/// Default ECS container-credentials listener.
pub(crate) const DEFAULT_ECS: &str = "127.0.0.1:4591";
/// Default IMDS listener of the world's first instance (amazon-ec2-metadata-mock's port).
pub(crate) const DEFAULT_IMDS: &str = "127.0.0.1:1338";

/// Options of `serve`.
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// World file (TOML, see crates/server/WORLD.md); the embedded default world otherwise.
    #[arg(long, value_name = "FILE")]
    pub world: Option<PathBuf>,
    /// STS listener address (port 0 = any free port).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_API)]
    pub api: SocketAddr,
    /// IMDS listener of the world's first instance; other instances use their world `listen`
    /// address or a free port on 127.0.0.1.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_IMDS)]
    pub imds: SocketAddr,
    /// ECS container-credentials listener address.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_ECS)]
    pub ecs: SocketAddr,
    /// Master key file (one base64 32-byte key per line, first = current). Default:
    /// `$AWSID_MASTER_KEY_FILE`, `$XDG_STATE_HOME/awsid/master.key` or
    /// `~/.local/state/awsid/master.key`, created 0600 on first run.
    #[arg(long, value_name = "FILE")]
    pub master_key_file: Option<PathBuf>,
    /// Write the bound addresses as JSON to this file once every listener is up.
    #[arg(long, value_name = "FILE")]
    pub ready_file: Option<PathBuf>,
    /// Print only the endpoint lines, not the export lines and sample configuration.
    #[arg(long)]
    pub quiet: bool,
    /// Where changes made through the IAM, EC2 and Auto Scaling APIs are kept (a SQLite
    /// database per world file). Default: the master key file's directory (with --shell:
    /// memory only, unless this is given).
    #[arg(long, value_name = "DIR", conflicts_with = "ephemeral")]
    pub state_dir: Option<PathBuf>,
    /// Keep changes in memory only: every start begins from the world file.
    #[arg(long)]
    pub ephemeral: bool,
    /// Discard the kept state and start again from the world file (export it first with
    /// `awsid world export` to keep a copy).
    #[arg(long, conflicts_with = "ephemeral")]
    pub reset_state: bool,
    /// Start `$SHELL` with everything pointed at the server: endpoint variables, and the
    /// sample profiles in a temporary AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE / HOME
    /// (your ~/.aws is never read or written). Leaving the shell stops the server and removes
    /// the temporary files.
    #[arg(long)]
    pub shell: bool,
    /// Serve instance metadata only to this OS user (name or UID; repeat for more): a local
    /// client's UID is read from the kernel's socket tables, and everyone else gets IMDS's
    /// `403 - Forbidden`. Applies to every IMDS listener.
    #[arg(long = "imds-allow-user", value_name = "USER")]
    pub imds_allow_users: Vec<String>,
    /// Allow listeners on addresses other than loopback (127.0.0.0/8, ::1). Anyone who can
    /// reach such a listener gets credentials (and IMDSv1 has no protection against request
    /// forgery), so awsid refuses unless this is given, and warns when it is.
    #[arg(long)]
    pub allow_non_loopback: bool,
}

/// Every address `serve` will listen on, with what set it: `(address, origin, instance)`.
fn listen_addresses(
    args: &ServeArgs,
    world: &World,
) -> Result<Vec<(SocketAddr, String, Option<usize>)>, CliError> {
    let mut out = vec![
        (args.api, "--api".to_owned(), None),
        (args.ecs, "--ecs".to_owned(), None),
    ];
    for (i, inst) in world.instances.iter().enumerate() {
        if i == 0 {
            out.push((args.imds, "--imds".to_owned(), Some(0)));
        } else if let Some(l) = &inst.listen {
            let addr = l.parse().map_err(|_| {
                CliError::configuration(format!(
                    "instance {}: listen \"{l}\" is not an address:port",
                    inst.id
                ))
            })?;
            out.push((
                addr,
                format!("the listen address of instance {}", inst.id),
                Some(i),
            ));
        }
    }
    Ok(out)
}

/// Refuses non-loopback listeners unless `--allow-non-loopback`, and then warns about each
/// (and, for an instance that still accepts IMDSv1, about request forgery).
fn check_exposure(args: &ServeArgs, world: &World) -> Result<(), CliError> {
    let exposed: Vec<_> = listen_addresses(args, world)?
        .into_iter()
        .filter(|(a, _, _)| !a.ip().is_loopback())
        .collect();
    if exposed.is_empty() {
        return Ok(());
    }
    if !args.allow_non_loopback {
        let list: Vec<String> = exposed
            .iter()
            .map(|(a, o, _)| format!("{a} ({o})"))
            .collect();
        return Err(CliError::param_validation(format!(
            "refusing to listen beyond loopback on {}: anyone who can reach it would get \
             credentials. Use 127.0.0.1, or pass --allow-non-loopback to do it anyway.",
            list.join(", ")
        )));
    }
    for (addr, origin, instance) in &exposed {
        crate::error::warn(&format!(
            "listening on {addr} ({origin}), beyond loopback: anyone who can reach it gets credentials."
        ));
        if let Some(inst) = instance.map(|i| &world.instances[i]) {
            if inst.http_tokens == awsid_server::world::HttpTokens::Optional {
                crate::error::warn(&format!(
                    "instance {} accepts IMDSv1 (http_tokens = optional) on {addr}: a forged \
                     request on that network reaches its role credentials; set http_tokens = \
                     \"required\".",
                    inst.id
                ));
            }
        }
    }
    Ok(())
}

/// A world file (or the embedded default) with its name and text.
pub(crate) struct WorldSource {
    /// The validated world.
    pub world: World,
    /// Its name in messages.
    pub name: String,
    /// A digest of its text (which file seeded a state).
    pub digest: String,
    /// The state database file name for it.
    pub state_file: String,
}

/// Reads and validates the world file, or the embedded default world.
pub(crate) fn load_world(path: Option<&Path>) -> Result<WorldSource, CliError> {
    use awsid_server::store::digest;
    match path {
        Some(p) => {
            let name = p.display().to_string();
            let text = std::fs::read_to_string(p)
                .map_err(|e| CliError::configuration(format!("{name}: {e}")))?;
            let world = World::parse(&text, &name).map_err(CliError::configuration)?;
            let canonical = std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
            let stem = p
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("world")
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect::<String>();
            let state_file = format!(
                "{stem}-{}.sqlite",
                &digest(&canonical.display().to_string())[..8]
            );
            Ok(WorldSource {
                world,
                name,
                digest: digest(&text),
                state_file,
            })
        }
        None => Ok(WorldSource {
            world: World::default_world(),
            name: "<default world>".into(),
            digest: digest(awsid_server::world::DEFAULT_WORLD),
            state_file: "default-world.sqlite".into(),
        }),
    }
}

/// The state directory: `--state-dir`, else the directory of the master key file in use
/// (`--master-key-file`, else the default key file location).
pub(crate) fn state_dir(
    state_dir: Option<&Path>,
    master_key_file: Option<&Path>,
    env: &awsid_profile::Env,
) -> Result<PathBuf, CliError> {
    if let Some(d) = state_dir {
        return Ok(d.to_path_buf());
    }
    let key = match master_key_file {
        Some(f) => f.to_path_buf(),
        None => awsid_server::issuer::default_key_file(|k| env.get(k).map(str::to_string))
            .ok_or_else(|| {
                CliError::configuration(
                    "cannot find a place for the state: set HOME, XDG_STATE_HOME or AWSID_MASTER_KEY_FILE, or pass --state-dir",
                )
            })?,
    };
    Ok(key
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from(".")))
}

/// Chooses the master key: `AWSID_MASTER_KEY` (base64), `--master-key-file`, the world's
/// `master_key`, the world's `master_key_file`, then the default key file.
pub(crate) fn load_issuer(
    args_file: Option<&Path>,
    world: &World,
    env: &awsid_profile::Env,
) -> Result<Issuer, CliError> {
    let cfg = |e: awsid_server::issuer::MasterKeyError| CliError::configuration(e);
    if let Some(k) = env.get_non_empty("AWSID_MASTER_KEY") {
        return Issuer::from_key_text(k, "AWSID_MASTER_KEY").map_err(cfg);
    }
    if let Some(f) = args_file {
        return Issuer::from_key_file(f).map_err(cfg);
    }
    if let Some(k) = &world.settings.master_key {
        return Issuer::from_key_text(k, "world setting master_key").map_err(cfg);
    }
    if let Some(f) = &world.settings.master_key_file {
        return Issuer::from_key_file(Path::new(f)).map_err(cfg);
    }
    let path = awsid_server::issuer::default_key_file(|k| env.get(k).map(str::to_string)).ok_or_else(|| {
        CliError::configuration("cannot find a place for the master key file: set HOME, XDG_STATE_HOME or AWSID_MASTER_KEY_FILE, or pass --master-key-file")
    })?;
    Issuer::from_key_file(&path).map_err(cfg)
}

fn ready_json(bound: &awsid_server::Bound, world_name: &str, state: &str) -> String {
    let imds: serde_json::Map<String, serde_json::Value> = bound
        .imds
        .iter()
        .map(|(id, a)| (id.clone(), a.to_string().into()))
        .collect();
    serde_json::json!({
        "pid": std::process::id(),
        "world": world_name,
        "api": bound.api.map(|a| a.to_string()),
        "ecs": bound.ecs.map(|a| a.to_string()),
        "imds": imds,
        "state": state,
    })
    .to_string()
}

/// The endpoint list, the export lines and (for the default world) a sample configuration.
pub(crate) fn banner(
    bound: &awsid_server::Bound,
    world: &World,
    world_name: &str,
    quiet: bool,
    is_default: bool,
) -> String {
    let mut out = format!("awsid identity plane, world {world_name}\n");
    if let Some(a) = bound.api {
        out.push_str(&format!(
            "  STS   http://{a}/  (and IAM, EC2, Auto Scaling)\n"
        ));
        out.push_str(&format!(
            "  Console  http://{a}/console/world  (the world and the decision log)\n"
        ));
        if !world.sso_instances.is_empty() {
            out.push_str(&format!(
                "  SSO   http://{a}/  (portal and OIDC; approve logins at http://{a}{})\n",
                awsid_server::sso::DEVICE_PAGE
            ));
        }
    }
    if let Some(a) = bound.ecs {
        out.push_str(&format!(
            "  ECS   http://{a}{}\n",
            awsid_server::ecs::FULL_URI_PATH
        ));
    }
    for (id, a) in &bound.imds {
        out.push_str(&format!("  IMDS  http://{a}/  ({id})\n"));
    }
    if let Some(a) = bound.api {
        out.push_str(&format!(
            "  calls counted per action: http://{a}{}  (Prometheus text)\n",
            awsid_server::metrics::PATH
        ));
    }
    if quiet {
        return out;
    }
    out.push_str("\n# STS for every profile (long-term keys, assume-role, web identity):\n");
    if let Some(a) = bound.api {
        out.push_str(&format!("export AWS_ENDPOINT_URL_STS=http://{a}/\n"));
        out.push_str(
            "# IAM, EC2 and Auto Scaling (seed 003: roles, instance profiles, launches):\n",
        );
        out.push_str(&format!("export AWS_ENDPOINT_URL_IAM=http://{a}/\n"));
        out.push_str(&format!("export AWS_ENDPOINT_URL_EC2=http://{a}/\n"));
        out.push_str(&format!(
            "export AWS_ENDPOINT_URL_AUTO_SCALING=http://{a}/\n"
        ));
        if !world.sso_instances.is_empty() {
            out.push_str(
                "# IAM Identity Center (sso_session / sso_start_url profiles, `sso login`):\n",
            );
            out.push_str(&format!("export AWS_ENDPOINT_URL_SSO=http://{a}/\n"));
            out.push_str(&format!("export AWS_ENDPOINT_URL_SSO_OIDC=http://{a}/\n"));
        }
    }
    if let Some((id, a)) = bound.imds.first() {
        out.push_str(&format!(
            "# Instance metadata of {id} (credential_source = Ec2InstanceMetadata, or no other credentials):\n"
        ));
        out.push_str(&format!(
            "export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://{a}/\n"
        ));
    }
    if let (Some(a), Some(task)) = (bound.ecs, world.ecs_tasks.first()) {
        out.push_str(&format!(
            "# Container credentials of task {} (take precedence over instance metadata):\n",
            task.id
        ));
        out.push_str(&format!(
            "# export AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/{}  (only with 169.254.170.2)\n",
            task.credentials_id
        ));
        if let Some(token) = &task.auth_token {
            out.push_str(&format!(
                "export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://{a}{}\n",
                awsid_server::ecs::FULL_URI_PATH
            ));
            out.push_str(&format!(
                "export AWS_CONTAINER_AUTHORIZATION_TOKEN={token}\n"
            ));
        }
    }
    if is_default {
        out.push_str(SAMPLE_CONFIG);
        out.push_str(&sample_credentials(world));
    }
    out
}

/// The seed documents' profiles, ready to paste.
const SAMPLE_CONFIG: &str = "
# Sample ~/.aws/config (the seed documents' profiles; a region is set on each, because the
# aws CLI needs one to sign requests for an endpoint URL override):
[default]
region = us-west-2
output = json

[profile user1]
region = us-east-1

[profile marketingadmin]
role_arn = arn:aws:iam::123456789012:role/marketingadminrole
source_profile = user1
region = us-west-2

[profile marketingadmin-ec2]
role_arn = arn:aws:iam::123456789012:role/marketingadminrole
credential_source = Ec2InstanceMetadata
region = us-west-2

# The administrator (AdministratorAccess) for IAM, EC2 and Auto Scaling calls:
# `aws --profile admin iam create-role …`, `aws --profile admin autoscaling …`.
[profile admin]
region = us-west-2

[profile crossaccount]
role_arn = arn:aws:iam::777788889999:role/user1role
source_profile = default
role_session_name = session_user1
region = us-east-1

# IAM Identity Center: `awsid sso login --profile sso` (or `aws sso login`), then use it.
[profile sso]
sso_session = my-sso
sso_account_id = 111122223333
sso_role_name = readOnly
region = us-west-2

[sso-session my-sso]
sso_region = us-east-1
sso_start_url = https://my-sso-portal.awsapps.com/start
sso_registration_scopes = sso:account:access
";

/// The sample `~/.aws/credentials` of the default world: the seed documents' long-term keys,
/// read from the world (profile `default` holds `AKIAIOSFODNN7EXAMPLE`, `user1` user1's key).
fn sample_credentials(world: &awsid_server::World) -> String {
    let key_of = |wanted: &dyn Fn(&str, &str) -> bool| {
        world.users.iter().find_map(|u| {
            u.access_keys
                .iter()
                .find(|k| k.active && wanted(&u.name, &k.id))
        })
    };
    let profiles = [
        ("default", key_of(&|_, id| id == "AKIAIOSFODNN7EXAMPLE")),
        ("user1", key_of(&|user, _| user == "user1")),
        ("admin", key_of(&|user, _| user == "admin")),
    ];
    let mut out = String::from("\n# Sample ~/.aws/credentials:\n");
    for (i, (profile, key)) in profiles.iter().enumerate() {
        if let Some(key) = key {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!(
                "[{profile}]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
                key.id, key.secret
            ));
        }
    }
    out
}

/// Opens the live world: in memory (`--ephemeral`) or in the state directory's database.
fn open_state(
    args: &ServeArgs,
    source: WorldSource,
    env: &awsid_profile::Env,
) -> Result<(awsid_server::live::LiveWorld, String), CliError> {
    use awsid_server::live::{LiveWorld, Opened};
    if args.ephemeral {
        return Ok((
            LiveWorld::in_memory(source.world),
            "memory (--ephemeral)".into(),
        ));
    }
    // The shell is a sandbox that leaves nothing behind: its state lives in memory unless a
    // --state-dir is named.
    if args.shell && args.state_dir.is_none() {
        return Ok((
            LiveWorld::in_memory(source.world),
            "memory (--shell without --state-dir)".into(),
        ));
    }
    let dir = state_dir(
        args.state_dir.as_deref(),
        args.master_key_file.as_deref(),
        env,
    )?;
    let path = dir.join(&source.state_file);
    let store = awsid_server::store::SqliteStore::open(&path).map_err(CliError::configuration)?;
    if args.reset_state {
        use awsid_server::store::Store;
        store.reset().map_err(CliError::configuration)?;
    }
    let (live, opened) = LiveWorld::open(Box::new(store), source.world, &source.digest)
        .map_err(CliError::configuration)?;
    let note = match opened {
        Opened::Seeded => "new, from the world file",
        Opened::Resumed => "resumed",
        Opened::ResumedFileChanged => {
            eprintln!(
                "awsid serve: warning: {} changed since the state in {} was created from it; \
                 the state (with the changes made through the APIs) is used, not the file. \
                 Start over from the file with --reset-state (save the state first with \
                 `awsid world export`), or use another --state-dir.",
                source.name,
                path.display()
            );
            "resumed; the world file changed since, see the warning"
        }
    };
    Ok((live, format!("sqlite {} ({note})", path.display())))
}

/// Runs `serve` until SIGINT or SIGTERM.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ServeArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let _ = global;
    let source = load_world(args.world.as_deref())?;
    let world_name = source.name.clone();
    check_exposure(&args, &source.world)?;
    let issuer = load_issuer(args.master_key_file.as_deref(), &source.world, env)?;
    let is_default = args.world.is_none();
    let (live, state_note) = open_state(&args, source, env)?;
    let allowed = if args.imds_allow_users.is_empty() {
        None
    } else {
        let users = awsid_lockdown::resolve_users(&args.imds_allow_users)
            .map_err(|e| CliError::param_validation(format!("--imds-allow-user: {e}")))?;
        Some(users)
    };
    let mut listen = Listen {
        api: Some(args.api),
        ecs: Some(args.ecs),
        imds: Vec::new(),
        all_instances: true,
        imds_allowed_uids: allowed
            .as_ref()
            .map(|users| users.iter().map(|u| u.uid).collect()),
    };
    let state = Arc::new(State::with_live(live, Arc::new(issuer)));
    let world = state.world();
    if let Some(first) = world
        .instances
        .iter()
        .position(|i| i.state == awsid_server::world::InstanceState::Running)
    {
        listen.imds.push((first, args.imds));
    }
    let rt = awsid_server::runtime()?;
    rt.block_on(async move {
        let mut server = awsid_server::start(state, &listen)
            .await
            .map_err(CliError::general)?;
        if args.shell {
            return run_shell(
                server,
                &world,
                is_default,
                args.ready_file.as_deref(),
                (&world_name, &state_note),
                env,
            )
            .await;
        }
        // Handlers before the ready file: whoever sees it may send SIGTERM at once.
        let stop = stop_signals()?;
        let mut text = banner(&server.bound, &world, &world_name, args.quiet, is_default);
        text.insert_str(
            text.find('\n').map_or(0, |i| i + 1),
            &format!("  State {state_note}\n"),
        );
        if let Some(users) = &allowed {
            text.push_str(&format!(
                "# IMDS serves only these OS users: {}\n",
                awsid_lockdown::describe_users(users)
            ));
        }
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        let write_ready = |bound: &awsid_server::Bound| -> Result<(), CliError> {
            if let Some(path) = &args.ready_file {
                // Readers poll for the file: it must appear complete or not at all.
                let json = ready_json(bound, &world_name, &state_note);
                awsid_profile::atomic::write_atomic(path, json.as_bytes(), 0o644)
                    .map_err(|e| CliError::general(format!("cannot write the ready file {e}")))?;
            }
            Ok(())
        };
        write_ready(&server.bound_now())?;
        // The ready file follows the instances' IMDS listeners as they start and stop.
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => break,
                r = server.listeners_changed.changed() => {
                    if r.is_err() { stop.as_mut().await; break; }
                    if let Err(e) = write_ready(&server.bound_now()) {
                        // Reported, and serving goes on: the old ready file stays intact.
                        e.report(crate::error::format::ErrorFormat::Enhanced);
                    }
                }
            }
        }
        server.shutdown().await;
        if let Some(path) = &args.ready_file {
            let _ = std::fs::remove_file(path);
        }
        Ok(0)
    })
}

/// `serve --shell`: the sandbox, the ready file, the shell; then everything is undone, whether
/// the shell exited or awsid was signalled.
async fn run_shell(
    server: awsid_server::Server,
    world: &World,
    is_default: bool,
    ready_file: Option<&Path>,
    (world_name, state_note): (&str, &str),
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    use crate::commands::serve_shell::{self, Sandbox};
    let (config, credentials) = if is_default {
        (
            format!("# awsid serve --shell: the default world's sample profiles (removed on exit)\n{SAMPLE_CONFIG}"),
            sample_credentials(world),
        )
    } else {
        (
            "# awsid serve --shell: write profiles for your world here (removed on exit)\n"
                .to_string(),
            String::new(),
        )
    };
    let sandbox = match Sandbox::create(&server.bound, world, &config, &credentials) {
        Ok(s) => s,
        Err(e) => {
            server.shutdown().await;
            return Err(e);
        }
    };
    let ready = match ready_file {
        Some(path) => {
            let json = ready_json(&server.bound, world_name, state_note);
            awsid_profile::atomic::write_atomic(path, json.as_bytes(), 0o644)
                .map(|_| Some(path))
                .map_err(|e| CliError::general(format!("cannot write the ready file {e}")))
        }
        None => Ok(None),
    };
    let result = match ready {
        Ok(_) => serve_shell::run(&server.bound, &sandbox, env).await,
        Err(e) => Err(e),
    };
    server.shutdown().await;
    let dir = sandbox.path().display().to_string();
    let removed = sandbox.remove();
    if let Some(path) = ready_file {
        let _ = std::fs::remove_file(path);
    }
    match removed {
        Ok(()) => eprintln!("awsid: server stopped; {dir} removed"),
        Err(e) => eprintln!("awsid: server stopped; could not remove {dir}: {e}"),
    }
    result
}

/// SIGTERM or SIGINT, with the handlers installed now (the future completes on the first).
pub(crate) fn stop_signals() -> Result<impl std::future::Future<Output = ()>, CliError> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExitKind;

    #[test]
    fn banner_lists_endpoints_and_exports() {
        let world = World::default_world();
        let bound = awsid_server::Bound {
            api: Some("127.0.0.1:1".parse().unwrap()),
            ecs: Some("127.0.0.1:2".parse().unwrap()),
            imds: vec![("i-1234567890abcdef0".into(), "127.0.0.1:3".parse().unwrap())],
        };
        let text = banner(&bound, &world, "<default world>", false, true);
        assert!(text.contains("export AWS_ENDPOINT_URL_STS=http://127.0.0.1:1/\n"));
        assert!(text.contains("export AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:3/\n"));
        assert!(text.contains(
            "export AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:2/credentials\n"
        ));
        assert!(
            text.contains("export AWS_CONTAINER_AUTHORIZATION_TOKEN=awsid-dev-container-token\n")
        );
        assert!(text.contains("[profile marketingadmin]"));
        assert!(text.contains("export AWS_ENDPOINT_URL_SSO=http://127.0.0.1:1/\n"));
        assert!(text.contains("export AWS_ENDPOINT_URL_SSO_OIDC=http://127.0.0.1:1/\n"));
        assert!(text.contains("approve logins at http://127.0.0.1:1/device"));
        assert!(text.contains("[sso-session my-sso]"));
        assert!(text.contains("  calls counted per action: http://127.0.0.1:1/metrics"));
        let quiet = banner(&bound, &world, "w", true, true);
        assert!(!quiet.contains("export"));
        let json: serde_json::Value =
            serde_json::from_str(&ready_json(&bound, "w", "memory")).unwrap();
        assert_eq!(json["imds"]["i-1234567890abcdef0"], "127.0.0.1:3");
        assert_eq!(json["api"], "127.0.0.1:1");
    }

    #[test]
    fn master_key_precedence() {
        let world = World::default_world();
        let key = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
        let env = awsid_profile::Env::from_pairs([("AWSID_MASTER_KEY", key)]);
        let a = load_issuer(None, &world, &env).unwrap();
        let b = Issuer::from_key_text(key, "t").unwrap();
        assert_eq!(a.imds_token("i-1", 5, 60), b.imds_token("i-1", 5, 60));
        let dir = tempfile::tempdir().unwrap();
        let env = awsid_profile::Env::from_pairs([("HOME", dir.path().to_str().unwrap())]);
        load_issuer(None, &world, &env).unwrap();
        assert!(dir.path().join(".local/state/awsid/master.key").exists());
        let bad = awsid_profile::Env::from_pairs([("AWSID_MASTER_KEY", "short")]);
        let err = load_issuer(None, &world, &bad).unwrap_err();
        assert_eq!(err.kind(), ExitKind::Configuration);
    }

    fn args(api: &str, imds: &str, ecs: &str, allow: bool) -> ServeArgs {
        ServeArgs {
            world: None,
            api: api.parse().unwrap(),
            imds: imds.parse().unwrap(),
            ecs: ecs.parse().unwrap(),
            master_key_file: None,
            ready_file: None,
            quiet: true,
            imds_allow_users: Vec::new(),
            allow_non_loopback: allow,
            shell: false,
            state_dir: None,
            ephemeral: true,
            reset_state: false,
        }
    }

    #[test]
    fn listeners_beyond_loopback_need_the_flag() {
        let world = World::default_world();
        let lo = "127.0.0.1:0";
        assert!(check_exposure(&args(lo, "[::1]:0", "127.9.9.9:0", false), &world).is_ok());
        for (api, imds, ecs, named) in [
            ("0.0.0.0:0", lo, lo, "0.0.0.0:0 (--api)"),
            (lo, "10.0.0.1:1338", lo, "10.0.0.1:1338 (--imds)"),
            (lo, lo, "[::]:4591", "[::]:4591 (--ecs)"),
        ] {
            let err = check_exposure(&args(api, imds, ecs, false), &world).unwrap_err();
            assert_eq!(err.kind(), ExitKind::Usage);
            let text = err.render(crate::error::ErrorFormat::Legacy);
            assert!(
                text.contains(named) && text.contains("--allow-non-loopback"),
                "{text}"
            );
        }
        // An instance's own listen address from the world counts too.
        let mut world = World::default_world();
        world.instances[1].listen = Some("0.0.0.0:9999".into());
        let err = check_exposure(&args(lo, lo, lo, false), &world).unwrap_err();
        assert!(err
            .render(crate::error::ErrorFormat::Legacy)
            .contains("0.0.0.0:9999 (the listen address of instance i-0fedcba9876543210)"));
        // With the flag it goes ahead (warning on stderr).
        assert!(check_exposure(&args("0.0.0.0:0", lo, lo, true), &world).is_ok());
    }
}
