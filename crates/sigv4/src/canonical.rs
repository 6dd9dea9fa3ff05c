//! Canonical request, string to sign and credential scope.

use crate::encode::{self, PATH_DOUBLE, PATH_SINGLE, UNRESERVED};
use crate::key::SigningKey;
use hmac::Mac;
use sha2::{Digest, Sha256};
use std::fmt;

/// The only algorithm this crate signs and verifies.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// The fixed last element of a credential scope.
pub const TERMINATOR: &str = "aws4_request";
/// Lower-hex SHA-256 of the empty string (the payload hash of an empty body).
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lower-hex SHA-256 of `data`.
pub fn sha256_hex(data: &[u8]) -> String {
    encode::hex_lower(&Sha256::digest(data))
}

/// A credential scope `<date>/<region>/<service>/aws4_request`; `Display` writes that form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Scope {
    /// `YYYYMMDD` (UTC) of the signing time.
    pub date: String,
    /// Signing region, e.g. `us-east-1`.
    pub region: String,
    /// Signing service name, e.g. `sts`.
    pub service: String,
}

impl Scope {
    /// Builds the scope for a signing time given as `YYYYMMDDTHHMMSSZ` (its first 8 bytes).
    pub fn new(amz_date: &str, region: &str, service: &str) -> Scope {
        Scope {
            date: amz_date.get(..8).unwrap_or(amz_date).to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

/// Canonical URI of a wire `path`: optional dot-segment removal and slash collapsing, then
/// one more encoding pass (`double_encode`) or only encoding of bytes not allowed raw.
pub fn canonical_uri(path: &str, normalize: bool, double_encode: bool) -> String {
    let normalized;
    let path = if normalize {
        normalized = normalize_path(path);
        normalized.as_str()
    } else {
        path
    };
    if path.is_empty() {
        return "/".to_owned();
    }
    let set = if double_encode {
        PATH_DOUBLE
    } else {
        PATH_SINGLE
    };
    encode::encode(path.as_bytes(), set)
}

/// Removes `.` and `..` segments and empty segments (collapsing `//`), keeping a leading
/// and a trailing slash; this is the rule botocore applies before signing.
fn normalize_path(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len());
    if path.starts_with('/') {
        s.push('/');
    }
    s.push_str(&out.join("/"));
    if path.ends_with('/') && !out.is_empty() {
        s.push('/');
    }
    s
}

/// Canonical query string of a raw `query`: each `name[=value]` decoded and re-encoded with
/// the unreserved set, parameters whose decoded name is in `exclude` dropped, sorted by
/// encoded name then value, joined with `&`. Empty pieces (`a=1&&b=2`) are ignored.
pub fn canonical_query(query: &str, exclude: &[&str]) -> String {
    if query.is_empty() {
        return String::new();
    }
    let mut pairs: Vec<(String, String)> = Vec::new();
    for piece in query.split('&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
        let name = encode::decode(name);
        if exclude.iter().any(|x| x.as_bytes() == &*name) {
            continue;
        }
        pairs.push((
            encode::encode(&name, UNRESERVED),
            encode::encode(&encode::decode(value), UNRESERVED),
        ));
    }
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// Appends a header value in canonical form: trimmed, every run of whitespace (including
/// obs-fold line breaks) replaced by one space.
pub fn canonical_header_value(out: &mut String, value: &str) {
    let mut first = true;
    for word in value.split(is_header_ws).filter(|w| !w.is_empty()) {
        if !first {
            out.push(' ');
        }
        out.push_str(word);
        first = false;
    }
}

fn is_header_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n' | '\x0b' | '\x0c')
}

/// Canonical header block for `signed` names (each `name:value\n`, in the given order),
/// joining repeated headers with `,` in received order. Returns the first signed name that
/// has no header in `headers` as the error.
pub fn canonical_headers<'n>(
    headers: &[(&str, &str)],
    signed: impl IntoIterator<Item = &'n str>,
) -> Result<String, &'n str> {
    let mut out = String::with_capacity(256);
    write_canonical_headers(&mut out, headers, signed)?;
    Ok(out)
}

