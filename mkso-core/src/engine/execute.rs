//! Execution: the plan's steps run along the graph, each made durable in the
//! journal before its dependents start; then the clean-up deletes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::EngineOptions;
use super::apply::{DeclaredStep, StepDone, build_record, run_declared};
use super::consistency::PlannedOp;
use super::events::{EngineEvent, Level, Op, OperationResult};
use super::failure::{FailureKind, StepError, StepFailure};
use super::limiter::{CallEnd, INITIAL_WINDOW, Limiter, Limiters};
use super::plan::{
    MapResolver, Plan, PlanKind, delete_deps, provider_for, provider_ref, resolved_from_state,
};
use super::rollback::{Before, RollbackOutcome, UpdateDone, roll_back};
use super::rollout::{BatchRef, Member, wait_ready, with_batch_edges};
use super::step::{DeleteStep, StepAction};
use super::timeline::{StepResult, StepTiming, span_ms};
use super::walk::{Handler, NodeEnd, Skip, Start, walk};
use crate::error::Error;
use crate::names::{StackName, Urn};
use crate::options::Tenacity;
use crate::output::{Resolver, contains_unknown};
use crate::provider::{
    ErrorClass, Provider, ProviderError, ProviderRef, ProviderRegistry, ReadRequest,
    ResourceIdentity,
};
use crate::rolling::RollingPolicy;
use crate::stack::{ProgramGraph, ResourceKind};
use crate::state::{
    JournalEntry, JournalWriter, PendingOp, PendingOperation, Recorded, ResourceState, SecretProps,
    StateView,
};

/// What an update (or destroy) did.
#[derive(Debug)]
pub struct UpdateOutcome {
    /// Steps per operation that completed.
    pub changes: BTreeMap<Op, usize>,
    /// Steps that failed.
    pub failures: Vec<StepFailure>,
    /// Steps that did not run.
    pub skipped: usize,
    /// Whether Ctrl-C stopped it.
    pub cancelled: bool,
    /// Wall time.
    pub duration: Duration,
    /// Steps that panicked (their journal entries are not in `view`: reload it).
    pub panics: usize,
    /// Throttling answers the providers gave (each retried, none a failure).
    pub throttled: u64,
    /// What the rollback did, when a step failed and the update was to roll
    /// back (`EngineOptions::rollback`).
    pub rollback: Option<RollbackOutcome>,
}

impl UpdateOutcome {
    /// Whether everything succeeded.
    pub fn succeeded(&self) -> bool {
        self.failures.is_empty() && !self.cancelled && self.skipped == 0
    }
    /// Succeeded, failed, cancelled or rolled back.
    pub fn result(&self) -> OperationResult {
        if self.cancelled {
            OperationResult::Cancelled
        } else if self
            .rollback
            .as_ref()
            .is_some_and(RollbackOutcome::complete)
        {
            OperationResult::RolledBack
        } else if self.failures.is_empty() && self.skipped == 0 {
            OperationResult::Succeeded
        } else {
            OperationResult::Failed
        }
    }
}

fn describe(e: &ProviderError) -> String {
    match &e.code {
        Some(c) => format!("{c}: {}", e.message),
        None => e.message.clone(),
    }
}

/// What every step shares.
pub(crate) struct Ctx {
    pub journal: Arc<JournalWriter>,
    pub opts: EngineOptions,
    pub resolver: Arc<MapResolver>,
    pub stack: StackName,
    pub op_ids: AtomicU64,
    pub labels: BTreeMap<String, String>,
    /// Adaptive concurrency per provider instance.
    pub limiters: Limiters,
    /// Throttling answers so far.
    pub throttled: AtomicU64,
    /// Provider calls per resource so far (for the timeline).
    pub attempts: std::sync::Mutex<std::collections::HashMap<Urn, u32>>,
}

impl Ctx {
    pub(super) fn emit(&self, e: EngineEvent) {
        self.opts.events.emit(&e);
    }

    /// The provider calls made for a resource so far (forgetting them).
    pub(super) fn take_attempts(&self, urn: &Urn) -> u32 {
        self.attempts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(urn)
            .unwrap_or(0)
    }

    pub(super) fn next_op_id(&self) -> u64 {
        self.op_ids.fetch_add(1, Ordering::Relaxed)
    }

    pub(super) fn identity(&self, urn: &Urn, type_token: &str) -> ResourceIdentity {
        ResourceIdentity {
            urn: urn.clone(),
            type_token: type_token.to_string(),
            stack: self.stack.clone(),
        }
    }

