//! SigV4 header signing of the credential clients' requests, through the `sigv4` crate.

use std::time::SystemTime;

use crate::http::HttpRequest;
use crate::{Credentials, CredentialsError};

/// `host[:port]` (default ports dropped, like botocore), path and query of an absolute URL.
fn split_url(url: &str) -> Option<(String, String, String)> {
    let u = url::Url::parse(url).ok()?;
    let host = match (u.host_str(), u.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_string(),
        _ => return None,
    };
    Some((
        host,
        u.path().to_string(),
        u.query().unwrap_or("").to_string(),
    ))
}

/// Adds `Host`, `X-Amz-Date`, `X-Amz-Security-Token` (when there is a token) and
/// `Authorization` to `req`.
pub(crate) fn sign(
    req: &mut HttpRequest,
    creds: &Credentials,
    region: &str,
    service: &str,
    time: SystemTime,
) -> Result<(), CredentialsError> {
    let (host, path, query) =
        split_url(&req.url).ok_or_else(|| CredentialsError::InvalidSetting {
            setting: "endpoint URL".into(),
            message: format!("{} has no host", req.url),
        })?;
    if !req
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("host"))
    {
        req.headers.push(("Host".into(), host));
    }
    let headers: Vec<(&str, &str)> = req
        .headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let signable =
        awsid_sigv4::SignableRequest::new(req.method, &path, &query, &headers, &req.body);
    let credentials = awsid_sigv4::Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.expose(),
        creds.session_token.as_ref().map(|t| t.expose().to_string()),
    );
    let signed = awsid_sigv4::sign_headers(
        &signable,
        &awsid_sigv4::SigningParams {
            credentials: &credentials,
            region,
            service,
            time,
            settings: awsid_sigv4::SigningSettings::default(),
        },
    )
    .map_err(|e| CredentialsError::InvalidSetting {
        setting: "credentials".into(),
        message: format!("cannot sign the {service} request: {e}"),
    })?;
    for (name, value) in signed.headers {
        req.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        req.headers.push((name.to_string(), value));
    }
    Ok(())
}
