//! RS256/RS384/RS512 JSON Web Tokens: verification against an OIDC provider's keys, and
//! minting with a dev provider's private key.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use serde_json::Value;

/// An RSA key of an OIDC provider: public components, and the private key for dev providers.
#[derive(Clone)]
pub struct RsaKey {
    /// Key id (`kid` header).
    pub kid: String,
    n: Vec<u8>,
    e: Vec<u8>,
    private: Option<std::sync::Arc<RsaKeyPair>>,
}

impl std::fmt::Debug for RsaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RsaKey")
            .field("kid", &self.kid)
            .field("has_private_key", &self.private.is_some())
            .finish()
    }
}

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("the token is not a well-formed JWT: {0}")]
    Malformed(String),
    /// `alg` other than RS256/384/512.
    #[error("unsupported signing algorithm {0}")]
    UnsupportedAlgorithm(String),
    /// No key verifies the signature.
    #[error("the token signature is invalid")]
    BadSignature,
}

/// The claims of a verified token that STS uses.
#[derive(Clone, Debug, PartialEq)]
pub struct Claims {
    /// `iss`.
    pub iss: String,
    /// `sub`.
    pub sub: String,
    /// `aud` (one or several).
    pub aud: Vec<String>,
    /// `azp`, if any.
    pub azp: Option<String>,
    /// `amr` values.
    pub amr: Vec<String>,
    /// `exp` (epoch seconds).
    pub exp: Option<i64>,
    /// `nbf`.
    pub nbf: Option<i64>,
    /// `iat`.
    pub iat: Option<i64>,
}

impl RsaKey {
    /// Loads a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_private_pem(kid: &str, pem: &str) -> Result<RsaKey, String> {
        let der = pem_body(pem, "PRIVATE KEY")?;
        let pair =
            RsaKeyPair::from_pkcs8(&der).map_err(|e| format!("not an RSA PKCS#8 key: {e}"))?;
        let components: RsaPublicKeyComponents<Vec<u8>> = pair.public_key().into();
        Ok(RsaKey {
            kid: kid.to_string(),
            n: components.n,
            e: components.e,
            private: Some(std::sync::Arc::new(pair)),
        })
    }

    /// A public key from JWK `n` and `e` (base64url).
    pub fn from_jwk(kid: &str, n: &str, e: &str) -> Result<RsaKey, String> {
        let n = URL_SAFE_NO_PAD
            .decode(n.trim_end_matches('='))
            .map_err(|_| "n is not base64url".to_string())?;
        let e = URL_SAFE_NO_PAD
            .decode(e.trim_end_matches('='))
            .map_err(|_| "e is not base64url".to_string())?;
        if n.len() < 256 {
            return Err("the modulus must be at least 2048 bits".into());
        }
        Ok(RsaKey {
            kid: kid.to_string(),
            n,
            e,
            private: None,
        })
    }

    /// The JWK (`{"kty":"RSA","kid","n","e","alg","use"}`) of the public key.
    pub fn jwk(&self) -> Value {
        serde_json::json!({
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&self.n),
            "e": URL_SAFE_NO_PAD.encode(&self.e),
        })
    }

    /// Whether this key can sign (a dev provider key).
    pub fn can_sign(&self) -> bool {
        self.private.is_some()
    }

    /// Signs `claims` as an RS256 JWT with this key's `kid`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let pair = self
            .private
            .as_ref()
            .ok_or("this key has no private part")?;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0u8; pair.public().modulus_len()];
        pair.sign(
            &signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut sig,
        )
        .map_err(|_| "signing failed".to_string())?;
        Ok(format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)))
    }
}

fn pem_body(pem: &str, label: &str) -> Result<Vec<u8>, String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin).ok_or_else(|| format!("missing {begin}"))? + begin.len();
    let stop = pem[start..]
        .find(&end)
        .ok_or_else(|| format!("missing {end}"))?
        + start;
    let b64: String = pem[start..stop]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD
        .decode(b64)
        .map_err(|_| "PEM body is not base64".to_string())
}

