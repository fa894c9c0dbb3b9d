//! The typed provider contract: one [`CustomResource`] implementation per
//! resource type (typed inputs in, typed outputs out), registered in a
//! [`TypedProvider`] that serves the engine's [`Provider`] contract.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::marker::PhantomData;

use async_trait::async_trait;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::diff::{PropertyChange, diff_properties, diff_response};
use super::schema::TypedResource;
use crate::names::{StackName, Urn};
use crate::provider::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffRequest,
    DiffResponse, ErrorClass, FindRequest, Provider, ProviderError, ReadRequest, ReadResponse,
    ResourceIdentity, UpdateRequest, UpdateResponse,
};

/// A resource's tags.
pub type Tags = BTreeMap<String, String>;

/// What every call of a [`CustomResource`] gets: the provider's own state
/// (its clients and config) and the resource's identity.
pub struct Ctx<'a, P> {
    /// The provider's state.
    pub provider: &'a P,
    /// The resource.
    pub identity: &'a ResourceIdentity,
    /// Stack-wide facts a provider may tag resources with.
    pub labels: &'a BTreeMap<String, String>,
}

impl<P> Ctx<'_, P> {
    /// The resource's nested name.
    pub fn name(&self) -> &str {
        self.identity.name()
    }
    /// The resource's URN.
    pub fn urn(&self) -> &Urn {
        &self.identity.urn
    }
    /// The stack.
    pub fn stack(&self) -> &StackName {
        &self.identity.stack
    }
}

impl<P> fmt::Debug for Ctx<'_, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("urn", &self.identity.urn)
            .finish_non_exhaustive()
    }
}

/// A created (or found) resource.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<O> {
    /// The provider id.
    pub id: String,
    /// Its outputs.
    pub outputs: O,
}

/// A resource as the cloud has it now.
#[derive(Debug, Clone, PartialEq)]
pub struct Observed<I, O> {
    /// The provider id (may differ in case or form).
    pub id: String,
    /// The inputs as they are in the cloud (drift); `None` when the provider
    /// cannot tell (the recorded ones are kept).
    pub inputs: Option<I>,
    /// The outputs.
    pub outputs: O,
}

/// An in-place update.
#[derive(Debug)]
pub struct Change<'a, I, O> {
    /// The provider id.
    pub id: &'a str,
    /// The recorded inputs.
    pub old: &'a I,
    /// The new inputs.
    pub new: &'a I,
    /// The recorded outputs.
    pub old_outputs: &'a O,
    /// What changed, property by property.
    pub changes: &'a [PropertyChange],
}

impl<I, O> Change<'_, I, O> {
    /// Whether a top-level property changed.
    pub fn changed(&self, property: &str) -> bool {
        self.changes.iter().any(|c| c.property() == property)
    }
}

/// The provider-wide part of the typed contract, implemented by the
/// provider's state type.
#[async_trait]
pub trait ProviderState: Send + Sync + 'static {
    /// Sets a resource's own tags in place (the `#[mkso(tags)]` property): the
    /// update every resource type gets for free when only its tags change.
    async fn update_tags(
        &self,
        identity: &ResourceIdentity,
        id: &str,
        old: &Tags,
        new: &Tags,
    ) -> Result<(), ProviderError> {
        let _ = (old, new);
        Err(ProviderError::permanent(format!(
            "`{}` ({id}): this provider cannot change tags in place (provider authors: implement `ProviderState::update_tags`, or mark the tags property `#[mkso(replace)]`)",
            identity.name()
        )))
    }
}

/// One resource type's behaviour in a provider whose state is `P` (compare
/// pulumi-go-provider's `infer.CustomResource`). Only `create`, `read` and
/// `delete` are required; the diff comes from the field metadata, an update
/// that changes only tags is done by [`ProviderState::update_tags`], a create
/// first adopts a resource [`find`](CustomResource::find) finds by its
/// identity, and a delete of a resource that is already gone succeeds.
#[async_trait]
pub trait CustomResource<P: ProviderState>: TypedResource {
    /// The resource is identified by its content (a firewall rule): a second
    /// copy cannot exist next to the first, so a replacement deletes the old
    /// copy before creating the new one.
    const DELETE_BEFORE_REPLACE: bool = false;

