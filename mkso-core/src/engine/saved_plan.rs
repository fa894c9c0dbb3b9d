//! Saved plans: `preview --out FILE` writes the plan that was reviewed;
//! `up --plan FILE` runs exactly those steps, or refuses before any change,
//! naming what moved (Terraform's `plan -out` / `apply PLANFILE`).
//!
//! A saved plan holds the steps (op, changed and replace-forcing
//! properties, planned inputs with their secret properties sealed as in
//! state), what it was made against (the state's serial and a digest of its
//! records), a digest of what the program declared and of the stack's
//! config, and the `--target`s. Applying it plans again and compares: the
//! state, the program, the config, then each step; the fresh plan runs only
//! when it is the saved one, and apply follows it as it follows any plan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::events::Op;
use super::plan::{Plan, PlanKind, PlannedStep};
use crate::names::{StackName, Urn};
use crate::stack::ProgramGraph;
use crate::state::StateView;

/// The format of saved plan files this version writes and reads.
pub const PLAN_FORMAT: u32 = 1;

/// A hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Seals (or opens) the listed top-level properties of a value, or all of
/// it (`true`): the stack's state sealing.
pub type PropsSealer<'a> =
    &'a dyn Fn(&mut Value, bool, &[String]) -> Result<(), crate::state::StateError>;

/// One step of a saved plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedStep {
    /// The resource.
    pub urn: Urn,
    /// What happens to it.
    pub op: Op,
    /// Changed input properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changed: Vec<String>,
    /// Properties that force its replacement.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replace_keys: Vec<String>,
    /// A replacement that deletes the old copy first.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub delete_before_replace: bool,
    /// A delete of a replaced resource's old copy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replaced_copy: bool,
    /// Its inputs as planned (unknowns as the unknown marker); secret
    /// properties sealed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Value>,
    /// The inputs are secret as a whole.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// Its secret input properties.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secret_inputs: Vec<String>,
}

impl SavedStep {
    fn of(s: &PlannedStep, seal: PropsSealer<'_>) -> Result<Self, crate::state::StateError> {
        let mut inputs = match s.op() {
            Op::Delete | Op::Same => None,
            _ => s.action.new_inputs().cloned(),
        };
        let secret_inputs = s
            .input_secrets()
            .keys_in(inputs.as_ref().unwrap_or(&Value::Null));
        if let Some(v) = &mut inputs {
            seal(v, s.secret, &secret_inputs)?;
        }
        Ok(SavedStep {
            urn: s.urn.clone(),
            op: s.op(),
            changed: s.changed().to_vec(),
            replace_keys: s.replace_keys().to_vec(),
            delete_before_replace: s.delete_before_replace(),
            replaced_copy: s.replaced_copy(),
            inputs,
            secret: s.secret,
            secret_inputs,
        })
    }

    /// One line for the user: `update [size]`.
    fn describe(&self) -> String {
        let keys = if !self.replace_keys.is_empty() {
            &self.replace_keys
        } else {
            &self.changed
        };
        let mut s = if self.replaced_copy {
            "delete (replaced)".to_string()
        } else {
            self.op.to_string()
        };
        if !keys.is_empty() {
            s.push_str(&format!(" [{}]", keys.join(", ")));
        }
        if self.delete_before_replace {
            s.push_str(" (delete before replace)");
        }
        s
    }
}

/// What a saved plan was made against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StateMark {
    /// The snapshot serial.
    pub serial: u64,
    /// A digest of the recorded resources, pending operations and outputs
    /// (secret values left out).
    pub digest: String,
}

