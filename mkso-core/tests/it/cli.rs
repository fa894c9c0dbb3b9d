//! The command line, run in-process through `Runner::run`, against a project
//! in a temporary directory.

use std::path::Path;

use mkso::Runner;
use mkso::builtin::{Data, DataArgs};
use mkso::cli::{EXIT_CHANGES, EXIT_INVALID, EXIT_LOCKED, EXIT_NOT_CONFIRMED, EXIT_OK};
use mkso::prelude::*;
use mkso::state::{LocalBackend, StateStore};
use serde_json::json;

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct App {
    size: u32,
}

fn app(stack: &Stack) -> Result<(), mkso::Error> {
    // The stack file's `other:key` is kept by config edits, read by nobody.
    stack.declare_config_namespace("other");
    let cfg: App = stack.config("app")?;
    let mut last = None;
    for i in 0..cfg.size {
        last = Some(Data::new(
            stack,
            &format!("d{i}"),
            DataArgs::default().value(json!(i)),
            ResourceOptions::new(),
        )?);
    }
    if let Some(d) = last {
        stack.export("last", d.value());
    }
    Ok(())
}

fn project(dir: &Path, size: u32) {
    std::fs::write(
        dir.join("Mkso.yaml"),
        "name: cli-test\nhistory:\n  keep: 2\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("Mkso.cli.test.Dev.yaml"),
        format!("# kept comment-free\nconfig:\n  app:size: {size}\n  other:key: kept\n"),
    )
    .unwrap();
}

fn run(dir: &Path, args: &[&str]) -> i32 {
    let mut v = vec![
        "app",
        "--project-dir",
        dir.to_str().unwrap(),
        "--stack",
        "cli.test.Dev",
    ];
    v.extend_from_slice(args);
    // Runner::run builds its own runtime: call it off the test's runtime.
    let runner = Runner::new(app);
    let v: Vec<String> = v.into_iter().map(String::from).collect();
    std::thread::spawn(move || runner.run(v)).join().unwrap()
}

fn store(dir: &Path) -> StateStore {
    StateStore::new(
        std::sync::Arc::new(LocalBackend::new(dir.join(".mkso"))),
        mkso::StackName::new("cli.test.Dev").unwrap(),
    )
}

#[test]
fn up_preview_destroy_cycle_with_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    project(dir, 3);
    // No terminal and no --yes: refused, nothing written.
    assert_eq!(run(dir, &["up"]), EXIT_NOT_CONFIRMED);
    assert!(
        !dir.join(".mkso/stacks/cli.test.Dev/snapshot.json").exists() || {
            let rt = tokio::runtime::Runtime::new().unwrap();
            rt.block_on(store(dir).load()).unwrap().view.live.is_empty()
        }
    );
    assert_eq!(run(dir, &["up", "--yes"]), EXIT_OK);
    assert_eq!(run(dir, &["preview", "--expect-no-changes"]), EXIT_OK);
    assert_eq!(run(dir, &["outputs", "--json"]), EXIT_OK);
    // A config change is a change.
    assert_eq!(run(dir, &["config", "set", "app:size", "4"]), EXIT_OK);
    let text = std::fs::read_to_string(dir.join("Mkso.cli.test.Dev.yaml")).unwrap();
    assert!(
        text.contains("other:key: kept") && text.contains("app:size: '4'"),
        "{text}"
    );
    assert_eq!(run(dir, &["preview", "--expect-no-changes"]), EXIT_CHANGES);
    assert_eq!(run(dir, &["up", "--yes", "--json"]), EXIT_OK);
    assert_eq!(run(dir, &["history"]), EXIT_OK);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let h = rt.block_on(store(dir).history()).unwrap();
    assert_eq!(h.len(), 2, "history trimmed to keep: 2");
    assert_eq!(run(dir, &["graph", "--format", "dot"]), EXIT_OK);
    assert_eq!(
        run(
            dir,
            &[
                "state",
                "export",
                "--file",
                dir.join("export.json").to_str().unwrap()
            ]
        ),
        EXIT_OK
    );
    assert_eq!(run(dir, &["destroy", "--yes"]), EXIT_OK);
    let view = rt.block_on(store(dir).load()).unwrap().view;
    assert!(view.live.is_empty() && view.outputs.is_empty());
    // Import the exported state back.
    assert_eq!(
        run(
            dir,
            &[
                "state",
                "import",
                "--file",
                dir.join("export.json").to_str().unwrap()
            ]
        ),
        EXIT_OK
    );
    let view = rt.block_on(store(dir).load()).unwrap().view;
    assert_eq!(view.live.len(), 4);
    assert_eq!(
        run(dir, &["stack", "rm"]),
        1,
        "refuses while resources are recorded"
    );
    assert_eq!(run(dir, &["stack", "rm", "--force"]), EXIT_OK);
    assert_eq!(run(dir, &["stack", "ls"]), EXIT_OK);
}

