//! Stateless SSO tokens: client ids and secrets, device codes, authorization codes, access and
//! refresh tokens are sealed by the issuer (AES-256-GCM under the master key, the token kind
//! authenticated as the blob's purpose), so any replica with the same key opens what another
//! sealed, and a restart loses nothing. They are not session tokens: STS never opens them.
//!
//! Wire form: `<prefix>` + base64url(sealed JSON payload).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::issuer::Issuer;

/// What a sealed SSO token is for; also its wire prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A client registration (the `clientId`).
    Client,
    /// The `clientSecret` of a registration.
    Secret,
    /// A device code of StartDeviceAuthorization.
    Device,
    /// An authorization code of the browser (PKCE) flow.
    AuthCode,
    /// An access token (the portal's bearer token).
    Access,
    /// A refresh token.
    Refresh,
}

impl Kind {
    fn tag(self) -> &'static str {
        match self {
            Kind::Client => "client",
            Kind::Secret => "secret",
            Kind::Device => "device",
            Kind::AuthCode => "code",
            Kind::Access => "access",
            Kind::Refresh => "refresh",
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            Kind::Client => "awsidc-",
            Kind::Secret => "awsids-",
            Kind::Device => "awsidd-",
            Kind::AuthCode => "awsidx-",
            Kind::Access => "aoa",
            Kind::Refresh => "aor",
        }
    }
}

/// A client registration, sealed into its `clientId`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// Random id (distinguishes registrations with equal metadata).
    pub id: String,
    /// `clientName`.
    pub name: String,
    /// Registered scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Registered grant types (empty: device code, plus refresh when scopes were given).
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Registered redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// `issuerUrl` (the start URL of the browser flow).
    pub issuer_url: Option<String>,
    /// Issue time, epoch seconds.
    pub issued: i64,
    /// Expiry of the registration, epoch seconds.
    pub expires: i64,
}

/// Grant type names.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
/// The authorization code grant.
pub const CODE_GRANT: &str = "authorization_code";
/// The refresh token grant.
pub const REFRESH_GRANT: &str = "refresh_token";

impl Client {
    /// Whether the registration allows `grant`.
    pub fn allows(&self, grant: &str) -> bool {
        if self.grant_types.is_empty() {
            // Registrations without grant types (the CLI's device flow) get the device grant,
            // and refresh tokens when they registered scopes (sso-session configurations).
            grant == DEVICE_GRANT || (grant == REFRESH_GRANT && !self.scopes.is_empty())
        } else {
            self.grant_types.iter().any(|g| g == grant)
        }
    }
}

/// A client secret: bound to one client id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    /// SHA-256 (hex) of the client id it belongs to.
    pub client: String,
    /// Expiry, epoch seconds.
    pub expires: i64,
}

/// A device code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCode {
    /// Random id; the in-memory approval state is keyed by the user code and checks this.
    pub id: String,
    /// The user code shown to the user.
    pub user_code: String,
    /// SHA-256 (hex) of the client id.
    pub client: String,
    /// The start URL of the instance.
    pub start_url: String,
    /// Expiry, epoch seconds.
    pub expires: i64,
}

/// An authorization code of the browser flow.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthCode {
    /// Random id (single use).
    pub id: String,
    /// SHA-256 (hex) of the client id.
    pub client: String,
    /// The redirect URI of the authorize request (CreateToken must repeat it).
    pub redirect_uri: String,
    /// The PKCE S256 challenge.
    pub challenge: String,
    /// The start URL of the instance.
    pub start_url: String,
    /// The approving user.
    pub user: String,
    /// Scopes granted.
    pub scopes: Vec<String>,
    /// Expiry, epoch seconds.
    pub expires: i64,
}

/// An access or refresh token: a login session of a user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Grant {
    /// Random id of this token (refresh tokens are single use).
    pub id: String,
    /// The login session: shared by the tokens a refresh derives; logout revokes it.
    pub sid: String,
    /// SHA-256 (hex) of the client id.
    pub client: String,
    /// The start URL of the instance.
    pub start_url: String,
    /// The user name.
    pub user: String,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Issue time, epoch seconds.
    pub issued: i64,
    /// Expiry, epoch seconds.
    pub expires: i64,
}

/// SHA-256 hex of a client id (what other tokens store instead of the long id).
pub fn client_ref(client_id: &str) -> String {
    hex::encode(Sha256::digest(client_id.as_bytes()))
}

