//! Rollback: when a step of an update fails for good and the update was
//! asked to (`up --rollback-on-failure`, or `rollback: on_failure` in
//! `Mkso.yaml`), every change the update made is reverted, in reverse
//! dependency order, through the same journaled provider calls as any step:
//!
//! - a created resource is deleted (an imported one is only forgotten);
//! - an updated one is updated back to its recorded inputs;
//! - a create-before-delete replacement swaps back (the old copy is live
//!   again, the new copy becomes a pending delete) and the new copy is
//!   deleted;
//! - a delete-before-replace replacement deletes the new copy and creates the
//!   old resource again from its recorded inputs (a new id: what depends on
//!   it and is updated back gets the new id where its old inputs had the old).
//!
//! Restores (updates back, swaps, recreations) run first, dependencies
//! before dependents, while every copy still exists; then the deletes,
//! dependents first. A crash at any point leaves the state accurate: a new
//! copy is recorded (live or as a pending delete) until it is deleted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use futures::FutureExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::apply::{StepDone, begin, end_failed, no_provider, recorded_secret_outputs};
use super::events::{EngineEvent, Op};
use super::execute::{Ctx, limiter_key};
use super::failure::{StepError, StepFailure};
use super::graph::topo_order;
use super::plan::delete_deps;
use super::refresh::changed_keys;
use super::step::DeleteStep;
use super::timeline::{StepResult, StepTiming, span_ms};
use super::walk::{Handler, NodeEnd, Skip, Start, walk};
use crate::names::Urn;
use crate::options::Tenacity;
use crate::provider::{CreateRequest, Provider, ProviderRegistry, UpdateRequest};
use crate::stack::ResourceKind;
use crate::state::{JournalEntry, PendingOp, ResourceState, StateView};

/// What reverting one resource does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevertAction {
    /// Delete what the update created (or a replacement's new copy).
    Delete,
    /// Forget what the update imported (it stays in the cloud).
    Forget,
    /// Update it back to its recorded inputs.
    UpdateBack,
    /// Make the old copy of a create-before-delete replacement live again
    /// (its new copy is then deleted).
    SwapBack,
    /// Delete the new copy of a delete-before-replace replacement and create
    /// the old resource again from its recorded inputs.
    Recreate,
}

impl RevertAction {
    /// For people: `update back`.
    pub fn label(self) -> &'static str {
        match self {
            RevertAction::Delete => "delete",
            RevertAction::Forget => "forget",
            RevertAction::UpdateBack => "update back",
            RevertAction::SwapBack => "swap back",
            RevertAction::Recreate => "recreate",
        }
    }
}

/// One revert that was done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reverted {
    /// The resource.
    pub urn: Urn,
    /// What was done.
    pub action: RevertAction,
}

/// What a rollback did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollbackOutcome {
    /// The reverts that were done, in the order they finished.
    pub reverted: Vec<Reverted>,
    /// The reverts that failed: those resources keep what the update made
    /// of them (the state says so).
    pub failures: Vec<StepFailure>,
    /// Reverts that did not run (one they waited for failed).
    pub not_run: Vec<Urn>,
    /// Resources not known to be back as they were: a call of this update
    /// with an unknown outcome (it timed out, or gave up on a retryable
    /// error; the next `up` resolves it through the provider first), a
    /// failed step that did half its work (a delete-first replacement whose
    /// create failed), a rename through an alias, an import (forgotten, but
    /// an import may have updated it), a created resource with
    /// `retain_on_delete`. The state records each as it is.
    pub unresolved: Vec<Urn>,
}

impl RollbackOutcome {
    /// Whether everything the update changed was reverted.
    pub fn complete(&self) -> bool {
        self.failures.is_empty() && self.not_run.is_empty() && self.unresolved.is_empty()
    }
}

/// One revert to do.
#[derive(Debug, Clone)]
struct Revert {
    action: RevertAction,
    /// The record before the update (update back, swap back, recreate).
    before: Option<ResourceState>,
    /// The record the update made (delete, forget, update back, recreate).
    after: Option<ResourceState>,
}

