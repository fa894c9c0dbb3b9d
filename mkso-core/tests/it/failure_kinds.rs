//! Failed steps by kind (issue 10, item 5): each kind the in-memory provider
//! can produce, with the provider's error as its source, the `step_failed`
//! event carrying the kind, and the CLI's hint for it.

use std::sync::Arc;
use std::time::Duration;

use mkso::cli::{EXIT_CANCELLED, EXIT_FAILED, failure_hint, failures_exit_code, outcome_exit_code};
use mkso::engine::{
    EngineEvent, EngineOptions, FailureKind, Op, OperationKind, OperationResult, StepFailure,
    UpdateOutcome,
};
use mkso::prelude::*;
use mkso::provider::{CheckResponse, CreateResponse};
use mkso::testing::{StackHarness, TestProvider};
use mkso::{ErrorClass, ProviderError};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::{Harness, Thing, ThingArgs, program, spec};

/// The one failure of an outcome.
fn only(out: &UpdateOutcome) -> &StepFailure {
    assert_eq!(out.failures.len(), 1, "{:?}", out.failures);
    &out.failures[0]
}

/// The kinds of the `step_failed` events, by resource name.
fn failed_events(h: &Harness) -> Vec<(String, FailureKind)> {
    h.events
        .events()
        .iter()
        .filter_map(|e| match e {
            EngineEvent::StepFailed { urn, kind, .. } => Some((urn.name().to_string(), *kind)),
            _ => None,
        })
        .collect()
}

fn with_provider(p: TestProvider) -> Harness {
    Harness {
        provider: p,
        ..Harness::new()
    }
}

fn thing_provider() -> TestProvider {
    TestProvider::new().replace_on("test:index:Thing", &["zone"])
}

#[tokio::test]
async fn a_permanent_refusal_is_a_provider_failure_with_its_source() {
    let h = with_provider(thing_provider().fail(
        "create",
        "a",
        None,
        ProviderError::permanent("quota exceeded").with_code("LimitExceeded"),
    ));
    let (_, out) = h
        .up(&program(vec![spec("a", json!(1)), spec("b", json!(2))]))
        .await;
    let f = only(&out);
    assert_eq!(
        (f.urn.name(), f.op, f.kind),
        ("a", Op::Create, FailureKind::Provider)
    );
    let source = f.source.as_ref().expect("the provider's error");
    assert_eq!(source.class, ErrorClass::Permanent);
    assert_eq!(source.code.as_deref(), Some("LimitExceeded"));
    assert_eq!(
        f.error, "LimitExceeded: quota exceeded",
        "the message is unchanged"
    );
    assert_eq!(failed_events(&h), vec![("a".into(), FailureKind::Provider)]);
    assert_eq!(out.result(), OperationResult::Failed);
    assert_eq!(out.changes.get(&Op::Create), Some(&1), "b was created");
    assert_eq!(outcome_exit_code(&out), EXIT_FAILED);
    assert!(
        failure_hint(OperationKind::Up, f)
            .unwrap()
            .starts_with("the provider refused the request"),
    );
    // As JSON: the kind, and the source with its class and code.
    let v = serde_json::to_value(f).unwrap();
    assert_eq!(v["kind"], "provider");
    assert_eq!(
        v["source"],
        json!({"class": "permanent", "code": "LimitExceeded", "message": "quota exceeded"})
    );
    assert!(v.get("inconsistent_plan").is_none() && v.get("invalid_inputs").is_none());
}

#[tokio::test(start_paused = true)]
async fn retryable_errors_until_the_tenacity_runs_out_are_gave_up() {
    let h = with_provider(thing_provider().fail(
        "create",
        "a",
        None,
        ProviderError::retryable("503 Service Unavailable").with_code("ServiceUnavailable"),
    ));
    let p = program(vec![
        spec("a", json!(1)).opts(ResourceOptions::new().tenacity(Tenacity::attempts(3))),
    ]);
    let (_, out) = h.up(&p).await;
    let f = only(&out);
    assert_eq!(f.kind, FailureKind::GaveUp);
    let source = f.source.as_ref().unwrap();
    assert_eq!(source.class, ErrorClass::Retryable);
    assert_eq!(source.code.as_deref(), Some("ServiceUnavailable"));
    assert!(f.error.contains("gave up after 3 attempts"), "{}", f.error);
    assert_eq!(failed_events(&h), vec![("a".into(), FailureKind::GaveUp)]);
    assert!(
        failure_hint(OperationKind::Up, f)
            .unwrap()
            .contains("`up` again resolves it")
    );
    assert!(
        failure_hint(OperationKind::Destroy, f)
            .unwrap()
            .contains("`destroy` again resolves it")
    );
    // ... and so are they when a retry deadline runs out.
    let h =
        with_provider(thing_provider().fail("create", "a", None, ProviderError::retryable("busy")));
    let p = program(vec![spec("a", json!(1)).opts(
        ResourceOptions::new().tenacity(Tenacity::deadline(Duration::from_secs(20))),
    )]);
    let (_, out) = h.up(&p).await;
    assert_eq!(only(&out).kind, FailureKind::GaveUp);
    assert!(only(&out).error.contains("deadline"));
}

