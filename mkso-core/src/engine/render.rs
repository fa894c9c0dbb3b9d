//! Renders a plan as the CLI shows it: resources under their parents, one
//! line per change, optional property-level detail, and a summary.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

use serde_json::Value;

use crate::typed::ChangeKind;

use super::events::Op;
use super::plan::{Plan, PlanKind, PlannedStep};
use crate::names::{Urn, escape_control, escape_control_keep_lines, is_unsafe_char};
use crate::output::{UNKNOWN, contains_unknown};

/// How to render a plan.
#[derive(Debug, Clone, Copy, Default)]
pub struct RenderOptions {
    /// Property-level detail (`--diff`).
    pub diff: bool,
    /// Also list unchanged resources.
    pub show_same: bool,
}

/// A JSON value for display: secrets masked, unknowns named, long values cut,
/// control characters escaped (`\u001b`: JSON escapes, so the text stays JSON).
pub fn render_value(v: &Value, secret: bool) -> String {
    render(v, secret, Some(80))
}

/// As [`render_value`], but whole: never cut (stack outputs: a long id or URL
/// must be copyable; the terminal wraps it).
pub fn render_value_whole(v: &Value, secret: bool) -> String {
    render(v, secret, None)
}

fn render(v: &Value, secret: bool, max: Option<usize>) -> String {
    if secret {
        return "[secret]".into();
    }
    if let Value::String(s) = v
        && s == UNKNOWN
    {
        return "(known after apply)".into();
    }
    let mut s = serde_json::to_string(v).unwrap_or_default();
    if contains_unknown(v) {
        s = s.replace(&format!("\"{UNKNOWN}\""), "(known after apply)");
    }
    if let Some(max) = max
        && s.chars().count() > max
    {
        s = s.chars().take(max - 3).collect::<String>() + "...";
    }
    // JSON escapes C0; DEL, C1 and bidi overrides get JSON escapes too, so
    // the text stays JSON and is safe on a terminal.
    if s.chars().any(is_unsafe_char) {
        s = s
            .chars()
            .map(|c| {
                if is_unsafe_char(c) {
                    format!("\\u{:04x}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect();
    }
    s
}

fn depth(step: &PlannedStep) -> usize {
    step.name.matches('/').count()
}

/// Renders the plan as text.
pub fn render_plan(plan: &Plan, opts: RenderOptions) -> String {
    let mut out = String::new();
    let verb = match plan.kind {
        PlanKind::Update => "update",
        PlanKind::Destroy => "destroy",
    };
    let _ = writeln!(out, "Plan: {verb} of stack {}", plan.stack);
    for d in &plan.diagnostics {
        let _ = writeln!(out, "  note: {}", escape_control_keep_lines(d));
    }
    let _ = writeln!(out);

    // Resources under their parents: children follow their parent, in plan order.
    let steps: Vec<&PlannedStep> = plan.all_steps().filter(|s| s.targeted).collect();
    let mut children: HashMap<Option<&Urn>, Vec<&PlannedStep>> = HashMap::new();
    let urns: std::collections::HashSet<&Urn> = steps.iter().map(|s| &s.urn).collect();
    for s in &steps {
        let parent = s.parent.as_ref().filter(|p| urns.contains(p));
        children.entry(parent).or_default().push(s);
    }
    let mut ordered: Vec<&PlannedStep> = Vec::new();
    let mut stack: Vec<&PlannedStep> = children
        .get(&None)
        .map(|v| v.iter().rev().copied().collect())
        .unwrap_or_default();
    let mut seen = std::collections::HashSet::new();
    while let Some(s) = stack.pop() {
        if !seen.insert((&s.urn, s.op(), s.replaced_copy())) {
            continue;
        }
        ordered.push(s);
        if s.kind == crate::stack::ResourceKind::Component
            && let Some(kids) = children.get(&Some(&s.urn))
        {
            stack.extend(kids.iter().rev().copied());
        }
    }

    let listed: Vec<&PlannedStep> = ordered
        .into_iter()
        .filter(|s| opts.show_same || s.op().is_change() || has_changed_child(s, &children))
        .collect();
    if listed.is_empty() {
        let _ = writeln!(out, "  no resources change");
    } else {
        let width = listed
            .iter()
            .map(|s| escape_control(&s.type_token).chars().count())
            .max()
            .unwrap_or(0);
        for s in &listed {
            let indent = "  ".repeat(depth(s));
            let name = escape_control(s.name.rsplit('/').next().unwrap_or(&s.name));
            let mut line = format!(
                "  {:<2} {:<width$}  {indent}{name}  {}",
                s.op().symbol(),
                escape_control(&s.type_token),
                op_label(s),
            );
            if !s.replace_keys().is_empty() {
                let keys: Vec<String> = s
                    .replace_keys()
                    .iter()
                    .map(|k| match s.action.unknown_until().and_then(|u| u.get(k)) {
                        Some(us) if !us.is_empty() => {
                            format!("{k} (unknown until {})", waits_on(plan, us))
                        }
                        _ => k.clone(),
                    })
                    .collect();
                let _ = write!(line, " [{}]", escape_control(&keys.join(", ")));
            } else if !s.changed().is_empty() && s.op() == Op::Update {
                let _ = write!(line, " [{}]", escape_control(&s.changed().join(", ")));
            }
            if s.op() == Op::Replace && s.delete_before_replace() {
                line.push_str(" (delete before replace)");
            }
            if let Some(from) = &s.renamed_from {
                let _ = write!(line, " (renamed from {})", escape_control(from.name()));
            }
            let _ = writeln!(out, "{}", line.trim_end());
            if opts.diff {
                render_diff(&mut out, s, &indent);
            }
        }
    }

    if !plan.rollouts.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Rolling groups:");
        for r in &plan.rollouts {
            let _ = writeln!(
                out,
                "  {}: {}",
                escape_control(&r.group),
                escape_control(&r.describe())
            );
        }
    }

    let changes = plan.changes();
    let _ = writeln!(out);
    let _ = writeln!(out, "Resources:");
    let mut any = false;
    for (op, label) in [
        (Op::Create, "to create"),
        (Op::Import, "to import"),
        (Op::Update, "to update"),
        (Op::Replace, "to replace"),
        (Op::Delete, "to delete"),
    ] {
        let n = changes.get(&op).copied().unwrap_or(0);
        let n = if op == Op::Delete {
            n - plan
                .all_steps()
                .filter(|s| s.replaced_copy() && s.targeted)
                .count()
        } else {
            n
        };
        if n > 0 {
            any = true;
            let _ = writeln!(out, "  {:<2} {n} {label}", op.symbol());
        }
    }
    let same = changes.get(&Op::Same).copied().unwrap_or(0);
    if same > 0 {
        let _ = writeln!(out, "     {same} unchanged");
    }
    if !any && same == 0 {
        let _ = writeln!(out, "     none");
    }
    if plan.kind == PlanKind::Update && !plan.outputs.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "Outputs:");
        for (k, v) in &plan.outputs {
            let secret = plan.secret_outputs.contains(k);
            let shown = match v {
                Some(v) => render_value(v, secret),
                None => "(known after apply)".into(),
            };
            let mark = match (plan.old_outputs.get(k), v) {
                (None, _) => "+",
                (Some(o), Some(n)) if o == n => " ",
                _ => "~",
            };
            let _ = writeln!(out, "  {mark:<2} {}: {shown}", escape_control(k));
        }
        for k in plan.old_outputs.keys() {
            if !plan.outputs.contains_key(k) {
                let _ = writeln!(out, "  -  {}", escape_control(k));
            }
        }
    }
    out
}

fn has_changed_child(s: &PlannedStep, children: &HashMap<Option<&Urn>, Vec<&PlannedStep>>) -> bool {
    children.get(&Some(&s.urn)).is_some_and(|kids| {
        kids.iter()
            .any(|k| k.op().is_change() || has_changed_child(k, children))
    })
}

/// "`subnet` is replaced", "`a` and `b` are replaced and `c` is created".
fn waits_on(plan: &Plan, upstreams: &[Urn]) -> String {
    let mut by_op: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    for u in upstreams {
        let done = match plan.steps.iter().find(|s| &s.urn == u).map(|s| s.op()) {
            Some(Op::Replace) => "replaced",
            Some(Op::Create) => "created",
            Some(Op::Import) => "imported",
            Some(Op::Update) => "updated",
            _ => "applied",
        };
        by_op
            .entry(done)
            .or_default()
            .push(format!("`{}`", u.name()));
    }
    by_op
        .into_iter()
        .map(|(done, names)| {
            let verb = if names.len() == 1 { "is" } else { "are" };
            let names = match names.split_last() {
                Some((last, rest)) if !rest.is_empty() => {
                    format!("{} and {last}", rest.join(", "))
                }
                _ => names.join(""),
            };
            format!("{names} {verb} {done}")
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn op_label(s: &PlannedStep) -> &'static str {
    if s.replaced_copy() {
        "delete (replaced)"
    } else {
        s.op().as_str()
    }
}

fn render_diff(out: &mut String, s: &PlannedStep, indent: &str) {
    let pad = format!("        {indent}");
    let empty = serde_json::Map::new();
    // Secret properties are masked, the rest shown.
    let secrets = s.input_secrets();
    match s.op() {
        Op::Create | Op::Import => {
            if let Some(Value::Object(n)) = s.action.new_inputs() {
                // Unset optional properties are not shown (nothing is set).
                for (k, v) in n.iter().filter(|(_, v)| !v.is_null()) {
                    let hide = secrets.contains(k) && !v.is_null();
                    let k = escape_control(k);
                    let _ = writeln!(out, "{pad}+ {k}: {}", render_value(v, hide));
                }
            }
        }
        Op::Delete => {
            if let Some(Value::Object(o)) = s.action.old_inputs() {
                for (k, v) in o {
                    let hide = secrets.contains(k) && !v.is_null();
                    let k = escape_control(k);
                    let _ = writeln!(out, "{pad}- {k}: {}", render_value(v, hide));
                }
            }
        }
        Op::Update | Op::Replace if !s.action.property_changes().is_empty() => {
            // The provider's nested changes: `tags.owner`, not whole maps.
            for c in s.action.property_changes() {
                let top = c.property();
                let hide = secrets.contains(top);
                let forces = if c.replace || s.replace_keys().iter().any(|k| k == top) {
                    " (forces replacement)"
                } else {
                    ""
                };
                let show = |v: &Option<Value>| match v {
                    Some(v) => render_value(v, hide),
                    None => "null".to_string(),
                };
                let path = escape_control(&c.path);
                let _ = match c.kind {
                    ChangeKind::Add => writeln!(out, "{pad}+ {path}: {}{forces}", show(&c.new)),
                    ChangeKind::Delete => writeln!(out, "{pad}- {path}: {}{forces}", show(&c.old)),
                    ChangeKind::Update => writeln!(
                        out,
                        "{pad}~ {path}: {} => {}{forces}",
                        show(&c.old),
                        show(&c.new)
                    ),
                };
            }
        }
        Op::Update | Op::Replace => {
            let o = s
                .action
                .old_inputs()
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let n = s
                .action
                .new_inputs()
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let mut keys: BTreeMap<&String, ()> = BTreeMap::new();
            for k in o.keys().chain(n.keys()) {
                keys.insert(k, ());
            }
            for k in keys.keys() {
                let (ov, nv) = (o.get(*k), n.get(*k));
                if ov == nv && !nv.is_some_and(contains_unknown) {
                    continue;
                }
                let hide = secrets.contains(k);
                let forces = if s.replace_keys().contains(*k) {
                    " (forces replacement)"
                } else {
                    ""
                };
                let k = escape_control(k);
                match (ov, nv) {
                    (Some(a), Some(b)) => {
                        let _ = writeln!(
                            out,
                            "{pad}~ {k}: {} => {}{forces}",
                            render_value(a, hide && !a.is_null()),
                            render_value(b, hide && !b.is_null())
                        );
                    }
                    (None, Some(b)) => {
                        let _ = writeln!(out, "{pad}+ {k}: {}{forces}", render_value(b, hide));
                    }
                    (Some(a), None) => {
                        let _ = writeln!(out, "{pad}- {k}: {}{forces}", render_value(a, hide));
                    }
                    (None, None) => {}
                }
            }
        }
        Op::Same | Op::Refresh => {}
    }
}