/// Splits, decodes and verifies `token` (trailing whitespace ignored) against `keys`; returns
/// the claims. Time and audience checks are the caller's.
pub fn verify(token: &str, keys: &[RsaKey]) -> Result<Claims, JwtError> {
    let (header, payload, signing_input, sig) = decode(token)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("");
    let params: &signature::RsaParameters = match alg {
        "RS256" => &signature::RSA_PKCS1_2048_8192_SHA256,
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        other => return Err(JwtError::UnsupportedAlgorithm(other.to_string())),
    };
    let kid = header.get("kid").and_then(Value::as_str);
    let ok = keys
        .iter()
        .filter(|k| kid.is_none_or(|kid| kid == k.kid))
        .any(|k| {
            RsaPublicKeyComponents { n: &k.n, e: &k.e }
                .verify(params, signing_input.as_bytes(), &sig)
                .is_ok()
        });
    if !ok {
        return Err(JwtError::BadSignature);
    }
    claims(&payload)
}

/// The claims of a token without verifying it (to find its issuer first).
pub fn peek(token: &str) -> Result<Claims, JwtError> {
    let (_, payload, _, _) = decode(token)?;
    claims(&payload)
}

fn decode(token: &str) -> Result<(Value, Value, String, Vec<u8>), JwtError> {
    let token = token.trim_end();
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed(
            "expected three dot-separated parts".into(),
        ));
    };
    let json = |part: &str, what: &str| -> Result<Value, JwtError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part.trim_end_matches('='))
            .map_err(|_| JwtError::Malformed(format!("{what} is not base64url")))?;
        let v: Value = serde_json::from_slice(&bytes)
            .map_err(|_| JwtError::Malformed(format!("{what} is not JSON")))?;
        if !v.is_object() {
            return Err(JwtError::Malformed(format!("{what} is not a JSON object")));
        }
        Ok(v)
    };
    let header = json(h, "header")?;
    let payload = json(p, "payload")?;
    let sig = URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| JwtError::Malformed("signature is not base64url".into()))?;
    Ok((header, payload, format!("{h}.{p}"), sig))
}

fn claims(payload: &Value) -> Result<Claims, JwtError> {
    let s = |k: &str| payload.get(k).and_then(Value::as_str).map(str::to_string);
    let list = |k: &str| match payload.get(k) {
        Some(Value::String(v)) => vec![v.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    };
    let n = |k: &str| payload.get(k).and_then(Value::as_f64).map(|f| f as i64);
    Ok(Claims {
        iss: s("iss").ok_or_else(|| JwtError::Malformed("missing iss".into()))?,
        sub: s("sub").unwrap_or_default(),
        aud: list("aud"),
        azp: s("azp"),
        amr: list("amr"),
        exp: n("exp"),
        nbf: n("nbf"),
        iat: n("iat"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::World;

    fn dev_key() -> RsaKey {
        World::default_world().oidc_providers[0].keys[0].clone()
    }

    #[test]
    fn sign_then_verify() {
        let key = dev_key();
        let claims = serde_json::json!({"iss": "https://oidc.example", "sub": "s", "aud": "a", "exp": 2_000_000_000});
        let token = key.sign(&claims).unwrap();
        let got = verify(&format!("{token}\n"), std::slice::from_ref(&key)).unwrap();
        assert_eq!(got.iss, "https://oidc.example");
        assert_eq!(got.aud, vec!["a".to_string()]);
        assert_eq!(got.exp, Some(2_000_000_000));
        // The public half alone verifies too.
        let jwk = key.jwk();
        let public = RsaKey::from_jwk(
            &key.kid,
            jwk["n"].as_str().unwrap(),
            jwk["e"].as_str().unwrap(),
        )
        .unwrap();
        assert!(verify(&token, &[public]).is_ok());
    }

    #[test]
    fn tampering_is_detected() {
        let key = dev_key();
        let token = key
            .sign(&serde_json::json!({"iss": "x", "sub": "a"}))
            .unwrap();
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"iss":"x","sub":"admin"}"#);
        parts[1] = &forged;
        assert_eq!(
            verify(&parts.join("."), std::slice::from_ref(&key)),
            Err(JwtError::BadSignature)
        );
        assert!(matches!(
            verify("a.b", std::slice::from_ref(&key)),
            Err(JwtError::Malformed(_))
        ));
        let none_alg = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
            URL_SAFE_NO_PAD.encode(r#"{"iss":"x"}"#)
        );
        assert_eq!(
            verify(&none_alg, &[key]),
            Err(JwtError::UnsupportedAlgorithm("none".into()))
        );
    }
}
