//! Unit-testing infrastructure programs with no cloud.
//!
//! [`preview`] runs a program (the same function a stack binary runs) against
//! an in-memory [`TestProvider`] that accepts every resource type, and returns
//! the [`RecordedGraph`]: resources sorted by URN with their type, name,
//! parent, inputs, options, direct dependencies and outputs, plus the stack
//! outputs, in a stable form for `insta` snapshots. `.up()` runs a simulated
//! update instead, so outputs are those the provider returned.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso::builtin::{Data, DataArgs};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let a = Data::new(stack, "a", DataArgs::default().value(serde_json::json!(1)), ResourceOptions::new())?;
//!     stack.export("a", a.value());
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program).stack("demo.Dev").up().unwrap();
//! assert_eq!(graph.outputs["a"], serde_json::json!(1));
//! assert_eq!(graph.resources_of_type("mkso:builtin:Data").len(), 1);
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use serde::Serialize;
use serde_json::{Value, json};

use crate::config::StackConfig;
use crate::engine::{
    EngineOptions, Plan, RefreshOutcome, RenderOptions, Session, UpdateOutcome, plan_update,
    render_plan,
};
use crate::error::Error;
use crate::names::{StackName, Urn};
use crate::options::ResourceOptions;
use crate::output::{Output, OutputValue, ResolvedResource, Resolver, UNKNOWN};
use crate::provider::{
    CreateRequest, CreateResponse, DeleteRequest, DiffRequest, DiffResponse, ErrorClass,
    FindRequest, Provider, ProviderError, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse,
    diff_inputs,
};
use crate::reference::{CannedReferences, ReferenceSource};
use crate::stack::{ProgramGraph, ResourceKind, Stack};
use crate::state::{Backend, MemoryBackend, StateStore, StateView, UpdateKind, UpdateResult};

/// Evaluates an output with nothing known about any resource: `Ok(None)` when
/// it depends on a resource.
pub fn resolve<T: OutputValue>(o: &Output<T>) -> Result<Option<T>, crate::output::OutputError> {
    struct Nothing;
    impl Resolver for Nothing {
        fn resource(&self, _: &Urn) -> Option<ResolvedResource> {
            None
        }
    }
    futures::executor::block_on(o.resolve(Arc::new(Nothing))).map(|r| r.value)
}

/// One provider call the [`TestProvider`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// create / update / delete / read / find / diff.
    pub verb: &'static str,
    /// The resource's nested name.
    pub name: String,
}

type CreateFn = Arc<dyn Fn(&CreateRequest) -> Result<CreateResponse, ProviderError> + Send + Sync>;
type DiffFn = Arc<dyn Fn(&DiffRequest) -> Result<DiffResponse, ProviderError> + Send + Sync>;
type ReadFn = Arc<dyn Fn(&ReadRequest) -> Result<ReadResponse, ProviderError> + Send + Sync>;

#[derive(Debug, Clone)]
struct Fault {
    verb: &'static str,
    name: String,
    remaining: Option<u32>,
    error: ProviderError,
}

#[derive(Default)]
struct Inner {
    cloud: BTreeMap<String, (Urn, Value, Value)>,
    creates: HashMap<String, u32>,
    calls: Vec<Call>,
    faults: Vec<Fault>,
}

/// An in-memory provider for every resource type (or one package), with a
/// "cloud" it really keeps: outputs echo inputs plus an `id` of `<name>-id`,
/// reads and finds look there, deletes remove from it. Closures override
/// create / diff / read per type token; faults and latency can be injected.
#[derive(Clone)]
pub struct TestProvider {
    package: String,
    latency: Duration,
    creates: HashMap<String, CreateFn>,
    diffs: HashMap<String, DiffFn>,
    reads: HashMap<String, ReadFn>,
    replace_keys: HashMap<String, Vec<String>>,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for TestProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestProvider({})", self.package)
    }
}

