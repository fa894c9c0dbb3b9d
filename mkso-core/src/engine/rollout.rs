//! Rollouts of rolling groups (see [`crate::rolling`]): which members of a
//! group change and in which batches, the edges that make each batch wait
//! for the one before it, and what a member's step does after its change:
//! wait until the new copy is ready, then delete the old copy (or, when it
//! never gets ready, swap the old copy back and delete the new one).

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::apply::StepDone;
use super::events::Op;
use super::execute::{Ctx, limiter_key};
use super::failure::{FailureKind, StepError};
use super::plan::PlannedStep;
use super::step::DeleteStep;
use crate::names::Urn;
use crate::options::Tenacity;
use crate::provider::{Provider, ReadRequest};
use crate::rolling::{ReadyProbe, RollingPolicy};
use crate::stack::ProgramGraph;
use crate::state::{JournalEntry, ResourceState};
use tokio_util::sync::CancellationToken;

/// The planned rollout of one rolling group: the members that change, in
/// batches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rollout {
    /// The group.
    pub group: String,
    /// The members that change, in the order they roll.
    pub members: Vec<Urn>,
    /// Members per batch.
    pub batch_size: usize,
    /// Of the members, those replaced.
    pub replace: usize,
    /// Of the members, those updated in place.
    pub update: usize,
    /// The group's `max_unavailable`.
    pub max_unavailable: u32,
    /// The group's `max_surge`.
    pub max_surge: u32,
    /// The plan step of each member.
    #[serde(skip)]
    pub(crate) steps: Vec<usize>,
}

impl Rollout {
    /// How many batches.
    pub fn batches(&self) -> usize {
        self.members.len().div_ceil(self.batch_size.max(1))
    }

    /// For people: `replace 6 in 3 batches of 2 (max unavailable 1, max surge 2)`.
    pub fn describe(&self) -> String {
        let what = match (self.replace, self.update) {
            (r, 0) => format!("replace {r}"),
            (0, u) => format!("update {u}"),
            (r, u) => format!("replace {r} and update {u}"),
        };
        let batches = self.batches();
        let how = if batches == 1 {
            "in 1 batch".to_string()
        } else {
            format!("in {batches} batches of {}", self.batch_size)
        };
        format!(
            "{what} {how} (max unavailable {}, max surge {})",
            self.max_unavailable, self.max_surge
        )
    }

    /// The batch (from 0) of the member at `pos` in `members`.
    pub(crate) fn batch_of(&self, pos: usize) -> usize {
        pos / self.batch_size.max(1)
    }
}

/// A step's place in a rollout, as the timeline records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRef {
    /// The rolling group.
    pub group: String,
    /// The batch, from 1.
    pub batch: usize,
    /// How many batches the rollout had.
    pub batches: usize,
}

/// The rollouts of a plan's steps: per declared group, its targeted members
/// planned to be replaced or updated, in plan order (dependencies first).
pub(crate) fn plan_rollouts(steps: &[PlannedStep], graph: &ProgramGraph) -> Vec<Rollout> {
    let mut out: Vec<Rollout> = Vec::new();
    for (group, policy) in &graph.rolling_groups {
        let mut r = Rollout {
            group: group.clone(),
            members: Vec::new(),
            batch_size: 1,
            replace: 0,
            update: 0,
            max_unavailable: policy.max_unavailable,
            max_surge: policy.max_surge,
            steps: Vec::new(),
        };
        let mut create_first = 0;
        for (i, s) in steps.iter().enumerate() {
            let Some(d) = s.declared.map(|k| &graph.resources[k]) else {
                continue;
            };
            if !s.targeted || d.options.rolling_group.as_deref() != Some(group.as_str()) {
                continue;
            }
            match s.op() {
                Op::Replace => {
                    r.replace += 1;
                    create_first += usize::from(!s.delete_before_replace());
                }
                Op::Update => r.update += 1,
                _ => continue,
            }
            r.members.push(s.urn.clone());
            r.steps.push(i);
        }
        if r.members.is_empty() {
            continue;
        }
        r.batch_size = policy.batch_size(create_first, r.members.len());
        out.push(r);
    }
    out
}

/// `deps` with the edges of the rollouts: each member of a batch waits for
/// every member of the batch before.
pub(crate) fn with_batch_edges(deps: &[Vec<usize>], rollouts: &[Rollout]) -> Vec<Vec<usize>> {
    let mut deps = deps.to_vec();
    for r in rollouts {
        let batches: Vec<&[usize]> = r.steps.chunks(r.batch_size.max(1)).collect();
        for pair in batches.windows(2) {
            for &i in pair[1] {
                deps[i].extend_from_slice(pair[0]);
                deps[i].sort_unstable();
                deps[i].dedup();
            }
        }
    }
    deps
}

