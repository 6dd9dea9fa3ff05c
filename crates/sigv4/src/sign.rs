//! Signing: the `Authorization` header form and the presigned query form.

use crate::canonical::{
    canonical_query, canonical_request, canonical_uri, sha256_hex, string_to_sign,
    write_canonical_headers, Scope, ALGORITHM,
};
use crate::encode::{self, UNRESERVED};
use crate::key::{signature, signing_key, Credentials};
use crate::request::SignableRequest;
use crate::time::{format_amz_date, year_of};
use std::fmt;
use std::time::{Duration, SystemTime};

/// Largest `X-Amz-Expires` AWS accepts: seven days.
pub const MAX_EXPIRES_SECS: u64 = 604_800;

/// Headers never signed (hop-by-hop headers and ones proxies rewrite; botocore's list)
/// plus `authorization`, which the signature itself goes into.
const UNSIGNED_HEADERS: [&str; 12] = [
    "authorization",
    "connection",
    "expect",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "x-amzn-trace-id",
];

pub(crate) const SECURITY_TOKEN_HEADER: &str = "x-amz-security-token";
pub(crate) const CONTENT_SHA256_HEADER: &str = "x-amz-content-sha256";
pub(crate) const SECURITY_TOKEN_PARAM: &str = "X-Amz-Security-Token";
pub(crate) const SIGNATURE_PARAM: &str = "X-Amz-Signature";

/// Query parameters that [`presign_query`] adds and therefore refuses to find already present.
const PRESIGN_PARAMS: [&str; 7] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    SECURITY_TOKEN_PARAM,
    SIGNATURE_PARAM,
];

/// Whether the session token takes part in the signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionTokenMode {
    /// The token header / query parameter is added before signing and is signed (botocore).
    #[default]
    Signed,
    /// The token is added after signing and not signed (the `post-sts-header-after` quirk).
    AfterSigning,
}

/// How a request is canonicalised and what the signer adds; `Default` is the non-S3 rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SigningSettings {
    /// Remove `.`/`..` segments and collapse `//` in the path (default `true`; S3: `false`).
    pub normalize_path: bool,
    /// Percent-encode the wire path once more (default `true`; S3: `false`).
    pub double_encode_path: bool,
    /// Add and sign `x-amz-content-sha256` with the body hash (header form only).
    pub payload_checksum: bool,
    /// Whether the session token is signed or added afterwards.
    pub session_token_mode: SessionTokenMode,
    /// `X-Amz-Expires` of the presigned form, whole seconds in 1..=604800 (default 3600).
    pub expires_in: Duration,
}

impl Default for SigningSettings {
    fn default() -> Self {
        SigningSettings {
            normalize_path: true,
            double_encode_path: true,
            payload_checksum: false,
            session_token_mode: SessionTokenMode::Signed,
            expires_in: Duration::from_secs(3600),
        }
    }
}

/// Everything besides the request that a signature depends on.
#[derive(Debug, Clone, Copy)]
pub struct SigningParams<'a> {
    /// The signing identity.
    pub credentials: &'a Credentials,
    /// Region of the credential scope.
    pub region: &'a str,
    /// Service of the credential scope (`sts`, …).
    pub service: &'a str,
    /// Signing time (truncated to whole seconds; years 1970–9999).
    pub time: SystemTime,
    /// Canonicalisation and output options.
    pub settings: SigningSettings,
}

/// Why a request could not be signed; messages never contain secrets or token values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// Access key id empty or containing `/`, whitespace or control characters.
    #[error("invalid access key id: it must be non-empty and contain no '/', whitespace or control characters")]
    InvalidAccessKeyId,
    /// Session token containing a line break or another control character.
    #[error("invalid session token: it must not contain control characters")]
    InvalidSessionToken,
    /// Region or service that cannot be part of a credential scope.
    #[error("invalid signing {what} {value:?}: it must be non-empty and contain no '/', whitespace or control characters")]
    InvalidScope {
        /// `"region"` or `"service"`.
        what: &'static str,
        /// The rejected value.
        value: String,
    },
    /// Signing time before 1970 or after 9999.
    #[error("signing time is outside the years 1970-9999")]
    TimeOutOfRange,
    /// `expires_in` outside 1..=604800 seconds.
    #[error("X-Amz-Expires must be between 1 and {MAX_EXPIRES_SECS} seconds, got {0}")]
    InvalidExpires(u64),
    /// The request has no `Host` header, which must be signed.
    #[error("the request has no Host header; it must be present and signed")]
    MissingHost,
    /// A header name that is empty or not an HTTP token.
    #[error("invalid header name {0:?}")]
    InvalidHeaderName(String),
    /// A header value with a bare line break or control character (header injection).
    #[error("value of header {0:?} contains a control character or a line break that is not a folded continuation")]
    InvalidHeaderValue(String),
    /// The query already carries a presigning parameter.
    #[error("the query string already contains the signing parameter {0}")]
    AlreadyPresigned(&'static str),
}