impl Default for TestProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl TestProvider {
    /// A provider for every package.
    pub fn new() -> Self {
        Self::for_package("*")
    }

    /// A provider for one package only.
    pub fn for_package(package: &str) -> Self {
        TestProvider {
            package: package.to_string(),
            latency: Duration::ZERO,
            creates: HashMap::new(),
            diffs: HashMap::new(),
            reads: HashMap::new(),
            replace_keys: HashMap::new(),
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every create, update and delete sleeps this long (in tokio time).
    #[must_use]
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    /// Overrides create for a type (e.g. to return computed outputs).
    #[must_use]
    pub fn on_create(
        mut self,
        type_token: &str,
        f: impl Fn(&CreateRequest) -> Result<CreateResponse, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.creates.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Overrides diff for a type.
    #[must_use]
    pub fn on_diff(
        mut self,
        type_token: &str,
        f: impl Fn(&DiffRequest) -> Result<DiffResponse, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.diffs.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Overrides read for a type.
    #[must_use]
    pub fn on_read(
        mut self,
        type_token: &str,
        f: impl Fn(&ReadRequest) -> Result<ReadResponse, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.reads.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Changes of these input properties of a type force a replacement.
    #[must_use]
    pub fn replace_on(mut self, type_token: &str, keys: &[&str]) -> Self {
        self.replace_keys.insert(
            type_token.into(),
            keys.iter().map(|k| k.to_string()).collect(),
        );
        self
    }

    /// Makes `verb` (create / update / delete / read) of resource `name` fail
    /// with `error`, `times` times (`None`: always).
    #[must_use]
    pub fn fail(
        self,
        verb: &'static str,
        name: &str,
        times: Option<u32>,
        error: ProviderError,
    ) -> Self {
        self.lock().faults.push(Fault {
            verb,
            name: name.into(),
            remaining: times,
            error,
        });
        self
    }

    /// The calls received so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The resources in the in-memory cloud: id → (urn, inputs, outputs).
    pub fn cloud(&self) -> BTreeMap<String, (Urn, Value, Value)> {
        self.lock().cloud.clone()
    }

    /// Deletes a resource behind mkso's back (to test drift).
    pub fn delete_behind_the_back(&self, id: &str) {
        self.lock().cloud.remove(id);
    }

    /// Changes a property (input and output) behind mkso's back (to test drift).
    pub fn change_behind_the_back(&self, id: &str, key: &str, value: Value) {
        if let Some((_, inputs, out)) = self.lock().cloud.get_mut(id) {
            for v in [inputs, out] {
                if let Some(o) = v.as_object_mut() {
                    o.insert(key.into(), value.clone());
                }
            }
        }
    }

    fn record(&self, verb: &'static str, urn: &Urn) -> Result<(), ProviderError> {
        let mut inner = self.lock();
        inner.calls.push(Call {
            verb,
            name: urn.name().to_string(),
        });
        for f in inner.faults.iter_mut() {
            if f.verb == verb && f.name == urn.name() {
                match &mut f.remaining {
                    Some(0) => continue,
                    Some(n) => *n -= 1,
                    None => {}
                }
                return Err(f.error.clone());
            }
        }
        Ok(())
    }

    async fn wait(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

fn echo(inputs: &Value, id: &str) -> Value {
    let mut out = inputs.as_object().cloned().unwrap_or_default();
    out.insert("id".into(), json!(id));
    Value::Object(out)
}

#[async_trait]
impl Provider for TestProvider {
    fn package(&self) -> &str {
        &self.package
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        if let Some(f) = self.diffs.get(&req.identity.type_token) {
            return f(&req);
        }
        let keys: Vec<&str> = self
            .replace_keys
            .get(&req.identity.type_token)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut d = diff_inputs(&req.old_inputs, &req.new_inputs, &keys);
        if d.replace.is_empty() {
            d.planned_outputs = Some(echo(&req.new_inputs, &req.id));
        }
        Ok(d)
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        self.wait().await;
        self.record("create", &req.identity.urn)?;
        let resp = match self.creates.get(&req.identity.type_token) {
            Some(f) => f(&req)?,
            None => {
                let name = req.identity.name().replace('/', "-");
                let n = {
                    let mut inner = self.lock();
                    let c = inner.creates.entry(name.clone()).or_insert(0);
                    *c += 1;
                    *c
                };
                let id = if n == 1 {
                    format!("{name}-id")
                } else {
                    format!("{name}-id-{n}")
                };
                CreateResponse {
                    outputs: echo(&req.inputs, &id),
                    id,
                }
            }
        };
        self.lock().cloud.insert(
            resp.id.clone(),
            (
                req.identity.urn.clone(),
                req.inputs.clone(),
                resp.outputs.clone(),
            ),
        );
        Ok(resp)
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        self.record("read", &req.identity.urn)?;
        if let Some(f) = self.reads.get(&req.identity.type_token) {
            return f(&req);
        }
        match self.lock().cloud.get(&req.id) {
            Some((_, inputs, outputs)) => Ok(ReadResponse {
                id: req.id.clone(),
                inputs: Some(inputs.clone()),
                outputs: outputs.clone(),
            }),
            None => Err(ProviderError::not_found(format!(
                "no resource with id {}",
                req.id
            ))),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        self.wait().await;
        self.record("update", &req.identity.urn)?;
        let outputs = echo(&req.new_inputs, &req.id);
        let mut inner = self.lock();
        match inner.cloud.get_mut(&req.id) {
            Some(entry) => {
                entry.1 = req.new_inputs.clone();
                entry.2 = outputs.clone();
                Ok(UpdateResponse { outputs })
            }
            None => Err(ProviderError::not_found(format!(
                "no resource with id {}",
                req.id
            ))),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.wait().await;
        self.record("delete", &req.identity.urn)?;
        match self.lock().cloud.remove(&req.id) {
            Some(_) => Ok(()),
            None => Err(ProviderError::new(
                ErrorClass::NotFound,
                format!("no resource with id {}", req.id),
            )),
        }
    }

    async fn find(&self, req: FindRequest) -> Result<Option<CreateResponse>, ProviderError> {
        self.record("find", &req.identity.urn)?;
        Ok(self
            .lock()
            .cloud
            .iter()
            .find(|(id, (u, _, _))| *u == req.identity.urn && !req.exclude_ids.contains(id))
            .map(|(id, (_, _, out))| CreateResponse {
                id: id.clone(),
                outputs: out.clone(),
            }))
    }
}

/// A recorded resource in a [`RecordedGraph`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedResource {
    /// The URN.
    pub urn: String,
    /// The type token.
    #[serde(rename = "type")]
    pub type_token: String,
    /// The nested name.
    pub name: String,
    /// Custom or component.
    pub kind: ResourceKind,
    /// The parent's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// Inputs (secrets masked, unknowns as `(known after apply)`).
    pub inputs: Value,
    /// Options that are set.
    #[serde(skip_serializing_if = "is_default_opts")]
    pub options: ResourceOptions,
    /// Names of direct dependencies.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<String>,
    /// Outputs (`(known after apply)` until known).
    pub outputs: Value,
}

fn is_default_opts(o: &ResourceOptions) -> bool {
    *o == ResourceOptions::default()
}

/// The graph a program declared, in a stable, serialisable form.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordedGraph {
    /// The stack.
    pub stack: String,
    /// Resources sorted by URN.
    pub resources: Vec<RecordedResource>,
    /// Stack outputs (`(known after apply)` when unknown).
    pub outputs: BTreeMap<String, Value>,
}

impl RecordedGraph {
    /// A resource by nested name or URN.
    pub fn get(&self, name_or_urn: &str) -> Option<&RecordedResource> {
        self.resources
            .iter()
            .find(|r| r.name == name_or_urn || r.urn == name_or_urn)
    }

    /// Every resource of a type.
    pub fn resources_of_type(&self, type_token: &str) -> Vec<&RecordedResource> {
        self.resources
            .iter()
            .filter(|r| r.type_token == type_token)
            .collect()
    }
}

fn mask(v: &Value, secret: bool) -> Value {
    if secret {
        return json!("[secret]");
    }
    match v {
        Value::String(s) if s == UNKNOWN => json!("(known after apply)"),
        Value::Array(a) => Value::Array(a.iter().map(|x| mask(x, false)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), mask(x, false))).collect())
        }
        other => other.clone(),
    }
}

/// Runs a program in preview or simulated update; see the module docs.
pub struct ProgramTest<F> {
    program: F,
    stack: String,
    project: String,
    config: StackConfig,
    provider: TestProvider,
    extra: Vec<Arc<dyn Provider>>,
    references: CannedReferences,
}

/// Starts a test run of `program`.
pub fn preview<F>(program: F) -> ProgramTest<F>
where
    F: Fn(&Stack) -> Result<(), Error>,
{
    ProgramTest {
        program,
        stack: "test.Dev".into(),
        project: "test".into(),
        config: StackConfig::default(),
        provider: TestProvider::new(),
        extra: Vec::new(),
        references: CannedReferences::default(),
    }
}

impl<F> ProgramTest<F>
where
    F: Fn(&Stack) -> Result<(), Error>,
{
    /// The stack name (default `test.Dev`).
    #[must_use]
    pub fn stack(mut self, name: &str) -> Self {
        self.stack = name.into();
        self
    }

    /// The project name (default `test`).
    #[must_use]
    pub fn project(mut self, name: &str) -> Self {
        self.project = name.into();
        self
    }

    /// Config from a stack file's YAML text.
    #[must_use]
    pub fn config_yaml(mut self, yaml: &str) -> Self {
        self.config = StackConfig::from_yaml_str(yaml, "test config").expect("valid test config");
        self
    }

    /// Config from `namespace:key` → value pairs.
    #[must_use]
    pub fn config<K: Into<String>>(
        mut self,
        entries: impl IntoIterator<Item = (K, Value)>,
    ) -> Self {
        self.config = StackConfig::from_map(
            entries.into_iter().map(|(k, v)| (k.into(), v)),
            "test config",
        );
        self
    }

    /// Config from a file (e.g. a stack's real `Mkso.<stack>.yaml`).
    #[must_use]
    pub fn config_file(mut self, path: &std::path::Path) -> Self {
        self.config = StackConfig::load(path).expect("a readable config file");
        self
    }

    /// Adds a secret config value (as `config set --secret` would).
    #[must_use]
    pub fn secret_config(mut self, key: &str, value: Value) -> Self {
        self.config = self.config.with_secret(key, value);
        self
    }

    /// Canned outputs (a JSON object) for a stack the program references.
    #[must_use]
    pub fn reference(mut self, stack: &str, outputs: Value) -> Self {
        self.references.insert(stack, outputs, &[]);
        self
    }

    /// A canned secret output of a referenced stack.
    #[must_use]
    pub fn secret_reference_output(mut self, stack: &str, name: &str, value: Value) -> Self {
        self.references
            .insert(stack, json!({ name: value }), &[name]);
        self
    }

    /// Uses this test provider (to override behaviour per type).
    #[must_use]
    pub fn provider(mut self, p: TestProvider) -> Self {
        self.provider = p;
        self
    }

    /// Adds a real provider (it takes precedence for its package).
    #[must_use]
    pub fn with_provider(mut self, p: Arc<dyn Provider>) -> Self {
        self.extra.push(p);
        self
    }

    fn run_program(&self) -> Result<(StackName, ProgramGraph), Error> {
        let name = StackName::new(&self.stack)?;
        let stack = Stack::new(name.clone(), self.project.clone(), self.config.clone());
        stack.set_reference_source(Arc::new(self.references.clone()));
        stack.add_provider(None, Arc::new(self.provider.clone()));
        stack.add_provider(
            None,
            Arc::new(crate::builtin::BuiltinProvider::deterministic()),
        );
        for p in &self.extra {
            stack.add_provider(None, p.clone());
        }
        (self.program)(&stack)?;
        Ok((name, stack.take_graph()))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime")
    }

    /// The plan against an empty state.
    pub fn plan(&self) -> Result<(ProgramGraph, Plan), Error> {
        let (name, graph) = self.run_program()?;
        let view = StateView::empty(name);
        let plan =
            Self::runtime().block_on(plan_update(&graph, &view, &EngineOptions::default()))?;
        Ok((graph, plan))
    }

    /// The preview as the CLI renders it (with property detail).
    pub fn render(&self) -> Result<String, Error> {
        let (_, plan) = self.plan()?;
        Ok(render_plan(
            &plan,
            RenderOptions {
                diff: true,
                show_same: true,
            },
        ))
    }

    /// Previews the program: outputs that depend on resources are unknown.
    pub fn run(&self) -> Result<RecordedGraph, Error> {
        let (graph, plan) = self.plan()?;
        let mut out = BTreeMap::new();
        for (k, v) in &plan.outputs {
            let secret = plan.secret_outputs.contains(k);
            out.insert(
                k.clone(),
                v.as_ref()
                    .map(|v| mask(v, secret))
                    .unwrap_or_else(|| json!("(known after apply)")),
            );
        }
        let mut resources: Vec<RecordedResource> = plan
            .steps
            .iter()
            .map(|s| {
                let d = &graph.resources[s.declared.expect("declared")];
                RecordedResource {
                    urn: s.urn.to_string(),
                    type_token: s.type_token.clone(),
                    name: s.name.clone(),
                    kind: s.kind,
                    parent: s.parent.as_ref().map(|p| p.name().to_string()),
                    inputs: mask(s.new_inputs.as_ref().unwrap_or(&Value::Null), s.secret),
                    options: ResourceOptions {
                        parent: None,
                        depends_on: Vec::new(),
                        ..d.options.clone()
                    },
                    dependencies: s
                        .dependencies
                        .iter()
                        .map(|u| u.name().to_string())
                        .collect(),
                    outputs: s
                        .planned_outputs
                        .as_ref()
                        .map(|v| mask(v, s.secret))
                        .unwrap_or_else(|| json!("(known after apply)")),
                }
            })
            .collect();
        resources.sort_by(|a, b| a.urn.cmp(&b.urn));
        Ok(RecordedGraph {
            stack: self.stack.clone(),
            resources,
            outputs: out,
        })
    }

    /// Runs a simulated `up` against the test provider and returns the graph
    /// with the outputs the provider returned.
    pub fn up(&self) -> Result<RecordedGraph, Error> {
        let preview = self.run()?;
        let harness = StackHarness::new(&self.stack)?
            .project(&self.project)
            .config(self.config.clone())
            .provider(None, Arc::new(self.provider.clone()))
            .provider(
                None,
                Arc::new(crate::builtin::BuiltinProvider::deterministic()),
            );
        let harness = self
            .extra
            .iter()
            .fold(harness, |h, p| h.provider(None, p.clone()));
        let program = |s: &Stack| (self.program)(s);
        let view = Self::runtime().block_on(async {
            let (_, outcome) = harness.up(&program, &EngineOptions::default()).await?;
            if let Some(f) = outcome.failures.first() {
                return Err(Error::Program(format!(
                    "{} of `{}` failed: {}",
                    f.op,
                    f.urn.name(),
                    f.error
                )));
            }
            harness.state().await
        })?;
        let mut g = preview;
        for r in g.resources.iter_mut() {
            if let Some(Some(s)) = Urn::parse(&r.urn).map(|u| view.live.get(&u).cloned()) {
                r.outputs = mask(&s.outputs, s.secret);
                r.inputs = mask(&s.inputs, s.secret);
            }
        }
        g.outputs = view
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), mask(v, view.secret_outputs.contains(k))))
            .collect();
        Ok(g)
    }
}

/// Runs programs through the real engine — a locked session, pending
/// operations resolved, plan, apply, compaction and history — on an in-memory
/// backend (or any other), with the providers you give it. For testing
/// providers against emulators, and engines' own tests.
///
/// ```
/// use std::sync::Arc;
/// use mkso::prelude::*;
/// use mkso::testing::{StackHarness, TestProvider};
///
/// let h = StackHarness::new("test.things.Dev").unwrap()
///     .provider(None, Arc::new(TestProvider::new()));
/// let program = |s: &Stack| -> Result<(), mkso::Error> {
///     mkso::builtin::Data::new(s, "a", mkso::builtin::DataArgs::default(), ResourceOptions::new())?;
///     Ok(())
/// };
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
/// rt.block_on(async {
///     let opts = mkso::EngineOptions::default();
///     let (_, out) = h.up(&program, &opts).await.unwrap();
///     assert!(out.succeeded());
///     assert!(!h.preview(&program, &opts).await.unwrap().has_changes());
///     assert!(h.id("a").await.unwrap().is_some());
/// });
/// ```
pub struct StackHarness {
    stack: StackName,
    project: String,
    config: StackConfig,
    backend: Arc<dyn Backend>,
    providers: Vec<(Option<String>, Arc<dyn Provider>)>,
    references: Option<Arc<dyn ReferenceSource>>,
    secrets: Option<Arc<crate::secrets::Secrets>>,
}

impl std::fmt::Debug for StackHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "StackHarness({} in {})",
            self.stack,
            self.backend.describe()
        )
    }
}

