//! The `env` provider (`docs/spec/chain.md` §3.1).

use awsid_profile::Env;

use crate::{Credentials, CredentialsError, Provider};

/// Reads `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SECURITY_TOKEN` /
/// `AWS_SESSION_TOKEN`, `AWS_CREDENTIAL_EXPIRATION` and `AWS_ACCOUNT_ID` from a snapshot.
#[derive(Clone, Debug)]
pub struct EnvProvider {
    env: Env,
}

impl EnvProvider {
    /// A provider over `env`.
    pub fn new(env: Env) -> EnvProvider {
        EnvProvider { env }
    }
}

impl Provider for EnvProvider {
    fn method(&self) -> &'static str {
        "env"
    }

    fn provide(&self) -> Result<Option<Credentials>, CredentialsError> {
        let Some(akid) = self.env.get_non_empty("AWS_ACCESS_KEY_ID") else {
            return Ok(None);
        };
        let Some(secret) = self.env.get_non_empty("AWS_SECRET_ACCESS_KEY") else {
            return Err(CredentialsError::partial("env", "AWS_SECRET_ACCESS_KEY"));
        };
        let token = self
            .env
            .get_non_empty("AWS_SECURITY_TOKEN")
            .or_else(|| self.env.get_non_empty("AWS_SESSION_TOKEN"));
        let expiry =
            match self.env.get_non_empty("AWS_CREDENTIAL_EXPIRATION") {
                Some(text) => Some(crate::time::parse(text).map_err(|e| {
                    CredentialsError::InvalidSetting {
                        setting: "AWS_CREDENTIAL_EXPIRATION".into(),
                        message: e.to_string(),
                    }
                })?),
                None => None,
            };
        Ok(Some(
            Credentials::new(akid, secret, "env")
                .with_session_token(token.map(str::to_string))
                .with_expiry(expiry)
                .with_account_id(self.env.get_non_empty("AWS_ACCOUNT_ID").map(str::to_string)),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_token_beats_session_token_and_empty_is_skipped() {
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_SECURITY_TOKEN", "old"),
            ("AWS_SESSION_TOKEN", "new"),
        ]);
        let c = EnvProvider::new(env.clone()).provide().unwrap().unwrap();
        assert_eq!(c.session_token.unwrap().expose(), "old");
        let c = EnvProvider::new(env.with("AWS_SECURITY_TOKEN", ""))
            .provide()
            .unwrap()
            .unwrap();
        assert_eq!(c.session_token.unwrap().expose(), "new");
    }

    #[test]
    fn partial_and_absent() {
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "")]);
        assert_eq!(
            EnvProvider::new(env).provide().unwrap_err().to_string(),
            "Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY"
        );
        let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", "S")]);
        assert!(EnvProvider::new(env).provide().unwrap().is_none());
    }

    #[test]
    fn expiration_and_account() {
        let env = Env::from_pairs([
            ("AWS_ACCESS_KEY_ID", "A"),
            ("AWS_SECRET_ACCESS_KEY", "S"),
            ("AWS_CREDENTIAL_EXPIRATION", "2099-01-01T00:00:00Z"),
            ("AWS_ACCOUNT_ID", "123456789012"),
        ]);
        let c = EnvProvider::new(env.clone()).provide().unwrap().unwrap();
        assert_eq!(c.expiry.unwrap().year(), 2099);
        assert_eq!(c.account_id.as_deref(), Some("123456789012"));
        let e = EnvProvider::new(env.with("AWS_CREDENTIAL_EXPIRATION", "garbage"))
            .provide()
            .unwrap_err();
        assert!(e.to_string().contains("AWS_CREDENTIAL_EXPIRATION"));
        assert!(e.to_string().contains("Unknown string format: garbage"));
    }
}
