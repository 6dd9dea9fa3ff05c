//! `CreateOAuth2Token` (`POST /v1/token`): the authorization code exchange (PKCE, the code's
//! client and redirect, single use) and the refresh (the token's DPoP key, single use with
//! rotation, the session's 12 hours), each answered with credentials of the signed-in user.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::StatusCode;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::errors::SigninError;
use super::grants::{self, AuthCode, Kind, RefreshGrant};
use super::{dpop, SigninService, ACCESS_TOKEN_SECONDS, CROSS_DEVICE, SAME_DEVICE, TOKEN};
use crate::http::{HttpResponse, RequestData};
use crate::issuer::{SessionClaims, SessionKind};
use crate::world::User;

/// The request's `tokenInput`, from a JSON body (the model's member names) or a form body
/// (OAuth's names).
#[derive(Debug, Default)]
struct TokenInput {
    client_id: String,
    grant_type: String,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
    refresh_token: Option<String>,
}

fn parse_input(req: &RequestData) -> Result<TokenInput, SigninError> {
    let form = req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"));
    if form {
        let pairs = crate::sso::parse_pairs(&String::from_utf8_lossy(&req.body));
        return Ok(TokenInput::from_members(|_, oauth| {
            crate::sso::pair(&pairs, oauth).map(str::to_string)
        }));
    }
    let body: Value = serde_json::from_slice(&req.body)
        .map_err(|_| SigninError::validation("The request body is not a JSON object"))?;
    if !body.is_object() {
        return Err(SigninError::validation(
            "The request body is not a JSON object",
        ));
    }
    Ok(TokenInput::from_members(|member, _| {
        body.get(member).and_then(Value::as_str).map(str::to_string)
    }))
}

impl TokenInput {
    /// The input from `get(jsonMember, oauth_name)`, whichever spelling the body uses.
    fn from_members(get: impl Fn(&str, &str) -> Option<String>) -> TokenInput {
        TokenInput {
            client_id: get("clientId", "client_id").unwrap_or_default(),
            grant_type: get("grantType", "grant_type").unwrap_or_default(),
            code: get("code", "code"),
            redirect_uri: get("redirectUri", "redirect_uri"),
            code_verifier: get("codeVerifier", "code_verifier"),
            refresh_token: get("refreshToken", "refresh_token"),
        }
    }
}

/// Answers `POST /v1/token`.
pub(super) fn create_oauth2_token(svc: &SigninService, req: &RequestData) -> HttpResponse {
    match run(svc, req) {
        Ok(body) => {
            let mut r = crate::sso::errors::json_response(
                StatusCode::OK,
                body.to_string(),
                &crate::sts::request_id(),
            );
            r.headers_mut().insert(
                http::header::CACHE_CONTROL,
                http::HeaderValue::from_static("no-store"),
            );
            r
        }
        Err(e) => {
            tracing::debug!(error = e.error, status = e.status.as_u16(), "signin error");
            e.response()
        }
    }
}

fn run(svc: &SigninService, req: &RequestData) -> Result<Value, SigninError> {
    let input = parse_input(req)?;
    if input.client_id != SAME_DEVICE && input.client_id != CROSS_DEVICE {
        return Err(SigninError::validation(format!(
            "clientId must be {SAME_DEVICE} or {CROSS_DEVICE}"
        )));
    }
    let now = svc.now();
    let url = format!("{}{TOKEN}", crate::sso::base_url(req));
    let header = req.headers.get("dpop").and_then(|v| v.to_str().ok());
    let proof = dpop::check(header, &url, now)?;
    let fresh = svc
        .spent
        .spend(
            &format!("jti:{}", proof.jti),
            proof.iat + dpop::MAX_AGE_SECONDS + 1,
            now,
        )
        .map_err(|_| SigninError::too_many())?;
    if !fresh {
        return Err(SigninError::validation(
            "Invalid DPoP proof: this proof was already used",
        ));
    }
    match input.grant_type.as_str() {
        "authorization_code" => exchange(svc, &input, &proof.jkt, now),
        "refresh_token" => refresh(svc, &input, &proof.jkt, now),
        _ => Err(SigninError::validation(
            "grantType must be authorization_code or refresh_token",
        )),
    }
}

