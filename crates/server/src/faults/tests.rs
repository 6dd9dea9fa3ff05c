use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::json;

use super::*;
use crate::testutil::{get, send};
use crate::world::World;

const OPTIONAL: &str = "i-1234567890abcdef0";
const REQUIRED: &str = "i-0fedcba9876543210";
const ECS_ID: &str = "6d2f4b8a-1c3e-4f5a-9b7d-0e2c4a6f8b1d";
const CREDS: &str = "/latest/meta-data/iam/security-credentials/my-instance-profile";

fn spec(target: &Target, v: serde_json::Value) -> Result<FaultSpec, String> {
    FaultSpec::from_json(target, &v, &target.name())
}

#[test]
fn targets_parse_and_print() {
    for name in [
        "sts",
        "iam",
        "sso",
        "sso-oidc",
        "ecs",
        "imds",
        "imds:i-0fedcba9876543210",
    ] {
        assert_eq!(Target::parse(name).unwrap().name(), name);
    }
    for bad in ["", "STS", "imds:", "imds:x", "imds:i-", "imds:i-a/b", "ec2"] {
        let e = Target::parse(bad).unwrap_err();
        assert!(e.contains("unknown fault target"), "{bad}: {e}");
    }
}

#[test]
fn specs_are_checked_with_the_key_at_fault() {
    let sts = Target::Sts;
    let imds = Target::Imds;
    let cases: &[(&Target, serde_json::Value, &str)] = &[
        (&sts, json!({"latency": 5}), "sts: unknown key \"latency\""),
        (
            &sts,
            json!({"error_rate": 1.5}),
            "sts.error_rate: 1.5 is not a fraction",
        ),
        (
            &sts,
            json!({"error_rate": 0.7, "reset_rate": 0.4}),
            "sts: error_rate + reset_rate + lost_answer_rate is",
        ),
        (
            &sts,
            json!({"error_rate": 0.5, "lost_answer_rate": 0.6}),
            "sts: error_rate + reset_rate + lost_answer_rate is 1.1",
        ),
        (
            &sts,
            json!({"lost_answer_rate": -1}),
            "sts.lost_answer_rate: -1 is not a fraction",
        ),
        (
            &sts,
            json!({"error": 429}),
            "sts.error: expected internal (500), unavailable (503) or throttling (400 for sts)",
        ),
        (&imds, json!({"error": 400}), "throttling (429 for imds)"),
        (
            &Target::Iam,
            json!({"error": 429}),
            "iam.error: expected internal (500), unavailable (503) or throttling (400 for iam)",
        ),
        (
            &Target::Iam,
            json!({"expired_credentials": true}),
            "iam.expired_credentials: only IMDS and ECS",
        ),
        (
            &Target::Iam,
            json!({"outage": {"seconds": 5, "mode": "refused"}}),
            "iam.outage.mode: \"refused\" closes a listener",
        ),
        (
            &sts,
            json!({"latency_ms": {"min": 9, "max": 3}}),
            "sts.latency_ms: min (9) is more than max (3)",
        ),
        (
            &sts,
            json!({"latency_ms": {"p50": 9}}),
            "sts.latency_ms: expected milliseconds",
        ),
        (
            &sts,
            json!({"latency_ms": 600001}),
            "sts.latency_ms: 600001 is more than",
        ),
        (
            &sts,
            json!({"outage": {"seconds": 5, "mode": "refused"}}),
            "sts.outage.mode: \"refused\" closes a listener",
        ),
        (
            &imds,
            json!({"outage": {"after_seconds": 5}}),
            "imds.outage: seconds (the outage's length) is required",
        ),
        (
            &imds,
            json!({"outage": {"start": "tomorrow", "seconds": 5}}),
            "imds.outage.start: \"tomorrow\" is not an RFC 3339 time",
        ),
        (
            &sts,
            json!({"expired_credentials": true}),
            "sts.expired_credentials: only IMDS and ECS",
        ),
        (
            &imds,
            json!({"rate_limit": {"burst": 3}}),
            "imds.rate_limit: rate (requests per second) is required",
        ),
        (
            &imds,
            json!({"rate_limit": {"rate": 0}}),
            "imds.rate_limit.rate: must be more than 0",
        ),
    ];
    for (t, v, want) in cases {
        let e = spec(t, v.clone()).unwrap_err();
        assert!(e.starts_with(want) || e.contains(want), "{v}: {e}");
    }
}

#[test]
fn specs_round_trip_through_json() {
    let t = Target::Instance(REQUIRED.into());
    let s = spec(
        &t,
        json!({
            "latency_ms": {"p50": 20, "p99": 800},
            "error_rate": 0.25,
            "error": 429,
            "reset_rate": 0.125,
            "outage": {"start": "2026-12-07T12:00:00Z", "seconds": 600, "mode": "hang"},
            "expired_credentials": true,
            "rate_limit": {"rate": 40, "burst": 60},
            "seed": 7
        }),
    )
    .unwrap();
    assert_eq!(s.error, Some(ErrorKind::Throttling));
    assert_eq!(spec(&t, s.to_json()).unwrap(), s);
    // A refused outage is the default for a listener of its own, an error one for the API.
    let o = spec(&Target::Ecs, json!({"outage": {"seconds": 1}})).unwrap();
    assert_eq!(o.outage.unwrap().mode, OutageMode::Refused);
    let o = spec(&Target::Sso, json!({"outage": {"seconds": 1}})).unwrap();
    assert_eq!(o.outage.unwrap().mode, OutageMode::Error);
}

