//! The one error report at the top of the binary, written the way the aws CLI v2 writes errors
//! since 2.34.0 (`awscli/errorhandler.py`, `awscli/errorformat.py`): every error goes through
//! one writer, `\n<prog>: [ERROR]: <message>\n`, and the handler that catches it decides the
//! exit status and the structured code shown by `cli_error_format`.
//!
//! How a command reports a failure: build a [`CliError`] with the constructor of the v2
//! handler that would catch it — [`CliError::param_validation`] (252),
//! [`CliError::configuration`] (253), [`CliError::service`] (254), [`CliError::general`] (255)
//! — or let [`CliError::from_credentials`] classify a library error the way v2 classifies the
//! botocore exception it stands for. Usage errors of the command line itself come from
//! [`usage::from_clap`] (clap's errors reworded as v2's argparse errors). `main` prints the one
//! report with [`CliError::report`] in the [`ErrorFormat`] the user chose.

pub(crate) mod format;
pub(crate) mod usage;

mod difflib;

use std::io::Write;

use awsid_credentials::{CredentialsError, ServiceError};

pub(crate) use format::ErrorFormat;

/// The program name in front of every error and warning (v2 writes `aws`).
pub(crate) const PROG: &str = "awsid";

/// What kind of failure ended the command; decides the exit status like the aws CLI v2 does
/// (`awscli/constants.py`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExitKind {
    /// `configure get` found nothing (exit 1, no message).
    NotFound,
    /// Bad or missing arguments, parameter validation (exit 252).
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

/// Which v2 handler reports the error: the exit status, the structured `Code`, and whether
/// the error is structured at all.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Class {
    /// `ParamValidationErrorsHandler`: code `ParamValidation`, exit 252.
    ParamValidation,
    /// `UnknownArgumentErrorHandler`: usage text first, never structured, exit 252.
    UnknownArgument,
    /// `ConfigurationErrorHandler`: code `Configuration`, exit 253.
    Configuration,
    /// `NoRegionErrorHandler`: code `NoRegion`, exit 253.
    NoRegion,
    /// `NoCredentialsErrorHandler`: code `NoCredentials`, exit 253.
    NoCredentials,
    /// `ClientErrorHandler`: the service's own code and message, exit 254.
    Service { code: String, message: String },
    /// `GeneralExceptionHandler`: never structured, exit 255.
    General,
    /// A command that exits 1 with its own stderr text (`configure get`).
    NotFound,
}

/// A failed command: how v2 would classify it and what it says.
#[derive(Debug)]
pub(crate) struct CliError {
    class: Class,
    /// The message (`str(exception)` in v2 terms; for a service error the full
    /// `An error occurred (…) when calling the … operation: …` text).
    message: String,
    /// awsid's context (e.g. the profile and provider that failed): v2's `Additional error
    /// details:` block after the message, fields of the structured formats, nothing in the
    /// legacy form.
    details: Vec<(String, String)>,
    /// The `source()` chain of the error behind the message, outermost first: logged by
    /// `--debug`, never part of the report (the message stays v2's).
    causes: Vec<String>,
}

impl CliError {
    fn of(class: Class, message: impl std::fmt::Display) -> CliError {
        CliError {
            class,
            message: message.to_string(),
            details: Vec::new(),
            causes: Vec::new(),
        }
    }

