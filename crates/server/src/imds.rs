//! The EC2 instance metadata service for one instance: IMDSv1/v2 with stateless tokens, the
//! metadata tree with listings exactly as the real service prints them, and role credentials
//! that rotate before they expire.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, StatusCode};
use thread_local::ThreadLocal;

use crate::decisions::{Entry, Outcome};
use crate::http::{text, BodyError, Handler, HttpResponse, RequestData};
use crate::issuer::VerifiedTokens;
use crate::peer::{PeerVerdict, UidAllowList};
use crate::sessions;
use crate::state::{iso8601, State};
use crate::world::{EndpointState, HttpTokens, Instance, InstanceState, World};

/// Metadata versions listed at `/`, oldest first; each is an alias of `latest`.
pub const VERSIONS: &[&str] = &[
    "1.0",
    "2007-01-19",
    "2007-03-01",
    "2007-08-29",
    "2007-10-10",
    "2007-12-15",
    "2008-02-01",
    "2008-09-01",
    "2009-04-04",
    "2011-01-01",
    "2011-05-01",
    "2012-01-12",
    "2014-02-25",
    "2014-11-05",
    "2015-10-20",
    "2016-04-19",
    "2016-06-30",
    "2016-09-02",
    "2018-03-28",
    "2018-08-17",
    "2018-09-24",
    "2019-10-01",
    "2020-10-27",
    "2021-01-03",
    "2021-03-23",
    "2021-07-15",
    "2022-09-24",
    "latest",
];

/// The header carrying an IMDSv2 session token on metadata requests.
pub const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// The header of a token request (and its response) giving the token's lifetime in seconds.
pub const TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
/// The token lifetimes IMDS accepts, in seconds (one second to six hours).
pub const TOKEN_TTL_RANGE: std::ops::RangeInclusive<u32> = 1..=21600;

/// The rendered credentials documents of one rotation window of one world generation, and
/// the decision that produced them.
struct Rendered {
    window: i64,
    generation: u64,
    legacy: Bytes,
    extended: Bytes,
    decision: Entry,
}

/// The IMDS handler of one instance. It reads the instance from the current world snapshot on
/// every request, so association changes and metadata options apply immediately.
pub struct ImdsHandler {
    state: Arc<State>,
    instance: String,
    /// The credentials documents of the current rotation window, rendered once per thread
    /// (issuance is deterministic, so every thread serves the same bytes) so that worker
    /// threads answering at the same time share no lock and no reference count.
    cache: ThreadLocal<RefCell<Option<Rendered>>>,
    /// When set, only loopback peers whose socket belongs to one of these UIDs are served.
    allowed: Option<Arc<UidAllowList>>,
    /// Tokens of this instance whose MAC was already checked (with `state.issuer`, which a
    /// `State` never replaces), so a client re-presenting its token skips the HMAC.
    verified: VerifiedTokens,
}

/// One request's instance and world.
struct Req<'w> {
    world: &'w World,
    inst: &'w Instance,
    /// The request's time (epoch seconds), read once: token check, rotation window and
    /// decision log all use it.
    now: i64,
}

impl ImdsHandler {
    /// A handler for the instance with id `instance`.
    pub fn new(state: Arc<State>, instance: &str) -> ImdsHandler {
        ImdsHandler {
            state,
            instance: instance.to_string(),
            cache: ThreadLocal::new(),
            allowed: None,
            verified: VerifiedTokens::default(),
        }
    }

    /// Serves only peers whose socket is owned by a UID on `list` (others get the real
    /// service's `403 - Forbidden` page); `None` serves everyone.
    pub fn with_allowed_users(mut self, list: Option<Arc<UidAllowList>>) -> ImdsHandler {
        self.allowed = list;
        self
    }

    fn decide(&self, action: &'static str, outcome: Outcome, resource: &str, reason: &str) {
        self.state.decide(Entry::new(
            "imds",
            action,
            format!("instance {}", self.instance),
            resource,
            outcome,
            reason,
        ));
    }
}

