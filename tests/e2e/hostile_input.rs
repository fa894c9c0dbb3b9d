//! Hostile input with the real `data_bench` binary: `state import` lists every
//! problem and writes nothing; human output escapes control characters while
//! `--json` stays exact; `refresh --target` names an unknown target.

use serde_json::json;

use crate::{run, text, tmp};

use crate::data_bench::{BIN, args};

const STACK: &str = "bench.data.Dev";
const ENV: &[(&str, &str)] = &[("MKSO_CONFIG__BENCH__COUNT", "3")];

/// Escape sequences (and other control characters but line breaks) printed raw.
fn raw_controls(s: &str) -> bool {
    s.chars().any(|c| c != '\n' && c.is_control())
}

#[test]
fn state_import_lists_every_problem_and_output_is_escaped() {
    let (d, state) = tmp();
    let o = run(BIN, &state, ENV, &args(&["up", "--yes"]));
    assert!(o.status.success(), "{}", text(&o));
    let o = run(BIN, &state, ENV, &args(&["state", "export"]));
    let good: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let snapshot = state.join(format!("stacks/{STACK}/snapshot.json"));
    let before = std::fs::read(&snapshot).unwrap();

    // Four problems at once: all are listed, exit 2, nothing written.
    let mut bad = good.clone();
    let rs = bad["resources"].as_array_mut().unwrap();
    let first = rs[0].clone();
    let mut other = first.clone();
    other["urn"] = json!("urn:mkso:bench.data.QA::data-bench::mkso:builtin:Data::q");
    let mut evil = first.clone();
    evil["urn"] =
        json!("urn:mkso:bench.data.Dev::data-bench::mkso:builtin:Data::x\u{1b}]0;pwned\u{7}");
    rs[1]["dependencies"] = json!(["mkso:builtin:Data::gone"]);
    rs.extend([first, other, evil]);
    let file = d.path().join("bad.json");
    std::fs::write(&file, serde_json::to_vec(&bad).unwrap()).unwrap();
    let o = run(
        BIN,
        &state,
        ENV,
        &args(&["state", "import", "--file", file.to_str().unwrap()]),
    );
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(!raw_controls(&t), "{t:?}");
    for part in [
        "4 problems",
        "nothing was written",
        "mkso:builtin:Data::item-0` is recorded 2 times",
        "belongs to stack `bench.data.QA`",
        "dependency `urn:mkso:bench.data.Dev::data-bench::mkso:builtin:Data::gone` is not in the imported state",
        r"x\u{1b}]0;pwned\u{7}`: its name contains the control character `\u{1b}`",
    ] {
        assert!(t.contains(part), "{part}\n{t}");
    }
    assert_eq!(std::fs::read(&snapshot).unwrap(), before, "nothing written");

    // A value with escape sequences is a valid state: imported, then shown escaped.
    let mut odd = good.clone();
    odd["outputs"]["motd"] = json!("hello\u{1b}[2J\u{9b}31m\nworld");
    std::fs::write(&file, serde_json::to_vec(&odd).unwrap()).unwrap();
    let o = run(
        BIN,
        &state,
        ENV,
        &args(&["state", "import", "--file", file.to_str().unwrap()]),
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = run(BIN, &state, ENV, &args(&["outputs"]));
    let t = text(&o);
    assert!(!raw_controls(&t), "{t:?}");
    assert!(
        t.contains(r#"motd: "hello\u001b[2J\u009b31m\nworld""#),
        "{t}"
    );
    let o = run(BIN, &state, ENV, &args(&["outputs", "motd"]));
    let t = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(!raw_controls(&t), "{t:?}");
    assert_eq!(t, "hello\\u{1b}[2J\\u{9b}31m\nworld\n");
    // JSON stays JSON, and exact.
    let o = run(BIN, &state, ENV, &args(&["outputs", "--json"]));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["motd"], odd["outputs"]["motd"]);
    // The plan (preview) shows the removed output's name escaped.
    let o = run(BIN, &state, ENV, &args(&["preview"]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(!raw_controls(&text(&o)), "{:?}", text(&o));
}

#[test]
fn refresh_names_an_unknown_target() {
    let (_d, state) = tmp();
    let o = run(BIN, &state, ENV, &args(&["up", "--yes"]));
    assert!(o.status.success(), "{}", text(&o));
    let o = run(BIN, &state, ENV, &args(&["refresh", "--target", "nope"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(
        text(&o).contains("--target nope names no resource"),
        "{}",
        text(&o)
    );
    assert!(
        !state.join(format!("stacks/{STACK}/lock.json")).exists(),
        "lock released"
    );
    let o = run(BIN, &state, ENV, &args(&["refresh", "--target", "item-1"]));
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("refresh: 1 resources read, no drift"),
        "{}",
        text(&o)
    );
}
