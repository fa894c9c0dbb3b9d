//! `preview` (alias `plan`): what `up` would change.

use tokio_util::sync::CancellationToken;

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_CHANGES, EXIT_FAILED, EXIT_OK};
use crate::engine::{
    EngineEvent, EventSink, OperationKind, OperationResult, RenderOptions, SavedPlan, plan_update,
    render_plan,
};

/// Arguments of `preview`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Show property-level detail.
    #[arg(long)]
    pub diff: bool,
    /// Exit with code 3 when the program would change anything (the program
    /// against the recorded state; `refresh --expect-no-changes` checks the
    /// cloud for drift).
    #[arg(long)]
    pub expect_no_changes: bool,
    /// Also list unchanged resources.
    #[arg(long)]
    pub show_same: bool,
    /// Save the plan to FILE: `up --plan FILE` then runs exactly it, or
    /// refuses before any change if the state, program or config moved.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

/// Writes a saved plan next to where it goes, then moves it in place.
fn write_plan(file: &std::path::Path, saved: &SavedPlan) -> Result<(), CommandError> {
    let fail = |e: std::io::Error| {
        CommandError::new(
            EXIT_FAILED,
            format!("cannot write the plan to {}: {e}", file.display()),
        )
    };
    let dir = match file.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    let bytes = serde_json::to_vec_pretty(saved).map_err(|e| fail(e.into()))?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(file).map_err(|e| fail(e.error))?;
    Ok(())
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
    if let Some(file) = &args.out {
        let store = ctx.store(&stack);
        let config = ctx.project.stack_config(&stack)?;
        let saved = SavedPlan::new(
            &plan,
            &graph,
            &loaded.view,
            &ctx.project.file.name,
            config.digest(),
            &ctx.global.targets,
            &|v, all, keys| store.seal_props(v, all, keys),
        )?;
        write_plan(file, &saved)?;
        display.line(&format!(
            "plan saved to {f}: `up --plan {f}` applies exactly it",
            f = file.display()
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
