//! The authorization code flow with PKCE (RFC 7636), as v2's `sso login` runs it for
//! sso-session configurations: a loopback redirect listener, the authorize URL opened in a
//! browser, then `CreateToken` with the code and the verifier.

use serde_json::json;
use sha2::{Digest, Sha256};

use super::callback::{CallbackListener, Redirect};
use super::login::{Authorization, LoginError, LoginOptions, LoginResult, LoginUi, SsoLogin};
use super::oidc::DEFAULT_SCOPE;
use crate::CredentialsError;

/// The redirect URI registered with the client: the listener's port is chosen at run time
/// (RFC 8252 §7.3 lets the server ignore it).
pub const REGISTERED_REDIRECT: &str = "http://127.0.0.1/oauth/callback";

/// Runs the code flow for `login`.
pub(super) fn run(
    login: &SsoLogin<'_>,
    options: &LoginOptions,
    ui: &mut dyn LoginUi,
) -> Result<LoginResult, LoginError> {
    let listener = CallbackListener::bind()?;
    let redirect = listener.redirect_uri();
    let reg = login.registration(Some(REGISTERED_REDIRECT))?;
    let verifier = code_verifier();
    let state = uuid4();
    let scopes = login
        .config
        .scopes
        .clone()
        .filter(|s| !s.is_empty())
        .map_or_else(|| DEFAULT_SCOPE.to_string(), |s| s.join(" "));
    let oidc = login.oidc();
    // The authorize endpoint is the OIDC endpoint's scheme and host (botocore drops the
    // path of the resolved endpoint).
    let base = url::Url::parse(&oidc.endpoint()?)
        .map(|u| u.origin().ascii_serialization())
        .map_err(|e| CredentialsError::InvalidSetting {
            setting: "sso_oidc endpoint".into(),
            message: e.to_string(),
        })?;
    let url = authorize_url(&base, &reg.client_id, &redirect, &state, &scopes, &verifier);
    ui.authorize(&Authorization {
        uri: &url,
        user_code: None,
        uri_complete: &url,
    })
    .map_err(LoginError::Ui)?;
    let code = match listener.wait(ui.callback_page(), options.callback_timeout)? {
        Redirect::Error => {
            return Err(LoginError::AuthorizationCode(
                "Failed to retrieve an authorization code.".into(),
            ))
        }
        Redirect::Code { code, state: got } if got == state => code,
        Redirect::Code { .. } => {
            return Err(LoginError::AuthorizationCode(
                "State parameter does not match expected value.".into(),
            ))
        }
    };
    let token = match oidc.call(
        "/token",
        "CreateToken",
        &json!({"grantType": "authorization_code", "clientId": reg.client_id,
                "clientSecret": reg.client_secret, "redirectUri": redirect,
                "codeVerifier": verifier, "code": code}),
    ) {
        Err(CredentialsError::Service(e)) if e.code == "ExpiredTokenException" => {
            return Err(LoginError::PendingAuthorizationExpired)
        }
        other => other?,
    };
    login.save_token(&reg, &token)
}

/// The authorize URL: botocore's parameter order and encoding, the S256 challenge of
/// `verifier`.
fn authorize_url(
    base: &str,
    client_id: &str,
    redirect: &str,
    state: &str,
    scopes: &str,
    verifier: &str,
) -> String {
    let enc = crate::sts::encode;
    format!(
        "{base}/authorize?response_type=code&client_id={}&redirect_uri={}&state={}&code_challenge_method=S256&scopes={}&code_challenge={}",
        enc(client_id),
        enc(redirect),
        enc(state),
        enc(scopes),
        challenge(verifier),
    )
}

/// The S256 code challenge: unpadded base64url of SHA-256 of the verifier.
pub fn challenge(verifier: &str) -> String {
    base64url(&Sha256::digest(verifier.as_bytes()))
}

/// 64 random characters of `A–Z a–z 0–9 - . _ ~` (RFC 7636's verifier alphabet).
pub(crate) fn code_verifier() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    let mut rng = rand::rng();
    (0..64)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// A random UUID (version 4) in its text form.
