//! The vault's cryptography: Argon2id turns the passphrase into a key-encryption key, which
//! seals a random 256-bit data key; the data key seals each entry. Both seals are
//! XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`) with a random 192-bit nonce per seal
//! (random nonces of that size never collide in practice) and associated data that binds each
//! ciphertext to its place in the file.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::VaultError;

/// Argon2id memory cost of a new vault, in KiB (64 MiB: RFC 9106's second recommended option).
pub const DEFAULT_MEMORY_KIB: u32 = 64 * 1024;
/// Argon2id passes of a new vault (RFC 9106's second recommended option).
pub const DEFAULT_ITERATIONS: u32 = 3;
/// Argon2id lanes of a new vault.
pub const DEFAULT_PARALLELISM: u32 = 1;
/// The least memory a vault file may ask for (OWASP's minimum for Argon2id, 19 MiB): a file
/// edited to a cheaper setting is refused instead of making passphrase guessing cheap.
pub const MIN_MEMORY_KIB: u32 = 19 * 1024;
/// The most memory a vault file may ask for (a file cannot make awsid allocate unbounded).
pub const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
/// The least passes a vault file may ask for.
pub const MIN_ITERATIONS: u32 = 2;

/// Argon2id parameters as recorded in a vault file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Always `argon2id`.
    pub algorithm: String,
    /// Argon2 version (19 = 0x13, the current one).
    pub version: u32,
    /// Memory cost in KiB.
    pub memory_kib: u32,
    /// Number of passes.
    pub iterations: u32,
    /// Degree of parallelism (lanes).
    pub parallelism: u32,
    /// 16 random bytes, base64.
    pub salt: String,
}

impl KdfParams {
    /// The defaults above with a fresh random salt.
    pub fn new_default() -> KdfParams {
        KdfParams {
            algorithm: "argon2id".into(),
            version: 0x13,
            memory_kib: DEFAULT_MEMORY_KIB,
            iterations: DEFAULT_ITERATIONS,
            parallelism: DEFAULT_PARALLELISM,
            salt: B64.encode(random::<16>()),
        }
    }

    /// The `argon2` crate's parameters, refusing anything outside the bounds above.
    pub fn argon2(&self) -> Result<Argon2<'static>, VaultError> {
        let bad = |why: String| VaultError::Format(format!("kdf: {why}"));
        if self.algorithm != "argon2id" {
            return Err(bad(format!("unsupported algorithm {:?}", self.algorithm)));
        }
        if self.version != 0x13 {
            return Err(bad(format!("unsupported Argon2 version {}", self.version)));
        }
        if !(MIN_MEMORY_KIB..=MAX_MEMORY_KIB).contains(&self.memory_kib) {
            return Err(bad(format!(
                "memory_kib {} is outside {MIN_MEMORY_KIB}..={MAX_MEMORY_KIB}",
                self.memory_kib
            )));
        }
        if !(MIN_ITERATIONS..=64).contains(&self.iterations) {
            return Err(bad(format!(
                "iterations {} is outside {MIN_ITERATIONS}..=64",
                self.iterations
            )));
        }
        if !(1..=16).contains(&self.parallelism) {
            return Err(bad(format!(
                "parallelism {} is outside 1..=16",
                self.parallelism
            )));
        }
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| bad(e.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }

    /// Derives the 256-bit key-encryption key from `passphrase`.
    pub fn derive(&self, passphrase: &[u8]) -> Result<Key, VaultError> {
        let salt = decode(&self.salt, "kdf salt")?;
        if salt.len() < 16 {
            return Err(VaultError::Format("kdf: salt shorter than 16 bytes".into()));
        }
        let mut key = Key([0u8; 32]);
        self.argon2()?
            .hash_password_into(passphrase, &salt, &mut key.0)
            .map_err(|e| VaultError::Format(format!("kdf: {e}")))?;
        Ok(key)
    }
}

/// A 256-bit key, wiped from memory when dropped; `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Key(pub(crate) [u8; 32]);

impl Drop for Key {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    /// A fresh random key.
    pub fn random() -> Key {
        Key(random::<32>())
    }

    /// The key as base64 (for the agent's socket only).
    pub fn to_base64(&self) -> Zeroizing<String> {
        Zeroizing::new(B64.encode(self.0))
    }

    /// A key from base64 (the agent's answer).
    pub fn from_base64(text: &str) -> Option<Key> {
        let bytes = Zeroizing::new(B64.decode(text).ok()?);
        let arr: [u8; 32] = bytes.as_slice().try_into().ok()?;
        Some(Key(arr))
    }
}

