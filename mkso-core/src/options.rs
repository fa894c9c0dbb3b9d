//! Resource options: small values folded into one read-only struct, as in Pulumi.
//!
//! ```
//! use std::time::Duration;
//! use mkso::{ResourceOptions, Tenacity};
//! let opts = ResourceOptions::new()
//!     .protect(true)
//!     .ignore_changes(["tags"])
//!     .tenacity(Tenacity::attempts(3))
//!     .create_timeout(Duration::from_secs(600));
//! assert!(opts.is_protected());
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::names::Urn;

/// Anything that names a resource: handles of custom resources, components, URNs.
pub trait ResourceRef {
    /// The resource's URN.
    fn urn(&self) -> &Urn;
}

impl ResourceRef for Urn {
    fn urn(&self) -> &Urn {
        self
    }
}

/// How hard the engine tries before giving up on a step that fails with a
/// retryable error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenacity {
    /// Give up after this many attempts (`None`: no limit on attempts).
    pub max_attempts: Option<u32>,
    /// Give up once this much time has passed since the first attempt.
    #[serde(with = "opt_millis")]
    pub deadline: Option<Duration>,
}

impl Tenacity {
    /// Give up after `n` attempts (at least one).
    pub fn attempts(n: u32) -> Self {
        Tenacity {
            max_attempts: Some(n.max(1)),
            deadline: None,
        }
    }
    /// Keep retrying until `d` has passed.
    pub fn deadline(d: Duration) -> Self {
        Tenacity {
            max_attempts: None,
            deadline: Some(d),
        }
    }
    /// Never give up on a retryable error (only Ctrl-C or a timeout stops it).
    pub fn forever() -> Self {
        Tenacity {
            max_attempts: None,
            deadline: None,
        }
    }
}

impl Default for Tenacity {
    /// Five attempts.
    fn default() -> Self {
        Tenacity::attempts(5)
    }
}

/// Per-operation time limits, covering all retries of that operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomTimeouts {
    /// Limit for a create.
    #[serde(with = "opt_millis", default, skip_serializing_if = "Option::is_none")]
    pub create: Option<Duration>,
    /// Limit for an update.
    #[serde(with = "opt_millis", default, skip_serializing_if = "Option::is_none")]
    pub update: Option<Duration>,
    /// Limit for a delete.
    #[serde(with = "opt_millis", default, skip_serializing_if = "Option::is_none")]
    pub delete: Option<Duration>,
}

mod opt_millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&(d.as_millis() as u64)),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// Options of one resource; build with the setters, which consume and return it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceOptions {
    /// The parent component: the resource's name is nested under it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Urn>,
    /// Explicit dependencies besides those its inputs imply.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<Urn>,
    /// Refuse to delete or replace it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Input properties whose changes are ignored.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_changes: Vec<String>,
    /// Input properties whose changes force a replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_on_changes: Vec<String>,
    /// Delete the old resource before creating its replacement.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_before_replace: bool,
    /// On delete, forget the resource but leave it in the cloud.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_on_delete: bool,
    /// Time limits per operation.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeouts: CustomTimeouts,
    /// Former names (or full URNs) of this resource: a rename without recreate.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    /// Adopt an existing cloud resource with this id instead of creating one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import: Option<String>,
    /// Retry policy for retryable errors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenacity: Option<Tenacity>,
    /// The name of the provider instance to use (default: the package's default provider).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// The rolling group it belongs to (see [`crate::rolling`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rolling_group: Option<String>,
}

fn is_default<T: Default + PartialEq>(t: &T) -> bool {
    *t == T::default()
}

impl ResourceOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }
    /// Nests the resource under a component.
    #[must_use]
    pub fn parent(mut self, parent: &impl ResourceRef) -> Self {
        self.parent = Some(parent.urn().clone());
        self
    }
    /// Adds an explicit dependency.
    #[must_use]
    pub fn depends_on(mut self, other: &impl ResourceRef) -> Self {
        self.depends_on.push(other.urn().clone());
        self
    }
    /// Protects the resource from deletion and replacement.
    #[must_use]
    pub fn protect(mut self, yes: bool) -> Self {
        self.protect = yes;
        self
    }
    /// Ignores changes of these input properties.
    #[must_use]
    pub fn ignore_changes<S: Into<String>>(mut self, keys: impl IntoIterator<Item = S>) -> Self {
        self.ignore_changes.extend(keys.into_iter().map(Into::into));
        self
    }
    /// Replaces the resource when any of these input properties change.
    #[must_use]
    pub fn replace_on_changes<S: Into<String>>(
        mut self,
        keys: impl IntoIterator<Item = S>,
    ) -> Self {
        self.replace_on_changes
            .extend(keys.into_iter().map(Into::into));
        self
    }
    /// Deletes the old resource before creating its replacement.
    #[must_use]
    pub fn delete_before_replace(mut self, yes: bool) -> Self {
        self.delete_before_replace = yes;
        self
    }
    /// Leaves the cloud resource in place when mkso deletes it.
    #[must_use]
    pub fn retain_on_delete(mut self, yes: bool) -> Self {
        self.retain_on_delete = yes;
        self
    }
    /// Sets all time limits.
    #[must_use]
    pub fn timeouts(mut self, t: CustomTimeouts) -> Self {
        self.timeouts = t;
        self
    }
    /// Limits the create operation (all attempts).
    #[must_use]
    pub fn create_timeout(mut self, d: Duration) -> Self {
        self.timeouts.create = Some(d);
        self
    }
    /// Limits the update operation (all attempts).
    #[must_use]
    pub fn update_timeout(mut self, d: Duration) -> Self {
        self.timeouts.update = Some(d);
        self
    }
    /// Limits the delete operation (all attempts).
    #[must_use]
    pub fn delete_timeout(mut self, d: Duration) -> Self {
        self.timeouts.delete = Some(d);
        self
    }
    /// A former name (same type and parent) or full URN of this resource.
    #[must_use]
    pub fn alias(mut self, old: impl Into<String>) -> Self {
        self.aliases.push(old.into());
        self
    }
    /// Adopts the existing cloud resource with this id.
    #[must_use]
    pub fn import(mut self, id: impl Into<String>) -> Self {
        self.import = Some(id.into());
        self
    }
    /// Sets the retry policy.
    #[must_use]
    pub fn tenacity(mut self, t: Tenacity) -> Self {
        self.tenacity = Some(t);
        self
    }
    /// Uses a named provider instance.
    #[must_use]
    pub fn provider(mut self, name: impl Into<String>) -> Self {
        self.provider = Some(name.into());
        self
    }
    /// Puts the resource in a rolling group (declared with
    /// [`crate::Stack::rolling_group`]): when several members change, they
    /// change in batches, each waiting for the last to be ready.
    #[must_use]
    pub fn rolling_group(mut self, group: &crate::rolling::RollingGroup) -> Self {
        self.rolling_group = Some(group.name.clone());
        self
    }
    /// Whether the resource is protected.
    pub fn is_protected(&self) -> bool {
        self.protect
    }
}
