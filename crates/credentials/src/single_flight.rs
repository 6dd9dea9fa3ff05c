//! One refresh per machine: however many processes find the same cached credential stale at
//! the same moment, one of them refreshes it and the others use what it wrote.
//!
//! ```text
//! single_flight::run(&entry, wait, || read_entry_if_fresh(), || { call(); write_entry(); })
//! ```
//!
//! [`run`] is the one API for every refreshable entry awsid keeps on disk — each assume-role hop
//! and web-identity result and each MFA session in `~/.aws/cli/cache`, SSO role credentials,
//! the SSO token in `~/.aws/sso/cache` (whose refresh rotates the refresh token, so two
//! refreshers would lose a session) — and the hook for any later one (the `aws login` token,
//! the `exec` servers). Its contract:
//!
//! 1. `fresh()` reads the entry; usable → returned, no lock touched (the hot path).
//! 2. Otherwise an exclusive `flock` on `<entry>.lock` beside the entry — never the entry itself,
//!    so the aws CLI, which knows nothing of it, keeps reading and writing entries. The wait is
//!    bounded; the lock belongs to the holder's open file, so a holder that dies (even by
//!    SIGKILL) releases it at once.
//! 3. With the lock: `fresh()` again — the previous holder has usually just refreshed it.
//! 4. Still stale: `refresh()` runs under the lock. It must write the entry whole (temp file and
//!    rename, [`awsid_profile::atomic`]) and in the CLI's format before it returns.
//! 5. The bound ran out (a hung holder) or the lock file cannot be created (a read-only
//!    directory): refresh without the lock, as the CLI always does. Never an error by itself.
//!
//! `fresh()` must treat an entry it cannot parse as stale, not as an error: the aws CLI writes
//! its entries in place, so a reader can catch one half-written.
//!
//! Lock files are left in place (empty, mode 0600): removing one while another process waits on
//! it would let a third lock a new file under the same name.

use std::path::{Path, PathBuf};
use std::time::Duration;

use awsid_profile::atomic::LockFile;
use awsid_profile::Env;

/// How long a refresh over the network may hold others waiting by default.
pub const NETWORK_WAIT: Duration = Duration::from_secs(30);
/// How long a refresh that asks a person (an MFA code) may hold others waiting by default: they
/// wait for the one code rather than each asking for their own.
pub const INTERACTIVE_WAIT: Duration = Duration::from_secs(300);
/// Overrides both bounds: seconds, a decimal number (`AWSID_LOCK_WAIT=0.5`).
pub const WAIT_VARIABLE: &str = "AWSID_LOCK_WAIT";

/// What kind of refresh an entry needs, which decides how long others wait for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refresh {
    /// A service call (STS, SSO).
    Network,
    /// A service call that first asks a person for an MFA code.
    Interactive,
}

impl Refresh {
    /// The bound for this kind: [`WAIT_VARIABLE`] when set to a valid number, else the default.
    pub fn wait(self, env: &Env) -> Duration {
        if let Some(secs) = env
            .get_non_empty(WAIT_VARIABLE)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
        {
            return Duration::from_secs_f64(secs);
        }
        match self {
            Refresh::Network => NETWORK_WAIT,
            Refresh::Interactive => INTERACTIVE_WAIT,
        }
    }
}

/// The lock file of `entry`: `<entry>.lock` in the same directory.
pub fn lock_path(entry: &Path) -> PathBuf {
    let mut name = entry.file_name().unwrap_or_default().to_owned();
    name.push(".lock");
    entry.with_file_name(name)
}

/// Runs the single flight of the [module documentation](self) for `entry`: `fresh` reads it
/// (`None` when missing, stale or unreadable), `refresh` renews and writes it; others wait at
/// most `wait` for the holder.
pub fn run<T, E>(
    entry: &Path,
    wait: Duration,
    mut fresh: impl FnMut() -> Option<T>,
    refresh: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    if let Some(value) = fresh() {
        return Ok(value);
    }
    let lock = lock_path(entry);
    let held = match LockFile::acquire(&lock, Duration::ZERO) {
        Ok(Some(held)) => Some(held),
        Ok(None) => {
            tracing::debug!(
                "waiting up to {:.1}s for {}: another process is refreshing it",
                wait.as_secs_f64(),
                lock.display()
            );
            match LockFile::acquire(&lock, wait) {
                Ok(Some(held)) => Some(held),
                Ok(None) => {
                    tracing::warn!(
                        "{} still held after {:.1}s: refreshing without it",
                        lock.display(),
                        wait.as_secs_f64()
                    );
                    None
                }
                Err(e) => {
                    tracing::warn!("cannot lock {e}: refreshing without the lock");
                    None
                }
            }
        }
        Err(e) => {
            tracing::debug!("cannot lock {e}: refreshing without the lock");
            None
        }
    };
    if let Some(value) = fresh() {
        tracing::debug!("{} was refreshed by another process", entry.display());
        return Ok(value);
    }
    tracing::debug!(
        "refreshing {}{}",
        entry.display(),
        if held.is_some() {
            " under its lock"
        } else {
            ""
        }
    );
    let result = refresh();
    drop(held);
    result
}

