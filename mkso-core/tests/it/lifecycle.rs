//! Create → update in place → replace (both orders) → delete, and the options
//! that shape those steps.

use mkso::engine::{Op, Session};
use mkso::prelude::*;
use serde_json::json;

use crate::{Harness, ops, program, spec};

fn calls(h: &Harness) -> Vec<String> {
    h.provider
        .calls()
        .iter()
        .filter(|c| c.verb != "find")
        .map(|c| format!("{} {}", c.verb, c.name))
        .collect()
}

#[tokio::test]
async fn create_update_replace_delete() {
    let h = Harness::new();
    let v1 = program(vec![spec("a", json!(1)), spec("b", json!(2)).reads(&["a"])]);
    let (plan, out) = h.up(&v1).await;
    assert_eq!(
        ops(&plan),
        vec![("a".into(), "create".into()), ("b".into(), "create".into())]
    );
    assert!(out.succeeded());
    let state = h.state().await;
    let b = state.live.values().find(|r| r.urn.name() == "b").unwrap();
    assert_eq!(b.inputs["value"], json!({"own": 2, "from": [1]}));
    assert_eq!(b.dependencies.len(), 1, "direct dependency on a recorded");
    assert_eq!(state.outputs["names"], json!(["a", "b"]));

    // No change: everything same, nothing called.
    let before = h.provider.calls().len();
    let (plan, _) = h.up(&v1).await;
    assert!(!plan.has_changes());
    assert_eq!(h.provider.calls().len(), before);

    // Update a in place: b reads a, so b is updated too.
    let v2 = program(vec![
        spec("a", json!(10)),
        spec("b", json!(2)).reads(&["a"]),
    ]);
    let (plan, out) = h.up(&v2).await;
    assert_eq!(plan.steps[0].op(), Op::Update);
    assert_eq!(out.changes.get("update"), Some(&2));
    let state = h.state().await;
    let b = state.live.values().find(|r| r.urn.name() == "b").unwrap();
    assert_eq!(b.inputs["value"], json!({"own": 2, "from": [10]}));

    // Replace (create before delete): the new one exists before the old one goes.
    let v3 = program(vec![
        spec("a", json!(10)).zone("z2"),
        spec("b", json!(2)).reads(&["a"]),
    ]);
    let n = h.provider.calls().len();
    let (plan, out) = h.up(&v3).await;
    assert_eq!(plan.steps[0].op(), Op::Replace);
    assert_eq!(plan.steps[0].replace_keys(), vec!["zone".to_string()]);
    assert!(out.succeeded(), "{:?}", out.failures);
    let c = calls(&h)[n..].to_vec();
    let create = c.iter().position(|x| x == "create a").unwrap();
    let delete = c.iter().position(|x| x == "delete a").unwrap();
    assert!(create < delete, "create before delete: {c:?}");
    assert!(h.state().await.pending_deletes.is_empty());
    assert_eq!(h.cloud_names(), vec!["a", "b"]);

    // Replace with delete_before_replace: the old one goes first.
    let v4 = program(vec![
        spec("a", json!(10))
            .zone("z3")
            .opts(ResourceOptions::new().delete_before_replace(true)),
        spec("b", json!(2)).reads(&["a"]),
    ]);
    let n = h.provider.calls().len();
    let (_, out) = h.up(&v4).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let c = calls(&h)[n..].to_vec();
    let create = c.iter().position(|x| x == "create a").unwrap();
    let delete = c.iter().position(|x| x == "delete a").unwrap();
    assert!(delete < create, "delete before create: {c:?}");

    // Delete b: removed from the program, deleted in the clean-up phase.
    let v5 = program(vec![spec("a", json!(10)).zone("z3")]);
    let (plan, out) = h.up(&v5).await;
    assert_eq!(plan.deletes.len(), 1);
    assert_eq!(out.changes.get("delete"), Some(&1));
    assert_eq!(h.cloud_names(), vec!["a"]);
    assert_eq!(h.state().await.live.len(), 1);
}

#[tokio::test]
async fn deletes_run_dependents_first() {
    let h = Harness::new();
    let v1 = program(vec![
        spec("a", json!(1)),
        spec("b", json!(2)).reads(&["a"]),
        spec("c", json!(3)).reads(&["b"]),
    ]);
    h.up(&v1).await;
    let n = h.provider.calls().len();
    h.up(&program(vec![])).await;
    assert_eq!(
        calls(&h)[n..].to_vec(),
        vec!["delete c", "delete b", "delete a"]
    );
}

#[tokio::test]
async fn alias_renames_without_recreate() {
    let h = Harness::new();
    h.up(&program(vec![spec("old", json!(1))])).await;
    let n = h.provider.calls().len();
    let renamed = program(vec![
        spec("new", json!(1)).opts(ResourceOptions::new().alias("old")),
    ]);
    let (plan, out) = h.up(&renamed).await;
    assert_eq!(plan.steps[0].renamed_from.as_ref().unwrap().name(), "old");
    assert!(plan.deletes.is_empty());
    assert!(out.succeeded());
    assert_eq!(h.provider.calls().len(), n, "no provider call for a rename");
    let state = h.state().await;
    assert_eq!(
        state.live.keys().map(|u| u.name()).collect::<Vec<_>>(),
        vec!["new"]
    );
}

