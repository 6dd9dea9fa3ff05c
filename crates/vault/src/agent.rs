//! The vault agent: a small process that holds unlocked data keys in memory, ssh-agent style,
//! so that a login session types the passphrase once.
//!
//! * It listens on a Unix socket in a directory only the user can enter (0700, owned by the
//!   user; anything else is refused), and answers only peers of its own UID (checked with
//!   `SO_PEERCRED` on every connection).
//! * A key is forgotten after its idle timeout (each use restarts it); with no key left the
//!   agent exits. It also exits on `lock`, on SIGTERM/SIGINT, and when its socket is removed
//!   (the login manager deletes `$XDG_RUNTIME_DIR` at logout). SIGHUP is ignored: closing the
//!   terminal that started it does not end the session.
//! * It marks itself non-dumpable (no core files, no ptrace by other processes of the user
//!   without CAP_SYS_PTRACE), and wipes keys from memory when it forgets them.
//!
//! Protocol: one JSON request per line, one JSON answer per line —
//! `{"op":"put","vault":ID,"key":B64,"idle_seconds":N}`, `{"op":"get","vault":ID}` →
//! `{"ok":true,"key":B64}` or `{"ok":false,"error":"locked"}`, `{"op":"status"}`,
//! `{"op":"lock"}`. The key crosses the socket only to processes of the same user, who could
//! read the agent's memory anyway were it dumpable.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::crypto::Key;
use crate::VaultError;

/// How long a new key is kept without use, unless the caller says otherwise.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(3600);
/// How long a started agent waits for its first key before giving up.
const FIRST_KEY_WAIT: Duration = Duration::from_secs(60);
/// How often the agent checks that its socket is still there.
const SOCKET_CHECK: Duration = Duration::from_secs(10);
/// Client-side timeout of one exchange.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Request {
    Put {
        vault: String,
        key: Zeroizing<String>,
        idle_seconds: u64,
    },
    Get {
        vault: String,
    },
    Status,
    Lock,
}

#[derive(Serialize, Deserialize, Default)]
struct Response {
    ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<Zeroizing<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<AgentStatus>,
}

/// What a running agent holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatus {
    /// The agent's process id.
    pub pid: u32,
    /// `(vault id, seconds until forgotten if unused)`.
    pub vaults: Vec<(String, u64)>,
}

/// Creates the socket's directory (0700) if needed and checks that only this user can use
/// it: owned by the effective UID, no group or other permission bits.
pub fn prepare_dir(socket: &Path) -> Result<PathBuf, VaultError> {
    let dir = socket
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let io = |source| VaultError::Io {
        path: dir.clone(),
        source,
    };
    match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .recursive(true)
                .create(&dir)
                .map_err(io)?;
        }
        Err(e) => return Err(io(e)),
    }
    let meta = std::fs::symlink_metadata(&dir).map_err(io)?;
    let me = nix::unistd::geteuid().as_raw();
    let insecure = |reason: String| VaultError::Insecure {
        path: dir.clone(),
        reason,
    };
    if !meta.is_dir() {
        return Err(insecure("not a directory".into()));
    }
    if meta.uid() != me {
        return Err(insecure(format!(
            "owned by uid {}, not by you (uid {me})",
            meta.uid()
        )));
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(insecure(format!(
            "mode {:o} lets other users in (chmod 700 it)",
            meta.permissions().mode() & 0o777
        )));
    }
    Ok(dir)
}

/// A client of the agent at one socket path.
#[derive(Clone, Debug)]
pub struct AgentClient {
    socket: PathBuf,
}

impl AgentClient {
    /// A client for the agent at `socket` (which may not be running).
    pub fn new(socket: &Path) -> AgentClient {
        AgentClient {
            socket: socket.to_owned(),
        }
    }

