//! Applying, undoing and reading the lock-down with the host's firewall tools, and the
//! `--dry-run` text that shows exactly what would be run.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::iptables::{self, Family};
use crate::persist::{self, Persistence};
use crate::{describe_users, nft, parse_marker, LockdownError, OsUser, METADATA_V4, METADATA_V6};

/// Which firewall interface carries the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// nftables (`nft`), preferred.
    Nft,
    /// iptables and ip6tables, where nftables is absent.
    Iptables,
}

impl std::fmt::Display for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Backend::Nft => "nftables",
            Backend::Iptables => "iptables",
        })
    }
}

/// How to apply: the backend, whether to persist, and the root of the persistence files.
#[derive(Clone, Debug)]
pub struct Options {
    /// The firewall interface.
    pub backend: Backend,
    /// Keep the rules across reboots and reloads where the distribution has a place.
    pub persist: bool,
    /// The directory the persistence paths are under (`/` outside tests).
    pub root: PathBuf,
}

/// Finds a program on `PATH` or in the system directories root's PATH has (a user's PATH
/// often lacks `/usr/sbin`).
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// nftables when `nft` is installed, else iptables when both `iptables` and `ip6tables` are.
pub fn detect() -> Result<Backend, LockdownError> {
    if find_program("nft").is_some() {
        return Ok(Backend::Nft);
    }
    if find_program("iptables").is_some() && find_program("ip6tables").is_some() {
        return Ok(Backend::Iptables);
    }
    Err(LockdownError::NoFirewall)
}

/// The addresses, one line.
fn addresses() -> String {
    METADATA_V4
        .iter()
        .map(ToString::to_string)
        .chain(METADATA_V6.iter().map(ToString::to_string))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What `--dry-run` prints for applying (`users` = `Some`) or undoing (`None`): comments,
/// then the exact input of each command that would run.
pub fn dry_run(users: Option<&[OsUser]>, opts: &Options) -> String {
    let mut out = String::new();
    match users {
        Some(users) => out.push_str(&format!(
            "# awsid imds lockdown (dry run): {}; allowed: {}\n# metadata addresses: {}\n",
            opts.backend,
            describe_users(users),
            addresses()
        )),
        None => out.push_str(&format!(
            "# awsid imds lockdown --undo (dry run): {}\n",
            opts.backend
        )),
    }
    match opts.backend {
        Backend::Nft => {
            out.push_str("# would run: nft -f - with:\n");
            out.push_str(&match users {
                Some(users) => nft::script(users),
                None => nft::undo_script(),
            });
        }
        Backend::Iptables => {
            for family in Family::ALL {
                let tool = family.tool();
                match users {
                    Some(users) => {
                        out.push_str(&format!(
                            "# would run: {} --noflush -w with:\n",
                            family.restore_tool()
                        ));
                        out.push_str(&iptables::restore_input(users, family));
                        out.push_str(&format!(
                            "# would run: {tool} {} || {tool} {}\n",
                            iptables::jump("-C").join(" "),
                            iptables::jump("-I").join(" ")
                        ));
                    }
                    None => {
                        out.push_str(&format!(
                            "# would run: while {tool} {}; do {tool} {}; done\n",
                            iptables::jump("-C").join(" "),
                            iptables::jump("-D").join(" ")
                        ));
                        for args in iptables::remove_chain() {
                            out.push_str(&format!("# would run: {tool} {}\n", args.join(" ")));
                        }
                    }
                }
            }
        }
    }
    let keep = if !opts.persist {
        Persistence::Skipped
    } else {
        match (opts.backend, users.is_some()) {
            (Backend::Nft, true) => persist::nft_plan(&opts.root),
            (Backend::Nft, false) => Persistence::Files(
                [
                    Some(opts.root.join(persist::NFT_FILE)),
                    persist::nft_main(&opts.root),
                ]
                .into_iter()
                .flatten()
                .collect(),
            ),
            (Backend::Iptables, _) => match persist::iptables_files(&opts.root) {
                Some(files) => Persistence::Files(files.to_vec()),
                None => Persistence::NoPlace(persist::no_iptables_place(&opts.root)),
            },
        }
    };
    match (&keep, users.is_some()) {
        (Persistence::Files(_), true) => out.push_str(&format!(
            "# would keep the rules across reboots in: {keep}\n"
        )),
        (Persistence::Files(_), false) => {
            out.push_str(&format!("# would remove the kept rules from: {keep}\n"))
        }
        _ => out.push_str(&format!("# {keep}\n")),
    }
    out
}

/// What an apply or undo did.
#[derive(Clone, Debug)]
pub struct Report {
    /// The backend used.
    pub backend: Backend,
    /// Where the rules are kept (or were removed from).
    pub persistence: Persistence,
}

/// Installs (or replaces) the lock-down for `users`.
pub fn apply(users: &[OsUser], opts: &Options) -> Result<Report, LockdownError> {
    let persistence = match opts.backend {
        Backend::Nft => {
            let script = nft::script(users);
            run_with_input("nft", &["-f", "-"], &script)?;
            if opts.persist {
                persist::nft_install(&opts.root, &script)?
            } else {
                Persistence::Skipped
            }
        }
        Backend::Iptables => {
            for family in Family::ALL {
                run_with_input(
                    family.restore_tool(),
                    &["--noflush", "-w"],
                    &iptables::restore_input(users, family),
                )?;
                if !succeeds(family.tool(), &iptables::jump("-C")) {
                    run(family.tool(), &iptables::jump("-I"))?;
                }
            }
            save_iptables(opts)?
        }
    };
    Ok(Report {
        backend: opts.backend,
        persistence,
    })
}

/// Removes the lock-down; harmless when none is in place.
pub fn undo(opts: &Options) -> Result<Report, LockdownError> {
    let persistence = match opts.backend {
        Backend::Nft => {
            run_with_input("nft", &["-f", "-"], &nft::undo_script())?;
            if opts.persist {
                persist::nft_remove(&opts.root)?
            } else {
                Persistence::Skipped
            }
        }
        Backend::Iptables => {
            for family in Family::ALL {
                let tool = family.tool();
                // Bounded: a jump inserted many times by hand is still removed.
                for _ in 0..64 {
                    if !succeeds(tool, &iptables::jump("-C")) {
                        break;
                    }
                    run(tool, &iptables::jump("-D"))?;
                }
                if succeeds(tool, &["-w".into(), "-S".into(), iptables::CHAIN.into()]) {
                    for args in iptables::remove_chain() {
                        run(tool, &args)?;
                    }
                }
            }
            save_iptables(opts)?
        }
    };
    Ok(Report {
        backend: opts.backend,
        persistence,
    })
}

fn save_iptables(opts: &Options) -> Result<Persistence, LockdownError> {
    if !opts.persist {
        return Ok(Persistence::Skipped);
    }
    let Some(files) = persist::iptables_files(&opts.root) else {
        return Ok(Persistence::NoPlace(persist::no_iptables_place(&opts.root)));
    };
    for (family, path) in Family::ALL.iter().zip(&files) {
        let saved = output(&format!("{}-save", family.tool()), &[])?;
        persist::save(path, saved.as_bytes())?;
    }
    Ok(Persistence::Files(files.to_vec()))
}

/// The lock-down in place, as read back from the kernel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// The backend asked.
    pub backend: Backend,
    /// `Some(uids)` when a lock-down is in place (`[]`: nobody is allowed).
    pub allowed_uids: Option<Vec<u32>>,
    /// The rule listing as the tool prints it (empty when none).
    pub listing: String,
    /// The file that keeps the rules across reboots, if any.
    pub persisted: Option<PathBuf>,
}

