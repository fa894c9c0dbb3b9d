//! `destroy`: delete every resource of the stack, dependents first.

use super::CmdResult;
use super::context::{CliContext, Locked, confirm};
use super::up::{report, show_plan};
use crate::engine::{OperationKind, plan_destroy};
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
    // The program runs for its providers (and their configuration); what it
    // declares is not needed to delete what is recorded, so it is dropped
    // before the state is loaded (a large stack is never in memory twice).
    let mut graph = ctx.run_program(&stack)?;
    let run_by = ctx.run_by(&stack, &graph);
    graph.resources = Vec::new();
    graph.exports = Vec::new();
    let Locked {
        mut session,
        signals,
        opts,
    } = ctx.open_locked(&stack, "destroy", &display).await?;
    signals.check(&display, "destroy")?;
    session.resolve_pending(&graph.providers, &opts).await?;
    let plan = plan_destroy(session.view(), &opts)?;
    show_plan(&display, &plan, false);
    signals.check(&display, "destroy")?;
    if plan.has_changes() {
        display.finish();
        confirm(
            &format!("Delete every resource of stack {stack}?"),
            args.yes,
            &stack,
        )?;
    }
    display.set_total(plan.deletes.len());
    session.set_run_by(run_by);
    let outcome = session.apply(&graph, &plan, &opts).await?;
    display.finish();
    let (code, result) = report(&display, OperationKind::Destroy, &outcome);
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
    Ok(code)
}
