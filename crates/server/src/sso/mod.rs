//! IAM Identity Center on the API listener: SSO-OIDC (`/client/register`,
//! `/device_authorization`, `/token`, the browser's `/authorize`), the access portal
//! (`/federation/credentials`, `/assignment/accounts`, `/assignment/roles`, `/logout`) and the
//! device verification page (`/device`), told apart by path as their real hosts are by name
//! (`docs/spec/sso-server.md`).
//!
//! Tokens are sealed by the issuer ([`tokens`]); the little state a flow needs (device
//! approvals, spent codes, revoked sessions) is in memory and bounded ([`flows`]).

pub mod errors;
pub mod flows;
pub mod model;
mod oidc;
mod pages;
mod portal;
pub mod tokens;

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::Value;

use crate::decisions::{Entry, Outcome};
use crate::http::{HttpResponse, RequestData};
use crate::state::State;
use errors::{Service, SsoError};

/// Path of the device verification page (`verificationUri`).
pub const DEVICE_PAGE: &str = "/device";
/// Path of the browser authorization endpoint.
pub const AUTHORIZE: &str = "/authorize";

/// Which SSO operation a path names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `POST /client/register`.
    RegisterClient,
    /// `POST /device_authorization`.
    StartDeviceAuthorization,
    /// `POST /token`.
    CreateToken,
    /// `GET|POST /authorize`: the consent page and its form.
    Authorize,
    /// `GET /federation/credentials`.
    GetRoleCredentials,
    /// `GET /assignment/accounts`.
    ListAccounts,
    /// `GET /assignment/roles`.
    ListAccountRoles,
    /// `POST /logout`.
    Logout,
    /// `GET|POST /device`: the verification page and its form (also the tests' approval knob).
    DevicePage,
}

impl Endpoint {
    /// The endpoint at `path`, if it is an SSO path.
    pub fn from_path(path: &str) -> Option<Endpoint> {
        Some(match path {
            "/client/register" => Endpoint::RegisterClient,
            "/device_authorization" => Endpoint::StartDeviceAuthorization,
            "/token" => Endpoint::CreateToken,
            AUTHORIZE => Endpoint::Authorize,
            "/federation/credentials" => Endpoint::GetRoleCredentials,
            "/assignment/accounts" => Endpoint::ListAccounts,
            "/assignment/roles" => Endpoint::ListAccountRoles,
            "/logout" => Endpoint::Logout,
            DEVICE_PAGE | "/device/" => Endpoint::DevicePage,
            _ => return None,
        })
    }

    /// The operation's name (metrics label).
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::RegisterClient => "RegisterClient",
            Endpoint::StartDeviceAuthorization => "StartDeviceAuthorization",
            Endpoint::CreateToken => "CreateToken",
            Endpoint::Authorize => "AuthorizePage",
            Endpoint::GetRoleCredentials => "GetRoleCredentials",
            Endpoint::ListAccounts => "ListAccounts",
            Endpoint::ListAccountRoles => "ListAccountRoles",
            Endpoint::Logout => "Logout",
            Endpoint::DevicePage => "DevicePage",
        }
    }

    /// The service the operation belongs to, as its signing name: `sso` (portal) or
    /// `sso-oidc`.
    pub fn service_name(self) -> &'static str {
        match self.service() {
            Service::Portal => "sso",
            Service::Oidc => "sso-oidc",
        }
    }

    fn service(self) -> Service {
        match self {
            Endpoint::GetRoleCredentials
            | Endpoint::ListAccounts
            | Endpoint::ListAccountRoles
            | Endpoint::Logout => Service::Portal,
            _ => Service::Oidc,
        }
    }

    fn allows(self, method: &Method) -> bool {
        match self {
            Endpoint::Authorize | Endpoint::DevicePage => {
                method == Method::GET || method == Method::POST
            }
            Endpoint::GetRoleCredentials | Endpoint::ListAccounts | Endpoint::ListAccountRoles => {
                method == Method::GET
            }
            _ => method == Method::POST,
        }
    }
}

/// The SSO services over the shared state, with their in-memory flow state.
#[derive(Debug)]
pub struct SsoService {
    state: Arc<State>,
    flows: flows::Flows,
}

