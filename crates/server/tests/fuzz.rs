//! Property tests: arbitrary input never panics a parser, and arbitrary bytes on the wire
//! never take a live listener down.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::OnceLock;
use std::time::Duration;

use awsid_server::policy::{Policy, PolicyKind};
use awsid_server::world::World;
use proptest::prelude::*;

fn live() -> &'static awsid_server::LocalServer {
    static SERVER: OnceLock<awsid_server::LocalServer> = OnceLock::new();
    SERVER.get_or_init(|| awsid_server::spawn_local(World::default_world()).expect("server starts"))
}

fn addrs() -> Vec<SocketAddr> {
    let s = live();
    let mut v = vec![s.bound.api.unwrap(), s.bound.ecs.unwrap()];
    v.extend(s.bound.imds.iter().map(|(_, a)| *a));
    v
}

/// Sends raw bytes and reads whatever comes back (bounded in time).
fn blast(addr: SocketAddr, bytes: &[u8]) {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
    let _ = c.write_all(bytes);
    let _ = c.shutdown(std::net::Shutdown::Write);
    let mut sink = Vec::new();
    let _ = c.take(1 << 20).read_to_end(&mut sink);
}

/// A well-formed request still gets a well-formed HTTP answer.
fn still_alive(addr: SocketAddr) {
    let mut c = TcpStream::connect(addr).expect("listener still accepts");
    c.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    c.write_all(
        b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    assert!(out.starts_with(b"HTTP/1.1 "), "no HTTP answer from {addr}");
}

fn request_like() -> impl Strategy<Value = Vec<u8>> {
    let method = prop_oneof!["GET", "PUT", "POST", "HEAD", "DELETE", "\u{0}", ""];
    let path = prop_oneof![
        Just("/".to_string()),
        Just("/latest/api/token".to_string()),
        Just("/latest/meta-data/iam/security-credentials/".to_string()),
        Just("/v2/credentials/".to_string()),
        "/[ -~]{0,40}",
    ];
    let headers = proptest::collection::vec(("[A-Za-z-]{1,20}", "[ -~]{0,40}"), 0..6);
    (
        method,
        path,
        headers,
        proptest::collection::vec(any::<u8>(), 0..200),
    )
        .prop_map(|(m, p, hs, body)| {
            let mut out = format!("{m} {p} HTTP/1.1\r\nHost: x\r\n").into_bytes();
            for (k, v) in hs {
                out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
            }
            out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            out.extend_from_slice(&body);
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_on_every_listener(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        for a in addrs() {
            blast(a, &bytes);
        }
        for a in addrs() {
            still_alive(a);
        }
    }

    #[test]
    fn request_shaped_garbage_on_every_listener(req in request_like()) {
        for a in addrs() {
            blast(a, &req);
        }
        still_alive(addrs()[0]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, .. ProptestConfig::default() })]

    #[test]
    fn policy_parser_never_panics(text in "\\PC{0,300}") {
        let _ = Policy::parse(&text, PolicyKind::Trust);
        let _ = Policy::parse(&text, PolicyKind::Identity);
    }

    #[test]
    fn policy_parser_on_json_shaped_input(
        effect in prop_oneof!["Allow", "Deny", "allow", ""],
        action in "[a-z*?:]{0,12}",
        op in prop_oneof!["StringEquals", "ForAnyValue:StringLike", "NumericLessThanIfExists", "Null", "DateEquals", "IpAddress", "Bogus"],
        key in "[a-zA-Z:/]{0,12}",
        value in "[ -~]{0,16}",
    ) {
        let doc = serde_json::json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": effect, "Action": action, "Resource": "*",
                           "Condition": {op: {key.clone(): value}}}]
        }).to_string();
        if let Ok(p) = Policy::parse(&doc, PolicyKind::Identity) {
            // Whatever parsed must evaluate without panicking.
            let principal = awsid_server::policy::Principal::user("123456789012", "arn:aws:iam::123456789012:user/u");
            let mut ctx = awsid_server::policy::Context::new();
            ctx.set(key.clone(), value.clone());
            let _ = p.evaluate(&awsid_server::policy::Request { principal: &principal, action: "s3:GetObject", resource: "arn:aws:s3:::b/k", context: &ctx });
        }
    }

    #[test]
    fn world_parser_never_panics(text in "\\PC{0,400}") {
        let _ = World::parse(&text, "fuzz.toml");
    }

    #[test]
    fn token_and_jwt_parsers_never_panic(text in "[ -~]{0,300}") {
        let issuer = awsid_server::Issuer::new([9u8; 32], &[]);
        let _ = issuer.open("ASIAAAAAAAAAAAAAAAAA", &text);
        let _ = issuer.verify_imds_token(&text, "i-1", 0);
        let _ = awsid_server::jwt::peek(&text);
        let _ = awsid_server::sts::params::Params::parse(&text, Some(&text));
    }
}
