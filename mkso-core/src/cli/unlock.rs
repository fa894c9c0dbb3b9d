//! `unlock`: break a stale lock — never a live holder's, unless forced.

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_LOCKED, EXIT_OK};
use crate::state::Liveness;

/// Arguments of `unlock`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Break the lock even when its holder may still be running. The holder
    /// stops at its next state write (its later records are kept aside and
    /// adopted by the next update), but cloud calls it has in flight finish.
    #[arg(long)]
    pub force: bool,
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let store = ctx.store_any_project(&stack);
    let Some((holder, record)) = store.lock_record().await? else {
        println!("stack {stack} is not locked");
        return Ok(EXIT_OK);
    };
    let liveness = holder.liveness();
    if !args.force {
        match liveness {
            Liveness::Dead => {}
            Liveness::Alive => {
                return Err(CommandError::new(
                    EXIT_LOCKED,
                    format!(
                        "refusing to unlock stack {stack}: its holder {holder} is still running. Wait for it to finish (or stop it with Ctrl-C / kill -TERM {pid}, which releases the lock); `unlock --force` breaks a live lock",
                        pid = holder.pid
                    ),
                ));
            }
            Liveness::Unknown => {
                return Err(CommandError::new(
                    EXIT_LOCKED,
                    format!(
                        "refusing to unlock stack {stack}: its holder {holder} runs on another machine (or its record is unreadable), so mkso cannot tell whether it is alive. If you are sure it is gone, run `unlock --force`"
                    ),
                ));
            }
        }
    }
    // Break only the lock that was judged: not one taken since.
    if !store.break_lock_if(&record).await? {
        let now = store.lock_holder().await?;
        return Err(CommandError::new(
            EXIT_LOCKED,
            format!(
                "the lock of stack {stack} changed hands while `unlock` looked at it (now: {}); nothing was broken. Run `unlock` again",
                now.map(|h| h.to_string())
                    .unwrap_or_else(|| "nobody".into())
            ),
        ));
    }
    match liveness {
        Liveness::Dead => {
            println!("broke the lock of stack {stack}, held by {holder} (that process is gone)")
        }
        _ => {
            eprintln!(
                "warning: broke the lock of stack {stack} although its holder {holder} may still be running; it stops at its next state write, and what it records after this is adopted by the next update"
            );
            println!("broke the lock of stack {stack}, held by {holder}");
        }
    }
    Ok(EXIT_OK)
}
