//! The JSON credential cache in `~/.aws/cli/cache` shared with the AWS CLI: the reference's key
//! scheme, file shape and validity window (`docs/spec/assume-role.md` §6, `docs/spec/process-and-sso.md` §2.6).

use std::path::{Path, PathBuf};

use sha1::{Digest, Sha1};
use time::OffsetDateTime;

use crate::{Credentials, CredentialsError};

/// Cache entries are used only while at least this many seconds remain.
pub const CACHE_WINDOW_SECS: i64 = 900;

/// A JSON value as Python's `json.dumps` writes it (enough for cache keys and entries).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PyJson {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// An object, written in the given order.
    Obj(Vec<(String, PyJson)>),
}

impl PyJson {
    /// `json.dumps(self)` with `", "`/`": "` separators and ASCII escaping.
    pub fn dumps(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, ", ", ": ");
        out
    }

    /// `json.dumps(self, separators=(",", ":"))`.
    pub fn dumps_compact(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, ",", ":");
        out
    }

    fn write(&self, out: &mut String, item: &str, kv: &str) {
        match self {
            PyJson::Str(s) => write_str(out, s),
            PyJson::Int(i) => out.push_str(&i.to_string()),
            PyJson::Obj(items) => {
                out.push('{');
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(item);
                    }
                    write_str(out, k);
                    out.push_str(kv);
                    v.write(out, item, kv);
                }
                out.push('}');
            }
        }
    }

    /// The same object with keys sorted (recursively), like `sort_keys=True`.
    pub fn sorted(mut self) -> PyJson {
        if let PyJson::Obj(items) = &mut self {
            items.sort_by(|a, b| a.0.cmp(&b.0));
            for (_, v) in items.iter_mut() {
                *v = std::mem::replace(v, PyJson::Int(0)).sorted();
            }
        }
        self
    }
}

/// `json.dumps(s)` of one string (ASCII-escaped, Python's escapes).
pub fn python_json_string(s: &str) -> String {
    let mut out = String::new();
    write_str(&mut out, s);
    out
}

/// `json.dumps(value)` of any JSON value, objects in their stored order (Python's default
/// `", "`/`": "` separators and ASCII escaping): how botocore's `JSONFileCache` writes the
/// SSO and login token files.
pub fn python_dumps(value: &serde_json::Value) -> String {
    let mut out = String::new();
    write_value(&mut out, value);
    out
}

fn write_value(out: &mut String, value: &serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_str(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(out, v);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_str(out, k);
                out.push_str(": ");
                write_value(out, v);
            }
            out.push('}');
        }
    }
}

fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (c as u32) > 0x7e => {
                let mut buf = [0u16; 2];
                for unit in c.encode_utf16(&mut buf) {
                    out.push_str(&format!("\\u{unit:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn sha1_hex(text: &str) -> String {
    hex::encode(Sha1::digest(text.as_bytes()))
}

/// The AssumeRole / AssumeRoleWithWebIdentity parameters that make up a cache key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleKeyParams {
    /// `RoleArn`.
    pub role_arn: String,
    /// `RoleSessionName` only when configured (a generated name is left out).
    pub role_session_name: Option<String>,
    /// `ExternalId`.
    pub external_id: Option<String>,
    /// `SerialNumber`.
    pub serial_number: Option<String>,
    /// `DurationSeconds`.
    pub duration_seconds: Option<i64>,
}

/// SHA-1 hex of `json` with sorted keys, `", "`/`": "` separators (the CLI's cache key
/// scheme), made safe for a file name.
pub fn sha1_key(json: &PyJson) -> String {
    file_safe(sha1_hex(&json.clone().sorted().dumps()))
}

/// SHA-1 hex of the sorted `", "`/`": "` JSON of the configured parameters.
pub fn role_cache_key(p: &RoleKeyParams) -> String {
    let mut items = vec![("RoleArn".to_string(), PyJson::Str(p.role_arn.clone()))];
    if let Some(v) = &p.role_session_name {
        items.push(("RoleSessionName".into(), PyJson::Str(v.clone())));
    }
    if let Some(v) = &p.external_id {
        items.push(("ExternalId".into(), PyJson::Str(v.clone())));
    }
    if let Some(v) = &p.serial_number {
        items.push(("SerialNumber".into(), PyJson::Str(v.clone())));
    }
    if let Some(v) = p.duration_seconds {
        items.push(("DurationSeconds".into(), PyJson::Int(v)));
    }
    file_safe(sha1_hex(&PyJson::Obj(items).sorted().dumps()))
}

/// v2's SSO role-credential key: SHA-1 of the compact sorted JSON of account, role and the
/// session name (sso-session shape) or start URL (legacy shape).
pub fn sso_cache_key(
    account_id: &str,
    role_name: &str,
    session_name: Option<&str>,
    start_url: &str,
) -> String {
    let mut items = vec![
        ("accountId".to_string(), PyJson::Str(account_id.into())),
        ("roleName".to_string(), PyJson::Str(role_name.into())),
    ];
    match session_name {
        Some(s) => items.push(("sessionName".into(), PyJson::Str(s.into()))),
        None => items.push(("startUrl".into(), PyJson::Str(start_url.into()))),
    }
    file_safe(sha1_hex(&PyJson::Obj(items).sorted().dumps_compact()))
}

/// SHA-1 hex of `text` (SSO token cache file names).
pub fn sso_token_key(session_or_start_url: &str) -> String {
    sha1_hex(session_or_start_url)
}

fn file_safe(key: String) -> String {
    key.replace([':', '/', '\\'], "_")
}

/// A directory of `<key>.json` files.
#[derive(Clone, Debug)]
pub struct JsonFileCache {
    dir: PathBuf,
}

/// What a cache lookup found.
#[derive(Debug)]
pub enum Lookup {
    /// A usable entry.
    Hit(Credentials),
    /// No file, or an entry with less than the window left.
    Miss,
    /// A file that cannot be used (names the file and why); treated as a miss and overwritten.
    Corrupt(String),
}

impl JsonFileCache {
    /// A cache in `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> JsonFileCache {
        JsonFileCache { dir: dir.into() }
    }

    /// The file of `key`.
    pub fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.json"))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Reads the entry `key` as credentials of `method`, usable only with at least
    /// [`CACHE_WINDOW_SECS`] left at `now`.
    pub fn lookup(&self, key: &str, method: &'static str, now: OffsetDateTime) -> Lookup {
        let path = self.path(key);
        let Ok(bytes) = std::fs::read(&path) else {
            return Lookup::Miss;
        };
        match parse_entry(&bytes, method) {
            Ok(c) => {
                if c.refresh_needed(now, CACHE_WINDOW_SECS) {
                    Lookup::Miss
                } else {
                    Lookup::Hit(c)
                }
            }
            Err(why) => Lookup::Corrupt(format!("{}: {why}", path.display())),
        }
    }

    /// The credentials of entry `key` (as `method`) when usable now; a missing, stale or
    /// unreadable entry (the CLI may be writing it in place) is `None`.
    pub fn fresh(&self, key: &str, method: &'static str) -> Option<Credentials> {
        match self.lookup(key, method, crate::time::now()) {
            Lookup::Hit(c) => Some(c),
            Lookup::Miss => None,
            Lookup::Corrupt(why) => {
                tracing::warn!("ignoring unusable credential cache entry {why}");
                None
            }
        }
    }

    /// Entry `key` if it is usable, else `refresh` (which stores it) under the entry's
    /// cross-process single flight ([`crate::single_flight`]), others waiting at most `wait`.
    pub fn single_flight(
        &self,
        key: &str,
        method: &'static str,
        wait: std::time::Duration,
        refresh: impl FnOnce() -> Result<Credentials, CredentialsError>,
    ) -> Result<Credentials, CredentialsError> {
        crate::single_flight::run(&self.path(key), wait, || self.fresh(key, method), refresh)
    }

    /// Writes `entry` (one line, no trailing newline) to `key`'s file atomically, mode 0600.
    pub fn store(&self, key: &str, entry: &PyJson) -> Result<(), CredentialsError> {
        awsid_profile::atomic::write_atomic(&self.path(key), entry.dumps().as_bytes(), 0o600)
            .map_err(|e| CredentialsError::file_write("credential cache file", e))
    }
}

/// What [`JsonFileCache::inspect`] found in one entry (never the credentials themselves).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// No file.
    Absent,
    /// Usable: at least [`CACHE_WINDOW_SECS`] left.
    Fresh,
    /// Still valid but inside the window: the next use calls the service again.
    Expiring,
    /// Past its expiration.
    Expired,
    /// Not a usable entry (why); the next use overwrites it.
    Unusable(String),
}

/// One cache entry as seen by [`JsonFileCache::inspect`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryInfo {
    /// The entry's file.
    pub path: PathBuf,
    /// Its state at the time of inspection.
    pub state: EntryState,
    /// The cached credentials' expiration, when the entry has a readable one.
    pub expiration: Option<OffsetDateTime>,
}

impl JsonFileCache {
    /// Reads entry `key` without using it: whether a lookup at `now` would hit, and when the
    /// cached credentials expire (no secret leaves this function).
    pub fn inspect(&self, key: &str, now: OffsetDateTime) -> EntryInfo {
        let path = self.path(key);
        let (state, expiration) = match std::fs::read(&path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (EntryState::Absent, None),
            Err(e) => (EntryState::Unusable(format!("cannot be read ({e})")), None),
            Ok(bytes) => match parse_entry(&bytes, "assume-role") {
                Err(why) => (EntryState::Unusable(why), None),
                Ok(c) => {
                    let state = match c.seconds_remaining(now) {
                        Some(left) if left <= 0.0 => EntryState::Expired,
                        Some(left) if left < CACHE_WINDOW_SECS as f64 => EntryState::Expiring,
                        _ => EntryState::Fresh,
                    };
                    (state, c.expiry)
                }
            },
        };
        EntryInfo {
            path,
            state,
            expiration,
        }
    }
}

