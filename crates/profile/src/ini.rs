//! The reader: botocore's INI dialect (Python `RawConfigParser`, strict, no interpolation,
//! `=`/`:` delimiters, full-line `#`/`;` comments, continuation lines, `[DEFAULT]` inheritance),
//! plus botocore's nested sub-section parsing (`s3 =` followed by indented `key = value` lines).
//!
//! See `../shared/spec/files.md` §2 for every rule.

use std::borrow::Cow;

use crate::fxhash::FxHashMap;
use crate::py;

/// A property value: a plain string, or a nested sub-section (`key =` + indented lines).
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// A plain value; multi-line values are joined with `\n`.
    Scalar(String),
    /// A nested sub-section, in file order; inner keys keep their case; a repeated inner key
    /// keeps its first position and its last value.
    Nested(Vec<(String, String)>),
}

impl Value {
    /// The scalar text, or `None` for a nested sub-section.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Scalar(s) => Some(s),
            Value::Nested(_) => None,
        }
    }

    /// The value of sub-key `key` of a nested sub-section, or `None`.
    pub fn sub(&self, key: &str) -> Option<&str> {
        match self {
            Value::Scalar(_) => None,
            Value::Nested(items) => items
                .iter()
                .rev()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str()),
        }
    }
}

impl std::fmt::Debug for Value {
    // Values may be secrets (aws_secret_access_key); Debug never shows them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Scalar(_) => f.write_str("Scalar(..)"),
            Value::Nested(items) => f
                .debug_list()
                .entries(items.iter().map(|(k, _)| k))
                .finish(),
        }
    }
}

/// An ordered set of properties (lower-cased keys, file order, unique keys).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Properties {
    entries: Vec<(String, Value)>,
}

impl Properties {
    /// The value of `key` (keys are stored lower-cased; `key` must be lower-case to match).
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// The scalar value of `key`, or `None` if absent or nested.
    pub fn get_str(&self, key: &str) -> Option<&str> {
        self.get(key).and_then(Value::as_str)
    }

    /// Whether `key` is present (with any value, even empty or nested).
    pub fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key` to `value`: an existing key keeps its position, a new key goes last.
    pub fn insert(&mut self, key: String, value: Value) {
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// All properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

/// One section of a parsed file: its raw name (the text between `[` and the last `]`), the
/// 1-based line of its header, and its properties (with `[DEFAULT]` keys applied).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    /// The raw section name, untrimmed (`[ default ]` is ` default `).
    pub name: String,
    /// 1-based line number of the header.
    pub line: usize,
    /// The properties.
    pub properties: Properties,
}

/// A parsed file: sections in file order (the `[DEFAULT]` section itself is not listed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IniFile {
    /// Sections in file order.
    pub sections: Vec<Section>,
}

/// Why a file could not be parsed, with the 1-based line at fault.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong, without echoing values (they may be secrets).
    pub message: String,
}

/// Parses file text exactly as botocore's `raw_config_parse` does (see `files.md` §2).
pub fn parse(text: &str) -> Result<IniFile, ParseError> {
    let reader = read(text, false)?;
    if let Some(e) = reader.nested_error() {
        return Err(e);
    }
    Ok(reader.into_file())
}

/// Parses raw file bytes: invalid UTF-8 is a parse error (as in the reference), a UTF-8 byte
/// order mark is kept (so a file starting with one has no section header).
pub fn parse_bytes(bytes: &[u8]) -> Result<IniFile, ParseError> {
    parse(decode(bytes)?)
}

/// Decodes UTF-8 strictly; the error names the line holding the first invalid byte.
pub(crate) fn decode(bytes: &[u8]) -> Result<&str, ParseError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let prefix = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
        let complete_lines = py::universal_lines(prefix).len();
        let line = if prefix.is_empty() {
            1
        } else if prefix.ends_with(['\n', '\r']) {
            complete_lines + 1
        } else {
            complete_lines
        };
        ParseError {
            line,
            message: "the file is not valid UTF-8".to_owned(),
        }
    })
}

/// How the reader classified one physical line (used by the writer to edit what the reader
/// sees).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum LineKind {
    /// Empty or whitespace-only.
    Blank,
    /// A full-line `#` or `;` comment.
    Comment,
    /// A section header; the index into [`Scan::headers`].
    Header(usize),
    /// A `key = value` line: the lower-cased key and the raw text before the delimiter.
    Key {
        /// Lower-cased, trimmed key.
        key: String,
    },
    /// A continuation of the value whose key is on line `key_line` (0-based).
    Continuation {
        /// 0-based index of the key line.
        key_line: usize,
    },
}

