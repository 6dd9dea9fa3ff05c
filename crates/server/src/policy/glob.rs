//! The `*`/`?` wildcard matcher used for actions, resources, `StringLike` and `ArnLike`.
//!
//! Iterative, no recursion and no regex: the greedy two-pointer algorithm that remembers only
//! the last `*`, so the cost is at most `len(text) × len(pattern)` and never exponential.

/// One element of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tok {
    /// A literal character (a `*` or `?` that came from `${*}` / `${?}` or a variable value).
    Char(char),
    /// `*`: any run of characters, possibly empty.
    Star,
    /// `?`: exactly one character.
    One,
}

/// Compiles wildcard text: `*` and `?` are wildcards, every other character is literal.
pub fn compile(pattern: &str) -> Vec<Tok> {
    pattern
        .chars()
        .map(|c| match c {
            '*' => Tok::Star,
            '?' => Tok::One,
            c => Tok::Char(c),
        })
        .collect()
}

/// Whether `text` matches the whole `pattern`; `fold` compares characters case-insensitively.
/// ASCII text (actions, ARNs: nearly always) is matched byte by byte without a copy.
pub fn matches(pattern: &[Tok], text: &str, fold: bool) -> bool {
    if text.is_ascii() {
        return matches_seq(pattern, text.as_bytes(), fold, char::from);
    }
    let text: Vec<char> = text.chars().collect();
    matches_chars(pattern, &text, fold)
}

/// [`matches`] over an already split character slice.
pub fn matches_chars(pattern: &[Tok], text: &[char], fold: bool) -> bool {
    matches_seq(pattern, text, fold, |c| c)
}

/// The matcher over any sequence of characters (`char`s, or the bytes of ASCII text).
fn matches_seq<T: Copy>(pattern: &[Tok], text: &[T], fold: bool, ch: impl Fn(T) -> char) -> bool {
    let eq = |a: char, b: char| a == b || (fold && a.to_lowercase().eq(b.to_lowercase()));
    let (mut p, mut t) = (0usize, 0usize);
    // Position after the last `*` seen and the text position it is currently anchored to.
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::Star) => {
                star = Some((p + 1, t));
                p += 1;
            }
            Some(Tok::One) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Char(c)) if eq(*c, ch(text[t])) => {
                p += 1;
                t += 1;
            }
            _ => match star {
                // Let the last `*` swallow one more character and retry from there.
                Some((sp, st)) => {
                    p = sp;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::Star)
}

/// Whether a pattern contains no wildcard (so equality is enough).
pub fn is_literal(pattern: &[Tok]) -> bool {
    pattern.iter().all(|t| matches!(t, Tok::Char(_)))
}

/// Matches an ARN pattern against an ARN part by part: both are split into six parts on the
/// first five colons, and `*` never crosses a part boundary. A lone `*` matches anything; a
/// pattern that is not ARN-shaped is matched as a whole string.
pub fn matches_arn(pattern: &[Tok], value: &str) -> bool {
    if pattern == [Tok::Star] {
        return true;
    }
    let (pattern_parts, n) = split6(pattern, |t| *t == Tok::Char(':'));
    if n < 6 {
        return matches(pattern, value, false);
    }
    if value.is_ascii() {
        // ARNs are ASCII in practice: split and match the bytes, no copy.
        let (value_parts, m) = split6(value.as_bytes(), |b| *b == b':');
        return m == 6
            && pattern_parts
                .iter()
                .zip(value_parts)
                .all(|(p, v)| matches_seq(p, v, false, char::from));
    }
    let value: Vec<char> = value.chars().collect();
    let (value_parts, m) = split6(&value, |c| *c == ':');
    m == 6
        && pattern_parts
            .iter()
            .zip(value_parts)
            .all(|(p, v)| matches_chars(p, v, false))
}

/// `s` split on the first five separators: the parts (at most six; the last holds the rest)
/// and how many there are.
fn split6<T>(s: &[T], is_sep: impl Fn(&T) -> bool) -> ([&[T]; 6], usize) {
    let mut parts: [&[T]; 6] = [&[]; 6];
    let mut n = 0;
    let mut start = 0;
    for (i, x) in s.iter().enumerate() {
        if n == 5 {
            break;
        }
        if is_sep(x) {
            parts[n] = &s[start..i];
            n += 1;
            start = i + 1;
        }
    }
    parts[n] = &s[start..];
    (parts, n + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        matches(&compile(p), t, false)
    }

    #[test]
    fn star_and_question() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("a*c", "abbbc"));
        assert!(m("a*c", "ac"));
        assert!(!m("a*c", "abcd"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("*AccessKey*", "ListAccessKeys"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abcd", "abc"));
        assert!(m("a.c", "a.c"));
        assert!(!m("a.c", "abc"), "a dot is literal");
        assert!(m("**a**", "xxaxx"));
        assert!(m("a*b*c", "a-b-b-c"));
        assert!(!m("a*b*c", "a-c-b"));
    }

    #[test]
    fn case_folding_only_when_asked() {
        assert!(matches(
            &compile("iam:*accesskey*"),
            "IAM:ListAccessKeys",
            true
        ));
        assert!(!matches(
            &compile("iam:*accesskey*"),
            "IAM:ListAccessKeys",
            false
        ));
    }

    #[test]
    fn pathological_pattern_is_fast_enough() {
        // Would take exponential time with a naive recursive matcher.
        let pattern = compile(&"*a".repeat(30));
        let text = "a".repeat(10_000) + "b";
        assert!(!matches(&pattern, &text, false));
    }

    #[test]
    fn arn_parts() {
        let p = |s: &str| compile(s);
        assert!(matches_arn(
            &p("arn:aws:s3:::examplebucket/*"),
            "arn:aws:s3:::examplebucket/photos/cat.jpg"
        ));
        assert!(!matches_arn(
            &p("arn:aws:s3:::examplebucket/*"),
            "arn:aws:s3:::examplebucket"
        ));
        assert!(matches_arn(
            &p("arn:aws:s3:::bucket/*/test/*"),
            "arn:aws:s3:::bucket/1/2/test/object.jpg"
        ));
        // A `*` in the region part does not swallow the account part.
        assert!(!matches_arn(
            &p("arn:aws:ec2:*:store/abc:x"),
            "arn:aws:ec2:us-east-1:999999999999:store/abc:x"
        ));
        assert!(matches_arn(
            &p("arn:aws:ec2:*:999999999999:store/abc:x"),
            "arn:aws:ec2:us-east-1:999999999999:store/abc:x"
        ));
        assert!(matches_arn(&p("*"), "arn:aws:iam::1:role/x"));
        assert!(matches_arn(
            &p("arn:aws:iam::*:role/x"),
            "arn:aws:iam::123456789012:role/x"
        ));
        assert!(!matches_arn(&p("arn:aws:iam::*:role/x"), "not-an-arn"));
    }
}