    /// The socket path.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    fn exchange(&self, req: &Request) -> Result<Option<Response>, VaultError> {
        prepare_dir(&self.socket)?;
        let mut stream = match UnixStream::connect(&self.socket) {
            Ok(s) => s,
            // No agent (never started, exited, or a stale socket file).
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                return Ok(None)
            }
            Err(source) => {
                return Err(VaultError::Io {
                    path: self.socket.clone(),
                    source,
                })
            }
        };
        let fail = |reason: String| VaultError::Agent {
            path: self.socket.clone(),
            reason,
        };
        let _ = stream.set_read_timeout(Some(EXCHANGE_TIMEOUT));
        let _ = stream.set_write_timeout(Some(EXCHANGE_TIMEOUT));
        let mut line = Zeroizing::new(serde_json::to_vec(req).expect("request serializes"));
        line.push(b'\n');
        stream.write_all(&line).map_err(|e| fail(e.to_string()))?;
        let mut answer = Zeroizing::new(String::new());
        BufReader::new(&stream)
            .read_line(&mut answer)
            .map_err(|e| fail(e.to_string()))?;
        if answer.is_empty() {
            // The agent closed without answering (it refused us, or is exiting).
            return Ok(None);
        }
        serde_json::from_str(&answer)
            .map(Some)
            .map_err(|e| fail(format!("unreadable answer: {e}")))
    }

    /// The data key of vault `vault_id`, if a running agent holds it.
    pub fn get(&self, vault_id: &str) -> Result<Option<Key>, VaultError> {
        let resp = self.exchange(&Request::Get {
            vault: vault_id.to_string(),
        })?;
        Ok(resp
            .filter(|r| r.ok)
            .and_then(|r| r.key)
            .and_then(|k| Key::from_base64(&k)))
    }

    /// Hands `key` to the running agent, kept until unused for `idle`; `false` when no agent
    /// runs.
    pub fn put(&self, vault_id: &str, key: &Key, idle: Duration) -> Result<bool, VaultError> {
        let resp = self.exchange(&Request::Put {
            vault: vault_id.to_string(),
            key: key.to_base64(),
            idle_seconds: idle.as_secs().max(1),
        })?;
        match resp {
            Some(r) if r.ok => Ok(true),
            Some(r) => Err(VaultError::Agent {
                path: self.socket.clone(),
                reason: r.error.unwrap_or_default(),
            }),
            None => Ok(false),
        }
    }

    /// What the running agent holds; `None` when none runs.
    pub fn status(&self) -> Result<Option<AgentStatus>, VaultError> {
        Ok(self.exchange(&Request::Status)?.and_then(|r| r.status))
    }

    /// Makes the running agent forget every key and exit; whether one was running.
    pub fn lock(&self) -> Result<bool, VaultError> {
        Ok(self.exchange(&Request::Lock)?.is_some())
    }

    /// Starts an agent with `program args…` (the caller's own binary, detached in its own
    /// process group with no standard streams but a pipe on which it says `ready`), unless
    /// one already answers. Returns once the agent listens.
    pub fn ensure_running(&self, program: &Path, args: &[&str]) -> Result<(), VaultError> {
        if self.status()?.is_some() {
            return Ok(());
        }
        use std::os::unix::process::CommandExt;
        let mut child = std::process::Command::new(program)
            .args(args)
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .map_err(|source| VaultError::Io {
                path: program.to_owned(),
                source,
            })?;
        let mut line = String::new();
        if let Some(out) = child.stdout.take() {
            let _ = BufReader::new(out).read_line(&mut line);
        }
        if line.trim() == "ready" {
            return Ok(());
        }
        // It did not start (another agent won the race, or it failed): is one there now?
        let _ = child.wait();
        if self.status()?.is_some() {
            return Ok(());
        }
        Err(VaultError::Agent {
            path: self.socket.clone(),
            reason: "the agent did not start".into(),
        })
    }
}

struct Held {
    key: Key,
    idle: Duration,
    deadline: tokio::time::Instant,
}

/// Runs an agent on `socket` until it has nothing left to hold (see the module
/// documentation); prints `ready` on stdout, then closes stdout, once it listens. Exits
/// quietly when another agent already serves the socket.
pub fn run(socket: &Path) -> Result<(), VaultError> {
    prepare_dir(socket)?;
    // Forbid core dumps and same-user ptrace of the process holding the keys.
    let _ = nix::sys::prctl::set_dumpable(false);
    // One agent per socket: the lock file is held for the agent's lifetime.
    let lock_path = socket.with_extension("lock");
    let guard =
        awsid_profile::atomic::LockFile::acquire(&lock_path, Duration::ZERO).map_err(|e| {
            VaultError::Io {
                path: e.path,
                source: e.source,
            }
        })?;
    if guard.is_none() {
        return Ok(());
    }
    let io = |source| VaultError::Io {
        path: socket.to_owned(),
        source,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(io)?;
    rt.block_on(async {
        // A leftover socket file of a dead agent (we hold the lock, so no live one uses it).
        let _ = std::fs::remove_file(socket);
        let listener = {
            // Created 0600: the umask applies to the socket file.
            let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o177));
            let l = tokio::net::UnixListener::bind(socket);
            nix::sys::stat::umask(old);
            l.map_err(io)?
        };
        let inode = std::fs::metadata(socket).map_err(io)?.ino();
        {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(b"ready\n");
            let _ = out.flush();
        }
        // Close stdout for good, so whoever started us stops waiting for output.
        let _ = nix::unistd::dup2_stdout(std::fs::File::open("/dev/null").map_err(io)?);
        serve(listener, socket, inode).await;
        let _ = std::fs::remove_file(socket);
        Ok::<(), VaultError>(())
    })?;
    drop(guard);
    Ok(())
}

