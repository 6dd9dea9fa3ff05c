//! Fuzz targets: each takes arbitrary bytes, must never panic, and checks a property where the
//! input allows one (an edit reads back, a fresh signature verifies, a cache entry written is
//! read back the same, no request earns a 5xx).
//!
//! The same functions run as libFuzzer binaries (`scripts/fuzz`, coverage-guided, on stable
//! with sanitizer-coverage flags) and under `cargo test` over the committed seed corpora and
//! the inputs of past findings (`tests/replay.rs`).

use std::sync::{Arc, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

use awsid_server::http::{Handler, RequestData, TtlControl};
use awsid_server::{Issuer, State, World};

/// A fuzz target: takes any bytes, panics on a finding.
pub type Target = fn(&[u8]);

/// Every target, by name (the corpus directory and binary name).
pub const TARGETS: &[(&str, Target)] = &[
    ("profile_round_trip", profile_round_trip),
    ("sigv4", sigv4),
    ("sts_request", sts_request),
    ("signed_query", signed_query),
    ("imds_request", imds_request),
    ("ecs_request", ecs_request),
    ("world_file", world_file),
    ("jwt", jwt),
    ("cache_entry", cache_entry),
    ("client_response", client_response),
];

/// Input form: a first line `section<TAB>key<TAB>value`, then the text of a credentials file.
/// Parsing never panics; when the file parses and the edit is accepted, the result parses and
/// the last section named `section` holds `key = value`, and no other section changed.
pub fn profile_round_trip(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        let _ = awsid_profile::ini::parse_bytes(data);
        return;
    };
    let (spec, file) = text.split_once('\n').unwrap_or((text, ""));
    let before = awsid_profile::ini::parse(file);
    let mut parts = spec.splitn(3, '\t');
    let (Some(section), Some(key), Some(value)) = (parts.next(), parts.next(), parts.next()) else {
        return;
    };
    let edit = awsid_profile::writer::SectionEdit {
        section: section.to_string(),
        values: vec![(
            key.to_string(),
            awsid_profile::writer::EditValue::Scalar(value.to_string()),
        )],
    };
    let kind = awsid_profile::writer::FileKind::Credentials;
    let existing = if file.is_empty() { None } else { Some(file) };
    let Ok(out) = awsid_profile::writer::apply_to(kind, existing, &edit) else {
        return;
    };
    let after = awsid_profile::ini::parse(&out)
        .unwrap_or_else(|e| panic!("the edited file does not parse: {e}\n{out:?}"));
    let target = after
        .sections
        .iter()
        .rev()
        .find(|s| s.name == section)
        .unwrap_or_else(|| panic!("section {section:?} missing after the edit:\n{out:?}"));
    // The reader strips as Python does and lower-cases keys (configparser's `optionxform`).
    let py_strip = |s: &str| {
        s.trim_matches(|c: char| c.is_whitespace() || ('\x1c'..='\x1f').contains(&c))
            .to_string()
    };
    assert_eq!(
        target.properties.get_str(&py_strip(key).to_lowercase()),
        Some(py_strip(value).as_str()),
        "edited value does not read back:\n{out:?}"
    );
    if let Ok(before) = before {
        for s in &before.sections {
            if s.name == section {
                continue;
            }
            let now = after.sections.iter().rev().find(|a| a.name == s.name);
            let last_before = before.sections.iter().rev().find(|b| b.name == s.name);
            if let (Some(now), Some(was)) = (now, last_before) {
                assert_eq!(
                    now.properties, was.properties,
                    "section {:?} changed:\n{out:?}",
                    s.name
                );
            }
        }
    }
}

/// A raw HTTP/1.1 request split into its parts (no body framing: the rest is the body).
struct Raw<'a> {
    method: &'a str,
    target: &'a str,
    headers: Vec<(&'a str, String)>,
    body: &'a [u8],
}

