//! The provider against a scripted Sign-In endpoint (an in-process transport): the refresh
//! request (body, DPoP proof bound to the cached key), the rotation written back, the denial
//! texts, and the threshold below which nothing is called.

use std::sync::{Arc, Mutex};

use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::{json, Value};

use super::*;
use crate::http::{HttpRequest, HttpResponse, Transport, TransportError};

const SESSION: &str = "arn:aws:iam::123456789012:user/alice";

/// Answers every request with `reply` and records what it got.
struct Scripted {
    reply: (u16, String),
    seen: Mutex<Vec<HttpRequest>>,
}

impl Transport for Scripted {
    fn send(&self, request: &HttpRequest) -> Result<HttpResponse, TransportError> {
        self.seen.lock().unwrap().push(request.clone());
        let mut headers = Vec::new();
        let body: Value = serde_json::from_str(&self.reply.1).unwrap();
        if self.reply.0 >= 400 {
            let kind = match self.reply.0 {
                401 | 403 => "AccessDeniedException",
                _ => "ValidationException",
            };
            headers.push(("x-amzn-ErrorType".to_string(), kind.to_string()));
        }
        Ok(HttpResponse {
            status: self.reply.0,
            headers,
            body: body.to_string().into_bytes(),
        })
    }
}

fn token_file(expires_at: &str, key: &DpopKey) -> String {
    json!({
        "accessToken": {"accessKeyId": "ASIAOLD", "secretAccessKey": "old-secret",
                        "sessionToken": "old-token", "accountId": "123456789012",
                        "expiresAt": expires_at},
        "tokenType": "aws_sigv4",
        "clientId": "arn:aws:signin:::devtools/same-device",
        "refreshToken": "refresh-1",
        "idToken": "h.p.s",
        "dpopKey": key.to_pem(),
    })
    .to_string()
}

struct Fixture {
    _dir: tempfile::TempDir,
    cache: LoginCache,
    transport: Arc<Scripted>,
    provider: LoginProvider,
    key: DpopKey,
}

fn fixture(expires_at: &str, reply: (u16, &str)) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cache = LoginCache::new(dir.path().join("login"));
    std::fs::create_dir_all(cache.dir()).unwrap();
    let key = DpopKey::generate();
    std::fs::write(cache.path(SESSION), token_file(expires_at, &key)).unwrap();
    let transport = Arc::new(Scripted {
        reply: (reply.0, reply.1.to_string()),
        seen: Mutex::new(Vec::new()),
    });
    let env = awsid_profile::Env::from_pairs([
        ("AWS_ENDPOINT_URL_SIGNIN", "http://127.0.0.1:9/"),
        ("HOME", "/nonexistent"),
    ]);
    let services = Services::new(
        env,
        awsid_profile::Properties::default(),
        None,
        Some("us-east-1".into()),
    )
    .with_transport(transport.clone());
    let now = crate::time::parse("2025-11-19T00:00:00Z").unwrap();
    let provider = LoginProvider::new(
        LoginStep {
            profile: "p".into(),
            session: SESSION.into(),
        },
        Arc::new(services),
    )
    .with_cache(cache.clone())
    .with_clock(Arc::new(move || now));
    Fixture {
        _dir: dir,
        cache,
        transport,
        provider,
        key,
    }
}

const FRESH: &str = r#"{"accessToken": {"accessKeyId": "ASIANEW", "secretAccessKey": "new-secret", "sessionToken": "new-token"}, "tokenType": "aws_sigv4", "expiresIn": 900, "refreshToken": "refresh-2"}"#;

