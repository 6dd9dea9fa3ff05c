//! Policy variables (`${aws:username}`, `${*}`, `${key, 'default'}`) in resources and
//! string/ARN condition values.

use super::context::Context;
use super::glob::{self, Tok};

#[derive(Clone, Debug, PartialEq, Eq)]
enum Piece {
    /// Literal policy text; `*`/`?` in it are wildcards for the `Like` operators.
    Text(String),
    /// `${*}`, `${?}`, `${$}`: a character that is always literal.
    Literal(char),
    /// `${key}` or `${key, 'default'}`.
    Var {
        key: String,
        default: Option<String>,
    },
}

/// A policy string that may contain variables; substituted per request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Template {
    pieces: Vec<Piece>,
    /// The compiled wildcard pattern when there are no variables (the common case).
    fixed: Option<Vec<Tok>>,
    /// The literal text when there are no variables.
    fixed_text: Option<String>,
}

impl Template {
    /// Parses `text`; with `variables == false` (policy language 2008-10-17) `${…}` is literal.
    pub(super) fn parse(text: &str, variables: bool) -> Template {
        let pieces = if variables {
            split_variables(text)
        } else {
            vec![Piece::Text(text.to_string())]
        };
        let is_plain = pieces.iter().all(|p| matches!(p, Piece::Text(_)));
        let (fixed, fixed_text) = if is_plain {
            let text: String = pieces
                .iter()
                .map(|p| match p {
                    Piece::Text(t) => t.as_str(),
                    _ => "",
                })
                .collect();
            (Some(glob::compile(&text)), Some(text))
        } else {
            (None, None)
        };
        Template {
            pieces,
            fixed,
            fixed_text,
        }
    }

    /// The wildcard pattern for this request, or `None` when a variable's key is absent.
    pub(super) fn pattern(&self, ctx: &Context) -> Option<std::borrow::Cow<'_, [Tok]>> {
        if let Some(fixed) = &self.fixed {
            return Some(std::borrow::Cow::Borrowed(fixed));
        }
        let mut toks = Vec::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => toks.extend(glob::compile(t)),
                Piece::Literal(c) => toks.push(Tok::Char(*c)),
                Piece::Var { key, default } => {
                    let value = ctx.single(key).or(default.as_deref())?;
                    toks.extend(value.chars().map(Tok::Char));
                }
            }
        }
        Some(std::borrow::Cow::Owned(toks))
    }

    /// The literal text for this request (wildcards are plain characters), or `None` when a
    /// variable's key is absent.
    pub(super) fn text(&self, ctx: &Context) -> Option<std::borrow::Cow<'_, str>> {
        if let Some(fixed) = &self.fixed_text {
            return Some(std::borrow::Cow::Borrowed(fixed));
        }
        let mut out = String::new();
        for piece in &self.pieces {
            match piece {
                Piece::Text(t) => out.push_str(t),
                Piece::Literal(c) => out.push(*c),
                Piece::Var { key, default } => {
                    out.push_str(ctx.single(key).or(default.as_deref())?);
                }
            }
        }
        Some(std::borrow::Cow::Owned(out))
    }
}

fn split_variables(text: &str) -> Vec<Piece> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut literal = String::new();
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        literal.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + 2 + len];
        rest = &rest[start + 2 + len + 1..];
        let piece = match inner {
            "*" => Piece::Literal('*'),
            "?" => Piece::Literal('?'),
            "$" => Piece::Literal('$'),
            _ => parse_variable(inner),
        };
        if !literal.is_empty() {
            pieces.push(Piece::Text(std::mem::take(&mut literal)));
        }
        pieces.push(piece);
    }
    literal.push_str(rest);
    if !literal.is_empty() || pieces.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    pieces
}

fn parse_variable(inner: &str) -> Piece {
    if let Some((key, default)) = inner.split_once(',') {
        let default = default.trim();
        let default = default
            .strip_prefix('\'')
            .and_then(|d| d.strip_suffix('\''))
            .unwrap_or(default);
        Piece::Var {
            key: key.trim().to_string(),
            default: Some(default.to_string()),
        }
    } else {
        Piece::Var {
            key: inner.trim().to_string(),
            default: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_variables_and_escapes() {
        let mut ctx = Context::new();
        ctx.set("aws:username", "alice");
        let t = Template::parse("arn:aws:s3:::bucket/${aws:username}/*", true);
        assert_eq!(t.text(&ctx).unwrap(), "arn:aws:s3:::bucket/alice/*");
        let t = Template::parse("a${*}b${?}${$}", true);
        assert_eq!(
            t.pattern(&ctx).unwrap().as_ref(),
            &glob::compile("a*b?$")
                .into_iter()
                .map(|t| match t {
                    Tok::Star => Tok::Char('*'),
                    Tok::One => Tok::Char('?'),
                    t => t,
                })
                .collect::<Vec<_>>()[..]
        );
        let t = Template::parse("${aws:missing}", true);
        assert!(t.text(&ctx).is_none());
        let t = Template::parse("${aws:missing, 'dflt'}", true);
        assert_eq!(t.text(&ctx).unwrap(), "dflt");
        // Key names are case-insensitive.
        let t = Template::parse("${AWS:UserName}", true);
        assert_eq!(t.text(&ctx).unwrap(), "alice");
    }

    #[test]
    fn old_language_keeps_variables_literal() {
        let ctx = Context::new();
        let t = Template::parse("bucket/${aws:username}", false);
        assert_eq!(t.text(&ctx).unwrap(), "bucket/${aws:username}");
    }
}
