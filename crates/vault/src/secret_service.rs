//! The desktop's keyring through the freedesktop.org Secret Service API (GNOME Keyring,
//! KWallet, KeePassXC) as the session's key holder, instead of the agent
//! (`AWSID_VAULT_KEYRING=secret-service`).
//!
//! What is stored is the vault's 32-byte **data key**, never the passphrase: the data key opens
//! this one vault and nothing else (a passphrase is often reused), it survives `vault passwd`,
//! and using it costs no Argon2id derivation, so every `credential-process` call stays fast.
//! The item's attributes identify it: `application = awsid`, `awsid-vault-id` (the vault's
//! random id) and `awsid-vault-path`. It goes into the service's `session` collection when
//! there is one (GNOME Keyring's is kept in memory only and is gone at logout: one unlock per
//! login session), else into the `default` collection (kept by the keyring on disk, encrypted
//! under the keyring's own password, until `awsid vault lock`). The secret crosses the bus
//! encrypted (the service's `dh-ietf1024-sha256-aes128-cbc-pkcs7` session).
//!
//! Every exchange with the bus is bounded ([`CALL_TIMEOUT`]; a prompt of the service to
//! unlock a locked keyring, [`PROMPT_TIMEOUT`]): a bus without a Secret Service is a clear
//! error at once, a service that never answers is one after the timeout, never a hang.

use std::collections::HashMap;
use std::future::Future;
use std::path::Path;
use std::time::Duration;

use secret_service::{EncryptionType, SecretService};
use zeroize::Zeroizing;

use crate::crypto::Key;

/// How long one operation (connect, search, read, write, delete) may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the service's own unlock prompt (a locked keyring) may take to be answered.
pub const PROMPT_TIMEOUT: Duration = Duration::from_secs(120);

/// The well-known bus name of a Secret Service.
pub const BUS_NAME: &str = "org.freedesktop.secrets";

const APPLICATION: &str = "awsid";
const CONTENT_TYPE: &str = "application/octet-stream";

/// Why the Secret Service could not be used. Never carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum SecretServiceError {
    /// There is no D-Bus session bus to ask.
    #[error("no D-Bus session bus: {looked_for}")]
    NoBus {
        /// Where a bus was looked for, and what was found.
        looked_for: String,
    },
    /// The session bus has nobody owning (or able to start) `org.freedesktop.secrets`.
    #[error(
        "no Secret Service on the D-Bus session bus ({bus}): nothing owns or can start {BUS_NAME} \
         (GNOME Keyring, KWallet and KeePassXC provide one)"
    )]
    NoService {
        /// The bus's address.
        bus: String,
    },
    /// The service did not answer in time.
    #[error("the Secret Service ({BUS_NAME}) did not answer {what} within {} s", .after.as_secs())]
    Timeout {
        /// What was asked.
        what: &'static str,
        /// The bound that passed.
        after: Duration,
    },
    /// The keyring is locked and its unlock prompt was dismissed or could not be shown.
    #[error("the keyring holding the vault key is locked and was not unlocked ({0})")]
    Locked(String),
    /// The service has no collection to keep an item in.
    #[error(
        "the Secret Service has neither a session nor a default collection to keep the key in"
    )]
    NoCollection,
    /// The service answered with an error.
    #[error("the Secret Service ({BUS_NAME}) failed to {what}")]
    Failed {
        /// What was asked.
        what: &'static str,
        /// Its error.
        #[source]
        source: Box<secret_service::Error>,
    },
    /// The item found is not a data key (another program wrote it).
    #[error("the Secret Service item for this vault does not hold a 32-byte key")]
    Malformed,
    /// No runtime for the bus connection could be created.
    #[error("cannot start the D-Bus client")]
    Runtime(#[source] std::io::Error),
}

