//! The reader: botocore's INI dialect (Python `RawConfigParser`, strict, no interpolation,
//! `=`/`:` delimiters, full-line `#`/`;` comments, continuation lines, `[DEFAULT]` inheritance),
//! plus botocore's nested sub-section parsing (`s3 =` followed by indented `key = value` lines).
//!
//! See `docs/spec/files.md` §2 for every rule.

use crate::py;
use rustc_hash::FxHashMap;

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

/// Parses file text exactly as botocore's `raw_config_parse` does (see `docs/spec/files.md` §2).
pub fn parse(text: &str) -> Result<IniFile, ParseError> {
    let (parsed, _) = read(text, false)?;
    let sections = (0..parsed.sections.len())
        .map(|i| Section {
            name: parsed.sections[i].name.get(text).to_owned(),
            line: parsed.sections[i].line as usize,
            properties: parsed.properties(text, i),
        })
        .collect();
    Ok(IniFile { sections })
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
    /// A `key = value` line.
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
    let (_, recorded) = read(text, true)?;
    Ok(recorded)
}

/// A byte range of the file text (files are limited to 4 GiB).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    end: u32,
}

impl Span {
    /// The span of `sub`, a sub-slice of `text`.
    fn of(text: &str, sub: &str) -> Span {
        let start = sub.as_ptr() as usize - text.as_ptr() as usize;
        Span {
            start: start as u32,
            end: (start + sub.len()) as u32,
        }
    }

    /// The text of this span.
    pub(crate) fn get(self, text: &str) -> &str {
        &text[self.start as usize..self.end as usize]
    }
}

/// An option's key: a span of the file when it is already lower-case, else the lowered text.
#[derive(Clone, Debug)]
enum Key {
    Span(Span),
    Lowered(Box<str>),
}

impl Key {
    fn get<'t>(&'t self, text: &'t str) -> &'t str {
        match self {
            Key::Span(s) => s.get(text),
            Key::Lowered(k) => k,
        }
    }
}

/// One option: key, first-line value, and its continuation pieces (a range of
/// [`Parsed::pieces`]; interior blank lines are empty pieces).
#[derive(Clone, Debug)]
struct Opt {
    key: Key,
    first: Span,
    more: (u32, u32),
}

/// One continuation piece and its 1-based line.
#[derive(Clone, Copy, Debug)]
struct Piece {
    text: Span,
    line: u32,
}

/// One section: name, 1-based header line, its options (a range of [`Parsed::options`];
/// empty when the file was read lazily) and its text, from its header to the next one.
#[derive(Clone, Debug)]
pub(crate) struct Sec {
    pub(crate) name: Span,
    line: u32,
    opts: (u32, u32),
    pub(crate) body: (u32, u32),
}

impl Sec {
    /// The 1-based line of the header.
    pub(crate) fn line(&self) -> usize {
        self.line as usize
    }
}

/// A whole file as the reader saw it, as spans of the text: nothing is copied until a
/// section's properties are asked for.
#[derive(Clone, Default)]
pub(crate) struct Parsed {
    /// Sections other than `[DEFAULT]`, in file order.
    pub(crate) sections: Vec<Sec>,
    options: Vec<Opt>,
    defaults: Vec<Opt>,
    /// Continuation pieces of `defaults` (`pieces`) and of `options` (`section_pieces`).
    pieces: Vec<Piece>,
    section_pieces: Vec<Piece>,
    /// Section options were checked and dropped: properties are re-read from the section's
    /// text when asked for.
    lazy: bool,
}

impl std::fmt::Debug for Parsed {
    // Spans only; no text (values may be secrets).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parsed")
            .field("sections", &self.sections.len())
            .field("options", &self.options.len())
            .finish()
    }
}

/// Parses `text` into spans; errors exactly where [`parse`] does. Sections' options are
/// validated but not kept (they are re-read on demand), unless the file has a `[DEFAULT]`
/// section, whose inheritance needs every section's keys.
pub(crate) fn parse_spans(text: &str) -> Result<Parsed, ParseError> {
    let (parsed, _) = read_mode(text, false, true)?;
    if parsed.has_defaults {
        return Ok(read(text, false)?.0);
    }
    Ok(parsed.parsed)
}

/// Parses `text` lazily for the writer's check: `None` when the file has a `[DEFAULT]`
/// section (whose keys every section inherits, so sections are not independent).
pub(crate) fn parse_independent_sections(text: &str) -> Result<Option<Parsed>, ParseError> {
    let (parsed, _) = read_mode(text, false, true)?;
    Ok((!parsed.has_defaults).then_some(parsed.parsed))
}

/// Which option list the reader is filling.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Current {
    Nothing,
    Section,
    Defaults,
}

