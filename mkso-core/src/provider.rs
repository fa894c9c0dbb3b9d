//! The provider contract: async CRUD over JSON inputs and outputs, one request
//! and one response struct per verb (so fields can be added without breaking
//! providers), and errors classed retryable / permanent / not-found.
//!
//! A provider serves one *package* (the first part of a type token: `aws` in
//! `aws:ec2:Vpc`). The engine calls it through `tracing` spans and retries the
//! errors it classes as retryable.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::names::{StackName, Urn};
use crate::output::{UNKNOWN, contains_unknown};

/// How a provider error should be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorClass {
    /// Throttling, a 5xx, a dropped connection: try again after a backoff.
    Retryable,
    /// Bad input or a refused request: trying again will not help.
    Permanent,
    /// The resource does not exist.
    NotFound,
}

/// An error from a provider.
#[derive(Debug, Clone, thiserror::Error, Serialize, Deserialize, PartialEq)]
#[error("{message}")]
pub struct ProviderError {
    /// Retryable, permanent or not-found.
    pub class: ErrorClass,
    /// The service's error code, if any (`InvalidParameterValue`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// A human message.
    pub message: String,
    /// A server-suggested delay before the next attempt.
    #[serde(default, skip)]
    pub retry_after: Option<Duration>,
    /// The request never reached the service (e.g. the connection was
    /// refused): it certainly had no effect.
    #[serde(default, skip)]
    pub unsent: bool,
    /// The service refused the call for its rate (throttling: EC2's
    /// `RequestLimitExceeded`, GCP's 429 `rateLimitExceeded`). Always
    /// retryable; the engine narrows the provider's concurrency and retries
    /// it within the resource's timeout without counting it as a failed
    /// attempt.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub throttled: bool,
}

impl ProviderError {
    /// A retryable error.
    pub fn retryable(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Retryable, message)
    }
    /// A permanent error.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Permanent, message)
    }
    /// The resource does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorClass::NotFound, message)
    }
    /// An error of a given class.
    pub fn new(class: ErrorClass, message: impl Into<String>) -> Self {
        ProviderError {
            class,
            code: None,
            message: message.into(),
            retry_after: None,
            unsent: false,
            throttled: false,
        }
    }

    /// A throttling answer (retryable): the service asks for fewer calls.
    pub fn throttled(message: impl Into<String>) -> Self {
        Self::retryable(message).as_throttled()
    }

    /// Marks the error as a throttling answer (and so retryable).
    #[must_use]
    pub fn as_throttled(mut self) -> Self {
        self.class = ErrorClass::Retryable;
        self.throttled = true;
        self
    }

    /// Adds the delay the service asked for before the next call.
    #[must_use]
    pub fn with_retry_after(mut self, d: Duration) -> Self {
        self.retry_after = Some(d);
        self
    }

    /// Marks the error as one of a request that never reached the service.
    #[must_use]
    pub fn unsent(mut self) -> Self {
        self.unsent = true;
        self
    }
    /// Adds the service's error code.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }
    /// Whether trying again may help.
    pub fn is_retryable(&self) -> bool {
        self.class == ErrorClass::Retryable
    }
    /// Whether it is a throttling answer.
    pub fn is_throttled(&self) -> bool {
        self.throttled && self.is_retryable()
    }
}

/// What the provider is asked about: the resource's identity.
#[derive(Debug, Clone)]
pub struct ResourceIdentity {
    /// The URN.
    pub urn: Urn,
    /// The type token.
    pub type_token: String,
    /// The stack.
    pub stack: StackName,
}

impl ResourceIdentity {
    /// The nested resource name.
    pub fn name(&self) -> &str {
        self.urn.name()
    }
}

/// `diff`: how would the new inputs change the resource?
#[derive(Debug, Clone)]
pub struct DiffRequest {
    /// Which resource.
    pub identity: ResourceIdentity,
    /// The provider id.
    pub id: String,
    /// The inputs recorded in state.
    pub old_inputs: Value,
    /// The outputs recorded in state.
    pub old_outputs: Value,
    /// The new inputs (fields may hold [`UNKNOWN`]).
    pub new_inputs: Value,
}

/// The answer to `diff`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DiffResponse {
    /// Top-level input properties that change.
    pub changed: Vec<String>,
    /// The subset of `changed` that forces a replacement.
    pub replace: Vec<String>,
    /// What the outputs will be after the change, if the provider can tell
    /// (fields may hold [`UNKNOWN`]); `None`: unknown until applied.
    pub planned_outputs: Option<Value>,
    /// A replacement must delete the old resource before creating the new
    /// one (as the `delete_before_replace` resource option does): for types
    /// identified by their content, whose new copy would collide with the old
    /// one (an EC2 security-group rule: a duplicate-rule error). Only read
    /// when `replace` is not empty.
    #[serde(default)]
    pub delete_before_replace: bool,
    /// The changes property by property, nested (`tags.Name`,
    /// `cidr_blocks[1]`), when the provider tells (typed providers do):
    /// `preview --diff` shows these instead of whole top-level values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<crate::typed::PropertyChange>,
}