#[test]
fn the_world_files_table_is_read_with_file_keys() {
    let v: toml::Value = toml::from_str(
        "[sts]\nerror_rate = 0.5\nerror = \"throttling\"\n\
         [\"imds:i-0fedcba9876543210\"]\noutage = { start = 2026-12-07T12:00:00Z, seconds = 60 }\n",
    )
    .unwrap();
    let got = parse_table(&v).unwrap();
    assert_eq!(got.len(), 2);
    let one = got
        .iter()
        .find(|(t, _)| *t == Target::Instance(REQUIRED.into()))
        .unwrap();
    assert_eq!(
        one.1.outage.as_ref().unwrap().start,
        OutageStart::At(1_796_644_800)
    );
    let bad: toml::Value = toml::from_str("[sts]\nerror_rate = \"half\"\n").unwrap();
    assert_eq!(
        parse_table(&bad).unwrap_err(),
        "faults.sts.error_rate: expected a number, got \"half\""
    );
}

#[test]
fn the_world_file_sets_faults_at_start() {
    let text = format!(
        "{}\n[faults.ecs]\nerror_rate = 1.0\nerror = \"unavailable\"\n",
        crate::world::DEFAULT_WORLD
    );
    let s = crate::spawn_local(World::parse(&text, "w.toml").unwrap()).unwrap();
    let r = get(
        s.bound.ecs.unwrap(),
        &format!("/v2/credentials/{ECS_ID}"),
        &[],
    );
    assert_eq!(r.status, 503);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap(),
        json!({"code": "CredentialsUninitialized", "message": "CredentialsV2Request: Credentials uninitialized for ID"})
    );
    // Nothing else is faulted.
    assert_eq!(get(imds(&s, OPTIONAL), CREDS, &[]).status, 200);
    let bad = format!(
        "{}\n[faults.sts]\nreset_rate = 2\n",
        crate::world::DEFAULT_WORLD
    );
    assert_eq!(
        World::parse(&bad, "w.toml").unwrap_err().to_string(),
        "w.toml: faults: sts.reset_rate: 2 is not a fraction between 0 and 1"
    );
}

#[test]
fn plans_follow_the_rates_and_the_seed() {
    let sb = Switchboard::default();
    let t = vec![Target::Sts];
    assert_eq!(sb.plan(&t, 0), None, "off by default");
    sb.set(
        Target::Sts,
        spec(
            &Target::Sts,
            json!({"error_rate": 0.3, "reset_rate": 0.2, "seed": 42}),
        )
        .unwrap(),
        0,
    );
    let run = |sb: &Switchboard| -> Vec<Action> {
        (0..2000)
            .map(|_| sb.plan(&t, 0).map(|p| p.action).unwrap_or(Action::Proceed))
            .collect()
    };
    let first = run(&sb);
    let errors = first
        .iter()
        .filter(|a| matches!(a, Action::Error(_)))
        .count();
    let resets = first.iter().filter(|a| **a == Action::Reset).count();
    assert!(
        (500..700).contains(&errors),
        "{errors} errors of 2000 at 0.3"
    );
    assert!(
        (320..480).contains(&resets),
        "{resets} resets of 2000 at 0.2"
    );
    // The same seed, the same sequence.
    sb.set(
        Target::Sts,
        spec(
            &Target::Sts,
            json!({"error_rate": 0.3, "reset_rate": 0.2, "seed": 42}),
        )
        .unwrap(),
        0,
    );
    assert_eq!(run(&sb), first);
    // Another target is untouched; clearing turns the switchboard off.
    assert_eq!(sb.plan(&[Target::Sso], 0), None);
    assert!(sb.clear(&Target::Sts));
    assert!(!sb.is_on());
    assert_eq!(sb.plan(&t, 0), None);
}

#[test]
fn the_most_specific_target_wins() {
    let sb = Switchboard::default();
    sb.set(
        Target::Imds,
        spec(&Target::Imds, json!({"error_rate": 1})).unwrap(),
        0,
    );
    sb.set(
        Target::Instance(REQUIRED.into()),
        spec(&Target::Imds, json!({"error_rate": 1, "error": 429})).unwrap(),
        0,
    );
    let one = [Target::Instance(REQUIRED.into()), Target::Imds];
    let other = [Target::Instance(OPTIONAL.into()), Target::Imds];
    assert_eq!(
        sb.plan(&one, 0).unwrap().action,
        Action::Error(ErrorKind::Throttling)
    );
    assert_eq!(
        sb.plan(&other, 0).unwrap().action,
        Action::Error(ErrorKind::Internal)
    );
}

#[test]
fn outage_windows_open_and_close_on_the_clock() {
    let sb = Switchboard::default();
    let t = [Target::Ecs];
    sb.set(
        Target::Ecs,
        spec(
            &Target::Ecs,
            json!({"outage": {"after_seconds": 10, "seconds": 600}}),
        )
        .unwrap(),
        1000,
    );
    let mut log = Vec::new();
    assert_eq!(sb.gate(&t, 1009, |_, c| log.push(c)), Gate::Watch);
    assert_eq!(sb.plan(&t, 1009), None);
    assert_eq!(sb.gate(&t, 1010, |_, c| log.push(c)), Gate::Closed);
    assert_eq!(sb.gate(&t, 1300, |_, c| log.push(c)), Gate::Closed);
    // A request on a connection opened before the outage is reset.
    assert_eq!(sb.plan(&t, 1300).unwrap().action, Action::Reset);
    assert_eq!(sb.gate(&t, 1610, |_, c| log.push(c)), Gate::Watch);
    assert_eq!(log, vec![true, false], "each change logged once");
    // Hang: until the end of the window.
    sb.set(
        Target::Sts,
        spec(
            &Target::Sts,
            json!({"outage": {"seconds": 30, "mode": "hang"}}),
        )
        .unwrap(),
        50,
    );
    assert_eq!(
        sb.plan(&[Target::Sts], 60).unwrap().action,
        Action::Hang(Duration::from_secs(20))
    );
    assert_eq!(sb.gate(&[Target::Sts], 60, |_, _| ()), Gate::Open);
}

