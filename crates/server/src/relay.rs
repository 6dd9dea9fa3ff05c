//! Credentials obtained elsewhere — a profile's chain on the client side — served to other
//! programs over the two protocols every SDK speaks without configuration: IMDSv2 (the EC2
//! instance metadata service, tokens required) and the container-credentials protocol (the
//! full-URI form with an `Authorization` token). `awsid exec --server imds|ecs` and
//! `awsid serve-credentials` run it.
//!
//! The protocol rules are the world-backed handlers' ([`crate::imds`], [`crate::ecs`]): the
//! same token checks, refusals, error pages and documents. What differs is where the
//! credentials come from ([`CredentialSource`]) and who may ask ([`Admission`]): a peer on this
//! host is served when its socket belongs to an allowed OS user (read from the kernel's socket
//! tables, [`crate::peer`]); a peer elsewhere only when its network was allowed, and then only
//! the token-protected container protocol. Everyone else gets the refusal of the protocol they
//! spoke: IMDS's `403 - Forbidden` page, or the container endpoint's `403` `Access Denied.`
//! text (the EKS Pod Identity Agent's, docs/spec/container-client.md §5).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use bytes::Bytes;
use http::{Method, StatusCode};
use subtle::ConstantTimeEq;

use crate::http::{text, BodyError, Handler, HttpResponse, RequestData};
use crate::imds::{
    error_page, imds_json, is_token_path, method_not_allowed, ok, token_request, token_response,
    TOKEN_HEADER, VERSIONS,
};
use crate::issuer::Issuer;
use crate::peer::{PeerVerdict, UidAllowList};
use crate::state::iso8601;

/// The name IMDS tokens of a relay are bound to (each relay has its own random key as well).
const TOKEN_SCOPE: &str = "awsid-relay";

/// Temporary credentials as the relay hands them out. `Debug` never shows the secret or the
/// token.
#[derive(Clone)]
pub struct RelayedCredentials {
    /// `ASIA…`.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The session token.
    pub session_token: String,
    /// When they expire (Unix seconds).
    pub expiration: i64,
    /// When the relay obtained them (Unix seconds), IMDS's `LastUpdated`.
    pub obtained: i64,
    /// The account they belong to, when known (`AccountId` of both protocols).
    pub account_id: Option<String>,
    /// The role they are a session of, when known (the container document's `RoleArn`).
    pub role_arn: Option<String>,
}

impl std::fmt::Debug for RelayedCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayedCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &"<redacted>")
            .field("expiration", &self.expiration)
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

/// Why a source has no credentials to hand out. The text reaches the client (in the error
/// document), so it must never carry a secret.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{0}")]
pub struct SourceError(pub String);

/// Where a relay gets the credentials it serves: asked on every credentials request, so it
/// decides itself when to refresh.
pub trait CredentialSource: Send + Sync + 'static {
    /// The credentials to hand out now.
    fn credentials(
        &self,
    ) -> impl Future<Output = Result<Arc<RelayedCredentials>, SourceError>> + Send;
}

/// An IP network (`172.17.0.0/16`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// Whether `ip` is in this network (an IPv4-mapped IPv6 address counts as IPv4).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }

    /// Whether this network holds a loopback address (such peers are on this host, and the
    /// OS-user check is the only one that applies to them).
    pub fn overlaps_loopback(&self) -> bool {
        let loopback_v4 = IpNetwork {
            addr: IpAddr::V4(std::net::Ipv4Addr::new(127, 0, 0, 0)),
            prefix: 8,
        };
        match self.addr {
            // Two networks overlap when one holds the other's first address.
            IpAddr::V4(_) => self.contains(loopback_v4.addr) || loopback_v4.contains(self.addr),
            IpAddr::V6(_) => self.contains(IpAddr::V6(std::net::Ipv6Addr::LOCALHOST)),
        }
    }
}

impl std::str::FromStr for IpNetwork {
    type Err = String;

    /// `ADDR/PREFIX`, or a bare address (a network of one).
    fn from_str(s: &str) -> Result<IpNetwork, String> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr
            .parse()
            .map_err(|_| format!("{s:?} is not an IP address or ADDRESS/PREFIX network"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{s:?}: the prefix length must be 0–{max}"))?,
        };
        Ok(IpNetwork { addr, prefix })
    }
}

