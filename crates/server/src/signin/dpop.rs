//! DPoP proof checks (RFC 9449 §4.3) for `CreateOAuth2Token`: an ES256 JWS with
//! `typ: dpop+jwt` and the public key in `jwk`, signed over this request's method and URL,
//! fresh, never seen before. The key's RFC 7638 thumbprint is what tokens are bound to.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::errors::SigninError;

/// How far a proof's `iat` may be from the server's clock (either way).
pub(crate) const MAX_AGE_SECONDS: i64 = 300;

/// A checked proof: the key's thumbprint and the proof's id and time.
#[derive(Debug)]
pub(crate) struct Proof {
    /// RFC 7638 SHA-256 thumbprint of the `jwk`, unpadded base64url.
    pub(crate) jkt: String,
    /// `jti`.
    pub(crate) jti: String,
    /// `iat`.
    pub(crate) iat: i64,
}

fn invalid(why: &str) -> SigninError {
    SigninError::validation(format!("Invalid DPoP proof: {why}"))
}

fn part(text: &str) -> Result<Value, SigninError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| invalid("not a compact JWS"))?;
    serde_json::from_slice(&bytes).map_err(|_| invalid("not a compact JWS"))
}

/// `scheme://host[:port]/path` with default ports dropped and the host lower-cased; the
/// scheme is left out because a TLS terminator in front of the server changes it.
fn normalize(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let path = path.split(['?', '#']).next().unwrap_or("/");
    let authority = authority.to_ascii_lowercase();
    let authority = match (
        scheme.to_ascii_lowercase().as_str(),
        authority.rsplit_once(':'),
    ) {
        ("http", Some((h, "80"))) | ("https", Some((h, "443"))) => h.to_string(),
        _ => authority,
    };
    Some(format!(
        "{authority}{}",
        if path.is_empty() { "/" } else { path }
    ))
}

/// Checks the `DPoP` header of a `POST` to `url` at `now`.
pub(crate) fn check(header: Option<&str>, url: &str, now: i64) -> Result<Proof, SigninError> {
    let Some(jws) = header else {
        return Err(SigninError::validation("A DPoP proof is required"));
    };
    let parts: Vec<&str> = jws.split('.').collect();
    if parts.len() != 3 || jws.len() > 4096 {
        return Err(invalid("not a compact JWS"));
    }
    let head = part(parts[0])?;
    let claims = part(parts[1])?;
    if head["typ"] != "dpop+jwt" {
        return Err(invalid("typ must be dpop+jwt"));
    }
    if head["alg"] != "ES256" {
        return Err(invalid("alg must be ES256"));
    }
    let jwk = &head["jwk"];
    if jwk.get("d").is_some() {
        return Err(invalid("jwk must not contain a private key"));
    }
    if jwk["kty"] != "EC" || jwk["crv"] != "P-256" {
        return Err(invalid("jwk must be an EC P-256 public key"));
    }
    let coord = |k: &str| -> Result<Vec<u8>, SigninError> {
        let text = jwk[k]
            .as_str()
            .ok_or_else(|| invalid("jwk is incomplete"))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| invalid("jwk is malformed"))?;
        (bytes.len() == 32)
            .then_some(bytes)
            .ok_or_else(|| invalid("jwk is malformed"))
    };
    let (x, y) = (coord("x")?, coord("y")?);
    let mut point = vec![4u8];
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    let key = VerifyingKey::from_sec1_bytes(&point).map_err(|_| invalid("jwk is not on P-256"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(parts[2])
        .ok()
        .and_then(|s| Signature::from_slice(&s).ok())
        .ok_or_else(|| invalid("signature is malformed"))?;
    key.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .map_err(|_| invalid("signature does not verify"))?;
    if claims["htm"] != "POST" {
        return Err(invalid("htm does not match the request method"));
    }
    let htu = claims["htu"].as_str().and_then(normalize);
    if htu.is_none() || htu != normalize(url) {
        return Err(invalid("htu does not match the request URL"));
    }
    let iat = claims["iat"]
        .as_i64()
        .ok_or_else(|| invalid("iat is missing"))?;
    if (now - iat).abs() > MAX_AGE_SECONDS {
        return Err(invalid("iat is outside the accepted window"));
    }
    let jti = claims["jti"]
        .as_str()
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or_else(|| invalid("jti is missing"))?
        .to_string();
    let canonical = format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(&x),
        URL_SAFE_NO_PAD.encode(&y)
    );
    Ok(Proof {
        jkt: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())),
        jti,
        iat,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::SigningKey;

    fn proof(key: &SigningKey, head: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(head.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    fn jwk(key: &SigningKey) -> Value {
        let p = key.verifying_key().to_encoded_point(false);
        serde_json::json!({"kty": "EC", "x": URL_SAFE_NO_PAD.encode(p.x().unwrap()),
                           "y": URL_SAFE_NO_PAD.encode(p.y().unwrap()), "crv": "P-256"})
    }

    #[test]
    fn accepts_a_good_proof_and_names_what_is_wrong() {
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let head = serde_json::json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk(&key)});
        let url = "http://127.0.0.1:4000/v1/token";
        let claims = serde_json::json!({"htm": "POST", "htu": url, "iat": 1000, "jti": "a"});
        let p = check(Some(&proof(&key, &head, &claims)), url, 1100).unwrap();
        assert_eq!(p.jkt.len(), 43);
        assert_eq!(p.jti, "a");
        // The default port and the scheme do not matter; the path does.
        let p2 = check(
            Some(&proof(
                &key,
                &head,
                &serde_json::json!({"htm": "POST", "htu": "https://h:443/v1/token", "iat": 1000, "jti": "b"}),
            )),
            "http://h/v1/token",
            1000,
        );
        assert!(p2.is_ok());
        let err = |h: &Value, c: &Value, now: i64| {
            check(Some(&proof(&key, h, c)), url, now)
                .unwrap_err()
                .message
        };
        assert_eq!(
            err(&head, &claims, 1400),
            "Invalid DPoP proof: iat is outside the accepted window"
        );
        let other = serde_json::json!({"htm": "POST", "htu": "http://127.0.0.1:4000/v1/other", "iat": 1000, "jti": "a"});
        assert_eq!(
            err(&head, &other, 1000),
            "Invalid DPoP proof: htu does not match the request URL"
        );
        let bad_typ = serde_json::json!({"typ": "JWT", "alg": "ES256", "jwk": jwk(&key)});
        assert_eq!(
            err(&bad_typ, &claims, 1000),
            "Invalid DPoP proof: typ must be dpop+jwt"
        );
        // Signed by another key than the jwk names.
        let other_key = SigningKey::from_slice(&[9u8; 32]).unwrap();
        let forged = proof(&other_key, &head, &claims);
        assert_eq!(
            check(Some(&forged), url, 1000).unwrap_err().message,
            "Invalid DPoP proof: signature does not verify"
        );
        assert_eq!(
            check(None, url, 1000).unwrap_err().message,
            "A DPoP proof is required"
        );
    }
}