/// One classified line.
#[derive(Clone, Debug)]
pub(crate) struct ScanLine<'a> {
    /// The text and terminator.
    pub raw: py::RawLine<'a>,
    /// The reader's classification.
    pub kind: LineKind,
}

/// A section header as the reader saw it.
#[derive(Clone, Debug)]
pub(crate) struct HeaderLine {
    /// The raw section name.
    pub name: String,
    /// 0-based line index.
    pub line: usize,
}

/// A lossless, classified view of a file: every line, and every header in order.
#[derive(Clone, Debug)]
pub(crate) struct Scan<'a> {
    /// Every physical line.
    pub lines: Vec<ScanLine<'a>>,
    /// Every header (including `[DEFAULT]`), in order.
    pub headers: Vec<HeaderLine>,
}

/// Classifies every line of `text` as the reader does; fails exactly when [`parse`] fails.
pub(crate) fn scan(text: &str) -> Result<Scan<'_>, ParseError> {
    let reader = read(text, true)?;
    if let Some(e) = reader.nested_error() {
        return Err(e);
    }
    Ok(Scan {
        lines: reader.lines,
        headers: reader.headers,
    })
}

/// One option while reading: the first-line text, continuation pieces (interior blank lines
/// as empty pieces) with their 1-based lines, and blank lines not yet known to be interior.
struct RawOption<'a> {
    key: Cow<'a, str>,
    first: &'a str,
    more: Vec<(&'a str, usize)>,
    pending_blanks: usize,
}

/// A section while reading.
struct RawSection<'a> {
    name: &'a str,
    line: usize,
    options: Vec<RawOption<'a>>,
}

/// Which section the reader is filling.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Current {
    Nothing,
    Section(usize),
    Defaults,
}

/// The reader's result before values are joined.
struct Reader<'a> {
    sections: Vec<RawSection<'a>>,
    defaults: RawSection<'a>,
    lines: Vec<ScanLine<'a>>,
    headers: Vec<HeaderLine>,
}