/// A member's step: its group's policy and its batch.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub group: String,
    pub policy: RollingPolicy,
    /// From 0.
    pub batch: usize,
    pub batches: usize,
    /// Other resources read this member: its old copy stays until they have
    /// moved to the new one (the clean-up at the end of the update deletes
    /// it), so nothing deletes a copy still in use.
    pub keep_old: bool,
    /// Cancelled when a step failed and the update rolls back.
    pub stop: Option<CancellationToken>,
}

impl Member {
    /// Waits the group's pause before a batch after the first; a member
    /// whose update rolls back (or is cancelled) meanwhile does not start.
    pub(crate) async fn pause(&self, ctx: &Ctx) -> Result<(), StepError> {
        let stopped = || {
            StepError::new(
                FailureKind::Cancelled,
                "a step failed and the update rolls back: this member was not changed",
            )
        };
        if self.stop.as_ref().is_some_and(|s| s.is_cancelled()) {
            return Err(stopped());
        }
        if self.batch == 0 || self.policy.pause.is_zero() {
            return Ok(());
        }
        let stop = self.stop.clone().unwrap_or_default();
        tokio::select! {
            _ = ctx.opts.clock.sleep(self.policy.pause) => Ok(()),
            _ = stop.cancelled() => Err(stopped()),
            _ = ctx.opts.cancel.cancelled() => Err(StepError::new(
                FailureKind::Cancelled,
                "the update was cancelled during the pause between batches",
            )),
        }
    }

    /// The failure of a member that is not ready (`why`).
    fn not_ready(&self, what: &str, why: &str) -> StepError {
        StepError::new(
            FailureKind::NotReady,
            format!(
                "rolling group `{}`, batch {} of {}: {what} {why}",
                self.group,
                self.batch + 1,
                self.batches
            ),
        )
    }
}

