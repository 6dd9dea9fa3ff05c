//! One `aws login` (v2 `awscli/customizations/login/utils.py`; `docs/spec/login.md` §6): the
//! authorization request with PKCE, the code it brings back (through the loopback redirect,
//! or typed in as the cross-device verification code) and its exchange for the first token.
//! What the user sees and the browser are the caller's.

use base64::Engine;
use serde_json::{json, Value};

use super::cache::{LoginToken, TokenParts};
use super::client::{SigninClient, SigninError};
use super::{DpopKey, LoginError};
use crate::CredentialsError;

/// Which of the two login flows runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginType {
    /// A browser on this machine redirects to a loopback listener (the default).
    SameDevice,
    /// `--remote`: the browser shows a code the user pastes into the terminal.
    CrossDevice,
}

impl LoginType {
    /// The client id Sign-In knows the CLI by (`CLIENT_ID` in v2's login utils).
    pub fn client_id(self) -> &'static str {
        match self {
            LoginType::SameDevice => "arn:aws:signin:::devtools/same-device",
            LoginType::CrossDevice => "arn:aws:signin:::devtools/cross-device",
        }
    }
}

/// One authorization request: what the browser opens and what the exchange needs later.
#[derive(Clone)]
pub struct AuthorizationRequest {
    /// The flow.
    pub login_type: LoginType,
    /// `redirect_uri`: the loopback listener, or `<base>/v1/sessions/confirmation`.
    pub redirect_uri: String,
    /// The expected `state` (a UUID).
    pub state: String,
    /// The PKCE verifier (secret until the exchange).
    verifier: String,
    /// The URL to open: `<base>/v1/authorize?…`.
    pub url: String,
}

impl std::fmt::Debug for AuthorizationRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationRequest")
            .field("login_type", &self.login_type)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// botocore's `percent_encode`: everything but `A–Z a–z 0–9 - . _ ~` escaped.
fn enc(s: &str) -> String {
    crate::sts::encode(s)
}

impl AuthorizationRequest {
    /// A new request against the Sign-In endpoint `base` (scheme and authority). The same
    /// device flow passes its listener's `redirect_uri`; the cross-device flow uses the
    /// service's confirmation page.
    pub fn new(
        base: &str,
        login_type: LoginType,
        redirect_uri: Option<&str>,
    ) -> AuthorizationRequest {
        let redirect_uri = match (login_type, redirect_uri) {
            (LoginType::SameDevice, Some(r)) => r.to_string(),
            _ => format!("{base}/v1/sessions/confirmation"),
        };
        let state = crate::sso::pkce::uuid4();
        let verifier = crate::sso::pkce::code_verifier();
        // The parameter order of `_get_authorization_uri`; `code_challenge` last, unescaped.
        let url = format!(
            "{base}/v1/authorize?response_type=code&client_id={}&state={}&code_challenge_method=SHA-256&scope=openid&redirect_uri={}&code_challenge={}",
            enc(login_type.client_id()),
            enc(&state),
            enc(&redirect_uri),
            crate::sso::pkce::challenge(&verifier),
        );
        AuthorizationRequest {
            login_type,
            redirect_uri,
            state,
            verifier,
            url,
        }
    }

    /// Checks a returned `state` (the CLI's texts).
    pub fn check_state(&self, state: &str) -> Result<(), LoginError> {
        if state == self.state {
            Ok(())
        } else {
            Err(LoginError::AuthorizationCode(format!(
                "State parameter {state} does not match expected value {}.",
                self.state
            )))
        }
    }

