//! A store that keeps records in memory only (tests, `awsid serve --ephemeral`).

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{Change, Record, Store, StoreError};

/// Version, seed digest and records by (section, key).
type Contents = (u64, String, BTreeMap<(String, String), Record>);

/// Records in a map; nothing survives the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    inner: Mutex<Option<Contents>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Option<super::Contents>, StoreError> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        Ok(g.as_ref().map(|(v, d, m)| super::Contents {
            version: *v,
            seed_digest: d.clone(),
            records: m.values().cloned().collect(),
        }))
    }

    fn seed(&self, seed_digest: &str, records: &[Record]) -> Result<u64, StoreError> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let map = records
            .iter()
            .map(|r| ((r.section.clone(), r.key.clone()), r.clone()))
            .collect();
        *g = Some((1, seed_digest.to_string(), map));
        Ok(1)
    }

    fn commit(&self, base: u64, changes: &[Change]) -> Result<u64, StoreError> {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let (version, _, map) = g.get_or_insert_with(|| (0, String::new(), BTreeMap::new()));
        if *version != base {
            return Err(StoreError::Conflict {
                expected: base,
                found: *version,
            });
        }
        for c in changes {
            match c {
                Change::Put(r) => {
                    map.insert((r.section.clone(), r.key.clone()), r.clone());
                }
                Change::Delete { section, key } => {
                    map.remove(&(section.clone(), key.clone()));
                }
            }
        }
        *version += 1;
        Ok(*version)
    }

    fn reset(&self) -> Result<(), StoreError> {
        *self.inner.lock().unwrap_or_else(|e| e.into_inner()) = None;
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (changes are lost when the server stops)".into()
    }
}
