//! `stack ls|init|rm`.

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_FAILED, EXIT_INVALID, EXIT_OK};
use crate::names::StackName;
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
    /// List the stacks: those with state in the backend (any project) and
    /// this project's stack files that have no state yet.
    Ls,
    /// Start a new stack: write an empty stack file `Mkso.<stack>.yaml` in
    /// the project directory (then `config set` its keys). A stack with
    /// neither a stack file nor state is refused by the other commands (a
    /// mistyped name).
    Init,
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
            // One listing of stack files and backend stacks.
            let mut stacks = Vec::new();
            let mut rows = Vec::new();
            for (name, found) in ctx.known_stacks().await? {
                if found == "stack file" {
                    // This project's stack without state yet (after `stack
                    // init` or `config set`): no resources, never updated.
                    rows.push(serde_json::json!({
                        "stack": name,
                        "project": ctx.project.file.name,
                        "resources": 0,
                        "last_update": null,
                        "last_result": null,
                    }));
                } else if let Ok(s) = StackName::new(&name) {
                    stacks.push(s);
                }
            }
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
            rows.sort_by(|a, b| a["stack"].as_str().cmp(&b["stack"].as_str()));
            if ctx.global.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&rows).unwrap_or_default()
                );
            } else if rows.is_empty() {
                println!(
                    "no stacks in {} and no stack files in {}",
                    ctx.backend.describe(),
                    ctx.project.dir.display()
                );
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
        Sub::Init => {
            let stack = ctx.stack_name()?;
            let file = ctx.project.stack_file(&stack);
            if ctx.has_stack_file(&stack) || file.exists() {
                return Err(CommandError::new(
                    EXIT_INVALID,
                    format!(
                        "stack {stack} already has its stack file {}: nothing to do",
                        file.display()
                    ),
                ));
            }
            // An empty file for a stack with resources would let the
            // program plan to delete them: its file is to be restored.
            if let Some(what) = ctx.recorded(&stack).await?
                && !what.is_empty()
            {
                return Err(CommandError::new(
                    EXIT_INVALID,
                    format!(
                        "stack {stack} has {what} but no stack file {}: an empty one would let the program plan to delete them. Restore the file (e.g. from version control), or run from the project directory that holds it (or pass --project-dir DIR)",
                        file.display()
                    ),
                ));
            }
            let text = format!(
                "# The config of stack {stack} (project {}).\n# Set keys with `config set --stack {stack} <namespace:key> <value>` (`--secret` for secrets).\n",
                ctx.project.file.name
            );
            let written = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&file)
                .and_then(|mut f| {
                    use std::io::Write;
                    f.write_all(text.as_bytes())?;
                    f.sync_all()
                });
            if let Err(e) = written {
                return Err(CommandError::new(
                    if e.kind() == std::io::ErrorKind::AlreadyExists {
                        EXIT_INVALID
                    } else {
                        EXIT_FAILED
                    },
                    format!("cannot create the stack file {}: {e}", file.display()),
                ));
            }
            println!(
                "created stack {stack}: {} (set its config with `config set --stack {stack} <namespace:key> <value>`)",
                file.display()
            );
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
