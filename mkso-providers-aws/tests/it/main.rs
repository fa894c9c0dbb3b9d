//! The AWS provider against the EC2 emulator (moto, started by
//! `scripts/test.sh`): every resource type through the real engine.

#[cfg(all(feature = "autoscaling", feature = "elbv2"))]
mod autoscaling;
mod classify;
#[cfg(feature = "elbv2")]
mod elbv2;
#[cfg(feature = "iam")]
mod iam;
#[cfg(feature = "rds")]
mod rds;
mod readme;
mod resources;
#[cfg(feature = "route53")]
mod route53;
#[cfg(feature = "s3")]
mod storage;
mod vpc_links;

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_ec2::Client;
use mkso::StackName;
use mkso::engine::{EngineOptions, Op, Plan, RefreshOutcome, UpdateOutcome};
use mkso::prelude::*;
use mkso::state::{MemoryBackend, StateView};
use mkso::testing::StackHarness;
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

    #[cfg(feature = "s3")]
    pub async fn s3(&self) -> &aws_sdk_s3::Client {
        self.provider.s3().await
    }

    #[cfg(feature = "iam")]
    pub async fn iam(&self) -> &aws_sdk_iam::Client {
        self.provider.iam().await
    }

    #[cfg(feature = "elbv2")]
    pub async fn elbv2(&self) -> &mkso_providers_aws::sdk::elbv2::Client {
        self.provider.elbv2().await
    }

    #[cfg(feature = "rds")]
    pub async fn rds(&self) -> &mkso_providers_aws::sdk::rds::Client {
        self.provider.rds().await
    }

    #[cfg(feature = "route53")]
    pub async fn route53(&self) -> &mkso_providers_aws::sdk::route53::Client {
        self.provider.route53().await
    }

    #[cfg(feature = "autoscaling")]
    pub async fn autoscaling(&self) -> &mkso_providers_aws::sdk::autoscaling::Client {
        self.provider.autoscaling().await
    }

    /// The kit's harness over this stack, backend and provider(s).
    fn kit(&self) -> StackHarness {
        let h = StackHarness::new(self.stack.as_str())
            .unwrap()
            .project("aws-test")
            .backend(self.backend.clone())
            .provider(None, self.provider.clone());
        self.named
            .iter()
            .fold(h, |h, (n, p)| h.provider(Some(n), p.clone()))
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

    /// The plan, or the error planning gives.
    pub async fn try_preview(&self, p: &Program) -> Result<Plan, mkso::Error> {
        self.kit().preview(p, &EngineOptions::default()).await
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
        .op()
}
