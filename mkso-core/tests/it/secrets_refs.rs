//! Secrets (sealed in state on both backends, never shown) and stack
//! references (typed, secret-preserving, clear errors).

use std::sync::Arc;

use mkso::engine::EngineOptions;
use mkso::prelude::*;
use mkso::reference::BackendReferences;
use mkso::secrets::{Secret, Secrets};
use mkso::state::{Backend, LocalBackend, S3Backend};
use mkso::testing::{StackHarness, TestProvider, preview, stored_text};
use mkso::{Error, StackConfig};
use serde::Deserialize;
use serde_json::json;

use crate::backend_conformance::{BUCKET, ensure_bucket, moto};
use crate::{Thing, ThingArgs};

#[derive(Deserialize, schemars::JsonSchema)]
struct AppConfig {
    db_password: Secret<String>,
    size: u32,
}

/// A program with a secret config value that reaches a resource and an output.
fn app(stack: &Stack) -> Result<(), Error> {
    let cfg: AppConfig = stack.config("app")?;
    let password: Output<String> = cfg.db_password.into();
    let user_data = password.map(|p| format!("#!/bin/sh\nDB_PASSWORD={p}\n"));
    let server = Thing::new(
        stack,
        "server",
        ThingArgs::default()
            .value(user_data.map(|u| json!({ "user_data": u })))
            .zone(Some("z1".to_string())),
        ResourceOptions::new(),
    )?;
    let plain = Thing::new(
        stack,
        "plain",
        ThingArgs::default().value(json!({ "size": cfg.size })),
        ResourceOptions::new(),
    )?;
    stack.export("password", password);
    stack.export("server_id", server.id().unsecret());
    stack.export("plain_id", plain.id());
    Ok(())
}

fn config(canary: &str) -> StackConfig {
    StackConfig::from_map([("app:size".to_string(), json!(3))], "test config")
        .with_secret("app:db_password", json!(canary))
}

async fn secrets_are_sealed_in_state(backend: Arc<dyn Backend>, canary: &str) {
    let provider = Arc::new(TestProvider::new());
    let h = StackHarness::new("secrets.QA")
        .unwrap()
        .config(config(canary))
        .backend(backend.clone())
        .provider(None, provider.clone())
        .passphrase("the passphrase");
    let opts = EngineOptions::default();
    let (plan, out) = h.up(&app, &opts).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    // The provider got the value in clear: it has to.
    assert!(
        provider
            .cloud()
            .values()
            .any(|(_, inputs, _)| inputs.to_string().contains(canary)),
        "the provider saw the secret"
    );
    // Preview/plan rendering masks it.
    let rendered = mkso::engine::render_plan(
        &plan,
        mkso::engine::RenderOptions {
            diff: true,
            show_same: true,
        },
    );
    assert!(!rendered.contains(canary), "{rendered}");
    let kept = stored_text(backend.as_ref(), h.stack()).await.unwrap();
    assert!(!kept.contains(canary), "the secret is in the state: {kept}");
    assert!(kept.contains("$mkso:secret"), "{kept}");
    // It loads back (same passphrase) with the secret intact and flagged.
    let state = h.state().await.unwrap();
    assert_eq!(state.outputs["password"], json!(canary));
    assert!(state.secret_outputs.contains(&"password".to_string()));
    assert!(!state.secret_outputs.contains(&"server_id".to_string()));
    assert!(!state.secret_outputs.contains(&"plain_id".to_string()));
    let server = state
        .live
        .values()
        .find(|r| r.urn.name() == "server")
        .unwrap();
    // Secret per property: the secret input (and the output of that name),
    // not the rest of the resource.
    assert!(!server.secret);
    assert_eq!(server.secret_inputs, ["value"]);
    assert_eq!(server.secret_outputs, ["value"]);
    assert!(kept.contains("\"zone\":\"z1\""), "{kept}");
    let plain = state
        .live
        .values()
        .find(|r| r.urn.name() == "plain")
        .unwrap();
    assert!(!plain.has_secrets());
    // No change the second time.
    assert!(!h.preview(&app, &opts).await.unwrap().has_changes());

    // Without the passphrase (or with another one), loading fails and says which variable to set.
    let wrong = StackHarness::new("secrets.QA")
        .unwrap()
        .backend(backend.clone())
        .passphrase("not the passphrase");
    let e = wrong.state().await.unwrap_err().to_string();
    assert!(e.contains("MKSO_PASSPHRASE"), "{e}");
    assert!(!e.contains(canary));
}