#[test]
fn the_rate_limit_is_a_token_bucket() {
    let sb = Switchboard::default();
    let t = [Target::Imds];
    sb.set(
        Target::Imds,
        spec(
            &Target::Imds,
            json!({"rate_limit": {"rate": 0.001, "burst": 3}}),
        )
        .unwrap(),
        0,
    );
    let actions: Vec<Action> = (0..5)
        .map(|_| sb.plan(&t, 0).map(|p| p.action).unwrap_or(Action::Proceed))
        .collect();
    assert_eq!(
        actions,
        vec![
            Action::Proceed,
            Action::Proceed,
            Action::Proceed,
            Action::Error(ErrorKind::Throttling),
            Action::Error(ErrorKind::Throttling)
        ]
    );
}

#[test]
fn latencies_follow_their_distribution() {
    let mut rng = StdRng::seed_from_u64(1);
    let u = Latency::Uniform { min: 20, max: 40 };
    assert!((0..500).all(|_| (20..=40).contains(&(u.sample(&mut rng).as_millis() as u64))));
    let l = Latency::LogNormal { p50: 20, p99: 800 };
    let mut v: Vec<u128> = (0..4000).map(|_| l.sample(&mut rng).as_millis()).collect();
    v.sort_unstable();
    let (p50, p99) = (v[2000], v[3960]);
    assert!((16..=25).contains(&p50), "p50 {p50}");
    assert!((550..=1150).contains(&p99), "p99 {p99}");
    assert_eq!(Latency::Fixed(7).sample(&mut rng), Duration::from_millis(7));
}

// ---- against a running server ----

fn admin(
    s: &crate::LocalServer,
    method: &str,
    target: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let path = if target.is_empty() {
        admin::PATH.to_string()
    } else {
        format!("{}/{target}", admin::PATH)
    };
    let body = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let r = send(
        s.bound.api.unwrap(),
        method,
        &path,
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    );
    (
        r.status,
        serde_json::from_str(&r.body).unwrap_or(serde_json::Value::Null),
    )
}

fn imds(s: &crate::LocalServer, id: &str) -> SocketAddr {
    s.bound.imds.iter().find(|(i, _)| i == id).unwrap().1
}

/// Sends a raw GET and returns the read error kind, if reading failed.
fn read_error(addr: SocketAddr, path: &str) -> Option<std::io::ErrorKind> {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).err().map(|e| e.kind())
}

fn fault_log(s: &crate::LocalServer) -> Vec<Injected> {
    s.state
        .faults
        .recent()
        .into_iter()
        .filter(|d| d.action.starts_with("fault:"))
        .collect()
}

#[test]
fn imds_errors_throttling_and_resets_are_the_real_services() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let a = imds(&s, OPTIONAL);
    assert_eq!(get(a, CREDS, &[]).status, 200, "off by default");
    let (st, v) = admin(
        &s,
        "PUT",
        &format!("imds:{OPTIONAL}"),
        json!({"error_rate": 1, "error": 503}),
    );
    assert_eq!(st, 200, "{v}");
    let r = get(a, CREDS, &[]);
    assert_eq!(r.status, 503);
    assert!(
        r.body.contains("<title>503 - Service Unavailable</title>"),
        "{}",
        r.body
    );
    assert_eq!(r.header("server"), Some("EC2ws"));
    // The other instance is not affected.
    assert_eq!(
        get(
            imds(&s, REQUIRED),
            "/latest/meta-data/",
            &[("X-aws-ec2-metadata-token", "x")]
        )
        .status,
        401
    );
    admin(
        &s,
        "PUT",
        "imds",
        json!({"rate_limit": {"rate": 0.001, "burst": 2}}),
    );
    admin(
        &s,
        "DELETE",
        &format!("imds:{OPTIONAL}"),
        serde_json::Value::Null,
    );
    let statuses: Vec<u16> = (0..4).map(|_| get(a, CREDS, &[]).status).collect();
    assert_eq!(statuses, vec![200, 200, 429, 429]);
    let r = get(a, CREDS, &[]);
    assert!(
        r.body.contains("<title>429 - Too Many Requests</title>"),
        "{}",
        r.body
    );
    // The admin API lists what was injected.
    let (_, all) = admin(&s, "GET", "", serde_json::Value::Null);
    assert_eq!(all["faults"]["imds"]["injected"]["throttled"], 3);
    admin(&s, "PUT", "imds", json!({"reset_rate": 1}));
    assert_eq!(
        read_error(a, CREDS),
        Some(std::io::ErrorKind::ConnectionReset)
    );
    let log = fault_log(&s);
    let actions: Vec<&str> = log.iter().map(|d| &*d.action).collect();
    assert_eq!(
        actions,
        vec![
            "fault:error",
            "fault:throttling",
            "fault:throttling",
            "fault:throttling",
            "fault:reset"
        ]
    );
    assert!(
        log[0].reason.contains(&format!(
            "(imds:{OPTIONAL}): answered 503 - Service Unavailable: error_rate 1"
        )),
        "{}",
        log[0].reason
    );
    assert_eq!(&*log[0].resource, format!("GET {CREDS}"));
    let (_, all) = admin(&s, "GET", "", serde_json::Value::Null);
    assert_eq!(all["faults"]["imds"]["injected"]["reset"], 1);
    assert_eq!(all["recent"][0]["action"], "fault:reset", "newest first");
}

