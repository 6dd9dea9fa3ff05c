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

/// Splits `text` into words as `shlex.split(text)` does.
pub fn split(text: &str) -> Result<Vec<String>, SplitError> {
    let _ = text;
    todo!("profile::shell::split")
}
