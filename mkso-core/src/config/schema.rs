//! A program's config type, from its JSON schema: its fields, which are
//! required or secret, what each accepts, and how errors describe it.

use schemars::JsonSchema;
use serde_json::Value;

use crate::secrets::SECRET_MARKER;

/// The fields of a namespace's config type.
pub(super) struct NamespaceSchema {
    /// The whole schema (its `$defs` resolve references).
    root: Value,
    /// Each field's schema, by name.
    props: serde_json::Map<String, Value>,
    /// The fields that have no default.
    required: Vec<String>,
}

impl NamespaceSchema {
    /// The schema of `T`.
    pub(super) fn of<T: JsonSchema>() -> NamespaceSchema {
        let root = schemars::schema_for!(T).to_value();
        let props = root
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let required = root
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        NamespaceSchema {
            root,
            props,
            required,
        }
    }

    /// Whether the type has a field `name`.
    pub(super) fn has(&self, name: &str) -> bool {
        self.props.contains_key(name)
    }

    /// The field whose name matches `pred`.
    pub(super) fn find(&self, pred: impl Fn(&str) -> bool) -> Option<&str> {
        self.props.keys().map(String::as_str).find(|p| pred(p))
    }

    /// The fields that have no default.
    pub(super) fn required(&self) -> &[String] {
        &self.required
    }

    /// The keys of namespace `ns` that the type knows, for messages.
    pub(super) fn known(&self, ns: &str) -> String {
        if self.props.is_empty() {
            "no keys".to_string()
        } else {
            self.props
                .keys()
                .map(|k| format!("`{ns}:{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    }

    /// A short, human description of a field's type (`a value` for a field
    /// the type does not have).
    pub(super) fn describe(&self, field: &str) -> String {
        match self.props.get(field) {
            Some(s) => describe_type(s, &self.root),
            None => "a value".into(),
        }
    }

    /// Whether a field is a `Secret` (marked with [`SECRET_MARKER`]).
    pub(super) fn is_secret(&self, field: &str) -> bool {
        self.props
            .get(field)
            .is_some_and(|s| s.to_string().contains(SECRET_MARKER))
    }

    /// Whether a field accepts only a string (optional or not; not an
    /// enum): a number or boolean value is then read as its text.
    pub(super) fn wants_string(&self, field: &str) -> bool {
        self.props
            .get(field)
            .is_some_and(|s| accepts_only(s, &self.root, &|t| t == "string"))
    }

    /// Whether a field accepts no string: a number, boolean, list or
    /// mapping (optional or not).
    pub(super) fn wants_non_string(&self, field: &str) -> bool {
        self.props.get(field).is_some_and(|s| {
            accepts_only(s, &self.root, &|t| {
                matches!(t, "integer" | "number" | "boolean" | "array" | "object")
            })
        })
    }
}

/// Whether a schema accepts only the JSON types for which `plain` holds
/// (besides null; an enum or constant never qualifies).
fn accepts_only(s: &Value, root: &Value, plain: &dyn Fn(&str) -> bool) -> bool {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return match root.get("$defs").and_then(|d| d.get(name)) {
            Some(def) => accepts_only(def, root, plain),
            None => false,
        };
    }
    if s.get("enum").is_some() || s.get("const").is_some() {
        return false;
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(k).and_then(Value::as_array) {
            let alts: Vec<&Value> = alts
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            return !alts.is_empty() && alts.iter().all(|a| accepts_only(a, root, plain));
        }
    }
    match s.get("type") {
        Some(Value::String(t)) => plain(t),
        Some(Value::Array(ts)) => {
            let ts: Vec<&str> = ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            !ts.is_empty() && ts.iter().all(|t| plain(t))
        }
        _ => false,
    }
}

/// A short, human description of a JSON schema's type.
fn describe_type(s: &Value, root: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        if let Some(def) = root.get("$defs").and_then(|d| d.get(name)) {
            if def.get("enum").is_some() {
                return format!("one of {}", def["enum"]);
            }
            if def.get("properties").is_some() {
                return format!("a mapping ({name})");
            }
            return describe_type(def, root);
        }
        return name.to_string();
    }
    if let Some(e) = s.get("enum") {
        return format!("one of {e}");
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(k).and_then(Value::as_array) {
            let parts: Vec<String> = alts
                .iter()
                .map(|a| describe_type(a, root))
                .filter(|t| t != "null")
                .collect();
            return parts.join(" or ");
        }
    }
    match s.get("type") {
        Some(Value::String(t)) => match t.as_str() {
            "array" => match s.get("items") {
                Some(items) => format!("a list of {}", describe_type(items, root)),
                None => "a list".into(),
            },
            "object" => "a mapping".into(),
            other => other.to_string(),
        },
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".into(),
    }
}
