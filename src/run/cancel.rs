//! Stopping a run: a token the caller cancels, and waiting for a step's process in a way
//! that stops it (and every process it started) when the token is cancelled.

use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

/// Cancels a run when [`cancel`](CancelToken::cancel) is called; clones share the state.
#[derive(Debug, Clone, Default)]
pub struct CancelToken(Arc<AtomicBool>);

impl CancelToken {
    /// Asks the run to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the run was asked to stop.
    pub fn is_canceled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// How often a waiting step looks at the token.
const LOOK: Duration = Duration::from_millis(50);
/// How long a stopped step may take to end after SIGTERM before it is killed.
const GRACE: Duration = Duration::from_secs(2);

/// Runs `command` to its end, or until `cancel` is cancelled: then its whole process
/// group (the launcher shell, Python, anything they started) gets SIGTERM, and SIGKILL
/// after a grace period. `Ok(None)` when it was stopped.
pub(crate) fn wait_unless_canceled(command: &mut Command, cancel: &CancelToken) -> std::io::Result<Option<ExitStatus>> {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        // Its own process group, so that stopping it stops its children too.
        command.process_group(0);
    }
    let mut child = command.spawn()?;
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    loop {
        match rx.recv_timeout(LOOK) {
            Ok(status) => return status.map(Some),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(std::io::Error::other("lost the step's process"));
            }
            Err(mpsc::RecvTimeoutError::Timeout) if cancel.is_canceled() => {
                stop_group(pid, &rx);
                return Ok(None);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
}

/// SIGTERM to the group, then SIGKILL if it has not ended within the grace period.
fn stop_group(pid: u32, ended: &mpsc::Receiver<std::io::Result<ExitStatus>>) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{killpg, Signal};
        use nix::unistd::Pid;
        let group = Pid::from_raw(pid as i32);
        let _ = killpg(group, Signal::SIGTERM);
        if ended.recv_timeout(GRACE).is_err() {
            let _ = killpg(group, Signal::SIGKILL);
            let _ = ended.recv_timeout(GRACE);
        } else {
            // The leader ended; anything it left behind in the group goes too.
            let _ = killpg(group, Signal::SIGKILL);
        }
        // A killed process ends a moment after the signal: the run is over (and says so)
        // only when no process of the step is left.
        let started = std::time::Instant::now();
        while group_alive(group) && started.elapsed() < GRACE {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    #[cfg(not(unix))]
    {
        let _ = (pid, ended);
    }
}

/// Whether a process of the group is still running (zombies waiting to be reaped by
/// whoever adopted them do not count: they run nothing).
#[cfg(unix)]
fn group_alive(group: nix::unistd::Pid) -> bool {
    #[cfg(target_os = "linux")]
    if let Ok(entries) = std::fs::read_dir("/proc") {
        return entries.flatten().any(|e| {
            let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { return false };
            // pid (comm) state ppid pgrp ...: the command may contain spaces and parentheses.
            let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else { return false };
            let fields: Vec<&str> = rest.split_whitespace().collect();
            fields.len() > 2 && fields[0] != "Z" && fields[0] != "X" && fields[2] == group.to_string()
        });
    }
    nix::sys::signal::killpg(group, None).is_ok()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn a_finished_process_reports_its_status() {
        let status = wait_unless_canceled(Command::new("sh").args(["-c", "exit 3"]), &CancelToken::default()).unwrap();
        assert_eq!(status.and_then(|s| s.code()), Some(3));
    }

    #[test]
    fn cancelling_stops_the_process_and_its_children() {
        let dir = tempfile::tempdir().unwrap();
        let marker = dir.path().join("child-still-running");
        let cancel = CancelToken::default();
        let c = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            c.cancel();
        });
        let started = Instant::now();
        // A shell that starts a child which would write a file after 3 s.
        let script = format!("(sleep 3; touch {}) & sleep 30", marker.display());
        let status = wait_unless_canceled(Command::new("sh").args(["-c", &script]), &cancel).unwrap();
        assert!(status.is_none());
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        std::thread::sleep(Duration::from_millis(3500));
        assert!(!marker.exists(), "the child of the step was not stopped");
    }
}