async fn serve(listener: tokio::net::UnixListener, socket: &Path, inode: u64) {
    use tokio::signal::unix::{signal, SignalKind};
    let me = nix::unistd::geteuid().as_raw();
    let mut keys: HashMap<String, Held> = HashMap::new();
    let started = tokio::time::Instant::now();
    let (mut term, mut int, mut hup) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::hangup()),
    ) {
        (Ok(a), Ok(b), Ok(c)) => (a, b, c),
        _ => return,
    };
    let mut check = tokio::time::interval(SOCKET_CHECK);
    loop {
        let now = tokio::time::Instant::now();
        keys.retain(|_, h| h.deadline > now);
        let next = keys
            .values()
            .map(|h| h.deadline)
            .min()
            .unwrap_or(started + FIRST_KEY_WAIT);
        if keys.is_empty() && (now >= started + FIRST_KEY_WAIT) {
            return;
        }
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                match stream.peer_cred() {
                    Ok(cred) if cred.uid() == me => {}
                    _ => continue, // dropped unanswered
                }
                if handle(stream, &mut keys).await {
                    return;
                }
            }
            _ = tokio::time::sleep_until(next) => {
                // Expired keys are dropped at the top of the loop; an agent that forgot its
                // last key exits there.
                let now = tokio::time::Instant::now();
                keys.retain(|_, h| h.deadline > now);
                if keys.is_empty() {
                    return;
                }
            }
            _ = check.tick() => {
                let ours = std::fs::metadata(socket).is_ok_and(|m| m.ino() == inode);
                if !ours {
                    return;
                }
            }
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => {}
        }
    }
}

/// Answers one connection (one request); `true` when the agent should exit.
async fn handle(stream: tokio::net::UnixStream, keys: &mut HashMap<String, Held>) -> bool {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    let (read, mut write) = stream.into_split();
    let mut line = Zeroizing::new(String::new());
    let read_one = async {
        let mut r = tokio::io::BufReader::new(read.take(64 * 1024));
        r.read_line(&mut line).await
    };
    if !matches!(tokio::time::timeout(EXCHANGE_TIMEOUT, read_one).await, Ok(Ok(n)) if n > 0) {
        return false;
    }
    let mut exit = false;
    let resp = match serde_json::from_str::<Request>(&line) {
        Err(_) => Response {
            ok: false,
            error: Some("malformed request".into()),
            ..Default::default()
        },
        Ok(Request::Put {
            vault,
            key,
            idle_seconds,
        }) => match Key::from_base64(&key) {
            Some(key) => {
                let idle = Duration::from_secs(idle_seconds.clamp(1, 7 * 24 * 3600));
                keys.insert(
                    vault,
                    Held {
                        key,
                        idle,
                        deadline: tokio::time::Instant::now() + idle,
                    },
                );
                Response {
                    ok: true,
                    ..Default::default()
                }
            }
            None => Response {
                ok: false,
                error: Some("malformed key".into()),
                ..Default::default()
            },
        },
        Ok(Request::Get { vault }) => match keys.get_mut(&vault) {
            Some(h) => {
                h.deadline = tokio::time::Instant::now() + h.idle;
                Response {
                    ok: true,
                    key: Some(h.key.to_base64()),
                    ..Default::default()
                }
            }
            None => Response {
                ok: false,
                error: Some("locked".into()),
                ..Default::default()
            },
        },
        Ok(Request::Status) => {
            let now = tokio::time::Instant::now();
            let mut vaults: Vec<(String, u64)> = keys
                .iter()
                .map(|(id, h)| {
                    (
                        id.clone(),
                        h.deadline.saturating_duration_since(now).as_secs(),
                    )
                })
                .collect();
            vaults.sort();
            Response {
                ok: true,
                status: Some(AgentStatus {
                    pid: std::process::id(),
                    vaults,
                }),
                ..Default::default()
            }
        }
        Ok(Request::Lock) => {
            keys.clear();
            exit = true;
            Response {
                ok: true,
                ..Default::default()
            }
        }
    };
    let mut out = Zeroizing::new(serde_json::to_vec(&resp).expect("response serializes"));
    out.push(b'\n');
    let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, write.write_all(&out)).await;
    exit
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_directories_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("a/agent.sock");
        prepare_dir(&sock).unwrap();
        let mode = std::fs::metadata(dir.path().join("a"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::set_permissions(dir.path().join("a"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let err = prepare_dir(&sock).unwrap_err();
        assert!(
            err.to_string().contains("mode 755 lets other users in"),
            "{err}"
        );
        // No agent there: a client finds nothing, and says so without error.
        std::fs::set_permissions(dir.path().join("a"), std::fs::Permissions::from_mode(0o700))
            .unwrap();
        let c = AgentClient::new(&sock);
        assert_eq!(c.status().unwrap(), None);
        assert!(c.get("x").unwrap().is_none());
        assert!(!c.lock().unwrap());
    }
}
