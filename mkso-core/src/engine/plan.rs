//! Planning: diff each declared resource against the recorded state through
//! its provider and decide a step (same / create / update / replace / delete /
//! import), evaluating inputs with what is known before anything is applied.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::EngineOptions;
use super::events::{Op, StepSummary};
use super::graph::{DepGraph, topo_order};
use super::step::{
    CreateStep, DeleteStep, ImportStep, ReplaceStep, SameStep, StepAction, UpdateStep,
};
use crate::error::Error;
use crate::names::{StackName, Urn};
use crate::output::{ResolvedResource, Resolver, UNKNOWN, contains_unknown};
use crate::provider::{
    CheckRequest, DiffRequest, Provider, ProviderRef, ProviderRegistry, ResourceIdentity,
    package_of,
};
use crate::stack::{Declared, ProgramGraph, ResourceKind};
use crate::state::{Recorded, ResourceState, SecretProps, StateView};

/// Resource values known so far, by URN (shared with outputs being evaluated).
#[derive(Default)]
pub(crate) struct MapResolver(pub RwLock<HashMap<Urn, ResolvedResource>>);

impl Resolver for MapResolver {
    fn resource(&self, urn: &Urn) -> Option<ResolvedResource> {
        self.0
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(urn)
            .cloned()
    }
}

impl MapResolver {
    pub(crate) fn insert(&self, urn: Urn, r: ResolvedResource) {
        self.0
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(urn, r);
    }
}

pub(crate) fn resolved_from_state(r: &ResourceState) -> ResolvedResource {
    ResolvedResource {
        id: (!r.id.is_empty()).then(|| r.id.clone()),
        outputs: r.outputs.clone(),
        secret: r.secret,
        secret_outputs: r.secret_outputs.clone(),
    }
}

/// Which inputs of a declared resource are secret: what the program marks
/// secret now, plus the properties its record kept secret (once secret, a
/// property stays sealed). A record secret as a whole (written before
/// secrets were per property) stays so until the program marks secrets per
/// property.
pub(crate) fn input_secrets(
    secret: bool,
    secret_keys: &[String],
    old: Option<&ResourceState>,
) -> SecretProps {
    let mut s = SecretProps::resolved(secret, secret_keys);
    if let Some(o) = old
        && !s.all
    {
        if o.secret && s.keys.is_empty() {
            s.all = true;
        } else {
            s.keys.extend(o.secret_inputs.iter().cloned());
            // A component's "inputs" are its registered outputs.
            if o.kind == ResourceKind::Component {
                s.keys.extend(o.secret_outputs.iter().cloned());
            }
        }
    }
    s
}

impl PlannedStep {
    /// Which of its inputs are secret.
    pub fn input_secrets(&self) -> SecretProps {
        SecretProps::new(self.secret, self.secret_inputs.iter().cloned())
    }
    /// Which of its outputs are secret.
    pub fn output_secrets(&self) -> SecretProps {
        SecretProps::new(self.secret, self.secret_outputs.iter().cloned())
    }

    /// Whether it has a secret value to record (a secret property that is
    /// unset needs no sealing; outputs known only after apply may).
    pub fn has_secret_values(&self) -> bool {
        let inputs = self.input_secrets();
        let outputs = self.output_secrets();
        let a = &self.action;
        // (Recorded values are read only when some key could be secret.)
        self.secret
            || (!inputs.no_input_keys()
                && [a.new_inputs(), a.old_inputs()]
                    .into_iter()
                    .flatten()
                    .any(|v| !inputs.keys_in(v).is_empty()))
            || match a.planned_outputs_if(!outputs.no_output_keys()) {
                None => !self.secret_outputs.is_empty(),
                Some(o) => !outputs.keys_in(o).is_empty(),
            }
            || (!outputs.no_output_keys()
                && a.old_outputs()
                    .is_some_and(|o| !outputs.keys_in(o).is_empty()))
    }
}

/// What a plan is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanKind {
    /// Bring the cloud to what the program declares.
    Update,
    /// Delete everything in the stack.
    Destroy,
}

