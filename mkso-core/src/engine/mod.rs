//! The engine: plan, execute along the graph, refresh, resolve interrupted
//! operations; with events, retries and cancellation.
//!
//! A [`Session`] is one locked operation on a stack: it loads the state
//! (replaying the journal of an interrupted update), resolves pending
//! operations, applies a [`Plan`], and on `finish` compacts the snapshot,
//! records history and releases the lock.

mod apply;
mod consistency;
mod events;
mod execute;
mod failure;
mod graph;
mod limiter;
mod plan;
mod refresh;
mod render;
mod retry;
mod rollback;
mod rollout;
mod saved_plan;
mod step;
mod timeline;
mod walk;

use std::sync::Arc;
use std::time::SystemTime;

use tokio_util::sync::CancellationToken;

pub use consistency::InconsistentPlan;
pub use events::{
    EngineEvent, EventSink, FanOut, Level, NullSink, Op, OperationKind, OperationResult,
    StepSummary, TracingSink, VecSink,
};
pub use execute::UpdateOutcome;
pub use failure::{FailureKind, StepFailure};
pub use graph::DepGraph;
pub use plan::{Plan, PlanKind, PlannedStep, plan_destroy, plan_update};
pub use refresh::{Drift, DriftKind, RefreshOutcome};
pub use render::{RenderOptions, render_plan, render_value, render_value_whole};
pub use retry::{Backoff, Clock, TokioClock};
pub use rollback::{RevertAction, Reverted, RollbackOutcome};
pub use rollout::{BatchRef, Rollout};
pub use saved_plan::{
    PLAN_FORMAT, PlanMoved, PropsSealer, SavedPlan, SavedStep, StateMark, program_digest,
    sha256_hex,
};
pub use step::{CreateStep, DeleteStep, ImportStep, ReplaceStep, SameStep, StepAction, UpdateStep};
pub use timeline::{StepResult, StepTiming, critical_path};

use crate::error::Error;
use crate::provider::ProviderRegistry;
use crate::stack::ProgramGraph;
use crate::state::{
    HistoryEntry, JournalWriter, LockGuard, RunBy, StateStore, StateView, UpdateKind, UpdateResult,
};

/// How the engine runs.
#[derive(Clone)]
pub struct EngineOptions {
    /// A hard cap on steps in flight at once (0: unbounded, the default).
    /// Provider calls are also limited per provider instance by an adaptive
    /// (AIMD) window that narrows on throttling answers.
    pub parallel: usize,
    /// Time and sleep.
    pub clock: Arc<dyn Clock>,
    /// Retry delays.
    pub backoff: Backoff,
    /// Where events go.
    pub events: Arc<dyn EventSink>,
    /// Cancels the operation (first Ctrl-C): nothing new starts.
    pub cancel: CancellationToken,
    /// `--target` URNs or names (empty: everything).
    pub targets: Vec<String>,
    /// Roll back when a step fails for good: nothing new starts, and every
    /// change the update made is reverted (`up --rollback-on-failure`).
    pub rollback: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            parallel: 0,
            clock: Arc::new(TokioClock),
            backoff: Backoff::default(),
            events: Arc::new(NullSink),
            cancel: CancellationToken::new(),
            targets: Vec::new(),
            rollback: false,
        }
    }
}

impl std::fmt::Debug for EngineOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineOptions")
            .field("parallel", &self.parallel)
            .field("targets", &self.targets)
            .field("rollback", &self.rollback)
            .finish_non_exhaustive()
    }
}

/// One locked operation on a stack; see the module docs.
#[derive(Debug)]
pub struct Session {
    store: StateStore,
    view: StateView,
    journal: Option<Arc<JournalWriter>>,
    lock: Option<LockGuard>,
    started: SystemTime,
    /// Who runs it, and the timeline of its steps, for the history entry.
    audit: (Option<RunBy>, Vec<StepTiming>),
    /// Messages from loading (journal replay, pending operations).
    pub notes: Vec<String>,
}

impl Session {
    /// Locks the stack and loads its state. A journal left by an interrupted
    /// update is replayed and compacted into a new snapshot first.
    pub async fn open(store: StateStore, command: &str) -> Result<Session, Error> {
        let lock = store.lock(command).await?;
        let loaded = store.load().await?;
        let mut view = loaded.view;
        let mut notes = Vec::new();
        if let Some(dead) = lock.took_over() {
            notes.push(format!(
                "took over the lock of {dead}: {}",
                lock.took_over_because()
            ));
        }
        if loaded.replayed > 0 || loaded.torn_tail {
            notes.push(format!(
                "recovered {} step(s) recorded by an interrupted update{}",
                loaded.replayed,
                if loaded.torn_tail {
                    " (a write cut off by the interruption was dropped)"
                } else {
                    ""
                }
            ));
        }
        let (adopted, orphans) = store.adopt_orphans(&mut view).await?;
        if adopted > 0 {
            notes.push(format!(
                "adopted {adopted} record(s) of an update whose lock was broken while it ran"
            ));
        }
        if loaded.replayed > 0 || loaded.torn_tail || !orphans.is_empty() {
            store.compact(&mut view).await?;
            store.remove_orphans(&orphans).await?;
        }
        let journal = Arc::new(store.journal(view.serial));
        Ok(Session {
            store,
            view,
            journal: Some(journal),
            lock: Some(lock),
            started: SystemTime::now(),
            audit: (None, Vec::new()),
            notes,
        })
    }