/// `RawConfigParser._read` (strict, default options), line by line, without copying text.
fn read(text: &str, record_lines: bool) -> Result<Reader<'_>, ParseError> {
    let mut sections: Vec<RawSection<'_>> = Vec::new();
    let mut defaults = RawSection {
        name: "DEFAULT",
        line: 0,
        options: Vec::new(),
    };
    let mut by_name: FxHashMap<&str, usize> = FxHashMap::default();
    let mut lines = Vec::new();
    let mut headers = Vec::new();
    let mut current = Current::Nothing;
    // The option that continuation lines extend: (section, option index, key line index).
    let mut option: Option<(Current, usize, usize)> = None;
    let mut indent_level = 0usize;

    for (idx, raw) in py::LineIter::new(text).enumerate() {
        let lineno = idx + 1;
        let value = py::strip(raw.text);
        let mut record = |kind: LineKind| {
            if record_lines {
                lines.push(ScanLine { raw, kind });
            }
        };
        if value.starts_with('#') || value.starts_with(';') {
            record(LineKind::Comment);
            continue;
        }
        if value.is_empty() {
            // Blank lines become empty pieces of the current value (dropped if trailing).
            if let Some((cur, opt, _)) = option {
                section_mut(&mut sections, &mut defaults, cur).options[opt].pending_blanks += 1;
            }
            record(LineKind::Blank);
            continue;
        }
        let cur_indent = py::indent_chars(raw.text);
        if let Some((cur, opt, key_line)) = option.filter(|_| cur_indent > indent_level) {
            let o = &mut section_mut(&mut sections, &mut defaults, cur).options[opt];
            for _ in 0..std::mem::take(&mut o.pending_blanks) {
                o.more.push(("", lineno));
            }
            o.more.push((value, lineno));
            record(LineKind::Continuation { key_line });
            continue;
        }
        indent_level = cur_indent;
        if let Some(name) = header_name(value) {
            if by_name.contains_key(name) {
                return Err(ParseError {
                    line: lineno,
                    message: format!("section {} already exists", py::repr(name)),
                });
            }
            if name == "DEFAULT" {
                current = Current::Defaults;
            } else {
                by_name.insert(name, sections.len());
                current = Current::Section(sections.len());
                sections.push(RawSection {
                    name,
                    line: lineno,
                    options: Vec::new(),
                });
            }
            option = None;
            if record_lines {
                headers.push(HeaderLine {
                    name: name.to_owned(),
                    line: idx,
                });
            }
            record(LineKind::Header(headers.len().saturating_sub(1)));
            continue;
        }
        if current == Current::Nothing {
            return Err(ParseError {
                line: lineno,
                message: "a setting appears before the first [section] header".to_owned(),
            });
        }
        let Some(delim) = value.find(['=', ':']) else {
            let message = if value.starts_with('[') {
                "not a valid section header: it must look like [name]"
            } else {
                "expected `key = value`, a [section] header or a comment"
            };
            return Err(ParseError {
                line: lineno,
                message: message.to_owned(),
            });
        };
        let key_text = py::rstrip(&value[..delim]);
        if key_text.is_empty() {
            return Err(ParseError {
                line: lineno,
                message: "a setting has an empty key".to_owned(),
            });
        }
        let key = py::lower_cow(key_text);
        let section = section_mut(&mut sections, &mut defaults, current);
        if section.options.iter().any(|o| o.key == key) {
            let section_name = match current {
                Current::Defaults => "DEFAULT",
                _ => section.name,
            };
            return Err(ParseError {
                line: lineno,
                message: format!(
                    "option {} in section {} already exists",
                    py::repr(&key),
                    py::repr(section_name)
                ),
            });
        }
        if record_lines {
            record(LineKind::Key {
                key: key.clone().into_owned(),
            });
        }
        section.options.push(RawOption {
            key,
            first: py::strip(&value[delim + 1..]),
            more: Vec::new(),
            pending_blanks: 0,
        });
        option = Some((current, section.options.len() - 1, idx));
    }
    Ok(Reader {
        sections,
        defaults,
        lines,
        headers,
    })
}

fn section_mut<'s, 'a>(
    sections: &'s mut [RawSection<'a>],
    defaults: &'s mut RawSection<'a>,
    current: Current,
) -> &'s mut RawSection<'a> {
    match current {
        Current::Section(i) => &mut sections[i],
        _ => defaults,
    }
}

