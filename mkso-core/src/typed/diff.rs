//! The diff every derived resource type gets from its field metadata: nested,
//! per property, each change naming whether it updates in place or forces a
//! replacement, and why.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::schema::Property;
use crate::output::{UNKNOWN, contains_unknown};
use crate::provider::DiffResponse;

/// What happens to one (possibly nested) property.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Set where it was unset.
    Add,
    /// Unset where it was set.
    Delete,
    /// A new value (or one not known until apply).
    Update,
}

/// One changed property.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyChange {
    /// `cidr_block`, `tags.Name`, `cidr_blocks[1]`.
    pub path: String,
    /// Added, deleted or updated.
    pub kind: ChangeKind,
    /// Whether the change forces a replacement (the top-level property is
    /// `#[mkso(replace)]`).
    pub replace: bool,
    /// The new value is not known until apply.
    pub unknown: bool,
    /// The recorded value (`None`: unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old: Option<Value>,
    /// The new value (`None`: unset; the unknown marker while unknown).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new: Option<Value>,
}

impl PropertyChange {
    /// The top-level property of the path.
    pub fn property(&self) -> &str {
        let end = self.path.find(['.', '[']).unwrap_or(self.path.len());
        &self.path[..end]
    }
}

impl fmt::Display for PropertyChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ChangeKind::Add => "added",
            ChangeKind::Delete => "removed",
            ChangeKind::Update if self.unknown => "known after apply",
            ChangeKind::Update => "changed",
        };
        write!(f, "{} {what}", self.path)?;
        if self.replace {
            f.write_str(" (forces replacement)")?;
        }
        Ok(())
    }
}

/// The changes between recorded and new inputs, property by property;
/// `#[mkso(ignore_diff)]` properties are skipped, unknown new values count
/// as updates. Properties the schema does not name are diffed too (never
/// forcing a replacement).
pub fn diff_properties(properties: &[Property], old: &Value, new: &Value) -> Vec<PropertyChange> {
    let empty = serde_json::Map::new();
    let o = old.as_object().unwrap_or(&empty);
    let n = new.as_object().unwrap_or(&empty);
    let mut names: Vec<&str> = properties.iter().map(|p| p.name).collect();
    for k in o.keys().chain(n.keys()) {
        if !names.contains(&k.as_str()) {
            names.push(k);
        }
    }
    let mut out = Vec::new();
    for name in names {
        let prop = properties.iter().find(|p| p.name == name);
        if prop.is_some_and(|p| p.ignore_diff) {
            continue;
        }
        let replace = prop.is_some_and(|p| p.replace);
        let ov = o.get(name).unwrap_or(&Value::Null);
        let nv = n.get(name).unwrap_or(&Value::Null);
        let start = out.len();
        walk(name.to_string(), ov, nv, &mut out);
        for c in &mut out[start..] {
            c.replace = replace;
        }
    }
    out
}

fn walk(path: String, old: &Value, new: &Value, out: &mut Vec<PropertyChange>) {
    let value = |v: &Value| (!v.is_null()).then(|| v.clone());
    let change = |kind, unknown| PropertyChange {
        path: path.clone(),
        kind,
        replace: false,
        unknown,
        old: value(old),
        new: value(new),
    };
    if new.as_str() == Some(UNKNOWN) {
        out.push(change(ChangeKind::Update, true));
        return;
    }
    match (old, new) {
        (Value::Null, Value::Null) => {}
        (Value::Null, _) => out.push(change(ChangeKind::Add, contains_unknown(new))),
        (_, Value::Null) => out.push(change(ChangeKind::Delete, false)),
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(
                    format!("{path}.{k}"),
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                walk(
                    format!("{path}[{i}]"),
                    a.get(i).unwrap_or(&Value::Null),
                    b.get(i).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (a, b) if a == b => {}
        _ => out.push(change(ChangeKind::Update, contains_unknown(new))),
    }
}

/// The engine's answer from property changes: the changed top-level
/// properties, those forcing a replacement, and the details.
pub fn diff_response(changes: &[PropertyChange]) -> DiffResponse {
    let mut changed: Vec<String> = Vec::new();
    let mut replace: Vec<String> = Vec::new();
    for c in changes {
        let p = c.property().to_string();
        if c.replace && !replace.contains(&p) {
            replace.push(p.clone());
        }
        if !changed.contains(&p) {
            changed.push(p);
        }
    }
    changed.sort();
    replace.sort();
    DiffResponse {
        changed,
        replace,
        planned_outputs: None,
        details: changes.to_vec(),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const PROPS: &[Property] = &[
        Property {
            name: "cidr_block",
            required: true,
            replace: true,
            secret: false,
            ignore_diff: false,
            tags: false,
            doc: "",
        },
        Property {
            name: "tags",
            required: false,
            replace: false,
            secret: false,
            ignore_diff: false,
            tags: true,
            doc: "",
        },
        Property {
            name: "note",
            required: false,
            replace: false,
            secret: false,
            ignore_diff: true,
            tags: false,
            doc: "",
        },
    ];

    #[test]
    fn nested_changes_name_their_paths() {
        let old = json!({"cidr_block": "10.0.0.0/16", "tags": {"a": "1", "b": "2"}, "note": "x"});
        let new = json!({"cidr_block": "10.0.0.0/16", "tags": {"a": "9", "c": "3"}, "note": "y"});
        let d = diff_properties(PROPS, &old, &new);
        let shown: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["tags.a changed", "tags.b removed", "tags.c added"]);
        let r = diff_response(&d);
        assert_eq!(r.changed, ["tags"]);
        assert!(r.replace.is_empty());
    }

    #[test]
    fn replace_keys_and_unknowns() {
        let old = json!({"cidr_block": "10.0.0.0/16", "list": [1, 2]});
        let new = json!({"cidr_block": UNKNOWN, "list": [1]});
        let d = diff_properties(PROPS, &old, &new);
        let shown: Vec<String> = d.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                "cidr_block known after apply (forces replacement)",
                "list[1] removed"
            ]
        );
        let r = diff_response(&d);
        assert_eq!(r.changed, ["cidr_block", "list"]);
        assert_eq!(r.replace, ["cidr_block"]);
    }
}