#[tokio::test]
async fn secrets_are_sealed_in_local_state() {
    let dir = tempfile::tempdir().unwrap();
    secrets_are_sealed_in_state(
        Arc::new(LocalBackend::new(dir.path())),
        "canary-local-5b1e9d",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_sealed_in_s3_state() {
    ensure_bucket().await;
    let prefix = format!("secrets-{}", std::process::id());
    secrets_are_sealed_in_state(
        Arc::new(S3Backend::new(BUCKET, prefix).with_endpoint(moto())),
        "canary-s3-0c4f7a",
    )
    .await;
}

#[tokio::test]
async fn without_a_passphrase_nothing_is_changed() {
    let dir = tempfile::tempdir().unwrap();
    let provider = Arc::new(TestProvider::new());
    // The test process has no MKSO_PASSPHRASE.
    assert!(std::env::var("MKSO_PASSPHRASE").is_err());
    let h = StackHarness::new("secrets.QA")
        .unwrap()
        .config(config("canary-nopass-77"))
        .backend(Arc::new(LocalBackend::new(dir.path())))
        .provider(None, provider.clone());
    let e = h
        .up(&app, &EngineOptions::default())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("set MKSO_PASSPHRASE"), "{e}");
    assert!(
        provider.calls().iter().all(|c| c.verb != "create"),
        "nothing was created"
    );
}

#[test]
fn secrets_stay_secret_in_the_testing_kit() {
    let canary = "canary-kit-31d0";
    let g = preview(app)
        .config([("app:size", json!(3))])
        .secret_config("app:db_password", json!(canary))
        .run()
        .unwrap();
    let text = serde_json::to_string(&g).unwrap();
    assert!(!text.contains(canary), "{text}");
    // Only the secret property is masked.
    assert_eq!(
        g.get("server").unwrap().inputs,
        json!({"value": "[secret]", "zone": "z1"})
    );
    assert_eq!(g.outputs["password"], json!("[secret]"));
    let up = preview(app)
        .config([("app:size", json!(3))])
        .secret_config("app:db_password", json!(canary))
        .up()
        .unwrap();
    let text = serde_json::to_string(&up).unwrap();
    assert!(!text.contains(canary), "{text}");
    let rendered = preview(app)
        .config([("app:size", json!(3))])
        .secret_config("app:db_password", json!(canary))
        .render()
        .unwrap();
    assert!(!rendered.contains(canary), "{rendered}");
}

#[test]
fn a_secret_read_into_a_plain_field_is_refused() {
    #[derive(Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Leaky {
        db_password: String,
        size: u32,
    }
    let e = preview(|s: &Stack| {
        let _: Leaky = s.config("app")?;
        Ok(())
    })
    .config([("app:size", json!(3))])
    .secret_config("app:db_password", json!("canary-leaky-1"))
    .run()
    .unwrap_err()
    .to_string();
    assert!(e.contains("app:db_password"), "{e}");
    assert!(e.contains("Secret<"), "{e}");
    assert!(!e.contains("canary-leaky-1"), "{e}");
}

// ---- stack references ----

#[derive(Debug, Clone, Deserialize, PartialEq)]
struct Network {
    vpc_id: String,
    private_subnet_ids: Vec<String>,
}

fn network(stack: &Stack) -> Result<(), Error> {
    stack.export("vpc_id", Output::from("vpc-123".to_string()));
    stack.export(
        "private_subnet_ids",
        Output::from(vec!["subnet-a".to_string(), "subnet-b".to_string()]),
    );
    stack.export("token", Output::secret("canary-ref-token-9".to_string()));
    Ok(())
}

