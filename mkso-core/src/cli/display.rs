//! Shows engine events: a progress display on a terminal, plain lines
//! otherwise, or newline-delimited JSON with `--json`.

use crate::names::{escape_control, escape_control_keep_lines};
use crate::secrets::redact;
use std::io::{BufWriter, IsTerminal, Stdout, Write};
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::engine::{EngineEvent, EventSink, Level, Op};

/// The event display of one command.
pub struct Display {
    json: bool,
    out: Mutex<BufWriter<Stdout>>,
    bar: Option<ProgressBar>,
    /// Throttling answers so far (shown on the progress line).
    throttled: std::sync::atomic::AtomicU64,
}

impl Display {
    /// A display; JSON when `json`, a progress bar when stdout is a terminal.
    pub fn new(json: bool) -> Self {
        let tty = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
        let bar = (!json && tty).then(|| {
            // Hidden until the steps start (`set_total`), so prompts stay clean.
            let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
            b.set_style(
                ProgressStyle::with_template("{spinner} {pos}/{len} steps  {prefix}{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b
        });
        Display {
            json,
            out: Mutex::new(BufWriter::new(std::io::stdout())),
            bar,
            throttled: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Whether events are JSON.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Sets how many steps will run (for the progress bar).
    pub fn set_total(&self, n: usize) {
        if let Some(b) = &self.bar {
            b.set_length(n as u64);
            b.set_draw_target(ProgressDrawTarget::stderr());
            b.enable_steady_tick(std::time::Duration::from_millis(120));
        }
    }

    /// Prints a line of human output (not in JSON mode). Control characters
    /// other than line breaks and tabs are escaped, so nothing printed can
    /// drive the terminal; names in it should be escaped whole by the caller
    /// ([`escape_control`]).
    pub fn line(&self, s: &str) {
        if self.json {
            return;
        }
        let s = redact(s);
        let s = escape_control_keep_lines(&s);
        let print = || {
            let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(o, "{s}");
            let _ = o.flush();
        };
        match &self.bar {
            // Lines go to stdout while the bar (on stderr) is hidden.
            Some(b) => b.suspend(print),
            None => print(),
        }
    }

    /// Prints a JSON document (JSON mode only).
    pub fn json_value(&self, v: &serde_json::Value) {
        if !self.json {
            return;
        }
        let text = serde_json::to_string(v).unwrap_or_default();
        let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = writeln!(o, "{}", redact(&text));
    }

    /// Flushes and clears the progress display.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        let _ = self.out.lock().unwrap_or_else(|e| e.into_inner()).flush();
    }
}

/// A resource as the display names it: type and name, control characters escaped.
fn short(urn: &crate::names::Urn) -> String {
    format!(
        "{} {}",
        escape_control(urn.type_token()),
        escape_control(urn.name())
    )
}

impl EventSink for Display {
    fn emit(&self, event: &EngineEvent) {
        if self.json {
            let text = serde_json::to_string(event).unwrap_or_default();
            let mut o = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(o, "{}", redact(&text));
            // A stream: whoever reads it (a CI step, a dashboard) sees each
            // event as it happens, not in one block at the end.
            let _ = o.flush();
            return;
        }
        match event {
            EngineEvent::StepStarted { urn, op } => {
                if let Some(b) = &self.bar {
                    b.set_message(format!("{op} {}", escape_control(urn.name())));
                }
            }
            EngineEvent::StepFinished {
                urn,
                op,
                duration_ms,
            } => {
                if let Some(b) = &self.bar {
                    b.inc(1);
                }
                if *op != Op::Refresh {
                    let indent = "  ".repeat(urn.name().matches('/').count());
                    let done = match op {
                        Op::Create => "created",
                        Op::Update => "updated",
                        Op::Replace => "replaced",
                        Op::Delete => "deleted",
                        Op::Import => "imported",
                        Op::Same | Op::Refresh => "unchanged",
                    };
                    self.line(&format!(
                        "  {:<2} {indent}{}  {done} ({:.2}s)",
                        op.symbol(),
                        short(urn),
                        *duration_ms as f64 / 1000.0
                    ));
                }
            }
            EngineEvent::StepFailed {
                urn,
                op,
                attempt,
                error,
                ..
            } => {
                if let Some(b) = &self.bar {
                    b.inc(1);
                }
                self.line(&format!(
                    "  !  {}  {op} failed (attempt {attempt}): {error}",
                    short(urn)
                ));
            }
            EngineEvent::StepSkipped { urn, op, reason } => {
                self.line(&format!("  .  {}  {op} skipped: {reason}", short(urn)));
            }
            EngineEvent::RetryScheduled {
                urn,
                op,
                attempt,
                delay_ms,
                error,
                throttled,
            } => {
                if *throttled {
                    // Not a failure: counted on the progress line, one
                    // line per answer would flood a wide update.
                    let n = self
                        .throttled
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                        + 1;
                    if let Some(b) = &self.bar {
                        b.set_prefix(format!("throttled: {n}  "));
                    }
                    return;
                }
                self.line(&format!(
                    "  ?  {}  {op} attempt {attempt} failed, retrying in {:.1}s: {error}",
                    short(urn),
                    *delay_ms as f64 / 1000.0
                ));
            }
            EngineEvent::Diagnostic {
                level,
                urn,
                message,
            } => {
                let tag = match level {
                    Level::Info => "info",
                    Level::Warning => "warning",
                    Level::Error => "error",
                };
                match urn {
                    Some(u) => self.line(&format!("  {tag}: {}: {message}", short(u))),
                    None => self.line(&format!("  {tag}: {message}")),
                }
            }
            EngineEvent::RollbackStarted { reverts } => {
                self.line(&format!(
                    "\nrolling back: reverting {reverts} change(s) this update made"
                ));
            }
            EngineEvent::RevertStarted { .. } => {}
            EngineEvent::RevertFinished {
                urn,
                action,
                duration_ms,
            } => {
                self.line(&format!(
                    "  <  {}  {} done ({:.2}s)",
                    short(urn),
                    action.label(),
                    *duration_ms as f64 / 1000.0
                ));
            }
            EngineEvent::RevertFailed { urn, action, error } => {
                self.line(&format!(
                    "  !  {}  {} failed: {error}",
                    short(urn),
                    action.label()
                ));
            }
            EngineEvent::RolloutBatchStarted {
                group,
                batch,
                batches,
                members,
            } => {
                let names: Vec<&str> = members.iter().map(|u| u.name()).collect();
                self.line(&format!(
                    "  rolling group {}: batch {batch} of {batches} starts ({})",
                    escape_control(group),
                    escape_control(&names.join(", "))
                ));
            }
            EngineEvent::RolloutBatchFinished {
                group,
                batch,
                batches,
                ready,
                failed,
                skipped,
            } => {
                let group = escape_control(group);
                if *failed == 0 && *skipped == 0 {
                    self.line(&format!(
                        "  rolling group {group}: batch {batch} of {batches} ready ({ready} member(s))"
                    ));
                } else {
                    let not_run = if *skipped > 0 {
                        format!(", {skipped} not run")
                    } else {
                        String::new()
                    };
                    let rest = if batch < batches {
                        "; the rollout stops here: later batches keep their old copies"
                    } else {
                        ""
                    };
                    self.line(&format!(
                        "  rolling group {group}: batch {batch} of {batches} failed ({ready} ready, {failed} failed{not_run}){rest}"
                    ));
                }
            }
            // `watch` prints its own line per round.
            EngineEvent::RollbackFinished { .. }
            | EngineEvent::PlanReady { .. }
            | EngineEvent::Summary { .. }
            | EngineEvent::WatchRound { .. } => {}
        }
    }
}
