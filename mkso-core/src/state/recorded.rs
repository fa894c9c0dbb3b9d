//! [`Recorded`]: a resource's recorded inputs or outputs, shared and kept
//! compact.
//!
//! A value read from the state stays the JSON text it was read as (about a
//! tenth of the memory of a parsed `serde_json::Value`, whose objects are
//! B-trees) and is parsed when something reads it. The plan of an unchanged
//! resource compares the program's inputs with that text
//! ([`Recorded::same_as`]) and hands the provider a parsed copy it drops
//! afterwards ([`Recorded::to_value`]), so a no-change `preview` or `up` of a
//! large stack never holds every record parsed at once. Values made by the
//! engine (a provider's answer) are kept parsed.
//!
//! Values stay text when read by [`read_as_text`] (the snapshot decoder
//! does); anywhere else — a journal entry, whose tagged enum serde buffers
//! first, or a `serde_json::Value` — they are read parsed.
//!
//! ```
//! use mkso::state::{Recorded, read_as_text};
//! use serde_json::json;
//!
//! let r: Recorded = read_as_text(|| serde_json::from_str(r#"{"cidr":"10.0.0.0/16"}"#)).unwrap();
//! assert!(r.is_text());
//! assert!(r.same_as(&json!({"cidr": "10.0.0.0/16"})));
//! assert_eq!(r["cidr"], "10.0.0.0/16"); // parsed on first read
//! assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"cidr":"10.0.0.0/16"}"#);
//! ```

use std::cell::Cell;
use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, OnceLock};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;

thread_local! {
    static AS_TEXT: Cell<bool> = const { Cell::new(false) };
}

/// Runs `read` (a `serde_json` read from text) with recorded values kept as
/// their text. Only for deserializers that hand raw JSON through (not for
/// buffered ones: internally tagged enums, `flatten`).
pub fn read_as_text<T>(read: impl FnOnce() -> T) -> T {
    struct Reset(bool);
    impl Drop for Reset {
        fn drop(&mut self) {
            AS_TEXT.with(|f| f.set(self.0));
        }
    }
    let _reset = Reset(AS_TEXT.with(|f| f.replace(true)));
    read()
}

/// A recorded value: cheap to clone (shared), parsed on first read.
#[derive(Clone)]
pub struct Recorded(Arc<Inner>);

struct Inner {
    /// The JSON text it was read as (`None`: made from a value).
    text: Option<Box<RawValue>>,
    /// The parsed value (set from the start when made from a value).
    value: OnceLock<Value>,
}

impl Recorded {
    /// Keeps `value` (parsed).
    pub fn new(value: Value) -> Self {
        Recorded(Arc::new(Inner {
            text: None,
            value: OnceLock::from(value),
        }))
    }

    /// The value, parsed now if it was not yet (and kept parsed).
    pub fn value(&self) -> &Value {
        self.0.value.get_or_init(|| match &self.0.text {
            Some(t) => parse(t),
            None => Value::Null,
        })
    }

    /// A copy of the value, parsed for the caller without keeping the parse
    /// (for reads that happen once per record, such as the plan's diff).
    pub fn to_value(&self) -> Value {
        match (self.0.value.get(), &self.0.text) {
            (Some(v), _) => v.clone(),
            (None, Some(t)) => parse(t),
            (None, None) => Value::Null,
        }
    }

    /// Whether it equals `v`, comparing JSON text when it is still text
    /// (no parse when they are the same text).
    pub fn same_as(&self, v: &Value) -> bool {
        match (self.0.value.get(), &self.0.text) {
            (Some(mine), _) => mine == v,
            (None, Some(t)) => {
                serde_json::to_string(v).is_ok_and(|s| s == t.get()) || parse(t) == *v
            }
            (None, None) => v.is_null(),
        }
    }

    /// The value to change in place (parsed, and no longer shared).
    pub fn to_mut(&mut self) -> &mut Value {
        if Arc::get_mut(&mut self.0).is_none() {
            *self = Recorded::new(self.to_value());
        }
        let inner = Arc::get_mut(&mut self.0).expect("unique after the copy above");
        if inner.value.get().is_none() {
            let v = inner.text.as_deref().map(parse).unwrap_or(Value::Null);
            let _ = inner.value.set(v);
        }
        // Changed values are serialized from the value from now on.
        inner.text = None;
        inner.value.get_mut().expect("set above")
    }

    /// Whether it is still unparsed text (for tests and benchmarks).
    pub fn is_text(&self) -> bool {
        self.0.value.get().is_none()
    }

    /// Whether both are the same shared value.
    pub fn ptr_eq(a: &Recorded, b: &Recorded) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }
}

/// Recorded text was valid JSON when read; a value `Value` cannot hold (a
/// number out of `f64` range) reads as null rather than failing the load.
fn parse(t: &RawValue) -> Value {
    serde_json::from_str(t.get()).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "a recorded value does not parse; read as null");
        Value::Null
    })
}