fn consumer(stack: &Stack) -> Result<(), Error> {
    let net = stack.reference("aws.network.QA")?;
    let vpc: Output<String> = net.output("vpc_id")?;
    let subnets: Output<Vec<String>> = net.output("private_subnet_ids")?;
    let token: Output<String> = net.output("token")?;
    assert!(token.is_secret());
    let whole: Output<Network> = net.outputs()?;
    stack.export("vpc", vpc);
    stack.export("subnet_count", subnets.map(|s| s.len()));
    stack.export("token_len", token.map(|t| t.len()));
    stack.export("whole_vpc", whole.map(|n| n.vpc_id));
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn references_read_typed_outputs_from_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
    let secrets = Arc::new(Secrets::with_passphrase("shared passphrase"));
    let net = StackHarness::new("aws.network.QA")
        .unwrap()
        .backend(backend.clone())
        .passphrase("shared passphrase");
    let opts = EngineOptions::default();
    assert!(net.up(&network, &opts).await.unwrap().1.succeeded());

    let refs = Arc::new(BackendReferences::new(url.clone(), dir.path()).secrets(secrets.clone()));
    let app = StackHarness::new("aws.app.QA")
        .unwrap()
        .backend(backend.clone())
        .passphrase("shared passphrase")
        .references(refs.clone());
    assert!(app.up(&consumer, &opts).await.unwrap().1.succeeded());
    let state = app.state().await.unwrap();
    assert_eq!(state.outputs["vpc"], json!("vpc-123"));
    assert_eq!(state.outputs["subnet_count"], json!(2));
    assert_eq!(state.outputs["whole_vpc"], json!("vpc-123"));
    // Secretness crosses the reference and survives `map`.
    assert!(state.secret_outputs.contains(&"token_len".to_string()));
    assert!(!state.secret_outputs.contains(&"vpc".to_string()));
    assert!(
        !stored_text(backend.as_ref(), app.stack())
            .await
            .unwrap()
            .contains("canary-ref-token-9")
    );

    // A stack without state, a missing output, a wrong type: named clearly.
    let missing = StackHarness::new("aws.app.Production")
        .unwrap()
        .backend(backend.clone())
        .references(refs.clone());
    let e = missing
        .graph(&|s: &Stack| {
            s.reference("aws.network.Production")?;
            Ok(())
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("stack reference aws.network.Production"), "{e}");
    assert!(e.contains("run `up` for it first"), "{e}");
    let e = missing
        .graph(&|s: &Stack| {
            let _: Output<String> = s.reference("aws.network.QA")?.output("vpc")?;
            Ok(())
        })
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "stack reference aws.network.QA: it has no output `vpc` (its outputs: private_subnet_ids, token, vpc_id)"
    );
    let e = missing
        .graph(&|s: &Stack| {
            let _: Output<u32> = s
                .reference("aws.network.QA")?
                .output("private_subnet_ids")?;
            Ok(())
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("output `private_subnet_ids` is a list"), "{e}");
    assert!(e.contains("`u32`"), "{e}");
    let e = missing
        .graph(&|s: &Stack| {
            let _: Output<u32> = s.reference("aws.network.QA")?.output("token")?;
            Ok(())
        })
        .unwrap_err()
        .to_string();
    assert!(e.contains("value not shown: it is secret"), "{e}");
    assert!(!e.contains("canary-ref-token-9"), "{e}");
}

#[test]
fn the_testing_kit_supplies_canned_references() {
    let g = preview(consumer)
        .stack("aws.app.QA")
        .reference(
            "aws.network.QA",
            json!({"vpc_id": "vpc-canned", "private_subnet_ids": ["s1", "s2", "s3"]}),
        )
        .secret_reference_output("aws.network.QA", "token", json!("canary-canned-2"))
        .run()
        .unwrap();
    assert_eq!(g.outputs["vpc"], json!("vpc-canned"));
    assert_eq!(g.outputs["subnet_count"], json!(3));
    assert_eq!(g.outputs["token_len"], json!("[secret]"));
    let e = preview(consumer).stack("aws.app.QA").run().unwrap_err();
    assert!(e.to_string().contains("no canned outputs"), "{e}");
}

/// Secretness survives `map`, `apply`, `all` and a component boundary.
#[test]
fn secretness_survives_combinators_and_components() {
    fn program(stack: &Stack) -> Result<(), Error> {
        let cfg: AppConfig = stack.config("app")?;
        let pw: Output<String> = cfg.db_password.into();
        let plain = Output::from("user".to_string());
        let combined = Output::all((plain.clone(), pw.clone())).map(|(u, p)| format!("{u}:{p}"));
        let applied = pw.apply(|p| async move { p.len() });
        let comp = stack.component("test:index:Db", "db", ResourceOptions::new())?;
        comp.register_outputs(
            Output::all_vec(vec![combined.clone()]).map(|v| json!({ "dsn": v[0] })),
        );
        let dsn: Output<String> = comp.property("dsn");
        stack.export("combined", combined);
        stack.export("applied", applied);
        stack.export("dsn", dsn);
        stack.export("plain", plain);
        Ok(())
    }
    let canary = "canary-combinators-8d";
    let g = preview(program)
        .config([("app:size", json!(1))])
        .secret_config("app:db_password", json!(canary))
        .up()
        .unwrap();
    for k in ["combined", "applied", "dsn"] {
        assert_eq!(g.outputs[k], json!("[secret]"), "{k}");
    }
    assert_eq!(g.outputs["plain"], json!("user"));
    assert!(!serde_json::to_string(&g).unwrap().contains(canary));
}

/// A type with a property that is always secret (declared on its field).
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, mkso::Resource)]
#[mkso(type = "test:index:Server", resource = Server, outputs = ServerOutputs)]
pub struct ServerInputs {
    /// The image.
    pub image: String,
    /// A boot script, secret whatever the program passes.
    #[mkso(secret)]
    pub script: Option<String>,
}