#[test]
fn a_refused_outage_closes_the_listener_until_the_window_ends() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let a = s.bound.ecs.unwrap();
    let path = format!("/v2/credentials/{ECS_ID}");
    assert_eq!(get(a, &path, &[]).status, 200);
    // A keep-alive connection opened before the outage.
    let mut kept = TcpStream::connect(a).unwrap();
    kept.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (st, v) = admin(
        &s,
        "PUT",
        "ecs",
        json!({"outage": {"after_seconds": 0, "seconds": 600}}),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["outage_window"]["active"], true);
    let refused = (0..100).any(|_| {
        std::thread::sleep(crate::http::GATE_POLL / 4);
        matches!(TcpStream::connect(a), Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused)
    });
    assert!(refused, "the listener was not closed");
    kept.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut buf = Vec::new();
    assert_eq!(
        kept.read_to_end(&mut buf).map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::ConnectionReset),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    // Ten minutes later (the server's clock) the listener is back at the same address.
    s.state.clock.advance(600);
    let back = (0..100).any(|_| {
        std::thread::sleep(crate::http::GATE_POLL / 4);
        TcpStream::connect(a).is_ok()
    });
    assert!(back, "the listener did not reopen");
    assert_eq!(get(a, &path, &[]).status, 200);
    let log = fault_log(&s);
    let actions: Vec<&str> = log.iter().map(|d| &*d.action).collect();
    assert_eq!(
        actions,
        vec![
            "fault:listener-closed",
            "fault:reset",
            "fault:listener-reopened"
        ]
    );
}

#[test]
fn credentials_served_already_expired_keep_their_shape() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let a = imds(&s, OPTIONAL);
    let before = get(a, CREDS, &[]).body;
    admin(&s, "PUT", "imds", json!({"expired_credentials": true}));
    let after = get(a, CREDS, &[]).body;
    let now = s.state.clock.now();
    let want = crate::state::iso8601(now - EXPIRED_BY_SECONDS);
    let was = crate::state::iso8601(now);
    let (b, f): (serde_json::Value, serde_json::Value) = (
        serde_json::from_str(&before).unwrap(),
        serde_json::from_str(&after).unwrap(),
    );
    assert!(
        f["Expiration"].as_str().unwrap() <= want.as_str()
            && f["Expiration"].as_str().unwrap() < was.as_str()
    );
    assert_eq!(f["AccessKeyId"], b["AccessKeyId"]);
    // Only the value changed: IMDS's `" : "` spacing is kept.
    assert_eq!(
        before.replace(b["Expiration"].as_str().unwrap(), "T"),
        after.replace(f["Expiration"].as_str().unwrap(), "T")
    );
    // Other documents are untouched.
    assert_eq!(get(a, "/latest/meta-data/instance-id", &[]).body, OPTIONAL);
    admin(&s, "PUT", "ecs", json!({"expired_credentials": true}));
    let doc: serde_json::Value = serde_json::from_str(
        &get(
            s.bound.ecs.unwrap(),
            &format!("/v2/credentials/{ECS_ID}"),
            &[],
        )
        .body,
    )
    .unwrap();
    assert!(doc["Expiration"].as_str().unwrap() < was.as_str());
    assert_eq!(
        fault_log(&s)
            .iter()
            .filter(|d| &*d.action == "fault:expired-credentials")
            .count(),
        2,
        "logged for the two credentials documents rewritten, not for instance-id"
    );
}

/// An unsigned Query-protocol call to the API listener (faults answer before authentication).
fn query_call(s: &crate::LocalServer, form: &[u8]) -> crate::testutil::Reply {
    send(
        s.bound.api.unwrap(),
        "POST",
        "/",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form,
    )
}

fn sts_call(s: &crate::LocalServer) -> crate::testutil::Reply {
    query_call(s, b"Action=GetCallerIdentity&Version=2011-06-15")
}

#[test]
fn api_errors_carry_each_services_code() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    admin(
        &s,
        "PUT",
        "sts",
        json!({"error_rate": 1, "error": "throttling"}),
    );
    let r = sts_call(&s);
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("<Code>Throttling</Code>")
            && r.body.contains("<Message>Rate exceeded</Message>"),
        "{}",
        r.body
    );
    assert!(r.body.contains("<Type>Sender</Type>"));
    admin(&s, "PUT", "sts", json!({"error_rate": 1, "error": 500}));
    let r = sts_call(&s);
    assert_eq!(r.status, 500);
    assert!(
        r.body.contains("<Code>InternalFailure</Code>") && r.body.contains("<Type>Receiver</Type>"),
        "{}",
        r.body
    );
    admin(
        &s,
        "PUT",
        "sts",
        json!({"error_rate": 1, "error": "unavailable"}),
    );
    assert!(sts_call(&s)
        .body
        .contains("<Code>ServiceUnavailable</Code>"));
    admin(&s, "PUT", "sso", json!({"error_rate": 1, "error": 429}));
    let r = get(
        s.bound.api.unwrap(),
        "/assignment/accounts?max_result=10",
        &[],
    );
    assert_eq!(r.status, 429);
    assert_eq!(
        r.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    // The console and the admin API are never faulted.
    admin(&s, "PUT", "sts", json!({"reset_rate": 1}));
    assert_eq!(admin(&s, "GET", "", serde_json::Value::Null).0, 200);
    assert_eq!(
        read_error(
            s.bound.api.unwrap(),
            "/?Action=GetCallerIdentity&Version=2011-06-15"
        ),
        Some(std::io::ErrorKind::ConnectionReset)
    );
    assert_eq!(
        admin(&s, "DELETE", "", serde_json::Value::Null).1,
        json!({"cleared": 2})
    );
    assert_eq!(
        sts_call(&s).status,
        403,
        "unsigned: the service's own answer again"
    );
}