/// 16 random bytes, hex.
pub fn random_id() -> String {
    use rand::RngCore;
    let mut b = [0u8; 16];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// Seals `payload` as a token of `kind` (its expiry lives in the payload).
pub fn seal<T: Serialize>(issuer: &Issuer, kind: Kind, payload: &T) -> String {
    let json = serde_json::to_vec(payload).expect("token payload serializes");
    let sealed = issuer.seal_blob(&purpose(kind), &json);
    format!("{}{}", kind.prefix(), URL_SAFE_NO_PAD.encode(sealed))
}

/// Opens a token of `kind`; `None` for anything that is not such a token sealed by a key the
/// issuer holds (expiry is the caller's check: each kind has its own error for it).
pub fn open<T: DeserializeOwned>(issuer: &Issuer, kind: Kind, token: &str) -> Option<T> {
    let body = token.strip_prefix(kind.prefix())?;
    if body.len() > 8192 {
        return None;
    }
    let sealed = URL_SAFE_NO_PAD.decode(body).ok()?;
    let json = issuer.open_blob(&purpose(kind), &sealed)?;
    serde_json::from_slice(&json).ok()
}

fn purpose(kind: Kind) -> String {
    format!("sso:{}", kind.tag())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;

    fn grant() -> Grant {
        Grant {
            id: random_id(),
            sid: random_id(),
            client: client_ref("c"),
            start_url: "https://x.awsapps.com/start".into(),
            user: "alice".into(),
            scopes: vec!["sso:account:access".into()],
            issued: 1,
            expires: 2,
        }
    }

    #[test]
    fn tokens_round_trip_across_replicas_and_keep_their_kind() {
        let a = Issuer::new([9u8; 32], &[]);
        let b = Issuer::new([9u8; 32], &[]);
        let g = grant();
        let t = seal(&a, Kind::Access, &g);
        assert!(t.starts_with("aoa"));
        assert!(t
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(open::<Grant>(&b, Kind::Access, &t), Some(g.clone()));
        // An access token is not a refresh token, even with the prefix swapped.
        let swapped = format!("aor{}", &t[3..]);
        assert_eq!(open::<Grant>(&b, Kind::Refresh, &swapped), None);
        // Another key, a flipped bit, garbage: refused.
        assert_eq!(
            open::<Grant>(&Issuer::new([8u8; 32], &[]), Kind::Access, &t),
            None
        );
        let mut bytes = URL_SAFE_NO_PAD.decode(&t[3..]).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 1;
        let tampered = format!("aoa{}", URL_SAFE_NO_PAD.encode(bytes));
        assert_eq!(open::<Grant>(&b, Kind::Access, &tampered), None);
        assert_eq!(open::<Grant>(&b, Kind::Access, "aoa!!"), None);
        assert_eq!(open::<Grant>(&b, Kind::Access, ""), None);
    }

    #[test]
    fn sealed_tokens_are_not_sts_session_tokens() {
        let issuer = Issuer::new([9u8; 32], &[]);
        let t = seal(&issuer, Kind::Access, &grant());
        let sealed = URL_SAFE_NO_PAD.decode(&t[3..]).unwrap();
        // Whatever access key id it is presented with, it does not open as a session token.
        let as_session = STANDARD.encode(&sealed);
        assert!(issuer.open("ASIAAAAAAAAAAAAAAAAA", &as_session).is_err());
        assert!(issuer.open("", &as_session).is_err());
    }

    #[test]
    fn grant_rules() {
        let mut c = Client {
            id: "x".into(),
            name: "n".into(),
            scopes: vec![],
            grant_types: vec![],
            redirect_uris: vec![],
            issuer_url: None,
            issued: 0,
            expires: 1,
        };
        assert!(c.allows(DEVICE_GRANT));
        assert!(
            !c.allows(REFRESH_GRANT),
            "legacy device clients get no refresh token"
        );
        c.scopes = vec!["sso:account:access".into()];
        assert!(c.allows(REFRESH_GRANT));
        assert!(!c.allows(CODE_GRANT));
        c.grant_types = vec![CODE_GRANT.into(), REFRESH_GRANT.into()];
        assert!(c.allows(CODE_GRANT) && c.allows(REFRESH_GRANT) && !c.allows(DEVICE_GRANT));
    }
}
