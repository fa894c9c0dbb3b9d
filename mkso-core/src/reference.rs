//! Stack references: a program reads another stack's outputs (from the same
//! backend) as typed [`Output`]s.
//!
//! References are read when the program declares them, so a missing stack, a
//! missing output or a wrong type stops the program before any change, with an
//! error naming the stack, the output and the types. Secret outputs stay secret.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso::testing::preview;
//!
//! fn program(stack: &Stack) -> Result<(), MksoError> {
//!     let net = stack.reference("aws.network.QA")?;
//!     let vpc_id: Output<String> = net.output("vpc_id")?;
//!     let subnets: Output<Vec<String>> = net.output("private_subnet_ids")?;
//!     stack.export("vpc", vpc_id);
//!     stack.export("first_subnet", subnets.map(|s| s[0].clone()));
//!     Ok(())
//! }
//!
//! let plan = preview(program)
//!     .stack("aws.app.QA")
//!     .reference(
//!         "aws.network.QA",
//!         serde_json::json!({"vpc_id": "vpc-1", "private_subnet_ids": ["subnet-a", "subnet-b"]}),
//!     )
//!     .run()
//!     .unwrap();
//! assert_eq!(plan.outputs["first_subnet"], "subnet-a");
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::Error;
use crate::names::StackName;
use crate::output::{Output, OutputValue};
use crate::secrets::Secrets;
use crate::state::{Sealer, StateError, StateStore, backend_for_url};

/// The outputs of a referenced stack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StackOutputs {
    /// Values by name.
    pub values: BTreeMap<String, Value>,
    /// Names of the secret ones.
    pub secret: BTreeSet<String>,
}

/// Where references are read from: the state backend (the CLI), or canned
/// outputs (the testing kit).
pub trait ReferenceSource: Send + Sync {
    /// The outputs of `stack`; called from inside a program, so synchronous.
    fn outputs(&self, stack: &StackName) -> Result<StackOutputs, Error>;
}

/// Reads references from a backend URL (a fresh backend per read, on a runtime
/// of its own, so it works from inside the program on any runtime).
#[derive(Debug, Clone)]
pub struct BackendReferences {
    url: String,
    project_dir: PathBuf,
    secrets: Arc<Secrets>,
}

impl BackendReferences {
    /// References in the backend `url` (relative `file://` paths from `project_dir`).
    pub fn new(url: impl Into<String>, project_dir: impl Into<PathBuf>) -> Self {
        BackendReferences {
            url: url.into(),
            project_dir: project_dir.into(),
            secrets: Secrets::process(),
        }
    }

    /// Opens secret outputs with this passphrase (default: `MKSO_PASSPHRASE`).
    #[must_use]
    pub fn secrets(mut self, secrets: Arc<Secrets>) -> Self {
        self.secrets = secrets;
        self
    }
}

impl ReferenceSource for BackendReferences {
    fn outputs(&self, stack: &StackName) -> Result<StackOutputs, Error> {
        let backend = backend_for_url(&self.url, &self.project_dir)?;
        let stack = stack.clone();
        let read = std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| StateError::Backend {
                        backend: backend.describe(),
                        message: format!("cannot start a runtime: {e}"),
                    })?;
                rt.block_on(async {
                    let store = StateStore::new(backend.clone(), stack.clone())
                        .with_sealer(Sealer::new(self.secrets.clone(), None));
                    if !store.exists().await? {
                        return Err(StateError::NoSuchStack {
                            stack: stack.clone(),
                            backend: backend.describe(),
                        });
                    }
                    let view = store.load().await?.view;
                    Ok(StackOutputs {
                        values: view.outputs,
                        secret: view.secret_outputs.into_iter().collect(),
                    })
                })
            })
            .join()
            .unwrap_or_else(|_| {
                Err(StateError::Backend {
                    backend: self.url.clone(),
                    message: "reading the referenced stack panicked".into(),
                })
            })
        });
        read.map_err(|e| match e {
            StateError::NoSuchStack { stack, backend } => Error::Reference {
                stack: stack.to_string(),
                message: format!(
                    "the stack has no state in {backend}: run `up` for it first (or check the name)"
                ),
            },
            other => Error::Reference {
                stack: stack.to_string(),
                message: other.to_string(),
            },
        })
    }
}