    /// Calls a provider with retries, backoff, tenacity and a timeout. Each
    /// attempt holds a slot of the provider's adaptive limiter (`key`, see
    /// [`limiter_key`]). Throttling answers narrow that limiter and are
    /// retried within the timeout without counting as failed attempts.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn call<T, F, Fut>(
        &self,
        key: &str,
        urn: &Urn,
        op: Op,
        verb: &'static str,
        timeout: Option<Duration>,
        tenacity: Tenacity,
        mut f: F,
    ) -> Result<T, StepError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, ProviderError>>,
    {
        let clock = &self.opts.clock;
        let limiter = self.limiters.get(key);
        let started = clock.now();
        // Failed attempts (throttling answers aside), and throttling answers.
        let mut attempt = 0u32;
        let mut throttles = 0u32;
        // Whether a call reached the provider (a timeout after that leaves
        // the outcome unknown).
        let mut called = false;
        loop {
            let try_no = attempt + throttles + 1;
            {
                let mut attempts = self.attempts.lock().unwrap_or_else(|e| e.into_inner());
                match attempts.get_mut(urn) {
                    Some(n) => *n += 1,
                    None => {
                        attempts.insert(urn.clone(), 1);
                    }
                }
            }
            let span = tracing::info_span!("provider", verb, urn = %urn, attempt = try_no);
            let mut permit = None;
            let call = async {
                permit = Some(limiter.acquire().await);
                called = true;
                f().await
            }
            .instrument(span);
            let result = match timeout {
                Some(t) => {
                    let remaining = t.saturating_sub(clock.now() - started);
                    tokio::select! {
                        r = call => Some(r),
                        _ = clock.sleep(remaining) => None,
                    }
                }
                None => Some(call.await),
            };
            let err = match result {
                Some(Ok(v)) => {
                    if let Some(p) = permit {
                        p.end(CallEnd::Success);
                    }
                    return Ok(v);
                }
                None => {
                    drop(permit);
                    return Err(StepError {
                        attempt: attempt + 1,
                        outcome_unknown: called,
                        ..StepError::new(
                            FailureKind::TimedOut,
                            format!(
                                "{verb} timed out after {} (the resource's {verb} timeout)",
                                humantime::format_duration(timeout.unwrap_or_default())
                            ),
                        )
                    });
                }
                Some(Err(e)) => e,
            };
            let throttled = err.is_throttled();
            if let Some(p) = permit {
                p.end(if throttled {
                    CallEnd::Throttled(err.retry_after)
                } else {
                    CallEnd::Other
                });
            }
            if throttled {
                throttles += 1;
                self.throttled.fetch_add(1, Ordering::Relaxed);
            } else {
                attempt += 1;
            }
            if !err.is_retryable() {
                return Err(StepError::provider(
                    FailureKind::of_provider_error(&err),
                    attempt,
                    describe(&err),
                    err,
                ));
            }
            let delay = self
                .opts
                .backoff
                .delay(if throttled { throttles } else { attempt })
                .max(err.retry_after.unwrap_or_default());
            let elapsed = clock.now() - started;
            let why_stop = if throttled {
                // Not a failure: only the timeout (or Ctrl-C) stops it.
                timeout
                    .is_some_and(|t| elapsed + delay >= t)
                    .then(|| {
                        (
                            FailureKind::Throttled,
                            format!(
                                "throttled {throttles} time(s); gave up: the {verb} timeout of {} has passed",
                                humantime::format_duration(timeout.unwrap_or_default())
                            ),
                        )
                    })
            } else if tenacity.max_attempts.is_some_and(|m| attempt >= m) {
                Some((
                    FailureKind::GaveUp,
                    format!("gave up after {attempt} attempts"),
                ))
            } else if tenacity.deadline.is_some_and(|d| elapsed + delay > d) {
                Some((
                    FailureKind::GaveUp,
                    format!(
                        "gave up after {attempt} attempts: the retry deadline of {} has passed",
                        humantime::format_duration(tenacity.deadline.unwrap_or_default())
                    ),
                ))
            } else if timeout.is_some_and(|t| elapsed + delay >= t) {
                Some((
                    FailureKind::GaveUp,
                    format!(
                        "gave up after {attempt} attempts: the {verb} timeout of {} has passed",
                        humantime::format_duration(timeout.unwrap_or_default())
                    ),
                ))
            } else {
                None
            };
            if let Some((kind, why)) = why_stop {
                let message = format!("{} ({why})", describe(&err));
                return Err(StepError {
                    outcome_unknown: !err.unsent,
                    ..StepError::provider(kind, attempt.max(1), message, err)
                });
            }
            self.emit(EngineEvent::RetryScheduled {
                urn: urn.clone(),
                op,
                attempt: if throttled { try_no } else { attempt },
                delay_ms: delay.as_millis() as u64,
                error: describe(&err),
                throttled,
            });
            tokio::select! {
                _ = clock.sleep(delay) => {}
                _ = self.opts.cancel.cancelled() => {
                    let message = format!("{} (not retried: the update was cancelled)", describe(&err));
                    return Err(StepError {
                        outcome_unknown: !err.unsent,
                        ..StepError::provider(FailureKind::Cancelled, attempt.max(1), message, err)
                    });
                }
            }
        }
    }
}

/// The limiter key of a provider instance: its package and instance name.
pub(super) fn limiter_key(r: Option<&ProviderRef>) -> String {
    r.map(ToString::to_string).unwrap_or_default()
}

/// The bookkeeping shared by both phases.
struct Tally {
    view: StateView,
    changes: BTreeMap<Op, usize>,
    failures: Vec<StepFailure>,
    skipped: usize,
    panics: usize,
    needed: HashSet<Urn>,
    /// When the update started.
    started: tokio::time::Instant,
    /// The steps that ran, failed or were skipped.
    timeline: Vec<StepTiming>,
}

impl Tally {
    /// Adds a step to the timeline.
    fn time(
        &mut self,
        ctx: &Ctx,
        urn: &Urn,
        op: Op,
        started_at: Option<tokio::time::Instant>,
        result: StepResult,
        dependencies: Vec<Urn>,
    ) {
        let (start_ms, end_ms) = span_ms(self.started, started_at, ctx.opts.clock.now());
        self.timeline.push(StepTiming {
            urn: urn.clone(),
            op,
            start_ms,
            end_ms,
            attempts: ctx.take_attempts(urn),
            result,
            dependencies,
            revert: None,
            batch: None,
        });
    }

