//! Verification of SigV4-signed requests (the server side).

use crate::canonical::{
    canonical_query, canonical_request, canonical_request_digest, canonical_uri,
    signature_of_digest, string_to_sign, write_canonical_headers, Scope, ALGORITHM, TERMINATOR,
};
use crate::encode;
use crate::key::{signing_key, SigningKey};
use crate::request::SignableRequest;
use crate::sign::{
    redact_canonical, CONTENT_SHA256_HEADER, MAX_EXPIRES_SECS, SECURITY_TOKEN_HEADER,
    SECURITY_TOKEN_PARAM, SIGNATURE_PARAM,
};
use crate::time::{format_amz_date, parse_amz_date, parse_http_date};
use sha2::{Digest, Sha256};
use std::fmt;
use std::time::{Duration, SystemTime};
use subtle::ConstantTimeEq;

/// Where the authentication data of a request was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthForm {
    /// The `Authorization` header.
    Header,
    /// Presigned query parameters (`X-Amz-Algorithm`, `X-Amz-Signature`, …).
    Query,
}

/// The authentication data of a request, as found by [`parse_authorization`]; `Debug`
/// redacts the session token.
#[derive(Clone, PartialEq, Eq)]
pub struct AuthInfo {
    /// Header or query form.
    pub form: AuthForm,
    /// Access key id from the credential.
    pub access_key_id: String,
    /// Credential scope (the terminator was checked to be `aws4_request`).
    pub scope: Scope,
    /// The signed header names as given (`host;x-amz-date`).
    pub signed_headers: String,
    /// The signature as given.
    pub signature: String,
    /// Request time: `X-Amz-Date` (header or query), else the `Date` header.
    pub timestamp: SystemTime,
    /// `timestamp` as `YYYYMMDDTHHMMSSZ`, the form used in the string to sign.
    pub amz_date: String,
    /// `X-Amz-Expires` of the query form, in seconds (1..=604800).
    pub expires_in: Option<u64>,
    /// Session token from `X-Amz-Security-Token` (the header, or the query parameter in the
    /// query form), if present.
    pub security_token: Option<String>,
}

impl AuthInfo {
    /// The signed header names, split on `;`.
    pub fn signed_header_names(&self) -> impl Iterator<Item = &str> {
        self.signed_headers.split(';')
    }
}

impl fmt::Debug for AuthInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthInfo")
            .field("form", &self.form)
            .field("access_key_id", &self.access_key_id)
            .field("scope", &self.scope)
            .field("signed_headers", &self.signed_headers)
            .field("signature", &self.signature)
            .field("amz_date", &self.amz_date)
            .field("expires_in", &self.expires_in)
            .field(
                "security_token",
                &self.security_token.as_ref().map(|_| "** redacted **"),
            )
            .finish()
    }
}

/// A required part of the authentication data that is missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncompletePart {
    /// `X-Amz-Algorithm` (query form).
    Algorithm,
    /// `Credential` / `X-Amz-Credential`.
    Credential,
    /// `SignedHeaders` / `X-Amz-SignedHeaders`.
    SignedHeaders,
    /// `Signature` / `X-Amz-Signature`.
    Signature,
    /// `X-Amz-Date` (or, in the header form, `Date`).
    Date,
    /// `X-Amz-Expires` (query form).
    Expires,
}

impl IncompletePart {
    fn header_message(self) -> &'static str {
        match self {
            IncompletePart::Algorithm => "Authorization header requires an algorithm.",
            IncompletePart::Credential => "Authorization header requires 'Credential' parameter.",
            IncompletePart::SignedHeaders => {
                "Authorization header requires 'SignedHeaders' parameter."
            }
            IncompletePart::Signature => "Authorization header requires 'Signature' parameter.",
            IncompletePart::Date => {
                "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
            }
            IncompletePart::Expires => "Authorization header requires 'X-Amz-Expires' parameter.",
        }
    }

    fn query_name(self) -> &'static str {
        match self {
            IncompletePart::Algorithm => "X-Amz-Algorithm",
            IncompletePart::Credential => "X-Amz-Credential",
            IncompletePart::SignedHeaders => "X-Amz-SignedHeaders",
            IncompletePart::Signature => "X-Amz-Signature",
            IncompletePart::Date => "X-Amz-Date",
            IncompletePart::Expires => "X-Amz-Expires",
        }
    }
}

/// What is wrong with a credential scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeProblem {
    /// Not exactly `<key>/<date>/<region>/<service>/<terminator>`; carries the credential.
    WrongParts(String),
    /// One of the five elements is empty; carries the credential.
    EmptyPart(String),
    /// The last element is not `aws4_request`; carries it.
    BadTerminator(String),
}

impl fmt::Display for ScopeProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScopeProblem::WrongParts(c) | ScopeProblem::EmptyPart(c) => write!(
                f,
                "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{c}'"
            ),
            ScopeProblem::BadTerminator(t) => write!(
                f,
                "Credential should be scoped with a valid terminator: '{TERMINATOR}', not '{t}'."
            ),
        }
    }
}

