//! `CreateOAuth2Token`'s rest-json errors (v2's `signin` model, 2023-01-01): the exception
//! shape in `x-amzn-ErrorType`, the body `{"error": <OAuth2ErrorCode>, "message": …}`, and the
//! status the model documents for each code.

use http::{HeaderValue, StatusCode};

use crate::http::HttpResponse;

/// An error answer of `CreateOAuth2Token`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SigninError {
    /// HTTP status.
    pub(crate) status: StatusCode,
    /// The exception shape (`AccessDeniedException`, `ValidationException`…).
    pub(crate) shape: &'static str,
    /// The `OAuth2ErrorCode`.
    pub(crate) error: &'static str,
    /// Human-readable text.
    pub(crate) message: String,
}

/// The message the service gives for an unusable grant (aws/aws-cli#10613).
pub(crate) const BAD_GRANT: &str =
    "The provided authorization grant is invalid, expired, revoked, or malformed";

impl SigninError {
    /// `ValidationException` / `INVALID_REQUEST` (400).
    pub(crate) fn validation(message: impl Into<String>) -> SigninError {
        SigninError {
            status: StatusCode::BAD_REQUEST,
            shape: "ValidationException",
            error: "INVALID_REQUEST",
            message: message.into(),
        }
    }

    /// A refresh token or code that cannot be used (400, `INVALID_REQUEST`).
    pub(crate) fn bad_grant() -> SigninError {
        SigninError::validation(BAD_GRANT)
    }

    /// `AccessDeniedException`: 401 for `TOKEN_EXPIRED` and `AUTHCODE_EXPIRED`, 403 for
    /// `USER_CREDENTIALS_CHANGED` and `INSUFFICIENT_PERMISSIONS`.
    pub(crate) fn access_denied(error: &'static str, message: impl Into<String>) -> SigninError {
        let status = match error {
            "TOKEN_EXPIRED" | "AUTHCODE_EXPIRED" => StatusCode::UNAUTHORIZED,
            _ => StatusCode::FORBIDDEN,
        };
        SigninError {
            status,
            shape: "AccessDeniedException",
            error,
            message: message.into(),
        }
    }

    /// `TooManyRequestsError` (429): the server's single-use memory is full.
    pub(crate) fn too_many() -> SigninError {
        SigninError {
            status: StatusCode::TOO_MANY_REQUESTS,
            shape: "TooManyRequestsError",
            error: "INVALID_REQUEST",
            message: "Too many token requests; try again later".into(),
        }
    }

    /// The HTTP answer.
    pub(crate) fn response(&self) -> HttpResponse {
        let body = serde_json::json!({"error": self.error, "message": self.message});
        let mut r = crate::sso::errors::json_response(
            self.status,
            body.to_string(),
            &crate::sts::request_id(),
        );
        r.headers_mut()
            .insert("x-amzn-ErrorType", HeaderValue::from_static(self.shape));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_model() {
        assert_eq!(
            SigninError::access_denied("TOKEN_EXPIRED", "x").status,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            SigninError::access_denied("INSUFFICIENT_PERMISSIONS", "x").status,
            StatusCode::FORBIDDEN
        );
        let r = SigninError::bad_grant().response();
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(r.headers()["x-amzn-ErrorType"], "ValidationException");
    }
}