/// One planned step: the resource, and what happens to it ([`StepAction`],
/// one type per kind of step).
#[derive(Debug, Clone, Serialize)]
pub struct PlannedStep {
    /// The resource.
    pub urn: Urn,
    /// Its nested name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub type_token: String,
    /// Custom or component.
    pub kind: ResourceKind,
    /// What will happen, with the values that kind of step needs.
    #[serde(flatten)]
    pub action: StepAction,
    /// Its parent.
    pub parent: Option<Urn>,
    /// Its direct dependencies.
    pub dependencies: Vec<Urn>,
    /// The former URN, for a rename through an alias.
    pub renamed_from: Option<Urn>,
    /// Whether values are secret as a whole (they are never shown).
    pub secret: bool,
    /// The secret input properties (never shown; the others are).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_inputs: Vec<String>,
    /// The secret output properties.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub secret_outputs: Vec<String>,
    /// The declaration this step comes from (`None` for deletes).
    #[serde(skip)]
    pub declared: Option<usize>,
    /// `false` when `--target` leaves the resource alone.
    pub targeted: bool,
}

impl PlannedStep {
    /// What will happen.
    pub fn op(&self) -> Op {
        self.action.op()
    }

    /// Input properties that change (an update's or a replacement's).
    pub fn changed(&self) -> &[String] {
        self.action.changed()
    }

    /// Properties that force a replacement (empty unless a replacement).
    pub fn replace_keys(&self) -> &[String] {
        self.action.replace_keys()
    }

    /// A replacement that deletes the old resource before creating the new
    /// one (the `delete_before_replace` option, or the provider's answer).
    pub fn delete_before_replace(&self) -> bool {
        self.action.delete_before_replace()
    }

    /// Whether it deletes the old copy of a replaced resource.
    pub fn replaced_copy(&self) -> bool {
        self.action.replaced_copy()
    }

    /// The summary shown in events.
    pub fn summary(&self) -> StepSummary {
        StepSummary {
            urn: self.urn.clone(),
            type_token: self.type_token.clone(),
            op: self.op(),
            changed: self.changed().to_vec(),
            replace_keys: self.replace_keys().to_vec(),
            unknown_until: self.action.unknown_until().cloned().unwrap_or_default(),
            delete_before_replace: self.delete_before_replace(),
        }
    }
}

/// A plan: the steps in execution order, then the clean-up deletes.
#[derive(Debug, Serialize)]
pub struct Plan {
    /// The stack.
    pub stack: StackName,
    /// Update or destroy.
    pub kind: PlanKind,
    /// Steps for declared resources, in dependency order.
    pub steps: Vec<PlannedStep>,
    /// Deletes of removed resources and old copies, dependents first.
    pub deletes: Vec<PlannedStep>,
    /// Stack outputs as far as known (`None`: known after apply).
    pub outputs: BTreeMap<String, Option<Value>>,
    /// Stack outputs that are secret.
    pub secret_outputs: Vec<String>,
    /// Stack outputs before the update.
    pub old_outputs: BTreeMap<String, Value>,
    /// Notes for the user.
    pub diagnostics: Vec<String>,
    /// The rolling groups whose members change, with their batches.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollouts: Vec<super::rollout::Rollout>,
    #[serde(skip)]
    pub(crate) deps: Vec<Vec<usize>>,
}

impl Plan {
    /// All steps: declared ones, then deletes.
    pub fn all_steps(&self) -> impl Iterator<Item = &PlannedStep> {
        self.steps.iter().chain(self.deletes.iter())
    }

    /// Steps per operation (`same` included), targeted steps only.
    pub fn changes(&self) -> BTreeMap<Op, usize> {
        let mut m = BTreeMap::new();
        for s in self.all_steps().filter(|s| s.targeted) {
            *m.entry(s.op()).or_insert(0) += 1;
        }
        m
    }