/// Lock waiters on `path`'s file as the kernel lists them (`/proc/locks`): tests wait on this
/// instead of sleeping.
#[cfg(test)]
pub(crate) fn blocked_waiters(path: &Path) -> usize {
    use std::os::unix::fs::MetadataExt;
    let Ok(meta) = std::fs::metadata(path) else {
        return 0;
    };
    let inode = meta.ino();
    let Ok(locks) = std::fs::read_to_string("/proc/locks") else {
        return 0;
    };
    locks
        .lines()
        .filter(|line| line.contains("->"))
        .filter(|line| {
            line.split_whitespace()
                .find(|field| field.matches(':').count() == 2)
                .and_then(|dev_inode| dev_inode.rsplit(':').next())
                .and_then(|i| i.parse::<u64>().ok())
                == Some(inode)
        })
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Arc, Mutex};

    const HANG: Duration = Duration::from_secs(300);

    fn read(entry: &Path) -> Option<String> {
        std::fs::read_to_string(entry)
            .ok()
            .filter(|s| s.starts_with("fresh"))
    }

    #[test]
    fn lock_file_sits_beside_the_entry() {
        assert_eq!(
            lock_path(Path::new("/h/.aws/cli/cache/abc.json")),
            Path::new("/h/.aws/cli/cache/abc.json.lock")
        );
    }

    #[test]
    fn a_fresh_entry_is_used_without_locking() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("e.json");
        std::fs::write(&entry, "fresh 1").unwrap();
        let out: Result<String, ()> = run(&entry, HANG, || read(&entry), || panic!("refreshed"));
        assert_eq!(out.unwrap(), "fresh 1");
        assert!(!lock_path(&entry).exists());
    }

    #[test]
    fn many_threads_one_refresh() {
        let dir = tempfile::tempdir().unwrap();
        let entry = Arc::new(dir.path().join("e.json"));
        std::fs::write(&*entry, "stale").unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let (started_tx, started_rx) = mpsc::channel();
        let (open_tx, open_rx) = mpsc::channel::<()>();
        let started_tx = Arc::new(Mutex::new(started_tx));
        let open_rx = Arc::new(Mutex::new(open_rx));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (entry, calls) = (entry.clone(), calls.clone());
                let (started_tx, open_rx) = (started_tx.clone(), open_rx.clone());
                std::thread::spawn(move || {
                    run(
                        &entry,
                        HANG,
                        || read(&entry),
                        || {
                            let n = calls.fetch_add(1, Ordering::SeqCst);
                            started_tx.lock().unwrap().send(()).unwrap();
                            open_rx.lock().unwrap().recv_timeout(HANG).unwrap();
                            awsid_profile::atomic::write_atomic(
                                &entry,
                                format!("fresh {n}").as_bytes(),
                                0o600,
                            )
                            .unwrap();
                            Ok::<_, ()>(format!("fresh {n}"))
                        },
                    )
                    .unwrap()
                })
            })
            .collect();
        // One thread refreshes; the seven others block on the lock file until it is done.
        started_rx.recv_timeout(HANG).unwrap();
        let lock = lock_path(&entry);
        while blocked_waiters(&lock) < 7 {
            std::thread::yield_now();
        }
        open_tx.send(()).unwrap();
        for t in threads {
            assert_eq!(t.join().unwrap(), "fresh 0");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_refresh_that_fails_lets_the_next_waiter_try() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("e.json");
        let first: Result<String, &str> = run(&entry, HANG, || read(&entry), || Err("down"));
        assert_eq!(first.unwrap_err(), "down");
        let second: Result<String, &str> = run(
            &entry,
            HANG,
            || read(&entry),
            || Ok("fresh again".to_string()),
        );
        assert_eq!(second.unwrap(), "fresh again");
    }

    #[test]
    fn a_hung_holder_delays_others_by_the_bound_only() {
        let dir = tempfile::tempdir().unwrap();
        let entry = dir.path().join("e.json");
        let held = LockFile::acquire(&lock_path(&entry), Duration::ZERO)
            .unwrap()
            .unwrap();
        let out: Result<String, ()> = run(
            &entry,
            Duration::from_millis(1),
            || read(&entry),
            || Ok("refreshed anyway".into()),
        );
        assert_eq!(out.unwrap(), "refreshed anyway");
        drop(held);
    }

    #[test]
    fn an_unlockable_directory_still_refreshes() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        std::fs::write(&file, "").unwrap();
        let entry = file.join("e.json");
        let out: Result<String, ()> = run(&entry, HANG, || None, || Ok("ok".into()));
        assert_eq!(out.unwrap(), "ok");
    }

    #[test]
    fn wait_bounds() {
        let env = Env::from_pairs([("X", "y")]);
        assert_eq!(Refresh::Network.wait(&env), NETWORK_WAIT);
        assert_eq!(Refresh::Interactive.wait(&env), INTERACTIVE_WAIT);
        let env = Env::from_pairs([(WAIT_VARIABLE, "0.25")]);
        assert_eq!(Refresh::Interactive.wait(&env), Duration::from_millis(250));
        let env = Env::from_pairs([(WAIT_VARIABLE, "-1")]);
        assert_eq!(Refresh::Network.wait(&env), NETWORK_WAIT);
    }
}
