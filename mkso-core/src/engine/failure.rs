//! Failed steps: what kind of failure each is, the provider's error when there
//! was one, and the human message. The CLI maps kinds to exit codes and hints
//! (`cli/command_error.rs`); `--json` carries the kind in `step_failed`.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::consistency::InconsistentPlan;
use super::events::Op;
use crate::error::Error;
use crate::names::Urn;
use crate::provider::{ErrorClass, ProviderError};

/// What kind of failure ended a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FailureKind {
    /// The provider refused the call for good (a permanent error; or an
    /// error of a call the engine does not retry, as `check` or `diff`).
    Provider,
    /// The provider says the resource does not exist (an update of a
    /// resource deleted outside mkso, an import of a missing id).
    NotFound,
    /// Retryable errors until the resource's tenacity (attempts, retry
    /// deadline) or its timeout ran out. The call may have taken effect: it
    /// stays pending, and the next run resolves it.
    GaveUp,
    /// Throttling answers until the resource's timeout passed.
    Throttled,
    /// The provider did not answer within the resource's timeout. The call
    /// may have taken effect: it stays pending, and the next run resolves it.
    TimedOut,
    /// A retryable error that was not retried because the operation was
    /// cancelled.
    Cancelled,
    /// The provider's `check` refused the inputs (known only at apply time).
    InvalidInputs,
    /// The step would have done more than the plan showed (it changed
    /// nothing); see [`StepFailure::inconsistent_plan`].
    InconsistentPlan,
    /// The step would replace a protected resource.
    Protected,
    /// Its inputs were still unknown after its dependencies were applied.
    UnknownInputs,
    /// The program failed: an output's closure, a stack reference.
    Program,
    /// No provider is registered for the resource.
    NoProvider,
    /// The resource to import differs from the program in properties that
    /// cannot change in place.
    ImportMismatch,
    /// Recording the step in the state failed (the journal could not be
    /// written, or the stack's lock was broken by another process).
    State,
    /// The step panicked (a bug in a provider or the program).
    Panicked,
    /// A rolling group's member did not become ready in time (its provider
    /// or its readiness check said not yet); the rollout stopped.
    NotReady,
}