    /// Records a skipped step.
    fn skipped(&mut self, ctx: &Ctx, urn: &Urn, op: Op, reason: &str, dependencies: Vec<Urn>) {
        self.skipped += 1;
        ctx.emit(EngineEvent::StepSkipped {
            urn: urn.clone(),
            op,
            reason: reason.to_string(),
        });
        self.time(ctx, urn, op, None, StepResult::Skipped, dependencies);
    }

    /// Records a step that panicked (its journal entries are not in `view`).
    fn panicked(&mut self, ctx: &Ctx, urn: &Urn, op: Op, message: &str) {
        self.panics += 1;
        let err = StepError::panicked(message);
        ctx.emit(EngineEvent::StepFailed {
            urn: urn.clone(),
            op,
            kind: err.kind,
            attempt: err.attempt,
            error: err.message.clone(),
        });
        self.failures.push(err.into_failure(urn.clone(), op));
        self.time(ctx, urn, op, None, StepResult::Failed, Vec::new());
    }

    fn finish(
        &mut self,
        ctx: &Ctx,
        urn: &Urn,
        out: StepDone,
        started_at: Option<tokio::time::Instant>,
        dependencies: impl FnOnce() -> Vec<Urn>,
    ) -> NodeEnd {
        for e in out.entries {
            self.view.apply(e);
        }
        // Components change without a provider call (never "started").
        if out.started || out.error.is_some() || out.op.is_change() {
            let result = if out.error.is_some() {
                StepResult::Failed
            } else {
                StepResult::Succeeded
            };
            self.time(ctx, urn, out.op, started_at, result, dependencies());
        }
        if let Some(err) = out.error {
            ctx.emit(EngineEvent::StepFailed {
                urn: urn.clone(),
                op: out.op,
                kind: err.kind,
                attempt: err.attempt,
                error: err.message.clone(),
            });
            self.failures.push(err.into_failure(urn.clone(), out.op));
            return NodeEnd::Failed;
        }
        *self.changes.entry(out.op).or_insert(0) += 1;
        if out.started {
            let ms = started_at
                .map(|s| (ctx.opts.clock.now() - s).as_millis() as u64)
                .unwrap_or(0);
            ctx.emit(EngineEvent::StepFinished {
                urn: urn.clone(),
                op: out.op,
                duration_ms: ms,
            });
        }
        if let Some(rec) = &out.record
            && self.needed.contains(urn)
        {
            ctx.resolver.insert(urn.clone(), resolved_from_state(rec));
        }
        if out.op.is_change() {
            NodeEnd::Changed
        } else {
            NodeEnd::Unchanged
        }
    }
}

struct DeclaredPhase<'a> {
    ctx: Arc<Ctx>,
    plan: &'a Plan,
    graph: &'a ProgramGraph,
    tally: Tally,
    started_at: Vec<Option<tokio::time::Instant>>,
    /// Cancelled at the first failure when the update rolls back: nothing
    /// new starts, running steps finish.
    stop_on_failure: Option<CancellationToken>,
    /// When the update rolls back: the record of each step's resource as it
    /// was when the step started (what a rollback restores).
    before: Option<Before>,
    /// The rolling groups' batches.
    batches: Batches,
}

/// How the batches of the plan's rollouts are doing.
struct Batches {
    /// Plan step → (rollout, batch).
    of_step: std::collections::HashMap<usize, (usize, usize)>,
    /// Per rollout, per batch.
    state: Vec<Vec<BatchState>>,
    /// The resources other resources read (their ids or outputs).
    read: HashSet<Urn>,
}

#[derive(Default, Clone)]
struct BatchState {
    started: bool,
    left: usize,
    ready: usize,
    failed: usize,
    skipped: usize,
}

impl Batches {
    fn new(plan: &Plan, graph: &ProgramGraph) -> Self {
        // Only an update that rolls a group needs to know who reads whom.
        let read = if plan.rollouts.is_empty() {
            HashSet::new()
        } else {
            graph
                .resources
                .iter()
                .flat_map(|d| d.dependencies().into_iter().filter(|u| *u != d.urn))
                .collect()
        };
        let mut of_step = std::collections::HashMap::new();
        let mut state = Vec::new();
        for (k, r) in plan.rollouts.iter().enumerate() {
            let mut batches = vec![BatchState::default(); r.batches()];
            for (pos, &i) in r.steps.iter().enumerate() {
                let b = r.batch_of(pos);
                of_step.insert(i, (k, b));
                batches[b].left += 1;
            }
            state.push(batches);
        }
        Batches {
            of_step,
            state,
            read,
        }
    }

    /// The member behind plan step `i`, if it is one (`stop`: cancelled when
    /// the update rolls back).
    fn member(
        &self,
        plan: &Plan,
        graph: &ProgramGraph,
        i: usize,
        stop: Option<CancellationToken>,
    ) -> Option<Member> {
        let &(k, b) = self.of_step.get(&i)?;
        let r = &plan.rollouts[k];
        Some(Member {
            group: r.group.clone(),
            policy: graph.rolling_groups.get(&r.group)?.clone(),
            batch: b,
            batches: r.batches(),
            keep_old: self.read.contains(&plan.steps[i].urn),
            stop,
        })
    }

