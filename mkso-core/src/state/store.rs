//! `StateStore`: one stack's state on a backend — locking, loading (snapshot +
//! journal replay), the group-commit journal writer, compaction and history.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use super::StateError;
use super::backend::Backend;
use super::codec::{decode_journal, decode_snapshot, encode_journal_entry, encode_snapshot};
use super::history::HistoryEntry;
use super::lock::{Liveness, LockGuard, LockInfo};
use super::model::{JournalEntry, PendingOp, PendingOperation, StateView};
use super::sealing::Sealer;
use crate::names::StackName;
use crate::secrets::Secrets;
use serde_json::Value;

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
    fence: Fence,
    /// The project of the program using this store (checked on load).
    project: Option<String>,
}

/// Fences state writes by the lock: the token of the lock this store took;
/// before a write, the lock record must still carry it.
#[derive(Clone)]
struct Fence {
    backend: Arc<dyn Backend>,
    stack: StackName,
    token: Arc<std::sync::Mutex<Option<String>>>,
}

impl Fence {
    /// Fails with [`StateError::LockLost`] when the lock this store took was
    /// broken (removed or taken by another holder). Without a lock: passes.
    async fn check(&self) -> Result<(), StateError> {
        let Some(ours) = self.token.lock().unwrap().clone() else {
            return Ok(());
        };
        let current = self.backend.read_lock(&self.stack).await?;
        let holder = current.map(|b| parse_lock(&b));
        match holder {
            Some(h) if h.token == ours => Ok(()),
            holder => Err(StateError::LockLost {
                stack: self.stack.clone(),
                holder: holder.map(|h| h.to_string()),
            }),
        }
    }
}

