//! Hostile input and careless settings: `state import` validation, control
//! characters in human output, `refresh --target`, `history: {keep: 0}`,
//! project and stack names, outputs of a cancelled update.

use std::path::Path;

use mkso::Runner;
use mkso::builtin::{Data, DataArgs};
use mkso::cli::{EXIT_INVALID, EXIT_OK};
use mkso::engine::{EngineOptions, RenderOptions, render_plan};
use mkso::prelude::*;
use mkso::state::{LocalBackend, StateStore, encode_snapshot};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::{Harness, program, spec};

/// Characters that must never reach a terminal raw (line breaks may).
fn has_raw_escape(s: &str) -> bool {
    s.chars()
        .any(|c| c != '\n' && mkso::names::is_unsafe_char(c))
}

#[tokio::test]
async fn names_and_values_with_control_characters_are_escaped_in_the_plan() {
    let h = Harness::new();
    let (_, out) = h.up(&program(vec![spec("a", json!(1))])).await;
    assert!(out.succeeded());
    // A state written by an older mkso (or by hand) with hostile names.
    let view = h.state().await;
    let mut snap = serde_json::to_value(view.to_snapshot(view.serial)).unwrap();
    let mut evil = snap["resources"][0].clone();
    evil["urn"] = json!("urn:mkso:test.things.Dev::test::test:index:Thing::evil\u{1b}[2J\u{9b}31m");
    evil["id"] = json!("evil-id");
    evil["inputs"] = json!({"value": "x\u{1b}]0;title\u{7}"});
    snap["resources"].as_array_mut().unwrap().push(evil);
    snap["outputs"]["bad\u{1b}[31m"] = json!("v");
    h.backend
        .write_snapshot(&h.stack, &encode_snapshot(&snap))
        .await
        .unwrap();

    let p = program(vec![spec("a", json!("new\u{1b}[31mred\u{7f}\u{202e}"))]);
    let plan = h.preview(&p).await;
    let text = render_plan(
        &plan,
        RenderOptions {
            diff: true,
            show_same: true,
        },
    );
    assert!(!has_raw_escape(&text), "{text:?}");
    assert!(text.contains(r"evil\u{1b}[2J\u{9b}31m"), "{text}");
    insta::assert_snapshot!(text);
}

#[tokio::test]
async fn an_update_cancelled_before_any_step_records_no_outputs() {
    let h = Harness::new();
    let cancelled = || {
        let cancel = CancellationToken::new();
        cancel.cancel();
        EngineOptions {
            cancel,
            ..h.options()
        }
    };
    let (_, out) = h
        .up_with(&program(vec![spec("a", json!(1))]), cancelled())
        .await
        .unwrap();
    assert!(out.cancelled);
    let view = h.state().await;
    assert!(view.live.is_empty());
    assert!(
        view.outputs.is_empty(),
        "nothing ran, nothing recorded: {:?}",
        view.outputs
    );

    // A completed update records them; a cancelled one keeps them as they were.
    let (_, out) = h.up(&program(vec![spec("a", json!(1))])).await;
    assert!(out.succeeded());
    assert_eq!(h.state().await.outputs["names"], json!(["a"]));
    let (_, out) = h
        .up_with(
            &program(vec![spec("a", json!(1)), spec("b", json!(2))]),
            cancelled(),
        )
        .await
        .unwrap();
    assert!(out.cancelled);
    let view = h.state().await;
    assert_eq!(view.outputs["names"], json!(["a"]));
    assert!(!view.live.keys().any(|u| u.name() == "b"));
}

// --- The command line, in-process. ---

#[derive(serde::Deserialize, schemars::JsonSchema)]
struct App {
    size: u32,
}

fn app(stack: &Stack) -> Result<(), mkso::Error> {
    let cfg: App = stack.config("app")?;
    for i in 0..cfg.size {
        Data::new(
            stack,
            &format!("d{i}"),
            DataArgs::default().value(json!(i)),
            ResourceOptions::new(),
        )?;
    }
    stack.export("size", mkso::Output::new(cfg.size));
    Ok(())
}

