//! `awsid configure` (the wizard), driven with piped stdin and through a pseudo-terminal.

mod configure_support;
use std::io::Write;
use std::process::Stdio;

use configure_support::Home;

const TIP: &str = "\nTip: You can deliver temporary credentials to the AWS CLI using your AWS Console session by running the command 'aws login'.\n\n";

#[test]
fn piped_transcript_and_files() {
    let h = Home::new();
    let answers =
        "AKIAIOSFODNN7EXAMPLE\nwJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\nus-west-2\njson\n";
    let r = h.run_with(&["configure"], &[], Some(answers));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.stdout,
        format!("{TIP}AWS Access Key ID [None]: AWS Secret Access Key [None]: Default region name [None]: Default output format [None]: ")
    );
    assert_eq!(
        h.read("config"),
        "[default]\nregion = us-west-2\noutput = json\n"
    );
    assert_eq!(
        h.read("credentials"),
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n"
    );

    let r = h.run_with(&["configure"], &[], Some("\n\n\n\n"));
    assert_eq!(
        r.stdout,
        "AWS Access Key ID [****************MPLE]: AWS Secret Access Key [****************EKEY]: Default region name [us-west-2]: Default output format [json]: "
    );
    // Enter keeps every value: the files are untouched.
    assert_eq!(
        h.read("config"),
        "[default]\nregion = us-west-2\noutput = json\n"
    );
}

#[test]
fn eof_writes_nothing() {
    let h = Home::new();
    for input in ["", "AKIA\n"] {
        let r = h.run_with(&["configure"], &[], Some(input));
        assert_eq!(
            (r.code, r.stderr.as_str()),
            (255, "\nawsid: [ERROR]: EOF when reading a line\n")
        );
    }
    assert!(!h.path().join(".aws").exists());
}

#[test]
fn named_profile_sections() {
    let h = Home::new();
    let r = h.run_with(
        &["configure", "--profile", "dev"],
        &[],
        Some("AK\nSK\neu-west-1\n\n"),
    );
    assert_eq!(r.code, 0);
    assert_eq!(h.read("config"), "[profile dev]\nregion = eu-west-1\n");
    assert_eq!(
        h.read("credentials"),
        "[dev]\naws_access_key_id = AK\naws_secret_access_key = SK\n"
    );
    // v2: `--profile default` writes region/output into [default], not [profile default].
    let r = h.run_with(
        &["configure", "--profile", "default"],
        &[],
        Some("\n\nus-east-2\n\n"),
    );
    assert_eq!(r.code, 0);
    assert_eq!(
        h.read("config"),
        "[profile dev]\nregion = eu-west-1\n[default]\nregion = us-east-2\n"
    );
    // AWS_PROFILE selects the profile too.
    let r = h.run_with(
        &["configure"],
        &[("AWS_PROFILE", "dev")],
        Some("\n\n\ntext\n"),
    );
    assert_eq!(r.code, 0);
    assert!(
        r.stdout
            .starts_with("AWS Access Key ID [****************AK]: "),
        "{}",
        r.stdout
    );
    assert_eq!(
        h.read("config"),
        "[profile dev]\nregion = eu-west-1\noutput = text\n[default]\nregion = us-east-2\n"
    );
}

#[test]
fn a_credentials_change_also_creates_the_config_section() {
    // The reference passes every change through the config writer, even with no config
    // values: a named profile gets an (empty) section in the config file.
    let h = Home::new();
    h.write("config", "[default]\nregion = a\n  # trailing comment");
    let r = h.run_with(
        &["configure", "--profile", "dev"],
        &[],
        Some("AK\nSK\n\n\n"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        h.read("config"),
        "[default]\nregion = a\n  # trailing comment\n[profile dev]\n"
    );
    assert_eq!(
        h.read("credentials"),
        "[dev]\naws_access_key_id = AK\naws_secret_access_key = SK\n"
    );
}

#[test]
fn malformed_file_fails_before_prompting() {
    let h = Home::new();
    h.write("config", "[default]\nregion\n");
    let r = h.run_with(&["configure"], &[], Some("A\nB\nC\nD\n"));
    assert_eq!(r.code, 255);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("line 2"), "{}", r.stderr);
    assert_eq!(h.read("config"), "[default]\nregion\n");
}

/// Runs the wizard with a pseudo-terminal as its stdin/stdout (util-linux `script`).
fn run_in_pty(h: &Home, input: &str) -> (i32, String) {
    let awsid = env!("CARGO_BIN_EXE_awsid");
    let mut cmd = std::process::Command::new("script");
    cmd.args(["-q", "-e", "-c", &format!("{awsid} configure"), "/dev/null"])
        .env_clear()
        .env("HOME", h.path())
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("TERM", "dumb")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .expect("util-linux `script` is needed to run the pty test");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn through_a_pseudo_terminal() {
    let h = Home::new();
    let (code, transcript) = run_in_pty(
        &h,
        "AKIAIOSFODNN7EXAMPLE\nsecretEXAMPLEKEY\nus-west-2\njson\n",
    );
    assert_eq!(code, 0, "{transcript}");
    for prompt in [
        "AWS Access Key ID [None]: ",
        "AWS Secret Access Key [None]: ",
        "Default region name [None]: ",
        "Default output format [None]: ",
    ] {
        assert!(
            transcript.contains(prompt),
            "{prompt:?} missing from {transcript:?}"
        );
    }
    assert_eq!(
        h.read("config"),
        "[default]\nregion = us-west-2\noutput = json\n"
    );
    assert_eq!(h.read("credentials"), "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = secretEXAMPLEKEY\n");

    // Ctrl-D at a prompt is EOF: exit 255, nothing written.
    let h = Home::new();
    let (code, transcript) = run_in_pty(&h, "AKIA\n");
    assert_eq!(code, 255, "{transcript}");
    // On a terminal Python's input() raises a bare EOFError: the CLI prints an empty
    // message (v2 2.34+: the bare `aws: [ERROR]:` prefix), not the piped-input text.
    assert!(
        transcript.ends_with("AWS Secret Access Key [None]: \r\nawsid: [ERROR]:\r\n"),
        "{transcript:?}"
    );
    assert!(
        !transcript.contains("EOF when reading a line"),
        "{transcript:?}"
    );
    assert!(!h.path().join(".aws").exists());
}
