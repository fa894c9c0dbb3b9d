//! End-to-end tests of the real stack binaries (one test binary, modules per stack).

mod aws_app;
mod aws_network;
mod careless;
mod data_bench;
mod first_hour;
mod gcp_cluster;
mod graphs;
mod hostile_input;
mod lock_safety;
mod saved_plans;
mod timeline;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `cmd` followed by `--stack STACK`.
pub fn on_stack<'a>(cmd: &[&'a str], stack: &'a str) -> Vec<&'a str> {
    let mut v = cmd.to_vec();
    v.extend_from_slice(&["--stack", stack]);
    v
}

/// Runs a stack binary with its state in `state_dir` and extra environment.
pub fn run(bin: &str, state_dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(bin);
    cmd.args(args)
        .env(
            "MKSO_BACKEND_URL",
            format!("file://{}", state_dir.display()),
        )
        .env_remove("MKSO_STACK")
        .env_remove("MKSO_PROJECT_DIR")
        .stdin(std::process::Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("the stack binary runs")
}

/// Runs a command with `input` on its standard input; returns its output.
pub fn output_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    use std::io::Write;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the stack binary runs");
    child
        .stdin
        .take()
        .expect("stdin is piped")
        .write_all(input)
        .expect("stdin takes the input");
    child.wait_with_output().expect("the stack binary runs")
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Output with durations, times and random ids replaced, for snapshots.
pub fn normalise(s: &str) -> String {
    let mut out = String::new();
    for line in s.lines() {
        let mut l = line.to_string();
        // "(0.12s)" and "in 0.09s"
        for marker in ["(", "in "] {
            let mut from = 0;
            while let Some(pos) = l[from..].find(marker) {
                let start = from + pos + marker.len();
                let rest = &l[start..];
                let end = rest.find('s').unwrap_or(0);
                if end > 0 && rest[..end].chars().all(|c| c.is_ascii_digit() || c == '.') {
                    l.replace_range(start..start + end, "[t]");
                }
                from = start;
            }
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}

/// A temporary copy of the `data_bench` project (`Mkso.yaml` and its stack
/// files) in `<tmp>/data_bench`: tests never touch the repository's files.
pub fn bench_copy() -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("data_bench");
    std::fs::create_dir(&dir).unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("data_bench");
    for f in [
        "Mkso.yaml",
        "Mkso.bench.data.Dev.yaml",
        "Mkso.bench.chain.Dev.yaml",
    ] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    (tmp, dir)
}

pub fn tmp() -> (tempfile::TempDir, PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("state");
    (d, p)
}

/// The moto endpoint (set by `scripts/test.sh`).
pub fn moto() -> String {
    std::env::var("MKSO_MOTO_ENDPOINT").expect(
        "MKSO_MOTO_ENDPOINT is not set: run the tests with `bash scripts/test.sh`, which starts the emulators",
    )
}

/// An EC2 client on moto.
pub async fn ec2() -> aws_sdk_ec2::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(moto())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    aws_sdk_ec2::Client::new(&conf)
}