const STACK: &str = "hostile.cli.Dev";

fn project(dir: &Path, mkso_yaml: &str, stack: &str) {
    std::fs::write(dir.join("Mkso.yaml"), mkso_yaml).unwrap();
    std::fs::write(
        dir.join(format!("Mkso.{stack}.yaml")),
        "config:\n  app:size: 3\n",
    )
    .unwrap();
}

fn run(dir: &Path, stack: &str, args: &[&str]) -> i32 {
    let mut v = vec![
        "app",
        "--project-dir",
        dir.to_str().unwrap(),
        "--stack",
        stack,
    ];
    v.extend_from_slice(args);
    let runner = Runner::new(app);
    let v: Vec<String> = v.into_iter().map(String::from).collect();
    std::thread::spawn(move || runner.run(v)).join().unwrap()
}

fn store(dir: &Path, stack: &str) -> StateStore {
    StateStore::new(
        std::sync::Arc::new(LocalBackend::new(dir.join(".mkso"))),
        mkso::StackName::new(stack).unwrap(),
    )
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Runtime::new().unwrap().block_on(f)
}

/// Every file under `dir` with its bytes.
fn files(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                out.push((p, bytes));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn state_import_refuses_a_bad_state_and_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    project(dir, "name: hostile\n", STACK);
    assert_eq!(run(dir, STACK, &["up", "--yes"]), EXIT_OK);
    let export = dir.join("export.json");
    assert_eq!(
        run(
            dir,
            STACK,
            &["state", "export", "--file", export.to_str().unwrap()]
        ),
        EXIT_OK
    );
    let good: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&export).unwrap()).unwrap();
    let before = files(&dir.join(".mkso"));

    let import = |v: &serde_json::Value| {
        let f = dir.join("import.json");
        std::fs::write(&f, serde_json::to_string_pretty(v).unwrap()).unwrap();
        run(
            dir,
            STACK,
            &["state", "import", "--file", f.to_str().unwrap()],
        )
    };
    let with = |edit: &dyn Fn(&mut Vec<serde_json::Value>)| {
        let mut v = good.clone();
        edit(v["resources"].as_array_mut().unwrap());
        v
    };
    let renamed = |r: &serde_json::Value, urn: &str| {
        let mut r = r.clone();
        r["urn"] = json!(urn);
        r
    };
    let prefix = format!("urn:mkso:{STACK}::hostile::mkso:builtin:Data::");
    let cases = [
        // The same URN twice (the first used to be dropped silently).
        with(&|rs| {
            let mut d = rs[0].clone();
            d["inputs"] = json!({"value": 99});
            rs.push(d);
        }),
        // Another stack's and another project's resource.
        with(&|rs| {
            let r = renamed(
                &rs[0],
                "urn:mkso:hostile.cli.QA::hostile::mkso:builtin:Data::q",
            );
            rs.push(r);
        }),
        with(&|rs| {
            let r = renamed(
                &rs[0],
                &format!("urn:mkso:{STACK}::other::mkso:builtin:Data::q"),
            );
            rs.push(r);
        }),
        // A dangling dependency and parent.
        with(&|rs| {
            rs[0]["dependencies"] = json!(["mkso:builtin:Data::gone"]);
        }),
        with(&|rs| {
            rs[0]["parent"] = json!(format!("{prefix}nowhere"));
        }),
        // A name that drives the terminal.
        with(&|rs| {
            let r = renamed(&rs[0], &format!("{prefix}x\u{1b}[2J"));
            rs.push(r);
        }),
    ];
    for (i, bad) in cases.iter().enumerate() {
        assert_eq!(import(bad), EXIT_INVALID, "case {i}");
        assert!(
            files(&dir.join(".mkso")) == before,
            "case {i}: nothing written"
        );
    }
    // The good export still imports.
    assert_eq!(import(&good), EXIT_OK);
    let view = block(store(dir, STACK).load()).unwrap().view;
    assert_eq!(view.live.len(), 3);
}

