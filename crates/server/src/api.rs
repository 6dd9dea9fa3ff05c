//! The API listener's router: STS, the SSO portal, SSO-OIDC and their pages, and Sign-In
//! (`aws login`, the console federation endpoint), told apart by path, the way their real
//! hosts are.

use std::sync::Arc;

use http::StatusCode;

use crate::http::{BodyError, Handler, HttpResponse, RequestData};
use crate::metrics::Call;
use crate::signin::SigninService;
use crate::sso::{Endpoint, SsoService};
use crate::state::State;
use crate::sts;

/// Which service a request on the API listener is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// STS Query protocol (`POST /` with a form, or `GET /?Action=…`).
    Sts,
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

/// Routes a request.
pub fn route(req: &RequestData) -> Route {
    if sts::is_sts_request(req) {
        Route::Sts
    } else if crate::faults::admin::is_admin(req) {
        Route::Faults
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
            Route::Sts => (
                "sts",
                sts::action_name(&req),
                sts::handle(&self.state, &req),
            ),
            Route::Sso(e) => (e.service_name(), e.name(), self.sso.handle(e, &req)),
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