fn split_request(data: &[u8]) -> Option<Raw<'_>> {
    let end = data.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&data[..end]).ok()?;
    let body = &data[end + 4..];
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let (method, target) = (first.next()?, first.next()?);
    let mut headers = Vec::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim(), value.trim().to_string()));
    }
    Some(Raw {
        method,
        target,
        headers,
        body,
    })
}

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// Parses and verifies arbitrary requests (never panics); then signs the request as a client
/// would and checks that the signature verifies.
pub fn sigv4(data: &[u8]) {
    let Some(raw) = split_request(data) else {
        return;
    };
    let (path, query) = raw.target.split_once('?').unwrap_or((raw.target, ""));
    let headers: Vec<(&str, &str)> = raw.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let req = awsid_sigv4::SignableRequest::new(raw.method, path, query, &headers, raw.body);
    if let Ok(auth) = awsid_sigv4::parse_authorization(&req) {
        let _ = awsid_sigv4::verify(&req, &auth, SECRET, &Default::default());
    }
    // Round trip: strip what signing adds, sign, verify.
    if !path.starts_with('/') || query.contains("X-Amz-") {
        return;
    }
    let plain: Vec<(&str, &str)> = headers
        .iter()
        .copied()
        .filter(|(n, _)| {
            let n = n.to_ascii_lowercase();
            n != "authorization" && !n.starts_with("x-amz-")
        })
        .collect();
    if !plain.iter().any(|(n, _)| n.eq_ignore_ascii_case("host")) {
        return;
    }
    let req = awsid_sigv4::SignableRequest::new(raw.method, path, query, &plain, raw.body);
    let credentials = awsid_sigv4::Credentials::new("AKIDEXAMPLE", SECRET, None);
    let time = UNIX_EPOCH + Duration::from_secs(1_440_938_160);
    let Ok(signed) = awsid_sigv4::sign_headers(
        &req,
        &awsid_sigv4::SigningParams {
            credentials: &credentials,
            region: "us-east-1",
            service: "sts",
            time,
            settings: Default::default(),
        },
    ) else {
        return;
    };
    let mut all = plain.clone();
    for (n, v) in &signed.headers {
        all.push((n, v));
    }
    let req = awsid_sigv4::SignableRequest::new(raw.method, path, query, &all, raw.body);
    let auth = awsid_sigv4::parse_authorization(&req)
        .unwrap_or_else(|e| panic!("own signature does not parse: {e}"));
    awsid_sigv4::verify(&req, &auth, SECRET, &Default::default())
        .unwrap_or_else(|e| panic!("own signature does not verify: {e}"));
}

/// The default world's state, with a fixed master key.
fn state() -> Arc<State> {
    static STATE: OnceLock<Arc<State>> = OnceLock::new();
    STATE
        .get_or_init(|| {
            let issuer = Issuer::new([7u8; 32], &[]);
            Arc::new(State::new(World::default_world(), Arc::new(issuer)))
        })
        .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime")
    })
}

/// Builds the request a listener would hand its handler, or `None` where hyper would have
/// refused it already.
fn request_data(data: &[u8]) -> Option<RequestData> {
    let raw = split_request(data)?;
    let method = http::Method::from_bytes(raw.method.as_bytes()).ok()?;
    let uri: http::Uri = raw.target.parse().ok()?;
    let mut headers = http::HeaderMap::new();
    for (n, v) in &raw.headers {
        headers.append(
            http::HeaderName::from_bytes(n.as_bytes()).ok()?,
            http::HeaderValue::from_bytes(v.as_bytes()).ok()?,
        );
    }
    Some(RequestData {
        method,
        uri,
        headers,
        body: bytes::Bytes::copy_from_slice(raw.body),
        peer: "127.0.0.1:40000".parse().expect("literal address"),
        local: "127.0.0.1:80".parse().expect("literal address"),
        ttl: TtlControl::detached(),
    })
}

