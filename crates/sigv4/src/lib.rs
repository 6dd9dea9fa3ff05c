//! AWS Signature Version 4: canonical request, string to sign, signing key, header and
//! presigned-query signatures, and verification of signed requests.
//!
//! The crate is pure: it does no I/O and never reads the clock. Callers pass the signing
//! time (`SystemTime`) and, for verification, the current time and the allowed skew.
//!
//! * Signing (client side): build a [`SignableRequest`] and call [`sign_headers`] (the
//!   `Authorization` header form) or [`presign_query`] (the presigned-URL form).
//! * Verifying (server side): [`parse_authorization`] finds and checks the authentication
//!   data, [`check_time`] applies the clock-skew / expiry policy, and [`verify`] (or
//!   [`verify_with_key`] with a key from a [`SigningKeyCache`]) recomputes the signature
//!   and compares it in constant time.
//!
//! # Paths
//!
//! [`SignableRequest::path`] is the path *as sent on the wire* (already percent-encoded).
//! With [`SigningSettings::double_encode_path`] (every service but S3) the canonical URI is
//! that wire path percent-encoded once more, so a wire `%3A` becomes `%253A`; without it
//! the wire path is used as it is, and only bytes that may not appear raw in a path (space,
//! control characters, non-ASCII, …) are encoded. Either way a raw space or raw UTF-8 byte
//! handed in ends up encoded exactly once.

mod canonical;
mod encode;
mod key;
mod request;
mod sign;
mod time;
mod verify;

pub use canonical::{
    canonical_header_value, canonical_headers, canonical_query, canonical_request, canonical_uri,
    sha256_hex, string_to_sign, Scope, ALGORITHM, EMPTY_SHA256, TERMINATOR,
};
pub use key::{signature, signing_key, Credentials, SigningKey, SigningKeyCache};
pub use request::SignableRequest;
pub use sign::{
    presign_query, sign_headers, PresignedQuery, SessionTokenMode, SignedHeaders, SigningError,
    SigningParams, SigningSettings, MAX_EXPIRES_SECS,
};
pub use time::{format_amz_date, parse_amz_date, parse_http_date, DateError};
pub use verify::{
    check_time, not_yet_current_message, parse_authorization, signature_expired_message, verify,
    verify_with_key, AuthForm, AuthInfo, IncompletePart, ScopeProblem, VerifyError, VerifySettings,
};