impl FailureKind {
    /// The name, as `--json` writes it (`gave_up`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Provider => "provider",
            FailureKind::NotFound => "not_found",
            FailureKind::GaveUp => "gave_up",
            FailureKind::Throttled => "throttled",
            FailureKind::TimedOut => "timed_out",
            FailureKind::Cancelled => "cancelled",
            FailureKind::InvalidInputs => "invalid_inputs",
            FailureKind::InconsistentPlan => "inconsistent_plan",
            FailureKind::Protected => "protected",
            FailureKind::UnknownInputs => "unknown_inputs",
            FailureKind::Program => "program",
            FailureKind::NoProvider => "no_provider",
            FailureKind::ImportMismatch => "import_mismatch",
            FailureKind::State => "state",
            FailureKind::Panicked => "panicked",
            FailureKind::NotReady => "not_ready",
        }
    }

    /// The kind of a provider error from a call that was not retried
    /// (further): not found, or a refusal.
    pub(crate) fn of_provider_error(e: &ProviderError) -> Self {
        match e.class {
            ErrorClass::NotFound => FailureKind::NotFound,
            ErrorClass::Permanent | ErrorClass::Retryable => FailureKind::Provider,
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A step that failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepFailure {
    /// The resource.
    pub urn: Urn,
    /// What was tried.
    pub op: Op,
    /// What kind of failure.
    pub kind: FailureKind,
    /// The error, for people.
    pub error: String,
    /// The provider's error, when the provider answered with one (its class
    /// and code; the last one when the step gave up after retries).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<ProviderError>,
    /// For [`FailureKind::InvalidInputs`]: (property, problem) pairs.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub invalid_inputs: Vec<(String, String)>,
    /// Set when the step would have done more than the plan showed (it
    /// changed nothing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inconsistent_plan: Option<InconsistentPlan>,
}

/// Why a step failed, inside the engine (it becomes a [`StepFailure`]).
#[derive(Debug)]
pub(crate) struct StepError {
    pub attempt: u32,
    pub kind: FailureKind,
    pub message: String,
    pub source: Option<ProviderError>,
    pub invalid_inputs: Vec<(String, String)>,
    /// The provider call may have taken effect (a timeout, or giving up on a
    /// retryable error): its pending record stays, for the next run to resolve.
    pub outcome_unknown: bool,
    /// Apply would have done more than the plan showed.
    pub inconsistent: Option<InconsistentPlan>,
}

impl StepError {
    pub(crate) fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        StepError {
            attempt: 1,
            kind,
            message: message.into(),
            source: None,
            invalid_inputs: Vec::new(),
            outcome_unknown: false,
            inconsistent: None,
        }
    }

    /// A provider's error ended the call after `attempt` attempts.
    pub(crate) fn provider(
        kind: FailureKind,
        attempt: u32,
        message: String,
        source: ProviderError,
    ) -> Self {
        StepError {
            attempt,
            source: Some(source),
            ..StepError::new(kind, message)
        }
    }

    pub(crate) fn inconsistent(e: InconsistentPlan) -> Self {
        StepError {
            inconsistent: Some(e.clone()),
            ..StepError::new(FailureKind::InconsistentPlan, e.to_string())
        }
    }

    /// The failure of the step of `urn`, which tried `op`.
    pub(crate) fn into_failure(self, urn: Urn, op: Op) -> StepFailure {
        StepFailure {
            urn,
            op,
            kind: self.kind,
            error: self.message,
            source: self.source,
            invalid_inputs: self.invalid_inputs,
            inconsistent_plan: self.inconsistent,
        }
    }

    /// A step that panicked.
    pub(crate) fn panicked(message: &str) -> Self {
        StepError::new(FailureKind::Panicked, format!("panicked: {message}"))
    }
}

/// Errors of the program, planning and state met while a step runs; the
/// message is the error's own.
impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        let message = e.to_string();
        match e {
            Error::Provider { source, .. } => StepError {
                kind: FailureKind::of_provider_error(&source),
                source: Some(*source),
                ..StepError::new(FailureKind::Provider, message)
            },
            Error::InvalidInputs { failures, .. } => StepError {
                invalid_inputs: failures,
                ..StepError::new(FailureKind::InvalidInputs, message)
            },
            Error::Protected { .. } => StepError::new(FailureKind::Protected, message),
            Error::NoProvider { .. } => StepError::new(FailureKind::NoProvider, message),
            Error::State(_) => StepError::new(FailureKind::State, message),
            _ => StepError::new(FailureKind::Program, message),
        }
    }
}

impl From<crate::state::StateError> for StepError {
    fn from(e: crate::state::StateError) -> Self {
        StepError::new(
            FailureKind::State,
            format!("recording the step failed: {e}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_written_as_their_names() {
        for k in [
            FailureKind::Provider,
            FailureKind::NotFound,
            FailureKind::GaveUp,
            FailureKind::Throttled,
            FailureKind::TimedOut,
            FailureKind::Cancelled,
            FailureKind::InvalidInputs,
            FailureKind::InconsistentPlan,
            FailureKind::Protected,
            FailureKind::UnknownInputs,
            FailureKind::Program,
            FailureKind::NoProvider,
            FailureKind::ImportMismatch,
            FailureKind::State,
            FailureKind::Panicked,
            FailureKind::NotReady,
        ] {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(
                serde_json::from_value::<FailureKind>(k.as_str().into()).unwrap(),
                k
            );
        }
    }

    #[test]
    fn errors_met_in_a_step_keep_their_message_and_get_a_kind() {
        let e: StepError = Error::Provider {
            op: "diff",
            name: "a".into(),
            source: Box::new(ProviderError::not_found("gone").with_code("NotFound")),
        }
        .into();
        assert_eq!(e.kind, FailureKind::NotFound);
        assert_eq!(e.message, "diff of `a` failed: gone");
        assert_eq!(e.source.unwrap().code.as_deref(), Some("NotFound"));
        let e: StepError = Error::InvalidInputs {
            name: "a".into(),
            type_token: "t:m:T".into(),
            failures: vec![("cidr".into(), "too wide".into())],
        }
        .into();
        assert_eq!(e.kind, FailureKind::InvalidInputs);
        assert_eq!(e.invalid_inputs, vec![("cidr".into(), "too wide".into())]);
        let e: StepError = Error::program("boom").into();
        assert_eq!(e.kind, FailureKind::Program);
        assert_eq!(e.message, "the program failed: boom");
    }
}