    /// Whether a replacement with these changes must delete the old copy
    /// first (default: [`DELETE_BEFORE_REPLACE`](Self::DELETE_BEFORE_REPLACE)).
    /// A type whose physical name stays the same across a replacement (a
    /// name derived from the resource's) answers `true` when the name does
    /// not change: the new copy could not exist next to the old one.
    fn delete_before_replace(_changes: &[PropertyChange]) -> bool {
        Self::DELETE_BEFORE_REPLACE
    }

    /// [`delete_before_replace`](Self::delete_before_replace) knowing the
    /// new inputs as planned (some may be unknown): a type whose physical
    /// name the program may give answers `true` when a given name stays —
    /// the new copy could not exist next to the old one under it — and
    /// leaves a default name (one that changes with the replace-forcing
    /// inputs) to a create first. Default: `delete_before_replace(changes)`.
    fn delete_before_replace_planned(new: &Self::Planned, changes: &[PropertyChange]) -> bool {
        let _ = new;
        Self::delete_before_replace(changes)
    }

    /// Validates inputs, some of which may be unknown: `(property, problem)`.
    fn check(_inputs: &Self::Planned) -> Vec<(String, String)> {
        Vec::new()
    }

    /// Adjusts the derived diff (e.g. a change that forces a replacement only
    /// for some values).
    fn diff(changes: Vec<PropertyChange>, _old: &Value, _new: &Value) -> Vec<PropertyChange> {
        changes
    }

    /// Creates the resource.
    async fn create(
        cx: &Ctx<'_, P>,
        inputs: &Self::Inputs,
    ) -> Result<Created<Self::Outputs>, ProviderError>;

    /// Finds a resource carrying this resource's identity (its URN tag): an
    /// interrupted create's result, adopted instead of creating another.
    async fn find(
        _cx: &Ctx<'_, P>,
        _inputs: &Self::Inputs,
    ) -> Result<Option<Created<Self::Outputs>>, ProviderError> {
        Ok(None)
    }

    /// Reads the resource; `Err(NotFound)` when it is gone. `recorded` is
    /// `None` on import.
    async fn read(
        cx: &Ctx<'_, P>,
        id: &str,
        recorded: Option<&Self::Inputs>,
    ) -> Result<Observed<Self::Inputs, Self::Outputs>, ProviderError>;

    /// Updates it in place. The default handles tags-only changes.
    async fn update(
        cx: &Ctx<'_, P>,
        change: Change<'_, Self::Inputs, Self::Outputs>,
    ) -> Result<Self::Outputs, ProviderError> {
        update_tags_only::<P, Self>(cx, &change).await
    }

    /// Deletes it (a not-found answer counts as deleted).
    async fn delete(
        cx: &Ctx<'_, P>,
        id: &str,
        inputs: &Self::Inputs,
        outputs: &Self::Outputs,
    ) -> Result<(), ProviderError>;

    /// Whether it serves yet (asked for the new or updated members of a
    /// rolling group until it does): `None` ready, `Some(why)` not yet.
    /// Default: ready once created or updated.
    async fn ready(_cx: &Ctx<'_, P>, _id: &str) -> Result<Option<String>, ProviderError> {
        Ok(None)
    }
}

