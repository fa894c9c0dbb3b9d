//! `StateStore`: one stack's state on a backend — locking, loading (snapshot +
//! journal replay), the group-commit journal writer, compaction and history.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::StateError;
use super::backend::Backend;
use super::codec::{decode_journal, decode_snapshot, encode_journal_entry, encode_snapshot};
use super::history::HistoryEntry;
use super::lock::{LockGuard, LockInfo};
use super::model::{JournalEntry, StateView};
use super::sealing::Sealer;
use crate::names::StackName;
use crate::secrets::Secrets;

/// A loaded state.
#[derive(Debug)]
pub struct LoadedState {
    /// The state after replaying the journal.
    pub view: StateView,
    /// How many journal entries were replayed (non-zero after an interrupted update).
    pub replayed: usize,
    /// Whether a torn last journal line (a write cut off by a crash) was dropped.
    pub torn_tail: bool,
}

/// One stack's state on a backend.
#[derive(Clone)]
pub struct StateStore {
    backend: Arc<dyn Backend>,
    stack: StackName,
    sealer: Arc<Sealer>,
}

impl std::fmt::Debug for StateStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StateStore({} in {})",
            self.stack,
            self.backend.describe()
        )
    }
}

impl StateStore {
    /// The state of `stack` on `backend`. Secret values are sealed with the
    /// passphrase in `MKSO_PASSPHRASE` (unless the backend persists nothing).
    pub fn new(backend: Arc<dyn Backend>, stack: StackName) -> Self {
        let sealer = if backend.is_persistent() {
            Sealer::new(Secrets::process(), None)
        } else {
            Sealer::disabled()
        };
        StateStore {
            backend,
            stack,
            sealer: Arc::new(sealer),
        }
    }

    /// Seals secret values with this sealer (e.g. with the stack file's salt).
    #[must_use]
    pub fn with_sealer(mut self, sealer: Sealer) -> Self {
        if self.backend.is_persistent() {
            self.sealer = Arc::new(sealer);
        }
        self
    }

    /// Seals the secret values of a snapshot (for `state export`).
    pub fn seal_snapshot(&self, snap: &mut super::Snapshot) -> Result<(), StateError> {
        if self.sealer.is_enabled() {
            let location = self.backend.snapshot_location(&self.stack);
            self.sealer.seal_snapshot(snap, &location)?;
        }
        Ok(())
    }

    /// Opens the sealed values of a snapshot (for `state import`).
    pub fn open_snapshot(&self, snap: &mut super::Snapshot) -> Result<(), StateError> {
        self.sealer.open_snapshot(snap, "the imported state")
    }

    /// Whether secret values can be written (fails early, before any change,
    /// when a program has secrets and no passphrase is set).
    pub fn can_seal(&self) -> bool {
        self.sealer.can_seal()
    }

    /// The backend.
    pub fn backend(&self) -> &Arc<dyn Backend> {
        &self.backend
    }

    /// The stack.
    pub fn stack(&self) -> &StackName {
        &self.stack
    }

    /// Takes the stack's lock, or fails naming its holder.
    pub async fn lock(&self, command: &str) -> Result<LockGuard, StateError> {
        let info = LockInfo::current(command);
        let bytes = serde_json::to_vec(&info).expect("lock info serializes");
        match self.backend.create_lock(&self.stack, &bytes).await? {
            None => Ok(LockGuard::new(self.backend.clone(), self.stack.clone())),
            Some(holder) => Err(StateError::Locked {
                stack: self.stack.clone(),
                holder: serde_json::from_slice(&holder).unwrap_or(LockInfo {
                    user: "unknown".into(),
                    host: "unknown".into(),
                    pid: 0,
                    command: "unknown (unreadable lock record)".into(),
                    since: "unknown".into(),
                }),
            }),
        }
    }

    /// Who holds the lock, if anyone.
    pub async fn lock_holder(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(self
            .backend
            .read_lock(&self.stack)
            .await?
            .map(|b| serde_json::from_slice(&b).unwrap_or_else(|_| LockInfo::current("unknown"))))
    }

    /// Breaks the lock (for `unlock`).
    pub fn break_lock(&self) -> Result<(), StateError> {
        self.backend.release_lock_blocking(&self.stack)
    }

    /// Whether any state exists for the stack.
    pub async fn exists(&self) -> Result<bool, StateError> {
        Ok(self.backend.read_snapshot(&self.stack).await?.is_some()
            || !self.backend.read_journal(&self.stack).await?.is_empty())
    }

    /// Loads the snapshot and replays the journal onto it.
    pub async fn load(&self) -> Result<LoadedState, StateError> {
        let mut view = match self.backend.read_snapshot(&self.stack).await? {
            Some(bytes) => {
                let location = self.backend.snapshot_location(&self.stack);
                let mut snap = decode_snapshot(&bytes, &location)?;
                self.sealer.open_snapshot(&mut snap, &location)?;
                StateView::from_snapshot(snap)
            }
            None => StateView::empty(self.stack.clone()),
        };
        let journal = self.backend.read_journal(&self.stack).await?;
        let location = self.backend.journal_location(&self.stack);
        let (entries, torn_tail) = decode_journal(&journal, &location)?;
        let mut replayed = 0;
        let mut applies = false;
        for e in entries {
            if let JournalEntry::Base { serial } = e {
                // A journal written against an older snapshot was already compacted.
                applies = serial == view.serial;
                continue;
            }
            if applies {
                let mut e = e;
                self.sealer.open_entry(&mut e, &location)?;
                view.apply(e);
                replayed += 1;
            }
        }
        Ok(LoadedState {
            view,
            replayed,
            torn_tail,
        })
    }

