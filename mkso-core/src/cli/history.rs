//! `history`: the stack's past updates.

use super::context::CliContext;
use super::{CmdResult, EXIT_OK};
use crate::names::escape_control;

/// Arguments of `history`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub(crate) async fn run(ctx: &CliContext, _args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let entries = ctx.store(&stack).history().await?;
    if ctx.global.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&entries).unwrap_or_default()
        );
        return Ok(EXIT_OK);
    }
    if entries.is_empty() {
        if ctx.history_keep() == 0 {
            println!("stack {stack} has no history (Mkso.yaml sets `history: {{keep: 0}}`)");
        } else {
            println!("stack {stack} has no history");
        }
    }
    for e in entries.iter().rev() {
        let changes: Vec<String> = e
            .changes
            .iter()
            .map(|(k, v)| format!("{v} {}", escape_control(k)))
            .collect();
        println!(
            "{}  {:<8} {:<10} {} .. {}  {}{}",
            escape_control(&e.id),
            format!("{:?}", e.kind).to_lowercase(),
            format!("{:?}", e.result).to_lowercase(),
            escape_control(&e.started),
            escape_control(&e.ended),
            changes.join(", "),
            if e.failed > 0 {
                format!(", {} failed", e.failed)
            } else {
                String::new()
            }
        );
    }
    Ok(EXIT_OK)
}
