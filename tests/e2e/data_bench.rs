//! The `data_bench` stack binary: the README's quick start, exit codes, JSON
//! events, Ctrl-C and kill -9.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{normalise, run, text, tmp};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_data_bench");

/// `cmd` on data_bench's stack, `bench.data.Dev`.
pub(crate) fn args<'a>(cmd: &[&'a str]) -> Vec<&'a str> {
    crate::on_stack(cmd, "bench.data.Dev")
}

#[test]
fn up_preview_outputs_destroy() {
    let (_d, state) = tmp();
    let env = [("MKSO_CONFIG__BENCH__COUNT", "5")];
    // One step at a time, so the order of the progress lines is stable.
    let o = run(
        BIN,
        &state,
        &env,
        &args(&["up", "--yes", "--parallel", "1"]),
    );
    assert!(o.status.success(), "{}", text(&o));
    insta::assert_snapshot!("up_5", normalise(&text(&o)));

    let o = run(
        BIN,
        &state,
        &env,
        &args(&["preview", "--expect-no-changes"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = run(BIN, &state, &env, &args(&["outputs", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v, serde_json::json!({"count": 5}));

    // Two more resources and a changed value: preview shows them, exit 3 with --expect-no-changes.
    let env2 = [
        ("MKSO_CONFIG__BENCH__COUNT", "7"),
        ("MKSO_CONFIG__BENCH__REVISION", "1"),
        ("MKSO_CONFIG__BENCH__REVISE_EVERY", "4"),
    ];
    let o = run(
        BIN,
        &state,
        &env2,
        &args(&["preview", "--diff", "--expect-no-changes"]),
    );
    assert_eq!(o.status.code(), Some(3), "{}", text(&o));
    insta::assert_snapshot!("preview_diff_7", normalise(&text(&o)));

    // --json: newline-delimited events; the last line is the summary.
    let o = run(BIN, &state, &env2, &args(&["up", "--yes", "--json"]));
    assert!(o.status.success(), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let last = lines.last().unwrap();
    assert_eq!(last["event"], "summary");
    assert_eq!(
        last["changes"],
        serde_json::json!({"create": 2, "same": 3, "update": 2})
    );
    assert!(lines.iter().any(|l| l["event"] == "plan_ready"));

    let o = run(BIN, &state, &env2, &args(&["destroy", "--yes"]));
    assert!(o.status.success(), "{}", text(&o));
    let o = run(BIN, &state, &env2, &args(&["state", "export"]));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(snap["resources"], serde_json::json!([]));
    let o = run(BIN, &state, &env2, &args(&["history", "--json"]));
    let h: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(h.as_array().unwrap().len(), 3);
}

#[test]
fn refuses_without_yes_and_names_bad_input() {
    let (_d, state) = tmp();
    let o = run(
        BIN,
        &state,
        &[("MKSO_CONFIG__BENCH__COUNT", "2")],
        &args(&["up"]),
    );
    assert_eq!(o.status.code(), Some(5), "{}", text(&o));
    assert!(text(&o).contains("pass --yes"), "{}", text(&o));
    assert!(
        !state.join("stacks/bench.data.Dev/snapshot.json").exists(),
        "nothing written"
    );

    let o = run(BIN, &state, &[], &["preview", "--stack", "bench"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("invalid stack name `bench`") && text(&o).contains("aws.network.QA"),
        "{}",
        text(&o)
    );

    let o = run(
        BIN,
        &state,
        &[("MKSO_CONFIG__BENCH__COUNT", "many")],
        &args(&["preview"]),
    );
    assert_eq!(o.status.code(), Some(2));
    let t = text(&o);
    // The value came from the environment: the variable is named, not the file.
    assert!(
        t.contains("`bench:count`")
            && t.contains("integer")
            && t.contains("MKSO_CONFIG__BENCH__COUNT"),
        "{t}"
    );

    let o = run(
        BIN,
        &state,
        &[("MKSO_CONFIG__BENCH__COLOR", "red")],
        &args(&["preview"]),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).contains("MKSO_CONFIG__BENCH__COLOR"),
        "{}",
        text(&o)
    );

    let o = run(BIN, &state, &[], &["preview"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("--stack"), "{}", text(&o));
}

#[test]
fn works_from_any_directory_and_help_everywhere() {
    let (_d, state) = tmp();
    let o = Command::new(BIN)
        .args(["preview", "--stack", "bench.data.Dev"])
        .env("MKSO_BACKEND_URL", format!("file://{}", state.display()))
        .env("MKSO_CONFIG__BENCH__COUNT", "1")
        .current_dir("/")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    for cmd in [
        "preview", "up", "destroy", "refresh", "outputs", "history", "config", "stack", "unlock",
        "graph", "state",
    ] {
        let o = Command::new(BIN).args([cmd, "--help"]).output().unwrap();
        assert!(o.status.success(), "{cmd} --help");
    }
}

/// Starts `up --parallel 4` of the stack in the background.
fn spawn_up(state: &std::path::Path, env: &[(&str, &str)], capture: bool) -> std::process::Child {
    let out = || {
        if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    Command::new(BIN)
        .args([
            "up",
            "--yes",
            "--parallel",
            "4",
            "--stack",
            "bench.data.Dev",
        ])
        .env("MKSO_BACKEND_URL", format!("file://{}", state.display()))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(out())
        .stderr(out())
        .spawn()
        .unwrap()
}

#[test]
fn first_ctrl_c_finishes_in_flight_steps_and_saves_state() {
    let (_d, state) = tmp();
    let env = [
        ("MKSO_CONFIG__BENCH__COUNT", "40"),
        ("MKSO_CONFIG__BENCH__LATENCY_MS", "400"),
    ];
    let child = spawn_up(&state, &env, true);
    std::thread::sleep(Duration::from_millis(1000));
    let ok = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", text(&o));
    assert!(text(&o).contains("Cancelling"), "{}", text(&o));
    assert!(
        !state.join("stacks/bench.data.Dev/lock.json").exists(),
        "lock released"
    );

    let o = run(BIN, &state, &env, &args(&["state", "export"]));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let n = snap["resources"].as_array().unwrap().len();
    assert!(n > 0 && n < 40, "some, not all, resources recorded: {n}");
    assert!(snap["pending"].is_null(), "nothing left pending");

    // The next up creates the rest.
    let o = run(
        BIN,
        &state,
        &env,
        &args(&["up", "--yes", "--parallel", "0"]),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        BIN,
        &state,
        &env,
        &args(&["preview", "--expect-no-changes"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn kill_9_leaves_loadable_state_and_the_next_up_converges() {
    let (_d, state) = tmp();
    let env = [
        ("MKSO_CONFIG__BENCH__COUNT", "40"),
        ("MKSO_CONFIG__BENCH__LATENCY_MS", "300"),
    ];
    let mut child = spawn_up(&state, &env, false);
    std::thread::sleep(Duration::from_millis(1000));
    child.kill().unwrap(); // SIGKILL
    let _ = child.wait();

    // The dead process's lock is still there, but its holder is gone: the
    // next `up` takes it over without `unlock`, naming whose it was.
    assert!(state.join("stacks/bench.data.Dev/lock.json").exists());
    let o = run(
        BIN,
        &state,
        &env,
        &args(&["up", "--yes", "--parallel", "0"]),
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("took over the lock of")
            && text(&o).contains(&format!("pid {}", child.id())),
        "{}",
        text(&o)
    );
    assert!(
        text(&o).contains("recovered"),
        "the journal was replayed: {}",
        text(&o)
    );
    let o = run(
        BIN,
        &state,
        &env,
        &args(&["preview", "--expect-no-changes"]),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = run(BIN, &state, &env, &args(&["state", "export"]));
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(snap["resources"].as_array().unwrap().len(), 40);
}