pub(crate) fn write_canonical_headers<'n>(
    out: &mut String,
    headers: &[(&str, &str)],
    signed: impl IntoIterator<Item = &'n str>,
) -> Result<(), &'n str> {
    for name in signed {
        out.push_str(name);
        out.push(':');
        let mut found = false;
        for (n, v) in headers {
            if n.eq_ignore_ascii_case(name) {
                if found {
                    out.push(',');
                }
                canonical_header_value(out, v);
                found = true;
            }
        }
        if !found {
            return Err(name);
        }
        out.push('\n');
    }
    Ok(())
}

/// Assembles the canonical request text from its parts (`canonical_headers` is the block
/// of `name:value\n` lines; `signed_headers` the `;`-joined names).
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> String {
    let mut s = String::with_capacity(
        method.len()
            + canonical_uri.len()
            + canonical_query.len()
            + canonical_headers.len()
            + signed_headers.len()
            + payload_hash.len()
            + 6,
    );
    for (i, part) in [
        method,
        canonical_uri,
        canonical_query,
        canonical_headers,
        signed_headers,
        payload_hash,
    ]
    .iter()
    .enumerate()
    {
        if i > 0 {
            s.push('\n');
        }
        if i == 0 {
            s.extend(part.chars().map(|c| c.to_ascii_uppercase()));
        } else {
            s.push_str(part);
        }
    }
    s
}

/// SHA-256 of the canonical request [`canonical_request`] would assemble from these parts,
/// hashed as the parts are fed in instead of built first.
pub(crate) fn canonical_request_digest(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
    signed_headers: &str,
    payload_hash: &str,
) -> [u8; 32] {
    let mut h = Sha256::new();
    if method.bytes().any(|b| b.is_ascii_lowercase()) {
        h.update(method.to_ascii_uppercase());
    } else {
        h.update(method);
    }
    for part in [
        canonical_uri,
        canonical_query,
        canonical_headers,
        signed_headers,
        payload_hash,
    ] {
        h.update(b"\n");
        h.update(part);
    }
    h.finalize().into()
}

/// Lower-hex HMAC of the string to sign [`string_to_sign`] would build for a canonical
/// request whose SHA-256 is `cr_digest`, fed to the pre-keyed HMAC piece by piece.
pub(crate) fn signature_of_digest(
    key: &SigningKey,
    amz_date: &str,
    scope: &Scope,
    cr_digest: &[u8; 32],
) -> [u8; 64] {
    let mut mac = key.mac();
    for part in [
        ALGORITHM.as_bytes(),
        b"\n",
        amz_date.as_bytes(),
        b"\n",
        scope.date.as_bytes(),
        b"/",
        scope.region.as_bytes(),
        b"/",
        scope.service.as_bytes(),
        b"/",
        TERMINATOR.as_bytes(),
        b"\n",
        &encode::hex32(cr_digest),
    ] {
        mac.update(part);
    }
    encode::hex32(&mac.finalize().into_bytes())
}

