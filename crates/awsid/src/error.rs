//! The one error report at the top of the binary: the aws CLI v2's stderr shapes and exit codes.

use std::io::Write;

/// What kind of failure ended the command; decides the exit status like the aws CLI v2 does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitKind {
    /// `configure get` found nothing (exit 1, no message).
    NotFound,
    /// Bad or missing arguments (exit 252).
    Usage,
    /// Configuration problem: no credentials, no region, export failures (exit 253).
    Configuration,
    /// The service answered with an error (exit 254).
    Service,
    /// Anything else (exit 255).
    General,
}

impl ExitKind {
    /// The process exit status for this kind.
    pub(crate) fn code(self) -> u8 {
        match self {
            ExitKind::NotFound => 1,
            ExitKind::Usage => 252,
            ExitKind::Configuration => 253,
            ExitKind::Service => 254,
            ExitKind::General => 255,
        }
    }
}

/// A failed command: its exit kind and the message printed on stderr.
#[derive(Debug)]
pub(crate) struct CliError {
    kind: ExitKind,
    /// Exactly what goes to stderr (the aws CLI wraps most messages as `\n<text>\n`).
    stderr: String,
}

impl CliError {
    /// An error printed as the aws CLI prints errors: `\n<message>\n` on stderr.
    pub(crate) fn new(kind: ExitKind, message: impl std::fmt::Display) -> CliError {
        CliError {
            kind,
            stderr: format!("\n{message}\n"),
        }
    }

    /// An error whose stderr text is given verbatim (for the few commands that do not wrap).
    pub(crate) fn raw(kind: ExitKind, stderr: impl Into<String>) -> CliError {
        CliError {
            kind,
            stderr: stderr.into(),
        }
    }

    /// A general error (exit 255).
    pub(crate) fn general(message: impl std::fmt::Display) -> CliError {
        CliError::new(ExitKind::General, message)
    }

    /// A configuration error (exit 253).
    pub(crate) fn configuration(message: impl std::fmt::Display) -> CliError {
        CliError::new(ExitKind::Configuration, message)
    }

    /// The exit kind (tests assert on it).
    #[cfg(test)]
    pub(crate) fn kind(&self) -> ExitKind {
        self.kind
    }

    /// Prints the message on stderr and returns the exit status.
    pub(crate) fn report(&self) -> u8 {
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(self.stderr.as_bytes());
        let _ = err.flush();
        self.kind.code()
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::general(e)
    }
}
