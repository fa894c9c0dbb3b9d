//! Failures, retries, tenacity, cancellation, crashes and locks.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use mkso::engine::{EngineEvent, EngineOptions, FailureKind, Op};
use mkso::names::StackName;
use mkso::prelude::*;
use mkso::state::{Backend, MemoryBackend, StateError};
use mkso::{ErrorClass, ProviderError};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{Harness, program, spec};

#[tokio::test]
async fn a_failure_stops_only_its_dependents() {
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().fail(
            "create",
            "a",
            None,
            ProviderError::permanent("quota exceeded").with_code("LimitExceeded"),
        ),
        ..h
    };
    let p = program(vec![
        spec("a", json!(1)),
        spec("b", json!(2)).reads(&["a"]),
        spec("c", json!(3)),
    ]);
    let (_, out) = h.up(&p).await;
    assert_eq!(out.failures.len(), 1);
    assert_eq!(out.failures[0].urn.name(), "a");
    assert!(
        out.failures[0]
            .error
            .contains("LimitExceeded: quota exceeded"),
        "{}",
        out.failures[0].error
    );
    assert_eq!(out.failures[0].kind, FailureKind::Provider);
    assert_eq!(out.skipped, 1, "b did not run");
    assert_eq!(out.changes.get("create"), Some(&1), "c was created");
    let state = h.state().await;
    let names: Vec<&str> = state.live.keys().map(|u| u.name()).collect();
    assert_eq!(names, vec!["c"]);
    assert!(
        state.pending.is_empty(),
        "the failed create is not left pending"
    );
    let events = h.events.events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, EngineEvent::StepSkipped { urn, .. } if urn.name() == "b"))
    );
}

#[tokio::test(start_paused = true)]
async fn transient_failures_are_retried_with_backoff() {
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().fail(
            "create",
            "a",
            Some(2),
            ProviderError::retryable("throttled"),
        ),
        ..h
    };
    let (_, out) = h.up(&program(vec![spec("a", json!(1))])).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let retries: Vec<u32> = h
        .events
        .events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::RetryScheduled { attempt, .. } => Some(*attempt),
            _ => None,
        })
        .collect();
    assert_eq!(retries, vec![1, 2]);
}

#[tokio::test(start_paused = true)]
async fn tenacity_bounds_the_attempts() {
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().fail(
            "create",
            "a",
            None,
            ProviderError::retryable("503 Service Unavailable"),
        ),
        ..h
    };
    let p = program(vec![
        spec("a", json!(1)).opts(ResourceOptions::new().tenacity(Tenacity::attempts(3))),
    ]);
    let (_, out) = h.up(&p).await;
    assert_eq!(out.failures.len(), 1);
    assert!(
        out.failures[0].error.contains("gave up after 3 attempts"),
        "{}",
        out.failures[0].error
    );
    assert_eq!(out.failures[0].kind, FailureKind::GaveUp);
    let failed_attempt = h.events.events().iter().find_map(|e| match e {
        EngineEvent::StepFailed { attempt, .. } => Some(*attempt),
        _ => None,
    });
    assert_eq!(failed_attempt, Some(3));

    // A deadline bounds retries in (virtual) time.
    let h2 = Harness::new();
    let h2 = Harness {
        provider: h2
            .provider
            .clone()
            .fail("create", "a", None, ProviderError::retryable("busy")),
        ..h2
    };
    let p = program(vec![spec("a", json!(1)).opts(
        ResourceOptions::new().tenacity(Tenacity::deadline(Duration::from_secs(20))),
    )]);
    let (_, out) = h2.up(&p).await;
    assert!(
        out.failures[0].error.contains("deadline"),
        "{}",
        out.failures[0].error
    );
}

