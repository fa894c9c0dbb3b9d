//! What every command needs: the project, the stack, the backend, the program.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::display::Display;
use super::{CommandError, EXIT_INVALID, Runner};
use crate::config::{PROJECT_FILE, Project, StackFile};
use crate::engine::{EngineOptions, EventSink, FanOut, TracingSink};
use crate::names::{STACK_NAME_FORM, StackName};
use crate::reference::BackendReferences;
use crate::secrets::Secrets;
use crate::stack::{ProgramGraph, Stack};
use crate::state::{Backend, LockGuard, RunBy, Sealer, StateStore, backend_for_url};

/// Flags every command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The stack, e.g. `aws.network.QA` (or set MKSO_STACK).
    #[arg(long, global = true, env = "MKSO_STACK")]
    pub stack: Option<String>,
    /// Print newline-delimited JSON events / JSON documents on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// A hard cap on steps in flight at once (default 0: unbounded; each
    /// provider's concurrency adapts to its throttling answers anyway).
    #[arg(long, global = true, default_value_t = 0)]
    pub parallel: usize,
    /// Only operate on this resource (URN or name) and what it depends on; repeatable.
    #[arg(long = "target", global = true, value_name = "URN")]
    pub targets: Vec<String>,
    /// The directory holding Mkso.yaml and the stack files (or set MKSO_PROJECT_DIR).
    #[arg(long, global = true, env = "MKSO_PROJECT_DIR", value_name = "DIR")]
    pub project_dir: Option<PathBuf>,
}

/// The resolved context of a command.
pub struct CliContext {
    /// The runner (program and providers).
    pub runner: Runner,
    /// The command line (recorded in history entries).
    pub argv: Vec<String>,
    /// Global flags.
    pub global: GlobalArgs,
    /// The project.
    pub project: Project,
    /// The state backend.
    pub backend: Arc<dyn Backend>,
    /// Its URL (stack references read from it).
    pub backend_url: String,
}