impl std::fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Who may ask a relay for credentials.
#[derive(Clone, Debug)]
pub struct Admission {
    /// Peers on this host whose socket belongs to one of these OS users get both protocols.
    pub users: UidAllowList,
    /// Peers elsewhere in these networks (a container's bridge) get the container protocol —
    /// its token still required — and nothing else. Never a loopback network.
    pub container_networks: Vec<IpNetwork>,
}

/// The protocols a relay speaks, and what they need.
#[derive(Clone)]
pub struct RelayOptions {
    /// Serve IMDSv2 (tokens required; IMDSv1 requests get `401`).
    pub imds: bool,
    /// Serve the container protocol to requests carrying exactly this `Authorization` value.
    pub container_token: Option<String>,
    /// The role name IMDS lists under `iam/security-credentials/`.
    pub role_name: String,
}

impl std::fmt::Debug for RelayOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayOptions")
            .field("imds", &self.imds)
            .field("container", &self.container_token.is_some())
            .field("role_name", &self.role_name)
            .finish()
    }
}

/// The path the container protocol is advertised on (`AWS_CONTAINER_CREDENTIALS_FULL_URI`);
/// any path outside IMDS's tree works.
pub const CONTAINER_PATH: &str = crate::ecs::FULL_URI_PATH;

/// Serves one [`CredentialSource`] over the protocols of [`RelayOptions`] to the peers of
/// [`Admission`].
pub struct RelayHandler<S> {
    source: S,
    options: RelayOptions,
    admission: Admission,
    tokens: Issuer,
}

/// Which protocol a request speaks, by its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Protocol {
    Imds,
    Container,
}

impl<S: CredentialSource> RelayHandler<S> {
    /// A relay of `source`; IMDS tokens are signed with a key of its own, so they are good on
    /// this relay only. A loopback network among `admission.container_networks` is an error.
    pub fn new(
        source: S,
        options: RelayOptions,
        admission: Admission,
    ) -> Result<RelayHandler<S>, String> {
        if let Some(net) = admission
            .container_networks
            .iter()
            .find(|n| n.overlaps_loopback())
        {
            return Err(format!(
                "{net} holds loopback addresses: local peers are admitted by OS user, not by network"
            ));
        }
        if !options.imds && options.container_token.is_none() {
            return Err("a relay needs IMDS, the container protocol or both".into());
        }
        Ok(RelayHandler {
            source,
            options,
            admission,
            tokens: Issuer::random(),
        })
    }

    /// The protocol of `path`: IMDS's tree when IMDS is served (everything when only it is),
    /// the container protocol otherwise.
    fn protocol(&self, path: &str) -> Protocol {
        if !self.options.imds {
            return Protocol::Container;
        }
        if self.options.container_token.is_none() || is_imds_path(path) {
            return Protocol::Imds;
        }
        Protocol::Container
    }

    fn refusal(&self, protocol: Protocol) -> HttpResponse {
        match protocol {
            Protocol::Imds => error_page(StatusCode::FORBIDDEN),
            Protocol::Container => crate::ecs::access_denied(
                "This endpoint does not serve the caller's address or OS user",
            ),
        }
    }

    /// Whether a local peer's socket belongs to an allowed user.
    fn user_allowed(&self, peer: SocketAddr, local: SocketAddr) -> bool {
        match self.admission.users.check(peer, local) {
            PeerVerdict::Allowed(_) => true,
            verdict => {
                tracing::info!(%peer, %local, ?verdict, "credential relay: peer refused");
                false
            }
        }
    }

    fn in_container_network(&self, peer: SocketAddr) -> bool {
        self.admission
            .container_networks
            .iter()
            .any(|n| n.contains(peer.ip()))
    }

    async fn answer(&self, req: &RequestData) -> HttpResponse {
        let path = req.uri.path();
        match self.protocol(path) {
            Protocol::Imds => {
                // A connection admitted for its network alone gets the container protocol
                // only; loopback peers were checked by user when they connected.
                if !req.peer.ip().is_loopback() && !self.user_allowed(req.peer, req.local) {
                    return self.refusal(Protocol::Imds);
                }
                self.imds(req).await
            }
            Protocol::Container => self.container(req).await,
        }
    }

