//! Apply follows the plan the user saw: a step that would do more than its
//! planned action fails without touching the resource; a provider's
//! delete-before-replace declaration; previews that say why a resource is
//! replaced.

use mkso::engine::{
    EngineEvent, FailureKind, InconsistentPlan, Op, OperationResult, RenderOptions, render_plan,
};
use mkso::prelude::*;
use mkso::provider::diff_inputs;
use mkso::testing::TestProvider;
use serde_json::json;

use crate::Harness;

mkso::resource! {
    /// A disk snapshot. Its provider cannot tell what an update will make of
    /// its outputs: they are known after apply.
    pub struct Snapshot("test:disk:Snapshot") {
        args SnapshotArgs => SnapshotInputs {
            size_gb: i64,
            label: String,
        }
        outputs SnapshotOutputs {
            id: String,
            size_gb: i64,
        }
    }
}

mkso::resource! {
    /// A disk: it grows in place, but a smaller size needs a new disk.
    pub struct Disk("test:disk:Disk") {
        args DiskArgs => DiskInputs {
            size_gb: i64,
        }
        outputs DiskOutputs {
            id: String,
            size_gb: i64,
        }
    }
}

mkso::resource! {
    /// A disk attached to a machine.
    pub struct Attachment("test:disk:Attachment") {
        args AttachmentArgs => AttachmentInputs {
            disk_id: String,
            size_gb: i64,
        }
        outputs AttachmentOutputs {
            id: String,
        }
    }
}

mkso::resource! {
    /// A firewall rule, identified by its content (as an EC2 security-group
    /// rule): a second copy of it cannot exist, so a replacement deletes the
    /// old one first.
    pub struct Rule("test:net:Rule") {
        args RuleArgs => RuleInputs {
            cidr: String,
        }
        outputs RuleOutputs {
            id: String,
        }
    }
}

mkso::resource! {
    /// A machine in a subnet.
    pub struct Instance("test:net:Instance") {
        args InstanceArgs => InstanceInputs {
            subnet_id: String,
            ami: String,
        }
        outputs InstanceOutputs {
            id: String,
        }
    }
}

/// The shape of the real-world case: a disk restored from a snapshot takes
/// the snapshot's size; a disk grows in place but cannot shrink (a smaller
/// size forces a new disk, as on GCP). When the snapshot is updated, its new
/// size is known only after apply, so the plan cannot tell whether the disk
/// grows or shrinks: the provider plans an in-place update (a replace key
/// whose replace-ness does not depend on the value, as `diff_inputs`'s
/// static keys, would already be planned as a replacement when unknown).
fn disk_provider() -> TestProvider {
    TestProvider::new()
        .on_diff(Snapshot::TYPE, |req| {
            // planned_outputs: None — known after apply.
            Ok(diff_inputs(&req.old_inputs, &req.new_inputs, &[]))
        })
        .replace_when(Disk::TYPE, "size_gb", |old, new| {
            new.as_i64() < old.as_i64()
        })
}

/// `snapshot` → `data` (a disk of the snapshot's size) → `attach`; and
/// `scratch`, a disk of its own.
fn disks(
    snapshot_gb: i64,
    label: &'static str,
    scratch_gb: i64,
) -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    move |stack: &Stack| {
        let snap = Snapshot::new(
            stack,
            "snapshot",
            SnapshotArgs::default()
                .size_gb(snapshot_gb)
                .label(label.to_string()),
            ResourceOptions::new(),
        )?;
        let data = Disk::new(
            stack,
            "data",
            DiskArgs::default().size_gb(snap.size_gb()),
            ResourceOptions::new(),
        )?;
        Attachment::new(
            stack,
            "attach",
            AttachmentArgs::default()
                .disk_id(data.id())
                .size_gb(data.size_gb()),
            ResourceOptions::new(),
        )?;
        Disk::new(
            stack,
            "scratch",
            DiskArgs::default().size_gb(scratch_gb),
            ResourceOptions::new(),
        )?;
        Ok(())
    }
}

