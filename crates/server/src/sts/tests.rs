use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::testutil::{send, Reply};
use crate::world::World;
use crate::LocalServer;

const USER1: (&str, &str) = (
    "AKIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
);
const DEFAULT: (&str, &str) = (
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
);
const IQOJ: &str =
    "IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE";
const FCZIB: &str =
    "fcZib3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE";
const MFA_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

struct Creds {
    id: String,
    secret: String,
    token: Option<String>,
}

fn creds(id: &str, secret: &str, token: Option<&str>) -> Creds {
    Creds {
        id: id.into(),
        secret: secret.into(),
        token: token.map(str::to_string),
    }
}

fn server() -> LocalServer {
    crate::spawn_local(World::default_world()).unwrap()
}

fn now(s: &LocalServer) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(s.state.clock.now() as u64)
}

/// Signs a form POST to `/` as botocore does and sends it.
fn call_at(s: &LocalServer, c: &Creds, body: &str, time: SystemTime, region: &str) -> Reply {
    call_bytes(s, c, body.as_bytes(), time, region)
}

/// [`call_at`] with a body that need not be text.
fn call_bytes(s: &LocalServer, c: &Creds, body: &[u8], time: SystemTime, region: &str) -> Reply {
    let addr: SocketAddr = s.bound.api.unwrap();
    let host = addr.to_string();
    let headers = [
        ("host", host.as_str()),
        (
            "content-type",
            "application/x-www-form-urlencoded; charset=utf-8",
        ),
    ];
    let req = awsid_sigv4::SignableRequest::new("POST", "/", "", &headers, body);
    let sc = awsid_sigv4::Credentials::new(c.id.clone(), c.secret.clone(), c.token.clone());
    let signed = awsid_sigv4::sign_headers(
        &req,
        &awsid_sigv4::SigningParams {
            credentials: &sc,
            region,
            service: "sts",
            time,
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
    send(addr, "POST", "/", &h, body)
}

fn call(s: &LocalServer, c: &Creds, body: &str) -> Reply {
    call_at(s, c, body, now(s), "us-east-1")
}

fn code(r: &Reply) -> &str {
    let start = r.body.find("<Code>").map(|i| i + 6).unwrap_or(0);
    let end = r.body.find("</Code>").unwrap_or(0);
    &r.body[start..end]
}

fn message(r: &Reply) -> String {
    let start = r.body.find("<Message>").map(|i| i + 9).unwrap_or(0);
    let end = r.body.find("</Message>").unwrap_or(0);
    r.body[start..end].replace("&apos;", "'")
}

fn element<'a>(body: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = body
        .find(&open)
        .map(|i| i + open.len())
        .unwrap_or_else(|| panic!("no {name} in {body}"));
    let end = body[start..].find(&format!("</{name}>")).unwrap() + start;
    &body[start..end]
}

fn issued(r: &Reply) -> Creds {
    assert_eq!(r.status, 200, "{}", r.body);
    creds(
        element(&r.body, "AccessKeyId"),
        element(&r.body, "SecretAccessKey"),
        Some(element(&r.body, "SessionToken")),
    )
}

const GCI: &str = "Action=GetCallerIdentity&Version=2011-06-15";

fn assume(role: &str, extra: &str) -> String {
    format!(
        "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=s1{extra}",
        role.replace(':', "%3A").replace('/', "%2F")
    )
}

const MARKETING: &str = "arn:aws:iam::123456789012:role/marketingadminrole";

#[test]
fn get_caller_identity_for_each_credential_kind() {
    let s = server();
    let r = call(&s, &creds(USER1.0, USER1.1, None), GCI);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.header("content-type"), Some("text/xml"));
    assert!(r.header("x-amzn-requestid").is_some());
    assert!(r.body.starts_with(
        "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
    ));
    assert_eq!(
        element(&r.body, "Arn"),
        "arn:aws:iam::123456789012:user/user1"
    );
    assert_eq!(element(&r.body, "UserId"), "AIDAUSER1EXAMPLE00001");
    assert_eq!(element(&r.body, "Account"), "123456789012");
    let pre = call(
        &s,
        &creds("ASIAIOSFODNN7EXAMPLE", DEFAULT.1, Some(IQOJ)),
        GCI,
    );
    assert_eq!(
        element(&pre.body, "Arn"),
        "arn:aws:iam::123456789012:user/defaultuser"
    );
    let pre2 = call(
        &s,
        &creds("ASIAI44QH8DHBEXAMPLE", USER1.1, Some(FCZIB)),
        GCI,
    );
    assert_eq!(
        element(&pre2.body, "Arn"),
        "arn:aws:iam::123456789012:user/user1"
    );
    // Seed 004: the long-term key plus `aws_session_token fcZib…`.
    let akia_token = call(&s, &creds(DEFAULT.0, DEFAULT.1, Some(FCZIB)), GCI);
    assert_eq!(
        element(&akia_token.body, "Arn"),
        "arn:aws:iam::123456789012:user/defaultuser"
    );
    // ... but not with another token.
    let wrong = call(&s, &creds(DEFAULT.0, DEFAULT.1, Some(IQOJ)), GCI);
    assert_eq!((wrong.status, code(&wrong)), (403, "InvalidClientTokenId"));
    let role = issued(&call(
        &s,
        &creds(USER1.0, USER1.1, None),
        &assume(MARKETING, ""),
    ));
    let who = call(&s, &role, GCI);
    assert_eq!(
        element(&who.body, "Arn"),
        "arn:aws:sts::123456789012:assumed-role/marketingadminrole/s1"
    );
    assert_eq!(element(&who.body, "UserId"), "AROAMARKETINGADMIN001:s1");
}