/// The XHTML error page real IMDS sends.
pub fn error_page(status: StatusCode) -> HttpResponse {
    let line = format!(
        "{} - {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"iso-8859-1\"?>\n\
         <!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Transitional//EN\"\n\
         \t\"http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd\">\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\" xml:lang=\"en\" lang=\"en\">\n \
         <head>\n  <title>{line}</title>\n </head>\n <body>\n  <h1>{line}</h1>\n </body>\n</html>\n"
    );
    let mut r = text(status, "text/html", body);
    r.headers_mut()
        .insert(http::header::SERVER, HeaderValue::from_static("EC2ws"));
    r
}

/// A `200` text answer with the headers real IMDS sends.
pub(crate) fn ok(body: impl Into<Bytes>) -> HttpResponse {
    // Built once and copied: a copy costs less than hashing and inserting three names.
    static HEADERS: std::sync::LazyLock<http::HeaderMap> = std::sync::LazyLock::new(|| {
        let mut h = http::HeaderMap::with_capacity(3);
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        );
        h.insert(http::header::SERVER, HeaderValue::from_static("EC2ws"));
        h.insert(
            http::header::ACCEPT_RANGES,
            HeaderValue::from_static("none"),
        );
        h
    });
    let mut r = HttpResponse::new(http_body_util::Full::new(body.into()));
    *r.headers_mut() = HEADERS.clone();
    r
}

/// What a path resolves to.
enum Node {
    Leaf(Bytes),
    Dir(Vec<String>),
    Missing,
}

/// Formats a flat JSON object the way IMDS does: two-space indent, `" : "` separators.
pub(crate) fn imds_json(fields: &[(&str, &str)]) -> String {
    let mut out = String::from("{\n");
    for (i, (k, v)) in fields.iter().enumerate() {
        let v = serde_json::to_string(v).expect("string serializes");
        out.push_str(&format!("  \"{k}\" : {v}"));
        out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
    }
    out.push('}');
    out
}

impl Handler for ImdsHandler {
    fn wants_body(&self) -> bool {
        false
    }

    fn body_error(&self, _err: BodyError) -> HttpResponse {
        error_page(StatusCode::BAD_REQUEST)
    }

    fn admit(&self, peer: SocketAddr, local: SocketAddr) -> bool {
        let Some(list) = &self.allowed else {
            return true;
        };
        match list.check(peer, local) {
            PeerVerdict::Allowed(_) => true,
            verdict => {
                tracing::info!(%peer, %local, ?verdict, instance = %self.instance, "IMDS connection refused by the UID allow-list");
                self.decide(
                    "imds:Connect",
                    Outcome::Denied,
                    &peer.to_string(),
                    &format!(
                        "the connecting OS user is not on the --imds-allow-user list ({verdict:?})"
                    ),
                );
                false
            }
        }
    }

    fn refused(&self, _uri: &http::Uri) -> HttpResponse {
        error_page(StatusCode::FORBIDDEN)
    }

    async fn handle(&self, req: RequestData) -> HttpResponse {
        let path = req.uri.path();
        let token_path = is_token_path(path);
        let mut resp = self.route(&req, token_path);
        let action = if token_path.is_some() {
            "GetToken"
        } else if is_credentials_path(path) {
            "GetCredentials"
        } else {
            "GetMetadata"
        };
        self.state.metrics.record(crate::metrics::Call {
            service: "imds",
            action,
            status: resp.status().as_u16(),
        });
        if req.method == Method::HEAD {
            *resp.body_mut() = http_body_util::Full::new(Bytes::new());
        }
        resp
    }
}

