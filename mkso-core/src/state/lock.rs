//! The per-stack lock: who holds it, and a guard that releases it on every
//! exit path (including panics).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use super::backend::Backend;
use crate::names::StackName;

/// Who holds a stack's lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// The user.
    pub user: String,
    /// The host.
    pub host: String,
    /// The process id.
    pub pid: u32,
    /// The command (`up`, `destroy`, ...).
    pub command: String,
    /// Since when (RFC 3339).
    pub since: String,
    /// A random token unique to this holding of the lock: state writes are
    /// fenced by it (a writer whose lock was broken stops at its next write).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// When the holder process started (Linux: clock ticks since boot), so
    /// that a recycled pid is not mistaken for the holder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ticks: Option<u64>,
    /// The holder machine's boot id (Linux), so that a pid from before a
    /// reboot is not mistaken for a live process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub boot_id: Option<String>,
    /// The holder machine's id (`/etc/machine-id`): two machines may share a
    /// host name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine_id: Option<String>,
    /// The holder's pid namespace (`/proc/self/ns/pid`): a process in another
    /// container of the same machine has pids this one cannot see.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid_ns: Option<String>,
    /// On a backend whose locks are leases (S3): the holder rewrites its
    /// record (the same bytes) well within this many seconds, and a record
    /// not rewritten for longer is free to take (its holder is gone, e.g. a
    /// killed CI runner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_secs: Option<u64>,
}

/// Whether a lock's holder is still running, as far as this machine can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// The holder process runs on this machine.
    Alive,
    /// The holder was on this machine and is gone.
    Dead,
    /// The holder is on another machine (or its record does not say enough).
    Unknown,
}

/// Field 22 of `/proc/<pid>/stat` (start time) and whether it is a zombie.
fn proc_start(pid: u32) -> Option<(u64, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let zombie = matches!(fields.first(), Some(&"Z") | Some(&"X"));
    // `rest` starts at field 3 (state): field 22 is at index 19.
    let start = fields.get(19)?.parse().ok()?;
    Some((start, zombie))
}

fn machine_id() -> Option<String> {
    std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

fn pid_ns() -> Option<String> {
    std::fs::read_link("/proc/self/ns/pid")
        .ok()
        .map(|p| p.to_string_lossy().into_owned())
}

fn differ(theirs: &Option<String>, ours: Option<String>) -> bool {
    matches!((theirs, ours), (Some(t), Some(o)) if *t != o)
}

fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
}

impl LockInfo {
    /// A lock for the current process.
    pub fn current(command: &str) -> Self {
        LockInfo {
            user: super::history::current_user(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            command: command.to_string(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            token: {
                let mut t = [0u8; 12];
                getrandom::fill(&mut t).expect("the OS random source works");
                t.iter().map(|b| format!("{b:02x}")).collect()
            },
            start_ticks: proc_start(std::process::id()).map(|(t, _)| t),
            boot_id: boot_id(),
            machine_id: machine_id(),
            pid_ns: pid_ns(),
            lease_secs: None,
        }
    }

    /// Whether the holder is still running: on this machine, its pid must
    /// exist with the recorded start time (and not be a zombie); a holder on
    /// another machine cannot be checked from here.
    pub fn liveness(&self) -> Liveness {
        let here = gethostname::gethostname().to_string_lossy().into_owned();
        if self.host != here || self.pid == 0 {
            return Liveness::Unknown;
        }
        // Another machine with the same host name, or another pid namespace
        // (container) of this one: its pids cannot be checked from here.
        if differ(&self.machine_id, machine_id()) || differ(&self.pid_ns, pid_ns()) {
            return Liveness::Unknown;
        }
        if differ(&self.boot_id, boot_id()) {
            // Same machine (or no machine id to tell), rebooted since.
            return if self.machine_id.is_some() {
                Liveness::Dead
            } else {
                Liveness::Unknown
            };
        }
        match proc_start(self.pid) {
            None => {
                let me = super::history::current_user();
                if !std::path::Path::new("/proc/self/stat").exists() {
                    Liveness::Unknown
                } else if self.user != me && !std::path::Path::new("/proc/1/stat").exists() {
                    // /proc may hide other users' processes (hidepid).
                    Liveness::Unknown
                } else {
                    Liveness::Dead
                }
            }
            Some((_, true)) => Liveness::Dead,
            Some((start, false)) => match self.start_ticks {
                Some(t) if t != start => Liveness::Dead,
                _ => Liveness::Alive,
            },
        }
    }
}

impl LockInfo {
    /// What to do about a lock this holder has on `stack`.
    pub fn what_to_do(&self, stack: &StackName) -> String {
        match self.lease_secs {
            Some(lease) => format!(
                "Wait for it to finish; if that process is gone, its lock frees itself {lease} s after its last renewal: run the command again then (or `unlock --stack {stack}` now)"
            ),
            None => format!(
                "Wait for it to finish; if that process is gone, run `unlock --stack {stack}`"
            ),
        }
    }
}

impl fmt::Display for LockInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}@{} (pid {}) running `{}` since {}",
            self.user, self.host, self.pid, self.command, self.since
        )
    }
}

/// Holds a stack's lock; dropping it releases the lock.
pub struct LockGuard {
    backend: Arc<dyn Backend>,
    stack: StackName,
    /// Shared with releasers, so the lock is released once: a late releaser
    /// must not delete a lock another process took since.
    released: Arc<AtomicBool>,
    /// The dead holder whose lock was taken over, if any.
    pub(crate) took_over: Option<LockInfo>,
    /// Whether it was taken over because its lease expired (rather than
    /// because its process is gone from this machine).
    pub(crate) lease_expired: bool,
    /// Renews the lease while the lock is held (leased backends).
    pub(crate) renewal: Option<tokio::task::JoinHandle<()>>,
}

impl fmt::Debug for LockGuard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LockGuard({})", self.stack)
    }
}

impl LockGuard {
    pub(crate) fn new(backend: Arc<dyn Backend>, stack: StackName) -> Self {
        LockGuard {
            backend,
            stack,
            released: Arc::new(AtomicBool::new(false)),
            took_over: None,
            lease_expired: false,
            renewal: None,
        }
    }

    /// Why the lock of [`LockGuard::took_over`] was free to take.
    pub fn took_over_because(&self) -> &'static str {
        if self.lease_expired {
            "its lease expired without renewal"
        } else {
            "that process is gone"
        }
    }

    /// The holder whose lock this one took over because its process was
    /// gone (killed, crashed), if any.
    pub fn took_over(&self) -> Option<&LockInfo> {
        self.took_over.as_ref()
    }

    /// Releases the lock now.
    pub fn release(mut self) {
        self.release_inner();
    }

    fn release_inner(&mut self) {
        if let Some(r) = self.renewal.take() {
            r.abort();
        }
        if !self.released.swap(true, Ordering::SeqCst)
            && let Err(e) = self.backend.release_lock_blocking(&self.stack)
        {
            tracing::warn!(stack = %self.stack, error = %e, "could not release the stack lock");
        }
    }

    /// A function that releases the lock, for a signal handler that must exit at once.
    pub fn releaser(&self) -> impl Fn() + Send + Sync + 'static {
        let backend = self.backend.clone();
        let stack = self.stack.clone();
        let released = self.released.clone();
        move || {
            if !released.swap(true, Ordering::SeqCst) {
                let _ = backend.release_lock_blocking(&stack);
            }
        }
    }
}

impl Drop for LockGuard {
    fn drop(&mut self) {
        self.release_inner();
    }
}