#[tokio::test(start_paused = true)]
async fn throttling_until_the_timeout_is_throttled() {
    let h = with_provider(thing_provider().throttle("a", 100_000));
    let p = program(vec![
        spec("a", json!(1)).opts(
            ResourceOptions::new()
                .create_timeout(Duration::from_secs(30))
                .tenacity(Tenacity::attempts(2)),
        ),
    ]);
    let (_, out) = h.up(&p).await;
    let f = only(&out);
    assert_eq!(f.kind, FailureKind::Throttled, "{}", f.error);
    let source = f.source.as_ref().unwrap();
    assert!(source.throttled);
    assert_eq!(source.code.as_deref(), Some("RequestLimitExceeded"));
    assert!(f.error.contains("timeout of 30s has passed"), "{}", f.error);
    assert!(out.throttled > 2, "more than the tenacity's attempts");
    assert!(
        failure_hint(OperationKind::Up, f)
            .unwrap()
            .contains("lower `--parallel`")
    );
}

#[tokio::test(start_paused = true)]
async fn a_call_that_outlasts_its_timeout_is_timed_out() {
    let h = with_provider(thing_provider().latency(Duration::from_secs(60)));
    let p =
        program(vec![spec("a", json!(1)).opts(
            ResourceOptions::new().create_timeout(Duration::from_secs(5)),
        )]);
    let (_, out) = h.up(&p).await;
    let f = only(&out);
    assert_eq!(f.kind, FailureKind::TimedOut);
    assert_eq!(f.source, None, "the provider never answered");
    assert_eq!(failed_events(&h), vec![("a".into(), FailureKind::TimedOut)]);
    assert_eq!(h.state().await.pending.len(), 1, "its outcome is unknown");
}

#[tokio::test(start_paused = true)]
async fn a_retry_stopped_by_cancellation_is_cancelled() {
    let h = with_provider(thing_provider().fail(
        "create",
        "a",
        None,
        ProviderError::retryable("busy").with_code("Busy"),
    ));
    let cancel = CancellationToken::new();
    let opts = EngineOptions {
        cancel: cancel.clone(),
        ..h.options()
    };
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        cancel.cancel();
    });
    let p = program(vec![
        spec("a", json!(1)).opts(ResourceOptions::new().tenacity(Tenacity::forever())),
    ]);
    let (_, out) = h.up_with(&p, opts).await.unwrap();
    let f = only(&out);
    assert_eq!(f.kind, FailureKind::Cancelled);
    assert_eq!(f.source.as_ref().unwrap().code.as_deref(), Some("Busy"));
    assert!(f.error.contains("not retried"), "{}", f.error);
    assert!(out.cancelled);
    assert_eq!(out.result(), OperationResult::Cancelled);
    assert_eq!(outcome_exit_code(&out), EXIT_CANCELLED);
    assert_eq!(failure_hint(OperationKind::Up, f), None);
}

#[tokio::test]
async fn an_update_of_a_resource_deleted_outside_is_not_found() {
    let h = with_provider(thing_provider());
    h.up(&program(vec![spec("a", json!(1))])).await;
    h.provider.delete_behind_the_back("a-id");
    let (_, out) = h.up(&program(vec![spec("a", json!(2))])).await;
    let f = only(&out);
    assert_eq!((f.op, f.kind), (Op::Update, FailureKind::NotFound));
    assert_eq!(f.source.as_ref().unwrap().class, ErrorClass::NotFound);
    assert!(
        f.error.contains("run `refresh` to forget it"),
        "{}",
        f.error
    );
    assert_eq!(
        failure_hint(OperationKind::Up, f),
        None,
        "the error says what to do"
    );

    // An import of an id that does not exist.
    let h = with_provider(thing_provider());
    let (_, out) = h
        .up(&program(vec![
            spec("x", json!(1)).opts(ResourceOptions::new().import("nope")),
        ]))
        .await;
    let f = only(&out);
    assert_eq!((f.op, f.kind), (Op::Import, FailureKind::NotFound));
    assert!(
        failure_hint(OperationKind::Up, f)
            .unwrap()
            .contains("`import` option")
    );
}