    /// Whether anything would change (resources or stack outputs).
    pub fn has_changes(&self) -> bool {
        self.all_steps().any(|s| s.targeted && s.op().is_change()) || self.outputs_change()
    }

    /// Whether the stack outputs would change.
    pub fn outputs_change(&self) -> bool {
        if self.kind == PlanKind::Destroy {
            return !self.old_outputs.is_empty();
        }
        self.outputs.len() != self.old_outputs.len()
            || self
                .outputs
                .iter()
                .any(|(k, v)| v.as_ref() != self.old_outputs.get(k))
    }

    /// The changes as event summaries.
    pub fn summaries(&self) -> Vec<StepSummary> {
        self.all_steps()
            .filter(|s| s.targeted && s.op().is_change())
            .map(PlannedStep::summary)
            .collect()
    }
}

/// Sets the ignored properties of `new` to their recorded values.
pub(crate) fn apply_ignore_changes(new: &mut Value, old: &Recorded, ignore: &[String]) {
    if ignore.is_empty() {
        return;
    }
    if let (Some(n), Some(o)) = (new.as_object_mut(), old.as_object()) {
        for k in ignore {
            match o.get(k) {
                Some(v) => {
                    n.insert(k.clone(), v.clone());
                }
                None => {
                    n.remove(k);
                }
            }
        }
    }
}

pub(crate) fn provider_ref(d: &Declared) -> ProviderRef {
    ProviderRef {
        package: package_of(&d.type_token).to_string(),
        name: d.options.provider.clone(),
    }
}

pub(crate) fn provider_for(
    providers: &ProviderRegistry,
    name: &str,
    type_token: &str,
    r: &ProviderRef,
) -> Result<Arc<dyn Provider>, Error> {
    providers.get(r).ok_or_else(|| Error::NoProvider {
        name: name.to_string(),
        type_token: type_token.to_string(),
        provider: r.to_string(),
    })
}

/// Resolves `--target` values (URNs or names) against declared and recorded resources.
pub(crate) fn resolve_targets(
    targets: &[String],
    declared: &[Declared],
    state: &StateView,
) -> Result<HashSet<Urn>, Error> {
    let mut out = HashSet::new();
    for t in targets {
        let found: Vec<Urn> = declared
            .iter()
            .map(|d| &d.urn)
            .chain(state.live.keys())
            .filter(|u| u.as_str() == t || u.name() == t)
            .cloned()
            .collect();
        if found.is_empty() {
            return Err(Error::UnknownTarget { target: t.clone() });
        }
        out.extend(found);
    }
    Ok(out)
}

