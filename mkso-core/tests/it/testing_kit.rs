//! The testing kit itself (`mkso::testing`): no real provider unless asked
//! for, committed stack files with secrets, and ids and URNs as documented.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use mkso::config::StackFile;
use mkso::engine::EngineOptions;
use mkso::prelude::*;
use mkso::provider::{CreateRequest, CreateResponse};
use mkso::secrets::{Secret, Secrets};
use mkso::testing::{StackHarness, TestProvider, preview};
use mkso::{Provider, ProviderError};
use serde_json::json;

mkso::resource! {
    /// A resource of a cloud of our own.
    pub struct Bucket("cloud:storage:Bucket") {
        args BucketArgs => BucketInputs { region: String }
        outputs BucketOutputs { region: String }
    }
}

/// A provider standing for a real cloud: counts the calls it gets.
#[derive(Default)]
struct CloudProvider {
    calls: AtomicUsize,
}

#[async_trait]
impl Provider for CloudProvider {
    fn package(&self) -> &str {
        "cloud"
    }
    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut outputs = req.inputs;
        outputs["id"] = json!("real-cloud-id");
        Ok(CreateResponse {
            id: "real-cloud-id".into(),
            outputs,
        })
    }
}

/// A program that adds its own cloud provider (as the AWS crate's docs used
/// to show), a named second instance, and one bucket on each.
fn program_with(cloud: Arc<CloudProvider>) -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    move |stack: &Stack| {
        stack.add_provider(None, cloud.clone());
        stack.add_provider(Some("east"), cloud.clone());
        Bucket::new(
            stack,
            "logs",
            BucketArgs::default().region("eu"),
            ResourceOptions::new(),
        )?;
        Bucket::new(
            stack,
            "backup",
            BucketArgs::default().region("us-east"),
            ResourceOptions::new().provider("east"),
        )?;
        Ok(())
    }
}

#[test]
fn a_provider_the_program_adds_is_replaced_by_the_in_memory_one() {
    let cloud = Arc::new(CloudProvider::default());
    let program = program_with(cloud.clone());
    let g = preview(&program).up().unwrap();
    assert_eq!(g.get("logs").unwrap().outputs["id"], "logs-id");
    assert_eq!(g.get("backup").unwrap().outputs["id"], "backup-id");
    preview(&program).run().unwrap();
    preview(&program).render().unwrap();
    assert_eq!(
        cloud.calls.load(Ordering::SeqCst),
        0,
        "a real provider was called"
    );

    // Opting in by package name: the program's own providers are used.
    let g = preview(&program).real_provider("cloud").up().unwrap();
    assert_eq!(g.get("logs").unwrap().outputs["id"], "real-cloud-id");
    assert_eq!(cloud.calls.load(Ordering::SeqCst), 2);

    // A provider the test gives is used as given.
    let given = Arc::new(CloudProvider::default());
    let g = preview(&program).with_provider(given.clone()).up().unwrap();
    assert_eq!(g.get("logs").unwrap().outputs["id"], "real-cloud-id");
    assert_eq!(given.calls.load(Ordering::SeqCst), 1);
    // The named instance the program added is still replaced.
    assert_eq!(g.get("backup").unwrap().outputs["id"], "backup-id");
    assert_eq!(cloud.calls.load(Ordering::SeqCst), 2);
}

#[test]
fn a_test_provider_the_program_adds_is_kept() {
    let program = |stack: &Stack| -> Result<(), mkso::Error> {
        let p = TestProvider::for_package("cloud").on_create("cloud:storage:Bucket", |_req| {
            Ok(CreateResponse {
                id: "from-the-programs-test-provider".into(),
                outputs: json!({"id": "from-the-programs-test-provider", "region": "eu"}),
            })
        });
        stack.add_provider(None, Arc::new(p));
        Bucket::new(
            stack,
            "logs",
            BucketArgs::default().region("eu"),
            ResourceOptions::new(),
        )?;
        Ok(())
    };
    let g = preview(program).up().unwrap();
    assert_eq!(
        g.get("logs").unwrap().outputs["id"],
        "from-the-programs-test-provider"
    );
}