    /// The current state.
    pub fn view(&self) -> &StateView {
        &self.view
    }

    /// The store.
    pub fn store(&self) -> &StateStore {
        &self.store
    }

    /// The lock guard (to release it from a signal handler).
    pub fn lock(&self) -> Option<&LockGuard> {
        self.lock.as_ref()
    }

    fn journal(&self) -> Arc<JournalWriter> {
        self.journal.clone().expect("the session is open")
    }

    /// Replaces the state wholesale (for `state import`); written by `finish`.
    pub fn replace_view(mut self, view: StateView) -> Self {
        self.view = view;
        self
    }

    /// Resolves operations an interrupted update left pending, through the providers.
    pub async fn resolve_pending(
        &mut self,
        providers: &ProviderRegistry,
        opts: &EngineOptions,
    ) -> Result<Vec<String>, Error> {
        if self.view.pending.is_empty() {
            return Ok(Vec::new());
        }
        let journal = self.journal();
        execute::resolve_pending(providers, &mut self.view, &journal, opts).await
    }

    /// Records who runs this update (in its history entry).
    pub fn set_run_by(&mut self, run_by: RunBy) {
        self.audit.0 = Some(run_by);
    }

    /// Executes a plan made from this session's state.
    pub async fn apply(
        &mut self,
        graph: &ProgramGraph,
        plan: &Plan,
        opts: &EngineOptions,
    ) -> Result<UpdateOutcome, Error> {
        let has_secrets =
            plan.all_steps().any(PlannedStep::has_secret_values) || !plan.secret_outputs.is_empty();
        if has_secrets && !self.store.can_seal() {
            // Refuse before any change: a secret could not be recorded.
            return Err(crate::state::StateError::Secret {
                location: self.store.backend().snapshot_location(&self.view.stack),
                source: crate::secrets::SecretsError::NoPassphrase {
                    what: format!(
                        "stack {} has secret values, so recording them",
                        self.view.stack
                    ),
                },
            }
            .into());
        }
        self.journal().cancel_on_fence(opts.cancel.clone());
        let empty = StateView::empty(self.view.stack.clone());
        let view = std::mem::replace(&mut self.view, empty);
        let result = execute::execute(graph, plan, view, self.journal(), opts).await;
        match result {
            Ok((outcome, view, timeline)) => {
                self.view = view;
                self.audit.1 = timeline;
                if outcome.panics > 0 {
                    // A panicking step's durable entries never reached the view:
                    // the journal is the truth.
                    self.view = self.store.load().await?.view;
                }
                Ok(outcome)
            }
            Err(e) => {
                // The journal holds what was done: reload it.
                self.view = self.store.load().await?.view;
                Err(e)
            }
        }
    }

    /// Reads every resource through its provider and records drift.
    pub async fn refresh(
        &mut self,
        providers: &ProviderRegistry,
        opts: &EngineOptions,
    ) -> Result<RefreshOutcome, Error> {
        let journal = self.journal();
        journal.cancel_on_fence(opts.cancel.clone());
        refresh::refresh(providers, &mut self.view, journal, opts).await
    }

    /// Ends an operation that changed nothing worth a history entry (a
    /// `watch` round that found everything as declared): waits for the
    /// journal, compacts the snapshot, releases the lock.
    pub async fn finish_quietly(mut self) -> Result<(), Error> {
        self.close_journal().await;
        self.store.compact(&mut self.view).await?;
        self.release_lock();
        Ok(())
    }

    async fn close_journal(&mut self) {
        if let Some(j) = self.journal.take() {
            match Arc::try_unwrap(j) {
                Ok(j) => j.close().await,
                Err(_) => tracing::warn!("journal writer still shared at the end of a session"),
            }
        }
    }

    fn release_lock(&mut self) {
        if let Some(l) = self.lock.take() {
            l.release();
        }
    }

    /// Ends the operation: waits for the journal, compacts the snapshot,
    /// records history (trimmed to `keep`), releases the lock.
    pub async fn finish(
        mut self,
        kind: UpdateKind,
        result: UpdateResult,
        changes: std::collections::BTreeMap<Op, usize>,
        failed: usize,
        keep: usize,
    ) -> Result<HistoryEntry, Error> {
        self.close_journal().await;
        let serial = self.store.compact(&mut self.view).await?;
        let entry = HistoryEntry {
            id: format!("{serial:08}"),
            kind,
            started: humantime::format_rfc3339_seconds(self.started).to_string(),
            ended: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            result,
            changes: changes
                .into_iter()
                .map(|(op, n)| (op.as_str().to_string(), n))
                .collect(),
            failed,
            serial,
            run_by: self.audit.0.take(),
            steps: std::mem::take(&mut self.audit.1),
        };
        self.store.record_history(&entry, keep).await?;
        self.release_lock();
        Ok(entry)
    }
}
