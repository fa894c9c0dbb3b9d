//! The engine's event stream: serialisable events, and sinks that consume them
//! (the terminal display, `--json`, the testing kit).

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::failure::FailureKind;
use crate::names::Urn;

/// What a step does to a resource.
///
/// Ops order, hash and compare as their names ([`Op::as_str`]): a
/// `BTreeMap<Op, _>` (the counts of [`UpdateOutcome::changes`],
/// [`Plan::changes`]) lists its keys in the order a map keyed by the names
/// did (`create`, `delete`, `import`, `refresh`, `replace`, `same`,
/// `update`), so its JSON and the summary line keep that order; and it
/// can be read by name (`changes.get("create")`).
///
/// [`UpdateOutcome::changes`]: super::UpdateOutcome::changes
/// [`Plan::changes`]: super::Plan::changes
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Nothing changes.
    Same,
    /// Create it.
    Create,
    /// Update it in place.
    Update,
    /// Replace it (create the new one, delete the old one; or the other way round).
    Replace,
    /// Delete it.
    Delete,
    /// Adopt an existing cloud resource.
    Import,
    /// Read it (refresh).
    Refresh,
}

impl Op {
    /// The lower-case name (`create`).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Same => "same",
            Op::Create => "create",
            Op::Update => "update",
            Op::Replace => "replace",
            Op::Delete => "delete",
            Op::Import => "import",
            Op::Refresh => "refresh",
        }
    }

    /// The symbol shown in previews (`+`, `~`, `+-`, `-`, `=`).
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Same => " ",
            Op::Create => "+",
            Op::Update => "~",
            Op::Replace => "+-",
            Op::Delete => "-",
            Op::Import => "=",
            Op::Refresh => "~",
        }
    }

    /// Whether the step changes anything.
    pub fn is_change(self) -> bool {
        !matches!(self, Op::Same | Op::Refresh)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Ord for Op {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl PartialOrd for Op {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Hash for Op {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

/// Consistent with `Ord`, `Eq` and `Hash` (all by name), as `Borrow` asks.
impl Borrow<str> for Op {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// Which command an operation's [`EngineEvent::Summary`] ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OperationKind {
    /// `preview`.
    Preview,
    /// `up`.
    Up,
    /// `destroy`.
    Destroy,
    /// `refresh`.
    Refresh,
}

impl OperationKind {
    /// The command's name (`up`).
    pub fn as_str(self) -> &'static str {
        match self {
            OperationKind::Preview => "preview",
            OperationKind::Up => "up",
            OperationKind::Destroy => "destroy",
            OperationKind::Refresh => "refresh",
        }
    }
}

impl fmt::Display for OperationKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an operation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OperationResult {
    /// Every step succeeded.
    Succeeded,
    /// A step failed, or did not run because a dependency failed.
    Failed,
    /// Stopped by Ctrl-C (or SIGTERM, SIGHUP, SIGQUIT).
    Cancelled,
    /// A step failed, and every change the update made was reverted.
    RolledBack,
}

impl OperationResult {
    /// `succeeded`, `failed`, `cancelled` or `rolled_back`.
    pub fn as_str(self) -> &'static str {
        match self {
            OperationResult::Succeeded => "succeeded",
            OperationResult::Failed => "failed",
            OperationResult::Cancelled => "cancelled",
            OperationResult::RolledBack => "rolled_back",
        }
    }
}

impl fmt::Display for OperationResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Compares with the name (`outcome.result() == "failed"`).
impl PartialEq<str> for OperationResult {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for OperationResult {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl From<OperationResult> for crate::state::UpdateResult {
    fn from(r: OperationResult) -> Self {
        match r {
            OperationResult::Succeeded => crate::state::UpdateResult::Succeeded,
            OperationResult::Failed => crate::state::UpdateResult::Failed,
            OperationResult::Cancelled => crate::state::UpdateResult::Cancelled,
            OperationResult::RolledBack => crate::state::UpdateResult::RolledBack,
        }
    }
}

/// The severity of a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Information.
    Info,
    /// Something to look at.
    Warning,
    /// Something failed.
    Error,
}

/// One planned change, as events and `--json` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepSummary {
    /// The resource.
    pub urn: Urn,
    /// Its type.
    #[serde(rename = "type")]
    pub type_token: String,
    /// What will happen.
    pub op: Op,
    /// Properties that change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// Properties that force the replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_keys: Vec<String>,
    /// Of `replace_keys`, those whose new value is unknown until upstream
    /// resources are applied, with those resources (`subnet_id` → the subnet
    /// being replaced).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_until: BTreeMap<String, Vec<Urn>>,
    /// The replacement deletes the old resource before creating the new one.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_before_replace: bool,
}

/// An event of a preview or an update.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// The plan is known (changes only; unchanged resources are counted).
    PlanReady {
        /// The stack.
        stack: String,
        /// The changes.
        steps: Vec<StepSummary>,
        /// Steps per operation.
        changes: BTreeMap<Op, usize>,
    },
    /// A step started.
    StepStarted {
        /// The resource.
        urn: Urn,
        /// What it does.
        op: Op,
    },
    /// A step finished.
    StepFinished {
        /// The resource.
        urn: Urn,
        /// What it did.
        op: Op,
        /// How long it took.
        duration_ms: u64,
    },
    /// A step failed for good.
    StepFailed {
        /// The resource.
        urn: Urn,
        /// What it tried.
        op: Op,
        /// What kind of failure (see [`FailureKind`]).
        kind: FailureKind,
        /// The attempt that failed last.
        attempt: u32,
        /// The error.
        error: String,
    },
    /// A step did not run because a dependency failed or Ctrl-C was pressed.
    StepSkipped {
        /// The resource.
        urn: Urn,
        /// What it would have done.
        op: Op,
        /// Why not.
        reason: String,
    },
    /// A step failed and the update rolls back: `reverts` changes are to be
    /// reverted.
    RollbackStarted {
        /// How many reverts.
        reverts: usize,
    },
    /// A revert started.
    RevertStarted {
        /// The resource.
        urn: Urn,
        /// What it does.
        action: super::rollback::RevertAction,
    },
    /// A revert finished.
    RevertFinished {
        /// The resource.
        urn: Urn,
        /// What it did.
        action: super::rollback::RevertAction,
        /// How long it took.
        duration_ms: u64,
    },
    /// A revert failed: the resource keeps what the update made of it.
    RevertFailed {
        /// The resource.
        urn: Urn,
        /// What it tried.
        action: super::rollback::RevertAction,
        /// The error.
        error: String,
    },
    /// The rollback ended.
    RollbackFinished {
        /// Reverts done.
        reverted: usize,
        /// Resources whose revert failed.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        failed: Vec<Urn>,
        /// Resources whose revert did not run.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not_run: Vec<Urn>,
    },
    /// A retryable error; the step will be tried again.
    RetryScheduled {
        /// The resource.
        urn: Urn,
        /// What it tries.
        op: Op,
        /// The attempt that failed.
        attempt: u32,
        /// The wait before the next attempt.
        delay_ms: u64,
        /// The error.
        error: String,
        /// A throttling answer: not a failed attempt; the provider's
        /// concurrency narrows.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        throttled: bool,
    },
    /// A message for the user.
    Diagnostic {
        /// How serious.
        level: Level,
        /// The resource it is about.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        urn: Option<Urn>,
        /// The message.
        message: String,
    },
    /// The end of an operation.
    Summary {
        /// preview / up / destroy / refresh.
        kind: OperationKind,
        /// succeeded / failed / cancelled.
        result: OperationResult,
        /// Steps per operation.
        changes: BTreeMap<Op, usize>,
        /// Steps that failed.
        failed: usize,
        /// Steps that did not run.
        skipped: usize,
        /// Wall time.
        duration_ms: u64,
        /// Throttling answers from providers (retried; not failures).
        #[serde(default, skip_serializing_if = "is_zero")]
        throttled: u64,
    },
    /// A batch of a rolling group's rollout started (its first member's
    /// step started).
    RolloutBatchStarted {
        /// The rolling group.
        group: String,
        /// The batch, from 1.
        batch: usize,
        /// How many batches.
        batches: usize,
        /// Its members.
        members: Vec<Urn>,
    },
    /// A batch of a rollout ended: every member ready (and its old copy
    /// deleted), or some failed and the rollout stops here.
    RolloutBatchFinished {
        /// The rolling group.
        group: String,
        /// The batch, from 1.
        batch: usize,
        /// How many batches.
        batches: usize,
        /// Members changed and ready.
        ready: usize,
        /// Members that failed (not ready, or their change failed).
        failed: usize,
        /// Members of this batch that did not run (a dependency failed, the
        /// update was cancelled); the members of later batches, which a
        /// failed batch keeps from starting, are counted by their own
        /// batches' events.
        #[serde(default, skip_serializing_if = "is_zero_usize")]
        skipped: usize,
    },
    /// A round of `watch` ended: what it found and put back.
    WatchRound {
        /// The round (from 1).
        round: u64,
        /// Resources found changed or deleted outside mkso.
        drifted: usize,
        /// Resources created, updated or replaced to match the program.
        repaired: usize,
        /// Resources whose read or change failed this round (retried next).
        failing: usize,
        /// Why the round did not run through (the stack locked by someone
        /// else, a program error, a provider unreachable), if it did not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
        /// When the next round starts, in milliseconds from now (`None`:
        /// this was the last).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next_in_ms: Option<u64>,
    },
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

fn is_zero_usize(n: &usize) -> bool {
    *n == 0
}

/// Receives engine events.
pub trait EventSink: Send + Sync {
    /// Handles one event.
    fn emit(&self, event: &EngineEvent);
}

/// Drops every event.
#[derive(Debug, Default)]
pub struct NullSink;

impl EventSink for NullSink {
    fn emit(&self, _: &EngineEvent) {}
}

/// Collects events in memory (tests, history).
#[derive(Debug, Default, Clone)]
pub struct VecSink(Arc<Mutex<Vec<EngineEvent>>>);

impl VecSink {
    /// A new, empty sink.
    pub fn new() -> Self {
        Self::default()
    }
    /// The events so far.
    pub fn events(&self) -> Vec<EngineEvent> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EventSink for VecSink {
    fn emit(&self, event: &EngineEvent) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

/// Sends each event to several sinks.
#[derive(Default)]
pub struct FanOut(pub Vec<Arc<dyn EventSink>>);

impl EventSink for FanOut {
    fn emit(&self, event: &EngineEvent) {
        for s in &self.0 {
            s.emit(event);
        }
    }
}

/// Logs events through `tracing`, next to a display that shows them (the
/// CLI's): every event is logged at `debug` or below, so the default log
/// level (`warn`) does not repeat on standard error what the display
/// already printed (a failed step, a retry, a diagnostic); `MKSO_LOG=debug`
/// adds them to the log, with their fields.
#[derive(Debug, Default)]
pub struct TracingSink;

impl EventSink for TracingSink {
    fn emit(&self, event: &EngineEvent) {
        match event {
            EngineEvent::StepFailed {
                urn,
                op,
                kind,
                attempt,
                error,
            } => {
                tracing::debug!(%urn, %op, %kind, attempt, %error, "step failed")
            }
            EngineEvent::RetryScheduled {
                urn,
                op,
                attempt,
                delay_ms,
                error,
                throttled,
            } => {
                tracing::debug!(%urn, %op, attempt, delay_ms, %error, throttled, "retry scheduled")
            }
            EngineEvent::StepFinished {
                urn,
                op,
                duration_ms,
            } => {
                tracing::debug!(%urn, %op, duration_ms, "step finished")
            }
            EngineEvent::StepSkipped { urn, op, reason } => {
                tracing::debug!(%urn, %op, %reason, "step skipped")
            }
            EngineEvent::Diagnostic {
                level,
                urn,
                message,
            } => {
                let level = match level {
                    Level::Info => "info",
                    Level::Warning => "warning",
                    Level::Error => "error",
                };
                tracing::debug!(urn = ?urn, level, "{message}")
            }
            EngineEvent::Summary {
                kind,
                result,
                failed,
                skipped,
                duration_ms,
                throttled,
                ..
            } => {
                tracing::debug!(%kind, %result, failed, skipped, duration_ms, throttled, "summary")
            }
            EngineEvent::WatchRound {
                round,
                drifted,
                repaired,
                failing,
                error,
                ..
            } => {
                tracing::debug!(round, drifted, repaired, failing, error = ?error, "watch round")
            }
            _ => tracing::trace!(?event, "engine event"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Op; 7] = [
        Op::Same,
        Op::Create,
        Op::Update,
        Op::Replace,
        Op::Delete,
        Op::Import,
        Op::Refresh,
    ];

    #[test]
    fn a_map_keyed_by_op_is_the_map_keyed_by_name() {
        // The counts were a `BTreeMap<String, usize>`: keyed by `Op`, they
        // iterate, serialize and look up as they did.
        let by_op: BTreeMap<Op, usize> = ALL.iter().enumerate().map(|(i, o)| (*o, i)).collect();
        let by_name: BTreeMap<String, usize> = ALL
            .iter()
            .enumerate()
            .map(|(i, o)| (o.as_str().to_string(), i))
            .collect();
        assert_eq!(
            serde_json::to_string(&by_op).unwrap(),
            serde_json::to_string(&by_name).unwrap()
        );
        let order: Vec<&str> = by_op.keys().map(|o| o.as_str()).collect();
        assert_eq!(
            order,
            [
                "create", "delete", "import", "refresh", "replace", "same", "update"
            ]
        );
        assert_eq!(by_op.get("update"), Some(&2));
        assert_eq!(by_op["same"], 0);
        let back: BTreeMap<Op, usize> =
            serde_json::from_str(&serde_json::to_string(&by_name).unwrap()).unwrap();
        assert_eq!(back, by_op);
    }

    #[test]
    fn the_summary_event_is_written_as_before() {
        let e = EngineEvent::Summary {
            kind: OperationKind::Up,
            result: OperationResult::Failed,
            changes: BTreeMap::from([(Op::Update, 1), (Op::Create, 2), (Op::Same, 3)]),
            failed: 1,
            skipped: 2,
            duration_ms: 5,
            throttled: 0,
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"event":"summary","kind":"up","result":"failed","changes":{"create":2,"same":3,"update":1},"failed":1,"skipped":2,"duration_ms":5}"#
        );
        assert_eq!(serde_json::from_str::<EngineEvent>(&text).unwrap(), e);
        for (k, s) in [
            (OperationKind::Preview, "preview"),
            (OperationKind::Up, "up"),
            (OperationKind::Destroy, "destroy"),
            (OperationKind::Refresh, "refresh"),
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), s);
            assert_eq!(k.to_string(), s);
        }
        for (r, s) in [
            (OperationResult::Succeeded, "succeeded"),
            (OperationResult::Failed, "failed"),
            (OperationResult::Cancelled, "cancelled"),
        ] {
            assert_eq!(serde_json::to_value(r).unwrap(), s);
            assert_eq!(r.to_string(), s);
            assert_eq!(r, s);
        }
    }

    #[test]
    fn a_failed_step_event_carries_its_kind() {
        let e = EngineEvent::StepFailed {
            urn: Urn::parse("urn:mkso:a.b.Dev::p::t:m:T::x").unwrap(),
            op: Op::Create,
            kind: FailureKind::GaveUp,
            attempt: 3,
            error: "busy (gave up after 3 attempts)".into(),
        };
        let text = serde_json::to_string(&e).unwrap();
        assert_eq!(
            text,
            r#"{"event":"step_failed","urn":"urn:mkso:a.b.Dev::p::t:m:T::x","op":"create","kind":"gave_up","attempt":3,"error":"busy (gave up after 3 attempts)"}"#
        );
        assert_eq!(serde_json::from_str::<EngineEvent>(&text).unwrap(), e);
    }
}