    /// Exchanges `code` for the session's first token (`grantType` `authorization_code`),
    /// with a DPoP proof by `key`, the key the session is bound to from now on.
    pub fn exchange(
        &self,
        client: &SigninClient<'_>,
        key: &DpopKey,
        code: &str,
    ) -> Result<LoginOutcome, CredentialsError> {
        let input = json!({
            "clientId": self.login_type.client_id(),
            "grantType": "authorization_code",
            "code": code,
            "codeVerifier": self.verifier,
            "redirectUri": self.redirect_uri,
        });
        let out = match client.create_oauth2_token(&input, key) {
            Ok(out) => out,
            Err(SigninError::Service { error, oauth_error }) if error.code == "AccessDeniedException" => {
                return Err(match oauth_error.as_deref() {
                    Some("AUTHCODE_EXPIRED") => LoginError::AuthorizationCode(
                        "Unable to complete the login process due to an expired authorization code. Please reauthenticate using 'aws login'.".into(),
                    )
                    .into(),
                    Some("INSUFFICIENT_PERMISSIONS") => LoginError::InsufficientPermissions.into(),
                    _ => CredentialsError::Service(error),
                })
            }
            Err(e) => return Err(e.into()),
        };
        let failed = || LoginError::AuthorizationCode("Failed to retrieve an access token.".into());
        let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let access = out.get("accessToken").ok_or_else(failed)?;
        let access_field = |k: &str| text(access, k).ok_or_else(failed);
        let id_token = text(&out, "idToken").ok_or_else(failed)?;
        let session = session_from_id_token(&id_token)?;
        let account = account_of(&session).ok_or_else(|| {
            LoginError::AuthorizationCode(format!("{session} is not an ARN with an account"))
        })?;
        let expires_in = out
            .get("expiresIn")
            .and_then(Value::as_i64)
            .ok_or_else(failed)?;
        let (key_id, secret, token) = (
            access_field("accessKeyId")?,
            access_field("secretAccessKey")?,
            access_field("sessionToken")?,
        );
        let token_type = text(&out, "tokenType").ok_or_else(failed)?;
        let refresh = text(&out, "refreshToken").ok_or_else(failed)?;
        let pem = key.to_pem();
        let token = LoginToken::from_exchange(TokenParts {
            access_key_id: &key_id,
            secret_access_key: &secret,
            session_token: &token,
            account_id: &account,
            expires_at: crate::time::now() + time::Duration::seconds(expires_in),
            token_type: &token_type,
            client_id: self.login_type.client_id(),
            refresh_token: &refresh,
            id_token: &id_token,
            dpop_key_pem: &pem,
        });
        Ok(LoginOutcome { token, session })
    }
}

/// A completed login: the token to cache and the session it belongs to.
#[derive(Debug)]
pub struct LoginOutcome {
    /// The token file's content.
    pub token: LoginToken,
    /// The session ARN (`login_session`), from the ID token's `sub`.
    pub session: String,
}