fn mutations_of(h: &Harness, from: usize, name: &str) -> Vec<String> {
    h.provider.calls()[from..]
        .iter()
        .filter(|c| c.name == name && matches!(c.verb, "create" | "update" | "delete"))
        .map(|c| format!("{} {}", c.verb, c.name))
        .collect()
}

#[tokio::test]
async fn a_step_planned_as_update_that_now_needs_replace_fails_and_changes_nothing() {
    let h = Harness {
        provider: disk_provider(),
        ..Harness::new()
    };
    let (_, out) = h.up(&disks(100, "v1", 10)).await;
    assert!(out.succeeded(), "{:?}", out.failures);

    // The snapshot shrinks: at plan time the disk's new size is unknown, so
    // its step is an update.
    let next = disks(50, "v1", 20);
    let plan = h.preview(&next).await;
    let data = plan.steps.iter().find(|s| s.name == "data").unwrap();
    assert_eq!(data.op(), Op::Update);
    assert_eq!(
        data.action.new_inputs().unwrap()["size_gb"],
        json!(mkso::output::UNKNOWN)
    );

    let n = h.provider.calls().len();
    let e = h.events.events().len();
    let (plan, out) = h.up(&next).await;
    let events = h.events.events()[e..].to_vec();
    assert_eq!(
        plan.steps.iter().find(|s| s.name == "data").unwrap().op(),
        Op::Update,
        "the plan the run follows"
    );

    // At apply time the size is 50 < 100: a replacement nobody approved.
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!(f.urn.name(), "data");
    assert_eq!(f.op, Op::Update);
    assert_eq!(
        f.error,
        "`data` was planned as update but now needs replace: `size_gb` changed to a value \
         that forces replacement (the plan was made when it was unknown); nothing was changed \
         for it — run `preview` again and `up`"
    );
    assert_eq!(
        f.inconsistent_plan,
        Some(InconsistentPlan {
            name: "data".into(),
            planned: Op::Update,
            actual: Op::Replace,
            properties: vec!["size_gb".into()],
            unknown_at_plan: true,
            deletes_first: false,
        })
    );
    assert_eq!(f.kind, FailureKind::InconsistentPlan);
    assert_eq!(f.source, None);
    assert!(!out.succeeded());
    assert_eq!(out.result(), "failed");
    assert_eq!(out.result(), OperationResult::Failed);
    assert_eq!(
        mkso::cli::failure_hint(mkso::engine::OperationKind::Up, f).unwrap(),
        "a value known only at apply time changed what the step needs: run `preview` again to \
         see the real action, then `up`"
    );

    // Nothing was done to the disk: no create, no delete; the old one is in
    // the cloud and in the state, with nothing pending.
    assert_eq!(mutations_of(&h, n, "data"), Vec::<String>::new());
    let cloud = h.provider.cloud();
    assert_eq!(cloud["data-id"].1["size_gb"], json!(100));
    let state = h.state().await;
    let rec = state
        .live
        .values()
        .find(|r| r.urn.name() == "data")
        .unwrap();
    assert_eq!(rec.id, "data-id");
    assert_eq!(rec.inputs["size_gb"], json!(100));
    assert!(state.pending_deletes.is_empty());
    assert!(state.pending.is_empty());
    assert!(!events.iter().any(|e| matches!(
        e,
        EngineEvent::StepStarted { urn, .. } if urn.name() == "data"
    )));

    // Its dependent did not run; the independent steps did.
    assert_eq!(out.skipped, 1);
    assert!(events.iter().any(|e| matches!(
        e,
        EngineEvent::StepSkipped { urn, .. } if urn.name() == "attach"
    )));
    assert_eq!(mutations_of(&h, n, "attach"), Vec::<String>::new());
    assert_eq!(mutations_of(&h, n, "snapshot"), vec!["update snapshot"]);
    assert_eq!(mutations_of(&h, n, "scratch"), vec!["update scratch"]);
    assert_eq!(out.changes.get("update"), Some(&2));
    assert_eq!(cloud["scratch-id"].1["size_gb"], json!(20));

    // As the message says: a new preview shows the replacement, and `up` makes it.
    let plan = h.preview(&next).await;
    let data = plan.steps.iter().find(|s| s.name == "data").unwrap();
    assert_eq!(data.op(), Op::Replace);
    assert_eq!(data.replace_keys(), vec!["size_gb".to_string()]);
    let (_, out) = h.up(&next).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let cloud = h.provider.cloud();
    assert!(!cloud.contains_key("data-id"));
    assert_eq!(cloud["data-id-2"].1["size_gb"], json!(50));
}

