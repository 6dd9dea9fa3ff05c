use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::testutil::{get, send};
use crate::world::World;

fn server() -> crate::LocalServer {
    crate::spawn_local(World::default_world()).unwrap()
}

fn addr(s: &crate::LocalServer, id: &str) -> SocketAddr {
    s.bound.imds.iter().find(|(i, _)| i == id).unwrap().1
}

const OPTIONAL: &str = "i-1234567890abcdef0";
const REQUIRED: &str = "i-0fedcba9876543210";

fn token(a: SocketAddr, ttl: &str) -> crate::testutil::Reply {
    send(
        a,
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", ttl)],
        b"",
    )
}

#[test]
fn token_put_rules() {
    let s = server();
    let a = addr(&s, OPTIONAL);
    let r = token(a, "21600");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("21600")
    );
    assert!(!r.body.is_empty() && !r.body.ends_with('\n'));
    for bad in ["0", "21601", "abc", "-5", ""] {
        assert_eq!(token(a, bad).status, 400, "ttl {bad:?}");
    }
    assert_eq!(
        send(a, "PUT", "/latest/api/token", &[], b"").status,
        400,
        "missing ttl"
    );
    let xff = send(
        a,
        "PUT",
        "/latest/api/token",
        &[
            ("X-aws-ec2-metadata-token-ttl-seconds", "60"),
            ("X-Forwarded-For", "1.2.3.4"),
        ],
        b"",
    );
    assert_eq!(xff.status, 403);
    let versioned = send(
        a,
        "PUT",
        "/2021-03-23/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", "60")],
        b"",
    );
    assert_eq!(versioned.status, 403);
    let g = get(a, "/latest/api/token", &[]);
    assert_eq!(g.status, 405);
    assert_eq!(g.header("allow"), Some("PUT"));
    assert!(g.body.contains("<title>405 - Method Not Allowed</title>"));
}

