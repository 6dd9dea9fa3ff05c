use super::*;
use crate::world::World;

fn default_raw() -> RawWorld {
    World::default_world().raw
}

fn roundtrip(store: &dyn Store) {
    assert!(store.load().unwrap().is_none());
    let raw = default_raw();
    let recs = records(&raw);
    assert_eq!(store.seed("d1", &recs).unwrap(), 1);
    let loaded = store.load().unwrap().unwrap();
    assert_eq!(loaded.version, 1);
    assert_eq!(loaded.seed_digest, "d1");
    assert_eq!(world_from_records(&loaded.records).unwrap(), raw);
    // A change: drop a role, add an account.
    let mut changed = raw.clone();
    changed.roles.retain(|r| r.name != "thirdpartyrole");
    changed.accounts.push(crate::world::RawAccount {
        id: "210987654321".into(),
        alias: None,
        name: None,
        email: None,
    });
    let changes = diff(&recs, &records(&changed));
    assert!(changes.len() >= 2, "{changes:?}");
    assert_eq!(store.commit(1, &changes).unwrap(), 2);
    // A writer based on an old version conflicts instead of overwriting.
    assert!(matches!(
        store.commit(1, &changes),
        Err(StoreError::Conflict {
            expected: 1,
            found: 2
        })
    ));
    let loaded = store.load().unwrap().unwrap();
    assert_eq!(world_from_records(&loaded.records).unwrap(), changed);
    World::from_raw(changed, "t").unwrap();
    store.reset().unwrap();
    assert!(store.load().unwrap().is_none());
}

#[test]
fn memory_store_round_trips() {
    roundtrip(&MemoryStore::new());
}

#[test]
fn sqlite_store_round_trips_and_is_private_and_exclusive() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state/world.sqlite");
    let store = SqliteStore::open(&path).unwrap();
    roundtrip(&store);
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let dmode = std::fs::metadata(path.parent().unwrap())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(dmode, 0o700);
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::Locked { .. })
    ));
    // Export while it is held works.
    SqliteStore::open_shared(&path).unwrap().load().unwrap();
    drop(store);
    SqliteStore::open(&path).unwrap();
}