/// Why a request failed verification. `Display` gives an AWS-style message; no variant
/// carries a secret key or session token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// Neither an `Authorization` header nor presigned query parameters.
    #[error("Request is missing Authentication Token")]
    MissingAuthentication,
    /// Both an `Authorization` header and presigned query parameters.
    #[error("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified")]
    BothForms,
    /// An algorithm other than `AWS4-HMAC-SHA256` (e.g. SigV4a or SigV2).
    #[error("Unsupported AWS 'algorithm': '{0}'")]
    UnsupportedAlgorithm(String),
    /// Required parts are missing (all of them are listed).
    #[error("{}", incomplete_message(*.form, .missing))]
    IncompleteSignature {
        /// Which form was being parsed.
        form: AuthForm,
        /// The missing parts, in a fixed order.
        missing: Vec<IncompletePart>,
    },
    /// The authentication data cannot be parsed (not `key=value`, duplicated, empty, …).
    #[error("{0}")]
    MalformedAuthorization(String),
    /// The credential scope is malformed.
    #[error("{0}")]
    MalformedScope(ScopeProblem),
    /// `X-Amz-Date` / `Date` cannot be parsed.
    #[error("Date must be in ISO-8601 'basic format'. Got '{0}'. See http://en.wikipedia.org/wiki/ISO_8601")]
    InvalidDate(String),
    /// The scope date differs from the date of the request timestamp.
    #[error("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope_date}' != '{request_date}', from '{amz_date}'.")]
    ScopeDateMismatch {
        /// Date element of the scope.
        scope_date: String,
        /// First 8 characters of `amz_date`.
        request_date: String,
        /// The request timestamp.
        amz_date: String,
    },
    /// `X-Amz-Expires` is not an integer in 1..=604800.
    #[error("X-Amz-Expires must be an integer between 1 and 604800 (seconds), got '{0}'")]
    InvalidExpires(String),
    /// `host` is not among the signed headers.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,
    /// A signed header does not occur in the request.
    #[error("Signed header '{0}' is not present in the request")]
    SignedHeaderMissing(String),
    /// `x-amz-content-sha256` differs from the SHA-256 of the body.
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentSha256Mismatch,
    /// The recomputed signature differs; carries the canonical request (session token
    /// redacted) and string to sign for an optional debug mode.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    SignatureMismatch {
        /// The canonical request the server computed, with any session token redacted.
        canonical_request: String,
        /// The string to sign the server computed.
        string_to_sign: String,
    },
    /// The request timestamp is older than `now - skew` (header form).
    #[error(
        "Signature expired: {request} is now earlier than {limit} ({now} - {skew_minutes} min.)"
    )]
    SignatureExpired {
        /// Request timestamp (`YYYYMMDDTHHMMSSZ`).
        request: String,
        /// `now - skew`.
        limit: String,
        /// Server time.
        now: String,
        /// The allowed skew in whole minutes.
        skew_minutes: u64,
    },
    /// The request timestamp is later than `now + skew`.
    #[error("Signature not yet current: {request} is still later than {limit} ({now} + {skew_minutes} min.)")]
    SignatureNotYetCurrent {
        /// Request timestamp (`YYYYMMDDTHHMMSSZ`).
        request: String,
        /// `now + skew`.
        limit: String,
        /// Server time.
        now: String,
        /// The allowed skew in whole minutes.
        skew_minutes: u64,
    },
    /// A presigned request used after `X-Amz-Date + X-Amz-Expires`.
    #[error("Request has expired")]
    PresignedExpired {
        /// Request timestamp (`YYYYMMDDTHHMMSSZ`).
        request: String,
        /// `X-Amz-Expires` in seconds.
        expires_in: u64,
        /// Server time.
        now: String,
    },
}

fn incomplete_message(form: AuthForm, missing: &[IncompletePart]) -> String {
    let mut parts: Vec<String> = match form {
        AuthForm::Header => missing
            .iter()
            .map(|p| p.header_message().to_owned())
            .collect(),
        AuthForm::Query => missing
            .iter()
            .map(|p| {
                format!(
                    "AWS query-string parameters must include '{}'.",
                    p.query_name()
                )
            })
            .collect(),
    };
    if form == AuthForm::Query {
        parts.push("Re-examine the query-string parameters.".to_owned());
    }
    parts.join(" ")
}

/// How the verifier canonicalises; `Default` suits STS and every non-S3 service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifySettings {
    /// Remove `.`/`..` segments and collapse `//` in the path (default `true`).
    pub normalize_path: bool,
    /// Percent-encode the wire path once more (default `true`).
    pub double_encode_path: bool,
    /// Also accept a presigned request whose `X-Amz-Security-Token` parameter was added
    /// after signing and is not part of the signature (default `true`). The token is still
    /// returned in [`AuthInfo`] and must be validated by the caller.
    pub accept_unsigned_query_token: bool,
    /// Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (S3 style; default `false`).
    pub allow_unsigned_payload: bool,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            normalize_path: true,
            double_encode_path: true,
            accept_unsigned_query_token: true,
            allow_unsigned_payload: false,
        }
    }
}

