use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::*;
use crate::testutil::{get, send, Reply};

const TOKEN: &str = "relay-test-token";
const ROLE: &str = "dev-role";

/// A source handing out fixed credentials (or an error), counting calls.
#[derive(Clone)]
struct Fixed {
    answer: Arc<Mutex<Result<RelayedCredentials, SourceError>>>,
    calls: Arc<AtomicUsize>,
}

impl Fixed {
    fn ok() -> Fixed {
        Fixed {
            answer: Arc::new(Mutex::new(Ok(creds()))),
            calls: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn failing(message: &str) -> Fixed {
        let f = Fixed::ok();
        *f.answer.lock().unwrap() = Err(SourceError(message.into()));
        f
    }
}

impl CredentialSource for Fixed {
    async fn credentials(&self) -> Result<Arc<RelayedCredentials>, SourceError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        self.answer.lock().unwrap().clone().map(Arc::new)
    }
}

fn creds() -> RelayedCredentials {
    RelayedCredentials {
        access_key_id: "ASIARELAYEXAMPLE0001".into(),
        secret_access_key: "relaySecretEXAMPLEKEYEXAMPLEKEYEXAMPLE01".into(),
        session_token: "relaySessionTokenEXAMPLE".into(),
        expiration: 1_900_000_000,
        obtained: 1_899_996_400,
        account_id: Some("123456789012".into()),
        role_arn: Some(format!("arn:aws:iam::123456789012:role/{ROLE}")),
    }
}

fn own_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid()
}

fn options(imds: bool, container: bool) -> RelayOptions {
    RelayOptions {
        imds,
        container_token: container.then(|| TOKEN.to_string()),
        role_name: ROLE.into(),
    }
}

fn admission(uids: &[u32]) -> Admission {
    Admission {
        users: UidAllowList::new(uids.iter().copied()),
        container_networks: Vec::new(),
    }
}

/// A relay on 127.0.0.1:0 on its own runtime thread; stopped when dropped.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(source: Fixed, options: RelayOptions, admission: Admission) -> Running {
    let handler = RelayHandler::new(source, options, admission).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let thread = std::thread::spawn(move || {
        rt.block_on(async move {
            let server = start(handler, &["127.0.0.1:0".parse().unwrap()])
                .await
                .unwrap();
            ready_tx.send(server.bound[0]).unwrap();
            let _ = stop_rx.await;
            server.shutdown().await;
        });
    });
    Running {
        addr: ready_rx.recv().unwrap(),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

fn token(addr: SocketAddr) -> String {
    let r = send(
        addr,
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
        b"",
    );
    assert_eq!(r.status, 200, "{r:?}");
    assert_eq!(
        r.header("x-aws-ec2-metadata-token-ttl-seconds"),
        Some("21600")
    );
    r.body
}

fn imds_get(addr: SocketAddr, path: &str, token: &str) -> Reply {
    get(addr, path, &[("X-aws-ec2-metadata-token", token)])
}

fn is_page(r: &Reply, status: u16) -> bool {
    let line = format!(
        "{} - {}",
        status,
        http::StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap()
    );
    r.status == status && r.body.contains(&format!("<title>{line}</title>"))
}

#[test]
fn imdsv2_serves_the_role_and_its_credentials() {
    let source = Fixed::ok();
    let relay = run(
        source.clone(),
        options(true, false),
        admission(&[own_uid()]),
    );
    let a = relay.addr;
    let t = token(a);
    let root = imds_get(a, "/", &t);
    assert_eq!(root.status, 200);
    assert!(root.body.ends_with("\nlatest"), "{}", root.body);
    assert_eq!(imds_get(a, "/latest/meta-data/", &t).body, "iam/");
    assert_eq!(
        imds_get(a, "/latest/meta-data/iam", &t).body,
        "security-credentials/\nsecurity-credentials-extended/"
    );
    for path in [
        "/latest/meta-data/iam/security-credentials/",
        "/latest/meta-data/iam/security-credentials",
        "/2021-03-23/meta-data/iam/security-credentials-extended/",
    ] {
        let r = imds_get(a, path, &t);
        assert_eq!((r.status, r.body.as_str()), (200, ROLE), "{path}");
    }
    let r = imds_get(a, "/latest/meta-data/iam/security-credentials/dev-role", &t);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/plain"));
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["Code"], "Success");
    assert_eq!(doc["Type"], "AWS-HMAC");
    assert_eq!(doc["AccessKeyId"], "ASIARELAYEXAMPLE0001");
    assert_eq!(doc["Token"], "relaySessionTokenEXAMPLE");
    // Milliseconds keep botocore from stretching the expiry (see `imds_document`).
    assert_eq!(doc["Expiration"], "2030-03-17T17:46:40.000Z");
    assert_eq!(doc["LastUpdated"], "2030-03-17T16:46:40Z");
    assert!(doc.get("AccountId").is_none(), "legacy document");
    let r = imds_get(
        a,
        "/latest/meta-data/iam/security-credentials-extended/dev-role",
        &t,
    );
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["AccountId"], "123456789012");
    let head = send(
        a,
        "HEAD",
        "/latest/meta-data/iam/security-credentials/dev-role",
        &[("X-aws-ec2-metadata-token", &t)],
        b"",
    );
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    assert!(is_page(
        &imds_get(a, "/latest/meta-data/iam/security-credentials/other", &t),
        404
    ));
    assert!(is_page(&imds_get(a, "/latest/user-data", &t), 404));
    assert!(is_page(&imds_get(a, "/nope/meta-data/", &t), 404));
    assert_eq!(source.calls.load(Ordering::SeqCst), 3, "asked per document");
}