/// `sso-oidc` faults SSO-OIDC alone (a token refresh's `CreateToken`), not the portal's
/// `GetRoleCredentials`; it takes precedence over `sso` for OIDC requests.
#[test]
fn sso_oidc_faults_the_token_service_not_the_portal() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let api = s.bound.api.unwrap();
    let create_token = |s: &crate::LocalServer| {
        send(
            s.bound.api.unwrap(),
            "POST",
            "/token",
            &[("Content-Type", "application/json")],
            br#"{"grantType":"refresh_token","clientId":"x","clientSecret":"y","refreshToken":"z"}"#,
        )
    };
    let portal = || get(api, "/assignment/accounts?max_result=10", &[]);
    let unfaulted_token = create_token(&s).status;
    let unfaulted_portal = portal().status;
    assert!(unfaulted_token < 500 && unfaulted_portal < 500);
    admin(
        &s,
        "PUT",
        "sso-oidc",
        json!({"error_rate": 1, "error": "unavailable"}),
    );
    let r = create_token(&s);
    assert_eq!(r.status, 503);
    assert!(
        r.body.contains("\"error\":\"temporarily_unavailable\""),
        "{}",
        r.body
    );
    assert_eq!(
        portal().status,
        unfaulted_portal,
        "the portal is not faulted"
    );
    let log = fault_log(&s);
    assert_eq!(log.len(), 1);
    assert!(log[0].reason.contains("(sso-oidc)"), "{}", log[0].reason);
    // Both set: OIDC requests meet `sso-oidc`'s, the portal `sso`'s.
    admin(&s, "PUT", "sso", json!({"error_rate": 1, "error": 500}));
    assert_eq!(create_token(&s).status, 503);
    assert_eq!(portal().status, 500);
    admin(&s, "DELETE", "sso-oidc", serde_json::Value::Null);
    assert_eq!(create_token(&s).status, 500, "sso covers OIDC too");
}

/// A lost answer: the service carries the request out (its own decision is logged), then the
/// connection is reset instead of the answer — the fault a non-idempotent retry meets.
#[test]
fn a_lost_answer_is_carried_out_then_reset() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    admin(&s, "PUT", "ecs", json!({"lost_answer_rate": 1, "seed": 3}));
    let listed = admin(&s, "GET", "", serde_json::Value::Null).1.to_string();
    assert!(listed.contains("\"lost_answer_rate\":1"), "{listed}");
    let before = s.state.decisions.last_seq();
    assert_eq!(
        read_error(s.bound.ecs.unwrap(), &format!("/v2/credentials/{ECS_ID}")),
        Some(std::io::ErrorKind::ConnectionReset)
    );
    let log = s.state.decisions.since(before, 100);
    let injected: Vec<_> = log
        .iter()
        .filter(|d| d.outcome == crate::decisions::Outcome::Injected)
        .collect();
    assert_eq!(injected.len(), 1, "{log:?}");
    assert_eq!(&*injected[0].action, "fault:lost-answer");
    assert!(
        injected[0]
            .reason
            .contains("carried out, then the connection reset instead of the answer"),
        "{}",
        injected[0].reason
    );
    assert!(
        log.iter()
            .any(|d| d.service == "ecs" && d.outcome != crate::decisions::Outcome::Injected),
        "the service carried the request out: {log:?}"
    );
    let listed = admin(&s, "GET", "", serde_json::Value::Null).1.to_string();
    assert!(listed.contains("\"lost_answer\":1"), "{listed}");
}

#[test]
fn latency_is_added_and_logged() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    admin(&s, "PUT", "ecs", json!({"latency_ms": 300}));
    let started = std::time::Instant::now();
    assert_eq!(
        get(
            s.bound.ecs.unwrap(),
            &format!("/v2/credentials/{ECS_ID}"),
            &[]
        )
        .status,
        200
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    let log = fault_log(&s);
    assert_eq!(&*log[0].action, "fault:latency");
    assert!(
        log[0].reason.ends_with("latency 300 ms"),
        "{}",
        log[0].reason
    );
}

