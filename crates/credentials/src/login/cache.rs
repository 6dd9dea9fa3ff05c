//! The login token cache: `~/.aws/login/cache/<sha256 of the session ARN>.json`, or
//! `AWS_LOGIN_CACHE_DIRECTORY`, one JSON object per login session in the layout `aws login`
//! writes (`docs/spec/login.md` §2).

use std::fmt;
use std::path::{Path, PathBuf};

use awsid_profile::Env;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::LoginError;
use crate::{Credentials, CredentialsError, Secret};

/// Overrides the cache directory (`$VAR` and `~` are expanded, as v2 does).
pub const CACHE_DIR_VARIABLE: &str = "AWS_LOGIN_CACHE_DIRECTORY";

/// The fields a usable token must have (v2 `LoginCredentialFetcher.load_cached_credentials`).
const REQUIRED: [&str; 4] = ["accessToken", "refreshToken", "dpopKey", "clientId"];

/// v2's `get_login_token_cache_directory`: [`CACHE_DIR_VARIABLE`] when set (even empty: the
/// current directory), else `~/.aws/login/cache`; `None` when `~` cannot be expanded.
pub fn cache_dir(env: &Env) -> Option<PathBuf> {
    use awsid_profile::location::{expand_user, expand_vars};
    let raw = match env.get(CACHE_DIR_VARIABLE) {
        Some(v) => expand_user(&expand_vars(v, env), env),
        None => expand_user("~/.aws/login/cache", env),
    };
    (!raw.starts_with('~')).then(|| PathBuf::from(raw))
}

/// The file name stem of a session: lowercase hex SHA-256 of the session ARN.
pub fn cache_key(session: &str) -> String {
    hex::encode(Sha256::digest(session.as_bytes()))
}

/// A directory of login token files.
#[derive(Clone, Debug)]
pub struct LoginCache {
    dir: PathBuf,
}

impl LoginCache {
    /// The cache in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> LoginCache {
        LoginCache { dir: dir.into() }
    }

    /// The cache of [`cache_dir`].
    pub fn from_env(env: &Env) -> Option<LoginCache> {
        cache_dir(env).map(LoginCache::new)
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The token file of `session`.
    pub fn path(&self, session: &str) -> PathBuf {
        self.dir.join(format!("{}.json", cache_key(session)))
    }

    /// The token of `session`: `None` when there is no file. A file that is not a JSON object
    /// is an error naming it (v2 fails with a bare `KeyError`).
    pub fn load(&self, session: &str) -> Result<Option<LoginToken>, LoginError> {
        let path = self.path(session);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => {
                return Err(LoginError::TokenLoad(format!(
                    "Unable to read {}: {e}",
                    path.display()
                )))
            }
        };
        LoginToken::parse(&bytes)
            .map(Some)
            .map_err(|why| LoginError::TokenLoad(format!("{}: {why}", path.display())))
    }

    /// Writes `token` for `session`: the whole file replaced atomically, mode 0600, in
    /// Python's `json.dumps` form (the CLI writes the file in place; readers never see half
    /// of ours).
    pub fn save(&self, session: &str, token: &LoginToken) -> Result<PathBuf, CredentialsError> {
        let path = self.path(session);
        awsid_profile::atomic::write_atomic(&path, token.dumps().as_bytes(), 0o600)
            .map_err(|e| CredentialsError::file_write("login token cache file", e))?;
        Ok(path)
    }

    /// The token files in the directory whose `accessToken` is an object with an
    /// `accessKeyId` (v2 `LoginTokenSweeper._should_delete`), in name order.
    pub fn tokens(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                std::fs::read(p)
                    .ok()
                    .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                    .is_some_and(|v| v["accessToken"].get("accessKeyId").is_some())
            })
            .collect();
        found.sort();
        found
    }
}

/// One cached login token: the JSON object as the CLI wrote it, fields kept in order (unknown
/// ones too). `Debug` shows no secret.
#[derive(Clone, PartialEq)]
pub struct LoginToken(Map<String, Value>);

impl fmt::Debug for LoginToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginToken")
            .field("fields", &self.0.keys().collect::<Vec<_>>())
            .field("expires_at", &self.expires_at_text())
            .finish()
    }
}

impl LoginToken {
    /// Reads a token file's bytes; the error says what is wrong without quoting the file.
    pub fn parse(bytes: &[u8]) -> Result<LoginToken, String> {
        match serde_json::from_slice::<Value>(bytes) {
            Ok(Value::Object(map)) => Ok(LoginToken(map)),
            Ok(_) => Err("not a JSON object".into()),
            Err(e) => Err(format!("not valid JSON ({e})")),
        }
    }

