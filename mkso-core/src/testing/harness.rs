//! [`StackHarness`]: programs through the real engine.

use std::collections::BTreeSet;
use std::sync::Arc;

use crate::config::StackConfig;
use crate::engine::{EngineOptions, Plan, RefreshOutcome, Session, UpdateOutcome, plan_update};
use crate::error::Error;
use crate::names::StackName;
use crate::provider::Provider;
use crate::reference::ReferenceSource;
use crate::stack::{ProgramGraph, Stack};
use crate::state::{Backend, MemoryBackend, StateStore, StateView, UpdateKind, UpdateResult};

/// Runs programs through the real engine — a locked session, pending
/// operations resolved, plan, apply, compaction and history — on an in-memory
/// backend (or any other), with the providers you give it. For testing
/// providers against emulators, and engines' own tests.
///
/// The providers given with [`StackHarness::provider`] are the only ones a
/// program reaches: one the program adds itself is kept only when it is
/// in-memory (a [`TestProvider`](super::TestProvider)) or of a package opted
/// in with [`StackHarness::real_provider`]; otherwise its resources go to the
/// given providers, and running is refused when there is none for them.
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
    real: BTreeSet<String>,
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
            real: BTreeSet::new(),
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

    /// Lets the program use the providers it adds itself for `package`
    /// (`aws`), as the stack binary would: without this, a provider a program
    /// adds with `Stack::add_provider` is never used in a harness unless it is
    /// in-memory.
    #[must_use]
    pub fn real_provider(mut self, package: &str) -> Self {
        self.real.insert(package.to_string());
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
    /// process's `MKSO_PASSPHRASE`). Only backends that persist state seal:
    /// the default in-memory backend keeps values as they are (nothing
    /// leaves the process); give a `LocalBackend` on a temporary directory
    /// (`.backend(..)`) to test what is written to disk.
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

    /// Runs the program and returns what it declared, with the providers of
    /// a harness run (see the type's docs).
    pub fn graph(&self, program: ProgramRef<'_>) -> Result<ProgramGraph, Error> {
        self.graph_over(program, None)
    }

    fn graph_over(
        &self,
        program: ProgramRef<'_>,
        state: Option<&StateView>,
    ) -> Result<ProgramGraph, Error> {
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
        let mut graph = s.take_graph();
        graph.providers = super::kit_providers(&self.providers, &graph, state, &self.real)?;
        Ok(graph)
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
        let state = self.state().await?;
        let graph = self.graph_over(program, Some(&state))?;
        plan_update(&graph, &state, opts).await
    }

    /// An `up`, as the CLI runs it (without the confirmation).
    pub async fn up(
        &self,
        program: ProgramRef<'_>,
        opts: &EngineOptions,
    ) -> Result<(Plan, UpdateOutcome), Error> {
        let mut session = Session::open(self.store(), "up").await?;
        let graph = self.graph_over(program, Some(session.view()))?;
        session.resolve_pending(&graph.providers, opts).await?;
        let plan = plan_update(&graph, session.view(), opts).await?;
        let outcome = session.apply(&graph, &plan, opts).await?;
        session
            .finish(
                UpdateKind::Up,
                outcome.result().into(),
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
        let graph = self.graph_over(program, Some(session.view()))?;
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
