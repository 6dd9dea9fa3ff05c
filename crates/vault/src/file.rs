//! The vault file: JSON, mode 0600, replaced atomically under a lock file. Profile names,
//! access key ids and dates are readable (so `vault list` needs no passphrase); secret keys
//! and session tokens are sealed.
//!
//! ```json
//! { "format": "awsid-vault/1", "id": "<random>",
//!   "kdf": { "algorithm": "argon2id", "version": 19, "memory_kib": 65536, "iterations": 3,
//!            "parallelism": 1, "salt": "<16 bytes>" },
//!   "data_key": { "nonce": "…", "ciphertext": "…" },
//!   "entries": { "vaulted": { "access_key_id": "AKIA…", "added": "…", "rotated": null,
//!                             "secret": { "nonce": "…", "ciphertext": "…" } } } }
//! ```
//!
//! Associated data ties every ciphertext to its place: the data key to the vault id and the
//! KDF parameters, an entry to the vault id, the profile name and the access key id. Moving
//! an entry to another profile, or editing its key id or the parameters, makes it unreadable
//! instead of silently different.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use awsid_profile::atomic::{write_atomic, LockFile};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::{self, KdfParams, Key, Sealed};
use crate::{StoredKeys, VaultError};

/// The format tag of version 1.
pub const FORMAT: &str = "awsid-vault/1";

/// How long a writer waits for another to finish.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// One profile's keys as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The access key id (not secret: IAM lists it, CloudTrail logs it).
    pub access_key_id: String,
    /// When the keys were added (RFC 3339, UTC).
    pub added: String,
    /// When they were last rotated, if ever.
    #[serde(default)]
    pub rotated: Option<String>,
    /// The sealed secret access key (and session token, if any).
    pub secret: Sealed,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Document {
    format: String,
    id: String,
    kdf: KdfParams,
    data_key: Sealed,
    /// A constant sealed with the data key: tells whether a key offered by the agent is this
    /// vault's.
    check: Sealed,
    #[serde(default)]
    entries: BTreeMap<String, Entry>,
}

/// The sealed part of an entry.
#[derive(Serialize, Deserialize)]
struct SecretPart {
    secret_access_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    session_token: Option<String>,
}

/// A vault file as read from disk.
#[derive(Clone, Debug)]
pub struct Vault {
    path: PathBuf,
    doc: Document,
}

