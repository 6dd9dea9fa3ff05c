//! Stateless temporary credentials: any replica holding the same master key can verify what
//! any other issued, and restarts lose nothing.
//!
//! * access key id: `ASIA` + 16 characters of the AWS key alphabet (`A–Z`, `2–7`);
//! * secret: `base64(HMAC-SHA256(master, "secret" ‖ key id))`, first 40 characters;
//! * session token: `base64(0x01 ‖ key-id(4) ‖ nonce(12) ‖ AES-256-GCM(claims JSON))`, with the
//!   access key id as associated data so a token only works with its own key id. The 4-byte
//!   key id names the master key, so old keys can stay configured while tokens sealed with
//!   them are still alive (rotation).
//! * IMDSv2 tokens: `base64url(0x01 ‖ key-id ‖ issued(8) ‖ ttl(4) ‖ HMAC(master, instance ‖
//!   issued ‖ ttl)[..16])`.

use std::path::{Path, PathBuf};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

const TOKEN_VERSION: u8 = 1;
const KEY_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// What kind of session a temporary credential carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionKind {
    /// GetSessionToken: acts as the IAM user.
    #[serde(rename = "u")]
    User,
    /// A role session (AssumeRole*, IMDS, ECS).
    #[serde(rename = "r")]
    Role,
    /// GetFederationToken: a federated user acting within its parent IAM user's permissions
    /// and the session policy.
    #[serde(rename = "f")]
    Federated,
}

/// The claims sealed in a session token.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionClaims {
    /// The access key id the token belongs to.
    #[serde(rename = "k")]
    pub access_key_id: String,
    /// Session kind.
    #[serde(rename = "t")]
    pub kind: SessionKind,
    /// The principal's account.
    #[serde(rename = "a")]
    pub account: String,
    /// The caller ARN (user ARN or `assumed-role` session ARN).
    #[serde(rename = "n")]
    pub arn: String,
    /// `UserId` (`AIDA…` or `AROA…:<session>`).
    #[serde(rename = "i")]
    pub user_id: String,
    /// For role sessions: the role ARN.
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    /// For role sessions: the session name.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    /// Issue time (epoch seconds).
    #[serde(rename = "b")]
    pub issued: i64,
    /// Expiry (epoch seconds).
    #[serde(rename = "e")]
    pub expires: i64,
    /// Epoch seconds of the MFA authentication, when the session was created with MFA.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub mfa_time: Option<i64>,
    /// Whether an AssumeRole made with these credentials is role chaining (1-hour cap);
    /// false for IMDS-delivered credentials.
    #[serde(rename = "c", default)]
    pub chained: bool,
    /// `SourceIdentity`, if set.
    #[serde(rename = "si", default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
    /// Session policy (minified JSON), if one was passed.
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Session tags.
    #[serde(rename = "g", default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<(String, String)>,
    /// Keys of transitive session tags.
    #[serde(rename = "x", default, skip_serializing_if = "Vec::is_empty")]
    pub transitive_tag_keys: Vec<String>,
    /// For federated users: the ARN of the IAM user that called GetFederationToken.
    #[serde(rename = "pu", default, skip_serializing_if = "Option::is_none")]
    pub parent_user: Option<String>,
}

impl std::fmt::Debug for SessionClaims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionClaims")
            .field("access_key_id", &self.access_key_id)
            .field("kind", &self.kind)
            .field("arn", &self.arn)
            .field("issued", &self.issued)
            .field("expires", &self.expires)
            .field("mfa", &self.mfa_time.is_some())
            .field("chained", &self.chained)
            .finish_non_exhaustive()
    }
}

/// Freshly issued temporary credentials. `Debug` redacts the secret and token.
#[derive(Clone, PartialEq, Eq)]
pub struct IssuedCredentials {
    /// `ASIA…`.
    pub access_key_id: String,
    /// The 40-character secret.
    pub secret_access_key: String,
    /// The sealed session token.
    pub session_token: String,
    /// Issue time (epoch seconds).
    pub issued: i64,
    /// Expiry (epoch seconds).
    pub expiration: i64,
}