impl CliContext {
    pub(crate) fn new(
        runner: Runner,
        global: GlobalArgs,
        argv: Vec<String>,
    ) -> Result<CliContext, CommandError> {
        let dir = match &global.project_dir {
            Some(d) => d.clone(),
            None => {
                let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
                match &runner.default_dir {
                    Some(d) if d.join(PROJECT_FILE).exists() => d.clone(),
                    _ => cwd,
                }
            }
        };
        let project = Project::load(&dir)?;
        let url = std::env::var("MKSO_BACKEND_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .or_else(|| project.file.backend.as_ref().map(|b| b.url.clone()))
            .unwrap_or_else(|| "file://.mkso".into());
        let backend = backend_for_url(&url, &project.dir)?;
        Ok(CliContext {
            runner,
            global,
            project,
            backend,
            backend_url: url,
            argv,
        })
    }

    /// The selected stack, validated.
    pub fn stack_name(&self) -> Result<StackName, CommandError> {
        let Some(s) = &self.global.stack else {
            return Err(CommandError::new(
                EXIT_INVALID,
                format!(
                    "no stack selected: pass --stack NAME or set MKSO_STACK; expected {STACK_NAME_FORM}"
                ),
            ));
        };
        StackName::new(s).map_err(|e| CommandError::new(EXIT_INVALID, e.to_string()))
    }

    /// The state of a stack of this project (a stack recorded by another
    /// project is refused on load); its secrets are sealed with the
    /// passphrase and the stack file's salt.
    pub fn store(&self, stack: &StackName) -> StateStore {
        self.store_any_project(stack)
            .with_project(self.project.file.name.clone())
    }

    /// The state of a stack, whichever project recorded it (for listings).
    pub fn store_any_project(&self, stack: &StackName) -> StateStore {
        let salt = StackFile::load(&self.project.stack_file(stack))
            .ok()
            .and_then(|f| f.salt());
        StateStore::new(self.backend.clone(), stack.clone())
            .with_sealer(Sealer::new(Secrets::process(), salt))
    }

    /// Runs the program for a stack and returns what it declared.
    ///
    /// Refused (exit 2) before the program runs, when the stack file is
    /// missing: a stack with no state either (an unknown stack, most likely
    /// a mistyped name: see [`CliContext::require_known_stack`]), or a stack
    /// with recorded resources (its config would read as empty, and the plan
    /// could delete them). Refused after it ran: a config namespace (in the
    /// stack file or an `MKSO_CONFIG__` variable) that neither the program
    /// nor its providers read or declared.
    pub fn run_program(&self, stack: &StackName) -> Result<ProgramGraph, CommandError> {
        let file = self.project.stack_file(stack);
        if !self.has_stack_file(stack) {
            let what = block_on(self.recorded(stack))?;
            self.refuse_missing_stack_file(stack, &file, what)?;
        }
        let config = self.project.stack_config(stack)?;
        let s = Stack::new(stack.clone(), self.project.file.name.clone(), config);
        s.set_reference_source(Arc::new(BackendReferences::new(
            self.backend_url.clone(),
            self.project.dir.clone(),
        )));
        for (name, f) in &self.runner.providers {
            let p = f(&s)?;
            s.add_provider(name.as_deref(), p);
        }
        (self.runner.program)(&s)?;
        s.config_values().check_namespaces()?;
        Ok(s.take_graph())
    }

    /// What the backend records for a stack: `None` when it has no state
    /// (no snapshot, no journal, no orphan records); else a description of
    /// its resources (empty when it records none). Reads the state without
    /// taking the lock.
    pub(crate) async fn recorded(&self, stack: &StackName) -> Result<Option<String>, CommandError> {
        let store = self.store(stack);
        if !store.exists().await? {
            let orphans = self.backend.list_orphans(stack).await?;
            return Ok((!orphans.is_empty()).then(|| {
                format!(
                    "{} orphan record(s) of an update whose lock was broken",
                    orphans.len()
                )
            }));
        }
        Ok(Some(match store.load().await {
            Ok(l) => {
                let n = l.view.live.len() + l.view.pending_deletes.len();
                let p = l.view.pending.len();
                match (n, p) {
                    (0, 0) => String::new(),
                    (n, 0) => format!("{n} recorded resources"),
                    (n, p) => format!("{n} recorded resources and {p} operations in flight"),
                }
            }
            Err(e) => format!("recorded state (that cannot be read: {e})"),
        }))
    }

    /// Refuses (exit 2) a stack that has neither a stack file nor state in
    /// the backend (most likely a mistyped name), listing the stacks that
    /// exist and saying how to start a new one (`stack init`). Commands that
    /// run the program or read a stack (`up`, `preview`, `refresh`,
    /// `destroy`, `graph`, `outputs`, `history`, `config get`) call it before
    /// anything else.
    pub async fn require_known_stack(&self, stack: &StackName) -> Result<(), CommandError> {
        let file = self.project.stack_file(stack);
        if self.has_stack_file(stack) {
            return Ok(());
        }
        let what = self.recorded(stack).await?;
        if what.is_none() {
            return Err(self.unknown_stack(stack, &file).await);
        }
        Ok(())
    }

    /// Whether the stack's own file exists, by its exact name: on a
    /// case-insensitive file system `Mkso.aws.network.Qa.yaml` would open
    /// `Mkso.aws.network.QA.yaml`, and a mistyped stack would run with
    /// another stack's config.
    pub fn has_stack_file(&self, stack: &StackName) -> bool {
        self.project.stack_file(stack).exists()
            && stack_files(&self.project.dir)
                .iter()
                .any(|f| f == stack.as_str())
    }

    /// The stacks that exist: stack files `Mkso.<stack>.yaml` in the project
    /// directory, and stacks with state in the backend; each with where it
    /// was found (`stack file`, `state`).
    pub async fn known_stacks(&self) -> Result<Vec<(String, &'static str)>, CommandError> {
        let mut stacks: std::collections::BTreeMap<String, (bool, bool)> = Default::default();
        for f in stack_files(&self.project.dir) {
            stacks.entry(f).or_default().0 = true;
        }
        for s in self.backend.list_stacks().await? {
            stacks.entry(s.to_string()).or_default().1 = true;
        }
        Ok(stacks
            .into_iter()
            .map(|(name, found)| {
                let found = match found {
                    (true, true) => "stack file, state",
                    (true, false) => "stack file",
                    _ => "state",
                };
                (name, found)
            })
            .collect())
    }

    /// The error for a stack with no stack file and no state.
    async fn unknown_stack(&self, stack: &StackName, file: &std::path::Path) -> CommandError {
        let mut msg = format!(
            "stack {stack} does not exist: it has no stack file ({}) and no state in {}",
            file.display(),
            self.backend.describe()
        );
        match self.known_stacks().await {
            Ok(known) if known.is_empty() => {
                msg.push_str("\nno stack exists yet (no stack files, no state)");
            }
            Ok(known) => {
                let lower = stack.as_str().to_lowercase();
                let close: Vec<&str> = known
                    .iter()
                    .map(|(n, _)| n.as_str())
                    .filter(|n| n.to_lowercase() == lower || edit_distance(n, stack.as_str()) <= 2)
                    .collect();
                if !close.is_empty() {
                    msg.push_str(&format!("\ndid you mean {}?", close.join(" or ")));
                }
                msg.push_str("\nstacks that exist:");
                const SHOWN: usize = 30;
                let width = known.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
                for (name, found) in known.iter().take(SHOWN) {
                    msg.push_str(&format!("\n  {name:<width$}  ({found})"));
                }
                if known.len() > SHOWN {
                    msg.push_str(&format!(
                        "\n  ... and {} more (`stack ls` lists those with state)",
                        known.len() - SHOWN
                    ));
                }
            }
            Err(e) => msg.push_str(&format!("\n(cannot list the stacks: {})", e.message)),
        }
        msg.push_str(&format!(
            "\nto start a new stack {stack}, run `stack init --stack {stack}` (it writes an empty {}), or set its first key with `config set --stack {stack} <namespace:key> <value>`",
            file.file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default()
        ));
        CommandError::new(EXIT_INVALID, msg)
    }

    /// An error when `file` (absent) is the stack file of a stack that has
    /// no state (`what` is `None`: an unknown stack) or recorded resources
    /// (`what` not empty; see [`CliContext::recorded`]).
    fn refuse_missing_stack_file(
        &self,
        stack: &StackName,
        file: &std::path::Path,
        what: Option<String>,
    ) -> Result<(), CommandError> {
        match what {
            None => Err(block_on(self.unknown_stack(stack, file))),
            Some(what) if what.is_empty() => Ok(()),
            Some(what) => Err(crate::config::ConfigError::MissingStackFile {
                file: file.to_path_buf(),
                stack: stack.to_string(),
                what,
            }
            .into()),
        }
    }

    /// A display for events of this command.
    pub fn display(&self) -> Arc<Display> {
        Arc::new(Display::new(self.global.json))
    }

    /// Engine options with events going to `display` and to tracing.
    pub fn engine_options(
        &self,
        display: &Arc<Display>,
        cancel: CancellationToken,
    ) -> EngineOptions {
        let events: Arc<dyn EventSink> =
            Arc::new(FanOut(vec![display.clone(), Arc::new(TracingSink)]));
        EngineOptions {
            parallel: self.global.parallel,
            events,
            cancel,
            targets: self.global.targets.clone(),
            ..EngineOptions::default()
        }
    }

    /// Who runs an update of `stack` with `graph` (for its history entry).
    pub(crate) fn run_by(&self, stack: &StackName, graph: &ProgramGraph) -> RunBy {
        RunBy {
            program_digest: Some(crate::engine::program_digest(graph)),
            config_digest: self.project.stack_config(stack).ok().map(|c| c.digest()),
            ..RunBy::current(self.argv.clone())
        }
    }

    /// How many updates to keep in history.
    pub fn history_keep(&self) -> usize {
        self.project.file.history.keep
    }
}

/// The stacks with a stack file `Mkso.<stack>.yaml` in `dir` (names that
/// are not valid stack names are left out).
fn stack_files(dir: &std::path::Path) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<String> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let stack = name.strip_prefix("Mkso.")?.strip_suffix(".yaml")?;
            StackName::new(stack).ok().map(|s| s.to_string())
        })
        .collect();
    out.sort();
    out
}

