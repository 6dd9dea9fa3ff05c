//! `configure` without a subcommand: prompt for the keys, region and output format of the
//! selected profile and write what changed (v2 `configure.py`).

use std::io::{BufRead, Write};

use awsid_profile::writer::{update_file_as, EditValue, FileKind, SectionEdit};
use awsid_profile::{Env, Locations, ProfileSelection, Properties};

use super::{load, mask, profile_to_section, warn_if_permissive, write_error};
use crate::cli::GlobalArgs;
use crate::error::CliError;

/// Printed first when the profile has no settings yet (v2).
const LOGIN_TIP: &str = "\nTip: You can deliver temporary credentials to the AWS CLI using your \
                         AWS Console session by running the command 'aws login'.\n\n";

/// Runs the wizard on the process's stdin/stdout.
pub(super) fn run(global: &GlobalArgs, env: &Env) -> Result<u8, CliError> {
    use std::io::IsTerminal;
    let stdin = std::io::stdin();
    // Python's input() reads through the terminal line editor when both ends are terminals,
    // and its EOFError then has no message.
    let terminal = stdin.is_terminal() && std::io::stdout().is_terminal();
    let mut input = stdin.lock();
    let mut output = std::io::stdout().lock();
    run_with(global, env, &mut input, &mut output, terminal)
}

/// One prompt: the text, and the current value as shown (masked for secrets).
fn prompt(
    io: &mut Io<'_, impl BufRead, impl Write>,
    text: &str,
    shown: &str,
) -> Result<Option<String>, CliError> {
    write!(io.output, "{text} [{shown}]: ")?;
    io.output.flush()?;
    let mut line = Vec::new();
    if io.input.read_until(b'\n', &mut line)? == 0 {
        let message = if io.terminal {
            ""
        } else {
            "EOF when reading a line"
        };
        return Err(CliError::general(message));
    }
    // Like Python's input(): only the trailing newline is removed.
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    let answer = String::from_utf8_lossy(&line).into_owned();
    Ok((!answer.is_empty()).then_some(answer))
}

/// The wizard's input and output, and whether both are a terminal.
struct Io<'a, R, W> {
    input: &'a mut R,
    output: &'a mut W,
    terminal: bool,
}

