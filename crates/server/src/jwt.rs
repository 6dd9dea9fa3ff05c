//! RS256/RS384/RS512 JSON Web Tokens: verification against an OIDC provider's keys, and
//! minting with a dev provider's private key.

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::traits::PublicKeyParts;
use rsa::{BigUint, RsaPrivateKey, RsaPublicKey};
use serde_json::Value;
use sha2::{Sha256, Sha384, Sha512};

/// Moduli outside 2048–8192 bits are refused (the range RS256 verifiers accept).
const MIN_MODULUS_BITS: usize = 2048;
const MAX_MODULUS_BITS: usize = 8192;

/// An RSA key of an OIDC provider: public components, and the private key for dev providers.
#[derive(Clone)]
pub struct RsaKey {
    /// Key id (`kid` header).
    pub kid: String,
    public: RsaPublicKey,
    private: Option<std::sync::Arc<RsaPrivateKey>>,
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
        let private = RsaPrivateKey::from_pkcs8_der(&der)
            .map_err(|e| format!("not an RSA PKCS#8 key: {e}"))?;
        let public = private.to_public_key();
        check_size(&public)?;
        Ok(RsaKey {
            kid: kid.to_string(),
            public,
            private: Some(std::sync::Arc::new(private)),
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
        let public = RsaPublicKey::new_with_max_size(
            BigUint::from_bytes_be(&n),
            BigUint::from_bytes_be(&e),
            MAX_MODULUS_BITS,
        )
        .map_err(|e| format!("not an RSA public key: {e}"))?;
        check_size(&public)?;
        Ok(RsaKey {
            kid: kid.to_string(),
            public,
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
            "n": URL_SAFE_NO_PAD.encode(self.public.n().to_bytes_be()),
            "e": URL_SAFE_NO_PAD.encode(self.public.e().to_bytes_be()),
        })
    }

    /// Whether this key can sign (a dev provider key).
    pub fn can_sign(&self) -> bool {
        self.private.is_some()
    }

    /// Signs `claims` as an RS256 JWT with this key's `kid`.
    pub fn sign(&self, claims: &Value) -> Result<String, String> {
        let private = self
            .private
            .as_ref()
            .ok_or("this key has no private part")?;
        let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signer = SigningKey::<Sha256>::new(private.as_ref().clone());
        let sig = signer
            .try_sign(signing_input.as_bytes())
            .map_err(|e| format!("signing failed: {e}"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.to_bytes())
        ))
    }

    /// Whether `sig` is this key's RSASSA-PKCS1-v1_5 signature of `message` with `alg`'s hash.
    fn verifies(&self, alg: Alg, message: &[u8], sig: &Signature) -> bool {
        let key = self.public.clone();
        match alg {
            Alg::Rs256 => VerifyingKey::<Sha256>::new(key)
                .verify(message, sig)
                .is_ok(),
            Alg::Rs384 => VerifyingKey::<Sha384>::new(key)
                .verify(message, sig)
                .is_ok(),
            Alg::Rs512 => VerifyingKey::<Sha512>::new(key)
                .verify(message, sig)
                .is_ok(),
        }
    }
}

/// The JWS algorithms a key verifies.
#[derive(Clone, Copy)]
enum Alg {
    Rs256,
    Rs384,
    Rs512,
}

fn check_size(key: &RsaPublicKey) -> Result<(), String> {
    let bits = key.n().bits();
    if !(MIN_MODULUS_BITS..=MAX_MODULUS_BITS).contains(&bits) {
        return Err(format!(
            "the modulus must have {MIN_MODULUS_BITS} to {MAX_MODULUS_BITS} bits, not {bits}"
        ));
    }
    Ok(())
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
    let alg = match alg {
        "RS256" => Alg::Rs256,
        "RS384" => Alg::Rs384,
        "RS512" => Alg::Rs512,
        other => return Err(JwtError::UnsupportedAlgorithm(other.to_string())),
    };
    let sig = Signature::try_from(sig.as_slice()).map_err(|_| JwtError::BadSignature)?;
    let kid = header.get("kid").and_then(Value::as_str);
    let ok = keys
        .iter()
        .filter(|k| kid.is_none_or(|kid| kid == k.kid))
        .any(|k| k.verifies(alg, signing_input.as_bytes(), &sig));
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
