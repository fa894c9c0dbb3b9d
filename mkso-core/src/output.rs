//! `Output<T>`: a value that may only be known once other resources exist.
//!
//! An output carries the set of resources it depends on, a secret flag, and a
//! (lazy) way to compute its value. The program builds outputs while it declares
//! resources; the engine evaluates them when the resources they depend on are
//! known: during a preview a value may be *unknown* ("known after apply"), during
//! an `up` it is evaluated once its dependencies have been created.
//!
//! Using an output as a resource input records a dependency edge.
//!
//! ```
//! use mkso::Output;
//! let port: Output<u16> = Output::new(8080);
//! let url = port.map(|p| format!("http://localhost:{p}"));
//! let both = Output::all((url.clone(), Output::secret("hunter2".to_string())));
//! // A secret never shows in Debug or Display:
//! assert!(!format!("{both:?}").contains("hunter2"));
//! // Values are computed by the engine, or in tests:
//! let (u, pw) = mkso::testing::resolve(&both).unwrap().unwrap();
//! assert_eq!(u, "http://localhost:8080");
//! assert_eq!(pw, "hunter2");
//! ```

use std::collections::BTreeSet;
use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use futures::future::{BoxFuture, FutureExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::names::Urn;

/// The JSON placeholder for a value that is unknown until the resource it comes
/// from has been created ("known after apply").
pub const UNKNOWN: &str = "<mkso:unknown>";

/// Whether a JSON value is, or contains, the unknown placeholder.
pub fn contains_unknown(v: &Value) -> bool {
    match v {
        Value::String(s) => s == UNKNOWN,
        Value::Array(a) => a.iter().any(contains_unknown),
        Value::Object(o) => o.values().any(contains_unknown),
        _ => false,
    }
}

/// What the engine knows about a resource when an output reads from it.
#[derive(Debug, Clone)]
pub struct ResolvedResource {
    /// The provider id, if known.
    pub id: Option<String>,
    /// The outputs; fields may hold [`UNKNOWN`].
    pub outputs: crate::state::Recorded,
    /// Whether the outputs are secret as a whole.
    pub secret: bool,
    /// The output properties that are secret (when not `secret` as a whole).
    pub secret_outputs: Vec<String>,
}

/// Looks up resources' values while outputs are evaluated.
pub trait Resolver: Send + Sync {
    /// `None` when the resource's outputs are not known (yet).
    fn resource(&self, urn: &Urn) -> Option<ResolvedResource>;
}

/// The result of evaluating an output.
#[derive(Debug, Clone, PartialEq)]
pub struct Resolved<T> {
    /// `None` while unknown.
    pub value: Option<T>,
    /// Whether the value is secret (in part, when `secret_keys` is not empty).
    pub secret: bool,
    /// For an object whose secrecy is known per property (a resource's
    /// inputs, built by [`Output::object`]): its secret top-level properties,
    /// the others being in clear. Empty with `secret` set: secret as a whole.
    pub secret_keys: Vec<String>,
}

/// An error while computing an output's value.
#[derive(Debug, Clone, thiserror::Error)]
pub enum OutputError {
    /// A resource's output could not be read as the type the program asked for.
    #[error("output `{property}` of {urn} is not a {expected}: {message}")]
    WrongType {
        /// The resource.
        urn: Urn,
        /// The property that was read.
        property: String,
        /// The Rust type that was expected.
        expected: &'static str,
        /// The deserializer's message.
        message: String,
    },
    /// A closure passed to `try_map` / `try_apply` failed.
    #[error("{0}")]
    Apply(String),
    /// A value could not be turned into JSON.
    #[error("cannot serialize a value: {0}")]
    Serialize(String),
}

type EvalFn<T> =
    dyn Fn(Arc<dyn Resolver>) -> BoxFuture<'static, Result<Resolved<T>, OutputError>> + Send + Sync;

/// Bounds every output value satisfies.
pub trait OutputValue: Clone + Send + Sync + 'static {}
impl<T: Clone + Send + Sync + 'static> OutputValue for T {}

/// A value that may be unknown until resources exist; see the module docs.
pub struct Output<T> {
    deps: Arc<[Urn]>,
    secret: bool,
    eval: Arc<EvalFn<T>>,
    /// The outputs a combined output is made of (a `Vec<Output<E>>` for
    /// [`Output::all_vec`]), so that [`Output::index`] depends on its
    /// element alone.
    parts: Option<Arc<dyn std::any::Any + Send + Sync>>,
    _t: PhantomData<fn() -> T>,
}

/// An input to a resource: a plain value (`.into()`) or another resource's output.
pub type Input<T> = Output<T>;

impl<T> Clone for Output<T> {
    fn clone(&self) -> Self {
        Output {
            deps: self.deps.clone(),
            secret: self.secret,
            eval: self.eval.clone(),
            parts: self.parts.clone(),
            _t: PhantomData,
        }
    }
}

fn merge_deps<'a>(sets: impl IntoIterator<Item = &'a Arc<[Urn]>>) -> Arc<[Urn]> {
    let mut iter = sets.into_iter().filter(|d| !d.is_empty());
    let Some(first) = iter.next() else {
        return Arc::from(Vec::new());
    };
    let rest: Vec<_> = iter.collect();
    if rest.is_empty() {
        return first.clone();
    }
    let mut all: BTreeSet<Urn> = first.iter().cloned().collect();
    for r in rest {
        all.extend(r.iter().cloned());
    }
    all.into_iter().collect::<Vec<_>>().into()
}

