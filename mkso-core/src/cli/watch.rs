//! `watch`: keep the stack as declared, round after round.
//!
//! Each round takes the stack's lock, runs the program, refreshes every
//! resource through its provider, plans, applies what it takes to put the
//! declared state back (drift undone, deleted resources recreated), writes
//! the state and releases the lock, so a person's `up` can run between
//! rounds. A round that meets failures (a resource whose call failed, the
//! stack locked by someone else, a provider that cannot be reached) is
//! followed by the next one sooner, with exponential backoff and jitter up to
//! the interval: watch never gives up. Ctrl-C ends it after the steps in
//! flight, with their results recorded.

use std::time::Duration;

use super::context::{CliContext, StopSignals};
use super::up::{report, show_plan};
use super::{CmdResult, CommandError, EXIT_OK, failures_exit_code};
use crate::engine::{EngineEvent, EventSink, Op, OperationKind, plan_update};
use crate::names::StackName;
use crate::state::{UpdateKind, UpdateResult};

/// Arguments of `watch`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Time between rounds (`30s`, `5m`, `1h`).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub interval: Duration,
    /// Run one round and exit with `up`'s exit code (for cron and CI).
    #[arg(long)]
    pub once: bool,
    /// Stop after this many rounds (default: run until stopped).
    #[arg(long)]
    pub rounds: Option<u64>,
}

/// What one round did.
#[derive(Debug, Default)]
struct Round {
    drifted: usize,
    repaired: usize,
    failing: usize,
    /// The exit code `up` would have given.
    code: i32,
}

/// The wait before retrying after `failed_rounds` failing rounds in a row:
/// 1 s doubling, at most `interval`, with "full jitter" between half and
/// all of it.
pub(crate) fn backoff(failed_rounds: u32, interval: Duration, jitter: f64) -> Duration {
    let exp =
        Duration::from_secs(1).saturating_mul(1u32 << failed_rounds.saturating_sub(1).min(16));
    let base = exp.min(interval);
    base.mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let signals = StopSignals::install(tokio_util::sync::CancellationToken::new());
    let mut failed_in_a_row = 0u32;
    let mut round_no = 0u64;
    loop {
        round_no += 1;
        let result = round(ctx, &stack, &signals).await;
        let last = args.once || args.rounds.is_some_and(|n| round_no >= n) || signals.cancelled();
        let (round, error) = match result {
            Ok(r) => (r, None),
            Err(e) => {
                // `--once` exits as `up` would, after its round's event.
                if args.once {
                    let event =
                        round_event(round_no, &Round::default(), Some(e.message.clone()), None);
                    ctx.display().emit(&event);
                    return Err(e);
                }
                let message = if e.message.is_empty() {
                    format!("exit code {}", e.code)
                } else {
                    e.message.clone()
                };
                (
                    Round {
                        code: e.code,
                        ..Round::default()
                    },
                    Some(message),
                )
            }
        };
        let failing = round.failing > 0 || error.is_some();
        failed_in_a_row = if failing { failed_in_a_row + 1 } else { 0 };
        let wait = if failing {
            backoff(failed_in_a_row, args.interval, fastrand::f64())
        } else {
            args.interval
        };
        let display = ctx.display();
        display.emit(&round_event(
            round_no,
            &round,
            error.clone(),
            (!last).then_some(wait),
        ));
        let next = if last {
            String::new()
        } else {
            format!(
                "; next round in {}",
                humantime::format_duration(round_secs(wait))
            )
        };
        match &error {
            None => display.line(&format!(
                "watch round {round_no}: drifted {}, repaired {}, failing {}{next}",
                round.drifted, round.repaired, round.failing
            )),
            Some(e) => display.line(&format!(
                "watch round {round_no}: did not run through: {e}{next}"
            )),
        }
        display.finish();
        if last {
            if signals.cancelled() {
                display.line("watch stopped; the state records every finished step");
                return Ok(EXIT_OK);
            }
            return Ok(round.code);
        }
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = signals.stopped() => {
                display.line("watch stopped between rounds");
                return Ok(EXIT_OK);
            }
        }
    }
}