impl ImdsHandler {
    /// Answers `req`; `token_path` is [`is_token_path`] of its path.
    fn route(&self, req: &RequestData, token_path: Option<bool>) -> HttpResponse {
        let world = self.state.world_now();
        req.ttl.reset();
        let Some(inst) = world
            .instance(&self.instance)
            .filter(|i| i.state == InstanceState::Running)
        else {
            // Terminated while this connection was open.
            return error_page(StatusCode::SERVICE_UNAVAILABLE);
        };
        let r = Req {
            world: &world,
            inst,
            now: self.state.clock.now(),
        };
        if inst.endpoint == EndpointState::Disabled {
            self.decide(
                "imds:Request",
                Outcome::Denied,
                req.uri.path(),
                "HttpEndpoint is disabled for this instance",
            );
            return error_page(StatusCode::FORBIDDEN);
        }
        let path = req.uri.path();
        if req.method == Method::PUT {
            return match token_path {
                Some(true) => self.issue_token(&r, req),
                Some(false) => error_page(StatusCode::FORBIDDEN),
                None => method_not_allowed("GET, HEAD"),
            };
        }
        if token_path.is_some() {
            return method_not_allowed("PUT");
        }
        if req.method != Method::GET && req.method != Method::HEAD {
            return method_not_allowed("GET, HEAD");
        }
        let now = r.now;
        // A header name made once: looking it up by `&str` parses the name on every request.
        const TOKEN: HeaderName = HeaderName::from_static(TOKEN_HEADER);
        match req.headers.get(&TOKEN) {
            Some(token) => {
                let valid = token.to_str().is_ok_and(|t| {
                    // The cache is per handler, so per instance id; `inst.id` is that id.
                    self.state
                        .issuer
                        .verify_imds_token_cached(t, &inst.id, now, &self.verified)
                });
                if !valid {
                    self.decide(
                        "imds:Request",
                        Outcome::Denied,
                        path,
                        "the session token is invalid or expired (401)",
                    );
                    return error_page(StatusCode::UNAUTHORIZED);
                }
            }
            None if inst.http_tokens == HttpTokens::Required => {
                self.decide(
                    "imds:Request",
                    Outcome::Denied,
                    path,
                    "HttpTokens is required and the request has no session token (IMDSv1 refused, 401)",
                );
                return error_page(StatusCode::UNAUTHORIZED);
            }
            None => {}
        }
        match self.resolve(&r, path) {
            Node::Leaf(body) => ok(body),
            Node::Dir(children) if !children.is_empty() => ok(children.join("\n")),
            _ => error_page(StatusCode::NOT_FOUND),
        }
    }

    fn issue_token(&self, r: &Req<'_>, req: &RequestData) -> HttpResponse {
        let ttl = match token_request(req) {
            Ok(ttl) => ttl,
            Err(status) => {
                let reason = if status == StatusCode::FORBIDDEN {
                    "token requests with X-Forwarded-For are refused (403)"
                } else {
                    "the token TTL header is missing or outside 1-21600 (400)"
                };
                self.decide("imds:GetToken", Outcome::Denied, "api/token", reason);
                return error_page(status);
            }
        };
        let inst = r.inst;
        self.decide(
            "imds:GetToken",
            Outcome::Allowed,
            "api/token",
            &format!(
                "IMDSv2 session token, {ttl} s, hop limit {}",
                inst.hop_limit
            ),
        );
        let token = self.state.issuer.imds_token(&inst.id, r.now, ttl);
        // The token response must not cross more than `hop_limit` routers.
        req.ttl.set(inst.hop_limit);
        token_response(token, ttl)
    }

