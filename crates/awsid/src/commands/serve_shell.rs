//! `awsid serve --shell`: the identity plane plus an interactive `$SHELL` in which everything
//! points at it — endpoint variables, and the shared files (`AWS_CONFIG_FILE`,
//! `AWS_SHARED_CREDENTIALS_FILE`) and `HOME` (so the CLI's caches too) in a private temporary
//! directory. The person's own `~/.aws` is never read or written. Leaving the shell — or
//! SIGINT, SIGTERM or SIGHUP sent to awsid — stops the server and removes the directory.
//!
//! Job control: the shell runs in its own process group, made the terminal's foreground
//! group, so Ctrl-C typed in the shell reaches the shell and its commands, never awsid; awsid
//! takes the terminal back when the shell ends.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use awsid_server::{Bound, World};

use crate::error::CliError;

/// What the shell gets: the directory, its files and the environment to add.
pub(crate) struct Sandbox {
    dir: tempfile::TempDir,
    /// Variables set in the shell (after every inherited `AWS_*` variable is removed).
    pub(crate) vars: Vec<(String, String)>,
    /// The profile names of the sample files.
    pub(crate) profiles: Vec<String>,
}

/// Inherited `AWS_*` variables kept in the shell: display preferences only, nothing that
/// selects credentials, profiles, regions or endpoints.
const KEPT_AWS_VARS: [&str; 4] = [
    "AWS_PAGER",
    "AWS_DEFAULT_OUTPUT",
    "AWS_CLI_AUTO_PROMPT",
    "AWS_CLI_FILE_ENCODING",
];

