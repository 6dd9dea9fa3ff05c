//! Shared pieces of the interoperability tests (`tests/*.rs`): the seed documents' credentials,
//! where the workspace and the built `awsid` binary are, and a way to run that binary with a
//! clean environment.
//!
//! The tests themselves live in `tests/`: `rust_sdk.rs` drives the unmodified AWS SDK for Rust
//! against an in-process `awsid_server::spawn_local` (`rust_sdk_iam.rs`: its IAM API with
//! `aws-sdk-iam`), `own_client.rs` drives awsid's own client (the
//! built binary) against the same server.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The seed documents' credentials and the default world's names (all published AWS
/// documentation example values or throw-away development keys).
pub mod seed {
    /// The account of almost everything in the default world.
    pub const ACCOUNT: &str = "123456789012";
    /// The second account (seed 004's cross-account `user1role`).
    pub const OTHER_ACCOUNT: &str = "777788889999";

    /// `user1`'s long-term key (seed 001 / 004).
    pub const USER1_KEY: (&str, &str) = (
        "AKIAI44QH8DHBEXAMPLE",
        "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    );
    /// `defaultuser`'s long-term key (seed 004 `[default]`).
    pub const DEFAULT_KEY: (&str, &str) = (
        "AKIAIOSFODNN7EXAMPLE",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    );
    /// Seed 004's short-term `[default]` session token.
    pub const IQOJ_TOKEN: &str =
        "IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE";
    /// Seed 004's short-term `[user1]` session token (also set by its wizard example).
    pub const FCZIB_TOKEN: &str =
        "fcZib3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZ2luX2IQoJb3JpZVERYLONGSTRINGEXAMPLE";
    /// Seed 004's short-term `[default]` key id (pre-issued session of `defaultuser`).
    pub const SHORT_DEFAULT_ID: &str = "ASIAIOSFODNN7EXAMPLE";
    /// Seed 004's short-term `[user1]` key id (pre-issued session of `user1`).
    pub const SHORT_USER1_ID: &str = "ASIAI44QH8DHBEXAMPLE";

    /// The default world's administrator (AWS managed `AdministratorAccess`): the key of the
    /// `[profile admin]` sample `awsid serve` prints (a throw-away development key).
    pub const ADMIN_KEY: (&str, &str) = (
        "AKIAAWSIDADMIN000001",
        "awsidAdminSecretKeyEXAMPLEEXAMPLEKEY0001",
    );

    /// `user1`'s ARN.
    pub const USER1_ARN: &str = "arn:aws:iam::123456789012:user/user1";
    /// `defaultuser`'s ARN.
    pub const DEFAULT_USER_ARN: &str = "arn:aws:iam::123456789012:user/defaultuser";
    /// The instance with `http_tokens = "optional"` (the world's first instance).
    pub const OPTIONAL_INSTANCE: &str = "i-1234567890abcdef0";
    /// The instance with `http_tokens = "required"` (IMDSv2 only).
    pub const REQUIRED_INSTANCE: &str = "i-0fedcba9876543210";
    /// The ECS task id (the role session name of its credentials).
    pub const ECS_TASK: &str = "0f3c5e7a9b1d4c2e8a6f4b2d0c9e7a51";
    /// The full-URI `Authorization` token of the ECS task.
    pub const ECS_TOKEN: &str = "awsid-dev-container-token";

    /// `arn:aws:iam::<account>:role/<name>`.
    pub fn role_arn(account: &str, name: &str) -> String {
        format!("arn:aws:iam::{account}:role/{name}")
    }

    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub fn assumed(account: &str, role: &str, session: &str) -> String {
        format!("arn:aws:sts::{account}:assumed-role/{role}/{session}")
    }
}

/// The workspace root (the directory holding the root `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    // This crate is `<root>/tests/interop`.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("tests/interop lies two levels below the workspace root")
        .to_path_buf()
}

/// The text of the server's embedded default world (for tests that extend it).
pub fn default_world_text() -> String {
    let path = workspace_root().join("crates/server/src/world/default_world.toml");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the default world {}: {e}", path.display()))
}

/// Where the built `awsid` binary is: `$AWSID_BIN` if set (scripts/test sets it), else
/// `$CARGO_TARGET_DIR/debug/awsid`, else `<root>/target/debug/awsid`.
///
/// Cargo cannot hand one package's binary to another package's tests (`CARGO_BIN_EXE_*` is
/// per package), so the binary must have been built first: `cargo test --workspace` and
/// `cargo build --workspace` both do. Panics with instructions when it is missing.
pub fn awsid_bin() -> PathBuf {
    let path = match std::env::var_os("AWSID_BIN").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| workspace_root().join("target"));
            let target = if target.is_absolute() {
                target
            } else {
                workspace_root().join(target)
            };
            target.join("debug").join("awsid")
        }
    };
    if !path.is_file() {
        panic!(
            "THE awsid BINARY WAS NOT FOUND at {}.\n\
             Build it first (`cargo build -p awsid`, or run `cargo test --workspace`, which \
             builds it), or set AWSID_BIN to its path.",
            path.display()
        );
    }
    if let Some(newer) = newer_source(&path) {
        // `cargo test -p awsid-interop` alone does not rebuild the binary: say so, once per process.
        static WARNED: std::sync::Once = std::sync::Once::new();
        WARNED.call_once(|| {
            eprintln!(
                "warning: {} is older than {}; run `cargo build -p awsid` to test the current code",
                path.display(),
                newer.display()
            );
        });
    }
    path
}

/// A source file of the binary's crates modified after `bin` was built, if any.
fn newer_source(bin: &Path) -> Option<PathBuf> {
    let built = std::fs::metadata(bin).and_then(|m| m.modified()).ok()?;
    let crates = workspace_root().join("crates");
    let mut stack = vec![crates];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).ok()?.flatten() {
            let p = entry.path();
            let name = entry.file_name();
            if p.is_dir() {
                if name != "tests" && name != "benches" && name != "examples" {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "rs" || e == "toml")
                && entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t > built)
            {
                return Some(p);
            }
        }
    }
    None
}

/// Runs `awsid args…` with an environment holding only `env` (no `AWS_*` or `HOME` leaks in
/// from the test process), with a 60-second limit.
pub fn run_awsid(env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(awsid_bin());
    cmd.args(args).env_clear();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", awsid_bin().display()));
    wait_with_limit(child, std::time::Duration::from_secs(60), args)
}

fn wait_with_limit(
    child: std::process::Child,
    limit: std::time::Duration,
    args: &[&str],
) -> Output {
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.unwrap_or_else(|e| panic!("awsid {args:?}: {e}")),
        Err(_) => {
            // The child is owned by the waiting thread; end it by its pid.
            let _ = Command::new("kill")
                .arg("-KILL")
                .arg(id.to_string())
                .status();
            panic!("awsid {args:?} did not finish within {limit:?}");
        }
    }
}

/// `stdout` of a successful run; panics with both streams otherwise.
pub fn expect_success(out: &Output, what: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout: {stdout}\nstderr: {stderr}",
        out.status.code()
    );
    stdout
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workspace_root_holds_the_workspace_manifest() {
        let text = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
        assert!(text.contains("[workspace]"));
        assert!(text.contains("tests/interop"));
    }

    #[test]
    fn seed_arns() {
        assert_eq!(
            seed::role_arn(seed::OTHER_ACCOUNT, "user1role"),
            "arn:aws:iam::777788889999:role/user1role"
        );
        assert_eq!(
            seed::assumed(seed::ACCOUNT, "r", "s"),
            "arn:aws:sts::123456789012:assumed-role/r/s"
        );
    }
}