fn round_event(n: u64, r: &Round, error: Option<String>, next: Option<Duration>) -> EngineEvent {
    EngineEvent::WatchRound {
        round: n,
        drifted: r.drifted,
        repaired: r.repaired,
        failing: r.failing,
        error,
        next_in_ms: next.map(|d| d.as_millis() as u64),
    }
}

/// Whole seconds (at least one), for the message.
fn round_secs(d: Duration) -> Duration {
    Duration::from_secs(d.as_secs_f64().round().max(1.0) as u64)
}

async fn round(
    ctx: &CliContext,
    stack: &StackName,
    signals: &StopSignals,
) -> Result<Round, CommandError> {
    let display = ctx.display();
    let (mut session, opts) = ctx.open_session(stack, "watch", &display, signals).await?;
    for n in &session.notes {
        display.line(&format!("note: {n}"));
    }
    let graph = ctx.run_program(stack)?;
    session.resolve_pending(&graph.providers, &opts).await?;
    // Failed reads are shown by the display as they happen.
    let refreshed = session.refresh(&graph.providers, &opts).await?;
    let plan = plan_update(&graph, session.view(), &opts).await?;
    let mut r = Round {
        drifted: refreshed.drift.len(),
        failing: refreshed.failures.len(),
        code: if refreshed.failures.is_empty() {
            EXIT_OK
        } else {
            failures_exit_code(&refreshed.failures)
        },
        ..Round::default()
    };
    if !plan.has_changes() {
        display.finish();
        if refreshed.drift.is_empty() {
            // Nothing found, nothing changed (reads that failed are in the
            // round's line): no history entry, so that an outage does not
            // push the real updates out of the history.
            session.finish_quietly().await?;
        } else {
            // Drift recorded (a resource deleted with nothing to recreate).
            let result = if refreshed.failures.is_empty() {
                UpdateResult::Succeeded
            } else {
                UpdateResult::Failed
            };
            let changes = [(Op::Refresh, refreshed.read)].into_iter().collect();
            session
                .finish(
                    UpdateKind::Watch,
                    result,
                    changes,
                    r.failing,
                    ctx.history_keep(),
                )
                .await?;
        }
        return Ok(r);
    }
    show_plan(&display, &plan, false);
    display.set_total(
        plan.all_steps()
            .filter(|s| s.targeted && s.op().is_change())
            .count(),
    );
    session.set_run_by(ctx.run_by(stack, &graph));
    let outcome = session.apply(&graph, &plan, &opts).await?;
    display.finish();
    let (code, result) = report(&display, OperationKind::Up, &outcome);
    r.repaired = outcome
        .changes
        .iter()
        .filter(|(op, _)| matches!(op, Op::Create | Op::Update | Op::Replace))
        .map(|(_, n)| n)
        .sum();
    r.failing += outcome.failures.len();
    if r.code == EXIT_OK {
        r.code = code;
    }
    session
        .finish(
            UpdateKind::Watch,
            result,
            outcome.changes.clone(),
            outcome.failures.len(),
            ctx.history_keep(),
        )
        .await?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_the_interval_with_jitter() {
        let minute = Duration::from_secs(60);
        assert_eq!(backoff(1, minute, 1.0), Duration::from_secs(1));
        assert_eq!(backoff(2, minute, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(4, minute, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(10, minute, 1.0), minute);
        assert_eq!(backoff(40, minute, 1.0), minute, "no overflow");
        // Jitter takes it down to half, never below.
        assert_eq!(backoff(4, minute, 0.0), Duration::from_secs(4));
        assert_eq!(
            backoff(3, Duration::from_secs(2), 0.5),
            Duration::from_millis(1500)
        );
    }
}
