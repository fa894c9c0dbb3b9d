//! `watch` in-process with the test provider: a resource deleted between
//! rounds is recreated, a changed property is set back, a property the
//! program leaves alone (`ignore_changes`) is not touched, and a resource
//! the provider always refuses is reported every round without keeping the
//! others from being repaired. The program runs through `Runner::run` in a
//! child process (this test binary, run again) so its standard output is
//! the real one.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use mkso::Runner;
use mkso::prelude::*;
use mkso::state::{LocalBackend, StateStore};
use mkso::testing::TestProvider;
use serde_json::{Value, json};

use crate::{Thing, ThingArgs};

const CHILD: &str = "MKSO_IT_WATCH_CHILD_ARGS";

fn things(stack: &Stack) -> Result<(), mkso::Error> {
    for (name, opts) in [
        ("kept", ResourceOptions::new().ignore_changes(["value"])),
        ("gone", ResourceOptions::new()),
        ("drifty", ResourceOptions::new()),
        ("broken", ResourceOptions::new()),
    ] {
        Thing::new(stack, name, ThingArgs::default().value(json!(1)), opts)?;
    }
    Ok(())
}

/// The id the in-memory cloud gives the resource `name`.
fn id_of(p: &TestProvider, name: &str) -> String {
    p.cloud()
        .into_iter()
        .find(|(_, (urn, _, _))| urn.name() == name)
        .map(|(id, _)| id)
        .unwrap_or_else(|| panic!("{name} is not in the cloud"))
}

#[test]
fn watch_repairs_drift_leaves_ignored_changes_and_reports_a_failure_every_round() {
    if let Ok(args) = std::env::var(CHILD) {
        // The provider lives for the whole process; the runner asks for it
        // once per round, and the second time (between rounds 1 and 2)
        // things change behind mkso's back.
        static PROVIDER: OnceLock<Arc<TestProvider>> = OnceLock::new();
        static ROUNDS: AtomicU32 = AtomicU32::new(0);
        let args: Vec<String> = serde_json::from_str(&args).unwrap();
        let runner = Runner::new(things).provider(None, |_| {
            let p = PROVIDER
                .get_or_init(|| {
                    Arc::new(TestProvider::for_package("test").fail(
                        "create",
                        "broken",
                        None,
                        mkso::ProviderError::permanent("quota exceeded").with_code("LimitExceeded"),
                    ))
                })
                .clone();
            if ROUNDS.fetch_add(1, Ordering::SeqCst) == 1 {
                p.delete_behind_the_back(&id_of(&p, "gone"));
                p.change_behind_the_back(&id_of(&p, "kept"), "value", json!(99));
                p.change_behind_the_back(&id_of(&p, "drifty"), "value", json!(42));
            }
            Ok(p as Arc<dyn mkso::Provider>)
        });
        std::process::exit(runner.run(args));
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("Mkso.yaml"), "name: cli-watch\n").unwrap();
    std::fs::write(dir.join("Mkso.cli.watch.Dev.yaml"), "config: {}\n").unwrap();
    let argv = [
        "things",
        "--project-dir",
        dir.to_str().unwrap(),
        "--stack",
        "cli.watch.Dev",
        "watch",
        "--interval",
        "0s",
        "--rounds",
        "3",
        "--json",
    ];
    let o = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "watch::watch_repairs_drift_leaves_ignored_changes_and_reports_a_failure_every_round",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD, serde_json::to_string(&argv).unwrap())
        .env_remove("MKSO_STACK")
        .env_remove("MKSO_PROJECT_DIR")
        .env_remove("MKSO_BACKEND_URL")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    // The JSON events (the child's test harness writes its test's name
    // first, with no line break).
    let events: Vec<Value> = out
        .lines()
        .filter_map(|l| l.find("{\"event\":").map(|at| &l[at..]))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let rounds: Vec<(u64, u64, u64)> = events
        .iter()
        .filter(|e| e["event"] == "watch_round")
        .map(|e| {
            let n = |k: &str| e[k].as_u64().unwrap();
            (n("drifted"), n("repaired"), n("failing"))
        })
        .collect();
    assert_eq!(
        rounds,
        vec![
            // Everything created but `broken`.
            (0, 3, 1),
            // `gone` deleted, `kept` and `drifty` changed: `gone` recreated,
            // `drifty` set back, `kept` left as it is; `broken` refused again.
            (3, 2, 1),
            // Nothing left to repair; `broken` still refused.
            (0, 0, 1),
        ],
        "{out}"
    );
    let failed: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "step_failed")
        .collect();
    assert_eq!(failed.len(), 3, "once per round: {failed:?}");
    assert!(
        failed
            .iter()
            .all(|e| e["urn"].as_str().unwrap().ends_with("::broken")),
        "{failed:?}"
    );
    let plans: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "plan_ready")
        .collect();
    let planned = |p: &Value| -> Vec<(String, String)> {
        p["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let urn = s["urn"].as_str().unwrap();
                (
                    urn.rsplit("::").next().unwrap().to_string(),
                    s["op"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let mut round2 = planned(plans[1]);
    round2.sort();
    assert_eq!(
        round2,
        [
            ("broken", "create"),
            ("drifty", "update"),
            ("gone", "create")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string())),
        "kept is not touched: {plans:?}"
    );
    assert_eq!(o.status.code(), Some(mkso::cli::EXIT_FAILED), "{out}");

    // The state: `kept` records the value found in the cloud; `drifty` the
    // program's again.
    let store = StateStore::new(
        Arc::new(LocalBackend::new(dir.join(".mkso"))),
        mkso::StackName::new("cli.watch.Dev").unwrap(),
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    let view = rt.block_on(store.load()).unwrap().view;
    let value = |name: &str| {
        view.live
            .values()
            .find(|r| r.urn.name() == name)
            .map(|r| r.outputs["value"].clone())
    };
    assert_eq!(value("kept"), Some(json!(99)));
    assert_eq!(value("drifty"), Some(json!(1)));
    assert_eq!(value("gone"), Some(json!(1)));
    assert_eq!(value("broken"), None);
}
