//! rest-json errors of the two SSO services. Clients take the error code from the
//! `x-amzn-ErrorType` header (the OIDC bodies carry no code), so every error sets it.

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use http_body_util::Full;

use crate::http::HttpResponse;

/// The namespace AWS appends to SSO-OIDC error types (observed).
const OIDC_NAMESPACE: &str = "http://internal.amazon.com/coral/com.amazonaws.sso.oidc/";
/// The `__type` namespace of portal errors (observed).
const PORTAL_NAMESPACE: &str = "com.amazonaws.switchboard.portal";

/// Which service's error body shape to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// SSO-OIDC: `{"error": …, "error_description": …}`.
    Oidc,
    /// The portal: `{"message": …, "__type": …}`.
    Portal,
}

/// An error answer of an SSO endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoError {
    /// HTTP status.
    pub status: StatusCode,
    /// The exception shape name (`AuthorizationPendingException`…).
    pub shape: &'static str,
    /// The OAuth `error` code (OIDC only).
    pub code: &'static str,
    /// Human-readable text.
    pub message: String,
    /// Body shape.
    pub service: Service,
}

impl SsoError {
    /// An SSO-OIDC error: status, shape, OAuth error code, description.
    pub fn oidc(
        status: StatusCode,
        shape: &'static str,
        code: &'static str,
        message: impl Into<String>,
    ) -> SsoError {
        SsoError {
            status,
            shape,
            code,
            message: message.into(),
            service: Service::Oidc,
        }
    }

    /// A portal error.
    pub fn portal(status: StatusCode, shape: &'static str, message: impl Into<String>) -> SsoError {
        SsoError {
            status,
            shape,
            code: "",
            message: message.into(),
            service: Service::Portal,
        }
    }

    /// `InvalidRequestException` (400) of either service.
    pub fn invalid_request(service: Service, message: impl Into<String>) -> SsoError {
        match service {
            Service::Oidc => SsoError::oidc(
                StatusCode::BAD_REQUEST,
                "InvalidRequestException",
                "invalid_request",
                message,
            ),
            Service::Portal => {
                SsoError::portal(StatusCode::BAD_REQUEST, "InvalidRequestException", message)
            }
        }
    }

    /// The portal's 401 for a missing, unknown, expired or revoked access token (observed body).
    pub fn unauthorized() -> SsoError {
        SsoError::portal(
            StatusCode::UNAUTHORIZED,
            "UnauthorizedException",
            "Session token not found or invalid",
        )
    }

    /// `InvalidClientException` (401).
    pub fn invalid_client(message: impl Into<String>) -> SsoError {
        SsoError::oidc(
            StatusCode::UNAUTHORIZED,
            "InvalidClientException",
            "invalid_client",
            message,
        )
    }

    /// `InvalidGrantException` (400).
    pub fn invalid_grant(message: impl Into<String>) -> SsoError {
        SsoError::oidc(
            StatusCode::BAD_REQUEST,
            "InvalidGrantException",
            "invalid_grant",
            message,
        )
    }

    /// `SlowDownException` (400) / the portal's `TooManyRequestsException` (429): a bounded
    /// in-memory table is full.
    pub fn busy(service: Service) -> SsoError {
        match service {
            Service::Oidc => SsoError::oidc(
                StatusCode::BAD_REQUEST,
                "SlowDownException",
                "slow_down",
                "Too many pending requests; try again later",
            ),
            Service::Portal => SsoError::portal(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequestsException",
                "Too many requests; try again later",
            ),
        }
    }

    /// The HTTP response.
    pub fn response(&self, request_id: &str) -> HttpResponse {
        let (header, body) = match self.service {
            Service::Oidc => (
                format!("{}:{OIDC_NAMESPACE}", self.shape),
                serde_json::json!({"error": self.code, "error_description": self.message}),
            ),
            Service::Portal => (
                self.shape.to_string(),
                serde_json::json!({
                    "message": self.message,
                    "__type": format!("{PORTAL_NAMESPACE}#{}", self.shape),
                }),
            ),
        };
        let mut r = json_response(self.status, body.to_string(), request_id);
        if let Ok(v) = HeaderValue::from_str(&header) {
            r.headers_mut().insert("x-amzn-ErrorType", v);
        }
        r
    }
}

/// A JSON response with the request id header.
pub fn json_response(status: StatusCode, body: impl Into<Bytes>, request_id: &str) -> HttpResponse {
    let mut r = http::Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-RequestId", v);
    }
    r
}