impl Vault {
    /// Reads the vault at `path`; `Ok(None)` when there is none yet.
    pub fn load(path: &Path) -> Result<Option<Vault>, VaultError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(VaultError::Io {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        let doc: Document = serde_json::from_str(&text).map_err(|e| VaultError::Corrupt {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        if doc.format != FORMAT {
            return Err(VaultError::Corrupt {
                path: path.to_owned(),
                reason: format!(
                    "unknown format {:?} (this awsid reads {FORMAT})",
                    doc.format
                ),
            });
        }
        Ok(Some(Vault {
            path: path.to_owned(),
            doc,
        }))
    }

    /// A new, empty vault at `path` (not written until [`Vault::save`]) protected by
    /// `passphrase`; returns it with its data key.
    pub fn create(
        path: &Path,
        passphrase: &[u8],
        kdf: KdfParams,
    ) -> Result<(Vault, Key), VaultError> {
        let id = hex(&crypto::random::<16>());
        let data_key = Key::random();
        let kek = kdf.derive(passphrase)?;
        let sealed = crypto::seal(&kek, &key_aad(&id, &kdf), &data_key.0);
        let check = crypto::seal(&data_key, &check_aad(&id), CHECK);
        let doc = Document {
            format: FORMAT.into(),
            id,
            kdf,
            data_key: sealed,
            check,
            entries: BTreeMap::new(),
        };
        Ok((
            Vault {
                path: path.to_owned(),
                doc,
            },
            data_key,
        ))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The vault's random id (what the agent files its key under).
    pub fn id(&self) -> &str {
        &self.doc.id
    }

    /// The Argon2id parameters this vault was created with.
    pub fn kdf(&self) -> &KdfParams {
        &self.doc.kdf
    }

    /// Derives the key-encryption key from `passphrase` and opens the data key; a wrong
    /// passphrase is [`VaultError::WrongPassphrase`].
    pub fn unlock(&self, passphrase: &[u8]) -> Result<Key, VaultError> {
        let kek = self.doc.kdf.derive(passphrase)?;
        self.open_data_key(&kek)
            .ok_or_else(|| VaultError::WrongPassphrase(self.path.clone()))
    }

    fn open_data_key(&self, kek: &Key) -> Option<Key> {
        let plain = crypto::open(
            kek,
            &key_aad(&self.doc.id, &self.doc.kdf),
            &self.doc.data_key,
        )
        .ok()??;
        let arr: [u8; 32] = plain.as_slice().try_into().ok()?;
        Some(Key(arr))
    }

    /// Whether `key` is this vault's data key (an agent may hold keys of other vaults).
    pub fn accepts(&self, key: &Key) -> bool {
        crypto::open(key, &check_aad(&self.doc.id), &self.doc.check)
            .ok()
            .flatten()
            .is_some_and(|p| p.as_slice() == CHECK)
    }

    /// Re-seals the data key under a new passphrase (new salt, current default cost).
    pub fn change_passphrase(
        &mut self,
        data_key: &Key,
        passphrase: &[u8],
    ) -> Result<(), VaultError> {
        let kdf = KdfParams::new_default();
        let kek = kdf.derive(passphrase)?;
        self.doc.data_key = crypto::seal(&kek, &key_aad(&self.doc.id, &kdf), &data_key.0);
        self.doc.kdf = kdf;
        Ok(())
    }

    /// The entries, by profile name.
    pub fn entries(&self) -> &BTreeMap<String, Entry> {
        &self.doc.entries
    }

    /// The entry of `profile`.
    pub fn entry(&self, profile: &str) -> Option<&Entry> {
        self.doc.entries.get(profile)
    }

    /// Opens `profile`'s keys with the data key.
    pub fn keys(&self, profile: &str, data_key: &Key) -> Result<Option<StoredKeys>, VaultError> {
        let Some(entry) = self.doc.entries.get(profile) else {
            return Ok(None);
        };
        let aad = entry_aad(&self.doc.id, profile, &entry.access_key_id);
        let plain = crypto::open(data_key, &aad, &entry.secret)?.ok_or_else(|| {
            VaultError::Corrupt {
                path: self.path.clone(),
                reason: format!(
                    "the entry of profile {profile} does not open with the vault's key (was it edited or moved?)"
                ),
            }
        })?;
        let part: SecretPart = serde_json::from_slice(&plain).map_err(|e| VaultError::Corrupt {
            path: self.path.clone(),
            reason: format!("entry {profile}: {e}"),
        })?;
        Ok(Some(StoredKeys {
            access_key_id: entry.access_key_id.clone(),
            secret_access_key: Zeroizing::new(part.secret_access_key),
            session_token: part.session_token.map(Zeroizing::new),
        }))
    }

    /// Stores `keys` for `profile` (replacing what was there; `rotated` marks a rotation).
    pub fn put(&mut self, profile: &str, keys: &StoredKeys, data_key: &Key, rotated: bool) {
        let now = now_rfc3339();
        let part = SecretPart {
            secret_access_key: keys.secret_access_key.to_string(),
            session_token: keys.session_token.as_ref().map(|t| t.to_string()),
        };
        let plain = Zeroizing::new(serde_json::to_vec(&part).expect("strings serialize"));
        drop(part);
        let aad = entry_aad(&self.doc.id, profile, &keys.access_key_id);
        let secret = crypto::seal(data_key, &aad, &plain);
        let added = match (rotated, self.doc.entries.get(profile)) {
            (true, Some(old)) => old.added.clone(),
            _ => now.clone(),
        };
        self.doc.entries.insert(
            profile.to_string(),
            Entry {
                access_key_id: keys.access_key_id.clone(),
                added,
                rotated: rotated.then_some(now),
                secret,
            },
        );
    }

    /// Removes `profile`'s entry; whether there was one.
    pub fn remove(&mut self, profile: &str) -> bool {
        self.doc.entries.remove(profile).is_some()
    }

    /// Writes the vault atomically (temp file, fsync, rename), mode 0600.
    pub fn save(&self) -> Result<(), VaultError> {
        let text = serde_json::to_string_pretty(&self.doc).expect("document serializes") + "\n";
        write_atomic(&self.path, text.as_bytes(), 0o600).map_err(|e| VaultError::Io {
            path: e.path,
            source: e.source,
        })
    }
}

/// Runs `f` under the vault's writer lock (`<file>.lock`), so two writers never lose each
/// other's entries: read, change and save inside `f`.
pub fn locked<T>(path: &Path, f: impl FnOnce() -> Result<T, VaultError>) -> Result<T, VaultError> {
    let lock_path = {
        let mut name = path.file_name().unwrap_or_default().to_os_string();
        name.push(".lock");
        path.with_file_name(name)
    };
    let guard = LockFile::acquire(&lock_path, LOCK_WAIT).map_err(|e| VaultError::Io {
        path: e.path,
        source: e.source,
    })?;
    if guard.is_none() {
        return Err(VaultError::Busy(path.to_owned()));
    }
    f()
}

fn key_aad(id: &str, kdf: &KdfParams) -> Vec<u8> {
    format!(
        "{FORMAT}\0data-key\0{id}\0{}\0{}\0{}\0{}\0{}\0{}",
        kdf.algorithm, kdf.version, kdf.memory_kib, kdf.iterations, kdf.parallelism, kdf.salt
    )
    .into_bytes()
}

const CHECK: &[u8] = b"awsid vault key check";

fn check_aad(id: &str) -> Vec<u8> {
    format!("{FORMAT}\0check\0{id}").into_bytes()
}

fn entry_aad(id: &str, profile: &str, access_key_id: &str) -> Vec<u8> {
    format!("{FORMAT}\0entry\0{id}\0{profile}\0{access_key_id}").into_bytes()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc())
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn keys(id: &str, secret: &str) -> StoredKeys {
        StoredKeys {
            access_key_id: id.into(),
            secret_access_key: Zeroizing::new(secret.into()),
            session_token: None,
        }
    }

    #[test]
    fn round_trip_and_wrong_passphrase() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.json");
        let (mut v, key) = Vault::create(&path, b"pass phrase", KdfParams::new_default()).unwrap();
        v.put("vaulted", &keys("AKIAEXAMPLE", "s3cr3t/KEY"), &key, false);
        v.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains("s3cr3t"), "secret in plain text");
        assert!(text.contains("\"AKIAEXAMPLE\""));
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let v = Vault::load(&path).unwrap().unwrap();
        let k2 = v.unlock(b"pass phrase").unwrap();
        assert!(v.accepts(&k2));
        assert!(!v.accepts(&Key::random()));
        let got = v.keys("vaulted", &k2).unwrap().unwrap();
        assert_eq!(got.secret_access_key.as_str(), "s3cr3t/KEY");
        assert!(v.keys("other", &k2).unwrap().is_none());
        let err = v.unlock(b"wrong").unwrap_err();
        assert!(matches!(err, VaultError::WrongPassphrase(_)));
        assert!(err.to_string().contains("wrong passphrase"), "{err}");
        // Nothing was written by the failed unlock.
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }

    #[test]
    fn tampering_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.json");
        let (mut v, key) = Vault::create(&path, b"pw", KdfParams::new_default()).unwrap();
        v.put("a", &keys("AKIAA", "secret-a"), &key, false);
        v.put("b", &keys("AKIAB", "secret-b"), &key, false);
        // An entry moved to another profile does not open there.
        let moved = v.doc.entries["a"].clone();
        v.doc.entries.insert("b".into(), Entry { ..moved });
        assert!(matches!(v.keys("b", &key), Err(VaultError::Corrupt { .. })));
        // Raising the recorded cost (or any KDF field) breaks the data key's seal.
        let mut w = v.clone();
        w.doc.kdf.iterations += 1;
        assert!(matches!(
            w.unlock(b"pw"),
            Err(VaultError::WrongPassphrase(_))
        ));
    }

