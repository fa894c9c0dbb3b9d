//! Rolling groups: members replaced in batches, each batch ready before the
//! next, a batch that does not get ready stops the rollout (test provider
//! with latency, in virtual time).

use std::collections::BTreeMap;
use std::time::Duration;

use mkso::engine::{
    EngineEvent, FailureKind, OperationResult, RenderOptions, RevertAction, render_plan,
};
use mkso::prelude::*;
use mkso::rolling::{ReadinessCheck, RollingPolicy};
use serde_json::json;

use mkso::testing::ProgramRef;

use crate::{Harness, Thing, ThingArgs};

const MEMBERS: usize = 6;

/// Six `web-N` members of rolling group `web`, in `zone` (a change of zone
/// replaces them), plus (with `lb`) `lb`, outside the group, reading their ids.
fn web(
    zone: &'static str,
    policy: RollingPolicy,
    lb: bool,
) -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    move |stack: &Stack| {
        let group = stack.rolling_group("web", policy.clone())?;
        let mut ids = Vec::new();
        for i in 0..MEMBERS {
            let t = Thing::new(
                stack,
                &format!("web-{i}"),
                ThingArgs::default()
                    .value(json!(i))
                    .zone(Some(zone.to_string())),
                ResourceOptions::new().rolling_group(&group),
            )?;
            ids.push(t.id());
        }
        if !lb {
            return Ok(());
        }
        Thing::new(
            stack,
            "lb",
            ThingArgs::default().value(Output::all_vec(ids).map(|v| json!(v))),
            ResourceOptions::new(),
        )?;
        Ok(())
    }
}

fn harness() -> Harness {
    let h = Harness::new();
    Harness {
        provider: h.provider.clone().latency(Duration::from_secs(1)),
        ..h
    }
}

/// From the provider's call log: per moment, how many copies each member
/// has (creates add one, deletes take one), starting from one each.
fn copies_over_time(h: &Harness, from_call: usize) -> Vec<BTreeMap<String, i32>> {
    let mut copies: BTreeMap<String, i32> = (0..MEMBERS).map(|i| (format!("web-{i}"), 1)).collect();
    let mut out = Vec::new();
    for c in h.provider.calls().into_iter().skip(from_call) {
        let Some(n) = copies.get_mut(&c.name) else {
            continue;
        };
        match c.verb {
            "create" => *n += 1,
            "delete" => *n -= 1,
            _ => continue,
        }
        out.push(copies.clone());
    }
    out
}

/// The provider calls after the first `n`: (name, verb).
fn calls_since(h: &Harness, n: usize) -> Vec<(String, &'static str)> {
    h.provider
        .calls()
        .into_iter()
        .skip(n)
        .map(|c| (c.name, c.verb))
        .collect()
}

/// The batch events, and the index of each event.
fn batch_events(h: &Harness) -> Vec<(usize, EngineEvent)> {
    h.events
        .events()
        .into_iter()
        .enumerate()
        .filter(|(_, e)| {
            matches!(
                e,
                EngineEvent::RolloutBatchStarted { .. } | EngineEvent::RolloutBatchFinished { .. }
            )
        })
        .collect()
}

/// Previews `p` (its rollout described as `rollout`), then `up`s it: it succeeds.
async fn roll(h: &Harness, p: ProgramRef<'_>, rollout: &str) {
    let plan = h.preview(p).await;
    assert_eq!(plan.rollouts[0].describe(), rollout);
    let (_, out) = h.up(p).await;
    assert!(out.succeeded(), "{:?}", out.failures);
}

fn live_id(v: &mkso::state::StateView, name: &str) -> String {
    v.live
        .values()
        .find(|r| r.urn.name() == name)
        .map(|r| r.id.clone())
        .unwrap_or_default()
}