/// Reads a cache entry's bytes as credentials of `method`; the error says what is wrong
/// without quoting the entry (it holds secrets).
pub fn parse_entry(bytes: &[u8], method: &'static str) -> Result<Credentials, String> {
    let json: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON ({e})"))?;
    let creds = json
        .get("Credentials")
        .ok_or_else(|| "no Credentials object".to_string())?;
    let field = |k: &str| creds.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let need = |k: &str| field(k).ok_or_else(|| format!("Credentials.{k} is missing"));
    let expiry = crate::time::parse(&need("Expiration")?).map_err(|e| e.to_string())?;
    Ok(
        Credentials::new(need("AccessKeyId")?, need("SecretAccessKey")?, method)
            .with_session_token(Some(need("SessionToken")?))
            .with_expiry(Some(expiry))
            .with_account_id(field("AccountId")),
    )
}

/// The cache entry for credentials obtained from STS (the CLI's shape: the parsed response
/// with `Credentials.AccountId` added; `Expiration` in the v2 `+00:00` form).
pub fn sts_entry(
    c: &Credentials,
    assumed_role_id: Option<&str>,
    arn: Option<&str>,
    request_id: Option<&str>,
) -> PyJson {
    let mut creds = vec![
        (
            "AccessKeyId".to_string(),
            PyJson::Str(c.access_key_id.clone()),
        ),
        (
            "SecretAccessKey".to_string(),
            PyJson::Str(c.secret_access_key.expose().to_string()),
        ),
        (
            "SessionToken".to_string(),
            PyJson::Str(
                c.session_token
                    .as_ref()
                    .map(|t| t.expose().to_string())
                    .unwrap_or_default(),
            ),
        ),
    ];
    if let Some(e) = c.expiry {
        creds.push(("Expiration".into(), PyJson::Str(crate::time::format_iso(e))));
    }
    if let Some(a) = &c.account_id {
        creds.push(("AccountId".into(), PyJson::Str(a.clone())));
    }
    let mut top = vec![("Credentials".to_string(), PyJson::Obj(creds))];
    if let (Some(id), Some(arn)) = (assumed_role_id, arn) {
        top.push((
            "AssumedRoleUser".into(),
            PyJson::Obj(vec![
                ("AssumedRoleId".into(), PyJson::Str(id.into())),
                ("Arn".into(), PyJson::Str(arn.into())),
            ]),
        ));
    }
    if let Some(r) = request_id {
        top.push((
            "ResponseMetadata".into(),
            PyJson::Obj(vec![("RequestId".into(), PyJson::Str(r.into()))]),
        ));
    }
    PyJson::Obj(top)
}

