//! The `configure` writer: line-preserving, exact-match edits of a shared file (the AWS CLI's
//! `ConfigFileWriter` rules, `configure-cli.md` §6), written atomically under an advisory lock.

use std::path::Path;

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

/// An edit that cannot be made (the AWS CLI's validation texts; values are never echoed).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// Newline or carriage return in the section name.
    #[error(
        "Invalid section name: newline characters and carriage returns are not allowed: {0:?}"
    )]
    SectionName(String),
    /// Newline or carriage return in a key.
    #[error("Invalid key: newline characters and carriage returns are not allowed: {0:?}")]
    Key(String),
    /// Newline or carriage return in the value of `key`.
    #[error("Invalid value for key {0}: newline characters and carriage returns are not allowed.")]
    Value(String),
    /// The key exists as a scalar and a nested value was requested (the CLI crashes here).
    #[error("Cannot set a sub-key of {0}: it holds a value, not a section")]
    NotASection(String),
}

/// Why a file could not be written; the old file is left as it was.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The edit is invalid.
    #[error(transparent)]
    Edit(#[from] EditError),
    /// Reading, locking or writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or directory at fault.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
}

/// Applies `edit` to the text of a file (`None`: the file does not exist yet) and returns the
/// new text, changing only the lines the CLI's writer changes.
pub fn apply(text: Option<&str>, edit: &SectionEdit) -> Result<String, EditError> {
    let _ = (text, edit);
    todo!("profile::writer::apply")
}

/// Applies `edit` to the file at `path` under an advisory lock and replaces it atomically
/// (temp file, fsync, rename). Creates missing parent directories and a new file with mode
/// 0600; keeps the mode of an existing file; writes through a symlink to its target.
pub fn update_file(path: &Path, edit: &SectionEdit) -> Result<(), WriteError> {
    let _ = (path, edit);
    todo!("profile::writer::update_file")
}

/// Replaces `path` with `bytes` atomically (temp file in the same directory, fsync, rename)
/// with file mode `mode`, creating the parent directory if needed.
pub fn write_atomic(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    let _ = (path, bytes, mode);
    todo!("profile::writer::write_atomic")
}
