//! Refresh: read every recorded resource through its provider; record what
//! changed outside mkso (drift) and forget what was deleted.

use std::sync::Arc;

use futures::FutureExt;
use serde::Serialize;
use serde_json::Value;

use super::EngineOptions;
use super::events::{EngineEvent, Level, Op};
use super::failure::{FailureKind, StepError, StepFailure};
use super::walk::{Handler, NodeEnd, Start, walk};
use crate::error::Error;
use crate::names::Urn;
use crate::provider::{ErrorClass, ProviderRegistry, ReadRequest, ResourceIdentity};
use crate::stack::ResourceKind;
use crate::state::{JournalEntry, JournalWriter, ResourceState, StateView};

/// What changed outside mkso.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The resource no longer exists.
    Deleted,
    /// Some properties differ (their names).
    Changed(Vec<String>),
}

/// One drifted resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// The resource.
    pub urn: Urn,
    /// What changed.
    pub kind: DriftKind,
}

/// What a refresh found.
#[derive(Debug, Default)]
pub struct RefreshOutcome {
    /// Resources that drifted.
    pub drift: Vec<Drift>,
    /// Resources read.
    pub read: usize,
    /// Reads that failed (their op: `refresh`).
    pub failures: Vec<StepFailure>,
}

/// The top-level keys whose values differ; a key that is absent on one
/// side and null on the other is the same (an optional property unset,
/// recorded by a version that did not know it).
pub(crate) fn changed_keys(old: &Value, new: &Value) -> Vec<String> {
    let set =
        |m: &serde_json::Map<String, Value>, k: &str| m.get(k).filter(|v| !v.is_null()).cloned();
    match (old.as_object(), new.as_object()) {
        (Some(o), Some(n)) => {
            let mut keys: Vec<String> = o
                .keys()
                .chain(n.keys())
                .filter(|k| set(o, k) != set(n, k))
                .cloned()
                .collect();
            keys.sort();
            keys.dedup();
            keys
        }
        _ if old != new => vec!["(value)".into()],
        _ => Vec::new(),
    }
}

type ReadResult = Result<Option<(Vec<JournalEntry>, Option<Drift>)>, StepError>;

struct RefreshPhase {
    records: Vec<ResourceState>,
    providers: ProviderRegistry,
    journal: Arc<JournalWriter>,
    opts: EngineOptions,
    stack: crate::names::StackName,
    outcome: RefreshOutcome,
    entries: Vec<JournalEntry>,
}

impl Handler for RefreshPhase {
    type Output = ReadResult;

    fn start(&mut self, i: usize, _: bool) -> Start<ReadResult> {
        let r = self.records[i].clone();
        if r.kind == ResourceKind::Component {
            return Start::Done(Ok(None));
        }
        let Some(provider) = r.provider.as_ref().and_then(|p| self.providers.get(p)) else {
            return Start::Done(Err(StepError::new(
                FailureKind::NoProvider,
                format!(
                    "no provider `{}` is registered to read it",
                    r.provider.map(|p| p.to_string()).unwrap_or_default()
                ),
            )));
        };
        let journal = self.journal.clone();
        let stack = self.stack.clone();
        let events = self.opts.events.clone();
        Start::Run(
            async move {
                events.emit(&EngineEvent::StepStarted {
                    urn: r.urn.clone(),
                    op: Op::Refresh,
                });
                let req = ReadRequest {
                    identity: ResourceIdentity {
                        urn: r.urn.clone(),
                        type_token: r.type_token.clone(),
                        stack,
                    },
                    id: r.id.clone(),
                    inputs: r.inputs.to_value(),
                    outputs: r.outputs.to_value(),
                };
                let span = tracing::info_span!("provider", verb = "read", urn = %r.urn);
                let result = tracing::Instrument::instrument(provider.read(req), span).await;
                let (entries, drift) = match result {
                    Err(e) if e.class == ErrorClass::NotFound => (
                        vec![JournalEntry::Removed {
                            op_id: None,
                            urn: r.urn.clone(),
                            id: r.id.clone(),
                        }],
                        Some(Drift {
                            urn: r.urn.clone(),
                            kind: DriftKind::Deleted,
                        }),
                    ),
                    Err(e) => {
                        return Err(StepError::provider(
                            FailureKind::of_provider_error(&e),
                            1,
                            e.to_string(),
                            e,
                        ));
                    }
                    Ok(resp) => {
                        // Drift is a change of what the program declares (inputs);
                        // computed outputs that moved are recorded silently.
                        // Compared with the records' text where they are
                        // still text (a refresh does not leave every record
                        // parsed).
                        let same_inputs = resp.inputs.as_ref().is_none_or(|i| r.inputs.same_as(i));
                        let new_inputs = resp.inputs.unwrap_or_else(|| r.inputs.to_value());
                        let keys = if same_inputs {
                            Vec::new()
                        } else {
                            changed_keys(&r.inputs.to_value(), &new_inputs)
                        };
                        if keys.is_empty() && resp.id == r.id && r.outputs.same_as(&resp.outputs) {
                            (Vec::new(), None)
                        } else {
                            let mut rec = r.clone();
                            rec.id = resp.id;
                            rec.inputs = new_inputs.into();
                            rec.outputs = resp.outputs.into();
                            (
                                vec![JournalEntry::Upsert {
                                    op_id: None,
                                    resource: rec,
                                }],
                                (!keys.is_empty()).then(|| Drift {
                                    urn: r.urn.clone(),
                                    kind: DriftKind::Changed(keys),
                                }),
                            )
                        }
                    }
                };
                if !entries.is_empty() {
                    journal
                        .write(entries.clone())
                        .await
                        .map_err(|e| StepError::new(FailureKind::State, e.to_string()))?;
                }
                Ok(Some((entries, drift)))
            }
            .boxed(),
        )
    }

