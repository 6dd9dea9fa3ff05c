//! Helpers shared by the integration tests: locating the conformance vectors and parsing
//! raw HTTP request text.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;

/// The conformance directory: `$AWSID_CONFORMANCE_DIR` when set (an override), else the
/// repository's copy in `tests/conformance/`. Panics (never skips) when it does not exist.
pub(crate) fn conformance_dir() -> PathBuf {
    let dir = match std::env::var_os("AWSID_CONFORMANCE_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/conformance"),
    };
    assert!(
        dir.is_dir(),
        "conformance vectors not found at {} (AWSID_CONFORMANCE_DIR overrides the repository's \
         tests/conformance; these tests never skip silently)",
        dir.display()
    );
    dir
}

/// A request parsed from the raw text of a vector file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawRequest {
    pub method: String,
    pub path: String,
    pub query: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawRequest {
    pub(crate) fn header_pairs(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect()
    }

    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `METHOD SP target [SP HTTP/x.y]`, header lines (`name:value`, continuation lines
/// starting with SP/HT kept with their line break as obs-fold), a blank line and the body.
/// The target may itself contain spaces (`GET /example space/ HTTP/1.1`).
pub(crate) fn parse_request(text: &str) -> Result<RawRequest, String> {
    let text = text.replace("\r\n", "\n");
    let (head, body) = match text.find("\n\n") {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => (text.trim_end_matches('\n'), ""),
    };
    let mut lines = head.split('\n');
    let request_line = lines.next().ok_or("empty request")?;
    let (method, rest) = request_line
        .split_once(' ')
        .ok_or_else(|| format!("bad request line {request_line:?}"))?;
    // The version is optional: double-url-encode's signed request omits it.
    let target = match rest.rsplit_once(' ') {
        Some((t, version)) if version.starts_with("HTTP/") => t,
        _ => rest,
    };
    if method.is_empty() || !target.starts_with('/') {
        return Err(format!("bad request line {request_line:?}"));
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.starts_with([' ', '\t']) {
            let last = headers
                .last_mut()
                .ok_or_else(|| format!("continuation line before any header: {line:?}"))?;
            last.1.push('\n');
            last.1.push_str(line);
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| format!("header line without ':': {line:?}"))?;
        if name.is_empty() || name.contains([' ', '\t']) {
            return Err(format!("bad header name in {line:?}"));
        }
        headers.push((name.to_owned(), value.to_owned()));
    }
    Ok(RawRequest {
        method: method.to_owned(),
        path: path.to_owned(),
        query: query.to_owned(),
        headers,
        body: body.as_bytes().to_vec(),
    })
}