    /// Step `i` starts: its batch's start event, once.
    fn started(&mut self, ctx: &Ctx, plan: &Plan, i: usize) {
        let Some(&(k, b)) = self.of_step.get(&i) else {
            return;
        };
        let st = &mut self.state[k][b];
        if std::mem::replace(&mut st.started, true) {
            return;
        }
        let r = &plan.rollouts[k];
        let size = r.batch_size.max(1);
        ctx.emit(EngineEvent::RolloutBatchStarted {
            group: r.group.clone(),
            batch: b + 1,
            batches: r.batches(),
            members: r
                .members
                .iter()
                .skip(b * size)
                .take(size)
                .cloned()
                .collect(),
        });
    }

    /// Step `i` ended (`None`: did not run; else whether it failed): the
    /// batch's end event when it was the last; returns its batch.
    fn ended(
        &mut self,
        ctx: &Ctx,
        plan: &Plan,
        i: usize,
        failed: Option<bool>,
    ) -> Option<BatchRef> {
        let &(k, b) = self.of_step.get(&i)?;
        let st = &mut self.state[k][b];
        match failed {
            None => st.skipped += 1,
            Some(true) => st.failed += 1,
            Some(false) => st.ready += 1,
        }
        st.left -= 1;
        let r = &plan.rollouts[k];
        if st.left == 0 && st.started {
            ctx.emit(EngineEvent::RolloutBatchFinished {
                group: r.group.clone(),
                batch: b + 1,
                batches: r.batches(),
                ready: st.ready,
                failed: st.failed,
                skipped: st.skipped,
            });
        }
        Some(BatchRef {
            group: r.group.clone(),
            batch: b + 1,
            batches: r.batches(),
        })
    }

    /// The members of the batch before member step `i`'s (what it waited
    /// for besides its dependencies).
    fn waited_for(&self, plan: &Plan, i: usize) -> Vec<Urn> {
        let Some(&(k, b)) = self.of_step.get(&i) else {
            return Vec::new();
        };
        let r = &plan.rollouts[k];
        let size = r.batch_size.max(1);
        match b.checked_sub(1) {
            Some(prev) => r
                .members
                .iter()
                .skip(prev * size)
                .take(size)
                .cloned()
                .collect(),
            None => Vec::new(),
        }
    }

    /// Why member step `i` did not run, when an earlier batch of its
    /// rollout did not finish.
    fn stopped(&self, plan: &Plan, i: usize) -> Option<String> {
        let &(k, b) = self.of_step.get(&i)?;
        let at = self.state[k][..b]
            .iter()
            .position(|s| s.failed > 0 || s.skipped > 0)?;
        let r = &plan.rollouts[k];
        Some(format!(
            "the rollout of rolling group `{}` stopped at batch {} of {}: this member keeps its old copy",
            r.group,
            at + 1,
            r.batches()
        ))
    }
}

impl DeclaredPhase<'_> {
    /// Tags the timeline entry just added for plan step `i` with its batch.
    fn tag_batch(&mut self, i: usize, batch: Option<BatchRef>) {
        let urn = &self.plan.steps[i].urn;
        if let Some(t) = self.tally.timeline.last_mut()
            && &t.urn == urn
        {
            t.batch = batch;
        }
    }
}

