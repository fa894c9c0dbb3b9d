//! `history`: the stack's past updates.

use super::context::CliContext;
use super::{CmdResult, EXIT_OK};

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
        println!("stack {stack} has no history");
    }
    for e in entries.iter().rev() {
        let changes: Vec<String> = e.changes.iter().map(|(k, v)| format!("{v} {k}")).collect();
        println!(
            "{}  {:<8} {:<10} {} .. {}  {}{}",
            e.id,
            format!("{:?}", e.kind).to_lowercase(),
            format!("{:?}", e.result).to_lowercase(),
            e.started,
            e.ended,
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