/// Everything a backend keeps for a stack — journal, snapshot, history records
/// and their snapshots — as text, for searching it (e.g. for a secret canary).
pub async fn stored_text(
    backend: &dyn Backend,
    stack: &StackName,
) -> Result<String, crate::state::StateError> {
    let mut all = String::from_utf8_lossy(&backend.read_journal(stack).await?).into_owned();
    if let Some(s) = backend.read_snapshot(stack).await? {
        all.push_str(&String::from_utf8_lossy(&s));
    }
    for id in backend.list_history(stack).await? {
        all.push_str(&String::from_utf8_lossy(
            &backend.read_history(stack, &id).await?,
        ));
        if let Some(s) = backend.read_history_snapshot(stack, &id).await? {
            all.push_str(&String::from_utf8_lossy(&s));
        }
    }
    Ok(all)
}

/// A program as the harness runs it.
pub type ProgramRef<'a> = &'a dyn Fn(&Stack) -> Result<(), Error>;

impl StackHarness {
    /// A harness for `stack`, on a fresh in-memory backend, with no providers
    /// but the built-in one.
    pub fn new(stack: &str) -> Result<Self, Error> {
        Ok(StackHarness {
            stack: StackName::new(stack)?,
            project: "test".into(),
            config: StackConfig::default(),
            backend: Arc::new(MemoryBackend::new()),
            providers: Vec::new(),
            references: None,
            secrets: None,
        })
    }

