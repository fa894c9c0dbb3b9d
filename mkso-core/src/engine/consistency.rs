//! Apply follows the plan: a step may do less than the plan the user saw
//! (an unknown value resolved to the recorded one), never more. A step whose
//! decision at apply time is wider than the planned one fails before any
//! provider call, as Terraform's "Provider produced inconsistent final plan".

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::Op;
use super::plan::{Decision, PlannedStep};
use crate::output::contains_unknown;

/// A step that would do more at apply time than its plan showed; nothing was
/// changed for the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.message())]
pub struct InconsistentPlan {
    /// The resource's nested name.
    pub name: String,
    /// What the plan showed.
    pub planned: Op,
    /// What it needs now.
    pub actual: Op,
    /// The properties that make the difference (those that now force the
    /// replacement, or that now change).
    pub properties: Vec<String>,
    /// Whether those properties were unknown when the plan was made.
    pub unknown_at_plan: bool,
}

fn label(op: Op) -> &'static str {
    match op {
        Op::Same => "unchanged",
        other => other.as_str(),
    }
}

impl InconsistentPlan {
    fn message(&self) -> String {
        let props = self
            .properties
            .iter()
            .map(|p| format!("`{}`", crate::names::escape_control(p)))
            .collect::<Vec<_>>()
            .join(", ");
        let why = if self.properties.is_empty() {
            String::new()
        } else {
            let what = if self.actual == Op::Replace {
                "changed to a value that forces replacement"
            } else {
                "changed"
            };
            let when = match (self.unknown_at_plan, self.properties.len()) {
                (true, 1) => "the plan was made when it was unknown",
                (true, _) => "the plan was made when they were unknown",
                (false, 1) => "the plan was made with another value",
                (false, _) => "the plan was made with other values",
            };
            format!(": {props} {what} ({when})")
        };
        format!(
            "`{}` was planned as {} but now needs {}{why}; nothing was changed for it — run `preview` again and `up`",
            crate::names::escape_control(&self.name),
            label(self.planned),
            label(self.actual),
        )
    }
}

/// Whether doing `actual` where `planned` was shown does more than the user
/// approved. Narrowing is fine: update → same, replace → update or same.
pub(crate) fn widens(planned: Op, actual: Op) -> bool {
    if planned == actual {
        return false;
    }
    match planned {
        Op::Same => true,
        Op::Update => actual != Op::Same,
        Op::Replace => !matches!(actual, Op::Update | Op::Same),
        // Create, import (and anything else): any other action is not the plan.
        _ => true,
    }
}

/// What the plan decided for one declared resource, carried into its step.
#[derive(Debug, Clone)]
pub(crate) struct PlannedOp {
    pub op: Op,
    pub changed: Vec<String>,
    pub replace_keys: Vec<String>,
    /// The new inputs as far as they were known (fields may hold the
    /// unknown marker).
    pub new_inputs: Option<Value>,
}

impl PlannedOp {
    pub(crate) fn of(step: &PlannedStep) -> Self {
        PlannedOp {
            op: step.op,
            changed: step.changed.clone(),
            replace_keys: step.replace_keys.clone(),
            // Only an update or a replacement can widen because of a value
            // unknown at plan time (what the error then explains); a create
            // or an unchanged resource needs no copy of its inputs.
            new_inputs: matches!(step.op, Op::Update | Op::Replace)
                .then(|| step.new_inputs.clone())
                .flatten(),
        }
    }

    /// Checks the decision made at apply time against the plan.
    pub(crate) fn check(&self, name: &str, dec: &Decision) -> Result<(), InconsistentPlan> {
        if !widens(self.op, dec.op) {
            return Ok(());
        }
        let (now, before) = if dec.op == Op::Replace {
            (&dec.replace_keys, &self.replace_keys)
        } else {
            (&dec.changed, &self.changed)
        };
        let mut properties: Vec<String> = now
            .iter()
            .filter(|k| !before.contains(k))
            .cloned()
            .collect();
        if properties.is_empty() {
            properties = now.clone();
        }
        let unknown_at_plan = !properties.is_empty()
            && properties.iter().all(|p| {
                self.new_inputs
                    .as_ref()
                    .is_some_and(|n| n.get(p).map_or(contains_unknown(n), contains_unknown))
            });
        Err(InconsistentPlan {
            name: name.to_string(),
            planned: self.op,
            actual: dec.op,
            properties,
            unknown_at_plan,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_and_narrowing() {
        use Op::*;
        for (p, a, wider) in [
            (Same, Same, false),
            (Same, Update, true),
            (Same, Replace, true),
            (Update, Same, false),
            (Update, Update, false),
            (Update, Replace, true),
            (Replace, Update, false),
            (Replace, Same, false),
            (Replace, Replace, false),
            (Create, Create, false),
            (Create, Update, true),
            (Import, Import, false),
            (Import, Create, true),
        ] {
            assert_eq!(widens(p, a), wider, "{p} -> {a}");
        }
    }

    #[test]
    fn the_message_names_resource_actions_and_property() {
        let e = InconsistentPlan {
            name: "web".into(),
            planned: Op::Update,
            actual: Op::Replace,
            properties: vec!["ami".into()],
            unknown_at_plan: true,
        };
        assert_eq!(
            e.to_string(),
            "`web` was planned as update but now needs replace: `ami` changed to a value that forces replacement (the plan was made when it was unknown); nothing was changed for it — run `preview` again and `up`"
        );
        let e = InconsistentPlan {
            name: "db".into(),
            planned: Op::Same,
            actual: Op::Update,
            properties: vec!["size".into(), "tier".into()],
            unknown_at_plan: false,
        };
        assert_eq!(
            e.to_string(),
            "`db` was planned as unchanged but now needs update: `size`, `tier` changed (the plan was made with other values); nothing was changed for it — run `preview` again and `up`"
        );
    }
}
