//! `stack ls|rm`.

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_INVALID, EXIT_OK};
use crate::state::StateError;

/// Arguments of `stack`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

/// `stack` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// List the stacks that have state in the backend.
    Ls,
    /// Remove a stack's state (its config file is kept).
    Rm {
        /// Remove it even if it still records resources (they are forgotten, not deleted).
        #[arg(long)]
        force: bool,
    },
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    match args.command {
        Sub::Ls => {
            let stacks = ctx.backend.list_stacks().await?;
            let mut rows = Vec::new();
            for s in &stacks {
                // Every project's stacks are listed, with their project.
                let store = ctx.store_any_project(s);
                let view = store.load().await.map(|l| l.view);
                let last = store.history().await.ok().and_then(|h| h.last().cloned());
                rows.push(serde_json::json!({
                    "stack": s.to_string(),
                    "project": view.as_ref().ok().and_then(|v| v.project.clone()),
                    "resources": view.as_ref().map(|v| v.len()).ok(),
                    "last_update": last.as_ref().map(|e| e.ended.clone()),
                    "last_result": last.as_ref().map(|e| format!("{:?}", e.result).to_lowercase()),
                }));
            }
            if ctx.global.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
            } else if rows.is_empty() {
                println!("no stacks in {}", ctx.backend.describe());
            } else {
                for r in rows {
                    println!(
                        "{:<32} {:<20} {:>6} resources  last update {} ({})",
                        r["stack"].as_str().unwrap_or_default(),
                        r["project"].as_str().unwrap_or("-"),
                        r["resources"]
                            .as_u64()
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "?".into()),
                        r["last_update"].as_str().unwrap_or("never"),
                        r["last_result"].as_str().unwrap_or("-"),
                    );
                }
            }
            Ok(EXIT_OK)
        }
        Sub::Rm { force } => {
            let stack = ctx.stack_name()?;
            let store = ctx.store(&stack);
            let _lock = store.lock("stack rm").await?;
            if !store.exists().await? {
                return Err(StateError::NoSuchStack {
                    stack,
                    backend: ctx.backend.describe(),
                }
                .into());
            }
            let view = store.load().await?.view;
            let orphans = ctx.backend.list_orphans(&stack).await?;
            if !orphans.is_empty() && !force {
                return Err(CommandError::new(
                    EXIT_INVALID,
                    format!(
                        "stack {stack} has {} orphan record(s) of an update whose lock was broken: resources it made may exist in the cloud. Run `up`, `refresh` or `destroy` first (they adopt the records), or pass --force to forget them",
                        orphans.len()
                    ),
                ));
            }
            if (!view.is_empty() || !view.pending.is_empty()) && !force {
                return Err(StateError::StackNotEmpty {
                    stack,
                    count: view.len() + view.pending.len(),
                }
                .into());
            }
            ctx.backend.remove_stack(&stack).await?;
            println!("removed the state of stack {stack} (config file kept)");
            Ok(EXIT_OK)
        }
    }
}
