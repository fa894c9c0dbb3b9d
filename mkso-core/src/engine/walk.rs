//! A bounded-parallel walk of a DAG: a node starts when all its dependencies
//! finished; a node whose dependency failed (or was skipped) is skipped; after
//! cancellation nothing new starts and running nodes finish.
//!
//! A node that calls a provider belongs to that provider's *lane* (its
//! adaptive limiter): a lane runs at most as many nodes as its window lets
//! calls through, the rest wait in the walk as indices, not as tasks. With
//! unbounded `--parallel` a 100 000-resource stack so holds a few hundred
//! step futures instead of one per resource, at the same call rate.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::limiter::Limiter;

/// How a node ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NodeEnd {
    /// It succeeded without changing anything.
    Unchanged,
    /// It succeeded and changed something.
    Changed,
    /// It failed.
    Failed,
}

/// Starting a node: done at once, or work to run.
pub(crate) enum Start<T> {
    Done(T),
    Run(BoxFuture<'static, T>),
}

/// What the walk asks of its user.
/// Why a node will not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Skip {
    /// A dependency failed or did not run.
    Blocked,
    /// The walk was cancelled before it started.
    Cancelled,
    /// It sits on a dependency cycle.
    Cycle,
}

impl Skip {
    /// For people.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Skip::Blocked => "a dependency failed or did not run",
            Skip::Cancelled => "the update was cancelled",
            Skip::Cycle => "it is on a dependency cycle with other deletes",
        }
    }
}

pub(crate) trait Handler {
    type Output: Send + 'static;
    /// Starts node `i`; `deps_changed` tells whether any dependency changed.
    fn start(&mut self, i: usize, deps_changed: bool) -> Start<Self::Output>;
    /// Takes a node's result.
    fn finish(&mut self, i: usize, out: Self::Output) -> NodeEnd;
    /// Node `i` will not run.
    fn skip(&mut self, i: usize, why: Skip);
    /// A node's task panicked.
    fn panicked(&mut self, i: usize, message: String);
    /// The limiter node `i`'s provider calls go through (`None`: it calls
    /// no provider, or is not held back).
    fn lane(&self, _i: usize) -> Option<Arc<Limiter>> {
        None
    }
}

/// The nodes of one lane: how many run, and those waiting for room.
struct Lane {
    limiter: Arc<Limiter>,
    running: usize,
    parked: VecDeque<usize>,
}

impl Lane {
    /// Moves as many parked nodes to `ready` as the window has room for
    /// (all of them once the walk is cancelled: they are skipped there).
    fn unpark(&mut self, ready: &mut VecDeque<usize>, all: bool) {
        let room = if all {
            self.parked.len()
        } else {
            self.limiter.window().saturating_sub(self.running)
        };
        for _ in 0..room {
            let Some(i) = self.parked.pop_front() else {
                break;
            };
            ready.push_back(i);
        }
    }
}