#[test]
fn authentication_failures() {
    let s = server();
    let r = call(&s, &creds("AKIAUNKNOWNEXAMPLE01", "x", None), GCI);
    assert_eq!((r.status, code(&r)), (403, "InvalidClientTokenId"));
    assert_eq!(
        message(&r),
        "The security token included in the request is invalid."
    );
    assert!(
        r.body.contains("<ErrorResponse")
            && r.body.contains("<Type>Sender</Type>")
            && r.body.contains("<RequestId>")
    );
    let r = call(&s, &creds(USER1.0, "wrong-secret", None), GCI);
    assert_eq!((r.status, code(&r)), (403, "SignatureDoesNotMatch"));
    assert!(message(&r).starts_with("The request signature we calculated does not match"));
    let stale = now(&s) - Duration::from_secs(16 * 60);
    let r = call_at(&s, &creds(USER1.0, USER1.1, None), GCI, stale, "us-east-1");
    assert_eq!((r.status, code(&r)), (403, "SignatureDoesNotMatch"));
    assert!(
        message(&r).starts_with("Signature expired: "),
        "{}",
        message(&r)
    );
    assert!(message(&r).ends_with(" - 15 min.)"), "{}", message(&r));
    let future = now(&s) + Duration::from_secs(16 * 60);
    let r = call_at(&s, &creds(USER1.0, USER1.1, None), GCI, future, "us-east-1");
    assert!(message(&r).starts_with("Signature not yet current: "));
    let r = call_at(
        &s,
        &creds(USER1.0, USER1.1, None),
        GCI,
        now(&s),
        "moon-base-alpha",
    );
    assert_eq!(code(&r), "SignatureDoesNotMatch");
    let unsigned = send(
        s.bound.api.unwrap(),
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        GCI.as_bytes(),
    );
    assert_eq!(
        (unsigned.status, code(&unsigned)),
        (403, "MissingAuthenticationToken")
    );
    let bogus = send(
        s.bound.api.unwrap(),
        "POST",
        "/",
        &[("Authorization", "AWS4-HMAC-SHA256 Credential=x")],
        GCI.as_bytes(),
    );
    assert_eq!((bogus.status, code(&bogus)), (400, "IncompleteSignature"));
    let r = call(
        &s,
        &creds(USER1.0, USER1.1, None),
        "Action=Frobnicate&Version=2011-06-15",
    );
    assert_eq!((r.status, code(&r)), (400, "InvalidAction"));
    // Issued session credentials expire.
    let temp = issued(&call(
        &s,
        &creds(USER1.0, USER1.1, None),
        &assume(MARKETING, "&DurationSeconds=900"),
    ));
    assert_eq!(call(&s, &temp, GCI).status, 200);
    s.state.clock.advance(901);
    let r = call(&s, &temp, GCI);
    assert_eq!((r.status, code(&r)), (403, "ExpiredToken"));
    assert_eq!(
        message(&r),
        "The security token included in the request is expired"
    );
    // A session key without its token, or with a forged one.
    let r = call(&s, &creds(&temp.id, &temp.secret, None), GCI);
    assert_eq!(code(&r), "InvalidClientTokenId");
    let r = call(&s, &creds(&temp.id, &temp.secret, Some("AAAA")), GCI);
    assert_eq!(code(&r), "InvalidClientTokenId");
}