/// What a server reports.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize, mkso::ResourceOutputs)]
#[mkso(resource = Server)]
pub struct ServerOutputs {
    /// The image (echoed).
    pub image: String,
    /// The script (echoed: secret, as the input of that name).
    pub script: Option<String>,
}

#[tokio::test]
async fn secrets_are_per_property() {
    let canary = "canary-prop-9e2b";
    let program = move |stack: &Stack| -> Result<(), Error> {
        let server = Server::new(
            stack,
            "server",
            ServerArgs::builder()
                .image("ami-123")
                .script(format!("echo {canary}")),
            ResourceOptions::new(),
        )?;
        // Reads of the clear properties and the id stay in clear; the
        // secret property stays secret downstream.
        let copy = Thing::new(
            stack,
            "copy",
            ThingArgs::default().value(server.image().map(|i| json!(i))),
            ResourceOptions::new(),
        )?;
        let script = Thing::new(
            stack,
            "script",
            ThingArgs::default().value(server.script().map(|s| json!(s))),
            ResourceOptions::new(),
        )?;
        let _ = (copy, script);
        stack.export("server_id", server.id());
        stack.export("image", server.image());
        stack.export("script", server.script());
        Ok(())
    };
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
    let h = StackHarness::new("props.QA")
        .unwrap()
        .backend(backend.clone())
        .provider(None, Arc::new(TestProvider::new()))
        .passphrase("the passphrase");
    let (plan, out) = h.up(&program, &EngineOptions::default()).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    // The plan shows the image, masks the script.
    let rendered = mkso::engine::render_plan(
        &plan,
        mkso::engine::RenderOptions {
            diff: true,
            show_same: true,
        },
    );
    assert!(!rendered.contains(canary), "{rendered}");
    assert!(rendered.contains("+ image: \"ami-123\""), "{rendered}");
    assert!(rendered.contains("+ script: [secret]"), "{rendered}");
    // State: only the script is sealed.
    let kept = stored_text(backend.as_ref(), h.stack()).await.unwrap();
    assert!(!kept.contains(canary), "{kept}");
    assert!(kept.contains("ami-123"), "{kept}");
    let state = h.state().await.unwrap();
    let by = |n: &str| state.live.values().find(|r| r.urn.name() == n).unwrap();
    let server = by("server");
    assert!(!server.secret);
    assert_eq!(server.secret_inputs, ["script"]);
    assert_eq!(server.secret_outputs, ["script"]);
    assert!(
        !by("copy").has_secrets(),
        "a clear property read downstream"
    );
    assert_eq!(by("script").secret_inputs, ["value"]);
    // Stack outputs: the id and the image in clear, the script secret.
    assert_eq!(state.secret_outputs, ["script"]);
    assert_eq!(state.outputs["script"], json!(format!("echo {canary}")));
    // Nothing changes the second time (the sealed values open back).
    assert!(
        !h.preview(&program, &EngineOptions::default())
            .await
            .unwrap()
            .has_changes()
    );
}

#[tokio::test]
async fn a_secret_property_unset_when_recorded_stays_secret_when_filled_later() {
    // The script is unset when the server is created; a refresh then reads
    // one from the cloud (set by hand, say). It is a secret property: it is
    // sealed in state, never stored in clear.
    let canary = "canary-late-51c";
    let program = |stack: &Stack| -> Result<(), Error> {
        Server::new(
            stack,
            "server",
            ServerArgs::builder().image("ami-123"),
            ResourceOptions::new(),
        )?;
        Ok(())
    };
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
    let provider = TestProvider::new().on_read(Server::TYPE, move |req| {
        let values = json!({"image": "ami-123", "script": format!("echo {canary}")});
        Ok(mkso::provider::ReadResponse {
            id: req.id.clone(),
            inputs: Some(values.clone()),
            outputs: values,
        })
    });
    let h = StackHarness::new("props.QA")
        .unwrap()
        .backend(backend.clone())
        .provider(None, Arc::new(provider))
        .passphrase("the passphrase");
    let (_, out) = h.up(&program, &EngineOptions::default()).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    let out = h
        .refresh(&program, &EngineOptions::default())
        .await
        .unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    let kept = stored_text(backend.as_ref(), h.stack()).await.unwrap();
    assert!(!kept.contains(canary), "{kept}");
    assert!(kept.contains("ami-123"), "{kept}");
    let state = h.state().await.unwrap();
    let server = state.live.values().next().unwrap();
    assert_eq!(server.inputs["script"], json!(format!("echo {canary}")));
    assert_eq!(server.secret_inputs, ["script"]);
    assert_eq!(server.secret_outputs, ["script"]);
}