/// Result of [`sign_headers`]: headers to set (replacing any of the same name) plus the
/// intermediate values; `Debug` redacts the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    /// `(name, value)` to set: `X-Amz-Date`, optional `X-Amz-Security-Token`, optional
    /// `x-amz-content-sha256`, then `Authorization`.
    pub headers: Vec<(&'static str, String)>,
    /// Lower-hex signature.
    pub signature: String,
    /// The canonical request that was signed (contains a signed session token).
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
}

impl fmt::Debug for SignedHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if n.eq_ignore_ascii_case(SECURITY_TOKEN_HEADER) {
                    (*n, REDACTED)
                } else {
                    (*n, v.as_str())
                }
            })
            .collect();
        f.debug_struct("SignedHeaders")
            .field("headers", &headers)
            .field("signature", &self.signature)
            .field(
                "canonical_request",
                &redact_canonical(&self.canonical_request),
            )
            .field("string_to_sign", &self.string_to_sign)
            .finish()
    }
}

/// Result of [`presign_query`]: the new query string plus the intermediate values;
/// `Debug` redacts the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct PresignedQuery {
    /// The added parameters in order (decoded values): `X-Amz-Algorithm`,
    /// `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-SignedHeaders`, `X-Amz-Expires`, optional
    /// `X-Amz-Security-Token`, `X-Amz-Signature`.
    pub params: Vec<(&'static str, String)>,
    /// The complete query to send: the original query, then the encoded added parameters.
    pub query: String,
    /// Lower-hex signature.
    pub signature: String,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
}

impl fmt::Debug for PresignedQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(n, v)| {
                if *n == SECURITY_TOKEN_PARAM {
                    (*n, REDACTED)
                } else {
                    (*n, v.as_str())
                }
            })
            .collect();
        f.debug_struct("PresignedQuery")
            .field("params", &params)
            .field("query", &redact_canonical(&self.query))
            .field("signature", &self.signature)
            .field(
                "canonical_request",
                &redact_canonical(&self.canonical_request),
            )
            .field("string_to_sign", &self.string_to_sign)
            .finish()
    }
}

const REDACTED: &str = "** redacted **";

/// Replaces session-token values in canonical-request or query text (the
/// `x-amz-security-token:` header line and the `X-Amz-Security-Token=` parameter).
pub(crate) fn redact_canonical(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let header = find_at_line_start(rest, "x-amz-security-token:");
        let param = find_param(rest, "X-Amz-Security-Token=");
        let (at, len, stops): (usize, usize, &[char]) = match (header, param) {
            (Some(h), Some(p)) if h < p => (h, "x-amz-security-token:".len(), &['\n']),
            (Some(h), None) => (h, "x-amz-security-token:".len(), &['\n']),
            (_, Some(p)) => (p, "X-Amz-Security-Token=".len(), &['&', '\n']),
            (None, None) => break,
        };
        out.push_str(&rest[..at + len]);
        out.push_str(REDACTED);
        let tail = &rest[at + len..];
        rest = match tail.find(stops) {
            Some(end) => &tail[end..],
            None => "",
        };
    }
    out.push_str(rest);
    out
}

fn find_at_line_start(s: &str, needle: &str) -> Option<usize> {
    s.match_indices(needle)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || s.as_bytes()[i - 1] == b'\n')
}

fn find_param(s: &str, needle: &str) -> Option<usize> {
    s.match_indices(needle)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || matches!(s.as_bytes()[i - 1], b'&' | b'\n' | b'?'))
}

fn valid_scope_part(s: &str) -> bool {
    !s.is_empty()
        && !s
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
}

fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Header values may carry obs-fold line breaks (CRLF or LF followed by SP/HT) and tabs,
/// but no other control character.
fn valid_header_value(v: &str) -> bool {
    let b = v.as_bytes();
    b.iter().enumerate().all(|(i, &c)| match c {
        b'\t' => true,
        b'\r' => b.get(i + 1) == Some(&b'\n'),
        b'\n' => matches!(b.get(i + 1), Some(b' ' | b'\t')),
        0..=0x1f | 0x7f => false,
        _ => true,
    })
}

