//! The embedded store: one SQLite database (WAL, synchronous commits) in the state directory,
//! records in one table keyed by (section, key), the version and seed digest in `meta`. The
//! file is created 0600 in a 0700 directory (it holds secrets, like the world file), and one
//! `awsid serve` at a time holds it (an advisory lock on `<db>.lock`).

use std::fs::File;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use super::{Change, Contents, Record, Store, StoreError};

/// The SQLite store.
#[derive(Debug)]
pub struct SqliteStore {
    path: PathBuf,
    conn: Mutex<Connection>,
    /// Held for the store's lifetime when opened for serving.
    _lock: Option<File>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
    section  TEXT NOT NULL,
    key      TEXT NOT NULL,
    position INTEGER NOT NULL,
    body     TEXT NOT NULL,
    PRIMARY KEY (section, key)
);
";

impl SqliteStore {
    /// Opens (creating) the database at `path` for serving: takes the lock, or fails with
    /// [`StoreError::Locked`] when another server holds it.
    pub fn open(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, true)
    }

    /// Opens the database without the serving lock (export while a server runs).
    pub fn open_shared(path: &Path) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(path, false)
    }

    fn open_with(path: &Path, lock: bool) -> Result<SqliteStore, StoreError> {
        let io = |source| StoreError::Io {
            path: path.display().to_string(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(io)?;
        }
        // Create the file 0600 before SQLite does (it would use the umask).
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(path)
            .map_err(io)?;
        let lock_file = if lock {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o600)
                .open(path.with_extension("lock"))
                .map_err(io)?;
            if f.try_lock().is_err() {
                return Err(StoreError::Locked {
                    path: path.display().to_string(),
                });
            }
            Some(f)
        } else {
            None
        };
        let db = |source| StoreError::Database {
            path: path.display().to_string(),
            source,
        };
        let conn = Connection::open(path).map_err(db)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(db)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(db)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(SqliteStore {
            path: path.to_path_buf(),
            conn: Mutex::new(conn),
            _lock: lock_file,
        })
    }

    fn db(&self, source: rusqlite::Error) -> StoreError {
        StoreError::Database {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn meta(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

fn put(tx: &rusqlite::Transaction<'_>, r: &Record) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO records (section, key, position, body) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (section, key) DO UPDATE SET position = excluded.position, body = excluded.body",
        params![r.section, r.key, r.position as i64, r.body],
    )?;
    Ok(())
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Option<Contents>, StoreError> {
        let conn = self.conn();
        let Some(version) = meta(&conn, "version").map_err(|e| self.db(e))? else {
            return Ok(None);
        };
        let seed_digest = meta(&conn, "seed_digest")
            .map_err(|e| self.db(e))?
            .unwrap_or_default();
        let mut stmt = conn
            .prepare("SELECT section, key, position, body FROM records ORDER BY section, position")
            .map_err(|e| self.db(e))?;
        let records = stmt
            .query_map([], |r| {
                Ok(Record {
                    section: r.get(0)?,
                    key: r.get(1)?,
                    position: r.get::<_, i64>(2)? as u64,
                    body: r.get(3)?,
                })
            })
            .map_err(|e| self.db(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.db(e))?;
        Ok(Some(Contents {
            version: version.parse().unwrap_or(0),
            seed_digest,
            records,
        }))
    }

    fn seed(&self, seed_digest: &str, records: &[Record]) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(|e| self.db(e))?;
        let run = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<()> {
            tx.execute("DELETE FROM records", [])?;
            tx.execute("DELETE FROM meta", [])?;
            for r in records {
                put(tx, r)?;
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('version', '1'), ('seed_digest', ?1), ('schema', '1')",
                [seed_digest],
            )?;
            Ok(())
        };
        run(&tx).map_err(|e| self.db(e))?;
        tx.commit().map_err(|e| self.db(e))?;
        Ok(1)
    }

    fn commit(&self, base: u64, changes: &[Change]) -> Result<u64, StoreError> {
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| self.db(e))?;
        let found: u64 = meta(&tx, "version")
            .map_err(|e| self.db(e))?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if found != base {
            return Err(StoreError::Conflict {
                expected: base,
                found,
            });
        }
        let run = |tx: &rusqlite::Transaction<'_>| -> rusqlite::Result<()> {
            for c in changes {
                match c {
                    Change::Put(r) => put(tx, r)?,
                    Change::Delete { section, key } => {
                        tx.execute(
                            "DELETE FROM records WHERE section = ?1 AND key = ?2",
                            params![section, key],
                        )?;
                    }
                }
            }
            tx.execute(
                "INSERT INTO meta (key, value) VALUES ('version', ?1)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                [(base + 1).to_string()],
            )?;
            Ok(())
        };
        run(&tx).map_err(|e| self.db(e))?;
        tx.commit().map_err(|e| self.db(e))?;
        Ok(base + 1)
    }

    fn reset(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.execute_batch("DELETE FROM records; DELETE FROM meta;")
            .map_err(|e| self.db(e))
    }

    fn describe(&self) -> String {
        format!("sqlite {}", self.path.display())
    }
}