#[test]
fn hop_limit_is_the_ttl_of_token_responses_only() {
    let s = server();
    // Instance 0 has hop_limit 2.
    let a = addr(&s, OPTIONAL);
    let applied = {
        // The LocalServer does not expose the TTL probes; start our own server to read them.
        let rt = crate::runtime().unwrap();
        let state = s.state.clone();
        let listen = crate::Listen {
            api: None,
            ecs: None,
            imds: vec![(0, "127.0.0.1:0".parse().unwrap())],
            all_instances: false,
            imds_allowed_uids: None,
        };
        let server = rt.block_on(crate::start(state, &listen)).unwrap();
        let a2 = server.bound.imds[0].1;
        let probe = server.applied_ttl[0].clone();
        let mut stream = std::net::TcpStream::connect(a2).unwrap();
        use std::io::{Read, Write};
        stream.write_all(b"PUT /latest/api/token HTTP/1.1\r\nHost: x\r\nX-aws-ec2-metadata-token-ttl-seconds: 60\r\nContent-Length: 0\r\n\r\n").unwrap();
        let mut buf = [0u8; 1024];
        let _ = stream.read(&mut buf).unwrap();
        let after_put = probe.load(Ordering::Acquire);
        stream.write_all(b"GET /latest/meta-data/instance-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
        let after_get = probe.load(Ordering::Acquire);
        rt.block_on(server.shutdown());
        (after_put, after_get)
    };
    assert_eq!(
        applied.0, 2,
        "token response sent with the hop limit as TTL"
    );
    assert_eq!(applied.1, 64, "other responses use the default TTL");
    let _ = a;
}

#[test]
fn v1_and_v2_token_validation() {
    let s = server();
    let opt = addr(&s, OPTIONAL);
    let req = addr(&s, REQUIRED);
    assert_eq!(
        get(opt, "/latest/meta-data/instance-id", &[]).body,
        OPTIONAL
    );
    assert_eq!(
        get(
            opt,
            "/latest/meta-data/instance-id",
            &[("X-aws-ec2-metadata-token", "garbage")]
        )
        .status,
        401
    );
    let r = get(req, "/latest/meta-data/instance-id", &[]);
    assert_eq!(r.status, 401);
    assert!(r.body.contains("<h1>401 - Unauthorized</h1>"));
    assert_eq!(r.header("content-type"), Some("text/html"));
    assert_eq!(
        get(req, "/latest/meta-data/", &[]).status,
        401,
        "listings are protected too"
    );
    assert_eq!(
        get(
            req,
            "/latest/meta-data/instance-id",
            &[("X-aws-ec2-metadata-token", "garbage")]
        )
        .status,
        401
    );
    let t = token(req, "60").body;
    let ok = get(
        req,
        "/latest/meta-data/instance-id",
        &[("x-aws-ec2-metadata-token", &t)],
    );
    assert_eq!((ok.status, ok.body.as_str()), (200, REQUIRED));
    // A token of one instance is refused by another.
    assert_eq!(
        get(
            opt,
            "/latest/meta-data/instance-id",
            &[("X-aws-ec2-metadata-token", &t)]
        )
        .status,
        401
    );
    // Expired tokens are refused.
    s.state.clock.advance(61);
    assert_eq!(
        get(
            req,
            "/latest/meta-data/instance-id",
            &[("x-aws-ec2-metadata-token", &t)]
        )
        .status,
        401
    );
}

#[test]
fn listings_match_the_real_service() {
    let s = server();
    let a = addr(&s, OPTIONAL);
    let top = get(a, "/latest/meta-data/", &[]).body;
    assert_eq!(
        top,
        get(a, "/latest/meta-data", &[]).body,
        "with and without trailing slash"
    );
    assert!(!top.ends_with('\n'));
    let entries: Vec<&str> = top.split('\n').collect();
    // Seed 002's listing must be a subset of ours.
    for want in "ami-id ami-launch-index ami-manifest-path block-device-mapping/ hostname iam/ instance-action instance-id instance-type local-hostname local-ipv4 mac metrics/ network/ placement/ profile public-hostname public-ipv4 public-keys/ reservation-id security-groups services/".split(' ') {
        assert!(entries.contains(&want), "missing {want} in {entries:?}");
    }
    let root = get(a, "/", &[]).body;
    assert!(root.starts_with("1.0\n") && root.ends_with("\nlatest"));
    assert_eq!(get(a, "/latest", &[]).body, "dynamic\nmeta-data");
    assert_eq!(
        get(a, "/latest/meta-data/placement/", &[]).body,
        "availability-zone\navailability-zone-id\nregion"
    );
    assert_eq!(
        get(a, "/latest/meta-data/placement/region", &[]).body,
        "us-west-2"
    );
    assert_eq!(
        get(a, "/latest/meta-data/iam/", &[]).body,
        "info\nsecurity-credentials/\nsecurity-credentials-extended/"
    );
    assert_eq!(
        get(a, "/latest/meta-data/public-keys/", &[]).body,
        "0=my-key"
    );
    assert_eq!(
        get(a, "/latest/meta-data/network/interfaces/macs/", &[]).body,
        "02:29:96:8f:6a:2d/"
    );
    assert_eq!(get(a, "/latest/meta-data/nope", &[]).status, 404);
    assert_eq!(
        get(a, "/latest/meta-data/iam/security-credentials/other", &[]).status,
        404
    );
    assert_eq!(
        get(a, "/2009-04-04/meta-data/instance-id", &[]).body,
        OPTIONAL,
        "versions alias latest"
    );
    assert_eq!(get(a, "/1999-01-01/meta-data/instance-id", &[]).status, 404);
    assert_eq!(get(a, "/latest/user-data", &[]).status, 404);
    let doc: serde_json::Value =
        serde_json::from_str(&get(a, "/latest/dynamic/instance-identity/document", &[]).body)
            .unwrap();
    assert_eq!(doc["instanceId"], OPTIONAL);
    assert_eq!(doc["region"], "us-west-2");
    assert_eq!(doc["accountId"], "123456789012");
    let head = send(a, "HEAD", "/latest/meta-data/instance-id", &[], b"");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert_eq!(
        send(a, "POST", "/latest/meta-data/instance-id", &[], b"").status,
        405
    );
}

#[test]
fn credentials_are_stable_until_rotation() {
    let s = server();
    let a = addr(&s, OPTIONAL);
    assert_eq!(
        get(a, "/latest/meta-data/iam/security-credentials", &[]).body,
        "my-instance-profile"
    );
    assert_eq!(
        get(a, "/latest/meta-data/iam/security-credentials/", &[]).body,
        "my-instance-profile"
    );
    let path = "/latest/meta-data/iam/security-credentials/my-instance-profile";
    let first = get(a, path, &[]).body;
    assert!(first.contains("\"Code\" : \"Success\""), "{first}");
    let doc: serde_json::Value = serde_json::from_str(&first).unwrap();
    for k in [
        "Code",
        "LastUpdated",
        "Type",
        "AccessKeyId",
        "SecretAccessKey",
        "Token",
        "Expiration",
    ] {
        assert!(doc.get(k).is_some(), "{k}");
    }
    assert!(doc["AccessKeyId"].as_str().unwrap().starts_with("ASIA"));
    let exp = doc["Expiration"].as_str().unwrap();
    assert!(exp.ends_with('Z') && !exp.contains('.'));
    assert_eq!(
        get(a, path, &[]).body,
        first,
        "same credentials on repeated calls"
    );
    let ext: serde_json::Value = serde_json::from_str(
        &get(
            a,
            "/latest/meta-data/iam/security-credentials-extended/my-instance-profile",
            &[],
        )
        .body,
    )
    .unwrap();
    assert_eq!(ext["AccountId"], "123456789012");
    assert_eq!(ext["AccessKeyId"], doc["AccessKeyId"]);
    // The session is the instance's role session, verifiable by the issuer.
    let (claims, secret) = s
        .state
        .issuer
        .open(
            doc["AccessKeyId"].as_str().unwrap(),
            doc["Token"].as_str().unwrap(),
        )
        .unwrap();
    assert_eq!(secret, doc["SecretAccessKey"]);
    assert_eq!(
        claims.arn,
        format!("arn:aws:sts::123456789012:assumed-role/my-instance-profile/{OPTIONAL}")
    );
    assert!(
        !claims.chained,
        "IMDS credentials are exempt from the chaining cap"
    );
    let expires = crate::policy::parse_date(exp).unwrap().unix_timestamp();
    // Advance to just before the rotation point: same set; past it: a new set, while the old
    // one still has at least the rotation margin (≥ 15 min) left.
    let now = s.state.clock.now();
    let margin = s.state.world().instances[0].rotation_margin;
    assert!(margin >= 900);
    s.state.clock.advance(expires - margin - now - 1);
    assert_eq!(get(a, path, &[]).body, first);
    s.state.clock.advance(2);
    let second: serde_json::Value = serde_json::from_str(&get(a, path, &[]).body).unwrap();
    assert_ne!(second["AccessKeyId"], doc["AccessKeyId"]);
    assert!(expires - s.state.clock.now() >= 900 - 2);
    let info: serde_json::Value =
        serde_json::from_str(&get(a, "/latest/meta-data/iam/info", &[]).body).unwrap();
    assert_eq!(
        info["InstanceProfileArn"],
        "arn:aws:iam::123456789012:instance-profile/my-instance-profile"
    );
}

#[test]
fn untrusted_role_and_disabled_endpoint() {
    let text = crate::world::DEFAULT_WORLD.replace(
        r#"{ "Service": "ec2.amazonaws.com"}"#,
        r#"{ "Service": "lambda.amazonaws.com"}"#,
    );
    let mut text = text;
    text.push_str("\n[[instances]]\nid = \"i-0000000000000dead\"\naccount = \"123456789012\"\nendpoint = \"disabled\"\n");
    let world = World::parse(&text, "t").unwrap();
    let s = crate::spawn_local(world).unwrap();
    let a = addr(&s, OPTIONAL);
    let r = get(
        a,
        "/latest/meta-data/iam/security-credentials/my-instance-profile",
        &[],
    );
    assert_eq!(r.status, 200);
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["Code"], "AssumeRoleUnauthorizedAccess");
    assert_eq!(
        doc["Message"],
        "EC2 cannot assume the role my-instance-profile."
    );
    assert!(doc.get("AccessKeyId").is_none());
    let d = addr(&s, "i-0000000000000dead");
    assert_eq!(get(d, "/latest/meta-data/", &[]).status, 403);
    assert_eq!(token(d, "60").status, 403);
    // No role: no iam/ entry, 404 below it.
    assert!(!get(d, "/latest/meta-data/", &[]).body.contains("iam/"));
}