const AUTH_HEADER: &str = "authorization";
/// Query parameters whose presence means the request uses the query form.
const QUERY_MARKERS: [&str; 4] = [
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-SignedHeaders",
    SIGNATURE_PARAM,
];
/// Longest algorithm or value echoed back in an error message.
const ECHO_LIMIT: usize = 64;

fn echo(s: &str) -> String {
    match s.char_indices().nth(ECHO_LIMIT) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_owned(),
    }
}

/// Finds and checks the authentication data of `req`: header or query form (not both),
/// algorithm, required parts, scope shape and terminator, scope date = request date,
/// `host` signed, `X-Amz-Expires` range. Does not look at the clock or the signature.
pub fn parse_authorization(req: &SignableRequest<'_>) -> Result<AuthInfo, VerifyError> {
    let mut auth_headers = req.header_values(AUTH_HEADER);
    let auth_header = auth_headers.next();
    if auth_headers.next().is_some() {
        return Err(VerifyError::MalformedAuthorization(
            "Only one Authorization header is allowed.".to_owned(),
        ));
    }
    let query_form =
        query_pairs(req.query).any(|(n, _)| QUERY_MARKERS.iter().any(|m| m.as_bytes() == &*n));
    match (auth_header, query_form) {
        (Some(_), true) => Err(VerifyError::BothForms),
        (None, false) => Err(VerifyError::MissingAuthentication),
        (Some(h), false) => parse_header_form(req, h),
        (None, true) => parse_query_form(req),
    }
}

fn query_pairs(query: &str) -> impl Iterator<Item = (std::borrow::Cow<'_, [u8]>, &str)> {
    query.split('&').filter(|p| !p.is_empty()).map(|p| {
        let (n, v) = p.split_once('=').unwrap_or((p, ""));
        (encode::decode(n), v)
    })
}

/// The single value of a header, or an error if it is repeated.
fn single_header<'a>(
    req: &SignableRequest<'a>,
    name: &str,
) -> Result<Option<&'a str>, VerifyError> {
    let mut it = req.header_values(name);
    let first = it.next();
    if it.next().is_some() {
        return Err(VerifyError::MalformedAuthorization(format!(
            "Only one '{name}' header is allowed."
        )));
    }
    Ok(first)
}

fn parse_header_form(req: &SignableRequest<'_>, value: &str) -> Result<AuthInfo, VerifyError> {
    let value = value.trim();
    let (algorithm, rest) = value.split_once([' ', '\t']).unwrap_or((value, ""));
    if algorithm != ALGORITHM {
        return Err(VerifyError::UnsupportedAlgorithm(echo(algorithm)));
    }
    let (mut credential, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((k, v)) = part.split_once('=') else {
            return Err(VerifyError::MalformedAuthorization(format!(
                "'{}' not a valid key=value pair (missing equal-sign) in Authorization header.",
                echo(part)
            )));
        };
        let slot = match k.trim() {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed,
            "Signature" => &mut sig,
            // Unknown components carry nothing we need.
            _ => continue,
        };
        if slot.is_some() {
            return Err(VerifyError::MalformedAuthorization(format!(
                "Authorization header has more than one '{}' parameter.",
                k.trim()
            )));
        }
        *slot = Some(v.trim());
    }
    let date = match single_header(req, "x-amz-date")? {
        Some(d) => Some(DateSource::Amz(d.trim())),
        None => single_header(req, "date")?.map(|d| DateSource::Http(d.trim())),
    };
    let token = single_header(req, SECURITY_TOKEN_HEADER)?.map(|t| t.trim().to_owned());
    finish(
        AuthForm::Header,
        [
            (IncompletePart::Credential, credential),
            (IncompletePart::SignedHeaders, signed),
            (IncompletePart::Signature, sig),
        ],
        date,
        None,
        token,
    )
}