fn check_params(params: &SigningParams<'_>) -> Result<(), SigningError> {
    if !valid_scope_part(params.credentials.access_key_id()) {
        return Err(SigningError::InvalidAccessKeyId);
    }
    if params
        .credentials
        .session_token()
        .is_some_and(|t| t.chars().any(char::is_control))
    {
        return Err(SigningError::InvalidSessionToken);
    }
    for (what, value) in [("region", params.region), ("service", params.service)] {
        if !valid_scope_part(value) {
            return Err(SigningError::InvalidScope {
                what,
                value: value.to_owned(),
            });
        }
    }
    if !(1970..=9999).contains(&year_of(params.time)) {
        return Err(SigningError::TimeOutOfRange);
    }
    Ok(())
}

/// The request headers that will be signed, with lower-cased names, minus `drop`.
fn collect_headers<'r>(
    req: &SignableRequest<'r>,
    drop: &[&str],
) -> Result<Vec<(String, &'r str)>, SigningError> {
    let mut out = Vec::with_capacity(req.headers.len() + 4);
    let mut host = false;
    for (name, value) in req.headers {
        if name.is_empty() || !name.bytes().all(is_tchar) {
            return Err(SigningError::InvalidHeaderName((*name).to_owned()));
        }
        if !valid_header_value(value) {
            return Err(SigningError::InvalidHeaderValue((*name).to_owned()));
        }
        let lower = name.to_ascii_lowercase();
        if UNSIGNED_HEADERS.contains(&lower.as_str()) || drop.contains(&lower.as_str()) {
            continue;
        }
        host |= lower == "host";
        out.push((lower, *value));
    }
    if !host {
        return Err(SigningError::MissingHost);
    }
    Ok(out)
}

/// Sorted, de-duplicated names joined with `;`.
fn signed_header_list(headers: &[(String, &str)]) -> String {
    let mut names: Vec<&str> = headers.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    names.join(";")
}

/// Payload hash: the value of an `x-amz-content-sha256` header when present, else the
/// SHA-256 of the body.
fn payload_hash(headers: &[(String, &str)], body: &[u8]) -> String {
    match headers.iter().find(|(n, _)| n == CONTENT_SHA256_HEADER) {
        Some((_, v)) => v.trim().to_owned(),
        None => sha256_hex(body),
    }
}

/// Canonical request for `headers` (already lower-cased) signed as `signed_list`.
fn build_canonical(
    req: &SignableRequest<'_>,
    query: &str,
    headers: &[(String, &str)],
    signed_list: &str,
    payload: &str,
    settings: &SigningSettings,
) -> String {
    let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut block = String::with_capacity(256);
    write_canonical_headers(&mut block, &pairs, signed_list.split(';'))
        .expect("every signed name comes from the header list");
    canonical_request(
        req.method,
        &canonical_uri(
            req.path,
            settings.normalize_path,
            settings.double_encode_path,
        ),
        &canonical_query(query, &[]),
        &block,
        signed_list,
        payload,
    )
}

/// Signs `req` in the `Authorization` header form. Every request header is signed except
/// hop-by-hop ones and `User-Agent`; `Host` is required. Apply the returned headers by
/// replacing any existing header of the same name.
pub fn sign_headers(
    req: &SignableRequest<'_>,
    params: &SigningParams<'_>,
) -> Result<SignedHeaders, SigningError> {
    check_params(params)?;
    let settings = &params.settings;
    let amz_date = format_amz_date(params.time);
    let scope = Scope::new(&amz_date, params.region, params.service);
    let token = params.credentials.session_token();

    // The headers the signer sets replace any the caller left in the request.
    let mut drop = vec!["x-amz-date"];
    if token.is_some() {
        drop.push(SECURITY_TOKEN_HEADER);
    }
    if settings.payload_checksum {
        drop.push(CONTENT_SHA256_HEADER);
    }
    let mut headers = collect_headers(req, &drop)?;
    headers.push(("x-amz-date".to_owned(), &amz_date));
    let body_hash;
    if settings.payload_checksum {
        body_hash = sha256_hex(req.body);
        headers.push((CONTENT_SHA256_HEADER.to_owned(), &body_hash));
    }
    if let (Some(t), SessionTokenMode::Signed) = (token, settings.session_token_mode) {
        headers.push((SECURITY_TOKEN_HEADER.to_owned(), t));
    }

    let signed_list = signed_header_list(&headers);
    let payload = payload_hash(&headers, req.body);
    let canonical_request =
        build_canonical(req, req.query, &headers, &signed_list, &payload, settings);
    let string_to_sign = string_to_sign(&amz_date, &scope, &canonical_request);
    let key = signing_key(
        params.credentials.secret_access_key(),
        &scope.date,
        &scope.region,
        &scope.service,
    );
    let signature = signature(&key, &string_to_sign);

    let mut out = vec![("X-Amz-Date", amz_date.clone())];
    if let Some(t) = token {
        out.push(("X-Amz-Security-Token", t.to_owned()));
    }
    if settings.payload_checksum {
        out.push(("x-amz-content-sha256", payload));
    }
    out.push((
        "Authorization",
        format!(
            "{ALGORITHM} Credential={}/{scope}, SignedHeaders={signed_list}, Signature={signature}",
            params.credentials.access_key_id()
        ),
    ));
    Ok(SignedHeaders {
        headers: out,
        signature,
        canonical_request,
        string_to_sign,
    })
}

