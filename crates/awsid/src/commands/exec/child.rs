//! The command under a credential server: awsid stays its parent, passes the signals it gets
//! on to it, and exits with its status.
//!
//! Signals arrive through a `signalfd`, which says who sent each one. A signal the kernel sent
//! on behalf of the terminal (Ctrl-C, Ctrl-\, a hang-up) went to the whole foreground process
//! group — the command is in awsid's group, so it has its own copy and gets no second one.
//! Every other SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 (`kill <awsid>`, a
//! supervisor stopping a service) is sent on to the command; awsid itself keeps running until
//! the command exits, and then exits with its status, or 128 + the signal that killed it.

use std::ffi::{CString, OsStr, OsString};
use std::os::unix::ffi::OsStrExt;

use nix::libc;
use nix::spawn::{posix_spawnp, PosixSpawnAttr, PosixSpawnFileActions, PosixSpawnFlags};
use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitid, waitpid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::environment::Changes;

use crate::error::CliError;

/// The signals awsid passes on to the command.
pub(crate) const FORWARDED: [Signal; 6] = [
    Signal::SIGINT,
    Signal::SIGTERM,
    Signal::SIGHUP,
    Signal::SIGQUIT,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
];

/// Blocks [`FORWARDED`] in the calling thread — and so in every thread it starts afterwards;
/// call it before building the runtime — and returns a `signalfd` that receives them.
pub(crate) fn take_signals() -> Result<SignalFd, CliError> {
    nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&forwarded()), None)
        .map_err(|e| CliError::general(format!("cannot block signals: {e}")))?;
    SignalFd::with_flags(&forwarded(), SfdFlags::SFD_CLOEXEC)
        .map_err(|e| CliError::general(format!("cannot create a signalfd: {e}")))
}

fn forwarded() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set
}

/// Whether a signal with `code` (`si_code`) from process `sender` goes on to the command
/// `child`: not when the terminal sent it to the whole group (the command got it), nor when
/// the command sent it.
pub(crate) fn should_forward(code: i32, sender: u32, child: u32) -> bool {
    code != libc::SI_KERNEL && sender != child
}

/// awsid's exit status for the command's: its code, or 128 + the signal that ended it.
pub(crate) fn exit_code(status: WaitStatus) -> u8 {
    match status {
        WaitStatus::Exited(_, code) => (code & 0xff) as u8,
        WaitStatus::Signaled(_, sig, _) => (128 + sig as i32).min(255) as u8,
        _ => 1,
    }
}

/// Starts `program` (looked up in `PATH`) with `args` and awsid's environment changed by
/// `changes`, in awsid's process group, with an empty signal mask and SIGPIPE at its default
/// (the standard library's spawn would pass on the mask [`take_signals`] set). Dispositions
/// awsid inherited as ignored (`nohup`) stay ignored, as with any exec.
pub(crate) fn spawn(
    program: &OsStr,
    args: &[OsString],
    changes: &Changes,
) -> Result<Pid, nix::errno::Errno> {
    let cstr = |s: &OsStr| CString::new(s.as_bytes()).map_err(|_| nix::errno::Errno::EINVAL);
    let path = cstr(program)?;
    let mut argv = vec![path.clone()];
    for a in args {
        argv.push(cstr(a)?);
    }
    let mut envp = Vec::new();
    for (k, v) in std::env::vars_os() {
        let name = k.to_string_lossy();
        if changes.remove.iter().any(|r| *r == name) || changes.set.iter().any(|(n, _)| *n == name)
        {
            continue;
        }
        let mut entry = k.as_bytes().to_vec();
        entry.push(b'=');
        entry.extend_from_slice(v.as_bytes());
        envp.push(CString::new(entry).map_err(|_| nix::errno::Errno::EINVAL)?);
    }
    for (k, v) in &changes.defaults {
        if std::env::var_os(k).is_none() {
            envp.push(CString::new(format!("{k}={v}")).map_err(|_| nix::errno::Errno::EINVAL)?);
        }
    }
    for (k, v) in &changes.set {
        envp.push(CString::new(format!("{k}={v}")).map_err(|_| nix::errno::Errno::EINVAL)?);
    }
    let mut attr = PosixSpawnAttr::init()?;
    attr.set_sigmask(&SigSet::empty())?;
    let mut pipe = SigSet::empty();
    pipe.add(Signal::SIGPIPE);
    attr.set_sigdefault(&pipe)?;
    attr.set_flags(
        PosixSpawnFlags::POSIX_SPAWN_SETSIGMASK | PosixSpawnFlags::POSIX_SPAWN_SETSIGDEF,
    )?;
    posix_spawnp(&path, &PosixSpawnFileActions::init()?, &attr, &argv, &envp)
}