/// The `sub` of an ID token (v2 decodes the payload without checking the signature: the token
/// came over TLS from the service).
pub fn session_from_id_token(id_token: &str) -> Result<String, LoginError> {
    let parts: Vec<&str> = id_token.split('.').collect();
    let bad = |why: &str| LoginError::AuthorizationCode(why.to_string());
    if parts.len() != 3 {
        return Err(bad("Invalid JWT token - cannot extract payload"));
    }
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(parts[1].trim_end_matches('='))
        .map_err(|_| bad("Invalid JWT token - cannot extract payload"))?;
    let claims: Value = serde_json::from_slice(&payload)
        .map_err(|_| bad("Invalid JWT token - cannot extract payload"))?;
    claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| bad("Invalid JWT token - missing sub"))
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`).
pub fn account_of(arn: &str) -> Option<String> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    (parts.len() == 6 && parts[0] == "arn" && !parts[4].is_empty()).then(|| parts[4].to_string())
}

/// The cross-device verification code: base64 of `code=…&state=…` (any order), as the
/// confirmation page shows it (`CrossDeviceLoginTokenFetcher.parse_verification_code`).
pub fn parse_verification_code(text: &str) -> Result<(String, String), LoginError> {
    let bad = |why: &str| LoginError::AuthorizationCode(why.to_string());
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|_| bad("Failed to decode the verification code."))?;
    let query =
        String::from_utf8(bytes).map_err(|_| bad("Failed to decode the verification code."))?;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    // parse_qsl keeps the last of a repeated name.
    let get = |name: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    match (get("code"), get("state")) {
        (Some(code), Some(state)) => Ok((code, state)),
        _ => Err(bad(
            "Failed to retrieve an auth_code or state from the verification code",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_is_v2s() {
        let r = AuthorizationRequest::new(
            "https://us-east-1.signin.aws.amazon.com",
            LoginType::SameDevice,
            Some("http://127.0.0.1:4242/oauth/callback"),
        );
        let expected = format!(
            "https://us-east-1.signin.aws.amazon.com/v1/authorize?response_type=code&client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device&state={}&code_challenge_method=SHA-256&scope=openid&redirect_uri=http%3A%2F%2F127.0.0.1%3A4242%2Foauth%2Fcallback&code_challenge={}",
            r.state,
            crate::sso::pkce::challenge(&r.verifier)
        );
        assert_eq!(r.url, expected);
        assert_eq!(crate::sso::pkce::challenge(&r.verifier).len(), 43);
        let remote = AuthorizationRequest::new("http://h:1", LoginType::CrossDevice, None);
        assert_eq!(remote.redirect_uri, "http://h:1/v1/sessions/confirmation");
        assert!(remote.url.contains("devtools%2Fcross-device"));
        assert!(remote.check_state(&remote.state).is_ok());
        assert_eq!(
            remote.check_state("x").unwrap_err().to_string(),
            format!("Error loading or redeeming a login authorization code: State parameter x does not match expected value {}. ", remote.state)
        );
        assert!(!format!("{remote:?}").contains(&remote.verifier));
    }

    #[test]
    fn verification_codes_and_id_tokens() {
        let code = base64::engine::general_purpose::STANDARD.encode("state=s1&code=c%2B1");
        assert_eq!(
            parse_verification_code(&code).unwrap(),
            ("c+1".to_string(), "s1".to_string())
        );
        assert_eq!(
            parse_verification_code("!!").unwrap_err().to_string(),
            "Error loading or redeeming a login authorization code: Failed to decode the verification code. "
        );
        let only = base64::engine::general_purpose::STANDARD.encode("state=s1");
        assert!(parse_verification_code(&only).is_err());
        // The upstream vectors' sample ID token (ES384, payload with escaped slashes).
        let id = "eyJraWQiOiI1MzYxMjY2ZS1mNjI5LTQ0ZGQtOTA1My1jYzJkNTM1OTJiOTIiLCJ0eXAiOiJKV1QiLCJhbGciOiJFUzM4NCJ9.eyJzdWIiOiJhcm46YXdzOnN0czo6NzIxNzgxNjAzNzU1OmFzc3VtZWQtcm9sZVwvQWRtaW5cL3Nob3ZsaWEtSXNlbmdhcmQiLCJhdWQiOiJhcm46YXdzOnNpZ25pbjo6OmNsaVwvc2FtZS1kZXZpY2UiLCJpc3MiOiJodHRwczpcL1wvc2lnbmluLmF3cy5hbWF6b24uY29tXC9zaWduaW4iLCJzZXNzaW9uX2FybiI6ImFybjphd3M6c3RzOjo3MjE3ODE2MDM3NTU6YXNzdW1lZC1yb2xlXC9BZG1pblwvc2hvdmxpYS1Jc2VuZ2FyZCIsImV4cCI6MTc2MTE2Nzk0NiwiaWF0IjoxNzYxMTY3MDQ2fQ.sig";
        let session = session_from_id_token(id).unwrap();
        assert_eq!(
            session,
            "arn:aws:sts::721781603755:assumed-role/Admin/shovlia-Isengard"
        );
        assert_eq!(account_of(&session).as_deref(), Some("721781603755"));
        assert!(session_from_id_token("a.b").is_err());
        assert_eq!(
            account_of("arn:aws:iam::123456789012:user/a").as_deref(),
            Some("123456789012")
        );
        assert_eq!(account_of("not-an-arn"), None);
    }
}