/// Reads a lock record; an unreadable one is reported as such (never as us).
fn parse_lock(bytes: &[u8]) -> LockInfo {
    serde_json::from_slice(bytes).unwrap_or(LockInfo {
        user: "unknown".into(),
        host: "unknown".into(),
        pid: 0,
        command: "unknown (unreadable lock record)".into(),
        since: "unknown".into(),
        token: String::new(),
        start_ticks: None,
        boot_id: None,
        machine_id: None,
        pid_ns: None,
        lease_secs: None,
    })
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
            fence: Fence {
                backend: backend.clone(),
                stack: stack.clone(),
                token: Arc::default(),
            },
            backend,
            stack,
            sealer: Arc::new(sealer),
            project: None,
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

    /// The project of the program using this state: loading refuses a stack
    /// recorded by another project, and writes record this one.
    #[must_use]
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The project this store was opened for, if any.
    pub fn project(&self) -> Option<&str> {
        self.project.as_deref()
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

    /// Seals the listed top-level properties of `v` (all of it: `all`) as
    /// state records are sealed (for saved plans).
    pub fn seal_props(&self, v: &mut Value, all: bool, keys: &[String]) -> Result<(), StateError> {
        if !self.sealer.is_enabled() {
            return Ok(());
        }
        let location = self.backend.snapshot_location(&self.stack);
        self.sealer.seal_props(v, all, keys, &location)
    }

    /// Opens what [`StateStore::seal_props`] sealed; `what` names the value
    /// in errors.
    pub fn open_props(
        &self,
        v: &mut Value,
        all: bool,
        keys: &[String],
        what: &str,
    ) -> Result<(), StateError> {
        self.sealer.open_props(v, all, keys, what, what)
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
        let mut info = LockInfo::current(command);
        let lease = if self.backend.leases() {
            Some(lock_lease().map_err(|message| StateError::Backend {
                backend: self.backend.describe(),
                message,
            })?)
        } else {
            None
        };
        info.lease_secs = lease.map(|l| l.as_secs());
        let bytes = serde_json::to_vec(&info).expect("lock info serializes");
        let mut took_over = None;
        let mut lease_expired = false;
        for _ in 0..3 {
            match self.backend.create_lock(&self.stack, &bytes).await? {
                None => {
                    *self.fence.token.lock().unwrap() = Some(info.token.clone());
                    let mut guard = LockGuard::new(self.backend.clone(), self.stack.clone());
                    guard.took_over = took_over;
                    guard.lease_expired = lease_expired;
                    if let Some(lease) = lease {
                        guard.renewal = Some(renew_while_held(
                            self.backend.clone(),
                            self.stack.clone(),
                            info,
                            lease,
                        ));
                    }
                    return Ok(guard);
                }
                Some(raw) => {
                    let holder = parse_lock(&raw);
                    // A holder on this machine whose process is gone (killed,
                    // crashed), or a leased lock not renewed in time: it is
                    // taken over, never a live one's.
                    let dead = holder.liveness() == Liveness::Dead;
                    let expired = !dead && self.lease_expired(&holder).await?;
                    if (dead || expired) && self.backend.break_lock_if(&self.stack, &raw).await? {
                        tracing::warn!(stack = %self.stack, holder = %holder, expired, "took over the lock of a holder that is gone");
                        took_over = Some(holder);
                        lease_expired = expired;
                        continue;
                    }
                    return Err(StateError::Locked {
                        stack: self.stack.clone(),
                        holder: Box::new(holder),
                    });
                }
            }
        }
        Err(StateError::Backend {
            backend: self.backend.describe(),
            message: format!(
                "the lock of stack {} keeps changing hands; try again",
                self.stack
            ),
        })
    }

    /// Whether `holder`'s lease (on a leased backend) ran out: its record was
    /// not rewritten for longer than the lease it declared.
    async fn lease_expired(&self, holder: &LockInfo) -> Result<bool, StateError> {
        let Some(lease) = holder.lease_secs else {
            return Ok(false);
        };
        Ok(self
            .backend
            .lock_age(&self.stack)
            .await?
            .is_some_and(|age| age > std::time::Duration::from_secs(lease)))
    }

    /// The lock record as stored, with who it names, if the stack is locked.
    pub async fn lock_record(&self) -> Result<Option<(LockInfo, Vec<u8>)>, StateError> {
        Ok(self
            .backend
            .read_lock(&self.stack)
            .await?
            .map(|b| (parse_lock(&b), b)))
    }

    /// Breaks the lock only if it still holds `record` (as read by
    /// [`StateStore::lock_record`]); returns whether it did.
    pub async fn break_lock_if(&self, record: &[u8]) -> Result<bool, StateError> {
        self.backend.break_lock_if(&self.stack, record).await
    }

    /// Fails with [`StateError::LockLost`] if the lock this store took was
    /// broken since (every state write of an update checks this first).
    pub async fn check_fence(&self) -> Result<(), StateError> {
        self.fence.check().await
    }

    /// Who holds the lock, if anyone.
    pub async fn lock_holder(&self) -> Result<Option<LockInfo>, StateError> {
        Ok(self.lock_record().await?.map(|(holder, _)| holder))
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
            if let JournalEntry::Base { serial, project } = e {
                // A journal written against an older snapshot was already compacted.
                applies = serial == view.serial;
                if applies && view.project.is_none() {
                    view.project = project;
                }
                continue;
            }
            if applies {
                let mut e = e;
                self.sealer.open_entry(&mut e, &location)?;
                view.apply(e);
                replayed += 1;
            }
        }
        if view.project.is_none() {
            // State written before projects were recorded: its URNs name it.
            view.project = view
                .live
                .keys()
                .chain(view.pending_deletes.keys().map(|(u, _)| u))
                .map(|u| u.project_part())
                .find(|p| !p.is_empty())
                .map(str::to_string);
        }
        if let (Some(recorded), Some(ours)) = (&view.project, &self.project)
            && recorded != ours
        {
            return Err(StateError::WrongProject {
                stack: self.stack.clone(),
                recorded: recorded.clone(),
                program: ours.clone(),
                backend: self.backend.describe(),
            });
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
        if self.project.is_some() {
            view.project.clone_from(&self.project);
        }
        let location = self.backend.snapshot_location(&self.stack);
        let r = view.snapshot_ref(serial);
        let bytes = if self.sealer.is_enabled() && r.has_secrets() {
            let mut s = view.to_snapshot(serial);
            self.sealer.seal_snapshot(&mut s, &location)?;
            encode_snapshot(&s)
        } else {
            encode_snapshot(&r)
        };
        self.fence.check().await?;
        self.backend.write_snapshot(&self.stack, &bytes).await?;
        self.backend.reset_journal(&self.stack).await?;
        view.serial = serial;
        Ok(serial)
    }

    /// Adopts the records of writers whose lock was broken while they ran
    /// (see [`Backend::put_orphans`]) into `view` as pending operations, so
    /// that the next update resolves them through the provider as after a
    /// crash: a resource such a writer created is found by its identity and
    /// recorded (or found gone), a delete it made is confirmed. Returns how
    /// many operations were adopted and the names of the orphan files, to be
    /// removed once `view` is compacted.
    pub async fn adopt_orphans(
        &self,
        view: &mut StateView,
    ) -> Result<(usize, Vec<String>), StateError> {
        let names = self.backend.list_orphans(&self.stack).await?;
        let mut adopted = 0;
        for name in &names {
            let bytes = self.backend.read_orphans(&self.stack, name).await?;
            let location = format!(
                "{} (orphan records {name})",
                self.backend.journal_location(&self.stack)
            );
            let (entries, _) = decode_journal(&bytes, &location)?;
            for mut e in entries {
                self.sealer.open_entry(&mut e, &location)?;
                let (op, r) = match e {
                    JournalEntry::Upsert { resource, .. }
                    | JournalEntry::Replaced { resource, .. } => (PendingOp::Create, resource),
                    JournalEntry::Removed { urn, id, .. } => {
                        let known = view
                            .live
                            .get(&urn)
                            .filter(|r| r.id == id)
                            .or_else(|| view.pending_deletes.get(&(urn.clone(), id.clone())));
                        match known {
                            Some(r) => (PendingOp::Delete, r.clone()),
                            None => continue,
                        }
                    }
                    // Calls it never started, failures and outputs change nothing.
                    _ => continue,
                };
                if r.id.is_empty() {
                    continue;
                }
                let op_id = view.next_op_id();
                view.pending.insert(
                    op_id,
                    PendingOperation {
                        op_id,
                        op,
                        urn: r.urn,
                        type_token: r.type_token,
                        id: r.id,
                        inputs: r.inputs.to_value(),
                        dependencies: r.dependencies,
                        parent: r.parent,
                        provider: r.provider,
                        secret: r.secret,
                        secret_inputs: r.secret_inputs,
                    },
                );
                adopted += 1;
            }
        }
        Ok((adopted, names))
    }

    /// Removes orphan record files once what they held is compacted.
    pub async fn remove_orphans(&self, names: &[String]) -> Result<(), StateError> {
        for n in names {
            self.backend.delete_orphans(&self.stack, n).await?;
        }
        Ok(())
    }

    /// Starts a group-commit journal writer for an operation on `view.serial`.
    pub fn journal(&self, base_serial: u64) -> JournalWriter {
        JournalWriter::start(
            self.backend.clone(),
            self.stack.clone(),
            base_serial,
            self.sealer.clone(),
            self.fence.clone(),
            self.project.clone(),
        )
    }

    /// Records an update in the history and trims it to the last `keep`;
    /// `keep: 0` keeps no history at all (and removes what there was).
    pub async fn record_history(
        &self,
        entry: &HistoryEntry,
        keep: usize,
    ) -> Result<(), StateError> {
        if keep > 0 {
            let bytes = serde_json::to_vec_pretty(entry).expect("history serializes");
            self.backend
                .put_history(&self.stack, &entry.id, &bytes)
                .await?;
        }
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

/// Writes the entries of a batch that a fenced writer could not journal to
/// the backend's orphan records, where the next holder adopts them.
async fn keep_orphans(
    backend: &Arc<dyn Backend>,
    stack: &StackName,
    fence: &Fence,
    seq: &mut u32,
    base_serial: u64,
    sealed: &Result<Vec<Vec<JournalEntry>>, StateError>,
) {
    let Ok(sealed) = sealed else { return };
    let mut side = Vec::new();
    encode_journal_entry(
        &JournalEntry::Base {
            serial: base_serial,
            project: None,
        },
        &mut side,
    );
    for e in sealed.iter().flatten() {
        encode_journal_entry(e, &mut side);
    }
    *seq += 1;
    let token = fence.token.lock().unwrap().clone().unwrap_or_default();
    let name = format!("{token}-{:06}-{}", *seq, std::process::id());
    if let Err(e) = backend.put_orphans(stack, &name, &side).await {
        // The last place left: standard error (secret values stay sealed).
        use std::io::Write;
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "error: cannot keep the records of this update, whose lock was broken, for the next holder ({e}). Record these journal lines by hand (append them to the stack's journal after the next holder's `base` line) or `refresh` the stack:"
        );
        let _ = err.write_all(&side);
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
    /// Cancelled when the writer finds its lock broken, so that the update
    /// starts nothing more.
    on_fence: Arc<std::sync::Mutex<Option<tokio_util::sync::CancellationToken>>>,
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
        fence: Fence,
        project: Option<String>,
    ) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Request>();
        let on_fence: Arc<std::sync::Mutex<Option<tokio_util::sync::CancellationToken>>> =
            Arc::default();
        let on_fence_task = on_fence.clone();
        let describe = backend.journal_location(&stack);
        let describe_inner = describe.clone();
        let task = tokio::spawn(async move {
            let mut based = false;
            let mut orphan_seq = 0u32;
            let mut failed: Option<String> = None;
            // Set when the lock was broken: every later batch is kept aside.
            let mut fenced: Option<String> = None;
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
                let result = if let Err(e) = &sealed {
                    Err(e.to_string())
                } else if let Some(f) = &failed {
                    Err(f.clone())
                } else {
                    // Append first, then check that the lock is still ours: a
                    // check before the append could pass just before the lock
                    // is broken. A batch appended after the break lands in
                    // the new holder's journal (replayed or skipped there)
                    // and is kept aside as orphan records as well, so it is
                    // adopted either way (adopting a record twice is harmless).
                    let appended = if fenced.is_some() {
                        Ok(())
                    } else {
                        buf.clear();
                        if !based {
                            encode_journal_entry(
                                &JournalEntry::Base {
                                    serial: base_serial,
                                    project: project.clone(),
                                },
                                &mut buf,
                            );
                        }
                        for entries in sealed.iter().flatten() {
                            for e in entries {
                                encode_journal_entry(e, &mut buf);
                            }
                        }
                        backend.append_journal(&stack, &buf).await
                    };
                    let lost = match (&fenced, &appended) {
                        (Some(lost), _) => Some(lost.clone()),
                        (None, Err(_)) => None,
                        (None, Ok(())) => match fence.check().await {
                            Err(lost @ StateError::LockLost { .. }) => {
                                fenced = Some(lost.to_string());
                                if let Some(t) = on_fence_task.lock().unwrap().as_ref() {
                                    t.cancel();
                                }
                                fenced.clone()
                            }
                            // The lock could not be read: this batch is
                            // durable; the next one checks again.
                            Err(e) => {
                                tracing::warn!(stack = %stack, error = %e, "cannot read the lock to check that it is still ours");
                                None
                            }
                            Ok(()) => None,
                        },
                    };
                    if let Some(lost) = lost {
                        // Another holder owns the journal now: keep what this
                        // batch records where the next holder adopts it.
                        keep_orphans(
                            &backend,
                            &stack,
                            &fence,
                            &mut orphan_seq,
                            base_serial,
                            &sealed,
                        )
                        .await;
                        Err(lost)
                    } else {
                        match appended {
                            Ok(()) => {
                                based = true;
                                Ok(())
                            }
                            Err(e) => {
                                failed = Some(e.to_string());
                                Err(e.to_string())
                            }
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
            on_fence,
            tx,
            task,
            backend: describe,
        }
    }

    /// Cancels `token` when a write finds the lock broken (see
    /// [`StateError::LockLost`]): the update then starts no more steps.
    pub fn cancel_on_fence(&self, token: tokio_util::sync::CancellationToken) {
        *self.on_fence.lock().unwrap() = Some(token);
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

/// The lease of a lock on a leased backend: `MKSO_LOCK_LEASE` (e.g. `60s`,
/// at least 3 s), 60 s by default.
fn lock_lease() -> Result<std::time::Duration, String> {
    match std::env::var("MKSO_LOCK_LEASE") {
        Err(_) => Ok(std::time::Duration::from_secs(60)),
        Ok(v) => match humantime::parse_duration(v.trim()) {
            Ok(d) if d >= std::time::Duration::from_secs(3) => Ok(d),
            _ => Err(format!(
                "MKSO_LOCK_LEASE is `{v}`: give a duration of at least 3s, e.g. `60s` (how long a lock not renewed stays taken)"
            )),
        },
    }
}

/// Renews the lease every third of it while the lock is held; stops when
/// the lock is no longer this process's (the fence then stops its next state
/// write).
fn renew_while_held(
    backend: Arc<dyn Backend>,
    stack: StackName,
    info: LockInfo,
    lease: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    // The same bytes each time: the ETag stays, so a release racing a
    // renewal still matches; S3's `Last-Modified` is what moves.
    let bytes = serde_json::to_vec(&info).expect("lock info serializes");
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(lease / 3).await;
            match backend.renew_lock(&stack, &bytes).await {
                Ok(true) => tracing::debug!(stack = %stack, "renewed the lock's lease"),
                Ok(false) => {
                    tracing::warn!(stack = %stack, "the lock was taken by another process: this update stops at its next state write");
                    return;
                }
                Err(e) => {
                    tracing::warn!(stack = %stack, error = %e, "could not renew the lock's lease; trying again");
                }
            }
        }
    })
}
