//! The request view that signing and verification work on.

use crate::sign::{redact_canonical, SECURITY_TOKEN_HEADER};
use std::fmt;

/// A borrowed HTTP request as it appears on the wire: the input to signing and verification.
///
/// * `path` is the raw, percent-encoded path (`/a%20b`), without the query.
/// * `query` is the raw query string without the leading `?` (empty when there is none).
/// * `headers` are the header lines in received order, names in their original case,
///   duplicates allowed; an obs-fold value keeps its line breaks (they are folded when
///   canonicalised).
/// * `body` is the exact payload bytes.
///
/// `Debug` shows the body only as its length and redacts session tokens, since STS bodies
/// can carry web identity tokens or SAML assertions.
#[derive(Clone, Copy)]
pub struct SignableRequest<'a> {
    /// HTTP method (`GET`, `POST`, …); canonicalised in ASCII upper case.
    pub method: &'a str,
    /// Raw path as on the wire (percent-encoded), without `?` and query.
    pub path: &'a str,
    /// Raw query string without the `?`.
    pub query: &'a str,
    /// Header `(name, value)` pairs in received order.
    pub headers: &'a [(&'a str, &'a str)],
    /// Payload bytes.
    pub body: &'a [u8],
}

impl<'a> SignableRequest<'a> {
    /// Builds a request from its parts (see the field docs for the expected forms).
    pub fn new(
        method: &'a str,
        path: &'a str,
        query: &'a str,
        headers: &'a [(&'a str, &'a str)],
        body: &'a [u8],
    ) -> Self {
        SignableRequest {
            method,
            path,
            query,
            headers,
            body,
        }
    }

    /// Builds a request from a request-target (`/path?query`), splitting at the first `?`.
    pub fn from_target(
        method: &'a str,
        target: &'a str,
        headers: &'a [(&'a str, &'a str)],
        body: &'a [u8],
    ) -> Self {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Self::new(method, path, query, headers, body)
    }

    /// Iterates over the values of header `name` (ASCII case-insensitive), in received order.
    pub fn header_values<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }

    /// The first value of header `name` (ASCII case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.header_values(name).next()
    }
}

impl fmt::Debug for SignableRequest<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(n, v)| {
                if n.eq_ignore_ascii_case(SECURITY_TOKEN_HEADER) {
                    (*n, "** redacted **")
                } else {
                    (*n, *v)
                }
            })
            .collect();
        f.debug_struct("SignableRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &redact_canonical(self.query))
            .field("headers", &headers)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_body_and_tokens() {
        let h = [("Host", "h"), ("X-Amz-Security-Token", "SECRETTOKEN")];
        let r = SignableRequest::new(
            "POST",
            "/",
            "a=1&X-Amz-Security-Token=QUERYTOKEN",
            &h,
            b"WebIdentityToken=JWT",
        );
        let d = format!("{r:?}");
        assert!(
            !d.contains("SECRETTOKEN") && !d.contains("QUERYTOKEN") && !d.contains("JWT"),
            "{d}"
        );
        assert!(d.contains("<20 bytes>") && d.contains("a=1"), "{d}");
    }

    #[test]
    fn from_target_splits_at_first_question_mark() {
        let h = [];
        let r = SignableRequest::from_target("GET", "/a/b?x=1&y=?", &h, b"");
        assert_eq!((r.path, r.query), ("/a/b", "x=1&y=?"));
        let r = SignableRequest::from_target("GET", "/a", &h, b"");
        assert_eq!((r.path, r.query), ("/a", ""));
    }

    #[test]
    fn header_lookup_is_case_insensitive_and_ordered() {
        let h = [("Host", "h"), ("X-A", "1"), ("x-a", "2"), ("X-B", "3")];
        let r = SignableRequest::new("GET", "/", "", &h, b"");
        assert_eq!(r.header_values("x-A").collect::<Vec<_>>(), ["1", "2"]);
        assert_eq!(r.header("HOST"), Some("h"));
        assert_eq!(r.header("x-c"), None);
    }
}