impl Sandbox {
    /// Creates the directory (0700) with `config` and `credentials` (0600) and an empty
    /// `home`, and the variables pointing at `bound`.
    pub(crate) fn create(
        bound: &Bound,
        world: &World,
        config: &str,
        credentials: &str,
    ) -> Result<Sandbox, CliError> {
        let err = |what: &str, e: std::io::Error| {
            CliError::general(format!("cannot prepare the shell's {what}: {e}"))
        };
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::Builder::new()
            .prefix("awsid-shell-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|e| err("temporary directory", e))?;
        let path = dir.path().to_path_buf();
        write_private(&path.join("config"), config).map_err(|e| err("config file", e))?;
        write_private(&path.join("credentials"), credentials)
            .map_err(|e| err("credentials file", e))?;
        std::fs::create_dir(path.join("home")).map_err(|e| err("home directory", e))?;
        std::fs::write(path.join("bashrc"), BASHRC).map_err(|e| err("bashrc", e))?;
        std::fs::write(path.join(".zshrc"), ZSHRC).map_err(|e| err("zshrc", e))?;
        let profiles = awsid_profile::ProfileSet::from_texts(
            config,
            path.join("config"),
            credentials,
            path.join("credentials"),
        )
        .map(|set| set.profile_names().iter().map(|s| s.to_string()).collect())
        .unwrap_or_default();
        let mut vars = vec![
            (
                "AWS_CONFIG_FILE".into(),
                path.join("config").display().to_string(),
            ),
            (
                "AWS_SHARED_CREDENTIALS_FILE".into(),
                path.join("credentials").display().to_string(),
            ),
            ("HOME".into(), path.join("home").display().to_string()),
            ("AWSID_SHELL".into(), path.display().to_string()),
        ];
        vars.extend(endpoint_vars(bound, world));
        Ok(Sandbox {
            dir,
            vars,
            profiles,
        })
    }

    /// The directory.
    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Removes the directory and everything in it.
    pub(crate) fn remove(self) -> std::io::Result<()> {
        self.dir.close()
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()
}

const BASHRC: &str = "PS1='(awsid) \\w \\$ '\n";
const ZSHRC: &str = "PROMPT='(awsid) %~ %# '\n";

/// The variables that point clients at the bound listeners (what `serve` prints as `export`
/// lines).
pub(crate) fn endpoint_vars(bound: &Bound, world: &World) -> Vec<(String, String)> {
    let mut vars = Vec::new();
    if let Some(a) = bound.api {
        vars.push(("AWS_ENDPOINT_URL_STS".into(), format!("http://{a}/")));
        if !world.sso_instances.is_empty() {
            vars.push(("AWS_ENDPOINT_URL_SSO".into(), format!("http://{a}/")));
            vars.push(("AWS_ENDPOINT_URL_SSO_OIDC".into(), format!("http://{a}/")));
        }
    }
    if let Some((_, a)) = bound.imds.first() {
        vars.push((
            "AWS_EC2_METADATA_SERVICE_ENDPOINT".into(),
            format!("http://{a}/"),
        ));
    }
    if let (Some(a), Some(task)) = (bound.ecs, world.ecs_tasks.first()) {
        if let Some(token) = &task.auth_token {
            vars.push((
                "AWS_CONTAINER_CREDENTIALS_FULL_URI".into(),
                format!("http://{a}{}", awsid_server::ecs::FULL_URI_PATH),
            ));
            vars.push(("AWS_CONTAINER_AUTHORIZATION_TOKEN".into(), token.clone()));
        }
    }
    vars
}

/// The one-screen greeting: where things are, the profiles, three commands to try.
pub(crate) fn greeting(bound: &Bound, sandbox: &Sandbox, shell: &Path) -> String {
    let mut out = String::from("awsid identity plane, with a shell that uses it\n");
    if let Some(a) = bound.api {
        let _ = writeln!(
            out,
            "  STS, SSO      http://{a}/   (logins: http://{a}/device)"
        );
    }
    if let Some(a) = bound.ecs {
        let _ = writeln!(
            out,
            "  ECS           http://{a}{}",
            awsid_server::ecs::FULL_URI_PATH
        );
    }
    for (id, a) in &bound.imds {
        let _ = writeln!(out, "  IMDS          http://{a}/   ({id})");
    }
    let _ = writeln!(
        out,
        "  files         {}/{{config,credentials}}  (HOME={}/home; your ~/.aws is not used)",
        sandbox.path().display(),
        sandbox.path().display()
    );
    if sandbox.profiles.is_empty() {
        out.push_str("\nNo sample profiles for this world: write them to $AWS_CONFIG_FILE.\n");
    } else {
        let _ = writeln!(out, "\nProfiles: {}", sandbox.profiles.join(", "));
        out.push_str(
            "\nTry:\n  aws sts get-caller-identity --profile marketingadmin\n  \
             awsid explain --profile crossaccount\n  \
             awsid sso login --profile sso --no-browser   (approve at the logins page)\n",
        );
    }
    let _ = writeln!(
        out,
        "\n`exit` leaves {} and stops the server; the temporary files are removed.",
        shell.display()
    );
    out
}

/// The shell to run: `$SHELL`, else `/bin/sh`.
pub(crate) fn shell_path(env: &awsid_profile::Env) -> PathBuf {
    PathBuf::from(env.get_non_empty("SHELL").unwrap_or("/bin/sh"))
}

/// Builds the shell command: inherited environment minus `AWS_*` (except display preferences),
/// plus the sandbox's variables; an interactive shell with an `(awsid)` prompt where the shell
/// allows one.
pub(crate) fn command(shell: &Path, sandbox: &Sandbox) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(shell);
    for (k, _) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if name.starts_with("AWS_") && !KEPT_AWS_VARS.contains(&name.as_ref()) {
            cmd.env_remove(&k);
        }
    }
    cmd.envs(sandbox.vars.iter().map(|(k, v)| (k, v)));
    let name = shell.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match name {
        "bash" => {
            cmd.arg("--rcfile")
                .arg(sandbox.path().join("bashrc"))
                .arg("-i");
        }
        "zsh" => {
            cmd.env("ZDOTDIR", sandbox.path()).arg("-i");
        }
        "fish" => {
            cmd.args([
                "-i",
                "-C",
                "function fish_prompt; echo -n '(awsid) '(prompt_pwd)' > '; end",
            ]);
        }
        _ => {
            cmd.arg("-i");
        }
    }
    cmd.kill_on_drop(true);
    cmd
}

/// Prints the greeting, runs the shell until it exits or awsid gets SIGINT/SIGTERM/SIGHUP, and
/// returns awsid's exit status (the shell's, or 128 + the signal).
pub(crate) async fn run(
    bound: &Bound,
    sandbox: &Sandbox,
    env: &awsid_profile::Env,
) -> Result<u8, CliError> {
    use tokio::signal::unix::{signal, SignalKind};
    let shell = shell_path(env);
    {
        let mut out = std::io::stdout().lock();
        out.write_all(greeting(bound, sandbox, &shell).as_bytes())?;
        out.flush()?;
    }
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let tty = tty::Foreground::claim_ready();
    let mut cmd = command(&shell, sandbox);
    if tty.is_some() {
        cmd.process_group(0);
    }
    let mut child = cmd.spawn().map_err(|e| {
        CliError::general(format!("cannot start the shell {}: {e}", shell.display()))
    })?;
    if let (Some(t), Some(pid)) = (&tty, child.id()) {
        t.give_to(pid);
    }
    let code = tokio::select! {
        status = child.wait() => status.ok().and_then(|s| s.code()).map_or(1, |c| c as u8),
        _ = term.recv() => { hang_up(&mut child).await; 128 + 15 }
        _ = int.recv() => { hang_up(&mut child).await; 128 + 2 }
        _ = hup.recv() => { hang_up(&mut child).await; 128 + 1 }
    };
    if let Some(t) = tty {
        t.take_back();
    }
    Ok(code)
}