    fn finish(&mut self, i: usize, out: ReadResult) -> NodeEnd {
        let urn = self.records[i].urn.clone();
        match out {
            Ok(None) => NodeEnd::Unchanged,
            Ok(Some((entries, drift))) => {
                self.outcome.read += 1;
                self.entries.extend(entries);
                self.opts.events.emit(&EngineEvent::StepFinished {
                    urn: urn.clone(),
                    op: Op::Refresh,
                    duration_ms: 0,
                });
                if let Some(d) = drift {
                    self.opts.events.emit(&EngineEvent::Diagnostic {
                        level: Level::Warning,
                        urn: Some(urn),
                        message: match &d.kind {
                            DriftKind::Deleted => "deleted outside mkso".to_string(),
                            DriftKind::Changed(k) => {
                                format!("changed outside mkso: {}", k.join(", "))
                            }
                        },
                    });
                    self.outcome.drift.push(d);
                    NodeEnd::Changed
                } else {
                    NodeEnd::Unchanged
                }
            }
            Err(e) => {
                self.opts.events.emit(&EngineEvent::StepFailed {
                    urn: urn.clone(),
                    op: Op::Refresh,
                    kind: e.kind,
                    attempt: e.attempt,
                    error: e.message.clone(),
                });
                self.outcome.failures.push(e.into_failure(urn, Op::Refresh));
                NodeEnd::Failed
            }
        }
    }

    fn skip(&mut self, _: usize, _: super::walk::Skip) {}

    fn panicked(&mut self, i: usize, message: String) {
        let urn = self.records[i].urn.clone();
        let err = StepError::panicked(&message);
        self.opts.events.emit(&EngineEvent::StepFailed {
            urn: urn.clone(),
            op: Op::Refresh,
            kind: err.kind,
            attempt: err.attempt,
            error: err.message.clone(),
        });
        self.outcome
            .failures
            .push(err.into_failure(urn, Op::Refresh));
    }
}

/// Whether `r` is a target or inside a targeted component (a component is
/// refreshed by reading its children).
fn targeted(r: &ResourceState, targets: &std::collections::HashSet<Urn>, view: &StateView) -> bool {
    let mut cur = Some(r);
    // Bounded: a recorded parent chain cannot be longer than the state.
    for _ in 0..=view.live.len() {
        let Some(c) = cur else { return false };
        if targets.contains(&c.urn) {
            return true;
        }
        cur = c.parent.as_ref().and_then(|p| view.live.get(p));
    }
    false
}

/// Reads the recorded resources (with `--target`, the targets and the
/// children of targeted components) through their providers.
pub(crate) async fn refresh(
    providers: &ProviderRegistry,
    view: &mut StateView,
    journal: Arc<JournalWriter>,
    opts: &EngineOptions,
) -> Result<RefreshOutcome, Error> {
    let mut records: Vec<ResourceState> = view.live.values().cloned().collect();
    if !opts.targets.is_empty() {
        // As `up` and `destroy`: a target naming no recorded resource is an
        // error, before anything is read.
        let targets = super::plan::resolve_targets(&opts.targets, &[], view)?;
        records.retain(|r| targeted(r, &targets, view));
    }
    records.sort_by(|a, b| a.urn.cmp(&b.urn));
    let deps = vec![Vec::new(); records.len()];
    let mut phase = RefreshPhase {
        records,
        providers: providers.clone(),
        journal,
        opts: opts.clone(),
        stack: view.stack.clone(),
        outcome: RefreshOutcome::default(),
        entries: Vec::new(),
    };
    walk(&deps, opts.parallel, &opts.cancel, &mut phase).await;
    for e in phase.entries.drain(..) {
        view.apply(e);
    }
    phase.outcome.drift.sort_by(|a, b| a.urn.cmp(&b.urn));
    Ok(phase.outcome)
}