#[test]
fn imds_refusals_are_the_real_services() {
    let relay = run(Fixed::ok(), options(true, false), admission(&[own_uid()]));
    let a = relay.addr;
    let creds_path = "/latest/meta-data/iam/security-credentials/dev-role";
    // IMDSv1 (no token), a wrong token, a token of another relay.
    assert!(is_page(&get(a, creds_path, &[]), 401));
    assert!(is_page(&imds_get(a, creds_path, "not-a-token"), 401));
    let other = run(Fixed::ok(), options(true, false), admission(&[own_uid()]));
    assert!(is_page(&imds_get(a, creds_path, &token(other.addr)), 401));
    // Token requests: no TTL, a TTL out of range, forwarded, versioned path, wrong method.
    let put = |path: &str, headers: &[(&str, &str)]| send(a, "PUT", path, headers, b"");
    assert!(is_page(&put("/latest/api/token", &[]), 400));
    assert!(is_page(
        &put(
            "/latest/api/token",
            &[("X-aws-ec2-metadata-token-ttl-seconds", "21601")]
        ),
        400
    ));
    assert!(is_page(
        &put(
            "/latest/api/token",
            &[
                ("X-aws-ec2-metadata-token-ttl-seconds", "60"),
                ("X-Forwarded-For", "203.0.113.9")
            ]
        ),
        403
    ));
    assert!(is_page(
        &put(
            "/2021-03-23/api/token",
            &[("X-aws-ec2-metadata-token-ttl-seconds", "60")]
        ),
        403
    ));
    let r = get(a, "/latest/api/token", &[]);
    assert!(is_page(&r, 405));
    assert_eq!(r.header("allow"), Some("PUT"));
    assert_eq!(r.header("server"), Some("EC2ws"));
    let r = send(a, "POST", creds_path, &[], b"");
    assert!(is_page(&r, 405));
}

#[test]
fn container_protocol_needs_the_token() {
    let source = Fixed::ok();
    let relay = run(
        source.clone(),
        options(false, true),
        admission(&[own_uid()]),
    );
    let a = relay.addr;
    let json = |r: &Reply| serde_json::from_str::<serde_json::Value>(&r.body).unwrap();
    // The EKS Pod Identity Agent's refusals: Go's `http.Error`, plain text.
    let plain = |r: &Reply| {
        (
            r.status,
            r.header("content-type").map(str::to_owned),
            r.header("x-content-type-options").map(str::to_owned),
            r.body.clone(),
        )
    };
    let text_of = |status: u16, body: &str| {
        (
            status,
            Some("text/plain; charset=utf-8".to_owned()),
            Some("nosniff".to_owned()),
            body.to_owned(),
        )
    };
    let r = get(a, "/credentials", &[]);
    assert_eq!(
        plain(&r),
        text_of(400, "Service account token cannot be empty\n")
    );
    let r = get(a, "/credentials", &[("Authorization", "wrong")]);
    let (status, _, _, body) = plain(&r);
    let request_id = body
        .strip_prefix('[')
        .and_then(|b| b.split_once("]: "))
        .map(|(id, _)| id.to_owned())
        .unwrap_or_default();
    assert_eq!(request_id.len(), 36, "{body}");
    assert_eq!(
        plain(&r),
        text_of(
            400,
            &format!(
                "[{request_id}]: (InvalidTokenException): The authorization token is not valid, fault: client\n"
            )
        )
    );
    assert_eq!(status, 400);
    assert_eq!(source.calls.load(Ordering::SeqCst), 0);
    let r = get(a, "/credentials", &[("Authorization", TOKEN)]);
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(
        json(&r),
        serde_json::json!({
            "RoleArn": "arn:aws:iam::123456789012:role/dev-role",
            "AccessKeyId": "ASIARELAYEXAMPLE0001",
            "SecretAccessKey": "relaySecretEXAMPLEKEYEXAMPLEKEYEXAMPLE01",
            "Token": "relaySessionTokenEXAMPLE",
            "Expiration": "2030-03-17T17:46:40Z",
            "AccountId": "123456789012",
        })
    );
    // Only the advertised path; IMDS paths are not served by a container-only relay.
    let r = get(a, "/latest/api/token", &[("Authorization", TOKEN)]);
    assert_eq!(plain(&r), text_of(404, "404 page not found\n"));
    let r = send(a, "POST", "/credentials", &[("Authorization", TOKEN)], b"");
    assert_eq!(plain(&r), text_of(405, "Method Not Allowed\n"));
}