/// The Levenshtein distance of two names (for "did you mean").
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Runs a future to completion from synchronous code inside or outside a
/// runtime.
fn block_on<F>(f: F) -> F::Output
where
    F: std::future::Future + Send,
    F::Output: Send,
{
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| h.block_on(f))
        }
        _ => std::thread::scope(|s| {
            s.spawn(|| {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime starts")
                    .block_on(f)
            })
            .join()
            .expect("the state check does not panic")
        }),
    }
}

/// Asks for confirmation: `--yes` skips it; without a terminal it is refused.
pub(crate) fn confirm(question: &str, yes: bool, stack: &StackName) -> Result<(), CommandError> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        return Err(CommandError::new(
            super::EXIT_NOT_CONFIRMED,
            format!(
                "refusing to change stack {stack} without confirmation: standard input is not a terminal; pass --yes"
            ),
        ));
    }
    eprint!("{question} [y/N] ");
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
    if matches!(line.trim(), "y" | "Y" | "yes" | "Yes") {
        Ok(())
    } else {
        Err(CommandError::new(
            super::EXIT_NOT_CONFIRMED,
            "not confirmed: nothing was changed",
        ))
    }
}

/// The signals that ask the process to stop, registered: SIGINT (Ctrl-C),
/// SIGTERM (what CI runners and container stops send), SIGHUP (the terminal
/// closed) and SIGQUIT. Once registered, a signal is kept until it is
/// waited for, so one that arrives before the handler task first runs does
/// not kill the process.
struct SignalStreams {
    #[cfg(unix)]
    streams: Vec<(tokio::signal::unix::Signal, &'static str)>,
    #[cfg(windows)]
    ctrl_c: tokio::signal::windows::CtrlC,
}

impl SignalStreams {
    /// Registers the signals (in a runtime context); `None` when none can be
    /// watched.
    #[cfg(unix)]
    fn register() -> Option<SignalStreams> {
        use tokio::signal::unix::{SignalKind, signal};
        let streams: Vec<_> = [
            (SignalKind::interrupt(), "SIGINT"),
            (SignalKind::terminate(), "SIGTERM"),
            (SignalKind::hangup(), "SIGHUP"),
            (SignalKind::quit(), "SIGQUIT"),
        ]
        .into_iter()
        .filter_map(|(k, name)| signal(k).ok().map(|s| (s, name)))
        .collect();
        (!streams.is_empty()).then_some(SignalStreams { streams })
    }

