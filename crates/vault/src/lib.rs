//! Long-term AWS keys kept off the disk in plain text: an encrypted vault file ([`file`],
//! Argon2id + XChaCha20-Poly1305, see [`crypto`]) and an agent ([`agent`]) that holds the
//! unlocked key in memory for a login session, ssh-agent style, so that a passphrase is
//! typed once, not once per call.
//!
//! Locations ([`Locations::from_env`]): the vault is `$AWSID_VAULT_FILE`, else
//! `$XDG_DATA_HOME/awsid/vault.json`, else `~/.local/share/awsid/vault.json`; the agent's
//! socket is `$AWSID_VAULT_AGENT_SOCK`, else `$XDG_RUNTIME_DIR/awsid/agent.sock` (a tmpfs the
//! login manager creates per user and removes at logout), else `/tmp/awsid-<uid>/agent.sock`
//! in a directory only the user can enter.

pub mod agent;
pub mod crypto;
pub mod file;
pub mod keyring;
pub mod secret_service;

use std::path::PathBuf;

use zeroize::Zeroizing;

pub use crypto::{KdfParams, Key};
pub use file::Vault;

/// Why a vault operation failed. Messages name the file at fault and never carry a secret.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    /// The passphrase does not open the vault; the vault is unchanged.
    #[error("wrong passphrase for the vault {}: nothing was changed", .0.display())]
    WrongPassphrase(PathBuf),
    /// The vault file is not a vault this awsid can read; it is left as it is.
    #[error("the vault {} cannot be read: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A malformed field (bad base64, parameters out of bounds).
    #[error("vault format: {0}")]
    Format(String),
    /// Reading or writing a file or socket failed.
    #[error("{}", path.display())]
    Io {
        /// The file, directory or socket.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Another writer held the vault's lock for too long.
    #[error("the vault {} is being changed by another process; try again", .0.display())]
    Busy(PathBuf),
    /// The agent's directory could be reached or replaced by another user.
    #[error("refusing to use {}: {reason}", path.display())]
    Insecure {
        /// The directory or socket.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The agent answered something unexpected.
    #[error("the vault agent at {} failed: {reason}", path.display())]
    Agent {
        /// Its socket.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// One profile's long-term keys; `Debug` shows the access key id only, and the secrets are
/// wiped from memory when dropped.
#[derive(Clone)]
pub struct StoredKeys {
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Zeroizing<String>,
    /// A session token, for the rare long-lived one kept with static keys.
    pub session_token: Option<Zeroizing<String>>,
}

impl std::fmt::Debug for StoredKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredKeys")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Where the vault and the agent's socket are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locations {
    /// The vault file.
    pub vault: PathBuf,
    /// The agent's socket.
    pub agent_socket: PathBuf,
}

impl Locations {
    /// The locations from the environment (see the crate documentation); `None` when there is
    /// no HOME (or XDG/AWSID variable) to put the vault under.
    pub fn from_env(env: &awsid_profile::Env) -> Option<Locations> {
        let vault = match env.get_non_empty("AWSID_VAULT_FILE") {
            Some(p) => PathBuf::from(p),
            None => match env.get_non_empty("XDG_DATA_HOME") {
                Some(d) => PathBuf::from(d).join("awsid/vault.json"),
                None => {
                    PathBuf::from(env.get_non_empty("HOME")?).join(".local/share/awsid/vault.json")
                }
            },
        };
        let agent_socket = match env.get_non_empty("AWSID_VAULT_AGENT_SOCK") {
            Some(p) => PathBuf::from(p),
            None => match env.get_non_empty("XDG_RUNTIME_DIR") {
                Some(d) => PathBuf::from(d).join("awsid/agent.sock"),
                None => PathBuf::from(format!("/tmp/awsid-{}", nix::unistd::geteuid()))
                    .join("agent.sock"),
            },
        };
        Some(Locations {
            vault,
            agent_socket,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_follow_the_environment() {
        let env = awsid_profile::Env::from_pairs([("HOME", "/h")]);
        let l = Locations::from_env(&env).unwrap();
        assert_eq!(l.vault, PathBuf::from("/h/.local/share/awsid/vault.json"));
        assert!(l.agent_socket.to_string_lossy().starts_with("/tmp/awsid-"));
        let env = awsid_profile::Env::from_pairs([
            ("HOME", "/h"),
            ("XDG_DATA_HOME", "/d"),
            ("XDG_RUNTIME_DIR", "/run/user/7"),
        ]);
        let l = Locations::from_env(&env).unwrap();
        assert_eq!(l.vault, PathBuf::from("/d/awsid/vault.json"));
        assert_eq!(
            l.agent_socket,
            PathBuf::from("/run/user/7/awsid/agent.sock")
        );
        let env = awsid_profile::Env::from_pairs([
            ("AWSID_VAULT_FILE", "/v.json"),
            ("AWSID_VAULT_AGENT_SOCK", "/s/a.sock"),
        ]);
        let l = Locations::from_env(&env).unwrap();
        assert_eq!(l.vault, PathBuf::from("/v.json"));
        assert_eq!(l.agent_socket, PathBuf::from("/s/a.sock"));
        assert!(Locations::from_env(&awsid_profile::Env::from_pairs(
            Vec::<(String, String)>::new()
        ))
        .is_none());
    }

    #[test]
    fn debug_never_shows_secrets() {
        let k = StoredKeys {
            access_key_id: "AKIA".into(),
            secret_access_key: Zeroizing::new("very-secret".into()),
            session_token: Some(Zeroizing::new("tok".into())),
        };
        let d = format!("{k:?}");
        assert!(!d.contains("very-secret") && !d.contains("tok\""), "{d}");
    }
}
