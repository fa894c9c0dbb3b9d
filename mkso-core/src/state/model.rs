//! The state's data model and how journal entries change it.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Recorded;
use crate::names::{StackName, Urn};
use crate::provider::ProviderRef;
use crate::stack::ResourceKind;

/// One resource as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceState {
    /// Its URN.
    pub urn: Urn,
    /// Its type token.
    #[serde(rename = "type")]
    pub type_token: String,
    /// Custom or component.
    pub kind: ResourceKind,
    /// The provider id (empty for components).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The inputs it was created or updated with (shared, not copied, by
    /// the plan and the outputs the program reads).
    #[serde(default)]
    pub inputs: Recorded,
    /// Its outputs (shared like `inputs`).
    #[serde(default)]
    pub outputs: Recorded,
    /// Direct dependencies only (state stays O(N)); stored relative to the
    /// stack's URN prefix (`type::name`), resolved on load.
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "relative_urns")]
    pub dependencies: Vec<Urn>,
    /// Its parent component.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Urn>,
    /// The provider instance that manages it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderRef>,
    /// Protected from deletion.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub protect: bool,
    /// Left in the cloud when deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub retain_on_delete: bool,
    /// Whether its inputs and outputs are secret as a whole (state written
    /// before secrets were per property, or a value secret as a whole).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// The secret input properties (sealed one by one when stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_inputs: Vec<String>,
    /// The secret output properties (sealed one by one when stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_outputs: Vec<String>,
    /// The old copy of a replaced resource, waiting to be deleted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pending_delete: bool,
}

/// Dependencies are written as `type::name` (the stack's URN prefix dropped)
/// and read back as given; `resolve_refs` then makes them whole again.
mod relative_urns {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::names::Urn;

    pub fn serialize<S: Serializer>(v: &[Urn], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(Urn::relative))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Urn>, D::Error> {
        Ok(Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|s| Urn::stored(&s))
            .collect())
    }
}

impl ResourceState {
    /// Makes stored (relative) dependency references whole URNs again.
    pub fn resolve_refs(&mut self) {
        for d in self.dependencies.iter_mut() {
            *d = self.urn.resolve(d.as_str());
        }
    }

    /// Whether anything in it is secret.
    pub fn has_secrets(&self) -> bool {
        self.secret || !self.secret_inputs.is_empty() || !self.secret_outputs.is_empty()
    }

    /// Which of its inputs are secret.
    pub fn input_secrets(&self) -> SecretProps {
        SecretProps::new(self.secret, self.secret_inputs.iter().cloned())
    }

    /// Which of its outputs are secret.
    pub fn output_secrets(&self) -> SecretProps {
        SecretProps::new(self.secret, self.secret_outputs.iter().cloned())
    }
}

/// Which properties of an object (a resource's inputs or outputs) are
/// secret: all of them, or the named top-level ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecretProps {
    /// Secret as a whole.
    pub all: bool,
    /// The secret top-level properties (when not `all`).
    pub keys: std::collections::BTreeSet<String>,
    /// Outputs: every one is secret (a provider that does not declare its
    /// secret outputs, for a resource with a secret input).
    pub all_outputs: bool,
    /// Outputs the provider declares secret.
    pub declared_outputs: Vec<String>,
}

impl SecretProps {
    /// `all`, or exactly `keys`.
    pub fn new(all: bool, keys: impl IntoIterator<Item = String>) -> Self {
        SecretProps {
            all,
            keys: if all {
                Default::default()
            } else {
                keys.into_iter().collect()
            },
            all_outputs: false,
            declared_outputs: Vec::new(),
        }
    }

    /// Adds what the provider says of the type's outputs
    /// ([`Provider::secret_outputs`](crate::provider::Provider::secret_outputs)):
    /// the outputs it declares secret, or — when it does not tell — every
    /// output of a resource with a secret input.
    #[must_use]
    pub fn with_declared_outputs(mut self, declared: Option<&[&str]>) -> Self {
        match declared {
            Some(list) => self.declared_outputs = list.iter().map(ToString::to_string).collect(),
            None => self.all_outputs = !self.is_empty(),
        }
        self
    }

    /// The secret outputs that hold a value in `outputs`: named like a
    /// secret input, declared secret by the provider, or all of them.
    pub fn output_keys_in(&self, outputs: &Value) -> Vec<String> {
        self.output_keys(outputs, false)
    }

    /// The secret outputs present in `outputs`, unset ones (`null`) too:
    /// what a record lists, so that a value filled in later (by `refresh`)
    /// is sealed as well.
    pub fn output_keys_of(&self, outputs: &Value) -> Vec<String> {
        self.output_keys(outputs, true)
    }

