//! The [`RecordedGraph`] a kit run returns.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Value, json};

use crate::options::ResourceOptions;
use crate::output::UNKNOWN;
use crate::stack::ResourceKind;

/// A recorded resource in a [`RecordedGraph`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedResource {
    /// The URN.
    pub urn: String,
    /// The type token.
    #[serde(rename = "type")]
    pub type_token: String,
    /// The nested name.
    pub name: String,
    /// Custom or component.
    pub kind: ResourceKind,
    /// The parent's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Inputs (secrets masked, unknowns as `(known after apply)`).
    pub inputs: Value,
    /// Options that are set.
    #[serde(skip_serializing_if = "is_default_opts")]
    pub options: ResourceOptions,
    /// Names of direct dependencies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Outputs (`(known after apply)` until known).
    pub outputs: Value,
}

fn is_default_opts(o: &ResourceOptions) -> bool {
    *o == ResourceOptions::default()
}

/// The graph a program declared, in a stable, serialisable form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedGraph {
    /// The stack.
    pub stack: String,
    /// Resources sorted by URN.
    pub resources: Vec<RecordedResource>,
    /// Stack outputs (`(known after apply)` when unknown).
    pub outputs: BTreeMap<String, Value>,
}

impl RecordedGraph {
    /// A resource by nested name or URN.
    pub fn get(&self, name_or_urn: &str) -> Option<&RecordedResource> {
        self.resources
            .iter()
            .find(|r| r.name == name_or_urn || r.urn == name_or_urn)
    }

    /// Every resource of a type.
    pub fn resources_of_type(&self, type_token: &str) -> Vec<&RecordedResource> {
        self.resources
            .iter()
            .filter(|r| r.type_token == type_token)
            .collect()
    }
}

/// `v` with its secret properties masked (all of it, or the listed keys).
pub(crate) fn mask_props(v: &Value, secrets: &crate::state::SecretProps) -> Value {
    mask(&secrets.mask(v, &json!("[secret]")), secrets.all)
}

pub(crate) fn mask(v: &Value, secret: bool) -> Value {
    if secret {
        return json!("[secret]");
    }
    match v {
        Value::String(s) if s == UNKNOWN => json!("(known after apply)"),
        Value::Array(a) => Value::Array(a.iter().map(|x| mask(x, false)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), mask(x, false))).collect())
        }
        other => other.clone(),
    }
}
