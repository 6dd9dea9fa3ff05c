//! `awsid serve-credentials [--profile P] [--listen ADDR]… [--protocol both|imds|container]
//! [--token-file FILE] [--allow-network NET]… [--duration D]`: the standing credential server.
//!
//! Serves one profile's credentials until stopped (SIGTERM, SIGINT), for tools that only know
//! the metadata services: IMDSv2 (tokens required) and the container-credentials protocol
//! (`AWS_CONTAINER_CREDENTIALS_FULL_URI` with the token in a file,
//! `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), on one listener or several. The credentials are
//! refreshed through the profile's chain before they expire, as `awsid exec --server ecs|imds`
//! does ([`crate::commands::exec::source`]). Local peers are served when their socket belongs
//! to this OS user (or root); peers in an `--allow-network` (a container bridge) get the
//! container protocol with its token, nothing else. Once listening, it prints the variables a
//! client needs as `KEY=VALUE` lines (a systemd `EnvironmentFile`, a `docker --env-file`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use awsid_credentials::Session;
use awsid_server::relay::{IpNetwork, RelayHandler, RelayOptions, CONTAINER_PATH};
use clap::{Args, ValueEnum};

use crate::cli::GlobalArgs;
use crate::commands::exec::{own_users, random_token, Resolved, ServerMode, SessionDuration};
use crate::error::CliError;

/// Default listener: loopback, next to `awsid serve`'s ports (4590–4591).
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:4592";

/// The protocols served.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Protocols {
    /// IMDSv2 and the container protocol, on every listener.
    Both,
    /// IMDSv2 only (AWS_EC2_METADATA_SERVICE_ENDPOINT).
    Imds,
    /// The container protocol only (AWS_CONTAINER_CREDENTIALS_FULL_URI).
    Container,
}

/// Options of `serve-credentials`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    awsid serve-credentials --profile dev\n  \
    awsid serve-credentials --profile dev --listen 169.254.170.2:4592 \\\n      \
    --allow-network 172.17.0.0/16 --token-file $XDG_RUNTIME_DIR/awsid/dev/token\n\n\
    Prints the client variables (KEY=VALUE) once listening; runs until SIGTERM or Ctrl-C. \
    See README.md for the systemd user unit and the Docker recipe.")]
pub(crate) struct ServeCredentialsArgs {
    /// Address to listen on; repeat for more (port 0 = any free port).
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: Vec<SocketAddr>,
    /// The protocols to serve.
    #[arg(long, value_enum, default_value = "both", value_name = "PROTOCOL")]
    pub protocol: Protocols,
    /// Where to write the container protocol's random token (0600, no newline; removed on
    /// stop). Default: $XDG_RUNTIME_DIR/awsid/<profile>/token, else
    /// ~/.local/state/awsid/<profile>/token.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve the container protocol (token still required) to peers in this network, such as
    /// a container bridge (172.17.0.0/16); repeat for more. Local peers are admitted by OS user.
    #[arg(long = "allow-network", value_name = "NETWORK")]
    pub allow_networks: Vec<IpNetwork>,
    /// How long the temporary credentials awsid asks STS for last (the profile's role, or the
    /// session of long-term keys): 3600, 90m, 1h30m; 15m to 36h.
    #[arg(long, value_name = "DURATION")]
    pub duration: Option<SessionDuration>,
}

/// Runs `serve-credentials`.
pub(crate) fn run(
    global: &GlobalArgs,
    args: ServeCredentialsArgs,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    let session =
        Session::load(env, global.profile.as_deref()).map_err(CliError::from_credentials)?;
    let resolved = Resolved::new(global, &session, args.duration, ServerMode::Ecs)?;
    let profile = resolved.profile.clone();
    let (source, role_name) = resolved.into_source(global, env, &session)?;
    let container = args.protocol != Protocols::Imds;
    let token_file = match (container, &args.token_file) {
        (false, _) => None,
        (true, Some(f)) => Some(f.clone()),
        (true, None) => Some(default_token_file(env, &profile)?),
    };
    let options = RelayOptions {
        imds: args.protocol != Protocols::Container,
        container_token: container.then(random_token),
        role_name,
    };
    let mut admission = own_users();
    admission.container_networks = args.allow_networks.clone();
    let handler = RelayHandler::new(source.clone(), options.clone(), admission)
        .map_err(CliError::param_validation)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let server = awsid_server::relay::start(handler, &args.listen)
            .await
            .map_err(|e| CliError::general(format!("cannot start the credential server: {e}")))?;
        let written = match (&token_file, &options.container_token) {
            (Some(path), Some(token)) => write_token(path, token),
            _ => Ok(()),
        };
        if let Err(e) = written {
            server.shutdown().await;
            return Err(e);
        }
        // Handlers before the lines: whoever reads them may send SIGTERM at once.
        let stop = crate::commands::serve::stop_signals()?;
        let refresher = tokio::spawn(source.refresh_loop());
        let text = client_lines(
            &profile,
            &server.bound,
            options.imds,
            token_file.as_deref(),
            &args.allow_networks,
        );
        {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes());
            let _ = out.flush();
        }
        stop.await;
        refresher.abort();
        server.shutdown().await;
        if let (Some(path), Some(token)) = (&token_file, &options.container_token) {
            remove_token(path, token);
        }
        Ok(0)
    })
}

