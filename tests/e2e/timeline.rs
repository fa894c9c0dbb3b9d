//! The audit timeline: `history show N` of a real update of the `data_bench`
//! binary (the latency case: 200 independent resources, 1 s each), as a
//! table, as JSON, and as an HTML page looked at in headless Chromium.

use std::path::Path;
use std::process::Command;

use mkso::engine::{Op, StepResult, critical_path};
use mkso::state::HistoryEntry;

use crate::{run, text, tmp};

use crate::data_bench::{BIN, args};

/// Chromium on `PATH` (Debian's, which `scripts/test.sh` installs when it
/// is missing).
fn chromium() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| ["chromium", "chromium-browser"].map(|n| d.join(n)))
        .find(|p| p.is_file())
}

/// Whether a PNG has more than one colour.
fn not_blank(png: &Path) -> bool {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    let px = info.color_type.samples();
    let bytes = &buf[..info.buffer_size()];
    let first = &bytes[..px];
    bytes.chunks(px).any(|p| p != first)
}

#[test]
fn an_update_is_recorded_with_who_ran_it_and_a_timeline_of_its_steps() {
    let (d, state) = tmp();
    let env = [
        ("MKSO_CONFIG__BENCH__COUNT", "200"),
        ("MKSO_CONFIG__BENCH__LATENCY_MS", "1000"),
    ];
    let o = run(BIN, &state, &env, &args(&["up", "--yes"]));
    assert!(o.status.success(), "{}", text(&o));

    // --json: the whole entry.
    let o = run(
        BIN,
        &state,
        &env,
        &args(&["--json", "history", "show", "1"]),
    );
    assert!(o.status.success(), "{}", text(&o));
    let e: HistoryEntry = serde_json::from_slice(&o.stdout).unwrap();
    let by = e.run_by.as_ref().expect("who ran it");
    assert!(by.command.iter().any(|a| a == "up"), "{:?}", by.command);
    assert_eq!(by.mkso_version, env!("CARGO_PKG_VERSION"));
    assert!(by.program_digest.is_some() && by.config_digest.is_some());
    assert_eq!(e.steps.len(), 200);
    assert!(
        e.steps
            .iter()
            .all(|s| s.op == Op::Create && s.result == StepResult::Succeeded && s.attempts == 1),
        "{:?}",
        e.steps.first()
    );
    // Independent: the critical path is one step, of at least the latency.
    let path = critical_path(&e.steps);
    assert_eq!(path.len(), 1);
    assert!(e.steps[path[0]].duration_ms() >= 1000);

    // The table.
    let o = run(BIN, &state, &env, &args(&["history", "show", "00000001"]));
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.starts_with("update 00000001: up succeeded"), "{t}");
    assert!(t.contains("critical path: 1 step,"), "{t}");
    assert_eq!(
        t.lines().filter(|l| l.contains(" create ")).count(),
        200,
        "{t}"
    );

    // An unknown id names what exists.
    let o = run(BIN, &state, &env, &args(&["history", "show", "7"]));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("no update `7` in the history (latest: 00000001)"));

    // The HTML page: one bar per step, the critical one marked.
    let html = d.path().join("timeline.html");
    let o = run(
        BIN,
        &state,
        &env,
        &args(&["history", "show", "1", "--html", html.to_str().unwrap()]),
    );
    assert!(o.status.success(), "{}", text(&o));
    let page = std::fs::read_to_string(&html).unwrap();
    assert_eq!(page.matches(r#"<rect class="bar"#).count(), 200);
    assert_eq!(page.matches(r#"class="bar critical""#).count(), 1);

    // Looked at in a real browser.
    let Some(chromium) = chromium() else {
        // scripts/test.sh sets MKSO_REQUIRE_BROWSER once Chromium is there.
        assert!(
            std::env::var_os("MKSO_REQUIRE_BROWSER").is_none(),
            "MKSO_REQUIRE_BROWSER is set but no `chromium` is on PATH"
        );
        println!(
            "skipped the browser check: Chromium is not installed (scripts/test.sh installs Debian's `chromium` package; it could not here)"
        );
        return;
    };
    let url = format!("file://{}", html.display());
    let browse = |extra: &[&str]| {
        Command::new(&chromium)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,1400",
            ])
            .args(extra)
            .arg(&url)
            .output()
            .unwrap()
    };
    let o = browse(&["--dump-dom"]);
    assert!(o.status.success(), "{}", text(&o));
    let dom = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        dom.matches(r#"class="bar"#).count(),
        200,
        "the rendered DOM"
    );
    let shot = d.path().join("timeline.png");
    let o = browse(&[&format!("--screenshot={}", shot.display())]);
    assert!(o.status.success() && shot.exists(), "{}", text(&o));
    assert!(not_blank(&shot), "the screenshot is blank");
}