    /// A token from a successful code exchange, in the field order `aws login` writes
    /// (`BaseLoginTokenFetcher._exchange_auth_code_for_access_token`).
    pub fn from_exchange(parts: TokenParts<'_>) -> LoginToken {
        let mut map = Map::new();
        map.insert("accessToken".into(), parts.access_token());
        map.insert("tokenType".into(), parts.token_type.into());
        map.insert("clientId".into(), parts.client_id.into());
        map.insert("refreshToken".into(), parts.refresh_token.into());
        map.insert("idToken".into(), parts.id_token.into());
        map.insert("dpopKey".into(), parts.dpop_key_pem.into());
        LoginToken(map)
    }

    /// The required fields this token lacks (`accessToken`, `refreshToken`, `dpopKey`,
    /// `clientId`), in that order.
    pub fn missing_fields(&self) -> Vec<&'static str> {
        REQUIRED
            .into_iter()
            .filter(|k| !self.0.contains_key(*k))
            .collect()
    }

    fn text(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(Value::as_str)
    }

    fn access(&self, key: &str) -> Option<&str> {
        self.0.get("accessToken")?.get(key)?.as_str()
    }

    /// `clientId`.
    pub fn client_id(&self) -> Option<&str> {
        self.text("clientId")
    }

    /// `refreshToken` (a secret: never log it).
    pub fn refresh_token(&self) -> Option<&str> {
        self.text("refreshToken")
    }

    /// `dpopKey`, the SEC1 PEM of the session's key (a secret).
    pub fn dpop_key_pem(&self) -> Option<&str> {
        self.text("dpopKey")
    }

    /// `accessToken.accountId`.
    pub fn account_id(&self) -> Option<&str> {
        self.access("accountId")
    }

    fn expires_at_text(&self) -> Option<&str> {
        self.access("expiresAt")
    }

    /// `accessToken.expiresAt`, parsed (`None` when absent or unreadable).
    pub fn expires_at(&self) -> Option<OffsetDateTime> {
        crate::time::parse(self.expires_at_text()?).ok()
    }

    /// The credentials of `accessToken` (method `login`); an incomplete or unreadable access
    /// token is a load error naming what is wrong.
    pub fn credentials(&self) -> Result<Credentials, LoginError> {
        let field = |k: &'static str| {
            self.access(k).ok_or_else(|| {
                LoginError::TokenLoad(format!(
                    "Failed to load access token from token cache, accessToken has no {k}."
                ))
            })
        };
        let expires_text = field("expiresAt")?;
        let expiry = crate::time::parse(expires_text).map_err(|e| {
            LoginError::TokenLoad(format!(
                "Failed to load access token from token cache, accessToken.expiresAt: {e}"
            ))
        })?;
        Ok(Credentials {
            access_key_id: field("accessKeyId")?.to_string(),
            secret_access_key: Secret::new(field("secretAccessKey")?),
            session_token: Some(Secret::new(field("sessionToken")?)),
            expiry: Some(expiry),
            account_id: self.account_id().map(str::to_string),
            method: "login",
        })
    }

    /// Applies a refresh answer as v2 does: `accessToken` replaced (the old `accountId`
    /// kept, `expiresAt` = `now` + `expiresIn`) and `refreshToken` rotated; every other field,
    /// and the field order, unchanged.
    pub fn apply_refresh(
        &mut self,
        access: &AccessTokenOutput<'_>,
        refresh_token: &str,
        now: OffsetDateTime,
    ) {
        let account = self.account_id().unwrap_or_default().to_string();
        let parts = TokenParts {
            access_key_id: access.access_key_id,
            secret_access_key: access.secret_access_key,
            session_token: access.session_token,
            account_id: &account,
            expires_at: now + time::Duration::seconds(access.expires_in),
            token_type: "",
            client_id: "",
            refresh_token: "",
            id_token: "",
            dpop_key_pem: "",
        };
        self.0.insert("accessToken".into(), parts.access_token());
        self.0
            .insert("refreshToken".into(), refresh_token.to_string().into());
    }

    /// The file text: Python's `json.dumps` of the object.
    pub fn dumps(&self) -> String {
        crate::cache::python_dumps(&Value::Object(self.0.clone()))
    }
}

/// The access-token half of a `CreateOAuth2Token` answer.
#[derive(Clone, Copy)]
pub struct AccessTokenOutput<'a> {
    /// `accessToken.accessKeyId`.
    pub access_key_id: &'a str,
    /// `accessToken.secretAccessKey`.
    pub secret_access_key: &'a str,
    /// `accessToken.sessionToken`.
    pub session_token: &'a str,
    /// `expiresIn` (seconds).
    pub expires_in: i64,
}