impl Revert {
    fn urn(&self) -> &Urn {
        &self
            .after
            .as_ref()
            .or(self.before.as_ref())
            .expect("a revert has a record")
            .urn
    }
}

/// The reverts of the changes `done` (the succeeded steps: URN → op), from
/// `before` (the records its steps started from) to `after` (now): the
/// restores, the deletes, and the resources it cannot revert (renamed
/// through an alias, kept by `retain_on_delete`, imported and changed).
fn reverts(
    before: &Before,
    after: &StateView,
    done: &[(Urn, Op)],
) -> (Vec<Revert>, Vec<Revert>, Vec<Urn>) {
    let mut restores = Vec::new();
    let mut deletes = Vec::new();
    let mut cannot = Vec::new();
    for (urn, op) in done {
        let now = after.live.get(urn).cloned();
        let was = before.get(urn).cloned().flatten();
        if matches!(op, Op::Update | Op::Replace) && was.is_none() {
            // Renamed through an alias: recorded before under another URN.
            cannot.push(urn.clone());
            continue;
        }
        match op {
            Op::Create if now.as_ref().is_some_and(|n| n.retain_on_delete) => {
                // A rollback would only forget it, leaving it in the cloud.
                cannot.push(urn.clone());
            }
            Op::Create => {
                if let Some(now) = now {
                    deletes.push(Revert {
                        action: RevertAction::Delete,
                        before: None,
                        after: Some(now),
                    });
                }
            }
            Op::Import => {
                if let Some(now) = now {
                    deletes.push(Revert {
                        action: RevertAction::Forget,
                        before: None,
                        after: Some(now),
                    });
                    // An import may have updated it to match the program;
                    // forgetting it does not undo that.
                    cannot.push(urn.clone());
                }
            }
            Op::Update => {
                if let (Some(was), Some(now)) = (was, now) {
                    restores.push(Revert {
                        action: RevertAction::UpdateBack,
                        before: Some(was),
                        after: Some(now),
                    });
                }
            }
            Op::Replace => {
                let (Some(was), Some(now)) = (was, now) else {
                    continue;
                };
                let old_kept = after
                    .pending_deletes
                    .contains_key(&(was.urn.clone(), was.id.clone()));
                if old_kept {
                    // Swap back, then delete the new copy (a pending delete
                    // after the swap).
                    let mut new_copy = now;
                    new_copy.pending_delete = true;
                    restores.push(Revert {
                        action: RevertAction::SwapBack,
                        before: Some(was),
                        after: None,
                    });
                    deletes.push(Revert {
                        action: RevertAction::Delete,
                        before: None,
                        after: Some(new_copy),
                    });
                } else {
                    restores.push(Revert {
                        action: RevertAction::Recreate,
                        before: Some(was),
                        after: Some(now),
                    });
                }
            }
            _ => {}
        }
    }
    (restores, deletes, cannot)
}

/// The order of the restores: a swap back or a recreation before what
/// depends on it (which may be updated back to it); an update back after
/// what depends on it is updated back (the forward update changed it first
/// because they needed its new state).
fn restore_deps(items: &[Revert]) -> Vec<Vec<usize>> {
    let index: HashMap<&Urn, usize> = items
        .iter()
        .enumerate()
        .map(|(i, r)| (r.urn(), i))
        .collect();
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); items.len()];
    for (i, r) in items.iter().enumerate() {
        let rec = r.before.as_ref().or(r.after.as_ref()).expect("a record");
        for j in rec
            .dependencies
            .iter()
            .chain(rec.parent.iter())
            .filter_map(|u| index.get(u).copied())
        {
            // `i` depends on `j`.
            let both_updates =
                r.action == RevertAction::UpdateBack && items[j].action == RevertAction::UpdateBack;
            if both_updates {
                deps[j].push(i);
            } else {
                deps[i].push(j);
            }
        }
    }
    deps
}