impl StateMark {
    /// The mark of a state.
    pub fn of(view: &StateView) -> Self {
        let strip = |v: &crate::state::Recorded, all: bool, keys: &[String]| -> Value {
            if all {
                return json!("[secret]");
            }
            // A copy, parsed for the mark only (the record stays as it is).
            let mut v = v.to_value();
            if let Value::Object(o) = &mut v {
                for k in keys {
                    o.remove(k);
                }
            }
            v
        };
        let mut records: Vec<Value> = view
            .live
            .values()
            .chain(view.pending_deletes.values())
            .map(|r| {
                json!([
                    r.urn,
                    r.id,
                    r.pending_delete,
                    strip(&r.inputs, r.secret, &r.secret_inputs),
                    strip(&r.outputs, r.secret, &r.secret_outputs),
                    r.dependencies,
                    r.parent,
                    r.protect,
                    r.retain_on_delete,
                ])
            })
            .collect();
        records.sort_by_key(|v| v.to_string());
        let pending: Vec<Value> = view
            .pending
            .values()
            .map(|p| json!([p.op_id, p.urn, p.id]))
            .collect();
        let outputs: BTreeMap<&String, &Value> = view
            .outputs
            .iter()
            .filter(|(k, _)| !view.secret_outputs.contains(k))
            .collect();
        let all = json!([records, pending, outputs, view.secret_outputs]);
        StateMark {
            serial: view.serial,
            digest: sha256_hex(all.to_string().as_bytes()),
        }
    }
}

/// A digest of what a program declared: each resource's URN, type, kind,
/// options and dependencies, and the names of its stack outputs (the values
/// it gives them are compared step by step).
pub fn program_digest(graph: &ProgramGraph) -> String {
    // The hash of `[[[urn, type, kind, options, dependencies], ...], [export, ...]]`
    // as compact JSON, fed to the hash one resource at a time (a large
    // program is never held as one JSON text).
    let mut sha = Sha256::new();
    let mut h = crate::state::Feed(|b: &[u8]| sha.update(b));
    h.0(b"[[");
    for (i, d) in graph.resources.iter().enumerate() {
        if i > 0 {
            h.0(b",");
        }
        let options = serde_json::to_value(&d.options).unwrap_or(Value::Null);
        let row = (&d.urn, &d.type_token, d.kind, options, d.dependencies());
        serde_json::to_writer(&mut h, &row).expect("a program row serializes");
    }
    h.0(b"],");
    let exports: Vec<&String> = graph.exports.iter().map(|(n, _)| n).collect();
    serde_json::to_writer(&mut h, &exports).expect("export names serialize");
    h.0(b"]");
    hex(&sha.finalize())
}

/// A saved plan (the file `preview --out` writes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    /// [`PLAN_FORMAT`].
    pub format: u32,
    /// The mkso version that wrote it.
    pub mkso_version: String,
    /// The stack it is bound to.
    pub stack: StackName,
    /// The project.
    pub project: String,
    /// The state it was made against.
    pub state: StateMark,
    /// [`program_digest`] of the program that made it.
    pub program: String,
    /// `StackConfig::digest` of the config it was made with.
    pub config: String,
    /// The `--target`s it was made with.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    /// Its steps that change something, in plan order, then its deletes.
    pub steps: Vec<SavedStep>,
    /// The stack outputs as planned (`null`: known after apply; secret
    /// ones shown as `[secret]`).
    #[serde(default)]
    pub outputs: BTreeMap<String, Value>,
}

fn planned_outputs(plan: &Plan) -> BTreeMap<String, Value> {
    plan.outputs
        .iter()
        .map(|(k, v)| {
            let v = if plan.secret_outputs.contains(k) {
                json!("[secret]")
            } else {
                v.clone().unwrap_or(Value::Null)
            };
            (k.clone(), v)
        })
        .collect()
}