    /// The project name (default `test`).
    #[must_use]
    pub fn project(mut self, name: &str) -> Self {
        self.project = name.into();
        self
    }

    /// The stack's config.
    #[must_use]
    pub fn config(mut self, config: StackConfig) -> Self {
        self.config = config;
        self
    }

    /// Keeps state on this backend.
    #[must_use]
    pub fn backend(mut self, backend: Arc<dyn Backend>) -> Self {
        self.backend = backend;
        self
    }

    /// Adds a provider (the package's default when `name` is `None`).
    #[must_use]
    pub fn provider(mut self, name: Option<&str>, provider: Arc<dyn Provider>) -> Self {
        self.providers.push((name.map(String::from), provider));
        self
    }

    /// Where the program's stack references are read from (e.g.
    /// [`BackendReferences`](crate::reference::BackendReferences) or
    /// [`CannedReferences`]).
    #[must_use]
    pub fn references(mut self, source: Arc<dyn ReferenceSource>) -> Self {
        self.references = Some(source);
        self
    }

    /// Seals secret values in state with this passphrase (default: the
    /// process's `MKSO_PASSPHRASE`).
    #[must_use]
    pub fn passphrase(mut self, passphrase: &str) -> Self {
        self.secrets = Some(Arc::new(crate::secrets::Secrets::with_passphrase(
            passphrase,
        )));
        self
    }