impl Handler for DeclaredPhase<'_> {
    type Output = StepDone;

    fn lane(&self, i: usize) -> Option<Arc<Limiter>> {
        let step = &self.plan.steps[i];
        // An unchanged step mostly ends at once (the fast path): it does
        // not wait for room behind the provider's creates.
        if !step.targeted || step.op() == Op::Same {
            return None;
        }
        let d = &self.graph.resources[step.declared?];
        (d.kind == ResourceKind::Custom)
            .then(|| self.ctx.limiters.get(&limiter_key(Some(&provider_ref(d)))))
    }

    fn start(&mut self, i: usize, deps_changed: bool) -> Start<StepDone> {
        let step = &self.plan.steps[i];
        let d = &self.graph.resources[step.declared.expect("declared step")];
        self.batches.started(&self.ctx, self.plan, i);
        let old = self
            .tally
            .view
            .live
            .get(&d.urn)
            .or_else(|| {
                step.renamed_from
                    .as_ref()
                    .and_then(|u| self.tally.view.live.get(u))
            })
            .cloned();
        let same = |rec: Option<ResourceState>| {
            let mut done = StepDone::new(Op::Same, false);
            done.record = rec;
            Start::Done(done)
        };
        if !step.targeted {
            return same(old);
        }
        // Fast path: nothing about it can have changed since the plan.
        if step.op() == Op::Same
            && !deps_changed
            && step.renamed_from.is_none()
            && let Some(o) = &old
        {
            {
                let expected = match d.kind {
                    ResourceKind::Component => build_record(
                        d,
                        String::new(),
                        Value::Object(Default::default()),
                        o.outputs.clone(),
                        &SecretProps::new(step.secret, step.secret_outputs.iter().cloned()),
                    ),
                    ResourceKind::Custom => build_record(
                        d,
                        o.id.clone(),
                        // Shared with the record when unchanged: compared
                        // without reading it.
                        match &step.action {
                            StepAction::Same(s) => s.new_inputs.clone().unwrap_or_default(),
                            _ => Recorded::default(),
                        },
                        o.outputs.clone(),
                        &SecretProps::new(
                            step.secret,
                            step.secret_inputs
                                .iter()
                                .chain(&step.secret_outputs)
                                .cloned(),
                        ),
                    ),
                };
                if &expected == o {
                    return same(old);
                }
            }
        }
        if let Some(before) = &mut self.before {
            before.insert(d.urn.clone(), self.tally.view.live.get(&d.urn).cloned());
        }
        let provider = match d.kind {
            ResourceKind::Component => None,
            ResourceKind::Custom => {
                let r = provider_ref(d);
                match provider_for(&self.graph.providers, &d.name, &d.type_token, &r) {
                    Ok(p) => Some(p),
                    Err(e) => {
                        let mut done = StepDone::new(step.op(), false);
                        done.error = Some(e.into());
                        return Start::Done(done);
                    }
                }
            }
        };
        self.started_at[i] = Some(self.ctx.opts.clock.now());
        let planned = (d.kind == ResourceKind::Custom).then(|| PlannedOp::of(step));
        Start::Run(
            run_declared(
                self.ctx.clone(),
                DeclaredStep {
                    d: d.clone(),
                    old,
                    renamed_from: step.renamed_from.clone(),
                    provider,
                    planned,
                    member: self.batches.member(
                        self.plan,
                        self.graph,
                        i,
                        self.stop_on_failure.clone(),
                    ),
                },
            )
            .boxed(),
        )
    }

    fn finish(&mut self, i: usize, out: StepDone) -> NodeEnd {
        let step = &self.plan.steps[i];
        let waited = self.batches.waited_for(self.plan, i);
        let deps = || step.dependencies.iter().cloned().chain(waited).collect();
        let failed = out.error.is_some();
        let end = self
            .tally
            .finish(&self.ctx, &step.urn, out, self.started_at[i], deps);
        let batch = self.batches.ended(&self.ctx, self.plan, i, Some(failed));
        self.tag_batch(i, batch);
        if end == NodeEnd::Failed
            && let Some(stop) = &self.stop_on_failure
        {
            stop.cancel();
        }
        end
    }

    fn skip(&mut self, i: usize, why: Skip) {
        let step = &self.plan.steps[i];
        // Stopped by a failure, not by Ctrl-C: say so.
        let rolling_back = self
            .stop_on_failure
            .as_ref()
            .is_some_and(|s| s.is_cancelled())
            && !self.ctx.opts.cancel.is_cancelled();
        let stopped = (why == Skip::Blocked)
            .then(|| self.batches.stopped(self.plan, i))
            .flatten();
        let reason = if let Some(s) = &stopped {
            s
        } else if rolling_back && why != Skip::Blocked {
            "a step failed and the update rolls back: nothing new starts"
        } else {
            why.reason()
        };
        self.tally.skipped(
            &self.ctx,
            &step.urn,
            step.op(),
            reason,
            step.dependencies.clone(),
        );
        let batch = self.batches.ended(&self.ctx, self.plan, i, None);
        self.tag_batch(i, batch);
    }

    fn panicked(&mut self, i: usize, message: String) {
        let step = &self.plan.steps[i];
        self.tally
            .panicked(&self.ctx, &step.urn, step.op(), &message);
        let batch = self.batches.ended(&self.ctx, self.plan, i, Some(true));
        self.tag_batch(i, batch);
    }
}

struct DeletePhase<'a> {
    ctx: Arc<Ctx>,
    /// The records to delete.
    steps: Vec<ResourceState>,
    /// By step: the old copy of a rolling group's member is deleted only
    /// once the live copy is ready (its group's policy, the live record).
    gates: HashMap<usize, (RollingPolicy, ResourceState)>,
    /// The deletes each one waits for.
    deps: &'a [Vec<usize>],
    providers: &'a ProviderRegistry,
    tally: &'a mut Tally,
    started_at: Vec<Option<tokio::time::Instant>>,
}

impl DeletePhase<'_> {
    fn waits_for(&self, i: usize) -> Vec<Urn> {
        self.deps[i]
            .iter()
            .map(|&j| self.steps[j].urn.clone())
            .collect()
    }
}

impl Handler for DeletePhase<'_> {
    type Output = StepDone;

    fn start(&mut self, i: usize, _: bool) -> Start<StepDone> {
        let rec = &self.steps[i];
        let rec = rec.clone();
        let provider = rec
            .provider
            .as_ref()
            .and_then(|r: &ProviderRef| self.providers.get(r));
        let ctx = self.ctx.clone();
        let gate = self.gates.get(&i).cloned();
        self.started_at[i] = Some(ctx.opts.clock.now());
        let fut: BoxFuture<'static, StepDone> = async move {
            let mut done = StepDone::new(Op::Delete, true);
            ctx.emit(EngineEvent::StepStarted {
                urn: rec.urn.clone(),
                op: Op::Delete,
            });
            if let (Some((policy, live)), Some(p)) = (&gate, &provider)
                && let Err(e) = wait_ready(&ctx, p, policy, Op::Delete, live).await
            {
                done.error = Some(StepError {
                    message: format!(
                        "the old copy {} of this rolling group member is kept: its live copy {} is {} (left by an interrupted update). Fix the cause and run `up` again",
                        rec.id, live.id, e.message
                    ),
                    ..e
                });
                return done;
            }
            if let Err(e) =
                DeleteStep::apply(&ctx, &rec, provider, Tenacity::default(), None, &mut done).await
            {
                done.error = Some(e);
            }
            done
        }
        .boxed();
        Start::Run(fut)
    }

    fn finish(&mut self, i: usize, out: StepDone) -> NodeEnd {
        let urn = self.steps[i].urn.clone();
        let deps = self.waits_for(i);
        self.tally
            .finish(&self.ctx, &urn, out, self.started_at[i], || deps)
    }

    fn skip(&mut self, i: usize, why: Skip) {
        let urn = self.steps[i].urn.clone();
        let deps = self.waits_for(i);
        self.tally
            .skipped(&self.ctx, &urn, Op::Delete, why.reason(), deps);
    }

    fn lane(&self, i: usize) -> Option<Arc<Limiter>> {
        let rec = &self.steps[i];
        rec.provider
            .as_ref()
            .map(|p| self.ctx.limiters.get(&limiter_key(Some(p))))
    }

    fn panicked(&mut self, i: usize, message: String) {
        let urn = self.steps[i].urn.clone();
        self.tally.panicked(&self.ctx, &urn, Op::Delete, &message);
    }
}

