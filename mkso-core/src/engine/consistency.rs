//! Apply follows the plan: a step may do less than the plan the user saw
//! (an unknown value resolved to the recorded one), never more. A step whose
//! decision at apply time is wider than the planned one fails before any
//! provider call, as Terraform's "Provider produced inconsistent final plan".

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::Op;
use super::plan::PlannedStep;
use super::step::StepAction;
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
    /// Both are replacements, but the plan created the new copy first and
    /// now the old one must be deleted first (downtime the plan did not show).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deletes_first: bool,
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
        let when = match (self.unknown_at_plan, self.properties.len()) {
            (true, 1) => "the plan was made when it was unknown",
            (true, _) => "the plan was made when they were unknown",
            (false, 1) => "the plan was made with another value",
            (false, _) => "the plan was made with other values",
        };
        let name = crate::names::escape_control(&self.name);
        let what = if self.deletes_first {
            format!(
                "`{name}` was planned as replace (new copy created first) but now needs its old copy deleted first"
            )
        } else if self.planned == self.actual {
            format!(
                "`{name}` was planned as {} but now also changes",
                label(self.planned)
            )
        } else {
            format!(
                "`{name}` was planned as {} but now needs {}",
                label(self.planned),
                label(self.actual),
            )
        };
        let why = if self.properties.is_empty() {
            String::new()
        } else if self.deletes_first {
            format!(": its provider decided so once {props} became known ({when})")
        } else if self.planned == self.actual {
            format!(" {props} ({when})")
        } else {
            let changed = if self.actual == Op::Replace {
                "changed to a value that forces replacement"
            } else {
                "changed"
            };
            format!(": {props} {changed} ({when})")
        };
        format!("{what}{why}; nothing was changed for it — run `preview` again and `up`")
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
    pub delete_before_replace: bool,
    /// The new inputs as far as they were known (fields may hold the
    /// unknown marker).
    pub new_inputs: Option<Value>,
}

impl PlannedOp {
    pub(crate) fn of(step: &PlannedStep) -> Self {
        let op = step.op();
        PlannedOp {
            op,
            changed: step.changed().to_vec(),
            replace_keys: step.replace_keys().to_vec(),
            delete_before_replace: step.delete_before_replace(),
            // Only an update or a replacement can widen because of a value
            // unknown at plan time (what the error then explains); a create
            // or an unchanged resource needs no copy of its inputs.
            new_inputs: matches!(op, Op::Update | Op::Replace)
                .then(|| step.action.new_inputs().cloned())
                .flatten(),
        }
    }

    fn unknown_at_plan(&self, p: &str) -> bool {
        self.new_inputs
            .as_ref()
            .is_some_and(|n| n.get(p).map_or(contains_unknown(n), contains_unknown))
    }

    /// Checks the step decided at apply time against the plan: it may do
    /// less, never more — not a wider kind of step, not a replacement that
    /// deletes first where the plan created first, not an update of
    /// properties the plan showed unchanged.
    pub(crate) fn check(&self, name: &str, actual: &StepAction) -> Result<(), InconsistentPlan> {
        let act = actual.op();
        let error = |properties: Vec<String>, deletes_first: bool| {
            let unknown_at_plan =
                !properties.is_empty() && properties.iter().all(|p| self.unknown_at_plan(p));
            InconsistentPlan {
                name: name.to_string(),
                planned: self.op,
                actual: act,
                properties,
                unknown_at_plan,
                deletes_first,
            }
        };
        let new_keys = |now: &[String], before: &[String]| -> Vec<String> {
            let mut props: Vec<String> = now
                .iter()
                .filter(|k| !before.contains(k))
                .cloned()
                .collect();
            if props.is_empty() {
                props = now.to_vec();
            }
            props
        };
        if widens(self.op, act) {
            let props = if act == Op::Replace {
                new_keys(actual.replace_keys(), &self.replace_keys)
            } else {
                new_keys(actual.changed(), &self.changed)
            };
            return Err(error(props, false));
        }
        match (self.op, act) {
            (Op::Replace, Op::Replace)
                if actual.delete_before_replace() && !self.delete_before_replace =>
            {
                // What the provider's choice turned on: the values unknown
                // when the plan was made.
                let unknown = self
                    .changed
                    .iter()
                    .filter(|k| self.unknown_at_plan(k))
                    .cloned()
                    .collect();
                Err(error(unknown, true))
            }
            (Op::Update, Op::Update) => {
                // A property shown unchanged (its value was known) that
                // changes now: an upstream's result differed from its plan.
                let more: Vec<String> = actual
                    .changed()
                    .iter()
                    .filter(|k| !self.changed.contains(k) && !self.unknown_at_plan(k))
                    .cloned()
                    .collect();
                if more.is_empty() {
                    Ok(())
                } else {
                    Err(error(more, false))
                }
            }
            _ => Ok(()),
        }
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
            deletes_first: false,
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
            deletes_first: false,
        };
        assert_eq!(
            e.to_string(),
            "`db` was planned as unchanged but now needs update: `size`, `tier` changed (the plan was made with other values); nothing was changed for it — run `preview` again and `up`"
        );
    }
}