enum DateSource<'a> {
    Amz(&'a str),
    Http(&'a str),
}

fn parse_query_form(req: &SignableRequest<'_>) -> Result<AuthInfo, VerifyError> {
    const NAMES: [&str; 7] = [
        "X-Amz-Algorithm",
        "X-Amz-Credential",
        "X-Amz-SignedHeaders",
        SIGNATURE_PARAM,
        "X-Amz-Date",
        "X-Amz-Expires",
        SECURITY_TOKEN_PARAM,
    ];
    let mut values: [Option<String>; 7] = Default::default();
    for (name, raw) in query_pairs(req.query) {
        if let Some(i) = NAMES.iter().position(|n| n.as_bytes() == &*name) {
            if values[i].is_some() {
                return Err(VerifyError::MalformedAuthorization(format!(
                    "The query string has more than one '{}' parameter.",
                    NAMES[i]
                )));
            }
            values[i] = Some(encode::decode_str(raw));
        }
    }
    let [algorithm, credential, signed, sig, date, expires, token] = values;
    match algorithm.as_deref() {
        None => {}
        Some(ALGORITHM) => {}
        Some(other) => return Err(VerifyError::UnsupportedAlgorithm(echo(other))),
    }
    let mut missing = Vec::new();
    if algorithm.is_none() {
        missing.push(IncompletePart::Algorithm);
    }
    if expires.is_none() {
        missing.push(IncompletePart::Expires);
    }
    let expires_in = match expires {
        Some(e) => match e.parse::<u64>() {
            Ok(n) if (1..=MAX_EXPIRES_SECS).contains(&n) => Some(n),
            _ => return Err(VerifyError::InvalidExpires(echo(&e))),
        },
        None => None,
    };
    let token = token.or_else(|| {
        req.header(SECURITY_TOKEN_HEADER)
            .map(|t| t.trim().to_owned())
    });
    let info = finish(
        AuthForm::Query,
        [
            (IncompletePart::Credential, credential.as_deref()),
            (IncompletePart::SignedHeaders, signed.as_deref()),
            (IncompletePart::Signature, sig.as_deref()),
        ],
        date.as_deref().map(DateSource::Amz),
        Some(missing),
        token,
    )?;
    Ok(AuthInfo { expires_in, ..info })
}

/// Shared tail of both forms: completeness, scope, date and `host` checks.
fn finish(
    form: AuthForm,
    parts: [(IncompletePart, Option<&str>); 3],
    date: Option<DateSource<'_>>,
    extra_missing: Option<Vec<IncompletePart>>,
    security_token: Option<String>,
) -> Result<AuthInfo, VerifyError> {
    let mut missing: Vec<IncompletePart> = extra_missing.unwrap_or_default();
    for (part, value) in &parts {
        if value.is_none_or(str::is_empty) {
            missing.push(*part);
        }
    }
    if date.is_none() {
        missing.push(IncompletePart::Date);
    }
    if !missing.is_empty() {
        missing.sort_by_key(|p| *p as u8);
        return Err(VerifyError::IncompleteSignature { form, missing });
    }
    let [(_, Some(credential)), (_, Some(signed)), (_, Some(sig))] = parts else {
        unreachable!("checked above")
    };
    let timestamp = match date.expect("checked above") {
        DateSource::Amz(d) => parse_amz_date(d),
        DateSource::Http(d) => parse_http_date(d),
    }
    .map_err(|e| VerifyError::InvalidDate(echo(&e.value)))?;
    let amz_date = format_amz_date(timestamp);

    let elems: Vec<&str> = credential.split('/').collect();
    let [key, sdate, region, service, terminator] = elems[..] else {
        return Err(VerifyError::MalformedScope(ScopeProblem::WrongParts(echo(
            credential,
        ))));
    };
    if elems.iter().any(|e| e.is_empty()) {
        return Err(VerifyError::MalformedScope(ScopeProblem::EmptyPart(echo(
            credential,
        ))));
    }
    if terminator != TERMINATOR {
        return Err(VerifyError::MalformedScope(ScopeProblem::BadTerminator(
            echo(terminator),
        )));
    }
    if sdate != &amz_date[..8] {
        return Err(VerifyError::ScopeDateMismatch {
            scope_date: echo(sdate),
            request_date: amz_date[..8].to_owned(),
            amz_date,
        });
    }
    if !signed.split(';').any(|h| h.eq_ignore_ascii_case("host")) {
        return Err(VerifyError::HostNotSigned);
    }
    Ok(AuthInfo {
        form,
        access_key_id: key.to_owned(),
        scope: Scope {
            date: sdate.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        },
        signed_headers: signed.to_owned(),
        signature: sig.to_owned(),
        timestamp,
        amz_date,
        expires_in: None,
        security_token,
    })
}

/// Applies the time policy: the request time may be at most `skew` in the future; a header-
/// form request at most `skew` in the past; a presigned one is valid until
/// `timestamp + X-Amz-Expires`.
pub fn check_time(auth: &AuthInfo, now: SystemTime, skew: Duration) -> Result<(), VerifyError> {
    let ts = auth.timestamp;
    // Saturating limits: a window reaching past what SystemTime holds is unbounded.
    if now.checked_add(skew).is_some_and(|latest| ts > latest) {
        return Err(VerifyError::SignatureNotYetCurrent {
            request: auth.amz_date.clone(),
            limit: format_amz_date(now + skew),
            now: format_amz_date(now),
            skew_minutes: skew.as_secs() / 60,
        });
    }
    match (auth.form, auth.expires_in) {
        (AuthForm::Query, Some(expires)) => {
            if ts
                .checked_add(Duration::from_secs(expires))
                .is_some_and(|end| now > end)
            {
                return Err(VerifyError::PresignedExpired {
                    request: auth.amz_date.clone(),
                    expires_in: expires,
                    now: format_amz_date(now),
                });
            }
        }
        _ => {
            if now.checked_sub(skew).is_some_and(|earliest| ts < earliest) {
                return Err(VerifyError::SignatureExpired {
                    request: auth.amz_date.clone(),
                    limit: format_amz_date(now - skew),
                    now: format_amz_date(now),
                    skew_minutes: skew.as_secs() / 60,
                });
            }
        }
    }
    Ok(())
}

/// The AWS text for a request older than the window:
/// `Signature expired: <req> is now earlier than <now-skew> (<now> - <m> min.)`.
pub fn signature_expired_message(request: SystemTime, now: SystemTime, skew: Duration) -> String {
    VerifyError::SignatureExpired {
        request: format_amz_date(request),
        limit: format_amz_date(now - skew),
        now: format_amz_date(now),
        skew_minutes: skew.as_secs() / 60,
    }
    .to_string()
}

/// The AWS text for a request from the future:
/// `Signature not yet current: <req> is still later than <now+skew> (<now> + <m> min.)`.
pub fn not_yet_current_message(request: SystemTime, now: SystemTime, skew: Duration) -> String {
    VerifyError::SignatureNotYetCurrent {
        request: format_amz_date(request),
        limit: format_amz_date(now + skew),
        now: format_amz_date(now),
        skew_minutes: skew.as_secs() / 60,
    }
    .to_string()
}

/// Verifies the signature of `req` against `secret` (derives the signing key; see
/// [`verify_with_key`] to use a cached one).
pub fn verify(
    req: &SignableRequest<'_>,
    auth: &AuthInfo,
    secret: &str,
    settings: &VerifySettings,
) -> Result<(), VerifyError> {
    let key = signing_key(
        secret,
        &auth.scope.date,
        &auth.scope.region,
        &auth.scope.service,
    );
    verify_with_key(req, auth, &key, settings)
}

/// Verifies the signature of `req` with the signing key for `auth.scope`: every signed
/// header present, `x-amz-content-sha256` (if sent) equal to the body hash, then the
/// recomputed signature compared in constant time.
pub fn verify_with_key(
    req: &SignableRequest<'_>,
    auth: &AuthInfo,
    key: &SigningKey,
    settings: &VerifySettings,
) -> Result<(), VerifyError> {
    let mut block = String::with_capacity(256);
    if let Err(name) = write_canonical_headers(&mut block, req.headers, auth.signed_header_names())
    {
        return Err(VerifyError::SignedHeaderMissing(echo(name)));
    }
    let body_hash = encode::hex32(&Sha256::digest(req.body));
    let body_hash = std::str::from_utf8(&body_hash).expect("hex is ASCII");
    let payload = match req.header(CONTENT_SHA256_HEADER).map(str::trim) {
        None => body_hash,
        Some(v) if v == body_hash => v,
        Some(v) if v == "UNSIGNED-PAYLOAD" && settings.allow_unsigned_payload => v,
        Some(_) => return Err(VerifyError::ContentSha256Mismatch),
    };
    let uri = canonical_uri(
        req.path,
        settings.normalize_path,
        settings.double_encode_path,
    );

    // The canonical request is hashed as it is assembled and the string to sign is fed to the
    // signing key's pre-keyed HMAC: neither text is built unless the signature does not match.
    let matches = |exclude: &[&str]| -> bool {
        let digest = canonical_request_digest(
            req.method,
            &uri,
            &canonical_query(req.query, exclude),
            &block,
            &auth.signed_headers,
            payload,
        );
        signature_of_digest(key, &auth.amz_date, &auth.scope, &digest)
            .as_slice()
            .ct_eq(auth.signature.as_bytes())
            .into()
    };
    let first: &[&str] = match auth.form {
        AuthForm::Header => &[],
        AuthForm::Query => &[SIGNATURE_PARAM],
    };
    if matches(first) {
        return Ok(());
    }
    if auth.form == AuthForm::Query
        && settings.accept_unsigned_query_token
        && query_pairs(req.query).any(|(n, _)| SECURITY_TOKEN_PARAM.as_bytes() == &*n)
        && matches(&[SIGNATURE_PARAM, SECURITY_TOKEN_PARAM])
    {
        return Ok(());
    }
    // The texts of the first attempt, for the error's debug mode.
    let cr = canonical_request(
        req.method,
        &uri,
        &canonical_query(req.query, first),
        &block,
        &auth.signed_headers,
        payload,
    );
    let sts = string_to_sign(&auth.amz_date, &auth.scope, &cr);
    Err(VerifyError::SignatureMismatch {
        canonical_request: redact_canonical(&cr),
        string_to_sign: sts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Credentials;
    use crate::sign::{
        presign_query, sign_headers, SessionTokenMode, SigningParams, SigningSettings,
    };
    use crate::time::parse_amz_date;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const T: &str = "20150830T123600Z";

    fn t() -> SystemTime {
        parse_amz_date(T).unwrap()
    }

    fn vanilla_auth(extra: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31{extra}"
        )
    }

    fn parse_with(headers: &[(&str, &str)], query: &str) -> Result<AuthInfo, VerifyError> {
        parse_authorization(&SignableRequest::new("GET", "/", query, headers, b""))
    }

    #[test]
    fn header_form_round_trip_and_component_spacing() {
        for auth in [
            vanilla_auth(""),
            vanilla_auth(", Extra=1").replace(", ", ","),
            vanilla_auth("").replacen(' ', "  ", 1),
        ] {
            let h = [
                ("Host", "example.amazonaws.com"),
                ("X-Amz-Date", T),
                ("Authorization", &auth),
            ];
            let info = parse_with(&h, "").unwrap();
            assert_eq!(info.form, AuthForm::Header);
            assert_eq!(info.access_key_id, "AKIDEXAMPLE");
            assert_eq!(
                info.scope.to_string(),
                "20150830/us-east-1/service/aws4_request"
            );
            assert_eq!(
                info.signed_header_names().collect::<Vec<_>>(),
                ["host", "x-amz-date"]
            );
            assert_eq!(info.amz_date, T);
            assert_eq!(info.expires_in, None);
            let req = SignableRequest::new("GET", "/", "", &h, b"");
            verify(&req, &info, SECRET, &VerifySettings::default()).unwrap();
        }
    }

    #[test]
    fn date_header_is_the_fallback() {
        let auth = vanilla_auth("").replace("host;x-amz-date", "date;host");
        let h = [
            ("Host", "example.amazonaws.com"),
            ("Date", "Sun, 30 Aug 2015 12:36:00 GMT"),
            ("Authorization", auth.as_str()),
        ];
        let info = parse_with(&h, "").unwrap();
        assert_eq!(info.amz_date, T);
        assert_eq!(info.timestamp, t());
        let h2 = [
            ("Host", "example.amazonaws.com"),
            ("Date", "yesterday"),
            ("Authorization", auth.as_str()),
        ];
        assert_eq!(
            parse_with(&h2, ""),
            Err(VerifyError::InvalidDate("yesterday".into()))
        );
    }

    #[test]
    fn missing_both_and_unsupported() {
        let h = [("Host", "h")];
        assert_eq!(
            parse_with(&h, "a=1"),
            Err(VerifyError::MissingAuthentication)
        );
        let auth = vanilla_auth("");
        let h = [
            ("Host", "h"),
            ("X-Amz-Date", T),
            ("Authorization", auth.as_str()),
        ];
        assert_eq!(
            parse_with(&h, "X-Amz-Signature=00"),
            Err(VerifyError::BothForms)
        );
        for (value, alg) in [
            (
                "AWS4-ECDSA-P256-SHA256 Credential=a/b/c/d/aws4_request",
                "AWS4-ECDSA-P256-SHA256",
            ),
            ("AWS AKIDEXAMPLE:c2lnbmF0dXJl", "AWS"),
            ("Bearer abc", "Bearer"),
        ] {
            let h = [("Host", "h"), ("X-Amz-Date", T), ("Authorization", value)];
            assert_eq!(
                parse_with(&h, ""),
                Err(VerifyError::UnsupportedAlgorithm(alg.into()))
            );
        }
        let h = [
            ("Host", "h"),
            ("Authorization", "a"),
            ("authorization", "b"),
        ];
        assert!(matches!(
            parse_with(&h, ""),
            Err(VerifyError::MalformedAuthorization(_))
        ));
    }

    #[test]
    fn incomplete_lists_every_missing_part() {
        let h = [
            ("Host", "h"),
            (
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20150830/r/s/aws4_request",
            ),
        ];
        let e = parse_with(&h, "").unwrap_err();
        assert_eq!(
            e,
            VerifyError::IncompleteSignature {
                form: AuthForm::Header,
                missing: vec![
                    IncompletePart::SignedHeaders,
                    IncompletePart::Signature,
                    IncompletePart::Date
                ],
            }
        );
        assert_eq!(
            e.to_string(),
            "Authorization header requires 'SignedHeaders' parameter. Authorization header requires 'Signature' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
        );
        let h = [("Host", "h")];
        let e = parse_with(
            &h,
            "X-Amz-Signature=00&X-Amz-Credential=a%2F20150830%2Fr%2Fs%2Faws4_request",
        )
        .unwrap_err();
        assert_eq!(
            e,
            VerifyError::IncompleteSignature {
                form: AuthForm::Query,
                missing: vec![
                    IncompletePart::Algorithm,
                    IncompletePart::SignedHeaders,
                    IncompletePart::Date,
                    IncompletePart::Expires
                ],
            }
        );
        assert!(e
            .to_string()
            .starts_with("AWS query-string parameters must include 'X-Amz-Algorithm'."));
        assert!(e
            .to_string()
            .ends_with("Re-examine the query-string parameters."));
        let h = [
            ("Host", "h"),
            ("X-Amz-Date", T),
            ("Authorization", "AWS4-HMAC-SHA256 Credential"),
        ];
        assert!(matches!(
            parse_with(&h, ""),
            Err(VerifyError::MalformedAuthorization(_))
        ));
    }

    #[test]
    fn scope_checks() {
        let cases = [
            (
                "AKID/20150830/us-east-1/service",
                ScopeProblem::WrongParts("AKID/20150830/us-east-1/service".into()),
            ),
            (
                "AKID/20150830/us-east-1/service/aws4_request/x",
                ScopeProblem::WrongParts("AKID/20150830/us-east-1/service/aws4_request/x".into()),
            ),
            (
                "AKID/20150830//service/aws4_request",
                ScopeProblem::EmptyPart("AKID/20150830//service/aws4_request".into()),
            ),
            (
                "AKID/20150830/us-east-1/service/aws5_request",
                ScopeProblem::BadTerminator("aws5_request".into()),
            ),
        ];
        for (cred, problem) in cases {
            let auth = vanilla_auth("")
                .replace("AKIDEXAMPLE/20150830/us-east-1/service/aws4_request", cred);
            let h = [
                ("Host", "h"),
                ("X-Amz-Date", T),
                ("Authorization", auth.as_str()),
            ];
            assert_eq!(
                parse_with(&h, ""),
                Err(VerifyError::MalformedScope(problem)),
                "{cred}"
            );
        }
        let h = [
            ("Host", "h"),
            ("X-Amz-Date", "20150831T000000Z"),
            ("Authorization", &vanilla_auth("")),
        ];
        let e = parse_with(&h, "").unwrap_err();
        assert_eq!(
            e.to_string(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150830' != '20150831', from '20150831T000000Z'."
        );
        let auth = vanilla_auth("").replace("host;x-amz-date", "x-amz-date");
        let h = [
            ("Host", "h"),
            ("X-Amz-Date", T),
            ("Authorization", auth.as_str()),
        ];
        assert_eq!(parse_with(&h, ""), Err(VerifyError::HostNotSigned));
    }

    fn presigned(
        settings: SigningSettings,
        token: Option<&str>,
    ) -> (Vec<(&'static str, &'static str)>, String) {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, token.map(str::to_owned));
        let h = vec![("Host", "example.amazonaws.com")];
        let p = SigningParams {
            credentials: &creds,
            region: "us-east-1",
            service: "sts",
            time: t(),
            settings,
        };
        let out = presign_query(
            &SignableRequest::new(
                "GET",
                "/",
                "Action=GetCallerIdentity&Version=2011-06-15",
                &h,
                b"",
            ),
            &p,
        )
        .unwrap();
        (h, out.query)
    }

    #[test]
    fn query_form_parses_and_verifies_with_signed_or_unsigned_token() {
        for mode in [SessionTokenMode::Signed, SessionTokenMode::AfterSigning] {
            let settings = SigningSettings {
                session_token_mode: mode,
                ..Default::default()
            };
            let (h, q) = presigned(settings, Some("TOKEN/+="));
            let req = SignableRequest::new("GET", "/", &q, &h, b"");
            let info = parse_authorization(&req).unwrap();
            assert_eq!(info.form, AuthForm::Query);
            assert_eq!(info.expires_in, Some(3600));
            assert_eq!(info.security_token.as_deref(), Some("TOKEN/+="));
            assert_eq!(info.scope.service, "sts");
            verify(&req, &info, SECRET, &VerifySettings::default()).unwrap();
            let strict = VerifySettings {
                accept_unsigned_query_token: false,
                ..Default::default()
            };
            let r = verify(&req, &info, SECRET, &strict);
            assert_eq!(r.is_ok(), mode == SessionTokenMode::Signed, "{mode:?}");
            assert!(!format!("{info:?}").contains("TOKEN/+="));
        }
    }

    #[test]
    fn query_form_rejects_bad_expires_and_algorithm_and_duplicates() {
        let (h, q) = presigned(SigningSettings::default(), None);
        for (from, to, want) in [
            (
                "X-Amz-Expires=3600",
                "X-Amz-Expires=0",
                VerifyError::InvalidExpires("0".into()),
            ),
            (
                "X-Amz-Expires=3600",
                "X-Amz-Expires=604801",
                VerifyError::InvalidExpires("604801".into()),
            ),
            (
                "X-Amz-Expires=3600",
                "X-Amz-Expires=-1",
                VerifyError::InvalidExpires("-1".into()),
            ),
            (
                "X-Amz-Algorithm=AWS4-HMAC-SHA256",
                "X-Amz-Algorithm=AWS4-HMAC-SHA1",
                VerifyError::UnsupportedAlgorithm("AWS4-HMAC-SHA1".into()),
            ),
        ] {
            let q2 = q.replace(from, to);
            assert_eq!(parse_with(&h, &q2), Err(want));
        }
        let q2 = format!("{q}&X-Amz-Date={T}");
        assert!(matches!(
            parse_with(&h, &q2),
            Err(VerifyError::MalformedAuthorization(_))
        ));
    }

    #[test]
    fn verify_checks_headers_payload_and_signature() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, Some("TOK".into()));
        let base = [
            ("Host", "example.amazonaws.com"),
            (
                "Content-Type",
                "application/x-www-form-urlencoded; charset=utf-8",
            ),
        ];
        let body = b"Action=GetCallerIdentity&Version=2011-06-15";
        let settings = SigningSettings {
            payload_checksum: true,
            ..Default::default()
        };
        let p = SigningParams {
            credentials: &creds,
            region: "us-east-1",
            service: "sts",
            time: t(),
            settings,
        };
        let signed = sign_headers(&SignableRequest::new("POST", "/", "", &base, body), &p).unwrap();
        let mut h: Vec<(&str, &str)> = base.to_vec();
        h.extend(signed.headers.iter().map(|(n, v)| (*n, v.as_str())));
        let req = SignableRequest::new("POST", "/", "", &h, body);
        let info = parse_authorization(&req).unwrap();
        let vs = VerifySettings::default();
        verify(&req, &info, SECRET, &vs).unwrap();

        // Missing signed header.
        let short: Vec<_> = h
            .iter()
            .filter(|(n, _)| *n != "Content-Type")
            .copied()
            .collect();
        let r = SignableRequest::new("POST", "/", "", &short, body);
        assert_eq!(
            verify(&r, &info, SECRET, &vs),
            Err(VerifyError::SignedHeaderMissing("content-type".into()))
        );
        // Body that no longer matches x-amz-content-sha256.
        let r = SignableRequest::new(
            "POST",
            "/",
            "",
            &h,
            b"Action=GetCallerIdentity&Version=2011-06-16",
        );
        assert_eq!(
            verify(&r, &info, SECRET, &vs),
            Err(VerifyError::ContentSha256Mismatch)
        );
        // Wrong secret: mismatch carrying redacted debug data.
        match verify(&req, &info, "wrong", &vs) {
            Err(VerifyError::SignatureMismatch {
                canonical_request,
                string_to_sign,
            }) => {
                assert!(canonical_request.starts_with("POST\n/\n\n"));
                assert!(canonical_request.contains("x-amz-security-token:** redacted **"));
                assert!(!canonical_request.contains("TOK\n"));
                assert!(string_to_sign.starts_with("AWS4-HMAC-SHA256\n20150830T123600Z\n"));
            }
            other => panic!("{other:?}"),
        }
        // The cached key gives the same answer.
        let cache = crate::SigningKeyCache::new(4);
        verify_with_key(&req, &info, &cache.key_for(SECRET, &info.scope), &vs).unwrap();
    }

    #[test]
    fn unsigned_payload_is_opt_in() {
        let creds = Credentials::new("AKIDEXAMPLE", SECRET, None);
        let base = [("Host", "h"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD")];
        let p = SigningParams {
            credentials: &creds,
            region: "r",
            service: "s3",
            time: t(),
            settings: SigningSettings::default(),
        };
        let signed =
            sign_headers(&SignableRequest::new("PUT", "/k", "", &base, b"data"), &p).unwrap();
        let mut h: Vec<(&str, &str)> = base.to_vec();
        h.extend(signed.headers.iter().map(|(n, v)| (*n, v.as_str())));
        let req = SignableRequest::new("PUT", "/k", "", &h, b"data");
        let info = parse_authorization(&req).unwrap();
        assert_eq!(
            verify(&req, &info, SECRET, &VerifySettings::default()),
            Err(VerifyError::ContentSha256Mismatch)
        );
        let s3ish = VerifySettings {
            allow_unsigned_payload: true,
            ..Default::default()
        };
        verify(&req, &info, SECRET, &s3ish).unwrap();
    }

    #[test]
    fn time_window_checks_and_messages() {
        let auth = vanilla_auth("");
        let h = [
            ("Host", "example.amazonaws.com"),
            ("X-Amz-Date", T),
            ("Authorization", auth.as_str()),
        ];
        let info = parse_with(&h, "").unwrap();
        let skew = Duration::from_secs(15 * 60);
        let at = |s: i64| crate::time::from_unix_seconds(crate::time::unix_seconds(t()) + s);
        check_time(&info, at(0), skew).unwrap();
        check_time(&info, at(900), skew).unwrap();
        check_time(&info, at(-900), skew).unwrap();
        let e = check_time(&info, at(901), skew).unwrap_err();
        assert_eq!(e.to_string(), "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)");
        assert_eq!(e.to_string(), signature_expired_message(t(), at(901), skew));
        let e = check_time(&info, at(-901), skew).unwrap_err();
        assert_eq!(e.to_string(), "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)");
        assert_eq!(e.to_string(), not_yet_current_message(t(), at(-901), skew));

        let (h, q) = presigned(
            SigningSettings {
                expires_in: Duration::from_secs(60),
                ..Default::default()
            },
            None,
        );
        let info = parse_with(&h, &q).unwrap();
        let five = Duration::from_secs(300);
        check_time(&info, at(60), five).unwrap();
        check_time(&info, at(-300), five).unwrap();
        assert_eq!(
            check_time(&info, at(61), five),
            Err(VerifyError::PresignedExpired {
                request: T.into(),
                expires_in: 60,
                now: "20150830T123701Z".into()
            })
        );
        assert!(matches!(
            check_time(&info, at(-301), five),
            Err(VerifyError::SignatureNotYetCurrent { .. })
        ));
        // A window too large for SystemTime arithmetic is unbounded, not a panic.
        check_time(&info, at(30), Duration::MAX).unwrap();
        check_time(&info, at(61), Duration::MAX).unwrap_err();
        let auth = vanilla_auth("");
        let h = [
            ("Host", "h"),
            ("X-Amz-Date", T),
            ("Authorization", auth.as_str()),
        ];
        let header_info = parse_with(&h, "").unwrap();
        check_time(&header_info, at(1_000_000_000), Duration::MAX).unwrap();
    }
}