impl std::fmt::Debug for IssuedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .finish()
    }
}

/// Why a session token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not one of our tokens, sealed with an unknown key, tampered with, or for another key id.
    #[error("the session token is invalid")]
    Invalid,
}

/// Why the master key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum MasterKeyError {
    /// Reading or creating the key file failed.
    #[error("master key file {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The key text is not base64 of 32 bytes.
    #[error("{origin}: a master key must be base64 of exactly 32 bytes")]
    Malformed {
        /// Where the key came from.
        origin: String,
    },
}

struct MasterKey {
    id: [u8; 4],
    aead: Aes256Gcm,
    /// HMAC-SHA256 already keyed with the master secret (its inner and outer pads hashed):
    /// every MAC starts from a copy, which saves two of the four SHA-256 blocks of a short MAC.
    keyed: HmacSha256,
}

impl MasterKey {
    fn new(secret: [u8; 32]) -> MasterKey {
        let digest = Sha256::digest(secret);
        let aead = Aes256Gcm::new(&secret.into());
        MasterKey {
            id: [digest[0], digest[1], digest[2], digest[3]],
            aead,
            keyed: <HmacSha256 as Mac>::new_from_slice(&secret).expect("any key length"),
        }
    }

    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = self.keyed.clone();
        for p in parts {
            mac.update(&(p.len() as u32).to_be_bytes());
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }
}

/// Mints and verifies temporary credentials and IMDSv2 tokens with a master key.
pub struct Issuer {
    keys: Vec<MasterKey>,
}

impl std::fmt::Debug for Issuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuer")
            .field("keys", &self.keys.len())
            .finish()
    }
}

impl Issuer {
    /// An issuer with `current` for new credentials and `previous` keys still accepted.
    pub fn new(current: [u8; 32], previous: &[[u8; 32]]) -> Issuer {
        let mut keys = vec![MasterKey::new(current)];
        keys.extend(previous.iter().map(|k| MasterKey::new(*k)));
        Issuer { keys }
    }

    /// An issuer with a fresh random key (tests, throw-away servers).
    pub fn random() -> Issuer {
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        Issuer::new(k, &[])
    }