/// The wizard over any input and output (tests drive it with buffers).
fn run_with(
    global: &GlobalArgs,
    env: &Env,
    input: &mut impl BufRead,
    output: &mut impl Write,
    terminal: bool,
) -> Result<u8, CliError> {
    let mut io = Io {
        input,
        output,
        terminal,
    };
    let locations = Locations::from_env(env);
    let set = load(&locations)?;
    let selection = ProfileSelection::resolve(global.profile.as_deref(), env);
    // A missing profile is not an error here: it is about to be created.
    let empty = Properties::default();
    let name = if selection.is_selected() {
        selection.name.as_str()
    } else {
        "default"
    };
    let config = set.profile(name).unwrap_or(&empty);
    if config.is_empty() {
        write!(io.output, "{LOGIN_TIP}")?;
    }
    let current = |key: &str| config.get_str(key);

    let mut credentials: Vec<(String, EditValue)> = Vec::new();
    let mut settings: Vec<(String, EditValue)> = Vec::new();
    let changed = |new: Option<String>, old: Option<&str>| new.filter(|v| Some(v.as_str()) != old);

    let key_id = prompt(
        &mut io,
        "AWS Access Key ID",
        &mask(current("aws_access_key_id")),
    )?;
    let secret = prompt(
        &mut io,
        "AWS Secret Access Key",
        &mask(current("aws_secret_access_key")),
    )?;
    // v2: temporary keys (ASIA…) need a session token; a profile that has one keeps being
    // asked unless the key id changes to a long-term one, which drops the token.
    let has_token = current("aws_session_token").is_some();
    let new_long_term_key = key_id.as_deref().is_some_and(|k| !k.starts_with("ASIA"));
    let token_prompt = key_id.as_deref().is_some_and(|k| k.starts_with("ASIA"))
        || (has_token && !new_long_term_key);
    let token = if token_prompt {
        prompt(
            &mut io,
            "AWS Session Token",
            &mask(current("aws_session_token")),
        )?
    } else {
        None
    };
    let region = prompt(
        &mut io,
        "Default region name",
        current("region").unwrap_or("None"),
    )?;
    let out_format = prompt(
        &mut io,
        "Default output format",
        current("output").unwrap_or("None"),
    )?;

    if let Some(v) = changed(key_id, current("aws_access_key_id")) {
        credentials.push(("aws_access_key_id".into(), EditValue::Scalar(v)));
    }
    if let Some(v) = changed(secret, current("aws_secret_access_key")) {
        credentials.push(("aws_secret_access_key".into(), EditValue::Scalar(v)));
    }
    if let Some(v) = changed(token, current("aws_session_token")) {
        credentials.push(("aws_session_token".into(), EditValue::Scalar(v)));
    } else if has_token && new_long_term_key {
        credentials.push(("aws_session_token".into(), EditValue::Remove));
    }
    if let Some(v) = changed(region, current("region")) {
        settings.push(("region".into(), EditValue::Scalar(v)));
    }
    if let Some(v) = changed(out_format, current("output")) {
        settings.push(("output".into(), EditValue::Scalar(v)));
    }

    let any_change = !credentials.is_empty() || !settings.is_empty();
    if !credentials.is_empty() {
        let path = locations.credentials_file_for_write();
        let edit = SectionEdit {
            section: name.to_owned(),
            values: credentials,
        };
        update_file_as(FileKind::Credentials, &path, &edit).map_err(write_error)?;
        warn_if_permissive(&path);
    }
    // Like the reference, any change also passes through the config writer, even with no
    // config values: that creates the profile's (empty) section if it is missing.
    if any_change {
        let edit = SectionEdit {
            // v2 writes `--profile default` into [default] (v1 wrote [profile default]).
            section: profile_to_section(name),
            values: settings,
        };
        update_file_as(FileKind::Config, &locations.config_file_for_write(), &edit)
            .map_err(write_error)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn global(profile: Option<&str>) -> GlobalArgs {
        GlobalArgs {
            profile: profile.map(str::to_owned),
            region: None,
            output: None,
            endpoint_url: None,
            debug: false,
            cli_error_format: None,
        }
    }

    fn run_in(
        dir: &std::path::Path,
        profile: Option<&str>,
        answers: &str,
    ) -> (Result<u8, CliError>, String) {
        let env = Env::from_pairs([("HOME", dir.to_str().unwrap())]);
        let mut input = answers.as_bytes();
        let mut output = Vec::new();
        let result = run_with(&global(profile), &env, &mut input, &mut output, false);
        (result, String::from_utf8(output).unwrap())
    }

    #[test]
    fn first_run_writes_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let (result, out) = run_in(
            dir.path(),
            None,
            "AKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nus-west-2\njson\n",
        );
        assert_eq!(result.unwrap(), 0);
        assert_eq!(
            out,
            format!("{LOGIN_TIP}AWS Access Key ID [None]: AWS Secret Access Key [None]: Default region name [None]: Default output format [None]: ")
        );
        let config = std::fs::read_to_string(dir.path().join(".aws/config")).unwrap();
        assert_eq!(config, "[default]\nregion = us-west-2\noutput = json\n");
        let creds = std::fs::read_to_string(dir.path().join(".aws/credentials")).unwrap();
        assert_eq!(
            creds,
            "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
        );

        let (_, out) = run_in(dir.path(), None, "\n\n\n\n");
        assert_eq!(
            out,
            "AWS Access Key ID [****************MPLE]: AWS Secret Access Key [****************EKEY]: Default region name [us-west-2]: Default output format [json]: "
        );
    }

    #[test]
    fn eof_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let (result, _) = run_in(dir.path(), None, "AKIA\n");
        let err = result.unwrap_err();
        assert_eq!(err.kind(), crate::error::ExitKind::General);
        assert!(!dir.path().join(".aws").exists());
    }

    #[test]
    fn session_token_prompt_for_temporary_keys() {
        let dir = tempfile::tempdir().unwrap();
        let (_, out) = run_in(dir.path(), Some("tmp"), "ASIAXXXX\nsecret\ntoken\n\n\n");
        assert!(out.contains("AWS Session Token [None]: "), "{out}");
        let creds = std::fs::read_to_string(dir.path().join(".aws/credentials")).unwrap();
        assert_eq!(creds, "[tmp]\naws_access_key_id = ASIAXXXX\naws_secret_access_key = secret\naws_session_token = token\n");
        // A long-term key replaces the temporary one and drops the token.
        let (_, out) = run_in(dir.path(), Some("tmp"), "AKIAYYYY\n\n\n\n");
        assert!(!out.contains("Session Token"), "{out}");
        let creds = std::fs::read_to_string(dir.path().join(".aws/credentials")).unwrap();
        assert_eq!(
            creds,
            "[tmp]\naws_access_key_id = AKIAYYYY\naws_secret_access_key = secret\n"
        );
    }

    #[test]
    fn profile_default_goes_to_default_section() {
        let dir = tempfile::tempdir().unwrap();
        run_in(dir.path(), Some("default"), "\n\neu-west-1\n\n")
            .0
            .unwrap();
        let config = std::fs::read_to_string(dir.path().join(".aws/config")).unwrap();
        assert_eq!(config, "[default]\nregion = eu-west-1\n");
        run_in(dir.path(), Some("my prof"), "\n\neu-west-2\n\n")
            .0
            .unwrap();
        let config = std::fs::read_to_string(dir.path().join(".aws/config")).unwrap();
        assert_eq!(
            config,
            "[default]\nregion = eu-west-1\n[profile 'my prof']\nregion = eu-west-2\n"
        );
    }
}