    async fn imds(&self, req: &RequestData) -> HttpResponse {
        let path = req.uri.path();
        let token_path = is_token_path(path);
        if req.method == Method::PUT {
            return match token_path {
                Some(true) => match token_request(req) {
                    Ok(ttl) => {
                        let token = self.tokens.imds_token(TOKEN_SCOPE, now(), ttl);
                        token_response(token, ttl)
                    }
                    Err(status) => error_page(status),
                },
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
        // IMDSv2 only: a request without a token is an IMDSv1 request, refused as on an
        // instance with `HttpTokens=required`.
        let valid = req.headers.get(TOKEN_HEADER).is_some_and(|t| {
            t.to_str()
                .is_ok_and(|t| self.tokens.verify_imds_token(t, TOKEN_SCOPE, now()))
        });
        if !valid {
            return error_page(StatusCode::UNAUTHORIZED);
        }
        match self.imds_node(path) {
            ImdsNode::Dir(children) => ok(children.join("\n")),
            ImdsNode::Credentials { extended } => match self.source.credentials().await {
                Ok(c) => ok(imds_document(&c, extended)),
                Err(e) => {
                    tracing::warn!(error = %e, "credential relay: no credentials to serve");
                    ok(imds_json(&[
                        ("Code", "CredentialsUnavailable"),
                        ("Message", &e.0),
                        ("LastUpdated", &iso8601(now())),
                    ]))
                }
            },
            ImdsNode::Missing => error_page(StatusCode::NOT_FOUND),
        }
    }

    /// The small metadata tree of a relay: the versions, `meta-data/iam/` and the role's
    /// credentials (legacy and `-extended`). Directories answer with or without the trailing
    /// slash, as real IMDS does.
    fn imds_node(&self, path: &str) -> ImdsNode {
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return ImdsNode::Dir(VERSIONS.iter().map(|v| v.to_string()).collect());
        }
        let mut parts = trimmed.split('/');
        let version = parts.next().unwrap_or("");
        if !VERSIONS.contains(&version) {
            return ImdsNode::Missing;
        }
        let rest: Vec<&str> = parts.collect();
        let role = self.options.role_name.as_str();
        match rest.as_slice() {
            [] => ImdsNode::Dir(vec!["meta-data".into()]),
            ["meta-data"] => ImdsNode::Dir(vec!["iam/".into()]),
            ["meta-data", "iam"] => ImdsNode::Dir(vec![
                "security-credentials/".into(),
                "security-credentials-extended/".into(),
            ]),
            ["meta-data", "iam", "security-credentials" | "security-credentials-extended"] => {
                ImdsNode::Dir(vec![role.to_string()])
            }
            ["meta-data", "iam", "security-credentials", name] if *name == role => {
                ImdsNode::Credentials { extended: false }
            }
            ["meta-data", "iam", "security-credentials-extended", name] if *name == role => {
                ImdsNode::Credentials { extended: true }
            }
            _ => ImdsNode::Missing,
        }
    }

    async fn container(&self, req: &RequestData) -> HttpResponse {
        // The Pod Identity Agent's plain-text answers throughout (docs/spec/container-client.md
        // §5); Go's `ServeMux` answers an unknown path `404 page not found`.
        if req.method != Method::GET && req.method != Method::HEAD {
            return crate::ecs::agent_error(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
        }
        let not_found = || crate::ecs::agent_error(StatusCode::NOT_FOUND, "404 page not found");
        let Some(expected) = &self.options.container_token else {
            return not_found();
        };
        let Some(given) = req.headers.get(http::header::AUTHORIZATION) else {
            return crate::ecs::missing_token();
        };
        if !bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
            return crate::ecs::invalid_token();
        }
        if req.uri.path() != CONTAINER_PATH {
            return not_found();
        }
        match self.source.credentials().await {
            Ok(c) => text(StatusCode::OK, "application/json", container_document(&c)),
            Err(e) => {
                // The agent's answer to a failure that is no service error: 500, its text.
                tracing::warn!(error = %e, "credential relay: no credentials to serve");
                crate::ecs::agent_error(StatusCode::INTERNAL_SERVER_ERROR, &e.0)
            }
        }
    }
}

enum ImdsNode {
    Dir(Vec<String>),
    Credentials { extended: bool },
    Missing,
}

/// Whether `path` is in IMDS's namespace: `/`, or under a metadata version (`/latest/…`).
fn is_imds_path(path: &str) -> bool {
    let trimmed = path.trim_start_matches('/');
    let first = trimmed.split('/').next().unwrap_or("");
    trimmed.is_empty() || VERSIONS.contains(&first)
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// IMDS's credentials document. `Expiration` carries milliseconds on purpose: botocore
/// stretches IMDS credentials that expire within 10–25 minutes ("static stability", for an
/// unreachable IMDS; `utils.py` `_evaluate_expiration`), but only when the time matches
/// `%Y-%m-%dT%H:%M:%SZ` exactly. A relay is never unreachable while its client lives, and a
/// stretched credential would be used past its real expiry and refused by STS.
fn imds_document(c: &RelayedCredentials, extended: bool) -> Bytes {
    let expiration = iso8601_millis(c.expiration);
    let updated = iso8601(c.obtained);
    let mut fields = vec![
        ("Code", "Success"),
        ("LastUpdated", updated.as_str()),
        ("Type", "AWS-HMAC"),
        ("AccessKeyId", c.access_key_id.as_str()),
        ("SecretAccessKey", c.secret_access_key.as_str()),
        ("Token", c.session_token.as_str()),
        ("Expiration", expiration.as_str()),
    ];
    if extended {
        if let Some(account) = &c.account_id {
            fields.push(("AccountId", account.as_str()));
        }
    }
    Bytes::from(imds_json(&fields))
}

/// The container protocol's document, as the ECS agent writes it (whole-second `Expiration`).
fn container_document(c: &RelayedCredentials) -> String {
    let mut doc = serde_json::Map::new();
    if let Some(arn) = &c.role_arn {
        doc.insert("RoleArn".into(), arn.clone().into());
    }
    doc.insert("AccessKeyId".into(), c.access_key_id.clone().into());
    doc.insert("SecretAccessKey".into(), c.secret_access_key.clone().into());
    doc.insert("Token".into(), c.session_token.clone().into());
    doc.insert("Expiration".into(), iso8601(c.expiration).into());
    if let Some(account) = &c.account_id {
        doc.insert("AccountId".into(), account.clone().into());
    }
    serde_json::Value::Object(doc).to_string()
}

/// `YYYY-MM-DDTHH:MM:SS.000Z`.
fn iso8601_millis(epoch: i64) -> String {
    let whole = iso8601(epoch);
    match whole.strip_suffix('Z') {
        Some(base) => format!("{base}.000Z"),
        None => whole,
    }
}

impl<S: CredentialSource> Handler for RelayHandler<S> {
    fn wants_body(&self) -> bool {
        false
    }

    fn body_error(&self, _err: BodyError) -> HttpResponse {
        error_page(StatusCode::BAD_REQUEST)
    }

    fn admit(&self, peer: SocketAddr, local: SocketAddr) -> bool {
        // Loopback peers are local by definition: the OS user decides. A peer elsewhere is
        // admitted for the container protocol when its network is allowed.
        if peer.ip().is_loopback() || !self.in_container_network(peer) {
            return self.user_allowed(peer, local);
        }
        true
    }

    fn refused(&self, uri: &http::Uri) -> HttpResponse {
        self.refusal(self.protocol(uri.path()))
    }

    async fn handle(&self, req: RequestData) -> HttpResponse {
        let mut resp = self.answer(&req).await;
        if req.method == Method::HEAD {
            *resp.body_mut() = http_body_util::Full::new(Bytes::new());
        }
        resp
    }
}

/// A running relay: the addresses it listens on and a way to stop it.
#[derive(Debug)]
pub struct RelayServer {
    /// The bound addresses, in the order asked for.
    pub bound: Vec<SocketAddr>,
    shutdown: tokio::sync::watch::Sender<bool>,
    tasks: tokio::task::JoinSet<()>,
}

impl RelayServer {
    /// Stops accepting, lets in-flight requests finish (≤ 5 s) and returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Binds every address of `listen` (port 0 = any free port), then serves `handler` on all of
/// them. Must run inside a tokio runtime; a bind error leaves nothing running.
pub async fn start<S: CredentialSource>(
    handler: RelayHandler<S>,
    listen: &[SocketAddr],
) -> std::io::Result<RelayServer> {
    let mut listeners = Vec::new();
    for addr in listen {
        let l = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))?;
        listeners.push(l);
    }
    let (tx, rx) = tokio::sync::watch::channel(false);
    let handler = Arc::new(handler);
    let mut tasks = tokio::task::JoinSet::new();
    let mut bound = Vec::new();
    for l in listeners {
        bound.push(l.local_addr()?);
        tasks.spawn(crate::http::serve(
            l,
            handler.clone(),
            crate::http::Limits::default(),
            rx.clone(),
            None,
        ));
    }
    Ok(RelayServer {
        bound,
        shutdown: tx,
        tasks,
    })
}

#[cfg(test)]
mod tests;
