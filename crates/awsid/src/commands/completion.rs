//! `awsid completion bash|zsh|fish`: shell completion of subcommands, options and — read from
//! the shared files each time, the way the calling environment selects them
//! (`AWS_CONFIG_FILE`, `AWS_SHARED_CREDENTIALS_FILE`, `HOME`) — profile and sso-session names.
//!
//! The printed script registers a completer that calls `awsid` back with `_AWSID_COMPLETE`
//! set (clap_complete's dynamic engine, [`complete_if_asked`]); nothing is generated ahead of
//! time, so completions follow the binary and the files.

use std::io::Write as _;

use clap::{Args, ValueEnum};
use clap_complete::engine::CompletionCandidate;
use clap_complete::env::EnvCompleter;

use crate::error::CliError;

/// The variable that turns a run of awsid into a completion request.
pub(crate) const COMPLETE_VAR: &str = "_AWSID_COMPLETE";

/// Options of `completion`.
#[derive(Debug, Args)]
pub(crate) struct CompletionArgs {
    /// The shell to print the completion script for.
    pub(crate) shell: CompletionShell,
}

/// Shells with completion scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CompletionShell {
    /// bash: `source <(awsid completion bash)` in ~/.bashrc.
    Bash,
    /// zsh: `source <(awsid completion zsh)` in ~/.zshrc.
    Zsh,
    /// fish: `awsid completion fish | source` in ~/.config/fish/config.fish.
    Fish,
}

/// Answers a completion request (when `_AWSID_COMPLETE` is set) and exits; otherwise returns.
pub(crate) fn complete_if_asked() {
    if std::env::var_os(COMPLETE_VAR).is_some() {
        clap_complete::CompleteEnv::with_factory(crate::cli::command)
            .var(COMPLETE_VAR)
            .complete();
    }
}

/// Prints the registration script for `args.shell`.
pub(crate) fn run(args: CompletionArgs) -> Result<u8, CliError> {
    let completer = completer_path();
    let mut buf = Vec::new();
    let shell: &dyn EnvCompleter = match args.shell {
        CompletionShell::Bash => &clap_complete::env::Bash,
        CompletionShell::Zsh => &clap_complete::env::Zsh,
        CompletionShell::Fish => &clap_complete::env::Fish,
    };
    shell.write_registration(COMPLETE_VAR, "awsid", "awsid", &completer, &mut buf)?;
    let mut out = std::io::stdout().lock();
    out.write_all(&buf)?;
    out.flush()?;
    Ok(0)
}

/// The program the script calls back: `awsid` when it was found on `PATH`, else the path it
/// was run by (made absolute).
fn completer_path() -> String {
    let argv0 = std::env::args_os().next().unwrap_or_else(|| "awsid".into());
    let path = std::path::PathBuf::from(&argv0);
    if path.components().count() <= 1 {
        return "awsid".into();
    }
    std::env::current_dir()
        .map(|d| d.join(&path))
        .unwrap_or(path)
        .display()
        .to_string()
}

fn profile_set() -> Option<awsid_profile::ProfileSet> {
    let env = awsid_profile::Env::from_process();
    awsid_profile::ProfileSet::load(&awsid_profile::Locations::from_env(&env)).ok()
}

/// Profile names of both files, in the CLI's order (nothing when a file cannot be read).
pub(crate) fn profile_candidates() -> Vec<CompletionCandidate> {
    profile_set()
        .map(|set| {
            set.profile_names()
                .into_iter()
                .map(CompletionCandidate::new)
                .collect()
        })
        .unwrap_or_default()
}

/// `[sso-session NAME]` names of the config file.
pub(crate) fn sso_session_candidates() -> Vec<CompletionCandidate> {
    profile_set()
        .map(|set| {
            set.sso_session_names()
                .into_iter()
                .map(CompletionCandidate::new)
                .collect()
        })
        .unwrap_or_default()
}
