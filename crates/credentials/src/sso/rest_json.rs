//! The wire pieces the SSO portal and SSO-OIDC share: endpoint paths and rest-json errors.

use serde_json::Value;

use crate::error::ServiceError;
use crate::http::{HttpRequest, HttpResponse};
use crate::services::Services;
use crate::CredentialsError;

/// `base` (an endpoint URL, maybe with a path and a trailing `/`) followed by `path`.
pub(crate) fn join(base: &str, path: &str) -> String {
    format!("{}{path}", base.trim_end_matches('/'))
}

/// The error of a non-2xx rest-json answer (SSO portal and OIDC), as botocore reads it: the
/// code from `x-amzn-ErrorType` (else the body's `__type`, `code`, or OAuth `error`), cut at
/// `:` and after `#`; the message from `message`/`Message`, else OAuth's `error_description`.
pub(crate) fn rest_json_error(resp: &HttpResponse, operation: &str) -> ServiceError {
    let body: Value = serde_json::from_slice(&resp.body).unwrap_or(Value::Null);
    let text = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let code = resp
        .headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("x-amzn-errortype"))
        .map(|(_, v)| v.clone())
        .or_else(|| text("__type"))
        .or_else(|| text("code"))
        .or_else(|| text("error"))
        .unwrap_or_default();
    let code = code.split(':').next().unwrap_or("");
    let code = code.rsplit('#').next().unwrap_or("");
    ServiceError {
        code: if code.is_empty() { "Unknown" } else { code }.to_string(),
        message: text("message")
            .or_else(|| text("Message"))
            .or_else(|| text("error_description"))
            .unwrap_or_else(|| "Unknown".into()),
        operation: operation.into(),
        status: resp.status,
        retries: 0,
        max_attempts_reached: false,
    }
}

/// Sends a rest-json request (built anew for each attempt) with the resolution's retry rules
/// ([`crate::retry`]); a final non-2xx answer is the service's error with its retry count.
pub(crate) fn send(
    services: &Services,
    operation: &str,
    build: impl Fn() -> HttpRequest,
) -> Result<HttpResponse, CredentialsError> {
    let retrier = services.retrier()?;
    let transport = services.transport();
    let url = build().url;
    let attempts = retrier.send(
        transport.as_ref(),
        "sso",
        || Ok(build()),
        |r| Some(rest_json_error(r, operation).code),
    )?;
    let resp = attempts
        .outcome
        .map_err(|source| CredentialsError::transport(url, source))?;
    if !(200..300).contains(&resp.status) {
        let mut e = rest_json_error(&resp, operation);
        e.retries = attempts.retries;
        e.max_attempts_reached = attempts.max_attempts_reached;
        return Err(e.into());
    }
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(headers: &[(&str, &str)], body: &str) -> HttpResponse {
        HttpResponse {
            status: 400,
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn codes_and_messages_as_botocore_reads_them() {
        let e = rest_json_error(
            &resp(
                &[(
                    "X-Amzn-ErrorType",
                    "SlowDownException:http://internal.amazon.com/coral/com.amazonaws.sso.oidc/",
                )],
                r#"{"error": "slow_down", "error_description": "too fast"}"#,
            ),
            "CreateToken",
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("SlowDownException", "too fast")
        );
        let e = rest_json_error(
            &resp(
                &[],
                r#"{"__type": "com.amazon#UnauthorizedException", "message": "m"}"#,
            ),
            "GetRoleCredentials",
        );
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("UnauthorizedException", "m")
        );
        let e = rest_json_error(&resp(&[], "<html>"), "Logout");
        assert_eq!(
            (e.code.as_str(), e.message.as_str()),
            ("Unknown", "Unknown")
        );
        assert_eq!(join("http://h/p/", "/token"), "http://h/p/token");
    }
}
