//! Steps are types: what the plan decided for one resource, one type per
//! kind of step, each holding exactly the values that kind needs (a create
//! has no recorded inputs, a delete no new ones, only a replacement has
//! replace-forcing properties), each with its own apply (in `apply.rs`).
//!
//! The same types describe the step at both ends: `plan_update` builds
//! them from the provider's diff with what is known before anything runs,
//! and apply builds them again once every input is known; apply then runs
//! the new step only when it does no more than the planned one
//! ([`StepAction::permits`], Terraform's inconsistent-plan rule).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::events::Op;
use crate::names::Urn;
use crate::state::Recorded;
use crate::typed::PropertyChange;

/// A resource that stays as it is (its recorded inputs are its inputs now,
/// but for properties the diff ignores).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SameStep {
    /// Its inputs now, as far as known (`None`: not evaluated, a resource
    /// outside `--target`).
    pub new_inputs: Option<Recorded>,
    /// Its recorded outputs, which stay (`None`: a resource outside
    /// `--target` that does not exist yet).
    pub outputs: Option<Recorded>,
}

/// A new resource.
#[derive(Debug, Clone, Serialize)]
pub struct CreateStep {
    /// Its inputs as far as known (fields may hold the unknown marker).
    pub inputs: Value,
    /// Its outputs, if known before it exists (a component's registered ones).
    pub planned_outputs: Option<Value>,
}

/// A resource changed in place.
#[derive(Debug, Clone, Serialize)]
pub struct UpdateStep {
    /// The top-level input properties that change.
    pub changed: Vec<String>,
    /// The provider's nested, per-property changes (when it tells).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub property_changes: Vec<PropertyChange>,
    /// Recorded inputs.
    pub old_inputs: Recorded,
    /// New inputs as far as known.
    pub new_inputs: Value,
    /// Recorded outputs.
    pub old_outputs: Recorded,
    /// Outputs after the update (`None`: known after apply).
    pub planned_outputs: Option<Value>,
}

/// A resource replaced by a new copy.
#[derive(Debug, Clone, Serialize)]
pub struct ReplaceStep {
    /// The top-level input properties that change.
    pub changed: Vec<String>,
    /// The properties that force the replacement (never empty).
    pub replace_keys: Vec<String>,
    /// Of `replace_keys`, those whose new value is unknown at plan time,
    /// each with the upstream resources it waits on (`subnet_id` →
    /// `subnet` when `subnet` is replaced).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub unknown_until: BTreeMap<String, Vec<Urn>>,
    /// The old copy is deleted before the new one is created (the
    /// `delete_before_replace` option, or the provider's answer for
    /// content-identified resources); otherwise the new copy is created
    /// first and the old one deleted in the clean-up phase.
    pub delete_before_replace: bool,
    /// The provider's nested, per-property changes (when it tells).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub property_changes: Vec<PropertyChange>,
    /// Recorded inputs.
    pub old_inputs: Recorded,
    /// New inputs as far as known.
    pub new_inputs: Value,
    /// Recorded outputs.
    pub old_outputs: Recorded,
    /// Outputs of the new copy (`None`: known after apply).
    pub planned_outputs: Option<Value>,
}

/// A recorded resource removed (the program no longer declares it, or it is
/// the old copy of a replaced one).
#[derive(Debug, Clone, Serialize)]
pub struct DeleteStep {
    /// Its recorded inputs.
    pub inputs: Recorded,
    /// Its recorded outputs.
    pub outputs: Recorded,
    /// It is the old copy of a replaced resource.
    pub replaced_copy: bool,
}

/// An existing cloud resource adopted by id (the `import` option); apply
/// reads it, and updates it in place where the program differs in
/// properties that can change in place.
#[derive(Debug, Clone, Serialize)]
pub struct ImportStep {
    /// The cloud id to adopt.
    pub id: String,
    /// The program's inputs as far as known.
    pub inputs: Value,
}

/// What a planned step does: one variant per kind.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StepAction {
    /// Nothing changes.
    Same(SameStep),
    /// Create it.
    Create(CreateStep),
    /// Update it in place.
    Update(Box<UpdateStep>),
    /// Replace it.
    Replace(Box<ReplaceStep>),
    /// Delete it.
    Delete(DeleteStep),
    /// Adopt an existing cloud resource.
    Import(ImportStep),
}