impl<T: OutputValue> Output<T> {
    fn from_fn(
        deps: Arc<[Urn]>,
        secret: bool,
        f: impl Fn(Arc<dyn Resolver>) -> BoxFuture<'static, Result<Resolved<T>, OutputError>>
        + Send
        + Sync
        + 'static,
    ) -> Self {
        Output {
            deps,
            secret,
            eval: Arc::new(f),
            parts: None,
            _t: PhantomData,
        }
    }

    /// A known, constant value.
    pub fn new(value: T) -> Self {
        Self::constant(value, false)
    }

    /// A known value that is secret: it is never displayed or logged.
    pub fn secret(value: T) -> Self {
        Self::constant(value, true)
    }

    fn constant(value: T, secret: bool) -> Self {
        Self::from_fn(Arc::from(Vec::new()), secret, move |_| {
            let v = value.clone();
            futures::future::ready(Ok(Resolved {
                secret_keys: Vec::new(),
                value: Some(v),
                secret,
            }))
            .boxed()
        })
    }

    /// A value that is never known (useful in tests of previews).
    pub fn unknown() -> Self {
        Self::from_fn(Arc::from(Vec::new()), false, |_| {
            futures::future::ready(Ok(Resolved {
                secret_keys: Vec::new(),
                value: None,
                secret: false,
            }))
            .boxed()
        })
    }

    /// The resources this output depends on (direct dependencies).
    pub fn dependencies(&self) -> &[Urn] {
        &self.deps
    }

    /// Whether this output is known to be secret when the program declares it.
    /// (Resource outputs may also become secret when they are evaluated.)
    pub fn is_secret(&self) -> bool {
        self.secret
    }

    /// The same value, no longer secret: for values derived from a secret
    /// resource that are not themselves secret (an instance's id, say).
    pub fn unsecret(self) -> Self {
        let eval = self.eval.clone();
        Self::from_fn(self.deps.clone(), false, move |r| {
            let fut = eval(r);
            async move {
                let mut res = fut.await?;
                res.secret = false;
                res.secret_keys.clear();
                Ok(res)
            }
            .boxed()
        })
    }