#[test]
fn refresh_with_an_unknown_target_is_an_error_and_a_known_one_reads_only_it() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    project(dir, "name: hostile\n", STACK);
    assert_eq!(run(dir, STACK, &["up", "--yes"]), EXIT_OK);
    let history = || block(store(dir, STACK).history()).unwrap();
    let n = history().len();
    assert_eq!(
        run(dir, STACK, &["refresh", "--target", "nope"]),
        EXIT_INVALID
    );
    assert_eq!(history().len(), n, "nothing recorded");
    // As preview, up and destroy.
    for cmd in [&["preview"][..], &["up", "--yes"], &["destroy", "--yes"]] {
        let mut args = cmd.to_vec();
        args.extend(["--target", "nope"]);
        assert_eq!(run(dir, STACK, &args), EXIT_INVALID, "{cmd:?}");
    }
    // Not locked by the refused refresh; a known target reads only itself.
    assert_eq!(run(dir, STACK, &["refresh", "--target", "d1"]), EXIT_OK);
    let h = history();
    assert_eq!(h.len(), n + 1);
    assert_eq!(h.last().unwrap().changes["refresh"], 1);
    assert_eq!(run(dir, STACK, &["refresh"]), EXIT_OK);
    assert_eq!(history().last().unwrap().changes["refresh"], 3);
}

#[test]
fn history_keep_0_keeps_no_history() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    project(dir, "name: hostile\nhistory:\n  keep: 2\n", STACK);
    assert_eq!(run(dir, STACK, &["up", "--yes"]), EXIT_OK);
    assert_eq!(block(store(dir, STACK).history()).unwrap().len(), 1);
    std::fs::write(
        dir.join("Mkso.yaml"),
        "name: hostile\nhistory:\n  keep: 0\n",
    )
    .unwrap();
    assert_eq!(
        run(dir, STACK, &["config", "set", "app:size", "4"]),
        EXIT_OK
    );
    assert_eq!(run(dir, STACK, &["up", "--yes"]), EXIT_OK);
    assert_eq!(
        block(store(dir, STACK).history()).unwrap().len(),
        0,
        "keep: 0 keeps none, and trims what there was"
    );
    assert_eq!(run(dir, STACK, &["history"]), EXIT_OK);
    let view = block(store(dir, STACK).load()).unwrap().view;
    assert_eq!(view.live.len(), 4, "the update itself is recorded");
}

#[test]
fn a_project_name_with_the_urn_separator_is_refused() {
    for bad in ["a::b", "a b", "a/b"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        project(dir, &format!("name: '{bad}'\n"), STACK);
        assert_eq!(run(dir, STACK, &["preview"]), EXIT_INVALID, "{bad}");
        assert_eq!(run(dir, STACK, &["up", "--yes"]), EXIT_INVALID, "{bad}");
        assert!(!dir.join(".mkso").exists(), "{bad}: nothing written");
    }
}

#[test]
fn stack_names_are_limited_so_that_their_files_can_be_written() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // 244 characters: `Mkso.<stack>.yaml` would not fit 255 bytes with a
    // temporary suffix. Refused by every command, before anything is written.
    let long = format!("{}.Dev", "s".repeat(240));
    assert_eq!(long.len(), 244);
    std::fs::write(dir.join("Mkso.yaml"), "name: hostile\n").unwrap();
    assert_eq!(run(dir, &long, &["up", "--yes"]), EXIT_INVALID);
    assert_eq!(
        run(dir, &long, &["config", "set", "app:size", "1"]),
        EXIT_INVALID
    );
    assert!(!dir.join(".mkso").exists());
    // The longest allowed name works for both.
    let longest = format!("{}.Dev", "s".repeat(mkso::names::MAX_STACK_NAME_LEN - 4));
    assert_eq!(
        run(dir, &longest, &["config", "set", "app:size", "1"]),
        EXIT_OK
    );
    assert_eq!(run(dir, &longest, &["up", "--yes"]), EXIT_OK);
    assert_eq!(
        run(dir, &longest, &["config", "set", "app:size", "2"]),
        EXIT_OK
    );
}