/// The update every type gets: when only its `#[mkso(tags)]` property
/// changed, [`ProviderState::update_tags`] and the same outputs.
pub async fn update_tags_only<P: ProviderState, R: CustomResource<P>>(
    cx: &Ctx<'_, P>,
    change: &Change<'_, R::Inputs, R::Outputs>,
) -> Result<R::Outputs, ProviderError> {
    let tags_prop = R::PROPERTIES.iter().find(|p| p.tags).map(|p| p.name);
    let other: Vec<&str> = change
        .changes
        .iter()
        .map(PropertyChange::property)
        .filter(|p| Some(*p) != tags_prop)
        .collect();
    if !other.is_empty() {
        return Err(ProviderError::permanent(format!(
            "{} `{}` cannot change {} in place: its provider implements no `CustomResource::update` for it. Provider authors: implement `update`, or mark the property `#[mkso(replace)]`; users: change it back, or replace the resource (`replace_on_changes`)",
            R::TYPE,
            cx.name(),
            other.join(", ")
        )));
    }
    if let (Some(o), Some(n)) = (R::tags(change.old), R::tags(change.new))
        && o != n
    {
        cx.provider
            .update_tags(cx.identity, change.id, o, n)
            .await?;
    }
    Ok(change.old_outputs.clone())
}

/// `Ok(None)` when the provider answered "not found" (a resource gone, a
/// lookup that found nothing), other errors as they are: for a provider's
/// `find`, `delete` and describe-then-act code.
pub fn existing<T>(r: Result<T, ProviderError>) -> Result<Option<T>, ProviderError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse<T: DeserializeOwned>(v: &Value, what: &str, type_token: &str) -> Result<T, ProviderError> {
    serde_json::from_value(v.clone()).map_err(|e| {
        ProviderError::permanent(format!(
            "the {what} of a {type_token} do not fit its type: {e}"
        ))
    })
}

fn to_json<T: Serialize>(v: &T, type_token: &str) -> Result<Value, ProviderError> {
    serde_json::to_value(v).map_err(|e| {
        ProviderError::permanent(format!(
            "the outputs of a {type_token} cannot be written: {e}"
        ))
    })
}

/// The JSON side of one registered type.
#[async_trait]
trait Erased<P>: Send + Sync {
    fn check(&self, inputs: &Value) -> Vec<(String, String)>;
    fn changes(&self, old: &Value, new: &Value) -> Vec<PropertyChange>;
    fn delete_before_replace(&self, new: &Value, changes: &[PropertyChange]) -> bool;
    fn computed_outputs(&self) -> &'static [&'static str];
    fn secret_outputs(&self) -> &'static [&'static str];
    async fn create(
        &self,
        cx: &Ctx<'_, P>,
        inputs: &Value,
    ) -> Result<CreateResponse, ProviderError>;
    async fn find(
        &self,
        cx: &Ctx<'_, P>,
        inputs: &Value,
    ) -> Result<Option<CreateResponse>, ProviderError>;
    async fn read(
        &self,
        cx: &Ctx<'_, P>,
        id: &str,
        inputs: &Value,
    ) -> Result<ReadResponse, ProviderError>;
    async fn update(
        &self,
        cx: &Ctx<'_, P>,
        id: &str,
        old: &Value,
        new: &Value,
        old_outputs: &Value,
    ) -> Result<Value, ProviderError>;
    async fn delete(
        &self,
        cx: &Ctx<'_, P>,
        id: &str,
        inputs: &Value,
        outputs: &Value,
    ) -> Result<(), ProviderError>;
    async fn ready(&self, cx: &Ctx<'_, P>, id: &str) -> Result<Option<String>, ProviderError>;
}

struct Handler<R>(PhantomData<fn() -> R>);

impl<R> Handler<R> {
    /// The recorded inputs and outputs of a resource, typed; or, when they
    /// no longer fit the type (recorded by an older version of it: a field
    /// since made required, a `null` where a value is now expected), what
    /// the cloud says now, read by id. `Ok(None)`: the resource is gone.
    async fn recorded<P: ProviderState>(
        cx: &Ctx<'_, P>,
        id: &str,
        inputs: &Value,
        outputs: &Value,
    ) -> Result<Option<(R::Inputs, R::Outputs)>, ProviderError>
    where
        R: CustomResource<P>,
    {
        let i = parse::<R::Inputs>(inputs, "recorded inputs", R::TYPE);
        let o = parse::<R::Outputs>(outputs, "recorded outputs", R::TYPE);
        let i = match (i, o) {
            (Ok(i), Ok(o)) => return Ok(Some((i, o))),
            (i, _) => i,
        };
        tracing::info!(
            type_token = R::TYPE,
            id,
            "recorded values do not fit the type; reading the resource instead"
        );
        let Some(seen) = existing(R::read(cx, id, i.as_ref().ok()).await)? else {
            return Ok(None);
        };
        let i = match (i, seen.inputs) {
            (Ok(i), _) | (Err(_), Some(i)) => i,
            (Err(e), None) => return Err(e),
        };
        Ok(Some((i, seen.outputs)))
    }
}