    fn output_keys(&self, outputs: &Value, with_null: bool) -> Vec<String> {
        if self.no_output_keys() {
            return Vec::new();
        }
        match outputs.as_object() {
            Some(o) if !self.all => o
                .iter()
                .filter(|(k, v)| {
                    (with_null || !v.is_null())
                        && (self.all_outputs
                            || self.keys.contains(k.as_str())
                            || self.declared_outputs.iter().any(|d| d == *k))
                })
                .map(|(k, _)| k.clone())
                .collect(),
            _ => Vec::new(),
        }
    }

    /// From an evaluated output: secret as a whole unless its secrecy is
    /// known per property.
    pub fn resolved(secret: bool, secret_keys: &[String]) -> Self {
        Self::new(
            secret && secret_keys.is_empty(),
            secret_keys.iter().cloned(),
        )
    }

    /// Whether [`keys_of`](Self::keys_of) and [`keys_in`](Self::keys_in)
    /// find nothing in any value (so the value need not be read).
    pub fn no_input_keys(&self) -> bool {
        self.all || self.keys.is_empty()
    }

    /// Whether [`output_keys_of`](Self::output_keys_of) and
    /// [`output_keys_in`](Self::output_keys_in) find nothing in any value.
    pub fn no_output_keys(&self) -> bool {
        self.all || (!self.all_outputs && self.keys.is_empty() && self.declared_outputs.is_empty())
    }

    /// Nothing secret.
    pub fn is_empty(&self) -> bool {
        !self.all && self.keys.is_empty()
    }

    /// Whether a top-level property is secret.
    pub fn contains(&self, key: &str) -> bool {
        self.all || self.keys.contains(key)
    }

    /// The secret keys that hold a value in `value` (an object), sorted (an
    /// unset property has nothing to hide).
    pub fn keys_in(&self, value: &Value) -> Vec<String> {
        self.keys_present(value, false)
    }

    /// The secret keys present in `value`, unset ones (`null`) too: what a
    /// record lists, so that a value filled in later (by `refresh`) is
    /// sealed as well. Sealing leaves `null` as it is.
    pub fn keys_of(&self, value: &Value) -> Vec<String> {
        self.keys_present(value, true)
    }

    fn keys_present(&self, value: &Value, with_null: bool) -> Vec<String> {
        match value.as_object() {
            Some(o) if !self.all => self
                .keys
                .iter()
                .filter(|k| o.get(k.as_str()).is_some_and(|v| with_null || !v.is_null()))
                .cloned()
                .collect(),
            _ => Vec::new(),
        }
    }

    /// `value` with its secret parts replaced by `mask`.
    pub fn mask(&self, value: &Value, mask: &Value) -> Value {
        if self.all {
            return mask.clone();
        }
        match value {
            Value::Object(o) if !self.keys.is_empty() => Value::Object(
                o.iter()
                    .map(|(k, v)| {
                        let v = if self.keys.contains(k) && !v.is_null() {
                            mask.clone()
                        } else {
                            v.clone()
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            v => v.clone(),
        }
    }
}

impl PendingOperation {
    /// Makes stored (relative) dependency references whole URNs again.
    pub fn resolve_refs(&mut self) {
        for d in self.dependencies.iter_mut() {
            *d = self.urn.resolve(d.as_str());
        }
    }
}

impl Snapshot {
    /// Makes stored (relative) references whole URNs again (after reading).
    pub fn resolve_refs(&mut self) {
        self.resources
            .iter_mut()
            .for_each(ResourceState::resolve_refs);
        self.pending
            .iter_mut()
            .for_each(PendingOperation::resolve_refs);
    }
}

impl JournalEntry {
    /// Makes stored (relative) references whole URNs again (after reading).
    pub fn resolve_refs(&mut self) {
        match self {
            JournalEntry::Begin { op } => op.resolve_refs(),
            JournalEntry::Upsert { resource, .. } | JournalEntry::Replaced { resource, .. } => {
                resource.resolve_refs()
            }
            _ => {}
        }
    }
}

/// The kind of operation in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PendingOp {
    /// A create (its result not recorded yet).
    Create,
    /// An update.
    Update,
    /// A delete.
    Delete,
}

/// A provider call that was started but whose end is not recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PendingOperation {
    /// Its number in this stack's journal.
    pub op_id: u64,
    /// What was being done.
    pub op: PendingOp,
    /// The resource.
    pub urn: Urn,
    /// Its type.
    #[serde(rename = "type")]
    pub type_token: String,
    /// The provider id (update, delete).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// The inputs sent (create, update).
    #[serde(default)]
    pub inputs: Value,
    /// Its dependencies (stored relative, like a resource's).
    #[serde(default, skip_serializing_if = "Vec::is_empty", with = "relative_urns")]
    pub dependencies: Vec<Urn>,
    /// Its parent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Urn>,
    /// The provider instance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<ProviderRef>,
    /// Whether the inputs are secret as a whole (encrypted when stored).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// The secret input properties (encrypted one by one when stored).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_inputs: Vec<String>,
}

/// The compacted state of a stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The stack.
    pub stack: StackName,
    /// The project the stack belongs to (absent in state written before
    /// projects were recorded); a program of another project refuses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Increases by one with every compaction.
    pub serial: u64,
    /// The mkso version that wrote it.
    pub mkso_version: String,
    /// When it was written (RFC 3339).
    pub written_at: String,
    /// Resources, sorted by URN (a replaced resource's old copy follows the new one).
    pub resources: Vec<ResourceState>,
    /// Stack outputs.
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
    /// Names of stack outputs that are secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_outputs: Vec<String>,
    /// Operations in flight when the last update stopped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingOperation>,
}

/// A [`Snapshot`] that borrows from a [`StateView`]; serializes identically.
#[derive(Debug, Serialize)]
pub struct SnapshotRef<'a> {
    stack: &'a StackName,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: &'a Option<String>,
    serial: u64,
    mkso_version: &'static str,
    written_at: String,
    resources: Vec<&'a ResourceState>,
    outputs: &'a BTreeMap<String, Value>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secret_outputs: &'a Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pending: Vec<&'a PendingOperation>,
}