#[tokio::test]
async fn a_harness_uses_only_the_providers_it_is_given() {
    let cloud = Arc::new(CloudProvider::default());
    let program = program_with(cloud.clone());
    let opts = EngineOptions::default();
    // No provider for `cloud`: refused, saying what to do.
    let h = StackHarness::new("kit.cloud.Dev").unwrap();
    let e = h.up(&program, &opts).await.unwrap_err().to_string();
    assert!(
        e.contains("`logs`")
            && e.contains("the program added itself")
            && e.contains(".real_provider(\"cloud\")")
            && e.contains(".provider("),
        "{e}"
    );
    // An in-memory provider given: it serves the program's resources.
    let h = StackHarness::new("kit.cloud.Dev")
        .unwrap()
        .provider(None, Arc::new(TestProvider::new()));
    let (_, out) = h.up(&program, &opts).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(h.id("logs").await.unwrap().as_deref(), Some("logs-id"));
    assert_eq!(cloud.calls.load(Ordering::SeqCst), 0);
    // Opted in: the program's own provider.
    let h = StackHarness::new("kit.cloud.Dev")
        .unwrap()
        .real_provider("cloud");
    let (_, out) = h.up(&program, &opts).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(cloud.calls.load(Ordering::SeqCst), 2);
}

/// A project directory of its own: `Mkso.yaml` (project `shop`) and a stack
/// file whose `app:password` and `app:token` are sealed with a passphrase the
/// tests do not have.
fn project_dir(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mkso-kit-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("Mkso.yaml"), "name: shop\n").unwrap();
    let file = dir.join("Mkso.shop.web.QA.yaml");
    std::fs::write(
        &file,
        "# The QA web tier.\nconfig:\n  app:replicas: 2\n  app:version: 1.10\n",
    )
    .unwrap();
    let secrets = Secrets::with_passphrase("a passphrase only the operators know 7731");
    let mut f = StackFile::open_for_edit(&file).unwrap();
    f.set_secret("app:password", &json!("the-real-password"), &secrets)
        .unwrap();
    f.set_secret("app:token", &json!("the-real-token"), &secrets)
        .unwrap();
    f.set("app:region", "eu-west-1".into()).unwrap();
    f.save().unwrap();
    drop(f);
    dir
}

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct App {
    replicas: u32,
    version: String,
    region: String,
    password: Secret<String>,
    token: Option<Secret<String>>,
}

fn app_program(stack: &Stack) -> Result<(), mkso::Error> {
    let app: App = stack.config("app")?;
    for i in 0..app.replicas {
        mkso::builtin::Data::new(
            stack,
            &format!("replica-{i}"),
            mkso::builtin::DataArgs::default().value(json!({
                "version": app.version,
                "region": app.region,
                "has_token": app.token.is_some(),
            })),
            ResourceOptions::new(),
        )?;
    }
    stack.export("password", app.password.into_output());
    Ok(())
}