    fn resolve(&self, r: &Req<'_>, path: &str) -> Node {
        let trimmed = path.trim_start_matches('/');
        if trimmed.is_empty() {
            return Node::Dir(VERSIONS.iter().map(|v| v.to_string()).collect());
        }
        let (version, rest) = split_slash(trimmed).unwrap_or((trimmed, ""));
        // `latest` (what every client asks for) is the last of the list.
        if version != "latest" && !VERSIONS.contains(&version) {
            return Node::Missing;
        }
        let inst = r.inst;
        let rest = rest.trim_end_matches('/');
        let (category, sub) = split_slash(rest).unwrap_or((rest, ""));
        match category {
            "" => {
                let mut v = vec!["dynamic".to_string(), "meta-data".to_string()];
                if inst.user_data.is_some() {
                    v.push("user-data".into());
                }
                Node::Dir(v)
            }
            "meta-data" => self.meta_data(r, sub),
            "dynamic" => self.dynamic(r, sub),
            "user-data" if sub.is_empty() => match &inst.user_data {
                Some(d) => Node::Leaf(Bytes::from(d.clone())),
                None => Node::Missing,
            },
            _ => Node::Missing,
        }
    }

    fn dynamic(&self, r: &Req<'_>, sub: &str) -> Node {
        let inst = r.inst;
        match sub {
            "" => Node::Dir(vec!["fws/".into(), "instance-identity/".into()]),
            "fws" => Node::Dir(vec!["instance-monitoring".into()]),
            "fws/instance-monitoring" => Node::Leaf(Bytes::from_static(b"disabled")),
            "instance-identity" => Node::Dir(vec!["document".into()]),
            "instance-identity/document" => {
                let m = &inst.metadata;
                let doc = format!(
                    "{{\n  \"accountId\" : \"{}\",\n  \"architecture\" : \"{}\",\n  \"availabilityZone\" : \"{}\",\n  \"billingProducts\" : null,\n  \"devpayProductCodes\" : null,\n  \"marketplaceProductCodes\" : null,\n  \"imageId\" : \"{}\",\n  \"instanceId\" : \"{}\",\n  \"instanceType\" : \"{}\",\n  \"kernelId\" : null,\n  \"pendingTime\" : \"{}\",\n  \"privateIp\" : \"{}\",\n  \"ramdiskId\" : null,\n  \"region\" : \"{}\",\n  \"version\" : \"2017-09-30\"\n}}",
                    inst.account,
                    inst.architecture,
                    m["placement/availability-zone"],
                    m["ami-id"],
                    inst.id,
                    m["instance-type"],
                    inst.pending_time,
                    m["local-ipv4"],
                    inst.region,
                );
                Node::Leaf(Bytes::from(doc))
            }
            _ => Node::Missing,
        }
    }

