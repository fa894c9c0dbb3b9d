//! What a new user asked of outputs: one element of a list output that
//! depends on that element only, optional inputs that take a plain value or
//! an output without `.map(Some)`, and a component's outputs registered from
//! a typed struct.

use std::sync::Arc;

use mkso::engine::EngineOptions;
use mkso::prelude::*;
use mkso::testing::{StackHarness, TestProvider};
use serde_json::json;

use crate::{Thing, ThingArgs};

#[derive(Debug, Clone, mkso::ComponentOutputs)]
struct Pair {
    component: ComponentResource,
    first: Output<String>,
    ids: Output<Vec<String>>,
    secret_note: Output<String>,
}

fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let things: Vec<Thing> = (0..3)
        .map(|i| {
            Thing::new(
                stack,
                &format!("t{i}"),
                ThingArgs::default().value(json!(i)),
                ResourceOptions::new(),
            )
        })
        .collect::<Result<_, _>>()?;
    let ids = Output::all_vec(things.iter().map(|t| t.id()));
    let second = ids.index(1);
    // Depends on `t1` alone, not on the whole list.
    assert_eq!(second.dependencies(), things[1].id().dependencies());
    // An Option input takes an Output<String> as it is.
    Thing::new(
        stack,
        "user",
        ThingArgs::default()
            .value(second.map(|id| json!(id)))
            .zone(things[2].id()),
        ResourceOptions::new(),
    )?;
    let c = stack.component("test:index:Pair", "pair", ResourceOptions::new())?;
    let pair = Pair {
        component: c,
        first: ids.index(0),
        ids,
        secret_note: Output::secret("kept quiet".to_string()),
    };
    pair.component.register_outputs(&pair);
    stack.export("second", second);
    Ok(())
}

#[tokio::test]
async fn list_elements_optional_inputs_and_typed_component_outputs() {
    let h = StackHarness::new("ergonomics.QA")
        .unwrap()
        .provider(None, Arc::new(TestProvider::new()))
        .passphrase("the passphrase");
    let (plan, out) = h.up(&program, &EngineOptions::default()).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    let user = plan.steps.iter().find(|s| s.name == "user").unwrap();
    let mut deps: Vec<&str> = user.dependencies.iter().map(|u| u.name()).collect();
    deps.sort();
    assert_eq!(deps, ["t1", "t2"], "user depends on the elements it reads");
    let state = h.state().await.unwrap();
    let by = |n: &str| state.live.values().find(|r| r.urn.name() == n).unwrap();
    assert_eq!(by("user").inputs["zone"], json!(by("t2").id));
    assert_eq!(by("user").inputs["value"], json!(by("t1").id));
    assert_eq!(state.outputs["second"], json!(by("t1").id));
    // The component's outputs: one property per output field, secrecy per field.
    let pair = by("pair");
    assert_eq!(pair.outputs["first"], json!(by("t0").id));
    assert_eq!(pair.outputs["ids"].as_array().unwrap().len(), 3);
    assert_eq!(pair.secret_outputs, ["secret_note"]);
    assert!(!pair.secret);
}

#[test]
fn an_index_past_the_end_names_it() {
    let list: Output<Vec<String>> = Output::new(vec!["a".to_string()]);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let e = runtime
        .block_on(list.index(3).resolve(Arc::new(NoResources)))
        .unwrap_err()
        .to_string();
    assert!(e.contains("index 3 is past the end of a list of 1"), "{e}");
}

struct NoResources;
impl mkso::output::Resolver for NoResources {
    fn resource(&self, _: &mkso::Urn) -> Option<mkso::output::ResolvedResource> {
        None
    }
}

/// A derived type with a replace-forcing property.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, mkso::Resource)]
#[mkso(type = "test:index:Bucket", resource = Bucket, outputs = BucketOutputs)]
pub struct BucketInputs {
    /// A new region is a new bucket.
    #[mkso(replace)]
    pub region: String,
    /// Changes in place.
    pub versioning: Option<bool>,
}

/// What a bucket reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Bucket)]
pub struct BucketOutputs {
    /// Its region.
    pub region: String,
}

#[tokio::test]
async fn the_test_provider_plans_a_derived_type_as_declared() {
    let region = std::sync::Mutex::new("eu-west-1");
    let program = |stack: &Stack| -> Result<(), mkso::Error> {
        let r = *region.lock().unwrap();
        Bucket::new(
            stack,
            "b",
            BucketArgs::builder().region(r).versioning(true),
            ResourceOptions::new(),
        )?;
        Ok(())
    };
    let h = StackHarness::new("typedkit.QA")
        .unwrap()
        .provider(None, Arc::new(TestProvider::new().typed::<Bucket>()));
    let (_, out) = h.up(&program, &EngineOptions::default()).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    *region.lock().unwrap() = "us-east-1";
    let plan = h
        .preview(&program, &EngineOptions::default())
        .await
        .unwrap();
    let step = plan.steps.iter().find(|s| s.name == "b").unwrap();
    assert_eq!(step.op(), mkso::Op::Replace);
    assert_eq!(step.replace_keys(), ["region"]);
}
