//! Shared helpers for the `configure_*` integration tests: a throw-away home and a way to run
//! the built binary in it with a clean environment.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The result of one run.
#[derive(Debug)]
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A temporary HOME with `~/.aws` helpers.
pub(crate) struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    pub(crate) fn new() -> Home {
        Home {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub(crate) fn path(&self) -> &Path {
        self.dir.path()
    }

    pub(crate) fn aws(&self, name: &str) -> PathBuf {
        self.path().join(".aws").join(name)
    }

    /// Writes `~/.aws/<name>`.
    pub(crate) fn write(&self, name: &str, text: &str) {
        std::fs::create_dir_all(self.path().join(".aws")).unwrap();
        std::fs::write(self.aws(name), text).unwrap();
    }

    /// Reads `~/.aws/<name>` (empty when missing).
    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.aws(name)).unwrap_or_default()
    }

    /// The binary with only HOME, PATH and `AWS_EC2_METADATA_DISABLED=true` set, run in HOME.
    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_awsid"));
        cmd.args(args)
            .env_clear()
            .env("HOME", self.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(self.path());
        cmd
    }

    /// Runs with extra environment variables and optional stdin.
    pub(crate) fn run_with(&self, args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> Run {
        let mut cmd = self.command(args);
        cmd.envs(env.iter().copied())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(input) = stdin {
            // The command may exit before reading its input (an error before any prompt).
            if let Err(e) = child.stdin.take().unwrap().write_all(input.as_bytes()) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
            }
        }
        let out = child.wait_with_output().unwrap();
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        self.run_with(args, &[], None)
    }
}
