//! The command line every stack binary gets: a [`Runner`] around the program.
//!
//! ```no_run
//! fn program(stack: &mkso::Stack) -> Result<(), mkso::Error> { Ok(()) }
//! fn main() {
//!     mkso::Runner::new(program)
//!         .project_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/my_stack"))
//!         .main()
//! }
//! ```
//!
//! Exit codes: 0 success; 1 the operation failed (a step, a provider or the
//! state backend); 2 invalid input (usage, stack name, config, program errors
//! such as cycles or duplicate names); 3 `--expect-no-changes` found changes;
//! 4 the stack is locked; 5 confirmation needed or declined; 130 cancelled.
//! Errors and failed steps are mapped to them, and to hints, in one place
//! (`command_error.rs`): a failed step's [`FailureKind`](crate::engine::FailureKind)
//! is in `--json`'s `step_failed` event, and the display prints a hint per
//! kind under the failed steps where one helps (see [`failure_hint`]).

mod command_error;
mod config_cmd;
mod context;
mod destroy;
mod display;
mod graph;
mod history;
mod outputs;
mod preview;
mod refresh;
mod stack_cmd;
mod state_cmd;
mod timeline;
mod unlock;
mod up;
mod watch;

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use clap::{Parser, Subcommand};

pub use command_error::{
    CommandError, EXIT_CANCELLED, EXIT_CHANGES, EXIT_FAILED, EXIT_INVALID, EXIT_LOCKED,
    EXIT_NOT_CONFIRMED, EXIT_OK, EXIT_ROLLED_BACK, failure_exit_code, failure_hint, failure_hints,
    failures_exit_code, outcome_exit_code,
};
pub use context::{CliContext, GlobalArgs};

use crate::error::Error;
use crate::provider::Provider;
use crate::stack::Stack;

/// What a command returns.
pub type CmdResult = Result<i32, CommandError>;

#[derive(Parser, Debug)]
#[command(
    version,
    about = "Manage this stack program's infrastructure (mkso: make it so)",
    after_help = "Exit codes: 0 ok, 1 failed, 2 invalid input, 3 changes found with --expect-no-changes, 4 stack locked, 5 confirmation needed, 130 cancelled."
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what `up` would change, without changing anything.
    #[command(alias = "plan")]
    Preview(preview::Args),
    /// Create, update and delete resources to match the program.
    Up(up::Args),
    /// Delete every resource of the stack.
    Destroy(destroy::Args),
    /// Read every resource from its provider and record drift.
    Refresh(refresh::Args),
    /// Show the stack's outputs.
    Outputs(outputs::Args),
    /// Show the stack's past updates.
    History(history::Args),
    /// Read and edit the stack's configuration (`Mkso.<stack>.yaml`).
    Config(config_cmd::Args),
    /// List or remove stacks.
    Stack(stack_cmd::Args),
    /// Break a stale lock left by a process that is gone.
    Unlock(unlock::Args),
    /// Print the program's resource graph (Mermaid or Graphviz dot).
    Graph(graph::Args),
    /// Export or import the stack's state.
    State(state_cmd::Args),
    /// Keep the stack as declared: refresh, plan and apply every interval
    /// (drift undone, deleted resources recreated), retrying failures.
    Watch(watch::Args),
}

impl Command {
    /// Whether the command runs the program or reads a stack's state or
    /// config, so an unknown stack (no stack file, no state) is refused.
    /// `config set` (which creates the stack file, saying so), `stack init`,
    /// `state import`, `stack rm`, `unlock` and the listings are not.
    fn reads_a_stack(&self) -> bool {
        match self {
            Command::Preview(_)
            | Command::Up(_)
            | Command::Destroy(_)
            | Command::Refresh(_)
            | Command::Outputs(_)
            | Command::History(_)
            | Command::Graph(_)
            | Command::Watch(_) => true,
            Command::Config(a) => !matches!(a.command, config_cmd::Sub::Set { .. }),
            Command::State(a) => matches!(a.command, state_cmd::Sub::Export { .. }),
            Command::Stack(_) | Command::Unlock(_) => false,
        }
    }
}

type ProgramFn = dyn Fn(&Stack) -> Result<(), Error> + Send + Sync;
type ProviderFactory = dyn Fn(&Stack) -> Result<Arc<dyn Provider>, Error> + Send + Sync;

/// Runs a stack program's command line; see the module docs.
#[derive(Clone)]
pub struct Runner {
    pub(crate) program: Arc<ProgramFn>,
    pub(crate) default_dir: Option<PathBuf>,
    pub(crate) providers: Vec<(Option<String>, Arc<ProviderFactory>)>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("default_dir", &self.default_dir)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner for `program`.
    pub fn new(program: impl Fn(&Stack) -> Result<(), Error> + Send + Sync + 'static) -> Self {
        Runner {
            program: Arc::new(program),
            default_dir: None,
            providers: Vec::new(),
        }
    }