/// Asks the provider, then the group's check, until `rec` is ready or the
/// group's `ready_timeout` passes. `Err`: not ready in time (`not_ready`),
/// cancelled, or the provider's error.
pub(crate) async fn wait_ready(
    ctx: &Ctx,
    provider: &Arc<dyn Provider>,
    policy: &RollingPolicy,
    op: Op,
    rec: &ResourceState,
) -> Result<(), StepError> {
    let clock = &ctx.opts.clock;
    let started = clock.now();
    let timeout = policy.ready_timeout;
    let identity = ctx.identity(&rec.urn, &rec.type_token);
    let cancelled = |why: &str| {
        StepError::new(
            FailureKind::Cancelled,
            format!("the update was cancelled while the new copy was not ready yet ({why})"),
        )
    };
    let mut delay = Duration::from_millis(500);
    let mut last_why: Option<String> = None;
    loop {
        let left = timeout.saturating_sub(clock.now() - started);
        let provider_says = ctx
            .call(
                &limiter_key(rec.provider.as_ref()),
                &rec.urn,
                op,
                "ready",
                Some(left),
                Tenacity::default(),
                || {
                    provider.ready(ReadRequest {
                        identity: identity.clone(),
                        id: rec.id.clone(),
                        inputs: rec.inputs.to_value(),
                        outputs: rec.outputs.to_value(),
                    })
                },
            )
            .await;
        let why = match provider_says {
            // At the deadline no time is left to ask: the last answer stands.
            Err(e) if e.kind == FailureKind::TimedOut => last_why
                .clone()
                .unwrap_or_else(|| "the provider did not answer".to_string()),
            Err(e) => return Err(e),
            Ok(Some(why)) => why,
            Ok(None) => match &policy.readiness {
                None => return Ok(()),
                Some(check) => {
                    let probe = check.probe(ReadyProbe {
                        name: rec.urn.name().to_string(),
                        id: rec.id.clone(),
                        outputs: rec.outputs.to_value(),
                    });
                    let left = timeout.saturating_sub(clock.now() - started);
                    // The check's answer first: at the deadline (nothing
                    // left) a check that answers at once still counts, and
                    // one that does not leaves the last answer standing.
                    tokio::select! {
                        biased;
                        r = probe => match r {
                            Ok(()) => return Ok(()),
                            Err(why) => why,
                        },
                        _ = clock.sleep(left) => last_why
                            .clone()
                            .unwrap_or_else(|| "its readiness check did not answer".to_string()),
                        _ = ctx.opts.cancel.cancelled() => return Err(cancelled("its check was running")),
                    }
                }
            },
        };
        last_why = Some(why.clone());
        let waited = clock.now() - started;
        if waited >= timeout {
            // Whole tenths of a second: `not ready after 1.5s`.
            let shown = Duration::from_millis(waited.as_millis() as u64 / 100 * 100);
            return Err(StepError::new(
                FailureKind::NotReady,
                format!(
                    "not ready after {} (the group's ready_timeout is {}): {why}",
                    humantime::format_duration(shown),
                    humantime::format_duration(timeout)
                ),
            ));
        }
        // The last question comes at the deadline.
        tokio::select! {
            _ = clock.sleep(delay.min(timeout - waited)) => {}
            _ = ctx.opts.cancel.cancelled() => return Err(cancelled(&why)),
        }
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// After a member's change (`op`): waits until the new copy `now` is ready;
/// then deletes the old copy `old` of a create-first replacement (unless
/// other resources read the member: the clean-up deletes it once they have
/// moved). A member that does not get ready fails its step; a create-first
/// replacement's old copy is then made live again and the new copy deleted.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn settle(
    ctx: &Arc<Ctx>,
    provider: &Arc<dyn Provider>,
    member: &Member,
    op: Op,
    create_first: bool,
    old: Option<&ResourceState>,
    now: &ResourceState,
    delete_timeout: Option<Duration>,
    done: &mut StepDone,
) -> Result<(), StepError> {
    let ready = wait_ready(ctx, provider, &member.policy, op, now).await;
    let old_copy = old.filter(|_| op == Op::Replace && create_first);
    match (ready, old_copy) {
        (Ok(()), Some(_)) if member.keep_old => Ok(()),
        (Ok(()), Some(old)) => {
            let mut old = old.clone();
            old.pending_delete = true;
            DeleteStep::apply(
                ctx,
                &old,
                Some(provider.clone()),
                Tenacity::default(),
                delete_timeout,
                done,
            )
            .await
            .map_err(|mut e| {
                e.message = format!(
                    "its new copy is ready, but deleting the old copy {} failed (the next `up` deletes it): {}",
                    old.id, e.message
                );
                e
            })
        }
        (Ok(()), None) => Ok(()),
        (Err(e), Some(old)) => {
            // The old copy serves on; the new one goes.
            let mut live = old.clone();
            live.pending_delete = false;
            done.journal(
                ctx,
                vec![JournalEntry::Replaced {
                    op_id: None,
                    resource: live,
                }],
            )
            .await?;
            let mut new_copy = now.clone();
            new_copy.pending_delete = true;
            let cleanup = DeleteStep::apply(
                ctx,
                &new_copy,
                Some(provider.clone()),
                Tenacity::default(),
                delete_timeout,
                done,
            )
            .await;
            let fate = match cleanup {
                Ok(()) => format!("its new copy {} was deleted", now.id),
                Err(d) => format!(
                    "deleting its new copy {} failed (the next `up` deletes it): {}",
                    now.id, d.message
                ),
            };
            let tail = format!("; the old copy {} serves on and {fate}", old.id);
            Err(match e.kind {
                FailureKind::NotReady => member.not_ready("the new copy is", &(e.message + &tail)),
                _ => StepError {
                    message: format!("{}{tail}", e.message),
                    ..e
                },
            })
        }
        (Err(e), None) => Err(match e.kind {
            FailureKind::NotReady => member.not_ready(
                if op == Op::Update {
                    "updated, but it is"
                } else {
                    "its new copy is"
                },
                &e.message,
            ),
            _ => e,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_wait_for_the_batch_before() {
        let r = Rollout {
            group: "app".into(),
            members: Vec::new(),
            batch_size: 2,
            replace: 5,
            update: 0,
            max_unavailable: 1,
            max_surge: 2,
            steps: vec![1, 2, 3, 4, 6],
        };
        let deps = vec![vec![], vec![0], vec![0], vec![0], vec![0], vec![], vec![5]];
        let d = with_batch_edges(&deps, std::slice::from_ref(&r));
        assert_eq!(d[1], vec![0]);
        assert_eq!(d[2], vec![0]);
        assert_eq!(d[3], vec![0, 1, 2]);
        assert_eq!(d[4], vec![0, 1, 2]);
        assert_eq!(d[6], vec![3, 4, 5]);
        assert_eq!(d[5], Vec::<usize>::new());
    }

    #[test]
    fn a_rollout_describes_itself() {
        let mut r = Rollout {
            group: "app".into(),
            members: (0..6)
                .map(|i| Urn::parse(&format!("urn:mkso:a.b.Dev::p::t:m:T::m{i}")).unwrap())
                .collect(),
            batch_size: 2,
            replace: 6,
            update: 0,
            max_unavailable: 2,
            max_surge: 2,
            steps: Vec::new(),
        };
        assert_eq!(r.batches(), 3);
        assert_eq!(
            r.describe(),
            "replace 6 in 3 batches of 2 (max unavailable 2, max surge 2)"
        );
        r.batch_size = 4;
        r.replace = 5;
        r.update = 1;
        assert_eq!(
            r.describe(),
            "replace 5 and update 1 in 2 batches of 4 (max unavailable 2, max surge 2)"
        );
        assert_eq!(r.batch_of(3), 0);
        assert_eq!(r.batch_of(4), 1);
    }
}