/// Replaces every string in `v` that is a key of `ids` (an old id) by its
/// value (the new id).
fn replace_ids(v: &mut Value, ids: &HashMap<String, String>) {
    match v {
        Value::String(s) => {
            if let Some(new) = ids.get(s.as_str()) {
                s.clone_from(new);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| replace_ids(x, ids)),
        Value::Object(o) => o.values_mut().for_each(|x| replace_ids(x, ids)),
        _ => {}
    }
}

async fn update_back(
    ctx: &Arc<Ctx>,
    provider: &Arc<dyn Provider>,
    was: &ResourceState,
    now: &ResourceState,
    done: &mut StepDone,
) -> Result<(), StepError> {
    let mut draft = was.clone();
    draft.id.clone_from(&now.id);
    draft.outputs = Value::Null.into();
    let op_id = begin(ctx, provider, PendingOp::Update, &draft, done).await?;
    let changed = changed_keys(&now.inputs, &was.inputs);
    let identity = ctx.identity(&now.urn, &now.type_token);
    let result = ctx
        .call(
            &limiter_key(now.provider.as_ref()),
            &now.urn,
            Op::Update,
            "update",
            None,
            Tenacity::default(),
            || {
                provider.update(UpdateRequest {
                    identity: identity.clone(),
                    id: now.id.clone(),
                    old_inputs: now.inputs.to_value(),
                    old_outputs: now.outputs.to_value(),
                    new_inputs: was.inputs.to_value(),
                    changed: changed.clone(),
                    labels: ctx.labels.clone(),
                })
            },
        )
        .await
        .map(|r| (now.id.clone(), r.outputs));
    record(ctx, provider, op_id, result, was, false, done).await
}

/// Creates the old resource again from its recorded inputs, and deletes the
/// new copy: first (delete-before-replace), or after — `create_first`, for a
/// rolling group's member, whose copies can coexist: the member never goes
/// without a copy. A crash between the two leaves the new copy recorded as
/// an old copy to delete.
async fn recreate(
    ctx: &Arc<Ctx>,
    provider: &Arc<dyn Provider>,
    was: &ResourceState,
    now: &ResourceState,
    create_first: bool,
    done: &mut StepDone,
) -> Result<(), StepError> {
    if !create_first {
        DeleteStep::apply(
            ctx,
            now,
            Some(provider.clone()),
            Tenacity::default(),
            None,
            done,
        )
        .await?;
    }
    let mut draft = was.clone();
    draft.id = String::new();
    draft.outputs = Value::Null.into();
    let op_id = begin(ctx, provider, PendingOp::Create, &draft, done).await?;
    let identity = ctx.identity(&was.urn, &was.type_token);
    let exclude = vec![now.id.clone(), was.id.clone()];
    let result = ctx
        .call(
            &limiter_key(was.provider.as_ref()),
            &was.urn,
            Op::Create,
            "create",
            None,
            Tenacity::default(),
            || {
                provider.create(CreateRequest {
                    identity: identity.clone(),
                    inputs: was.inputs.to_value(),
                    labels: ctx.labels.clone(),
                    exclude_ids: exclude.clone(),
                })
            },
        )
        .await
        .map(|r| (r.id, r.outputs));
    if !create_first {
        return record(ctx, provider, op_id, result, was, false, done).await;
    }
    // The recreated copy is live; the new one becomes an old copy, deleted.
    record(ctx, provider, op_id, result, was, true, done).await?;
    let mut new_copy = now.clone();
    new_copy.pending_delete = true;
    DeleteStep::apply(
        ctx,
        &new_copy,
        Some(provider.clone()),
        Tenacity::default(),
        None,
        done,
    )
    .await
}

/// Journals the record a revert's provider call made (`was` with the id
/// and outputs it answered; `replacing`: as the live copy, the current one
/// becoming an old copy to delete), or ends its pending operation when it
/// failed.
async fn record(
    ctx: &Arc<Ctx>,
    provider: &Arc<dyn Provider>,
    op_id: Option<u64>,
    result: Result<(String, Value), StepError>,
    was: &ResourceState,
    replacing: bool,
    done: &mut StepDone,
) -> Result<(), StepError> {
    match result {
        Ok((id, outputs)) => {
            let mut rec = was.clone();
            rec.id = id;
            // The secret outputs of what the provider answered now.
            rec.secret_outputs = recorded_secret_outputs(
                provider.as_ref(),
                &was.type_token,
                was.secret,
                &was.secret_inputs,
                &outputs,
            );
            rec.outputs = outputs.into();
            let e = if replacing {
                JournalEntry::Replaced {
                    op_id,
                    resource: rec,
                }
            } else {
                JournalEntry::Upsert {
                    op_id,
                    resource: rec,
                }
            };
            done.journal(ctx, vec![e]).await
        }
        Err(e) => {
            end_failed(ctx, op_id, &e, done).await?;
            Err(e)
        }
    }
}

async fn revert(
    ctx: Arc<Ctx>,
    r: Revert,
    provider: Option<Arc<dyn Provider>>,
    create_first: bool,
    done: &mut StepDone,
) -> Result<(), StepError> {
    match r.action {
        RevertAction::Delete => {
            let rec = r.after.as_ref().expect("a delete has a record");
            DeleteStep::apply(&ctx, rec, provider, Tenacity::default(), None, done).await
        }
        RevertAction::Forget => {
            let rec = r.after.as_ref().expect("a forget has a record");
            done.journal(
                &ctx,
                vec![JournalEntry::Removed {
                    op_id: None,
                    urn: rec.urn.clone(),
                    id: rec.id.clone(),
                }],
            )
            .await
        }
        RevertAction::SwapBack => {
            // The old copy is live again; the new one becomes a pending delete.
            let mut old = r.before.clone().expect("a swap has the old record");
            old.pending_delete = false;
            done.journal(
                &ctx,
                vec![JournalEntry::Replaced {
                    op_id: None,
                    resource: old,
                }],
            )
            .await
        }
        RevertAction::UpdateBack => {
            let (was, now) = (
                r.before.as_ref().expect("old"),
                r.after.as_ref().expect("new"),
            );
            if was.kind == ResourceKind::Component {
                // Its recorded outputs as they were.
                return done
                    .journal(
                        &ctx,
                        vec![JournalEntry::Upsert {
                            op_id: None,
                            resource: was.clone(),
                        }],
                    )
                    .await;
            }
            match &provider {
                Some(p) => update_back(&ctx, p, was, now, done).await,
                None => Err(no_provider(now, "revert")),
            }
        }
        RevertAction::Recreate => {
            let (was, now) = (
                r.before.as_ref().expect("old"),
                r.after.as_ref().expect("new"),
            );
            match &provider {
                Some(p) => recreate(&ctx, p, was, now, create_first, done).await,
                None => Err(no_provider(now, "revert")),
            }
        }
    }
}

struct RevertPhase<'a> {
    ctx: Arc<Ctx>,
    items: Vec<Revert>,
    providers: &'a ProviderRegistry,
    view: &'a mut StateView,
    outcome: &'a mut RollbackOutcome,
    started_at: Vec<Option<tokio::time::Instant>>,
    /// The update's start and its timeline, which the reverts join.
    timeline: (tokio::time::Instant, &'a mut Vec<StepTiming>),
    /// The failed steps the reverts follow (for the critical path).
    after: &'a [Urn],
    /// Old id → new id of the resources recreated so far: what depends on
    /// them is updated back to the new copy, not to the deleted old one.
    recreated: HashMap<String, String>,
    /// Rolling groups' members replaced create-first: recreated the same way.
    create_first: &'a HashSet<Urn>,
}

impl RevertPhase<'_> {
    /// Walks `items` in the order `deps` gives.
    async fn run(
        &mut self,
        items: Vec<Revert>,
        deps: &[Vec<usize>],
        parallel: usize,
        never: &tokio_util::sync::CancellationToken,
    ) {
        if items.is_empty() {
            return;
        }
        self.started_at = vec![None; items.len()];
        self.items = items;
        walk(deps, parallel, never, self).await;
    }

    fn time(&mut self, i: usize, result: StepResult) {
        let (start_ms, end_ms) = span_ms(
            self.timeline.0,
            self.started_at[i],
            self.ctx.opts.clock.now(),
        );
        let r = &self.items[i];
        let urn = r.urn().clone();
        let attempts = self.ctx.take_attempts(&urn);
        self.timeline.1.push(StepTiming {
            urn,
            op: action_op(r.action),
            start_ms,
            end_ms,
            attempts,
            result,
            dependencies: self.after.to_vec(),
            revert: Some(r.action),
            batch: None,
        });
    }
}