/// Decides the step of a custom resource given its new inputs (at plan
/// time as far as they are known; at apply time all known).
pub(crate) async fn decide(
    provider: &Arc<dyn Provider>,
    identity: &ResourceIdentity,
    d: &Declared,
    old: Option<&ResourceState>,
    new_inputs: Value,
) -> Result<StepAction, Error> {
    let check = provider
        .check(CheckRequest {
            identity: identity.clone(),
            inputs: new_inputs.clone(),
        })
        .await
        .map_err(|e| Error::Provider {
            op: "check",
            name: d.name.clone(),
            source: Box::new(e),
        })?;
    if !check.failures.is_empty() {
        return Err(Error::InvalidInputs {
            name: d.name.clone(),
            type_token: d.type_token.clone(),
            failures: check.failures,
        });
    }
    let Some(old) = old else {
        return Ok(match &d.options.import {
            Some(id) => StepAction::Import(ImportStep {
                id: id.clone(),
                inputs: new_inputs,
            }),
            None => StepAction::Create(CreateStep {
                inputs: new_inputs,
                planned_outputs: None,
            }),
        });
    };
    let resp = provider
        .diff(DiffRequest {
            identity: identity.clone(),
            id: old.id.clone(),
            old_inputs: old.inputs.to_value(),
            old_outputs: old.outputs.to_value(),
            new_inputs: new_inputs.clone(),
        })
        .await
        .map_err(|e| Error::Provider {
            op: "diff",
            name: d.name.clone(),
            source: Box::new(e),
        })?;
    let mut replace_keys = resp.replace.clone();
    for k in &resp.changed {
        if d.options
            .replace_on_changes
            .iter()
            .any(|r| r == k || r == "*")
            && !replace_keys.contains(k)
        {
            replace_keys.push(k.clone());
        }
    }
    replace_keys.sort();
    if !replace_keys.is_empty() {
        if old.protect || d.options.protect {
            return Err(Error::Protected {
                name: d.name.clone(),
                action: "replaced",
            });
        }
        return Ok(StepAction::Replace(Box::new(ReplaceStep {
            delete_before_replace: d.options.delete_before_replace || resp.delete_before_replace,
            changed: resp.changed,
            replace_keys,
            unknown_until: BTreeMap::new(),
            property_changes: resp.details,
            old_inputs: old.inputs.clone(),
            new_inputs,
            old_outputs: old.outputs.clone(),
            planned_outputs: resp.planned_outputs,
        })));
    }
    if resp.has_changes() {
        return Ok(StepAction::Update(Box::new(UpdateStep {
            changed: resp.changed,
            property_changes: resp.details,
            old_inputs: old.inputs.clone(),
            new_inputs,
            old_outputs: old.outputs.clone(),
            planned_outputs: resp.planned_outputs,
        })));
    }
    // Unchanged inputs share the record's copy instead of keeping their own.
    let new_inputs = if old.inputs.same_as(&new_inputs) {
        old.inputs.clone()
    } else {
        Recorded::new(new_inputs)
    };
    Ok(StepAction::Same(SameStep {
        new_inputs: Some(new_inputs),
        outputs: Some(old.outputs.clone()),
    }))
}

/// Answers for one resource with the given values, and for the others as
/// `base` does.
struct Overlay {
    base: Arc<MapResolver>,
    urn: Urn,
    with: ResolvedResource,
}

impl Resolver for Overlay {
    fn resource(&self, urn: &Urn) -> Option<ResolvedResource> {
        if *urn == self.urn {
            Some(self.with.clone())
        } else {
            self.base.resource(urn)
        }
    }
}

/// For each of `replace_keys` whose new value is unknown: the upstream
/// resources it waits on. An upstream whose values are not all known at plan
/// time (created, imported, replaced, or updated with outputs known only after
/// apply) is a cause of a property when the property becomes known once that
/// upstream is taken to keep its recorded values. When no single upstream
/// explains it (it reads several), all such upstreams are named.
/// `step_of` finds an upstream's (already planned) step and its record.
async fn unknown_until<'a>(
    d: &Declared,
    inputs: &Value,
    replace_keys: &[String],
    resolver: &Arc<MapResolver>,
    step_of: impl Fn(&Urn) -> Option<(&'a PlannedStep, Option<&'a ResourceState>)>,
) -> BTreeMap<String, Vec<Urn>> {
    let unknown = |inputs: &Value, k: &str| match inputs.get(k) {
        Some(v) => contains_unknown(v),
        None => contains_unknown(inputs),
    };
    let keys: Vec<&String> = replace_keys.iter().filter(|k| unknown(inputs, k)).collect();
    let mut out = BTreeMap::new();
    if keys.is_empty() {
        return out;
    }
    let candidates: Vec<(&PlannedStep, Option<&ResourceState>)> = d
        .inputs
        .dependencies()
        .iter()
        .filter_map(&step_of)
        .filter(|(s, _)| {
            matches!(s.op(), Op::Create | Op::Import | Op::Replace)
                || s.action.planned_outputs().is_none_or(contains_unknown)
        })
        .collect();
    if candidates.is_empty() {
        return out;
    }
    // The inputs with each upstream taken to keep its recorded values.
    let mut kept: Vec<(&Urn, Value)> = Vec::new();
    for (s, old) in &candidates {
        let Some(old) = old else { continue };
        let overlay: Arc<dyn Resolver> = Arc::new(Overlay {
            base: resolver.clone(),
            urn: s.urn.clone(),
            with: resolved_from_state(old),
        });
        if let Ok(r) = d.inputs.resolve(overlay).await {
            kept.push((&s.urn, r.value.unwrap_or(Value::Null)));
        }
    }
    for k in keys {
        let mut causes: Vec<Urn> = kept
            .iter()
            .filter(|(_, v)| !v.is_null() && !unknown(v, k))
            .map(|(u, _)| (*u).clone())
            .collect();
        if causes.is_empty() {
            causes = candidates.iter().map(|(s, _)| s.urn.clone()).collect();
        }
        causes.sort();
        causes.dedup();
        out.insert(k.clone(), causes);
    }
    out
}