/// Why a saved plan cannot be applied; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanMoved {
    /// The file is not a saved plan of this version.
    #[error(
        "{file} is not a saved plan this mkso can read: {reason}; make a new one with `preview --out`"
    )]
    Unreadable {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// It was made for another stack.
    #[error(
        "the saved plan is for stack {planned}, not {stack}: pass `--stack {planned}`, or make a plan for {stack} with `preview --out`"
    )]
    OtherStack {
        /// The stack it is for.
        planned: String,
        /// The stack asked for.
        stack: String,
    },
    /// The state changed since.
    #[error(
        "the state of stack {stack} changed since the plan was made (serial {planned} then, {now} now): the plan was applied already, or another update, refresh or import ran; nothing was changed — make a new plan with `preview --out` and review it"
    )]
    State {
        /// The stack.
        stack: String,
        /// The serial then.
        planned: u64,
        /// The serial now.
        now: u64,
    },
    /// The program declares something else.
    #[error(
        "the program declares other resources, options or outputs than when the plan was made (its code or the config it reads changed); nothing was changed — make a new plan with `preview --out` and review it"
    )]
    Program,
    /// The config changed.
    #[error(
        "the config of stack {stack} changed since the plan was made; nothing was changed — make a new plan with `preview --out` and review it"
    )]
    Config {
        /// The stack.
        stack: String,
    },
    /// Steps would differ.
    #[error("the plan would now differ from the saved one: {}; nothing was changed — make a new plan with `preview --out` and review it", .0.join("; "))]
    Steps(Vec<String>),
}

impl SavedPlan {
    /// Saves `plan` (an update plan) made from `graph` against `view`.
    pub fn new(
        plan: &Plan,
        graph: &ProgramGraph,
        view: &StateView,
        project: &str,
        config_digest: String,
        targets: &[String],
        seal: PropsSealer<'_>,
    ) -> Result<Self, crate::state::StateError> {
        let steps = plan
            .all_steps()
            .filter(|s| s.targeted && s.op().is_change())
            .map(|s| SavedStep::of(s, seal))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SavedPlan {
            format: PLAN_FORMAT,
            mkso_version: env!("CARGO_PKG_VERSION").to_string(),
            stack: plan.stack.clone(),
            project: project.to_string(),
            state: StateMark::of(view),
            program: program_digest(graph),
            config: config_digest,
            targets: targets.to_vec(),
            steps,
            outputs: planned_outputs(plan),
        })
    }

    /// Reads a saved plan from the bytes of `file`.
    pub fn parse(bytes: &[u8], file: &str) -> Result<Self, PlanMoved> {
        let unreadable = |reason: String| PlanMoved::Unreadable {
            file: file.to_string(),
            reason,
        };
        let v: Value = serde_json::from_slice(bytes).map_err(|e| unreadable(e.to_string()))?;
        match v.get("format").and_then(Value::as_u64) {
            Some(f) if f == u64::from(PLAN_FORMAT) => {}
            Some(f) => {
                return Err(unreadable(format!(
                    "it has format {f}, this mkso reads format {PLAN_FORMAT}"
                )));
            }
            None => return Err(unreadable("it has no `format`".into())),
        }
        serde_json::from_value(v).map_err(|e| unreadable(e.to_string()))
    }

    /// Checks that the stack, the state and the program are those the plan
    /// was made with (before planning again).
    pub fn check_inputs(
        &self,
        stack: &StackName,
        view: &StateView,
        graph: &ProgramGraph,
        config_digest: &str,
    ) -> Result<(), PlanMoved> {
        if &self.stack != stack {
            return Err(PlanMoved::OtherStack {
                planned: self.stack.to_string(),
                stack: stack.to_string(),
            });
        }
        if StateMark::of(view) != self.state {
            return Err(PlanMoved::State {
                stack: stack.to_string(),
                planned: self.state.serial,
                now: view.serial,
            });
        }
        if program_digest(graph) != self.program {
            return Err(PlanMoved::Program);
        }
        if config_digest != self.config {
            return Err(PlanMoved::Config {
                stack: stack.to_string(),
            });
        }
        Ok(())
    }

    /// Checks that `plan`, made again now, is the saved one: the same
    /// steps, each with the same action, properties and planned inputs
    /// (`open` opens the sealed secret properties to compare them).
    pub fn check_plan(&self, plan: &Plan, open: PropsSealer<'_>) -> Result<(), PlanMoved> {
        if plan.kind != PlanKind::Update {
            return Err(PlanMoved::Steps(vec!["it is not an update".into()]));
        }
        // Unsealed, comparable with a fresh step.
        let saved: Vec<SavedStep> = self
            .steps
            .iter()
            .map(|s| {
                let mut s = s.clone();
                if let Some(v) = &mut s.inputs {
                    open(v, s.secret, &s.secret_inputs)
                        .map_err(|e| PlanMoved::Steps(vec![e.to_string()]))?;
                }
                Ok(s)
            })
            .collect::<Result<_, PlanMoved>>()?;
        let keep = |_: &mut Value, _: bool, _: &[String]| Ok(());
        let now: Vec<SavedStep> = plan
            .all_steps()
            .filter(|s| s.targeted && s.op().is_change())
            .map(|s| SavedStep::of(s, &keep))
            .collect::<Result<_, _>>()
            .map_err(|e| PlanMoved::Steps(vec![e.to_string()]))?;
        let key = |s: &SavedStep| (s.urn.clone(), s.replaced_copy);
        let by_key: BTreeMap<_, &SavedStep> = now.iter().map(|s| (key(s), s)).collect();
        let saved_keys: BTreeMap<_, &SavedStep> = saved.iter().map(|s| (key(s), s)).collect();
        let mut diffs = Vec::new();
        for s in &saved {
            match by_key.get(&key(s)) {
                None => diffs.push(format!(
                    "`{}` was to {}, now nothing changes for it",
                    s.urn.name(),
                    s.describe()
                )),
                Some(n) if *n != s => {
                    let (a, b) = (s.describe(), n.describe());
                    diffs.push(if a == b {
                        format!("`{}` would {a} with other inputs", s.urn.name())
                    } else {
                        format!("`{}` was to {a}, now would {b}", s.urn.name())
                    });
                }
                Some(_) => {}
            }
        }
        for n in &now {
            if !saved_keys.contains_key(&key(n)) {
                diffs.push(format!(
                    "`{}` would now {}, not in the saved plan",
                    n.urn.name(),
                    n.describe()
                ));
            }
        }
        let outputs = planned_outputs(plan);
        for (k, v) in &self.outputs {
            if outputs.get(k) != Some(v) {
                diffs.push(format!("stack output `{k}` would be another value"));
            }
        }
        for k in outputs.keys().filter(|k| !self.outputs.contains_key(*k)) {
            diffs.push(format!("stack output `{k}` is new"));
        }
        if diffs.is_empty() {
            Ok(())
        } else {
            diffs.truncate(10);
            Err(PlanMoved::Steps(diffs))
        }
    }
}

