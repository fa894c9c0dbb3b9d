//! Apply: each kind of step ([`StepAction`]) applies itself, journaling
//! every provider call as pending before it starts.
//!
//! A declared resource's step is decided again once all its inputs are
//! known, with the same code the plan used ([`decide`]); the new step runs
//! only if it does no more than the planned one ([`PlannedOp::check`]),
//! then its own `apply` does exactly what its kind means: a [`CreateStep`]
//! creates, an [`UpdateStep`] updates, a [`ReplaceStep`] creates then
//! deletes (or the other way round), an [`ImportStep`] reads and conforms,
//! a [`DeleteStep`] deletes, a [`SameStep`] records.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::consistency::PlannedOp;
use super::events::{EngineEvent, Level, Op};
use super::execute::{Ctx, limiter_key};
use super::failure::{FailureKind, StepError};
use super::plan::{apply_ignore_changes, component_action, decide, input_secrets, provider_ref};
use super::rollout::{Member, settle};
use super::step::{
    CreateStep, DeleteStep, ImportStep, ReplaceStep, SameStep, StepAction, UpdateStep,
};
use crate::error::Error;
use crate::names::Urn;
use crate::options::{CustomTimeouts, Tenacity};
use crate::output::{Resolver, contains_unknown};
use crate::provider::{
    CreateRequest, DeleteRequest, ErrorClass, Provider, ReadRequest, UpdateRequest,
};
use crate::stack::{Declared, ResourceKind};
use crate::state::Recorded;
use crate::state::{JournalEntry, PendingOp, PendingOperation, ResourceState, SecretProps};

/// The result of one step.
pub(crate) struct StepDone {
    pub op: Op,
    pub entries: Vec<JournalEntry>,
    pub record: Option<ResourceState>,
    pub error: Option<StepError>,
    pub started: bool,
}

impl StepDone {
    pub(crate) fn new(op: Op, started: bool) -> Self {
        StepDone {
            op,
            entries: Vec::new(),
            record: None,
            error: None,
            started,
        }
    }

    /// Journals entries (durably) and keeps them for the state view.
    pub(crate) async fn journal(
        &mut self,
        ctx: &Ctx,
        entries: Vec<JournalEntry>,
    ) -> Result<(), StepError> {
        ctx.journal.write(entries.clone()).await?;
        self.entries.extend(entries);
        Ok(())
    }
}

pub(crate) fn build_record(
    d: &Declared,
    id: String,
    inputs: impl Into<Recorded>,
    outputs: impl Into<Recorded>,
    secrets: &SecretProps,
) -> ResourceState {
    let (inputs, outputs) = (inputs.into(), outputs.into());
    ResourceState {
        secret: secrets.all,
        // Without secrets a record's values are not read (a recorded one
        // stays unparsed).
        secret_inputs: if secrets.no_input_keys() {
            Vec::new()
        } else {
            secrets.keys_of(&inputs)
        },
        secret_outputs: if secrets.no_output_keys() {
            Vec::new()
        } else {
            secrets.output_keys_of(&outputs)
        },
        urn: d.urn.clone(),
        type_token: d.type_token.clone(),
        kind: d.kind,
        id,
        inputs,
        outputs,
        dependencies: d.dependencies(),
        parent: d.options.parent.clone(),
        provider: (d.kind == ResourceKind::Custom).then(|| provider_ref(d)),
        protect: d.options.protect,
        retain_on_delete: d.options.retain_on_delete,
        pending_delete: false,
    }
}

fn pending(op_id: u64, op: PendingOp, r: &ResourceState) -> PendingOperation {
    PendingOperation {
        op_id,
        op,
        urn: r.urn.clone(),
        type_token: r.type_token.clone(),
        id: r.id.clone(),
        inputs: r.inputs.to_value(),
        dependencies: r.dependencies.clone(),
        parent: r.parent.clone(),
        provider: r.provider.clone(),
        secret: r.secret,
        secret_inputs: r.secret_inputs.clone(),
    }
}

/// Records a provider call as pending before it starts (durably), unless the
/// provider has no side effects outside this process.
pub(crate) async fn begin(
    ctx: &Ctx,
    provider: &Arc<dyn Provider>,
    op: PendingOp,
    r: &ResourceState,
    done: &mut StepDone,
) -> Result<Option<u64>, StepError> {
    if !provider.has_side_effects() {
        return Ok(None);
    }
    let op_id = ctx.next_op_id();
    done.journal(
        ctx,
        vec![JournalEntry::Begin {
            op: pending(op_id, op, r),
        }],
    )
    .await?;
    Ok(Some(op_id))
}

