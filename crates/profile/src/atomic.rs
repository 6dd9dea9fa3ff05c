//! Files replaced whole, never seen half-written, and the advisory locks around them.
//!
//! * [`write_atomic`] — replace a file: a temp file beside it (`.<name>.<random>.tmp`), its mode
//!   set before any byte is written, the bytes, fsync, rename over the target, fsync of the
//!   directory. A reader sees the old file or the new one; a crash leaves the old file. The
//!   temp file is `flock`ed while it lives, so [`remove_stale_temps`] (run by every write) can
//!   tell a dead writer's leftover — which may hold secrets — from a live writer's file.
//! * [`Directory`] — an open directory: [`Directory::lock`] for writers that read, edit and
//!   replace a file under one exclusive lock (the shared-file writers), and
//!   [`Directory::replace`] for the replacement itself.
//! * [`LockFile`] — an exclusive lock on a lock file with a bounded wait: the credential caches'
//!   single flight (`<entry>.lock` beside each entry, never the entry itself, so readers that
//!   know nothing of locks keep reading the entry).
//!
//! Every lock is `flock(2)`: it belongs to the open file and dies with the process, so a killed
//! holder blocks no one.

use std::fs::{File, Metadata};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A temp file older than this that no writer holds locked is a dead writer's leftover. (A live
/// writer locks its temp file right after creating it; the age only covers that instant.)
pub const STALE_TEMP_AGE: Duration = Duration::from_secs(10);

/// An I/O failure and the file or directory it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The file or directory at fault.
    pub path: PathBuf,
    /// The OS error.
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    fn at(path: &Path) -> impl FnOnce(std::io::Error) -> FileError + '_ {
        move |source| FileError {
            path: path.to_owned(),
            source,
        }
    }
}

/// Mode (and owner) of a replacement file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FileMode {
    mode: u32,
    owner: Option<(u32, u32)>,
}

impl FileMode {
    /// Permission bits `mode` (`0o600` for files holding secrets), owned by whoever writes.
    pub fn new(mode: u32) -> FileMode {
        FileMode { mode, owner: None }
    }

    /// The mode of the existing file `meta`, and its owner where the writer may keep it (root).
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> FileMode {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        FileMode {
            mode: meta.permissions().mode() & 0o7777,
            owner: Some((meta.uid(), meta.gid())),
        }
    }

    /// The mode of the existing file `meta`.
    #[cfg(not(unix))]
    pub fn of(_meta: &Metadata) -> FileMode {
        FileMode::new(0o600)
    }

    #[cfg(unix)]
    fn apply(&self, file: &File) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        if let Some((uid, gid)) = self.owner {
            // Only root may give a file away; anyone else already owns what they write.
            let _ = std::os::unix::fs::fchown(file, Some(uid), Some(gid));
        }
        file.set_permissions(std::fs::Permissions::from_mode(self.mode))
    }

    #[cfg(not(unix))]
    fn apply(&self, _file: &File) -> std::io::Result<()> {
        Ok(())
    }
}

/// Replaces `path` with `bytes` atomically with permission bits `mode`: follows symlinks to the
/// file they name, creates missing parent directories, removes stale temp files of `path` left
/// by dead writers, then writes as the [module documentation](self) describes.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), FileError> {
    let real = resolve_symlinks(path).map_err(FileError::at(path))?;
    let dir = Directory::open(&parent_dir(&real), true)?;
    remove_stale_temps(&real);
    dir.replace(&real, bytes, FileMode::new(mode))
}

/// An open directory, for locking it and replacing files in it.
#[derive(Debug)]
pub struct Directory {
    path: PathBuf,
    handle: File,
}

impl Directory {
    /// Opens `path`, creating it (and its parents) first when `create` is set.
    pub fn open(path: &Path, create: bool) -> Result<Directory, FileError> {
        if create {
            std::fs::create_dir_all(path).map_err(FileError::at(path))?;
        }
        let handle = File::open(path).map_err(FileError::at(path))?;
        Ok(Directory {
            path: path.to_owned(),
            handle,
        })
    }

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Takes an exclusive lock on the directory, waiting as long as it takes; it is released
    /// when this `Directory` is dropped. A lock on the directory, not on the file, because a
    /// rename replaces the file's inode (a waiter would hold a lock on a dead file) and a
    /// directory lock needs no lock file and works before the file exists.
    pub fn lock(&self) -> Result<(), FileError> {
        self.handle.lock().map_err(FileError::at(&self.path))
    }