#[test]
fn refresh_sends_a_dpop_proof_and_rotates_the_refresh_token() {
    let f = fixture("2025-11-18T23:59:00Z", (200, FRESH));
    let c = f.provider.provide().unwrap().unwrap();
    assert_eq!(c.access_key_id, "ASIANEW");
    assert_eq!(c.account_id.as_deref(), Some("123456789012"));
    assert_eq!(
        c.expiry,
        Some(crate::time::parse("2025-11-19T00:15:00Z").unwrap())
    );
    let seen = f.transport.seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.url, "http://127.0.0.1:9/v1/token");
    let body: Value = serde_json::from_slice(&req.body).unwrap();
    assert_eq!(
        body,
        json!({"clientId": "arn:aws:signin:::devtools/same-device",
               "refreshToken": "refresh-1", "grantType": "refresh_token"})
    );
    // The proof is signed by the session's key and names this request.
    let proof = &req.headers.iter().find(|(k, _)| k == "DPoP").unwrap().1;
    let parts: Vec<&str> = proof.split('.').collect();
    let dec = |s: &str| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(s)
            .unwrap()
    };
    let header: Value = serde_json::from_slice(&dec(parts[0])).unwrap();
    let payload: Value = serde_json::from_slice(&dec(parts[1])).unwrap();
    assert_eq!(payload["htu"], "http://127.0.0.1:9/v1/token");
    assert_eq!(payload["htm"], "POST");
    let mut point = vec![4u8];
    point.extend(dec(header["jwk"]["x"].as_str().unwrap()));
    point.extend(dec(header["jwk"]["y"].as_str().unwrap()));
    let vk = VerifyingKey::from_sec1_bytes(&point).unwrap();
    vk.verify(
        format!("{}.{}", parts[0], parts[1]).as_bytes(),
        &Signature::from_slice(&dec(parts[2])).unwrap(),
    )
    .unwrap();
    drop(seen);
    // The file now holds the rotated token and the same key, fields in the same order.
    let saved = f.cache.load(SESSION).unwrap().unwrap();
    assert_eq!(saved.refresh_token(), Some("refresh-2"));
    assert_eq!(saved.dpop_key_pem(), Some(f.key.to_pem().as_str()));
    assert!(saved
        .dumps()
        .starts_with(r#"{"accessToken": {"accessKeyId": "ASIANEW""#));
    let mode = std::fs::metadata(f.cache.path(SESSION)).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(mode.permissions().mode() & 0o777, 0o600);
}

#[test]
fn a_token_with_time_left_is_used_without_a_call() {
    let f = fixture("2025-11-19T00:05:01Z", (500, "{}"));
    let c = f.provider.provide().unwrap().unwrap();
    assert_eq!(c.access_key_id, "ASIAOLD");
    assert!(f.transport.seen.lock().unwrap().is_empty());
}

#[test]
fn denials_read_as_v2_writes_them() {
    let cases = [
        (401, "TOKEN_EXPIRED", "Your session has expired. Please reauthenticate using 'aws login'."),
        (403, "USER_CREDENTIALS_CHANGED", "Unable to refresh login credentials because of a change in your password. Please reauthenticate with your new password using 'aws login'."),
        (403, "INSUFFICIENT_PERMISSIONS", "Unable to create or refresh login credentials due to insufficient permissions. You may be missing permission for the 'signin:CreateOAuth2Token' action."),
        (400, "INVALID_REQUEST", "An error occurred (ValidationException) when calling the CreateOAuth2Token operation: The provided authorization grant is invalid, expired, revoked, or malformed"),
    ];
    for (status, code, text) in cases {
        let body = json!({"error": code, "message": "The provided authorization grant is invalid, expired, revoked, or malformed"}).to_string();
        let f = fixture("2020-01-01T00:00:00Z", (status, &body));
        let e = f.provider.provide().unwrap_err();
        assert_eq!(e.to_string(), text, "{code}");
        // A failed refresh leaves the file as it was.
        assert_eq!(
            f.cache.load(SESSION).unwrap().unwrap().refresh_token(),
            Some("refresh-1")
        );
    }
}

#[test]
fn load_errors_are_v2s() {
    let f = fixture("2020-01-01T00:00:00Z", (500, "{}"));
    std::fs::remove_file(f.cache.path(SESSION)).unwrap();
    assert_eq!(
        f.provider.load_cached().unwrap_err().to_string(),
        format!("Error loading login session token: Unable to load a existing login session for session {SESSION}, Please reauthenticate with 'aws login'.")
    );
    std::fs::write(
        f.cache.path(SESSION),
        r#"{"accessToken": {}, "clientId": "c"}"#,
    )
    .unwrap();
    assert_eq!(
        f.provider.load_cached().unwrap_err().to_string(),
        "Error loading login session token: Failed to load access token from token cache, missing one or more required fields: refreshToken, dpopKey."
    );
}