    /// Records what caused `error` — its `source()` chain, not `error` itself, whose text is
    /// the message already — for `--debug`.
    pub(crate) fn caused_by(mut self, error: &(dyn std::error::Error + 'static)) -> CliError {
        let mut source = error.source();
        while let Some(s) = source {
            self.causes.push(s.to_string());
            source = s.source();
        }
        self
    }

    /// The recorded causes, outermost first.
    #[cfg(test)]
    pub(crate) fn causes(&self) -> &[String] {
        &self.causes
    }

    /// An error of `kind` for code written before the handler classes (a service error gets
    /// the code `Unknown`). Prefer the named constructors, which give the structured code.
    pub(crate) fn new(kind: ExitKind, message: impl std::fmt::Display) -> CliError {
        match kind {
            ExitKind::Usage => CliError::param_validation(message),
            ExitKind::Configuration => CliError::configuration(message),
            ExitKind::NotFound => CliError::not_found(message.to_string()),
            ExitKind::Service => CliError::of(
                Class::Service {
                    code: "Unknown".to_owned(),
                    message: message.to_string(),
                },
                message,
            ),
            ExitKind::General => CliError::general(message),
        }
    }

    /// A parameter validation error (v2 `ParamValidationError`, argparse errors): exit 252.
    pub(crate) fn param_validation(message: impl std::fmt::Display) -> CliError {
        CliError::of(Class::ParamValidation, message)
    }

    /// Unknown options of a service operation (v2 `UnknownArgumentError`): the usage text,
    /// then the message; exit 252, never structured.
    pub(crate) fn unknown_argument(message: impl std::fmt::Display) -> CliError {
        CliError::of(Class::UnknownArgument, message)
    }

    /// A configuration error (v2 `ConfigurationError`): exit 253.
    pub(crate) fn configuration(message: impl std::fmt::Display) -> CliError {
        CliError::of(Class::Configuration, message)
    }

    /// botocore's `NoRegionError` as v2 reports it (with its `aws configure` hint): exit 253.
    pub(crate) fn no_region() -> CliError {
        CliError::of(
            Class::NoRegion,
            "You must specify a region. You can also configure your region by running \"aws configure\".",
        )
    }

    /// botocore's `NoCredentialsError` as v2 reports it since 2.32.0 (hint `aws login`):
    /// exit 253.
    pub(crate) fn no_credentials() -> CliError {
        CliError::of(
            Class::NoCredentials,
            "Unable to locate credentials. You can configure credentials by running \"aws login\".",
        )
    }

    /// An error answered by a service (botocore `ClientError`): exit 254.
    pub(crate) fn service(e: &ServiceError) -> CliError {
        CliError::of(
            Class::Service {
                code: e.code.clone(),
                message: e.message.clone(),
            },
            e,
        )
    }

    /// Any other error (v2's `GeneralExceptionHandler`): exit 255, never structured.
    pub(crate) fn general(message: impl std::fmt::Display) -> CliError {
        CliError::of(Class::General, message)
    }

    /// `configure get`'s "not found": exit 1 with `stderr` written verbatim (often nothing).
    pub(crate) fn not_found(stderr: impl Into<String>) -> CliError {
        CliError {
            class: Class::NotFound,
            message: stderr.into(),
            details: Vec::new(),
            causes: Vec::new(),
        }
    }

    /// A command that reports its own failure with v2's `write_error` and returns 1
    /// (`configure mfa-login`): `\n<prog>: [ERROR]: <message>\n`, never structured.
    pub(crate) fn command_failed(message: &str) -> CliError {
        CliError::not_found(error_line(message))
    }

    /// A library error, classified as v2 classifies the botocore exception it stands for:
    /// `ClientError` 254, `NoRegionError` 253, `ParamValidationError` 252, everything else
    /// (`ProfileNotFound`, `ConfigParseError`, `CredentialRetrievalError`, connection errors…)
    /// 255.
    pub(crate) fn from_credentials(e: CredentialsError) -> CliError {
        match &e {
            CredentialsError::Service(s) => CliError::service(s),
            CredentialsError::NoRegion => CliError::no_region(),
            CredentialsError::ParamValidation(_) => CliError::param_validation(&e),
            _ => CliError::general(&e),
        }
        .caused_by(&e)
    }

    /// Adds an `Additional error details` field (shown by the structured formats only).
    pub(crate) fn with_detail(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> CliError {
        self.details.push((name.into(), value.into()));
        self
    }

    /// The message (without the details).
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// The exit kind.
    pub(crate) fn kind(&self) -> ExitKind {
        match self.class {
            Class::ParamValidation | Class::UnknownArgument => ExitKind::Usage,
            Class::Configuration | Class::NoRegion | Class::NoCredentials => {
                ExitKind::Configuration
            }
            Class::Service { .. } => ExitKind::Service,
            Class::General => ExitKind::General,
            Class::NotFound => ExitKind::NotFound,
        }
    }

    /// The structured form (`Code`, `Message`, details in order); `None` for the handlers
    /// that always write plain text.
    fn structured(&self) -> Option<Vec<(String, String)>> {
        let (code, message) = match &self.class {
            Class::ParamValidation => ("ParamValidation", self.message.as_str()),
            Class::Configuration => ("Configuration", self.message.as_str()),
            Class::NoRegion => ("NoRegion", self.message.as_str()),
            Class::NoCredentials => ("NoCredentials", self.message.as_str()),
            Class::Service { code, message } => (code.as_str(), message.as_str()),
            Class::UnknownArgument | Class::General | Class::NotFound => return None,
        };
        let mut fields = vec![
            ("Code".to_owned(), code.to_owned()),
            ("Message".to_owned(), message.to_owned()),
        ];
        fields.extend(self.details.iter().cloned());
        Some(fields)
    }

    /// Exactly what goes to stderr in `format`.
    pub(crate) fn render(&self, format: ErrorFormat) -> String {
        match &self.class {
            Class::NotFound => return self.message.clone(),
            Class::UnknownArgument => {
                return format!("\nusage: {}\n{}", usage::USAGE, error_line(&self.message));
            }
            _ => {}
        }
        let Some(fields) = self.structured() else {
            // v2 never structures these; awsid's own details still follow, except in the
            // legacy form.
            let details = match format {
                ErrorFormat::Legacy => String::new(),
                _ => format::enhanced_details(&self.details),
            };
            return error_line(&self.message) + &details;
        };
        match format {
            ErrorFormat::Legacy => error_line(&self.message),
            ErrorFormat::Enhanced => {
                // A service error shows its full `An error occurred (…) when calling …` text;
                // the others are prefixed with their code.
                let headline = match &self.class {
                    Class::Service { .. } => self.message.clone(),
                    _ => format!("An error occurred ({}): {}", fields[0].1, fields[1].1),
                };
                error_line(&headline) + &format::enhanced_details(&fields[2..])
            }
            other => other.render_fields(&fields),
        }
    }

    /// Prints the report on stderr in `format` and returns the exit status.
    pub(crate) fn report(&self, format: ErrorFormat) -> u8 {
        for cause in &self.causes {
            tracing::debug!("caused by: {cause}");
        }
        let text = self.render(format);
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
        self.kind().code()
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        CliError::general(&e).caused_by(&e)
    }
}

/// `write_error` of `awscli/errorformat.py`: `\n<prog>: [ERROR]: <message stripped>\n`.
pub(crate) fn error_line(message: &str) -> String {
    let message = python_strip(message);
    if message.is_empty() {
        format!("\n{PROG}: [ERROR]:\n")
    } else {
        format!("\n{PROG}: [ERROR]: {message}\n")
    }
}

/// A warning in v2's shape (`\naws: [WARNING]: <message>\n`, `configure set`), with awsid's name.
pub(crate) fn warn(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\n{PROG}: [WARNING]: {message}\n");
    let _ = err.flush();
}

/// Python's `str.strip()`: removes Unicode whitespace at both ends.
fn python_strip(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

#[cfg(test)]
mod tests;
