//! Sign-In over HTTP: the `aws login` pages and `CreateOAuth2Token` (PKCE, DPoP, rotation,
//! the error codes), GetFederationToken and the federation endpoint down to the console page.

use std::net::SocketAddr;
use std::time::{Duration, UNIX_EPOCH};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::sso::encode;
use crate::testutil::{get, send, Reply};
use crate::world::World;
use crate::LocalServer;

const DEVELOPER: &str = "arn:aws:iam::123456789012:user/developer";
const DEVELOPER_KEYS: (&str, &str) = (
    "AKIADEVELOPEREXAMPLE",
    "dEvElOpErSeCrEtKeY/ExAmPlEkEy0123456789a",
);
const USER1: &str = "arn:aws:iam::123456789012:user/user1";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92K9qfxfGzD4xHtrXnrXp9zdsQ5wABCDEFG";

fn server() -> LocalServer {
    crate::spawn_local(World::default_world()).unwrap()
}

fn api(s: &LocalServer) -> SocketAddr {
    s.bound.api.unwrap()
}

fn challenge(v: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()))
}

/// The query of the CLI's authorization request for `client` and `redirect`.
fn authorize_query(client: &str, redirect: &str) -> String {
    format!(
        "response_type=code&client_id={}&state=st-1&code_challenge_method=SHA-256&scope=openid&redirect_uri={}&code_challenge={}",
        encode(client),
        encode(redirect),
        challenge(VERIFIER)
    )
}

fn form_post(s: &LocalServer, path: &str, body: &str) -> Reply {
    send(
        api(s),
        "POST",
        path,
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
}

/// Signs in as `user` (with `mfa` as the code) on the authorization page; the redirect.
fn sign_in(s: &LocalServer, client: &str, redirect: &str, user: &str, mfa: &str) -> Reply {
    let q = authorize_query(client, redirect);
    let page = get(api(s), &format!("{}?{q}", super::AUTHORIZE), &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("Sign in as") && page.body.contains(&encode_html(user)));
    form_post(
        s,
        super::AUTHORIZE,
        &format!("{q}&user={}&mfa_code={mfa}&action=approve", encode(user)),
    )
}

fn encode_html(s: &str) -> String {
    crate::web::esc(s)
}

/// `(code, state)` of a redirect's `Location`.
fn code_of(r: &Reply) -> (String, String) {
    assert_eq!(r.status, 302, "{}", r.body);
    let location = r.header("location").unwrap();
    let query = location.split_once('?').unwrap().1;
    let pairs = crate::sso::parse_pairs(query);
    (
        crate::sso::pair(&pairs, "code").unwrap().to_string(),
        crate::sso::pair(&pairs, "state").unwrap().to_string(),
    )
}

struct Client {
    key: SigningKey,
}

impl Client {
    fn new(seed: u8) -> Client {
        Client {
            key: SigningKey::from_slice(&[seed; 32]).unwrap(),
        }
    }

    fn proof(&self, htu: &str, iat: i64, jti: &str) -> String {
        let p = self.key.verifying_key().to_encoded_point(false);
        let head = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": {
            "kty": "EC", "x": URL_SAFE_NO_PAD.encode(p.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(p.y().unwrap()), "crv": "P-256"}});
        let claims = json!({"htm": "POST", "htu": htu, "iat": iat, "jti": jti});
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(head.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let sig: Signature = self.key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    /// `CreateOAuth2Token` with a fresh proof.
    fn token(&self, s: &LocalServer, input: &Value) -> Reply {
        let htu = format!("http://{}{}", api(s), super::TOKEN);
        let jti = crate::sso::tokens::random_id();
        let proof = self.proof(&htu, s.state.clock.now(), &jti);
        send(
            api(s),
            "POST",
            super::TOKEN,
            &[("Content-Type", "application/json"), ("DPoP", &proof)],
            input.to_string().as_bytes(),
        )
    }
}

fn json_of(r: &Reply) -> Value {
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body))
}

