//! State: snapshot + journal per stack, kept by a [`Backend`].
//!
//! - The **snapshot** holds every resource's urn, type, provider id, inputs,
//!   outputs, *direct* dependencies, parent and flags, plus stack outputs. It is
//!   written whole only when an operation ends (compaction), atomically, behind a
//!   checksum header: a corrupt or truncated snapshot is refused, never overwritten.
//! - The **journal** records each finished step (and each step about to start,
//!   as *pending*) as one checksummed line, made durable before dependents start:
//!   O(1) work per step. Loading replays it onto the snapshot.
//! - One **lock** per stack, created exclusively, naming its holder.
//! - **History**: the last N updates, each with its snapshot.

mod backend;
mod codec;
mod history;
mod local;
mod lock;
mod memory;
mod model;
mod recorded;
#[cfg(feature = "s3")]
mod s3;
mod sealing;
mod store;

pub use backend::{Backend, backend_for_url};
pub(crate) use codec::Feed;
pub use codec::{decode_journal, decode_snapshot, encode_journal_entry, encode_snapshot};
pub use history::{HistoryEntry, RunBy, UpdateKind, UpdateResult};
pub use local::LocalBackend;
pub use lock::{Liveness, LockGuard, LockInfo};
pub use memory::MemoryBackend;
pub use model::{
    JournalEntry, PendingOp, PendingOperation, ResourceState, SecretProps, Snapshot, SnapshotRef,
    StateView,
};
pub use recorded::{Recorded, read_as_text};
#[cfg(feature = "s3")]
pub use s3::S3Backend;
pub use sealing::Sealer;
pub use store::{JournalWriter, LoadedState, StateStore};

use std::path::PathBuf;

use crate::names::StackName;

/// Errors of state handling; each names the file or object and what to do.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// An I/O error on a state file.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A snapshot failed its checksum or does not parse.
    #[error(
        "state snapshot {location} is corrupt ({reason}); it was left untouched. Restore it from history (`history`, then copy an older snapshot) or `state import` a good export"
    )]
    CorruptSnapshot {
        /// Where it is.
        location: String,
        /// What is wrong.
        reason: String,
    },
    /// A journal line in the middle of the journal is corrupt.
    #[error(
        "state journal {location} is corrupt at line {line} ({reason}); it was left untouched. Move it aside to load the last compacted snapshot"
    )]
    CorruptJournal {
        /// Where it is.
        location: String,
        /// The line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The stack is locked by another operation.
    #[error("stack {stack} is locked by {holder}. {}", .holder.what_to_do(stack))]
    Locked {
        /// The stack.
        stack: StackName,
        /// Who holds the lock.
        holder: Box<LockInfo>,
    },
    /// The stack's state was recorded by a program of another project.
    #[error(
        "stack {stack} in {backend} belongs to project `{recorded}`, but this program is project `{program}`: nothing was changed. Check --stack / MKSO_STACK (stack names are per backend), or give this project a backend of its own"
    )]
    WrongProject {
        /// The stack.
        stack: StackName,
        /// The project recorded in its state.
        recorded: String,
        /// The project of the program.
        program: String,
        /// The backend.
        backend: String,
    },
    /// The lock this process took was broken while it ran (`unlock --force`).
    #[error(
        "the lock of stack {stack} was broken while this process ran{}; it stopped at its next state write and recorded nothing more in the stack's state. What it did after that is kept aside as orphan records that the next `up`, `refresh` or `destroy` adopts. Let the other operation finish, then run `preview`",
        holder.as_ref().map(|h| format!(" (it is now held by {h})")).unwrap_or_else(|| " (nobody holds it now)".into())
    )]
    LockLost {
        /// The stack.
        stack: StackName,
        /// Who holds the lock now, if anyone.
        holder: Option<String>,
    },
    /// The snapshot changed since this process read it: another writer.
    #[error(
        "state {location} was changed by another writer since this process read it; nothing was overwritten. Is another mkso running on this stack without the lock? Check `history`, then run the command again"
    )]
    Conflict {
        /// The object or file.
        location: String,
    },
    /// Secret values in state cannot be sealed or opened.
    #[error("state {location}: {source}")]
    Secret {
        /// The snapshot or journal.
        location: String,
        /// What went wrong (never the value).
        #[source]
        source: crate::secrets::SecretsError,
    },
    /// The backend URL is not supported.
    #[error(
        "unsupported backend URL `{url}`: use `file://DIR` (relative to the project directory, or absolute) or `s3://bucket/prefix`"
    )]
    BadUrl {
        /// The URL.
        url: String,
    },
    /// A stack that has no state.
    #[error("stack {stack} has no state in {backend}")]
    NoSuchStack {
        /// The stack.
        stack: StackName,
        /// The backend.
        backend: String,
    },
    /// A stack that still manages resources cannot be removed.
    #[error(
        "stack {stack} still has {count} resources: run `destroy` first, or pass --force to forget them"
    )]
    StackNotEmpty {
        /// The stack.
        stack: StackName,
        /// How many resources.
        count: usize,
    },
    /// A failure of the backend's service.
    #[error("state backend {backend}: {message}")]
    Backend {
        /// The backend.
        backend: String,
        /// What failed.
        message: String,
    },
}