#[tokio::test]
async fn inputs_the_provider_refuses_at_apply_time_are_invalid_inputs() {
    // `b` reads `a`, created in the same run: its value is unknown at plan
    // time, so the provider's check refuses it only at apply time.
    let h = with_provider(thing_provider().on_check("test:index:Thing", |req| {
        let mut failures = Vec::new();
        if req.inputs["value"]["own"] == "bad" {
            failures.push(("value".to_string(), "must not be bad".to_string()));
        }
        Ok(CheckResponse { failures })
    }));
    let p = program(vec![
        spec("a", json!(1)),
        spec("b", json!("bad")).reads(&["a"]),
    ]);
    let (_, out) = h.up(&p).await;
    let f = only(&out);
    assert_eq!(
        (f.urn.name(), f.op, f.kind),
        ("b", Op::Create, FailureKind::InvalidInputs)
    );
    assert_eq!(
        f.invalid_inputs,
        vec![("value".to_string(), "must not be bad".to_string())]
    );
    assert_eq!(
        f.error,
        "invalid inputs for `b` (test:index:Thing): value: must not be bad"
    );
    assert_eq!(
        failure_hint(OperationKind::Up, f).unwrap(),
        "fix `value` of `b` in the program (or the config it reads), then run `preview` and `up`"
    );
    assert_eq!(
        serde_json::to_value(f).unwrap()["invalid_inputs"],
        json!([["value", "must not be bad"]])
    );
}

#[tokio::test]
async fn an_output_still_unknown_after_its_dependency_is_unknown_inputs() {
    // A provider that leaves an output unknown after the create.
    let h = with_provider(thing_provider().on_create("test:index:Thing", |req| {
        let id = format!("{}-id", req.identity.name());
        Ok(CreateResponse {
            outputs: json!({"id": id, "value": mkso::output::UNKNOWN}),
            id,
        })
    }));
    let p = program(vec![spec("a", json!(1)), spec("b", json!(2)).reads(&["a"])]);
    let (_, out) = h.up(&p).await;
    let f = only(&out);
    assert_eq!((f.urn.name(), f.kind), ("b", FailureKind::UnknownInputs));
    assert!(failure_hint(OperationKind::Up, f).is_some());
}

#[tokio::test]
async fn a_failing_output_closure_is_a_program_failure() {
    let h = Harness::new();
    let p = |stack: &Stack| -> Result<(), mkso::Error> {
        let a = Thing::new(
            stack,
            "a",
            ThingArgs::default().value(json!(1)),
            ResourceOptions::new(),
        )?;
        Thing::new(
            stack,
            "b",
            ThingArgs::default().value(a.value().try_map(|_| Err::<Value, _>("port 80 is taken"))),
            ResourceOptions::new(),
        )?;
        Ok(())
    };
    let (_, out) = h.up(&p).await;
    let f = only(&out);
    assert_eq!((f.urn.name(), f.kind), ("b", FailureKind::Program));
    assert_eq!(f.op, Op::Create, "the planned op");
    assert!(f.error.contains("port 80 is taken"), "{}", f.error);
    assert_eq!(f.source, None);
}

#[tokio::test]
async fn a_delete_with_no_provider_registered_is_no_provider() {
    let backend: Arc<dyn mkso::state::Backend> = Arc::new(mkso::state::MemoryBackend::new());
    let kit = |p: TestProvider| {
        StackHarness::new("test.things.Dev")
            .unwrap()
            .backend(backend.clone())
            .provider(None, Arc::new(p))
    };
    let opts = EngineOptions::default();
    let (_, out) = kit(TestProvider::new())
        .up(&program(vec![spec("a", json!(1))]), &opts)
        .await
        .unwrap();
    assert!(out.succeeded());
    // The next run has a provider for another package only.
    let nothing = |_: &Stack| -> Result<(), mkso::Error> { Ok(()) };
    let (_, out) = kit(TestProvider::for_package("other"))
        .up(&nothing, &opts)
        .await
        .unwrap();
    let f = only(&out);
    assert_eq!((f.op, f.kind), (Op::Delete, FailureKind::NoProvider));
    assert!(
        f.error.contains("register it in the program"),
        "{}",
        f.error
    );
}