#[track_caller]
fn assert_error(r: &Reply, status: u16, shape: &str, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.header("x-amzn-ErrorType"), Some(shape), "{}", r.body);
    assert_eq!(json_of(r)["error"], error, "{}", r.body);
}

/// The ARN the issuer finds in the credentials of a token answer.
fn arn_of(s: &LocalServer, out: &Value) -> String {
    let (claims, secret) = s
        .state
        .issuer
        .open(
            out["accessToken"]["accessKeyId"].as_str().unwrap(),
            out["accessToken"]["sessionToken"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(
        secret,
        out["accessToken"]["secretAccessKey"].as_str().unwrap()
    );
    claims.arn
}

fn exchange(s: &LocalServer, c: &Client, client: &str, redirect: &str, code: &str) -> Reply {
    c.token(
        s,
        &json!({"clientId": client, "grantType": "authorization_code", "code": code,
                "codeVerifier": VERIFIER, "redirectUri": redirect}),
    )
}

fn refresh(s: &LocalServer, c: &Client, token: &str) -> Reply {
    c.token(
        s,
        &json!({"clientId": super::SAME_DEVICE, "grantType": "refresh_token", "refreshToken": token}),
    )
}

const CALLBACK: &str = "http://127.0.0.1:4711/oauth/callback";

#[test]
fn same_device_login_refresh_rotation_and_session_end() {
    let s = server();
    let (code, state) = code_of(&sign_in(&s, super::SAME_DEVICE, CALLBACK, DEVELOPER, ""));
    assert_eq!(state, "st-1");
    let c = Client::new(7);
    let r = exchange(&s, &c, super::SAME_DEVICE, CALLBACK, &code);
    assert_eq!(r.status, 200, "{}", r.body);
    let out = json_of(&r);
    assert_eq!(out["tokenType"], "aws_sigv4");
    assert_eq!(out["expiresIn"], 900);
    assert_eq!(arn_of(&s, &out), DEVELOPER);
    let id: Vec<&str> = out["idToken"].as_str().unwrap().split('.').collect();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(id[1]).unwrap()).unwrap();
    assert_eq!(claims["sub"], DEVELOPER);
    // The code is single-use.
    assert_error(
        &exchange(&s, &c, super::SAME_DEVICE, CALLBACK, &code),
        400,
        "ValidationException",
        "INVALID_REQUEST",
    );
    // Refresh rotates; the old refresh token is spent; another key cannot use the new one.
    let first = out["refreshToken"].as_str().unwrap().to_string();
    assert!(first.starts_with("ASOR"));
    let r = refresh(&s, &c, &first);
    assert_eq!(r.status, 200, "{}", r.body);
    let next = json_of(&r);
    assert!(next.get("idToken").is_none());
    assert_eq!(arn_of(&s, &next), DEVELOPER);
    let second = next["refreshToken"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    let reused = refresh(&s, &c, &first);
    assert_error(&reused, 400, "ValidationException", "INVALID_REQUEST");
    assert_eq!(
        json_of(&reused)["message"],
        "The provided authorization grant is invalid, expired, revoked, or malformed"
    );
    let thief = Client::new(8);
    assert_error(
        &refresh(&s, &thief, &second),
        400,
        "ValidationException",
        "INVALID_REQUEST",
    );
    // Credentials never outlive the session; after 12 hours the session is over.
    s.state.clock.advance(super::SESSION_SECONDS - 100);
    let r = refresh(&s, &c, &second);
    assert_eq!(r.status, 200, "{}", r.body);
    let late = json_of(&r);
    // (The sign-in was a moment before the refresh.)
    let left = late["expiresIn"].as_i64().unwrap();
    assert!((95..=100).contains(&left), "{left}");
    s.state.clock.advance(200);
    assert_error(
        &refresh(&s, &c, late["refreshToken"].as_str().unwrap()),
        401,
        "AccessDeniedException",
        "TOKEN_EXPIRED",
    );
}

#[test]
fn code_exchange_refusals() {
    let s = server();
    let c = Client::new(7);
    let (code, _) = code_of(&sign_in(&s, super::SAME_DEVICE, CALLBACK, DEVELOPER, ""));
    // Wrong verifier, wrong redirect, wrong client: the grant is unusable (and stays unspent).
    let wrong = c.token(
        &s,
        &json!({"clientId": super::SAME_DEVICE, "grantType": "authorization_code", "code": code,
                "codeVerifier": "x".repeat(43), "redirectUri": CALLBACK}),
    );
    assert_error(&wrong, 400, "ValidationException", "INVALID_REQUEST");
    assert_error(
        &exchange(
            &s,
            &c,
            super::SAME_DEVICE,
            "http://127.0.0.1:1/oauth/callback",
            &code,
        ),
        400,
        "ValidationException",
        "INVALID_REQUEST",
    );
    // No DPoP proof, and a replayed proof.
    let plain = send(
        api(&s),
        "POST",
        super::TOKEN,
        &[("Content-Type", "application/json")],
        json!({"clientId": super::SAME_DEVICE, "grantType": "refresh_token", "refreshToken": "x"})
            .to_string()
            .as_bytes(),
    );
    assert_error(&plain, 400, "ValidationException", "INVALID_REQUEST");
    let htu = format!("http://{}{}", api(&s), super::TOKEN);
    let proof = c.proof(&htu, s.state.clock.now(), "same-jti");
    let body =
        json!({"clientId": super::SAME_DEVICE, "grantType": "authorization_code", "code": code,
                      "codeVerifier": VERIFIER, "redirectUri": CALLBACK})
        .to_string();
    let headers = [
        ("Content-Type", "application/json"),
        ("DPoP", proof.as_str()),
    ];
    let ok = send(api(&s), "POST", super::TOKEN, &headers, body.as_bytes());
    assert_eq!(ok.status, 200, "{}", ok.body);
    let replay = send(api(&s), "POST", super::TOKEN, &headers, body.as_bytes());
    assert_error(&replay, 400, "ValidationException", "INVALID_REQUEST");
    assert!(json_of(&replay)["message"]
        .as_str()
        .unwrap()
        .contains("already used"));
    // An expired code.
    let (code, _) = code_of(&sign_in(&s, super::SAME_DEVICE, CALLBACK, DEVELOPER, ""));
    s.state.clock.advance(301);
    assert_error(
        &exchange(&s, &c, super::SAME_DEVICE, CALLBACK, &code),
        401,
        "AccessDeniedException",
        "AUTHCODE_EXPIRED",
    );
}

#[test]
fn cross_device_confirmation_shows_the_verification_code() {
    let s = server();
    let confirmation = format!("http://{}{}", api(&s), super::CONFIRMATION);
    let r = sign_in(&s, super::CROSS_DEVICE, &confirmation, DEVELOPER, "");
    assert_eq!(r.status, 302);
    let location = r.header("location").unwrap().to_string();
    let path = location
        .strip_prefix(&format!("http://{}", api(&s)))
        .unwrap();
    let page = get(api(&s), path, &[]);
    assert_eq!(page.status, 200, "{}", page.body);
    let start = page.body.find("id=\"verification-code\">").unwrap() + 23;
    let end = page.body[start..].find('<').unwrap() + start;
    let text = String::from_utf8(STANDARD.decode(&page.body[start..end]).unwrap()).unwrap();
    let pairs = crate::sso::parse_pairs(&text);
    let code = crate::sso::pair(&pairs, "code").unwrap();
    assert_eq!(crate::sso::pair(&pairs, "state"), Some("st-1"));
    let c = Client::new(9);
    let r = c.token(
        &s,
        &json!({"clientId": super::CROSS_DEVICE, "grantType": "authorization_code", "code": code,
                "codeVerifier": VERIFIER, "redirectUri": confirmation}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The cross-device client cannot point its redirect anywhere else.
    let bad = get(
        api(&s),
        &format!(
            "{}?{}",
            super::AUTHORIZE,
            authorize_query(super::CROSS_DEVICE, CALLBACK)
        ),
        &[],
    );
    assert_eq!(bad.status, 400);
}

#[test]
fn the_page_checks_mfa_permissions_and_denial() {
    let s = server();
    // user1 has an MFA device: a wrong code keeps the user on the page.
    let r = sign_in(&s, super::SAME_DEVICE, CALLBACK, USER1, "000000");
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("MFA code is not valid"));
    // With the right code, the policy decides: user1 may not sign in to the CLI.
    let secret = crate::totp::decode_base32("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP").unwrap();
    let code = crate::totp::code_at(&secret, s.state.clock.now());
    let r = sign_in(&s, super::SAME_DEVICE, CALLBACK, USER1, &code);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Not authorized") && r.body.contains("signin:AuthorizeOAuth2Access"));
    // Cancel goes back to the CLI with access_denied.
    let q = authorize_query(super::SAME_DEVICE, CALLBACK);
    let r = form_post(&s, super::AUTHORIZE, &format!("{q}&action=deny"));
    assert_eq!(r.status, 302);
    assert_eq!(
        r.header("location"),
        Some("http://127.0.0.1:4711/oauth/callback?error=access_denied&state=st-1")
    );
    // Foreign redirects are not followed.
    let bad = get(
        api(&s),
        &format!(
            "{}?{}",
            super::AUTHORIZE,
            authorize_query(super::SAME_DEVICE, "http://evil.example/oauth/callback")
        ),
        &[],
    );
    assert_eq!(bad.status, 400);
    // A user allowed to authorize but not to create tokens is refused at the exchange.
    let text = format!(
        "{}\n{}",
        crate::world::DEFAULT_WORLD,
        r#"[[users]]
account = "123456789012"
name = "halfway"
id = "AIDAHALFWAYEXAMPLE001"
policies = ['{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "signin:AuthorizeOAuth2Access", "Resource": "*"}]}']
"#
    );
    let s = crate::spawn_local(World::parse(&text, "t").unwrap()).unwrap();
    let (code, _) = code_of(&sign_in(
        &s,
        super::SAME_DEVICE,
        CALLBACK,
        "arn:aws:iam::123456789012:user/halfway",
        "",
    ));
    assert_error(
        &exchange(&s, &Client::new(3), super::SAME_DEVICE, CALLBACK, &code),
        403,
        "AccessDeniedException",
        "INSUFFICIENT_PERMISSIONS",
    );
}

/// Signs an STS form POST with `(id, secret, token)`.
fn sts(s: &LocalServer, c: (&str, &str, Option<&str>), body: &str) -> Reply {
    let addr = api(s);
    let host = addr.to_string();
    let headers = [
        ("host", host.as_str()),
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ];
    let req = awsid_sigv4::SignableRequest::new("POST", "/", "", &headers, body.as_bytes());
    let creds =
        awsid_sigv4::Credentials::new(c.0.to_string(), c.1.to_string(), c.2.map(str::to_string));
    let signed = awsid_sigv4::sign_headers(
        &req,
        &awsid_sigv4::SigningParams {
            credentials: &creds,
            region: "us-east-1",
            service: "sts",
            time: UNIX_EPOCH + Duration::from_secs(s.state.clock.now() as u64),
            settings: Default::default(),
        },
    )
    .unwrap();
    let mut h: Vec<(&str, &str)> = vec![(
        "Content-Type",
        "application/x-www-form-urlencoded; charset=utf-8",
    )];
    for (n, v) in &signed.headers {
        h.push((n, v));
    }
    send(addr, "POST", "/", &h, body.as_bytes())
}

fn element(body: &str, name: &str) -> String {
    let open = format!("<{name}>");
    let start = body
        .find(&open)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + open.len();
    let end = body[start..].find(&format!("</{name}>")).unwrap() + start;
    body[start..end].to_string()
}

/// getSigninToken → login → the console page, following the redirect with the cookie.
fn console_as(s: &LocalServer, id: &str, secret: &str, token: &str, extra: &str) -> Reply {
    let session = json!({"sessionId": id, "sessionKey": secret, "sessionToken": token}).to_string();
    let r = get(
        api(s),
        &format!(
            "{}?Action=getSigninToken&Session={}{extra}",
            super::FEDERATION,
            encode(&session)
        ),
        &[],
    );
    if r.status != 200 {
        return r;
    }
    let signin = json_of(&r)["SigninToken"].as_str().unwrap().to_string();
    let login = format!(
        "{}?Action=login&Issuer=awsid&Destination={}&SigninToken={}",
        super::FEDERATION,
        encode("https://console.aws.amazon.com/"),
        encode(&signin)
    );
    let r = get(api(s), &login, &[]);
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(r.header("location"), Some(super::CONSOLE));
    let cookie = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    assert!(r.header("set-cookie").unwrap().contains("HttpOnly"));
    // A sign-in token works once.
    assert_eq!(get(api(s), &login, &[]).status, 400);
    get(api(s), super::CONSOLE, &[("Cookie", &cookie)])
}

#[test]
fn federation_sign_in_lands_on_the_console_as_the_right_principal() {
    let s = server();
    let keys = (DEVELOPER_KEYS.0, DEVELOPER_KEYS.1, None);
    // An IAM user: GetFederationToken first.
    let r = sts(
        &s,
        keys,
        "Action=GetFederationToken&Version=2011-06-15&Name=developer&DurationSeconds=3600",
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let fed_arn = "arn:aws:sts::123456789012:federated-user/developer";
    assert_eq!(element(&r.body, "Arn"), fed_arn);
    assert_eq!(
        element(&r.body, "FederatedUserId"),
        "123456789012:developer"
    );
    let (id, secret, token) = (
        element(&r.body, "AccessKeyId"),
        element(&r.body, "SecretAccessKey"),
        element(&r.body, "SessionToken"),
    );
    let me = sts(
        &s,
        (&id, &secret, Some(&token)),
        "Action=GetCallerIdentity&Version=2011-06-15",
    );
    assert_eq!(element(&me.body, "Arn"), fed_arn);
    // Federated users call nothing else at STS.
    let no = sts(
        &s,
        (&id, &secret, Some(&token)),
        "Action=GetFederationToken&Version=2011-06-15&Name=again",
    );
    assert_eq!(no.status, 403, "{}", no.body);
    let page = console_as(&s, &id, &secret, &token, "");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(fed_arn) && page.body.contains("Federated user"));
    // SessionDuration is for role sessions only.
    assert_eq!(
        console_as(&s, &id, &secret, &token, "&SessionDuration=3600").status,
        400
    );
    // A role session signs in as the assumed role.
    let role = "arn:aws:iam::123456789012:role/developerrole";
    let r = sts(
        &s,
        keys,
        &format!(
            "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=console-test",
            encode(role)
        ),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let page = console_as(
        &s,
        &element(&r.body, "AccessKeyId"),
        &element(&r.body, "SecretAccessKey"),
        &element(&r.body, "SessionToken"),
        "&SessionDuration=3600",
    );
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page
        .body
        .contains("arn:aws:sts::123456789012:assumed-role/developerrole/console-test"));
    assert!(page.body.contains("Role session"));
    // GetSessionToken credentials and wrong secrets are refused; no cookie, no console.
    let r = sts(&s, keys, "Action=GetSessionToken&Version=2011-06-15");
    let refused = console_as(
        &s,
        &element(&r.body, "AccessKeyId"),
        &element(&r.body, "SecretAccessKey"),
        &element(&r.body, "SessionToken"),
        "",
    );
    assert_eq!(refused.status, 400);
    assert!(refused.body.contains("cannot sign in to the console"));
    assert_eq!(console_as(&s, &id, "wrong", &token, "").status, 400);
    let out = get(api(&s), super::CONSOLE, &[]);
    assert_eq!(out.status, 401);
    assert!(out.body.contains("Not signed in"));
}
