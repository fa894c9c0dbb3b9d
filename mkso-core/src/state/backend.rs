//! The `Backend` trait: what a place that keeps state must do. Its verbs fit an
//! object store (create-if-absent, replace, list, delete): the local directory
//! backend implements them with files, an S3 backend with conditional requests.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;

use super::StateError;
use super::local::LocalBackend;
use crate::names::StackName;

/// A place that keeps stacks' state; see the module docs.
#[async_trait]
pub trait Backend: Send + Sync + 'static {
    /// A URL-like description for messages (`file:///...`).
    fn describe(&self) -> String;

    /// Where a stack's snapshot lives, for messages.
    fn snapshot_location(&self, stack: &StackName) -> String;

    /// Where a stack's journal lives, for messages.
    fn journal_location(&self, stack: &StackName) -> String;

    /// Creates the lock object if absent. `Ok(None)`: taken; `Ok(Some(bytes))`:
    /// already held, with the holder's record.
    async fn create_lock(
        &self,
        stack: &StackName,
        info: &[u8],
    ) -> Result<Option<Vec<u8>>, StateError>;

    /// Reads the lock record, if any.
    async fn read_lock(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError>;

    /// Removes the lock (used by the guard from any context, even a signal
    /// handler or a panic, so it must not need an async runtime).
    fn release_lock_blocking(&self, stack: &StackName) -> Result<(), StateError>;

    /// Removes the lock only if it still holds exactly `expected` (a record
    /// read before): a lock taken since is left alone. Returns whether it was
    /// removed.
    async fn break_lock_if(&self, stack: &StackName, expected: &[u8]) -> Result<bool, StateError> {
        match self.read_lock(stack).await? {
            Some(cur) if cur == expected => {
                self.release_lock_blocking(stack)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Whether this backend's locks are leases: renewed while held
    /// ([`Backend::renew_lock`]), free to take once not renewed for longer
    /// than the holder's lease ([`Backend::lock_age`]). Backends whose
    /// holders can be checked otherwise (local: by pid) say no.
    fn leases(&self) -> bool {
        false
    }

    /// Rewrites this process's lock record with `info` (the same holding,
    /// renewed), only if it is still this process's. Returns whether it was.
    async fn renew_lock(&self, _stack: &StackName, _info: &[u8]) -> Result<bool, StateError> {
        Ok(true)
    }

    /// How long ago the lock record was last written, by the backend's clock
    /// where it keeps one; `None` without a lock or a way to tell.
    async fn lock_age(
        &self,
        _stack: &StackName,
    ) -> Result<Option<std::time::Duration>, StateError> {
        Ok(None)
    }

    /// Reads the snapshot, if any.
    async fn read_snapshot(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError>;

    /// Replaces the snapshot atomically: readers see the old or the new one whole.
    async fn write_snapshot(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError>;

    /// Reads the whole journal (empty if none).
    async fn read_journal(&self, stack: &StackName) -> Result<Vec<u8>, StateError>;

    /// Appends to the journal; durable when it returns.
    async fn append_journal(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError>;

    /// Removes the journal (after a compaction).
    async fn reset_journal(&self, stack: &StackName) -> Result<(), StateError>;

    /// Stores a history record and a copy of the current snapshot under `id`.
    async fn put_history(
        &self,
        stack: &StackName,
        id: &str,
        record: &[u8],
    ) -> Result<(), StateError>;

    /// History ids, oldest first.
    async fn list_history(&self, stack: &StackName) -> Result<Vec<String>, StateError>;

    /// A history record.
    async fn read_history(&self, stack: &StackName, id: &str) -> Result<Vec<u8>, StateError>;

    /// The snapshot kept with a history record.
    async fn read_history_snapshot(
        &self,
        stack: &StackName,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StateError>;

    /// Deletes a history record and its snapshot.
    async fn delete_history(&self, stack: &StackName, id: &str) -> Result<(), StateError>;

    /// The stacks that have state.
    async fn list_stacks(&self) -> Result<Vec<StackName>, StateError>;

    /// Removes everything kept for a stack.
    async fn remove_stack(&self, stack: &StackName) -> Result<(), StateError>;

    /// Keeps journal records that a writer whose lock was broken could not
    /// append (the journal belongs to the new holder), under a unique `name`.
    async fn put_orphans(
        &self,
        stack: &StackName,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), StateError> {
        let _ = (stack, name, bytes);
        Err(StateError::Backend {
            backend: self.describe(),
            message: "this backend cannot keep orphan records".into(),
        })
    }

    /// The names of the orphan records kept for a stack.
    async fn list_orphans(&self, stack: &StackName) -> Result<Vec<String>, StateError> {
        let _ = stack;
        Ok(Vec::new())
    }

    /// Reads orphan records.
    async fn read_orphans(&self, stack: &StackName, name: &str) -> Result<Vec<u8>, StateError> {
        let _ = (stack, name);
        Ok(Vec::new())
    }

    /// Deletes orphan records (once adopted and compacted).
    async fn delete_orphans(&self, stack: &StackName, name: &str) -> Result<(), StateError> {
        let _ = (stack, name);
        Ok(())
    }

    /// Bytes written so far by this process (for benchmarks).
    fn bytes_written(&self) -> u64;

    /// Whether it keeps state beyond the process (secret values are sealed
    /// only where they are kept).
    fn is_persistent(&self) -> bool {
        true
    }

    /// Requests sent so far by this process (for benchmarks; 0 for local files).
    fn requests_sent(&self) -> u64 {
        0
    }
}

/// Opens the backend a URL names: `file://DIR` (relative paths are relative to
/// `project_dir`) or `s3://bucket/prefix` (with the `s3` feature).
pub fn backend_for_url(url: &str, project_dir: &Path) -> Result<Arc<dyn Backend>, StateError> {
    if let Some(path) = url.strip_prefix("file://") {
        let p = Path::new(path);
        let dir = if p.is_absolute() {
            p.to_path_buf()
        } else {
            project_dir.join(p)
        };
        return Ok(Arc::new(LocalBackend::new(dir)));
    }
    #[cfg(feature = "s3")]
    if url.starts_with("s3://") {
        return Ok(Arc::new(super::s3::S3Backend::from_url(url)?));
    }
    Err(StateError::BadUrl { url: url.into() })
}
