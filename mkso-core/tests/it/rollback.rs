//! Rollback: a failed update undoes itself (`EngineOptions::rollback`,
//! `up --rollback-on-failure`).

use mkso::ProviderError;
use mkso::engine::{EngineEvent, EngineOptions, OperationResult, RevertAction};
use mkso::prelude::*;
use mkso::provider::CreateResponse;
use serde_json::{Value, json};

use crate::plan_follow::{Rule, RuleArgs};
use crate::{Harness, Thing, ThingArgs};

mkso::resource! {
    /// A resource whose create always fails (an input the cloud refuses).
    pub struct Bomb("test:net:Bomb") {
        args BombArgs => BombInputs {
            after: Vec<String>,
        }
        outputs BombOutputs {
            id: String,
        }
    }
}

fn harness() -> Harness {
    let h = Harness::new();
    Harness {
        provider: h
            .provider
            .clone()
            .replace_on(Rule::TYPE, &["cidr"])
            .delete_before_replace(Rule::TYPE)
            .on_create(Bomb::TYPE, |_| -> Result<CreateResponse, ProviderError> {
                Err(ProviderError::permanent(
                    "InvalidParameterValue: the cloud refuses this input",
                ))
            }),
        ..h
    }
}

/// 20 unchanged things, 5 updated, a subnet (replaced create-first when its
/// zone changes) read by a server (updated then), a rule (replaced
/// delete-first), 3 new things; `v2` adds the bomb, which reads all of them
/// and so runs last.
fn program(v2: bool) -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    move |stack: &Stack| {
        let mut ids = Vec::new();
        for i in 0..20 {
            Thing::new(
                stack,
                &format!("same-{i}"),
                ThingArgs::default().value(json!(i)),
                ResourceOptions::new(),
            )?;
        }
        for i in 0..5 {
            let t = Thing::new(
                stack,
                &format!("upd-{i}"),
                ThingArgs::default().value(json!(if v2 { i + 100 } else { i })),
                ResourceOptions::new(),
            )?;
            ids.push(t.id());
        }
        let subnet = Thing::new(
            stack,
            "subnet",
            ThingArgs::default()
                .value(json!("10.0.1.0/24"))
                .zone(Some(if v2 { "z2" } else { "z1" }.to_string())),
            ResourceOptions::new(),
        )?;
        let server = Thing::new(
            stack,
            "server",
            ThingArgs::default().value(subnet.id().map(|s| json!({ "subnet": s }))),
            ResourceOptions::new(),
        )?;
        ids.push(server.id());
        let rule = Rule::new(
            stack,
            "rule",
            RuleArgs::default().cidr(if v2 { "10.1.0.0/16" } else { "10.0.0.0/16" }.to_string()),
            ResourceOptions::new(),
        )?;
        ids.push(rule.id());
        if v2 {
            for i in 0..3 {
                let t = Thing::new(
                    stack,
                    &format!("new-{i}"),
                    ThingArgs::default().value(json!(i)),
                    ResourceOptions::new(),
                )?;
                ids.push(t.id());
            }
            Bomb::new(
                stack,
                "bomb",
                BombArgs::default().after(Output::all_vec(ids)),
                ResourceOptions::new(),
            )?;
        }
        Ok(())
    }
}

/// What the state records: name → (id, inputs, outputs), live and old copies.
fn recorded(v: &mkso::state::StateView) -> Vec<(String, String, Value, Value, bool)> {
    let mut out: Vec<_> = v
        .live
        .values()
        .chain(v.pending_deletes.values())
        .map(|r| {
            (
                r.urn.name().to_string(),
                r.id.clone(),
                Value::clone(&r.inputs),
                Value::clone(&r.outputs),
                r.pending_delete,
            )
        })
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    out
}