#[test]
fn presigned_get_caller_identity() {
    let s = server();
    let addr = s.bound.api.unwrap();
    let host = addr.to_string();
    let headers = [("host", host.as_str())];
    let req = awsid_sigv4::SignableRequest::new("GET", "/", GCI, &headers, b"");
    let sc = awsid_sigv4::Credentials::new(USER1.0, USER1.1, None);
    let p = awsid_sigv4::presign_query(
        &req,
        &awsid_sigv4::SigningParams {
            credentials: &sc,
            region: "us-east-1",
            service: "sts",
            time: now(&s),
            settings: Default::default(),
        },
    )
    .unwrap();
    let r = send(addr, "GET", &format!("/?{}", p.query), &[], b"");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        element(&r.body, "Arn"),
        "arn:aws:iam::123456789012:user/user1"
    );
    s.state.clock.advance(3601);
    let r = send(addr, "GET", &format!("/?{}", p.query), &[], b"");
    assert_eq!(r.status, 403, "presigned URL expired: {}", r.body);
}

#[test]
fn assume_role_trust_and_identity() {
    let s = server();
    let user1 = creds(USER1.0, USER1.1, None);
    let r = call(&s, &user1, &assume(MARKETING, ""));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        element(&r.body, "Arn"),
        "arn:aws:sts::123456789012:assumed-role/marketingadminrole/s1"
    );
    assert_eq!(
        element(&r.body, "AssumedRoleId"),
        "AROAMARKETINGADMIN001:s1"
    );
    assert!(element(&r.body, "AccessKeyId").starts_with("ASIA"));
    assert!(r.body.find("<Credentials>").unwrap() < r.body.find("<AssumedRoleUser>").unwrap());
    // defaultuser is not trusted by marketingadminrole.
    let r = call(
        &s,
        &creds(DEFAULT.0, DEFAULT.1, None),
        &assume(MARKETING, ""),
    );
    assert_eq!((r.status, code(&r)), (403, "AccessDenied"));
    assert_eq!(
        message(&r),
        "User: arn:aws:iam::123456789012:user/defaultuser is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/marketingadminrole"
    );
    // Missing role → the same AccessDenied text.
    let r = call(
        &s,
        &user1,
        &assume("arn:aws:iam::123456789012:role/nope", ""),
    );
    assert_eq!(code(&r), "AccessDenied");
    // Cross-account: trust names the account, user1's policy allows.
    let r = call(
        &s,
        &user1,
        &assume("arn:aws:iam::777788889999:role/user1role", ""),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // The instance role trusts only ec2.amazonaws.com.
    let r = call(
        &s,
        &user1,
        &assume("arn:aws:iam::123456789012:role/my-instance-profile", ""),
    );
    assert_eq!(code(&r), "AccessDenied");
    // A role session may chain into a role that trusts its role.
    let m = issued(&call(&s, &user1, &assume(MARKETING, "")));
    let r = call(
        &s,
        &m,
        &assume("arn:aws:iam::123456789012:role/defaultrole", ""),
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn assume_role_validation_and_durations() {
    let s = server();
    let user1 = creds(USER1.0, USER1.1, None);
    let r = call(
        &s,
        &user1,
        &format!(
            "Action=AssumeRole&Version=2011-06-15&RoleArn={}&RoleSessionName=PowerUser%2Fhjacobs",
            MARKETING
        ),
    );
    assert_eq!((r.status, code(&r)), (400, "ValidationError"));
    assert_eq!(
        message(&r),
        r"1 validation error detected: Value 'PowerUser/hjacobs' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\w+=,.@-]*"
    );
    let r = call(&s, &user1, &assume(MARKETING, "&DurationSeconds=100"));
    assert!(message(&r).contains("Member must have value greater than or equal to 900"));
    let r = call(
        &s,
        &user1,
        &assume(
            "arn:aws:iam::123456789012:role/defaultrole",
            "&DurationSeconds=7200",
        ),
    );
    assert_eq!((r.status, code(&r)), (400, "ValidationError"));
    assert_eq!(
        message(&r),
        "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    );
    // marketingadminrole allows 12 h, but not when chaining.
    assert_eq!(
        call(&s, &user1, &assume(MARKETING, "&DurationSeconds=43200")).status,
        200
    );
    let session = issued(&call(&s, &user1, &assume(MARKETING, "")));
    let r = call(&s, &session, &assume(MARKETING, "&DurationSeconds=7200"));
    // The session of marketingadminrole is not trusted by marketingadminrole itself.
    assert_eq!(code(&r), "AccessDenied");
    let pre = creds("ASIAI44QH8DHBEXAMPLE", USER1.1, Some(FCZIB));
    let r = call(&s, &pre, &assume(MARKETING, "&DurationSeconds=7200"));
    assert_eq!((r.status, code(&r)), (400, "ValidationError"));
    assert_eq!(message(&r), "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
    assert_eq!(
        call(&s, &pre, &assume(MARKETING, "&DurationSeconds=3600")).status,
        200
    );
    let r = call(&s, &user1, &assume(MARKETING, "&Policy=%7Bnot-json"));
    assert_eq!((r.status, code(&r)), (400, "MalformedPolicyDocument"));
}

#[test]
fn external_id_and_mfa() {
    let s = server();
    let user1 = creds(USER1.0, USER1.1, None);
    let third = "arn:aws:iam::123456789012:role/thirdpartyrole";
    assert_eq!(code(&call(&s, &user1, &assume(third, ""))), "AccessDenied");
    assert_eq!(
        code(&call(&s, &user1, &assume(third, "&ExternalId=wrong-id"))),
        "AccessDenied"
    );
    assert_eq!(
        call(
            &s,
            &user1,
            &assume(third, "&ExternalId=awsid-example-external-id")
        )
        .status,
        200
    );

    let mfa_role = "arn:aws:iam::123456789012:role/mfarole";
    let serial = "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fuser1";
    assert_eq!(
        code(&call(&s, &user1, &assume(mfa_role, ""))),
        "AccessDenied"
    );
    let r = call(
        &s,
        &user1,
        &assume(mfa_role, &format!("{serial}&TokenCode=000000")),
    );
    let secret = crate::totp::decode_base32(MFA_SECRET).unwrap();
    let t = s.state.clock.now();
    let good = crate::totp::code_at(&secret, t);
    if good != "000000" {
        assert_eq!((r.status, code(&r)), (403, "AccessDenied"));
        assert_eq!(
            message(&r),
            "MultiFactorAuthentication failed with invalid MFA one time pass code."
        );
    }
    let r = call(
        &s,
        &user1,
        &assume(mfa_role, &format!("{serial}&TokenCode={good}")),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = call(
        &s,
        &user1,
        &assume(mfa_role, &format!("{serial}&TokenCode={good}")),
    );
    assert_eq!(code(&r), "AccessDenied", "a code cannot be used twice");
    let other_serial = "&SerialNumber=arn%3Aaws%3Aiam%3A%3A123456789012%3Amfa%2Fsomeone";
    let next = crate::totp::code_at(&secret, t + 30);
    let r = call(
        &s,
        &user1,
        &assume(mfa_role, &format!("{other_serial}&TokenCode={next}")),
    );
    assert!(
        message(&r).starts_with("MultiFactorAuthentication failed, unable to validate MFA code.")
    );
    // GetSessionToken with MFA, then the MFA session may assume the MFA role.
    let gst = call(
        &s,
        &user1,
        &format!("Action=GetSessionToken&Version=2011-06-15{serial}&TokenCode={next}"),
    );
    let mfa_session = issued(&gst);
    assert_eq!(call(&s, &mfa_session, &assume(mfa_role, "")).status, 200);
    let who = call(&s, &mfa_session, GCI);
    assert_eq!(
        element(&who.body, "Arn"),
        "arn:aws:iam::123456789012:user/user1"
    );
    let r = call(
        &s,
        &mfa_session,
        "Action=GetSessionToken&Version=2011-06-15",
    );
    assert_eq!((r.status, code(&r)), (403, "AccessDenied"));
    assert_eq!(
        message(&r),
        "Cannot call GetSessionToken with session credentials"
    );
}

#[test]
fn web_identity() {
    let s = server();
    let world = s.state.world();
    let key = &world.oidc_providers[0].keys[0];
    let t = s.state.clock.now();
    let token = |aud: &str, exp: i64| {
        key.sign(&serde_json::json!({"iss": "https://oidc.awsid.example", "sub": "system:serviceaccount:default:app", "aud": aud, "exp": exp, "iat": t}))
            .unwrap()
    };
    let body = |tok: &str| {
        format!(
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fweb-identity-role&RoleSessionName=web&WebIdentityToken={tok}%0A"
        )
    };
    let addr = s.bound.api.unwrap();
    let post = |b: String| {
        send(
            addr,
            "POST",
            "/",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            b.as_bytes(),
        )
    };
    let r = post(body(&token("sts.amazonaws.com", t + 600)));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        element(&r.body, "SubjectFromWebIdentityToken"),
        "system:serviceaccount:default:app"
    );
    assert_eq!(element(&r.body, "Audience"), "sts.amazonaws.com");
    assert_eq!(
        element(&r.body, "Arn"),
        "arn:aws:sts::123456789012:assumed-role/web-identity-role/web"
    );
    let r = post(body(&token("other-audience", t + 600)));
    assert_eq!((r.status, code(&r)), (400, "InvalidIdentityToken"));
    let r = post(body(&token("sts.amazonaws.com", t - 10)));
    assert_eq!((r.status, code(&r)), (400, "ExpiredTokenException"));
    // Change one character well inside the signature. (Replacing the last one is not enough:
    // it carries only 2 bits of a 256-byte signature, so it is 'A' one time in four.)
    let mut forged = token("sts.amazonaws.com", t + 600).into_bytes();
    let i = forged.len() - 10;
    forged[i] = if forged[i] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let r = post(body(&forged));
    assert_eq!(code(&r), "InvalidIdentityToken");
    let r = post(body("not-a-jwt"));
    assert_eq!(code(&r), "InvalidIdentityToken");
}

#[test]
fn bodies_are_bounded_and_garbage_is_answered() {
    let s = server();
    let addr = s.bound.api.unwrap();
    let big = vec![b'a'; 70 * 1024];
    let r = send(
        addr,
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        &big,
    );
    assert_eq!(r.status, 413);
    let r = send(addr, "GET", "/nothing-here", &[], b"");
    assert_eq!(r.status, 404);
    let r = send(addr, "POST", "/", &[], b"%%%&&&==\xff\xfe");
    assert_eq!(r.status, 400);
}

#[test]
fn metrics_count_calls_per_action_and_status() {
    let s = server();
    let user1 = creds(USER1.0, USER1.1, None);
    assert_eq!(call(&s, &user1, GCI).status, 200);
    assert_eq!(call(&s, &user1, &assume(MARKETING, "")).status, 200);
    assert_eq!(call(&s, &user1, &assume(MARKETING, "")).status, 200);
    // Unknown actions are one label, whatever the client sends.
    assert_eq!(
        call(&s, &user1, "Action=Bogus1&Version=2011-06-15").status,
        400
    );
    assert_eq!(
        call(&s, &user1, "Action=Bogus2&Version=2011-06-15").status,
        400
    );
    let addr = s.bound.api.unwrap();
    assert_eq!(
        crate::testutil::get(addr, "/token", &[]).status,
        404,
        "GET on an OIDC operation"
    );
    assert_eq!(s.state.metrics.count("sts", "AssumeRole"), 2);
    let page = crate::testutil::get(addr, "/metrics", &[]);
    assert_eq!(page.status, 200);
    assert_eq!(
        page.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    for line in [
        "awsid_requests_total{service=\"sts\",action=\"AssumeRole\",status=\"200\"} 2",
        "awsid_requests_total{service=\"sts\",action=\"GetCallerIdentity\",status=\"200\"} 1",
        "awsid_requests_total{service=\"sts\",action=\"InvalidAction\",status=\"400\"} 2",
        "awsid_requests_total{service=\"sso-oidc\",action=\"CreateToken\",status=\"404\"} 1",
    ] {
        assert!(
            page.body.lines().any(|l| l == line),
            "{line}\n{}",
            page.body
        );
    }
    // The metrics page itself is not counted.
    assert!(!page.body.contains("metrics"), "{}", page.body);
}

#[test]
fn non_utf8_body_bytes_fail_validation_not_action_lookup() {
    // Regression: one byte that is not UTF-8 dropped the whole form (MissingAction).
    let s = server();
    let mut body = assume(MARKETING, "").into_bytes();
    body.extend_from_slice(b"&ExternalId=ab\xffcd");
    let r = call_bytes(
        &s,
        &creds(USER1.0, USER1.1, None),
        &body,
        now(&s),
        "us-east-1",
    );
    assert_eq!((r.status, code(&r)), (400, "ValidationError"), "{}", r.body);
    assert!(message(&r).contains("at 'externalId'"), "{}", message(&r));
    // GetCallerIdentity does not care about the stray byte: the signature covers the raw body.
    let mut body = GCI.as_bytes().to_vec();
    body.extend_from_slice(b"&Junk=\xfe");
    let r = call_bytes(
        &s,
        &creds(USER1.0, USER1.1, None),
        &body,
        now(&s),
        "us-east-1",
    );
    assert_eq!(r.status, 200, "{}", r.body);
}

#[test]
fn non_ascii_authorization_is_an_incomplete_signature() {
    // Regression: the header was dropped and the answer was MissingAuthenticationToken.
    let s = server();
    let r = send(
        s.bound.api.unwrap(),
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIAI44QH8DHBEXAMPLE/20260101/us-east-1/sts/aws4_request, SignedHeaders=host, Signature=caf\u{e9}",
            ),
        ],
        GCI.as_bytes(),
    );
    assert_eq!(
        (r.status, code(&r)),
        (400, "IncompleteSignature"),
        "{}",
        r.body
    );
    assert!(message(&r).contains("printable ASCII"));
}

#[test]
fn policy_arns_are_checked_not_ignored() {
    let s = server();
    let user1 = creds(USER1.0, USER1.1, None);
    let ask = |extra: &str| call(&s, &user1, &assume(MARKETING, extra));
    // Regression: these were all accepted silently (and the session got no managed policy).
    let r = ask("&PolicyArns.member.1.arn=x");
    assert_eq!((r.status, code(&r)), (400, "ValidationError"));
    assert_eq!(
        message(&r),
        "1 validation error detected: Value 'x' at 'policyArns.1.member.arn' failed to satisfy constraint: Member must have length greater than or equal to 20"
    );
    let r = ask("&PolicyArns.member.1=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess");
    assert_eq!(code(&r), "ValidationError");
    assert!(
        message(&r).contains("Value null at 'policyArns.1.member.arn'"),
        "{}",
        message(&r)
    );
    let r = ask("&PolicyArns.member.2.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess");
    assert_eq!(code(&r), "ValidationError");
    assert!(
        message(&r).contains("at 'PolicyArns.member.2.arn'"),
        "{}",
        message(&r)
    );
    let many: String = (1..=11)
        .map(|i| format!("&PolicyArns.member.{i}.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FP{i}"))
        .collect();
    let r = ask(&many);
    assert!(message(&r).contains("at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10"), "{}", message(&r));
    let r = ask("&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fnot-a-policy");
    assert_eq!((r.status, code(&r)), (400, "ValidationError"));
    assert!(message(&r)
        .starts_with("Invalid managed policy ARN arn:aws:iam::123456789012:role/not-a-policy"));
    let r = ask("&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3A999999999999%3Apolicy%2FOther");
    assert!(
        message(&r).contains("must be in the role's account 123456789012"),
        "{}",
        message(&r)
    );
    // Well formed, but the world has no such managed policy: refused, never ignored.
    let r = ask("&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2FReadOnlyAccess");
    assert_eq!((r.status, code(&r)), (404, "NoSuchEntity"));
    assert_eq!(
        message(&r),
        "Policy arn:aws:iam::aws:policy/ReadOnlyAccess does not exist or is not attachable."
    );
    // An empty list is no list.
    assert_eq!(ask("&PolicyArns=").status, 200);
}
