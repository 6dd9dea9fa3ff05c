//! Python `str` semantics the reference relies on: `isspace`, `strip`, `lower`, `splitlines`,
//! universal-newline line splitting and `repr`. Kept in one place so every rule that says
//! "as Python does" uses the same definition.

/// Python's `str.isspace()` for one character: Unicode `White_Space` plus the ASCII
/// information separators `\x1c`..=`\x1f`, which Python also counts as whitespace.
pub(crate) fn is_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

/// ASCII bytes Python counts as whitespace.
fn is_ascii_space(b: u8) -> bool {
    matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0x1c..=0x1f | b' ')
}

/// Python's `str.strip()` (no argument).
pub(crate) fn strip(s: &str) -> &str {
    rstrip(lstrip(s))
}

/// Python's `str.lstrip()` (no argument).
pub(crate) fn lstrip(s: &str) -> &str {
    // Byte-wise over ASCII whitespace; only a non-ASCII character needs the Unicode check.
    let start = s
        .bytes()
        .position(|b| !is_ascii_space(b))
        .unwrap_or(s.len());
    let rest = &s[start..];
    if rest.as_bytes().first().is_some_and(|&b| b >= 0x80) {
        return rest.trim_start_matches(is_space);
    }
    rest
}

/// Python's `str.rstrip()` (no argument).
pub(crate) fn rstrip(s: &str) -> &str {
    let end = s
        .bytes()
        .rposition(|b| !is_ascii_space(b))
        .map_or(0, |i| i + 1);
    let rest = &s[..end];
    if rest.as_bytes().last().is_some_and(|&b| b >= 0x80) {
        return rest.trim_end_matches(is_space);
    }
    rest
}

/// Python's `str.lower()` (full Unicode lower-casing, as Rust's `to_lowercase`).
pub(crate) fn lower(s: &str) -> String {
    lower_cow(s).into_owned()
}

/// [`lower`] without a copy when the text is already lower-case ASCII.
pub(crate) fn lower_cow(s: &str) -> std::borrow::Cow<'_, str> {
    if s.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(s)
    } else {
        std::borrow::Cow::Owned(s.to_lowercase())
    }
}

/// Number of leading whitespace characters (not bytes): the reader's indentation level.
pub(crate) fn indent_chars(s: &str) -> usize {
    let ascii = s.bytes().take_while(|&b| is_ascii_space(b)).count();
    if s.as_bytes().get(ascii).is_some_and(|&b| b >= 0x80) {
        return s.chars().take_while(|&c| is_space(c)).count();
    }
    ascii
}

/// Whether `c` ends a line for Python's `str.splitlines()`.
pub fn is_splitlines_break(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Python's `str.splitlines()` (terminators dropped; `\r\n` is one break).
pub fn splitlines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut iter = s.char_indices().peekable();
    while let Some((i, c)) = iter.next() {
        if is_splitlines_break(c) {
            out.push(&s[start..i]);
            let mut end = i + c.len_utf8();
            if c == '\r' {
                if let Some(&(j, '\n')) = iter.peek() {
                    iter.next();
                    end = j + 1;
                }
            }
            start = end;
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out
}

/// One physical line of a file read with Python's universal newlines (`\n`, `\r\n`, `\r`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RawLine<'a> {
    /// The line text without its terminator.
    pub text: &'a str,
    /// The terminator as it appears in the file (`""` only for a last line without one).
    pub terminator: &'a str,
}

/// Splits text into lines the way Python's text-mode file iteration does.
pub(crate) fn universal_lines(s: &str) -> Vec<RawLine<'_>> {
    LineIter::new(s).collect()
}

/// Iterator form of [`universal_lines`].
pub(crate) struct LineIter<'a> {
    text: &'a str,
    pos: usize,
}

/// Index of the first `\n` or `\r` in `bytes`, eight bytes at a time (the classic
/// "has a zero byte" word trick, on the bytes XOR-ed with each terminator).
fn find_line_end(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGHS;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        let x = u64::from_le_bytes(word);
        if has_zero(x ^ (ONES * u64::from(b'\n'))) | has_zero(x ^ (ONES * u64::from(b'\r'))) != 0 {
            break;
        }
        i += 8;
    }
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n' || b == b'\r')
        .map(|p| i + p)
}

