//! `destroy`: delete every resource of the stack, dependents first.

use tokio_util::sync::CancellationToken;

use super::context::{CliContext, StopSignals, cancelled_before_steps, confirm};
use super::up::{report, show_plan};
use super::{CmdResult, EXIT_OK};
use crate::engine::{Session, plan_destroy};
use crate::state::UpdateKind;

/// Arguments of `destroy`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let display = ctx.display();
    let cancel = CancellationToken::new();
    // Before the lock is taken: a signal while it is taken or while the
    // program runs cancels too.
    let signals = StopSignals::install(cancel.clone());
    let opts = ctx.engine_options(&display, cancel);
    let mut session = Session::open(ctx.store(&stack), "destroy").await?;
    if let Some(lock) = session.lock() {
        signals.set_lock(lock);
    }
    if signals.cancelled() {
        return Ok(cancelled_before_steps(&display, "destroy"));
    }
    // The program runs for its providers (and their configuration).
    let graph = ctx.run_program(&stack)?;
    if signals.cancelled() {
        return Ok(cancelled_before_steps(&display, "destroy"));
    }
    session.resolve_pending(&graph.providers, &opts).await?;
    let plan = plan_destroy(session.view(), &opts)?;
    show_plan(&display, &plan, false);
    if signals.cancelled() {
        return Ok(cancelled_before_steps(&display, "destroy"));
    }
    if plan.has_changes() {
        display.finish();
        confirm(
            &format!("Delete every resource of stack {stack}?"),
            args.yes,
            &stack,
        )?;
    }
    display.set_total(plan.deletes.len());
    let outcome = session.apply(&graph, &plan, &opts).await?;
    display.finish();
    let (code, result) = report(&display, "destroy", &outcome);
    session
        .finish(
            UpdateKind::Destroy,
            result,
            outcome.changes.clone(),
            outcome.failures.len(),
            ctx.history_keep(),
        )
        .await?;
    display.finish();
    Ok(if code == EXIT_OK { EXIT_OK } else { code })
}
