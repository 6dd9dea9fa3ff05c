//! SSO-OIDC: RegisterClient, StartDeviceAuthorization and CreateToken (device code,
//! authorization code + PKCE, refresh token), `docs/spec/sso-server.md` §3–§4.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use http::StatusCode;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use super::errors::{Service, SsoError};
use super::flows::{Device, Poll};
use super::model::SsoInstance;
use super::tokens::{
    self, client_ref, random_id, AuthCode, Client, DeviceCode, Grant, Kind, Secret, CODE_GRANT,
    DEVICE_GRANT, REFRESH_GRANT,
};
use super::SsoService;
use crate::http::RequestData;

/// Client registrations last 90 days, like the real service's.
pub(super) const REGISTRATION_LIFETIME: i64 = 90 * 86400;

/// RFC 8628 §6.1's unambiguous letters for user codes.
const USER_CODE_ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

fn bad_request(message: impl Into<String>) -> SsoError {
    SsoError::invalid_request(Service::Oidc, message)
}

/// The JSON object body of an OIDC request.
fn body(req: &RequestData) -> Result<Map<String, Value>, SsoError> {
    match serde_json::from_slice::<Value>(&req.body) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(bad_request("The request body must be a JSON object")),
        Err(_) if req.body.is_empty() => Ok(Map::new()),
        Err(e) => Err(bad_request(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

/// An optional string member.
fn opt_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<Option<&'a str>, SsoError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad_request(format!("{key} must be a string"))),
    }
}

/// A required, non-empty string member.
fn req_str<'a>(m: &'a Map<String, Value>, key: &str) -> Result<&'a str, SsoError> {
    opt_str(m, key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| bad_request(format!("{key} is required")))
}

/// An optional list of strings.
fn str_list(m: &Map<String, Value>, key: &str) -> Result<Vec<String>, SsoError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| bad_request(format!("{key} must be a list of strings")))
            })
            .collect(),
        Some(_) => Err(bad_request(format!("{key} must be a list of strings"))),
    }
}

fn is_scope(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":_.*-/".contains(&b))
}

/// A redirect URI a registration may hold: `https://…`, or plain `http` to a loopback host
/// (RFC 8252 §7.3; the CLI registers `http://127.0.0.1/oauth/callback`).
fn is_redirect_uri(u: &str) -> bool {
    if let Some(rest) = u.strip_prefix("https://") {
        return !rest.is_empty() && !rest.starts_with('/');
    }
    loopback_parts(u).is_some()
}