#[tokio::test(start_paused = true)]
async fn delete_first_replacements_go_two_at_a_time_and_never_more_than_two_are_missing() {
    let h = harness();
    let policy = RollingPolicy::new().max_unavailable(2).max_surge(0);
    let (_, out) = h.up(&web("z1", policy.clone(), true)).await;
    assert!(out.succeeded());
    let calls_before = h.provider.calls().len();

    let v2 = web("z2", policy, true);
    let plan = h.preview(&v2).await;
    let shown = render_plan(&plan, RenderOptions::default());
    assert!(
        shown.contains(
            "Rolling groups:\n  web: replace 6 in 3 batches of 2 (max unavailable 2, max surge 0)"
        ),
        "{shown}"
    );
    // No surge: each member's replacement deletes first.
    assert!(
        plan.steps
            .iter()
            .filter(|s| s.name.starts_with("web-"))
            .all(|s| s.delete_before_replace())
    );

    let (_, out) = h.up(&v2).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(out.changes.get(&mkso::Op::Replace), Some(&6));

    // At no moment more than 2 members without a copy; and 2 at some moment
    // (the batches do run two at a time).
    let timeline = copies_over_time(&h, calls_before);
    let missing = |m: &BTreeMap<String, i32>| m.values().filter(|&&n| n == 0).count();
    let worst = timeline.iter().map(missing).max().unwrap();
    assert_eq!(worst, 2, "{timeline:?}");
    assert!(timeline.iter().all(|m| m.values().all(|&n| n <= 1)));
    assert!(timeline.last().unwrap().values().all(|&n| n == 1));

    // Three batches of two, each started after the one before finished.
    let batches = batch_events(&h);
    let started: Vec<(usize, Vec<String>)> = batches
        .iter()
        .filter_map(|(_, e)| match e {
            EngineEvent::RolloutBatchStarted {
                batch,
                batches,
                members,
                group,
            } => {
                assert_eq!((group.as_str(), *batches), ("web", 3));
                Some((
                    *batch,
                    members.iter().map(|u| u.name().to_string()).collect(),
                ))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        started,
        vec![
            (1, vec!["web-0".to_string(), "web-1".to_string()]),
            (2, vec!["web-2".to_string(), "web-3".to_string()]),
            (3, vec!["web-4".to_string(), "web-5".to_string()]),
        ]
    );
    let kinds: Vec<String> = batches
        .iter()
        .map(|(_, e)| match e {
            EngineEvent::RolloutBatchStarted { batch, .. } => format!("start {batch}"),
            EngineEvent::RolloutBatchFinished {
                batch,
                ready,
                failed,
                ..
            } => format!("end {batch}: {ready} ready, {failed} failed"),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "start 1",
            "end 1: 2 ready, 0 failed",
            "start 2",
            "end 2: 2 ready, 0 failed",
            "start 3",
            "end 3: 2 ready, 0 failed"
        ]
    );
    // The members' steps start inside their batch: web-2's after batch 1 ended.
    let events = h.events.events();
    let pos = |f: &dyn Fn(&EngineEvent) -> bool| events.iter().position(f).unwrap();
    let end_1 = pos(&|e| matches!(e, EngineEvent::RolloutBatchFinished { batch: 1, .. }));
    let web_2 = pos(
        &|e| matches!(e, EngineEvent::StepStarted { urn, op: mkso::Op::Replace } if urn.name() == "web-2"),
    );
    assert!(end_1 < web_2);

    // `lb`, outside the group, follows the new ids; nothing left over.
    let v = h.state().await;
    assert!(v.pending_deletes.is_empty());
    assert_eq!(h.provider.cloud().len(), MEMBERS + 1);
    assert!(!h.preview(&v2).await.has_changes());
    assert_eq!(live_id(&v, "web-0"), "web-0-id-2");
}

#[tokio::test(start_paused = true)]
async fn create_first_replacements_surge_by_two_and_delete_each_old_copy_once_ready() {
    let h = harness();
    // The provider says "starting" to the first three readiness questions.
    let _ = h.provider.clone().not_ready("test:index:Thing", Some(3));
    let policy = RollingPolicy::new().max_unavailable(1).max_surge(2);
    h.up(&web("z1", policy.clone(), false)).await;
    let calls_before = h.provider.calls().len();
    let v2 = web("z2", policy, false);
    roll(
        &h,
        &v2,
        "replace 6 in 3 batches of 2 (max unavailable 1, max surge 2)",
    )
    .await;

    let timeline = copies_over_time(&h, calls_before);
    // Never a member without a copy; never more than 2 extra copies.
    assert!(timeline.iter().all(|m| m.values().all(|&n| n >= 1)));
    let surge = |m: &BTreeMap<String, i32>| m.values().map(|&n| n - 1).sum::<i32>();
    assert_eq!(timeline.iter().map(surge).max(), Some(2), "{timeline:?}");
    assert!(timeline.last().unwrap().values().all(|&n| n == 1));
    // Old copies were deleted by their batch, not in the clean-up at the end:
    // web-0's old copy goes before web-2's new copy is created.
    let calls = calls_since(&h, calls_before);
    let at = |name: &str, verb: &str| calls.iter().position(|(n, v)| n == name && *v == verb);
    assert!(at("web-0", "delete") < at("web-2", "create"));
    // Readiness was asked again while the provider said "starting".
    let asked = calls.iter().filter(|(_, v)| *v == "ready").count();
    assert_eq!(asked, MEMBERS + 3);
    let v = h.state().await;
    assert!(v.pending_deletes.is_empty());
    assert_eq!(h.provider.cloud().len(), MEMBERS);
}

#[tokio::test(start_paused = true)]
async fn a_member_that_others_read_keeps_its_old_copy_until_they_moved() {
    let h = harness();
    let policy = RollingPolicy::new().max_unavailable(1).max_surge(2);
    h.up(&web("z1", policy.clone(), true)).await;
    let calls_before = h.provider.calls().len();
    let v2 = web("z2", policy, true);
    roll(
        &h,
        &v2,
        "replace 6 in 3 batches of 2 (max unavailable 1, max surge 2)",
    )
    .await;
    let calls = calls_since(&h, calls_before);
    let at = |name: &str, verb: &str| calls.iter().position(|(n, v)| n == name && *v == verb);
    // Batches still wait for each other (web-2 after web-0 is ready)...
    assert!(at("web-0", "ready") < at("web-2", "create"));
    // ...but `lb` reads every member: no old copy goes before it moved.
    let lb = at("lb", "update").expect("lb follows the new ids");
    for i in 0..MEMBERS {
        assert!(at(&format!("web-{i}"), "delete") > Some(lb), "{calls:?}");
    }
    let v = h.state().await;
    assert!(v.pending_deletes.is_empty());
    assert_eq!(h.provider.cloud().len(), MEMBERS + 1);
}

/// The group's check fails for `web-1` until `healthy` is set.
fn failing_check(healthy: std::sync::Arc<std::sync::atomic::AtomicBool>) -> RollingPolicy {
    RollingPolicy::new()
        .max_unavailable(2)
        .max_surge(2)
        .ready_timeout(Duration::from_secs(30))
        .readiness(ReadinessCheck::custom(move |m| {
            let healthy = healthy.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                if m.name == "web-1" && !healthy {
                    Err(format!("GET http://{}/healthz: connection refused", m.id))
                } else {
                    Ok(())
                }
            }
        }))
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_does_not_get_ready_stops_the_rollout_and_four_members_keep_their_copies() {
    let h = harness();
    let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let policy = failing_check(healthy.clone());
    h.up(&web("z1", policy.clone(), true)).await;
    let before = h.state().await;
    let calls_before = h.provider.calls().len();

    let v2 = web("z2", policy, true);
    let (_, out) = h.up(&v2).await;
    assert!(!out.succeeded());
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!((f.urn.name(), f.kind), ("web-1", FailureKind::NotReady));
    assert!(
        f.error
            .contains("the new copy is not ready after 30s (the group's ready_timeout is 30s)")
            && f.error.contains("connection refused")
            && f.error.contains(
                "the old copy web-1-id serves on and its new copy web-1-id-2 was deleted"
            ),
        "{}",
        f.error
    );
    // web-2..5 never touched; `lb` did not run either.
    let calls = calls_since(&h, calls_before);
    for i in 2..MEMBERS {
        let name = format!("web-{i}");
        assert!(
            !calls.iter().any(|(n, _)| *n == name),
            "{name} was touched: {calls:?}"
        );
    }
    assert_eq!(out.skipped, 5);
    let skipped: Vec<String> = h
        .events
        .events()
        .into_iter()
        .filter_map(|e| match e {
            EngineEvent::StepSkipped { urn, reason, .. } if urn.name().starts_with("web-") => {
                Some(reason)
            }
            _ => None,
        })
        .collect();
    assert_eq!(skipped.len(), 4);
    assert!(skipped.iter().all(|r| r
        == "the rollout of rolling group `web` stopped at batch 1 of 3: this member keeps its old copy"));
    assert!(batch_events(&h).iter().any(|(_, e)| matches!(
        e,
        EngineEvent::RolloutBatchFinished {
            batch: 1,
            ready: 1,
            failed: 1,
            ..
        }
    )));

    // State and cloud: web-0 new (its old copy, which `lb` still reads,
    // kept for the clean-up the failed update did not reach), web-1..5 the
    // old copies, nothing else.
    let v = h.state().await;
    assert_eq!(live_id(&v, "web-0"), "web-0-id-2");
    for i in 1..MEMBERS {
        let name = format!("web-{i}");
        assert_eq!(live_id(&v, &name), live_id(&before, &name));
    }
    let kept: Vec<&String> = v.pending_deletes.keys().map(|(_, id)| id).collect();
    assert_eq!(kept, ["web-0-id"]);
    assert!(v.pending.is_empty());
    assert_eq!(h.provider.cloud().len(), MEMBERS + 2);
    assert!(h.provider.cloud().contains_key("web-1-id"));

    // Fixed: the next `up` rolls the rest.
    healthy.store(true, std::sync::atomic::Ordering::SeqCst);
    roll(
        &h,
        &v2,
        "replace 5 in 3 batches of 2 (max unavailable 2, max surge 2)",
    )
    .await;
    assert!(!h.preview(&v2).await.has_changes());
    assert!(h.state().await.pending_deletes.is_empty());
    assert_eq!(h.provider.cloud().len(), MEMBERS + 1);
}

#[tokio::test(start_paused = true)]
async fn with_rollback_the_finished_batches_are_reverted_too() {
    // With `lb` reading the members, web-0's old copy is still there: the
    // rollback swaps it back. Without, its old copy went with its batch: the
    // rollback creates it again first, then deletes the new copy (the member
    // never goes without a copy).
    for (lb, action) in [
        (true, RevertAction::SwapBack),
        (false, RevertAction::Recreate),
    ] {
        let h = harness();
        let healthy = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        // web-1 is in the second batch: batch 1 (web-0 alone) finishes first.
        let policy = failing_check(healthy).max_surge(1).max_unavailable(1);
        h.up(&web("z1", policy.clone(), lb)).await;
        let calls_before = h.provider.calls().len();
        let mut opts = h.options();
        opts.rollback = true;
        let (_, out) = h
            .up_with(&web("z2", policy.clone(), lb), opts)
            .await
            .unwrap();
        assert_eq!(out.result(), OperationResult::RolledBack, "{out:?}");
        let rb = out.rollback.clone().unwrap();
        // (A swap back is followed by the delete of the new copy.)
        assert_eq!(rb.reverted.len(), if lb { 2 } else { 1 }, "{rb:?}");
        assert!(
            rb.reverted.iter().all(|r| r.urn.name() == "web-0"),
            "{rb:?}"
        );
        assert_eq!(rb.reverted[0].action, action);
        if !lb {
            let calls = calls_since(&h, calls_before);
            let web_0: Vec<&str> = calls
                .iter()
                .filter(|(n, v)| n == "web-0" && *v != "ready")
                .map(|(_, v)| *v)
                .collect();
            // Forward: create the new copy, delete the old; back: create
            // again, then delete the new copy.
            assert_eq!(web_0, ["create", "delete", "create", "delete"]);
        }
        // Everything is in z1 again; web-1 kept its old copy throughout.
        let v = h.state().await;
        for r in v.live.values().filter(|r| r.urn.name().starts_with("web-")) {
            assert_eq!(r.inputs["zone"], "z1", "{}", r.urn.name());
        }
        assert_eq!(live_id(&v, "web-1"), "web-1-id");
        assert!(v.pending_deletes.is_empty());
        assert_eq!(h.provider.cloud().len(), MEMBERS + usize::from(lb));
        assert!(
            !h.preview(&web("z1", policy, lb)).await.has_changes(),
            "lb: {lb}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_crash_while_a_new_copy_was_not_ready_yet_keeps_the_old_copy_until_it_is() {
    // The check panics for web-0's new copy: the step dies where a kill -9
    // would leave it (the new copy recorded, the old one still to delete).
    let h = harness();
    let state = std::sync::Arc::new(std::sync::atomic::AtomicU8::new(0));
    let s2 = state.clone();
    let policy = RollingPolicy::new()
        .ready_timeout(Duration::from_secs(10))
        .readiness(ReadinessCheck::custom(move |m| {
            let mode = s2.load(std::sync::atomic::Ordering::SeqCst);
            async move {
                match mode {
                    0 => Ok(()),
                    1 if m.name == "web-0" => panic!("killed while web-0 was starting"),
                    2 if m.name == "web-0" => Err("connection refused".to_string()),
                    _ => Ok(()),
                }
            }
        }));
    h.up(&web("z1", policy.clone(), false)).await;
    state.store(1, std::sync::atomic::Ordering::SeqCst);
    let v2 = web("z2", policy, false);
    let (_, out) = h.up(&v2).await;
    assert_eq!(out.panics, 1);
    let v = h.state().await;
    assert_eq!(live_id(&v, "web-0"), "web-0-id-2");
    assert!(
        v.pending_deletes.contains_key(&(
            v.live
                .values()
                .find(|r| r.urn.name() == "web-0")
                .unwrap()
                .urn
                .clone(),
            "web-0-id".to_string()
        ))
    );

    // Next `up`: web-0 is planned as it is, but its old copy goes only once
    // its new copy is ready; still not ready: kept, the update fails.
    state.store(2, std::sync::atomic::Ordering::SeqCst);
    let (_, out) = h.up(&v2).await;
    let f = out
        .failures
        .iter()
        .find(|f| f.urn.name() == "web-0")
        .unwrap();
    assert_eq!((f.op, f.kind), (mkso::Op::Delete, FailureKind::NotReady));
    assert!(
        f.error.contains("the old copy web-0-id of this rolling group member is kept: its live copy web-0-id-2 is not ready after 10s"),
        "{}",
        f.error
    );
    assert!(h.provider.cloud().contains_key("web-0-id"));

    // Ready: the old copy goes, the rest rolls.
    state.store(3, std::sync::atomic::Ordering::SeqCst);
    let (_, out) = h.up(&v2).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    assert!(!h.provider.cloud().contains_key("web-0-id"));
    assert!(h.state().await.pending_deletes.is_empty());
    assert!(!h.preview(&v2).await.has_changes());
    assert_eq!(h.provider.cloud().len(), MEMBERS);
}

#[test]
fn a_group_declared_twice_is_refused_by_name() {
    let h = Harness::new();
    let other = mkso::testing::preview(|stack: &Stack| {
        let g = stack.rolling_group("web", RollingPolicy::new())?;
        stack.rolling_group("web", RollingPolicy::new())?;
        Thing::new(
            stack,
            "a",
            ThingArgs::default().value(json!(1)),
            ResourceOptions::new().rolling_group(&g),
        )?;
        Ok(())
    })
    .stack(h.stack.as_str())
    .run()
    .unwrap_err();
    assert_eq!(
        other.to_string(),
        "rolling group `web`: declared twice; give each group its own name"
    );
}