/// The secret output keys to record for `outputs`, answered by `provider`
/// for a resource whose secretness (`secret`, `secret_inputs`) is recorded:
/// those the type declares secret, and those named like a secret input.
pub(crate) fn recorded_secret_outputs(
    provider: &dyn Provider,
    type_token: &str,
    secret: bool,
    secret_inputs: &[String],
    outputs: &Value,
) -> Vec<String> {
    SecretProps::new(secret, secret_inputs.iter().cloned())
        .with_declared_outputs(provider.secret_outputs(type_token))
        .output_keys_of(outputs)
}

/// The failure of a step whose resource's provider is not registered.
pub(crate) fn no_provider(r: &ResourceState, verb: &str) -> StepError {
    StepError::new(
        FailureKind::NoProvider,
        format!(
            "no provider `{}` is registered to {verb} it; register it in the program",
            r.provider
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_default()
        ),
    )
}

/// Records that a pending call ended without effect (it failed). When its
/// outcome is unknown the pending record stays, and the next run resolves it
/// through the provider (`find` / `read`).
pub(crate) async fn end_failed(
    ctx: &Ctx,
    op_id: Option<u64>,
    err: &StepError,
    done: &mut StepDone,
) -> Result<(), StepError> {
    if err.outcome_unknown {
        return Ok(());
    }
    if let Some(op_id) = op_id {
        done.journal(ctx, vec![JournalEntry::Ended { op_id }])
            .await?;
    }
    Ok(())
}

/// Records a rename through an alias (before any entry under the new URN).
async fn record_rename(
    ctx: &Ctx,
    from: Option<&Urn>,
    to: &Urn,
    done: &mut StepDone,
) -> Result<(), StepError> {
    if let Some(from) = from {
        done.journal(
            ctx,
            vec![JournalEntry::Renamed {
                from: from.clone(),
                to: to.clone(),
            }],
        )
        .await?;
    }
    Ok(())
}

/// Records `rec` unless it is recorded so already.
async fn record_if_changed(
    ctx: &Ctx,
    old: Option<&ResourceState>,
    rec: &ResourceState,
    done: &mut StepDone,
) -> Result<(), StepError> {
    if old != Some(rec) {
        done.journal(
            ctx,
            vec![JournalEntry::Upsert {
                op_id: None,
                resource: rec.clone(),
            }],
        )
        .await?;
    }
    Ok(())
}

/// What a declared custom resource's step works with.
pub(crate) struct StepCx<'a> {
    ctx: &'a Arc<Ctx>,
    d: &'a Declared,
    provider: &'a Arc<dyn Provider>,
    secrets: &'a SecretProps,
    tenacity: Tenacity,
    timeouts: CustomTimeouts,
}

