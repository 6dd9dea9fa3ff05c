//! The Rust SDK's `credential_process` support (`aws-config`, feature `credentials-process`) with
//! `credential_process = awsid credential-process --profile P`: a two-hop role profile resolved
//! by the built `awsid` binary against the identity plane, the credentials used for an STS call
//! by the SDK, and a second resolution answered from awsid's cache (no new AssumeRole).
//!
//! The SDK runs the command with `sh -c` in the test process's environment, so the command line
//! names the home and endpoint awsid must use (`env -i …`).
//!
//! MFA: an MFA-protected role whose code is typed into the terminal the SDK runs in, and one MFA
//! session serving two roles with one code typed.

mod common;

use awsid_interop::seed::{assumed, ACCOUNT, USER1_KEY};
use common::{arn_of, Home, Plane};

const ROLES: &str = "[profile user1]\nregion = us-east-1\n\n\
    [profile hop1]\nrole_arn = arn:aws:iam::123456789012:role/marketingadminrole\n\
    source_profile = user1\nregion = us-east-1\n\n\
    [profile hop2]\nrole_arn = arn:aws:iam::123456789012:role/defaultrole\n\
    source_profile = hop1\nrole_session_name = via-awsid\nregion = us-east-1\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credential_process_is_awsid() {
    let plane = Plane::start();
    let awsid = awsid_interop::awsid_bin();
    // awsid's own files: the roles and user1's keys, in a home of their own.
    let awsid_home = Home::new().config(ROLES).credentials(&format!(
        "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        USER1_KEY.0, USER1_KEY.1
    ));
    let root = awsid_home.dir.path().display().to_string();
    let command = format!(
        "env -i PATH=/usr/bin:/bin HOME={root} AWS_ENDPOINT_URL_STS={} {} credential-process --profile hop2",
        plane.sts_url(),
        awsid.display()
    );
    // The SDK's files: one profile whose credentials come from awsid.
    let sdk_home = Home::new()
        .config(&format!(
            "[profile cp]\ncredential_process = {command}\nregion = us-east-1\n"
        ))
        .var("AWS_PROFILE", "cp")
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url());

    let creds = sdk_home
        .chain_credentials()
        .await
        .unwrap_or_else(|e| panic!("the SDK's profile provider: {e}"));
    assert!(creds.access_key_id().starts_with("ASIA"));
    assert!(creds.session_token().is_some());
    assert!(
        creds.expiry().is_some(),
        "the Expiration awsid prints is read"
    );
    assert_eq!(
        arn_of(&plane, &creds).await,
        assumed(ACCOUNT, "defaultrole", "via-awsid")
    );
    let assumed_once = plane.server.state.metrics.count("sts", "AssumeRole");
    assert_eq!(assumed_once, 2, "one AssumeRole per hop");

    // A second SDK resolution runs awsid again, which answers from its cache.
    let again = sdk_home.chain_credentials().await.expect("cached");
    assert_eq!(again.access_key_id(), creds.access_key_id());
    assert_eq!(plane.server.state.metrics.count("sts", "AssumeRole"), 2);
}

// ------------------------------------------------------------------ MFA through a terminal
//
// awsid asks for MFA codes on `/dev/tty`, the controlling terminal of whatever runs it. The SDK
// runs the credential process in its own process, so the SDK itself must run in a terminal:
// this test binary runs its own `sdk_in_terminal` (below) inside util-linux script(1), whose
// pseudo-terminal becomes the controlling terminal of the SDK and of the awsid it starts; the
// test reads what the terminal shows and types the code when the prompt appears.

const USER1_MFA_SERIAL: &str = "arn:aws:iam::123456789012:mfa/user1";
const USER1_MFA_SECRET: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
const MFA_PROMPT: &str = "Enter MFA code for arn:aws:iam::123456789012:mfa/user1: ";
const IDENTITY_LINE: &str = "SDK-IDENTITY-ARN=";

