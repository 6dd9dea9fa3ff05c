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

/// A loopback HTTP server answering every request with `reply(method, path)` = (status line,
/// body); returns its base URL (`http://127.0.0.1:<port>/`). The thread lives as long as the
/// test process.
pub(crate) fn fake_http(reply: fn(&str, &str) -> (&'static str, String)) -> String {
    use std::io::{BufRead, BufReader, Read};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some(v) = header.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let parts: Vec<&str> = request_line.split_whitespace().collect();
            let (status, text) = reply(
                parts.first().copied().unwrap_or(""),
                parts.get(1).copied().unwrap_or(""),
            );
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: text/xml\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    url
}

/// An STS that denies everything (403 `AccessDenied`, query-protocol error XML).
pub(crate) fn denying_sts() -> String {
    fake_http(|_, _| {
        (
            "403 Forbidden",
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>User: arn:aws:iam::123456789012:user/base is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/r</Message></Error><RequestId>x</RequestId></ErrorResponse>".to_owned(),
        )
    })
}