    fn meta_data(&self, r: &Req<'_>, sub: &str) -> Node {
        let inst = r.inst;
        let role = r.world.instance_role(inst);
        // Dynamic subtrees first.
        if sub == "iam" || sub.starts_with("iam/") {
            let Some(role) = role else {
                return Node::Missing;
            };
            let req = r;
            let rest = sub
                .strip_prefix("iam")
                .unwrap_or("")
                .trim_start_matches('/');
            return match rest {
                "" => Node::Dir(
                    vec![
                        "info".into(),
                        "security-credentials/".into(),
                        // Listed only when served, so older-instance emulation stays consistent.
                    ]
                    .into_iter()
                    .chain(
                        inst.extended_api
                            .then(|| "security-credentials-extended/".to_string()),
                    )
                    .collect(),
                ),
                "info" => Node::Leaf(Bytes::from(self.iam_info(r))),
                "security-credentials" => Node::Dir(vec![role.name.clone()]),
                "security-credentials-extended" if inst.extended_api => {
                    Node::Dir(vec![role.name.clone()])
                }
                r => {
                    if let Some(name) = r.strip_prefix("security-credentials/") {
                        if name == role.name {
                            return Node::Leaf(self.credentials(req, false));
                        }
                    } else if let Some(name) = r.strip_prefix("security-credentials-extended/") {
                        if inst.extended_api && name == role.name {
                            return Node::Leaf(self.credentials(req, true));
                        }
                    }
                    Node::Missing
                }
            };
        }
        if sub == "tags" || sub.starts_with("tags/") {
            if !inst.metadata_tags {
                return Node::Missing;
            }
            return match sub {
                "tags" => Node::Dir(vec!["instance/".into()]),
                "tags/instance" => Node::Dir(inst.tags.keys().cloned().collect()),
                s => match s
                    .strip_prefix("tags/instance/")
                    .and_then(|k| inst.tags.get(k))
                {
                    Some(v) => Node::Leaf(Bytes::from(v.clone())),
                    None => Node::Missing,
                },
            };
        }
        if sub == "public-keys" {
            // Entries are `<index>=<key name>`; the name is the key's comment.
            let mut v = BTreeSet::new();
            for (k, val) in inst.metadata.range("public-keys/".to_string()..) {
                let Some(rest) = k.strip_prefix("public-keys/") else {
                    break;
                };
                if let Some((idx, "openssh-key")) = rest.split_once('/') {
                    let name = val.split_whitespace().nth(2).unwrap_or("key");
                    v.insert(format!("{idx}={name}"));
                }
            }
            return Node::Dir(v.into_iter().collect());
        }
        if let Some(v) = inst.metadata.get(sub) {
            return Node::Leaf(Bytes::from(v.clone()));
        }
        // A directory: the next path level of every key under it.
        let prefix = if sub.is_empty() {
            String::new()
        } else {
            format!("{sub}/")
        };
        let mut children = BTreeSet::new();
        for (k, _) in inst.metadata.range(prefix.clone()..) {
            let Some(rest) = k.strip_prefix(&prefix) else {
                break;
            };
            match rest.split_once('/') {
                Some((dir, _)) => children.insert(format!("{dir}/")),
                None => children.insert(rest.to_string()),
            };
        }
        if sub.is_empty() {
            if role.is_some() {
                children.insert("iam/".into());
            }
            if inst.metadata_tags {
                children.insert("tags/".into());
            }
        }
        if children.is_empty() {
            Node::Missing
        } else {
            Node::Dir(children.into_iter().collect())
        }
    }

    fn iam_info(&self, r: &Req<'_>) -> String {
        let inst = r.inst;
        let profile =
            &r.world.instance_profiles[inst.instance_profile.expect("role implies profile")];
        let (_, issued, _) =
            sessions::window(r.now, inst.credential_lifetime, inst.rotation_margin);
        imds_json(&[
            ("Code", "Success"),
            ("LastUpdated", &iso8601(issued)),
            ("InstanceProfileArn", &profile.arn),
            ("InstanceProfileId", &profile.id),
        ])
    }

    fn credentials(&self, r: &Req<'_>, extended: bool) -> Bytes {
        let inst = r.inst;
        let (k, issued, _) =
            sessions::window(r.now, inst.credential_lifetime, inst.rotation_margin);
        {
            let cache = self.cache.get_or_default().borrow();
            if let Some(c) = cache.as_ref() {
                if c.window == k && c.generation == r.world.generation {
                    self.state.decide_at(r.now, c.decision.clone());
                    return if extended {
                        c.extended.clone()
                    } else {
                        c.legacy.clone()
                    };
                }
            }
        }
        let role = r.world.instance_role(inst).expect("checked by caller");
        let partition = &r.world.settings.partition;
        let instance_arn = format!(
            "arn:{partition}:ec2:{}:{}:instance/{}",
            inst.region, inst.account, inst.id
        );
        let trust = sessions::service_trust(
            &self.state,
            r.world,
            role,
            "ec2.amazonaws.com",
            &inst.account,
            &instance_arn,
        );
        let (legacy, ext) = if trust.allowed {
            // IMDS credentials are exempt from the role-chaining cap.
            let (c, _) = sessions::service_credentials(
                &self.state,
                role,
                &inst.id,
                inst.credential_lifetime,
                inst.rotation_margin,
                false,
            );
            let (updated, expiration) = (iso8601(c.issued), iso8601(c.expiration));
            let mut fields = vec![
                ("Code", "Success"),
                ("LastUpdated", updated.as_str()),
                ("Type", "AWS-HMAC"),
                ("AccessKeyId", c.access_key_id.as_str()),
                ("SecretAccessKey", c.secret_access_key.as_str()),
                ("Token", c.session_token.as_str()),
                ("Expiration", expiration.as_str()),
            ];
            let legacy = imds_json(&fields);
            fields.push(("AccountId", role.account.as_str()));
            (legacy, imds_json(&fields))
        } else {
            let doc = imds_json(&[
                ("Code", "AssumeRoleUnauthorizedAccess"),
                (
                    "Message",
                    &format!("EC2 cannot assume the role {}.", role.name),
                ),
                ("LastUpdated", &iso8601(issued)),
            ]);
            (doc.clone(), doc)
        };
        let decision = Entry::new(
            "imds",
            "sts:AssumeRole",
            format!("ec2.amazonaws.com for instance {}", inst.id),
            role.arn.as_str(),
            if trust.allowed {
                Outcome::Allowed
            } else {
                Outcome::Denied
            },
            format!("trust policy of {}: {}", role.name, trust.reason),
        );
        self.state.decide(decision.clone());
        let (legacy, ext) = (Bytes::from(legacy), Bytes::from(ext));
        *self.cache.get_or_default().borrow_mut() = Some(Rendered {
            window: k,
            generation: r.world.generation,
            legacy: legacy.clone(),
            extended: ext.clone(),
            decision,
        });
        if extended {
            ext
        } else {
            legacy
        }
    }
}

