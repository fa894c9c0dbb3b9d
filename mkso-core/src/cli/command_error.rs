//! Where errors meet the user, in one place: the exit codes, the mapping of
//! library errors ([`Error`]) and of failed steps ([`FailureKind`]) to them,
//! and the hints printed under failed steps.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the operation failed: a step (any [`FailureKind`] but `cancelled`), a provider, or the state backend |
//! | 2 | invalid input: usage, stack name, config, program errors (cycles, duplicate names, ...), a wrong or missing passphrase, a stack of another project |
//! | 3 | `--expect-no-changes` found changes (or drift) |
//! | 4 | the stack is locked |
//! | 5 | confirmation needed or declined |
//! | 130 | cancelled (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT) |
//!
//! A failed step's kind is in `--json` (`step_failed` events carry `kind`);
//! the human display prints a hint per kind under the failed steps where
//! one helps ([`failure_hints`]).

use crate::engine::{FailureKind, OperationKind, StepFailure, UpdateOutcome};
use crate::error::Error;
use crate::names::escape_control;
use crate::provider::ErrorClass;
use crate::state::StateError;

/// Exit code: success.
pub const EXIT_OK: i32 = 0;
/// Exit code: the operation failed.
pub const EXIT_FAILED: i32 = 1;
/// Exit code: invalid input.
pub const EXIT_INVALID: i32 = 2;
/// Exit code: `--expect-no-changes` found changes.
pub const EXIT_CHANGES: i32 = 3;
/// Exit code: the stack is locked.
pub const EXIT_LOCKED: i32 = 4;
/// Exit code: confirmation needed or declined.
pub const EXIT_NOT_CONFIRMED: i32 = 5;
/// Exit code: a step failed, and every change of the update was rolled back.
pub const EXIT_ROLLED_BACK: i32 = 6;
/// Exit code: cancelled by Ctrl-C.
pub const EXIT_CANCELLED: i32 = 130;

/// An error that ends a command, with its exit code.
#[derive(Debug)]
pub struct CommandError {
    /// The exit code.
    pub code: i32,
    /// What to tell the user (empty: already told).
    pub message: String,
}