#[test]
fn one_listener_speaks_both_protocols() {
    let relay = run(Fixed::ok(), options(true, true), admission(&[own_uid()]));
    let a = relay.addr;
    let t = token(a);
    let r = imds_get(a, "/latest/meta-data/iam/security-credentials/dev-role", &t);
    assert!(r.body.contains("\"Code\" : \"Success\""));
    let r = get(a, "/credentials", &[("Authorization", TOKEN)]);
    assert!(r.body.contains("\"AccessKeyId\":\"ASIARELAYEXAMPLE0001\""));
    // The IMDS tree still refuses IMDSv1 although the container protocol is on.
    assert!(is_page(&get(a, "/latest/meta-data/", &[]), 401));
}

#[test]
fn a_failing_source_is_reported_in_each_protocols_terms() {
    let relay = run(
        Fixed::failing("cannot refresh profile dev: the SSO session has expired"),
        options(true, true),
        admission(&[own_uid()]),
    );
    let a = relay.addr;
    let t = token(a);
    let r = imds_get(a, "/latest/meta-data/iam/security-credentials/dev-role", &t);
    assert_eq!(r.status, 200);
    let doc: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(doc["Code"], "CredentialsUnavailable");
    assert_eq!(
        doc["Message"],
        "cannot refresh profile dev: the SSO session has expired"
    );
    assert!(doc.get("AccessKeyId").is_none());
    let r = get(a, "/credentials", &[("Authorization", TOKEN)]);
    assert_eq!(
        (r.status, r.body.as_str()),
        (
            500,
            "cannot refresh profile dev: the SSO session has expired\n"
        )
    );
}

#[test]
fn other_os_users_get_each_protocols_refusal() {
    // Nobody's socket belongs to this UID: every connection is refused, before any token check.
    let source = Fixed::ok();
    let relay = run(
        source.clone(),
        options(true, true),
        admission(&[4_000_000_000]),
    );
    let a = relay.addr;
    let r = send(
        a,
        "PUT",
        "/latest/api/token",
        &[("X-aws-ec2-metadata-token-ttl-seconds", "60")],
        b"",
    );
    assert!(is_page(&r, 403), "{r:?}");
    assert_eq!(r.header("connection"), Some("close"));
    let r = get(a, "/credentials", &[("Authorization", TOKEN)]);
    assert_eq!(
        (r.status, r.header("content-type"), r.body.as_str()),
        (
            403,
            Some("text/plain; charset=utf-8"),
            "Access Denied. This endpoint does not serve the caller's address or OS user\n"
        )
    );
    assert_eq!(source.calls.load(Ordering::SeqCst), 0);
}

#[test]
fn networks_parse_match_and_never_hold_loopback() {
    let net: IpNetwork = "172.17.0.0/16".parse().unwrap();
    assert!(net.contains("172.17.3.4".parse().unwrap()));
    assert!(net.contains("::ffff:172.17.3.4".parse().unwrap()));
    assert!(!net.contains("172.18.0.1".parse().unwrap()));
    assert!(!net.contains("fd00::1".parse().unwrap()));
    let one: IpNetwork = "10.0.0.7".parse().unwrap();
    assert_eq!(one.to_string(), "10.0.0.7/32");
    let v6: IpNetwork = "fd00:ec2::/32".parse().unwrap();
    assert!(v6.contains("fd00:ec2::23".parse().unwrap()));
    assert!("0.0.0.0/0"
        .parse::<IpNetwork>()
        .unwrap()
        .contains("8.8.8.8".parse().unwrap()));
    for bad in ["172.17.0.0/33", "nope", "10.0.0.0/x", "::/129"] {
        assert!(bad.parse::<IpNetwork>().is_err(), "{bad}");
    }
    for (text, loopback) in [
        ("127.0.0.0/8", true),
        ("127.5.0.0/16", true),
        ("0.0.0.0/0", true),
        ("::1", true),
        ("::/0", true),
        ("172.17.0.0/16", false),
        ("128.0.0.0/1", false),
    ] {
        let net: IpNetwork = text.parse().unwrap();
        assert_eq!(net.overlaps_loopback(), loopback, "{text}");
    }
    let err = RelayHandler::new(
        Fixed::ok(),
        options(true, true),
        Admission {
            users: UidAllowList::new([own_uid()]),
            container_networks: vec!["127.0.0.0/8".parse().unwrap()],
        },
    )
    .err()
    .unwrap();
    assert!(err.contains("loopback"), "{err}");
    assert!(RelayHandler::new(Fixed::ok(), options(false, false), admission(&[0])).is_err());
}

#[test]
fn debug_output_hides_the_secrets() {
    let text = format!("{:?} {:?}", creds(), options(true, true));
    assert!(text.contains("ASIARELAYEXAMPLE0001"));
    for secret in ["relaySecret", "relaySessionToken", TOKEN] {
        assert!(!text.contains(secret), "{text}");
    }
}