#[cfg(test)]
mod digest_tests {
    use super::*;
    use crate::builtin::{Data, DataArgs};
    use crate::config::StackConfig;
    use crate::options::ResourceOptions;
    use crate::output::Output;
    use crate::stack::Stack;

    /// The digest as first defined: the whole program as one JSON text.
    fn digest_of_whole_text(graph: &ProgramGraph) -> String {
        let resources: Vec<Value> = graph
            .resources
            .iter()
            .map(|d| {
                json!([
                    d.urn,
                    d.type_token,
                    d.kind,
                    serde_json::to_value(&d.options).unwrap_or(Value::Null),
                    d.dependencies(),
                ])
            })
            .collect();
        let exports: Vec<&String> = graph.exports.iter().map(|(n, _)| n).collect();
        sha256_hex(json!([resources, exports]).to_string().as_bytes())
    }

    #[test]
    fn the_streamed_digest_is_the_digest_of_the_whole_text() {
        let s = Stack::new(
            StackName::new("digest.test.Dev").unwrap(),
            "digest",
            StackConfig::default(),
        );
        let a = Data::new(
            &s,
            "a",
            DataArgs::default().value(json!({"x": 1})),
            ResourceOptions::new(),
        )
        .unwrap();
        Data::new(
            &s,
            "b",
            DataArgs::default().value(a.value()),
            ResourceOptions::new().protect(true).depends_on(&a),
        )
        .unwrap();
        s.export("one", Output::new(1));
        s.export("two", a.value());
        let graph = s.take_graph();
        assert_eq!(program_digest(&graph), digest_of_whole_text(&graph));
        let empty = Stack::new(
            StackName::new("digest.test.Dev").unwrap(),
            "digest",
            StackConfig::default(),
        )
        .take_graph();
        assert_eq!(program_digest(&empty), digest_of_whole_text(&empty));
    }
}
