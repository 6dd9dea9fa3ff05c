//! Credentials, the derived signing key, the final HMAC and a bounded signing-key cache.

use crate::canonical::{Scope, TERMINATOR};
use crate::encode;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Mutex, MutexGuard};
use thread_local::ThreadLocal;

pub(crate) type HmacSha256 = Hmac<Sha256>;

const REDACTED: &str = "** redacted **";

/// Access key id, secret key and optional session token; `Debug` never shows the secret or
/// the token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
}

impl Credentials {
    /// Bundles an access key id, its secret and an optional session token.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        session_token: Option<String>,
    ) -> Self {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
        }
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key; handle with care.
    pub fn secret_access_key(&self) -> &str {
        &self.secret_access_key
    }

    /// The session token of temporary credentials, if any; handle with care.
    pub fn session_token(&self) -> Option<&str> {
        self.session_token.as_deref()
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &REDACTED)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| REDACTED),
            )
            .finish()
    }
}

/// The derived SigV4 signing key for one (secret, date, region, service); `Debug` is
/// redacted because the key signs for that whole day.
#[derive(Clone)]
pub struct SigningKey {
    key: [u8; 32],
    /// HMAC-SHA256 already keyed with `key` (inner and outer pads hashed), so a signature
    /// made with a cached key costs two SHA-256 blocks fewer.
    keyed: HmacSha256,
}

impl PartialEq for SigningKey {
    fn eq(&self, other: &SigningKey) -> bool {
        self.key == other.key
    }
}

impl Eq for SigningKey {}

impl SigningKey {
    fn from_bytes(key: [u8; 32]) -> SigningKey {
        SigningKey {
            key,
            keyed: HmacSha256::new_from_slice(&key).expect("HMAC accepts keys of any length"),
        }
    }

    /// The raw 32 key bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.key
    }

    /// An HMAC-SHA256 keyed with this key, ready for the string to sign.
    pub(crate) fn mac(&self) -> HmacSha256 {
        self.keyed.clone()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(** redacted **)")
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

/// Derives `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, date), region), service),
/// "aws4_request")`; `date` is `YYYYMMDD`.
pub fn signing_key(secret: &str, date: &str, region: &str, service: &str) -> SigningKey {
    let mut k_secret = Vec::with_capacity(4 + secret.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret.as_bytes());
    let k_date = hmac(&k_secret, date.as_bytes());
    // Overwrite the copy of the secret before it is freed.
    k_secret.iter_mut().for_each(|b| *b = 0);
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    SigningKey::from_bytes(hmac(&k_service, TERMINATOR.as_bytes()))
}

/// Lower-hex `HMAC-SHA256(key, string_to_sign)`: the request signature.
pub fn signature(key: &SigningKey, string_to_sign: &str) -> String {
    let mut mac = key.mac();
    mac.update(string_to_sign.as_bytes());
    encode::hex_lower(&mac.finalize().into_bytes())
}

/// A thread-safe, bounded cache of signing keys keyed by (secret, date, region, service).
///
/// Entries are keyed by a SHA-256 fingerprint of the four inputs, so the cache never holds
/// a secret. It keeps two generations of at most `capacity / 2` entries each: when the
/// current one fills up it becomes the previous one and the old previous one is dropped,
/// and a hit in the previous generation is promoted. That bounds memory at `capacity`
/// entries while keeping keys in active use. Each thread keeps its own generations (at most
/// `capacity` entries per thread), so worker threads verifying requests at the same time share
/// no lock: a key is derived once per thread, not once per request.
pub struct SigningKeyCache {
    half: usize,
    threads: ThreadLocal<Mutex<Generations>>,
}

type Fingerprint = [u8; 32];
type KeyMap = HashMap<Fingerprint, SigningKey, BuildHasherDefault<FingerprintHasher>>;

#[derive(Default)]
struct Generations {
    current: KeyMap,
    previous: KeyMap,
}

/// The map keys are already uniformly distributed SHA-256 output; folding them is enough.
#[derive(Default)]
struct FingerprintHasher(u64);

impl Hasher for FingerprintHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(23) ^ u64::from_le_bytes(word);
        }
    }
}

impl SigningKeyCache {
    /// Creates a cache holding at most `capacity` keys (at least 2).
    pub fn new(capacity: usize) -> Self {
        SigningKeyCache {
            half: (capacity / 2).max(1),
            threads: ThreadLocal::new(),
        }
    }

    /// Returns the signing key for the inputs, deriving and caching it on a miss.
    pub fn get(&self, secret: &str, date: &str, region: &str, service: &str) -> SigningKey {
        let fp = fingerprint(secret, date, region, service);
        let mut g = self.local();
        if let Some(k) = g.current.get(&fp) {
            return k.clone();
        }
        if let Some(k) = g.previous.remove(&fp) {
            self.insert(&mut g, fp, k.clone());
            return k;
        }
        let key = signing_key(secret, date, region, service);
        self.insert(&mut g, fp, key.clone());
        key
    }