#[test]
fn bad_input_exit_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    project(dir, 1);
    let d = dir.to_str().unwrap();
    let bad = Runner::new(app);
    let code = std::thread::spawn(move || {
        bad.run([
            "app",
            "--project-dir",
            "/nonexistent/x",
            "--stack",
            "cli.test.Dev",
            "preview",
        ])
    })
    .join()
    .unwrap();
    assert_eq!(code, EXIT_INVALID, "no Mkso.yaml");
    let r = Runner::new(app);
    let d2 = d.to_string();
    let code = std::thread::spawn(move || {
        r.run([
            "app",
            "--project-dir",
            &d2,
            "--stack",
            "not-dotted",
            "preview",
        ])
    })
    .join()
    .unwrap();
    assert_eq!(code, EXIT_INVALID, "invalid stack name");
    assert_eq!(run(dir, &["config", "set", "app:size", "lots"]), EXIT_OK);
    assert_eq!(run(dir, &["preview"]), EXIT_INVALID, "mistyped config");
    assert_eq!(run(dir, &["config", "rm", "app:size"]), EXIT_OK);
    assert_eq!(run(dir, &["preview"]), EXIT_INVALID, "missing config");
    assert_eq!(run(dir, &["config", "set", "app:size", "1"]), EXIT_OK);
    // A held lock: exit 4; its holder (this process) is alive, so a plain
    // unlock refuses; --force breaks it.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let guard = rt.block_on(store(dir).lock("up")).unwrap();
    assert_eq!(run(dir, &["up", "--yes"]), EXIT_LOCKED);
    std::mem::forget(guard);
    assert_eq!(
        run(dir, &["unlock"]),
        EXIT_LOCKED,
        "a live holder is never broken"
    );
    assert_eq!(run(dir, &["unlock", "--force"]), EXIT_OK);
    assert_eq!(run(dir, &["up", "--yes"]), EXIT_OK);
    // A corrupt snapshot is refused (non-zero) and not overwritten.
    let snap = dir.join(".mkso/stacks/cli.test.Dev/snapshot.json");
    let mut bytes = std::fs::read(&snap).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 1;
    std::fs::write(&snap, &bytes).unwrap();
    assert_ne!(run(dir, &["up", "--yes"]), EXIT_OK);
    assert_eq!(std::fs::read(&snap).unwrap(), bytes);
    assert!(
        !dir.join(".mkso/stacks/cli.test.Dev/lock.json").exists(),
        "lock released"
    );
}