    /// The project directory used when neither `--project-dir` nor
    /// `MKSO_PROJECT_DIR` is given (typically the program's own folder, from
    /// `env!("CARGO_MANIFEST_DIR")`), so the binary works from any directory.
    #[must_use]
    pub fn project_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.default_dir = Some(dir.into());
        self
    }

    /// Adds a provider built from the stack (its config) before the program runs.
    #[must_use]
    pub fn provider(
        mut self,
        name: Option<&str>,
        factory: impl Fn(&Stack) -> Result<Arc<dyn Provider>, Error> + Send + Sync + 'static,
    ) -> Self {
        self.providers
            .push((name.map(String::from), Arc::new(factory)));
        self
    }

    /// Parses the process's arguments, runs the command and exits.
    pub fn main(self) -> ! {
        init_tracing();
        let code = self.run(std::env::args_os());
        std::process::exit(code)
    }

    /// Runs a command line; returns the exit code (errors are printed to stderr).
    pub fn run<I, T>(&self, args: I) -> i32
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let args: Vec<OsString> = args.into_iter().map(Into::into).collect();
        let argv: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let cli = match Cli::try_parse_from(args) {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                return if e.use_stderr() {
                    EXIT_INVALID
                } else {
                    EXIT_OK
                };
            }
        };
        let rt = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => {
                eprintln!("error: cannot start the async runtime: {e}");
                return EXIT_FAILED;
            }
        };
        let started = std::time::Instant::now();
        let mut backend = None;
        let result = rt.block_on(async {
            let ctx = CliContext::new(self.clone(), cli.global, argv)?;
            backend = Some(ctx.backend.clone());
            // A stack with no stack file and no state (a mistyped name) is
            // refused before anything else, naming the stacks that exist.
            if cli.command.reads_a_stack() {
                ctx.require_known_stack(&ctx.stack_name()?).await?;
            }
            match cli.command {
                Command::Preview(a) => preview::run(&ctx, a).await,
                Command::Up(a) => up::run(&ctx, a).await,
                Command::Destroy(a) => destroy::run(&ctx, a).await,
                Command::Refresh(a) => refresh::run(&ctx, a).await,
                Command::Outputs(a) => outputs::run(&ctx, a).await,
                Command::History(a) => history::run(&ctx, a).await,
                Command::Config(a) => config_cmd::run(&ctx, a).await,
                Command::Stack(a) => stack_cmd::run(&ctx, a).await,
                Command::Unlock(a) => unlock::run(&ctx, a).await,
                Command::Graph(a) => graph::run(&ctx, a).await,
                Command::State(a) => state_cmd::run(&ctx, a).await,
                Command::Watch(a) => watch::run(&ctx, a).await,
            }
        });
        rt.shutdown_timeout(std::time::Duration::from_secs(1));
        if let Ok(path) = std::env::var("MKSO_STATS_FILE") {
            write_stats(&path, started, backend.as_deref());
        }
        match result {
            Ok(code) => code,
            Err(e) => {
                if !e.message.is_empty() {
                    let message = crate::secrets::redact(&e.message);
                    let message = crate::names::escape_control_keep_lines(&message);
                    // Never a panic when standard error is gone (SIGHUP, a
                    // closed pipe): the exit code still tells.
                    use std::io::Write;
                    let _ = writeln!(std::io::stderr(), "error: {message}");
                }
                e.code
            }
        }
    }
}

/// Writes process statistics for benchmarks (`MKSO_STATS_FILE`): wall time,
/// peak resident memory, and bytes and requests sent to the state backend.
fn write_stats(
    path: &str,
    started: std::time::Instant,
    backend: Option<&dyn crate::state::Backend>,
) {
    let peak_kb = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .unwrap_or(0);
    let stats = serde_json::json!({
        "wall_seconds": started.elapsed().as_secs_f64(),
        "peak_rss_mb": peak_kb as f64 / 1024.0,
        "backend_bytes_written": backend.map(|b| b.bytes_written()).unwrap_or(0),
        "backend_requests": backend.map(|b| b.requests_sent()).unwrap_or(0),
    });
    if let Err(e) = std::fs::write(path, stats.to_string()) {
        eprintln!("warning: cannot write MKSO_STATS_FILE {path}: {e}");
    }
}

/// Logs to stderr, filtered by `MKSO_LOG` (or `RUST_LOG`); default: warnings.
/// Colours only when standard error is a terminal and `NO_COLOR` is not set
/// (<https://no-color.org>). The engine's step events are logged at `debug`
/// (the display already shows them): `MKSO_LOG=debug` adds them to the log.
pub fn init_tracing() {
    use std::io::IsTerminal;
    let filter = std::env::var("MKSO_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "warn".into());
    let ansi = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(|| crate::secrets::RedactingWriter(std::io::stderr()))
        .with_target(false)
        .with_ansi(ansi)
        .try_init();
}

/// Whether to write colour codes: on a terminal, unless `NO_COLOR` is set to
/// a non-empty value.
fn use_colour(terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::use_colour;
    use std::ffi::OsStr;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }
}
