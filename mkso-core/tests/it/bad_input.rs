//! Bad input: each gets a clear error naming the culprit, and nothing is written.

use std::sync::Arc;

use mkso::prelude::*;
use mkso::state::{Backend, MemoryBackend, encode_snapshot};
use mkso::{StackConfig, StackName};
use serde_json::json;

use crate::{Harness, Thing, ThingArgs, program, spec};

async fn nothing_written(h: &Harness) {
    assert!(!h.store().exists().await.unwrap(), "no state was written");
}

#[tokio::test]
async fn a_dependency_cycle_is_named() {
    let h = Harness::new();
    let stack = StackName::new("test.things.Dev").unwrap();
    let p = move |s: &Stack| -> Result<(), mkso::Error> {
        // a depends on c, declared later by URN: a -> c -> b -> a.
        let c_urn = mkso::Urn::new(&stack, "test", Thing::TYPE, "c");
        let a = Thing::new(
            s,
            "a",
            ThingArgs::default(),
            ResourceOptions::new().depends_on(&c_urn),
        )?;
        let b = Thing::new(
            s,
            "b",
            ThingArgs::default(),
            ResourceOptions::new().depends_on(&a),
        )?;
        Thing::new(
            s,
            "c",
            ThingArgs::default(),
            ResourceOptions::new().depends_on(&b),
        )?;
        Ok(())
    };
    let err = h.up_with(&p, h.options()).await.unwrap_err().to_string();
    assert!(err.contains("dependency cycle"), "{err}");
    for n in ["a", "b", "c"] {
        assert!(err.contains(n), "{err}");
    }
    let cycle = err.split(": ").nth(1).unwrap();
    assert!(
        cycle.starts_with("a -> c -> b -> a")
            || cycle.starts_with("c -> b -> a -> c")
            || cycle.starts_with("b -> a -> c -> b"),
        "{err}"
    );
    nothing_written(&h).await;
}

#[tokio::test]
async fn duplicate_names_name_both_declarations() {
    let h = Harness::new();
    let p = program(vec![spec("a", json!(1)), spec("a", json!(2))]);
    let err = h.up_with(&p, h.options()).await.unwrap_err().to_string();
    assert!(err.contains("two resources are named `a`"), "{err}");
    assert_eq!(
        err.matches("tests/it/main.rs").count(),
        2,
        "both places named: {err}"
    );
    nothing_written(&h).await;
}

#[test]
fn invalid_stack_names_show_the_expected_form() {
    for bad in [
        "network",
        "aws..QA",
        "aws.net work.QA",
        "aws.network.",
        "a/b.QA",
    ] {
        let e = StackName::new(bad).unwrap_err().to_string();
        assert!(e.contains(bad) && e.contains("aws.network.QA"), "{e}");
    }
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Net {
    cidr: String,
    zones: u32,
}

fn net_program() -> impl Fn(&Stack) -> Result<(), mkso::Error> {
    |s: &Stack| {
        let n: Net = s.config("net")?;
        Thing::new(
            s,
            "x",
            ThingArgs::default().value(json!(n.zones)),
            ResourceOptions::new(),
        )?;
        Ok(())
    }
}

#[tokio::test]
async fn config_errors_name_key_type_and_file() {
    for (yaml, expect) in [
        (
            "config:\n  net:cidr: 10.0.0.0/16\n",
            vec!["`net:zones`", "integer", "Mkso.test.things.Dev.yaml"],
        ),
        (
            "config:\n  net:cidr: 10.0.0.0/16\n  net:zones: many\n",
            vec!["`net:zones`", "integer", "Mkso.test.things.Dev.yaml"],
        ),
        (
            "config:\n  net:cidr: 10.0.0.0/16\n  net:zones: 2\n  net:zone: 3\n",
            vec!["`net:zone`", "`net:zones`", "Mkso.test.things.Dev.yaml"],
        ),
    ] {
        let h = Harness::new();
        let cfg = StackConfig::from_yaml_str(yaml, "Mkso.test.things.Dev.yaml").unwrap();
        let stack = Stack::new(h.stack.clone(), "test", cfg);
        let err = net_program()(&stack).unwrap_err().to_string();
        for e in expect {
            assert!(err.contains(e), "{err}");
        }
        nothing_written(&h).await;
    }
}

#[tokio::test]
async fn a_corrupt_snapshot_is_refused_and_left_untouched() {
    let backend = Arc::new(MemoryBackend::new());
    let h = Harness::with_backend(backend.clone());
    h.up(&program(vec![spec("a", json!(1))])).await;
    let good = backend.read_snapshot(&h.stack).await.unwrap().unwrap();
    let mut bad = good.clone();
    let n = bad.len();
    bad.truncate(n - 20);
    backend.put_raw(&h.stack, "snapshot.json", bad.clone());
    let err = h
        .up_with(&program(vec![spec("a", json!(2))]), h.options())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("memory://test.things.Dev/snapshot.json"),
        "{err}"
    );
    assert!(
        err.contains("corrupt") && err.contains("left untouched"),
        "{err}"
    );
    assert_eq!(
        backend.read_snapshot(&h.stack).await.unwrap().unwrap(),
        bad,
        "not overwritten"
    );
    assert!(
        backend.read_lock(&h.stack).await.unwrap().is_none(),
        "lock released on error"
    );
    // A good snapshot loads again.
    backend.write_snapshot(&h.stack, &good).await.unwrap();
    let view = h.state().await;
    let _ = encode_snapshot(&view.to_snapshot(view.serial));
    assert_eq!(view.live.len(), 1);
}

#[tokio::test]
async fn an_unknown_dependency_and_parent_are_named() {
    let h = Harness::new();
    let p = |s: &Stack| -> Result<(), mkso::Error> {
        let ghost = mkso::Urn::new(s.name(), "test", Thing::TYPE, "ghost");
        Thing::new(
            s,
            "a",
            ThingArgs::default(),
            ResourceOptions::new().depends_on(&ghost),
        )?;
        Ok(())
    };
    let err = h.up_with(&p, h.options()).await.unwrap_err().to_string();
    assert!(
        err.contains("`a` depends on") && err.contains("ghost"),
        "{err}"
    );
    let p = |s: &Stack| -> Result<(), mkso::Error> {
        let ghost = mkso::Urn::new(s.name(), "test", "test:index:Group", "nope");
        Thing::new(
            s,
            "a",
            ThingArgs::default(),
            ResourceOptions::new().parent(&ghost),
        )?;
        Ok(())
    };
    let err = h.up_with(&p, h.options()).await.unwrap_err().to_string();
    assert!(
        err.contains("`a` names parent") && err.contains("nope"),
        "{err}"
    );
    nothing_written(&h).await;
}