/// Reads the lock-down in place.
pub fn status(opts: &Options) -> Result<Status, LockdownError> {
    let (listing, persisted) = match opts.backend {
        Backend::Nft => {
            let (ok, text, _) = capture(
                "nft",
                &[
                    "list".into(),
                    "table".into(),
                    "inet".into(),
                    "awsid_imds_lockdown".into(),
                ],
            )?;
            let persisted = persist::nft_installed(&opts.root);
            (if ok { text } else { String::new() }, persisted)
        }
        Backend::Iptables => {
            let mut listing = String::new();
            for family in Family::ALL {
                let (ok, text, _) = capture(
                    family.tool(),
                    &["-w".into(), "-S".into(), iptables::CHAIN.into()],
                )?;
                if ok && succeeds(family.tool(), &iptables::jump("-C")) {
                    listing.push_str(&text);
                }
            }
            let persisted = persist::iptables_files(&opts.root).and_then(|files| {
                let text = std::fs::read_to_string(&files[0]).ok()?;
                text.contains(iptables::CHAIN).then(|| files[0].clone())
            });
            (listing, persisted)
        }
    };
    Ok(Status {
        backend: opts.backend,
        allowed_uids: parse_marker(&listing),
        listing,
        persisted,
    })
}

fn command(tool: &str) -> Command {
    let mut c = Command::new(find_program(tool).unwrap_or_else(|| PathBuf::from(tool)));
    c.env("LC_ALL", "C");
    c
}

fn failure(tool: &str, args: &[String], out: &std::process::Output) -> LockdownError {
    LockdownError::Tool {
        tool: format!("{tool} {}", args.join(" ")).trim_end().to_string(),
        status: out.status.code().unwrap_or(-1),
        stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
    }
}

fn spawn_error(tool: &str) -> impl FnOnce(std::io::Error) -> LockdownError + '_ {
    move |source| LockdownError::Spawn {
        tool: tool.to_string(),
        source,
    }
}

