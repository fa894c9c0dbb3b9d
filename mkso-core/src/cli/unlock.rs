//! `unlock`: break a stale lock.

use super::context::CliContext;
use super::{CmdResult, EXIT_OK};

/// Arguments of `unlock`.
#[derive(clap::Args, Debug)]
pub struct Args {}

pub(crate) async fn run(ctx: &CliContext, _args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let store = ctx.store(&stack);
    match store.lock_holder().await? {
        None => println!("stack {stack} is not locked"),
        Some(holder) => {
            store.break_lock()?;
            println!("broke the lock of stack {stack}, held by {holder}");
        }
    }
    Ok(EXIT_OK)
}
