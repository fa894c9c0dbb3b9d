//! `history`: the stack's past updates; `history show N`: one of them, who
//! ran it and the timeline of its steps (`--html FILE`: a Gantt chart).

use super::context::CliContext;
use super::timeline::{render_html, render_table};
use super::{CmdResult, CommandError, EXIT_FAILED, EXIT_INVALID, EXIT_OK};
use crate::names::escape_control;
use crate::state::HistoryEntry;

/// Arguments of `history`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// One update instead of the list.
    #[command(subcommand)]
    pub command: Option<HistoryCommand>,
}

/// `history` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum HistoryCommand {
    /// One update: who ran it (user, host, command line, mkso version,
    /// digests of program and config) and each step's op, start, end,
    /// attempts and result, with the critical path. `--json` for machines.
    Show {
        /// The update: its id as `history` lists it (`00000012` or `12`).
        id: String,
        /// Also write a self-contained HTML page with a Gantt chart of the
        /// steps to FILE.
        #[arg(long, value_name = "FILE")]
        html: Option<std::path::PathBuf>,
    },
}

/// Writes to standard output; a closed pipe (`| head`) ends quietly.
fn out(text: &str) {
    use std::io::Write;
    let mut o = std::io::stdout().lock();
    let _ = o.write_all(text.as_bytes()).and_then(|()| o.flush());
}

fn find<'a>(entries: &'a [HistoryEntry], id: &str) -> Option<&'a HistoryEntry> {
    // A serial, leading zeros allowed ("007"), or an entry id.
    let n: Option<u64> = id.parse().ok();
    entries
        .iter()
        .find(|e| e.id == id || n.is_some_and(|n| e.serial == n))
}

fn show(
    ctx: &CliContext,
    entries: &[HistoryEntry],
    id: &str,
    html: Option<&std::path::Path>,
) -> CmdResult {
    let Some(e) = find(entries, id) else {
        let known: Vec<&str> = entries
            .iter()
            .rev()
            .take(5)
            .map(|e| e.id.as_str())
            .collect();
        return Err(CommandError::new(
            EXIT_INVALID,
            format!(
                "no update `{}` in the history{}: run `history` to list them",
                escape_control(id),
                if known.is_empty() {
                    String::new()
                } else {
                    format!(" (latest: {})", known.join(", "))
                }
            ),
        ));
    };
    if let Some(file) = html {
        std::fs::write(file, render_html(e)).map_err(|err| {
            CommandError::new(
                EXIT_FAILED,
                format!("cannot write {}: {err}", file.display()),
            )
        })?;
    }
    if ctx.global.json {
        // The entry, with the critical path the table marks.
        let mut v = serde_json::to_value(e).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            let path: Vec<&crate::names::Urn> = crate::engine::critical_path(&e.steps)
                .into_iter()
                .map(|i| &e.steps[i].urn)
                .collect();
            o.insert("critical_path".into(), serde_json::json!(path));
        }
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&v).unwrap_or_default()
        ));
    } else {
        out(&render_table(e));
        if let Some(file) = html {
            out(&format!("timeline written to {}\n", file.display()));
        }
    }
    Ok(EXIT_OK)
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let entries = ctx.store(&stack).history().await?;
    if let Some(HistoryCommand::Show { id, html }) = &args.command {
        return show(ctx, &entries, id, html.as_deref());
    }
    if ctx.global.json {
        out(&format!(
            "{}\n",
            serde_json::to_string_pretty(&entries).unwrap_or_default()
        ));
        return Ok(EXIT_OK);
    }
    if entries.is_empty() {
        if ctx.history_keep() == 0 {
            out(&format!(
                "stack {stack} has no history (Mkso.yaml sets `history: {{keep: 0}}`)\n"
            ));
        } else {
            out(&format!("stack {stack} has no history\n"));
        }
    }
    for e in entries.iter().rev() {
        let changes: Vec<String> = e
            .changes
            .iter()
            .map(|(k, v)| format!("{v} {}", escape_control(k)))
            .collect();
        out(&format!(
            "{}  {:<8} {:<11} {} .. {}  {}{}\n",
            escape_control(&e.id),
            format!("{:?}", e.kind).to_lowercase(),
            e.result.label(),
            escape_control(&e.started),
            escape_control(&e.ended),
            changes.join(", "),
            if e.failed > 0 {
                format!(", {} failed", e.failed)
            } else {
                String::new()
            }
        ));
    }
    Ok(EXIT_OK)
}