fn answer<H: Handler>(handler: &H, data: &[u8]) {
    let Some(req) = request_data(data) else {
        return;
    };
    let response = runtime().block_on(handler.handle(req));
    assert!(
        response.status().as_u16() < 500,
        "a request earned {}",
        response.status()
    );
}

/// The API listener (STS, SSO portal and OIDC) answers any request without a 5xx.
pub fn sts_request(data: &[u8]) {
    static H: OnceLock<awsid_server::api::ApiHandler> = OnceLock::new();
    answer(
        H.get_or_init(|| awsid_server::api::ApiHandler::new(state())),
        data,
    );
}

/// Input form: one byte choosing the service (IAM, EC2, Auto Scaling, STS), then a Query form
/// body (`Action=…&…`). The body is signed as the world's administrator and sent to the API
/// listener of a fresh default world, so the actions' own parsing and state changes run (an
/// unsigned body stops at authentication): no panic, no 5xx, and the world stays valid (it
/// still serves a signed `ListRoles`).
pub fn signed_query(data: &[u8]) {
    let Some((&which, body)) = data.split_first() else {
        return;
    };
    let (service, region) = match which % 4 {
        0 => ("iam", "us-east-1"),
        1 => ("ec2", "us-west-2"),
        2 => ("autoscaling", "us-west-2"),
        _ => ("sts", "us-east-1"),
    };
    let world = World::default_world();
    // The default world's administrator (AWS managed AdministratorAccess): its requests get
    // past authentication and authorization into every action's parameter handling.
    let key = world
        .users
        .iter()
        .find(|u| u.name == "admin")
        .and_then(|u| u.access_keys.first())
        .expect("the default world has an administrator with a key");
    let credentials = awsid_sigv4::Credentials::new(&key.id, &key.secret, None);
    let issuer = Issuer::new([7u8; 32], &[]);
    let handler = awsid_server::api::ApiHandler::new(Arc::new(State::new(world, Arc::new(issuer))));
    signed_answer(&handler, &credentials, service, region, body);
    let after = signed_answer(
        &handler,
        &credentials,
        "iam",
        "us-east-1",
        b"Action=ListRoles&Version=2010-05-08",
    );
    assert_eq!(after, 200, "the world no longer serves a signed ListRoles");
}

/// Signs `body` with `credentials` for `service`, asserts the API listener's answer is no 5xx
/// and returns its status.
fn signed_answer(
    handler: &awsid_server::api::ApiHandler,
    credentials: &awsid_sigv4::Credentials,
    service: &str,
    region: &str,
    body: &[u8],
) -> u16 {
    let host = "127.0.0.1:4590";
    let content_type = "application/x-www-form-urlencoded; charset=utf-8";
    let plain = [("host", host), ("content-type", content_type)];
    let req = awsid_sigv4::SignableRequest::new("POST", "/", "", &plain, body);
    let signed = awsid_sigv4::sign_headers(
        &req,
        &awsid_sigv4::SigningParams {
            credentials,
            region,
            service,
            time: std::time::SystemTime::now(),
            settings: Default::default(),
        },
    )
    .expect("signing a request with fixed parts");
    let mut headers = http::HeaderMap::new();
    for (n, v) in plain
        .iter()
        .map(|(n, v)| (*n, *v))
        .chain(signed.headers.iter().map(|(n, v)| (*n, v.as_str())))
    {
        headers.append(
            http::HeaderName::from_bytes(n.as_bytes()).expect("a literal header name"),
            http::HeaderValue::from_str(v).expect("an ASCII header value"),
        );
    }
    let req = RequestData {
        method: http::Method::POST,
        uri: http::Uri::from_static("/"),
        headers,
        body: bytes::Bytes::copy_from_slice(body),
        peer: "127.0.0.1:40000".parse().expect("literal address"),
        local: "127.0.0.1:4590".parse().expect("literal address"),
        ttl: TtlControl::detached(),
    };
    let response = runtime().block_on(handler.handle(req));
    let status = response.status().as_u16();
    assert!(status < 500, "{service} request earned {status}");
    status
}