/// `\[(?P<header>.+)\]` matched at the start of the stripped line: the text between the first
/// `[` and the last `]`, at least one character.
pub(crate) fn header_name(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

impl Reader<'_> {
    /// Joins values, parses nested blocks and applies `[DEFAULT]` inheritance.
    fn into_file(self) -> IniFile {
        let defaults: Vec<(String, Value)> = self
            .defaults
            .options
            .iter()
            .map(|o| (o.key.clone().into_owned(), joined_value(o).0))
            .collect();
        let sections = self
            .sections
            .into_iter()
            .map(|s| {
                let mut entries: Vec<(String, Value)> =
                    Vec::with_capacity(s.options.len() + defaults.len());
                for (k, v) in &defaults {
                    if !s.options.iter().any(|o| o.key == k.as_str()) {
                        entries.push((k.clone(), v.clone()));
                    }
                }
                let inherited: Vec<(String, Value)> = std::mem::take(&mut entries);
                for o in &s.options {
                    let value = joined_value(o).0;
                    entries.push((o.key.clone().into_owned(), value));
                }
                entries.extend(inherited);
                Section {
                    name: s.name.to_owned(),
                    line: s.line,
                    properties: Properties { entries },
                }
            })
            .collect();
        IniFile { sections }
    }

    /// The first nested block (in botocore's processing order) that does not parse.
    fn nested_error(&self) -> Option<ParseError> {
        let bad = |o: &RawOption<'_>| {
            // Only values starting with a newline are parsed as blocks.
            if !o.first.is_empty() || o.more.is_empty() {
                return None;
            }
            joined_value(o).1
        };
        // botocore walks sections in order and, within each, the section's own keys and then
        // the inherited defaults; the first bad block raises.
        for s in &self.sections {
            for o in &s.options {
                if let Some(line) = bad(o) {
                    return Some(nested_parse_error(line, &o.key));
                }
            }
            for d in &self.defaults.options {
                if !s.options.iter().any(|o| o.key == d.key) {
                    if let Some(line) = bad(d) {
                        return Some(nested_parse_error(line, &d.key));
                    }
                }
            }
        }
        None
    }
}

fn nested_parse_error(line: usize, key: &str) -> ParseError {
    ParseError {
        line,
        message: format!(
            "the nested settings of {} have a line without '='",
            py::repr(key)
        ),
    }
}

