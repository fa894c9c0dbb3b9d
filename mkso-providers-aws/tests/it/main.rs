//! The AWS provider against the EC2 emulator (moto, started by
//! `scripts/test.sh`): every resource type through the real engine.

mod resources;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ec2::Client;
use mkso::engine::{EngineOptions, Op, Plan, RefreshOutcome, Session, UpdateOutcome, plan_update};
use mkso::prelude::*;
use mkso::state::{MemoryBackend, StateStore, StateView, UpdateKind, UpdateResult};
use mkso::{StackConfig, StackName};
use mkso_providers_aws::{AwsConfig, AwsProvider};

pub fn moto() -> String {
    std::env::var("MKSO_MOTO_ENDPOINT").expect(
        "MKSO_MOTO_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts the emulators",
    )
}

/// One stack (unique name) on an in-memory backend with a provider on moto.
pub struct Env {
    pub stack: StackName,
    backend: Arc<MemoryBackend>,
    provider: Arc<AwsProvider>,
    /// Named provider instances (e.g. a second region).
    pub named: Vec<(String, Arc<AwsProvider>)>,
}

pub type Program = dyn Fn(&Stack) -> Result<(), mkso::Error> + Send + Sync;

impl Env {
    pub fn new(test: &str) -> Env {
        let stack = StackName::new(&format!("aws.test.{test}{}", std::process::id())).unwrap();
        let provider = AwsProvider::new(AwsConfig {
            region: "us-east-1".into(),
            endpoint: Some(moto()),
            default_tags: BTreeMap::from([("Team".to_string(), "infra".to_string())]),
        })
        .unwrap();
        Env {
            stack,
            backend: Arc::new(MemoryBackend::new()),
            provider: Arc::new(provider),
            named: Vec::new(),
        }
    }

    pub async fn client(&self) -> &Client {
        self.provider.client().await
    }

    fn graph(&self, p: &Program) -> mkso::stack::ProgramGraph {
        let s = Stack::new(self.stack.clone(), "aws-test", StackConfig::default());
        s.add_provider(None, self.provider.clone());
        for (n, p) in &self.named {
            s.add_provider(Some(n), p.clone());
        }
        p(&s).unwrap();
        s.take_graph()
    }

    fn store(&self) -> StateStore {
        StateStore::new(self.backend.clone(), self.stack.clone())
    }

    pub async fn state(&self) -> StateView {
        self.store().load().await.unwrap().view
    }

    /// Runs `up`; panics on failure.
    pub async fn up(&self, p: &Program) -> Plan {
        let (plan, out) = self.try_up(p).await;
        assert!(out.succeeded(), "up failed: {:?}", out.failures);
        plan
    }

    pub async fn try_up(&self, p: &Program) -> (Plan, UpdateOutcome) {
        let opts = EngineOptions::default();
        let mut s = Session::open(self.store(), "up").await.unwrap();
        let graph = self.graph(p);
        s.resolve_pending(&graph.providers, &opts).await.unwrap();
        let plan = plan_update(&graph, s.view(), &opts).await.unwrap();
        let out = s.apply(&graph, &plan, &opts).await.unwrap();
        s.finish(
            UpdateKind::Up,
            UpdateResult::Succeeded,
            out.changes.clone(),
            0,
            3,
        )
        .await
        .unwrap();
        (plan, out)
    }

    /// The plan, or the error planning gives.
    pub async fn try_preview(&self, p: &Program) -> Result<Plan, mkso::Error> {
        plan_update(
            &self.graph(p),
            &self.state().await,
            &EngineOptions::default(),
        )
        .await
    }

    pub async fn preview(&self, p: &Program) -> Plan {
        plan_update(
            &self.graph(p),
            &self.state().await,
            &EngineOptions::default(),
        )
        .await
        .unwrap()
    }

    pub async fn refresh(&self, p: &Program) -> RefreshOutcome {
        let opts = EngineOptions::default();
        let mut s = Session::open(self.store(), "refresh").await.unwrap();
        let graph = self.graph(p);
        let r = s.refresh(&graph.providers, &opts).await.unwrap();
        s.finish(
            UpdateKind::Refresh,
            UpdateResult::Succeeded,
            Default::default(),
            0,
            3,
        )
        .await
        .unwrap();
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        r
    }

    /// The provider id of a resource by name.
    pub async fn id(&self, name: &str) -> String {
        self.state()
            .await
            .live
            .values()
            .find(|r| r.urn.name() == name)
            .unwrap_or_else(|| panic!("no `{name}` in state"))
            .id
            .clone()
    }

    /// Cloud tags of a resource (any taggable EC2 id).
    pub async fn tags(&self, id: &str) -> BTreeMap<String, String> {
        let out = self
            .client()
            .await
            .describe_tags()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("resource-id")
                    .values(id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        out.tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or("").to_string(),
                    t.value().unwrap_or("").to_string(),
                )
            })
            .collect()
    }

    /// Sets a tag behind mkso's back.
    pub async fn set_tag(&self, id: &str, k: &str, v: &str) {
        self.client()
            .await
            .create_tags()
            .resources(id)
            .tags(aws_sdk_ec2::types::Tag::builder().key(k).value(v).build())
            .send()
            .await
            .unwrap();
    }
}

pub fn op(plan: &Plan, name: &str) -> Op {
    plan.all_steps()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step for `{name}`"))
        .op
}
