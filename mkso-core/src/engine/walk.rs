//! A bounded-parallel walk of a DAG: a node starts when all its dependencies
//! finished; a node whose dependency failed (or was skipped) is skipped; after
//! cancellation nothing new starts and running nodes finish.

use std::collections::VecDeque;

use futures::FutureExt;
use futures::future::BoxFuture;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

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
            match h.start(i, deps_changed[i]) {
                Start::Done(out) => {
                    let end = h.finish(i, out);
                    complete(i, end, &mut ready, &mut blocked, &mut deps_changed);
                }
                Start::Run(fut) => {
                    running.spawn(async move {
                        (i, std::panic::AssertUnwindSafe(fut).catch_unwind().await)
                    });
                }
            }
        }
        if running.is_empty() {
            break;
        }
        tokio::select! {
            joined = running.join_next() => {
                let Some(joined) = joined else { continue };
                match joined {
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