/// Issue 15, item 5: a missing key that the program reads into a `Secret`
/// is to be added with `config set --secret` (its value on standard input),
/// never with a plain `config set` that would store it in clear. The
/// program runs through `Runner::run` in a child process (this test binary,
/// run again) so that its standard error and input are the real ones.
#[test]
fn a_missing_secret_is_to_be_set_with_config_set_secret() {
    use std::io::Write;
    use std::process::{Command, Stdio};

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Db {
        #[allow(dead_code)]
        user: String,
        password: mkso::secrets::Secret<String>,
    }
    fn db(stack: &Stack) -> Result<(), mkso::Error> {
        let cfg: Db = stack.config("db")?;
        stack.export("password", cfg.password.into_output());
        Ok(())
    }
    const CHILD: &str = "MKSO_IT_SECRET_CHILD_ARGS";
    if let Ok(args) = std::env::var(CHILD) {
        let args: Vec<String> = serde_json::from_str(&args).unwrap();
        std::process::exit(Runner::new(db).run(args));
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("Mkso.yaml"), "name: cli-secret\n").unwrap();
    let file = dir.join("Mkso.cli.secret.Dev.yaml");
    std::fs::write(&file, "config:\n  db:user: admin\n").unwrap();
    let run = |args: &[&str], stdin: &str| {
        let mut argv = vec![
            "db",
            "--project-dir",
            dir.to_str().unwrap(),
            "--stack",
            "cli.secret.Dev",
        ];
        argv.extend_from_slice(args);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cli::a_missing_secret_is_to_be_set_with_config_set_secret",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, serde_json::to_string(&argv).unwrap())
            .env("MKSO_PASSPHRASE", "correct horse battery staple")
            .env_remove("MKSO_STACK")
            .env_remove("MKSO_PROJECT_DIR")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code(), err)
    };

    let (code, err) = run(&["preview"], "");
    assert_eq!(code, Some(EXIT_INVALID), "{err}");
    assert!(
        err.contains("missing config key `db:password`")
            && err.contains("`config set --secret db:password`")
            && err.contains("standard input"),
        "{err}"
    );
    assert!(!err.contains("config set db:password"), "{err}");

    // Doing as told works: the value is read from standard input, sealed.
    let (code, err) = run(&["config", "set", "--secret", "db:password"], "hunter2\n");
    assert_eq!(code, Some(EXIT_OK), "{err}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("secure:") && !text.contains("hunter2"),
        "{text}"
    );
    let (code, err) = run(&["preview"], "");
    assert_eq!(code, Some(EXIT_OK), "{err}");
}

