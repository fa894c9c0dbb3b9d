//! mkso-core's integration tests: one binary, one module per area.

mod backend_conformance;
mod bad_input;
mod cli;
mod failure_kinds;
mod failures;
mod hostile_input;
mod lifecycle;
mod output_ergonomics;
mod plan_follow;
mod rollback;
mod rolling;
mod saved_plans;
mod secrets_refs;
mod snapshots;
mod testing_kit;
mod typed_records;
mod watch;

use std::sync::Arc;

use mkso::StackName;
use mkso::engine::{EngineOptions, Plan, UpdateOutcome, VecSink};
use mkso::prelude::*;
use mkso::stack::ProgramGraph;
use mkso::state::{Backend, MemoryBackend, StateStore, StateView};
use mkso::testing::{ProgramRef, StackHarness, TestProvider};
use serde_json::{Value, json};

mkso::resource! {
    /// A resource of the test provider: `zone` changes force a replacement.
    pub struct Thing("test:index:Thing") {
        args ThingArgs => ThingInputs {
            value: serde_json::Value,
            zone: Option<String>,
        }
        outputs ThingOutputs {
            id: String,
            value: serde_json::Value,
        }
    }
}

/// One resource of a test program: name, value, the names it reads from, zone.
#[derive(Clone, Debug)]
pub struct Spec {
    pub name: &'static str,
    pub value: Value,
    pub reads: Vec<&'static str>,
    pub zone: Option<&'static str>,
    pub opts: ResourceOptions,
}

pub fn spec(name: &'static str, value: Value) -> Spec {
    Spec {
        name,
        value,
        reads: Vec::new(),
        zone: None,
        opts: ResourceOptions::new(),
    }
}

impl Spec {
    pub fn reads(mut self, names: &[&'static str]) -> Self {
        self.reads = names.to_vec();
        self
    }
    pub fn zone(mut self, z: &'static str) -> Self {
        self.zone = Some(z);
        self
    }
    pub fn opts(mut self, o: ResourceOptions) -> Self {
        self.opts = o;
        self
    }
}

/// A program declaring `specs` in order; a resource that reads others gets
/// `{"own": value, "from": [their values]}`.
pub fn program(
    specs: Vec<Spec>,
) -> impl Fn(&Stack) -> Result<(), mkso::Error> + Send + Sync + Clone {
    move |stack: &Stack| {
        let mut made: Vec<(&str, Thing)> = Vec::new();
        for s in &specs {
            let value: Input<Value> = if s.reads.is_empty() {
                s.value.clone().into()
            } else {
                let from: Vec<Output<Value>> = s
                    .reads
                    .iter()
                    .map(|r| {
                        made.iter()
                            .find(|(n, _)| n == r)
                            .expect("declared before")
                            .1
                            .value()
                    })
                    .collect();
                let own = s.value.clone();
                Output::all_vec(from).map(move |v| json!({"own": own, "from": v}))
            };
            let mut args = ThingArgs::default().value(value);
            if let Some(z) = s.zone {
                args = args.zone(Some(z.to_string()));
            }
            let t = Thing::new(stack, s.name, args, s.opts.clone())?;
            made.push((s.name, t));
        }
        stack.export(
            "names",
            Output::new(specs.iter().map(|s| s.name).collect::<Vec<_>>()),
        );
        Ok(())
    }
}

/// A stack on an in-memory backend with a test provider.
pub struct Harness {
    pub backend: Arc<dyn Backend>,
    pub stack: StackName,
    pub provider: TestProvider,
    pub events: VecSink,
}

impl Default for Harness {
    fn default() -> Self {
        Self::new()
    }
}

impl Harness {
    pub fn new() -> Self {
        Self::with_backend(Arc::new(MemoryBackend::new()))
    }

    pub fn with_backend(backend: Arc<dyn Backend>) -> Self {
        Harness {
            backend,
            stack: StackName::new("test.things.Dev").unwrap(),
            provider: TestProvider::new().replace_on("test:index:Thing", &["zone"]),
            events: VecSink::new(),
        }
    }

    pub fn store(&self) -> StateStore {
        StateStore::new(self.backend.clone(), self.stack.clone())
    }

    /// The kit's harness over this stack, backend and test provider.
    fn kit(&self) -> StackHarness {
        StackHarness::new(self.stack.as_str())
            .unwrap()
            .backend(self.backend.clone())
            .provider(None, Arc::new(self.provider.clone()))
    }

    pub fn graph(&self, p: ProgramRef<'_>) -> Result<ProgramGraph, mkso::Error> {
        self.kit().graph(p)
    }

    pub fn options(&self) -> EngineOptions {
        EngineOptions {
            events: Arc::new(self.events.clone()),
            ..EngineOptions::default()
        }
    }

    pub async fn state(&self) -> StateView {
        self.kit().state().await.unwrap()
    }

    pub async fn preview(&self, p: ProgramRef<'_>) -> Plan {
        self.kit().preview(p, &self.options()).await.unwrap()
    }

    pub async fn up_with(
        &self,
        p: ProgramRef<'_>,
        opts: EngineOptions,
    ) -> Result<(Plan, UpdateOutcome), mkso::Error> {
        self.kit().up(p, &opts).await
    }

    pub async fn up(&self, p: ProgramRef<'_>) -> (Plan, UpdateOutcome) {
        self.up_with(p, self.options()).await.unwrap()
    }

    /// Names in the provider's in-memory cloud, sorted.
    pub fn cloud_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .provider
            .cloud()
            .values()
            .map(|(u, _, _)| u.name().to_string())
            .collect();
        v.sort();
        v
    }
}

pub fn ops(plan: &Plan) -> Vec<(String, String)> {
    plan.all_steps()
        .map(|s| (s.name.clone(), s.op().as_str().to_string()))
        .collect()
}
