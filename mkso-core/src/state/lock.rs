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
}

impl LockInfo {
    /// A lock for the current process.
    pub fn current(command: &str) -> Self {
        LockInfo {
            user: std::env::var("USER")
                .or_else(|_| std::env::var("USERNAME"))
                .unwrap_or_else(|_| "unknown".into()),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            command: command.to_string(),
            since: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
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
        }
    }

    /// Releases the lock now.
    pub fn release(mut self) {
        self.release_inner();
    }

    fn release_inner(&mut self) {
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