/// Both default-world IMDS listeners (tokens optional and required) answer any request.
pub fn imds_request(data: &[u8]) {
    static H: OnceLock<[awsid_server::imds::ImdsHandler; 2]> = OnceLock::new();
    let [optional, required] = H.get_or_init(|| {
        [
            awsid_server::imds::ImdsHandler::new(state(), "i-1234567890abcdef0"),
            awsid_server::imds::ImdsHandler::new(state(), "i-0fedcba9876543210"),
        ]
    });
    answer(optional, data);
    answer(required, data);
}

/// The ECS listener answers any request without a 5xx.
pub fn ecs_request(data: &[u8]) {
    static H: OnceLock<awsid_server::ecs::EcsHandler> = OnceLock::new();
    answer(
        H.get_or_init(|| awsid_server::ecs::EcsHandler::new(state())),
        data,
    );
}

/// A world file either loads or is refused with an error naming the file; never a panic.
pub fn world_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Err(e) = World::parse(text, "fuzz.toml") {
        assert!(e.to_string().contains("fuzz.toml"), "{e}");
    }
}

/// Arbitrary tokens are peeked and verified against the default world's provider keys without
/// panicking; a token signed with those keys from the input's claims verifies.
pub fn jwt(data: &[u8]) {
    let world = state().world();
    let keys = &world.oidc_providers[0].keys;
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = awsid_server::jwt::peek(token);
        let _ = awsid_server::jwt::verify(token, keys);
    }
    if let Ok(claims @ serde_json::Value::Object(_)) = serde_json::from_slice(data) {
        let Ok(token) = keys[0].sign(&claims) else {
            return;
        };
        if awsid_server::jwt::peek(&token).is_ok() {
            awsid_server::jwt::verify(&token, keys)
                .unwrap_or_else(|e| panic!("own token does not verify: {e}"));
        }
    }
}

/// A cache entry is read or refused without panicking; one that reads is written back in the
/// CLI's shape and reads back the same.
pub fn cache_entry(data: &[u8]) {
    use awsid_credentials::cache::{parse_entry, sts_entry};
    let Ok(c) = parse_entry(data, "assume-role") else {
        return;
    };
    let written = sts_entry(&c, Some("AROAEXAMPLE:s"), Some("arn:aws:sts::1:x"), None).dumps();
    let again = parse_entry(written.as_bytes(), "assume-role")
        .unwrap_or_else(|e| panic!("a written entry does not read back: {e}"));
    assert_eq!(again.access_key_id, c.access_key_id);
    assert_eq!(
        again.secret_access_key.expose(),
        c.secret_access_key.expose()
    );
    assert_eq!(
        again.session_token.as_ref().map(|t| t.expose().to_string()),
        c.session_token.as_ref().map(|t| t.expose().to_string())
    );
    assert_eq!(again.expiry, c.expiry);
    assert_eq!(again.account_id, c.account_id);
}

/// Answers the client's requests with the input's responses, in order (the last one again for
/// any further request). Input form: one byte choosing the client (instance metadata, container
/// endpoint, STS `AssumeRole`, a credential process's output), then responses separated by a
/// line `--`, each a status line (`200`) and a body (for a process: the rest is its output).
struct CannedTransport {
    responses: Vec<awsid_credentials::http::HttpResponse>,
    next: std::sync::Mutex<usize>,
}

impl awsid_credentials::http::Transport for CannedTransport {
    fn send(
        &self,
        _request: &awsid_credentials::http::HttpRequest,
    ) -> Result<awsid_credentials::http::HttpResponse, awsid_credentials::http::TransportError>
    {
        let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
        let r = self.responses[(*next).min(self.responses.len() - 1)].clone();
        *next += 1;
        Ok(r)
    }
}

