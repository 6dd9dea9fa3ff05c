//! The API listener's router: the Query-protocol services (STS, IAM, EC2, Auto Scaling: told
//! apart by their `Version`, else by the signature's service), the SSO portal, SSO-OIDC and
//! their pages, Sign-In (`aws login`, the console federation endpoint; by path, the way their
//! real hosts are), the world console and the metrics page. New endpoints add a [`Route`] and
//! a match arm.

use std::sync::Arc;

use http::StatusCode;

use crate::http::{BodyError, Handler, HttpResponse, RequestData};
use crate::metrics::Call;
use crate::query::Service;
use crate::signin::SigninService;
use crate::sso::{Endpoint, SsoService};
use crate::state::State;
use crate::sts;
use crate::sts::params::Params;

/// Which service a request on the API listener is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// STS Query protocol (`POST /` with a form, or `GET /?Action=…`).
    Sts,
    /// Another Query-protocol service.
    Query(Service),
    /// The console page and its decision feed.
    Console,
    /// IAM Identity Center: portal, OIDC and the browser pages.
    Sso(Endpoint),
    /// Sign-In: `aws login`'s pages and token endpoint, the federation endpoint.
    Signin(crate::signin::Endpoint),
    /// `GET /metrics`: the call counters ([`crate::metrics`]).
    Metrics,
    /// `/awsid/faults…`: the fault switchboard's admin API ([`crate::faults::admin`]).
    Faults,
    /// Nothing here.
    NotFound,
}

/// The Query-protocol service of a request: by its `Version` parameter, else by the service
/// its SigV4 credential scope names, else STS.
fn query_service(req: &RequestData) -> Route {
    // Whether `Version=<version>` occurs anywhere in the body or the query string (a plain
    // substring test, as before). Each text is scanned once for every `Version=` and each
    // occurrence compared with the four versions; the priority below is unchanged.
    let query = req.uri.query().unwrap_or("").as_bytes();
    let services = [Service::Iam, Service::Ec2, Service::AutoScaling];
    let versions = [
        services[0].version(),
        services[1].version(),
        services[2].version(),
        "2011-06-15",
    ];
    let mut named = [false; 4];
    for text in [&req.body[..], query] {
        versions_named(text, &versions, &mut named);
    }
    for (svc, found) in services.into_iter().zip(named) {
        if found {
            return Route::Query(svc);
        }
    }
    if named[3] {
        return Route::Sts;
    }
    let scope = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    for svc in [Service::Iam, Service::Ec2, Service::AutoScaling] {
        if scope.contains(&format!("/{}/aws4_request", svc.prefix())) {
            return Route::Query(svc);
        }
    }
    Route::Sts
}

/// Marks `named[i]` when `hay` contains `Version=<versions[i]>`.
fn versions_named(hay: &[u8], versions: &[&str; 4], named: &mut [bool; 4]) {
    const KEY: &[u8] = b"Version=";
    let mut rest = hay;
    while let Some(i) = rest.iter().position(|&b| b == b'V') {
        let tail = &rest[i..];
        if let Some(value) = tail.strip_prefix(KEY) {
            for (v, hit) in versions.iter().zip(named.iter_mut()) {
                *hit |= value.starts_with(v.as_bytes());
            }
        }
        rest = &rest[i + 1..];
    }
}

/// Routes a request.
pub fn route(req: &RequestData) -> Route {
    if sts::is_sts_request(req) {
        query_service(req)
    } else if crate::faults::admin::is_admin(req) {
        Route::Faults
    } else if crate::console::is_console(req) {
        Route::Console
    } else if req.uri.path() == crate::metrics::PATH && req.method == http::Method::GET {
        Route::Metrics
    } else if let Some(e) = Endpoint::from_path(req.uri.path()) {
        Route::Sso(e)
    } else if let Some(e) = crate::signin::Endpoint::from_path(req.uri.path()) {
        Route::Signin(e)
    } else {
        Route::NotFound
    }
}

/// The API listener's handler.
pub struct ApiHandler {
    state: Arc<State>,
    sso: SsoService,
    signin: SigninService,
}

