//! The P-256 key a login session is bound to, and its DPoP proofs (RFC 9449) as botocore
//! builds them (`awscli/botocore/utils.py` `build_dpop_header`; `docs/spec/login.md` §4).

use std::fmt;

use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::SecretKey;

use super::LoginError;

/// A login session's DPoP key. `Debug` shows nothing of it.
#[derive(Clone)]
pub struct DpopKey(SigningKey);

impl fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DpopKey(** redacted **)")
    }
}

fn b64url(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl DpopKey {
    /// A new random key (what `aws login` makes for each login).
    pub fn generate() -> DpopKey {
        loop {
            let bytes: [u8; 32] = rand::random();
            if let Ok(k) = SigningKey::from_slice(&bytes) {
                return DpopKey(k);
            }
        }
    }

    /// Reads the `dpopKey` of a token file as v2 does: the lines between the PEM armour
    /// joined and base64-decoded, then SEC1 `ECPrivateKey` DER (PKCS#8 is accepted too).
    pub fn from_pem(pem: &str) -> Result<DpopKey, LoginError> {
        let body: String = pem
            .lines()
            .filter(|l| !l.starts_with("-----BEGIN") && !l.starts_with("-----END"))
            .collect::<String>()
            .trim()
            .to_string();
        let der = base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map_err(|e| bad_key(&e.to_string()))?;
        let secret = SecretKey::from_sec1_der(&der)
            .or_else(|_| {
                use p256::pkcs8::DecodePrivateKey;
                SecretKey::from_pkcs8_der(&der)
            })
            .map_err(|e| bad_key(&e.to_string()))?;
        Ok(DpopKey(SigningKey::from(secret)))
    }

    /// The key as `aws login` stores it: SEC1 `ECPrivateKey` DER with the curve and the public
    /// key (what AWS-LC exports), base64 in 64-character lines between `EC PRIVATE KEY`
    /// armour, ending with a newline.
    pub fn to_pem(&self) -> String {
        // RFC 5915 for P-256 has one shape: SEQUENCE { 1, OCTET STRING(32) private key,
        // [0] OID prime256v1, [1] BIT STRING uncompressed point }.
        const CURVE: [u8; 12] = [
            0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
        ];
        let mut der = vec![0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
        der.extend_from_slice(&self.0.to_bytes());
        der.extend_from_slice(&CURVE);
        der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
        der.extend_from_slice(self.0.verifying_key().to_encoded_point(false).as_bytes());
        let text = base64::engine::general_purpose::STANDARD.encode(&der);
        let lines: Vec<&str> = text
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).expect("base64 is ASCII"))
            .collect();
        format!(
            "-----BEGIN EC PRIVATE KEY-----\n{}\n-----END EC PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    /// The public key as the proof's `jwk` carries it, members in botocore's order.
    fn jwk(&self) -> String {
        let point = self.0.verifying_key().to_encoded_point(false);
        let x = b64url(point.x().expect("uncompressed point"));
        let y = b64url(point.y().expect("uncompressed point"));
        format!(r#"{{"kty":"EC","x":"{x}","y":"{y}","crv":"P-256"}}"#)
    }

    /// RFC 7638 thumbprint of the public key (unpadded base64url SHA-256 of the canonical
    /// JWK): what a server binds a refresh token to (`cnf.jkt`).
    pub fn thumbprint(&self) -> String {
        use sha2::{Digest, Sha256};
        let point = self.0.verifying_key().to_encoded_point(false);
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            b64url(point.x().expect("uncompressed point")),
            b64url(point.y().expect("uncompressed point"))
        );
        b64url(&Sha256::digest(canonical.as_bytes()))
    }

    /// A DPoP proof for `POST url` at `iat` (epoch seconds) with the unique id `jti`: the
    /// compact ES256 JWS of `{"typ":"dpop+jwt","alg":"ES256","jwk":…}` and
    /// `{"htm":"POST","htu":url,"iat":…,"jti":…}`.
    pub fn proof(&self, url: &str, iat: i64, jti: &str) -> String {
        let header = format!(r#"{{"typ":"dpop+jwt","alg":"ES256","jwk":{}}}"#, self.jwk());
        let payload = serde_json::json!({"htm": "POST", "htu": url, "iat": iat, "jti": jti});
        let signing_input = format!(
            "{}.{}",
            b64url(header.as_bytes()),
            b64url(payload.to_string().as_bytes())
        );
        let signature: Signature = self.0.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64url(&signature.to_bytes()))
    }
}

fn bad_key(why: &str) -> LoginError {
    LoginError::TokenLoad(format!(
        "Unable to load private key from cached token: {why}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::VerifyingKey;

    /// The throwaway key of the upstream login vectors (`tests/conformance`).
    const VECTOR_KEY: &str = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIPt/u8InPLpQeQLJTvVX+sNDzni8vMDMt3Liu+nMBigfoAoGCCqGSM49\nAwEHoUQDQgAEILkGG7rNOnxiIJlMgimY1UPP8eDMFP0DAY6WGjngP4bvTAiUCQ/I\nffut2379uP+OBCm2ovGpBOJRgrl1RspUOQ==\n-----END EC PRIVATE KEY-----\n";

    fn decode(part: &str) -> Vec<u8> {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .unwrap()
    }

    #[test]
    fn pem_round_trip_is_the_clis_layout() {
        let key = DpopKey::from_pem(VECTOR_KEY).unwrap();
        assert_eq!(key.to_pem(), VECTOR_KEY);
        let fresh = DpopKey::generate();
        let again = DpopKey::from_pem(&fresh.to_pem()).unwrap();
        assert_eq!(again.thumbprint(), fresh.thumbprint());
        assert!(fresh.to_pem().lines().all(|l| l.len() <= 64));
        assert!(!format!("{fresh:?}").contains("BEGIN"));
        let e = DpopKey::from_pem(
            "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.starts_with(
                "Error loading login session token: Unable to load private key from cached token:"
            ),
            "{e}"
        );
    }

    #[test]
    fn proof_verifies_with_its_own_jwk() {
        let key = DpopKey::from_pem(VECTOR_KEY).unwrap();
        let proof = key.proof(
            "https://us-east-1.signin.aws.amazon.com/v1/token",
            1763510400,
            "id-1",
        );
        let parts: Vec<&str> = proof.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value = serde_json::from_slice(&decode(parts[0])).unwrap();
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        let payload = String::from_utf8(decode(parts[1])).unwrap();
        assert_eq!(
            payload,
            r#"{"htm":"POST","htu":"https://us-east-1.signin.aws.amazon.com/v1/token","iat":1763510400,"jti":"id-1"}"#
        );
        let x = decode(header["jwk"]["x"].as_str().unwrap());
        let y = decode(header["jwk"]["y"].as_str().unwrap());
        let mut sec1 = vec![4u8];
        sec1.extend_from_slice(&x);
        sec1.extend_from_slice(&y);
        let vk = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
        let sig = Signature::from_slice(&decode(parts[2])).unwrap();
        vk.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &sig)
            .unwrap();
        // RFC 7638 §3.1's member order; 43 characters of base64url.
        assert_eq!(key.thumbprint().len(), 43);
    }
}