impl StepCx<'_> {
    fn key(&self) -> String {
        limiter_key(Some(&provider_ref(self.d)))
    }

    /// Creates the resource (`replacing`: the copy it replaces, which it must
    /// not adopt; `deleted_first`: the id of one deleted just before, which an
    /// eventually consistent search may still list).
    async fn create(
        &self,
        inputs: Value,
        replacing: Option<&ResourceState>,
        deleted_first: Option<&str>,
        done: &mut StepDone,
    ) -> Result<ResourceState, StepError> {
        let (ctx, d, provider) = (self.ctx, self.d, self.provider);
        let exclude_ids: Vec<String> = replacing
            .map(|o| o.id.as_str())
            .into_iter()
            .chain(deleted_first)
            .map(String::from)
            .collect();
        let draft = build_record(d, String::new(), inputs.clone(), Value::Null, self.secrets);
        let op_id = begin(ctx, provider, PendingOp::Create, &draft, done).await?;
        let identity = ctx.identity(&d.urn, &d.type_token);
        let op = if replacing.is_some() {
            Op::Replace
        } else {
            Op::Create
        };
        let result = ctx
            .call(
                &self.key(),
                &d.urn,
                op,
                "create",
                self.timeouts.create,
                self.tenacity,
                || {
                    provider.create(CreateRequest {
                        identity: identity.clone(),
                        inputs: inputs.clone(),
                        labels: ctx.labels.clone(),
                        exclude_ids: exclude_ids.clone(),
                    })
                },
            )
            .await;
        match result {
            Ok(resp) => {
                let rec = build_record(d, resp.id, inputs, resp.outputs, self.secrets);
                let resource = rec.clone();
                let e = if replacing.is_some() {
                    JournalEntry::Replaced { op_id, resource }
                } else {
                    JournalEntry::Upsert { op_id, resource }
                };
                done.journal(ctx, vec![e]).await?;
                Ok(rec)
            }
            Err(e) => {
                end_failed(ctx, op_id, &e, done).await?;
                Err(e)
            }
        }
    }

    /// Updates `old` in place to `inputs`.
    async fn update(
        &self,
        old: &ResourceState,
        inputs: Value,
        changed: &[String],
        done: &mut StepDone,
    ) -> Result<ResourceState, StepError> {
        let (ctx, d, provider) = (self.ctx, self.d, self.provider);
        let draft = build_record(d, old.id.clone(), inputs.clone(), Value::Null, self.secrets);
        let op_id = begin(ctx, provider, PendingOp::Update, &draft, done).await?;
        let identity = ctx.identity(&d.urn, &d.type_token);
        let result = ctx
            .call(
                &self.key(),
                &d.urn,
                Op::Update,
                "update",
                self.timeouts.update,
                self.tenacity,
                || {
                    provider.update(UpdateRequest {
                        identity: identity.clone(),
                        id: old.id.clone(),
                        old_inputs: old.inputs.to_value(),
                        old_outputs: old.outputs.to_value(),
                        new_inputs: inputs.clone(),
                        changed: changed.to_vec(),
                        labels: ctx.labels.clone(),
                    })
                },
            )
            .await;
        match result {
            Ok(resp) => {
                let rec = build_record(d, old.id.clone(), inputs, resp.outputs, self.secrets);
                done.journal(
                    ctx,
                    vec![JournalEntry::Upsert {
                        op_id,
                        resource: rec.clone(),
                    }],
                )
                .await?;
                Ok(rec)
            }
            Err(mut e) => {
                if e.kind == FailureKind::NotFound {
                    e.message = format!(
                        "{} (the resource is gone: run `refresh` to forget it, then `up` recreates it)",
                        e.message
                    );
                }
                end_failed(ctx, op_id, &e, done).await?;
                Err(e)
            }
        }
    }
}

impl SameStep {
    /// Records the resource with its current inputs (its options or
    /// dependencies may have changed), keeping its id and outputs.
    async fn apply(
        self,
        cx: &StepCx<'_>,
        old: &ResourceState,
        done: &mut StepDone,
    ) -> Result<ResourceState, StepError> {
        let inputs = self.new_inputs.unwrap_or_default();
        let outputs = self.outputs.unwrap_or_else(|| old.outputs.clone());
        let rec = build_record(cx.d, old.id.clone(), inputs, outputs, cx.secrets);
        record_if_changed(cx.ctx, Some(old), &rec, done).await?;
        Ok(rec)
    }
}

impl CreateStep {
    /// Creates the resource.
    async fn apply(self, cx: &StepCx<'_>, done: &mut StepDone) -> Result<ResourceState, StepError> {
        cx.create(self.inputs, None, None, done).await
    }
}

impl UpdateStep {
    /// Updates the resource in place.
    async fn apply(
        self,
        cx: &StepCx<'_>,
        old: &ResourceState,
        done: &mut StepDone,
    ) -> Result<ResourceState, StepError> {
        cx.update(old, self.new_inputs, &self.changed, done).await
    }
}

impl ReplaceStep {
    /// Creates the new copy, leaving the old one for the clean-up phase; or,
    /// when the two cannot exist together, deletes the old one first.
    async fn apply(
        self,
        cx: &StepCx<'_>,
        old: &ResourceState,
        done: &mut StepDone,
    ) -> Result<ResourceState, StepError> {
        if !self.delete_before_replace {
            return cx.create(self.new_inputs, Some(old), None, done).await;
        }
        if old.retain_on_delete {
            return Err(StepError::new(
                FailureKind::Protected,
                format!(
                    "`{}` must be deleted before it is replaced (its new copy cannot exist next to the old one), but it has `retain_on_delete`, which would leave the old copy in the cloud: drop the option to let it be replaced, or change the program back",
                    cx.d.name
                ),
            ));
        }
        DeleteStep::apply(
            cx.ctx,
            old,
            Some(cx.provider.clone()),
            Tenacity::default(),
            cx.timeouts.delete,
            done,
        )
        .await?;
        cx.create(self.new_inputs, None, Some(old.id.as_str()), done)
            .await
    }
}