/// `RawConfigParser._read` (strict, default options), line by line, then botocore's nested
/// block check; optionally records every line's classification for the writer.
fn read(text: &str, record_lines: bool) -> Result<(Parsed, Scan<'_>), ParseError> {
    let (parsed, scan) = read_mode(text, record_lines, false)?;
    Ok((parsed.parsed, scan))
}

/// [`read`]'s result, with whether a `[DEFAULT]` header was seen.
struct ReadResult {
    parsed: Parsed,
    has_defaults: bool,
}

/// The reader; `lazy` checks each section's options when the section ends and then drops
/// them, keeping only the section table.
fn read_mode(
    text: &str,
    record_lines: bool,
    lazy: bool,
) -> Result<(ReadResult, Scan<'_>), ParseError> {
    if u32::try_from(text.len()).is_err() {
        return Err(ParseError {
            line: 1,
            message: "the file is larger than 4 GiB".to_owned(),
        });
    }
    // Reserving by line count avoids re-copying growing tables (pages are only touched when
    // used, so over-reserving costs nothing).
    // Rough sizes (a section takes a few dozen bytes); tables still grow if needed.
    let lines_estimate = text.len() / 8 + 1;
    let brackets = text.len() / 48 + 1;
    let mut parsed = Parsed {
        sections: Vec::with_capacity(brackets),
        options: Vec::with_capacity(if lazy { 16 } else { lines_estimate }),
        lazy,
        ..Parsed::default()
    };
    let mut has_defaults = false;
    // The first bad nested block of a section's own keys (lazy mode checks as it goes).
    let mut nested_error: Option<ParseError> = None;
    // Modestly pre-sized: an over-sized hash table touches more memory than it saves.
    let mut by_name: FxHashMap<&str, ()> =
        FxHashMap::with_capacity_and_hasher(text.len() / 96, Default::default());
    let mut recorded = Scan {
        lines: Vec::new(),
        headers: Vec::new(),
    };
    let mut current = Current::Nothing;
    // The option continuation lines extend: (list, index, 0-based key line).
    let mut option: Option<(Current, usize, usize)> = None;
    let mut pending_blanks = 0u32;
    let mut indent_level = 0usize;

    for (idx, raw) in py::LineIter::new(text).enumerate() {
        let lineno = idx + 1;
        let value = py::strip(raw.text);
        let mut record = |kind: LineKind| {
            if record_lines {
                recorded.lines.push(ScanLine { raw, kind });
            }
        };
        if value.starts_with('#') || value.starts_with(';') {
            record(LineKind::Comment);
            continue;
        }
        if value.is_empty() {
            // Blank lines become empty pieces of the current value (dropped if trailing).
            if option.is_some() {
                pending_blanks += 1;
            }
            record(LineKind::Blank);
            continue;
        }
        let cur_indent = py::indent_chars(raw.text);
        if let Some((list, i, key_line)) = option.filter(|_| cur_indent > indent_level) {
            let (opt, pieces) = match list {
                Current::Defaults => (&mut parsed.defaults[i], &mut parsed.pieces),
                _ => (&mut parsed.options[i], &mut parsed.section_pieces),
            };
            for _ in 0..std::mem::take(&mut pending_blanks) {
                pieces.push(Piece {
                    text: Span::default(),
                    line: lineno as u32,
                });
            }
            pieces.push(Piece {
                text: Span::of(text, value),
                line: lineno as u32,
            });
            opt.more.1 = pieces.len() as u32;
            record(LineKind::Continuation { key_line });
            continue;
        }
        indent_level = cur_indent;
        if let Some(name) = header_name(value) {
            if name != "DEFAULT" && by_name.insert(name, ()).is_some() {
                return Err(ParseError {
                    line: lineno,
                    message: format!("section {} already exists", py::repr(name)),
                });
            }
            let line_start = Span::of(text, raw.text).start;
            parsed.close_section(text, line_start, &mut nested_error);
            if name == "DEFAULT" {
                current = Current::Defaults;
                has_defaults = true;
            } else {
                current = Current::Section;
                let at = parsed.options.len() as u32;
                parsed.sections.push(Sec {
                    name: Span::of(text, name),
                    line: lineno as u32,
                    opts: (at, at),
                    body: (line_start, line_start),
                });
            }
            option = None;
            pending_blanks = 0;
            if record_lines {
                recorded.headers.push(HeaderLine {
                    name: name.to_owned(),
                    line: idx,
                });
            }
            record(LineKind::Header(recorded.headers.len().saturating_sub(1)));
            continue;
        }
        if current == Current::Nothing {
            return Err(ParseError {
                line: lineno,
                message: "a setting appears before the first [section] header".to_owned(),
            });
        }
        // Both delimiters are ASCII, so a byte search finds the first one.
        let Some(delim) = value.bytes().position(|b| b == b'=' || b == b':') else {
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
        let key = match py::lower_cow(key_text) {
            std::borrow::Cow::Borrowed(k) => Key::Span(Span::of(text, k)),
            std::borrow::Cow::Owned(k) => Key::Lowered(k.into_boxed_str()),
        };
        let key_str = key.get(text);
        let list = match current {
            Current::Defaults => &mut parsed.defaults,
            _ => &mut parsed.options,
        };
        let in_section = match current {
            Current::Defaults => &list[..],
            _ => {
                let start = parsed.sections.last().map_or(0, |s| s.opts.0 as usize);
                &list[start..]
            }
        };
        if in_section.iter().any(|o| o.key.get(text) == key_str) {
            let section_name = match current {
                Current::Defaults => "DEFAULT",
                _ => parsed.sections.last().map_or("", |s| s.name.get(text)),
            };
            return Err(ParseError {
                line: lineno,
                message: format!(
                    "option {} in section {} already exists",
                    py::repr(key_str),
                    py::repr(section_name)
                ),
            });
        }
        if record_lines {
            record(LineKind::Key {
                key: key_str.to_owned(),
            });
        }
        let at = match current {
            Current::Defaults => parsed.pieces.len(),
            _ => parsed.section_pieces.len(),
        } as u32;
        list.push(Opt {
            key,
            first: Span::of(text, py::strip(&value[delim + 1..])),
            more: (at, at),
        });
        let index = list.len() - 1;
        if current == Current::Section {
            if let Some(s) = parsed.sections.last_mut() {
                s.opts.1 = parsed.options.len() as u32;
            }
        }
        option = Some((current, index, idx));
        pending_blanks = 0;
    }
    parsed.close_section(text, text.len() as u32, &mut nested_error);
    if lazy {
        if let Some(e) = nested_error {
            return Err(e);
        }
    } else if let Some(e) = parsed.nested_error(text) {
        return Err(e);
    }
    Ok((
        ReadResult {
            parsed,
            has_defaults,
        },
        recorded,
    ))
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

/// The 1-based line holding byte `offset` of `text` (universal newlines: `\n`, `\r\n`, `\r`).
fn line_at(text: &str, offset: usize) -> usize {
    let bytes = &text.as_bytes()[..offset];
    let breaks = bytes
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' || (b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n')))
        .count();
    breaks + 1
}