/// The rolling groups' members the plan replaces create-first.
fn rolled_create_first(plan: &Plan) -> HashSet<Urn> {
    plan.rollouts
        .iter()
        .flat_map(|r| r.steps.iter())
        .map(|&i| &plan.steps[i])
        .filter(|s| s.op() == Op::Replace && !s.delete_before_replace())
        .map(|s| s.urn.clone())
        .collect()
}

/// For each delete of `records`: when it is the old copy of a rolling
/// group's member whose step did not check its new copy in this update (an
/// interrupted update left both), the member's policy and live copy, which
/// must be ready before the old copy goes.
fn readiness_gates(
    graph: &ProgramGraph,
    records: &[ResourceState],
    tally: &Tally,
) -> HashMap<usize, (RollingPolicy, ResourceState)> {
    let settled: HashSet<&Urn> = tally
        .timeline
        .iter()
        .filter(|t| t.batch.is_some() && t.result == StepResult::Succeeded)
        .map(|t| &t.urn)
        .collect();
    // The members' policies, by URN (none at all without rolling groups).
    let policy_of: std::collections::HashMap<&Urn, &RollingPolicy> = graph
        .resources
        .iter()
        .filter(|_| !graph.rolling_groups.is_empty())
        .filter_map(|d| {
            let policy = graph
                .rolling_groups
                .get(d.options.rolling_group.as_ref()?)?;
            Some((&d.urn, policy))
        })
        .collect();
    records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            if !r.pending_delete || settled.contains(&r.urn) {
                return None;
            }
            let policy = policy_of.get(&r.urn)?;
            let live = tally.view.live.get(&r.urn)?;
            Some((i, ((*policy).clone(), live.clone())))
        })
        .collect()
}

