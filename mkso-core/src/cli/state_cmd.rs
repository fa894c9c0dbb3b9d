//! `state export|import`.

use std::path::PathBuf;

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_FAILED, EXIT_INVALID, EXIT_OK};
use crate::engine::Session;
use crate::state::{Snapshot, StateView, UpdateKind, UpdateResult};

/// Arguments of `state`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

/// `state` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Print the state as JSON (to stdout, or to --file); secret values stay
    /// encrypted.
    Export {
        /// Write to this file.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Replace the state with an exported one.
    Import {
        /// The exported state.
        #[arg(long)]
        file: PathBuf,
    },
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    match args.command {
        Sub::Export { file } => {
            let store = ctx.store(&stack);
            let view = store.load().await?.view;
            let mut snap = view.to_snapshot(view.serial);
            store.seal_snapshot(&mut snap)?;
            let text = serde_json::to_string_pretty(&snap).unwrap_or_default();
            match file {
                Some(f) => std::fs::write(&f, text + "\n").map_err(|e| {
                    CommandError::new(EXIT_FAILED, format!("cannot write {}: {e}", f.display()))
                })?,
                None => println!("{text}"),
            }
            Ok(EXIT_OK)
        }
        Sub::Import { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                CommandError::new(EXIT_INVALID, format!("cannot read {}: {e}", file.display()))
            })?;
            let mut snap: Snapshot = serde_json::from_str(&text).map_err(|e| {
                CommandError::new(
                    EXIT_INVALID,
                    format!("{} is not an exported mkso state: {e}", file.display()),
                )
            })?;
            snap.resolve_refs();
            ctx.store(&stack).open_snapshot(&mut snap)?;
            if snap.stack != stack {
                return Err(CommandError::new(
                    EXIT_INVALID,
                    format!(
                        "{} holds the state of stack {}, not {stack}",
                        file.display(),
                        snap.stack
                    ),
                ));
            }
            let session = Session::open(ctx.store(&stack), "state import").await?;
            let serial = session.view().serial;
            let mut view = StateView::from_snapshot(snap);
            view.serial = serial;
            let session = session.replace_view(view);
            let n = session.view().len();
            session
                .finish(
                    UpdateKind::Import,
                    UpdateResult::Succeeded,
                    Default::default(),
                    0,
                    ctx.history_keep(),
                )
                .await?;
            println!("imported the state of stack {stack} ({n} resources)");
            Ok(EXIT_OK)
        }
    }
}
