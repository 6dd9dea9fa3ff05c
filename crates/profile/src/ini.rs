//! The reader: botocore's INI dialect (Python `RawConfigParser`, strict, no interpolation,
//! `=`/`:` delimiters, full-line `#`/`;` comments, continuation lines, `[DEFAULT]` inheritance),
//! plus botocore's nested sub-section parsing (`s3 =` followed by indented `key = value` lines).
//!
//! See `../shared/spec/files.md` §2 for every rule.

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
    let _ = text;
    todo!("profile::ini::parse")
}