    /// Parses key-file text: one base64 key per line, the first is current, later ones are
    /// previous keys still accepted; blank lines and `#` comments are ignored.
    pub fn from_key_text(text: &str, origin: &str) -> Result<Issuer, MasterKeyError> {
        let mut keys = Vec::new();
        for line in text.lines().map(str::trim) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            keys.push(decode_key(line, origin)?);
        }
        let (first, rest) = keys
            .split_first()
            .ok_or_else(|| MasterKeyError::Malformed {
                origin: origin.to_string(),
            })?;
        Ok(Issuer::new(*first, rest))
    }

    /// Reads the key file at `path`, creating it (mode 0600, parent directories 0700) with a
    /// fresh random key when it does not exist.
    pub fn from_key_file(path: &Path) -> Result<Issuer, MasterKeyError> {
        let io = |source| MasterKeyError::Io {
            path: path.to_path_buf(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => Issuer::from_key_text(&text, &path.display().to_string()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut k = [0u8; 32];
                rand::rng().fill_bytes(&mut k);
                write_new_key_file(path, &format!("{}\n", STANDARD.encode(k))).map_err(io)?;
                // Another process may have won the race to create it: read what is there.
                let text = std::fs::read_to_string(path).map_err(io)?;
                Issuer::from_key_text(&text, &path.display().to_string())
            }
            Err(e) => Err(io(e)),
        }
    }

    fn current(&self) -> &MasterKey {
        &self.keys[0]
    }

    fn key(&self, id: &[u8]) -> Option<&MasterKey> {
        self.keys.iter().find(|k| k.id == id)
    }

    /// Mints credentials for `claims` (whose `access_key_id` is replaced by a new random one).
    pub fn issue(&self, mut claims: SessionClaims) -> IssuedCredentials {
        let mut raw = [0u8; 16];
        rand::rng().fill_bytes(&mut raw);
        claims.access_key_id = access_key_id(&raw);
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        self.seal(claims, nonce)
    }

    /// Mints credentials that are a pure function of `seed` and `claims`: every replica and
    /// every call with the same inputs returns the same key, secret and token (IMDS and ECS
    /// credentials stay the same until rotation).
    pub fn issue_deterministic(&self, seed: &[u8], mut claims: SessionClaims) -> IssuedCredentials {
        let key = self.current();
        let raw = key.mac(&[b"akid", seed]);
        claims.access_key_id = access_key_id(&raw[..16]);
        let plaintext = serde_json::to_vec(&claims).expect("claims serialize");
        // Deriving the nonce from the plaintext keeps GCM safe: equal nonces only ever
        // encrypt equal plaintexts.
        let n = key.mac(&[b"nonce", &plaintext]);
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&n[..12]);
        self.seal(claims, nonce)
    }

    fn seal(&self, claims: SessionClaims, nonce: [u8; 12]) -> IssuedCredentials {
        let key = self.current();
        // header ‖ claims JSON in one buffer, sealed in place after the header: the same
        // bytes as sealing the JSON alone and prepending the header, one buffer fewer.
        let header = token_header(&key.id, &nonce);
        let mut sealed = Vec::with_capacity(512);
        sealed.extend_from_slice(&header);
        serde_json::to_writer(&mut sealed, &claims).expect("claims serialize");
        let aad = [&header[..5], claims.access_key_id.as_bytes()].concat();
        let tag = key
            .aead
            .encrypt_in_place_detached(Nonce::from_slice(&nonce), &aad, &mut sealed[17..])
            .expect("AES-GCM seals any length a token can have");
        sealed.extend_from_slice(&tag);
        let token = STANDARD.encode(&sealed);
        IssuedCredentials {
            secret_access_key: derive_secret(key, &claims.access_key_id),
            access_key_id: claims.access_key_id,
            session_token: token,
            issued: claims.issued,
            expiration: claims.expires,
        }
    }

    /// An HMAC-SHA256 of `data` under the current master key, separated by `purpose`: a
    /// signature any replica with the key can make and check (never a key itself).
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        self.current().mac(&[b"mac", purpose.as_bytes(), data])
    }

    /// Seals `plaintext` for `purpose` with the current master key (AES-256-GCM, random nonce):
    /// `header ‖ ciphertext ‖ tag`. The purpose is authenticated, so a blob sealed for one
    /// purpose never opens as another; any replica holding the key opens it.
    pub fn seal_blob(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let key = self.current();
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let header = token_header(&key.id, &nonce);
        let aad = [&header[..5], b"blob:", purpose.as_bytes()].concat();
        let mut body = plaintext.to_vec();
        key.aead
            .encrypt_in_place(Nonce::from_slice(&nonce), &aad, &mut body)
            .expect("AES-GCM seals any length a token can have");
        [&header[..], &body[..]].concat()
    }

    /// Opens a blob of [`Issuer::seal_blob`] sealed for `purpose` by any key this issuer holds;
    /// `None` when it is not exactly that.
    pub fn open_blob(&self, purpose: &str, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < 17 + 16 || sealed[0] != TOKEN_VERSION {
            return None;
        }
        let key = self.key(&sealed[1..5])?;
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&sealed[5..17]);
        let aad = [&sealed[..5], b"blob:", purpose.as_bytes()].concat();
        let mut body = sealed[17..].to_vec();
        key.aead
            .decrypt_in_place(Nonce::from_slice(&nonce), &aad, &mut body)
            .ok()?;
        Some(body)
    }

    /// Opens a session token presented with `access_key_id`; returns the claims and the secret
    /// the request must have been signed with. Expiry is the caller's check.
    pub fn open(
        &self,
        access_key_id: &str,
        session_token: &str,
    ) -> Result<(SessionClaims, String), TokenError> {
        if session_token.len() > 8192 {
            return Err(TokenError::Invalid);
        }
        let bytes = STANDARD
            .decode(session_token)
            .map_err(|_| TokenError::Invalid)?;
        if bytes.len() < 17 + 16 || bytes[0] != TOKEN_VERSION {
            return Err(TokenError::Invalid);
        }
        let key = self.key(&bytes[1..5]).ok_or(TokenError::Invalid)?;
        let mut nonce = [0u8; 12];
        nonce.copy_from_slice(&bytes[5..17]);
        let aad = [&bytes[..5], access_key_id.as_bytes()].concat();
        let mut body = bytes[17..].to_vec();
        key.aead
            .decrypt_in_place(Nonce::from_slice(&nonce), &aad, &mut body)
            .map_err(|_| TokenError::Invalid)?;
        let claims: SessionClaims =
            serde_json::from_slice(&body).map_err(|_| TokenError::Invalid)?;
        if claims.access_key_id != access_key_id {
            return Err(TokenError::Invalid);
        }
        let secret = derive_secret(key, access_key_id);
        Ok((claims, secret))
    }

    /// An IMDSv2 token for `instance_id`, issued at `issued` for `ttl` seconds.
    pub fn imds_token(&self, instance_id: &str, issued: i64, ttl: u32) -> String {
        let key = self.current();
        let mut out = Vec::with_capacity(33);
        out.push(TOKEN_VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&issued.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        let mac = key.mac(&[b"imds", instance_id.as_bytes(), &out[5..17]]);
        out.extend_from_slice(&mac[..16]);
        URL_SAFE_NO_PAD.encode(out)
    }

    /// Whether `token` is a valid, unexpired IMDSv2 token of `instance_id` at time `now`.
    pub fn verify_imds_token(&self, token: &str, instance_id: &str, now: i64) -> bool {
        self.verify_imds_token_with(token, instance_id, now, None)
    }

    /// [`Issuer::verify_imds_token`] that skips the HMAC for a token whose MAC this issuer
    /// already checked for `instance_id` (remembered in `seen`, which must only ever be used
    /// with this issuer and this instance). The lifetime is checked every time.
    pub fn verify_imds_token_cached(
        &self,
        token: &str,
        instance_id: &str,
        now: i64,
        seen: &VerifiedTokens,
    ) -> bool {
        self.verify_imds_token_with(token, instance_id, now, Some(seen))
    }

    fn verify_imds_token_with(
        &self,
        token: &str,
        instance_id: &str,
        now: i64,
        seen: Option<&VerifiedTokens>,
    ) -> bool {
        // 44 characters of unpadded base64url are exactly the 33 bytes of a token; anything
        // else is refused before decoding.
        let Ok(text) = <&[u8; 44]>::try_from(token.as_bytes()) else {
            return false;
        };
        // A token seen before is known by its text (44 characters without padding decode to
        // exactly one byte string), which saves decoding it again.
        let cached = seen.and_then(|s| s.get(text));
        let bytes = match cached {
            Some(bytes) => bytes,
            None => {
                let mut bytes = [0u8; 33];
                if URL_SAFE_NO_PAD.decode_slice(token, &mut bytes) != Ok(33) {
                    return false;
                }
                bytes
            }
        };
        if bytes[0] != TOKEN_VERSION {
            return false;
        }
        // Looked up every time: a token of a key this issuer no longer has is refused.
        let Some(key) = self.key(&bytes[1..5]) else {
            return false;
        };
        if cached.is_none() {
            let mac = key.mac(&[b"imds", instance_id.as_bytes(), &bytes[5..17]]);
            if !bool::from(subtle::ConstantTimeEq::ct_eq(&mac[..16], &bytes[17..33])) {
                return false;
            }
            if let Some(s) = seen {
                s.insert(text, &bytes);
            }
        }
        let issued = i64::from_be_bytes(bytes[5..13].try_into().expect("8 bytes"));
        let ttl = u32::from_be_bytes(bytes[13..17].try_into().expect("4 bytes"));
        now >= issued - 1 && now < issued + i64::from(ttl)
    }
}

