//! What must never happen to a running update: its lock broken by a careless
//! `unlock`, its work discarded, its stack taken by another project's
//! program; and the stop signals of CI runners and terminals.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::{run, text, tmp};

const BENCH: &str = env!("CARGO_BIN_EXE_data_bench");
const NETWORK: &str = env!("CARGO_BIN_EXE_aws_network");

fn bench(cmd: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = cmd.iter().map(|s| s.to_string()).collect();
    v.extend(["--stack".to_string(), "bench.data.Dev".to_string()]);
    v
}

fn spawn(state: &std::path::Path, env: &[(&str, &str)], args: &[String]) -> std::process::Child {
    Command::new(BENCH)
        .args(args)
        .env("MKSO_BACKEND_URL", format!("file://{}", state.display()))
        .env_remove("MKSO_STACK")
        .env_remove("MKSO_PROJECT_DIR")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn as_strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// Waits until the running update has recorded something (its journal exists).
fn wait_for_journal(state: &std::path::Path) {
    let journal = state.join("stacks/bench.data.Dev/journal.log");
    for _ in 0..200 {
        if journal.exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("the update never journaled a step");
}

#[test]
fn sigterm_and_sighup_release_the_lock_and_the_next_up_converges() {
    for sig in ["-TERM", "-HUP"] {
        let (_d, state) = tmp();
        let env = [
            ("MKSO_CONFIG__BENCH__COUNT", "30"),
            ("MKSO_CONFIG__BENCH__LATENCY_MS", "300"),
        ];
        let child = spawn(&state, &env, &bench(&["up", "--yes", "--parallel", "2"]));
        wait_for_journal(&state);
        let ok = Command::new("kill")
            .args([sig, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(ok.success());
        let o = child.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(130), "{sig}: {}", text(&o));
        assert!(text(&o).contains("Cancelling"), "{}", text(&o));
        assert!(
            !state.join("stacks/bench.data.Dev/lock.json").exists(),
            "{sig}: the lock is released"
        );
        // No `unlock` needed: the next up finishes the job.
        let o = run(
            BENCH,
            &state,
            &env,
            &as_strs(&bench(&["up", "--yes", "--parallel", "0"])),
        );
        assert!(o.status.success(), "{sig}: {}", text(&o));
        let o = run(
            BENCH,
            &state,
            &env,
            &as_strs(&bench(&["preview", "--expect-no-changes"])),
        );
        assert_eq!(o.status.code(), Some(0), "{sig}: {}", text(&o));
    }
}

/// SIGHUP when the terminal is gone: writing the "Cancelling" message fails
/// (here standard error is a pipe whose reader is closed), and the update is
/// still cancelled, its lock released, and the next up converges.
#[test]
fn sighup_with_standard_error_closed_still_cancels_and_releases_the_lock() {
    let (_d, state) = tmp();
    let env = [
        ("MKSO_CONFIG__BENCH__COUNT", "30"),
        ("MKSO_CONFIG__BENCH__LATENCY_MS", "300"),
    ];
    let mut child = spawn(&state, &env, &bench(&["up", "--yes", "--parallel", "2"]));
    drop(child.stderr.take());
    wait_for_journal(&state);
    let ok = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let o = child.wait_with_output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(130), "{out}");
    assert!(out.contains("up cancelled"), "{out}");
    assert!(
        !state.join("stacks/bench.data.Dev/lock.json").exists(),
        "the lock is released"
    );
    let o = run(
        BENCH,
        &state,
        &env,
        &as_strs(&bench(&["up", "--yes", "--parallel", "0"])),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        BENCH,
        &state,
        &env,
        &as_strs(&bench(&["preview", "--expect-no-changes"])),
    );
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

/// Runs data_bench with `url` as its backend (S3 on moto: the endpoint and
/// fake keys come along).
fn bench_on(url: &str, env: &[(&str, &str)], args: &[String]) -> Command {
    let mut c = Command::new(BENCH);
    c.args(args)
        .env("MKSO_BACKEND_URL", url)
        .env_remove("MKSO_STACK")
        .env_remove("MKSO_PROJECT_DIR")
        .envs(env.iter().copied())
        .stdin(Stdio::null());
    if url.starts_with("s3://") {
        c.env("AWS_ENDPOINT_URL", crate::moto())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", "us-east-1");
    }
    c
}

/// The race: `unlock` while an update runs, then `destroy`. A plain
/// unlock refuses (the holder is alive); `--force` breaks it, and then the
/// running update stops at its next write, says so and fails — it never
/// reports success for work that was not recorded — and the next `up`
/// converges to exactly the declared resources.
fn unlock_race(url: &str) {
    let env = [
        ("MKSO_CONFIG__BENCH__COUNT", "60"),
        ("MKSO_CONFIG__BENCH__LATENCY_MS", "100"),
    ];
    let out = |args: &[&str]| {
        let args: Vec<String> = bench(args);
        bench_on(url, &env, &args).output().unwrap()
    };
    let child = bench_on(url, &env, &bench(&["up", "--yes", "--parallel", "1"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A plain unlock refuses the running holder (polled until the update
    // holds its lock).
    let mut refused = None;
    for _ in 0..100 {
        let o = out(&["unlock"]);
        if o.status.code() == Some(4) {
            refused = Some(o);
            break;
        }
        assert_eq!(o.status.code(), Some(0), "{}", text(&o));
        assert!(text(&o).contains("is not locked"), "{}", text(&o));
        std::thread::sleep(Duration::from_millis(50));
    }
    let o = refused.expect("the update took its lock");
    let msg = text(&o);
    assert!(
        msg.contains("still running") && msg.contains("--force"),
        "{msg}"
    );
    assert!(msg.contains(&format!("pid {}", child.id())), "{msg}");
    // Let it record a few steps.
    std::thread::sleep(Duration::from_millis(500));

    let o = out(&["unlock", "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("warning"), "{}", text(&o));
    let o = out(&["destroy", "--yes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    let o = child.wait_with_output().unwrap();
    let t = text(&o);
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("was broken"), "{t}");
    assert!(!t.contains("up succeeded"), "{t}");

    // Whatever the fenced update did after the break is adopted; the next up
    // converges to exactly the 60 declared resources.
    let o = out(&["up", "--yes", "--parallel", "0"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = out(&["preview", "--expect-no-changes"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = out(&["state", "export"]);
    let snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(snap["resources"].as_array().unwrap().len(), 60);
    assert!(
        snap["pending"].is_null(),
        "nothing left pending: {}",
        snap["pending"]
    );
}

#[test]
fn unlock_never_breaks_a_live_update_and_force_fences_it_locally() {
    let (_d, state) = tmp();
    unlock_race(&format!("file://{}", state.display()));
    let orphans = state.join("stacks/bench.data.Dev/orphans");
    assert!(
        !orphans.exists() || std::fs::read_dir(&orphans).unwrap().next().is_none(),
        "no orphan records are left behind (any were adopted and removed)"
    );
}

#[test]
fn unlock_never_breaks_a_live_update_and_force_fences_it_on_s3() {
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(crate::aws_app::ensure_bucket());
    unlock_race(&format!(
        "s3://{}/fence-{}",
        crate::aws_app::BUCKET,
        std::process::id()
    ));
}

/// One backend, two programs, one stack name: the second program refuses the
/// stack before anything else, naming both projects.
#[test]
fn a_stack_of_another_project_is_refused() {
    let (d, state) = tmp();
    // data_bench's project, with a stack file for the borrowed stack name.
    let bench_dir = d.path().join("bench");
    std::fs::create_dir_all(&bench_dir).unwrap();
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/data_bench/Mkso.yaml"),
        bench_dir.join("Mkso.yaml"),
    )
    .unwrap();
    std::fs::write(
        bench_dir.join("Mkso.aws.network.QA.yaml"),
        "config:\n  bench:count: 3\n",
    )
    .unwrap();
    let stack = ["--stack", "aws.network.QA"];
    let dir = bench_dir.to_str().unwrap();
    let env = [("MKSO_PROJECT_DIR", dir)];
    let mut up = vec!["up", "--yes"];
    up.extend(stack);
    let o = run(BENCH, &state, &env, &up);
    assert!(o.status.success(), "{}", text(&o));
    for cmd in [
        &["up", "--yes"][..],
        &["preview"],
        &["destroy", "--yes"],
        &["refresh", "--yes"],
    ] {
        let mut args = cmd.to_vec();
        args.extend(stack);
        let o = run(NETWORK, &state, &[], &args);
        let msg = text(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {msg}");
        assert!(
            msg.contains("`data-bench`")
                && msg.contains("`aws-network`")
                && msg.contains("aws.network.QA"),
            "{cmd:?}: {msg}"
        );
    }
    // Nothing was changed: the first program still sees its 3 resources.
    let mut preview = vec!["preview", "--expect-no-changes"];
    preview.extend(stack);
    let o = run(BENCH, &state, &env, &preview);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // Listings name each stack's project.
    let o = run(BENCH, &state, &env, &["stack", "ls"]);
    assert!(text(&o).contains("data-bench"), "{}", text(&o));
}

/// On S3 a lock is a lease. A holder on another machine that stopped (its
/// record written here by hand, as a killed CI runner leaves it) blocks `up`
/// (exit 4, naming it) until its lease runs out unrenewed; then `up` takes
/// it over, saying so. A live holder renews its lease and is never taken
/// over, however long it runs.
#[test]
fn an_s3_lock_is_a_lease_that_frees_itself_and_a_live_holder_keeps_it() {
    use mkso::state::{Backend, S3Backend};
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(crate::aws_app::ensure_bucket());
    let prefix = format!("lease-{}", std::process::id());
    let url = format!("s3://{}/{prefix}", crate::aws_app::BUCKET);
    let env = [
        ("MKSO_LOCK_LEASE", "3s"),
        ("MKSO_CONFIG__BENCH__COUNT", "3"),
        ("MKSO_CONFIG__BENCH__LATENCY_MS", "10"),
    ];
    let out = |args: &[&str]| bench_on(&url, &env, &bench(args)).output().unwrap();

    let backend =
        S3Backend::new(crate::aws_app::BUCKET, prefix.clone()).with_endpoint(crate::moto());
    let stack = mkso::StackName::new("bench.data.Dev").unwrap();
    let record = serde_json::json!({
        "user": "ci", "host": "runner-elsewhere", "pid": 4242, "command": "up",
        "since": "2026-12-01T00:00:00Z", "token": "0123456789abcdef", "lease_secs": 3,
    });
    let taken = rt
        .block_on(backend.create_lock(&stack, &serde_json::to_vec(&record).unwrap()))
        .unwrap();
    assert!(taken.is_none(), "the stack was free");
    let o = out(&["up", "--yes"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains("ci@runner-elsewhere (pid 4242)"),
        "{}",
        text(&o)
    );
    std::thread::sleep(Duration::from_secs(4));
    let o = out(&["up", "--yes"]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(
        t.contains("took over the lock of ci@runner-elsewhere (pid 4242)")
            && t.contains("its lease expired"),
        "{t}"
    );

    // (data_bench's resources live in its process: start from nothing.)
    let o = out(&["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    // A live holder: 4 creates of 2 s in a chain, with a lease of 3 s.
    let slow = [
        ("MKSO_LOCK_LEASE", "3s"),
        ("MKSO_CONFIG__BENCH__COUNT", "4"),
        ("MKSO_CONFIG__BENCH__SHAPE", "chain"),
        ("MKSO_CONFIG__BENCH__LATENCY_MS", "2000"),
    ];
    let child = bench_on(&url, &slow, &bench(&["up", "--yes"]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(5));
    let o = out(&["up", "--yes"]);
    assert_eq!(o.status.code(), Some(4), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("pid {}", child.id())),
        "{}",
        text(&o)
    );
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the live holder kept its lock: {}",
        text(&o)
    );

    // A lease that is not a duration is refused, naming the variable.
    let o = bench_on(
        &url,
        &[("MKSO_LOCK_LEASE", "soon")],
        &bench(&["up", "--yes"]),
    )
    .output()
    .unwrap();
    assert!(!o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("MKSO_LOCK_LEASE is `soon`"),
        "{}",
        text(&o)
    );
    assert!(!text(&o).contains("taken by another"), "{}", text(&o));
}
