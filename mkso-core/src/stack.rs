//! The `Stack`: the context a program receives.
//!
//! It knows the stack's name, project and environment, reads typed config,
//! registers resources and components, and exports stack outputs.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso::builtin::{Data, DataArgs};
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct App { replicas: u32 }
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let app: App = stack.config("app")?;
//!     let tier = stack.component("example:app:Tier", "web", ResourceOptions::new())?;
//!     for i in 0..app.replicas {
//!         // Named `web/replica-0`, ...: nested under the component.
//!         Data::new(stack, &format!("replica-{i}"), DataArgs::default().value(serde_json::json!(i)), tier.child_opts())?;
//!     }
//!     tier.register_outputs(Output::new(app.replicas));
//!     stack.export("environment", Output::new(stack.environment().to_string()));
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program)
//!     .stack("app.web.QA")
//!     .config_yaml("config:\n  app:replicas: 2\n")
//!     .run()
//!     .unwrap();
//! assert!(graph.get("web/replica-1").is_some());
//! ```

use std::collections::HashMap;
use std::panic::Location;
use std::sync::{Arc, Mutex, MutexGuard};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::config::StackConfig;
use crate::error::Error;
use crate::names::{StackName, Urn};
use crate::options::{ResourceOptions, ResourceRef};
use crate::output::{Output, OutputValue};
use crate::provider::{Provider, ProviderRegistry};
use crate::resource::{Registered, Resource, ResourceArgs};
use crate::rolling::{RollingGroup, RollingPolicy};

/// Whether a declared resource is managed by a provider or groups others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceKind {
    /// A cloud (or built-in) resource managed by a provider.
    Custom,
    /// A component that groups children.
    Component,
}

/// A resource as the program declared it.
#[derive(Debug, Clone)]
pub struct Declared {
    /// Its URN.
    pub urn: Urn,
    /// Its nested name.
    pub name: String,
    /// Its type token.
    pub type_token: String,
    /// Custom or component.
    pub kind: ResourceKind,
    /// Its inputs (for components: their registered outputs).
    pub inputs: Output<Value>,
    /// Its options (with `parent` set for children).
    /// (Shared: every resource declared with the default options points at
    /// one copy, which keeps a large program small.)
    pub options: Arc<ResourceOptions>,
    /// Where the program declared it.
    pub location: &'static Location<'static>,
}

impl Declared {
    /// Its direct dependencies: those of its inputs plus `depends_on`.
    pub fn dependencies(&self) -> Vec<Urn> {
        let mut d: Vec<Urn> = self.inputs.dependencies().to_vec();
        for u in &self.options.depends_on {
            if !d.contains(u) {
                d.push(u.clone());
            }
        }
        d.sort();
        d
    }
}

/// Everything a program declared.
#[derive(Debug, Default)]
pub struct ProgramGraph {
    /// Resources in declaration order.
    pub resources: Vec<Declared>,
    /// Stack outputs in export order.
    pub exports: Vec<(String, Output<Value>)>,
    /// Provider instances.
    pub providers: ProviderRegistry,
    /// Rolling groups by name.
    pub rolling_groups: std::collections::BTreeMap<String, RollingPolicy>,
}

#[derive(Default)]
struct Registry {
    graph: ProgramGraph,
    by_name: HashMap<String, usize>,
}

struct Inner {
    name: StackName,
    project: String,
    config: StackConfig,
    registry: Mutex<Registry>,
    references: Mutex<Option<crate::reference::SharedSource>>,
}

/// The context a program receives; cheap to clone.
#[derive(Clone)]
pub struct Stack {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Stack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stack")
            .field("name", &self.inner.name)
            .field("project", &self.inner.project)
            .finish_non_exhaustive()
    }
}

/// A declared component resource: a parent for children.
#[derive(Debug, Clone)]
pub struct ComponentResource {
    registered: Registered,
    stack: Stack,
}

impl ResourceRef for ComponentResource {
    fn urn(&self) -> &Urn {
        self.registered.urn()
    }
}

impl ComponentResource {
    /// Options that make a resource a child of this component.
    pub fn child_opts(&self) -> ResourceOptions {
        ResourceOptions::new().parent(self)
    }

    /// The component's registered outputs, or one property of them.
    pub fn property<T: OutputValue + DeserializeOwned>(&self, name: &'static str) -> Output<T> {
        self.registered.property(name)
    }

    /// Records the component's outputs (kept in state, visible to
    /// dependents): an `Output` of any serializable value, or a struct of
    /// outputs with `#[derive(mkso::ComponentOutputs)]` (passed by
    /// reference), whose fields become the outputs' properties — each with
    /// its own secrecy.
    pub fn register_outputs(&self, outputs: impl IntoComponentOutputs) {
        let outputs = outputs.into_component_outputs();
        let mut reg = self.stack.lock();
        if let Some(&i) = reg.by_name.get(self.registered.urn().name()) {
            let d = &mut reg.graph.resources[i];
            d.inputs = outputs;
        }
    }
}

