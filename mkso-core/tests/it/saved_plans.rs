//! Saved plans: what was reviewed is what runs, or nothing runs; secrets
//! stay sealed in the plan file.

use std::sync::Arc;

use mkso::engine::{EngineOptions, PlanMoved, PropsSealer, SavedPlan};
use mkso::prelude::*;
use mkso::state::{Backend, LocalBackend, StateStore};
use mkso::testing::{StackHarness, TestProvider};
use serde_json::json;

use crate::{Thing, ThingArgs};

const CANARY: &str = "canary-plan-4f1d";

/// `a` (a secret value), `b` reading `a`'s id, `c` with `n` as its value.
fn program(secret: &'static str, n: i64) -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    move |stack: &Stack| {
        let a = Thing::new(
            stack,
            "a",
            ThingArgs::default().value(Output::secret(json!(format!("{CANARY}-{secret}")))),
            ResourceOptions::new(),
        )?;
        Thing::new(
            stack,
            "b",
            ThingArgs::default().value(a.id().map(|i| json!(i))),
            ResourceOptions::new(),
        )?;
        Thing::new(
            stack,
            "c",
            ThingArgs::default().value(json!(n)),
            ResourceOptions::new(),
        )?;
        stack.export("n", Output::new(n));
        Ok(())
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    h: StackHarness,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let backend: Arc<dyn Backend> = Arc::new(LocalBackend::new(dir.path()));
    let h = StackHarness::new("plans.things.QA")
        .unwrap()
        .backend(backend)
        .provider(None, Arc::new(TestProvider::new()))
        .passphrase("the passphrase");
    Fixture { _dir: dir, h }
}

async fn save(h: &StackHarness, p: &dyn Fn(&Stack) -> Result<(), mkso::Error>) -> String {
    let graph = h.graph(p).unwrap();
    let view = h.state().await.unwrap();
    let plan = h.preview(p, &EngineOptions::default()).await.unwrap();
    let store = h.store();
    let seal: PropsSealer<'_> = &|v, all, keys| store.seal_props(v, all, keys);
    let saved = SavedPlan::new(&plan, &graph, &view, "test", "cfg".into(), &[], seal).unwrap();
    serde_json::to_string_pretty(&saved).unwrap()
}

async fn check(
    h: &StackHarness,
    file: &str,
    p: &dyn Fn(&Stack) -> Result<(), mkso::Error>,
    config: &str,
) -> Result<(), PlanMoved> {
    let saved = SavedPlan::parse(file.as_bytes(), "plan.json")?;
    let graph = h.graph(p).unwrap();
    let view = h.state().await.unwrap();
    saved.check_inputs(h.stack(), &view, &graph, config)?;
    let plan = h.preview(p, &EngineOptions::default()).await.unwrap();
    let store: StateStore = h.store();
    saved.check_plan(&plan, &|v, all, keys| {
        store.open_props(v, all, keys, "the saved plan")
    })
}

#[tokio::test]
async fn a_saved_plan_is_sealed_and_bound_to_state_program_config_and_steps() {
    let Fixture { h, _dir } = fixture();
    let (_, out) = h
        .up(&program("one", 1), &EngineOptions::default())
        .await
        .unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);

    let next = program("two", 2);
    let file = save(&h, &next).await;
    // Secrets stay sealed; the rest is readable.
    assert!(!file.contains(CANARY), "{file}");
    let v: serde_json::Value = serde_json::from_str(&file).unwrap();
    let ops: Vec<(&str, &str)> = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["urn"].as_str().unwrap().rsplit("::").next().unwrap(),
                s["op"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(ops, [("a", "update"), ("c", "update")]);
    assert_eq!(v["steps"][0]["secret_inputs"], json!(["value"]));
    assert_eq!(v["steps"][1]["inputs"]["value"], json!(2));
    assert_eq!(v["outputs"], json!({"n": 2}));

    // As made: it applies.
    check(&h, &file, &next, "cfg").await.unwrap();

    // Bound to the stack.
    let other = StackHarness::new("plans.things.Prod").unwrap();
    let saved = SavedPlan::parse(file.as_bytes(), "plan.json").unwrap();
    let e = saved
        .check_inputs(
            other.stack(),
            &h.state().await.unwrap(),
            &h.graph(&next).unwrap(),
            "cfg",
        )
        .unwrap_err();
    assert!(matches!(e, PlanMoved::OtherStack { .. }), "{e}");

    // The config moved.
    let e = check(&h, &file, &next, "cfg2").await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "the config of stack plans.things.QA changed since the plan was made; nothing was \
         changed — make a new plan with `preview --out` and review it"
    );

    // The program declares something else (one resource more).
    let more = |stack: &Stack| -> Result<(), mkso::Error> {
        program("two", 2)(stack)?;
        Thing::new(
            stack,
            "d",
            ThingArgs::default().value(json!(0)),
            ResourceOptions::new(),
        )?;
        Ok(())
    };
    assert_eq!(
        check(&h, &file, &more, "cfg").await.unwrap_err(),
        PlanMoved::Program
    );

    // Same declarations, other values: the steps differ (the secret one is
    // compared opened, and named without its value).
    let e = check(&h, &file, &program("three", 3), "cfg")
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains(CANARY), "{msg}");
    assert_eq!(
        msg,
        "the plan would now differ from the saved one: `a` would update [value] with other \
         inputs; `c` would update [value] with other inputs; stack output `n` would be another \
         value; nothing was changed — make a new plan with `preview --out` and review it"
    );

    // Another update ran: the state moved.
    h.up(&next, &EngineOptions::default()).await.unwrap();
    let e = check(&h, &file, &next, "cfg").await.unwrap_err();
    assert!(matches!(e, PlanMoved::State { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("the state of stack plans.things.QA changed since the plan was made"),
        "{e}"
    );
}

#[test]
fn a_file_of_another_format_is_refused() {
    let e = SavedPlan::parse(br#"{"format": 99}"#, "old.json").unwrap_err();
    assert_eq!(
        e.to_string(),
        "old.json is not a saved plan this mkso can read: it has format 99, this mkso reads \
         format 1; make a new one with `preview --out`"
    );
    let e = SavedPlan::parse(b"not json", "x.json").unwrap_err();
    assert!(matches!(e, PlanMoved::Unreadable { .. }), "{e}");
}