/// One-time codes of user1's device for steps the server has not yet accepted (it takes the
/// current step and its neighbours, each once).
struct Codes {
    secret: Vec<u8>,
    last: Option<u64>,
}

impl Codes {
    fn new() -> Codes {
        Codes {
            secret: awsid_server::totp::decode_base32(USER1_MFA_SECRET).expect("base32"),
            last: None,
        }
    }

    fn next(&mut self) -> String {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs()
            / awsid_server::totp::STEP as u64;
        let step = self.last.map_or(now, |l| (l + 1).max(now));
        assert!(step <= now + 1, "more than two codes in one step");
        self.last = Some(step);
        awsid_server::totp::code_at_step(&self.secret, step)
    }
}

/// What a run of [`sdk_in_terminal`] in a pseudo-terminal showed.
struct TerminalRun {
    output: String,
    prompted: bool,
    success: bool,
}

impl TerminalRun {
    /// The ARN `sdk_in_terminal` printed (after libtest's `test sdk_in_terminal ... `).
    fn arn(&self) -> &str {
        let (_, rest) = self
            .output
            .split_once(IDENTITY_LINE)
            .unwrap_or_else(|| panic!("no identity in: {}", self.output));
        rest.split_whitespace().next().unwrap_or_default()
    }
}

/// Runs [`sdk_in_terminal`] with exactly `vars` inside script(1), typing `answer()` and Enter
/// when the MFA prompt appears.
fn in_terminal(vars: &[(String, String)], mut answer: impl FnMut() -> String) -> TerminalRun {
    use std::io::{Read, Write};
    use std::process::{Command, Stdio};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    let exe = std::env::current_exe().expect("the test binary");
    let command = format!(
        "{} sdk_in_terminal --exact --ignored --nocapture --test-threads=1",
        exe.display()
    );
    let mut child = Command::new("script")
        .args(["-qefc", &command, "/dev/null"])
        .env_clear()
        .envs(vars.iter().map(|(k, v)| (k, v)))
        .env("PATH", "/usr/bin:/bin")
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("script(1) is required (util-linux; Debian package bsdutils)");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n @ 1..) = stdout.read(&mut buf) {
            if tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut output = Vec::new();
    let mut prompted = false;
    loop {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(chunk) => {
                output.extend_from_slice(&chunk);
                if !prompted && String::from_utf8_lossy(&output).contains(MFA_PROMPT) {
                    prompted = true;
                    stdin
                        .write_all(format!("{}\r", answer()).as_bytes())
                        .and_then(|_| stdin.flush())
                        .expect("type into the terminal");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "no end within 120 s; the terminal showed: {}",
                    String::from_utf8_lossy(&output)
                );
            }
        }
    }
    drop(stdin);
    let status = child.wait().expect("script(1) exit status");
    TerminalRun {
        output: String::from_utf8_lossy(&output).into_owned(),
        prompted,
        success: status.success(),
    }
}

/// Not a test of its own: [`mfa_roles_through_the_sdks_terminal`] runs it in a pseudo-terminal.
/// The SDK's default chain resolves `AWS_PROFILE` (a `credential_process = awsid …` profile) and
/// the identity of the credentials is printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "run by mfa_roles_through_the_sdks_terminal inside a pseudo-terminal"]
async fn sdk_in_terminal() {
    use aws_config::BehaviorVersion;
    use aws_credential_types::provider::ProvideCredentials;
    use aws_types::os_shim_internal::Env;

    let sts_url = std::env::var("AWS_ENDPOINT_URL_STS")
        .expect("run by mfa_roles_through_the_sdks_terminal, which sets AWS_ENDPOINT_URL_STS");
    let vars: std::collections::HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k == "HOME" || k.starts_with("AWS_"))
        .collect();
    let conf = aws_config::defaults(BehaviorVersion::latest())
        .env(Env::from(vars))
        .http_client(common::http_client())
        .load()
        .await;
    let creds = conf
        .credentials_provider()
        .expect("the default chain")
        .provide_credentials()
        .await
        .unwrap_or_else(|e| panic!("the SDK's profile provider: {e}"));
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(aws_sdk_sts::config::Region::new("us-east-1"))
            .endpoint_url(sts_url)
            .credentials_provider(creds)
            .http_client(common::http_client())
            .build(),
    );
    let out = sts
        .get_caller_identity()
        .send()
        .await
        .unwrap_or_else(|e| panic!("GetCallerIdentity: {}", common::describe(&e)));
    println!("{IDENTITY_LINE}{}", out.arn().expect("Arn"));
}