/// The address the session bus is looked for at, as the D-Bus specification (and zbus) does:
/// `DBUS_SESSION_BUS_ADDRESS`, else `$XDG_RUNTIME_DIR/bus`.
fn bus_address() -> Result<String, SecretServiceError> {
    if let Some(a) = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").filter(|a| !a.is_empty()) {
        return Ok(a.to_string_lossy().into_owned());
    }
    match std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => {
            let socket = Path::new(&dir).join("bus");
            if socket.exists() {
                Ok(format!("unix:path={}", socket.display()))
            } else {
                Err(SecretServiceError::NoBus {
                    looked_for: format!(
                        "DBUS_SESSION_BUS_ADDRESS is not set and there is no {}",
                        socket.display()
                    ),
                })
            }
        }
        None => Err(SecretServiceError::NoBus {
            looked_for: "neither DBUS_SESSION_BUS_ADDRESS nor XDG_RUNTIME_DIR is set".into(),
        }),
    }
}

/// A connection to the session's Secret Service, with an encrypted transfer session open.
pub struct SecretServiceKeyring {
    rt: tokio::runtime::Runtime,
    ss: SecretService<'static>,
    bus: String,
}

impl std::fmt::Debug for SecretServiceKeyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretServiceKeyring")
            .field("bus", &self.bus)
            .finish_non_exhaustive()
    }
}

/// Whether `e` says that nobody owns (or can be started for) the service's name.
fn is_service_unknown(e: &secret_service::Error) -> bool {
    if matches!(e, secret_service::Error::Unavailable) {
        return true;
    }
    let text = format!("{e:?}");
    text.contains("ServiceUnknown") || text.contains("NameHasNoOwner")
}

fn bounded<T>(
    rt: &tokio::runtime::Runtime,
    what: &'static str,
    after: Duration,
    fut: impl Future<Output = Result<T, SecretServiceError>>,
) -> Result<T, SecretServiceError> {
    rt.block_on(async {
        tokio::time::timeout(after, fut)
            .await
            .unwrap_or(Err(SecretServiceError::Timeout { what, after }))
    })
}