/// What the supervisor hears about.
enum Event {
    Signal {
        signo: u32,
        code: i32,
        sender: u32,
    },
    /// The command has exited (not yet reaped, so its pid cannot be reused meanwhile).
    Exited,
}

/// Waits for the command `pid`, forwarding the signals of `signals` to it; returns its exit
/// status. Two threads feed it: one blocked reading the signalfd, one blocked in `waitid`
/// (`WNOWAIT`: the command stays a zombie until this function reaps it, after the last
/// forward, so a signal can never reach a process that reused the pid).
pub(crate) async fn supervise(pid: Pid, signals: SignalFd) -> Result<u8, CliError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let thread = |name: &str, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name.into())
            .spawn(f)
            .map(drop)
            .map_err(|e| CliError::general(format!("cannot start a thread: {e}")))
    };
    let signal_tx = tx.clone();
    thread(
        "awsid-signals",
        Box::new(move || loop {
            match signals.read_signal() {
                Ok(Some(info)) => {
                    let event = Event::Signal {
                        signo: info.ssi_signo,
                        code: info.ssi_code,
                        sender: info.ssi_pid,
                    };
                    if signal_tx.send(event).is_err() {
                        return;
                    }
                }
                Ok(None) | Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => {
                    tracing::warn!("cannot read the signalfd: {e}");
                    return;
                }
            }
        }),
    )?;
    thread(
        "awsid-wait",
        Box::new(move || loop {
            match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
                Err(nix::errno::Errno::EINTR) => continue,
                _ => {
                    let _ = tx.send(Event::Exited);
                    return;
                }
            }
        }),
    )?;
    while let Some(event) = rx.recv().await {
        match event {
            Event::Signal {
                signo,
                code,
                sender,
            } => forward(signo, code, sender, pid),
            Event::Exited => break,
        }
    }
    loop {
        match waitpid(pid, None) {
            Err(nix::errno::Errno::EINTR) => continue,
            Ok(status) => {
                tracing::debug!(?status, "the command exited");
                return Ok(exit_code(status));
            }
            Err(e) => {
                return Err(CliError::general(format!(
                    "cannot wait for the command: {e}"
                )))
            }
        }
    }
}

fn forward(signo: u32, code: i32, sender: u32, child: Pid) {
    let Ok(sig) = Signal::try_from(signo as i32) else {
        return;
    };
    if !should_forward(code, sender, child.as_raw() as u32) {
        tracing::debug!(
            signal = %sig,
            code,
            sender,
            "not forwarded: the command received it too"
        );
        return;
    }
    tracing::debug!(signal = %sig, sender, "forwarding to the command");
    let _ = nix::sys::signal::kill(child, sig);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_signals_and_the_commands_own_are_not_sent_back() {
        assert!(should_forward(libc::SI_USER, 4321, 99));
        assert!(should_forward(libc::SI_QUEUE, 4321, 99));
        assert!(!should_forward(libc::SI_KERNEL, 0, 99));
        assert!(!should_forward(libc::SI_USER, 99, 99));
    }

    #[test]
    fn exit_statuses_pass_through() {
        let pid = Pid::from_raw(7);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 0)), 0);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 3)), 3);
        assert_eq!(exit_code(WaitStatus::Exited(pid, 255)), 255);
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGTERM, false)),
            143
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGINT, false)),
            130
        );
        assert_eq!(
            exit_code(WaitStatus::Signaled(pid, Signal::SIGKILL, true)),
            137
        );
    }
}