    /// Writes `view` as the next snapshot and clears the journal. Returns the new serial.
    pub async fn compact(&self, view: &mut StateView) -> Result<u64, StateError> {
        let serial = view.serial + 1;
        let location = self.backend.snapshot_location(&self.stack);
        let r = view.snapshot_ref(serial);
        let bytes = if self.sealer.is_enabled() && r.has_secrets() {
            let mut s = view.to_snapshot(serial);
            self.sealer.seal_snapshot(&mut s, &location)?;
            encode_snapshot(&s)
        } else {
            encode_snapshot(&r)
        };
        self.backend.write_snapshot(&self.stack, &bytes).await?;
        self.backend.reset_journal(&self.stack).await?;
        view.serial = serial;
        Ok(serial)
    }

    /// Starts a group-commit journal writer for an operation on `view.serial`.
    pub fn journal(&self, base_serial: u64) -> JournalWriter {
        JournalWriter::start(
            self.backend.clone(),
            self.stack.clone(),
            base_serial,
            self.sealer.clone(),
        )
    }

    /// Records an update in the history and trims it to the last `keep`.
    pub async fn record_history(
        &self,
        entry: &HistoryEntry,
        keep: usize,
    ) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(entry).expect("history serializes");
        self.backend
            .put_history(&self.stack, &entry.id, &bytes)
            .await?;
        let ids = self.backend.list_history(&self.stack).await?;
        if ids.len() > keep {
            for id in &ids[..ids.len() - keep] {
                self.backend.delete_history(&self.stack, id).await?;
            }
        }
        Ok(())
    }

    /// The history, oldest first.
    pub async fn history(&self) -> Result<Vec<HistoryEntry>, StateError> {
        let mut out = Vec::new();
        for id in self.backend.list_history(&self.stack).await? {
            let b = self.backend.read_history(&self.stack, &id).await?;
            match serde_json::from_slice(&b) {
                Ok(e) => out.push(e),
                Err(e) => tracing::warn!(id, error = %e, "skipping an unreadable history record"),
            }
        }
        Ok(out)
    }
}

struct Request {
    entries: Vec<JournalEntry>,
    ack: Option<oneshot::Sender<Result<(), String>>>,
}

/// Appends journal entries with group commit: everything queued while one
/// append is being made durable goes into the next append together.
#[derive(Debug)]
pub struct JournalWriter {
    tx: mpsc::UnboundedSender<Request>,
    task: tokio::task::JoinHandle<()>,
    backend: String,
}

impl JournalWriter {
    fn start(
        backend: Arc<dyn Backend>,
        stack: StackName,
        base_serial: u64,
        sealer: Arc<Sealer>,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let describe = backend.journal_location(&stack);
        let describe_inner = describe.clone();
        let task = tokio::spawn(async move {
            let mut based = false;
            let mut failed: Option<String> = None;
            let mut buf = Vec::new();
            while let Some(first) = rx.recv().await {
                let mut batch = vec![first];
                while batch.len() < 8192 {
                    match rx.try_recv() {
                        Ok(r) => batch.push(r),
                        Err(_) => break,
                    }
                }
                let sealed: Result<Vec<Vec<JournalEntry>>, StateError> = batch
                    .iter()
                    .map(|r| {
                        r.entries
                            .iter()
                            .map(|e| sealer.seal_entry(e, &describe_inner))
                            .collect()
                    })
                    .collect();
                let result = if let Some(f) = &failed {
                    Err(f.clone())
                } else if let Err(e) = &sealed {
                    Err(e.to_string())
                } else {
                    buf.clear();
                    if !based {
                        encode_journal_entry(
                            &JournalEntry::Base {
                                serial: base_serial,
                            },
                            &mut buf,
                        );
                    }
                    for entries in sealed.iter().flatten() {
                        for e in entries {
                            encode_journal_entry(e, &mut buf);
                        }
                    }
                    match backend.append_journal(&stack, &buf).await {
                        Ok(()) => {
                            based = true;
                            Ok(())
                        }
                        Err(e) => {
                            failed = Some(e.to_string());
                            Err(e.to_string())
                        }
                    }
                };
                for r in batch {
                    if let Some(ack) = r.ack {
                        let _ = ack.send(result.clone());
                    }
                }
            }
        });
        JournalWriter {
            tx,
            task,
            backend: describe,
        }
    }

    /// Appends entries and waits until they are durable.
    pub async fn write(&self, entries: Vec<JournalEntry>) -> Result<(), StateError> {
        let (ack, rx) = oneshot::channel();
        let err = |message: String| StateError::Backend {
            backend: self.backend.clone(),
            message,
        };
        self.tx
            .send(Request {
                entries,
                ack: Some(ack),
            })
            .map_err(|_| err("the journal writer has stopped".into()))?;
        rx.await
            .map_err(|_| err("the journal writer has stopped".into()))?
            .map_err(err)
    }

    /// Waits for everything queued, then stops the writer.
    pub async fn close(self) {
        drop(self.tx);
        let _ = self.task.await;
    }
}