#[test]
fn a_committed_stack_file_with_secrets_needs_no_passphrase() {
    let dir = project_dir("secrets");
    let file = dir.join("Mkso.shop.web.QA.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("secure:"), "{text}");
    let g = preview(app_program)
        .stack("shop.web.QA")
        .config_file(&file)
        .secret_config("app:password", json!("test-password"))
        .secret_config("app:token", json!("test-token"))
        .run()
        .unwrap();
    let all = serde_json::to_string(&g).unwrap();
    assert!(
        !all.contains("the-real") && !all.contains("test-password"),
        "{all}"
    );
    assert_eq!(g.outputs["password"], "[secret]");
    // Every other entry reads as written (`1.10` into a string stays `1.10`).
    assert_eq!(
        g.get("replica-1").unwrap().inputs["value"],
        json!({"version": "1.10", "region": "eu-west-1", "has_token": true})
    );
    // Given before the file: the same.
    preview(app_program)
        .stack("shop.web.QA")
        .secret_config("app:password", json!("test-password"))
        .secret_config("app:token", json!("test-token"))
        .config_file(&file)
        .run()
        .unwrap();
    // A sealed key the test does not give, with no (or another) passphrase:
    // an error naming it and `.secret_config`, not a panic.
    let e = preview(app_program)
        .stack("shop.web.QA")
        .config_file(&file)
        .secret_config("app:password", json!("test-password"))
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("`app:token`")
            && e.contains(".secret_config(\"app:token\", value)")
            && e.contains("Mkso.shop.web.QA.yaml")
            && !e.contains("app:password"),
        "{e}"
    );
    let e = preview(app_program)
        .stack("shop.web.QA")
        .config_file(&file)
        .up()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(".secret_config(") && e.contains("app:password") && e.contains("app:token"),
        "{e}"
    );
    // The same text given as YAML.
    preview(app_program)
        .stack("shop.web.QA")
        .config_yaml(&text)
        .secret_config("app:password", json!("test-password"))
        .secret_config("app:token", json!("test-token"))
        .run()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_flow_style_stack_file_with_secrets_needs_no_passphrase() {
    let yaml = "config: {app:replicas: 1, app:version: '2', app:region: r, app:password: {secure: 'v1:bm90:YS1jaXBoZXJ0ZXh0'}}\n";
    let g = preview(app_program)
        .config_yaml(yaml)
        .secret_config("app:password", json!("pw"))
        .run()
        .unwrap();
    assert_eq!(g.resources.len(), 1);
}

/// URNs carry the project of the `Mkso.yaml` beside the stack file (or the
/// one set), ids are the nested name with `/` as `-`, plus `-id`.
#[test]
fn ids_and_urns_are_as_documented() {
    let dir = project_dir("names");
    let file = dir.join("Mkso.shop.web.QA.yaml");
    let base = || {
        preview(app_program)
            .stack("shop.web.QA")
            .config_file(&file)
            .secret_config("app:password", json!("pw"))
            .secret_config("app:token", json!("t"))
    };
    let g = base().run().unwrap();
    assert_eq!(
        g.get("replica-0").unwrap().urn,
        "urn:mkso:shop.web.QA::shop::mkso:builtin:Data::replica-0"
    );
    let g = base().project("other").run().unwrap();
    assert!(g.resources.iter().all(|r| r.urn.contains("::other::")));
    // No project file beside the stack file (or no file): `test`.
    let alone = dir.join("alone");
    std::fs::create_dir_all(&alone).unwrap();
    std::fs::copy(&file, alone.join("Mkso.shop.web.QA.yaml")).unwrap();
    let g = preview(app_program)
        .stack("shop.web.QA")
        .config_file(&alone.join("Mkso.shop.web.QA.yaml"))
        .secret_config("app:password", json!("pw"))
        .secret_config("app:token", json!("t"))
        .run()
        .unwrap();
    assert!(g.resources.iter().all(|r| r.urn.contains("::test::")));
    std::fs::remove_dir_all(&dir).unwrap();

    let nested = |stack: &Stack| -> Result<(), mkso::Error> {
        let net = stack.component("demo:net:Network", "network", ResourceOptions::new())?;
        let s = Bucket::new(
            stack,
            "private-subnet-0",
            BucketArgs::default().region("eu"),
            net.child_opts(),
        )?;
        Bucket::new(
            stack,
            "top",
            BucketArgs::default().region("eu"),
            ResourceOptions::new(),
        )?;
        stack.export("subnet", s.id());
        Ok(())
    };
    let g = preview(nested).up().unwrap();
    assert_eq!(g.outputs["subnet"], "network-private-subnet-0-id");
    assert_eq!(g.get("top").unwrap().outputs["id"], "top-id");
    assert!(g.get("top").unwrap().urn.contains("::test::"));
}