/// IMDSv2 tokens whose MAC was already checked, for one instance and one [`Issuer`]: a small
/// direct-mapped table (16 slots, indexed by a character of the token that encodes MAC bits
/// only, which the client cannot choose for a valid token), so memory is bounded and a busy
/// client re-presenting its token skips the base64 decoding and the HMAC. It holds only tokens
/// the client itself presents on every request (no key material), and it is never printed:
/// `Debug` shows the slot count only. Each thread has a table of its own, so worker threads
/// checking tokens at the same time do not write the same memory.
#[derive(Default)]
pub struct VerifiedTokens {
    slots: thread_local::ThreadLocal<std::cell::RefCell<[Option<VerifiedToken>; 16]>>,
}

/// A token as presented (its base64url text) and as decoded.
#[derive(Clone, Copy)]
struct VerifiedToken {
    text: [u8; 44],
    bytes: [u8; 33],
}

impl std::fmt::Debug for VerifiedTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedTokens").finish_non_exhaustive()
    }
}

impl VerifiedTokens {
    /// Character 23 on encodes only MAC bits (byte 17 on).
    fn slot(text: &[u8; 44]) -> usize {
        usize::from(text[23] & 15)
    }

    /// The decoded bytes of `text` if its MAC was checked before.
    fn get(&self, text: &[u8; 44]) -> Option<[u8; 33]> {
        let slots = self.slots.get_or_default().borrow();
        slots[Self::slot(text)]
            .as_ref()
            .filter(|v| v.text == *text)
            .map(|v| v.bytes)
    }

