//! `preview` (alias `plan`): what `up` would change.

use tokio_util::sync::CancellationToken;

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_CHANGES, EXIT_OK};
use crate::engine::{
    EngineEvent, EventSink, OperationKind, OperationResult, RenderOptions, plan_update, render_plan,
};

/// Arguments of `preview`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show property-level detail.
    #[arg(long)]
    pub diff: bool,
    /// Exit with code 3 when anything would change (drift checks in CI).
    #[arg(long)]
    pub expect_no_changes: bool,
    /// Also list unchanged resources.
    #[arg(long)]
    pub show_same: bool,
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let loaded = ctx.store(&stack).load().await?;
    let orphans = ctx.backend.list_orphans(&stack).await?.len();
    let graph = ctx.run_program(&stack)?;
    let display = ctx.display();
    let opts = ctx.engine_options(&display, CancellationToken::new());
    let started = std::time::Instant::now();
    let plan = plan_update(&graph, &loaded.view, &opts).await?;
    if orphans > 0 {
        display.line(&format!(
            "note: {orphans} orphan record(s) of an update whose lock was broken wait to be adopted; the next `up` resolves them through the providers first"
        ));
    }
    if display.is_json() {
        display.emit(&EngineEvent::PlanReady {
            stack: stack.to_string(),
            steps: plan.summaries(),
            changes: plan.changes(),
        });
        display.emit(&EngineEvent::Summary {
            kind: OperationKind::Preview,
            result: OperationResult::Succeeded,
            changes: plan.changes(),
            failed: 0,
            skipped: 0,
            duration_ms: started.elapsed().as_millis() as u64,
            throttled: 0,
        });
    } else {
        display.line(&render_plan(
            &plan,
            RenderOptions {
                diff: args.diff,
                show_same: args.show_same,
            },
        ));
    }
    display.finish();
    if args.expect_no_changes && plan.has_changes() {
        return Err(CommandError::new(
            EXIT_CHANGES,
            format!("stack {stack} has changes, and --expect-no-changes was given"),
        ));
    }
    Ok(EXIT_OK)
}
