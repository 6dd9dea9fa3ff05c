//! The credentials value: keys, optional token, expiry, account id and the provider that made it.

use std::fmt;

use time::OffsetDateTime;
use zeroize::Zeroize;

/// A secret string (secret access key, session token) that is zeroed on drop and never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret text; callers must not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl From<&str> for Secret {
    fn from(s: &str) -> Secret {
        Secret::new(s)
    }
}

impl From<String> for Secret {
    fn from(s: String) -> Secret {
        Secret::new(s)
    }
}

/// A set of AWS credentials and where they came from; `Debug`/`Display` redact the secret and
/// the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The access key id (not secret).
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: Secret,
    /// The session token of temporary credentials.
    pub session_token: Option<Secret>,
    /// When temporary credentials expire (UTC); `None` for long-term credentials.
    pub expiry: Option<OffsetDateTime>,
    /// The account the credentials belong to, when a provider knows it.
    pub account_id: Option<String>,
    /// The provider's method name as the reference prints it (`env`, `assume-role`, `iam-role`…).
    pub method: &'static str,
}

impl Credentials {
    /// Long-term credentials without token or expiry.
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<String>,
        method: &'static str,
    ) -> Credentials {
        Credentials {
            access_key_id: access_key_id.into(),
            secret_access_key: Secret::new(secret_access_key),
            session_token: None,
            expiry: None,
            account_id: None,
            method,
        }
    }

    /// The same credentials with a session token.
    pub fn with_session_token(mut self, token: Option<String>) -> Credentials {
        self.session_token = token.map(Secret::new);
        self
    }

    /// The same credentials with an expiry.
    pub fn with_expiry(mut self, expiry: Option<OffsetDateTime>) -> Credentials {
        self.expiry = expiry;
        self
    }

    /// The same credentials with an account id.
    pub fn with_account_id(mut self, account_id: Option<String>) -> Credentials {
        self.account_id = account_id;
        self
    }

    /// Seconds left until expiry at `now` (negative when expired); `None` without an expiry.
    pub fn seconds_remaining(&self, now: OffsetDateTime) -> Option<f64> {
        self.expiry.map(|e| (e - now).as_seconds_f64())
    }

    /// Whether a refresh is due at `now` with `window` seconds of margin (the reference's
    /// `refresh_needed`: remaining < window). Credentials without expiry never need one.
    pub fn refresh_needed(&self, now: OffsetDateTime, window: i64) -> bool {
        match self.seconds_remaining(now) {
            Some(left) => left < window as f64,
            None => false,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("expiry", &self.expiry.map(crate::time::format_iso))
            .field("account_id", &self.account_id)
            .field("method", &self.method)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} credentials {} (secret redacted{})",
            self.method,
            self.access_key_id,
            if self.session_token.is_some() {
                ", token redacted"
            } else {
                ""
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_redact_secret_and_token() {
        let c = Credentials::new("AKIDEXAMPLE", "SECRETVALUE123", "env")
            .with_session_token(Some("TOKENVALUE456".into()));
        for text in [format!("{c:?}"), format!("{c}"), format!("{c:#?}")] {
            assert!(text.contains("AKIDEXAMPLE"), "{text}");
            assert!(!text.contains("SECRETVALUE123"), "{text}");
            assert!(!text.contains("TOKENVALUE456"), "{text}");
        }
    }

    #[test]
    fn refresh_needed_follows_the_window() {
        let now = OffsetDateTime::from_unix_timestamp(1_000_000).unwrap();
        let c =
            Credentials::new("a", "b", "x").with_expiry(Some(now + time::Duration::seconds(899)));
        assert!(c.refresh_needed(now, 900));
        assert!(!c.refresh_needed(now, 600));
        let c = c.with_expiry(Some(now + time::Duration::seconds(900)));
        assert!(!c.refresh_needed(now, 900));
        assert!(!Credentials::new("a", "b", "x").refresh_needed(now, 900));
    }
}