impl ImportStep {
    /// Reads the existing resource and records it; where the program differs
    /// in properties that can change in place, updates it to match. A
    /// difference that would need a replacement is refused (the resource is
    /// not the program's to recreate).
    async fn apply(self, cx: &StepCx<'_>, done: &mut StepDone) -> Result<ResourceState, StepError> {
        let (ctx, d, provider) = (cx.ctx, cx.d, cx.provider);
        let id = self.id;
        let identity = ctx.identity(&d.urn, &d.type_token);
        let read = ctx
            .call(
                &cx.key(),
                &d.urn,
                Op::Import,
                "read",
                cx.timeouts.create,
                cx.tenacity,
                || {
                    provider.read(ReadRequest {
                        identity: identity.clone(),
                        id: id.clone(),
                        inputs: Value::Null,
                        outputs: Value::Null,
                    })
                },
            )
            .await
            .map_err(|mut e| {
                if e.kind == FailureKind::NotFound {
                    e.message = format!(
                        "cannot import `{}`: no {} with id `{id}` exists",
                        d.name, d.type_token
                    );
                }
                e
            })?;
        let mut inputs = self.inputs;
        let recorded_inputs = read.inputs.clone().unwrap_or_else(|| inputs.clone());
        let rec = build_record(d, read.id, recorded_inputs, read.outputs, cx.secrets);
        // The program's ignored properties take the imported values.
        apply_ignore_changes(&mut inputs, &rec.inputs, &d.options.ignore_changes);
        let again = decide(provider, &identity, d, Some(&rec), inputs).await?;
        if let StepAction::Replace(r) = &again {
            return Err(StepError::new(
                FailureKind::ImportMismatch,
                format!(
                    "the existing resource `{id}` differs from the program in {} which cannot change in place; change the program to match it, or drop the import option",
                    r.replace_keys.join(", ")
                ),
            ));
        }
        record_if_changed(ctx, None, &rec, done).await?;
        match again {
            StepAction::Update(u) => u.apply(cx, &rec, done).await,
            _ => Ok(rec),
        }
    }
}

impl DeleteStep {
    /// Deletes the recorded resource `r` (a component, or one retained on
    /// delete, is only forgotten). Not found counts as deleted.
    pub(crate) async fn apply(
        ctx: &Arc<Ctx>,
        r: &ResourceState,
        provider: Option<Arc<dyn Provider>>,
        tenacity: Tenacity,
        timeout: Option<Duration>,
        done: &mut StepDone,
    ) -> Result<(), StepError> {
        if r.kind == ResourceKind::Component || r.retain_on_delete {
            if r.retain_on_delete {
                ctx.emit(EngineEvent::Diagnostic {
                    level: Level::Info,
                    urn: Some(r.urn.clone()),
                    message: format!(
                        "`{}` is retained: forgotten by mkso, left in the cloud",
                        r.urn.name()
                    ),
                });
            }
            return done
                .journal(
                    ctx,
                    vec![JournalEntry::Removed {
                        op_id: None,
                        urn: r.urn.clone(),
                        id: r.id.clone(),
                    }],
                )
                .await;
        }
        let Some(provider) = provider else {
            return Err(no_provider(r, "delete"));
        };
        let op_id = begin(ctx, &provider, PendingOp::Delete, r, done).await?;
        let identity = ctx.identity(&r.urn, &r.type_token);
        let key = limiter_key(r.provider.as_ref());
        let result = ctx
            .call(
                &key,
                &r.urn,
                Op::Delete,
                "delete",
                timeout,
                tenacity,
                || {
                    let p = provider.clone();
                    let req = DeleteRequest {
                        identity: identity.clone(),
                        id: r.id.clone(),
                        inputs: r.inputs.to_value(),
                        outputs: r.outputs.to_value(),
                    };
                    async move {
                        match p.delete(req).await {
                            Err(e) if e.class == ErrorClass::NotFound => Ok(()),
                            other => other,
                        }
                    }
                },
            )
            .await;
        match result {
            Ok(()) => {
                done.journal(
                    ctx,
                    vec![JournalEntry::Removed {
                        op_id,
                        urn: r.urn.clone(),
                        id: r.id.clone(),
                    }],
                )
                .await
            }
            Err(e) => {
                end_failed(ctx, op_id, &e, done).await?;
                Err(e)
            }
        }
    }
}

/// What one declared resource's step starts from.
pub(crate) struct DeclaredStep {
    /// The resource as the program declared it.
    pub d: Declared,
    /// Its record, if any.
    pub old: Option<ResourceState>,
    /// Its former URN, for a rename through an alias.
    pub renamed_from: Option<Urn>,
    /// Its provider (`None` for components).
    pub provider: Option<Arc<dyn Provider>>,
    /// What the plan decided for it (a custom resource's step may do less,
    /// never more).
    pub planned: Option<PlannedOp>,
    /// Its rolling group and batch, when it is a member that changes.
    pub member: Option<Member>,
}