/// `base64url(SHA-256(verifier))` without padding (RFC 7636 §4.2).
fn challenge_of(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

fn exchange(
    svc: &SigninService,
    input: &TokenInput,
    jkt: &str,
    now: i64,
) -> Result<Value, SigninError> {
    let issuer = &svc.state.issuer;
    let code: AuthCode = input
        .code
        .as_deref()
        .and_then(|c| grants::open(issuer, Kind::Code, c))
        .ok_or_else(SigninError::bad_grant)?;
    if code.expires <= now {
        return Err(SigninError::access_denied(
            "AUTHCODE_EXPIRED",
            "The authorization code has expired",
        ));
    }
    let verifier = input.code_verifier.as_deref().unwrap_or("");
    if !valid_verifier(verifier) {
        return Err(SigninError::validation(
            "codeVerifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~",
        ));
    }
    if code.client_id != input.client_id
        || input.redirect_uri.as_deref() != Some(code.redirect_uri.as_str())
        || challenge_of(verifier) != code.challenge
    {
        return Err(SigninError::bad_grant());
    }
    let user = &svc
        .user_by_arn(&code.user_arn)
        .ok_or_else(SigninError::bad_grant)?;
    permitted(svc, user, code.mfa)?;
    if !svc
        .spent
        .spend(&format!("code:{}", code.id), code.expires, now)
        .map_err(|_| SigninError::too_many())?
    {
        return Err(SigninError::bad_grant());
    }
    let grant = RefreshGrant {
        id: crate::sso::tokens::random_id(),
        session: crate::sso::tokens::random_id(),
        user_arn: user.arn.clone(),
        client_id: input.client_id.clone(),
        jkt: jkt.to_string(),
        auth_time: code.auth_time,
        mfa: code.mfa,
        session_end: code.auth_time + super::SESSION_SECONDS,
    };
    let mut out = answer(svc, user, &grant, now);
    out["idToken"] = json!(id_token(svc, user, &input.client_id, now));
    Ok(out)
}

fn refresh(
    svc: &SigninService,
    input: &TokenInput,
    jkt: &str,
    now: i64,
) -> Result<Value, SigninError> {
    let issuer = &svc.state.issuer;
    let old: RefreshGrant = input
        .refresh_token
        .as_deref()
        .and_then(|t| grants::open(issuer, Kind::Refresh, t))
        .ok_or_else(SigninError::bad_grant)?;
    if old.client_id != input.client_id || svc.spent.is_revoked(&old.session) {
        return Err(SigninError::bad_grant());
    }
    if old.jkt != jkt {
        return Err(SigninError::validation(
            "Invalid DPoP proof: the key is not the one the refresh token is bound to",
        ));
    }
    if old.session_end <= now {
        return Err(SigninError::access_denied(
            "TOKEN_EXPIRED",
            "The login session has expired",
        ));
    }
    let user = &svc
        .user_by_arn(&old.user_arn)
        .ok_or_else(SigninError::bad_grant)?;
    permitted(svc, user, old.mfa)?;
    // Single use: a refresh token used twice (two refreshers racing with one copy of the
    // file) is refused, so the second caller cannot overwrite the rotated token.
    if !svc
        .spent
        .spend(&format!("refresh:{}", old.id), old.session_end, now)
        .map_err(|_| SigninError::too_many())?
    {
        return Err(SigninError::bad_grant());
    }
    let grant = RefreshGrant {
        id: crate::sso::tokens::random_id(),
        ..old
    };
    Ok(answer(svc, user, &grant, now))
}

fn permitted(svc: &SigninService, user: &User, mfa: bool) -> Result<(), SigninError> {
    let action = "signin:CreateOAuth2Token";
    let e = svc.allowed(user, action, mfa);
    if e.decision == crate::policy::Decision::Allow {
        return Ok(());
    }
    tracing::debug!("{}", super::explain(&e, action));
    Err(SigninError::access_denied(
        "INSUFFICIENT_PERMISSIONS",
        format!("User {} is not authorized to perform {action}", user.arn),
    ))
}

/// The token answer: credentials of `user` until the earlier of 15 minutes and the session's
/// end, and the next refresh token.
fn answer(svc: &SigninService, user: &User, grant: &RefreshGrant, now: i64) -> Value {
    let expires = (now + ACCESS_TOKEN_SECONDS).min(grant.session_end);
    let claims = SessionClaims {
        access_key_id: String::new(),
        kind: SessionKind::User,
        account: user.account.clone(),
        arn: user.arn.clone(),
        user_id: user.id.clone(),
        role_arn: None,
        session_name: None,
        issued: now,
        expires,
        mfa_time: grant.mfa.then_some(grant.auth_time),
        chained: true,
        source_identity: None,
        policy: None,
        tags: Vec::new(),
        transitive_tag_keys: Vec::new(),
        parent_user: None,
    };
    let creds = svc.state.issuer.issue(claims);
    json!({
        "accessToken": {
            "accessKeyId": creds.access_key_id,
            "secretAccessKey": creds.secret_access_key,
            "sessionToken": creds.session_token,
        },
        "tokenType": "aws_sigv4",
        "expiresIn": expires - now,
        "refreshToken": grants::seal(&svc.state.issuer, Kind::Refresh, grant),
    })
}

/// The ID token naming the session (`sub`), HS256 under the issuer's key (clients decode it
/// without checking; any replica could).
fn id_token(svc: &SigninService, user: &User, client_id: &str, now: i64) -> String {
    let header = json!({"typ": "JWT", "alg": "HS256", "kid": "awsid-signin"});
    let claims = json!({
        "sub": user.arn,
        "aud": client_id,
        "iss": "awsid-signin",
        "session_arn": user.arn,
        "exp": now + ACCESS_TOKEN_SECONDS,
        "iat": now,
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = svc.state.issuer.mac("signin:id-token", input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_and_verifier_rules() {
        // RFC 7636 appendix B.
        assert_eq!(
            challenge_of("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(valid_verifier(&"a".repeat(43)));
        assert!(!valid_verifier(&"a".repeat(42)));
        assert!(!valid_verifier(&format!("{}!", "a".repeat(43))));
    }
}