/// Everything a freshly exchanged token file holds.
#[derive(Clone, Copy)]
pub struct TokenParts<'a> {
    /// `accessKeyId`.
    pub access_key_id: &'a str,
    /// `secretAccessKey`.
    pub secret_access_key: &'a str,
    /// `sessionToken`.
    pub session_token: &'a str,
    /// The account of the session ARN.
    pub account_id: &'a str,
    /// When the access token expires.
    pub expires_at: OffsetDateTime,
    /// `tokenType` (`aws_sigv4`).
    pub token_type: &'a str,
    /// The client id the login used.
    pub client_id: &'a str,
    /// `refreshToken`.
    pub refresh_token: &'a str,
    /// `idToken` (the JWT naming the session).
    pub id_token: &'a str,
    /// The DPoP key, SEC1 PEM.
    pub dpop_key_pem: &'a str,
}

impl TokenParts<'_> {
    fn access_token(&self) -> Value {
        let mut access = Map::new();
        access.insert("accessKeyId".into(), self.access_key_id.into());
        access.insert("secretAccessKey".into(), self.secret_access_key.into());
        access.insert("sessionToken".into(), self.session_token.into());
        access.insert("accountId".into(), self.account_id.into());
        access.insert(
            "expiresAt".into(),
            crate::time::format_z(self.expires_at).into(),
        );
        Value::Object(access)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_and_directory() {
        // docs/spec/login.md §2: the upstream vectors' file name.
        assert_eq!(
            cache_key("arn:aws:sts::012345678910:assumed-role/Admin/admin"),
            "4b0ba8f99f075c0633e122fd73346ce203a3faf18ea0310eb2d29df1bab2e255"
        );
        let env = Env::from_pairs([("HOME", "/home/u")]);
        assert_eq!(
            cache_dir(&env),
            Some(PathBuf::from("/home/u/.aws/login/cache"))
        );
        let env = Env::from_pairs([
            ("HOME", "/home/u"),
            ("X", "/x"),
            (CACHE_DIR_VARIABLE, "$X/~/c"),
        ]);
        assert_eq!(cache_dir(&env), Some(PathBuf::from("/x/~/c")));
        let env = Env::from_pairs([("HOME", "/home/u"), (CACHE_DIR_VARIABLE, "~/c")]);
        assert_eq!(cache_dir(&env), Some(PathBuf::from("/home/u/c")));
    }

    #[test]
    fn refresh_keeps_order_and_unknown_fields() {
        let text = r#"{"accessToken": {"accessKeyId": "A", "secretAccessKey": "S", "sessionToken": "T", "accountId": "012345678901", "expiresAt": "2020-01-01T00:00:00Z"}, "clientId": "c", "refreshToken": "r", "extra": [1, true, null], "dpopKey": "k"}"#;
        let mut t = LoginToken::parse(text.as_bytes()).unwrap();
        assert_eq!(t.dumps(), text, "round trip is byte for byte");
        assert!(t.missing_fields().is_empty());
        let now = crate::time::parse("2025-11-19T00:00:00Z").unwrap();
        t.apply_refresh(
            &AccessTokenOutput {
                access_key_id: "N",
                secret_access_key: "NS",
                session_token: "NT",
                expires_in: 900,
            },
            "r2",
            now,
        );
        assert_eq!(
            t.dumps(),
            r#"{"accessToken": {"accessKeyId": "N", "secretAccessKey": "NS", "sessionToken": "NT", "accountId": "012345678901", "expiresAt": "2025-11-19T00:15:00Z"}, "clientId": "c", "refreshToken": "r2", "extra": [1, true, null], "dpopKey": "k"}"#
        );
        let c = t.credentials().unwrap();
        assert_eq!((c.access_key_id.as_str(), c.method), ("N", "login"));
        assert!(!format!("{t:?}").contains("NS"), "Debug shows no secret");
    }

    #[test]
    fn problems_are_named() {
        let t = LoginToken::parse(br#"{"clientId": "c"}"#).unwrap();
        assert_eq!(
            t.missing_fields(),
            ["accessToken", "refreshToken", "dpopKey"]
        );
        assert!(LoginToken::parse(b"[]").is_err());
        let dir = tempfile::tempdir().unwrap();
        let cache = LoginCache::new(dir.path());
        assert!(cache.load("s").unwrap().is_none());
        std::fs::write(cache.path("s"), "{").unwrap();
        let e = cache.load("s").unwrap_err().to_string();
        assert!(
            e.contains(&cache_key("s")) && e.contains("not valid JSON"),
            "{e}"
        );
    }
}