fn alias_urn(d: &Declared, alias: &str) -> Option<Urn> {
    if alias.starts_with("urn:") {
        return Urn::parse(alias);
    }
    let name = match &d.options.parent {
        Some(p) => format!("{}/{alias}", p.name()),
        None => alias.to_string(),
    };
    Some(d.urn.with_name(&name))
}

/// Plans an update of `state` to what `graph` declares.
pub async fn plan_update(
    graph: &ProgramGraph,
    state: &StateView,
    opts: &EngineOptions,
) -> Result<Plan, Error> {
    let declared = &graph.resources;
    let dg = DepGraph::build(declared)?;
    let mut diagnostics = Vec::new();

    // --target: the targets and everything they depend on.
    let targeted: Option<HashSet<usize>> = if opts.targets.is_empty() {
        None
    } else {
        let urns = resolve_targets(&opts.targets, declared, state)?;
        let mut set = HashSet::new();
        let mut stack: Vec<usize> = urns
            .iter()
            .filter_map(|u| dg.index.get(u).copied())
            .collect();
        while let Some(i) = stack.pop() {
            if set.insert(i) {
                stack.extend(dg.deps[i].iter().copied());
            }
        }
        Some(set)
    };
    let target_urns: Option<HashSet<Urn>> = if opts.targets.is_empty() {
        None
    } else {
        Some(resolve_targets(&opts.targets, declared, state)?)
    };

    // Renames through aliases.
    let mut renamed: HashMap<usize, Urn> = HashMap::new();
    let mut claimed: HashSet<Urn> = HashSet::new();
    for (i, d) in declared.iter().enumerate() {
        if state.live.contains_key(&d.urn) {
            continue;
        }
        for a in &d.options.aliases {
            if let Some(old) = alias_urn(d, a)
                && state.live.contains_key(&old)
                && !dg.index.contains_key(&old)
                && claimed.insert(old.clone())
            {
                renamed.insert(i, old);
                break;
            }
        }
    }

    // Which resources' values dependents or stack outputs read.
    let mut needed: HashSet<Urn> = HashSet::new();
    for d in declared {
        needed.extend(d.dependencies());
        if let Some(p) = &d.options.parent {
            needed.insert(p.clone());
        }
    }
    for (_, o) in &graph.exports {
        needed.extend(o.dependencies().iter().cloned());
    }

    let resolver = Arc::new(MapResolver::default());
    let dyn_resolver: Arc<dyn Resolver> = resolver.clone();
    let mut invalid: Vec<Error> = Vec::new();
    let mut steps = Vec::with_capacity(declared.len());
    let mut index_of_step = vec![0usize; declared.len()];
    for &i in &dg.order {
        let d = &declared[i];
        let old = state
            .live
            .get(&d.urn)
            .or_else(|| renamed.get(&i).and_then(|u| state.live.get(u)));
        let is_targeted = targeted.as_ref().is_none_or(|t| t.contains(&i));
        let deps = d.dependencies();
        let mut step = PlannedStep {
            urn: d.urn.clone(),
            name: d.name.clone(),
            type_token: d.type_token.clone(),
            kind: d.kind,
            // Decided below; a resource outside `--target` stays as it is.
            action: StepAction::Same(SameStep {
                new_inputs: None,
                outputs: None,
            }),
            parent: d.options.parent.clone(),
            dependencies: deps,
            renamed_from: renamed.get(&i).cloned(),
            secret: old.is_some_and(|o| o.secret),
            secret_inputs: old.map(|o| o.secret_inputs.clone()).unwrap_or_default(),
            secret_outputs: old.map(|o| o.secret_outputs.clone()).unwrap_or_default(),
            declared: Some(i),
            targeted: is_targeted,
        };
        if !is_targeted {
            if let Some(o) = old {
                step.action = StepAction::Same(SameStep {
                    new_inputs: None,
                    outputs: Some(o.outputs.clone()),
                });
                if needed.contains(&d.urn) {
                    resolver.insert(d.urn.clone(), resolved_from_state(o));
                }
            } else {
                diagnostics.push(format!(
                    "`{}` is not created: it is outside the --target set",
                    d.name
                ));
            }
            index_of_step[i] = steps.len();
            steps.push(step);
            continue;
        }
        let res = d.inputs.resolve(dyn_resolver.clone()).await?;
        let mut inputs = res
            .value
            .unwrap_or_else(|| Value::String(UNKNOWN.to_string()));
        let secrets = input_secrets(res.secret, &res.secret_keys, old);
        step.secret = secrets.all;
        match d.kind {
            ResourceKind::Component => {
                // A component's recorded "outputs" are what it registered.
                step.secret_inputs = Vec::new();
                step.secret_outputs = secrets.keys.iter().cloned().collect();
                step.action = component_action(old, inputs);
            }
            ResourceKind::Custom => {
                if let Some(o) = old {
                    apply_ignore_changes(&mut inputs, &o.inputs, &d.options.ignore_changes);
                }
                let pref = provider_ref(d);
                let provider = provider_for(&graph.providers, &d.name, &d.type_token, &pref)?;
                let identity = ResourceIdentity {
                    urn: d.urn.clone(),
                    type_token: d.type_token.clone(),
                    stack: state.stack.clone(),
                };
                // Outputs named like a secret input are secret too.
                let secrets = secrets.with_declared_outputs(provider.secret_outputs(&d.type_token));
                // Secret values new or recorded (the old value of a secret
                // property is masked too).
                let mut secret_inputs = secrets.keys_of(&inputs);
                let recorded_secrets = old.filter(|_| !secrets.no_input_keys());
                for k in recorded_secrets
                    .map(|o| secrets.keys_of(&o.inputs))
                    .unwrap_or_default()
                {
                    if !secret_inputs.contains(&k) {
                        secret_inputs.push(k);
                    }
                }
                secret_inputs.sort();
                step.secret_inputs = secret_inputs;
                let mut action = match decide(&provider, &identity, d, old, inputs).await {
                    Ok(a) => a,
                    // Every invalid resource is reported, not just the first.
                    Err(e @ Error::InvalidInputs { .. }) => {
                        invalid.push(e);
                        index_of_step[i] = steps.len();
                        steps.push(step);
                        continue;
                    }
                    Err(e) => return Err(e),
                };
                if let StepAction::Replace(r) = &mut action {
                    r.unknown_until =
                        unknown_until(d, &r.new_inputs, &r.replace_keys, &resolver, |u| {
                            let s = &steps[index_of_step[*dg.index.get(u)?]];
                            let old = state.live.get(&s.urn).or_else(|| {
                                s.renamed_from.as_ref().and_then(|r| state.live.get(r))
                            });
                            Some((s, old))
                        })
                        .await;
                }
                step.secret_outputs = match action.planned_outputs_if(!secrets.no_output_keys()) {
                    Some(out) => secrets.output_keys_of(out),
                    None => secrets
                        .keys
                        .iter()
                        .cloned()
                        .chain(secrets.declared_outputs.iter().cloned())
                        .collect(),
                };
                step.action = action;
            }
        }
        // (An unchanged resource's recorded outputs are shared, not copied.)
        let planned = match &step.action {
            StepAction::Same(s) => s.outputs.clone(),
            a => a.planned_outputs().cloned().map(Recorded::new),
        };
        if needed.contains(&d.urn)
            && let Some(outputs) = planned
        {
            resolver.insert(
                d.urn.clone(),
                ResolvedResource {
                    id: old
                        .filter(|_| step.op() != Op::Replace)
                        .map(|o| o.id.clone()),
                    outputs,
                    secret: step.secret,
                    secret_outputs: step.secret_outputs.clone(),
                },
            );
        }
        index_of_step[i] = steps.len();
        steps.push(step);
    }

    match invalid.len() {
        0 => {}
        1 => return Err(invalid.remove(0)),
        _ => return Err(Error::InvalidResources(invalid)),
    }

    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); steps.len()];
    for &i in &dg.order {
        deps[index_of_step[i]] = dg.deps[i].iter().map(|&j| index_of_step[j]).collect();
    }

    // Deletes: recorded resources the program no longer declares, and old copies.
    let mut to_delete: Vec<&ResourceState> = Vec::new();
    let mut removed_urns: Vec<&Urn> = state
        .live
        .keys()
        .filter(|u| !dg.index.contains_key(*u) && !claimed.contains(*u))
        .collect();
    removed_urns.sort();
    for u in removed_urns {
        let r = &state.live[u];
        if target_urns.as_ref().is_some_and(|t| !t.contains(u)) {
            continue;
        }
        if r.protect {
            return Err(Error::Protected {
                name: u.name().to_string(),
                action: "deleted",
            });
        }
        to_delete.push(r);
    }
    to_delete.extend(state.pending_deletes.values());
    let deletes = order_deletes(&to_delete);

    let mut outputs = BTreeMap::new();
    let mut secret_outputs = Vec::new();
    for (name, o) in &graph.exports {
        let r = o.resolve(dyn_resolver.clone()).await?;
        if r.secret {
            secret_outputs.push(name.clone());
        }
        outputs.insert(name.clone(), r.value.filter(|v| !contains_unknown(v)));
    }
    if !state.pending.is_empty() {
        diagnostics.push(format!(
            "{} operation(s) were interrupted by an earlier update; `up` resolves them through the provider first",
            state.pending.len()
        ));
    }

    let rollouts = super::rollout::plan_rollouts(&steps, graph);
    Ok(Plan {
        stack: state.stack.clone(),
        kind: PlanKind::Update,
        steps,
        deletes,
        outputs,
        secret_outputs,
        old_outputs: state.outputs.clone(),
        diagnostics,
        rollouts,
        deps,
    })
}