fn run_with_input(tool: &str, args: &[&str], input: &str) -> Result<(), LockdownError> {
    let mut child = command(tool)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error(tool))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(input.as_bytes())
            .map_err(spawn_error(tool))?;
    }
    let out = child.wait_with_output().map_err(spawn_error(tool))?;
    if out.status.success() {
        Ok(())
    } else {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        Err(failure(tool, &args, &out))
    }
}

fn run(tool: &str, args: &[String]) -> Result<(), LockdownError> {
    let (ok, _, _) = capture(tool, args)?;
    if ok {
        return Ok(());
    }
    let out = command(tool)
        .args(args)
        .output()
        .map_err(spawn_error(tool))?;
    Err(failure(tool, args, &out))
}

fn output(tool: &str, args: &[String]) -> Result<String, LockdownError> {
    let out = command(tool)
        .args(args)
        .output()
        .map_err(spawn_error(tool))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(failure(tool, args, &out))
    }
}

fn succeeds(tool: &str, args: &[String]) -> bool {
    command(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs and returns (success, stdout, stderr); fails only when the tool cannot start.
fn capture(tool: &str, args: &[String]) -> Result<(bool, String, String), LockdownError> {
    let out = command(tool)
        .args(args)
        .output()
        .map_err(spawn_error(tool))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// The persistence root used outside tests.
pub fn system_root() -> &'static Path {
    Path::new("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resolve_users;

    fn opts(backend: Backend, root: &Path) -> Options {
        Options {
            backend,
            persist: true,
            root: root.to_owned(),
        }
    }

    #[test]
    fn dry_run_nft_prints_the_script_and_the_persistence() {
        let root = tempfile::tempdir().unwrap();
        let users = resolve_users(&["root"]).unwrap();
        let text = dry_run(Some(&users), &opts(Backend::Nft, root.path()));
        assert!(text.starts_with(
            "# awsid imds lockdown (dry run): nftables; allowed: root (uid 0)\n# metadata addresses: 169.254.169.254, 169.254.170.2, 169.254.170.23, fd00:ec2::254, fd00:ec2::23\n# would run: nft -f - with:\n"
        ), "{text}");
        assert!(text.contains(&nft::script(&users)));
        assert!(
            text.ends_with(&format!(
                "# not kept across reboots: no nftables configuration file ({}, {})\n",
                root.path().join("etc/nftables.conf").display(),
                root.path().join("etc/sysconfig/nftables.conf").display()
            )),
            "{text}"
        );
        std::fs::create_dir_all(root.path().join("etc")).unwrap();
        std::fs::write(root.path().join("etc/nftables.conf"), "flush ruleset\n").unwrap();
        let text = dry_run(Some(&users), &opts(Backend::Nft, root.path()));
        assert!(
            text.ends_with(&format!(
                "# would keep the rules across reboots in: {}, {}\n",
                root.path().join(persist::NFT_FILE).display(),
                root.path().join("etc/nftables.conf").display()
            )),
            "{text}"
        );
        let undo = dry_run(None, &opts(Backend::Nft, root.path()));
        assert!(undo.starts_with("# awsid imds lockdown --undo (dry run): nftables\n# would run: nft -f - with:\nadd table inet awsid_imds_lockdown\ndelete table inet awsid_imds_lockdown\n"), "{undo}");
        // A dry run touches nothing.
        assert_eq!(
            std::fs::read_to_string(root.path().join("etc/nftables.conf")).unwrap(),
            "flush ruleset\n"
        );
        assert!(!root.path().join(persist::NFT_FILE).exists());
    }

    #[test]
    fn dry_run_iptables_covers_both_families() {
        let root = tempfile::tempdir().unwrap();
        let mut o = opts(Backend::Iptables, root.path());
        o.persist = false;
        let text = dry_run(Some(&[]), &o);
        assert!(text.contains("# would run: iptables-restore --noflush -w with:\n*filter\n"));
        assert!(text.contains("# would run: ip6tables-restore --noflush -w with:\n*filter\n"));
        assert!(text.contains("# would run: ip6tables -w -C OUTPUT -j AWSID-IMDS-LOCKDOWN || ip6tables -w -I OUTPUT 1 -j AWSID-IMDS-LOCKDOWN\n"));
        assert!(text.ends_with("# not kept across reboots (--no-persist)\n"));
        let undo = dry_run(None, &o);
        assert!(undo.contains("# would run: while iptables -w -C OUTPUT -j AWSID-IMDS-LOCKDOWN; do iptables -w -D OUTPUT -j AWSID-IMDS-LOCKDOWN; done\n# would run: iptables -w -F AWSID-IMDS-LOCKDOWN\n# would run: iptables -w -X AWSID-IMDS-LOCKDOWN\n"), "{undo}");
    }
}