#[async_trait]
impl<P: ProviderState, R: CustomResource<P>> Erased<P> for Handler<R> {
    fn check(&self, inputs: &Value) -> Vec<(String, String)> {
        match R::planned(inputs) {
            Ok(p) => R::check(&p),
            Err(e) => vec![(e.property.to_string(), e.message)],
        }
    }

    fn changes(&self, old: &Value, new: &Value) -> Vec<PropertyChange> {
        R::diff(diff_properties(R::PROPERTIES, old, new), old, new)
    }

    fn delete_before_replace(&self, new: &Value, changes: &[PropertyChange]) -> bool {
        match R::planned(new) {
            Ok(p) => R::delete_before_replace_planned(&p, changes),
            Err(_) => R::delete_before_replace(changes),
        }
    }

    fn computed_outputs(&self) -> &'static [&'static str] {
        R::COMPUTED_OUTPUTS
    }

    fn secret_outputs(&self) -> &'static [&'static str] {
        R::SECRET_OUTPUTS
    }

    async fn create(
        &self,
        cx: &Ctx<'_, P>,
        inputs: &Value,
    ) -> Result<CreateResponse, ProviderError> {
        let i: R::Inputs = parse(inputs, "inputs", R::TYPE)?;
        let c = R::create(cx, &i).await?;
        Ok(CreateResponse {
            outputs: to_json(&c.outputs, R::TYPE)?,
            id: c.id,
        })
    }

    async fn find(
        &self,
        cx: &Ctx<'_, P>,
        inputs: &Value,
    ) -> Result<Option<CreateResponse>, ProviderError> {
        let i: R::Inputs = parse(inputs, "inputs", R::TYPE)?;
        match R::find(cx, &i).await? {
            Some(c) => Ok(Some(CreateResponse {
                outputs: to_json(&c.outputs, R::TYPE)?,
                id: c.id,
            })),
            None => Ok(None),
        }
    }

    async fn read(
        &self,
        cx: &Ctx<'_, P>,
        id: &str,
        inputs: &Value,
    ) -> Result<ReadResponse, ProviderError> {
        // Recorded inputs that no longer fit the type are read as on
        // import: from the cloud alone.
        let recorded: Option<R::Inputs> = if inputs.is_null() {
            None
        } else {
            parse(inputs, "recorded inputs", R::TYPE).ok()
        };
        let o = R::read(cx, id, recorded.as_ref()).await?;
        Ok(ReadResponse {
            id: o.id,
            inputs: o.inputs.map(|i| to_json(&i, R::TYPE)).transpose()?,
            outputs: to_json(&o.outputs, R::TYPE)?,
        })
    }

    async fn update(
        &self,
        cx: &Ctx<'_, P>,
        id: &str,
        old: &Value,
        new: &Value,
        old_outputs: &Value,
    ) -> Result<Value, ProviderError> {
        let n: R::Inputs = parse(new, "inputs", R::TYPE)?;
        let Some((o, oo)) = Self::recorded(cx, id, old, old_outputs).await? else {
            return Err(ProviderError::not_found(format!(
                "{} `{id}` no longer exists",
                R::TYPE
            )));
        };
        let changes = self.changes(old, new);
        let change = Change {
            id,
            old: &o,
            new: &n,
            old_outputs: &oo,
            changes: &changes,
        };
        // Tags alone change through the provider's tag call, whether or not
        // the type has an update of its own.
        let tags = R::PROPERTIES.iter().find(|p| p.tags).map(|p| p.name);
        let out = if tags.is_some() && changes.iter().all(|c| Some(c.property()) == tags) {
            update_tags_only::<P, R>(cx, &change).await?
        } else {
            R::update(cx, change).await?
        };
        to_json(&out, R::TYPE)
    }

    async fn delete(
        &self,
        cx: &Ctx<'_, P>,
        id: &str,
        inputs: &Value,
        outputs: &Value,
    ) -> Result<(), ProviderError> {
        let Some((i, o)) = Self::recorded(cx, id, inputs, outputs).await? else {
            return Ok(());
        };
        match R::delete(cx, id, &i, &o).await {
            Err(e) if e.class == ErrorClass::NotFound => Ok(()),
            r => r,
        }
    }

    async fn ready(&self, cx: &Ctx<'_, P>, id: &str) -> Result<Option<String>, ProviderError> {
        R::ready(cx, id).await
    }
}