/// For deletes of `records`: the deletes that must finish before each one
/// (its dependents and children), found through a URN index.
pub(crate) fn delete_deps(records: &[&ResourceState]) -> Vec<Vec<usize>> {
    let mut by_urn: HashMap<&Urn, Vec<usize>> = HashMap::new();
    for (i, r) in records.iter().enumerate() {
        by_urn.entry(&r.urn).or_default().push(i);
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); records.len()];
    for (j, r) in records.iter().enumerate() {
        for u in r.dependencies.iter().chain(r.parent.iter()) {
            if let Some(is) = by_urn.get(u) {
                for &i in is {
                    // A component reads its children's outputs, but its children
                    // go first: that edge is the parent one, not this.
                    if i != j && records[i].parent.as_ref() != Some(&r.urn) {
                        deps[i].push(j);
                    }
                }
            }
        }
    }
    deps
}

/// Delete steps for recorded resources, ordered so that a resource is deleted
/// before the resources it depends on.
pub(crate) fn order_deletes(records: &[&ResourceState]) -> Vec<PlannedStep> {
    let deps = delete_deps(records);
    let order = topo_order(&deps).unwrap_or_else(|_| (0..records.len()).collect());
    order.into_iter().map(|i| delete_step(records[i])).collect()
}

pub(crate) fn delete_step(r: &ResourceState) -> PlannedStep {
    PlannedStep {
        urn: r.urn.clone(),
        name: r.urn.name().to_string(),
        type_token: r.type_token.clone(),
        kind: r.kind,
        action: StepAction::Delete(DeleteStep {
            inputs: r.inputs.clone(),
            outputs: r.outputs.clone(),
            replaced_copy: r.pending_delete,
        }),
        parent: r.parent.clone(),
        dependencies: r.dependencies.clone(),
        renamed_from: None,
        secret: r.secret,
        secret_inputs: r.secret_inputs.clone(),
        secret_outputs: r.secret_outputs.clone(),
        declared: None,
        targeted: true,
    }
}