    /// Replaces `target` (a file in this directory) with `bytes`: temp file, `mode`, bytes,
    /// fsync, rename, directory fsync. On failure the temp file is removed and `target` is
    /// untouched.
    pub fn replace(&self, target: &Path, bytes: &[u8], mode: FileMode) -> Result<(), FileError> {
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut tmp = tempfile::Builder::new()
            .prefix(&temp_prefix(&name))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(&self.path)
            .map_err(FileError::at(&self.path))?;
        // Marks the temp file as a live writer's (see `remove_stale_temps`).
        tmp.as_file().lock().map_err(FileError::at(tmp.path()))?;
        mode.apply(tmp.as_file())
            .map_err(FileError::at(tmp.path()))?;
        tmp.write_all(bytes).map_err(FileError::at(target))?;
        tmp.as_file().sync_all().map_err(FileError::at(target))?;
        tmp.persist(target).map_err(|e| FileError {
            path: target.to_owned(),
            source: e.error,
        })?;
        self.handle.sync_all().map_err(FileError::at(&self.path))
    }
}

const TEMP_SUFFIX: &str = ".tmp";

fn temp_prefix(name: &str) -> String {
    format!(".{name}.")
}

/// Removes the temp files of `target` (`.<name>.*.tmp` beside it) that dead writers left
/// behind: older than [`STALE_TEMP_AGE`] and not locked by a live writer. Returns how many were
/// removed; anything it cannot inspect is left alone.
pub fn remove_stale_temps(target: &Path) -> usize {
    let Some(name) = target.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return 0;
    };
    let prefix = temp_prefix(&name);
    let dir = parent_dir(target);
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let now = SystemTime::now();
    let mut removed = 0;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let file_name = file_name.to_string_lossy();
        if !(file_name.starts_with(&prefix) && file_name.ends_with(TEMP_SUFFIX))
            || file_name.len() <= prefix.len() + TEMP_SUFFIX.len()
        {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        let old = meta
            .modified()
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .is_some_and(|age| age >= STALE_TEMP_AGE);
        if !meta.is_file() || !old {
            continue;
        }
        let Ok(file) = File::open(&path) else {
            continue;
        };
        // Locked: a live writer. Unlocked and old: its writer died before the rename.
        if file.try_lock().is_ok() && std::fs::remove_file(&path).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// An exclusive advisory lock on a lock file, held until dropped (or until the process dies).
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    _file: File,
}

impl LockFile {
    /// Opens `path` (creating it, mode 0600, and its directory) and locks it, waiting at most
    /// `wait` for another holder to let go: `Ok(None)` when the wait ran out. The wait ends the
    /// moment the holder unlocks or dies (the kernel wakes the waiter; nothing polls).
    pub fn acquire(path: &Path, wait: Duration) -> Result<Option<LockFile>, FileError> {
        let file = open_lock_file(path)?;
        match file.try_lock() {
            Ok(()) => return Ok(Some(LockFile::held(path, file))),
            Err(std::fs::TryLockError::WouldBlock) => {}
            Err(std::fs::TryLockError::Error(e)) => return Err(FileError::at(path)(e)),
        }
        if wait.is_zero() {
            return Ok(None);
        }
        // flock(2) has no timeout: block in a helper thread on a second handle of the same open
        // file (the lock belongs to the open file, so it covers both handles). If the wait runs
        // out first, the helper takes the lock later and drops it at once, as nobody listens.
        let waiter = file.try_clone().map_err(FileError::at(path))?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("awsid-lock-wait".into())
            .spawn(move || {
                let result = waiter.lock();
                let _ = tx.send(result);
                drop(waiter);
            })
            .map_err(FileError::at(path))?;
        match rx.recv_timeout(wait) {
            Ok(Ok(())) => Ok(Some(LockFile::held(path, file))),
            Ok(Err(e)) => Err(FileError::at(path)(e)),
            Err(_) => Ok(None),
        }
    }

    fn held(path: &Path, file: File) -> LockFile {
        LockFile {
            path: path.to_owned(),
            _file: file,
        }
    }

    /// The lock file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

fn open_lock_file(path: &Path) -> Result<File, FileError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true).write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(f) => Ok(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = parent_dir(path);
            std::fs::create_dir_all(&dir).map_err(FileError::at(&dir))?;
            options.open(path).map_err(FileError::at(path))
        }
        Err(e) => Err(FileError::at(path)(e)),
    }
}

