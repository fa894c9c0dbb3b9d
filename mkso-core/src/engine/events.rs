//! The engine's event stream: serialisable events, and sinks that consume them
//! (the terminal display, `--json`, the testing kit).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use crate::names::Urn;

/// What a step does to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
        changes: BTreeMap<String, usize>,
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
        kind: String,
        /// succeeded / failed / cancelled.
        result: String,
        /// Steps per operation.
        changes: BTreeMap<String, usize>,
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
}

fn is_zero(n: &u64) -> bool {
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
                attempt,
                error,
            } => {
                tracing::debug!(%urn, %op, attempt, %error, "step failed")
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
            _ => tracing::trace!(?event, "engine event"),
        }
    }
}