/// A provider made of typed resource types: a registry keyed by type token
/// that serves the engine's [`Provider`] contract.
///
/// ```ignore
/// let provider = TypedProvider::builder("aws", Ec2State::new(config))
///     .resource::<Vpc>()
///     .resource::<Subnet>()
///     .build();
/// ```
pub struct TypedProvider<P> {
    package: String,
    state: P,
    types: HashMap<&'static str, Box<dyn Erased<P>>>,
}

impl<P> fmt::Debug for TypedProvider<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut types: Vec<_> = self.types.keys().collect();
        types.sort();
        f.debug_struct("TypedProvider")
            .field("package", &self.package)
            .field("types", &types)
            .finish_non_exhaustive()
    }
}

/// Registers the resource types of a [`TypedProvider`].
pub struct TypedProviderBuilder<P> {
    inner: TypedProvider<P>,
}

impl<P> fmt::Debug for TypedProviderBuilder<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.fmt(f)
    }
}

impl<P: ProviderState> TypedProviderBuilder<P> {
    /// Registers a resource type.
    #[must_use]
    pub fn resource<R: CustomResource<P>>(mut self) -> Self {
        self.inner
            .types
            .insert(R::TYPE, Box::new(Handler::<R>(PhantomData)));
        self
    }

    /// The provider.
    pub fn build(self) -> TypedProvider<P> {
        self.inner
    }
}

impl<P: ProviderState> TypedProvider<P> {
    /// A provider of `package` (`aws`) with its state (clients, config).
    pub fn builder(package: impl Into<String>, state: P) -> TypedProviderBuilder<P> {
        TypedProviderBuilder {
            inner: TypedProvider {
                package: package.into(),
                state,
                types: HashMap::new(),
            },
        }
    }

    /// The provider's state.
    pub fn state(&self) -> &P {
        &self.state
    }

    /// The registered type tokens, sorted.
    pub fn types(&self) -> Vec<&'static str> {
        let mut t: Vec<_> = self.types.keys().copied().collect();
        t.sort_unstable();
        t
    }

    fn handler(&self, type_token: &str) -> Result<&dyn Erased<P>, ProviderError> {
        self.types.get(type_token).map(|b| &**b).ok_or_else(|| {
            ProviderError::permanent(format!(
                "the {} provider has no resource type `{type_token}` (it has: {})",
                self.package,
                self.types().join(", ")
            ))
        })
    }

    fn cx<'a>(
        &'a self,
        identity: &'a ResourceIdentity,
        labels: &'a BTreeMap<String, String>,
    ) -> Ctx<'a, P> {
        Ctx {
            provider: &self.state,
            identity,
            labels,
        }
    }

    /// The diff of two sets of inputs of a type, property by property.
    pub fn property_changes(
        &self,
        type_token: &str,
        old: &Value,
        new: &Value,
    ) -> Result<Vec<PropertyChange>, ProviderError> {
        Ok(self.handler(type_token)?.changes(old, new))
    }
}

static NO_LABELS: BTreeMap<String, String> = BTreeMap::new();

#[async_trait]
impl<P: ProviderState> Provider for TypedProvider<P> {
    fn package(&self) -> &str {
        &self.package
    }