#[tokio::test]
async fn an_interrupted_replacement_adopts_the_new_copy_not_the_old_one() {
    let inner = Arc::new(MemoryBackend::new());
    let h = Harness::with_backend(inner.clone());
    h.up(&program(vec![spec("a", json!(1)).zone("z1")])).await;
    // The next update dies after the replacement's create, before its result is recorded.
    let crashing = Arc::new(CrashingBackend {
        inner: inner.clone(),
        appends: AtomicUsize::new(0),
        limit: 1,
        fail: false,
    });
    let h2 = Harness {
        backend: crashing,
        provider: h.provider.clone(),
        ..Harness::new()
    };
    let p2 = program(vec![spec("a", json!(1)).zone("z2")]);
    let r = tokio::time::timeout(Duration::from_millis(300), h2.up_with(&p2, h2.options())).await;
    assert!(r.is_err(), "cut off");
    inner.release_lock_blocking(&h.stack).unwrap();
    assert_eq!(
        h.cloud_names(),
        vec!["a", "a"],
        "old and new copies both exist"
    );
    let (_, out) = h.up(&p2).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let cloud = h.provider.cloud();
    assert_eq!(
        cloud.len(),
        1,
        "the old copy was deleted, the new one kept: {cloud:?}"
    );
    let (id, (_, inputs, _)) = cloud.iter().next().unwrap();
    assert_eq!(inputs["zone"], json!("z2"));
    assert_eq!(&h.state().await.live.values().next().unwrap().id, id);
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_create_stays_pending_and_is_resolved_next_time() {
    let h = Harness::new();
    let slow = Harness {
        provider: h.provider.clone().latency(Duration::from_secs(60)),
        backend: h.backend.clone(),
        ..Harness::new()
    };
    let p =
        program(vec![spec("a", json!(1)).opts(
            ResourceOptions::new().create_timeout(Duration::from_secs(5)),
        )]);
    let (_, out) = slow.up(&p).await;
    assert!(
        out.failures[0].error.contains("timed out"),
        "{}",
        out.failures[0].error
    );
    assert_eq!(
        h.state().await.pending.len(),
        1,
        "the outcome is unknown: kept pending"
    );
    let (_, out) = h.up(&p).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    let state = h.state().await;
    assert!(state.pending.is_empty());
    assert_eq!(state.live.len(), 1);
    assert_eq!(h.cloud_names(), vec!["a"]);
}

#[tokio::test(start_paused = true)]
async fn a_timeout_ends_a_slow_create() {
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().latency(Duration::from_secs(60)),
        ..h
    };
    let p =
        program(vec![spec("a", json!(1)).opts(
            ResourceOptions::new().create_timeout(Duration::from_secs(5)),
        )]);
    let (_, out) = h.up(&p).await;
    assert!(
        out.failures[0].error.contains("timed out"),
        "{}",
        out.failures[0].error
    );
}

#[tokio::test(start_paused = true)]
async fn cancellation_lets_running_steps_finish_and_starts_nothing_new() {
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().latency(Duration::from_secs(10)),
        ..h
    };
    let cancel = CancellationToken::new();
    let opts = EngineOptions {
        parallel: 1,
        cancel: cancel.clone(),
        ..h.options()
    };
    cancel_after(&cancel, Duration::from_secs(1));
    let p = program(vec![
        spec("a", json!(1)),
        spec("b", json!(2)),
        spec("c", json!(3)),
    ]);
    let (_, out) = h.up_with(&p, opts).await.unwrap();
    assert!(out.cancelled);
    assert_eq!(
        out.changes.get("create"),
        Some(&1),
        "the running step finished"
    );
    assert_eq!(out.skipped, 2);
    assert_eq!(h.state().await.live.len(), 1, "its result was saved");
}

/// A backend whose journal appends stop answering after `limit` appends, as if
/// the process had been killed at that instant (or, with `fail`, fail).
struct CrashingBackend {
    inner: Arc<MemoryBackend>,
    appends: AtomicUsize,
    limit: usize,
    fail: bool,
}