#[tokio::test]
async fn a_step_may_do_less_than_planned() {
    let h = Harness {
        provider: disk_provider(),
        ..Harness::new()
    };
    h.up(&disks(100, "v1", 10)).await;
    // A new label: the snapshot is updated, its size unknown until then, so
    // the disk is planned as an update; it resolves to the recorded size.
    let n = h.provider.calls().len();
    let (plan, out) = h.up(&disks(100, "v2", 10)).await;
    let op = |name: &str| plan.steps.iter().find(|s| s.name == name).unwrap().op();
    assert_eq!(op("data"), Op::Update);
    assert_eq!(op("attach"), Op::Update);
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(mutations_of(&h, n, "data"), Vec::<String>::new());
    assert_eq!(mutations_of(&h, n, "attach"), Vec::<String>::new());
    assert_eq!(out.changes.get("update"), Some(&1), "{:?}", out.changes);
    assert_eq!(out.changes.get("same"), Some(&3), "{:?}", out.changes);
}

fn rule(cidr: &'static str) -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    move |stack: &Stack| {
        Rule::new(
            stack,
            "ssh",
            RuleArgs::default().cidr(cidr.to_string()),
            ResourceOptions::new(),
        )?;
        Ok(())
    }
}

#[tokio::test]
async fn a_type_the_provider_declares_delete_before_replace_is_deleted_first() {
    let h = Harness {
        provider: TestProvider::new()
            .replace_on(Rule::TYPE, &["cidr"])
            .delete_before_replace(Rule::TYPE),
        ..Harness::new()
    };
    let (_, out) = h.up(&rule("10.0.0.0/16")).await;
    assert!(out.succeeded(), "{:?}", out.failures);

    let plan = h.preview(&rule("10.1.0.0/16")).await;
    assert_eq!(plan.steps[0].op(), Op::Replace);
    assert!(plan.steps[0].delete_before_replace());
    let text = render_plan(&plan, RenderOptions::default());
    assert!(
        text.contains("ssh  replace [cidr] (delete before replace)"),
        "{text}"
    );
    let summary = serde_json::to_value(plan.summaries()).unwrap();
    assert_eq!(summary[0]["delete_before_replace"], json!(true));

    let n = h.provider.calls().len();
    let (_, out) = h.up(&rule("10.1.0.0/16")).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let calls: Vec<String> = h.provider.calls()[n..]
        .iter()
        .map(|c| format!("{} {}", c.verb, c.name))
        .collect();
    assert_eq!(calls, vec!["delete ssh", "create ssh"]);
    let cloud = h.provider.cloud();
    assert_eq!(cloud.len(), 1);
    assert_eq!(cloud["ssh-id-2"].1["cidr"], json!("10.1.0.0/16"));
    assert!(h.state().await.pending_deletes.is_empty());
}

