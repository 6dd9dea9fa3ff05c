//! The SSO endpoints over HTTP: every row of `docs/spec/sso-server.md` §6's checklist, plus the pages,
//! the knobs and the refusals.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::testutil::{get, send, Reply};
use crate::world::World;
use crate::LocalServer;

const START_URL: &str = "https://my-sso-portal.awsapps.com/start";
const USER: &str = "sso-user@example.com";
const SCOPES: &str = "sso:account:access";

fn server() -> LocalServer {
    crate::spawn_local(World::default_world()).unwrap()
}

fn world_with(extra: &str) -> LocalServer {
    let text = format!("{}\n{extra}", crate::world::DEFAULT_WORLD);
    crate::spawn_local(World::parse(&text, "t").unwrap()).unwrap()
}

fn api(s: &LocalServer) -> SocketAddr {
    s.bound.api.unwrap()
}

fn post(s: &LocalServer, path: &str, body: &Value) -> Reply {
    send(
        api(s),
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
}

fn json_of(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

/// Asserts an OIDC error: status, `x-amzn-ErrorType` (with the AWS namespace), `error` code.
#[track_caller]
fn assert_oidc_error(r: &Reply, status: u16, shape: &str, code: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(
        r.header("x-amzn-ErrorType"),
        Some(format!("{shape}:http://internal.amazon.com/coral/com.amazonaws.sso.oidc/").as_str()),
        "{}",
        r.body
    );
    let b = json_of(r);
    assert_eq!(b["error"], code, "{}", r.body);
    assert!(b.get("code").is_none() && b.get("__type").is_none());
    assert!(r.header("x-amzn-RequestId").is_some());
}

#[track_caller]
fn assert_portal_error(r: &Reply, status: u16, shape: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("x-amzn-ErrorType"), Some(shape), "{}", r.body);
    let b = json_of(r);
    assert_eq!(
        b["__type"],
        format!("com.amazonaws.switchboard.portal#{shape}")
    );
}

/// RegisterClient like the CLI's device flow for an sso-session (with scopes) or legacy
/// configuration (without).
fn register(s: &LocalServer, scopes: bool) -> (String, String) {
    let mut body = json!({"clientName": "botocore-client-my-sso", "clientType": "public"});
    if scopes {
        body["scopes"] = json!([SCOPES]);
    }
    let r = post(s, "/client/register", &body);
    assert_eq!(r.status, 200, "{}", r.body);
    let b = json_of(&r);
    let issued = b["clientIdIssuedAt"].as_i64().unwrap();
    let expires = b["clientSecretExpiresAt"].as_i64().unwrap();
    assert!((issued - s.state.clock.now()).abs() <= 2, "seconds, not ms");
    assert_eq!(expires - issued, 90 * 86400);
    (
        b["clientId"].as_str().unwrap().to_string(),
        b["clientSecret"].as_str().unwrap().to_string(),
    )
}

fn register_pkce(s: &LocalServer) -> (String, String) {
    let r = post(
        s,
        "/client/register",
        &json!({"clientName": "botocore-client-my-sso", "clientType": "public",
                "scopes": [SCOPES], "grantTypes": ["authorization_code", "refresh_token"],
                "redirectUris": ["http://127.0.0.1/oauth/callback"], "issuerUrl": START_URL}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let b = json_of(&r);
    (
        b["clientId"].as_str().unwrap().to_string(),
        b["clientSecret"].as_str().unwrap().to_string(),
    )
}

fn start(s: &LocalServer, client: &(String, String)) -> Value {
    let r = post(
        s,
        "/device_authorization",
        &json!({"clientId": client.0, "clientSecret": client.1, "startUrl": START_URL}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    json_of(&r)
}

fn device_token(s: &LocalServer, client: &(String, String), device_code: &str) -> Reply {
    post(
        s,
        "/token",
        &json!({"clientId": client.0, "clientSecret": client.1,
                "grantType": "urn:ietf:params:oauth:grant-type:device_code",
                "deviceCode": device_code}),
    )
}

/// Submits the verification page's form (the tests' approval knob).
fn decide(s: &LocalServer, user_code: &str, action: &str, user: Option<&str>) -> Reply {
    let mut form = format!("user_code={user_code}&action={action}");
    if let Some(u) = user {
        form.push_str(&format!("&user={}", super::encode(u)));
    }
    send(
        api(s),
        "POST",
        "/device",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
}

/// Logs in with the device flow (approved on the page); returns the CreateToken response.
fn login(s: &LocalServer, scopes: bool) -> ((String, String), Value) {
    let client = register(s, scopes);
    let d = start(s, &client);
    let code = d["deviceCode"].as_str().unwrap();
    let r = device_token(s, &client, code);
    assert_oidc_error(
        &r,
        400,
        "AuthorizationPendingException",
        "authorization_pending",
    );
    let r = decide(s, d["userCode"].as_str().unwrap(), "approve", Some(USER));
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.body.contains("Request approved"));
    let r = device_token(s, &client, code);
    assert_eq!(r.status, 200, "{}", r.body);
    (client, json_of(&r))
}

fn portal_get(s: &LocalServer, path: &str, token: &str) -> Reply {
    get(api(s), path, &[("x-amz-sso_bearer_token", token)])
}

// ---------------------------------------------------------------- checklist 1–3: device flow

#[test]
fn device_flow_pending_then_tokens_then_spent() {
    let s = server();
    let client = register(&s, true);
    let d = start(&s, &client);
    let user_code = d["userCode"].as_str().unwrap();
    assert_eq!(user_code.len(), 9);
    let base = format!("http://{}/device", api(&s));
    assert_eq!(d["verificationUri"], base);
    assert_eq!(
        d["verificationUriComplete"],
        format!("{base}?user_code={user_code}")
    );
    assert_eq!(
        (d["expiresIn"].as_i64(), d["interval"].as_i64()),
        (Some(600), Some(1))
    );
    let code = d["deviceCode"].as_str().unwrap();
    // The CLI's first two polls (before and right after printing the instructions) are pending.
    for _ in 0..2 {
        let r = device_token(&s, &client, code);
        assert_oidc_error(
            &r,
            400,
            "AuthorizationPendingException",
            "authorization_pending",
        );
        assert_eq!(
            json_of(&r)["error_description"],
            "Authorization is still pending"
        );
    }
    // The page shows the code, the client and the users.
    let page = get(
        api(&s),
        &format!("/device?user_code={}", user_code.to_lowercase()),
        &[],
    );
    assert_eq!(page.status, 200);
    assert!(page.body.contains("botocore-client-my-sso") && page.body.contains(USER));
    assert!(decide(&s, user_code, "approve", Some(USER)).status == 200);
    let r = device_token(&s, &client, code);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = json_of(&r);
    assert_eq!(t["tokenType"], "Bearer");
    assert_eq!(t["expiresIn"], 28800);
    assert!(t["accessToken"].as_str().unwrap().starts_with("aoa"));
    assert!(
        t["refreshToken"].as_str().unwrap().starts_with("aor"),
        "scoped client refreshes"
    );
    assert!(t.get("idToken").is_none());
    // The code is single use.
    assert_oidc_error(
        &device_token(&s, &client, code),
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
    // And the page no longer offers it.
    assert_eq!(decide(&s, user_code, "deny", None).status, 409);
}

#[test]
fn polling_too_fast_slows_down() {
    let s = server();
    let client = register(&s, false);
    let d = start(&s, &client);
    let code = d["deviceCode"].as_str().unwrap();
    device_token(&s, &client, code);
    device_token(&s, &client, code);
    let r = device_token(&s, &client, code);
    assert_oidc_error(&r, 400, "SlowDownException", "slow_down");
    // Waiting the original second (on the server's clock) is still too fast: the interval
    // grew to 6 s.
    s.state.clock.advance(1);
    let r = device_token(&s, &client, code);
    assert_oidc_error(&r, 400, "SlowDownException", "slow_down");
}

#[test]
fn waiting_the_interval_is_pending() {
    let s = server();
    let client = register(&s, false);
    let d = start(&s, &client);
    let code = d["deviceCode"].as_str().unwrap();
    for i in 0..3 {
        let r = device_token(&s, &client, code);
        assert_oidc_error(
            &r,
            400,
            "AuthorizationPendingException",
            "authorization_pending",
        );
        if i > 0 {
            s.state.clock.advance(1);
        }
    }
}

#[test]
fn expired_and_denied_device_codes() {
    let s = server();
    let client = register(&s, false);
    let d = start(&s, &client);
    let code = d["deviceCode"].as_str().unwrap();
    // Approved but not redeemed before expiry: expired.
    decide(&s, d["userCode"].as_str().unwrap(), "approve", Some(USER));
    s.state.clock.advance(601);
    assert_oidc_error(
        &device_token(&s, &client, code),
        400,
        "ExpiredTokenException",
        "expired_token",
    );
    // The page refuses an expired code.
    let page = get(
        api(&s),
        &format!("/device?user_code={}", d["userCode"].as_str().unwrap()),
        &[],
    );
    assert_eq!(page.status, 400);
    assert!(page.body.contains("not valid or has expired"));

    let d = start(&s, &client);
    let r = decide(&s, d["userCode"].as_str().unwrap(), "deny", None);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("Request denied"));
    let r = device_token(&s, &client, d["deviceCode"].as_str().unwrap());
    assert_oidc_error(&r, 400, "AccessDeniedException", "access_denied");
}

#[test]
fn client_credentials_are_checked_first() {
    let s = server();
    let client = register(&s, false);
    let other = register(&s, false);
    let d = start(&s, &client);
    let code = d["deviceCode"].as_str().unwrap();
    // Wrong secret (another registration's): 401 before the device code is looked at.
    let r = device_token(&s, &(client.0.clone(), other.1.clone()), code);
    assert_oidc_error(&r, 401, "InvalidClientException", "invalid_client");
    let r = device_token(&s, &("garbage".into(), client.1.clone()), code);
    assert_oidc_error(&r, 401, "InvalidClientException", "invalid_client");
    // Another client's device code: invalid grant.
    let r = device_token(&s, &other, code);
    assert_oidc_error(&r, 400, "InvalidGrantException", "invalid_grant");
    let r = device_token(&s, &client, "awsidd-forged");
    assert_oidc_error(&r, 400, "InvalidGrantException", "invalid_grant");
    // Unknown start URL, missing members, bad JSON, an expired registration.
    let r = post(
        &s,
        "/device_authorization",
        &json!({"clientId": client.0, "clientSecret": client.1, "startUrl": "https://nope.awsapps.com/start"}),
    );
    assert_oidc_error(&r, 400, "InvalidRequestException", "invalid_request");
    let r = post(
        &s,
        "/token",
        &json!({"clientId": client.0, "clientSecret": client.1}),
    );
    assert_oidc_error(&r, 400, "InvalidRequestException", "invalid_request");
    let r = send(api(&s), "POST", "/token", &[], b"{not json");
    assert_oidc_error(&r, 400, "InvalidRequestException", "invalid_request");
    let r = post(
        &s,
        "/token",
        &json!({"clientId": client.0, "clientSecret": client.1, "grantType": "password"}),
    );
    assert_oidc_error(
        &r,
        400,
        "UnsupportedGrantTypeException",
        "unsupported_grant_type",
    );
    // A legacy (scope-less) device client may not refresh.
    let r = post(
        &s,
        "/token",
        &json!({"clientId": client.0, "clientSecret": client.1, "grantType": "refresh_token", "refreshToken": "x"}),
    );
    assert_oidc_error(
        &r,
        400,
        "UnauthorizedClientException",
        "unauthorized_client",
    );
    s.state.clock.advance(90 * 86400 + 1);
    let r = post(
        &s,
        "/device_authorization",
        &json!({"clientId": client.0, "clientSecret": client.1, "startUrl": START_URL}),
    );
    assert_oidc_error(&r, 401, "InvalidClientException", "invalid_client");
}

#[test]
fn register_client_validation() {
    let s = server();
    let cases = [
        (
            json!({"clientName": "x", "clientType": "confidential"}),
            "InvalidClientMetadataException",
            "invalid_client_metadata",
        ),
        (
            json!({"clientType": "public"}),
            "InvalidRequestException",
            "invalid_request",
        ),
        (
            json!({"clientName": "x", "clientType": "public", "scopes": ["bad scope"]}),
            "InvalidScopeException",
            "invalid_scope",
        ),
        (
            json!({"clientName": "x", "clientType": "public", "grantTypes": ["password"]}),
            "UnsupportedGrantTypeException",
            "unsupported_grant_type",
        ),
        (
            json!({"clientName": "x", "clientType": "public", "grantTypes": ["authorization_code"],
                "redirectUris": ["http://evil.example/cb"], "issuerUrl": START_URL}),
            "InvalidRedirectUriException",
            "invalid_redirect_uri",
        ),
        (
            json!({"clientName": "x", "clientType": "public", "grantTypes": ["authorization_code"],
                "issuerUrl": START_URL}),
            "InvalidRedirectUriException",
            "invalid_redirect_uri",
        ),
        (
            json!({"clientName": "x", "clientType": "public", "issuerUrl": "https://nope/start"}),
            "InvalidRequestException",
            "invalid_request",
        ),
    ];
    for (body, shape, code) in cases {
        let r = post(&s, "/client/register", &body);
        assert_oidc_error(&r, 400, shape, code);
    }
    // The right method only.
    let r = get(api(&s), "/client/register", &[]);
    assert_eq!(r.status, 404);
}

#[test]
fn auto_approve_knob() {
    let s = world_with(
        r#"
[[accounts]]
id = "555555555555"
[[sso_instances]]
start_url = "https://auto.awsapps.com/start"
region = "eu-west-1"
auto_approve = "bob"
auto_approve_after_polls = 1
access_token_lifetime_seconds = 3600
[[sso_instances.users]]
name = "bob"
[[sso_instances.permission_sets]]
name = "Dev"
[[sso_instances.assignments]]
user = "bob"
account = "555555555555"
permission_set = "Dev"
"#,
    );
    let client = register(&s, false);
    let r = post(
        &s,
        "/device_authorization",
        &json!({"clientId": client.0, "clientSecret": client.1, "startUrl": "https://auto.awsapps.com/start/"}),
    );
    let d = json_of(&r);
    let code = d["deviceCode"].as_str().unwrap();
    assert_oidc_error(
        &device_token(&s, &client, code),
        400,
        "AuthorizationPendingException",
        "authorization_pending",
    );
    let r = device_token(&s, &client, code);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = json_of(&r);
    assert_eq!(t["expiresIn"], 3600);
    assert!(
        t.get("refreshToken").is_none(),
        "legacy clients get no refresh token"
    );
    let creds = portal_get(
        &s,
        "/federation/credentials?role_name=Dev&account_id=555555555555",
        t["accessToken"].as_str().unwrap(),
    );
    assert_eq!(creds.status, 200, "{}", creds.body);
}

// ---------------------------------------------------------------- checklist 4–6: portal

fn signed_caller_identity(s: &LocalServer, akid: &str, secret: &str, token: &str) -> Reply {
    let addr = api(s);
    let host = addr.to_string();
    let body = "Action=GetCallerIdentity&Version=2011-06-15";
    let ct = "application/x-www-form-urlencoded; charset=utf-8";
    let headers = [("host", host.as_str()), ("content-type", ct)];
    let req = awsid_sigv4::SignableRequest::new("POST", "/", "", &headers, body.as_bytes());
    let sc = awsid_sigv4::Credentials::new(
        akid.to_string(),
        secret.to_string(),
        Some(token.to_string()),
    );
    let time = UNIX_EPOCH + Duration::from_secs(s.state.clock.now() as u64);
    let signed = awsid_sigv4::sign_headers(
        &req,
        &awsid_sigv4::SigningParams {
            credentials: &sc,
            region: "us-east-1",
            service: "sts",
            time,
            settings: Default::default(),
        },
    )
    .unwrap();
    let mut h: Vec<(&str, &str)> = vec![("Content-Type", ct)];
    for (n, v) in &signed.headers {
        h.push((n, v));
    }
    send(addr, "POST", "/", &h, body.as_bytes())
}

#[test]
fn role_credentials_are_sessions_of_the_reserved_role() {
    let s = server();
    let (_, t) = login(&s, true);
    let token = t["accessToken"].as_str().unwrap();
    let r = portal_get(
        &s,
        "/federation/credentials?role_name=readOnly&account_id=444455556666",
        token,
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let rc = &json_of(&r)["roleCredentials"];
    let ms = rc["expiration"].as_i64().unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    assert!(
        (ms - now_ms - 3_600_000).abs() < 10_000,
        "epoch milliseconds, 1 h: {ms}"
    );
    let akid = rc["accessKeyId"].as_str().unwrap();
    assert!(akid.starts_with("ASIA"));
    let who = signed_caller_identity(
        &s,
        akid,
        rc["secretAccessKey"].as_str().unwrap(),
        rc["sessionToken"].as_str().unwrap(),
    );
    assert_eq!(who.status, 200, "{}", who.body);
    let w = &s.state.world();
    let inst = &w.sso_instances[0];
    let a = inst.assignment(0, "444455556666", "readOnly").unwrap();
    let role = &w.roles[a.role];
    let arn = format!(
        "arn:aws:sts::444455556666:assumed-role/{}/{USER}",
        role.name
    );
    assert!(
        who.body.contains(&format!("<Arn>{arn}</Arn>")),
        "{}",
        who.body
    );
    assert!(who.body.contains("<Account>444455556666</Account>"));
    assert!(role.name.starts_with("AWSReservedSSO_readOnly_"));
    // FullAccess sessions last the permission set's 12 hours.
    let r = portal_get(
        &s,
        "/federation/credentials?role_name=FullAccess&account_id=111122223333",
        token,
    );
    let ms = json_of(&r)["roleCredentials"]["expiration"]
        .as_i64()
        .unwrap();
    assert!((ms - now_ms - 43_200_000).abs() < 10_000);
}

#[test]
fn portal_refusals_have_the_observed_bodies() {
    let s = server();
    let (_, t) = login(&s, true);
    let token = t["accessToken"].as_str().unwrap();
    // Wrong role name: 403 "No access".
    let r = portal_get(
        &s,
        "/federation/credentials?role_name=readonly&account_id=111122223333",
        token,
    );
    assert_portal_error(&r, 403, "ForbiddenException");
    assert_eq!(json_of(&r)["message"], "No access");
    let r = portal_get(
        &s,
        "/federation/credentials?role_name=readOnly&account_id=123456789012",
        token,
    );
    assert_portal_error(&r, 403, "ForbiddenException");
    // Missing parameter: 400.
    let r = portal_get(&s, "/federation/credentials?role_name=readOnly", token);
    assert_portal_error(&r, 400, "InvalidRequestException");
    // Unknown, missing or expired token: 401 with the observed body.
    let observed = json!({"message": "Session token not found or invalid",
                          "__type": "com.amazonaws.switchboard.portal#UnauthorizedException"});
    for r in [
        portal_get(&s, "/assignment/accounts", "aoaforged"),
        get(api(&s), "/assignment/accounts", &[]),
    ] {
        assert_portal_error(&r, 401, "UnauthorizedException");
        assert_eq!(json_of(&r), observed);
    }
    s.state.clock.advance(28800);
    let r = portal_get(
        &s,
        "/federation/credentials?role_name=readOnly&account_id=111122223333",
        token,
    );
    assert_portal_error(&r, 401, "UnauthorizedException");
    assert_eq!(json_of(&r), observed);
}

#[test]
fn logout_revokes_the_session() {
    let s = server();
    let (client, t) = login(&s, true);
    let token = t["accessToken"].as_str().unwrap();
    let r = send(
        api(&s),
        "POST",
        "/logout",
        &[("x-amz-sso_bearer_token", token)],
        b"",
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.body, "");
    let r = portal_get(
        &s,
        "/federation/credentials?role_name=readOnly&account_id=111122223333",
        token,
    );
    assert_portal_error(&r, 401, "UnauthorizedException");
    // Its refresh token is revoked too.
    let r = post(
        &s,
        "/token",
        &json!({"clientId": client.0, "clientSecret": client.1, "grantType": "refresh_token",
                "refreshToken": t["refreshToken"]}),
    );
    assert_oidc_error(&r, 400, "InvalidGrantException", "invalid_grant");
    // Logging out again: 401.
    let r = send(
        api(&s),
        "POST",
        "/logout",
        &[("x-amz-sso_bearer_token", token)],
        b"",
    );
    assert_portal_error(&r, 401, "UnauthorizedException");
}

#[test]
fn accounts_and_roles_paginate() {
    let s = server();
    let (_, t) = login(&s, true);
    let token = t["accessToken"].as_str().unwrap();
    let mut accounts = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let path = match &next {
            None => "/assignment/accounts?max_result=1".to_string(),
            Some(n) => format!(
                "/assignment/accounts?max_result=1&next_token={}",
                super::encode(n)
            ),
        };
        let r = portal_get(&s, &path, token);
        assert_eq!(r.status, 200, "{}", r.body);
        let b = json_of(&r);
        assert_eq!(b["accountList"].as_array().unwrap().len(), 1);
        accounts.push(b["accountList"][0].clone());
        match b["nextToken"].as_str() {
            Some(n) => next = Some(n.to_string()),
            None => {
                assert!(b["nextToken"].is_null());
                break;
            }
        }
    }
    assert_eq!(
        Value::Array(accounts),
        json!([
            {"accountId": "111122223333", "accountName": "DeveloperAccount", "emailAddress": "developer-account-admin@example.com"},
            {"accountId": "444455556666", "accountName": "ProductionAccount", "emailAddress": "production-account-admin@example.com"},
        ])
    );
    let mut roles = Vec::new();
    let mut path = "/assignment/roles?account_id=111122223333&max_result=1".to_string();
    loop {
        let b = json_of(&portal_get(&s, &path, token));
        roles.extend(b["roleList"].as_array().unwrap().iter().cloned());
        match b["nextToken"].as_str() {
            Some(n) => {
                path = format!(
                    "/assignment/roles?account_id=111122223333&max_result=1&next_token={}",
                    super::encode(n)
                )
            }
            None => break,
        }
    }
    let names: Vec<&str> = roles
        .iter()
        .map(|r| r["roleName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["readOnly", "ReadOnly", "FullAccess"]);
    assert!(roles.iter().all(|r| r["accountId"] == "111122223333"));
    // Everything on one page by default; an account without assignments has no roles.
    let b = json_of(&portal_get(
        &s,
        "/assignment/roles?account_id=111122223333",
        token,
    ));
    assert_eq!(b["roleList"].as_array().unwrap().len(), 3);
    let b = json_of(&portal_get(
        &s,
        "/assignment/roles?account_id=123456789012",
        token,
    ));
    assert_eq!(b["roleList"], json!([]));
    // Bad paging parameters.
    for path in [
        "/assignment/accounts?max_result=0",
        "/assignment/accounts?max_result=101",
        "/assignment/accounts?next_token=bogus",
        "/assignment/roles",
    ] {
        assert_portal_error(&portal_get(&s, path, token), 400, "InvalidRequestException");
    }
}

// ---------------------------------------------------------------- checklist 7: refresh

#[test]
fn refresh_rotates_the_refresh_token() {
    let s = server();
    let (client, t) = login(&s, true);
    let refresh = |token: &Value| {
        post(
            &s,
            "/token",
            &json!({"clientId": client.0, "clientSecret": client.1, "grantType": "refresh_token",
                    "refreshToken": token}),
        )
    };
    let r = refresh(&t["refreshToken"]);
    assert_eq!(r.status, 200, "{}", r.body);
    let t2 = json_of(&r);
    assert_ne!(t2["accessToken"], t["accessToken"]);
    assert_ne!(t2["refreshToken"], t["refreshToken"]);
    assert_eq!(t2["expiresIn"], 28800);
    // The new access token works; the old refresh token is spent.
    let r = portal_get(
        &s,
        "/assignment/accounts",
        t2["accessToken"].as_str().unwrap(),
    );
    assert_eq!(r.status, 200);
    assert_oidc_error(
        &refresh(&t["refreshToken"]),
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
    // The rotated one works once.
    assert_eq!(refresh(&t2["refreshToken"]).status, 200);
    // Another client cannot use it.
    let other = register(&s, true);
    let r = post(
        &s,
        "/token",
        &json!({"clientId": other.0, "clientSecret": other.1, "grantType": "refresh_token",
                "refreshToken": t2["refreshToken"]}),
    );
    assert_oidc_error(&r, 400, "InvalidGrantException", "invalid_grant");
}

// ---------------------------------------------------------------- checklist 8: PKCE

/// Follows the authorize URL like a browser whose user approves (or denies); returns the
/// redirect `Location`.
fn browser(s: &LocalServer, authorize_path: &str, action: &str) -> String {
    let page = get(api(s), authorize_path, &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Allow access"));
    let query = authorize_path.split_once('?').unwrap().1;
    let form = format!("{query}&action={action}&user={}", super::encode(USER));
    let r = send(
        api(s),
        "POST",
        "/authorize",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    );
    assert_eq!(r.status, 302, "{}", r.body);
    r.header("Location").unwrap().to_string()
}

fn pkce_pair() -> (String, String) {
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0aBcDeFgHiJkLmNoPqRsT".to_string();
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

fn authorize_path(client_id: &str, port: u16, challenge: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&state=3f6e0b6e-2f0e-4c4e-9a53-0d5c2b9f9a11\
         &code_challenge_method=S256&scopes={}&code_challenge={challenge}",
        super::encode(client_id),
        super::encode(&format!("http://127.0.0.1:{port}/oauth/callback")),
        super::encode(SCOPES)
    )
}

fn code_from(location: &str) -> String {
    let q = super::parse_pairs(location.split_once('?').unwrap().1);
    assert_eq!(
        super::pair(&q, "state"),
        Some("3f6e0b6e-2f0e-4c4e-9a53-0d5c2b9f9a11")
    );
    super::pair(&q, "code").unwrap().to_string()
}

#[test]
fn pkce_flow_and_verifier_mismatch() {
    let s = server();
    let client = register_pkce(&s);
    let (verifier, challenge) = pkce_pair();
    let redirect = "http://127.0.0.1:49152/oauth/callback";
    let location = browser(&s, &authorize_path(&client.0, 49152, &challenge), "approve");
    assert!(
        location.starts_with(&format!("{redirect}?code=")),
        "{location}"
    );
    let code = code_from(&location);
    let token = |verifier: &str, redirect: &str| {
        post(
            &s,
            "/token",
            &json!({"clientId": client.0, "clientSecret": client.1, "grantType": "authorization_code",
                    "code": code, "redirectUri": redirect, "codeVerifier": verifier}),
        )
    };
    // A wrong verifier and a different redirect URI are refused (without spending the code).
    let r = token(&format!("{}x", &verifier[..63]), redirect);
    assert_oidc_error(&r, 400, "InvalidGrantException", "invalid_grant");
    assert!(json_of(&r)["error_description"]
        .as_str()
        .unwrap()
        .contains("verifier"));
    let r = token(&verifier, "http://127.0.0.1:1/oauth/callback");
    assert_oidc_error(&r, 400, "InvalidGrantException", "invalid_grant");
    let r = token(&verifier, redirect);
    assert_eq!(r.status, 200, "{}", r.body);
    let t = json_of(&r);
    assert!(t["refreshToken"].is_string());
    assert_eq!(
        portal_get(
            &s,
            "/assignment/accounts",
            t["accessToken"].as_str().unwrap()
        )
        .status,
        200
    );
    // Codes are single use and short-lived.
    assert_oidc_error(
        &token(&verifier, redirect),
        400,
        "InvalidGrantException",
        "invalid_grant",
    );
    let location = browser(&s, &authorize_path(&client.0, 49152, &challenge), "approve");
    let code2 = code_from(&location);
    s.state.clock.advance(601);
    let r = post(
        &s,
        "/token",
        &json!({"clientId": client.0, "clientSecret": client.1, "grantType": "authorization_code",
                "code": code2, "redirectUri": redirect, "codeVerifier": verifier}),
    );
    assert_oidc_error(&r, 400, "InvalidGrantException", "invalid_grant");
    // A device client may not use the code grant.
    let device_client = register(&s, true);
    let r = post(
        &s,
        "/token",
        &json!({"clientId": device_client.0, "clientSecret": device_client.1, "grantType": "authorization_code",
                "code": code2, "redirectUri": redirect, "codeVerifier": verifier}),
    );
    assert_oidc_error(
        &r,
        400,
        "UnauthorizedClientException",
        "unauthorized_client",
    );
}

#[test]
fn authorize_denials_and_bad_requests() {
    let s = server();
    let client = register_pkce(&s);
    let (_, challenge) = pkce_pair();
    let location = browser(&s, &authorize_path(&client.0, 5000, &challenge), "deny");
    assert_eq!(
        location,
        "http://127.0.0.1:5000/oauth/callback?error=access_denied&state=3f6e0b6e-2f0e-4c4e-9a53-0d5c2b9f9a11"
    );
    // A redirect URI that is not registered is never redirected to.
    let bad = authorize_path(&client.0, 5000, &challenge).replace("oauth%2Fcallback", "other");
    let r = get(api(&s), &bad, &[]);
    assert_eq!(r.status, 400);
    assert!(r.header("Location").is_none());
    let r = get(
        api(&s),
        &authorize_path("awsidc-forged", 5000, &challenge),
        &[],
    );
    assert_eq!(r.status, 400);
    // A missing challenge goes back to the client as invalid_request.
    let r = get(
        api(&s),
        &authorize_path(&client.0, 5000, &challenge).replace("S256", "plain"),
        &[],
    );
    assert_eq!(r.status, 302);
    assert!(r
        .header("Location")
        .unwrap()
        .contains("error=invalid_request"));
}

#[test]
fn pages_escape_client_names() {
    let s = server();
    let r = post(
        &s,
        "/client/register",
        &json!({"clientName": "<script>alert(1)</script>", "clientType": "public"}),
    );
    let b = json_of(&r);
    let client = (
        b["clientId"].as_str().unwrap().to_string(),
        b["clientSecret"].as_str().unwrap().to_string(),
    );
    let d = start(&s, &client);
    let page = get(
        api(&s),
        &format!("/device?user_code={}", d["userCode"].as_str().unwrap()),
        &[],
    );
    assert!(!page.body.contains("<script>"));
    assert!(page.body.contains("&lt;script&gt;"));
    let empty = get(api(&s), "/device", &[]);
    assert_eq!(empty.status, 200);
    assert!(empty.body.contains("name=\"user_code\""));
}

#[test]
fn tokens_survive_a_restart_with_the_same_key() {
    let key = [42u8; 32];
    let state = |k| {
        std::sync::Arc::new(crate::State::new(
            World::default_world(),
            std::sync::Arc::new(crate::Issuer::new(k, &[])),
        ))
    };
    let a = crate::spawn_local_with(state(key), crate::Listen::loopback()).unwrap();
    let (_, t) = login(&a, true);
    a.stop();
    let b = crate::spawn_local_with(state(key), crate::Listen::loopback()).unwrap();
    let token = t["accessToken"].as_str().unwrap();
    assert_eq!(portal_get(&b, "/assignment/accounts", token).status, 200);
    let c = crate::spawn_local_with(state([7u8; 32]), crate::Listen::loopback()).unwrap();
    assert_eq!(portal_get(&c, "/assignment/accounts", token).status, 401);
}
