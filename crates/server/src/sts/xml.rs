//! STS Query-protocol XML: result documents and the `ErrorResponse` shape.

use http::{HeaderValue, StatusCode};

use crate::http::{text, HttpResponse};

const NS: &str = "https://sts.amazonaws.com/doc/2011-06-15/";

/// Escapes text for XML element content.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// Appends `s` to `out`, escaped for XML element content.
pub fn escape_into(out: &mut String, s: &str) {
    // (also used by the EC2 writer)
    if !needs_escape(s.as_bytes()) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
}

/// Whether `bytes` holds a character XML content must escape. Eight bytes are tested per
/// step (a word-at-a-time "has a byte equal to c" test for each of the five characters): a
/// session token is ~600 bytes of base64 that never needs escaping, and a byte-at-a-time
/// search was 3 % of an AssumeRole call's time.
fn needs_escape(bytes: &[u8]) -> bool {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    // Nonzero exactly when some byte of `w` is zero (no false positives: the borrow
    // into a byte only comes from a zero byte below it, which is itself found).
    let zero_byte = |w: u64| w.wrapping_sub(LO) & !w & HI;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let w = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let hit = zero_byte(w ^ (LO * u64::from(b'&')))
            | zero_byte(w ^ (LO * u64::from(b'<')))
            | zero_byte(w ^ (LO * u64::from(b'>')))
            | zero_byte(w ^ (LO * u64::from(b'"')))
            | zero_byte(w ^ (LO * u64::from(b'\'')));
        if hit != 0 {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| matches!(b, b'&' | b'<' | b'>' | b'"' | b'\''))
}

/// A small XML writer for nested elements with text leaves.
#[derive(Default)]
pub struct Xml {
    out: String,
    depth: usize,
}

impl Xml {
    /// A writer whose document starts with `prefix` at nesting `depth`.
    pub fn starting(prefix: String, depth: usize) -> Xml {
        Xml { out: prefix, depth }
    }

    /// The document so far.
    pub fn into_string(self) -> String {
        self.out
    }

    /// Appends raw text (already XML).
    pub fn raw(&mut self, text: &str) -> &mut Xml {
        self.out.push_str(text);
        self
    }

    /// Opens `<name>`.
    pub fn open(&mut self, name: &str) -> &mut Xml {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push_str(">\n");
        self.depth += 1;
        self
    }

    /// Closes `</name>`.
    pub fn close(&mut self, name: &str) -> &mut Xml {
        self.depth -= 1;
        self.indent();
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
        self
    }

    /// `<name>text</name>`.
    pub fn leaf(&mut self, name: &str, value: &str) -> &mut Xml {
        self.indent();
        self.out.push('<');
        self.out.push_str(name);
        self.out.push('>');
        escape_into(&mut self.out, value);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push_str(">\n");
        self
    }

    /// A leaf only when the value is present.
    pub fn opt(&mut self, name: &str, value: Option<&str>) -> &mut Xml {
        if let Some(v) = value {
            self.leaf(name, v);
        }
        self
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }
}

fn with_request_id(mut r: HttpResponse, request_id: &str) -> HttpResponse {
    // A constant name: inserting a `&'static str` name copies it into the map on every call.
    const REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-amzn-requestid");
    if let Ok(v) = HeaderValue::from_str(request_id) {
        r.headers_mut().insert(REQUEST_ID, v);
    }
    r
}

/// `<ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…` with `body` (already
/// indented two levels) as the result members.
pub fn success(action: &str, request_id: &str, result: impl FnOnce(&mut Xml)) -> HttpResponse {
    success_in(NS, action, request_id, Some(result))
}

/// [`success`] for any Query-protocol service namespace; `None` writes no `…Result` element
/// (actions without output).
pub fn success_in(
    ns: &str,
    action: &str,
    request_id: &str,
    result: Option<impl FnOnce(&mut Xml)>,
) -> HttpResponse {
    // One allocation for a whole AssumeRole answer (~1.3 kB) in the common case.
    let mut out = String::with_capacity(2048);
    out.push('<');
    out.push_str(action);
    out.push_str("Response xmlns=\"");
    out.push_str(ns);
    out.push_str("\">\n");
    let mut x = Xml { out, depth: 1 };
    if let Some(result) = result {
        let result_tag = [action, "Result"].concat();
        x.open(&result_tag);
        result(&mut x);
        x.close(&result_tag);
    }
    x.open("ResponseMetadata")
        .leaf("RequestId", request_id)
        .close("ResponseMetadata");
    x.out.push_str("</");
    x.out.push_str(action);
    x.out.push_str("Response>\n");
    with_request_id(text(StatusCode::OK, "text/xml", x.out), request_id)
}