#[tokio::test]
async fn an_import_that_differs_in_what_cannot_change_is_import_mismatch() {
    let h = with_provider(thing_provider());
    let other = Harness {
        provider: h.provider.clone(),
        ..Harness::new()
    };
    other
        .up(&program(vec![spec("outside", json!(5)).zone("z1")]))
        .await;
    let (_, out) = h
        .up(&program(vec![
            spec("adopted", json!(5))
                .zone("z2")
                .opts(ResourceOptions::new().import("outside-id")),
        ]))
        .await;
    let f = only(&out);
    assert_eq!((f.op, f.kind), (Op::Import, FailureKind::ImportMismatch));
    assert!(
        f.error.contains("differs from the program in zone"),
        "{}",
        f.error
    );
}

#[tokio::test]
async fn a_panicking_provider_is_panicked() {
    let h = with_provider(thing_provider().on_create("test:index:Thing", |req| {
        if req.identity.name() == "a" {
            panic!("a provider bug");
        }
        Ok(CreateResponse {
            id: "b-id".into(),
            outputs: json!({"id": "b-id", "value": req.inputs["value"]}),
        })
    }));
    let (_, out) = h
        .up(&program(vec![spec("a", json!(1)), spec("b", json!(2))]))
        .await;
    let f = only(&out);
    assert_eq!((f.urn.name(), f.kind), ("a", FailureKind::Panicked));
    assert_eq!(f.error, "panicked: a provider bug");
    assert_eq!(failed_events(&h), vec![("a".into(), FailureKind::Panicked)]);
    assert_eq!(out.changes.get(&Op::Create), Some(&1));
    assert!(
        failure_hint(OperationKind::Up, f)
            .unwrap()
            .contains("please report it")
    );
}

#[tokio::test]
async fn a_failed_read_in_refresh_is_a_failure_by_kind() {
    let h = with_provider(thing_provider());
    h.up(&program(vec![spec("a", json!(1)), spec("b", json!(2))]))
        .await;
    let h = Harness {
        provider: h.provider.clone().fail(
            "read",
            "b",
            None,
            ProviderError::permanent("access denied").with_code("AccessDenied"),
        ),
        ..h
    };
    let kit = StackHarness::new(h.stack.as_str())
        .unwrap()
        .backend(h.backend.clone())
        .provider(None, Arc::new(h.provider.clone()));
    let r = kit
        .refresh(
            &program(vec![spec("a", json!(1)), spec("b", json!(2))]),
            &h.options(),
        )
        .await
        .unwrap();
    assert_eq!(r.failures.len(), 1, "{:?}", r.failures);
    let f = &r.failures[0];
    assert_eq!(
        (f.urn.name(), f.op, f.kind),
        ("b", Op::Refresh, FailureKind::Provider)
    );
    assert_eq!(f.error, "access denied", "the message is unchanged");
    assert_eq!(
        f.source.as_ref().unwrap().code.as_deref(),
        Some("AccessDenied")
    );
    assert_eq!(failed_events(&h), vec![("b".into(), FailureKind::Provider)]);
    assert_eq!(failures_exit_code(&r.failures), EXIT_FAILED);
}

#[tokio::test]
async fn every_resource_the_provider_refuses_at_plan_time_is_named() {
    let h = with_provider(thing_provider().on_check("test:index:Thing", |req| {
        let mut failures = Vec::new();
        if req.inputs["value"] == "bad" {
            failures.push(("value".to_string(), "must not be bad".to_string()));
        }
        Ok(CheckResponse { failures })
    }));
    let p = program(vec![
        spec("a", json!("bad")),
        spec("b", json!(1)),
        spec("c", json!("bad")),
    ]);
    let e = h.kit().preview(&p, &h.options()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid inputs for 2 resources:\n  invalid inputs for `a` (test:index:Thing): value: must \
         not be bad\n  invalid inputs for `c` (test:index:Thing): value: must not be bad"
    );
    assert!(h.provider.cloud().is_empty(), "nothing was created");
}