#[test]
fn mfa_roles_through_the_sdks_terminal() {
    let plane = Plane::start();
    let awsid = awsid_interop::awsid_bin();
    let role = |name: &str, role: &str, extra: &str| {
        format!(
            "[profile {name}]\nrole_arn = arn:aws:iam::123456789012:role/{role}\n\
             source_profile = user1\nmfa_serial = {USER1_MFA_SERIAL}\n{extra}region = us-east-1\n\n"
        )
    };
    // awsid's own files: a role that needs a code, and two roles sharing one MFA session.
    let awsid_home = Home::new()
        .config(&format!(
            "[profile user1]\nregion = us-east-1\n\n{}{}{}",
            role("mfa", "mfarole", ""),
            role(
                "mfas1",
                "mfarole",
                "mfa_session = true\nrole_session_name = via-session\n"
            ),
            role(
                "mfas2",
                "marketingadminrole",
                "mfa_session = true\nrole_session_name = via-session\n"
            ),
        ))
        .credentials(&format!(
            "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            USER1_KEY.0, USER1_KEY.1
        ));
    let root = awsid_home.dir.path().display().to_string();
    // The SDK's files: one credential_process profile per awsid profile.
    let sdk_config: String = ["mfa", "mfas1", "mfas2"]
        .iter()
        .map(|p| {
            format!(
                "[profile cp-{p}]\ncredential_process = env -i PATH=/usr/bin:/bin HOME={root} \
                 AWS_ENDPOINT_URL_STS={} {} credential-process --profile {p}\nregion = us-east-1\n\n",
                plane.sts_url(),
                awsid.display()
            )
        })
        .collect();
    let sdk_home = Home::new()
        .config(&sdk_config)
        .var("AWS_ENDPOINT_URL_STS", plane.sts_url());
    let run = |profile: &str, codes: &mut Codes| {
        let mut vars = sdk_home.vars();
        vars.push(("AWS_PROFILE".into(), profile.into()));
        in_terminal(&vars, || codes.next())
    };
    let mut codes = Codes::new();
    let count = |action: &str| plane.server.state.metrics.count("sts", action);

    // An MFA role: awsid asks on the SDK's terminal; the typed code assumes the role.
    let first = run("cp-mfa", &mut codes);
    assert!(first.success && first.prompted, "{}", first.output);
    let generated = assumed(ACCOUNT, "mfarole", "botocore-session-");
    assert!(first.arn().starts_with(&generated), "{}", first.arn());
    // Cached by awsid: no prompt the second time.
    let again = run("cp-mfa", &mut codes);
    assert!(again.success && !again.prompted, "{}", again.output);
    assert_eq!(again.arn(), first.arn());

    // An MFA session: one code typed, two roles assumed with it.
    let (sessions, assumed_before) = (count("GetSessionToken"), count("AssumeRole"));
    let one = run("cp-mfas1", &mut codes);
    assert!(one.success && one.prompted, "{}", one.output);
    assert_eq!(one.arn(), assumed(ACCOUNT, "mfarole", "via-session"));
    let two = run("cp-mfas2", &mut codes);
    assert!(two.success && !two.prompted, "{}", two.output);
    assert_eq!(
        two.arn(),
        assumed(ACCOUNT, "marketingadminrole", "via-session")
    );
    assert_eq!(count("GetSessionToken") - sessions, 1, "one MFA session");
    assert_eq!(
        count("AssumeRole") - assumed_before,
        2,
        "one AssumeRole per role"
    );
}