    fn insert(&self, text: &[u8; 44], bytes: &[u8; 33]) {
        self.slots.get_or_default().borrow_mut()[Self::slot(text)] = Some(VerifiedToken {
            text: *text,
            bytes: *bytes,
        });
    }
}

fn token_header(id: &[u8; 4], nonce: &[u8; 12]) -> [u8; 17] {
    let mut h = [0u8; 17];
    h[0] = TOKEN_VERSION;
    h[1..5].copy_from_slice(id);
    h[5..17].copy_from_slice(nonce);
    h
}

fn derive_secret(key: &MasterKey, access_key_id: &str) -> String {
    let mac = key.mac(&[b"secret", access_key_id.as_bytes()]);
    let mut s = STANDARD.encode(mac);
    s.truncate(40);
    s
}

fn access_key_id(raw: &[u8]) -> String {
    let mut id = String::from("ASIA");
    id.extend(
        raw.iter()
            .take(16)
            .map(|b| KEY_ALPHABET[(*b & 31) as usize] as char),
    );
    id
}

fn decode_key(text: &str, origin: &str) -> Result<[u8; 32], MasterKeyError> {
    STANDARD
        .decode(text.trim())
        .ok()
        .and_then(|v| <[u8; 32]>::try_from(v).ok())
        .ok_or_else(|| MasterKeyError::Malformed {
            origin: origin.to_string(),
        })
}

