//! The timeline of one update (`history show N`): a table for the terminal,
//! and a self-contained HTML page with a Gantt chart (inline SVG) of its
//! steps, the critical path marked, failures and retries visible.

use std::fmt::Write as _;

use crate::engine::{Op, StepResult, critical_path};
use crate::names::escape_control;
use crate::state::HistoryEntry;

fn secs(ms: u64) -> String {
    format!("{}.{:03}s", ms / 1000, ms % 1000)
}

fn lower<T: std::fmt::Debug>(v: T) -> String {
    format!("{v:?}").to_lowercase()
}

/// The header lines: what ran, when, by whom.
fn header(e: &HistoryEntry) -> Vec<String> {
    let mut lines = vec![format!(
        "update {}: {} {}, {} .. {}",
        escape_control(&e.id),
        lower(e.kind),
        e.result.label(),
        escape_control(&e.started),
        escape_control(&e.ended)
    )];
    match &e.run_by {
        Some(r) => {
            lines.push(format!(
                "run by {}@{} (mkso {}): {}",
                escape_control(&r.user),
                escape_control(&r.host),
                escape_control(&r.mkso_version),
                escape_control(&r.command.join(" "))
            ));
            let short = |d: &Option<String>| {
                d.as_deref()
                    .map_or("-".to_string(), |d| d.chars().take(12).collect())
            };
            lines.push(format!(
                "program {}  config {}",
                short(&r.program_digest),
                short(&r.config_digest)
            ));
        }
        None => lines.push("run by: not recorded (an update of an older mkso)".into()),
    }
    lines
}

/// `history show N` for the terminal.
pub(crate) fn render_table(e: &HistoryEntry) -> String {
    let mut out = header(e).join("\n");
    out.push('\n');
    if e.steps.is_empty() {
        out.push_str(
            "no step timeline recorded (nothing changed, or an update of an older mkso)\n",
        );
        return out;
    }
    let critical = critical_path(&e.steps);
    let w = e
        .steps
        .iter()
        .map(|s| op_label(s).len())
        .max()
        .unwrap_or(2)
        .max(2);
    let _ = writeln!(
        out,
        "\n  {:>9} {:>9} {:>9}  {:<w$} {:<9} {:>5}  resource   (* on the critical path)",
        "start", "end", "took", "op", "result", "tries"
    );
    let mut order: Vec<usize> = (0..e.steps.len()).collect();
    order.sort_by_key(|&i| (e.steps[i].start_ms, e.steps[i].end_ms, i));
    for i in order {
        let s = &e.steps[i];
        let _ = writeln!(
            out,
            "  {:>9} {:>9} {:>9}  {:<w$} {:<9} {:>5}  {}{}",
            secs(s.start_ms),
            secs(s.end_ms),
            secs(s.duration_ms()),
            op_label(s),
            lower(s.result),
            s.attempts,
            escape_control(s.urn.name()),
            if critical.contains(&i) { " *" } else { "" }
        );
    }
    if let (Some(&first), Some(&last)) = (critical.first(), critical.last()) {
        let _ = writeln!(
            out,
            "\ncritical path: {} step{}, {} (from {} to {})",
            critical.len(),
            if critical.len() == 1 { "" } else { "s" },
            secs(e.steps[last].end_ms.saturating_sub(e.steps[first].start_ms)),
            escape_control(e.steps[first].urn.name()),
            escape_control(e.steps[last].urn.name())
        );
    }
    out
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// The op column: `create`, `revert: update back` for a rollback's, or
/// `replace (app batch 2/3)` for a rolling group's member.
fn op_label(s: &crate::engine::StepTiming) -> String {
    let op = match s.revert {
        Some(a) => format!("revert: {}", a.label()),
        None => s.op.as_str().to_string(),
    };
    match &s.batch {
        Some(b) => format!(
            "{op} ({} batch {}/{})",
            escape_control(&b.group),
            b.batch,
            b.batches
        ),
        None => op,
    }
}

fn colour(op: Op) -> &'static str {
    match op {
        Op::Create | Op::Import => "#2e9d5b",
        Op::Update | Op::Refresh => "#d9a521",
        Op::Replace => "#3f6fd1",
        Op::Delete => "#b94a4a",
        Op::Same => "#8a8a8a",
    }
}