/// `(host, port, path-and-query)` of an `http` URI to a loopback host.
fn loopback_parts(u: &str) -> Option<(&str, Option<&str>, &str)> {
    let rest = u.strip_prefix("http://")?;
    let (authority, path) = match rest.find(['/', '?']) {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6.split_once(']')?;
        (h, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if !matches!(host, "127.0.0.1" | "localhost" | "::1") {
        return None;
    }
    if let Some(p) = port {
        if p.is_empty() || p.len() > 5 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
    }
    Some((host, port, if path.is_empty() { "/" } else { path }))
}

/// Whether `requested` (with any port) matches the registered loopback `registered` (RFC 8252
/// §7.3: the port is chosen at run time), or equals a registered `https` URI.
pub(super) fn redirect_matches(registered: &[String], requested: &str) -> bool {
    registered.iter().any(|r| {
        if r == requested {
            return true;
        }
        match (loopback_parts(r), loopback_parts(requested)) {
            (Some((h1, None, p1)), Some((h2, _, p2))) => h1 == h2 && p1 == p2,
            _ => false,
        }
    })
}

fn user_code() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    let mut s = String::with_capacity(9);
    for i in 0..8 {
        if i == 4 {
            s.push('-');
        }
        s.push(USER_CODE_ALPHABET[rng.random_range(0..USER_CODE_ALPHABET.len())] as char);
    }
    s
}

/// Verifies `clientId` + `clientSecret` (401 `InvalidClientException` otherwise).
pub(super) fn authenticate_client(
    svc: &SsoService,
    client_id: &str,
    client_secret: &str,
) -> Result<Client, SsoError> {
    let issuer = &svc.state.issuer;
    let client: Client = tokens::open(issuer, Kind::Client, client_id)
        .ok_or_else(|| SsoError::invalid_client("Invalid client provided"))?;
    let secret: Secret = tokens::open(issuer, Kind::Secret, client_secret)
        .filter(|s: &Secret| s.client == client_ref(client_id))
        .ok_or_else(|| SsoError::invalid_client("Invalid client secret provided"))?;
    if client.expires.min(secret.expires) <= svc.now() {
        return Err(SsoError::invalid_client("Client registration has expired"));
    }
    Ok(client)
}

/// The client registration behind a bare `clientId` (the browser flow sends no secret).
pub(super) fn client_by_id(svc: &SsoService, client_id: &str) -> Option<Client> {
    tokens::open::<Client>(&svc.state.issuer, Kind::Client, client_id)
        .filter(|c| c.expires > svc.now())
}

/// `POST /client/register`.
pub(super) fn register_client(svc: &SsoService, req: &RequestData) -> Result<Value, SsoError> {
    let m = body(req)?;
    let name = req_str(&m, "clientName")?;
    let client_type = req_str(&m, "clientType")?;
    if client_type != "public" {
        return Err(SsoError::oidc(
            StatusCode::BAD_REQUEST,
            "InvalidClientMetadataException",
            "invalid_client_metadata",
            format!("Invalid client type: {client_type}"),
        ));
    }
    let scopes = str_list(&m, "scopes")?;
    if let Some(bad) = scopes.iter().find(|s| !is_scope(s)) {
        return Err(SsoError::oidc(
            StatusCode::BAD_REQUEST,
            "InvalidScopeException",
            "invalid_scope",
            format!("Invalid scope: {bad}"),
        ));
    }
    let grant_types = str_list(&m, "grantTypes")?;
    if let Some(bad) = grant_types
        .iter()
        .find(|g| ![CODE_GRANT, REFRESH_GRANT, DEVICE_GRANT].contains(&g.as_str()))
    {
        return Err(SsoError::oidc(
            StatusCode::BAD_REQUEST,
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
            format!("Unsupported grant type: {bad}"),
        ));
    }
    let redirect_uris = str_list(&m, "redirectUris")?;
    let invalid_redirect = |message: String| {
        SsoError::oidc(
            StatusCode::BAD_REQUEST,
            "InvalidRedirectUriException",
            "invalid_redirect_uri",
            message,
        )
    };
    if let Some(bad) = redirect_uris.iter().find(|u| !is_redirect_uri(u)) {
        return Err(invalid_redirect(format!(
            "Invalid redirect URI: {bad} (use https, or http to a loopback address)"
        )));
    }
    let issuer_url = opt_str(&m, "issuerUrl")?.map(str::to_string);
    if let Some(u) = &issuer_url {
        if svc.state.world().sso_instance(u).is_none() {
            return Err(bad_request(format!("Unknown issuerUrl: {u}")));
        }
    }
    if grant_types.iter().any(|g| g == CODE_GRANT) {
        if redirect_uris.is_empty() {
            return Err(invalid_redirect(
                "The authorization_code grant needs redirectUris".into(),
            ));
        }
        if issuer_url.is_none() {
            return Err(bad_request("The authorization_code grant needs issuerUrl"));
        }
    }
    let now = svc.now();
    let expires = now + REGISTRATION_LIFETIME;
    let client = Client {
        id: random_id(),
        name: name.to_string(),
        scopes,
        grant_types,
        redirect_uris,
        issuer_url,
        issued: now,
        expires,
    };
    let issuer = &svc.state.issuer;
    let client_id = tokens::seal(issuer, Kind::Client, &client);
    let secret = Secret {
        client: client_ref(&client_id),
        expires,
    };
    let client_secret = tokens::seal(issuer, Kind::Secret, &secret);
    Ok(json!({
        "clientId": client_id,
        "clientSecret": client_secret,
        "clientIdIssuedAt": now,
        "clientSecretExpiresAt": expires,
    }))
}

/// `POST /device_authorization`.
pub(super) fn start_device_authorization(
    svc: &SsoService,
    req: &RequestData,
) -> Result<Value, SsoError> {
    let m = body(req)?;
    let client_id = req_str(&m, "clientId")?;
    let client_secret = req_str(&m, "clientSecret")?;
    let start_url = req_str(&m, "startUrl")?;
    let client = authenticate_client(svc, client_id, client_secret)?;
    if !client.allows(DEVICE_GRANT) {
        return Err(unauthorized_client(DEVICE_GRANT));
    }
    let world = svc.state.world();
    let inst = world
        .sso_instance(start_url)
        .ok_or_else(|| bad_request(format!("Invalid start URL: {start_url}")))?;
    let now = svc.now();
    let expires = now + inst.device_code_lifetime;
    let id = random_id();
    let mut code = String::new();
    for _ in 0..16 {
        let candidate = user_code();
        let mut device = Device::new(
            id.clone(),
            client_ref(client_id),
            client.name.clone(),
            inst.start_url.clone(),
            expires,
            Duration::from_secs(inst.poll_interval as u64),
        );
        device.auto = inst
            .auto_approve
            .map(|u| (inst.users[u].name.clone(), inst.auto_approve_after_polls));
        if svc
            .flows
            .start(&candidate, device, now)
            .map_err(|_| SsoError::busy(Service::Oidc))?
        {
            code = candidate;
            break;
        }
    }
    if code.is_empty() {
        return Err(SsoError::busy(Service::Oidc));
    }
    let device_code = DeviceCode {
        id,
        user_code: code.clone(),
        client: client_ref(client_id),
        start_url: inst.start_url.clone(),
        expires,
    };
    let sealed = tokens::seal(&svc.state.issuer, Kind::Device, &device_code);
    let page = format!("{}{}", super::base_url(req), super::DEVICE_PAGE);
    Ok(json!({
        "deviceCode": sealed,
        "userCode": code,
        "verificationUri": page,
        "verificationUriComplete": format!("{page}?user_code={code}"),
        "expiresIn": inst.device_code_lifetime,
        "interval": inst.poll_interval,
    }))
}

fn unauthorized_client(grant: &str) -> SsoError {
    SsoError::oidc(
        StatusCode::BAD_REQUEST,
        "UnauthorizedClientException",
        "unauthorized_client",
        format!("The client is not authorized to use the {grant} grant"),
    )
}

/// `POST /token`.
pub(super) fn create_token(svc: &SsoService, req: &RequestData) -> Result<Value, SsoError> {
    if req.uri.query().is_some_and(|q| q.contains("aws_iam")) {
        return Err(bad_request("CreateTokenWithIAM is not supported"));
    }
    let m = body(req)?;
    let client_id = req_str(&m, "clientId")?;
    let client_secret = req_str(&m, "clientSecret")?;
    let grant_type = req_str(&m, "grantType")?;
    let client = authenticate_client(svc, client_id, client_secret)?;
    if ![DEVICE_GRANT, CODE_GRANT, REFRESH_GRANT].contains(&grant_type) {
        return Err(SsoError::oidc(
            StatusCode::BAD_REQUEST,
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
            format!("Unsupported grant type: {grant_type}"),
        ));
    }
    if !client.allows(grant_type) {
        return Err(unauthorized_client(grant_type));
    }
    let now = svc.now();
    let issuer = &svc.state.issuer;
    let me = client_ref(client_id);
    match grant_type {
        DEVICE_GRANT => {
            let code = req_str(&m, "deviceCode")?;
            let dc: DeviceCode = tokens::open(issuer, Kind::Device, code)
                .filter(|d: &DeviceCode| d.client == me)
                .ok_or_else(|| SsoError::invalid_grant("Invalid device code provided"))?;
            if dc.expires <= now {
                return Err(SsoError::oidc(
                    StatusCode::BAD_REQUEST,
                    "ExpiredTokenException",
                    "expired_token",
                    "Device code has expired",
                ));
            }
            match svc
                .flows
                .poll(&dc.user_code, &dc.id, svc.state.clock.instant(), now)
            {
                Poll::Approved(user) => issue(svc, &client, &me, &dc.start_url, &user, None),
                Poll::Pending => Err(SsoError::oidc(
                    StatusCode::BAD_REQUEST,
                    "AuthorizationPendingException",
                    "authorization_pending",
                    "Authorization is still pending",
                )),
                Poll::SlowDown => Err(SsoError::oidc(
                    StatusCode::BAD_REQUEST,
                    "SlowDownException",
                    "slow_down",
                    "Client is polling too frequently",
                )),
                Poll::Denied => Err(SsoError::oidc(
                    StatusCode::BAD_REQUEST,
                    "AccessDeniedException",
                    "access_denied",
                    "The user denied the authorization request",
                )),
                Poll::Spent => Err(SsoError::invalid_grant("Device code has already been used")),
                Poll::Unknown => Err(SsoError::invalid_grant("Invalid device code provided")),
            }
        }
        CODE_GRANT => {
            let code = req_str(&m, "code")?;
            let redirect_uri = req_str(&m, "redirectUri")?;
            let verifier = req_str(&m, "codeVerifier")?;
            let ac: AuthCode = tokens::open(issuer, Kind::AuthCode, code)
                .filter(|c: &AuthCode| c.client == me)
                .ok_or_else(|| SsoError::invalid_grant("Invalid authorization code provided"))?;
            if ac.expires <= now {
                return Err(SsoError::invalid_grant("Authorization code has expired"));
            }
            if ac.redirect_uri != redirect_uri {
                return Err(SsoError::invalid_grant(
                    "redirectUri does not match the authorization request",
                ));
            }
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if !bool::from(subtle::ConstantTimeEq::ct_eq(
                challenge.as_bytes(),
                ac.challenge.as_bytes(),
            )) {
                return Err(SsoError::invalid_grant(
                    "Code verifier does not match the code challenge",
                ));
            }
            if !svc
                .flows
                .spend(&ac.id, ac.expires, now)
                .map_err(|_| SsoError::busy(Service::Oidc))?
            {
                return Err(SsoError::invalid_grant(
                    "Authorization code has already been used",
                ));
            }
            issue(svc, &client, &me, &ac.start_url, &ac.user, None)
        }
        _ => {
            let token = req_str(&m, "refreshToken")?;
            let old: Grant = tokens::open(issuer, Kind::Refresh, token)
                .filter(|g: &Grant| g.client == me)
                .ok_or_else(|| SsoError::invalid_grant("Invalid refresh token provided"))?;
            if old.expires <= now {
                return Err(SsoError::invalid_grant("Refresh token has expired"));
            }
            if svc.flows.is_revoked(&old.sid) {
                return Err(SsoError::invalid_grant("Refresh token has been revoked"));
            }
            if !svc
                .flows
                .spend(&old.id, old.expires, now)
                .map_err(|_| SsoError::busy(Service::Oidc))?
            {
                return Err(SsoError::invalid_grant(
                    "Refresh token has already been used",
                ));
            }
            issue(svc, &client, &me, &old.start_url, &old.user, Some(&old.sid))
        }
    }
}

/// Mints an access token (and a refresh token when the client may refresh) for `user` of the
/// instance at `start_url`, in login session `sid` (a new one when `None`).
fn issue(
    svc: &SsoService,
    client: &Client,
    client_ref: &str,
    start_url: &str,
    user: &str,
    sid: Option<&str>,
) -> Result<Value, SsoError> {
    let world = svc.state.world();
    let inst: &SsoInstance = world
        .sso_instance(start_url)
        .filter(|i| i.user(user).is_some())
        .ok_or_else(|| SsoError::invalid_grant("The user or instance no longer exists"))?;
    let now = svc.now();
    // Refresh tokens live as long as the registration; access tokens never outlive them.
    let session_end = client.expires;
    let expires = (now + inst.access_token_lifetime).min(session_end);
    let sid = sid.map(str::to_string).unwrap_or_else(random_id);
    let grant = |expires: i64| Grant {
        id: random_id(),
        sid: sid.clone(),
        client: client_ref.to_string(),
        start_url: inst.start_url.clone(),
        user: user.to_string(),
        scopes: client.scopes.clone(),
        issued: now,
        expires,
    };
    let issuer = &svc.state.issuer;
    let access = tokens::seal(issuer, Kind::Access, &grant(expires));
    let mut out = json!({
        "accessToken": access,
        "tokenType": "Bearer",
        "expiresIn": expires - now,
    });
    if client.allows(REFRESH_GRANT) {
        out["refreshToken"] =
            Value::String(tokens::seal(issuer, Kind::Refresh, &grant(session_end)));
    }
    Ok(out)
}

/// Issues an authorization code for an approved browser authorization.
pub(super) fn auth_code(
    svc: &SsoService,
    client_id: &str,
    redirect_uri: &str,
    challenge: &str,
    start_url: &str,
    user: &str,
    scopes: Vec<String>,
) -> String {
    let now = svc.now();
    let code = AuthCode {
        id: random_id(),
        client: client_ref(client_id),
        redirect_uri: redirect_uri.to_string(),
        challenge: challenge.to_string(),
        start_url: start_url.to_string(),
        user: user.to_string(),
        scopes,
        expires: now + 600,
    };
    tokens::seal(&svc.state.issuer, Kind::AuthCode, &code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_redirects_match_any_port() {
        let reg = vec!["http://127.0.0.1/oauth/callback".to_string()];
        assert!(redirect_matches(
            &reg,
            "http://127.0.0.1:43567/oauth/callback"
        ));
        assert!(redirect_matches(&reg, "http://127.0.0.1/oauth/callback"));
        assert!(!redirect_matches(&reg, "http://127.0.0.1:43567/other"));
        assert!(!redirect_matches(
            &reg,
            "http://evil.example:43567/oauth/callback"
        ));
        assert!(!redirect_matches(
            &reg,
            "http://127.0.0.1.evil.example/oauth/callback"
        ));
        let fixed = vec!["https://app.example/cb".to_string()];
        assert!(redirect_matches(&fixed, "https://app.example/cb"));
        assert!(!redirect_matches(&fixed, "https://app.example:8443/cb"));
        assert!(is_redirect_uri("http://[::1]:8080/cb"));
        assert!(!is_redirect_uri("http://example.com/cb"));
        assert!(!is_redirect_uri("http://127.0.0.1:abc/cb"));
    }

    #[test]
    fn user_codes_use_the_unambiguous_alphabet() {
        for _ in 0..50 {
            let c = user_code();
            assert_eq!(c.len(), 9);
            assert_eq!(&c[4..5], "-");
            assert!(c
                .bytes()
                .filter(|b| *b != b'-')
                .all(|b| USER_CODE_ALPHABET.contains(&b)));
        }
    }
}