/// `$XDG_RUNTIME_DIR/awsid/<profile>/token` (a per-user tmpfs), else under
/// `~/.local/state/awsid/`. One directory per profile, so that a container can mount the
/// directory (a file bind mount would keep the old file after a restart rewrites it).
fn default_token_file(env: &awsid_profile::Env, profile: &str) -> Result<PathBuf, CliError> {
    let base = match (
        env.get_non_empty("XDG_RUNTIME_DIR"),
        env.get_non_empty("HOME"),
    ) {
        (Some(run), _) => PathBuf::from(run).join("awsid"),
        (None, Some(home)) => PathBuf::from(home).join(".local/state/awsid"),
        (None, None) => {
            return Err(CliError::param_validation(
                "--token-file is needed: neither XDG_RUNTIME_DIR nor HOME is set",
            ))
        }
    };
    Ok(base.join(file_name(profile)).join("token"))
}

/// A profile name as one safe path component.
fn file_name(profile: &str) -> String {
    let name: String = profile
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.starts_with('.') {
        format!("_{name}")
    } else {
        name
    }
}

/// Writes the token as the SDKs send it: the file's whole content is the header value, so no
/// newline (botocore and the Rust SDK refuse one).
fn write_token(path: &Path, token: &str) -> Result<(), CliError> {
    awsid_profile::atomic::write_atomic(path, token.as_bytes(), 0o600)
        .map_err(|e| CliError::general(format!("cannot write the token file {e}")))
}

/// Removes the token file when it still holds this server's token.
fn remove_token(path: &Path, token: &str) {
    if std::fs::read(path).is_ok_and(|b| b == token.as_bytes()) {
        let _ = std::fs::remove_file(path);
    }
}

/// The variables a client sets, per listener, as `KEY=VALUE` lines with `#` comments.
fn client_lines(
    profile: &str,
    bound: &[SocketAddr],
    imds: bool,
    token_file: Option<&Path>,
    networks: &[IpNetwork],
) -> String {
    let protocols = match (imds, token_file.is_some()) {
        (true, true) => "IMDSv2 and the container protocol",
        (true, false) => "IMDSv2",
        _ => "the container protocol",
    };
    let mut out = format!(
        "# awsid serve-credentials: profile {profile} over {protocols}, until SIGTERM or Ctrl-C\n"
    );
    if !networks.is_empty() {
        let list: Vec<String> = networks.iter().map(|n| n.to_string()).collect();
        out.push_str(&format!(
            "# container protocol also served to {}\n",
            list.join(", ")
        ));
    }
    for addr in bound {
        out.push_str(&format!("# {addr}\n"));
        if imds {
            out.push_str(&format!(
                "AWS_EC2_METADATA_SERVICE_ENDPOINT=http://{addr}/\n"
            ));
            for (k, v) in crate::commands::exec::IMDS_PATIENCE {
                out.push_str(&format!("{k}={v}\n"));
            }
        }
        if let Some(file) = token_file {
            out.push_str(&format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://{addr}{CONTAINER_PATH}\n\
                 AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE={}\n",
                file.display()
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_become_one_path_component() {
        assert_eq!(file_name("dev"), "dev");
        assert_eq!(file_name("team/dev ops"), "team_dev_ops");
        assert_eq!(file_name(".."), "_..");
        let env = awsid_profile::Env::from_pairs([("XDG_RUNTIME_DIR", "/run/user/1000")]);
        assert_eq!(
            default_token_file(&env, "dev").unwrap(),
            PathBuf::from("/run/user/1000/awsid/dev/token")
        );
        let env = awsid_profile::Env::from_pairs([("HOME", "/home/u")]);
        assert_eq!(
            default_token_file(&env, "a/b").unwrap(),
            PathBuf::from("/home/u/.local/state/awsid/a_b/token")
        );
    }

    #[test]
    fn client_lines_name_every_listener_and_never_the_token() {
        let bound: Vec<SocketAddr> = vec![
            "127.0.0.1:4592".parse().unwrap(),
            "169.254.170.2:4592".parse().unwrap(),
        ];
        let text = client_lines(
            "dev",
            &bound,
            true,
            Some(Path::new("/run/awsid/dev/token")),
            &["172.17.0.0/16".parse().unwrap()],
        );
        assert!(text.contains("AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:4592/\n"));
        assert!(text.contains(&format!(
            "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://169.254.170.2:4592{CONTAINER_PATH}\n"
        )));
        assert!(text.contains("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=/run/awsid/dev/token\n"));
        assert!(text.contains("# container protocol also served to 172.17.0.0/16\n"));
        let imds_only = client_lines("dev", &bound[..1], true, None, &[]);
        assert!(!imds_only.contains("CONTAINER"));
        assert!(imds_only.contains("over IMDSv2,"));
    }

    #[test]
    fn the_token_file_has_no_newline_and_goes_with_its_server() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("awsid/dev/token");
        write_token(&path, "abc").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"abc");
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Another server's token (a restart wrote it) stays.
        remove_token(&path, "other");
        assert!(path.exists());
        remove_token(&path, "abc");
        assert!(!path.exists());
    }
}
