//! The `gcp_cluster` stack binary against the Compute Engine emulator
//! (gcplocal): the full cycle and drift, with endpoint and credentials set
//! through environment overrides (no file edits).

use std::process::{Command, Output, Stdio};

use crate::{text, tmp};

const BIN: &str = env!("CARGO_BIN_EXE_gcp_cluster");

fn gcp() -> String {
    std::env::var("MKSO_GCP_ENDPOINT").expect(
        "MKSO_GCP_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts the emulators",
    )
}

fn run(state: &std::path::Path, project: &str, args: &[&str]) -> Output {
    run_on(&gcp(), state, project, args)
}

/// `run` with the Compute Engine API at `endpoint`.
fn run_on(endpoint: &str, state: &std::path::Path, project: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .args(["--stack", "gcp.cluster.QA"])
        .env("MKSO_BACKEND_URL", format!("file://{}", state.display()))
        .env("MKSO_CONFIG__GCP__ENDPOINT", endpoint)
        .env("MKSO_CONFIG__GCP__CREDENTIALS", "anonymous")
        .env("MKSO_CONFIG__GCP__PROJECT", project)
        .env_remove("MKSO_STACK")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

async fn list(project: &str, path: &str) -> Vec<String> {
    let url = format!("{}/compute/v1/projects/{project}/{path}", gcp());
    let v: serde_json::Value = reqwest::get(url).await.unwrap().json().await.unwrap();
    v["items"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|i| i["name"].as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn up_drift_refresh_up_destroy() {
    let (_d, state) = tmp();
    let project = format!("mkso-e2e-{}", std::process::id());
    let o = run(&state, &project, &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = run(&state, &project, &["outputs", "--json"]);
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let net = out["network_name"].as_str().unwrap().to_string();
    assert_eq!(list(&project, "global/networks").await, vec![net]);
    let mut vms = list(&project, "zones/us-central1-a/instances").await;
    vms.sort();
    assert_eq!(serde_json::json!(vms), out["instance_names"]);
    let o = run(&state, &project, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Delete the firewall behind mkso's back with a plain HTTP call.
    let fw = list(&project, "global/firewalls").await.pop().unwrap();
    let url = format!(
        "{}/compute/v1/projects/{project}/global/firewalls/{fw}",
        gcp()
    );
    reqwest::Client::new().delete(url).send().await.unwrap();
    let o = run(&state, &project, &["refresh", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    assert!(
        text(&o).contains("cluster/ssh: deleted outside mkso"),
        "{}",
        text(&o)
    );
    let o = run(&state, &project, &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(
        list(&project, "global/firewalls").await,
        vec![fw],
        "recreated"
    );
    let o = run(&state, &project, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = run(&state, &project, &["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_nothing_left(&project).await;
}

const LISTS: [&str; 4] = [
    "global/networks",
    "regions/us-central1/subnetworks",
    "global/firewalls",
    "zones/us-central1-a/instances",
];

async fn assert_nothing_left(project: &str) {
    for path in LISTS {
        assert!(
            list(project, path).await.is_empty(),
            "{path} still lists the stack's resources"
        );
    }
}

/// Calls that fail and answers that are lost, on GCP: through the fault
/// proxy, 30 % of the mutating calls (inserts, deletes) fail before
/// gcplocal sees them and 30 % lose their answer after it acted (the stack
/// makes few calls; the seed gives both kinds in `up`). One `up`
/// converges (an insert whose answer was lost is adopted, not refused as a
/// foreign name), one `destroy` leaves nothing.
#[tokio::test(flavor = "multi_thread")]
async fn lost_answers_and_failed_calls_converge_in_one_up() {
    use mkso_fault_proxy::{Api, FaultProxy, Faults};
    let (_d, state) = tmp();
    let project = format!("mkso-e2e-lost-{}", std::process::id());
    let faults = Faults {
        seed: 14,
        fail_before: 0.3,
        drop_after: 0.3,
        ..Faults::default()
    };
    let proxy = FaultProxy::start(&gcp(), Api::Gcp, faults).await.unwrap();
    let o = run_on(&proxy.url(), &state, &project, &["up", "--yes"]);
    let stats = proxy.stats();
    assert!(o.status.success(), "{stats:?}\n{}", text(&o));
    assert!(
        stats.failed_before > 0 && stats.dropped_after > 0,
        "faults were injected: {stats:?}"
    );
    let o = run(&state, &project, &["outputs", "--json"]);
    let out: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut counts = Vec::new();
    for path in LISTS {
        counts.push(list(&project, path).await.len());
    }
    let instances = out["instance_names"].as_array().unwrap().len();
    assert_eq!(
        counts,
        [1, 1, 1, instances],
        "exactly the declared resources"
    );
    let o = run(&state, &project, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Deletes too (a delete whose answer was lost is found gone on retry).
    proxy.set_faults(Faults {
        seed: 33,
        fail_before: 0.2,
        drop_after: 0.2,
        ..Faults::default()
    });
    let before = proxy.stats();
    let o = run_on(&proxy.url(), &state, &project, &["destroy", "--yes"]);
    let stats = proxy.stats();
    assert!(o.status.success(), "{stats:?}\n{}", text(&o));
    assert!(
        stats.failed_before > before.failed_before && stats.dropped_after > before.dropped_after,
        "faults were injected: {stats:?}"
    );
    assert_nothing_left(&project).await;
}

/// `watch` on GCP, with the API out of reach for a while: the firewall is
/// deleted behind mkso's back (plain HTTP) and `watch` starts while nothing
/// listens at the endpoint (connection refused). Its rounds fail and it keeps
/// going, sooner than the interval (backoff); once the endpoint answers
/// again, a round recreates the firewall. Then `preview` finds nothing to do.
#[tokio::test(flavor = "multi_thread")]
async fn watch_keeps_trying_while_the_api_is_away_then_repairs() {
    use std::io::BufRead;

    use mkso_fault_proxy::{Api, FaultProxy, Faults};

    let (_d, state) = tmp();
    let project = format!("mkso-e2e-watch-{}", std::process::id());
    let o = run(&state, &project, &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let fw = list(&project, "global/firewalls").await.pop().unwrap();
    let url = format!(
        "{}/compute/v1/projects/{project}/global/firewalls/{fw}",
        gcp()
    );
    reqwest::Client::new().delete(url).send().await.unwrap();
    assert!(list(&project, "global/firewalls").await.is_empty());

    // An address where nothing listens (a proxy started, then stopped).
    let proxy = FaultProxy::start(&gcp(), Api::Gcp, Faults::default())
        .await
        .unwrap();
    let addr = proxy.addr();
    drop(proxy);
    let mut child = Command::new(BIN)
        .args([
            "watch",
            "--interval",
            "30s",
            "--json",
            "--stack",
            "gcp.cluster.QA",
        ])
        .env("MKSO_BACKEND_URL", format!("file://{}", state.display()))
        .env("MKSO_CONFIG__GCP__ENDPOINT", format!("http://{addr}"))
        .env("MKSO_CONFIG__GCP__CREDENTIALS", "anonymous")
        .env("MKSO_CONFIG__GCP__PROJECT", &project)
        .env_remove("MKSO_STACK")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<serde_json::Value>();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["event"] == "watch_round"
            {
                let _ = tx.send(v);
            }
        }
    });
    let mut failed_rounds = Vec::new();
    let mut proxy = None;
    let repaired = loop {
        let round = tokio::time::timeout(std::time::Duration::from_secs(240), rx.recv())
            .await
            .expect("a round ends within 4 minutes")
            .expect("watch is running");
        let failing = round["failing"].as_u64().unwrap_or(0) > 0 || round["error"].is_string();
        if failing && proxy.is_none() {
            // A failing round is retried sooner than the 30 s interval.
            let next = round["next_in_ms"].as_u64().unwrap();
            assert!(next < 30_000, "backoff, not the interval: {round}");
            failed_rounds.push(round);
            if failed_rounds.len() == 2 {
                // The API is back, at the same address.
                proxy = Some(
                    FaultProxy::start_on(addr, &gcp(), Api::Gcp, Faults::default())
                        .await
                        .unwrap(),
                );
            }
            continue;
        }
        if !failing && proxy.is_some() {
            break round;
        }
        assert!(
            proxy.is_some(),
            "no round succeeds while the API is away: {round}"
        );
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        repaired["drifted"].as_u64() >= Some(1) && repaired["repaired"].as_u64() >= Some(1),
        "the round after the API came back recreated the firewall: {repaired} (failed before: {failed_rounds:?})"
    );
    assert_eq!(list(&project, "global/firewalls").await, vec![fw]);
    let o = run(&state, &project, &["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(&state, &project, &["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    assert_nothing_left(&project).await;
}
