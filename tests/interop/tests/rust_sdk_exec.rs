//! The AWS SDK for Rust inside `awsid exec --server ecs` and `--server imds`: with STS sessions
//! that live 6 seconds (the world's `sts_session_lifetime_seconds`), a program using the SDK's
//! default chain keeps calling `sts get-caller-identity` for 21 seconds — past three expiries —
//! without an error, while the exec's server refreshes the role through awsid's chain.

use std::process::{Command, Stdio};

use awsid_interop::seed::{assumed, ACCOUNT, USER1_KEY};

mod common;

use common::{Home, Plane};

const LIFETIME: u64 = 6;
const RUN_SECS: u64 = 3 * LIFETIME + 3;

#[test]
fn the_sdk_keeps_working_across_expiries_in_both_server_modes() {
    let world = awsid_interop::default_world_text().replacen(
        "sts_clock_skew_seconds = 900\n",
        &format!("sts_clock_skew_seconds = 900\nsts_session_lifetime_seconds = {LIFETIME}\n"),
        1,
    );
    assert!(world.contains("sts_session_lifetime_seconds"));
    let plane = Plane::from_text(&world);
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
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "--server {mode}: exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
            out.status.code()
        );
        let line = stdout.trim();
        let field = |name: &str| -> u32 {
            line.split(' ')
                .find_map(|f| f.strip_prefix(&format!("{name}=")))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("--server {mode}: no {name}= in {line:?}"))
        };
        assert!(
            field("calls") >= 40,
            "--server {mode}: too few calls: {line}"
        );
        // Refreshed at half-life: at least one new session per expiry.
        assert!(
            field("keys") >= 4,
            "--server {mode}: fewer than 4 sessions in {RUN_SECS} s: {line}"
        );
        assert!(
            line.ends_with(&format!("arn={}", assumed(ACCOUNT, "defaultrole", session))),
            "--server {mode}: {line}"
        );
    }
    let assumed_roles = plane.server.state.metrics.count("sts", "AssumeRole");
    assert!(
        assumed_roles >= 8,
        "at least 4 AssumeRole per exec, saw {assumed_roles}"
    );
}