/// Signs `req` in the presigned query form (the payload hash is the body's SHA-256, as
/// botocore does for every service but S3). Every request header except hop-by-hop ones
/// and `User-Agent` is signed; `Host` is required.
pub fn presign_query(
    req: &SignableRequest<'_>,
    params: &SigningParams<'_>,
) -> Result<PresignedQuery, SigningError> {
    check_params(params)?;
    let settings = &params.settings;
    let expires = settings.expires_in.as_secs();
    if !(1..=MAX_EXPIRES_SECS).contains(&expires) || settings.expires_in.subsec_nanos() != 0 {
        return Err(SigningError::InvalidExpires(expires));
    }
    for piece in req.query.split('&') {
        let name = encode::decode(piece.split_once('=').map_or(piece, |(n, _)| n));
        if let Some(p) = PRESIGN_PARAMS.iter().find(|p| p.as_bytes() == &*name) {
            return Err(SigningError::AlreadyPresigned(p));
        }
    }
    let amz_date = format_amz_date(params.time);
    let scope = Scope::new(&amz_date, params.region, params.service);
    let token = params.credentials.session_token();
    let headers = collect_headers(req, &[])?;
    let signed_list = signed_header_list(&headers);

    let mut added: Vec<(&'static str, String)> = vec![
        ("X-Amz-Algorithm", ALGORITHM.to_owned()),
        (
            "X-Amz-Credential",
            format!("{}/{scope}", params.credentials.access_key_id()),
        ),
        ("X-Amz-Date", amz_date.clone()),
        ("X-Amz-SignedHeaders", signed_list.clone()),
        ("X-Amz-Expires", expires.to_string()),
    ];
    if let Some(t) = token {
        added.push((SECURITY_TOKEN_PARAM, t.to_owned()));
    }
    let token_signed = settings.session_token_mode == SessionTokenMode::Signed;
    let encoded = |params: &[(&'static str, String)]| {
        let mut s = String::new();
        for (n, v) in params {
            if !s.is_empty() {
                s.push('&');
            }
            s.push_str(n);
            s.push('=');
            encode::encode_into(&mut s, v.as_bytes(), UNRESERVED);
        }
        s
    };
    let signed_params = if token.is_some() && !token_signed {
        &added[..added.len() - 1]
    } else {
        &added[..]
    };
    let join = |a: &str, b: &str| match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}&{b}"),
    };
    let signing_query = join(req.query, &encoded(signed_params));

    let payload = payload_hash(&headers, req.body);
    let canonical_request = build_canonical(
        req,
        &signing_query,
        &headers,
        &signed_list,
        &payload,
        settings,
    );
    let string_to_sign = string_to_sign(&amz_date, &scope, &canonical_request);
    let key = signing_key(
        params.credentials.secret_access_key(),
        &scope.date,
        &scope.region,
        &scope.service,
    );
    let signature = signature(&key, &string_to_sign);
    added.push((SIGNATURE_PARAM, signature.clone()));
    let query = join(req.query, &encoded(&added));
    Ok(PresignedQuery {
        params: added,
        query,
        signature,
        canonical_request,
        string_to_sign,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::parse_amz_date;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const TOKEN: &str = "SESSIONTOKEN/abc+def==";

    fn params(creds: &Credentials) -> SigningParams<'_> {
        SigningParams {
            credentials: creds,
            region: "us-east-1",
            service: "service",
            time: parse_amz_date("20150830T123600Z").unwrap(),
            settings: SigningSettings::default(),
        }
    }

    #[test]
    fn signs_get_vanilla() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None);
        let h = [("Host", "example.amazonaws.com")];
        let req = SignableRequest::new("GET", "/", "", &h, b"");
        let out = sign_headers(&req, &params(&creds)).unwrap();
        assert_eq!(
            out.signature,
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
        assert_eq!(
            out.headers[0],
            ("X-Amz-Date", "20150830T123600Z".to_owned())
        );
        assert_eq!(
            out.headers[1].1,
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, \
             SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
        );
    }

    #[test]
    fn existing_signer_headers_are_replaced_and_unsigned_ones_skipped() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None);
        let plain = [("Host", "example.amazonaws.com")];
        let noisy = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", "19990101T000000Z"),
            ("Authorization", "old"),
            ("User-Agent", "test/1.0"),
            ("Connection", "keep-alive"),
        ];
        let a = sign_headers(
            &SignableRequest::new("GET", "/", "", &plain, b""),
            &params(&creds),
        )
        .unwrap();
        let b = sign_headers(
            &SignableRequest::new("GET", "/", "", &noisy, b""),
            &params(&creds),
        )
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn session_token_modes() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, Some(TOKEN.into()));
        let h = [("Host", "example.amazonaws.com")];
        let req = SignableRequest::new("POST", "/", "", &h, b"");
        let mut p = params(&creds);
        let signed = sign_headers(&req, &p).unwrap();
        assert!(signed
            .canonical_request
            .contains("\nx-amz-security-token:SESSIONTOKEN/abc+def==\n"));
        p.settings.session_token_mode = SessionTokenMode::AfterSigning;
        let after = sign_headers(&req, &p).unwrap();
        assert!(!after.canonical_request.contains("security-token"));
        for out in [&signed, &after] {
            assert!(out
                .headers
                .contains(&("X-Amz-Security-Token", TOKEN.to_owned())));
        }
        // post-sts-header-after signs like post-vanilla.
        assert_eq!(
            after.signature,
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"
        );
    }

    #[test]
    fn a_callers_token_header_is_kept_unless_the_credentials_bring_one() {
        let h = [("Host", "h"), ("X-Amz-Security-Token", "CALLER")];
        let req = SignableRequest::new("GET", "/", "", &h, b"");
        let plain = Credentials::new("AKIDEXAMPLE", SECRET, None);
        let out = sign_headers(&req, &params(&plain)).unwrap();
        assert!(out
            .canonical_request
            .contains("\nx-amz-security-token:CALLER\n"));
        let with = Credentials::new("AKIDEXAMPLE", SECRET, Some(TOKEN.into()));
        let out = sign_headers(&req, &params(&with)).unwrap();
        assert!(!out.canonical_request.contains("CALLER"));
        assert!(out
            .headers
            .contains(&("X-Amz-Security-Token", TOKEN.to_owned())));
    }

    #[test]
    fn debug_output_redacts_the_token() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, Some(TOKEN.into()));
        let h = [("Host", "example.amazonaws.com")];
        let req = SignableRequest::new("GET", "/", "a=1", &h, b"");
        let p = params(&creds);
        let dbg = format!("{:?}", sign_headers(&req, &p).unwrap());
        assert!(!dbg.contains("SESSIONTOKEN"), "{dbg}");
        assert!(dbg.contains("x-amz-security-token:** redacted **"), "{dbg}");
        let q = presign_query(&req, &p).unwrap();
        assert!(q
            .query
            .contains("X-Amz-Security-Token=SESSIONTOKEN%2Fabc%2Bdef%3D%3D"));
        let dbg = format!("{q:?}");
        assert!(!dbg.contains("SESSIONTOKEN"), "{dbg}");
    }

    #[test]
    fn redaction_handles_both_forms_and_keeps_the_rest() {
        let text = "GET\n/\na=1&X-Amz-Security-Token=abc&b=2\nhost:h\nx-amz-security-token:xyz\n\nhost\nff";
        assert_eq!(
            redact_canonical(text),
            "GET\n/\na=1&X-Amz-Security-Token=** redacted **&b=2\nhost:h\n\
             x-amz-security-token:** redacted **\n\nhost\nff"
        );
        assert_eq!(redact_canonical("no token here"), "no token here");
        // A header merely ending in the name is not the token header.
        assert_eq!(
            redact_canonical("my-x-amz-security-token:v"),
            "my-x-amz-security-token:v"
        );
    }

    #[test]
    fn payload_checksum_adds_and_signs_the_body_hash() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None);
        let h = [
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Host", "example.amazonaws.com"),
            ("Content-Length", "13"),
        ];
        let req = SignableRequest::new("POST", "/", "", &h, b"Param1=value1");
        let mut p = params(&creds);
        p.settings.payload_checksum = true;
        let out = sign_headers(&req, &p).unwrap();
        // post-x-www-form-urlencoded
        assert_eq!(
            out.signature,
            "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b"
        );
    }

    #[test]
    fn presign_appends_parameters_in_order() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None);
        let h = [("Host", "example.amazonaws.com")];
        let req = SignableRequest::new("GET", "/", "Param1=value1", &h, b"");
        let out = presign_query(&req, &params(&creds)).unwrap();
        assert_eq!(
            out.query,
            "Param1=value1&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fservice%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders=host&X-Amz-Expires=3600&X-Amz-Signature=49096700cbbaa5753443850f40df10f904fc2fdb544dc9512203cc77c471a9de"
        );
        let names: Vec<_> = out.params.iter().map(|(n, _)| *n).collect();
        assert_eq!(
            names,
            [
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-SignedHeaders",
                "X-Amz-Expires",
                "X-Amz-Signature"
            ]
        );
    }

    #[test]
    fn rejects_bad_inputs_without_echoing_secrets() {
        let h = [("Host", "example.amazonaws.com")];
        let req = SignableRequest::new("GET", "/", "", &h, b"");
        let bad_key = Credentials::new("AK/ID", SECRET, None);
        assert_eq!(
            sign_headers(&req, &params(&bad_key)),
            Err(SigningError::InvalidAccessKeyId)
        );
        let bad_token = Credentials::new("AKID", SECRET, Some("tok\r\nX-Evil: 1".into()));
        let e = sign_headers(&req, &params(&bad_token)).unwrap_err();
        assert_eq!(e, SigningError::InvalidSessionToken);
        assert!(!e.to_string().contains("Evil"));

        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None);
        let mut p = params(&creds);
        p.region = "us east";
        assert!(matches!(
            sign_headers(&req, &p),
            Err(SigningError::InvalidScope { what: "region", .. })
        ));
        let mut p = params(&creds);
        p.service = "";
        assert!(matches!(
            sign_headers(&req, &p),
            Err(SigningError::InvalidScope {
                what: "service",
                ..
            })
        ));
        let mut p = params(&creds);
        p.time = std::time::UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(sign_headers(&req, &p), Err(SigningError::TimeOutOfRange));

        let no_host = [("X-Foo", "1")];
        let r = SignableRequest::new("GET", "/", "", &no_host, b"");
        assert_eq!(
            sign_headers(&r, &params(&creds)),
            Err(SigningError::MissingHost)
        );
        let bad_name = [("Host", "h"), ("Bad Name", "1")];
        let r = SignableRequest::new("GET", "/", "", &bad_name, b"");
        assert_eq!(
            sign_headers(&r, &params(&creds)),
            Err(SigningError::InvalidHeaderName("Bad Name".into()))
        );
        let injected = [("Host", "h"), ("X-A", "1\r\nX-B: 2")];
        let r = SignableRequest::new("GET", "/", "", &injected, b"");
        assert_eq!(
            sign_headers(&r, &params(&creds)),
            Err(SigningError::InvalidHeaderValue("X-A".into()))
        );
        let folded = [("Host", "h"), ("X-A", "1\r\n 2\n\t3")];
        let r = SignableRequest::new("GET", "/", "", &folded, b"");
        assert!(sign_headers(&r, &params(&creds)).is_ok());

        for secs in [0, MAX_EXPIRES_SECS + 1] {
            let mut p = params(&creds);
            p.settings.expires_in = Duration::from_secs(secs);
            assert_eq!(
                presign_query(&req, &p),
                Err(SigningError::InvalidExpires(secs))
            );
        }
        let signed = SignableRequest::new("GET", "/", "a=1&X-Amz-Signature=00", &h, b"");
        assert_eq!(
            presign_query(&signed, &params(&creds)),
            Err(SigningError::AlreadyPresigned("X-Amz-Signature"))
        );
    }
}
