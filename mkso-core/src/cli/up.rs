//! `up`: create, update and delete resources to match the program.

use super::context::{CliContext, Locked, confirm};
use super::display::Display;
use super::{CmdResult, CommandError, EXIT_INVALID, failure_hints, outcome_exit_code};
use crate::engine::{
    EngineEvent, EventSink, OperationKind, Plan, PlanMoved, RenderOptions, SavedPlan,
    UpdateOutcome, plan_update, render_plan, render_value_whole,
};
use crate::state::{UpdateKind, UpdateResult};

/// Arguments of `up`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Do not ask for confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Show property-level detail in the preview.
    #[arg(long)]
    pub diff: bool,
    /// Apply a plan saved by `preview --out FILE`: exactly its steps, without
    /// asking again; refused before any change if the state, the program or
    /// its config moved since.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<std::path::PathBuf>,
    /// When a step fails for good, start nothing new and revert every
    /// change this update made (exit 6 once all are reverted). Also set by
    /// `rollback: on_failure` in Mkso.yaml.
    #[arg(long, overrides_with = "no_rollback")]
    pub rollback_on_failure: bool,
    /// Keep what a failed update did, even when Mkso.yaml says
    /// `rollback: on_failure`.
    #[arg(long, overrides_with = "rollback_on_failure")]
    pub no_rollback: bool,
}

/// Reads a saved plan file.
fn read_plan(file: &std::path::Path) -> Result<SavedPlan, CommandError> {
    let bytes = std::fs::read(file).map_err(|e| {
        CommandError::new(
            EXIT_INVALID,
            format!("cannot read the saved plan {}: {e}", file.display()),
        )
    })?;
    SavedPlan::parse(&bytes, &file.display().to_string()).map_err(moved)
}

fn moved(e: PlanMoved) -> CommandError {
    CommandError::new(EXIT_INVALID, e.to_string())
}

pub(crate) fn show_plan(display: &Display, plan: &Plan, diff: bool) {
    if display.is_json() {
        display.emit(&EngineEvent::PlanReady {
            stack: plan.stack.to_string(),
            steps: plan.summaries(),
            changes: plan.changes(),
        });
    } else {
        display.line(&render_plan(
            plan,
            RenderOptions {
                diff,
                show_same: false,
            },
        ));
    }
}