impl SnapshotRef<'_> {
    /// Whether anything in it is secret.
    pub fn has_secrets(&self) -> bool {
        self.resources.iter().any(|r| r.has_secrets())
            || self
                .pending
                .iter()
                .any(|p| p.secret || !p.secret_inputs.is_empty())
            || !self.secret_outputs.is_empty()
    }
}

/// One journal record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum JournalEntry {
    /// The first entry: the snapshot serial the journal applies to.
    Base {
        /// The snapshot's serial.
        serial: u64,
        /// The project of the program that wrote it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        project: Option<String>,
    },
    /// A provider call is about to start.
    Begin {
        /// The operation.
        op: PendingOperation,
    },
    /// A resource now looks like this (created, updated, imported, adopted).
    Upsert {
        /// The operation it ends, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op_id: Option<u64>,
        /// The record.
        resource: ResourceState,
    },
    /// A replacement was created: the current record becomes a pending delete.
    Replaced {
        /// The operation it ends.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op_id: Option<u64>,
        /// The new record.
        resource: ResourceState,
    },
    /// A resource was renamed (alias): its record moves to a new URN.
    Renamed {
        /// The old URN.
        from: Urn,
        /// The new URN.
        to: Urn,
    },
    /// A resource was deleted (or forgotten).
    Removed {
        /// The operation it ends, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        op_id: Option<u64>,
        /// The URN.
        urn: Urn,
        /// The id of the copy that was deleted.
        id: String,
    },
    /// An operation ended without changing the resource (it failed).
    Ended {
        /// The operation.
        op_id: u64,
    },
    /// The stack outputs.
    Outputs {
        /// The values.
        outputs: BTreeMap<String, Value>,
        /// Names of the secret ones.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        secret: Vec<String>,
    },
}

/// The state in memory, where journal entries apply in O(1).
#[derive(Debug, Clone)]
pub struct StateView {
    /// The stack.
    pub stack: StackName,
    /// The project it belongs to, when recorded.
    pub project: Option<String>,
    /// The serial of the snapshot it was loaded from.
    pub serial: u64,
    /// Live resources.
    pub live: HashMap<Urn, ResourceState>,
    /// Old copies of replaced resources, waiting to be deleted, by (URN, id).
    pub pending_deletes: BTreeMap<(Urn, String), ResourceState>,
    /// Operations in flight.
    pub pending: BTreeMap<u64, PendingOperation>,
    /// Stack outputs.
    pub outputs: BTreeMap<String, Value>,
    /// Names of the secret stack outputs.
    pub secret_outputs: Vec<String>,
}

impl StateView {
    /// An empty state.
    pub fn empty(stack: StackName) -> Self {
        StateView {
            stack,
            project: None,
            serial: 0,
            live: HashMap::new(),
            pending_deletes: BTreeMap::new(),
            pending: BTreeMap::new(),
            outputs: BTreeMap::new(),
            secret_outputs: Vec::new(),
        }
    }

