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

/// A failed command: its exit kind, the message printed on stderr, and the causes behind it
/// (shown only with `--debug`, so the message stays the CLI's).
#[derive(Debug)]
pub(crate) struct CliError {
    kind: ExitKind,
    /// Exactly what goes to stderr (the aws CLI wraps most messages as `\n<text>\n`).
    stderr: String,
    /// The `source()` chain of the error behind the message, outermost first.
    causes: Vec<String>,
}

impl CliError {
    /// An error printed as the aws CLI prints errors: `\n<message>\n` on stderr.
    pub(crate) fn new(kind: ExitKind, message: impl std::fmt::Display) -> CliError {
        CliError {
            kind,
            stderr: format!("\n{message}\n"),
            causes: Vec::new(),
        }
    }

    /// An error whose stderr text is given verbatim (for the few commands that do not wrap).
    pub(crate) fn raw(kind: ExitKind, stderr: impl Into<String>) -> CliError {
        CliError {
            kind,
            stderr: stderr.into(),
            causes: Vec::new(),
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

    /// Records what caused `error` (its `source()` chain, not `error` itself, whose text is
    /// already the message) for `--debug`.
    pub(crate) fn caused_by(mut self, error: &(dyn std::error::Error + 'static)) -> CliError {
        let mut source = error.source();
        while let Some(s) = source {
            self.causes.push(s.to_string());
            source = s.source();
        }
        self
    }

    /// The recorded causes (tests).
    #[cfg(test)]
    pub(crate) fn causes(&self) -> &[String] {
        &self.causes
    }

    /// Prints the message on stderr and returns the exit status; with `--debug` the causes
    /// are logged first.
    pub(crate) fn report(&self) -> u8 {
        for cause in &self.causes {
            tracing::debug!("caused by: {cause}");
        }
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(self.stderr.as_bytes());
        let _ = err.flush();
        self.kind.code()
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::general(&e).caused_by(&e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_are_kept_but_not_printed() {
        let e = awsid_credentials::CredentialsError::Connect {
            url: "http://127.0.0.1:9/".into(),
            source: awsid_credentials::http::TransportError::Connect(
                "error sending request: Connection refused (os error 111)".into(),
            ),
        };
        let cli = CliError::general(&e).caused_by(&e);
        assert_eq!(
            cli.stderr,
            "\nCould not connect to the endpoint URL: \"http://127.0.0.1:9/\"\n"
        );
        assert_eq!(
            cli.causes(),
            ["connection failed: error sending request: Connection refused (os error 111)"]
        );
    }
}