    #[cfg(windows)]
    fn register() -> Option<SignalStreams> {
        let ctrl_c = tokio::signal::windows::ctrl_c().ok()?;
        Some(SignalStreams { ctrl_c })
    }

    #[cfg(not(any(unix, windows)))]
    fn register() -> Option<SignalStreams> {
        None
    }

    /// Waits for the next stop signal; returns its name (`None`: no more).
    #[cfg(unix)]
    async fn next(&mut self) -> Option<&'static str> {
        let waits = self.streams.iter_mut().map(|(s, name)| {
            let name = *name;
            Box::pin(async move { s.recv().await.map(|_| name) })
        });
        futures::future::select_all(waits).await.0
    }

    #[cfg(windows)]
    async fn next(&mut self) -> Option<&'static str> {
        self.ctrl_c.recv().await.map(|_| "Ctrl-C")
    }

    #[cfg(not(any(unix, windows)))]
    async fn next(&mut self) -> Option<&'static str> {
        None
    }
}

/// A message on standard error that never panics (the terminal may be gone
/// after SIGHUP, or standard error closed).
fn tell(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "{message}");
}

/// Where the stop-signal handler finds the lock releaser, once the session
/// holds the lock.
type ReleaseSlot = Arc<std::sync::Mutex<Option<Box<dyn Fn() + Send + Sync>>>>;