impl ApiHandler {
    /// A handler over the shared state.
    pub fn new(state: Arc<State>) -> ApiHandler {
        ApiHandler {
            sso: SsoService::new(state.clone()),
            signin: SigninService::new(state.clone()),
            state,
        }
    }
}

impl Handler for ApiHandler {
    fn body_error(&self, err: BodyError) -> HttpResponse {
        let e = match err {
            BodyError::TooLarge => sts::xml::StsError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "RequestEntityTooLarge",
                format!(
                    "Request body must be no larger than {} bytes",
                    sts::MAX_BODY
                ),
            ),
            BodyError::Incomplete => sts::xml::StsError::new(
                StatusCode::BAD_REQUEST,
                "IncompleteBody",
                "The request body was not received completely",
            ),
        };
        e.response(&sts::request_id())
    }

    async fn handle(&self, req: RequestData) -> HttpResponse {
        let (service, action, response) = match route(&req) {
            Route::Sts => {
                // Parsed once, for the metrics label and the call.
                let params = sts::request_params(&req);
                (
                    "sts",
                    sts::action_label(&params),
                    sts::handle_params(&self.state, &req, &params),
                )
            }
            Route::Query(svc) => {
                let body = sts::form_body(&req);
                let params = Params::parse(req.uri.query().unwrap_or(""), body.as_deref());
                let action = svc.action_name(&params);
                let response = match svc {
                    Service::Iam => crate::iam::handle(&self.state, &req, params),
                    Service::Ec2 => crate::ec2::handle(&self.state, &req, params),
                    Service::AutoScaling => crate::autoscaling::handle(&self.state, &req, params),
                };
                (svc.prefix(), action, response)
            }
            Route::Sso(e) => (e.service_name(), e.name(), self.sso.handle(e, &req)),
            Route::Console => return crate::console::handle(&self.state, &req),
            Route::Signin(e) => ("signin", e.name(&req), self.signin.handle(e, &req)),
            Route::Faults => return crate::faults::admin::handle(&self.state, &req),
            Route::Metrics => {
                return crate::http::text(
                    StatusCode::OK,
                    crate::metrics::CONTENT_TYPE,
                    self.state.metrics.render(),
                )
            }
            Route::NotFound => {
                return sts::xml::StsError::new(
                    StatusCode::NOT_FOUND,
                    "NotFound",
                    format!("No service at {}", req.uri.path()),
                )
                .response(&sts::request_id())
            }
        };
        self.state.metrics.record(Call {
            service,
            action,
            status: response.status().as_u16(),
        });
        response
    }
}

#[cfg(test)]
mod tests {
    use super::versions_named;

    /// Whether `hay` contains `Version=<version>` (as the router sees it).
    fn has_version(hay: &[u8], version: &str) -> bool {
        let mut named = [false; 4];
        versions_named(hay, &[version, "a", "b", "c"], &mut named);
        named[0]
    }

    #[test]
    fn every_version_named_in_one_text_is_found() {
        let mut named = [false; 4];
        versions_named(
            b"Version=2010-05-08&Action=X&Version=2011-06-15",
            &["2010-05-08", "2016-11-15", "2011-01-01", "2011-06-15"],
            &mut named,
        );
        assert_eq!(named, [true, false, false, true]);
    }

    #[test]
    fn version_is_found_as_a_substring_anywhere() {
        assert!(has_version(b"Action=X&Version=2011-06-15", "2011-06-15"));
        assert!(has_version(b"Version=2011-06-15&Action=X", "2011-06-15"));
        // A plain substring test, as the router always did: a prefix of a longer value and a
        // longer parameter name ending in `Version` both count.
        assert!(has_version(b"Version=2011-06-15x", "2011-06-15"));
        assert!(has_version(b"XVersion=2011-06-15", "2011-06-15"));
        assert!(has_version(b"VVersion=2011-06-15", "2011-06-15"));
        assert!(!has_version(b"Version=2011-06-1", "2011-06-15"));
        assert!(!has_version(b"Version%3D2011-06-15", "2011-06-15"));
        assert!(!has_version(b"", "2011-06-15"));
        assert!(!has_version(b"V", "2011-06-15"));
    }
}
