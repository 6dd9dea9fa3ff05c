//! Why a world was rejected: the section, entry and field at fault, and what is wrong with it.

use std::fmt;

use crate::policy::PolicyError;

/// Why a world file (or a change made through the APIs) was rejected.
#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    /// The file is not valid TOML or has unknown/mistyped fields.
    #[error("{file}: {message}")]
    Syntax {
        /// The file name (or `<default world>`).
        file: String,
        /// The parser's message, which names line and column (never the line itself).
        message: String,
    },
    /// An entry is invalid.
    #[error("{file}: {source}")]
    Invalid {
        /// The file name.
        file: String,
        /// The entry and the problem.
        #[source]
        source: InvalidEntry,
    },
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file name.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// Where a problem is: `roles[3] "x": trust_policy`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Location {
    /// The section (`roles`, `instances`, `settings`, …).
    pub section: &'static str,
    /// Position in the section (absent for `settings`).
    pub index: Option<usize>,
    /// The entry's name or id, when it has one.
    pub name: Option<String>,
    /// Fields and nested entries inside it (`access_keys[0]`, `trust_policy`).
    pub fields: Vec<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.section)?;
        if let Some(i) = self.index {
            write!(f, "[{i}]")?;
        }
        if let Some(n) = &self.name {
            write!(f, " \"{n}\"")?;
        }
        for field in &self.fields {
            write!(f, ": {field}")?;
        }
        Ok(())
    }
}

/// What is wrong with an entry.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// A policy document does not parse or validate.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The entry names an account missing from `[[accounts]]`.
    #[error("account \"{0}\" is not declared in [[accounts]]")]
    UnknownAccount(String),
    /// The entry refers to another entry that does not exist.
    #[error("{what} \"{name}\" not found{scope}")]
    NotFound {
        /// What kind of entry (`role`, `instance_profile`, …).
        what: &'static str,
        /// Its name.
        name: String,
        /// Where it was looked for (` in account …`), possibly empty.
        scope: String,
    },
    /// A name or id is used twice.
    #[error("duplicate {0}")]
    Duplicate(String),
    /// Any other constraint, stated in words.
    #[error("{0}")]
    Invalid(String),
}

/// One invalid entry: where and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct InvalidEntry {
    /// The section, entry and field.
    pub location: Box<Location>,
    /// The problem.
    #[source]
    pub problem: Box<Problem>,
}

/// A location being validated; builds errors that name it.
#[derive(Clone, Debug)]
pub(crate) struct At(Location);

impl At {
    /// The entry `section[index] "name"`.
    pub(crate) fn entry(section: &'static str, index: usize, name: &str) -> At {
        At(Location {
            section,
            index: Some(index),
            name: Some(name.to_string()),
            fields: Vec::new(),
        })
    }

    /// A section as a whole (`settings`).
    pub(crate) fn section(section: &'static str) -> At {
        At(Location {
            section,
            index: None,
            name: None,
            fields: Vec::new(),
        })
    }

    /// A field or nested entry of this location.
    pub(crate) fn field(&self, field: impl Into<String>) -> At {
        let mut loc = self.0.clone();
        loc.fields.push(field.into());
        At(loc)
    }

    /// An error at this location.
    pub(crate) fn err(&self, problem: impl Into<Problem>) -> InvalidEntry {
        InvalidEntry {
            location: Box::new(self.0.clone()),
            problem: Box::new(problem.into()),
        }
    }

    /// An error stated in words.
    pub(crate) fn msg(&self, message: impl Into<String>) -> InvalidEntry {
        self.err(Problem::Invalid(message.into()))
    }
}

impl From<String> for Problem {
    fn from(s: String) -> Problem {
        Problem::Invalid(s)
    }
}
