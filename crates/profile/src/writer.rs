//! The `configure` writer: line-preserving, exact-match edits of a shared file (the AWS CLI's
//! `ConfigFileWriter` rules, `docs/spec/configure-cli.md` §6), written atomically under an advisory lock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::atomic;
use crate::ini::{self, LineKind, Scan};
use crate::set::SectionKind;
use crate::{py, IniFile, ParseError, Properties, Value};

/// A new value for one key of a section.
#[derive(Clone, PartialEq, Eq)]
pub enum EditValue {
    /// `key = value`.
    Scalar(String),
    /// `key =` followed by indented `sub = value` lines (merged into an existing block).
    Nested(Vec<(String, String)>),
    /// Delete the `key = …` line (v2 wizard: dropping `aws_session_token`).
    Remove,
}

impl std::fmt::Debug for EditValue {
    // Values may be secrets; never print them.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EditValue::Scalar(_) => f.write_str("Scalar(..)"),
            EditValue::Nested(items) => f
                .debug_list()
                .entries(items.iter().map(|(k, _)| k))
                .finish(),
            EditValue::Remove => f.write_str("Remove"),
        }
    }
}

/// An edit of one section: the section name exactly as it is written between the brackets
/// (`default`, `profile dev`, `profile 'my prof'`, `dev`, `sso-session s`) and its new values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionEdit {
    /// Section name as written in the header.
    pub section: String,
    /// Keys to set, in order.
    pub values: Vec<(String, EditValue)>,
}

/// Which shared file an edit targets; it decides how section headers are matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// The config file: headers are matched by what they mean to the reader (`[profile  x]`,
    /// `[profile "x"]` and `[profiles x]` are all profile `x`; of several, the last one wins).
    Config,
    /// The credentials file: section names are literal profile names.
    Credentials,
}

/// An edit that cannot be made (the AWS CLI's validation texts; values are never echoed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Newline or carriage return in the section name.
    #[error("Invalid section name: newline characters and carriage returns are not allowed: {}", py::repr(.0))]
    SectionName(String),
    /// Newline or carriage return in a key.
    #[error("Invalid key: newline characters and carriage returns are not allowed: {}", py::repr(.0))]
    Key(String),
    /// Newline or carriage return in the value of `key`.
    #[error("Invalid value for key {0}: newline characters and carriage returns are not allowed.")]
    Value(String),
    /// The key exists as a scalar and a nested value was requested (the CLI crashes here).
    #[error("Cannot set a sub-key of {0}: it holds a value, not a section")]
    NotASection(String),
    /// The key holds a nested section and a plain value was requested: the CLI keeps the
    /// sub-key lines, which the reader then takes as part of the new value; replacing the
    /// block would lose them. Names the sub-keys, never their values.
    #[error("Cannot set {key} to a value: it holds a section ({}); set its keys as {key}.KEY, or remove them first", .subkeys.join(", "))]
    IsASection {
        /// The key.
        key: String,
        /// The names of its sub-keys, in file order.
        subkeys: Vec<String>,
    },
    /// The existing text does not parse, so no edit can be trusted.
    #[error(transparent)]
    Parse(ParseError),
    /// The section name would not be read back as the section meant (empty, or a
    /// `profile …` name that is not exactly two shell words).
    #[error("Cannot write section [{0}]: the file reader would not read it back as that section")]
    Unaddressable(String),
    /// The edited text would not read back as intended (it would change other settings);
    /// nothing is written.
    #[error("Refusing to edit section [{0}]: the change would not read back as intended or would alter other settings")]
    Unsafe(String),
}

/// Why a file could not be written; the old file is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The edit is invalid.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// The existing file does not parse; it is never written.
    #[error("Unable to parse config file: {}: {error}", path.display())]
    Parse {
        /// The file at fault.
        path: PathBuf,
        /// The line and reason.
        error: ParseError,
    },
    /// Reading, locking or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory at fault.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

impl From<atomic::FileError> for WriteError {
    fn from(e: atomic::FileError) -> WriteError {
        WriteError::Io {
            path: e.path,
            source: e.source,
        }
    }
}

/// Applies `edit` to the text of a config file (`None`: the file does not exist yet) and
/// returns the new text, changing only the lines the CLI's writer changes. Same as
/// [`apply_to`] with [`FileKind::Config`].
pub fn apply(text: Option<&str>, edit: &SectionEdit) -> Result<String, EditError> {
    apply_to(FileKind::Config, text, edit)
}

/// Applies `edit` to the text of a shared file of kind `kind`.
///
/// For well-formed files the result is byte for byte what the AWS CLI's `ConfigFileWriter`
/// writes. Where the CLI would corrupt the file (it matches headers and keys literally and
/// case-sensitively), the section and key are found the way the reader sees them instead,
/// and the result is re-read to prove that exactly the requested values changed.
pub fn apply_to(
    kind: FileKind,
    text: Option<&str>,
    edit: &SectionEdit,
) -> Result<String, EditError> {
    validate(edit)?;
    let target = Target::of(kind, &edit.section)?;
    let Some(text) = text else {
        let mut out = String::new();
        append_section(&mut out, edit);
        verify(&target, "", &out, edit)?;
        return Ok(out);
    };
    let scan = ini::scan(text).map_err(EditError::Parse)?;
    let out = match find_section(&scan, &target) {
        Some(header) => {
            // The CLI writes a replaced key line at column 0. When the section's keys are
            // indented that can turn the following keys into continuation lines, so if the
            // CLI's form does not read back, keep the line's own indentation instead.
            let cli_form = edit_section(&scan, header, edit, false)?;
            match verify(&target, text, &cli_form, edit) {
                Ok(()) => return Ok(cli_form),
                Err(EditError::Unsafe(_)) => edit_section(&scan, header, edit, true)?,
                Err(e) => return Err(e),
            }
        }
        // Nothing to remove from a section that does not exist. (An edit with no values at
        // all still creates the section, as the CLI's writer does.)
        None if !edit.values.is_empty()
            && edit
                .values
                .iter()
                .all(|(_, v)| matches!(v, EditValue::Remove)) =>
        {
            return Ok(text.to_owned())
        }
        None => {
            let mut out = text.to_owned();
            append_section(&mut out, edit);
            out
        }
    };
    verify(&target, text, &out, edit)?;
    Ok(out)
}