    fn secret_outputs(&self, type_token: &str) -> Option<&'static [&'static str]> {
        self.types.get(type_token).map(|h| h.secret_outputs())
    }

    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        Ok(CheckResponse {
            failures: self.handler(&req.identity.type_token)?.check(&req.inputs),
        })
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        let h = self.handler(&req.identity.type_token)?;
        let changes = h.changes(&req.old_inputs, &req.new_inputs);
        let mut d = diff_response(&changes);
        d.delete_before_replace = h.delete_before_replace(&req.new_inputs, &changes);
        if d.replace.is_empty() {
            // In-place changes keep the id and the outputs, except those
            // declared `computed` (known after the update).
            let mut planned = req.old_outputs;
            if d.has_changes()
                && let Some(map) = planned.as_object_mut()
            {
                for k in h.computed_outputs() {
                    map.insert((*k).to_string(), crate::provider::unknown_value());
                }
            }
            d.planned_outputs = Some(planned);
        }
        Ok(d)
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let h = self.handler(&req.identity.type_token)?;
        let cx = self.cx(&req.identity, &req.labels);
        let found = h
            .find(&cx, &req.inputs)
            .await?
            .filter(|f| !req.exclude_ids.contains(&f.id));
        let Some(found) = found else {
            // A not-found right after a create is eventual consistency:
            // retrying is safe, since a retry first adopts what it finds.
            return h.create(&cx, &req.inputs).await.map_err(|e| {
                if e.class == ErrorClass::NotFound {
                    ProviderError::retryable(format!("{} (read after create; retrying)", e.message))
                } else {
                    e
                }
            });
        };
        // Adopt the resource already carrying this identity (an interrupted
        // create), made to match the program.
        tracing::info!(urn = %req.identity.urn, id = %found.id, "adopting the resource tagged with this urn");
        let actual = h.read(&cx, &found.id, &req.inputs).await?;
        let have = actual.inputs.clone().unwrap_or_else(|| req.inputs.clone());
        let changes = h.changes(&have, &req.inputs);
        let replace: Vec<String> = diff_response(&changes).replace;
        if !replace.is_empty() {
            return Err(ProviderError::permanent(format!(
                "{} {} is already tagged with this resource's urn but differs in {}, which cannot change in place: delete it, or adopt it with the import option after matching the program to it",
                req.identity.type_token,
                found.id,
                replace.join(", ")
            )));
        }
        if !changes.is_empty() {
            let outputs = h
                .update(&cx, &found.id, &have, &req.inputs, &actual.outputs)
                .await?;
            return Ok(CreateResponse {
                id: found.id,
                outputs,
            });
        }
        Ok(CreateResponse {
            id: found.id,
            outputs: actual.outputs,
        })
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        let h = self.handler(&req.identity.type_token)?;
        h.read(&self.cx(&req.identity, &NO_LABELS), &req.id, &req.inputs)
            .await
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let h = self.handler(&req.identity.type_token)?;
        let outputs = h
            .update(
                &self.cx(&req.identity, &req.labels),
                &req.id,
                &req.old_inputs,
                &req.new_inputs,
                &req.old_outputs,
            )
            .await?;
        Ok(UpdateResponse { outputs })
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let h = self.handler(&req.identity.type_token)?;
        h.delete(
            &self.cx(&req.identity, &NO_LABELS),
            &req.id,
            &req.inputs,
            &req.outputs,
        )
        .await
    }

    async fn find(&self, req: FindRequest) -> Result<Option<CreateResponse>, ProviderError> {
        let h = self.handler(&req.identity.type_token)?;
        Ok(h.find(&self.cx(&req.identity, &NO_LABELS), &req.inputs)
            .await?
            .filter(|f| !req.exclude_ids.contains(&f.id)))
    }

    async fn ready(&self, req: ReadRequest) -> Result<Option<String>, ProviderError> {
        let h = self.handler(&req.identity.type_token)?;
        h.ready(&self.cx(&req.identity, &NO_LABELS), &req.id).await
    }
}