#[async_trait]
impl Backend for CrashingBackend {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn snapshot_location(&self, s: &StackName) -> String {
        self.inner.snapshot_location(s)
    }
    fn journal_location(&self, s: &StackName) -> String {
        self.inner.journal_location(s)
    }
    async fn create_lock(&self, s: &StackName, i: &[u8]) -> Result<Option<Vec<u8>>, StateError> {
        self.inner.create_lock(s, i).await
    }
    async fn read_lock(&self, s: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        self.inner.read_lock(s).await
    }
    fn release_lock_blocking(&self, s: &StackName) -> Result<(), StateError> {
        self.inner.release_lock_blocking(s)
    }
    async fn read_snapshot(&self, s: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        self.inner.read_snapshot(s).await
    }
    async fn write_snapshot(&self, s: &StackName, b: &[u8]) -> Result<(), StateError> {
        self.inner.write_snapshot(s, b).await
    }
    async fn read_journal(&self, s: &StackName) -> Result<Vec<u8>, StateError> {
        self.inner.read_journal(s).await
    }
    async fn append_journal(&self, s: &StackName, b: &[u8]) -> Result<(), StateError> {
        if self.appends.fetch_add(1, Ordering::SeqCst) >= self.limit {
            if self.fail {
                return Err(StateError::Io {
                    action: "append to",
                    path: self.inner.journal_location(s).into(),
                    source: std::io::Error::other("the disk is full"),
                });
            }
            futures::future::pending::<()>().await;
        }
        self.inner.append_journal(s, b).await
    }
    async fn reset_journal(&self, s: &StackName) -> Result<(), StateError> {
        self.inner.reset_journal(s).await
    }
    async fn put_history(&self, s: &StackName, id: &str, r: &[u8]) -> Result<(), StateError> {
        self.inner.put_history(s, id, r).await
    }
    async fn list_history(&self, s: &StackName) -> Result<Vec<String>, StateError> {
        self.inner.list_history(s).await
    }
    async fn read_history(&self, s: &StackName, id: &str) -> Result<Vec<u8>, StateError> {
        self.inner.read_history(s, id).await
    }
    async fn read_history_snapshot(
        &self,
        s: &StackName,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StateError> {
        self.inner.read_history_snapshot(s, id).await
    }
    async fn delete_history(&self, s: &StackName, id: &str) -> Result<(), StateError> {
        self.inner.delete_history(s, id).await
    }
    async fn list_stacks(&self) -> Result<Vec<StackName>, StateError> {
        self.inner.list_stacks().await
    }
    async fn remove_stack(&self, s: &StackName) -> Result<(), StateError> {
        self.inner.remove_stack(s).await
    }
    fn bytes_written(&self) -> u64 {
        self.inner.bytes_written()
    }
}

#[tokio::test]
async fn a_crash_between_journal_entries_converges_on_the_next_up() {
    let p = program(vec![
        spec("a", json!(1)),
        spec("b", json!(2)).reads(&["a"]),
        spec("c", json!(3)).reads(&["b"]),
        spec("d", json!(4)),
    ]);
    for limit in 1..8 {
        let inner = Arc::new(MemoryBackend::new());
        let crashing = Arc::new(CrashingBackend {
            inner: inner.clone(),
            appends: AtomicUsize::new(0),
            limit,
            fail: false,
        });
        let h = Harness::with_backend(crashing);
        let opts = EngineOptions {
            parallel: 1,
            ..h.options()
        };
        // The update hangs at the crash point; dropping it is the crash.
        let r = tokio::time::timeout(Duration::from_millis(300), h.up_with(&p, opts)).await;
        assert!(
            r.is_err(),
            "limit {limit}: the update should have been cut off"
        );
        inner.release_lock_blocking(&h.stack).unwrap(); // the dead process's lock

        let again = crate::Harness {
            backend: inner.clone(),
            provider: h.provider.clone(),
            ..crate::Harness::new()
        };
        let loaded = again.store().load().await.unwrap();
        assert!(loaded.view.live.len() <= 4);
        let (_, out) = again.up(&p).await;
        assert!(out.succeeded(), "limit {limit}: {:?}", out.failures);
        assert_eq!(
            again.cloud_names(),
            vec!["a", "b", "c", "d"],
            "limit {limit}: no duplicates, no orphans"
        );
        let state = again.state().await;
        assert_eq!(state.live.len(), 4);
        assert!(state.pending.is_empty());
        let plan = again.preview(&p).await;
        assert!(!plan.has_changes(), "limit {limit}: converged");
    }
}

#[tokio::test]
async fn a_held_lock_names_its_holder() {
    let h = Harness::new();
    let guard = h.store().lock("up").await.unwrap();
    let err = h
        .up_with(&program(vec![spec("a", json!(1))]), h.options())
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!("pid {}", std::process::id())),
        "{msg}"
    );
    assert!(msg.contains("running `up` since"), "{msg}");
    assert!(msg.contains("unlock --stack test.things.Dev"), "{msg}");
    drop(guard);
    let (_, out) = h.up(&program(vec![spec("a", json!(1))])).await;
    assert!(out.succeeded());
}