/// An STS error: HTTP status, code and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StsError {
    /// HTTP status.
    pub status: StatusCode,
    /// Error code (`AccessDenied`, `ValidationError`, …).
    pub code: std::borrow::Cow<'static, str>,
    /// Message.
    pub message: String,
}

impl StsError {
    /// An error with any status.
    pub fn new(
        status: StatusCode,
        code: impl Into<std::borrow::Cow<'static, str>>,
        message: impl Into<String>,
    ) -> StsError {
        StsError {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// 403 `AccessDenied`.
    pub fn access_denied(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::FORBIDDEN, "AccessDenied", message)
    }

    /// 400 `ValidationError`.
    pub fn validation(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::BAD_REQUEST, "ValidationError", message)
    }

    /// 403 `InvalidClientTokenId`.
    pub fn invalid_client_token() -> StsError {
        StsError::new(
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    }

    /// 403 `SignatureDoesNotMatch`.
    pub fn signature(message: impl Into<String>) -> StsError {
        StsError::new(StatusCode::FORBIDDEN, "SignatureDoesNotMatch", message)
    }

    /// Renders the `ErrorResponse` document.
    pub fn response(&self, request_id: &str) -> HttpResponse {
        self.response_in(NS, request_id)
    }

    /// Renders the EC2 protocol's error document (`<Response><Errors><Error>…`).
    pub fn ec2_response(&self, request_id: &str) -> HttpResponse {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{}</Code><Message>{}</Message></Error></Errors><RequestID>{}</RequestID></Response>",
            escape(&self.code),
            escape(&self.message),
            escape(request_id)
        );
        with_request_id(
            text(self.status, "text/xml;charset=UTF-8", body),
            request_id,
        )
    }

    /// Renders the `ErrorResponse` document in the namespace `ns`.
    pub fn response_in(&self, ns: &str, request_id: &str) -> HttpResponse {
        let kind = if self.status.is_server_error() {
            "Receiver"
        } else {
            "Sender"
        };
        let body = format!(
            "<ErrorResponse xmlns=\"{ns}\">\n  <Error>\n    <Type>{kind}</Type>\n    <Code>{}</Code>\n    <Message>{}</Message>\n  </Error>\n  <RequestId>{}</RequestId>\n</ErrorResponse>\n",
            self.code,
            escape(&self.message),
            escape(request_id)
        );
        with_request_id(text(self.status, "text/xml", body), request_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_finds_every_special_character_anywhere() {
        assert_eq!(escape("plain/+=text"), "plain/+=text");
        assert_eq!(escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
        assert_eq!(escape("é<ü"), "é&lt;ü");
        // At every position of texts longer than one 64-byte block.
        for (c, escaped) in [
            ('&', "&amp;"),
            ('<', "&lt;"),
            ('>', "&gt;"),
            ('"', "&quot;"),
            ('\'', "&apos;"),
        ] {
            for at in 0..130 {
                let mut text = "A".repeat(130);
                text.replace_range(at..at + 1, &c.to_string());
                let want = format!("{}{escaped}{}", &text[..at], &text[at + 1..]);
                assert_eq!(escape(&text), want, "{c} at {at}");
            }
        }
    }

    #[test]
    fn the_word_at_a_time_check_has_no_false_alarms() {
        // Every other character, alone and next to its neighbours in the byte order, at
        // every alignment: nothing to escape (a false alarm would only cost time, but
        // the check must agree with the byte-by-byte definition).
        let special = |c: char| matches!(c, '&' | '<' | '>' | '"' | '\'');
        for c in (0u32..0x250)
            .filter_map(char::from_u32)
            .filter(|c| !special(*c))
        {
            for lead in 0..8 {
                let text = format!("{}{c}{c}{c}{c}{c}{c}{c}{c}", "a".repeat(lead));
                assert!(!needs_escape(text.as_bytes()), "{c:?} after {lead}");
            }
        }
        for lead in 0..16 {
            for c in ['&', '<', '>', '"', '\''] {
                let text = format!("{}{c}{}", "\u{0}".repeat(lead), "\u{1}".repeat(9));
                assert!(needs_escape(text.as_bytes()), "{c:?} after {lead}");
            }
        }
    }
}