impl Default for Recorded {
    fn default() -> Self {
        Recorded::new(Value::Null)
    }
}

impl Deref for Recorded {
    type Target = Value;
    fn deref(&self) -> &Value {
        self.value()
    }
}

impl AsRef<Value> for Recorded {
    fn as_ref(&self) -> &Value {
        self.value()
    }
}

impl From<Value> for Recorded {
    fn from(v: Value) -> Self {
        Recorded::new(v)
    }
}

impl PartialEq for Recorded {
    fn eq(&self, other: &Self) -> bool {
        if Recorded::ptr_eq(self, other) {
            return true;
        }
        match (&self.0.text, &other.0.text) {
            (Some(a), Some(b)) if a.get() == b.get() => true,
            _ => match other.0.value.get() {
                Some(v) => self.same_as(v),
                None => other.same_as(&self.to_value()),
            },
        }
    }
}

impl PartialEq<Value> for Recorded {
    fn eq(&self, other: &Value) -> bool {
        self.same_as(other)
    }
}

impl fmt::Debug for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.0.value.get(), &self.0.text) {
            (Some(v), _) => fmt::Debug::fmt(v, f),
            (None, Some(t)) => fmt::Debug::fmt(&parse(t), f),
            (None, None) => f.write_str("Null"),
        }
    }
}

impl Serialize for Recorded {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match (self.0.value.get(), &self.0.text) {
            (Some(v), _) => v.serialize(s),
            // Parsed for the serializer only: writing a snapshot does not
            // leave every record parsed. Text that `Value` cannot hold is
            // written back as it was read (nothing recorded is lost).
            (None, Some(t)) => match serde_json::from_str::<Value>(t.get()) {
                Ok(v) => v.serialize(s),
                Err(_) => t.serialize(s),
            },
            (None, None) => s.serialize_unit(),
        }
    }
}

impl<'de> Deserialize<'de> for Recorded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if !AS_TEXT.with(Cell::get) {
            return Value::deserialize(d).map(Recorded::new);
        }
        let text = Box::<RawValue>::deserialize(d)?;
        Ok(Recorded(Arc::new(Inner {
            text: Some(text),
            value: OnceLock::new(),
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(s: &str) -> Recorded {
        read_as_text(|| serde_json::from_str(s)).unwrap()
    }

    #[test]
    fn text_stays_text_until_read() {
        let r = read(r#"{"a":1,"b":[true,null]}"#);
        assert!(r.same_as(&json!({"b": [true, null], "a": 1})));
        assert!(!r.same_as(&json!({"a": 2, "b": [true, null]})));
        assert_eq!(r.to_value(), json!({"a": 1, "b": [true, null]}));
        assert!(r.is_text(), "same_as and to_value keep no parse");
        assert_eq!(r["a"], 1);
        assert!(!r.is_text());
    }

    #[test]
    fn text_written_differently_still_compares_by_value() {
        let r = read("{ \"b\": 1.0, \"a\": \"x\" }");
        assert!(r.same_as(&json!({"a": "x", "b": 1.0})));
        assert_eq!(r, Recorded::new(json!({"a": "x", "b": 1.0})));
        assert_eq!(Recorded::new(json!({"a": "x", "b": 1.0})), r);
    }

    #[test]
    fn to_mut_unshares_and_serializes_the_change() {
        let a = read(r#"{"a":1}"#);
        let mut b = a.clone();
        b.to_mut()["a"] = json!(2);
        assert_eq!(serde_json::to_string(&a).unwrap(), r#"{"a":1}"#);
        assert_eq!(serde_json::to_string(&b).unwrap(), r#"{"a":2}"#);
    }

    #[test]
    fn outside_read_as_text_values_are_parsed() {
        // A journal entry is a tagged enum, which serde buffers before it
        // reads the fields: no raw text reaches `Recorded` there.
        #[derive(Deserialize)]
        #[serde(tag = "kind")]
        enum Entry {
            Put { value: Recorded },
        }
        let Entry::Put { value } =
            serde_json::from_str(r#"{"kind":"Put","value":{"a":[1]}}"#).unwrap();
        assert_eq!(*value, json!({"a": [1]}));
        assert!(!value.is_text());
    }

    #[test]
    fn text_a_value_cannot_hold_is_written_back_as_read() {
        let r = read(r#"{"big":1e400}"#);
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"big":1e400}"#);
        assert!(r.is_null(), "read as null (with a warning)");
    }

    #[test]
    fn reads_from_a_value_too() {
        let r: Recorded = serde_json::from_value(json!({"x": [1, 2]})).unwrap();
        assert_eq!(*r, json!({"x": [1, 2]}));
        let missing: Recorded = Recorded::default();
        assert!(missing.is_null());
    }
}
