//! `refresh`: read every resource through its provider; record drift.

use std::collections::BTreeMap;

use super::context::{CliContext, Locked};
use super::{CmdResult, CommandError, EXIT_CHANGES, EXIT_OK, failure_hints, failures_exit_code};
use crate::engine::{DriftKind, EngineEvent, EventSink, Op, OperationKind, OperationResult};
use crate::names::escape_control;
use crate::state::{UpdateKind, UpdateResult};

/// Arguments of `refresh`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Accepted for symmetry with `up`; refresh changes only the recorded state.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Exit with code 3 when drift was found.
    #[arg(long)]
    pub expect_no_changes: bool,
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let display = ctx.display();
    let Locked {
        mut session,
        signals,
        opts,
    } = ctx.open_locked(&stack, "refresh", &display).await?;
    let graph = ctx.run_program(&stack)?;
    signals.check(&display, "refresh")?;
    session.resolve_pending(&graph.providers, &opts).await?;
    let started = std::time::Instant::now();
    let outcome = session.refresh(&graph.providers, &opts).await?;
    let mut changes = BTreeMap::new();
    changes.insert(Op::Refresh, outcome.read);
    let result = if outcome.failures.is_empty() {
        OperationResult::Succeeded
    } else {
        OperationResult::Failed
    };
    display.emit(&EngineEvent::Summary {
        kind: OperationKind::Refresh,
        result,
        changes: changes.clone(),
        failed: outcome.failures.len(),
        skipped: 0,
        duration_ms: started.elapsed().as_millis() as u64,
        throttled: 0,
    });
    if outcome.drift.is_empty() {
        display.line(&format!(
            "refresh: {} resources read, no drift",
            outcome.read
        ));
    } else {
        display.line(&format!(
            "refresh: {} resources read, {} drifted:",
            outcome.read,
            outcome.drift.len()
        ));
        for d in &outcome.drift {
            match &d.kind {
                DriftKind::Deleted => display.line(&format!(
                    "  -  {} {}: deleted outside mkso (forgotten; `up` recreates it)",
                    escape_control(d.urn.type_token()),
                    escape_control(d.urn.name())
                )),
                DriftKind::Changed(keys) => display.line(&format!(
                    "  ~  {} {}: changed outside mkso: {} (`up` sets it back)",
                    escape_control(d.urn.type_token()),
                    escape_control(d.urn.name()),
                    escape_control(&keys.join(", "))
                )),
            }
        }
    }
    for f in &outcome.failures {
        display.line(&format!(
            "  failed: read {}: {}",
            escape_control(f.urn.name()),
            f.error
        ));
    }
    for h in failure_hints(OperationKind::Refresh, &outcome.failures) {
        display.line(&format!("  hint: {h}"));
    }
    session
        .finish(
            UpdateKind::Refresh,
            UpdateResult::from(result),
            changes,
            outcome.failures.len(),
            ctx.history_keep(),
        )
        .await?;
    display.finish();
    if !outcome.failures.is_empty() {
        return Ok(failures_exit_code(&outcome.failures));
    }
    if args.expect_no_changes && !outcome.drift.is_empty() {
        return Err(CommandError::new(
            EXIT_CHANGES,
            format!("stack {stack} has drifted, and --expect-no-changes was given"),
        ));
    }
    Ok(EXIT_OK)
}