impl Handler for RevertPhase<'_> {
    type Output = StepDone;

    fn start(&mut self, i: usize, _: bool) -> Start<StepDone> {
        let mut r = self.items[i].clone();
        if let Some(before) = r.before.as_mut()
            && !self.recreated.is_empty()
        {
            replace_ids(before.inputs.to_mut(), &self.recreated);
        }
        let rec = r.after.as_ref().or(r.before.as_ref()).expect("a record");
        let provider = rec.provider.as_ref().and_then(|p| self.providers.get(p));
        let ctx = self.ctx.clone();
        let create_first = self.create_first.contains(r.urn());
        self.started_at[i] = Some(ctx.opts.clock.now());
        ctx.emit(EngineEvent::RevertStarted {
            urn: r.urn().clone(),
            action: r.action,
        });
        Start::Run(
            async move {
                let mut done = StepDone::new(Op::Delete, true);
                if let Err(e) = revert(ctx, r, provider, create_first, &mut done).await {
                    done.error = Some(e);
                }
                done
            }
            .boxed(),
        )
    }

    fn finish(&mut self, i: usize, out: StepDone) -> NodeEnd {
        let urn = self.items[i].urn().clone();
        let action = self.items[i].action;
        if action == RevertAction::Recreate && out.error.is_none() {
            let old_id = self.items[i].before.as_ref().map(|b| b.id.clone());
            let new_id = out.entries.iter().find_map(|e| match e {
                JournalEntry::Upsert { resource, .. } | JournalEntry::Replaced { resource, .. }
                    if resource.urn == urn =>
                {
                    Some(resource.id.clone())
                }
                _ => None,
            });
            if let (Some(old), Some(new)) = (old_id, new_id) {
                self.recreated.insert(old, new);
            }
        }
        for e in out.entries {
            self.view.apply(e);
        }
        let result = if out.error.is_some() {
            StepResult::Failed
        } else {
            StepResult::Succeeded
        };
        self.time(i, result);
        if let Some(err) = out.error {
            self.ctx.emit(EngineEvent::RevertFailed {
                urn: urn.clone(),
                action,
                error: err.message.clone(),
            });
            self.outcome
                .failures
                .push(err.into_failure(urn, action_op(action)));
            return NodeEnd::Failed;
        }
        let ms = self.started_at[i]
            .map(|s| (self.ctx.opts.clock.now() - s).as_millis() as u64)
            .unwrap_or(0);
        self.ctx.emit(EngineEvent::RevertFinished {
            urn: urn.clone(),
            action,
            duration_ms: ms,
        });
        self.outcome.reverted.push(Reverted { urn, action });
        NodeEnd::Changed
    }

    fn skip(&mut self, i: usize, _: Skip) {
        self.outcome.not_run.push(self.items[i].urn().clone());
        self.time(i, StepResult::Skipped);
    }

    fn panicked(&mut self, i: usize, message: String) {
        let urn = self.items[i].urn().clone();
        let action = self.items[i].action;
        self.ctx.emit(EngineEvent::RevertFailed {
            urn: urn.clone(),
            action,
            error: message.clone(),
        });
        self.outcome
            .failures
            .push(StepError::panicked(&message).into_failure(urn, action_op(action)));
    }
}