impl<'a> LineIter<'a> {
    /// Lines of `text`.
    pub(crate) fn new(text: &'a str) -> LineIter<'a> {
        LineIter { text, pos: 0 }
    }
}

impl<'a> Iterator for LineIter<'a> {
    type Item = RawLine<'a>;

    fn next(&mut self) -> Option<RawLine<'a>> {
        let s = self.text;
        let start = self.pos;
        if start >= s.len() {
            return None;
        }
        let bytes = s.as_bytes();
        match find_line_end(&bytes[start..]) {
            None => {
                self.pos = s.len();
                Some(RawLine {
                    text: &s[start..],
                    terminator: "",
                })
            }
            Some(off) => {
                let i = start + off;
                let end = if bytes[i] == b'\r' && bytes.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                self.pos = end;
                Some(RawLine {
                    text: &s[start..i],
                    terminator: &s[i..end],
                })
            }
        }
    }
}

/// Python's `repr()` of a `str` (quote choice and escapes as CPython prints them).
pub fn repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

/// An approximation of Python's `str.isprintable()` for one non-ASCII-control character:
/// separators (other than the plain space) and C1 controls are not printable.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    let code = c as u32;
    !(is_space(c)
        || (0x80..0xa0).contains(&code)
        || code == 0xad
        || (0xd800..0xe000).contains(&code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_matches_python_isspace() {
        for c in [
            '\t', '\n', '\x0b', '\x0c', '\r', '\x1c', '\x1f', ' ', '\u{85}', '\u{a0}', '\u{3000}',
        ] {
            assert!(is_space(c), "{c:?}");
        }
        for c in ['a', '\u{feff}', '\u{200b}', '\x00'] {
            assert!(!is_space(c), "{c:?}");
        }
        assert_eq!(strip("\u{a0} x \x1c"), "x");
    }

    #[test]
    fn strip_fast_path_matches_the_unicode_rule() {
        for text in [
            "  a  ",
            "\u{a0}x\u{3000}",
            " \u{85}",
            "\u{e9}t\u{e9}",
            "\t\x1f",
            "",
            "   ",
            " \u{2028} y \u{feff}",
        ] {
            assert_eq!(strip(text), text.trim_matches(is_space), "{text:?}");
            assert_eq!(lstrip(text), text.trim_start_matches(is_space), "{text:?}");
            assert_eq!(rstrip(text), text.trim_end_matches(is_space), "{text:?}");
            assert_eq!(
                indent_chars(text),
                text.chars().take_while(|&c| is_space(c)).count(),
                "{text:?}"
            );
        }
    }

    #[test]
    fn splitlines_like_python() {
        assert_eq!(
            splitlines("\na = 1\x0bb = 2\r\nc"),
            vec!["", "a = 1", "b = 2", "c"]
        );
        assert_eq!(splitlines("x\n"), vec!["x"]);
        assert_eq!(splitlines(""), Vec::<&str>::new());
    }

    #[test]
    fn line_end_search_finds_the_first_terminator() {
        for text in [
            "",
            "abc",
            "a\n",
            "0123456789abcdef\n",
            "0123456789abcdefg\rx",
            "\u{e9}\u{e9}\u{e9}\u{e9}\u{e9}\n",
        ] {
            let expected = text.bytes().position(|b| b == b'\n' || b == b'\r');
            assert_eq!(find_line_end(text.as_bytes()), expected, "{text:?}");
        }
    }

    #[test]
    fn universal_lines_keep_terminators() {
        let lines = universal_lines("a\r\nb\rc\nd");
        let texts: Vec<_> = lines.iter().map(|l| (l.text, l.terminator)).collect();
        assert_eq!(
            texts,
            vec![("a", "\r\n"), ("b", "\r"), ("c", "\n"), ("d", "")]
        );
        assert!(universal_lines("").is_empty());
    }

    #[test]
    fn repr_like_python() {
        assert_eq!(repr("profile p\nq"), "'profile p\\nq'");
        assert_eq!(repr("it's"), "\"it's\"");
        assert_eq!(repr("a'\""), "'a\\'\"'");
        assert_eq!(repr("tab\there"), "'tab\\there'");
    }
}