#[tokio::test]
async fn the_declaration_holds_for_a_type_with_its_own_diff() {
    let h = Harness {
        provider: TestProvider::new()
            .delete_before_replace(Rule::TYPE)
            .on_diff(Rule::TYPE, |req| {
                Ok(diff_inputs(&req.old_inputs, &req.new_inputs, &["cidr"]))
            }),
        ..Harness::new()
    };
    h.up(&rule("10.0.0.0/16")).await;
    let plan = h.preview(&rule("10.1.0.0/16")).await;
    assert_eq!(plan.steps[0].op(), Op::Replace);
    assert!(plan.steps[0].delete_before_replace());
}

/// `subnet` (replaced) → `web`, `db` (replaced: their `subnet_id` is unknown
/// until the subnet is replaced; `web`'s `ami` changes too); `ssh` replaced,
/// deleting first.
fn network(
    zone: &'static str,
    ami: &'static str,
    cidr: &'static str,
) -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    move |stack: &Stack| {
        let subnet = crate::Thing::new(
            stack,
            "subnet",
            crate::ThingArgs::default()
                .value(json!("10.0.1.0/24"))
                .zone(Some(zone.to_string())),
            ResourceOptions::new(),
        )?;
        Instance::new(
            stack,
            "web",
            InstanceArgs::default()
                .subnet_id(subnet.id())
                .ami(ami.to_string()),
            ResourceOptions::new(),
        )?;
        Instance::new(
            stack,
            "db",
            InstanceArgs::default()
                .subnet_id(subnet.id())
                .ami("ami-1".to_string()),
            ResourceOptions::new(),
        )?;
        Rule::new(
            stack,
            "ssh",
            RuleArgs::default().cidr(cidr.to_string()),
            ResourceOptions::new(),
        )?;
        Ok(())
    }
}

#[tokio::test]
async fn preview_names_what_forces_each_replacement() {
    let h = Harness::new();
    let h = Harness {
        provider: h
            .provider
            .clone()
            .replace_on(Instance::TYPE, &["ami", "subnet_id"])
            .replace_on(Rule::TYPE, &["cidr"])
            .delete_before_replace(Rule::TYPE),
        ..h
    };
    let (_, out) = h.up(&network("z1", "ami-1", "10.0.0.0/16")).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let plan = h.preview(&network("z2", "ami-2", "10.1.0.0/16")).await;
    let web = plan.steps.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(web.op(), Op::Replace);
    let subnet = plan.steps.iter().find(|s| s.name == "subnet").unwrap();
    assert_eq!(
        web.action.unknown_until().unwrap().get("subnet_id"),
        Some(&vec![subnet.urn.clone()])
    );
    assert!(
        !web.action.unknown_until().unwrap().contains_key("ami"),
        "ami is known"
    );
    insta::assert_snapshot!(
        "preview_replace_reasons",
        render_plan(&plan, RenderOptions::default())
    );
    insta::assert_yaml_snapshot!("plan_summaries_replace_reasons", plan.summaries());
}

#[tokio::test]
async fn a_replacement_waiting_on_a_new_resource_names_it() {
    let h = Harness::new();
    let h = Harness {
        provider: h
            .provider
            .clone()
            .replace_on(Instance::TYPE, &["ami", "subnet_id"]),
        ..h
    };
    let prog = |second: bool| {
        move |stack: &Stack| {
            let mut subnet = crate::Thing::new(
                stack,
                "subnet",
                crate::ThingArgs::default().value(json!(1)),
                ResourceOptions::new(),
            )?;
            if second {
                subnet = crate::Thing::new(
                    stack,
                    "subnet2",
                    crate::ThingArgs::default().value(json!(2)),
                    ResourceOptions::new(),
                )?;
            }
            Instance::new(
                stack,
                "web",
                InstanceArgs::default()
                    .subnet_id(subnet.id())
                    .ami("ami-1".to_string()),
                ResourceOptions::new(),
            )?;
            Ok(())
        }
    };
    h.up(&prog(false)).await;
    let plan = h.preview(&prog(true)).await;
    let text = render_plan(&plan, RenderOptions::default());
    assert!(
        text.contains("web  replace [subnet_id (unknown until `subnet2` is created)]"),
        "{text}"
    );
}