/// v2's SSO credential cache entry.
pub fn sso_entry(c: &Credentials) -> PyJson {
    let mut entry = sts_entry(c, None, None, None);
    if let PyJson::Obj(items) = &mut entry {
        if let Some((_, PyJson::Obj(creds))) = items.first_mut() {
            for (k, v) in creds.iter_mut() {
                if k == "Expiration" {
                    *v = PyJson::Str(crate::time::format_z(
                        c.expiry.unwrap_or(crate::time::now()),
                    ));
                }
            }
        }
        items.insert(0, ("ProviderType".into(), PyJson::Str("sso".into())));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(arn: &str) -> RoleKeyParams {
        RoleKeyParams {
            role_arn: arn.into(),
            ..Default::default()
        }
    }

    #[test]
    fn role_key_vectors() {
        // docs/spec/assume-role.md §6.2, verified against files the CLI wrote.
        assert_eq!(
            role_cache_key(&key("arn:aws:iam::123456789012:role/myrole")),
            "f995d6dcb70933807ce01b82b84c00a92ad7bbd1"
        );
        assert_eq!(
            role_cache_key(&RoleKeyParams {
                role_arn: "arn:aws:iam::123456789012:role/myrole".into(),
                role_session_name: Some("mysess".into()),
                external_id: Some("ext-1".into()),
                duration_seconds: Some(1800),
                serial_number: None,
            }),
            "4b997ebed5cd9a9a1e9db04b1deccbf2952c8c67"
        );
        assert_eq!(
            role_cache_key(&RoleKeyParams {
                role_arn: "arn:aws:iam::123456789012:role/mfarole".into(),
                serial_number: Some("arn:aws:iam::123456789012:mfa/user".into()),
                ..Default::default()
            }),
            "4eb041a6feaa9342e5ae23291fbf98c1939f4cc6"
        );
        assert_eq!(
            role_cache_key(&key("arn:aws:iam::210987654321:role/second")),
            "f25d0afae4331090e6d01a5e62156b9d051c7895"
        );
        assert_eq!(
            role_cache_key(&key("arn:aws:iam::123456789012:role/webrole")),
            "c24255179c195b11f9a17672ae05d29ebf3fa3ca"
        );
        assert_eq!(
            role_cache_key(&RoleKeyParams {
                role_arn: "arn:aws:iam::123456789012:role/webrole".into(),
                role_session_name: Some("podsess".into()),
                ..Default::default()
            }),
            "b7e7a17c164b87d46b485ecfc51672066930426d"
        );
    }

    #[test]
    fn sso_key_vectors() {
        assert_eq!(
            sso_cache_key(
                "123456789012",
                "ReadOnly",
                None,
                "https://my-sso-portal.awsapps.com/start"
            ),
            "107af63d78e24f5ce0fbb60ccb8244f20f6e19e6"
        );
        assert_eq!(
            sso_cache_key("123456789012", "Admin", Some("my-sso"), "ignored"),
            "c30b99aca80d8f5b3178e353f05b2abcc9a4ccd3"
        );
        assert_eq!(
            sso_token_key("my-sso"),
            "0ad374308c5a4e22f723adf10145eafad7c4031c"
        );
        assert_eq!(
            sso_token_key("https://my-sso-portal.awsapps.com/start"),
            "c7aaaf71fcc8777ae2475525ed049d39fe16c484"
        );
    }

    #[test]
    fn python_json_escaping() {
        let v = PyJson::Obj(vec![
            ("b".into(), PyJson::Str("é\u{1F600}\"\\\n\u{1}".into())),
            ("a".into(), PyJson::Int(5)),
        ])
        .sorted();
        assert_eq!(
            v.dumps(),
            r#"{"a": 5, "b": "\u00e9\ud83d\ude00\"\\\n\u0001"}"#
        );
    }

    #[test]
    fn reads_all_expiration_forms_and_window() {
        let dir = tempfile::tempdir().unwrap();
        let cache = JsonFileCache::new(dir.path());
        let now = crate::time::parse("2030-01-01T00:00:00Z").unwrap();
        for exp in [
            "2099-01-01T00:00:00Z",
            "2099-01-01T00:00:00+00:00",
            "2099-01-01T00:00:00UTC",
        ] {
            std::fs::write(
                cache.path("k"),
                format!(r#"{{"Credentials": {{"AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "{exp}"}}}}"#),
            )
            .unwrap();
            assert!(
                matches!(cache.lookup("k", "assume-role", now), Lookup::Hit(_)),
                "{exp}"
            );
        }
        let write_left = |secs: i64| {
            let exp = crate::time::format_z(now + time::Duration::seconds(secs));
            std::fs::write(
                cache.path("k"),
                format!(r#"{{"Credentials": {{"AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "{exp}"}}}}"#),
            )
            .unwrap();
        };
        write_left(16 * 60);
        assert!(matches!(
            cache.lookup("k", "assume-role", now),
            Lookup::Hit(_)
        ));
        write_left(14 * 60);
        assert!(matches!(
            cache.lookup("k", "assume-role", now),
            Lookup::Miss
        ));
        std::fs::write(cache.path("k"), "{not json").unwrap();
        match cache.lookup("k", "assume-role", now) {
            Lookup::Corrupt(why) => assert!(why.contains("k.json"), "{why}"),
            other => panic!("{other:?}"),
        }
        std::fs::write(cache.path("k"), r#"{"Credentials": {"AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T", "Expiration": "2099-01-01T00:00:00"}}"#).unwrap();
        assert!(matches!(
            cache.lookup("k", "assume-role", now),
            Lookup::Corrupt(_)
        ));
        assert!(matches!(
            cache.lookup("absent", "assume-role", now),
            Lookup::Miss
        ));
    }

    #[test]
    fn entry_shape() {
        let c = Credentials::new("ASIA1", "sec", "assume-role")
            .with_session_token(Some("tok".into()))
            .with_expiry(Some(crate::time::parse("2026-11-23T07:48:59Z").unwrap()))
            .with_account_id(Some("123456789012".into()));
        assert_eq!(
            sts_entry(
                &c,
                Some("AROA:s"),
                Some("arn:aws:sts::123456789012:assumed-role/r/s"),
                None
            )
            .dumps(),
            r#"{"Credentials": {"AccessKeyId": "ASIA1", "SecretAccessKey": "sec", "SessionToken": "tok", "Expiration": "2026-11-23T07:48:59+00:00", "AccountId": "123456789012"}, "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::123456789012:assumed-role/r/s"}}"#
        );
    }
}
