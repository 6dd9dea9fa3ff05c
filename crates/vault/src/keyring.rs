//! The kernel's key retention service (keyutils) as the session's key holder, instead of the
//! agent (`AWSID_VAULT_KEYRING=keyutils`): the data key is a `user` key in the session
//! keyring — one per login session (pam_keyinit), kept in kernel memory, never on disk —
//! readable only by processes that possess that keyring (the kernel's default permissions for
//! a new key: possessor all, user view only). Its timeout is restarted on every use, so it is
//! an idle timeout like the agent's.

use std::time::Duration;

use linux_keyutils::{KeyError, KeyRing, KeyRingIdentifier};
use zeroize::Zeroizing;

use crate::crypto::Key;

fn description(vault_id: &str) -> String {
    format!("awsid:vault:{vault_id}")
}

fn session() -> Result<KeyRing, KeyError> {
    KeyRing::from_special_id(KeyRingIdentifier::Session, false)
}

/// Whether the kernel keyring can be used here (the syscalls are not filtered, a session
/// keyring is reachable).
pub fn available() -> bool {
    session().is_ok()
}

/// The data key of `vault_id` from the session keyring, its idle timeout restarted.
pub fn get(vault_id: &str, idle: Duration) -> Option<Key> {
    let key = session().ok()?.search(&description(vault_id)).ok()?;
    let bytes = Zeroizing::new(key.read_to_vec().ok()?);
    let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
    let _ = key.set_timeout(idle.as_secs().max(1) as usize);
    Some(Key(arr))
}

/// Whether the session keyring holds the data key of `vault_id`, without reading it or
/// restarting its idle timeout (for `vault status`).
pub fn holds(vault_id: &str) -> bool {
    session()
        .and_then(|r| r.search(&description(vault_id)))
        .is_ok()
}

/// Puts `key` in the session keyring for `idle` without use.
pub fn put(vault_id: &str, key: &Key, idle: Duration) -> Result<(), String> {
    let ring = session().map_err(|e| format!("no session keyring: {e:?}"))?;
    let k = ring
        .add_key(&description(vault_id), &key.0)
        .map_err(|e| format!("add_key: {e:?}"))?;
    k.set_timeout(idle.as_secs().max(1) as usize)
        .map_err(|e| format!("set_timeout: {e:?}"))
}

/// Removes the data key of `vault_id` from the session keyring; whether one was there.
pub fn forget(vault_id: &str) -> bool {
    match session().and_then(|r| r.search(&description(vault_id))) {
        Ok(k) => k.invalidate().is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_keyring_round_trip() {
        if !available() {
            // Said loudly: some sandboxes filter the keyctl syscalls.
            eprintln!("\n#### kernel keyring unavailable here (keyctl refused): keyutils backend NOT tested ####\n");
            return;
        }
        let id = format!("test-{}", std::process::id());
        let key = Key::random();
        assert!(!holds(&id));
        put(&id, &key, Duration::from_secs(30)).unwrap();
        assert!(holds(&id));
        assert_eq!(get(&id, Duration::from_secs(30)), Some(key));
        assert!(forget(&id));
        assert_eq!(get(&id, Duration::from_secs(30)), None);
        assert!(!forget(&id));
    }
}