    #[test]
    fn rotation_keeps_added_and_passphrase_change_keeps_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.json");
        let (mut v, key) = Vault::create(&path, b"old", KdfParams::new_default()).unwrap();
        v.put("p", &keys("AKIA1", "one"), &key, false);
        let added = v.entry("p").unwrap().added.clone();
        v.put("p", &keys("AKIA2", "two"), &key, true);
        assert_eq!(v.entry("p").unwrap().added, added);
        assert!(v.entry("p").unwrap().rotated.is_some());
        v.change_passphrase(&key, b"new").unwrap();
        assert!(v.unlock(b"old").is_err());
        let k = v.unlock(b"new").unwrap();
        assert_eq!(
            v.keys("p", &k).unwrap().unwrap().secret_access_key.as_str(),
            "two"
        );
        assert!(v.remove("p"));
        assert!(!v.remove("p"));
    }

    #[test]
    fn unreadable_files_are_reported_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vault.json");
        assert!(Vault::load(&path).unwrap().is_none());
        std::fs::write(&path, "{ not json").unwrap();
        let err = Vault::load(&path).unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
        std::fs::write(&path, r#"{"format":"awsid-vault/9","id":"x","kdf":{"algorithm":"argon2id","version":19,"memory_kib":1,"iterations":1,"parallelism":1,"salt":""},"data_key":{"nonce":"","ciphertext":""},"check":{"nonce":"","ciphertext":""}}"#).unwrap();
        assert!(Vault::load(&path)
            .unwrap_err()
            .to_string()
            .contains("unknown format"));
    }
}