/// The credential clients read whatever an endpoint answers (instance metadata, a container
/// endpoint, STS) or a credential process prints without panicking, and the `Debug` and
/// `Display` forms of credentials they accept never show the secret key or the session token.
pub fn client_response(data: &[u8]) {
    if let Some(c) = client_credentials(data) {
        // An empty access key id is accepted, as the reference accepts it (botocore's
        // ProcessProvider reads `parsed['AccessKeyId']` as it is; STS then refuses the key).
        // The form must not depend on the secret or the token: the same credentials with
        // other values there print the same. (Looking for the secret in the text instead
        // finds it wherever it is a substring of a field that may be shown: the access key
        // id, as the fuzzer found at once.)
        let mut other = c.clone();
        other.secret_access_key = awsid_credentials::Secret::new("other secret");
        other.session_token = c
            .session_token
            .as_ref()
            .map(|_| awsid_credentials::Secret::new("other token"));
        assert_eq!(
            format!("{c:?}"),
            format!("{other:?}"),
            "Debug shows the secret key or the token"
        );
        assert_eq!(
            c.to_string(),
            other.to_string(),
            "Display shows the secret key or the token"
        );
    }
}

/// The credentials the client chosen by [`client_response`]'s input accepts from the input's
/// answers, if any.
pub fn client_credentials(data: &[u8]) -> Option<awsid_credentials::Credentials> {
    use awsid_credentials::http::HttpResponse;
    use awsid_credentials::Provider;
    let (&which, rest) = data.split_first()?;
    if which % 4 == 3 {
        // A credential process: the rest is its standard output.
        return awsid_credentials::process::parse_output(rest, Some("111122223333")).ok();
    }
    let responses: Vec<HttpResponse> = rest
        .split(|&b| b == b'\n')
        .fold(vec![Vec::<&[u8]>::new()], |mut parts, line| {
            if line == b"--" {
                parts.push(Vec::new());
            } else {
                parts.last_mut().expect("one part").push(line);
            }
            parts
        })
        .into_iter()
        .map(|lines| {
            let status = lines
                .first()
                .and_then(|l| std::str::from_utf8(l).ok())
                .and_then(|l| l.trim().parse::<u16>().ok())
                .unwrap_or(200);
            HttpResponse {
                status,
                headers: Vec::new(),
                body: lines.get(1..).unwrap_or_default().join(&b'\n'),
            }
        })
        .collect();
    let transport = Arc::new(CannedTransport {
        responses,
        next: std::sync::Mutex::new(0),
    });
    let got =
        match which % 3 {
            0 => awsid_credentials::imds::ImdsProvider::with_transport(
                awsid_credentials::imds::ImdsConfig {
                    base_url: "http://169.254.169.254".into(),
                    disabled: false,
                    v1_disabled: false,
                    timeout_secs: 1,
                    attempts: 1,
                },
                transport,
            )
            .provide(),
            1 => awsid_credentials::container::ContainerProvider::new(
                awsid_profile::Env::from_pairs([(
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    "http://127.0.0.1:1/creds",
                )]),
            )
            .with_transport(transport)
            .with_sleep(Duration::ZERO)
            .provide(),
            _ => {
                let client = awsid_credentials::sts::StsClient::new(
                    awsid_credentials::endpoint::Endpoint {
                        url: "https://sts.amazonaws.com".into(),
                        signing_region: "us-east-1".into(),
                    },
                    transport,
                    1,
                );
                let source = awsid_credentials::Credentials::new(
                    "AKIDEXAMPLE",
                    SECRET,
                    "shared-credentials-file",
                );
                client
                    .call(
                        "AssumeRole",
                        &[
                            ("RoleArn", "arn:aws:iam::123456789012:role/r".into()),
                            ("RoleSessionName", "s".into()),
                        ],
                        Some(&source),
                    )
                    .and_then(|xml| {
                        awsid_credentials::sts::assumed_role("AssumeRole", &xml, "assume-role")
                    })
                    .map(|a| Some(a.credentials))
            }
        };
    got.ok().flatten()
}