/// `'\n'.join(parts).rstrip()`, then botocore's `_parse_nested` when the value starts with a
/// newline; a nested line without `=` yields the 1-based line at fault instead.
fn joined_value(o: &RawOption<'_>) -> (Value, Option<usize>) {
    if o.more.is_empty() {
        // One line, already stripped; trailing blank lines do not count.
        return (Value::Scalar(o.first.to_owned()), None);
    }
    if !o.first.is_empty() {
        let mut text = String::with_capacity(
            o.first.len() + o.more.iter().map(|(p, _)| p.len() + 1).sum::<usize>(),
        );
        text.push_str(o.first);
        for (piece, _) in &o.more {
            text.push('\n');
            text.push_str(piece);
        }
        return (Value::Scalar(text), None);
    }
    let mut items: Vec<(String, String)> = Vec::new();
    for &(piece, line) in &o.more {
        for sub in py::splitlines(piece) {
            let sub = py::strip(sub);
            if sub.is_empty() {
                continue;
            }
            let Some((k, v)) = sub.split_once('=') else {
                return (Value::Nested(items), Some(line));
            };
            let (k, v) = (py::strip(k), py::strip(v));
            match items.iter_mut().find(|(ek, _)| ek == k) {
                Some(slot) => slot.1 = v.to_owned(),
                None => items.push((k.to_owned(), v.to_owned())),
            }
        }
    }
    (Value::Nested(items), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(text: &str, section: &str) -> Vec<(String, Value)> {
        let file = parse(text).unwrap();
        let s = file.sections.iter().find(|s| s.name == section).unwrap();
        s.properties
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    }

    fn scalar(k: &str, v: &str) -> (String, Value) {
        (k.to_owned(), Value::Scalar(v.to_owned()))
    }

    #[test]
    fn keys_values_and_delimiters() {
        let text = "[default]\nRegion = us-east-1 # x\nhttp://x = y\nk: a=b\nmy key = v\nempty =\n";
        assert_eq!(
            props(text, "default"),
            vec![
                scalar("region", "us-east-1 # x"),
                scalar("http", "//x = y"),
                scalar("k", "a=b"),
                scalar("my key", "v"),
                scalar("empty", ""),
            ]
        );
    }

    #[test]
    fn headers_take_the_last_bracket_and_keep_spaces() {
        let file = parse("[default] # note\n[ default ]\n[profile a]b]\n[]]\n").unwrap();
        let names: Vec<_> = file.sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["default", " default ", "profile a]b", "]"]);
    }

    #[test]
    fn continuation_lines_and_blank_lines() {
        assert_eq!(
            props("[d]\nregion = us-\n  east-1\n", "d"),
            vec![scalar("region", "us-\neast-1")]
        );
        assert_eq!(
            props("[d]\nregion = a\n\n  foo\n\n", "d"),
            vec![scalar("region", "a\n\nfoo")]
        );
        // An indented header right after a key line is a continuation.
        assert_eq!(
            props("[d]\na = 1\n  [x]\n", "d"),
            vec![scalar("a", "1\n[x]")]
        );
        // Right after a header an indented line is a key.
        assert_eq!(
            props("[d]\n  region = a\n", "d"),
            vec![scalar("region", "a")]
        );
    }

    #[test]
    fn nested_blocks() {
        let text = "[default]\ns3 =\n  max_concurrent_requests = 10\n  # c\n\tAddressing_Style = path\n  a = 1\n  a = 2\nregion = x\n";
        assert_eq!(
            props(text, "default"),
            vec![
                (
                    "s3".to_owned(),
                    Value::Nested(vec![
                        ("max_concurrent_requests".into(), "10".into()),
                        ("Addressing_Style".into(), "path".into()),
                        ("a".into(), "2".into()),
                    ])
                ),
                scalar("region", "x"),
            ]
        );
        assert_eq!(
            props("[d]\ns3 = x\n  a = 1\n", "d"),
            vec![scalar("s3", "x\na = 1")]
        );
        let err = parse("[d]\nregion = a\ns3 =\n  foo\n").unwrap_err();
        assert_eq!(err.line, 4);
        assert!(parse("[d]\ns3 =\n  foo: bar\n").is_err());
    }

    #[test]
    fn errors_carry_line_numbers_and_no_values() {
        let e = parse("[default]\nregion = a\nsecretvalue\n").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(!e.to_string().contains("secretvalue"));
        assert_eq!(parse("region = a\n").unwrap_err().line, 1);
        assert_eq!(parse("[a]\n[a]\n").unwrap_err().line, 2);
        let dup = parse("[a]\nRegion = 1\nregion = 2\n").unwrap_err();
        assert_eq!(dup.line, 3);
        assert!(dup.message.contains("'region'"));
        assert_eq!(parse("[a]\n= v\n").unwrap_err().line, 2);
        assert_eq!(parse("[a]\n[]\n").unwrap_err().line, 2);
        assert_eq!(parse("\u{feff}[default]\n").unwrap_err().line, 1);
        assert_eq!(
            parse_bytes(b"[a]\r\nk = v\r\nx = \xff\n").unwrap_err().line,
            3
        );
        assert_eq!(parse_bytes(b"[a]\n\xff").unwrap_err().line, 2);
    }

    #[test]
    fn defaults_are_inherited_after_own_keys() {
        let text = "[DEFAULT]\nregion = r\noutput = o\n[a]\noutput = mine\n[DEFAULT]\nextra = e\n";
        assert_eq!(
            props(text, "a"),
            vec![
                scalar("output", "mine"),
                scalar("region", "r"),
                scalar("extra", "e")
            ]
        );
        assert_eq!(parse(text).unwrap().sections.len(), 1);
        assert!(parse("[DEFAULT]\na = 1\n[DEFAULT]\nA = 2\n").is_err());
    }

    #[test]
    fn universal_newlines() {
        assert_eq!(
            props("[d]\r\na = 1\rb = 2\r\n", "d"),
            vec![scalar("a", "1"), scalar("b", "2")]
        );
    }

    #[test]
    fn scan_classifies_lines() {
        let s = scan("# c\n[d]\na = 1\n  more\n\n[e]\n").unwrap();
        let kinds: Vec<_> = s.lines.iter().map(|l| l.kind.clone()).collect();
        assert_eq!(
            kinds,
            vec![
                LineKind::Comment,
                LineKind::Header(0),
                LineKind::Key { key: "a".into() },
                LineKind::Continuation { key_line: 2 },
                LineKind::Blank,
                LineKind::Header(1),
            ]
        );
        assert_eq!(s.headers[1].line, 5);
    }
}