/// Checks a `PUT /latest/api/token`: the requested lifetime, or the status of the refusal
/// real IMDS sends ([`error_page`]: `403` for a forwarded request, `400` for a missing or
/// out-of-range TTL).
pub(crate) fn token_request(req: &RequestData) -> Result<u32, StatusCode> {
    if req.headers.contains_key("x-forwarded-for") {
        return Err(StatusCode::FORBIDDEN);
    }
    req.headers
        .get(TTL_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|v| TOKEN_TTL_RANGE.contains(v))
        .ok_or(StatusCode::BAD_REQUEST)
}

/// The answer to a granted token request: the token, its lifetime echoed in the TTL header
/// (SDKs refuse a token without it).
pub(crate) fn token_response(token: String, ttl: u32) -> HttpResponse {
    let mut r = ok(token);
    r.headers_mut().insert(TTL_HEADER, HeaderValue::from(ttl));
    r
}

/// `405` with the `Allow` header of the methods the path takes.
pub(crate) fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut r = error_page(StatusCode::METHOD_NOT_ALLOWED);
    r.headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// `s.split_once('/')` by a plain byte scan: on a path this short it costs less than the
/// character searcher's set-up.
fn split_slash(s: &str) -> Option<(&str, &str)> {
    let i = s.bytes().position(|b| b == b'/')?;
    Some((&s[..i], &s[i + 1..]))
}

/// Whether `path` names an entry of an `iam/security-credentials/` directory (a role's
/// credentials, or a name that is not a role): `path.contains("/iam/security-credentials/")`
/// and does not end there. One pass over the bytes, comparing at each `/`: cheaper on a short
/// path than a substring search, which prepares its pattern on every call.
fn is_credentials_path(path: &str) -> bool {
    const DIR: &[u8] = b"/iam/security-credentials/";
    let bytes = path.as_bytes();
    !bytes.ends_with(DIR)
        && bytes
            .iter()
            .enumerate()
            .any(|(i, &c)| c == b'/' && bytes[i..].starts_with(DIR))
}

/// `Some(true)` for `/latest/api/token`, `Some(false)` for a versioned token path
/// (`/2021-03-23/api/token`), `None` otherwise.
pub(crate) fn is_token_path(path: &str) -> Option<bool> {
    let p = path.trim_end_matches('/');
    let rest = p.strip_prefix('/')?;
    let (version, tail) = split_slash(rest)?;
    if tail != "api/token" {
        return None;
    }
    Some(version == "latest")
}

#[cfg(test)]
mod tests;
