//! What `#[derive(Resource)]` generates against: per-property metadata,
//! the typed "maybe unknown" value, the builder's type states and the
//! conversions optional inputs accept.

use std::fmt;
use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::output::{Output, OutputValue, contains_unknown};
use crate::resource::Resource;

/// One input property of a resource type, as declared on its field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    /// The property (= field) name.
    pub name: &'static str,
    /// Whether a program must set it (neither `Option` nor `#[serde(default)]`).
    pub required: bool,
    /// `#[mkso(replace)]`: a change replaces the resource.
    pub replace: bool,
    /// `#[mkso(secret)]`: the value is always secret.
    pub secret: bool,
    /// `#[mkso(ignore_diff)]`: changes are never diffed (set once at create).
    pub ignore_diff: bool,
    /// `#[mkso(tags)]`: the resource's own tags (updated in place by the
    /// provider's tag call).
    pub tags: bool,
    /// The field's doc comment.
    pub doc: &'static str,
}

/// A resource type declared with `#[derive(Resource)]`: its properties'
/// metadata and a typed view of inputs that may still be unknown.
pub trait TypedResource: Resource {
    /// The input properties, in declaration order.
    const PROPERTIES: &'static [Property];
    /// Outputs (`#[mkso(computed)]`) an in-place update may change: known
    /// only after it.
    const COMPUTED_OUTPUTS: &'static [&'static str] = &[];
    /// Outputs that are always secret (`#[mkso(secret)]`).
    const SECRET_OUTPUTS: &'static [&'static str] = &[];
    /// The inputs as a plan sees them (each field a [`Planned`]).
    type Planned: fmt::Debug + Send + Sync;
    /// Reads inputs that may hold unknown values.
    fn planned(inputs: &Value) -> Result<Self::Planned, PlannedError>;
    /// The resource's own tags, when a property is `#[mkso(tags)]`.
    fn tags(_inputs: &Self::Inputs) -> Option<&std::collections::BTreeMap<String, String>> {
        None
    }
    /// The metadata of one property.
    fn property(name: &str) -> Option<&'static Property> {
        Self::PROPERTIES.iter().find(|p| p.name == name)
    }
}

/// Metadata of an outputs struct (`#[derive(ResourceOutputs)]`).
pub trait OutputsMeta {
    /// `#[mkso(computed)]` outputs: changed by an in-place update.
    const COMPUTED: &'static [&'static str];
    /// `#[mkso(secret)]` outputs.
    const SECRET: &'static [&'static str];
    /// Required outputs and the kind of value each holds: what the
    /// in-memory provider ([`crate::testing::TestProvider`]) answers for an
    /// output that its inputs do not echo (a load balancer's `dns_name`).
    const PLACEHOLDERS: &'static [(&'static str, Placeholder)] = &[];
}

/// The kind of value of a required output, for a stand-in value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// A string: `<resource name>-<output>`.
    Text,
    /// A number: 0.
    Number,
    /// A boolean: false.
    Flag,
    /// A list: empty.
    List,
    /// A map: empty.
    Map,
}

type PlaceholderTable =
    std::collections::HashMap<&'static str, &'static [(&'static str, Placeholder)]>;

static PLACEHOLDERS: std::sync::RwLock<Option<PlaceholderTable>> = std::sync::RwLock::new(None);

/// Notes the output placeholders of a resource type (called by the
/// derived `Name::new`; the in-memory provider reads them).
#[doc(hidden)]
pub fn note_placeholders(type_token: &'static str, p: &'static [(&'static str, Placeholder)]) {
    if p.is_empty() {
        return;
    }
    let known = PLACEHOLDERS
        .read()
        .map(|t| t.as_ref().is_some_and(|t| t.contains_key(type_token)))
        .unwrap_or(true);
    if !known && let Ok(mut t) = PLACEHOLDERS.write() {
        t.get_or_insert_with(Default::default).insert(type_token, p);
    }
}

/// The output placeholders noted for a type.
pub(crate) fn placeholders(type_token: &str) -> &'static [(&'static str, Placeholder)] {
    PLACEHOLDERS
        .read()
        .ok()
        .and_then(|t| t.as_ref().and_then(|t| t.get(type_token).copied()))
        .unwrap_or(&[])
}

/// A value a plan may not know yet: it depends on a resource that is not
/// created (or is being replaced). A provider's `check` sees inputs this way
/// and cannot mistake an unknown for a value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned<T> {
    /// Known now.
    Known(T),
    /// Known only once the resources it comes from are applied.
    Unknown,
}

impl<T> Planned<T> {
    /// The value, when known.
    pub fn known(&self) -> Option<&T> {
        match self {
            Planned::Known(v) => Some(v),
            Planned::Unknown => None,
        }
    }
    /// Whether the value is known.
    pub fn is_known(&self) -> bool {
        matches!(self, Planned::Known(_))
    }
}

impl<T> Planned<Option<T>> {
    /// `Some` when known and set.
    pub fn known_some(&self) -> Option<&T> {
        self.known().and_then(Option::as_ref)
    }
    /// Whether it is known to be unset.
    pub fn is_known_none(&self) -> bool {
        matches!(self, Planned::Known(None))
    }
}

impl<T: DeserializeOwned> Planned<T> {
    #[doc(hidden)]
    pub fn from_json(property: &'static str, v: Option<&Value>) -> Result<Self, PlannedError> {
        let v = v.unwrap_or(&Value::Null);
        if contains_unknown(v) {
            return Ok(Planned::Unknown);
        }
        T::deserialize(v)
            .map(Planned::Known)
            .map_err(|e| PlannedError {
                property,
                message: e.to_string(),
            })
    }
}

/// An input whose JSON does not fit its declared type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("property `{property}`: {message}")]
pub struct PlannedError {
    /// The property.
    pub property: &'static str,
    /// What serde said.
    pub message: String,
}

/// A builder's state for a required input not set yet; `F` names it.
#[derive(Debug)]
pub struct Missing<F>(PhantomData<F>);

/// A builder's state for a required input that is set.
#[derive(Debug)]
pub struct Set;

/// What an optional (`Option<T>`) input accepts: `T` (or `&str` for
/// `String`), `Option<T>`, an `Output<T>` or an `Output<Option<T>>` — no
/// `.map(Some)` needed.
pub trait IntoOptionalInput<T> {
    /// The input.
    fn into_optional_input(self) -> Output<Option<T>>;
}

impl<T: OutputValue> IntoOptionalInput<T> for T {
    fn into_optional_input(self) -> Output<Option<T>> {
        Output::new(Some(self))
    }
}

impl IntoOptionalInput<String> for &str {
    fn into_optional_input(self) -> Output<Option<String>> {
        Output::new(Some(self.to_string()))
    }
}

impl<T: OutputValue> IntoOptionalInput<T> for Option<T> {
    fn into_optional_input(self) -> Output<Option<T>> {
        Output::new(self)
    }
}

impl<T: OutputValue> IntoOptionalInput<T> for Output<T> {
    fn into_optional_input(self) -> Output<Option<T>> {
        self.map(Some)
    }
}

impl<T: OutputValue> IntoOptionalInput<T> for Output<Option<T>> {
    fn into_optional_input(self) -> Output<Option<T>> {
        self
    }
}

impl<T: OutputValue> IntoOptionalInput<T> for &Output<T> {
    fn into_optional_input(self) -> Output<Option<T>> {
        self.map(Some)
    }
}