#[test]
fn error_classes_are_distinct() {
    assert!(ProviderError::retryable("x").is_retryable());
    assert!(!ProviderError::permanent("x").is_retryable());
    assert_eq!(ProviderError::not_found("x").class, ErrorClass::NotFound);
}

#[tokio::test(start_paused = true)]
async fn throttling_answers_are_retried_without_counting_as_failures() {
    // `a` is throttled more often than its tenacity allows failed attempts:
    // throttling answers are not failures, so the create still succeeds.
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().throttle("a", 7),
        ..h
    };
    let p = program(vec![
        spec("a", json!(1)).opts(ResourceOptions::new().tenacity(Tenacity::attempts(2))),
        spec("b", json!(2)).reads(&["a"]),
    ]);
    let (_, out) = h.up(&p).await;
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(out.failures.len(), 0);
    assert_eq!(out.throttled, 7);
    assert_eq!(h.provider.throttled(), 7);
    assert_eq!(h.cloud_names(), vec!["a", "b"]);
    let events = h.events.events();
    let throttled: Vec<&EngineEvent> = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                EngineEvent::RetryScheduled {
                    throttled: true,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(throttled.len(), 7);
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EngineEvent::StepFailed { .. }))
    );
    // In JSON, a throttled retry says so; an ordinary one does not.
    let text = serde_json::to_string(throttled[0]).unwrap();
    assert!(text.contains("\"throttled\":true"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn a_wide_update_under_a_rate_limit_succeeds_and_counts_throttling() {
    // 200 independent creates, unbounded parallelism (the default), against a
    // service granting 20 mutating calls per second with bursts of 10.
    let names: Vec<&'static str> = (0..200)
        .map(|i| &*Box::leak(format!("r{i:03}").into_boxed_str()))
        .collect();
    let h = Harness::new();
    let h = Harness {
        provider: h
            .provider
            .clone()
            .latency(Duration::from_millis(100))
            .rate_limit(20.0, 10),
        ..h
    };
    let p = program(names.iter().map(|n| spec(n, json!(1))).collect());
    let opts = h.options();
    assert_eq!(opts.parallel, 0, "unbounded by default");
    let (_, out) = h.up_with(&p, opts).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    assert!(out.failures.is_empty());
    assert_eq!(out.changes.get("create"), Some(&200));
    assert!(out.throttled > 0);
    assert_eq!(out.throttled, h.provider.throttled());
    assert_eq!(h.cloud_names().len(), 200);
    // The token bucket allows no faster than (200 - 10) / 20 = 9.5 s.
    assert!(
        out.duration >= Duration::from_millis(9500),
        "{:?}",
        out.duration
    );
    // And the adaptive window keeps close to it (virtual time: no sleeps).
    assert!(out.duration < Duration::from_secs(19), "{:?}", out.duration);
    let summary_throttled: usize = h
        .events
        .events()
        .iter()
        .filter(|e| {
            matches!(
                e,
                EngineEvent::RetryScheduled {
                    throttled: true,
                    ..
                }
            )
        })
        .count();
    assert_eq!(summary_throttled as u64, out.throttled);
    eprintln!(
        "200 creates at 20/s: {:?} (minimum 9.5 s), {} throttled answers",
        out.duration, out.throttled
    );
}

#[tokio::test]
async fn a_step_that_cannot_be_recorded_is_a_state_failure() {
    let inner = Arc::new(MemoryBackend::new());
    let h = Harness::with_backend(inner.clone());
    let first = program(vec![spec("a", json!(1)), spec("b", json!(2))]);
    h.up(&first).await;
    // The journal cannot be written any more: `a`'s update fails before its
    // provider call (its pending record cannot be made durable).
    let failing = Arc::new(CrashingBackend {
        inner: inner.clone(),
        appends: AtomicUsize::new(0),
        limit: 0,
        fail: true,
    });
    let h2 = Harness {
        backend: failing,
        provider: h.provider.clone(),
        ..Harness::new()
    };
    let n = h.provider.calls().len();
    let (_, out) = h2
        .up_with(
            &program(vec![spec("a", json!(3)), spec("b", json!(2))]),
            h2.options(),
        )
        .await
        .unwrap();
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    let f = &out.failures[0];
    assert_eq!(
        (f.urn.name(), f.op, f.kind),
        ("a", Op::Update, FailureKind::State)
    );
    assert!(
        f.error.starts_with("recording the step failed: ") && f.error.contains("the disk is full"),
        "{}",
        f.error
    );
    assert!(
        !h.provider.calls()[n..].iter().any(|c| c.verb == "update"),
        "no provider call"
    );
    let hint = mkso::cli::failure_hint(mkso::engine::OperationKind::Up, f).unwrap();
    assert!(hint.starts_with("nothing was lost"), "{hint}");
}

/// Cancels `cancel` after `d` (virtual time in paused tests).
fn cancel_after(cancel: &CancellationToken, d: Duration) {
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(d).await;
        c.cancel();
    });
}