/// A ciphertext and its nonce, both base64, as stored in the file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sealed {
    /// 24 random bytes.
    pub nonce: String,
    /// Ciphertext followed by the 16-byte Poly1305 tag.
    pub ciphertext: String,
}

/// Encrypts `plaintext` under `key`, bound to `aad`.
pub fn seal(key: &Key, aad: &[u8], plaintext: &[u8]) -> Sealed {
    let nonce = random::<24>();
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let ct = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: plaintext,
                aad,
            },
        )
        .expect("XChaCha20-Poly1305 encryption of a bounded message cannot fail");
    Sealed {
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(ct),
    }
}

/// Decrypts `sealed`; `None` when the key is wrong or anything (ciphertext, nonce, `aad`) was
/// changed.
pub fn open(
    key: &Key,
    aad: &[u8],
    sealed: &Sealed,
) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
    let nonce = decode(&sealed.nonce, "nonce")?;
    if nonce.len() != 24 {
        return Err(VaultError::Format("nonce is not 24 bytes".into()));
    }
    let ct = decode(&sealed.ciphertext, "ciphertext")?;
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    Ok(cipher
        .decrypt(XNonce::from_slice(&nonce), Payload { msg: &ct, aad })
        .ok()
        .map(Zeroizing::new))
}

fn decode(text: &str, what: &str) -> Result<Vec<u8>, VaultError> {
    B64.decode(text)
        .map_err(|_| VaultError::Format(format!("{what} is not base64")))
}

/// `N` random bytes from the OS generator.
pub fn random<const N: usize>() -> [u8; N] {
    let mut out = [0u8; N];
    rand::rng().fill_bytes(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_stated_parameters() {
        let p = KdfParams::new_default();
        assert_eq!(
            (
                p.algorithm.as_str(),
                p.version,
                p.memory_kib,
                p.iterations,
                p.parallelism
            ),
            ("argon2id", 19, 65536, 3, 1)
        );
        assert_eq!(B64.decode(&p.salt).unwrap().len(), 16);
        assert_ne!(p.salt, KdfParams::new_default().salt, "salts are random");
    }

    #[test]
    fn argon2id_matches_rfc9106_test_vector() {
        // RFC 9106 §5.3 (Argon2id, v0x13, m=32 KiB, t=3, p=4, with secret and associated data):
        // checks that the algorithm, version and parameter order are the ones we name.
        let params = argon2::ParamsBuilder::new()
            .m_cost(32)
            .t_cost(3)
            .p_cost(4)
            .data(argon2::AssociatedData::new(&[4u8; 12]).unwrap())
            .output_len(32)
            .build()
            .unwrap();
        let a = Argon2::new_with_secret(&[3u8; 8], Algorithm::Argon2id, Version::V0x13, params)
            .unwrap();
        let mut out = [0u8; 32];
        a.hash_password_into(&[1u8; 32], &[2u8; 16], &mut out)
            .unwrap();
        let hex: String = out.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
        );
    }

    #[test]
    fn derivation_depends_on_every_parameter_and_refuses_weak_ones() {
        let p = KdfParams::new_default();
        let k = p.derive(b"correct horse").unwrap();
        assert_eq!(k, p.derive(b"correct horse").unwrap());
        assert_ne!(k, p.derive(b"correct horsf").unwrap());
        let mut q = p.clone();
        q.iterations = 4;
        assert_ne!(k, q.derive(b"correct horse").unwrap());
        let mut weak = p.clone();
        weak.memory_kib = 1024;
        assert!(weak
            .derive(b"x")
            .unwrap_err()
            .to_string()
            .contains("memory_kib 1024"));
        let mut other = p;
        other.algorithm = "argon2i".into();
        assert!(other.derive(b"x").is_err());
    }

    #[test]
    fn seal_binds_key_and_associated_data() {
        let k = Key::random();
        let s = seal(&k, b"aad", b"secret");
        assert_eq!(open(&k, b"aad", &s).unwrap().unwrap().as_slice(), b"secret");
        assert!(open(&k, b"other", &s).unwrap().is_none());
        assert!(open(&Key::random(), b"aad", &s).unwrap().is_none());
        assert_ne!(seal(&k, b"aad", b"secret"), s, "nonces are random");
        assert_eq!(format!("{k:?}"), "Key(<redacted>)");
        assert_eq!(Key::from_base64(&k.to_base64()).unwrap(), k);
    }
}