/// The directory holding `path`; a bare file name lives in the current directory.
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Follows symlinks at `path` to the file they name (which may not exist yet), so that a
/// replacement replaces the target and keeps the link.
pub fn resolve_symlinks(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = if target.is_absolute() {
                    target
                } else {
                    parent_dir(&current).join(target)
                };
            }
            _ => return Ok(current),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    /// Sets the modification time of `path` `secs` seconds into the past.
    fn age(path: &Path, secs: u64) {
        let f = File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - Duration::from_secs(secs))
            .unwrap();
    }

    #[test]
    fn writes_with_the_mode_and_creates_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache/sub/x.json");
        write_atomic(&path, b"{}", 0o600).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        assert_eq!(mode_of(&path), 0o600);
        // A replacement gets the mode asked for, whatever the old file had.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_atomic(&path, b"{\"a\": 1}", 0o600).unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(names(&dir.path().join("cache/sub")), ["x.json"]);
    }

    #[test]
    fn follows_symlinks_and_keeps_them() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("real"), "old").unwrap();
        std::os::unix::fs::symlink("real", dir.path().join("link")).unwrap();
        write_atomic(&dir.path().join("link"), b"new", 0o600).unwrap();
        assert!(std::fs::symlink_metadata(dir.path().join("link"))
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(dir.path().join("real")).unwrap(), b"new");
    }

    #[test]
    fn a_failed_replacement_leaves_the_old_file_and_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        // The target is a non-empty directory: the rename fails.
        let target = dir.path().join("t");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep"), "x").unwrap();
        let err = write_atomic(&target, b"data", 0o600).unwrap_err();
        assert_eq!(err.path, target);
        assert_eq!(names(dir.path()), ["t"]);
        assert_eq!(names(&target), ["keep"]);
    }

    #[test]
    fn stale_temps_of_dead_writers_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("credentials");
        // A dead writer's leftover: old and unlocked.
        let dead = dir.path().join(".credentials.abc123.tmp");
        std::fs::write(&dead, "aws_secret_access_key = leaked").unwrap();
        age(&dead, 3600);
        // A live writer's temp: old but locked.
        let live = dir.path().join(".credentials.def456.tmp");
        std::fs::write(&live, "in progress").unwrap();
        age(&live, 3600);
        let live_handle = File::open(&live).unwrap();
        live_handle.lock().unwrap();
        // A fresh unlocked temp (a writer between creating and locking it).
        let fresh = dir.path().join(".credentials.ghi789.tmp");
        std::fs::write(&fresh, "just created").unwrap();
        // Other files are never touched, even when they look alike.
        let other = dir.path().join(".config.abc123.tmp");
        std::fs::write(&other, "x").unwrap();
        age(&other, 3600);
        let bare = dir.path().join(".credentials..tmp");
        std::fs::write(&bare, "x").unwrap();
        age(&bare, 3600);

        write_atomic(&target, b"[default]\n", 0o600).unwrap();
        assert_eq!(
            names(dir.path()),
            [
                ".config.abc123.tmp",
                ".credentials..tmp",
                ".credentials.def456.tmp",
                ".credentials.ghi789.tmp",
                "credentials"
            ]
        );
        drop(live_handle);
        assert_eq!(remove_stale_temps(&target), 1);
        assert!(!live.exists());
    }

    #[test]
    fn lock_file_excludes_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/entry.json.lock");
        let held = LockFile::acquire(&path, Duration::ZERO).unwrap().unwrap();
        assert_eq!(mode_of(&path), 0o600);
        assert_eq!(held.path(), path);
        // Another open file is refused while it is held: at once, and after a (short) wait.
        assert!(LockFile::acquire(&path, Duration::ZERO).unwrap().is_none());
        assert!(LockFile::acquire(&path, Duration::from_millis(20))
            .unwrap()
            .is_none());
        drop(held);
        assert!(LockFile::acquire(&path, Duration::ZERO).unwrap().is_some());
    }

    #[test]
    fn a_waiter_gets_the_lock_when_the_holder_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("entry.json.lock");
        let held = LockFile::acquire(&path, Duration::ZERO).unwrap().unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let p = path.clone();
        let waiter = std::thread::spawn(move || {
            started_tx.send(()).unwrap();
            // A bound no test machine reaches: the release below is what ends the wait.
            LockFile::acquire(&p, Duration::from_secs(3600))
                .unwrap()
                .is_some()
        });
        started_rx.recv().unwrap();
        drop(held);
        assert!(waiter.join().unwrap());
    }

    #[test]
    fn an_unwritable_lock_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let err = LockFile::acquire(&blocker.join("x.lock"), Duration::ZERO).unwrap_err();
        assert!(err.path.starts_with(&blocker), "{err}");
    }
}
