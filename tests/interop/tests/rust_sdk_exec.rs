//! The AWS SDK for Rust inside `awsid exec --server ecs` and `--server imds`: with STS sessions
//! that live 6 seconds (the world's `sts_session_lifetime_seconds`), a program using the SDK's
//! default chain keeps calling `sts get-caller-identity` for 21 seconds — past three expiries —
//! without an error, while the exec's server refreshes the role through awsid's chain. The same
//! through the standing server, `awsid serve-credentials`, over IMDSv2 and over the container
//! protocol with the token in a file (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`).

use std::io::BufRead;
use std::process::{Command, Stdio};

use awsid_interop::seed::{assumed, ACCOUNT, USER1_KEY};

mod common;

use common::{Home, Plane};

const LIFETIME: u64 = 6;
const RUN_SECS: u64 = 3 * LIFETIME + 3;

/// The identity plane with STS sessions of LIFETIME seconds.
fn short_lived_plane() -> Plane {
    let world = awsid_interop::default_world_text().replacen(
        "sts_clock_skew_seconds = 900\n",
        &format!("sts_clock_skew_seconds = 900\nsts_session_lifetime_seconds = {LIFETIME}\n"),
        1,
    );
    assert!(world.contains("sts_session_lifetime_seconds"));
    Plane::from_text(&world)
}

/// Checks one `sdk_sts_loop` run: exit 0, enough calls, a new session per expiry, the role.
fn check_loop(what: &str, out: &std::process::Output, session: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status.code()
    );
    let line = stdout.trim();
    let field = |name: &str| -> u32 {
        line.split(' ')
            .find_map(|f| f.strip_prefix(&format!("{name}=")))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{what}: no {name}= in {line:?}"))
    };
    assert!(field("calls") >= 40, "{what}: too few calls: {line}");
    // Refreshed at half-life: at least one new session per expiry.
    assert!(
        field("keys") >= 4,
        "{what}: fewer than 4 sessions in {RUN_SECS} s: {line}"
    );
    assert!(
        line.ends_with(&format!("arn={}", assumed(ACCOUNT, "defaultrole", session))),
        "{what}: {line}"
    );
}

#[test]
fn the_sdk_keeps_working_across_expiries_in_both_server_modes() {
    let plane = short_lived_plane();
    let home = Home::new()
        .config(
            "[profile user1]\nregion = us-east-1\n\n\
             [profile via-ecs]\nrole_arn = arn:aws:iam::123456789012:role/defaultrole\n\
             source_profile = user1\nrole_session_name = rust-ecs\nregion = us-east-1\n\n\
             [profile via-imds]\nrole_arn = arn:aws:iam::123456789012:role/defaultrole\n\
             source_profile = user1\nrole_session_name = rust-imds\nregion = us-east-1\n",
        )
        .credentials(&format!(
            "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            USER1_KEY.0, USER1_KEY.1
        ));
    let root = home.dir.path().to_str().unwrap().to_string();
    let child = env!("CARGO_BIN_EXE_sdk_sts_loop");
    let runs: Vec<_> = [
        ("ecs", "via-ecs", "rust-ecs"),
        ("imds", "via-imds", "rust-imds"),
    ]
    .into_iter()
    .map(|(mode, profile, session)| {
        let proc = Command::new(awsid_interop::awsid_bin())
            .args(["exec", "--profile", profile, "--server", mode, "--", child])
            .arg(RUN_SECS.to_string())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", &root)
            .env("AWS_ENDPOINT_URL_STS", plane.sts_url())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run awsid exec");
        (mode, session, proc)
    })
    .collect();
    for (mode, session, proc) in runs {
        let out = proc.wait_with_output().expect("wait for awsid exec");
        check_loop(&format!("--server {mode}"), &out, session);
    }
    let assumed_roles = plane.server.state.metrics.count("sts", "AssumeRole");
    assert!(
        assumed_roles >= 8,
        "at least 4 AssumeRole per exec, saw {assumed_roles}"
    );
}

#[test]
fn the_sdk_keeps_working_through_the_standing_server() {
    let plane = short_lived_plane();
    let home = Home::new()
        .config(
            "[profile user1]\nregion = us-east-1\n\n\
             [profile standing]\nrole_arn = arn:aws:iam::123456789012:role/defaultrole\n\
             source_profile = user1\nrole_session_name = rust-standing\nregion = us-east-1\n",
        )
        .credentials(&format!(
            "[user1]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            USER1_KEY.0, USER1_KEY.1
        ));
    let root = home.dir.path().to_str().unwrap().to_string();
    let token_file = home.dir.path().join("run/token");
    let mut server = Command::new(awsid_interop::awsid_bin())
        .args([
            "serve-credentials",
            "--profile",
            "standing",
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--token-file")
        .arg(&token_file)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", &root)
        .env("AWS_ENDPOINT_URL_STS", plane.sts_url())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run awsid serve-credentials");
    // The variables of the first listener; the last one written is the token file's.
    let mut vars = std::collections::HashMap::new();
    let mut lines = std::io::BufReader::new(server.stdout.take().unwrap()).lines();
    while !vars.contains_key("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
        let line = lines
            .next()
            .expect("serve-credentials printed its variables")
            .unwrap();
        if let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            vars.entry(k.to_string()).or_insert_with(|| v.to_string());
        }
    }
    let client_home = tempfile::tempdir().unwrap();
    let child = env!("CARGO_BIN_EXE_sdk_sts_loop");
    let runs: Vec<_> = [
        ("imds", vec!["AWS_EC2_METADATA_SERVICE_ENDPOINT"]),
        (
            "container",
            vec![
                "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            ],
        ),
    ]
    .into_iter()
    .map(|(what, names)| {
        let mut cmd = Command::new(child);
        cmd.arg(RUN_SECS.to_string())
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", client_home.path())
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL_STS", plane.sts_url());
        for name in names {
            cmd.env(name, &vars[name]);
        }
        let proc = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run sdk_sts_loop");
        (what, proc)
    })
    .collect();
    for (what, proc) in runs {
        let out = proc.wait_with_output().expect("wait for sdk_sts_loop");
        check_loop(&format!("standing server, {what}"), &out, "rust-standing");
    }
    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = server.wait().expect("wait for serve-credentials");
    assert_eq!(
        status.code(),
        Some(0),
        "serve-credentials exits 0 on SIGTERM"
    );
    assert!(!token_file.exists(), "the token file goes with its server");
}