#[test]
fn garbage_requests_do_not_break_the_listener() {
    use std::io::{Read, Write};
    let s = server();
    let a = addr(&s, OPTIONAL);
    for junk in [
        &b"\x00\x01\x02\r\n\r\n"[..],
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        &[0xffu8; 5000][..],
    ] {
        let mut c = std::net::TcpStream::connect(a).unwrap();
        c.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let _ = c.write_all(junk);
        let _ = c.shutdown(std::net::Shutdown::Write);
        let mut out = Vec::new();
        let _ = c.read_to_end(&mut out);
    }
    assert_eq!(get(a, "/latest/meta-data/instance-id", &[]).status, 200);
}

#[test]
fn longest_lifetime_serves_a_future_expiration() {
    // Regression: an unbounded lifetime wrapped the IMDS `Expiration` to 1970. The longest
    // accepted one is served as issued + lifetime.
    let text = crate::world::DEFAULT_WORLD.replace(
        "http_tokens = \"optional\"\nhop_limit = 2\n",
        "http_tokens = \"optional\"\nhop_limit = 2\ncredential_lifetime_seconds = 43200\n",
    );
    let s = crate::spawn_local(World::parse(&text, "w").unwrap()).unwrap();
    let a = addr(&s, OPTIONAL);
    let doc: serde_json::Value = serde_json::from_str(
        &get(
            a,
            "/latest/meta-data/iam/security-credentials/my-instance-profile",
            &[],
        )
        .body,
    )
    .unwrap();
    let date = |k: &str| {
        crate::policy::parse_date(doc[k].as_str().unwrap())
            .unwrap()
            .unix_timestamp()
    };
    let now = s.state.clock.now();
    assert_eq!(date("Expiration") - date("LastUpdated"), 43200);
    assert!(date("Expiration") - now >= 1800, "{doc}");
}

