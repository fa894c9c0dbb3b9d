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