/// A component's step: its registered outputs are what it records (as its
/// "outputs"; its inputs are empty).
pub(crate) fn component_action(old: Option<&ResourceState>, outputs: Value) -> StepAction {
    let empty = || Value::Object(Default::default());
    match old {
        None => StepAction::Create(CreateStep {
            inputs: empty(),
            planned_outputs: Some(outputs),
        }),
        Some(o) if o.outputs.same_as(&outputs) && !contains_unknown(&outputs) => {
            StepAction::Same(SameStep {
                new_inputs: Some(Recorded::new(empty())),
                outputs: Some(o.outputs.clone()),
            })
        }
        Some(o) => StepAction::Update(Box::new(UpdateStep {
            changed: vec!["outputs".into()],
            property_changes: Vec::new(),
            old_inputs: o.inputs.clone(),
            new_inputs: empty(),
            old_outputs: o.outputs.clone(),
            planned_outputs: Some(outputs),
        })),
    }
}

/// Plans the deletion of every resource in the stack (or of the targets and
/// everything that depends on them).
pub fn plan_destroy(state: &StateView, opts: &EngineOptions) -> Result<Plan, Error> {
    let mut records: Vec<&ResourceState> = state
        .live
        .values()
        .chain(state.pending_deletes.values())
        .collect();
    records.sort_by(|a, b| a.urn.cmp(&b.urn));
    if !opts.targets.is_empty() {
        // The targets, and everything that depends on them or is their child
        // (it cannot outlive them): a walk over reverse edges. A component's
        // reading of its own children's outputs is not such an edge.
        let by_urn: HashMap<&Urn, &ResourceState> = records.iter().map(|r| (&r.urn, *r)).collect();
        let mut dependents: HashMap<&Urn, Vec<&Urn>> = HashMap::new();
        for r in &records {
            for d in r.dependencies.iter().chain(r.parent.iter()) {
                let child_of_r = by_urn
                    .get(d)
                    .is_some_and(|dr| dr.parent.as_ref() == Some(&r.urn));
                if !child_of_r {
                    dependents.entry(d).or_default().push(&r.urn);
                }
            }
        }
        let mut set: HashSet<Urn> = HashSet::new();
        let mut todo: Vec<Urn> = resolve_targets(&opts.targets, &[], state)?
            .into_iter()
            .collect();
        while let Some(u) = todo.pop() {
            if let Some(ds) = dependents.get(&u) {
                todo.extend(
                    ds.iter()
                        .filter(|d| !set.contains(**d))
                        .map(|d| (*d).clone()),
                );
            }
            set.insert(u);
        }
        records.retain(|r| set.contains(&r.urn));
    }
    let protected: Vec<&str> = records
        .iter()
        .filter(|r| r.protect)
        .map(|r| r.urn.name())
        .collect();
    if let Some(first) = protected.first() {
        return Err(Error::Protected {
            name: if protected.len() == 1 {
                first.to_string()
            } else {
                protected.join("`, `")
            },
            action: "deleted",
        });
    }
    Ok(Plan {
        stack: state.stack.clone(),
        kind: PlanKind::Destroy,
        steps: Vec::new(),
        deletes: order_deletes(&records),
        outputs: BTreeMap::new(),
        secret_outputs: Vec::new(),
        old_outputs: state.outputs.clone(),
        diagnostics: Vec::new(),
        rollouts: Vec::new(),
        deps: Vec::new(),
    })
}