/// Runs a plan. The journal must be based on `view.serial`.
pub(crate) async fn execute(
    graph: &ProgramGraph,
    plan: &Plan,
    view: StateView,
    journal: Arc<JournalWriter>,
    opts: &EngineOptions,
) -> Result<(UpdateOutcome, StateView, Vec<StepTiming>), Error> {
    let started = opts.clock.now();
    let mut needed: HashSet<Urn> = HashSet::new();
    for d in &graph.resources {
        needed.extend(d.dependencies());
        if let Some(p) = &d.options.parent {
            needed.insert(p.clone());
        }
    }
    for (_, o) in &graph.exports {
        needed.extend(o.dependencies().iter().cloned());
    }
    let ctx = Arc::new(Ctx {
        journal,
        opts: opts.clone(),
        resolver: Arc::new(MapResolver::default()),
        stack: view.stack.clone(),
        op_ids: AtomicU64::new(view.next_op_id()),
        labels: BTreeMap::from([
            ("mkso:stack".to_string(), view.stack.to_string()),
            (
                "environment".to_string(),
                view.stack.environment().to_string(),
            ),
        ]),
        limiters: Limiters::new(INITIAL_WINDOW, opts.clock.clone()),
        throttled: AtomicU64::new(0),
        attempts: Default::default(),
    });
    let mut tally = Tally {
        view,
        changes: BTreeMap::new(),
        failures: Vec::new(),
        skipped: 0,
        panics: 0,
        needed,
        started,
        timeline: Vec::new(),
    };

    let mut cancelled = false;
    let mut rollback = None;
    if plan.kind == PlanKind::Update {
        let first_op_id = tally.view.next_op_id();
        let stop = opts.cancel.child_token();
        let mut phase = DeclaredPhase {
            ctx: ctx.clone(),
            plan,
            graph,
            started_at: vec![None; plan.steps.len()],
            tally,
            stop_on_failure: opts.rollback.then(|| stop.clone()),
            before: opts.rollback.then(Before::new),
            batches: Batches::new(plan, graph),
        };
        // Each batch of a rollout waits for the batch before it.
        let deps = with_batch_edges(&plan.deps, &plan.rollouts);
        cancelled =
            walk(&deps, opts.parallel, &stop, &mut phase).await && opts.cancel.is_cancelled();
        tally = phase.tally;
        if let Some(before) = &phase.before
            && !tally.failures.is_empty()
            && !opts.cancel.is_cancelled()
        {
            // A rolling group's member that was changed but never got
            // ready (and was not swapped back) is reverted like a finished
            // step.
            let changed_not_ready: Vec<(Urn, Op)> = tally
                .failures
                .iter()
                .filter(|f| {
                    f.kind == FailureKind::NotReady
                        && before
                            .get(&f.urn)
                            .is_some_and(|was| was.as_ref() != tally.view.live.get(&f.urn))
                })
                .map(|f| (f.urn.clone(), f.op))
                .collect();
            let failed: Vec<Urn> = tally
                .failures
                .iter()
                .map(|f| f.urn.clone())
                .filter(|u| !changed_not_ready.iter().any(|(c, _)| c == u))
                .collect();
            let done: Vec<(Urn, Op)> = tally
                .timeline
                .iter()
                .filter(|t| t.result == StepResult::Succeeded && t.op.is_change())
                .map(|t| (t.urn.clone(), t.op))
                .chain(changed_not_ready.iter().cloned())
                .collect();
            rollback = Some(
                roll_back(
                    &ctx,
                    UpdateDone {
                        before,
                        done: &done,
                        failed: &failed,
                        first_op_id,
                        started: tally.started,
                        create_first: &rolled_create_first(plan),
                    },
                    &mut tally.view,
                    &mut tally.timeline,
                    &graph.providers,
                    opts.parallel,
                )
                .await,
            );
        }
    }

    // Clean-up: deletes of removed resources and of replaced resources' old copies.
    let clean = !cancelled && tally.failures.is_empty() && tally.skipped == 0;
    // Destroy: exactly what the plan shows. Update: removed resources, and old
    // copies of replaced ones (all of them, or with --target only the targeted).
    let mut records: Vec<ResourceState> = Vec::new();
    for s in &plan.deletes {
        if s.replaced_copy() {
            if plan.kind == PlanKind::Destroy {
                records.extend(
                    tally
                        .view
                        .pending_deletes
                        .values()
                        .filter(|r| r.urn == s.urn)
                        .cloned(),
                );
            }
        } else if let Some(r) = tally.view.live.get(&s.urn) {
            records.push(r.clone());
        }
    }
    if plan.kind == PlanKind::Update {
        let targeted: Option<HashSet<&Urn>> = (!opts.targets.is_empty()).then(|| {
            plan.all_steps()
                .filter(|s| s.targeted)
                .map(|s| &s.urn)
                .collect()
        });
        records.extend(
            tally
                .view
                .pending_deletes
                .values()
                .filter(|r| targeted.as_ref().is_none_or(|t| t.contains(&r.urn)))
                .cloned(),
        );
    }
    records.dedup_by(|a, b| a.urn == b.urn && a.id == b.id);
    if !records.is_empty() {
        if clean || plan.kind == PlanKind::Destroy && !cancelled {
            let refs: Vec<&ResourceState> = records.iter().collect();
            let deps = delete_deps(&refs);
            drop(refs);
            let gates = readiness_gates(graph, &records, &tally);
            let mut phase = DeletePhase {
                ctx: ctx.clone(),
                steps: records,
                gates,
                deps: &deps,
                providers: &graph.providers,
                started_at: vec![None; deps.len()],
                tally: &mut tally,
            };
            cancelled |= walk(&deps, opts.parallel, &opts.cancel, &mut phase).await;
        } else {
            ctx.emit(EngineEvent::Diagnostic {
                level: Level::Warning,
                urn: None,
                message: format!(
                    "{} delete(s) postponed because the update did not complete; the old resources stay recorded, and the next `up` deletes them",
                    records.len()
                ),
            });
        }
    }

    // Stack outputs.
    let resolver: Arc<dyn Resolver> = ctx.resolver.clone();
    let mut outputs = BTreeMap::new();
    let mut secret = Vec::new();
    if plan.kind == PlanKind::Update
        && (cancelled || opts.cancel.is_cancelled() || rollback.is_some())
    {
        // A cancelled update records no outputs: what it would export may
        // rest on steps that never ran. The recorded ones stay.
        outputs = tally.view.outputs.clone();
        secret = tally.view.secret_outputs.clone();
    } else if plan.kind == PlanKind::Update {
        for (name, o) in &graph.exports {
            let r = o.resolve(resolver.clone()).await?;
            match r.value.filter(|v| !contains_unknown(v)) {
                Some(v) => {
                    outputs.insert(name.clone(), v);
                }
                None => {
                    if let Some(v) = tally.view.outputs.get(name) {
                        outputs.insert(name.clone(), v.clone());
                    }
                }
            }
            if r.secret {
                secret.push(name.clone());
            }
        }
    } else if !tally.view.live.is_empty() {
        outputs = tally.view.outputs.clone();
        secret = tally.view.secret_outputs.clone();
    }
    if outputs != tally.view.outputs || secret != tally.view.secret_outputs {
        let e = JournalEntry::Outputs { outputs, secret };
        ctx.journal.write(vec![e.clone()]).await?;
        tally.view.apply(e);
    }

    let outcome = UpdateOutcome {
        panics: tally.panics,
        rollback,
        changes: tally.changes,
        failures: tally.failures,
        skipped: tally.skipped,
        cancelled: cancelled || opts.cancel.is_cancelled(),
        duration: opts.clock.now() - started,
        throttled: ctx.throttled.load(Ordering::Relaxed),
    };
    Ok((outcome, tally.view, tally.timeline))
}

/// Resolves operations left pending by an interrupted update, through the
/// providers: an interrupted create is looked up by its identity and adopted,
/// an interrupted delete is checked. Returns messages for the user.
/// Reads the resource a pending operation names by its recorded id.
async fn read_pending(
    provider: &Arc<dyn Provider>,
    identity: ResourceIdentity,
    op: &PendingOperation,
) -> Result<crate::provider::ReadResponse, ProviderError> {
    provider
        .read(ReadRequest {
            identity,
            id: op.id.clone(),
            inputs: op.inputs.clone(),
            outputs: Value::Null,
        })
        .instrument(tracing::info_span!("provider", verb = "read", urn = %op.urn))
        .await
}