/// Issue 10, item 5: a failed step's kind is in `--json` (`step_failed`),
/// the display hints at what to do, the exit code is 1; the summary's JSON
/// and its human line list the changes in the order they always had. The
/// program runs through `Runner::run` in a child process (this test binary,
/// run again) so that its standard output is the real one.
#[test]
fn a_failed_step_has_its_kind_in_json_and_a_hint_on_the_display() {
    use std::process::{Command, Stdio};

    use mkso::testing::TestProvider;

    const CHILD: &str = "MKSO_IT_KINDS_CHILD_ARGS";
    const VARIANT: &str = "MKSO_IT_KINDS_VARIANT";
    fn things(stack: &Stack) -> Result<(), mkso::Error> {
        let variant = std::env::var(VARIANT).unwrap_or_default();
        let data: &[(&str, i64)] = match variant.as_str() {
            "2" => &[("x", 2), ("y", 1), ("w", 1)],
            _ => &[("x", 1), ("y", 1), ("z", 1)],
        };
        for (name, v) in data {
            Data::new(
                stack,
                name,
                DataArgs::default().value(json!(v)),
                ResourceOptions::new(),
            )?;
        }
        if variant == "fail" {
            crate::Thing::new(
                stack,
                "a",
                crate::ThingArgs::default().value(json!(1)),
                ResourceOptions::new(),
            )?;
        }
        Ok(())
    }
    if let Ok(args) = std::env::var(CHILD) {
        let args: Vec<String> = serde_json::from_str(&args).unwrap();
        let runner = Runner::new(things).provider(None, |_| {
            Ok(std::sync::Arc::new(TestProvider::for_package("test").fail(
                "create",
                "a",
                None,
                mkso::ProviderError::permanent("quota exceeded").with_code("LimitExceeded"),
            )))
        });
        std::process::exit(runner.run(args));
    }

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("Mkso.yaml"), "name: cli-kinds\n").unwrap();
    std::fs::write(dir.join("Mkso.cli.kinds.Dev.yaml"), "config: {}\n").unwrap();
    let run = |variant: &str, args: &[&str]| {
        let mut argv = vec![
            "things",
            "--project-dir",
            dir.to_str().unwrap(),
            "--stack",
            "cli.kinds.Dev",
        ];
        argv.extend_from_slice(args);
        let o = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cli::a_failed_step_has_its_kind_in_json_and_a_hint_on_the_display",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, serde_json::to_string(&argv).unwrap())
            .env(VARIANT, variant)
            .env_remove("MKSO_STACK")
            .env_remove("MKSO_PROJECT_DIR")
            .env_remove("MKSO_BACKEND_URL")
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        (o.status.code(), out, err)
    };
    // The JSON lines of a run's standard output (the test harness of the
    // child writes the test's name first, with no line break).
    let json_lines = |out: &str| -> Vec<String> {
        out.lines()
            .filter_map(|l| l.find("{\"event\":").map(|at| l[at..].to_string()))
            .collect()
    };
    let event = |lines: &[String], name: &str| -> String {
        lines
            .iter()
            .find(|l| l.starts_with(&format!("{{\"event\":\"{name}\"")))
            .unwrap_or_else(|| panic!("no {name} event in {lines:#?}"))
            .clone()
    };

    let (code, out, err) = run("1", &["up", "--yes"]);
    assert_eq!(code, Some(EXIT_OK), "{out}{err}");
    assert!(out.contains("up succeeded in "), "{out}");

    // Every kind of change in one run: the counts are written in the order
    // of their names, as when they were keyed by strings.
    let (code, out, err) = run("2", &["up", "--yes", "--json"]);
    assert_eq!(code, Some(EXIT_OK), "{out}{err}");
    let lines = json_lines(&out);
    let changes = r#""changes":{"create":1,"delete":1,"same":1,"update":1}"#;
    let summary = event(&lines, "summary");
    assert!(
        summary.starts_with(&format!(
            r#"{{"event":"summary","kind":"up","result":"succeeded",{changes},"failed":0,"skipped":0,"duration_ms":"#
        )),
        "{summary}"
    );
    assert!(event(&lines, "plan_ready").ends_with(&format!("{changes}}}")));
    let (code, out, err) = run("1", &["up", "--yes"]);
    assert_eq!(code, Some(EXIT_OK), "{out}{err}");
    let line = out
        .lines()
        .find(|l| l.starts_with("up succeeded in "))
        .unwrap();
    assert!(
        line.ends_with("s: 1 create, 1 delete, 1 same, 1 update"),
        "{line}"
    );

    // A preview's summary.
    let (code, out, err) = run("fail", &["preview", "--json"]);
    assert_eq!(code, Some(EXIT_OK), "{out}{err}");
    let summary = event(&json_lines(&out), "summary");
    assert!(
        summary.starts_with(
            r#"{"event":"summary","kind":"preview","result":"succeeded","changes":{"create":1,"same":3},"failed":0"#
        ),
        "{summary}"
    );

    // A step the provider refuses: its kind in JSON.
    let (code, out, err) = run("fail", &["up", "--yes", "--json"]);
    assert_eq!(code, Some(mkso::cli::EXIT_FAILED), "{out}{err}");
    let lines = json_lines(&out);
    let failed: serde_json::Value = serde_json::from_str(&event(&lines, "step_failed")).unwrap();
    assert_eq!(failed["kind"], "provider", "{failed}");
    assert_eq!(failed["op"], "create");
    assert_eq!(failed["error"], "LimitExceeded: quota exceeded");
    assert!(failed["urn"].as_str().unwrap().ends_with("::a"), "{failed}");
    let summary = event(&lines, "summary");
    assert!(
        summary.starts_with(
            r#"{"event":"summary","kind":"up","result":"failed","changes":{"same":3},"failed":1,"skipped":0,"#
        ),
        "{summary}"
    );
    assert!(!out.contains("hint:"), "no hints in JSON: {out}");

    // On the display: the failure, then a hint for its kind; stderr is quiet.
    let (code, out, err) = run("fail", &["up", "--yes"]);
    assert_eq!(code, Some(mkso::cli::EXIT_FAILED), "{out}{err}");
    let failed_at = out
        .find("  failed: create a (test:index:Thing): LimitExceeded: quota exceeded\n")
        .unwrap_or_else(|| panic!("{out}"));
    let hint_at = out
        .find("  hint: the provider refused the request: trying again will not help")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(failed_at < hint_at, "{out}");
    assert_eq!(out.matches("hint:").count(), 1, "{out}");
    assert!(
        !err.contains("hint") && !err.contains("quota exceeded"),
        "{err}"
    );
}