/// Handles Ctrl-C, SIGTERM, SIGHUP and SIGQUIT alike, from before the stack
/// is locked to the end of the command: the first cancels (nothing new
/// starts, in-flight steps end, state is saved, the lock is released; exit
/// code 130); a second one releases the lock (once [`StopSignals::set_lock`]
/// handed it over) and exits at once (the journal already holds every
/// finished step).
pub(crate) struct StopSignals {
    cancel: CancellationToken,
    release: ReleaseSlot,
}

impl StopSignals {
    /// Registers the signals now (in the runtime: call it from the command's
    /// async function) and handles them in a task; `cancel` is cancelled by
    /// the first one.
    pub(crate) fn install(cancel: CancellationToken) -> StopSignals {
        let release: ReleaseSlot = Arc::default();
        if let Some(mut streams) = SignalStreams::register() {
            let (cancel, release) = (cancel.clone(), release.clone());
            tokio::spawn(async move {
                let Some(sig) = streams.next().await else {
                    return;
                };
                // Cancel first: writing the message may fail (and must not
                // keep the update from being cancelled).
                cancel.cancel();
                tell(&format!(
                    "\n{sig} received. Cancelling: no new steps start; waiting for the steps in flight. Press Ctrl-C again to stop at once."
                ));
                if streams.next().await.is_none() {
                    return;
                }
                if let Some(r) = release.lock().unwrap_or_else(|e| e.into_inner()).as_ref() {
                    r();
                }
                tell(
                    "\nStopping at once. The journal holds every finished step; the next run resolves the rest.",
                );
                std::process::exit(super::EXIT_CANCELLED);
            });
        }
        StopSignals { cancel, release }
    }

    /// Hands over the stack's lock: a second signal releases it before the
    /// process exits.
    pub(crate) fn set_lock(&self, lock: &LockGuard) {
        *self.release.lock().unwrap_or_else(|e| e.into_inner()) = Some(Box::new(lock.releaser()));
    }

    /// Whether a stop signal cancelled the command.
    pub(crate) fn cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Resolves when a stop signal comes.
    pub(crate) async fn stopped(&self) {
        self.cancel.cancelled().await
    }

    /// Ends `command` with exit code 130 when a stop signal came before any
    /// step ran (the caller's session is then dropped, which releases the
    /// lock): nothing was changed, and it says so.
    pub(crate) fn check(&self, display: &Display, command: &str) -> Result<(), CommandError> {
        if !self.cancelled() {
            return Ok(());
        }
        display.finish();
        display.line(&format!(
            "{command} cancelled before any step ran: nothing was changed"
        ));
        Err(CommandError::new(super::EXIT_CANCELLED, ""))
    }
}

/// A command's locked session, with its stop signals and engine options.
pub(crate) struct Locked {
    pub(crate) session: crate::engine::Session,
    pub(crate) signals: StopSignals,
    pub(crate) opts: EngineOptions,
}

impl CliContext {
    /// Installs the stop signals (before the lock is taken, so a signal
    /// while it is taken or while the program runs cancels too), opens the
    /// locked session of `command`, and hands the lock to the signals.
    pub(crate) async fn open_locked(
        &self,
        stack: &StackName,
        command: &str,
        display: &Arc<Display>,
    ) -> Result<Locked, CommandError> {
        let signals = StopSignals::install(CancellationToken::new());
        let (session, opts) = self.open_session(stack, command, display, &signals).await?;
        signals.check(display, command)?;
        Ok(Locked {
            session,
            signals,
            opts,
        })
    }

    /// Opens a locked session of `command` under signals installed once for
    /// several sessions (`watch` takes the lock per round).
    pub(crate) async fn open_session(
        &self,
        stack: &StackName,
        command: &str,
        display: &Arc<Display>,
        signals: &StopSignals,
    ) -> Result<(crate::engine::Session, EngineOptions), CommandError> {
        let opts = self.engine_options(display, signals.cancel.clone());
        let session = crate::engine::Session::open(self.store(stack), command).await?;
        if let Some(lock) = session.lock() {
            signals.set_lock(lock);
        }
        Ok((session, opts))
    }
}