#[tokio::test]
async fn a_step_planned_as_unchanged_that_now_changes_fails() {
    // A provider that promises an update keeps the outputs, and breaks the
    // promise: the dependent was planned on the promised value.
    let h = Harness {
        provider: TestProvider::new().on_diff(Snapshot::TYPE, |req| {
            let mut d = diff_inputs(&req.old_inputs, &req.new_inputs, &[]);
            d.planned_outputs = Some(req.old_outputs.clone());
            Ok(d)
        }),
        ..Harness::new()
    };
    h.up(&disks(100, "v1", 10)).await;
    let n = h.provider.calls().len();
    let (plan, out) = h.up(&disks(150, "v1", 10)).await;
    assert_eq!(
        plan.steps.iter().find(|s| s.name == "data").unwrap().op(),
        Op::Same
    );
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!(f.urn.name(), "data");
    assert_eq!(f.op, Op::Same);
    assert_eq!(f.kind, FailureKind::InconsistentPlan);
    assert_eq!(
        f.error,
        "`data` was planned as unchanged but now needs update: `size_gb` changed (the plan \
         was made with another value); nothing was changed for it — run `preview` again and \
         `up`"
    );
    assert_eq!(mutations_of(&h, n, "data"), Vec::<String>::new());
    assert_eq!(mutations_of(&h, n, "snapshot"), vec!["update snapshot"]);
    assert_eq!(out.skipped, 1, "attach");
}

#[tokio::test]
async fn a_protected_resource_that_needs_replacing_at_apply_time_fails_as_protected() {
    // As above, but `data` is protected: the replacement found at apply time
    // is refused as such, before anything is changed.
    let h = Harness {
        provider: disk_provider(),
        ..Harness::new()
    };
    let protected = |snapshot_gb: i64| {
        move |stack: &Stack| -> Result<(), mkso::Error> {
            let snap = Snapshot::new(
                stack,
                "snapshot",
                SnapshotArgs::default()
                    .size_gb(snapshot_gb)
                    .label("v1".to_string()),
                ResourceOptions::new(),
            )?;
            Disk::new(
                stack,
                "data",
                DiskArgs::default().size_gb(snap.size_gb()),
                ResourceOptions::new().protect(true),
            )?;
            Ok(())
        }
    };
    let (_, out) = h.up(&protected(100)).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let n = h.provider.calls().len();
    let (plan, out) = h.up(&protected(50)).await;
    assert_eq!(
        plan.steps.iter().find(|s| s.name == "data").unwrap().op(),
        Op::Update
    );
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!(
        (f.urn.name(), f.op, f.kind),
        ("data", Op::Update, FailureKind::Protected)
    );
    assert!(
        f.error
            .contains("`data` is protected and would be replaced"),
        "{}",
        f.error
    );
    assert_eq!(mutations_of(&h, n, "data"), Vec::<String>::new());
}

