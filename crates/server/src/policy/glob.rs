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
pub fn matches(pattern: &[Tok], text: &str, fold: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    matches_chars(pattern, &text, fold)
}

/// [`matches`] over an already split character slice.
pub fn matches_chars(pattern: &[Tok], text: &[char], fold: bool) -> bool {
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
            Some(Tok::Char(c)) if eq(*c, text[t]) => {
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
    let pattern_parts = split_tokens(pattern);
    if pattern_parts.len() < 6 {
        return matches(pattern, value, false);
    }
    let value: Vec<char> = value.chars().collect();
    let value_parts = split_chars(&value);
    if value_parts.len() < 6 {
        return false;
    }
    pattern_parts
        .iter()
        .zip(value_parts.iter())
        .all(|(p, v)| matches_chars(p, v, false))
}

fn split_tokens(pattern: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (i, tok) in pattern.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *tok == Tok::Char(':') {
            parts.push(&pattern[start..i]);
            start = i + 1;
        }
    }
    parts.push(&pattern[start..]);
    parts
}

fn split_chars(value: &[char]) -> Vec<&[char]> {
    let mut parts = Vec::with_capacity(6);
    let mut start = 0;
    for (i, c) in value.iter().enumerate() {
        if parts.len() == 5 {
            break;
        }
        if *c == ':' {
            parts.push(&value[start..i]);
            start = i + 1;
        }
    }
    parts.push(&value[start..]);
    parts
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
