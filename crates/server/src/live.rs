//! The changeable world: readers take an immutable [`World`] snapshot per request (one atomic
//! load); writers change the file form under a lock, validate a new snapshot, commit the
//! difference to the [`Store`] in one transaction and only then publish it. A change that
//! leaves the world invalid, or that the store refuses, changes nothing.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use tokio::sync::watch;

use crate::store::{self, MemoryStore, Store, StoreError};
use crate::world::{RawWorld, World, WorldError};

/// Why a change was not made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The changed world would be invalid (a bug in the handler that made the change).
    #[error("the change would leave the world invalid: {0}")]
    Invalid(#[source] WorldError),
    /// The store could not commit it.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the state could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The stored world does not validate.
    #[error("the state in {store} is not a valid world: {source}")]
    Invalid {
        /// The store description.
        store: String,
        /// What is wrong.
        #[source]
        source: WorldError,
    },
}

/// What opening the state found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Opened {
    /// The store was empty and now holds the world file.
    Seeded,
    /// The store's world was loaded; it was seeded from this same world file.
    Resumed,
    /// The store's world was loaded, but the world file changed since it was seeded (its
    /// changes are not applied; `--reset-state` starts over from the file).
    ResumedFileChanged,
}

/// The live world over a store.
#[derive(Debug)]
pub struct LiveWorld {
    current: ArcSwap<World>,
    /// Serialises writers; holds the store version the current snapshot was committed at.
    writer: Mutex<u64>,
    store: Box<dyn Store>,
    changed: watch::Sender<u64>,
}

impl LiveWorld {
    /// A live world kept in memory only, starting from `world`.
    pub fn in_memory(world: World) -> LiveWorld {
        let store = MemoryStore::new();
        let version = store
            .seed("", &store::records(&world.raw))
            .expect("the memory store cannot fail");
        LiveWorld::with(world, Box::new(store), version)
    }

    fn with(world: World, store: Box<dyn Store>, version: u64) -> LiveWorld {
        let (changed, _) = watch::channel(world.generation);
        LiveWorld {
            current: ArcSwap::from_pointee(world),
            writer: Mutex::new(version),
            store,
            changed,
        }
    }

    /// Opens the state in `store`: loads it, or seeds it with `initial` (the world file,
    /// whose text has digest `seed_digest`).
    pub fn open(
        store: Box<dyn Store>,
        initial: World,
        seed_digest: &str,
    ) -> Result<(LiveWorld, Opened), OpenError> {
        match store.load()? {
            None => {
                let version = store.seed(seed_digest, &store::records(&initial.raw))?;
                Ok((LiveWorld::with(initial, store, version), Opened::Seeded))
            }
            Some(contents) => {
                let raw = store::world_from_records(&contents.records)?;
                let mut world = World::from_raw(raw, &store.describe()).map_err(|source| {
                    OpenError::Invalid {
                        store: store.describe(),
                        source,
                    }
                })?;
                world.generation = contents.version;
                let opened = if contents.seed_digest == seed_digest {
                    Opened::Resumed
                } else {
                    Opened::ResumedFileChanged
                };
                Ok((LiveWorld::with(world, store, contents.version), opened))
            }
        }
    }

    /// The current snapshot.
    pub fn snapshot(&self) -> Arc<World> {
        self.current.load_full()
    }

    /// The current snapshot for the length of one request: unlike [`LiveWorld::snapshot`] it does
    /// not touch the snapshot's shared reference count, which worker threads answering at the
    /// same time would otherwise all write.
    pub fn snapshot_guard(&self) -> arc_swap::Guard<Arc<World>> {
        self.current.load()
    }

    /// Where the state is kept.
    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// Changes notifications: the generation of each published snapshot.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Applies `f` to a copy of the world's file form and, when it changed something,
    /// validates, commits and publishes the result. `f` sees the current snapshot too.
    pub fn change<T, E>(
        &self,
        f: impl FnOnce(&mut RawWorld, &World) -> Result<T, E>,
    ) -> Result<(T, Arc<World>), E>
    where
        E: From<ChangeError>,
    {
        let mut version = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let current = self.current.load_full();
        let mut raw = current.raw.clone();
        let out = f(&mut raw, &current)?;
        if raw == current.raw {
            return Ok((out, current));
        }
        let mut world = World::from_raw(raw, "<change>").map_err(ChangeError::Invalid)?;
        let changes = store::diff(&store::records(&current.raw), &store::records(&world.raw));
        let new_version = self
            .store
            .commit(*version, &changes)
            .map_err(ChangeError::Store)?;
        *version = new_version;
        world.generation = current.generation + 1;
        let world = Arc::new(world);
        self.current.store(world.clone());
        self.changed.send_replace(world.generation);
        Ok((out, world))
    }
}
