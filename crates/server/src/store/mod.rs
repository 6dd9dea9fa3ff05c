//! Where the changeable world lives: one interface ([`Store`]) over records — one per world
//! file entry (`roles` / `123456789012/my-role` → its TOML entry as JSON) — committed in
//! transactions guarded by a version number, so a shared database (several replicas) can be
//! added beside the embedded SQLite one without touching the handlers.

mod memory;
mod sqlite;

pub use memory::MemoryStore;
pub use sqlite::SqliteStore;

use std::collections::BTreeMap;

use serde_json::Value;

use crate::world::RawWorld;

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("state database {path}: {source}")]
    Database {
        /// The database file.
        path: String,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The state directory or a file in it could not be used.
    #[error("state directory {path}: {source}")]
    Io {
        /// The path at fault.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Another writer committed since this one read (a shared store with several replicas).
    #[error("the state changed underneath (expected version {expected}, found {found}); reload and retry")]
    Conflict {
        /// The version the change was based on.
        expected: u64,
        /// The version found.
        found: u64,
    },
    /// A stored record does not decode (written by a newer awsid, or edited by hand).
    #[error("state record {section}/{key}: {message}")]
    Corrupt {
        /// Its section.
        section: String,
        /// Its key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// Another `awsid serve` holds the state.
    #[error("state database {path} is in use by another awsid serve")]
    Locked {
        /// The database file.
        path: String,
    },
}

/// One stored entry: section, key, position in the section, and the entry as JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The world file section (`roles`, `instances`, `settings`, …).
    pub section: String,
    /// The entry's identity within the section.
    pub key: String,
    /// Its position in the section (world order matters: the first instance gets `--imds`).
    pub position: u64,
    /// The entry as JSON text.
    pub body: String,
}

/// One change of a transaction.
#[derive(Clone, Debug, PartialEq)]
pub enum Change {
    /// Insert or replace a record.
    Put(Record),
    /// Delete the record `(section, key)`.
    Delete {
        /// Section.
        section: String,
        /// Key.
        key: String,
    },
}

/// Everything a store holds: its version, where its world came from, and the records.
#[derive(Clone, Debug, Default)]
pub struct Contents {
    /// Incremented by every commit.
    pub version: u64,
    /// A digest of the world file the state was seeded from.
    pub seed_digest: String,
    /// Every record.
    pub records: Vec<Record>,
}

/// The interface every state backend implements.
pub trait Store: Send + Sync + std::fmt::Debug {
    /// Everything stored, or `None` when the store was never seeded.
    fn load(&self) -> Result<Option<Contents>, StoreError>;
    /// Seeds an empty store with `records` (version 1).
    fn seed(&self, seed_digest: &str, records: &[Record]) -> Result<u64, StoreError>;
    /// Applies `changes` in one transaction if the store is still at version `base`; returns
    /// the new version.
    fn commit(&self, base: u64, changes: &[Change]) -> Result<u64, StoreError>;
    /// Deletes everything (the next start seeds again).
    fn reset(&self) -> Result<(), StoreError>;
    /// A short description for banners and the console (`sqlite /path/state.db`).
    fn describe(&self) -> String;
}

/// The key of an entry within its section.
fn key_of(section: &str, entry: &Value) -> String {
    let s = |k: &str| {
        entry
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    match section {
        "accounts" | "instances" => s("id"),
        "ecs_tasks" => s("credentials_id"),
        "sso_instances" => s("start_url"),
        "oidc_providers" => format!("{}/{}", s("account"), s("url")),
        "sessions" => format!("{}/{}", s("access_key_id"), s("session_token").len()),
        _ => format!("{}/{}", s("account"), s("name")),
    }
}

/// Splits a world into records (one per entry; `settings` is one record).
pub fn records(world: &RawWorld) -> Vec<Record> {
    let value = serde_json::to_value(world).expect("a world serializes");
    let Value::Object(map) = value else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (section, v) in map {
        match v {
            Value::Array(items) => {
                let mut seen: BTreeMap<String, usize> = BTreeMap::new();
                for (i, item) in items.into_iter().enumerate() {
                    let mut key = key_of(&section, &item);
                    // Keys are unique in a valid world; a duplicate still gets its own record.
                    let n = seen.entry(key.clone()).or_insert(0);
                    if *n > 0 {
                        key = format!("{key}#{n}");
                    }
                    *n += 1;
                    out.push(Record {
                        section: section.clone(),
                        key,
                        position: i as u64,
                        body: item.to_string(),
                    });
                }
            }
            other => out.push(Record {
                section: section.clone(),
                key: String::new(),
                position: 0,
                body: other.to_string(),
            }),
        }
    }
    out
}

/// Rebuilds a world from records (sections in world order, entries by position).
pub fn world_from_records(records: &[Record]) -> Result<RawWorld, StoreError> {
    let mut sections: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
    for r in records {
        sections.entry(r.section.as_str()).or_default().push(r);
    }
    let mut map = serde_json::Map::new();
    for (section, mut rs) in sections {
        rs.sort_by_key(|r| r.position);
        let corrupt = |r: &Record, m: String| StoreError::Corrupt {
            section: r.section.clone(),
            key: r.key.clone(),
            message: m,
        };
        if section == "settings" {
            let r = rs[0];
            map.insert(
                section.to_string(),
                serde_json::from_str(&r.body).map_err(|e| corrupt(r, e.to_string()))?,
            );
            continue;
        }
        let mut items = Vec::new();
        for r in rs {
            items.push(
                serde_json::from_str::<Value>(&r.body).map_err(|e| corrupt(r, e.to_string()))?,
            );
        }
        map.insert(section.to_string(), Value::Array(items));
    }
    serde_json::from_value(Value::Object(map)).map_err(|e| StoreError::Corrupt {
        section: "*".into(),
        key: String::new(),
        message: e.to_string(),
    })
}

/// The changes that turn `old` into `new`.
pub fn diff(old: &[Record], new: &[Record]) -> Vec<Change> {
    let index = |rs: &[Record]| -> BTreeMap<(String, String), Record> {
        rs.iter()
            .map(|r| ((r.section.clone(), r.key.clone()), r.clone()))
            .collect()
    };
    let (old, new) = (index(old), index(new));
    let mut out = Vec::new();
    for (k, r) in &new {
        if old.get(k) != Some(r) {
            out.push(Change::Put(r.clone()));
        }
    }
    for (section, key) in old.keys() {
        if !new.contains_key(&(section.clone(), key.clone())) {
            out.push(Change::Delete {
                section: section.clone(),
                key: key.clone(),
            });
        }
    }
    out
}

/// A digest of world text (which file the state was seeded from).
pub fn digest(text: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..16])
}

#[cfg(test)]
mod tests;
