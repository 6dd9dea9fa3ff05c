//! The Sign-In grants, sealed by the issuer (AES-GCM, purpose-bound): authorization codes,
//! refresh tokens (bound to a DPoP key), federation sign-in tokens and console sessions. They
//! carry their own expiry; single use is the service's in-memory check.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::issuer::Issuer;

/// What a grant is, which decides its purpose string and its text prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// An authorization code of `/v1/authorize`.
    Code,
    /// A refresh token (`ASOR…`, the service's prefix for them).
    Refresh,
    /// A federation sign-in token.
    SigninToken,
    /// The console session cookie.
    Console,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Code => "code",
            Kind::Refresh => "refresh",
            Kind::SigninToken => "signin-token",
            Kind::Console => "console",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Code => "ASOC",
            Kind::Refresh => "ASOR",
            Kind::SigninToken => "",
            Kind::Console => "",
        }
    }
}

/// Seals `payload` as a grant of `kind`.
pub(crate) fn seal<T: Serialize>(issuer: &Issuer, kind: Kind, payload: &T) -> String {
    let json = serde_json::to_vec(payload).expect("grant payload serializes");
    let sealed = issuer.seal_blob(&format!("signin:{}", kind.tag()), &json);
    format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens a grant of `kind`; `None` for anything else (expiry is the caller's check).
pub(crate) fn open<T: DeserializeOwned>(issuer: &Issuer, kind: Kind, text: &str) -> Option<T> {
    let body = text.strip_prefix(kind.prefix())?;
    if body.len() > 8192 {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
    let json = issuer.open_blob(&format!("signin:{}", kind.tag()), &sealed)?;
    serde_json::from_slice(&json).ok()
}

/// An authorization code: who signed in, for which client, redirect and PKCE challenge.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct AuthCode {
    /// Unique id (single use).
    #[serde(rename = "i")]
    pub(crate) id: String,
    /// The signed-in user's ARN.
    #[serde(rename = "u")]
    pub(crate) user_arn: String,
    /// `client_id`.
    #[serde(rename = "c")]
    pub(crate) client_id: String,
    /// `redirect_uri`.
    #[serde(rename = "r")]
    pub(crate) redirect_uri: String,
    /// `code_challenge` (SHA-256, base64url).
    #[serde(rename = "h")]
    pub(crate) challenge: String,
    /// When the user signed in (epoch seconds): the session starts here.
    #[serde(rename = "a")]
    pub(crate) auth_time: i64,
    /// Whether the sign-in used MFA.
    #[serde(rename = "m", default)]
    pub(crate) mfa: bool,
    /// Expiry.
    #[serde(rename = "e")]
    pub(crate) expires: i64,
}

/// A refresh token: the session, bound to the DPoP key of the exchange.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct RefreshGrant {
    /// Unique id (single use: each refresh rotates it).
    #[serde(rename = "i")]
    pub(crate) id: String,
    /// The session id every token of one login shares.
    #[serde(rename = "s")]
    pub(crate) session: String,
    /// The user's ARN.
    #[serde(rename = "u")]
    pub(crate) user_arn: String,
    /// `client_id`.
    #[serde(rename = "c")]
    pub(crate) client_id: String,
    /// RFC 7638 thumbprint of the bound key (`cnf.jkt`).
    #[serde(rename = "j")]
    pub(crate) jkt: String,
    /// Sign-in time.
    #[serde(rename = "a")]
    pub(crate) auth_time: i64,
    /// Whether the sign-in used MFA.
    #[serde(rename = "m", default)]
    pub(crate) mfa: bool,
    /// When the session ends (no refresh after it).
    #[serde(rename = "e")]
    pub(crate) session_end: i64,
}

/// A federation sign-in token (`getSigninToken`), redeemed once by `Action=login`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct SigninToken {
    /// Unique id (single use).
    #[serde(rename = "i")]
    pub(crate) id: String,
    /// Who signs in.
    #[serde(rename = "p")]
    pub(crate) principal: ConsolePrincipal,
    /// Until when the token may be redeemed.
    #[serde(rename = "e")]
    pub(crate) expires: i64,
    /// When the console session it starts ends.
    #[serde(rename = "se")]
    pub(crate) session_end: i64,
}

/// The console session a federation sign-in starts (the cookie).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct ConsoleSession {
    /// Who signed in.
    #[serde(rename = "p")]
    pub(crate) principal: ConsolePrincipal,
    /// `Issuer` of the login URL.
    #[serde(rename = "is", default)]
    pub(crate) issuer: String,
    /// `Destination` of the login URL.
    #[serde(rename = "d", default)]
    pub(crate) destination: String,
    /// Sign-in time.
    #[serde(rename = "a")]
    pub(crate) signed_in: i64,
    /// Session end.
    #[serde(rename = "e")]
    pub(crate) expires: i64,
}

/// The principal of a console session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct ConsolePrincipal {
    /// The caller ARN (assumed-role session or federated user).
    #[serde(rename = "n")]
    pub(crate) arn: String,
    /// The account.
    #[serde(rename = "a")]
    pub(crate) account: String,
    /// `UserId` as GetCallerIdentity reports it.
    #[serde(rename = "i")]
    pub(crate) user_id: String,
    /// The access key id the sign-in used (not secret).
    #[serde(rename = "k")]
    pub(crate) access_key_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grants_open_only_as_what_they_were_sealed() {
        let issuer = Issuer::new([3u8; 32], &[]);
        let code = AuthCode {
            id: "x".into(),
            user_arn: "arn:aws:iam::1:user/a".into(),
            client_id: "c".into(),
            redirect_uri: "r".into(),
            challenge: "h".into(),
            auth_time: 1,
            mfa: true,
            expires: 2,
        };
        let text = seal(&issuer, Kind::Code, &code);
        assert!(text.starts_with("ASOC"));
        let back: AuthCode = open(&issuer, Kind::Code, &text).unwrap();
        assert_eq!(back.user_arn, code.user_arn);
        // A code is not a refresh token, even with the prefix swapped.
        let swapped = text.replacen("ASOC", "ASOR", 1);
        assert!(open::<RefreshGrant>(&issuer, Kind::Refresh, &swapped).is_none());
        let other = Issuer::new([4u8; 32], &[]);
        assert!(open::<AuthCode>(&other, Kind::Code, &text).is_none());
    }
}