impl DiffResponse {
    /// Whether anything changes.
    pub fn has_changes(&self) -> bool {
        !self.changed.is_empty()
    }
}

/// `check`: validate (and normalise) new inputs before any change.
#[derive(Debug, Clone)]
pub struct CheckRequest {
    /// Which resource.
    pub identity: ResourceIdentity,
    /// The new inputs (fields may hold [`UNKNOWN`]).
    pub inputs: Value,
}

/// The answer to `check`.
#[derive(Debug, Clone, Default)]
pub struct CheckResponse {
    /// Problems with the inputs: (property, message).
    pub failures: Vec<(String, String)>,
}

/// `create`.
#[derive(Debug, Clone)]
pub struct CreateRequest {
    /// Which resource.
    pub identity: ResourceIdentity,
    /// The inputs (all known).
    pub inputs: Value,
    /// Stack-wide facts a provider may tag resources with.
    pub labels: BTreeMap<String, String>,
    /// Ids of existing copies of this resource (the one a replacement
    /// replaces): a provider that adopts a resource found by its identity
    /// before creating must never adopt these.
    pub exclude_ids: Vec<String>,
}

/// The answer to `create`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateResponse {
    /// The provider id.
    pub id: String,
    /// The outputs.
    pub outputs: Value,
}

/// `read`: the resource as it is now (refresh, import, drift).
#[derive(Debug, Clone)]
pub struct ReadRequest {
    /// Which resource.
    pub identity: ResourceIdentity,
    /// The provider id.
    pub id: String,
    /// The inputs recorded in state (`Null` on import).
    pub inputs: Value,
    /// The outputs recorded in state (`Null` on import).
    pub outputs: Value,
}

/// The answer to `read`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadResponse {
    /// The provider id (may differ in case or form).
    pub id: String,
    /// The inputs as they are in the cloud, if the provider can tell (drift).
    pub inputs: Option<Value>,
    /// The outputs.
    pub outputs: Value,
}

/// `update` in place.
#[derive(Debug, Clone)]
pub struct UpdateRequest {
    /// Which resource.
    pub identity: ResourceIdentity,
    /// The provider id.
    pub id: String,
    /// The inputs recorded in state.
    pub old_inputs: Value,
    /// The outputs recorded in state.
    pub old_outputs: Value,
    /// The new inputs (all known).
    pub new_inputs: Value,
    /// The properties that changed.
    pub changed: Vec<String>,
    /// Stack-wide facts a provider may tag resources with.
    pub labels: BTreeMap<String, String>,
}

/// The answer to `update`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UpdateResponse {
    /// The new outputs.
    pub outputs: Value,
}

/// `delete`.
#[derive(Debug, Clone)]
pub struct DeleteRequest {
    /// Which resource.
    pub identity: ResourceIdentity,
    /// The provider id.
    pub id: String,
    /// The inputs recorded in state.
    pub inputs: Value,
    /// The outputs recorded in state.
    pub outputs: Value,
}

/// `find`: look a resource up by its identity (its URN tag or derived name), to
/// resolve a create that was cut off before its result was recorded.
#[derive(Debug, Clone)]
pub struct FindRequest {
    /// Which resource.
    pub identity: ResourceIdentity,
    /// The inputs the interrupted create was given.
    pub inputs: Value,
    /// Ids already recorded for this resource (the copy being replaced): never
    /// the answer, even though they carry the same identity.
    pub exclude_ids: Vec<String>,
}