pub(crate) fn uuid4() -> String {
    uuid::Builder::from_random_bytes(rand::random())
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Unpadded base64url (RFC 4648 §5).
pub(crate) fn base64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::Duration;

    use serde_json::Value;

    use super::super::test_support::{fake_oidc, session, RecordingUi, SSO_SESSION_CONFIG, START};
    use super::super::LoginConfig;
    use super::*;
    use crate::ResolveOptions;

    /// A browser that approves: requests the redirect URI with a code and the given state
    /// (after a stray request, as browsers ask for icons).
    struct Approving {
        state: Option<&'static str>,
        seen: Vec<String>,
    }

    impl LoginUi for Approving {
        fn authorize(&mut self, a: &Authorization<'_>) -> std::io::Result<()> {
            assert_eq!((a.uri, a.user_code), (a.uri_complete, None));
            let url = a.uri_complete.to_string();
            self.seen.push(url.clone());
            let parsed = url::Url::parse(&url).unwrap();
            let q: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
            let get = |k: &str| q.iter().find(|(n, _)| n == k).unwrap().1.clone();
            let redirect = get("redirect_uri");
            let state = self.state.map_or_else(|| get("state"), str::to_string);
            std::thread::spawn(move || {
                let u = url::Url::parse(&redirect).unwrap();
                let mut s = TcpStream::connect(("127.0.0.1", u.port().unwrap())).unwrap();
                write!(s, "GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
                let mut sink = Vec::new();
                let _ = s.read_to_end(&mut sink);
                let mut s = TcpStream::connect(("127.0.0.1", u.port().unwrap())).unwrap();
                write!(
                    s,
                    "GET {}?code=THECODE&state={state} HTTP/1.1\r\nHost: x\r\n\r\n",
                    u.path()
                )
                .unwrap();
                let _ = s.read_to_end(&mut sink);
            });
            Ok(())
        }

        fn callback_page(&self) -> &str {
            "<p>done</p>"
        }
    }

    #[test]
    fn pkce_flow_sends_the_verifier_of_the_challenge() {
        let fake = fake_oidc(vec![]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[(
                "AWS_ENDPOINT_URL_SSO_OIDC",
                &format!("{}/some/path/", fake.url()),
            )],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap()).unwrap();
        let mut browser = Approving {
            state: None,
            seen: Vec::new(),
        };
        login.run(&LoginOptions::default(), &mut browser).unwrap();
        let url = browser.seen[0].clone();
        // The authorize URL: the endpoint's origin, botocore's parameter order and encoding.
        let prefix = format!(
            "{}/authorize?response_type=code&client_id=CID&redirect_uri=http%3A%2F%2F127.0.0.1%3A",
            fake.url()
        );
        assert!(url.starts_with(&prefix), "{url}");
        assert!(url.contains("%2Foauth%2Fcallback&state="), "{url}");
        assert!(
            url.contains(
                "&code_challenge_method=S256&scopes=sso%3Aaccount%3Aaccess&code_challenge="
            ),
            "{url}"
        );
        let code_challenge = url.rsplit_once("code_challenge=").unwrap().1;
        assert_eq!(code_challenge.len(), 43);
        let reqs = fake.requests();
        let reg: Value = serde_json::from_slice(&reqs[0].body).unwrap();
        assert_eq!(
            reg,
            json!({"clientName": "botocore-client-my-sso", "clientType": "public",
            "grantTypes": ["authorization_code", "refresh_token"], "redirectUris": ["http://127.0.0.1/oauth/callback"],
            "issuerUrl": START, "scopes": ["sso:account:access"]})
        );
        assert_eq!(reqs[0].path, "/some/path/client/register");
        assert_eq!(reqs[1].path, "/some/path/token");
        let token: Value = serde_json::from_slice(&reqs[1].body).unwrap();
        assert_eq!(token["grantType"], "authorization_code");
        assert_eq!(token["code"], "THECODE");
        let verifier = token["codeVerifier"].as_str().unwrap();
        assert_eq!(verifier.len(), 64);
        assert_eq!(challenge(verifier), code_challenge);
        let redirect = token["redirectUri"].as_str().unwrap();
        assert!(url.contains(&crate::sts::encode(redirect)));
        // The PKCE registration is cached with its grant types; the device flow does not reuse it.
        let reg_file = dir
            .path()
            .join(".aws/sso/cache/c5cfae6e3e4f067423a532368c8b514b6a4b0ace.json");
        let cached: Value = serde_json::from_slice(&std::fs::read(reg_file).unwrap()).unwrap();
        assert_eq!(
            cached["grantTypes"],
            json!(["authorization_code", "refresh_token"])
        );
        let options = LoginOptions {
            use_device_code: true,
            ..Default::default()
        };
        login.run(&options, &mut RecordingUi::default()).unwrap();
        assert_eq!(
            fake.requests()
                .iter()
                .filter(|r| r.path.ends_with("/client/register"))
                .count(),
            2
        );
    }

    #[test]
    fn pkce_state_mismatch_and_timeout() {
        let fake = fake_oidc(vec![]);
        let dir = tempfile::tempdir().unwrap();
        let s = session(
            dir.path(),
            SSO_SESSION_CONFIG,
            &[("AWS_ENDPOINT_URL_SSO_OIDC", &fake.url())],
            None,
        );
        let services = s.services(&ResolveOptions::default());
        let login = SsoLogin::new(&services, LoginConfig::resolve(&s, None).unwrap()).unwrap();
        let mut browser = Approving {
            state: Some("forged"),
            seen: Vec::new(),
        };
        let err = login
            .run(&LoginOptions::default(), &mut browser)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Error loading authorization code: State parameter does not match expected value."
        );
        assert!(
            !fake.requests().iter().any(|r| r.path == "/token"),
            "no token request"
        );
        let options = LoginOptions {
            callback_timeout: Duration::from_millis(200),
            ..Default::default()
        };
        let err = login
            .run(&options, &mut RecordingUi::default())
            .unwrap_err();
        assert!(matches!(err, LoginError::PendingAuthorizationExpired));
    }

    #[test]
    fn verifier_state_and_challenge_encodings() {
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        // RFC 7636 appendix B.
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        let u = uuid4();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        let v = code_verifier();
        assert_eq!(v.len(), 64);
    }
}