/// `history show N --html FILE`: one self-contained page.
pub(crate) fn render_html(e: &HistoryEntry) -> String {
    const ROW: usize = 20;
    const LABEL: usize = 260;
    const CHART: usize = 900;
    let steps = &e.steps;
    let critical = critical_path(steps);
    let total = steps.iter().map(|s| s.end_ms).max().unwrap_or(0).max(1);
    let mut order: Vec<usize> = (0..steps.len()).collect();
    order.sort_by_key(|&i| (steps[i].start_ms, steps[i].end_ms, i));
    let height = ROW * (steps.len() + 2);
    let width = LABEL + CHART + 20;
    let x = |ms: u64| LABEL as f64 + (ms as f64 / total as f64) * CHART as f64;

    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" aria-label="timeline">"#
    );
    // Time axis: ten ticks.
    for t in 0..=10u64 {
        let ms = total * t / 10;
        let tx = x(ms);
        let _ = writeln!(
            svg,
            r##"<line x1="{tx:.1}" y1="{}" x2="{tx:.1}" y2="{height}" stroke="#e4e4e4"/><text x="{tx:.1}" y="{}" font-size="11" text-anchor="middle" fill="#555">{}</text>"##,
            ROW,
            ROW - 6,
            secs(ms)
        );
    }
    for (row, &i) in order.iter().enumerate() {
        let s = &steps[i];
        let y = ROW * (row + 1) + 3;
        let on_path = critical.contains(&i);
        let name = html_escape(s.urn.name());
        let (fill, extra) = match s.result {
            StepResult::Succeeded if s.revert.is_some() => ("#8e44ad", String::new()),
            StepResult::Succeeded => (colour(s.op), String::new()),
            StepResult::Failed => ("#d62728", r#" stroke-dasharray="4 2""#.to_string()),
            StepResult::Skipped => ("#cccccc", String::new()),
        };
        let x0 = x(s.start_ms);
        let w = (x(s.end_ms) - x0).max(2.0);
        let stroke = if on_path {
            r##" stroke="#111" stroke-width="2""##
        } else if s.result == StepResult::Failed {
            r##" stroke="#7a0000" stroke-width="1.5""##
        } else {
            ""
        };
        let title = format!(
            "{name} — {} — {} — {} ({} attempt{}){}",
            op_label(s),
            lower(s.result),
            secs(s.duration_ms()),
            s.attempts,
            if s.attempts == 1 { "" } else { "s" },
            if on_path { " — critical path" } else { "" }
        );
        let _ = writeln!(
            svg,
            r##"<g class="step"><text x="{}" y="{}" font-size="12" text-anchor="end" fill="#222">{}{name}</text><rect class="bar{}" x="{x0:.1}" y="{y}" width="{w:.1}" height="{}" rx="2" fill="{fill}"{stroke}{extra}><title>{title}</title></rect>{}</g>"##,
            LABEL - 8,
            y + ROW - 8,
            match (on_path, s.revert.is_some()) {
                (true, true) => "★ ↩ ",
                (true, false) => "★ ",
                (false, true) => "↩ ",
                (false, false) => "",
            },
            if on_path { " critical" } else { "" },
            ROW - 6,
            if s.attempts > 1 {
                format!(
                    r##"<text x="{:.1}" y="{}" font-size="11" fill="#7a0000">×{}</text>"##,
                    x0 + w + 4.0,
                    y + ROW - 9,
                    s.attempts
                )
            } else {
                String::new()
            }
        );
    }
    svg.push_str("</svg>\n");

    let head: Vec<String> = header(e).iter().map(|l| html_escape(l)).collect();
    let path_ms = match (critical.first(), critical.last()) {
        (Some(&a), Some(&b)) => steps[b].end_ms.saturating_sub(steps[a].start_ms),
        _ => 0,
    };
    let mut legend = String::new();
    for (label, c) in [
        ("create / import", colour(Op::Create)),
        ("update", colour(Op::Update)),
        ("replace", colour(Op::Replace)),
        ("delete", colour(Op::Delete)),
        ("revert (rollback)", "#8e44ad"),
        ("failed", "#d62728"),
        ("skipped", "#cccccc"),
    ] {
        let _ = write!(
            legend,
            r#"<span><i style="background:{c}"></i>{label}</span> "#
        );
    }
    format!(
        r#"<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>mkso update {id}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 24px; color: #222; background: #fff; }}
h1 {{ font-size: 18px; }} p {{ margin: 4px 0; }}
.legend span {{ margin-right: 14px; font-size: 13px; }}
.legend i {{ display: inline-block; width: 12px; height: 12px; margin-right: 4px; vertical-align: -1px; }}
rect.bar:hover {{ opacity: 0.75; }}
</style></head>
<body>
<h1>{title}</h1>
{lines}
<p>{n} steps (↩: a rollback's revert); critical path ({k} steps, marked ★ and outlined): {path}</p>
<p class="legend">{legend}</p>
{svg}</body></html>
"#,
        id = html_escape(&e.id),
        title = head[0],
        lines = head[1..]
            .iter()
            .map(|l| format!("<p>{l}</p>"))
            .collect::<Vec<_>>()
            .join("\n"),
        n = steps.len(),
        k = critical.len(),
        path = secs(path_ms),
    )
}