impl SsoService {
    /// The services over `state`.
    pub fn new(state: Arc<State>) -> SsoService {
        SsoService {
            state,
            flows: flows::Flows::default(),
        }
    }

    /// Answers a request for `endpoint`.
    pub fn handle(&self, endpoint: Endpoint, req: &RequestData) -> HttpResponse {
        let rid = crate::sts::request_id();
        if !endpoint.allows(&req.method) {
            let e = match endpoint.service() {
                Service::Portal => SsoError::portal(
                    StatusCode::NOT_FOUND,
                    "UnknownOperationException",
                    format!("No operation {} {}", req.method, req.uri.path()),
                ),
                Service::Oidc => SsoError::oidc(
                    StatusCode::NOT_FOUND,
                    "UnknownOperationException",
                    "unknown_operation",
                    format!("No operation {} {}", req.method, req.uri.path()),
                ),
            };
            return e.response(&rid);
        }
        let result = match endpoint {
            Endpoint::RegisterClient => oidc::register_client(self, req),
            Endpoint::StartDeviceAuthorization => oidc::start_device_authorization(self, req),
            Endpoint::CreateToken => oidc::create_token(self, req),
            Endpoint::Authorize => return pages::authorize(self, req),
            Endpoint::DevicePage => return pages::device(self, req),
            Endpoint::GetRoleCredentials => portal::get_role_credentials(self, req),
            Endpoint::ListAccounts => portal::list_accounts(self, req),
            Endpoint::ListAccountRoles => portal::list_account_roles(self, req),
            Endpoint::Logout => portal::logout(self, req),
        };
        let (outcome, reason) = match &result {
            Ok(_) => (Outcome::Allowed, "token or client verified".to_string()),
            Err(e) if e.status == StatusCode::UNAUTHORIZED || e.status == StatusCode::FORBIDDEN => {
                (Outcome::Denied, format!("{}: {}", e.shape, e.message))
            }
            Err(e) => (Outcome::Failed, format!("{}: {}", e.shape, e.message)),
        };
        let resource = match endpoint {
            Endpoint::GetRoleCredentials | Endpoint::ListAccountRoles => {
                let q = parse_pairs(req.uri.query().unwrap_or(""));
                let get = |k: &str| {
                    q.iter()
                        .find(|(n, _)| n == k)
                        .map(|(_, v)| v.clone())
                        .unwrap_or_default()
                };
                format!("account {} role {}", get("account_id"), get("role_name"))
            }
            _ => "*".to_string(),
        };
        self.state.decide(Entry::new(
            "sso",
            format!("sso:{endpoint:?}"),
            "bearer of an SSO token or client",
            resource,
            outcome,
            reason,
        ));
        match result {
            // Logout answers an empty body.
            Ok(Value::Null) => errors::json_response(StatusCode::OK, "", &rid),
            Ok(body) => errors::json_response(StatusCode::OK, body.to_string(), &rid),
            Err(e) => {
                tracing::debug!(error = e.shape, status = e.status.as_u16(), "sso error");
                e.response(&rid)
            }
        }
    }

    fn now(&self) -> i64 {
        self.state.clock.now()
    }
}

/// `application/x-www-form-urlencoded` / query string pairs, decoded.
pub(crate) fn parse_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let s = s.replace('+', " ");
        percent_encoding::percent_decode_str(&s)
            .decode_utf8_lossy()
            .into_owned()
    };
    text.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

/// The first value of `key` in `pairs`.
pub(crate) fn pair<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// The query of `req`, decoded.
pub(crate) fn query(req: &RequestData) -> Vec<(String, String)> {
    parse_pairs(req.uri.query().unwrap_or(""))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub(crate) fn encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

/// This server's base URL as the client sees it: the `Host` header (characters of a host and
/// port only), `https` when a proxy says so in `X-Forwarded-Proto`.
pub(crate) fn base_url(req: &RequestData) -> String {
    let host = req
        .headers
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        })
        .unwrap_or("localhost");
    let https = req
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

#[cfg(test)]
mod tests;