    /// The stack.
    pub fn stack(&self) -> &StackName {
        &self.stack
    }

    /// The stack's state on the backend.
    pub fn store(&self) -> StateStore {
        let store = StateStore::new(self.backend.clone(), self.stack.clone());
        match &self.secrets {
            Some(s) => store.with_sealer(crate::state::Sealer::new(s.clone(), None)),
            None => store,
        }
    }

    /// Runs the program and returns what it declared.
    pub fn graph(&self, program: ProgramRef<'_>) -> Result<ProgramGraph, Error> {
        let s = Stack::new(
            self.stack.clone(),
            self.project.clone(),
            self.config.clone(),
        );
        if let Some(r) = &self.references {
            s.set_reference_source(r.clone());
        }
        for (name, p) in &self.providers {
            s.add_provider(name.as_deref(), p.clone());
        }
        program(&s)?;
        Ok(s.take_graph())
    }

    /// The recorded state.
    pub async fn state(&self) -> Result<StateView, Error> {
        Ok(self.store().load().await?.view)
    }

    /// The plan of an `up`, changing nothing.
    pub async fn preview(
        &self,
        program: ProgramRef<'_>,
        opts: &EngineOptions,
    ) -> Result<Plan, Error> {
        let graph = self.graph(program)?;
        plan_update(&graph, &self.state().await?, opts).await
    }