/// Ends the shell as a terminal hang-up would (SIGHUP to its group, SIGCONT in case it is
/// stopped), then SIGKILL after two seconds.
async fn hang_up(child: &mut tokio::process::Child) {
    if let Some(pid) = child.id() {
        tty::signal_group(pid, tty::Sig::SIGHUP);
        tty::signal_group(pid, tty::Sig::SIGCONT);
        tty::signal_process(pid, tty::Sig::SIGHUP);
    }
    if tokio::time::timeout(std::time::Duration::from_secs(2), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

/// Terminal foreground-group handling (safe wrappers of the few calls job control needs).
mod tty {
    use nix::sys::signal::{killpg, pthread_sigmask, SigSet, SigmaskHow, Signal};
    use nix::unistd::{getpgrp, tcgetpgrp, tcsetpgrp, Pid};

    pub(super) use nix::sys::signal::Signal as Sig;

    /// The terminal on stdin and awsid's own process group.
    pub(super) struct Foreground {
        own_group: Pid,
    }

    impl Foreground {
        /// `Some` when stdin is a terminal whose foreground group is awsid's: then the shell
        /// gets its own group and the terminal.
        pub(super) fn claim_ready() -> Option<Foreground> {
            let stdin = std::io::stdin();
            let own_group = getpgrp();
            (tcgetpgrp(&stdin).ok()? == own_group).then_some(Foreground { own_group })
        }

        /// Makes group `pid` (the shell's) the terminal's foreground group and wakes it in
        /// case it stopped itself waiting for the terminal.
        pub(super) fn give_to(&self, pid: u32) {
            let _ = tcsetpgrp(std::io::stdin(), Pid::from_raw(pid as i32));
            signal_group(pid, Signal::SIGCONT);
        }

        /// Makes awsid's group the foreground group again. awsid is in the background by
        /// then, so SIGTTOU is blocked around the call (otherwise it would stop awsid).
        pub(super) fn take_back(self) {
            let mut ttou = SigSet::empty();
            ttou.add(Signal::SIGTTOU);
            let mut old = SigSet::empty();
            let blocked =
                pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut old)).is_ok();
            let _ = tcsetpgrp(std::io::stdin(), self.own_group);
            if blocked && !old.contains(Signal::SIGTTOU) {
                let _ = pthread_sigmask(SigmaskHow::SIG_UNBLOCK, Some(&ttou), None);
            }
        }
    }

    /// Sends `sig` to process group `pid` (an exited group is ignored).
    pub(super) fn signal_group(pid: u32, sig: Signal) {
        let _ = killpg(Pid::from_raw(pid as i32), sig);
    }

    /// Sends `sig` to process `pid`.
    pub(super) fn signal_process(pid: u32, sig: Signal) {
        let _ = nix::sys::signal::kill(Pid::from_raw(pid as i32), sig);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bound() -> Bound {
        Bound {
            api: Some("127.0.0.1:1".parse().unwrap()),
            ecs: Some("127.0.0.1:2".parse().unwrap()),
            imds: vec![("i-1234567890abcdef0".into(), "127.0.0.1:3".parse().unwrap())],
        }
    }

    #[test]
    fn sandbox_is_private_and_points_everything_at_the_server() {
        use std::os::unix::fs::PermissionsExt;
        let world = World::default_world();
        let sandbox = Sandbox::create(
            &bound(),
            &world,
            "[profile a]\nregion = x\n",
            "[b]\naws_access_key_id = K\naws_secret_access_key = S\n",
        )
        .unwrap();
        let dir = sandbox.path().to_path_buf();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join("credentials")), 0o600);
        assert_eq!(sandbox.profiles, vec!["a", "b"]);
        let var = |k: &str| {
            sandbox
                .vars
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
        };
        assert_eq!(var("HOME").unwrap(), dir.join("home").display().to_string());
        assert_eq!(
            var("AWS_ENDPOINT_URL_STS").as_deref(),
            Some("http://127.0.0.1:1/")
        );
        assert_eq!(
            var("AWS_EC2_METADATA_SERVICE_ENDPOINT").as_deref(),
            Some("http://127.0.0.1:3/")
        );
        assert!(var("AWS_CONTAINER_AUTHORIZATION_TOKEN").is_some());
        let text = greeting(&bound(), &sandbox, Path::new("/bin/bash"));
        assert!(text.lines().count() <= 24, "{text}");
        assert!(text.contains("Profiles: a, b"));
        sandbox.remove().unwrap();
        assert!(!dir.exists());
    }
}
