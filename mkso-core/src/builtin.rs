//! Built-in resources, served by the `mkso` package's provider.
//!
//! [`Data`] (`mkso:builtin:Data`, like Terraform's `terraform_data`) holds an
//! arbitrary JSON value: its input `value` is echoed as output `value` and kept
//! in state; a change of `value` is an in-place update; a change of the optional
//! `triggers` value replaces the resource.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso::builtin::{Data, DataArgs};
//! use serde_json::json;
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let a = Data::new(stack, "a", DataArgs::default().value(json!({"size": 3})), ResourceOptions::new())?;
//!     // b's value is computed from a's output: b depends on a.
//!     let b = Data::new(stack, "b", DataArgs::default().value(a.value().map(|v| json!([v]))), ResourceOptions::new())?;
//!     stack.export("b", b.value());
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program).stack("demo.Dev").run().unwrap();
//! assert_eq!(graph.get("b").unwrap().dependencies, vec!["a".to_string()]);
//! ```

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::provider::{
    CreateRequest, CreateResponse, DiffRequest, DiffResponse, Provider, ProviderError,
    UpdateRequest, UpdateResponse, diff_inputs,
};

crate::resource! {
    /// A JSON value kept in state (`mkso:builtin:Data`); see the module docs.
    pub struct Data("mkso:builtin:Data") {
        args DataArgs => DataInputs {
            /// The value to keep; echoed as output `value`.
            value: serde_json::Value,
            /// Replace the resource whenever this value changes.
            triggers: Option<serde_json::Value>,
        }
        outputs DataOutputs {
            /// The value.
            value: serde_json::Value,
        }
    }
}

/// The provider of the `mkso` package (built-in resources). Always registered.
#[derive(Debug, Default, Clone)]
pub struct BuiltinProvider {
    deterministic: bool,
}

impl BuiltinProvider {
    /// The provider, with random ids (as in a real stack).
    pub fn new() -> Self {
        Self::default()
    }

    /// The provider with ids derived from names (`<name>-id`), for tests and
    /// snapshots; the testing kit uses it.
    pub fn deterministic() -> Self {
        BuiltinProvider {
            deterministic: true,
        }
    }
}

fn data_outputs(inputs: &Value) -> Value {
    json!({ "value": inputs.get("value").cloned().unwrap_or(Value::Null) })
}

fn unsupported(type_token: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "the built-in provider has no resource type `{type_token}` (it has `mkso:builtin:Data`)"
    ))
}

#[async_trait]
impl Provider for BuiltinProvider {
    fn package(&self) -> &str {
        "mkso"
    }

    /// Its outputs echo its inputs: an output is secret when its input is.
    fn secret_outputs(&self, _type_token: &str) -> Option<&'static [&'static str]> {
        Some(&[])
    }

    fn has_side_effects(&self) -> bool {
        false
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        if req.identity.type_token != Data::TYPE {
            return Err(unsupported(&req.identity.type_token));
        }
        let mut d = diff_inputs(&req.old_inputs, &req.new_inputs, &["triggers"]);
        d.planned_outputs = Some(data_outputs(&req.new_inputs));
        Ok(d)
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        if req.identity.type_token != Data::TYPE {
            return Err(unsupported(&req.identity.type_token));
        }
        Ok(CreateResponse {
            id: if self.deterministic {
                format!("{}-id", req.identity.name().replace('/', "-"))
            } else {
                format!("{:016x}", fastrand::u64(..))
            },
            outputs: data_outputs(&req.inputs),
        })
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        Ok(UpdateResponse {
            outputs: data_outputs(&req.new_inputs),
        })
    }
}