/// `\[(?P<header>.+)\]` matched at the start of the stripped line: the text between the first
/// `[` and the last `]`, at least one character.
pub(crate) fn header_name(stripped: &str) -> Option<&str> {
    let rest = stripped.strip_prefix('[')?;
    let close = rest.rfind(']')?;
    (close > 0).then(|| &rest[..close])
}

impl Parsed {
    fn section_opts(&self, i: usize) -> &[Opt] {
        let (a, b) = self.sections[i].opts;
        &self.options[a as usize..b as usize]
    }

    /// Continuation pieces of a section option.
    fn pieces_of(&self, o: &Opt) -> &[Piece] {
        &self.section_pieces[o.more.0 as usize..o.more.1 as usize]
    }

    /// Continuation pieces of a `[DEFAULT]` option.
    fn default_pieces_of(&self, o: &Opt) -> &[Piece] {
        &self.pieces[o.more.0 as usize..o.more.1 as usize]
    }

    /// Ends the last section at byte `end`; in lazy mode checks its nested blocks (keeping the
    /// first error) and drops its options.
    fn close_section(&mut self, text: &str, end: u32, nested_error: &mut Option<ParseError>) {
        let Some(last) = self.sections.len().checked_sub(1) else {
            return;
        };
        self.sections[last].body.1 = end;
        if !self.lazy {
            return;
        }
        if nested_error.is_none() {
            *nested_error = self.section_opts(last).iter().find_map(|o| {
                self.bad_nested_line(text, o, self.pieces_of(o))
                    .map(|line| nested_parse_error(line, o.key.get(text)))
            });
        }
        self.options.clear();
        self.section_pieces.clear();
        self.sections[last].opts = (0, 0);
    }

    /// The properties of section `i`: its own keys, then inherited `[DEFAULT]` keys.
    pub(crate) fn properties(&self, text: &str, i: usize) -> Properties {
        if self.lazy {
            // Lazy files have no [DEFAULT]: the section's own text says everything.
            let (start, end) = self.sections[i].body;
            let body = &text[start as usize..end as usize];
            return match read(body, false) {
                Ok((one, _)) if one.sections.len() == 1 => one.properties(body, 0),
                _ => Properties::default(),
            };
        }
        let own = self.section_opts(i);
        let mut entries = Vec::with_capacity(own.len() + self.defaults.len());
        for o in own {
            entries.push((
                o.key.get(text).to_owned(),
                self.value(text, o, self.pieces_of(o)),
            ));
        }
        for d in &self.defaults {
            let k = d.key.get(text);
            if !own.iter().any(|o| o.key.get(text) == k) {
                entries.push((k.to_owned(), self.value(text, d, self.default_pieces_of(d))));
            }
        }
        Properties { entries }
    }

