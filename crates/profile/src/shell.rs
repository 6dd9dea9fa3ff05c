//! POSIX shell-word splitting with the exact rules of Python's `shlex.split` (posix mode,
//! no comments): used for `[profile "a b"]` section names and `credential_process` commands.

/// Why a string could not be split (unbalanced quote or trailing escape).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SplitError {
    /// A quote was opened and never closed.
    #[error("No closing quotation")]
    NoClosingQuotation,
    /// The text ends with an unescaped backslash.
    #[error("No escaped character")]
    NoEscapedCharacter,
}

/// `shlex`'s whitespace set: only these four characters separate words.
fn is_shlex_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Lexer states of `shlex.read_token` in posix mode with `whitespace_split`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between words.
    Space,
    /// Inside a word.
    Word,
    /// Inside single or double quotes.
    Quote(char),
}

/// Splits `text` into words as `shlex.split(text)` does.
pub fn split(text: &str) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut token = String::new();
    // `quoted` makes an empty token (`''`) a word, as in shlex.
    let mut quoted = false;
    let mut state = State::Space;
    let mut chars = text.chars();
    loop {
        let Some(c) = chars.next() else {
            match state {
                State::Quote(_) => return Err(SplitError::NoClosingQuotation),
                State::Word => words.push(std::mem::take(&mut token)),
                State::Space => {}
            }
            return Ok(words);
        };
        match state {
            State::Space | State::Word => {
                if is_shlex_space(c) {
                    if state == State::Word || quoted {
                        words.push(std::mem::take(&mut token));
                        quoted = false;
                    }
                    state = State::Space;
                } else if c == '\\' {
                    // Outside quotes a backslash takes the next character literally.
                    let next = chars.next().ok_or(SplitError::NoEscapedCharacter)?;
                    token.push(next);
                    state = State::Word;
                } else if c == '\'' || c == '"' {
                    quoted = true;
                    state = State::Quote(c);
                } else {
                    token.push(c);
                    state = State::Word;
                }
            }
            State::Quote(q) => {
                if c == q {
                    state = State::Word;
                } else if c == '\\' && q == '"' {
                    // Inside double quotes only `\"` and `\\` are escapes; any other
                    // backslash is kept.
                    let next = chars.next().ok_or(SplitError::NoEscapedCharacter)?;
                    if next != '"' && next != '\\' {
                        token.push('\\');
                    }
                    token.push(next);
                } else {
                    token.push(c);
                }
            }
        }
    }
}

/// Python's `shlex.quote`: the text unchanged when it only has safe characters, else wrapped
/// in single quotes (an inner `'` becomes `'"'"'`).
pub fn quote(text: &str) -> String {
    if text.is_empty() {
        return "''".to_owned();
    }
    let safe = text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "@%+=:,./-_".contains(c));
    if safe {
        return text.to_owned();
    }
    format!("'{}'", text.replace('\'', "'\"'\"'"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(text: &str) -> Vec<String> {
        split(text).unwrap()
    }

    #[test]
    fn words_and_quotes() {
        assert_eq!(s("profile foo"), ["profile", "foo"]);
        assert_eq!(s("  profile\t foo  "), ["profile", "foo"]);
        assert_eq!(s("profile \"foo bar\""), ["profile", "foo bar"]);
        assert_eq!(s("profile 'foo bar'"), ["profile", "foo bar"]);
        assert_eq!(s("profile foo\\ bar"), ["profile", "foo bar"]);
        assert_eq!(s("a#b c"), ["a#b", "c"]);
        assert_eq!(s("x''"), ["x"]);
        assert_eq!(s("profile ''"), ["profile", ""]);
        assert_eq!(s("a'b c'd"), ["ab cd"]);
        assert_eq!(s(""), Vec::<String>::new());
        assert_eq!(s("   "), Vec::<String>::new());
    }

    #[test]
    fn escapes_follow_python() {
        assert_eq!(s(r#""a\"b""#), ["a\"b"]);
        assert_eq!(s(r#""a\\b""#), ["a\\b"]);
        assert_eq!(s(r#""a\nb""#), ["a\\nb"]);
        assert_eq!(s(r#"'a\b'"#), ["a\\b"]);
        assert_eq!(s(r"a\nb"), ["anb"]);
        assert_eq!(split("'abc"), Err(SplitError::NoClosingQuotation));
        assert_eq!(split("abc\\"), Err(SplitError::NoEscapedCharacter));
        assert_eq!(split("\"abc\\"), Err(SplitError::NoEscapedCharacter));
    }

    #[test]
    fn vertical_tab_is_not_a_separator() {
        assert_eq!(s("a\x0bb"), ["a\x0bb"]);
    }

    #[test]
    fn quote_like_python() {
        assert_eq!(quote("my prof"), "'my prof'");
        assert_eq!(quote("it's x"), "'it'\"'\"'s x'");
        assert_eq!(quote("plain"), "plain");
    }
}
