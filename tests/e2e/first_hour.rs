//! A new user's first hour (issue 15), with the real binaries: `outputs`
//! prints long values whole; a failed `up` writes no colour codes and no
//! repeated failure lines to a standard error that is not a terminal; a
//! mistyped stack name is refused before anything else, naming the stacks
//! that exist, and a new stack starts with `stack init` or `config set`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::json;

use crate::{run, text, tmp};

const BENCH: &str = env!("CARGO_BIN_EXE_data_bench");
const NETWORK: &str = env!("CARGO_BIN_EXE_aws_network");
const ENV: &[(&str, &str)] = &[("MKSO_CONFIG__BENCH__COUNT", "2")];

#[test]
fn outputs_prints_long_values_whole() {
    let (d, state) = tmp();
    let stack = "bench.data.Dev";
    let o = run(
        BENCH,
        &state,
        ENV,
        &crate::on_stack(&["up", "--yes"], stack),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(
        BENCH,
        &state,
        ENV,
        &crate::on_stack(&["state", "export"], stack),
    );
    let mut snap: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let id = format!("i-8902eae{}", "0123456789abcdef".repeat(8));
    let ids: Vec<String> = (0..6)
        .map(|i| format!("subnet-{i}{}", "f".repeat(20)))
        .collect();
    snap["outputs"]["instance_id"] = json!(id);
    snap["outputs"]["subnet_ids"] = json!(ids);
    snap["outputs"]["motd"] = json!(format!("{}\u{1b}[2J", "x".repeat(100)));
    let file = d.path().join("long.json");
    std::fs::write(&file, serde_json::to_vec(&snap).unwrap()).unwrap();
    let o = run(
        BENCH,
        &state,
        ENV,
        &crate::on_stack(
            &["state", "import", "--file", file.to_str().unwrap()],
            stack,
        ),
    );
    assert!(o.status.success(), "{}", text(&o));

    let o = run(BENCH, &state, ENV, &crate::on_stack(&["outputs"], stack));
    assert!(o.status.success(), "{}", text(&o));
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(t.contains(&format!("instance_id: \"{id}\"")), "{t}");
    assert!(
        t.contains(&format!(
            "subnet_ids: {}",
            serde_json::to_string(&ids).unwrap()
        )),
        "{t}"
    );
    // Whole, and still escaped.
    assert!(
        t.contains(&format!("motd: \"{}\\u001b[2J\"", "x".repeat(100))),
        "{t}"
    );
    assert!(!t.contains("..."), "nothing cut: {t}");
    assert!(!t.contains('\u{1b}'), "{t:?}");
}

/// An EC2 endpoint that refuses every request with a permanent error (an
/// invalid parameter), so a step fails at once without an emulator.
fn refusing_ec2_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            std::thread::spawn(move || {
                // Read the head and the body, then answer.
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        break p + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
                let len: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    match conn.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidParameterValue</Code><Message>this endpoint refuses every request</Message></Error></Errors><RequestID>first-hour</RequestID></Response>";
                let _ = write!(
                    conn,
                    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/xml;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            });
        }
    });
    format!("http://{addr}")
}

fn network_project(dir: &Path) -> &'static str {
    std::fs::write(dir.join("Mkso.yaml"), "name: aws-network\n").unwrap();
    let stack = "aws.network.FirstHour";
    std::fs::write(
        dir.join(format!("Mkso.{stack}.yaml")),
        "config:\n  aws:region: us-east-1\n  network:cidr: 10.10.0.0/16\n  network:zones: 1\n",
    )
    .unwrap();
    stack
}

fn failed_up(dir: &Path, stack: &str, endpoint: &str, env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(NETWORK);
    c.args(["up", "--yes", "--stack", stack, "--project-dir"])
        .arg(dir)
        .env(
            "MKSO_BACKEND_URL",
            format!("file://{}", dir.join("state").display()),
        )
        .env("AWS_ENDPOINT_URL", endpoint)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env_remove("MKSO_STACK")
        .env_remove("MKSO_LOG")
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null());
    c.envs(env.iter().copied());
    c.output().unwrap()
}