/// The op a revert's failure is reported under.
fn action_op(a: RevertAction) -> Op {
    match a {
        RevertAction::Delete | RevertAction::Forget => Op::Delete,
        RevertAction::UpdateBack | RevertAction::SwapBack => Op::Update,
        RevertAction::Recreate => Op::Replace,
    }
}

/// The record of each resource an update's steps started on, as it was
/// then (`None`: it had none).
pub(crate) type Before = HashMap<Urn, Option<ResourceState>>;

/// What an update did, for its rollback.
pub(crate) struct UpdateDone<'a> {
    /// The records its steps started from.
    pub before: &'a Before,
    /// Its succeeded steps: URN → op.
    pub done: &'a [(Urn, Op)],
    /// Its failed steps.
    pub failed: &'a [Urn],
    /// The first operation id it used (its pending calls are those from it).
    pub first_op_id: u64,
    /// When it started (the timeline's origin).
    pub started: tokio::time::Instant,
    /// Its rolling groups' members planned as create-first replacements.
    pub create_first: &'a HashSet<Urn>,
}

/// Reverts what `update` did; `view` is the state now, and is kept up to
/// date as reverts finish; the reverts join `timeline`.
pub(crate) async fn roll_back(
    ctx: &Arc<Ctx>,
    update: UpdateDone<'_>,
    view: &mut StateView,
    timeline: &mut Vec<StepTiming>,
    providers: &ProviderRegistry,
    parallel: usize,
) -> RollbackOutcome {
    let UpdateDone {
        before,
        done,
        failed,
        first_op_id,
        started: t0,
        create_first,
    } = update;
    let (restores, deletes, cannot) = reverts(before, view, done);
    let mut outcome = RollbackOutcome::default();
    ctx.emit(EngineEvent::RollbackStarted {
        reverts: restores.len() + deletes.len(),
    });
    // A cancel (Ctrl-C) does not stop a rollback half way: it finishes.
    let never = tokio_util::sync::CancellationToken::new();
    let mut phase = RevertPhase {
        ctx: ctx.clone(),
        items: Vec::new(),
        providers,
        view,
        outcome: &mut outcome,
        started_at: Vec::new(),
        timeline: (t0, timeline),
        after: failed,
        recreated: HashMap::new(),
        create_first,
    };
    let deps = restore_deps(&restores);
    let deps = match topo_order(&deps) {
        Ok(_) => deps,
        Err(_) => vec![Vec::new(); restores.len()],
    };
    phase.run(restores, &deps, parallel, &never).await;
    if phase.outcome.failures.is_empty() {
        let recs: Vec<&ResourceState> = deletes
            .iter()
            .map(|r| r.after.as_ref().expect("a delete has a record"))
            .collect();
        let deps = delete_deps(&recs);
        phase.run(deletes, &deps, parallel, &never).await;
    } else {
        phase
            .outcome
            .not_run
            .extend(deletes.iter().map(|r| r.urn().clone()));
    }
    let view = &*phase.view;
    // Calls of this update whose outcome is unknown are still pending.
    // ...and failed steps may have done half their work (a delete-first
    // replacement whose create failed); some changes cannot be reverted.
    outcome.unresolved = view
        .pending
        .values()
        .filter(|p| p.op_id >= first_op_id)
        .map(|p| p.urn.clone())
        .chain(
            failed
                .iter()
                .filter(|u| {
                    before
                        .get(*u)
                        .is_some_and(|was| was.as_ref() != view.live.get(*u))
                })
                .cloned(),
        )
        .chain(cannot)
        .collect();
    outcome.unresolved.sort();
    outcome.unresolved.dedup();
    ctx.emit(EngineEvent::RollbackFinished {
        reverted: outcome.reverted.len(),
        failed: outcome.failures.iter().map(|f| f.urn.clone()).collect(),
        not_run: outcome.not_run.clone(),
    });
    outcome
}