/// The string to sign: algorithm, `amz_date`, scope and the hex SHA-256 of the canonical
/// request, separated by `\n`.
pub fn string_to_sign(amz_date: &str, scope: &Scope, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{amz_date}\n{scope}\n{}",
        sha256_hex(canonical_request.as_bytes())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization_matches_the_vectors() {
        for (raw, want) in [
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./", "/"),
            ("//", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/../c/./d/", "/a/c/d/"),
            ("/..", "/"),
            ("", "/"),
        ] {
            assert_eq!(canonical_uri(raw, true, true), want, "{raw}");
        }
        assert_eq!(canonical_uri("//example//", false, true), "//example//");
        assert_eq!(canonical_uri("", false, false), "/");
    }

    #[test]
    fn double_and_single_encoding() {
        let wire = "/2015-03-31/functions/arn%3Aaws%3Alambda/invocations";
        assert_eq!(
            canonical_uri(wire, true, true),
            "/2015-03-31/functions/arn%253Aaws%253Alambda/invocations"
        );
        assert_eq!(canonical_uri(wire, true, false), wire);
        assert_eq!(
            canonical_uri("/test/@connections/x%3D", true, true),
            "/test/%40connections/x%253D"
        );
        assert_eq!(
            canonical_uri("/example space/", false, true),
            "/example%20space/"
        );
        assert_eq!(
            canonical_uri("/example space/", false, false),
            "/example%20space/"
        );
    }

    #[test]
    fn query_is_decoded_reencoded_and_sorted() {
        assert_eq!(
            canonical_query("Param-3=Value3&Param=Value2&%E1%88%B4=Value1", &[]),
            "%E1%88%B4=Value1&Param=Value2&Param-3=Value3"
        );
        assert_eq!(canonical_query("b=2&a=2&a=1&c", &[]), "a=1&a=2&b=2&c=");
        // Sorting is by name first: "a" < "a-b" although "a=" > "a-b=".
        assert_eq!(canonical_query("a-b=1&a=2", &[]), "a=2&a-b=1");
        assert_eq!(canonical_query("x=a%2fb+c%20d&&", &[]), "x=a%2Fb%2Bc%20d");
        assert_eq!(canonical_query("ሴ=bar", &[]), "%E1%88%B4=bar");
        assert_eq!(
            canonical_query(
                "X-Amz-Signature=abc&a=1&X-Amz-Signatur%65=x",
                &["X-Amz-Signature"]
            ),
            "a=1"
        );
        assert_eq!(canonical_query("", &[]), "");
    }

    #[test]
    fn header_values_are_trimmed_and_folded() {
        let mut s = String::new();
        canonical_header_value(&mut s, "  \"a   b \t c\"  ");
        assert_eq!(s, "\"a b c\"");
        s.clear();
        canonical_header_value(&mut s, "value1\r\n  value2\n     value3");
        assert_eq!(s, "value1 value2 value3");
    }

    #[test]
    fn duplicate_headers_join_in_order_and_missing_names_are_reported() {
        let h = [
            ("Host", "example.com:8080"),
            ("My-Header1", "value4"),
            ("my-header1", " value1 "),
            ("MY-HEADER1", "value3"),
        ];
        assert_eq!(
            canonical_headers(&h, ["host", "my-header1"]).unwrap(),
            "host:example.com:8080\nmy-header1:value4,value1,value3\n"
        );
        assert_eq!(
            canonical_headers(&h, ["host", "x-amz-date"]),
            Err("x-amz-date")
        );
    }

    #[test]
    fn assembles_request_and_string_to_sign() {
        let cr = canonical_request(
            "get",
            "/",
            "",
            "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n",
            "host;x-amz-date",
            EMPTY_SHA256,
        );
        assert_eq!(
            cr,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\
             e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        let scope = Scope::new("20150830T123600Z", "us-east-1", "service");
        assert_eq!(scope.to_string(), "20150830/us-east-1/service/aws4_request");
        // get-vanilla's string to sign.
        assert_eq!(
            string_to_sign("20150830T123600Z", &scope, &cr),
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\
             bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63"
        );
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
    }

    #[test]
    fn incremental_digest_and_signature_match_the_built_strings() {
        let key = crate::key::signing_key("secret", "20150830", "us-east-1", "service");
        let scope = Scope::new("20150830T123600Z", "us-east-1", "service");
        for (method, query) in [("get", ""), ("POST", "a=1&b=2"), ("gEt\u{e9}", "x=")] {
            let parts = (
                method,
                "/p",
                query,
                "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n",
                "host;x-amz-date",
                EMPTY_SHA256,
            );
            let cr = canonical_request(parts.0, parts.1, parts.2, parts.3, parts.4, parts.5);
            let digest =
                canonical_request_digest(parts.0, parts.1, parts.2, parts.3, parts.4, parts.5);
            assert_eq!(
                encode::hex32(&digest).as_slice(),
                sha256_hex(cr.as_bytes()).as_bytes()
            );
            let sts = string_to_sign("20150830T123600Z", &scope, &cr);
            assert_eq!(
                signature_of_digest(&key, "20150830T123600Z", &scope, &digest).as_slice(),
                crate::key::signature(&key, &sts).as_bytes()
            );
        }
    }
}