/// The cloud: name → inputs (ids aside: a recreated rule has a new one).
fn cloud(h: &Harness) -> Vec<(String, Value)> {
    let mut v: Vec<(String, Value)> = h
        .provider
        .cloud()
        .values()
        .map(|(u, i, _)| (u.name().to_string(), i.clone()))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[tokio::test]
async fn a_failed_update_is_reverted_to_what_it_was() {
    let h = harness();
    let (_, out) = h.up(&program(false)).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let state_before = recorded(&h.state().await);
    let cloud_before = cloud(&h);
    let rule_id = h
        .state()
        .await
        .live
        .values()
        .find(|r| r.urn.name() == "rule")
        .unwrap()
        .id
        .clone();
    assert_eq!(state_before.len(), 28);

    let e = h.events.events().len();
    let opts = EngineOptions {
        rollback: true,
        ..h.options()
    };
    let (plan, out) = h.up_with(&program(true), opts).await.unwrap();
    let changes = plan.changes();
    assert_eq!(
        (
            changes.get("create"),
            changes.get("update"),
            changes.get("replace")
        ),
        (Some(&4), Some(&6), Some(&2)),
        "{changes:?}"
    );
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    assert_eq!(out.failures[0].urn.name(), "bomb");
    assert_eq!(out.result(), OperationResult::RolledBack);
    assert_eq!(
        mkso::cli::outcome_exit_code(&out),
        mkso::cli::EXIT_ROLLED_BACK
    );
    let rb = out.rollback.as_ref().unwrap();
    assert!(rb.complete(), "{rb:?}");

    // Every change was reverted: the state and the cloud are as before
    // (the rule, recreated, has a new id).
    let mut state_after = recorded(&h.state().await);
    for r in &mut state_after {
        if r.0 == "rule" {
            assert_ne!(r.1, rule_id, "recreated");
            r.1.clone_from(&rule_id);
            r.3["id"] = json!(rule_id);
        }
    }
    assert_eq!(state_after, state_before);
    assert_eq!(cloud(&h), cloud_before);
    assert!(h.state().await.pending.is_empty());

    // Each revert is in the events, in order: restores, then deletes.
    let mut reverts: Vec<(String, RevertAction)> = h.events.events()[e..]
        .iter()
        .filter_map(|ev| match ev {
            EngineEvent::RevertFinished { urn, action, .. } => {
                Some((urn.name().to_string(), *action))
            }
            _ => None,
        })
        .collect();
    let deletes_at = reverts
        .iter()
        .position(|(_, a)| *a == RevertAction::Delete)
        .unwrap();
    assert!(
        reverts[..deletes_at]
            .iter()
            .all(|(_, a)| *a != RevertAction::Delete)
            && reverts[deletes_at..]
                .iter()
                .all(|(_, a)| *a == RevertAction::Delete),
        "{reverts:?}"
    );
    reverts.sort();
    let expected: Vec<(String, RevertAction)> = [
        ("new-0", RevertAction::Delete),
        ("new-1", RevertAction::Delete),
        ("new-2", RevertAction::Delete),
        ("rule", RevertAction::Recreate),
        ("server", RevertAction::UpdateBack),
        ("subnet", RevertAction::Delete),
        ("subnet", RevertAction::SwapBack),
        ("upd-0", RevertAction::UpdateBack),
        ("upd-1", RevertAction::UpdateBack),
        ("upd-2", RevertAction::UpdateBack),
        ("upd-3", RevertAction::UpdateBack),
        ("upd-4", RevertAction::UpdateBack),
    ]
    .into_iter()
    .map(|(n, a)| (n.to_string(), a))
    .collect();
    assert_eq!(reverts, expected);
    assert_eq!(rb.reverted.len(), 12);
    assert!(
        h.events.events()[e..]
            .iter()
            .any(|ev| matches!(ev, EngineEvent::RollbackStarted { reverts: 12 }))
    );

    // The history entry's timeline has the forward steps and the reverts.
    let history = h.store().history().await.unwrap();
    let last = history.last().unwrap();
    assert_eq!(last.result, mkso::state::UpdateResult::RolledBack);
    let reverts_timed = last.steps.iter().filter(|s| s.revert.is_some()).count();
    assert_eq!(reverts_timed, 12, "{:?}", last.steps);
    assert!(
        last.steps
            .iter()
            .any(|s| s.urn.name() == "bomb" && s.result == mkso::engine::StepResult::Failed)
    );
    // The critical path runs through the failure into the rollback.
    let path: Vec<(&str, bool)> = mkso::engine::critical_path(&last.steps)
        .into_iter()
        .map(|i| (last.steps[i].urn.name(), last.steps[i].revert.is_some()))
        .collect();
    assert!(
        path.contains(&("bomb", false)) && path.last().is_some_and(|(_, r)| *r),
        "{path:?}"
    );

    // Nothing lost: the next `up` of the first program changes nothing but
    // the rule's recorded id is what the cloud has; v1 converges.
    let plan = h.preview(&program(false)).await;
    assert!(!plan.has_changes(), "{:?}", crate::ops(&plan));
}

/// A rule replaced delete-first is read by a thing, which the update moved
/// to the new rule. The rollback recreates the rule (a third id) and updates
/// the thing back to that, not to the first rule, which no longer exists.
#[tokio::test]
async fn a_dependent_of_a_recreated_resource_is_updated_back_to_the_new_copy() {
    let h = harness();
    let program = |v2: bool| {
        move |stack: &Stack| {
            let cidr = if v2 { "10.1.0.0/16" } else { "10.0.0.0/16" };
            let rule = Rule::new(
                stack,
                "rule",
                RuleArgs::default().cidr(cidr.to_string()),
                ResourceOptions::new(),
            )?;
            let user = Thing::new(
                stack,
                "user",
                ThingArgs::default().value(rule.id().map(|id| json!({ "rule": id }))),
                ResourceOptions::new(),
            )?;
            if v2 {
                Bomb::new(
                    stack,
                    "bomb",
                    BombArgs::default().after(Output::all_vec(vec![user.id()])),
                    ResourceOptions::new(),
                )?;
            }
            Ok(())
        }
    };
    let (_, out) = h.up(&program(false)).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let ids_of = |name: &str| -> Vec<String> {
        h.provider
            .cloud()
            .into_iter()
            .filter(|(_, (u, _, _))| u.name() == name)
            .map(|(id, _)| id)
            .collect()
    };
    let first_rule = ids_of("rule");
    assert_eq!(first_rule.len(), 1);
    let opts = EngineOptions {
        rollback: true,
        ..h.options()
    };
    let (_, out) = h.up_with(&program(true), opts).await.unwrap();
    assert_eq!(
        out.result(),
        OperationResult::RolledBack,
        "{:?}",
        out.rollback
    );

    let state = h.state().await;
    let find = |name: &str| state.live.values().find(|r| r.urn.name() == name).unwrap();
    let (rule, user) = (find("rule"), find("user"));
    assert_eq!(rule.inputs["cidr"], "10.0.0.0/16");
    assert!(!first_rule.contains(&rule.id), "recreated: a new id");
    assert_eq!(user.inputs["value"], json!({ "rule": rule.id }));
    // The cloud agrees: the thing points at the live rule.
    let cloud_user = h
        .provider
        .cloud()
        .into_values()
        .find(|(u, _, _)| u.name() == "user")
        .unwrap();
    assert_eq!(cloud_user.1["value"], json!({ "rule": rule.id }));
    let plan = h.preview(&program(false)).await;
    assert!(!plan.has_changes(), "{:?}", crate::ops(&plan));
}

#[tokio::test]
async fn a_revert_that_fails_is_named_and_the_state_stays_accurate() {
    // The updated resources cannot be updated back (the cloud refuses the
    // old value now): those reverts fail, the rest are done, and the state
    // records each resource as it is in the cloud.
    let h = harness();
    h.up(&program(false)).await;
    let h = Harness {
        provider: h
            .provider
            .clone()
            .refuse_updates("test:index:Thing", |req| {
                (req.new_inputs["value"].as_i64().is_some_and(|v| v < 100)
                    && req.old_inputs["value"].as_i64().is_some_and(|v| v >= 100))
                .then(|| ProviderError::permanent("the value can only grow"))
            }),
        ..h
    };
    let opts = EngineOptions {
        rollback: true,
        ..h.options()
    };
    let (_, out) = h.up_with(&program(true), opts).await.unwrap();
    let rb = out.rollback.as_ref().unwrap();
    assert!(!rb.complete());
    assert_eq!(out.result(), OperationResult::Failed);
    assert_eq!(mkso::cli::outcome_exit_code(&out), mkso::cli::EXIT_FAILED);
    let mut failed: Vec<&str> = rb.failures.iter().map(|f| f.urn.name()).collect();
    failed.sort();
    assert_eq!(failed, ["upd-0", "upd-1", "upd-2", "upd-3", "upd-4"]);
    assert!(
        rb.failures[0].error.contains("the value can only grow"),
        "{}",
        rb.failures[0].error
    );
    // The deletes waited: the new things are still recorded and in the cloud.
    assert!(!rb.not_run.is_empty());
    let state = h.state().await;
    for (id, (urn, inputs, _)) in h.provider.cloud() {
        let rec = state
            .live
            .get(&urn)
            .filter(|r| r.id == id)
            .or_else(|| state.pending_deletes.get(&(urn.clone(), id.clone())))
            .unwrap_or_else(|| panic!("{id} ({urn}) is in the cloud but not recorded"));
        assert_eq!(*rec.inputs, inputs, "{urn}");
    }
}

/// The command line: `up --rollback-on-failure`, and `rollback: on_failure`
/// in `Mkso.yaml`, exit 6 once everything is reverted; without either, a
/// failed `up` keeps what it did (exit 1).
#[test]
fn up_rolls_back_with_the_flag_or_the_project_setting() {
    use mkso::Runner;
    use std::sync::Arc;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct App {
        size: u32,
    }
    fn app(stack: &Stack) -> Result<(), mkso::Error> {
        let cfg: App = stack.config("app")?;
        let mut ids = Vec::new();
        for i in 0..cfg.size {
            let t = Thing::new(
                stack,
                &format!("t{i}"),
                ThingArgs::default().value(json!(i)),
                ResourceOptions::new(),
            )?;
            ids.push(t.id());
        }
        if cfg.size > 3 {
            Bomb::new(
                stack,
                "bomb",
                BombArgs::default().after(Output::all_vec(ids)),
                ResourceOptions::new(),
            )?;
        }
        Ok(())
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().to_path_buf();
    let h = harness();
    let provider = h.provider.clone();
    let project = |rollback: &str, size: u32| {
        std::fs::write(
            dir.join("Mkso.yaml"),
            format!("name: cli-rollback\n{rollback}"),
        )
        .unwrap();
        std::fs::write(
            dir.join("Mkso.cli.rollback.Dev.yaml"),
            format!("config:\n  app:size: {size}\n"),
        )
        .unwrap();
    };
    let run = |args: &[&str]| {
        let mut v: Vec<String> = [
            "app",
            "--project-dir",
            dir.to_str().unwrap(),
            "--stack",
            "cli.rollback.Dev",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        v.extend(args.iter().map(|s| s.to_string()));
        let p = provider.clone();
        let runner = Runner::new(app).provider(None, move |_| Ok(Arc::new(p.clone())));
        std::thread::spawn(move || runner.run(v)).join().unwrap()
    };
    let names = || h.cloud_names();

    project("", 2);
    assert_eq!(run(&["up", "--yes"]), mkso::cli::EXIT_OK);
    project("", 5);
    assert_eq!(
        run(&["up", "--yes", "--rollback-on-failure"]),
        mkso::cli::EXIT_ROLLED_BACK
    );
    assert_eq!(names(), ["t0", "t1"], "the three new things were deleted");
    project("rollback: on_failure\n", 6);
    assert_eq!(run(&["up", "--yes"]), mkso::cli::EXIT_ROLLED_BACK);
    assert_eq!(names(), ["t0", "t1"]);
    // The history records it.
    assert_eq!(run(&["history"]), mkso::cli::EXIT_OK);
    project("", 5);
    assert_eq!(run(&["up", "--yes"]), mkso::cli::EXIT_FAILED);
    assert_eq!(names(), ["t0", "t1", "t2", "t3", "t4"], "kept what it did");
}

#[tokio::test]
async fn a_delete_first_replacement_whose_create_failed_is_not_called_reverted() {
    // The old rule is deleted, the new one refused: the rollback cannot
    // bring the old one back by undoing succeeded steps, so it does not
    // claim to have reverted everything.
    let h = Harness::new();
    let h = Harness {
        provider: h
            .provider
            .clone()
            .replace_on(Rule::TYPE, &["cidr"])
            .delete_before_replace(Rule::TYPE)
            .on_create(Rule::TYPE, |req| {
                if req.inputs["cidr"] == "10.9.0.0/16" {
                    return Err(ProviderError::permanent("InvalidParameterValue: bad range"));
                }
                let id = format!("{}-id", req.identity.name());
                Ok(CreateResponse {
                    outputs: json!({"id": id, "cidr": req.inputs["cidr"]}),
                    id,
                })
            }),
        ..h
    };
    let prog = |cidr: &'static str| {
        move |stack: &Stack| -> Result<(), mkso::Error> {
            Thing::new(
                stack,
                "other",
                ThingArgs::default().value(json!(cidr)),
                ResourceOptions::new(),
            )?;
            Rule::new(
                stack,
                "rule",
                RuleArgs::default().cidr(cidr.to_string()),
                ResourceOptions::new(),
            )?;
            Ok(())
        }
    };
    let (_, out) = h.up(&prog("10.0.0.0/16")).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let opts = EngineOptions {
        rollback: true,
        ..h.options()
    };
    let (_, out) = h.up_with(&prog("10.9.0.0/16"), opts).await.unwrap();
    let rb = out.rollback.as_ref().unwrap();
    let unresolved: Vec<&str> = rb.unresolved.iter().map(|u| u.name()).collect();
    assert_eq!(unresolved, ["rule"], "{rb:?}");
    assert!(!rb.complete());
    assert_eq!(out.result(), OperationResult::Failed);
    assert_eq!(mkso::cli::outcome_exit_code(&out), mkso::cli::EXIT_FAILED);
    // What could be reverted was: `other` is back to its old value.
    let state = h.state().await;
    let other = state
        .live
        .values()
        .find(|r| r.urn.name() == "other")
        .unwrap();
    assert_eq!(other.inputs["value"], json!("10.0.0.0/16"));
}