const NO_KEYS: &[String] = &[];

impl StepAction {
    /// Its kind.
    pub fn op(&self) -> Op {
        match self {
            StepAction::Same(_) => Op::Same,
            StepAction::Create(_) => Op::Create,
            StepAction::Update(_) => Op::Update,
            StepAction::Replace(_) => Op::Replace,
            StepAction::Delete(_) => Op::Delete,
            StepAction::Import(_) => Op::Import,
        }
    }

    /// The top-level input properties that change (update, replace).
    pub fn changed(&self) -> &[String] {
        match self {
            StepAction::Update(u) => &u.changed,
            StepAction::Replace(r) => &r.changed,
            _ => NO_KEYS,
        }
    }

    /// The properties that force a replacement (empty unless a replace).
    pub fn replace_keys(&self) -> &[String] {
        match self {
            StepAction::Replace(r) => &r.replace_keys,
            _ => NO_KEYS,
        }
    }

    /// Recorded inputs (of an update, a replacement or a delete).
    pub fn old_inputs(&self) -> Option<&Value> {
        match self {
            StepAction::Update(u) => Some(&u.old_inputs),
            StepAction::Replace(r) => Some(&r.old_inputs),
            StepAction::Delete(d) => Some(&d.inputs),
            StepAction::Same(_) | StepAction::Create(_) | StepAction::Import(_) => None,
        }
    }

    /// New inputs as far as known (fields may hold the unknown marker).
    pub fn new_inputs(&self) -> Option<&Value> {
        match self {
            StepAction::Same(s) => s.new_inputs.as_deref(),
            StepAction::Create(c) => Some(&c.inputs),
            StepAction::Update(u) => Some(&u.new_inputs),
            StepAction::Replace(r) => Some(&r.new_inputs),
            StepAction::Import(i) => Some(&i.inputs),
            StepAction::Delete(_) => None,
        }
    }

    /// Recorded outputs.
    pub fn old_outputs(&self) -> Option<&Value> {
        match self {
            StepAction::Same(s) => s.outputs.as_deref(),
            StepAction::Update(u) => Some(&u.old_outputs),
            StepAction::Replace(r) => Some(&r.old_outputs),
            StepAction::Delete(d) => Some(&d.outputs),
            StepAction::Create(_) | StepAction::Import(_) => None,
        }
    }

    /// Outputs after the step, as far as known (`None`: known after apply).
    pub fn planned_outputs(&self) -> Option<&Value> {
        match self {
            StepAction::Same(s) => s.outputs.as_deref(),
            StepAction::Create(c) => c.planned_outputs.as_ref(),
            StepAction::Update(u) => u.planned_outputs.as_ref(),
            StepAction::Replace(r) => r.planned_outputs.as_ref(),
            StepAction::Delete(_) | StepAction::Import(_) => None,
        }
    }

    /// [`planned_outputs`](Self::planned_outputs) when `read`; otherwise the
    /// recorded outputs of a step that keeps them are not read (they may
    /// still be unparsed text) and an empty object stands for them.
    pub fn planned_outputs_if(&self, read: bool) -> Option<&Value> {
        static EMPTY: std::sync::LazyLock<Value> =
            std::sync::LazyLock::new(|| Value::Object(Default::default()));
        match self {
            StepAction::Same(s) if !read => s.outputs.as_ref().map(|_| &*EMPTY),
            _ => self.planned_outputs(),
        }
    }

    /// The provider's nested per-property changes.
    pub fn property_changes(&self) -> &[PropertyChange] {
        match self {
            StepAction::Update(u) => &u.property_changes,
            StepAction::Replace(r) => &r.property_changes,
            _ => &[],
        }
    }

    /// A replacement that deletes the old copy first.
    pub fn delete_before_replace(&self) -> bool {
        matches!(self, StepAction::Replace(r) if r.delete_before_replace)
    }

    /// Of a replacement's replace-forcing properties, those unknown at plan
    /// time with the upstream resources they wait on.
    pub fn unknown_until(&self) -> Option<&BTreeMap<String, Vec<Urn>>> {
        match self {
            StepAction::Replace(r) => Some(&r.unknown_until),
            _ => None,
        }
    }

    /// A delete of the old copy of a replaced resource.
    pub fn replaced_copy(&self) -> bool {
        matches!(self, StepAction::Delete(d) if d.replaced_copy)
    }
}