    /// The same value, marked secret.
    pub fn into_secret(self) -> Self {
        let eval = self.eval.clone();
        Self::from_fn(self.deps.clone(), true, move |r| {
            let fut = eval(r);
            async move {
                let mut res = fut.await?;
                res.secret = true;
                res.secret_keys.clear();
                Ok(res)
            }
            .boxed()
        })
    }

    /// The same value, also depending on `urns` (as if it had been read from them).
    pub fn with_dependencies(self, urns: impl IntoIterator<Item = Urn>) -> Self {
        let extra: Arc<[Urn]> = urns.into_iter().collect::<Vec<_>>().into();
        Output {
            deps: merge_deps([&self.deps, &extra]),
            parts: None,
            ..self
        }
    }

    /// Evaluates the output against a resolver (the engine does this).
    pub async fn resolve(&self, resolver: Arc<dyn Resolver>) -> Result<Resolved<T>, OutputError> {
        (self.eval)(resolver).await
    }

    /// Transforms the value once it is known.
    pub fn map<U: OutputValue>(&self, f: impl Fn(T) -> U + Send + Sync + 'static) -> Output<U> {
        self.try_map(move |v| Ok::<U, std::convert::Infallible>(f(v)))
    }

    /// Transforms the value once it is known; an error fails the resource that uses it.
    pub fn try_map<U: OutputValue, E: fmt::Display>(
        &self,
        f: impl Fn(T) -> Result<U, E> + Send + Sync + 'static,
    ) -> Output<U> {
        let eval = self.eval.clone();
        let f = Arc::new(f);
        Output::from_fn(self.deps.clone(), self.secret, move |r| {
            let fut = eval(r);
            let f = f.clone();
            async move {
                let res = fut.await?;
                Ok(Resolved {
                    secret_keys: Vec::new(),
                    value: match res.value {
                        Some(v) => Some(f(v).map_err(|e| OutputError::Apply(e.to_string()))?),
                        None => None,
                    },
                    secret: res.secret,
                })
            }
            .boxed()
        })
    }

    /// Runs an async function on the value once it is known.
    pub fn apply<U, F, Fut>(&self, f: F) -> Output<U>
    where
        U: OutputValue,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = U> + Send + 'static,
    {
        self.try_apply(move |v| f(v).map(Ok::<U, std::convert::Infallible>))
    }

    /// Runs a fallible async function on the value once it is known.
    pub fn try_apply<U, E, F, Fut>(&self, f: F) -> Output<U>
    where
        U: OutputValue,
        E: fmt::Display,
        F: Fn(T) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, E>> + Send + 'static,
    {
        let eval = self.eval.clone();
        let f = Arc::new(f);
        Output::from_fn(self.deps.clone(), self.secret, move |r| {
            let fut = eval(r);
            let f = f.clone();
            async move {
                let res = fut.await?;
                let value = match res.value {
                    Some(v) => Some(f(v).await.map_err(|e| OutputError::Apply(e.to_string()))?),
                    None => None,
                };
                Ok(Resolved {
                    secret_keys: Vec::new(),
                    value,
                    secret: res.secret,
                })
            }
            .boxed()
        })
    }

    /// Combines this output with another.
    pub fn zip<U: OutputValue>(&self, other: &Output<U>) -> Output<(T, U)> {
        Output::all((self.clone(), other.clone()))
    }

    /// Combines several outputs of one type into one output of a `Vec`.
    pub fn all_vec(outputs: impl IntoIterator<Item = Output<T>>) -> Output<Vec<T>> {
        let outputs: Vec<Output<T>> = outputs.into_iter().collect();
        let deps = merge_deps(outputs.iter().map(|o| &o.deps));
        let secret = outputs.iter().any(|o| o.secret);
        let outputs = Arc::new(outputs);
        let parts: Arc<dyn std::any::Any + Send + Sync> = outputs.clone();
        let mut combined = Output::from_fn(deps, secret, move |r| {
            let outputs = outputs.clone();
            async move {
                let mut values = Vec::with_capacity(outputs.len());
                let mut known = true;
                let mut secret = false;
                for o in outputs.iter() {
                    let res = o.resolve(r.clone()).await?;
                    secret |= res.secret;
                    match res.value {
                        Some(v) => values.push(v),
                        None => known = false,
                    }
                }
                Ok(Resolved {
                    secret_keys: Vec::new(),
                    value: known.then_some(values),
                    secret,
                })
            }
            .boxed()
        });
        combined.parts = Some(parts);
        combined
    }
}

