//! SigV4 header signing for the credential clients' Query-protocol POSTs.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::http::HttpRequest;
use crate::Credentials;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// `host[:port]` and path of an absolute URL (default ports dropped, like botocore).
fn host_and_path(url: &str) -> (String, String) {
    let parsed = url::Url::parse(url).ok();
    match parsed {
        Some(u) => {
            let host = match (u.host_str(), u.port()) {
                (Some(h), Some(p)) => format!("{h}:{p}"),
                (Some(h), None) => h.to_string(),
                _ => String::new(),
            };
            (host, u.path().to_string())
        }
        None => (String::new(), "/".into()),
    }
}

/// Adds `X-Amz-Date`, `X-Amz-Security-Token` (when there is a token) and `Authorization`.
pub fn sign(
    req: &mut HttpRequest,
    creds: &Credentials,
    region: &str,
    service: &str,
    now: OffsetDateTime,
) {
    let amz_date = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let date = &amz_date[..8];
    let (host, path) = host_and_path(&req.url);
    req.headers.push(("X-Amz-Date".into(), amz_date.clone()));
    if let Some(t) = &creds.session_token {
        req.headers
            .push(("X-Amz-Security-Token".into(), t.expose().to_string()));
    }
    let mut headers: Vec<(String, String)> = req
        .headers
        .iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("user-agent"))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    headers.push(("host".into(), host));
    headers.sort();
    let canonical_headers: String = headers.iter().map(|(k, v)| format!("{k}:{v}\n")).collect();
    let signed: Vec<&str> = headers.iter().map(|(k, _)| k.as_str()).collect();
    let signed = signed.join(";");
    let canonical_path: String = path
        .split('/')
        .map(|seg| {
            crate::sts::encode(&crate::sts::encode(
                &percent_encoding::percent_decode_str(seg).decode_utf8_lossy(),
            ))
        })
        .collect::<Vec<_>>()
        .join("/");
    let canonical = format!(
        "{}\n{}\n\n{}\n{}\n{}",
        req.method,
        if canonical_path.is_empty() {
            "/"
        } else {
            &canonical_path
        },
        canonical_headers,
        signed,
        hex::encode(Sha256::digest(&req.body))
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let string_to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let k_date = hmac(
        format!("AWS4{}", creds.secret_access_key.expose()).as_bytes(),
        date.as_bytes(),
    );
    let k_region = hmac(&k_date, region.as_bytes());
    let k_service = hmac(&k_region, service.as_bytes());
    let k_signing = hmac(&k_service, b"aws4_request");
    let signature = hex::encode(hmac(&k_signing, string_to_sign.as_bytes()));
    req.headers.push((
        "Authorization".into(),
        format!(
            "AWS4-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={signed}, Signature={signature}",
            creds.access_key_id
        ),
    ));
}