    /// Returns the signing key for `secret` under `scope` (see [`SigningKeyCache::get`]).
    pub fn key_for(&self, secret: &str, scope: &Scope) -> SigningKey {
        self.get(secret, &scope.date, &scope.region, &scope.service)
    }

    /// Number of keys currently held (both generations, every thread).
    pub fn len(&self) -> usize {
        self.threads
            .iter()
            .map(|t| {
                let g = t.lock().unwrap_or_else(|p| p.into_inner());
                g.current.len() + g.previous.len()
            })
            .sum()
    }

    /// True when the cache holds no key.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    // A panic while holding the lock cannot leave the maps inconsistent (each operation is
    // a single insert/remove/swap), so a poisoned lock is still usable. Only this thread
    // takes it, except for [`SigningKeyCache::len`].
    fn local(&self) -> MutexGuard<'_, Generations> {
        self.threads
            .get_or_default()
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn insert(&self, g: &mut Generations, fp: Fingerprint, key: SigningKey) {
        if g.current.len() >= self.half && !g.current.contains_key(&fp) {
            g.previous = std::mem::take(&mut g.current);
        }
        g.current.insert(fp, key);
    }
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("capacity", &(self.half * 2))
            .field("len", &self.len())
            .finish()
    }
}

fn fingerprint(secret: &str, date: &str, region: &str, service: &str) -> Fingerprint {
    let mut h = Sha256::new();
    h.update(b"awsid-sigv4-key-cache\0");
    // Length prefixes make the encoding of the four fields unambiguous.
    for part in [secret, date, region, service] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    #[test]
    fn signing_key_matches_the_aws_documentation_example() {
        // The worked example of the IAM User Guide ("Examples of how to derive a signing
        // key"): secret above, 20120215 / us-east-1 / iam.
        let k = signing_key(SECRET, "20120215", "us-east-1", "iam");
        assert_eq!(
            encode::hex_lower(k.as_bytes()),
            "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d"
        );
    }

    #[test]
    fn signature_matches_get_vanilla() {
        let k = signing_key(SECRET, "20150830", "us-east-1", "service");
        let sts = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
                   bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63";
        assert_eq!(
            signature(&k, sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let c = Credentials::new("AKIDEXAMPLE", SECRET, Some("TOKENVALUE".into()));
        let d = format!("{c:?}");
        assert!(d.contains("AKIDEXAMPLE"));
        assert!(!d.contains(SECRET) && !d.contains("TOKENVALUE"), "{d}");
        let k = signing_key(SECRET, "20150830", "us-east-1", "service");
        let d = format!("{k:?}");
        assert!(!d.contains(&encode::hex_lower(k.as_bytes())[..8]), "{d}");
    }

    #[test]
    fn cache_returns_the_derived_key_and_keys_by_all_four_inputs() {
        let c = SigningKeyCache::new(16);
        assert!(c.is_empty());
        let a = c.get(SECRET, "20150830", "us-east-1", "sts");
        assert_eq!(a, signing_key(SECRET, "20150830", "us-east-1", "sts"));
        assert_eq!(c.get(SECRET, "20150830", "us-east-1", "sts"), a);
        assert_eq!(c.len(), 1);
        for (s, d, r, v) in [
            ("other", "20150830", "us-east-1", "sts"),
            (SECRET, "20150831", "us-east-1", "sts"),
            (SECRET, "20150830", "us-west-2", "sts"),
            (SECRET, "20150830", "us-east-1", "iam"),
        ] {
            let k = c.get(s, d, r, v);
            assert_eq!(k, signing_key(s, d, r, v));
            assert_ne!(k, a);
        }
        assert_eq!(c.len(), 5);
        let scope = Scope::new("20150830T000000Z", "us-east-1", "sts");
        assert_eq!(c.key_for(SECRET, &scope), a);
    }

    #[test]
    fn fingerprint_fields_do_not_run_together() {
        assert_ne!(
            fingerprint("ab", "c", "r", "s"),
            fingerprint("a", "bc", "r", "s")
        );
    }

    #[test]
    fn cache_is_bounded_and_keeps_recently_used_keys() {
        let c = SigningKeyCache::new(8);
        let hot = c.get("hot", "20150830", "r", "s");
        for i in 0..100 {
            c.get(&format!("secret{i}"), "20150830", "r", "s");
            // Touch the hot key so it is promoted before its generation is dropped.
            assert_eq!(c.get("hot", "20150830", "r", "s"), hot);
            assert!(c.len() <= 8, "len {} after {i}", c.len());
        }
    }

    #[test]
    fn cache_is_shareable_across_threads() {
        let c = std::sync::Arc::new(SigningKeyCache::new(64));
        // All four stay alive until all are done, so none reuses another's table.
        let done = std::sync::Arc::new(std::sync::Barrier::new(4));
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (c, done) = (c.clone(), done.clone());
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let s = format!("s{}", (i + t) % 10);
                        assert_eq!(
                            c.get(&s, "20150830", "r", "x"),
                            signing_key(&s, "20150830", "r", "x")
                        );
                    }
                    done.wait();
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        // Each thread keeps the ten keys it used: no lock is shared between threads.
        assert_eq!(c.len(), 4 * 10);
    }
}