/// Walks the graph; returns whether it was cancelled before finishing.
pub(crate) async fn walk<H: Handler>(
    deps: &[Vec<usize>],
    parallel: usize,
    cancel: &CancellationToken,
    h: &mut H,
) -> bool {
    let n = deps.len();
    let dependents = super::graph::reverse(deps);
    let mut remaining: Vec<usize> = deps.iter().map(Vec::len).collect();
    let mut blocked = vec![false; n];
    let mut deps_changed = vec![false; n];
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| remaining[i] == 0).collect();
    type Joined<T> = (usize, Result<T, Box<dyn std::any::Any + Send>>);
    let mut running: JoinSet<Joined<H::Output>> = JoinSet::new();
    let mut cancelled = false;
    let mut handled = vec![false; n];
    // Lanes by limiter, and the lane of each running node.
    // (In the order they were first used: what is unparked at once goes in
    // a repeatable order.)
    let mut lanes: Vec<Lane> = Vec::new();
    let mut lane_index: HashMap<usize, usize> = HashMap::new();
    let mut lane_of: HashMap<tokio::task::Id, usize> = HashMap::new();

    let mut complete = |i: usize,
                        end: NodeEnd,
                        ready: &mut VecDeque<usize>,
                        blocked: &mut Vec<bool>,
                        deps_changed: &mut Vec<bool>| {
        handled[i] = true;
        for &j in &dependents[i] {
            match end {
                NodeEnd::Failed => blocked[j] = true,
                NodeEnd::Changed => deps_changed[j] = true,
                NodeEnd::Unchanged => {}
            }
            remaining[j] -= 1;
            if remaining[j] == 0 {
                ready.push_back(j);
            }
        }
    };

    loop {
        if !cancelled && cancel.is_cancelled() {
            cancelled = true;
        }
        if cancelled {
            for lane in lanes.iter_mut() {
                lane.unpark(&mut ready, true);
            }
        }
        while let Some(i) = ready.front().copied() {
            if blocked[i] || cancelled {
                ready.pop_front();
                h.skip(
                    i,
                    if blocked[i] {
                        Skip::Blocked
                    } else {
                        Skip::Cancelled
                    },
                );
                complete(
                    i,
                    NodeEnd::Failed,
                    &mut ready,
                    &mut blocked,
                    &mut deps_changed,
                );
                continue;
            }
            if parallel != 0 && running.len() >= parallel {
                break;
            }
            ready.pop_front();
            let lane = h.lane(i).map(|limiter| {
                *lane_index
                    .entry(Arc::as_ptr(&limiter) as usize)
                    .or_insert_with(|| {
                        lanes.push(Lane {
                            limiter,
                            running: 0,
                            parked: VecDeque::new(),
                        });
                        lanes.len() - 1
                    })
            });
            if let Some(key) = lane {
                let lane = &mut lanes[key];
                if lane.running >= lane.limiter.window() {
                    // Its lane is full: it waits here until a node of the
                    // lane ends.
                    lane.parked.push_back(i);
                    continue;
                }
            }
            match h.start(i, deps_changed[i]) {
                Start::Done(out) => {
                    let end = h.finish(i, out);
                    complete(i, end, &mut ready, &mut blocked, &mut deps_changed);
                    // It took no room: the room it was let in for goes to
                    // the next one waiting.
                    if let Some(key) = lane {
                        lanes[key].unpark(&mut ready, cancelled);
                    }
                }
                Start::Run(fut) => {
                    let task = running.spawn(async move {
                        (i, std::panic::AssertUnwindSafe(fut).catch_unwind().await)
                    });
                    if let Some(key) = lane {
                        lanes[key].running += 1;
                        lane_of.insert(task.id(), key);
                    }
                }
            }
        }
        if running.is_empty() {
            // (Nodes park only behind running ones; should any be left,
            // they start now rather than never.)
            let before = ready.len();
            for lane in lanes.iter_mut() {
                lane.unpark(&mut ready, true);
            }
            if ready.len() == before {
                break;
            }
            continue;
        }
        tokio::select! {
            joined = running.join_next_with_id() => {
                let Some(joined) = joined else { continue };
                let id = match &joined {
                    Ok((id, _)) => *id,
                    Err(e) => e.id(),
                };
                if let Some(lane) = lane_of.remove(&id).and_then(|k| lanes.get_mut(k)) {
                    lane.running -= 1;
                    lane.unpark(&mut ready, cancelled);
                }
                match joined.map(|(_, r)| r) {
                    Ok((i, Ok(out))) => {
                        let end = h.finish(i, out);
                        complete(i, end, &mut ready, &mut blocked, &mut deps_changed);
                    }
                    Ok((i, Err(panic))) => {
                        let message = panic
                            .downcast_ref::<String>()
                            .cloned()
                            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                            .unwrap_or_else(|| "a step panicked".into());
                        h.panicked(i, message);
                        complete(i, NodeEnd::Failed, &mut ready, &mut blocked, &mut deps_changed);
                    }
                    Err(e) => tracing::error!(error = %e, "a step task was aborted"),
                }
            }
            _ = cancel.cancelled(), if !cancelled => {
                cancelled = true;
            }
        }
    }
    // Nodes that never became ready sit on a dependency cycle (possible among
    // deletes of old copies): report them instead of leaving them silently.
    for (i, done) in handled.iter().enumerate() {
        if !done {
            h.skip(i, Skip::Cycle);
        }
    }
    cancelled
}