#[test]
fn the_admin_api_refuses_what_it_should() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let (st, v) = admin(&s, "PUT", "sts", json!({"error_rate": 2}));
    assert_eq!(
        (st, v["error"].as_str().unwrap()),
        (400, "sts.error_rate: 2 is not a fraction between 0 and 1")
    );
    assert_eq!(admin(&s, "PUT", "nope", json!({})).0, 404);
    assert_eq!(admin(&s, "DELETE", "sts", serde_json::Value::Null).0, 404);
    assert_eq!(admin(&s, "POST", "sts", json!({})).0, 405);
    let r = send(
        s.bound.api.unwrap(),
        "PUT",
        "/awsid/faults/sts",
        &[("Content-Type", "text/plain")],
        b"{}",
    );
    assert_eq!(r.status, 415);
    // Not from another machine.
    let req = RequestData {
        method: http::Method::GET,
        uri: "/awsid/faults".parse().unwrap(),
        headers: http::HeaderMap::new(),
        body: Bytes::new(),
        peer: "192.0.2.7:4000".parse().unwrap(),
        local: "127.0.0.1:1".parse().unwrap(),
        ttl: crate::http::TtlControl::detached(),
    };
    assert_eq!(
        admin::handle(&s.state, &req).status(),
        StatusCode::FORBIDDEN
    );
    // Nor from a page whose name was rebound to 127.0.0.1 (its Host is its own name), nor
    // cross-origin.
    let put = |host: &str, origin: Option<&str>| {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::HOST, host.parse().unwrap());
        headers.insert(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        );
        if let Some(o) = origin {
            headers.insert(http::header::ORIGIN, o.parse().unwrap());
        }
        let req = RequestData {
            method: http::Method::PUT,
            uri: "/awsid/faults/sts".parse().unwrap(),
            headers,
            body: Bytes::from_static(b"{\"error_rate\": 1}"),
            peer: "127.0.0.1:4000".parse().unwrap(),
            local: "127.0.0.1:1".parse().unwrap(),
            ttl: crate::http::TtlControl::detached(),
        };
        admin::handle(&s.state, &req).status()
    };
    assert_eq!(put("rebound.example:4590", None), StatusCode::FORBIDDEN);
    assert_eq!(
        put("127.0.0.1:4590", Some("http://rebound.example:4590")),
        StatusCode::FORBIDDEN
    );
    assert!(!s.state.faults.is_on());
    assert_eq!(
        put("localhost:4590", Some("http://localhost:4590")),
        StatusCode::OK
    );
    assert!(s.state.faults.is_on());
}

fn iam_call(s: &crate::LocalServer) -> crate::testutil::Reply {
    query_call(s, b"Action=ListRoles&Version=2010-05-08")
}

#[test]
fn iam_errors_are_iams_own() {
    let text = format!(
        "{}\n[faults.iam]\nerror_rate = 1.0\n",
        crate::world::DEFAULT_WORLD
    );
    let s = crate::spawn_local(World::parse(&text, "w.toml").unwrap()).unwrap();
    // The world file's [faults.iam]: IAM's own 500, in IAM's namespace.
    let r = iam_call(&s);
    assert_eq!(r.status, 500, "{}", r.body);
    assert!(
        r.body
            .contains("<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">")
            && r.body.contains("<Code>ServiceFailure</Code>")
            && r.body.contains("<Type>Receiver</Type>"),
        "{}",
        r.body
    );
    // STS on the same listener is not affected (unsigned: its own 403).
    assert_eq!(sts_call(&s).status, 403);
    let (st, v) = admin(
        &s,
        "PUT",
        "iam",
        json!({"error_rate": 1, "error": "throttling"}),
    );
    assert_eq!(st, 200, "{v}");
    let r = iam_call(&s);
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("<Code>Throttling</Code>")
            && r.body.contains("<Message>Rate exceeded</Message>")
            && r.body.contains("<Type>Sender</Type>"),
        "{}",
        r.body
    );
    admin(&s, "PUT", "iam", json!({"error_rate": 1, "error": 503}));
    let r = iam_call(&s);
    assert_eq!(r.status, 503);
    assert!(
        r.body.contains("<Code>ServiceUnavailable</Code>"),
        "{}",
        r.body
    );
    // A signed IAM request is routed by its credential scope too.
    let signed = send(
        s.bound.api.unwrap(),
        "POST",
        "/",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00",
            ),
        ],
        b"Action=ListRoles",
    );
    assert_eq!(signed.status, 503);
    admin(&s, "PUT", "iam", json!({"reset_rate": 1}));
    let mut c = TcpStream::connect(s.bound.api.unwrap()).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let body = "Action=ListRoles&Version=2010-05-08";
    c.write_all(
        format!(
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut out = Vec::new();
    assert_eq!(
        c.read_to_end(&mut out).map_err(|e| e.kind()).err(),
        Some(std::io::ErrorKind::ConnectionReset)
    );
    let (_, all) = admin(&s, "GET", "", serde_json::Value::Null);
    // Counts are per spec: the last PUT started afresh.
    assert_eq!(all["faults"]["iam"]["injected"]["reset"], 1);
    assert_eq!(all["faults"]["iam"]["injected"]["error"], 0);
    let log = fault_log(&s);
    assert!(log.iter().all(|d| d.service == "iam"), "{log:?}");
    assert!(
        log[0].reason.starts_with(
            "injected by the fault switchboard (iam): answered 500 ServiceFailure: error_rate 1"
        ),
        "{}",
        log[0].reason
    );
    assert!(log[1].reason.contains("(iam): answered 400 Throttling"));
}

#[test]
fn every_injected_fault_is_in_the_decision_log() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let api = s.bound.api.unwrap();
    let before = s.state.decisions.last_seq();
    admin(&s, "PUT", "iam", json!({"error_rate": 1, "error": 500}));
    admin(
        &s,
        "PUT",
        "sts",
        json!({"error_rate": 1, "error": "throttling"}),
    );
    admin(&s, "PUT", "imds", json!({"reset_rate": 1}));
    admin(&s, "PUT", "ecs", json!({"latency_ms": 1}));
    assert_eq!(iam_call(&s).status, 500);
    assert_eq!(sts_call(&s).status, 400);
    assert_eq!(
        read_error(imds(&s, OPTIONAL), CREDS),
        Some(std::io::ErrorKind::ConnectionReset)
    );
    assert_eq!(
        get(
            s.bound.ecs.unwrap(),
            &format!("/v2/credentials/{ECS_ID}"),
            &[]
        )
        .status,
        200
    );
    admin(&s, "DELETE", "", serde_json::Value::Null);
    // The decision log (the console's) has every change and every injected fault, in order,
    // the same entries as the switchboard's own list.
    let injected: Vec<_> = s
        .state
        .decisions
        .since(before, 1000)
        .into_iter()
        .filter(|d| d.outcome == crate::decisions::Outcome::Injected)
        .collect();
    let rows: Vec<(&str, String, String)> = injected
        .iter()
        .map(|d| (d.service, d.action.to_string(), d.resource.to_string()))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("awsid", "faults:set".into(), "iam".into()),
            ("awsid", "faults:set".into(), "sts".into()),
            ("awsid", "faults:set".into(), "imds".into()),
            ("awsid", "faults:set".into(), "ecs".into()),
            ("iam", "fault:error".into(), "POST /".into()),
            ("sts", "fault:throttling".into(), "POST /".into()),
            ("imds", "fault:reset".into(), format!("GET {CREDS}")),
            (
                "ecs",
                "fault:latency".into(),
                format!("GET /v2/credentials/{ECS_ID}")
            ),
            ("awsid", "faults:clear".into(), "*".into()),
        ]
    );
    let reasons: Vec<&str> = injected.iter().map(|d| &*d.reason).collect();
    assert!(
        reasons[4].contains("(iam): answered 500 ServiceFailure"),
        "{}",
        reasons[4]
    );
    assert!(
        reasons[5].contains("(sts): answered 400 Throttling"),
        "{}",
        reasons[5]
    );
    assert!(
        reasons[6].contains("(imds): connection reset, no answer"),
        "{}",
        reasons[6]
    );
    assert!(reasons[7].contains("(ecs): latency 1 ms"), "{}", reasons[7]);
    let recent: Vec<String> = s
        .state
        .faults
        .recent()
        .iter()
        .map(|e| e.reason.clone())
        .collect();
    assert_eq!(recent, reasons);
    // The console's live feed serves them.
    let feed: serde_json::Value =
        serde_json::from_str(&get(api, &format!("/console/decisions?after={before}"), &[]).body)
            .unwrap();
    let shown: Vec<&str> = feed["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["outcome"] == "injected")
        .map(|d| d["action"].as_str().unwrap())
        .collect();
    assert_eq!(shown.len(), 9);
    assert!(shown.contains(&"fault:throttling"));
}