/// What [`ComponentResource::register_outputs`] takes: an `Output` of a
/// serializable value, or (by reference) a struct of outputs with
/// `#[derive(mkso::ComponentOutputs)]`.
pub trait IntoComponentOutputs {
    /// The outputs as one JSON object output.
    fn into_component_outputs(self) -> Output<Value>;
}

impl<T: OutputValue + Serialize> IntoComponentOutputs for Output<T> {
    fn into_component_outputs(self) -> Output<Value> {
        self.into_json()
    }
}

impl Stack {
    /// A new stack context (the runner and the testing kit make these).
    pub fn new(name: StackName, project: impl Into<String>, config: StackConfig) -> Stack {
        let mut registry = Registry::default();
        registry
            .graph
            .providers
            .add(None, Arc::new(crate::builtin::BuiltinProvider::new()));
        Stack {
            inner: Arc::new(Inner {
                name,
                project: project.into(),
                config,
                registry: Mutex::new(registry),
                references: Mutex::new(None),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Registry> {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Where [`Stack::reference`] reads other stacks' outputs (the runner sets
    /// the state backend; the testing kit canned outputs).
    pub fn set_reference_source(&self, source: Arc<dyn crate::reference::ReferenceSource>) {
        *self
            .inner
            .references
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(source);
    }

    /// A reference to another stack's outputs (e.g. `aws.network.QA`), read
    /// now: a stack without state is an error naming it.
    pub fn reference(&self, stack: &str) -> Result<crate::reference::StackReference, Error> {
        let name = StackName::new(stack)?;
        let source = self
            .inner
            .references
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .ok_or_else(|| Error::Reference {
                stack: stack.to_string(),
                message: "this program runs without a state backend to read references from".into(),
            })?;
        let outputs = source.outputs(&name)?;
        Ok(crate::reference::StackReference::new(name, outputs))
    }

    /// The stack's name (`aws.network.QA`).
    pub fn name(&self) -> &StackName {
        &self.inner.name
    }

    /// The project's name (from `Mkso.yaml`).
    pub fn project(&self) -> &str {
        &self.inner.project
    }

    /// The environment: the stack name's last segment (`QA`).
    pub fn environment(&self) -> &str {
        self.inner.name.environment()
    }

    /// The stack's configuration.
    pub fn config_values(&self) -> &StackConfig {
        &self.inner.config
    }

    /// Reads a config namespace as a typed struct; see [`StackConfig::namespace`].
    pub fn config<T: DeserializeOwned + JsonSchema>(&self, namespace: &str) -> Result<T, Error> {
        Ok(self.inner.config.namespace(namespace)?)
    }

    /// Declares a config namespace that the program reads only sometimes (or
    /// not through [`Stack::config`]): the CLI reports keys of a namespace
    /// nobody read — in the stack file or in an `MKSO_CONFIG__` variable — as
    /// an error (a typo such as `bnech:count` would otherwise leave a default
    /// in place), unless the namespace was declared.
    ///
    /// ```
    /// use mkso::prelude::*;
    ///
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Debug { verbose: bool }
    ///
    /// fn program(stack: &Stack) -> Result<(), mkso::Error> {
    ///     // `debug:` keys are read only in the Dev environment.
    ///     stack.declare_config_namespace("debug");
    ///     if stack.environment() == "Dev" {
    ///         let d: Debug = stack.config("debug")?;
    ///         stack.export("verbose", Output::new(d.verbose));
    ///     }
    ///     Ok(())
    /// }
    /// # let graph = mkso::testing::preview(program)
    /// #     .stack("app.web.QA")
    /// #     .config_yaml("config:\n  debug:verbose: true\n")
    /// #     .run()
    /// #     .unwrap();
    /// ```
    pub fn declare_config_namespace(&self, namespace: &str) {
        self.inner.config.declare_namespace(namespace);
    }

    /// Adds a provider instance: the package's default when `name` is `None`,
    /// else one that resources select with `ResourceOptions::provider(name)`.
    pub fn add_provider(&self, name: Option<&str>, provider: Arc<dyn Provider>) {
        self.lock().graph.providers.add(name, provider);
    }

    /// Exports a stack output.
    pub fn export<T: OutputValue + Serialize>(&self, name: &str, value: Output<T>) {
        let mut reg = self.lock();
        let v = value.into_json();
        if let Some(slot) = reg.graph.exports.iter_mut().find(|(n, _)| n == name) {
            slot.1 = v;
        } else {
            reg.graph.exports.push((name.to_string(), v));
        }
    }

    /// Declares a rolling group: resources put in it with
    /// [`ResourceOptions::rolling_group`] are replaced or updated a few at a
    /// time, each batch ready before the next starts (see [`crate::rolling`]).
    pub fn rolling_group(&self, name: &str, policy: RollingPolicy) -> Result<RollingGroup, Error> {
        let mut reg = self.lock();
        if reg.graph.rolling_groups.contains_key(name) {
            return Err(Error::RollingGroup {
                group: name.into(),
                message: "declared twice; give each group its own name".into(),
            });
        }
        if let Some(crate::rolling::ReadinessCheck::Http { url }) = &policy.readiness
            && !url.starts_with("http://")
        {
            return Err(Error::RollingGroup {
                group: name.into(),
                message: format!(
                    "its readiness URL `{url}` is not plain `http://` (the only scheme the check speaks); use an http:// health endpoint, or a `ReadinessCheck::custom` check"
                ),
            });
        }
        if name.is_empty() || name.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(Error::RollingGroup {
                group: name.into(),
                message: "a group name must be non-empty, without white space".into(),
            });
        }
        reg.graph.rolling_groups.insert(name.to_string(), policy);
        Ok(RollingGroup {
            name: name.to_string(),
        })
    }

    /// Declares a resource; usually called through the type's `new`.
    #[track_caller]
    pub fn register<R: Resource>(
        &self,
        name: &str,
        args: R::Args,
        opts: ResourceOptions,
    ) -> Result<R, Error> {
        let loc = Location::caller();
        let registered = self.declare(
            R::TYPE,
            name,
            ResourceKind::Custom,
            args.into_inputs(),
            opts,
            loc,
        )?;
        Ok(R::from_registered(registered))
    }

    /// Declares a component resource of type `type_token`; give children
    /// `component.child_opts()`.
    #[track_caller]
    pub fn component(
        &self,
        type_token: &str,
        name: &str,
        opts: ResourceOptions,
    ) -> Result<ComponentResource, Error> {
        let loc = Location::caller();
        let registered = self.declare(
            type_token,
            name,
            ResourceKind::Component,
            Output::new(Value::Object(Default::default())),
            opts,
            loc,
        )?;
        Ok(ComponentResource {
            registered,
            stack: self.clone(),
        })
    }

    fn declare(
        &self,
        type_token: &str,
        name: &str,
        kind: ResourceKind,
        inputs: Output<Value>,
        opts: ResourceOptions,
        location: &'static Location<'static>,
    ) -> Result<Registered, Error> {
        validate_name(name)?;
        if type_token.split(':').count() < 3 || type_token.contains("::") {
            return Err(Error::InvalidName {
                name: name.into(),
                reason: format!(
                    "type token `{type_token}` is not of the form `package:module:Type`"
                ),
            });
        }
        let mut reg = self.lock();
        let mut opts = opts;
        if let Some(g) = &opts.rolling_group {
            let Some(policy) = reg.graph.rolling_groups.get(g) else {
                return Err(Error::RollingGroup {
                    group: g.clone(),
                    message: format!(
                        "resource `{name}` names it, but this stack declares no such group; declare it first with `stack.rolling_group(\"{g}\", ..)`"
                    ),
                });
            };
            // No surge: a replacement deletes the old copy first.
            if policy.max_surge == 0 {
                opts.delete_before_replace = true;
            }
        }
        let full = match &opts.parent {
            Some(p) => {
                let parent_ok = reg
                    .by_name
                    .get(p.name())
                    .map(|&i| reg.graph.resources[i].kind == ResourceKind::Component)
                    .unwrap_or(false);
                if !parent_ok {
                    return Err(Error::UnknownParent {
                        name: name.into(),
                        parent: p.clone(),
                    });
                }
                format!("{}/{}", p.name(), name)
            }
            None => name.to_string(),
        };
        if let Some(&i) = reg.by_name.get(&full) {
            let first = &reg.graph.resources[i];
            return Err(Error::DuplicateResource {
                name: full,
                first: format!("{} declared at {}", first.type_token, first.location),
                second: format!("{type_token} declared at {location}"),
            });
        }
        let urn = Urn::new(&self.inner.name, &self.inner.project, type_token, &full);
        let idx = reg.graph.resources.len();
        reg.by_name.insert(full.clone(), idx);
        reg.graph.resources.push(Declared {
            urn: urn.clone(),
            name: full,
            type_token: type_token.to_string(),
            kind,
            inputs,
            options: if opts == ResourceOptions::default() {
                DEFAULT_OPTIONS.clone()
            } else {
                Arc::new(opts)
            },
            location,
        });
        Ok(Registered::new(urn))
    }

    /// Takes what the program declared (the engine does this after the program ran).
    ///
    /// (The list gives back the room it grew into beyond what it holds.)
    pub fn take_graph(&self) -> ProgramGraph {
        let mut reg = self.lock();
        reg.by_name = HashMap::new();
        let mut graph = std::mem::take(&mut reg.graph);
        graph.resources.shrink_to_fit();
        graph
    }
}

/// The options of every resource declared without any.
static DEFAULT_OPTIONS: std::sync::LazyLock<Arc<ResourceOptions>> =
    std::sync::LazyLock::new(|| Arc::new(ResourceOptions::default()));

fn validate_name(name: &str) -> Result<(), Error> {
    let bad = |reason: &str| {
        Err(Error::InvalidName {
            name: name.into(),
            reason: reason.into(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.contains("::") {
        return bad("it contains `::`");
    }
    if name.contains('/') {
        return bad(
            "`/` separates a child's name from its parent's; set the parent option instead",
        );
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("it contains white space or a control character");
    }
    Ok(())
}