fn write_new_key_file(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(mut f) => {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The default key file: `$AWSID_MASTER_KEY_FILE`, else `$XDG_STATE_HOME/awsid/master.key`,
/// else `$HOME/.local/state/awsid/master.key`.
pub fn default_key_file(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if let Some(p) = env("AWSID_MASTER_KEY_FILE").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    if let Some(dir) = env("XDG_STATE_HOME").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(dir).join("awsid").join("master.key"));
    }
    let home = env("HOME").filter(|p| !p.is_empty())?;
    Some(PathBuf::from(home).join(".local/state/awsid/master.key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> SessionClaims {
        SessionClaims {
            access_key_id: String::new(),
            kind: SessionKind::Role,
            account: "123456789012".into(),
            arn: "arn:aws:sts::123456789012:assumed-role/defaultrole/s".into(),
            user_id: "AROADEFAULTROLE000001:s".into(),
            role_arn: Some("arn:aws:iam::123456789012:role/defaultrole".into()),
            session_name: Some("s".into()),
            issued: 1_800_000_000,
            expires: 1_800_003_600,
            mfa_time: Some(1_800_000_000),
            chained: true,
            source_identity: None,
            policy: None,
            tags: vec![("Project".into(), "x".into())],
            transitive_tag_keys: vec![],
            parent_user: None,
        }
    }

    #[test]
    fn issue_and_open_round_trip_across_replicas() {
        let key = [7u8; 32];
        let a = Issuer::new(key, &[]);
        let b = Issuer::new(key, &[]);
        let creds = a.issue(claims());
        assert!(creds.access_key_id.starts_with("ASIA"));
        assert_eq!(creds.access_key_id.len(), 20);
        assert!(creds.access_key_id[4..]
            .bytes()
            .all(|c| KEY_ALPHABET.contains(&c)));
        assert_eq!(creds.secret_access_key.len(), 40);
        assert!(
            creds.session_token.len() < 1536,
            "token is {} bytes",
            creds.session_token.len()
        );
        let (got, secret) = b.open(&creds.access_key_id, &creds.session_token).unwrap();
        assert_eq!(secret, creds.secret_access_key);
        assert_eq!(got.arn, claims().arn);
        assert_eq!(got.access_key_id, creds.access_key_id);
        let debug = format!("{creds:?}");
        assert!(!debug.contains(&creds.secret_access_key) && !debug.contains(&creds.session_token));
    }

    #[test]
    fn tokens_are_bound_to_key_id_and_master_key() {
        let a = Issuer::new([1u8; 32], &[]);
        let creds = a.issue(claims());
        let other = a.issue(claims());
        assert_eq!(
            a.open(&other.access_key_id, &creds.session_token),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            Issuer::new([2u8; 32], &[]).open(&creds.access_key_id, &creds.session_token),
            Err(TokenError::Invalid)
        );
        let mut bytes = STANDARD.decode(&creds.session_token).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert_eq!(
            a.open(&creds.access_key_id, &STANDARD.encode(bytes)),
            Err(TokenError::Invalid)
        );
        assert_eq!(
            a.open(&creds.access_key_id, "garbage"),
            Err(TokenError::Invalid)
        );
        assert_eq!(a.open(&creds.access_key_id, ""), Err(TokenError::Invalid));
    }

    #[test]
    fn rotation_keeps_old_tokens_valid() {
        let old = Issuer::new([1u8; 32], &[]);
        let creds = old.issue(claims());
        let rotated = Issuer::new([2u8; 32], &[[1u8; 32]]);
        assert!(rotated
            .open(&creds.access_key_id, &creds.session_token)
            .is_ok());
        let new = rotated.issue(claims());
        assert!(old.open(&new.access_key_id, &new.session_token).is_err());
    }

    #[test]
    fn blobs_are_bound_to_their_purpose_and_survive_rotation() {
        let a = Issuer::new([1u8; 32], &[]);
        let sealed = a.seal_blob("sso:access", b"payload");
        assert_eq!(
            Issuer::new([1u8; 32], &[]).open_blob("sso:access", &sealed),
            Some(b"payload".to_vec())
        );
        assert_eq!(a.open_blob("sso:refresh", &sealed), None);
        let rotated = Issuer::new([2u8; 32], &[[1u8; 32]]);
        assert_eq!(
            rotated.open_blob("sso:access", &sealed),
            Some(b"payload".to_vec())
        );
        assert_eq!(
            Issuer::new([2u8; 32], &[]).open_blob("sso:access", &sealed),
            None
        );
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert_eq!(a.open_blob("sso:access", &tampered), None);
        assert_eq!(a.open_blob("sso:access", &sealed[..20]), None);
    }

    #[test]
    fn deterministic_issue_is_stable() {
        let a = Issuer::new([3u8; 32], &[]);
        let x = a.issue_deterministic(b"i-1/role/7", claims());
        let y = Issuer::new([3u8; 32], &[]).issue_deterministic(b"i-1/role/7", claims());
        assert_eq!(x, y);
        let z = a.issue_deterministic(b"i-1/role/8", claims());
        assert_ne!(x.access_key_id, z.access_key_id);
        assert!(a.open(&x.access_key_id, &x.session_token).is_ok());
    }

    #[test]
    fn imds_tokens() {
        let a = Issuer::new([4u8; 32], &[]);
        let t = a.imds_token("i-1", 1000, 60);
        assert!(t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert!(a.verify_imds_token(&t, "i-1", 1000));
        assert!(a.verify_imds_token(&t, "i-1", 1059));
        assert!(
            !a.verify_imds_token(&t, "i-1", 1060),
            "expired at issued + ttl"
        );
        assert!(
            !a.verify_imds_token(&t, "i-2", 1000),
            "bound to the instance"
        );
        assert!(!a.verify_imds_token("x", "i-1", 1000));
        assert!(!Issuer::new([5u8; 32], &[]).verify_imds_token(&t, "i-1", 1000));
    }

    #[test]
    fn cached_imds_token_checks_agree_with_uncached_ones() {
        let a = Issuer::new([4u8; 32], &[]);
        let seen = VerifiedTokens::default();
        let t = a.imds_token("i-1", 1000, 60);
        // Twice: the second answer comes from the cache and must still check the lifetime.
        for _ in 0..2 {
            assert!(a.verify_imds_token_cached(&t, "i-1", 1000, &seen));
            assert!(!a.verify_imds_token_cached(&t, "i-1", 1060, &seen));
            assert!(!a.verify_imds_token_cached(&t, "i-1", 998, &seen));
        }
        // Every other byte of a cached token still matters: flip each character in turn.
        for i in 0..t.len() {
            let mut bad = t.clone().into_bytes();
            bad[i] = if bad[i] == b'A' { b'B' } else { b'A' };
            let bad = String::from_utf8(bad).unwrap();
            assert_eq!(
                a.verify_imds_token_cached(&bad, "i-1", 1000, &seen),
                a.verify_imds_token(&bad, "i-1", 1000),
                "{bad}"
            );
        }
        for bad in ["", "x", &t[..43], &format!("{t}A"), &format!("{t}=")] {
            assert!(
                !a.verify_imds_token_cached(bad, "i-1", 1000, &seen),
                "{bad}"
            );
        }
        // A token of another issuer is refused although a valid one of this issuer is cached.
        let other = Issuer::new([5u8; 32], &[]).imds_token("i-1", 1000, 60);
        assert!(!a.verify_imds_token_cached(&other, "i-1", 1000, &seen));
        assert!(!format!("{seen:?}").contains(&t));
    }

    #[test]
    fn key_file_is_created_0600_and_reused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/awsid/master.key");
        let a = Issuer::from_key_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let creds = a.issue(claims());
        let b = Issuer::from_key_file(&path).unwrap();
        assert!(
            b.open(&creds.access_key_id, &creds.session_token).is_ok(),
            "survives a restart"
        );
        std::fs::write(&path, "not base64!\n").unwrap();
        let err = Issuer::from_key_file(&path).unwrap_err().to_string();
        assert!(err.contains("base64 of exactly 32 bytes"), "{err}");
    }

    #[test]
    fn default_key_file_location() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(
            default_key_file(env(&[("HOME", "/h")])).unwrap(),
            PathBuf::from("/h/.local/state/awsid/master.key")
        );
        assert_eq!(
            default_key_file(env(&[("HOME", "/h"), ("XDG_STATE_HOME", "/s")])).unwrap(),
            PathBuf::from("/s/awsid/master.key")
        );
        assert_eq!(
            default_key_file(env(&[("AWSID_MASTER_KEY_FILE", "/k"), ("HOME", "/h")])).unwrap(),
            PathBuf::from("/k")
        );
        assert!(default_key_file(env(&[])).is_none());
    }
}