/// The UID of this test process (the owner of `/proc/self`).
fn my_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid()
}

#[test]
fn uid_allow_list_serves_listed_users_and_refuses_others_with_403() {
    let world = crate::World::default_world();
    let state = Arc::new(crate::State::new(world, Arc::new(crate::Issuer::random())));
    let me = my_uid();
    for (uids, expect_ok) in [(vec![me], true), (vec![me.wrapping_add(1)], false)] {
        let listen = crate::Listen {
            imds_allowed_uids: Some(uids),
            ..crate::Listen::loopback()
        };
        let s = crate::spawn_local_with(state.clone(), listen).unwrap();
        let a = addr(&s, OPTIONAL);
        let r = get(a, "/latest/meta-data/instance-id", &[]);
        let token = token(a, "60");
        if expect_ok {
            assert_eq!(r.status, 200);
            assert_eq!(r.body, OPTIONAL);
            assert_eq!(token.status, 200);
        } else {
            for r in [r, token] {
                assert_eq!(r.status, 403);
                assert!(
                    r.body.contains("<title>403 - Forbidden</title>"),
                    "{}",
                    r.body
                );
                assert_eq!(r.header("server"), Some("EC2ws"));
            }
        }
        // The other listeners are not restricted.
        assert!(s.bound.api.is_some());
        s.stop();
    }
}

#[test]
fn credentials_paths_are_told_by_segments_as_by_substring() {
    let dir = "/iam/security-credentials/";
    for path in [
        "/latest/meta-data/iam/security-credentials/role",
        "/latest/meta-data/iam/security-credentials/",
        "/latest/meta-data/iam/security-credentials",
        "/latest/meta-data/iam/security-credentials//",
        "/latest/meta-data/iam/security-credentials-extended/role",
        "/latest/meta-data/iam/info",
        "/iam/security-credentials/x",
        "iam/security-credentials/x",
        "/iam/security-credentials/",
        "/x/iam/security-credentials/a/iam/security-credentials/",
        "/x/iam/security-credentials/a/b",
        "/a/iam/iam/security-credentials/r",
        "/a/xiam/security-credentials/r",
        "/a/iam/security-credentialsx/r",
        "//iam/security-credentials/r",
        "",
        "/",
    ] {
        assert_eq!(
            super::is_credentials_path(path),
            path.contains(dir) && !path.ends_with(dir),
            "{path}"
        );
    }
}