/// Canned outputs for references (the testing kit).
#[derive(Debug, Clone, Default)]
pub struct CannedReferences {
    stacks: BTreeMap<String, StackOutputs>,
}

impl CannedReferences {
    /// Sets a stack's outputs (a JSON object: anything else is a mistake in
    /// the test, and panics).
    pub fn insert(&mut self, stack: &str, outputs: Value, secret: &[&str]) {
        let Value::Object(values) = outputs else {
            panic!(
                "canned outputs of {stack} must be a JSON object of output names to values, not {outputs}"
            );
        };
        let e = self.stacks.entry(stack.to_string()).or_default();
        e.values.extend(values);
        e.secret.extend(secret.iter().map(|s| s.to_string()));
    }
}

impl ReferenceSource for CannedReferences {
    fn outputs(&self, stack: &StackName) -> Result<StackOutputs, Error> {
        self.stacks
            .get(stack.as_str())
            .cloned()
            .ok_or_else(|| Error::Reference {
                stack: stack.to_string(),
                message: "the testing kit has no canned outputs for it: add them with `.reference(name, outputs)`".into(),
            })
    }
}

/// A reference to another stack's outputs; see the module docs.
#[derive(Debug, Clone)]
pub struct StackReference {
    stack: StackName,
    outputs: StackOutputs,
}

impl StackReference {
    pub(crate) fn new(stack: StackName, outputs: StackOutputs) -> Self {
        StackReference { stack, outputs }
    }

    /// The referenced stack.
    pub fn name(&self) -> &StackName {
        &self.stack
    }

    /// The names of its outputs.
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs.values.keys().map(String::as_str).collect()
    }

    /// One output, typed. Missing outputs and wrong types are errors naming
    /// the stack, the output and the types; secret outputs stay secret.
    pub fn output<T: OutputValue + DeserializeOwned>(
        &self,
        name: &str,
    ) -> Result<Output<T>, Error> {
        let Some(v) = self.outputs.values.get(name) else {
            let has = if self.outputs.values.is_empty() {
                "none".to_string()
            } else {
                self.output_names().join(", ")
            };
            return Err(Error::Reference {
                stack: self.stack.to_string(),
                message: format!("it has no output `{name}` (its outputs: {has})"),
            });
        };
        let secret = self.outputs.secret.contains(name);
        let typed: T = serde_json::from_value(v.clone()).map_err(|e| Error::Reference {
            stack: self.stack.to_string(),
            message: format!(
                "output `{name}` is {}, which does not fit the type `{}` the program asks for ({})",
                json_kind(v),
                std::any::type_name::<T>(),
                if secret {
                    "value not shown: it is secret".to_string()
                } else {
                    e.to_string()
                }
            ),
        })?;
        Ok(if secret {
            Output::secret(typed)
        } else {
            Output::from(typed)
        })
    }

    /// Every output as one typed struct (secret if any output it reads is).
    pub fn outputs<T: OutputValue + DeserializeOwned>(&self) -> Result<Output<T>, Error> {
        let obj: serde_json::Map<String, Value> = self
            .outputs
            .values
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let typed: T = serde_path_to_error::deserialize(Value::Object(obj)).map_err(|e| {
            let path = e.path().to_string();
            let field = path
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string();
            let secret = self.outputs.secret.contains(&field);
            let inner = e.into_inner().to_string();
            Error::Reference {
                stack: self.stack.to_string(),
                message: match self.outputs.values.get(&field) {
                    None if !field.is_empty() && field != "." => format!(
                        "it has no output `{field}` (its outputs: {})",
                        self.output_names().join(", ")
                    ),
                    _ if secret => format!(
                        "output `{field}` does not fit `{}` (value not shown: it is secret)",
                        std::any::type_name::<T>()
                    ),
                    _ => format!(
                        "output `{path}` does not fit `{}`: {inner}",
                        std::any::type_name::<T>()
                    ),
                },
            }
        })?;
        Ok(if self.outputs.secret.is_empty() {
            Output::from(typed)
        } else {
            Output::secret(typed)
        })
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The source a stack reads references from, if any.
pub(crate) type SharedSource = Arc<dyn ReferenceSource>;
