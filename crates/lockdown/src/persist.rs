//! Keeping the lock-down across reboots and firewall reloads, where the distribution has a
//! place for rules: nftables' main configuration file (Debian, Ubuntu, Arch:
//! `/etc/nftables.conf`; Fedora, RHEL: `/etc/sysconfig/nftables.conf`) includes awsid's own
//! file, and iptables' saved rule files (`/etc/iptables/rules.v{4,6}` of
//! iptables-persistent, `/etc/sysconfig/ip{,6}tables` of iptables-services) are re-saved.
//!
//! Every path is under a root directory (`/` outside tests), and every write is atomic.

use std::path::{Path, PathBuf};

use crate::LockdownError;

/// awsid's nftables file, relative to the root.
pub const NFT_FILE: &str = "etc/awsid/imds-lockdown.nft";
/// The distributions' main nftables files, relative to the root, in the order tried.
pub const NFT_MAIN: [&str; 2] = ["etc/nftables.conf", "etc/sysconfig/nftables.conf"];
/// The comment that marks the include line awsid adds.
const INCLUDE_MARK: &str = "# added by awsid imds lockdown (awsid imds lockdown --undo removes it)";

/// Where the rules were (or would be) kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Persistence {
    /// The files written (or removed).
    Files(Vec<PathBuf>),
    /// Nothing to keep them in; the reason names the places looked at.
    NoPlace(String),
    /// Not asked to (`--no-persist`).
    Skipped,
}

impl std::fmt::Display for Persistence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Persistence::Files(files) => {
                let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
                write!(f, "{}", names.join(", "))
            }
            Persistence::NoPlace(why) => write!(f, "not kept across reboots: {why}"),
            Persistence::Skipped => write!(f, "not kept across reboots (--no-persist)"),
        }
    }
}

/// The distribution's main nftables file under `root`, if there is one.
pub fn nft_main(root: &Path) -> Option<PathBuf> {
    NFT_MAIN.iter().map(|p| root.join(p)).find(|p| p.is_file())
}

/// The include line for awsid's file under `root`.
pub fn include_line(root: &Path) -> String {
    format!(
        "include \"{}\" {INCLUDE_MARK}",
        root.join(NFT_FILE).display()
    )
}

/// What [`nft_install`] would do, for `--dry-run`.
pub fn nft_plan(root: &Path) -> Persistence {
    match nft_main(root) {
        Some(main) => Persistence::Files(vec![root.join(NFT_FILE), main]),
        None => Persistence::NoPlace(no_nft_place(root)),
    }
}

fn no_nft_place(root: &Path) -> String {
    let looked: Vec<String> = NFT_MAIN
        .iter()
        .map(|p| root.join(p).display().to_string())
        .collect();
    format!("no nftables configuration file ({})", looked.join(", "))
}

/// Writes `script` to awsid's file and makes the main nftables file include it (once).
pub fn nft_install(root: &Path, script: &str) -> Result<Persistence, LockdownError> {
    let Some(main) = nft_main(root) else {
        return Ok(Persistence::NoPlace(no_nft_place(root)));
    };
    let ours = root.join(NFT_FILE);
    let header = "#!/usr/sbin/nft -f\n# Written by `awsid imds lockdown`; `awsid imds lockdown --undo` removes it.\n";
    write(&ours, format!("{header}{script}").as_bytes(), 0o600)?;
    let text = read(&main)?;
    let line = include_line(root);
    if !text.lines().any(|l| l.trim() == line) {
        let mut new = without_include(&text);
        if !new.is_empty() && !new.ends_with('\n') {
            new.push('\n');
        }
        new.push_str(&line);
        new.push('\n');
        write(&main, new.as_bytes(), mode_of(&main))?;
    }
    Ok(Persistence::Files(vec![ours, main]))
}

/// Removes awsid's include line and file; harmless when neither is there.
pub fn nft_remove(root: &Path) -> Result<Persistence, LockdownError> {
    let ours = root.join(NFT_FILE);
    let mut touched = Vec::new();
    if let Some(main) = nft_main(root) {
        let text = read(&main)?;
        let new = without_include(&text);
        if new != text {
            write(&main, new.as_bytes(), mode_of(&main))?;
            touched.push(main);
        }
    }
    match std::fs::remove_file(&ours) {
        Ok(()) => touched.push(ours),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(LockdownError::Persist { path: ours, source }),
    }
    Ok(Persistence::Files(touched))
}

