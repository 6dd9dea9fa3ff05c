//! Percent-encoding sets and helpers for canonical URIs and query strings.

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// Everything except the RFC 3986 unreserved set (`A-Z a-z 0-9 - _ . ~`) is encoded.
pub(crate) const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Encoding of a path segment list: like [`UNRESERVED`] but keeps `/`.
pub(crate) const PATH_DOUBLE: &AsciiSet = &UNRESERVED.remove(b'/');

/// Single-encoding mode: the input is already a wire path, so every byte allowed raw in an
/// RFC 3986 path (`pchar`: unreserved, sub-delims, `:`, `@`) and `%` escapes stay as they are.
pub(crate) const PATH_SINGLE: &AsciiSet = &PATH_DOUBLE
    .remove(b'%')
    .remove(b'!')
    .remove(b'$')
    .remove(b'&')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')')
    .remove(b'*')
    .remove(b'+')
    .remove(b',')
    .remove(b';')
    .remove(b'=')
    .remove(b':')
    .remove(b'@');

/// Appends `bytes` percent-encoded with `set` (upper-case hex) to `out`.
pub(crate) fn encode_into(out: &mut String, bytes: &[u8], set: &'static AsciiSet) {
    for chunk in percent_encode(bytes, set) {
        out.push_str(chunk);
    }
}

/// Returns `bytes` percent-encoded with `set`.
pub(crate) fn encode(bytes: &[u8], set: &'static AsciiSet) -> String {
    let mut s = String::with_capacity(bytes.len());
    encode_into(&mut s, bytes, set);
    s
}

/// Decodes `%XX` escapes; invalid escapes are kept literally. `+` is not a space.
pub(crate) fn decode(s: &str) -> std::borrow::Cow<'_, [u8]> {
    percent_decode(s.as_bytes()).into()
}

/// Decodes `%XX` escapes into a string, replacing invalid UTF-8.
pub(crate) fn decode_str(s: &str) -> String {
    String::from_utf8_lossy(&decode(s)).into_owned()
}

/// Lower-case hex of `bytes`.
pub(crate) fn hex_lower(bytes: &[u8]) -> String {
    // A table lookup, not `write!("{:02x}")`: hex digests and signatures are on the hot path
    // of every verification, and the formatter cost more than the hashing around it.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// Lower-case hex of a 32-byte digest, on the stack.
pub(crate) fn hex32(bytes: &[u8]) -> [u8; 64] {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 64];
    for (i, &b) in bytes.iter().take(32).enumerate() {
        out[2 * i] = DIGITS[usize::from(b >> 4)];
        out[2 * i + 1] = DIGITS[usize::from(b & 0x0f)];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_set_keeps_exactly_the_rfc3986_unreserved_bytes() {
        for b in 0u8..=255 {
            let kept = b.is_ascii_alphanumeric() || b"-_.~".contains(&b);
            let enc = encode(&[b], UNRESERVED);
            if kept {
                assert_eq!(enc.as_bytes(), &[b]);
            } else {
                assert_eq!(enc, format!("%{b:02X}"));
            }
        }
    }

    #[test]
    fn path_sets() {
        assert_eq!(encode(b"/a b/%3A@", PATH_DOUBLE), "/a%20b/%253A%40");
        assert_eq!(encode(b"/a b/%3A@", PATH_SINGLE), "/a%20b/%3A@");
        assert_eq!(encode("/ሴ".as_bytes(), PATH_SINGLE), "/%E1%88%B4");
        assert_eq!(
            encode(b"/a\"<>\\^`{|}#?", PATH_SINGLE),
            "/a%22%3C%3E%5C%5E%60%7B%7C%7D%23%3F"
        );
    }

    #[test]
    fn decode_keeps_invalid_escapes_and_plus() {
        assert_eq!(&*decode("a%20b+c%zz%4"), b"a b+c%zz%4");
        assert_eq!(decode_str("%E1%88%B4"), "ሴ");
    }

    #[test]
    fn hex_is_lower_case() {
        assert_eq!(hex_lower(&[0x00, 0xAB, 0xff]), "00abff");
        let digest: Vec<u8> = (0u8..32).map(|i| i.wrapping_mul(37)).collect();
        assert_eq!(hex32(&digest).as_slice(), hex_lower(&digest).as_bytes());
    }
}