#[tokio::test]
async fn protect_refuses_delete_and_retain_keeps_the_cloud_resource() {
    let h = Harness::new();
    h.up(&program(vec![
        spec("kept", json!(1)).opts(ResourceOptions::new().protect(true)),
        spec("retained", json!(2)).opts(ResourceOptions::new().retain_on_delete(true)),
    ]))
    .await;
    let err = h
        .up_with(
            &program(vec![
                spec("retained", json!(2)).opts(ResourceOptions::new().retain_on_delete(true)),
            ]),
            h.options(),
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("`kept` is protected"), "{err}");
    h.up(&program(vec![
        spec("kept", json!(1)).opts(ResourceOptions::new().protect(true)),
    ]))
    .await;
    assert_eq!(
        h.cloud_names(),
        vec!["kept", "retained"],
        "retained stays in the cloud"
    );
    assert_eq!(h.state().await.live.len(), 1);
}

#[tokio::test]
async fn import_adopts_an_existing_resource() {
    let h = Harness::new();
    // Something created outside this stack.
    let other = Harness::new();
    let other = Harness {
        provider: h.provider.clone(),
        ..other
    };
    other.up(&program(vec![spec("outside", json!(5))])).await;
    let n = h
        .provider
        .calls()
        .iter()
        .filter(|c| c.verb == "create")
        .count();
    let p = program(vec![
        spec("adopted", json!(5)).opts(ResourceOptions::new().import("outside-id")),
    ]);
    let (plan, out) = h.up(&p).await;
    assert_eq!(plan.steps[0].op(), Op::Import);
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(
        h.provider
            .calls()
            .iter()
            .filter(|c| c.verb == "create")
            .count(),
        n,
        "no create"
    );
    let state = h.state().await;
    assert_eq!(state.live.values().next().unwrap().id, "outside-id");
    // A missing id is a clear failure.
    let h2 = Harness::new();
    let (_, out) = h2
        .up(&program(vec![
            spec("x", json!(1)).opts(ResourceOptions::new().import("nope")),
        ]))
        .await;
    assert!(
        out.failures[0]
            .error
            .contains("no test:index:Thing with id `nope`"),
        "{:?}",
        out.failures
    );
}

#[tokio::test]
async fn ignore_changes_and_replace_on_changes() {
    let h = Harness::new();
    h.up(&program(vec![spec("a", json!(1))])).await;
    let plan = h
        .preview(&program(vec![
            spec("a", json!(2)).opts(ResourceOptions::new().ignore_changes(["value"])),
        ]))
        .await;
    assert_eq!(plan.steps[0].op(), Op::Same);
    let plan = h
        .preview(&program(vec![
            spec("a", json!(2)).opts(ResourceOptions::new().replace_on_changes(["value"])),
        ]))
        .await;
    assert_eq!(plan.steps[0].op(), Op::Replace);
    assert_eq!(plan.steps[0].replace_keys(), vec!["value".to_string()]);
}

#[tokio::test]
async fn components_nest_names_and_record_outputs() {
    let h = Harness::new();
    let p = |stack: &Stack| -> Result<(), mkso::Error> {
        let c = stack.component("test:index:Group", "grp", ResourceOptions::new())?;
        let x = crate::Thing::new(
            stack,
            "x",
            crate::ThingArgs::default().value(json!(1)),
            c.child_opts(),
        )?;
        c.register_outputs(x.id().map(|id| json!({"x": id})));
        stack.export("group", c.property::<serde_json::Value>("x"));
        Ok(())
    };
    let (_, out) = h.up(&p).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let state = h.state().await;
    let names: Vec<&str> = {
        let mut v: Vec<&str> = state.live.keys().map(|u| u.name()).collect();
        v.sort();
        v
    };
    assert_eq!(names, vec!["grp", "grp/x"]);
    assert_eq!(state.outputs["group"], json!("grp-x-id"));
    // Destroying deletes the child before the component.
    let mut s = Session::open(h.store(), "destroy").await.unwrap();
    let plan = mkso::engine::plan_destroy(s.view(), &h.options()).unwrap();
    assert_eq!(
        plan.deletes
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        vec!["grp/x", "grp"]
    );
    // Targeting one child leaves the component and its siblings alone.
    let targeted = mkso::engine::EngineOptions {
        targets: vec!["grp/x".into()],
        ..h.options()
    };
    let tplan = mkso::engine::plan_destroy(s.view(), &targeted).unwrap();
    assert_eq!(
        tplan
            .deletes
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>(),
        vec!["grp/x"]
    );
    let graph = h.graph(&p).unwrap();
    let out = s.apply(&graph, &plan, &h.options()).await.unwrap();
    assert!(out.succeeded());
    assert!(s.view().live.is_empty());
    assert!(s.view().outputs.is_empty());
}

#[tokio::test]
async fn refresh_reports_drift_and_up_corrects_it() {
    let h = Harness::new();
    let p = program(vec![spec("a", json!(1)), spec("b", json!(2))]);
    h.up(&p).await;
    h.provider.delete_behind_the_back("a-id");
    h.provider
        .change_behind_the_back("b-id", "value", json!(99));
    let mut s = Session::open(h.store(), "refresh").await.unwrap();
    let graph = h.graph(&p).unwrap();
    let r = s.refresh(&graph.providers, &h.options()).await.unwrap();
    s.finish(
        mkso::state::UpdateKind::Refresh,
        mkso::state::UpdateResult::Succeeded,
        Default::default(),
        0,
        10,
    )
    .await
    .unwrap();
    assert_eq!(r.drift.len(), 2);
    assert_eq!(r.drift[0].kind, mkso::engine::DriftKind::Deleted);
    let plan = h.preview(&p).await;
    assert_eq!(
        ops(&plan),
        vec![("a".into(), "create".into()), ("b".into(), "update".into())]
    );
    let (_, out) = h.up(&p).await;
    assert!(out.succeeded());
    assert_eq!(h.cloud_names(), vec!["a", "b"]);
}