    /// An `up`, as the CLI runs it (without the confirmation).
    pub async fn up(
        &self,
        program: ProgramRef<'_>,
        opts: &EngineOptions,
    ) -> Result<(Plan, UpdateOutcome), Error> {
        let mut session = Session::open(self.store(), "up").await?;
        let graph = self.graph(program)?;
        session.resolve_pending(&graph.providers, opts).await?;
        let plan = plan_update(&graph, session.view(), opts).await?;
        let outcome = session.apply(&graph, &plan, opts).await?;
        let result = if outcome.succeeded() {
            UpdateResult::Succeeded
        } else {
            UpdateResult::Failed
        };
        session
            .finish(
                UpdateKind::Up,
                result,
                outcome.changes.clone(),
                outcome.failures.len(),
                10,
            )
            .await?;
        Ok((plan, outcome))
    }

    /// A `refresh`, as the CLI runs it.
    pub async fn refresh(
        &self,
        program: ProgramRef<'_>,
        opts: &EngineOptions,
    ) -> Result<RefreshOutcome, Error> {
        let mut session = Session::open(self.store(), "refresh").await?;
        let graph = self.graph(program)?;
        let r = session.refresh(&graph.providers, opts).await?;
        let result = if r.failures.is_empty() {
            UpdateResult::Succeeded
        } else {
            UpdateResult::Failed
        };
        session
            .finish(
                UpdateKind::Refresh,
                result,
                Default::default(),
                r.failures.len(),
                10,
            )
            .await?;
        Ok(r)
    }

    /// The provider id of a recorded resource, by its nested name.
    pub async fn id(&self, name: &str) -> Result<Option<String>, Error> {
        Ok(self
            .state()
            .await?
            .live
            .values()
            .find(|r| r.urn.name() == name)
            .map(|r| r.id.clone()))
    }
}
