//! The GCP provider against the Compute Engine emulator (gcplocal, started by
//! `scripts/test.sh` through the project's decimal-id launcher), and its
//! error classification and field metadata without one (`classify`,
//! `schema`).

mod classify;
mod readme;
mod resources;
mod schema;

use std::sync::Arc;

use mkso::StackName;
use mkso::engine::{EngineOptions, Plan, RefreshOutcome, UpdateOutcome};
use mkso::prelude::*;
use mkso::state::{MemoryBackend, StateView};
use mkso::testing::StackHarness;
use mkso_providers_gcp::{GcpConfig, GcpProvider};

pub fn gcp() -> String {
    std::env::var("MKSO_GCP_ENDPOINT").expect(
        "MKSO_GCP_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts the emulators",
    )
}

pub type Program = dyn Fn(&Stack) -> Result<(), mkso::Error> + Send + Sync;

/// One stack, in its own emulator project, on an in-memory backend.
pub struct Env {
    pub stack: StackName,
    pub project: String,
    backend: Arc<MemoryBackend>,
    provider: Arc<GcpProvider>,
}

impl Env {
    pub fn new(test: &str) -> Env {
        let project = format!("mkso-{}-{}", test.to_lowercase(), std::process::id());
        let provider = GcpProvider::new(GcpConfig {
            project: project.clone(),
            region: "us-central1".into(),
            zone: "us-central1-a".into(),
            endpoint: Some(gcp()),
            credentials: Some("anonymous".into()),
        })
        .unwrap();
        Env {
            stack: StackName::new(&format!("gcp.test.{test}")).unwrap(),
            project,
            backend: Arc::new(MemoryBackend::new()),
            provider: Arc::new(provider),
        }
    }

    /// The kit's harness over this stack, backend and provider(s).
    fn kit(&self) -> StackHarness {
        StackHarness::new(self.stack.as_str())
            .unwrap()
            .project("gcp-test")
            .backend(self.backend.clone())
            .provider(None, self.provider.clone())
    }

    pub async fn state(&self) -> StateView {
        self.kit().state().await.unwrap()
    }

    pub async fn try_up(&self, p: &Program) -> (Plan, UpdateOutcome) {
        self.kit().up(p, &EngineOptions::default()).await.unwrap()
    }

    /// Runs `up`; panics on failure.
    pub async fn up(&self, p: &Program) -> Plan {
        let (plan, out) = self.try_up(p).await;
        assert!(out.succeeded(), "up failed: {:?}", out.failures);
        plan
    }

    pub async fn preview(&self, p: &Program) -> Plan {
        self.kit()
            .preview(p, &EngineOptions::default())
            .await
            .unwrap()
    }

    pub async fn refresh(&self, p: &Program) -> RefreshOutcome {
        let r = self
            .kit()
            .refresh(p, &EngineOptions::default())
            .await
            .unwrap();
        assert!(r.failures.is_empty(), "{:?}", r.failures);
        r
    }

    /// The provider id of a resource by name.
    pub async fn id(&self, name: &str) -> String {
        self.kit()
            .id(name)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("no `{name}` in state"))
    }

    /// A plain HTTP call to the emulator's Compute API (behind mkso's back).
    pub async fn http(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let url = format!("{}/compute/v1/projects/{}/{path}", gcp(), self.project);
        let mut r = reqwest::Client::new().request(method, url);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await.unwrap();
        resp.json().await.unwrap_or(serde_json::Value::Null)
    }

    /// Names of the items the emulator lists at `path` (e.g. `global/firewalls`).
    pub async fn list(&self, path: &str) -> Vec<String> {
        let v = self.http(reqwest::Method::GET, path, None).await;
        v["items"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|i| i["name"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    }
}

pub fn op(plan: &Plan, name: &str) -> mkso::engine::Op {
    plan.all_steps()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no step `{name}`"))
        .op()
}
