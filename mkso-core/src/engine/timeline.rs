//! The timeline of an update: when each step started and ended, how many
//! attempts it took and how it ended, recorded in the stack's history
//! (`history show N`), with the critical path through the graph.

use serde::{Deserialize, Serialize};

use super::events::Op;
use crate::names::Urn;

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    /// It did what it had to.
    Succeeded,
    /// It failed (after its retries).
    Failed,
    /// It did not run (a dependency failed, or the update was cancelled).
    Skipped,
}

/// One step of an update, timed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepTiming {
    /// The resource.
    pub urn: Urn,
    /// What the step did (or was to do).
    pub op: Op,
    /// When it started, in milliseconds since the update started.
    pub start_ms: u64,
    /// When it ended, in milliseconds since the update started.
    pub end_ms: u64,
    /// Provider calls it made, retries included (0: it needed none).
    pub attempts: u32,
    /// How it ended.
    pub result: StepResult,
    /// The steps of this update it waited for.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Urn>,
    /// A rollback's revert (`op` is then the kind of call it made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert: Option<super::rollback::RevertAction>,
    /// The batch of a rolling group's rollout the step belonged to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<super::rollout::BatchRef>,
}

/// The start and end of a step in milliseconds since `t0` (an update's
/// start): from `started` (or `now`, for a step that never started) to `now`.
pub(crate) fn span_ms(
    t0: tokio::time::Instant,
    started: Option<tokio::time::Instant>,
    now: tokio::time::Instant,
) -> (u64, u64) {
    let ms = |at: tokio::time::Instant| at.saturating_duration_since(t0).as_millis() as u64;
    (ms(started.unwrap_or(now)), ms(now))
}

impl StepTiming {
    /// How long it took.
    pub fn duration_ms(&self) -> u64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

/// The critical path: the chain of steps that ended last, each preceded by
/// the dependency that finished last before it (what it waited for), as
/// indices into `steps`, first to last.
pub fn critical_path(steps: &[StepTiming]) -> Vec<usize> {
    let by_urn: std::collections::HashMap<&Urn, usize> = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.result != StepResult::Skipped)
        .map(|(i, s)| (&s.urn, i))
        .collect();
    let Some(mut at) = steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.result != StepResult::Skipped)
        .max_by_key(|(i, s)| (s.end_ms, std::cmp::Reverse(*i)))
        .map(|(i, _)| i)
    else {
        return Vec::new();
    };
    let mut path = vec![at];
    loop {
        let s = &steps[at];
        let prev = s
            .dependencies
            .iter()
            .filter_map(|u| by_urn.get(u).copied())
            .filter(|&j| j != at && !path.contains(&j) && steps[j].end_ms <= s.start_ms)
            .max_by_key(|&j| (steps[j].end_ms, std::cmp::Reverse(j)));
        match prev {
            Some(j) => {
                path.push(j);
                at = j;
            }
            None => break,
        }
    }
    path.reverse();
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, start: u64, end: u64, deps: &[&str]) -> StepTiming {
        let urn = |n: &str| Urn::parse(&format!("urn:mkso:a.b.Dev::p::t:m:T::{n}")).unwrap();
        StepTiming {
            urn: urn(name),
            op: Op::Create,
            start_ms: start,
            end_ms: end,
            attempts: 1,
            result: StepResult::Succeeded,
            dependencies: deps.iter().map(|d| urn(d)).collect(),
            revert: None,
            batch: None,
        }
    }

    #[test]
    fn the_critical_path_follows_what_each_step_waited_for() {
        let steps = vec![
            step("vpc", 0, 100, &[]),
            step("sg", 0, 30, &[]),
            step("subnet", 100, 180, &["vpc"]),
            step("web", 180, 400, &["subnet", "sg"]),
            step("dns", 0, 50, &[]),
        ];
        let names: Vec<&str> = critical_path(&steps)
            .into_iter()
            .map(|i| steps[i].urn.name())
            .collect();
        assert_eq!(names, ["vpc", "subnet", "web"]);
        assert_eq!(critical_path(&[]), Vec::<usize>::new());
    }
}