impl<T: OutputValue> Output<Vec<T>> {
    /// Element `i` of the list. For a list made by [`Output::all_vec`] it is
    /// that element's own output: its value, dependencies and secrecy are
    /// its alone (a resource that takes `subnets.index(0)` waits for that
    /// subnet only). Otherwise it is read from the list once known; an index
    /// past the end is an error naming both.
    pub fn index(&self, i: usize) -> Output<T> {
        if let Some(parts) = &self.parts
            && let Some(list) = parts.downcast_ref::<Vec<Output<T>>>()
            && let Some(o) = list.get(i)
        {
            return o.clone();
        }
        self.try_map(move |v| {
            let len = v.len();
            v.into_iter()
                .nth(i)
                .ok_or_else(|| format!("index {i} is past the end of a list of {len} element(s)"))
        })
    }
}

impl<T: OutputValue + Serialize> Output<T> {
    /// The value as JSON (unknown stays unknown).
    pub fn into_json(self) -> Output<Value> {
        self.try_map(|v| serde_json::to_value(v).map_err(|e| OutputError::Serialize(e.to_string())))
    }
}

impl<T: OutputValue + DeserializeOwned> Output<T> {
    /// A property of a resource's outputs (`""` reads the whole outputs object).
    pub fn from_resource(urn: Urn, property: &'static str) -> Self {
        let deps: Arc<[Urn]> = Arc::from(vec![urn.clone()]);
        Self::from_fn(deps, false, move |r| {
            let res = r.resource(&urn);
            let urn = urn.clone();
            async move {
                let Some(res) = res else {
                    return Ok(Resolved {
                        secret_keys: Vec::new(),
                        value: None,
                        secret: false,
                    });
                };
                let v = if property.is_empty() {
                    &*res.outputs
                } else {
                    res.outputs.get(property).unwrap_or(&Value::Null)
                };
                // Secret as a whole, or this property is (the whole outputs
                // object: in part, per property).
                let (secret, secret_keys) = if res.secret {
                    (true, Vec::new())
                } else if property.is_empty() {
                    let keys: Vec<String> = res
                        .secret_outputs
                        .iter()
                        .filter(|k| v.get(k.as_str()).is_some())
                        .cloned()
                        .collect();
                    (!keys.is_empty(), keys)
                } else {
                    (res.secret_outputs.iter().any(|k| k == property), Vec::new())
                };
                if contains_unknown(v) {
                    return Ok(Resolved {
                        secret_keys,
                        value: None,
                        secret,
                    });
                }
                let value = T::deserialize(v).map_err(|e| OutputError::WrongType {
                    urn: urn.clone(),
                    property: property.to_string(),
                    expected: std::any::type_name::<T>(),
                    message: e.to_string(),
                })?;
                Ok(Resolved {
                    secret_keys,
                    value: Some(value),
                    secret,
                })
            }
            .boxed()
        })
    }
}

impl Output<String> {
    /// The provider id of a resource.
    pub fn resource_id(urn: Urn) -> Self {
        let deps: Arc<[Urn]> = Arc::from(vec![urn.clone()]);
        Self::from_fn(deps, false, move |r| {
            let res = r.resource(&urn);
            futures::future::ready(Ok(Resolved {
                secret_keys: Vec::new(),
                value: res.as_ref().and_then(|r| r.id.clone()),
                secret: false,
            }))
            .boxed()
        })
    }
}