/// Whether the main nftables file includes awsid's file.
pub fn nft_installed(root: &Path) -> Option<PathBuf> {
    let main = nft_main(root)?;
    let text = std::fs::read_to_string(&main).ok()?;
    text.lines()
        .any(|l| l.trim() == include_line(root))
        .then_some(main)
}

fn without_include(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        if !line.contains(INCLUDE_MARK) {
            out.push_str(line);
        }
    }
    out
}

/// The saved-rules files of iptables under `root` for IPv4 and IPv6, if the distribution
/// keeps some (iptables-persistent's directory, or iptables-services' files).
pub fn iptables_files(root: &Path) -> Option<[PathBuf; 2]> {
    let debian = root.join("etc/iptables");
    if debian.is_dir() {
        return Some([debian.join("rules.v4"), debian.join("rules.v6")]);
    }
    let rhel = [
        root.join("etc/sysconfig/iptables"),
        root.join("etc/sysconfig/ip6tables"),
    ];
    rhel.iter().any(|p| p.is_file()).then_some(rhel)
}

/// Why iptables rules cannot be kept under `root`.
pub fn no_iptables_place(root: &Path) -> String {
    format!(
        "no saved-rules location ({} of iptables-persistent, or {} of iptables-services)",
        root.join("etc/iptables").display(),
        root.join("etc/sysconfig/iptables").display()
    )
}

/// Atomically replaces `path` with `bytes` (the output of `iptables-save` and friends).
pub fn save(path: &Path, bytes: &[u8]) -> Result<(), LockdownError> {
    let mode = if path.exists() { mode_of(path) } else { 0o600 };
    write(path, bytes, mode)
}

fn read(path: &Path) -> Result<String, LockdownError> {
    std::fs::read_to_string(path).map_err(|source| LockdownError::Persist {
        path: path.to_owned(),
        source,
    })
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<(), LockdownError> {
    awsid_profile::atomic::write_atomic(path, bytes, mode).map_err(|e| LockdownError::Persist {
        path: path.to_owned(),
        source: e.source,
    })
}

fn mode_of(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nft_include_is_added_once_and_removed() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        assert!(matches!(nft_plan(r), Persistence::NoPlace(_)));
        assert!(matches!(
            nft_install(r, "x\n").unwrap(),
            Persistence::NoPlace(_)
        ));
        std::fs::create_dir_all(r.join("etc")).unwrap();
        let original = "#!/usr/sbin/nft -f\n\nflush ruleset\n\ntable inet filter {\n}\n";
        std::fs::write(r.join("etc/nftables.conf"), original).unwrap();
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(
                r.join("etc/nftables.conf"),
                std::fs::Permissions::from_mode(0o755),
            )
            .unwrap();
        }
        for _ in 0..2 {
            let p = nft_install(r, "add table inet t\n").unwrap();
            assert_eq!(
                p,
                Persistence::Files(vec![r.join(NFT_FILE), r.join("etc/nftables.conf")])
            );
        }
        let main = std::fs::read_to_string(r.join("etc/nftables.conf")).unwrap();
        assert_eq!(main, format!("{original}{}\n", include_line(r)));
        assert_eq!(mode_of(&r.join("etc/nftables.conf")), 0o755);
        assert_eq!(mode_of(&r.join(NFT_FILE)), 0o600);
        assert!(std::fs::read_to_string(r.join(NFT_FILE))
            .unwrap()
            .ends_with("add table inet t\n"));
        assert_eq!(nft_installed(r), Some(r.join("etc/nftables.conf")));
        nft_remove(r).unwrap();
        assert_eq!(
            std::fs::read_to_string(r.join("etc/nftables.conf")).unwrap(),
            original
        );
        assert!(!r.join(NFT_FILE).exists());
        assert_eq!(nft_installed(r), None);
        // Undoing again changes nothing.
        assert_eq!(nft_remove(r).unwrap(), Persistence::Files(vec![]));
    }

    #[test]
    fn iptables_places() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        assert_eq!(iptables_files(r), None);
        std::fs::create_dir_all(r.join("etc/sysconfig")).unwrap();
        std::fs::write(r.join("etc/sysconfig/iptables"), "").unwrap();
        assert_eq!(
            iptables_files(r).unwrap()[1],
            r.join("etc/sysconfig/ip6tables")
        );
        std::fs::create_dir_all(r.join("etc/iptables")).unwrap();
        assert_eq!(
            iptables_files(r).unwrap()[0],
            r.join("etc/iptables/rules.v4")
        );
    }
}
