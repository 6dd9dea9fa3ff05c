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
    // substring test, as before; found by scanning each text once for `Version=`).
    let query = req.uri.query().unwrap_or("").as_bytes();
    let named = |version: &str| has_version(&req.body, version) || has_version(query, version);
    for svc in [Service::Iam, Service::Ec2, Service::AutoScaling] {
        if named(svc.version()) {
            return Route::Query(svc);
        }
    }
    if named("2011-06-15") {
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

/// Whether `hay` contains `Version=<version>`.
fn has_version(hay: &[u8], version: &str) -> bool {
    const KEY: &[u8] = b"Version=";
    let mut rest = hay;
    while let Some(i) = rest.iter().position(|&b| b == b'V') {
        let tail = &rest[i..];
        if tail.starts_with(KEY) && tail[KEY.len()..].starts_with(version.as_bytes()) {
            return true;
        }
        rest = &rest[i + 1..];
    }
    false
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
    use super::has_version;

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