impl Output<Value> {
    /// Builds a JSON object from named outputs; an unknown field becomes
    /// [`UNKNOWN`] so the rest of the object stays known. This is how resource
    /// arguments become the inputs a provider sees.
    pub fn object(fields: Vec<(&'static str, Output<Value>)>) -> Output<Value> {
        let deps = merge_deps(fields.iter().map(|(_, o)| &o.deps));
        let secret = fields.iter().any(|(_, o)| o.secret);
        let fields = Arc::new(fields);
        Output::from_fn(deps, secret, move |r| {
            let fields = fields.clone();
            async move {
                let mut map = serde_json::Map::with_capacity(fields.len());
                let mut secret = false;
                let mut secret_keys = Vec::new();
                for (k, o) in fields.iter() {
                    let res = o.resolve(r.clone()).await?;
                    secret |= res.secret;
                    if res.secret {
                        secret_keys.push((*k).to_string());
                    }
                    map.insert(
                        (*k).to_string(),
                        res.value.unwrap_or_else(|| Value::String(UNKNOWN.into())),
                    );
                }
                Ok(Resolved {
                    secret_keys,
                    value: Some(Value::Object(map)),
                    secret,
                })
            }
            .boxed()
        })
    }
}

/// Combining a tuple of outputs into one output of a tuple; see [`Output::all`].
pub trait AllOutputs {
    /// The tuple of values.
    type Values: OutputValue;
    /// Combines the outputs.
    fn combine(self) -> Output<Self::Values>;
}

macro_rules! all_tuple {
    ($($t:ident $v:ident),+) => {
        impl<$($t: OutputValue),+> AllOutputs for ($(Output<$t>,)+) {
            type Values = ($($t,)+);
            #[allow(non_snake_case)]
            fn combine(self) -> Output<Self::Values> {
                let ($($v,)+) = self;
                let deps = merge_deps([$(&$v.deps),+]);
                let secret = false $(|| $v.secret)+;
                Output::from_fn(deps, secret, move |r| {
                    $(let $v = $v.clone();)+
                    async move {
                        let mut secret = false;
                        let mut known = true;
                        $(
                            let $t = $v.resolve(r.clone()).await?;
                            secret |= $t.secret;
                            known &= $t.value.is_some();
                        )+
                        Ok(Resolved {
                            secret_keys: Vec::new(),
                            value: if known { Some(($($t.value.unwrap(),)+)) } else { None },
                            secret,
                        })
                    }
                    .boxed()
                })
            }
        }
    };
}
all_tuple!(A a);
all_tuple!(A a, B b);
all_tuple!(A a, B b, C c);
all_tuple!(A a, B b, C c, D d);
all_tuple!(A a, B b, C c, D d, E e);
all_tuple!(A a, B b, C c, D d, E e, F f);

impl Output<()> {
    /// Combines a tuple of outputs: `Output::all((a, b, c))` is an
    /// `Output<(A, B, C)>` known when all three are, secret when any is.
    pub fn all<A: AllOutputs>(outputs: A) -> Output<A::Values> {
        outputs.combine()
    }
}

impl<T: OutputValue> From<T> for Output<T> {
    fn from(v: T) -> Self {
        Output::new(v)
    }
}

impl From<&str> for Output<String> {
    fn from(v: &str) -> Self {
        Output::new(v.to_string())
    }
}

impl<T: OutputValue + Default> Default for Output<T> {
    fn default() -> Self {
        Output::new(T::default())
    }
}

impl<T> fmt::Debug for Output<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Output");
        d.field("type", &std::any::type_name::<T>());
        d.field("dependencies", &self.deps);
        if self.secret {
            d.field("value", &"[secret]");
        }
        d.finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Output<T> {
    /// Outputs are computed later: Display never shows a value, and never a secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.secret {
            f.write_str("[secret]")
        } else {
            f.write_str("(output)")
        }
    }
}