/// `n` independent resources named `<prefix>NNNN`, on a provider whose
/// calls take `latency`.
fn wide(prefix: &str, n: usize, latency: Duration) -> (Harness, Vec<crate::Spec>) {
    let names: Vec<&'static str> = (0..n)
        .map(|i| &*Box::leak(format!("{prefix}{i:04}").into_boxed_str()))
        .collect();
    let h = Harness::new();
    let h = Harness {
        provider: h.provider.clone().latency(latency),
        ..h
    };
    (h, names.iter().map(|n| spec(n, json!(1))).collect())
}

#[tokio::test(start_paused = true)]
async fn a_wide_update_starts_only_as_many_steps_as_the_provider_window_lets_through() {
    // 1 000 independent one-second creates, unbounded parallelism: the
    // provider's adaptive window (256 to start with) lets that many calls
    // through at once, and the walk starts no more steps than that (the
    // rest wait as indices, not as tasks), so the rate is the window's.
    let (h, specs) = wide("w", 1000, Duration::from_secs(1));
    let p = program(specs);
    let (_, out) = h.up_with(&p, h.options()).await.unwrap();
    assert!(out.succeeded(), "{:?}", out.failures);
    assert_eq!(out.changes.get("create"), Some(&1000));
    assert_eq!(h.cloud_names().len(), 1000);
    let (mut running, mut most) = (0usize, 0usize);
    for e in h.events.events() {
        match e {
            EngineEvent::StepStarted { .. } => {
                running += 1;
                most = most.max(running);
            }
            EngineEvent::StepFinished { .. } | EngineEvent::StepFailed { .. } => running -= 1,
            _ => {}
        }
    }
    // The window starts at 256 and widens by one per window of successes.
    assert!((256..=260).contains(&most), "{most} steps ran at once");
    // Four windows' worth of one-second calls (virtual time).
    assert!(
        out.duration >= Duration::from_secs(3) && out.duration < Duration::from_secs(5),
        "{:?}",
        out.duration
    );
}

#[tokio::test(start_paused = true)]
async fn cancelling_a_wide_update_skips_the_steps_waiting_for_the_window() {
    let (h, specs) = wide("c", 600, Duration::from_secs(10));
    let p = program(specs);
    let cancel = CancellationToken::new();
    let opts = EngineOptions {
        cancel: cancel.clone(),
        ..h.options()
    };
    cancel_after(&cancel, Duration::from_secs(1));
    let (_, out) = h.up_with(&p, opts).await.unwrap();
    assert!(out.cancelled);
    // The first window's steps were running and finished; the others never
    // started.
    assert_eq!(out.changes.get("create"), Some(&256));
    assert_eq!(out.skipped, 600 - 256);
    assert_eq!(h.state().await.live.len(), 256);
    assert_eq!(h.cloud_names().len(), 256);
}