    /// The 1-based line where section `i` sets `key` (its own line, or the inherited
    /// `[DEFAULT]` line); with `sub`, the line of that sub-key inside a nested block (the last
    /// one, as the reader keeps the last value). `None` when the section does not set it.
    pub(crate) fn key_line(
        &self,
        text: &str,
        i: usize,
        key: &str,
        sub: Option<&str>,
    ) -> Option<usize> {
        if self.lazy {
            // Lazy files have no [DEFAULT]: re-read the section's own text.
            let sec = &self.sections[i];
            let body = &text[sec.body.0 as usize..sec.body.1 as usize];
            let (one, _) = read(body, false).ok()?;
            let line = one.key_line(body, 0, key, sub)?;
            return Some(sec.line as usize + line - 1);
        }
        let own = self.section_opts(i);
        let (o, pieces) = match own.iter().find(|o| o.key.get(text) == key) {
            Some(o) => (o, self.pieces_of(o)),
            None => {
                let d = self.defaults.iter().find(|d| d.key.get(text) == key)?;
                (d, self.default_pieces_of(d))
            }
        };
        let Some(sub) = sub else {
            return Some(line_at(text, o.first.start as usize));
        };
        pieces
            .iter()
            .rev()
            .find(|p| {
                py::splitlines(p.text.get(text)).into_iter().any(|line| {
                    py::strip(line)
                        .split_once('=')
                        .is_some_and(|(k, _)| py::strip(k) == sub)
                })
            })
            .map(|p| p.line as usize)
    }

    /// `'\n'.join(parts).rstrip()`, parsed by `_parse_nested` when it starts with a newline.
    fn value(&self, text: &str, o: &Opt, pieces: &[Piece]) -> Value {
        let first = o.first.get(text);
        if pieces.is_empty() {
            // One line, already stripped; trailing blank lines do not count.
            return Value::Scalar(first.to_owned());
        }
        if !first.is_empty() {
            let mut out = String::with_capacity(
                first.len()
                    + pieces
                        .iter()
                        .map(|p| p.text.get(text).len() + 1)
                        .sum::<usize>(),
            );
            out.push_str(first);
            for p in pieces {
                out.push('\n');
                out.push_str(p.text.get(text));
            }
            return Value::Scalar(out);
        }
        let mut items: Vec<(String, String)> = Vec::new();
        for p in pieces {
            for sub in py::splitlines(p.text.get(text)) {
                let sub = py::strip(sub);
                let Some((k, v)) = sub.split_once('=') else {
                    continue;
                };
                let (k, v) = (py::strip(k), py::strip(v));
                match items.iter_mut().find(|(ek, _)| ek == k) {
                    Some(slot) => slot.1 = v.to_owned(),
                    None => items.push((k.to_owned(), v.to_owned())),
                }
            }
        }
        Value::Nested(items)
    }

    /// The line of the first line without `=` in a nested block, if any.
    fn bad_nested_line(&self, text: &str, o: &Opt, pieces: &[Piece]) -> Option<usize> {
        if !o.first.get(text).is_empty() {
            return None;
        }
        pieces.iter().find_map(|p| {
            let piece = p.text.get(text);
            // Most pieces are one line with an '=': no need to split them.
            let bad = if piece.contains(py::is_splitlines_break) {
                py::splitlines(piece).into_iter().any(|sub| {
                    let sub = py::strip(sub);
                    !sub.is_empty() && !sub.contains('=')
                })
            } else {
                !piece.is_empty() && !piece.contains('=')
            };
            bad.then_some(p.line as usize)
        })
    }

    /// The first nested block (in botocore's processing order) that does not parse.
    fn nested_error(&self, text: &str) -> Option<ParseError> {
        let error = nested_parse_error;
        // botocore walks sections in order and, within each, the section's own keys and then
        // the inherited defaults; the first bad block raises.
        for i in 0..self.sections.len() {
            let own = self.section_opts(i);
            for o in own {
                if let Some(line) = self.bad_nested_line(text, o, self.pieces_of(o)) {
                    return Some(error(line, o.key.get(text)));
                }
            }
            for d in &self.defaults {
                let k = d.key.get(text);
                if !own.iter().any(|o| o.key.get(text) == k) {
                    if let Some(line) = self.bad_nested_line(text, d, self.default_pieces_of(d)) {
                        return Some(error(line, k));
                    }
                }
            }
        }
        None
    }
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