#[tokio::test]
async fn a_replacement_planned_to_create_first_that_must_delete_first_fails() {
    // A name-keeping type (as GCP's): two copies with one name cannot exist,
    // so a replacement that keeps the name deletes the old copy first. The
    // name comes from a replaced upstream, unknown when the plan is made, so
    // the plan creates the new copy first; at apply time the name is the
    // same: deleting first is an outage the plan did not show.
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().on_diff(Instance::TYPE, |req| {
            let mut d = diff_inputs(&req.old_inputs, &req.new_inputs, &["subnet_id", "ami"]);
            d.delete_before_replace = req.old_inputs["ami"] == req.new_inputs["ami"];
            Ok(d)
        }),
        ..h
    };
    let named = |zone: &'static str| {
        move |stack: &Stack| -> Result<(), mkso::Error> {
            let subnet = crate::Thing::new(
                stack,
                "subnet",
                crate::ThingArgs::default()
                    .value(json!("web-1"))
                    .zone(Some(zone.to_string())),
                ResourceOptions::new(),
            )?;
            Instance::new(
                stack,
                "web",
                InstanceArgs::default()
                    .subnet_id(subnet.id())
                    .ami(subnet.value().map(|v| v.as_str().unwrap_or("").to_string())),
                ResourceOptions::new(),
            )?;
            Ok(())
        }
    };
    let (_, out) = h.up(&named("z1")).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let n = h.provider.calls().len();
    let (plan, out) = h.up(&named("z2")).await;
    let web = plan.steps.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(web.op(), Op::Replace);
    assert!(!web.delete_before_replace(), "planned: new copy first");

    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!(
        (f.urn.name(), f.op, f.kind),
        ("web", Op::Replace, FailureKind::InconsistentPlan)
    );
    assert_eq!(
        f.error,
        "`web` was planned as replace (new copy created first) but now needs its old copy \
         deleted first: its provider decided so once `ami`, `subnet_id` became known (the plan \
         was made when they were unknown); nothing was changed for it — run `preview` again \
         and `up`"
    );
    assert!(f.inconsistent_plan.as_ref().unwrap().deletes_first);
    assert_eq!(mutations_of(&h, n, "web"), Vec::<String>::new());
    assert!(
        h.provider.cloud().contains_key("web-id"),
        "the old copy is kept"
    );

    // A new preview shows the delete-first replacement, and `up` makes it.
    let plan = h.preview(&named("z2")).await;
    let web = plan.steps.iter().find(|s| s.name == "web").unwrap();
    assert_eq!(web.op(), Op::Replace);
    assert!(web.delete_before_replace());
    let (_, out) = h.up(&named("z2")).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(mutations_of(&h, n, "web"), vec!["delete web", "create web"]);
}

#[tokio::test]
async fn an_update_that_now_changes_more_properties_than_planned_fails() {
    // The snapshot's provider promises that an update keeps its outputs, and
    // breaks the promise: `attach` was planned to change only its disk id,
    // with the promised size.
    let h = Harness {
        provider: TestProvider::new().on_diff(Snapshot::TYPE, |req| {
            let mut d = diff_inputs(&req.old_inputs, &req.new_inputs, &[]);
            d.planned_outputs = Some(req.old_outputs.clone());
            Ok(d)
        }),
        ..Harness::new()
    };
    let prog = |size: i64, disk: &'static str| {
        move |stack: &Stack| -> Result<(), mkso::Error> {
            let snap = Snapshot::new(
                stack,
                "snapshot",
                SnapshotArgs::default()
                    .size_gb(size)
                    .label("v1".to_string()),
                ResourceOptions::new(),
            )?;
            Attachment::new(
                stack,
                "attach",
                AttachmentArgs::default()
                    .disk_id(disk.to_string())
                    .size_gb(snap.size_gb()),
                ResourceOptions::new(),
            )?;
            Ok(())
        }
    };
    h.up(&prog(100, "d1")).await;
    let n = h.provider.calls().len();
    let (plan, out) = h.up(&prog(150, "d2")).await;
    let attach = plan.steps.iter().find(|s| s.name == "attach").unwrap();
    assert_eq!(
        (attach.op(), attach.changed()),
        (Op::Update, &["disk_id".to_string()][..])
    );
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!(
        (f.urn.name(), f.op, f.kind),
        ("attach", Op::Update, FailureKind::InconsistentPlan)
    );
    assert_eq!(
        f.error,
        "`attach` was planned as update but now also changes `size_gb` (the plan was made with \
         another value); nothing was changed for it — run `preview` again and `up`"
    );
    assert_eq!(mutations_of(&h, n, "attach"), Vec::<String>::new());
    assert_eq!(mutations_of(&h, n, "snapshot"), vec!["update snapshot"]);
}
