//! The library's error type. Each variant names the culprit and what to do.

use crate::config::ConfigError;
use crate::names::{InvalidStackName, Urn};
use crate::output::OutputError;
use crate::provider::ProviderError;
use crate::state::StateError;

/// Errors of programs, the engine and state.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A stack name is not of the dotted form.
    #[error(transparent)]
    InvalidStackName(#[from] InvalidStackName),
    /// Configuration could not be read or does not fit the program.
    #[error(transparent)]
    Config(Box<ConfigError>),
    /// State could not be read, written or locked.
    #[error(transparent)]
    State(Box<StateError>),
    /// An output could not be computed.
    #[error(transparent)]
    Output(#[from] Box<OutputError>),
    /// A stack reference that cannot be read or used.
    #[error("stack reference {stack}: {message}")]
    Reference {
        /// The referenced stack.
        stack: String,
        /// What is wrong.
        message: String,
    },
    /// A resource name that cannot be used.
    #[error("invalid resource name `{name}`: {reason}")]
    InvalidName {
        /// The name.
        name: String,
        /// Why.
        reason: String,
    },
    /// Two resources share a name.
    #[error(
        "two resources are named `{name}`: {first} and {second}; give one of them another name"
    )]
    DuplicateResource {
        /// The (nested) name.
        name: String,
        /// The first one's type and where it was declared.
        first: String,
        /// The second one's type and where it was declared.
        second: String,
    },
    /// A parent that is not a declared component.
    #[error("resource `{name}` names parent {parent}, which is not a component declared before it")]
    UnknownParent {
        /// The child.
        name: String,
        /// The parent's URN.
        parent: Urn,
    },
    /// A rolling group declared twice or with a bad name or readiness URL,
    /// or named by a resource of a stack that does not declare it.
    #[error("rolling group `{group}`: {message}")]
    RollingGroup {
        /// The group.
        group: String,
        /// What is wrong and what to do.
        message: String,
    },
    /// A dependency on a resource the program does not declare.
    #[error(
        "resource `{name}` depends on {dependency}, which the program does not declare; declare it, or drop the dependency"
    )]
    UnknownDependency {
        /// The dependent's name.
        name: String,
        /// The missing dependency.
        dependency: Urn,
    },
    /// The dependency graph has a cycle.
    #[error("dependency cycle: {} (`a -> b`: a depends on b); break it by removing one of these dependencies", .cycle.join(" -> "))]
    Cycle {
        /// Resource names along the cycle, the first repeated at the end.
        cycle: Vec<String>,
    },
    /// No provider serves a resource.
    #[error(
        "no provider `{provider}` for resource `{name}` ({type_token}): register one with `Stack::add_provider` or `Runner::provider`"
    )]
    NoProvider {
        /// The resource.
        name: String,
        /// Its type.
        type_token: String,
        /// The provider reference.
        provider: String,
    },
    /// A provider refused the inputs of a resource.
    #[error("invalid inputs for `{name}` ({type_token}): {}", .failures.iter().map(|(k, m)| format!("{k}: {m}")).collect::<Vec<_>>().join("; "))]
    InvalidInputs {
        /// The resource.
        name: String,
        /// Its type.
        type_token: String,
        /// (property, problem) pairs.
        failures: Vec<(String, String)>,
    },
    /// Providers refused the inputs of several resources (each an
    /// [`Error::InvalidInputs`]).
    #[error("invalid inputs for {} resources:\n{}", .0.len(), .0.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"))]
    InvalidResources(Vec<Error>),
    /// A provider call failed (during planning).
    #[error("{op} of `{name}` failed: {source}")]
    Provider {
        /// What was being done.
        op: &'static str,
        /// The resource.
        name: String,
        /// The provider's error.
        #[source]
        source: Box<ProviderError>,
    },
    /// A protected resource would be deleted or replaced.
    #[error(
        "resource `{name}` is protected and would be {action}: set `protect(false)` on it and run `up` first, or leave it in the program"
    )]
    Protected {
        /// The resource.
        name: String,
        /// deleted / replaced.
        action: &'static str,
    },
    /// A `--target` that names no resource.
    #[error("--target {target} names no resource of this stack")]
    UnknownTarget {
        /// The target.
        target: String,
    },
    /// The program failed.
    #[error("the program failed: {0}")]
    Program(String),
}

impl From<OutputError> for Error {
    fn from(e: OutputError) -> Self {
        Error::Output(Box::new(e))
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(Box::new(e))
    }
}

impl From<StateError> for Error {
    fn from(e: StateError) -> Self {
        Error::State(Box::new(e))
    }
}

impl Error {
    /// A program error with a message (for users' own checks).
    pub fn program(message: impl std::fmt::Display) -> Self {
        Error::Program(message.to_string())
    }
}