impl SecretServiceKeyring {
    /// Connects to the session bus and opens an encrypted session with its Secret Service,
    /// within [`CALL_TIMEOUT`].
    pub fn connect() -> Result<SecretServiceKeyring, SecretServiceError> {
        let bus = bus_address()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SecretServiceError::Runtime)?;
        let ss = bounded(&rt, "a connection", CALL_TIMEOUT, async {
            SecretService::connect(EncryptionType::Dh)
                .await
                .map_err(|e| match e {
                    e if is_service_unknown(&e) => {
                        SecretServiceError::NoService { bus: bus.clone() }
                    }
                    source => SecretServiceError::Failed {
                        what: "open a session",
                        source: Box::new(source),
                    },
                })
        })?;
        Ok(SecretServiceKeyring { rt, ss, bus })
    }

    /// The session bus's address.
    pub fn bus(&self) -> &str {
        &self.bus
    }

    fn attributes(vault_id: &str) -> HashMap<&str, &str> {
        HashMap::from([("application", APPLICATION), ("awsid-vault-id", vault_id)])
    }

    /// The data key of `vault_id`, when the keyring holds it (a locked keyring is asked to
    /// unlock itself, which may show the desktop's prompt).
    pub fn get(&self, vault_id: &str) -> Result<Option<Key>, SecretServiceError> {
        let failed = |what| {
            move |source| SecretServiceError::Failed {
                what,
                source: Box::new(source),
            }
        };
        let found = bounded(&self.rt, "a search", CALL_TIMEOUT, async {
            self.ss
                .search_items(Self::attributes(vault_id))
                .await
                .map_err(failed("search its items"))
        })?;
        let item = match (found.unlocked.first(), found.locked.first()) {
            (Some(item), _) => item,
            (None, Some(item)) => {
                bounded(&self.rt, "its unlock prompt", PROMPT_TIMEOUT, async {
                    self.ss
                        .unlock_all(&[item])
                        .await
                        .map_err(|e| SecretServiceError::Locked(e.to_string()))
                })?;
                item
            }
            (None, None) => return Ok(None),
        };
        let secret = Zeroizing::new(bounded(&self.rt, "a read", CALL_TIMEOUT, async {
            item.get_secret().await.map_err(failed("read the item"))
        })?);
        let arr: [u8; 32] = secret
            .as_slice()
            .try_into()
            .map_err(|_| SecretServiceError::Malformed)?;
        Ok(Some(Key(arr)))
    }

    /// Keeps `key` as the item of `vault_id` (replacing an earlier one), in the session
    /// collection when the service has one, else in the default collection; which one.
    pub fn put(
        &self,
        vault_id: &str,
        vault_path: &Path,
        key: &Key,
    ) -> Result<&'static str, SecretServiceError> {
        let failed = |what| {
            move |source| SecretServiceError::Failed {
                what,
                source: Box::new(source),
            }
        };
        let path = vault_path.to_string_lossy();
        let label = format!("awsid vault key ({path})");
        let (collection, alias) =
            bounded(&self.rt, "which collection to use", CALL_TIMEOUT, async {
                match self.ss.get_collection_by_alias("session").await {
                    Ok(c) => Ok((c, "session")),
                    Err(_) => match self.ss.get_default_collection().await {
                        Ok(c) => Ok((c, "default")),
                        Err(secret_service::Error::NoResult) => {
                            Err(SecretServiceError::NoCollection)
                        }
                        Err(source) => Err(SecretServiceError::Failed {
                            what: "find its default collection",
                            source: Box::new(source),
                        }),
                    },
                }
            })?;
        let locked = bounded(
            &self.rt,
            "whether the collection is locked",
            CALL_TIMEOUT,
            async {
                collection
                    .is_locked()
                    .await
                    .map_err(failed("read the collection"))
            },
        )?;
        if locked {
            bounded(&self.rt, "its unlock prompt", PROMPT_TIMEOUT, async {
                collection
                    .unlock()
                    .await
                    .map_err(|e| SecretServiceError::Locked(e.to_string()))
            })?;
        }
        let mut attributes = Self::attributes(vault_id);
        attributes.insert("awsid-vault-path", &path);
        bounded(&self.rt, "a write", CALL_TIMEOUT, async {
            collection
                .create_item(&label, attributes, &key.0, true, CONTENT_TYPE)
                .await
                .map(|_| alias)
                .map_err(failed("store the key"))
        })
    }

    /// Deletes every item of `vault_id`; how many there were.
    pub fn forget(&self, vault_id: &str) -> Result<usize, SecretServiceError> {
        let failed = |what| {
            move |source| SecretServiceError::Failed {
                what,
                source: Box::new(source),
            }
        };
        let found = bounded(&self.rt, "a search", CALL_TIMEOUT, async {
            self.ss
                .search_items(Self::attributes(vault_id))
                .await
                .map_err(failed("search its items"))
        })?;
        let all: Vec<_> = found.unlocked.iter().chain(found.locked.iter()).collect();
        if !found.locked.is_empty() {
            let locked: Vec<_> = found.locked.iter().collect();
            bounded(&self.rt, "its unlock prompt", PROMPT_TIMEOUT, async {
                self.ss
                    .unlock_all(&locked)
                    .await
                    .map_err(|e| SecretServiceError::Locked(e.to_string()))
            })?;
        }
        for item in &all {
            bounded(&self.rt, "a delete", CALL_TIMEOUT, async {
                item.delete().await.map_err(failed("delete the item"))
            })?;
        }
        Ok(all.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_what_was_looked_for() {
        let e = SecretServiceError::NoService {
            bus: "unix:path=/run/user/1000/bus".into(),
        };
        let text = e.to_string();
        assert!(text.contains("org.freedesktop.secrets") && text.contains("/run/user/1000/bus"));
        let e = SecretServiceError::Timeout {
            what: "a search",
            after: CALL_TIMEOUT,
        };
        assert_eq!(
            e.to_string(),
            "the Secret Service (org.freedesktop.secrets) did not answer a search within 5 s"
        );
    }
}
