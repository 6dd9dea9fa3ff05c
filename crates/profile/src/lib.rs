//! The AWS shared configuration files: locations, the reader (botocore's INI dialect), the merged
//! profile view, and the line-preserving writer used by `configure`.
//!
//! The public API below is the contract other crates build against (`credentials`, the `awsid`
//! binary). Additive changes are fine; changing a signature means changing every caller.
//!
//! * [`Env`] — a snapshot of the process environment; nothing in this crate reads
//!   `std::env` directly, so every behaviour is testable from data.
//! * [`Locations`] — where the config and credentials files are (`AWS_CONFIG_FILE`,
//!   `AWS_SHARED_CREDENTIALS_FILE`, `HOME`), with the reader's and the writer's path expansion.
//! * [`ProfileSelection`] — which profile is selected (`--profile`, `AWS_PROFILE`,
//!   `AWS_DEFAULT_PROFILE`), and whether it was explicit.
//! * [`ini`] — the reader: Python `RawConfigParser` semantics as botocore uses them.
//! * [`ProfileSet`] — the merged view of both files, exactly as botocore builds it. Loading
//!   checks both files in full; profiles are materialised only when looked up.
//! * [`writer`] — the `configure` writer: the CLI's line-preserving edits (byte-identical for
//!   well-formed files), sections and keys found the way the reader sees them, every edit
//!   re-read before it is written, atomic writes under a directory lock. Use
//!   [`writer::FileKind::Credentials`] for the credentials file (literal section names).
//! * [`shell`] — POSIX shell-word splitting as Python's `shlex.split` does it.
//! * [`atomic`] — files replaced whole (temp, fsync, rename, directory fsync; stale temp files of
//!   dead writers removed) and `flock` locks with a bounded wait; every writer of the workspace
//!   (shared files, credential caches, `serve`'s ready file) goes through it.
//!
//! Private helpers: `py` (Python string semantics: `isspace`, `strip`, `splitlines`,
//! universal newlines, `repr`). The reader's tables hash with `rustc-hash`'s Fx hash: config
//! files are local and trusted, so hash flooding is not a concern, and SipHash was a measurable
//! share of parsing a 10,000-profile file.

pub mod atomic;
pub mod env;
pub mod ini;
pub mod location;
pub mod py;
pub mod set;
pub mod shell;
pub mod writer;

pub use env::Env;
pub use ini::{IniFile, ParseError, Properties, Value};
pub use location::{Locations, ProfileSelection, ProfileSource};
pub use set::{LoadError, Origin, ProfileSet, SharedFile};
