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
use crate::state::{Backend, LockGuard, Sealer, StateStore, backend_for_url};

/// Flags every command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// The stack, e.g. `aws.network.QA` (or set MKSO_STACK).
    #[arg(long, global = true, env = "MKSO_STACK")]
    pub stack: Option<String>,
    /// Print newline-delimited JSON events / JSON documents on stdout.
    #[arg(long, global = true)]
    pub json: bool,
    /// Steps in flight at once (0: unbounded).
    #[arg(long, global = true, default_value_t = 64)]
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
    pub(crate) fn new(runner: Runner, global: GlobalArgs) -> Result<CliContext, CommandError> {
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

    /// The state of a stack; its secrets are sealed with the passphrase and
    /// the stack file's salt.
    pub fn store(&self, stack: &StackName) -> StateStore {
        let salt = StackFile::load(&self.project.stack_file(stack))
            .ok()
            .and_then(|f| f.salt());
        StateStore::new(self.backend.clone(), stack.clone())
            .with_sealer(Sealer::new(Secrets::process(), salt))
    }

    /// Runs the program for a stack and returns what it declared.
    pub fn run_program(&self, stack: &StackName) -> Result<ProgramGraph, CommandError> {
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
        Ok(s.take_graph())
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

    /// How many updates to keep in history.
    pub fn history_keep(&self) -> usize {
        self.project.file.history.keep
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

/// Handles Ctrl-C: the first cancels (nothing new starts, in-flight steps end,
/// state is saved); the second releases the lock and exits at once (the
/// journal already holds every finished step).
pub(crate) fn handle_ctrl_c(cancel: CancellationToken, lock: Option<&LockGuard>) {
    let release = lock.map(|l| l.releaser());
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "\nCancelling: no new steps start; waiting for the steps in flight. Press Ctrl-C again to stop at once."
        );
        cancel.cancel();
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        eprintln!(
            "\nStopping at once. The journal holds every finished step; the next run resolves the rest."
        );
        if let Some(r) = release {
            r();
        }
        std::process::exit(super::EXIT_CANCELLED);
    });
}