/// The CLI's newline checks, in its order: section name, then each key and value.
fn validate(edit: &SectionEdit) -> Result<(), EditError> {
    let bad = |s: &str| s.contains(['\n', '\r']);
    if bad(&edit.section) {
        return Err(EditError::SectionName(edit.section.clone()));
    }
    for (key, value) in &edit.values {
        if bad(key) {
            return Err(EditError::Key(key.clone()));
        }
        match value {
            EditValue::Scalar(v) if bad(v) => return Err(EditError::Value(key.clone())),
            EditValue::Nested(items) => {
                for (sub, v) in items {
                    if bad(sub) {
                        return Err(EditError::Key(sub.clone()));
                    }
                    if bad(v) {
                        return Err(EditError::Value(key.clone()));
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// The section an edit addresses, as the reader identifies sections.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Target {
    Config(SectionKind),
    Credentials(String),
}

impl Target {
    fn of(kind: FileKind, section: &str) -> Result<Target, EditError> {
        let unaddressable = || EditError::Unaddressable(section.to_owned());
        if section.is_empty() || section == "DEFAULT" {
            return Err(unaddressable());
        }
        match kind {
            FileKind::Credentials => Ok(Target::Credentials(section.to_owned())),
            FileKind::Config => match SectionKind::of_config_section(section) {
                SectionKind::Dropped => Err(unaddressable()),
                k => Ok(Target::Config(k)),
            },
        }
    }

    fn matches(&self, raw_name: &str) -> bool {
        match self {
            Target::Credentials(name) => name == raw_name,
            Target::Config(kind) => {
                raw_name != "DEFAULT" && SectionKind::of_config_section(raw_name) == *kind
            }
        }
    }

    fn name(&self) -> String {
        match self {
            Target::Credentials(n) => n.clone(),
            Target::Config(k) => format!("{k:?}"),
        }
    }
}

/// The header the reader lets win for `target`: the last one that maps to it.
fn find_section(scan: &Scan<'_>, target: &Target) -> Option<usize> {
    scan.headers.iter().rposition(|h| target.matches(&h.name))
}

/// `[section]` and the values at the end of `out` (the CLI's `_write_new_section`).
fn append_section(out: &mut String, edit: &SectionEdit) {
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push('[');
    out.push_str(&edit.section);
    out.push_str("]\n");
    for (key, value) in &edit.values {
        push_value_lines(out, key, value, "");
    }
}

/// The lines the CLI writes for one new value (`_insert_new_values`).
fn push_value_lines(out: &mut String, key: &str, value: &EditValue, indent: &str) {
    match value {
        EditValue::Scalar(v) => {
            out.push_str(&format!("{indent}{key} = {v}\n"));
        }
        EditValue::Nested(items) => {
            out.push_str(&format!("{indent}{key} =\n"));
            for (sub, v) in items {
                out.push_str(&format!("{indent}    {sub} = {v}\n"));
            }
        }
        EditValue::Remove => {}
    }
}

/// The CLI's `OPTION_REGEX.search(line)`: the stripped text before the first `=`/`:` that
/// follows a non-delimiter character, and the leading whitespace of that text.
fn cli_option(line: &str) -> Option<(&str, usize)> {
    let is_delim = |c: char| c == '=' || c == ':';
    let start = line.find(|c: char| !is_delim(c))?;
    let rest = &line[start..];
    let end = rest.find(is_delim)?;
    let option = &rest[..end];
    Some((py::strip(option), py::indent_chars(option)))
}

/// The CLI's `SECTION_REGEX.search(line)`: optional whitespace, `[`, at least one character
/// that is not `]`, then `]`.
fn cli_section(line: &str) -> bool {
    py::lstrip(line)
        .strip_prefix('[')
        .and_then(|rest| rest.find(']'))
        .is_some_and(|close| close > 0)
}

/// A planned change to the file's lines (indices are line indices of the scan).
#[derive(Default)]
struct Plan {
    replace: BTreeMap<usize, String>,
    delete: Vec<usize>,
    /// Text inserted before line `i` (`i == len` means at the end), in order.
    insert: Vec<(usize, String)>,
    /// The last line gets a newline (it has none and something goes after it).
    final_newline: bool,
}

/// Edits the section whose header is `scan.headers[header]`: the CLI's
/// `_update_section_contents`, with keys and blocks found as the reader sees them.
fn edit_section(
    scan: &Scan<'_>,
    header: usize,
    edit: &SectionEdit,
    keep_indent: bool,
) -> Result<String, EditError> {
    let lines = &scan.lines;
    let n = lines.len();
    let start = scan.headers[header].line;
    let end = scan.headers.get(header + 1).map_or(n, |h| h.line);
    let mut pending: Vec<(String, EditValue)> = edit.values.clone();
    let mut plan = Plan::default();
    let mut last_matching = start;

    for j in start + 1..end {
        if cli_option(lines[j].raw.text).is_some() {
            last_matching = j;
        }
        let LineKind::Key { key } = &lines[j].kind else {
            continue;
        };
        let Some(pos) = pending
            .iter()
            .position(|(k, _)| py::lower(py::strip(k)) == *key)
        else {
            continue;
        };
        let (name, value) = pending.remove(pos);
        let block: Vec<usize> = (j + 1..end)
            .filter(|&c| lines[c].kind == LineKind::Continuation { key_line: j })
            .collect();
        match value {
            EditValue::Scalar(v) => {
                let text = lines[j].raw.text;
                if let Some(subkeys) = nested_subkeys(text, &block, lines) {
                    return Err(EditError::IsASection { key: name, subkeys });
                }
                let indent = if keep_indent {
                    &text[..text.len() - py::lstrip(text).len()]
                } else {
                    ""
                };
                plan.replace.insert(j, format!("{indent}{name} = {v}\n"));
                plan.delete.extend(&block);
            }
            EditValue::Remove => {
                plan.delete.push(j);
                plan.delete.extend(&block);
            }
            EditValue::Nested(subs) => {
                update_nested(scan, j, end, &name, subs, &block, &mut plan)?;
            }
        }
    }

    if pending.iter().any(|(_, v)| !matches!(v, EditValue::Remove)) {
        let at_eof = end == n;
        let cli_after = if at_eof {
            last_matching + 1
        } else {
            last_matching
        };
        // Never split a multi-line value: move past continuation lines of keys above.
        let mut after = cli_after.min(n - 1);
        for (c, line) in lines.iter().enumerate().take(end).skip(cli_after + 1) {
            if let LineKind::Continuation { key_line } = line.kind {
                if key_line <= cli_after {
                    after = c;
                }
            }
        }
        // An indented header right after the new lines would read as a continuation of the
        // new key (the CLI breaks such files); indent the new lines as deep as it.
        let indent = lines
            .iter()
            .skip(after + 1)
            .find(|l| !matches!(l.kind, LineKind::Blank | LineKind::Comment))
            .filter(|l| matches!(l.kind, LineKind::Header(_) | LineKind::Key { .. }))
            .map_or(0, |l| py::indent_chars(l.raw.text));
        let indent = " ".repeat(indent);
        let mut text = String::new();
        for (key, value) in &pending {
            push_value_lines(&mut text, key, value, &indent);
        }
        if at_eof {
            plan.final_newline = true;
        }
        plan.insert.push((after + 1, text));
    }
    Ok(render(scan, plan))
}

/// The sub-key names of the nested block under `key_text` (the reader's section form: an
/// empty value followed by `name = value` continuation lines); `None` for a plain value,
/// single- or multi-line.
fn nested_subkeys(
    key_text: &str,
    block: &[usize],
    lines: &[crate::ini::ScanLine<'_>],
) -> Option<Vec<String>> {
    let first_value = key_text
        .find(['=', ':'])
        .map_or("", |d| py::strip(&key_text[d + 1..]));
    if !first_value.is_empty() || block.is_empty() {
        return None;
    }
    let names: Vec<String> = block
        .iter()
        .filter_map(|&c| {
            let t = py::strip(lines[c].raw.text);
            let (k, _) = t.split_once(['=', ':'])?;
            Some(py::strip(k).to_owned())
        })
        .filter(|k| !k.is_empty())
        .collect();
    (!names.is_empty()).then_some(names)
}

/// Updates or adds sub-keys of the nested block of the key on line `j` (the CLI's
/// `_update_subattributes`, restricted to the block the reader sees).
fn update_nested(
    scan: &Scan<'_>,
    j: usize,
    end: usize,
    name: &str,
    subs: Vec<(String, String)>,
    block: &[usize],
    plan: &mut Plan,
) -> Result<(), EditError> {
    let lines = &scan.lines;
    let key_text = lines[j].raw.text;
    let first_value = key_text
        .find(['=', ':'])
        .map_or("", |d| py::strip(&key_text[d + 1..]));
    if !first_value.is_empty() {
        return Err(EditError::NotASection(name.to_owned()));
    }
    let mut pending = subs;
    for &c in block {
        let text = lines[c].raw.text;
        let Some((sub, _)) = py::strip(text).split_once('=') else {
            continue;
        };
        let sub = py::strip(sub);
        if let Some(pos) = pending.iter().position(|(k, _)| py::strip(k) == sub) {
            let (k, v) = pending.remove(pos);
            let indent = " ".repeat(py::indent_chars(text));
            plan.replace.insert(c, format!("{indent}{k} = {v}\n"));
        }
    }
    if pending.is_empty() {
        return Ok(());
    }
    let starting = py::indent_chars(key_text);
    // Where the CLI would insert: before the first line at the key's indent (as measured on
    // option-looking lines) or the next section header.
    let mut current: Option<usize> = None;
    let mut cli_at: Option<usize> = None;
    for (i, line) in lines.iter().enumerate().skip(j + 1) {
        if let Some((_, indent)) = cli_option(line.raw.text) {
            current = Some(indent);
        }
        match current {
            Some(indent) if indent == starting => {
                cli_at = Some(i);
                break;
            }
            _ if cli_section(line.raw.text) => {
                cli_at = Some(i);
                break;
            }
            // The CLI crashes here (its indent variable was never set).
            None => break,
            _ => {}
        }
    }
    if cli_at.is_none() && current.is_some() && current != Some(starting) {
        cli_at = Some(lines.len());
    }
    // The block as the reader sees it ends at the first line after `j` that is neither one
    // of its continuation lines nor blank nor a comment.
    let block_end = (j + 1..end)
        .find(|&i| {
            !matches!(
                lines[i].kind,
                LineKind::Blank | LineKind::Comment | LineKind::Continuation { .. }
            )
        })
        .unwrap_or(end);
    let at = match cli_at {
        Some(i) if i > j && i <= block_end => i,
        _ => block.last().map_or(j + 1, |&last| last + 1),
    };
    let indent = if starting < 4 {
        "    ".to_owned()
    } else {
        " ".repeat(starting + 4)
    };
    let mut text = String::new();
    for (k, v) in &pending {
        text.push_str(&format!("{indent}{k} = {v}\n"));
    }
    if at == lines.len() {
        plan.final_newline = true;
    }
    plan.insert.push((at, text));
    Ok(())
}

/// Writes the planned lines. Like the CLI (which reads in text mode) every kept line ends
/// with `\n`, whatever its original terminator.
fn render(scan: &Scan<'_>, plan: Plan) -> String {
    let n = scan.lines.len();
    let mut out = String::new();
    let mut inserts = plan.insert;
    inserts.sort_by_key(|(i, _)| *i);
    let mut next_insert = inserts.into_iter().peekable();
    for (i, line) in scan.lines.iter().enumerate() {
        while let Some((_, text)) = next_insert.next_if(|(at, _)| *at == i) {
            out.push_str(&text);
        }
        if plan.delete.contains(&i) {
            continue;
        }
        if let Some(text) = plan.replace.get(&i) {
            out.push_str(text);
            continue;
        }
        out.push_str(line.raw.text);
        if !line.raw.terminator.is_empty() || (i + 1 == n && plan.final_newline) {
            out.push('\n');
        }
    }
    for (_, text) in next_insert {
        out.push_str(&text);
    }
    out
}

/// What one file means to the reader, keyed the way edits address sections.
type View = BTreeMap<String, BTreeMap<String, Value>>;

fn view(target: &Target, file: IniFile) -> View {
    let mut out = View::new();
    for section in file.sections {
        let key = match target {
            Target::Credentials(_) => section.name,
            Target::Config(_) => match SectionKind::of_config_section(&section.name) {
                SectionKind::Dropped => continue,
                kind => format!("{kind:?}"),
            },
        };
        let props = section
            .properties
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect();
        out.insert(key, props);
    }
    out
}

/// Re-reads the edited text and checks that exactly the requested values changed.
fn verify(target: &Target, old: &str, new: &str, edit: &SectionEdit) -> Result<(), EditError> {
    match verify_by_sections(target, old, new, edit) {
        Some(result) => result,
        None => verify_by_views(target, old, new, edit),
    }
}

/// The section of `parsed` an edit of `target` addresses (the last one that maps to it).
fn target_section(target: &Target, parsed: &ini::Parsed, text: &str) -> Option<usize> {
    (0..parsed.sections.len())
        .rev()
        .find(|&i| target.matches(parsed.sections[i].name.get(text)))
}

/// The fast check, for files without `[DEFAULT]` (where sections read independently, since a
/// header resets the reader): every other section keeps its name and its lines, and the
/// target section reads back as expected. Only the target's properties are built, so editing
/// a file of 10,000 profiles stays cheap. `None` when a file has `[DEFAULT]`.
fn verify_by_sections(
    target: &Target,
    old: &str,
    new: &str,
    edit: &SectionEdit,
) -> Option<Result<(), EditError>> {
    let unsafe_edit = || Err(EditError::Unsafe(edit.section.clone()));
    let old_parsed = match ini::parse_independent_sections(old) {
        Ok(Some(p)) => p,
        Ok(None) => return None,
        Err(e) => return Some(Err(EditError::Parse(e))),
    };
    let new_parsed = match ini::parse_independent_sections(new) {
        Ok(Some(p)) => p,
        Ok(None) => return None,
        Err(_) => return Some(unsafe_edit()),
    };
    let old_t = target_section(target, &old_parsed, old);
    let Some(new_t) = target_section(target, &new_parsed, new) else {
        return Some(unsafe_edit());
    };
    let expected_len = old_parsed.sections.len() + usize::from(old_t.is_none());
    if new_parsed.sections.len() != expected_len || old_t.is_some_and(|t| t != new_t) {
        return Some(unsafe_edit());
    }
    if old_t.is_none() && new_t + 1 != new_parsed.sections.len() {
        return Some(unsafe_edit());
    }
    // Same lines, whatever their terminators (a rewrite turns CRLF into LF).
    let same_lines = |(a, b): (u32, u32), (c, d): (u32, u32)| {
        let old_lines = py::LineIter::new(&old[a as usize..b as usize]).map(|l| l.text);
        let new_lines = py::LineIter::new(&new[c as usize..d as usize]).map(|l| l.text);
        old_lines.eq(new_lines)
    };
    let others_new = (0..new_parsed.sections.len()).filter(|&i| i != new_t);
    for (o, n) in (0..old_parsed.sections.len())
        .filter(|&i| Some(i) != old_t)
        .zip(others_new)
    {
        let (os, ns) = (&old_parsed.sections[o], &new_parsed.sections[n]);
        if os.name.get(old) != ns.name.get(new) || !same_lines(os.body, ns.body) {
            return Some(unsafe_edit());
        }
    }
    let as_map = |props: Properties| -> BTreeMap<String, Value> {
        props
            .iter()
            .map(|(k, v)| (k.to_owned(), v.clone()))
            .collect()
    };
    let old_props = old_t.map(|t| as_map(old_parsed.properties(old, t)));
    let new_props = as_map(new_parsed.properties(new, new_t));
    Some(if expected_target(old_props, edit) == new_props {
        Ok(())
    } else {
        unsafe_edit()
    })
}

/// The target's properties after `edit`, as the reader will see them (keys stripped and
/// lower-cased, values stripped, nested values merged).
fn expected_target(
    old: Option<BTreeMap<String, Value>>,
    edit: &SectionEdit,
) -> BTreeMap<String, Value> {
    let mut expected = old.unwrap_or_default();
    for (name, value) in &edit.values {
        let k = py::lower(py::strip(name));
        match value {
            EditValue::Scalar(v) => {
                expected.insert(k, Value::Scalar(py::strip(v).to_owned()));
            }
            EditValue::Remove => {
                expected.remove(&k);
            }
            EditValue::Nested(subs) => {
                let mut items = match expected.remove(&k) {
                    Some(Value::Nested(items)) => items,
                    _ => Vec::new(),
                };
                for (sub, v) in subs {
                    let (sub, v) = (py::strip(sub), py::strip(v).to_owned());
                    match items.iter_mut().find(|(ek, _)| ek == sub) {
                        Some(slot) => slot.1 = v,
                        None => items.push((sub.to_owned(), v)),
                    }
                }
                expected.insert(k, Value::Nested(items));
            }
        }
    }
    expected
}

/// The full check (files with `[DEFAULT]`): the reader's whole view, before and after.
fn verify_by_views(
    target: &Target,
    old: &str,
    new: &str,
    edit: &SectionEdit,
) -> Result<(), EditError> {
    let unsafe_edit = || EditError::Unsafe(edit.section.clone());
    let new_file = ini::parse(new).map_err(|_| unsafe_edit())?;
    let old_file = ini::parse(old).map_err(EditError::Parse)?;
    let mut old_view = view(target, old_file);
    let mut new_view = view(target, new_file);
    let key = target.name();
    let old_target = old_view.remove(&key);
    let new_target = new_view.remove(&key).ok_or_else(unsafe_edit)?;
    if old_view != new_view {
        return Err(unsafe_edit());
    }
    let existed = old_target.is_some();
    let expected = expected_target(old_target, edit);
    let same = if existed {
        expected == new_target
    } else {
        // A new section also inherits `[DEFAULT]` keys; only the edited ones must match.
        expected.iter().all(|(k, v)| new_target.get(k) == Some(v))
    };
    if same {
        Ok(())
    } else {
        Err(unsafe_edit())
    }
}

/// Applies `edit` to the config file at `path` under an advisory lock and replaces it
/// atomically (temp file, fsync, rename). Same as [`update_file_as`] with
/// [`FileKind::Config`].
pub fn update_file(path: &Path, edit: &SectionEdit) -> Result<(), WriteError> {
    update_file_as(FileKind::Config, path, edit)
}

/// Applies `edit` to the shared file at `path` under an advisory lock and replaces it
/// atomically (temp file, fsync, rename; see [`crate::atomic`]). Creates missing parent
/// directories and a new file with mode 0600; keeps the mode of an existing file; writes
/// through a symlink to its target; removes temp files that dead writers of the file left
/// behind. A file that does not parse is never written.
///
/// Locking: an exclusive `flock` on the directory that holds the (symlink-resolved) file,
/// held from before the read until after the rename ([`atomic::Directory::lock`]).
pub fn update_file_as(kind: FileKind, path: &Path, edit: &SectionEdit) -> Result<(), WriteError> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| WriteError::Io { path: p, source }
    };
    // Validate before touching the disk, so a bad edit creates no directory.
    validate(edit)?;
    let real = atomic::resolve_symlinks(path).map_err(io(path))?;
    let dir = atomic::Directory::open(&atomic::parent_dir(&real), true)?;
    dir.lock()?;
    atomic::remove_stale_temps(&real);

    let existing = match std::fs::symlink_metadata(&real) {
        Ok(meta) if meta.is_file() => Some(meta),
        Ok(_) => {
            return Err(WriteError::Io {
                path: real,
                source: std::io::Error::other("not a regular file"),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(io(&real)(e)),
    };
    let old_bytes = match existing {
        Some(_) => {
            // The file is replaced by a rename, which needs no write access to the file
            // itself; honour a read-only file the way an in-place write (the CLI's) would.
            std::fs::OpenOptions::new()
                .write(true)
                .open(&real)
                .map_err(io(&real))?;
            Some(std::fs::read(&real).map_err(io(&real))?)
        }
        None => None,
    };
    let old_text = match &old_bytes {
        Some(bytes) => Some(ini::decode(bytes).map_err(|error| WriteError::Parse {
            path: real.clone(),
            error,
        })?),
        None => None,
    };
    let new_text = apply_to(kind, old_text, edit).map_err(|e| match e {
        EditError::Parse(error) => WriteError::Parse {
            path: real.clone(),
            error,
        },
        other => WriteError::Edit(other),
    })?;
    if old_text == Some(new_text.as_str()) {
        return Ok(());
    }
    let mode = existing
        .as_ref()
        .map_or(atomic::FileMode::new(0o600), atomic::FileMode::of);
    dir.replace(&real, new_text.as_bytes(), mode)?;
    // The lock is released when `dir` is dropped.
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(section: &str, values: &[(&str, EditValue)]) -> SectionEdit {
        SectionEdit {
            section: section.to_owned(),
            values: values
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect(),
        }
    }

    fn s(v: &str) -> EditValue {
        EditValue::Scalar(v.to_owned())
    }

    fn nested(k: &str, v: &str) -> EditValue {
        EditValue::Nested(vec![(k.to_owned(), v.to_owned())])
    }

    fn cfg(text: &str, section: &str, values: &[(&str, EditValue)]) -> String {
        apply(Some(text), &edit(section, values)).unwrap()
    }

    #[test]
    fn new_file_and_new_section() {
        let e = edit(
            "default",
            &[("region", s("us-west-2")), ("output", s("json"))],
        );
        assert_eq!(
            apply(None, &e).unwrap(),
            "[default]\nregion = us-west-2\noutput = json\n"
        );
        assert_eq!(
            cfg("[a]\nk = v", "profile dev", &[("region", s("r"))]),
            "[a]\nk = v\n[profile dev]\nregion = r\n"
        );
        // Appending keeps the original bytes, CRLF included.
        assert_eq!(
            cfg("[a]\r\nk = v\r\n", "b", &[("x", s("1"))]),
            "[a]\r\nk = v\r\n[b]\nx = 1\n"
        );
    }

    #[test]
    fn replace_normalises_the_line_and_keeps_everything_else() {
        let text = "# top\n[default]\nregion=us-east-1 \n# region = old\noutput : text\n\n[profile x]\nregion = a\n";
        assert_eq!(
            cfg(text, "default", &[("region", s("eu-west-3")), ("output", s("json"))]),
            "# top\n[default]\nregion = eu-west-3\n# region = old\noutput = json\n\n[profile x]\nregion = a\n"
        );
        // A rewrite turns CRLF into LF, as the CLI (text mode) does.
        assert_eq!(
            cfg(
                "[default]\r\nregion = a\r\n",
                "default",
                &[("region", s("b"))]
            ),
            "[default]\nregion = b\n"
        );
    }

    #[test]
    fn insert_after_the_last_key_looking_line() {
        assert_eq!(
            cfg(
                "[default]\nregion = a\n# note: x\n\n[b]\n",
                "default",
                &[("output", s("json"))]
            ),
            "[default]\nregion = a\n# note: x\noutput = json\n\n[b]\n"
        );
        // At the end of the file the CLI inserts one line further down.
        assert_eq!(
            cfg(
                "[default]\nregion = a\n\n# trailing comment\n",
                "default",
                &[("output", s("json"))]
            ),
            "[default]\nregion = a\n\noutput = json\n# trailing comment\n"
        );
        assert_eq!(
            cfg("[default]\nregion = a", "default", &[("output", s("j"))]),
            "[default]\nregion = a\noutput = j\n"
        );
    }

    #[test]
    fn nested_values() {
        assert_eq!(
            cfg(
                "[profile dev]\nregion = a\n",
                "profile dev",
                &[("s3", nested("max_concurrent_requests", "10"))]
            ),
            "[profile dev]\nregion = a\ns3 =\n    max_concurrent_requests = 10\n"
        );
        assert_eq!(
            cfg(
                "[d]\ns3 =\n  max = 1\nregion = x\n",
                "d",
                &[("s3", nested("max", "99"))]
            ),
            "[d]\ns3 =\n  max = 99\nregion = x\n"
        );
        assert_eq!(
            cfg(
                "[d]\ns3 =\n  max = 1\nregion = x\n",
                "d",
                &[("s3", nested("new_key", "nk"))]
            ),
            "[d]\ns3 =\n  max = 1\n    new_key = nk\nregion = x\n"
        );
        assert_eq!(
            cfg("[d]\ns3 =\n  max = 1", "d", &[("s3", nested("n", "1"))]),
            "[d]\ns3 =\n  max = 1\n    n = 1\n"
        );
    }

    #[test]
    fn nested_set_on_a_scalar_fails_cleanly() {
        let err = apply(
            Some("[d]\ns3 = flat\n"),
            &edit("d", &[("s3", nested("a", "1"))]),
        )
        .unwrap_err();
        assert_eq!(err, EditError::NotASection("s3".into()));
        // An empty value can become a block (the CLI crashes when nothing follows the key).
        assert_eq!(
            cfg("[d]\ns3 =\n", "d", &[("s3", nested("a", "1"))]),
            "[d]\ns3 =\n    a = 1\n"
        );
        assert_eq!(
            cfg("[d]\ns3 =\n\n", "d", &[("s3", nested("a", "1"))]),
            "[d]\ns3 =\n    a = 1\n\n"
        );
    }

    #[test]
    fn a_value_never_replaces_a_section() {
        let err = apply(
            Some("[d]\ns3 =\n  a = 1\n  b = 2\nregion = r\n"),
            &edit("d", &[("s3", s("flat"))]),
        )
        .unwrap_err();
        assert_eq!(
            err,
            EditError::IsASection {
                key: "s3".into(),
                subkeys: vec!["a".into(), "b".into()]
            }
        );
        assert_eq!(
            err.to_string(),
            "Cannot set s3 to a value: it holds a section (a, b); set its keys as s3.KEY, or remove them first"
        );
        // A multi-line plain value, or an empty one, is replaced as a whole.
        assert_eq!(
            cfg(
                "[d]\ndescription = x\n  y\nregion = r\n",
                "d",
                &[("description", s("z"))]
            ),
            "[d]\ndescription = z\nregion = r\n"
        );
        assert_eq!(
            cfg("[d]\ns3 =\n", "d", &[("s3", s("flat"))]),
            "[d]\ns3 = flat\n"
        );
    }

    #[test]
    fn corrupting_cli_cases_are_done_right() {
        // Indented header: the CLI appends a duplicate [default].
        assert_eq!(
            cfg(
                "  [default]\nregion = a\n",
                "default",
                &[("region", s("b"))]
            ),
            "  [default]\nregion = b\n"
        );
        // Spaced and quoted headers: the CLI appends a second section.
        assert_eq!(
            cfg(
                "[profile   x]\nregion = a\n",
                "profile x",
                &[("output", s("j"))]
            ),
            "[profile   x]\nregion = a\noutput = j\n"
        );
        assert_eq!(
            cfg(
                "[profile \"my prof\"]\nregion = a\n",
                "profile 'my prof'",
                &[("region", s("b"))]
            ),
            "[profile \"my prof\"]\nregion = b\n"
        );
        // Case trap: `Region` is the reader's `region`.
        assert_eq!(
            cfg("[default]\nRegion = a\n", "default", &[("region", s("b"))]),
            "[default]\nregion = b\n"
        );
        // [default] then [profile default]: the later one is what the reader uses.
        assert_eq!(
            cfg(
                "[default]\noutput = json\n[profile default]\nregion = a\n",
                "default",
                &[("region", s("b"))]
            ),
            "[default]\noutput = json\n[profile default]\nregion = b\n"
        );
        // A nested block's line is not a key of the section.
        assert_eq!(
            cfg(
                "[d]\ns3 =\n    region = in-block\n",
                "d",
                &[("region", s("r"))]
            ),
            "[d]\ns3 =\n    region = in-block\nregion = r\n"
        );
        // A multi-line value is replaced whole and never split by an insertion.
        assert_eq!(
            cfg("[d]\nregion = us-\n  east-1\n", "d", &[("region", s("eu"))]),
            "[d]\nregion = eu\n"
        );
        assert_eq!(
            cfg("[d]\nregion = us-\n  east-1\n", "d", &[("output", s("j"))]),
            "[d]\nregion = us-\n  east-1\noutput = j\n"
        );
        // A missing final newline after a trailing comment: the CLI glues the new key to it.
        assert_eq!(
            cfg("[d]\na = 1\n# c", "d", &[("b", s("2"))]),
            "[d]\na = 1\n# c\nb = 2\n"
        );
    }

    #[test]
    fn values_are_written_as_given() {
        assert_eq!(
            cfg("[d]\n", "d", &[("region", s(" padded "))]),
            "[d]\nregion =  padded \n"
        );
        assert_eq!(cfg("[d]\n", "d", &[("region", s(""))]), "[d]\nregion = \n");
        // A key the reader could not read back is refused, not written.
        assert!(matches!(
            apply(Some("[d]\n"), &edit("d", &[("", s("v"))])),
            Err(EditError::Unsafe(_))
        ));
        assert!(matches!(
            apply(Some("[d]\n"), &edit("d", &[("a=b", s("v"))])),
            Err(EditError::Unsafe(_))
        ));
        assert!(matches!(
            apply(None, &edit("d", &[("#k", s("v"))])),
            Err(EditError::Unsafe(_))
        ));
    }

    #[test]
    fn indented_keys_keep_their_indentation_when_they_must() {
        // Column 0 (the CLI's form) is fine when nothing depends on the indentation.
        assert_eq!(
            cfg("[d]\n  region = a\n", "d", &[("region", s("b"))]),
            "[d]\nregion = b\n"
        );
        // Here column 0 would make `description` a continuation of `region`.
        assert_eq!(
            cfg(
                "[d]\n\tregion:us-east-1\n\tdescription = x\n",
                "d",
                &[("region", s("eu"))]
            ),
            "[d]\n\tregion = eu\n\tdescription = x\n"
        );
    }

    #[test]
    fn an_edit_without_values_creates_the_section() {
        assert_eq!(
            apply(None, &edit("profile dev", &[])).unwrap(),
            "[profile dev]\n"
        );
        assert_eq!(
            cfg("[a]\n# c", "profile dev", &[]),
            "[a]\n# c\n[profile dev]\n"
        );
        // An existing section is rewritten as the CLI does (text mode: LF line ends).
        assert_eq!(
            cfg("[profile dev]\r\nk = v\r\n", "profile dev", &[]),
            "[profile dev]\nk = v\n"
        );
    }

    #[test]
    fn credentials_sections_are_literal() {
        let text = "[default]\naws_access_key_id = A\n[profile default]\nx = 1\n";
        let out = apply_to(
            FileKind::Credentials,
            Some(text),
            &edit("default", &[("aws_access_key_id", s("B"))]),
        )
        .unwrap();
        assert_eq!(
            out,
            "[default]\naws_access_key_id = B\n[profile default]\nx = 1\n"
        );
    }

    #[test]
    fn remove_deletes_the_key_and_its_lines() {
        let text = "[d]\naws_access_key_id = A\naws_session_token = T\n  more\nregion = r\n";
        let out = apply_to(
            FileKind::Credentials,
            Some(text),
            &edit("d", &[("aws_session_token", EditValue::Remove)]),
        )
        .unwrap();
        assert_eq!(out, "[d]\naws_access_key_id = A\nregion = r\n");
        assert_eq!(
            apply_to(
                FileKind::Credentials,
                Some("[x]\n"),
                &edit("d", &[("k", EditValue::Remove)])
            )
            .unwrap(),
            "[x]\n"
        );
    }

    #[test]
    fn validation_texts() {
        let err = apply(None, &edit("profile p\nq", &[("k", s("v"))])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid section name: newline characters and carriage returns are not allowed: 'profile p\\nq'"
        );
        let err = apply(None, &edit("d", &[("reg\nion", s("v"))])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid key: newline characters and carriage returns are not allowed: 'reg\\nion'"
        );
        let err = apply(None, &edit("d", &[("region", s("secret\rvalue"))])).unwrap_err();
        assert_eq!(err.to_string(), "Invalid value for key region: newline characters and carriage returns are not allowed.");
        assert!(matches!(
            apply(None, &edit("", &[("k", s("v"))])),
            Err(EditError::Unaddressable(_))
        ));
        assert!(matches!(
            apply(None, &edit("profile a b", &[("k", s("v"))])),
            Err(EditError::Unaddressable(_))
        ));
        assert!(matches!(
            apply(Some("[a]\n[a]\n"), &edit("a", &[("k", s("v"))])),
            Err(EditError::Parse(_))
        ));
    }

    #[test]
    fn update_file_creates_with_0600_and_keeps_modes_and_symlinks() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dir/config");
        update_file(&path, &edit("default", &[("region", s("r"))])).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[default]\nregion = r\n"
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        update_file(&path, &edit("default", &[("output", s("j"))])).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o640
        );

        let link = dir.path().join("link");
        std::os::unix::fs::symlink("sub/dir/config", &link).unwrap();
        update_file(&link, &edit("default", &[("region", s("r2"))])).unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "[default]\nregion = r2\noutput = j\n"
        );
        // No temp files are left behind.
        assert_eq!(
            std::fs::read_dir(dir.path().join("sub/dir"))
                .unwrap()
                .count(),
            1
        );
    }

    #[test]
    fn update_file_never_writes_an_unparseable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::fs::write(&path, "[a]\n[a]\n").unwrap();
        let err = update_file(&path, &edit("a", &[("k", s("v"))])).unwrap_err();
        assert!(
            err.to_string().starts_with("Unable to parse config file: "),
            "{err}"
        );
        assert!(err.to_string().contains("line 2"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[a]\n[a]\n");
        std::fs::write(&path, b"[a]\nk = \xff\n").unwrap();
        assert!(matches!(
            update_file(&path, &edit("a", &[("k", s("v"))])),
            Err(WriteError::Parse { .. })
        ));
    }

    #[test]
    fn a_path_that_is_a_directory_is_an_error() {
        // Permission failures are tested unprivileged in awsid's configure_set tests.
        let dir = tempfile::tempdir().unwrap();
        let err = update_file(dir.path(), &edit("d", &[("region", s("b"))])).unwrap_err();
        assert!(matches!(err, WriteError::Io { .. }));
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config");
        std::thread::scope(|scope| {
            for i in 0..16 {
                let path = &path;
                scope.spawn(move || {
                    update_file(path, &edit("default", &[(&format!("key{i}"), s("v"))])).unwrap();
                });
            }
        });
        let set = crate::ProfileSet::from_texts(
            &std::fs::read_to_string(&path).unwrap(),
            path.clone(),
            "",
            "c".into(),
        )
        .unwrap();
        assert_eq!(set.profile("default").unwrap().len(), 16);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        const HEADERS: [&str; 8] = [
            "[default]",
            "[profile a]",
            "[profile  b]",
            "[profile \"c d\"]",
            "[plugins]",
            "[sso-session s]",
            "  [profile e]",
            "[default] # main",
        ];
        const KEYS: [&str; 6] = ["region", "output", "Mixed_Case", "s3", "k", "other key"];

        /// A line of a section body: key line, comment, blank, or a nested block.
        fn body_line() -> impl Strategy<Value = String> {
            prop_oneof![
                (
                    0..KEYS.len(),
                    "[a-z0-9 =-]{0,8}",
                    prop::sample::select(vec!["=", " = ", ": ", "="])
                )
                    .prop_map(|(k, v, d)| format!("{}{d}{}", KEYS[k], v.trim())),
                Just("# comment = x".to_owned()),
                Just("; note".to_owned()),
                Just(String::new()),
                Just("   ".to_owned()),
                (0..KEYS.len()).prop_map(|k| format!("{} =\n    sub = 1\n  other = 2", KEYS[k])),
                Just("cont = a\n  continued".to_owned()),
            ]
        }

        /// Well-formed files: unique headers, unique keys per section, any line endings.
        fn file() -> impl Strategy<Value = String> {
            let section = (0..HEADERS.len(), prop::collection::vec(body_line(), 0..5));
            (
                prop::collection::vec(section, 0..5),
                prop::sample::select(vec!["\n", "\r\n"]),
                any::<bool>(),
            )
                .prop_map(|(sections, nl, final_nl)| {
                    let mut seen = std::collections::HashSet::new();
                    let mut lines = Vec::new();
                    for (h, body) in sections {
                        if !seen.insert(h) {
                            continue;
                        }
                        lines.push(HEADERS[h].to_owned());
                        let mut keys = std::collections::HashSet::new();
                        for line in body {
                            let key =
                                py::lower(py::strip(line.split(['=', ':']).next().unwrap_or("")));
                            if line.contains(['=', ':'])
                                && !line.starts_with(['#', ';'])
                                && !keys.insert(key)
                            {
                                continue;
                            }
                            lines.extend(line.split('\n').map(str::to_owned));
                        }
                    }
                    let mut text = lines.join(nl);
                    if final_nl && !text.is_empty() {
                        text.push_str(nl);
                    }
                    text
                })
        }

        fn norm_lines(text: &str) -> Vec<&str> {
            py::universal_lines(text).iter().map(|l| l.text).collect()
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            #[test]
            fn edits_touch_only_the_edited_lines(
                text in file(),
                section in prop::sample::select(vec!["default", "profile a", "profile b", "profile 'c d'", "plugins", "sso-session s", "profile e", "profile new"]),
                key in prop::sample::select(KEYS.to_vec()),
                value in "[a-zA-Z0-9/_.-]{0,12}",
                nested_sub in proptest::option::of("[a-z]{1,6}"),
            ) {
                prop_assume!(ini::parse(&text).is_ok());
                let ev = match &nested_sub {
                    Some(sub) => EditValue::Nested(vec![(sub.clone(), value.clone())]),
                    None => EditValue::Scalar(value.clone()),
                };
                let e = SectionEdit { section: section.to_owned(), values: vec![(key.to_owned(), ev)] };
                let out = match apply(Some(&text), &e) {
                    Ok(out) => out,
                    // Only a nested set on a key holding a non-empty value, or a plain value
                    // for a key holding a section, may be refused.
                    Err(EditError::NotASection(_)) if nested_sub.is_some() => return Ok(()),
                    Err(EditError::IsASection { .. }) if nested_sub.is_none() => {
                        let set = crate::ProfileSet::from_texts(&text, "c".into(), "", "k".into()).unwrap();
                        let target = Target::of(FileKind::Config, section).unwrap();
                        let props = match &target {
                            Target::Config(SectionKind::Profile(p)) => set.profile(p),
                            Target::Config(SectionKind::SsoSession(p)) => set.sso_session(p),
                            Target::Config(SectionKind::Plain(p)) => set.plain_section(p),
                            _ => None,
                        };
                        let held = props.and_then(|p| p.get(&py::lower(key)));
                        prop_assert!(held.is_some_and(|v| matches!(v, ini::Value::Nested(items) if !items.is_empty())),
                            "refused a plain value for {} although it holds no section", key);
                        return Ok(());
                    }
                    Err(err) => return Err(TestCaseError::fail(format!("{err}"))),
                };
                // The edited file parses and yields the new value.
                let set = crate::ProfileSet::from_texts(&out, "c".into(), "", "k".into()).unwrap();
                let target = Target::of(FileKind::Config, section).unwrap();
                let props = match &target {
                    Target::Config(SectionKind::Profile(p)) => set.profile(p),
                    Target::Config(SectionKind::SsoSession(p)) => set.sso_session(p),
                    Target::Config(SectionKind::Plain(p)) => set.plain_section(p),
                    _ => None,
                }.unwrap();
                let lk = py::lower(key);
                match &nested_sub {
                    Some(sub) => prop_assert_eq!(props.get(&lk).and_then(|v| v.sub(sub)), Some(value.as_str())),
                    None => prop_assert_eq!(props.get_str(&lk), Some(value.as_str())),
                }
                // Lines outside the edited section are unchanged and in place.
                let scan = ini::scan(&text).unwrap();
                let old = norm_lines(&text);
                let new = norm_lines(&out);
                let (start, end) = match find_section(&scan, &target) {
                    Some(h) => (scan.headers[h].line, scan.headers.get(h + 1).map_or(old.len(), |x| x.line)),
                    None => (old.len(), old.len()),
                };
                prop_assert_eq!(&new[..start], &old[..start]);
                prop_assert_eq!(&new[new.len() - (old.len() - end)..], &old[end..]);
                // Inside it, every line but the edited key's own lines survives, in order.
                let edited: Vec<usize> = (start..end).filter(|&i| match &scan.lines[i].kind {
                    LineKind::Key { key: k } => *k == lk,
                    LineKind::Continuation { key_line } => matches!(&scan.lines[*key_line].kind, LineKind::Key { key: k } if *k == lk),
                    _ => false,
                }).collect();
                let mut rest = new[start..new.len() - (old.len() - end)].iter();
                for i in (start..end).filter(|i| !edited.contains(i)) {
                    prop_assert!(rest.any(|l| *l == old[i]), "line {} ({:?}) lost or moved", i, old[i]);
                }
            }
        }
    }
}