    /// From a snapshot.
    pub fn from_snapshot(s: Snapshot) -> Self {
        let mut v = StateView::empty(s.stack);
        v.project = s.project;
        v.serial = s.serial;
        for r in s.resources {
            if r.pending_delete {
                v.pending_deletes.insert((r.urn.clone(), r.id.clone()), r);
            } else {
                v.live.insert(r.urn.clone(), r);
            }
        }
        v.pending = s.pending.into_iter().map(|p| (p.op_id, p)).collect();
        v.outputs = s.outputs;
        v.secret_outputs = s.secret_outputs;
        v
    }

    /// The number of resources (live and pending deletes).
    pub fn len(&self) -> usize {
        self.live.len() + self.pending_deletes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next free operation number.
    pub fn next_op_id(&self) -> u64 {
        self.pending.keys().next_back().map_or(1, |k| k + 1)
    }

    /// Applies one journal entry.
    pub fn apply(&mut self, e: JournalEntry) {
        match e {
            JournalEntry::Base { .. } => {}
            JournalEntry::Begin { op } => {
                self.pending.insert(op.op_id, op);
            }
            JournalEntry::Upsert { op_id, resource } => {
                if let Some(id) = op_id {
                    self.pending.remove(&id);
                }
                // A record live again (a rollback's restore) is no longer
                // an old copy to delete.
                self.pending_deletes
                    .remove(&(resource.urn.clone(), resource.id.clone()));
                self.live.insert(resource.urn.clone(), resource);
            }
            JournalEntry::Replaced { op_id, resource } => {
                if let Some(id) = op_id {
                    self.pending.remove(&id);
                }
                self.pending_deletes
                    .remove(&(resource.urn.clone(), resource.id.clone()));
                if let Some(mut old) = self.live.remove(&resource.urn) {
                    old.pending_delete = true;
                    self.pending_deletes
                        .insert((old.urn.clone(), old.id.clone()), old);
                }
                self.live.insert(resource.urn.clone(), resource);
            }
            JournalEntry::Renamed { from, to } => {
                if let Some(mut r) = self.live.remove(&from) {
                    r.urn = to.clone();
                    self.live.insert(to, r);
                }
            }
            JournalEntry::Removed { op_id, urn, id } => {
                if let Some(op) = op_id {
                    self.pending.remove(&op);
                }
                let was_old_copy = self
                    .pending_deletes
                    .remove(&(urn.clone(), id.clone()))
                    .is_some();
                if !was_old_copy && self.live.get(&urn).is_some_and(|r| r.id == id) {
                    self.live.remove(&urn);
                }
            }
            JournalEntry::Ended { op_id } => {
                self.pending.remove(&op_id);
            }
            JournalEntry::Outputs { outputs, secret } => {
                self.outputs = outputs;
                self.secret_outputs = secret;
            }
        }
    }

    /// The compacted snapshot, borrowing the records (no copy of the state).
    pub fn snapshot_ref(&self, serial: u64) -> SnapshotRef<'_> {
        let mut resources: Vec<&ResourceState> = self
            .live
            .values()
            .chain(self.pending_deletes.values())
            .collect();
        resources.sort_by(|a, b| {
            a.urn
                .cmp(&b.urn)
                .then(a.pending_delete.cmp(&b.pending_delete))
        });
        SnapshotRef {
            stack: &self.stack,
            project: &self.project,
            serial,
            mkso_version: env!("CARGO_PKG_VERSION"),
            written_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            resources,
            outputs: &self.outputs,
            secret_outputs: &self.secret_outputs,
            pending: self.pending.values().collect(),
        }
    }

    /// The compacted snapshot (resources sorted by URN).
    pub fn to_snapshot(&self, serial: u64) -> Snapshot {
        let mut resources: Vec<ResourceState> = self
            .live
            .values()
            .cloned()
            .chain(self.pending_deletes.values().cloned())
            .collect();
        resources.sort_by(|a, b| {
            a.urn
                .cmp(&b.urn)
                .then(a.pending_delete.cmp(&b.pending_delete))
        });
        Snapshot {
            stack: self.stack.clone(),
            project: self.project.clone(),
            serial,
            mkso_version: env!("CARGO_PKG_VERSION").to_string(),
            written_at: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            resources,
            outputs: self.outputs.clone(),
            secret_outputs: self.secret_outputs.clone(),
            pending: self.pending.values().cloned().collect(),
        }
    }
}