/// The provider contract; see the module docs. Only `create` is required:
/// `diff` defaults to comparing inputs, `read` to "unchanged", `update` to
/// echoing inputs, `delete` to nothing, `find` to "not found".
#[async_trait]
pub trait Provider: Send + Sync + 'static {
    /// The package served (`aws`, `gcp`, `mkso`). `"*"` serves every package
    /// (the in-memory test provider does).
    fn package(&self) -> &str;

    /// Whether creating, updating or deleting its resources changes anything
    /// outside this process. When `false` (the built-in provider), a step in
    /// flight is not recorded as pending first: an interrupted create cannot
    /// leave anything behind.
    fn has_side_effects(&self) -> bool {
        true
    }

    /// Which outputs of a type are secret, when the provider declares it:
    /// `Some(names)` — an output is secret when it is one of `names` or is
    /// named like a secret input (typed providers answer from
    /// `#[mkso(secret)]` on their outputs). `None`, the default for a
    /// provider that does not tell: every output of a resource with a secret
    /// input is secret (it may be derived from the secret under any name).
    fn secret_outputs(&self, _type_token: &str) -> Option<&'static [&'static str]> {
        None
    }

    /// Validates new inputs.
    async fn check(&self, _req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        Ok(CheckResponse::default())
    }

    /// Compares new inputs with the recorded ones.
    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        Ok(diff_inputs(&req.old_inputs, &req.new_inputs, &[]))
    }

    /// Creates the resource.
    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError>;

    /// Reads the resource; `Err(NotFound)` when it is gone.
    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        Ok(ReadResponse {
            id: req.id,
            inputs: None,
            outputs: req.outputs,
        })
    }

    /// Updates it in place.
    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        Ok(UpdateResponse {
            outputs: req.new_inputs,
        })
    }

    /// Deletes it; a resource that is already gone counts as deleted.
    async fn delete(&self, _req: DeleteRequest) -> Result<(), ProviderError> {
        Ok(())
    }

    /// Finds a resource whose create was interrupted, by its identity.
    async fn find(&self, _req: FindRequest) -> Result<Option<CreateResponse>, ProviderError> {
        Ok(None)
    }

    /// Whether a resource serves (an instance running), asked for the new
    /// or updated members of a rolling group until it says so or the
    /// group's `ready_timeout` passes. `Ok(Some(why))`: not yet, and why.
    /// Default: ready as soon as the create or update returned.
    async fn ready(&self, _req: ReadRequest) -> Result<Option<String>, ProviderError> {
        Ok(None)
    }
}

impl fmt::Debug for dyn Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Provider({})", self.package())
    }
}

/// A generic diff of two JSON input objects by top-level property: the keys in
/// `replace_keys` that change force a replacement. An [`UNKNOWN`] new value
/// counts as a change.
pub fn diff_inputs(old: &Value, new: &Value, replace_keys: &[&str]) -> DiffResponse {
    let empty = serde_json::Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut changed = Vec::new();
    for (k, nv) in n {
        let ov = o.get(k).unwrap_or(&Value::Null);
        if ov != nv || contains_unknown(nv) {
            changed.push(k.clone());
        }
    }
    for (k, ov) in o {
        if !n.contains_key(k) && !ov.is_null() {
            changed.push(k.clone());
        }
    }
    changed.sort();
    let replace = changed
        .iter()
        .filter(|k| replace_keys.contains(&k.as_str()))
        .cloned()
        .collect();
    DiffResponse {
        changed,
        replace,
        planned_outputs: None,
        delete_before_replace: false,
        details: Vec::new(),
    }
}

/// Which provider instance serves a resource: its package and an optional
/// instance name (the `provider` resource option).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ProviderRef {
    /// The package.
    pub package: String,
    /// The instance (`None`: the default one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl fmt::Display for ProviderRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(n) => write!(f, "{}[{n}]", self.package),
            None => write!(f, "{}[default]", self.package),
        }
    }
}

/// The provider instances a program uses.
#[derive(Default, Clone)]
pub struct ProviderRegistry {
    defaults: BTreeMap<String, Arc<dyn Provider>>,
    named: BTreeMap<(String, String), Arc<dyn Provider>>,
    wildcard: Option<Arc<dyn Provider>>,
}

impl fmt::Debug for ProviderRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProviderRegistry")
            .field("defaults", &self.defaults.keys().collect::<Vec<_>>())
            .field("named", &self.named.keys().collect::<Vec<_>>())
            .field("wildcard", &self.wildcard.is_some())
            .finish()
    }
}

impl ProviderRegistry {
    /// Adds a provider: the default for its package when `name` is `None`.
    pub fn add(&mut self, name: Option<&str>, provider: Arc<dyn Provider>) {
        let package = provider.package().to_string();
        if package == "*" {
            self.wildcard = Some(provider);
            return;
        }
        match name {
            None => {
                self.defaults.insert(package, provider);
            }
            Some(n) => {
                self.named.insert((package, n.to_string()), provider);
            }
        }
    }

    /// Whether a default provider for this package is registered.
    pub fn has_default(&self, package: &str) -> bool {
        self.defaults.contains_key(package)
    }

    /// Finds the provider for a reference.
    pub fn get(&self, r: &ProviderRef) -> Option<Arc<dyn Provider>> {
        let found = match &r.name {
            None => self.defaults.get(&r.package).cloned(),
            Some(n) => self.named.get(&(r.package.clone(), n.clone())).cloned(),
        };
        found.or_else(|| self.wildcard.clone())
    }
}

/// The package of a type token (`aws` for `aws:ec2:Vpc`).
pub fn package_of(type_token: &str) -> &str {
    type_token.split(':').next().unwrap_or(type_token)
}

#[doc(hidden)]
pub fn unknown_value() -> Value {
    Value::String(UNKNOWN.into())
}