impl CommandError {
    /// An error with a code and message.
    pub fn new(code: i32, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl From<Error> for CommandError {
    fn from(e: Error) -> Self {
        let code = match &e {
            Error::State(s) if matches!(**s, StateError::Locked { .. }) => EXIT_LOCKED,
            // A wrong or missing passphrase is the user's input to fix.
            Error::State(s) if matches!(**s, StateError::Secret { .. }) => EXIT_INVALID,
            // A stack of another project: the user picked the wrong stack.
            Error::State(s) if matches!(**s, StateError::WrongProject { .. }) => EXIT_INVALID,
            Error::State(_) | Error::Provider { .. } => EXIT_FAILED,
            _ => EXIT_INVALID,
        };
        CommandError::new(code, e.to_string())
    }
}

impl From<StateError> for CommandError {
    fn from(e: StateError) -> Self {
        Error::from(e).into()
    }
}

impl From<crate::config::ConfigError> for CommandError {
    fn from(e: crate::config::ConfigError) -> Self {
        Error::from(e).into()
    }
}

/// The exit code of a step that failed with `kind`.
pub fn failure_exit_code(kind: FailureKind) -> i32 {
    match kind {
        FailureKind::Cancelled => EXIT_CANCELLED,
        // The operation started and did not finish: whatever the cause, some
        // steps may have changed the cloud (and are recorded), which is
        // what 1 tells scripts. The kind is in `--json`.
        FailureKind::Provider
        | FailureKind::NotFound
        | FailureKind::GaveUp
        | FailureKind::Throttled
        | FailureKind::TimedOut
        | FailureKind::InvalidInputs
        | FailureKind::InconsistentPlan
        | FailureKind::Protected
        | FailureKind::UnknownInputs
        | FailureKind::Program
        | FailureKind::NoProvider
        | FailureKind::ImportMismatch
        | FailureKind::State
        | FailureKind::Panicked
        | FailureKind::NotReady => EXIT_FAILED,
    }
}

/// The exit code of failed steps (0 when there are none): the highest of
/// their kinds' codes.
pub fn failures_exit_code(failures: &[StepFailure]) -> i32 {
    failures
        .iter()
        .map(|f| failure_exit_code(f.kind))
        .max()
        .unwrap_or(EXIT_OK)
}

/// The exit code of an `up` or `destroy`: 130 when cancelled; 6 when a step
/// failed and everything was rolled back; else that of its failed steps
/// (a rollback that could not revert everything: 1 at least); 1 when steps
/// did not run; else 0.
pub fn outcome_exit_code(outcome: &UpdateOutcome) -> i32 {
    if outcome.cancelled {
        EXIT_CANCELLED
    } else if outcome.result() == crate::engine::OperationResult::RolledBack {
        EXIT_ROLLED_BACK
    } else if !outcome.failures.is_empty() {
        failures_exit_code(&outcome.failures)
    } else if outcome.skipped > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    }
}

/// What to do about a failed step of `command`, when the error does not say
/// it already.
pub fn failure_hint(command: OperationKind, f: &StepFailure) -> Option<String> {
    let again = command.as_str();
    let transient = f
        .source
        .as_ref()
        .is_some_and(|s| s.class == ErrorClass::Retryable);
    match f.kind {
        FailureKind::GaveUp | FailureKind::TimedOut => Some(format!(
            "the provider may still be working on it: `{again}` again resolves it (an interrupted call is looked up before it is made again)"
        )),
        FailureKind::Throttled => Some(format!(
            "the provider kept throttling requests until the step's timeout: run `{again}` again later, with a lower `--parallel`, or give the resource a longer timeout"
        )),
        FailureKind::Provider if transient => Some(format!(
            "the provider's error is transient: run `{again}` again"
        )),
        FailureKind::Provider => Some(
            "the provider refused the request: trying again will not help until what its error names is changed (in the program, its config or the cloud account)"
                .to_string(),
        ),
        FailureKind::NotFound if f.op == crate::engine::Op::Import => {
            Some("check the id given to the resource's `import` option".to_string())
        }
        // The update's error says what to do (`refresh`, then `up`).
        FailureKind::NotFound if f.op == crate::engine::Op::Update => None,
        FailureKind::NotFound => Some(
            "a resource deleted outside mkso is forgotten by `refresh`; `up` then recreates it"
                .to_string(),
        ),
        FailureKind::InvalidInputs => {
            let props: Vec<String> = f
                .invalid_inputs
                .iter()
                .map(|(p, _)| format!("`{}`", escape_control(p)))
                .collect();
            Some(format!(
                "fix {} of `{}` in the program (or the config it reads), then run `preview` and `up`",
                if props.is_empty() {
                    "the inputs".to_string()
                } else {
                    props.join(", ")
                },
                escape_control(f.urn.name())
            ))
        }
        FailureKind::InconsistentPlan => Some(
            "a value known only at apply time changed what the step needs: run `preview` again to see the real action, then `up`"
                .to_string(),
        ),
        FailureKind::UnknownInputs => Some(
            "an output it reads was still unknown after its dependency was applied: check that the provider returns every output the program reads"
                .to_string(),
        ),
        FailureKind::State => Some(format!(
            "nothing was lost: the journal holds every step that finished; run `{again}` again once the state backend is reachable (or, if the lock was broken, once its new holder is done)"
        )),
        FailureKind::Panicked => Some(format!(
            "a bug in a provider or the program (please report it); the journal holds every step that finished, and `{again}` again resolves the rest"
        )),
        FailureKind::NotReady => Some(
            "the rollout stopped at that member's batch; the members not reached keep their old copies. Check why it does not serve (its readiness check, its logs), fix the program or the image, and run `up` again to go on"
                .to_string(),
        ),
        // Their errors say what to do, or there is nothing to do.
        FailureKind::Cancelled
        | FailureKind::Protected
        | FailureKind::Program
        | FailureKind::NoProvider
        | FailureKind::ImportMismatch => None,
    }
}

/// The hints for failed steps of `command`, each once, in the order of the
/// failures.
pub fn failure_hints(command: OperationKind, failures: &[StepFailure]) -> Vec<String> {
    let mut hints: Vec<String> = Vec::new();
    for h in failures.iter().filter_map(|f| failure_hint(command, f)) {
        if !hints.contains(&h) {
            hints.push(h);
        }
    }
    hints
}