/// Posts the console's fault form with `fields` (and the page's token unless `fields` has one).
fn post_form(
    s: &crate::LocalServer,
    fields: &[(&str, &str)],
    extra: &[(&str, &str)],
) -> crate::testutil::Reply {
    let mut body: Vec<String> = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", v.replace('*', "%2A")))
        .collect();
    if !fields.iter().any(|(k, _)| *k == "token") {
        body.push(format!("token={}", s.state.faults.form_token()));
    }
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend_from_slice(extra);
    send(
        s.bound.api.unwrap(),
        "POST",
        console::PATH,
        &headers,
        body.join("&").as_bytes(),
    )
}

fn console_request(peer: &str, host: &str, body: &str) -> RequestData {
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, host.parse().unwrap());
    headers.insert(
        http::header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    RequestData {
        method: http::Method::POST,
        uri: console::PATH.parse().unwrap(),
        headers,
        body: Bytes::from(body.to_string()),
        peer: peer.parse().unwrap(),
        local: "127.0.0.1:1".parse().unwrap(),
        ttl: crate::http::TtlControl::detached(),
    }
}

#[test]
fn the_console_sets_and_clears_faults() {
    let s = crate::spawn_local(World::default_world()).unwrap();
    let api = s.bound.api.unwrap();
    let page = get(api, crate::console::PATH, &[]);
    assert_eq!(page.status, 200);
    let token = s.state.faults.form_token().to_string();
    assert_eq!(token.len(), 32);
    // One form per endpoint, each carrying the token, posting to the console's own route.
    for name in [
        "sts",
        "iam",
        "sso",
        "sso-oidc",
        "ecs",
        "imds",
        "imds:i-1234567890abcdef0",
        "imds:i-0fedcba9876543210",
    ] {
        assert!(
            page.body
                .contains(&format!("<input type=hidden name=target value=\"{name}\">")),
            "{name}"
        );
    }
    assert_eq!(
        page.body
            .matches(&format!("<form method=post action=\"/console/faults\"><input type=hidden name=token value=\"{token}\">"))
            .count(),
        8
    );
    assert!(page
        .body
        .contains("<option value=internal selected>500 ServiceFailure</option>"));
    assert!(page
        .body
        .contains("<option value=throttling>400 Throttling</option>"));
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action 'self'") && csp.contains("default-src 'none'"),
        "{csp}"
    );

    // Set: IAM throttles every call.
    let r = post_form(
        &s,
        &[
            ("target", "iam"),
            ("op", "set"),
            ("error_rate", "1"),
            ("error", "throttling"),
            ("latency_ms", ""),
        ],
        &[("Origin", &format!("http://{api}"))],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/console/world#faults"));
    assert_eq!(iam_call(&s).status, 400);
    let (_, all) = admin(&s, "GET", "", serde_json::Value::Null);
    assert_eq!(
        all["faults"]["iam"]["spec"],
        json!({"error_rate": 1.0, "error": "throttling"})
    );
    // The page shows it in force, what it injected, and the form filled in.
    let page = get(api, crate::console::PATH, &[]).body;
    assert!(
        page.contains("&quot;error&quot;:&quot;throttling&quot;")
            && page.contains("&quot;error_rate&quot;:1.0"),
        "spec not shown"
    );
    assert!(page.contains("throttled 1"), "count not shown");
    assert!(page.contains("<option value=throttling selected>400 Throttling</option>"));
    assert!(page.contains("<button name=op value=clear>clear all faults</button>"));
    // An IMDS outage and expired credentials through the same form.
    let r = post_form(
        &s,
        &[
            ("target", "imds:i-1234567890abcdef0"),
            ("op", "set"),
            ("outage_seconds", "600"),
            ("outage_mode", "hang"),
            ("expired_credentials", "true"),
        ],
        &[],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let (_, all) = admin(
        &s,
        "GET",
        "imds:i-1234567890abcdef0",
        serde_json::Value::Null,
    );
    assert_eq!(
        all["spec"],
        json!({"outage": {"after_seconds": 0, "seconds": 600, "mode": "hang"}, "expired_credentials": true})
    );
    assert_eq!(all["outage_window"]["active"], true);

    // Refusals: each names what is wrong, and nothing changes.
    let bad = post_form(
        &s,
        &[("target", "iam"), ("op", "set"), ("error_rate", "2")],
        &[],
    );
    assert_eq!(bad.status, 400);
    assert!(
        bad.body
            .contains("iam.error_rate: 2 is not a fraction between 0 and 1"),
        "{}",
        bad.body
    );
    let bad = post_form(
        &s,
        &[("target", "iam"), ("op", "set"), ("error_rate", "half")],
        &[],
    );
    assert!(
        bad.body
            .contains("error_rate: &quot;half&quot; is not a number"),
        "{}",
        bad.body
    );
    let bad = post_form(&s, &[("target", "iam"), ("op", "set")], &[]);
    assert!(bad.body.contains("iam: nothing to set"), "{}", bad.body);
    let bad = post_form(
        &s,
        &[("target", "ec2"), ("op", "set"), ("error_rate", "1")],
        &[],
    );
    assert_eq!(bad.status, 400);
    assert!(bad.body.contains("unknown fault target"));
    let forged = post_form(
        &s,
        &[
            ("target", "*"),
            ("op", "clear"),
            ("token", "0123456789abcdef0123456789abcdef"),
        ],
        &[],
    );
    assert_eq!(forged.status, 403);
    assert!(forged.body.contains("token is missing or stale"));
    let cross = post_form(
        &s,
        &[("target", "*"), ("op", "clear")],
        &[("Origin", "http://evil.example")],
    );
    assert_eq!(cross.status, 403);
    assert!(cross.body.contains("another origin"));
    let csrf_form = send(
        api,
        "POST",
        console::PATH,
        &[("Content-Type", "text/plain")],
        format!("target=*&op=clear&token={token}").as_bytes(),
    );
    assert_eq!(csrf_form.status, 415);
    let body = format!("target=%2A&op=clear&token={token}");
    let rebound = crate::console::handle(
        &s.state,
        &console_request("127.0.0.1:5000", "evil.example:4590", &body),
    );
    assert_eq!(
        rebound.status(),
        StatusCode::FORBIDDEN,
        "DNS rebinding: a foreign Host"
    );
    let remote = crate::console::handle(
        &s.state,
        &console_request("192.0.2.7:5000", "127.0.0.1:4590", &body),
    );
    assert_eq!(remote.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        admin(&s, "GET", "", serde_json::Value::Null).1["faults"]
            .as_object()
            .unwrap()
            .len(),
        2,
        "the refusals changed nothing"
    );
    // Loopback names in other spellings are accepted.
    for host in ["localhost:4590", "[::1]:4590", "127.0.0.1"] {
        let ok = crate::console::handle(
            &s.state,
            &console_request(
                "127.0.0.1:5000",
                host,
                &format!("target=sso&op=clear&token={token}"),
            ),
        );
        assert_eq!(ok.status(), StatusCode::SEE_OTHER, "{host}");
    }
    // A page served to a remote client has no controls (and no token).
    let remote_page = crate::console::handle(
        &s.state,
        &RequestData {
            method: http::Method::GET,
            uri: crate::console::PATH.parse().unwrap(),
            ..console_request("192.0.2.7:5000", "127.0.0.1:4590", "")
        },
    );
    let body = futures_now(http_body_util::BodyExt::collect(remote_page.into_body()))
        .unwrap()
        .unwrap()
        .to_bytes();
    let body = String::from_utf8_lossy(&body);
    assert!(body.contains("id=faults") && body.contains("loopback client only"));
    assert!(!body.contains(&token) && !body.contains("<form"));

    // Clear one, then all.
    assert_eq!(
        post_form(&s, &[("target", "iam"), ("op", "clear")], &[]).status,
        303
    );
    assert_eq!(iam_call(&s).status, 403, "unsigned: IAM's own answer again");
    assert_eq!(
        post_form(&s, &[("target", "*"), ("op", "clear")], &[]).status,
        303
    );
    assert!(!s.state.faults.is_on());
    // Every change is in the decision log, marked as the console's.
    let changes: Vec<(String, String)> = s
        .state
        .decisions
        .since(0, 1000)
        .iter()
        .filter(|d| d.action.starts_with("faults:"))
        .map(|d| (d.action.to_string(), d.resource.to_string()))
        .collect();
    assert_eq!(
        changes,
        vec![
            ("faults:set".into(), "iam".into()),
            ("faults:set".into(), "imds:i-1234567890abcdef0".into()),
            ("faults:clear".into(), "iam".into()),
            ("faults:clear".into(), "*".into()),
        ]
    );
}