/// Reports the outcome (with a hint per kind of failure); returns the exit
/// code and the history result.
pub(crate) fn report(
    display: &Display,
    kind: OperationKind,
    outcome: &UpdateOutcome,
) -> (i32, UpdateResult) {
    display.emit(&EngineEvent::Summary {
        kind,
        result: outcome.result(),
        changes: outcome.changes.clone(),
        failed: outcome.failures.len(),
        skipped: outcome.skipped,
        duration_ms: outcome.duration.as_millis() as u64,
        throttled: outcome.throttled,
    });
    let counts: Vec<String> = outcome
        .changes
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    display.line(&format!(
        "\n{kind} {} in {:.2}s: {}{}{}{}",
        crate::state::UpdateResult::from(outcome.result()).label(),
        outcome.duration.as_secs_f64(),
        if counts.is_empty() && (!outcome.failures.is_empty() || outcome.skipped > 0) {
            "nothing changed".to_string()
        } else if counts.is_empty() {
            "nothing to do".to_string()
        } else {
            counts.join(", ")
        },
        if outcome.failures.is_empty() {
            String::new()
        } else {
            format!(", {} failed", outcome.failures.len())
        },
        if outcome.skipped == 0 {
            String::new()
        } else {
            format!(", {} not run", outcome.skipped)
        },
        if outcome.throttled == 0 {
            String::new()
        } else {
            format!(", throttled: {}", outcome.throttled)
        },
    ));
    for f in &outcome.failures {
        display.line(&format!(
            "  failed: {} {} ({}): {}",
            f.op,
            f.urn.name(),
            f.urn.type_token(),
            f.error
        ));
    }
    if let Some(rb) = &outcome.rollback {
        let done: Vec<String> = rb
            .reverted
            .iter()
            .map(|r| format!("{} {}", r.action.label(), r.urn.name()))
            .collect();
        display.line(&format!(
            "  rolled back: {} change(s) reverted{}",
            rb.reverted.len(),
            if done.is_empty() {
                String::new()
            } else {
                format!(" ({})", done.join(", "))
            }
        ));
        for f in &rb.failures {
            display.line(&format!(
                "  not reverted: {} ({}): {}",
                f.urn.name(),
                f.urn.type_token(),
                f.error
            ));
        }
        for u in &rb.unresolved {
            display.line(&format!(
                "  not reverted: {} (a call of unknown outcome, a half-done failed step, a rename, an import or `retain_on_delete`: the state records it as it is; the next `up` resolves what is pending)",
                u.name()
            ));
        }
        for u in &rb.not_run {
            display.line(&format!(
                "  not reverted: {} (a revert it waited for failed)",
                u.name()
            ));
        }
        if !rb.complete() {
            display.line(
                "  hint: the state records those resources as they are now; fix the cause and run `up` again",
            );
        }
    }
    for h in failure_hints(kind, &outcome.failures) {
        display.line(&format!("  hint: {h}"));
    }
    (outcome_exit_code(outcome), outcome.result().into())
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let saved = args.plan.as_deref().map(read_plan).transpose()?;
    if saved.is_some() && !ctx.global.targets.is_empty() {
        return Err(CommandError::new(
            EXIT_INVALID,
            "--target cannot be given with --plan: the saved plan applies the targets it was made with",
        ));
    }
    let display = ctx.display();
    let Locked {
        mut session,
        signals,
        mut opts,
    } = ctx.open_locked(&stack, "up", &display).await?;
    for n in &session.notes {
        display.line(&format!("note: {n}"));
    }
    let graph = ctx.run_program(&stack)?;
    signals.check(&display, "up")?;
    opts.rollback = !args.no_rollback
        && (args.rollback_on_failure
            || ctx.project.file.rollback == crate::config::RollbackSetting::OnFailure);
    if let Some(saved) = &saved {
        let config = ctx.project.stack_config(&stack)?;
        saved
            .check_inputs(&stack, session.view(), &graph, &config.digest())
            .map_err(moved)?;
        opts.targets.clone_from(&saved.targets);
    }
    session.resolve_pending(&graph.providers, &opts).await?;
    let plan = plan_update(&graph, session.view(), &opts).await?;
    if let Some(saved) = &saved {
        let store = ctx.store(&stack);
        saved
            .check_plan(&plan, &|v, all, keys| {
                store.open_props(v, all, keys, "the saved plan")
            })
            .map_err(moved)?;
    }
    show_plan(&display, &plan, args.diff);
    signals.check(&display, "up")?;
    // A saved plan was reviewed when it was made.
    if plan.has_changes() && saved.is_none() {
        display.finish();
        confirm(&format!("Update stack {stack}?"), args.yes, &stack)?;
    }
    display.set_total(
        plan.all_steps()
            .filter(|s| s.targeted && s.op().is_change())
            .count(),
    );
    session.set_run_by(ctx.run_by(&stack, &graph));
    let outcome = session.apply(&graph, &plan, &opts).await?;
    display.finish();
    let (code, result) = report(&display, OperationKind::Up, &outcome);
    // Writing the snapshot needs neither the program nor the plan: freed
    // first, they do not add to a large stack's peak memory.
    drop((plan, graph));
    let outputs = session.view().outputs.clone();
    let secret_outputs = session.view().secret_outputs.clone();
    session
        .finish(
            UpdateKind::Up,
            result,
            outcome.changes.clone(),
            outcome.failures.len(),
            ctx.history_keep(),
        )
        .await?;
    if !display.is_json() && !outputs.is_empty() {
        display.line("Outputs:");
        for (k, v) in &outputs {
            display.line(&format!(
                "  {k}: {}",
                render_value_whole(v, secret_outputs.contains(k))
            ));
        }
    }
    display.finish();
    Ok(code)
}