/// Runs one declared resource's step.
pub(crate) async fn run_declared(ctx: Arc<Ctx>, step: DeclaredStep) -> StepDone {
    // What a failure before the decision reports: the planned op.
    let op = step.planned.as_ref().map_or(Op::Same, |p| p.op);
    let mut done = StepDone::new(op, false);
    if let Err(e) = declared_inner(&ctx, step, &mut done).await {
        done.error = Some(e);
    }
    done
}

async fn declared_inner(
    ctx: &Arc<Ctx>,
    step: DeclaredStep,
    done: &mut StepDone,
) -> Result<(), StepError> {
    let DeclaredStep {
        d,
        old,
        renamed_from,
        provider,
        planned,
        member,
    } = step;
    let (d, planned, member) = (&d, planned.as_ref(), member.as_ref());
    if let Some(m) = member {
        m.pause(ctx).await?;
    }
    let resolver: Arc<dyn Resolver> = ctx.resolver.clone();
    let res = d.inputs.resolve(resolver).await.map_err(Error::from)?;
    // Once secret, a property stays sealed (as the plan shows it).
    let secrets = input_secrets(res.secret, &res.secret_keys, old.as_ref());
    let Some(mut inputs) = res.value.filter(|v| !contains_unknown(v)) else {
        return Err(StepError::new(
            FailureKind::UnknownInputs,
            "its inputs are still unknown after its dependencies were applied",
        ));
    };
    let old = old.map(|mut o| {
        o.urn = d.urn.clone();
        o
    });
    if d.kind == ResourceKind::Component {
        record_rename(ctx, renamed_from.as_ref(), &d.urn, done).await?;
        let action = component_action(old.as_ref(), inputs);
        done.op = action.op();
        let outputs = action.planned_outputs().cloned().unwrap_or(Value::Null);
        let rec = build_record(
            d,
            String::new(),
            Value::Object(Default::default()),
            outputs,
            &secrets,
        );
        record_if_changed(ctx, old.as_ref(), &rec, done).await?;
        done.record = Some(rec);
        return Ok(());
    }

    let provider = provider.expect("custom resources have a provider");
    let secrets = secrets.with_declared_outputs(provider.secret_outputs(&d.type_token));
    if let Some(o) = &old {
        apply_ignore_changes(&mut inputs, &o.inputs, &d.options.ignore_changes);
    }
    let identity = ctx.identity(&d.urn, &d.type_token);
    let action = decide(&provider, &identity, d, old.as_ref(), inputs).await?;
    // Apply follows the plan the user saw: less is fine (an unknown resolved
    // to the recorded value), more fails before any provider call.
    if let Some(p) = planned
        && let Err(e) = p.check(&d.name, &action)
    {
        done.op = p.op;
        return Err(StepError::inconsistent(e));
    }
    record_rename(ctx, renamed_from.as_ref(), &d.urn, done).await?;
    done.op = action.op();
    if done.op.is_change() {
        done.started = true;
        ctx.emit(EngineEvent::StepStarted {
            urn: d.urn.clone(),
            op: done.op,
        });
    }
    let cx = StepCx {
        ctx,
        d,
        provider: &provider,
        secrets: &secrets,
        tenacity: d.options.tenacity.unwrap_or_default(),
        timeouts: d.options.timeouts,
    };
    let recorded = || old.as_ref().expect("decided against a recorded resource");
    let create_first = matches!(&action, StepAction::Replace(r) if !r.delete_before_replace);
    let rec = match action {
        StepAction::Same(s) => s.apply(&cx, recorded(), done).await?,
        StepAction::Create(c) => c.apply(&cx, done).await?,
        StepAction::Import(i) => i.apply(&cx, done).await?,
        StepAction::Update(u) => u.apply(&cx, recorded(), done).await?,
        StepAction::Replace(r) => r.apply(&cx, recorded(), done).await?,
        StepAction::Delete(_) => unreachable!("not decided for declared resources"),
    };
    if let Some(m) = member
        && matches!(done.op, Op::Replace | Op::Update)
    {
        settle(
            ctx,
            &provider,
            m,
            done.op,
            create_first,
            old.as_ref(),
            &rec,
            d.options.timeouts.delete,
            done,
        )
        .await?;
    }
    done.record = Some(rec);
    Ok(())
}