#[test]
fn a_failed_up_writes_no_colour_codes_and_no_repeated_failure_to_stderr() {
    let d = tempfile::tempdir().unwrap();
    let stack = network_project(d.path());
    let endpoint = refusing_ec2_endpoint();

    let o = failed_up(d.path(), stack, &endpoint, &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).to_string();
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    // The display tells: the failed step and the summary, once each.
    assert!(stdout.contains("up failed"), "{stdout}");
    assert_eq!(
        stdout.matches("  failed: create ").count(),
        1,
        "one summary line for the one failed step: {stdout}"
    );
    assert!(
        stdout.contains("this endpoint refuses every request"),
        "{stdout}"
    );
    // Standard error (not a terminal) has no escape codes and does not
    // repeat the failure.
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert!(
        !stderr.contains("ERROR")
            && !stderr.contains("step failed")
            && !stderr.contains("this endpoint refuses every request"),
        "{stderr}"
    );

    // MKSO_LOG=debug still logs the failed step; NO_COLOR and no terminal:
    // no escape codes either way.
    let o = failed_up(
        d.path(),
        stack,
        &endpoint,
        &[("MKSO_LOG", "debug"), ("NO_COLOR", "1")],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(stderr.contains("step failed"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}

fn bench_in(dir: &Path, stack: &str, args: &[&str]) -> Output {
    Command::new(BENCH)
        .args(args)
        .args(["--stack", stack])
        .env("MKSO_PROJECT_DIR", dir)
        .env(
            "MKSO_BACKEND_URL",
            format!("file://{}", dir.join("state").display()),
        )
        .env("MKSO_CONFIG__BENCH__COUNT", "2")
        .env_remove("MKSO_STACK")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

#[test]
fn a_mistyped_stack_is_refused_naming_the_stacks_that_exist() {
    let (_t, dir) = crate::bench_copy();
    // A stack with state but no stack file in this directory.
    let o = bench_in(&dir, "bench.data.Dev", &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::copy(
        dir.join("Mkso.bench.data.Dev.yaml"),
        dir.join("Mkso.bench.only.Dev.yaml"),
    )
    .unwrap();
    let o = bench_in(&dir, "bench.only.Dev", &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = bench_in(&dir, "bench.only.Dev", &["destroy", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    std::fs::remove_file(dir.join("Mkso.bench.only.Dev.yaml")).unwrap();

    let typo = "bench.data.dev";
    for cmd in [
        &["up", "--yes"][..],
        &["preview"],
        &["refresh", "--yes"],
        &["destroy", "--yes"],
        &["graph"],
        &["outputs"],
        &["history"],
        &["config", "get", "bench:count"],
        &["config", "ls"],
        &["config", "rm", "bench:count"],
        &["state", "export"],
    ] {
        let o = bench_in(&dir, typo, cmd);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {t}");
        let first = t.lines().next().unwrap_or_default();
        assert!(
            first.contains(&format!("stack {typo} does not exist"))
                && first.contains("no stack file")
                && first.contains(&format!("Mkso.{typo}.yaml"))
                && first.contains("no state"),
            "{cmd:?}: the first line says it: {t}"
        );
        for part in [
            "did you mean bench.data.Dev?",
            "bench.chain.Dev  (stack file)",
            "bench.data.Dev   (stack file, state)",
            "bench.only.Dev   (state)",
            &format!("stack init --stack {typo}"),
            &format!("config set --stack {typo}"),
        ] {
            assert!(t.contains(part), "{cmd:?}: {part}\n{t}");
        }
        // Nothing about config keys, and nothing written.
        assert!(!t.contains("bench:count`"), "{cmd:?}: {t}");
        assert!(!dir.join(format!("Mkso.{typo}.yaml")).exists());
        assert!(
            !dir.join(format!("state/stacks/{typo}")).exists(),
            "{cmd:?}"
        );
    }

    // `config set` on a stack that does not exist creates it, and says so,
    // naming the stacks that exist (a typo shows at once).
    let o = bench_in(
        &dir,
        "bench.set.Dev",
        &["config", "set", "bench:count", "2"],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("created")
            && text(&o).contains("new stack bench.set.Dev")
            && text(&o).contains("bench.data.Dev"),
        "{}",
        text(&o)
    );
    let o = bench_in(
        &dir,
        "bench.set.Dev",
        &["config", "set", "bench:count", "3"],
    );
    assert!(
        !text(&o).contains("created"),
        "only the first time: {}",
        text(&o)
    );

    // A new stack starts with `stack init` (an empty stack file) ...
    let o = bench_in(&dir, "bench.new.Dev", &["stack", "init"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(dir.join("Mkso.bench.new.Dev.yaml").exists());
    // `stack ls` lists it at once (a stack file, no state yet).
    let o = bench_in(&dir, "bench.new.Dev", &["stack", "ls"]);
    assert!(o.status.success(), "{}", text(&o));
    let line = text(&o)
        .lines()
        .find(|l| l.starts_with("bench.new.Dev "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("bench.new.Dev listed: {}", text(&o)));
    assert!(
        line.contains("data-bench") && line.contains(" 0 resources") && line.contains("never"),
        "{line}"
    );
    let o = bench_in(&dir, "bench.new.Dev", &["up", "--yes"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = bench_in(
        &dir,
        "bench.new.Dev",
        &["config", "set", "bench:revision", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let kept = std::fs::read_to_string(dir.join("Mkso.bench.new.Dev.yaml")).unwrap();
    assert!(kept.contains("bench:revision"), "{kept}");
    // ... which refuses an existing file, and a stack whose resources are
    // recorded (its file is to be restored, not replaced by an empty one).
    let o = bench_in(&dir, "bench.new.Dev", &["stack", "init"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("already has its stack file"),
        "{}",
        text(&o)
    );
    std::fs::remove_file(dir.join("Mkso.bench.new.Dev.yaml")).unwrap();
    let o = bench_in(&dir, "bench.new.Dev", &["stack", "init"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("2 recorded resources"), "{}", text(&o));
    assert!(!dir.join("Mkso.bench.new.Dev.yaml").exists());
    // The program-running commands say the same for the missing file.
    let o = bench_in(&dir, "bench.new.Dev", &["preview"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("2 recorded resources"), "{}", text(&o));

    // ... or with `config set`, which creates the stack file.
    let o = bench_in(
        &dir,
        "bench.other.Dev",
        &["config", "set", "bench:count", "1"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = bench_in(&dir, "bench.other.Dev", &["preview"]);
    assert!(o.status.success(), "{}", text(&o));
}