pub(crate) async fn resolve_pending(
    providers: &ProviderRegistry,
    view: &mut StateView,
    journal: &JournalWriter,
    opts: &EngineOptions,
) -> Result<Vec<String>, Error> {
    let mut notes = Vec::new();
    let ops: Vec<PendingOperation> = view.pending.values().cloned().collect();
    for op in ops {
        let provider = op.provider.as_ref().and_then(|r| providers.get(r));
        let identity = ResourceIdentity {
            urn: op.urn.clone(),
            type_token: op.type_token.clone(),
            stack: view.stack.clone(),
        };
        let Some(provider) = provider else {
            notes.push(format!(
                "cannot resolve the interrupted {:?} of `{}`: its provider is not registered",
                op.op,
                op.urn.name()
            ));
            continue;
        };
        let entries = match op.op {
            PendingOp::Create => {
                let mut exclude_ids: Vec<String> = view
                    .pending_deletes
                    .keys()
                    .filter(|(u, _)| *u == op.urn)
                    .map(|(_, id)| id.clone())
                    .collect();
                if let Some(r) = view.live.get(&op.urn) {
                    exclude_ids.push(r.id.clone());
                }
                let found = if op.id.is_empty() {
                    provider
                        .find(crate::provider::FindRequest {
                            identity,
                            inputs: op.inputs.clone(),
                            exclude_ids: exclude_ids.clone(),
                        })
                        .instrument(tracing::info_span!("provider", verb = "find", urn = %op.urn))
                        .await
                        .map_err(|e| Error::Provider {
                            op: "find",
                            name: op.urn.name().to_string(),
                            source: Box::new(e),
                        })?
                } else if exclude_ids.contains(&op.id) {
                    // Adopted from a writer whose lock was broken: a copy the
                    // stack records already.
                    None
                } else {
                    // Its id is known: read it (never a search that could
                    // miss it and create it a second time).
                    match read_pending(&provider, identity, &op).await {
                        Ok(r) => Some(crate::provider::CreateResponse {
                            id: r.id,
                            outputs: r.outputs,
                        }),
                        Err(e) if e.class == ErrorClass::NotFound => None,
                        Err(e) => {
                            return Err(Error::Provider {
                                op: "read",
                                name: op.urn.name().to_string(),
                                source: Box::new(e),
                            });
                        }
                    }
                };
                match found.filter(|r| !exclude_ids.contains(&r.id)) {
                    Some(resp) => {
                        notes.push(format!(
                            "adopted `{}` (id {}), created by an interrupted update",
                            op.urn.name(),
                            resp.id
                        ));
                        let out_secrets = super::apply::recorded_secret_outputs(
                            provider.as_ref(),
                            &op.type_token,
                            op.secret,
                            &op.secret_inputs,
                            &resp.outputs,
                        );
                        let rec = ResourceState {
                            urn: op.urn.clone(),
                            type_token: op.type_token.clone(),
                            kind: ResourceKind::Custom,
                            id: resp.id,
                            inputs: op.inputs.clone().into(),
                            outputs: resp.outputs.into(),
                            dependencies: op.dependencies.clone(),
                            parent: op.parent.clone(),
                            provider: op.provider.clone(),
                            protect: false,
                            retain_on_delete: false,
                            secret: op.secret,
                            secret_inputs: op.secret_inputs.clone(),
                            secret_outputs: out_secrets,
                            pending_delete: false,
                        };
                        // A create that was a replacement: the recorded one becomes the old copy.
                        if view.live.contains_key(&op.urn) {
                            vec![JournalEntry::Replaced {
                                op_id: Some(op.op_id),
                                resource: rec,
                            }]
                        } else {
                            vec![JournalEntry::Upsert {
                                op_id: Some(op.op_id),
                                resource: rec,
                            }]
                        }
                    }
                    None => {
                        notes.push(if op.id.is_empty() {
                            format!(
                                "the interrupted create of `{}` left nothing behind; it will be created",
                                op.urn.name()
                            )
                        } else if exclude_ids.contains(&op.id) {
                            format!(
                                "`{}` (id {}), recorded by an update whose lock was broken, is already in the state",
                                op.urn.name(),
                                op.id
                            )
                        } else {
                            format!(
                                "`{}` (id {}), recorded by an update whose lock was broken, no longer exists",
                                op.urn.name(),
                                op.id
                            )
                        });
                        vec![JournalEntry::Ended { op_id: op.op_id }]
                    }
                }
            }
            PendingOp::Update => {
                notes.push(format!(
                    "the interrupted update of `{}` will be applied again",
                    op.urn.name()
                ));
                vec![JournalEntry::Ended { op_id: op.op_id }]
            }
            PendingOp::Delete => match read_pending(&provider, identity, &op).await {
                Err(e) if e.class == ErrorClass::NotFound => {
                    notes.push(format!(
                        "the interrupted delete of `{}` had completed",
                        op.urn.name()
                    ));
                    vec![JournalEntry::Removed {
                        op_id: Some(op.op_id),
                        urn: op.urn.clone(),
                        id: op.id.clone(),
                    }]
                }
                _ => {
                    notes.push(format!(
                        "the interrupted delete of `{}` will be tried again",
                        op.urn.name()
                    ));
                    vec![JournalEntry::Ended { op_id: op.op_id }]
                }
            },
        };
        journal.write(entries.clone()).await?;
        for e in entries {
            view.apply(e);
        }
    }
    for n in &notes {
        opts.events.emit(&EngineEvent::Diagnostic {
            level: Level::Info,
            urn: None,
            message: n.clone(),
        });
    }
    Ok(notes)
}
