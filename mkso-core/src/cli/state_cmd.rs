//! `state export|import`.

use std::path::PathBuf;

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_FAILED, EXIT_INVALID, EXIT_OK};
use crate::engine::Session;
use crate::names::{StackName, Urn, escape_control, is_unsafe_char};
use crate::state::{Snapshot, StateView, UpdateKind, UpdateResult};

/// Arguments of `state`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

/// `state` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Print the state as JSON (to stdout, or to --file); secret values stay
    /// encrypted.
    Export {
        /// Write to this file.
        #[arg(long)]
        file: Option<PathBuf>,
    },
    /// Replace the state with an exported one.
    Import {
        /// The exported state.
        #[arg(long)]
        file: PathBuf,
    },
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    match args.command {
        Sub::Export { file } => {
            let store = ctx.store(&stack);
            let view = store.load().await?.view;
            let mut snap = view.to_snapshot(view.serial);
            store.seal_snapshot(&mut snap)?;
            let text = serde_json::to_string_pretty(&snap).unwrap_or_default();
            match file {
                Some(f) => std::fs::write(&f, text + "\n").map_err(|e| {
                    CommandError::new(EXIT_FAILED, format!("cannot write {}: {e}", f.display()))
                })?,
                None => println!("{text}"),
            }
            Ok(EXIT_OK)
        }
        Sub::Import { file } => {
            let text = std::fs::read_to_string(&file).map_err(|e| {
                CommandError::new(EXIT_INVALID, format!("cannot read {}: {e}", file.display()))
            })?;
            let mut snap: Snapshot = serde_json::from_str(&text).map_err(|e| {
                CommandError::new(
                    EXIT_INVALID,
                    format!("{} is not an exported mkso state: {e}", file.display()),
                )
            })?;
            snap.resolve_refs();
            // Everything is checked before anything is written; every problem
            // is listed.
            let problems = import_problems(&snap, &stack, &ctx.project.file.name);
            if !problems.is_empty() {
                return Err(CommandError::new(
                    EXIT_INVALID,
                    format!(
                        "{} cannot be imported into stack {stack}; nothing was written. {} problem{}:\n{}",
                        file.display(),
                        problems.len(),
                        if problems.len() == 1 { "" } else { "s" },
                        problems
                            .iter()
                            .map(|p| format!("  - {p}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ),
                ));
            }
            ctx.store(&stack).open_snapshot(&mut snap)?;
            let session = Session::open(ctx.store(&stack), "state import").await?;
            let serial = session.view().serial;
            let mut view = StateView::from_snapshot(snap);
            view.serial = serial;
            // Operations in flight that the stack recorded (an interrupted
            // update, or records adopted from an update whose lock was
            // broken) stay pending: the import must not forget what may
            // exist in the cloud.
            for op in session.view().pending.values() {
                let mut op = op.clone();
                op.op_id = view.next_op_id();
                view.pending.insert(op.op_id, op);
            }
            let session = session.replace_view(view);
            let n = session.view().len();
            session
                .finish(
                    UpdateKind::Import,
                    UpdateResult::Succeeded,
                    Default::default(),
                    0,
                    ctx.history_keep(),
                )
                .await?;
            println!("imported the state of stack {stack} ({n} resources)");
            Ok(EXIT_OK)
        }
    }
}

/// Why the part of a URN or type token is not sane, if it is not.
fn insane(what: &str, s: &str) -> Option<String> {
    if s.is_empty() {
        Some(format!("its {what} is empty"))
    } else if let Some(c) = s.chars().find(|c| is_unsafe_char(*c)) {
        Some(format!(
            "its {what} contains the control character `{}`",
            c.escape_default()
        ))
    } else if s.chars().any(char::is_whitespace) {
        Some(format!("its {what} contains white space"))
    } else {
        None
    }
}

/// What is wrong with a URN recorded in an imported state.
fn urn_problems(urn: &Urn, stack: &StackName, project: &str) -> Vec<String> {
    if Urn::parse(urn.as_str()).is_none() {
        return vec![
            "it is not an mkso URN (`urn:mkso:<stack>::<project>::<type>::<name>`)".into(),
        ];
    }
    let mut out = Vec::new();
    if urn.stack_part() != stack.as_str() {
        out.push(format!(
            "it belongs to stack `{}`, not {stack}",
            escape_control(urn.stack_part())
        ));
    }
    if urn.project_part() != project {
        out.push(format!(
            "it belongs to project `{}`, not {project}",
            escape_control(urn.project_part())
        ));
    }
    let ty = urn.type_token();
    if let Some(p) = insane("type", ty) {
        out.push(p);
    } else if ty.split(':').count() < 3 || ty.contains("::") {
        out.push(format!(
            "its type `{}` is not of the form `package:module:Type`",
            escape_control(ty)
        ));
    }
    let name = urn.name();
    if let Some(p) = insane("name", name) {
        out.push(p);
    } else if name.split('/').any(str::is_empty) || name.contains("::") {
        out.push("its name has an empty part or contains `::`".into());
    }
    out
}

/// Every problem of an exported state to be imported into `stack` of
/// `project`: URNs of another stack or project or not well formed, duplicate
/// records, dependencies and parents that are not in it, names with control
/// characters. Empty when it can be imported.
fn import_problems(snap: &Snapshot, stack: &StackName, project: &str) -> Vec<String> {
    use std::collections::{HashMap, HashSet};
    let mut problems = Vec::new();
    if snap.stack != *stack {
        problems.push(format!(
            "it holds the state of stack {}, not {stack}",
            escape_control(snap.stack.as_str())
        ));
    }
    let known: HashSet<&Urn> = snap.resources.iter().map(|r| &r.urn).collect();
    // Live records by URN, old copies of replaced resources by (URN, id).
    let mut live: HashMap<&Urn, Vec<usize>> = HashMap::new();
    let mut old: HashMap<(&Urn, &str), Vec<usize>> = HashMap::new();
    for (i, r) in snap.resources.iter().enumerate() {
        let shown = escape_control(r.urn.as_str());
        for p in urn_problems(&r.urn, stack, project) {
            problems.push(format!("resource #{} `{shown}`: {p}", i + 1));
        }
        if Urn::parse(r.urn.as_str()).is_some() && r.type_token != r.urn.type_token() {
            problems.push(format!(
                "resource #{} `{shown}`: its type `{}` is not the one in its URN",
                i + 1,
                escape_control(&r.type_token)
            ));
        }
        if r.pending_delete {
            old.entry((&r.urn, r.id.as_str())).or_default().push(i);
        } else {
            live.entry(&r.urn).or_default().push(i);
        }
        for d in &r.dependencies {
            if !known.contains(d) {
                problems.push(format!(
                    "resource #{} `{shown}`: its dependency `{}` is not in the imported state",
                    i + 1,
                    escape_control(d.as_str())
                ));
            }
        }
        if let Some(p) = &r.parent
            && !known.contains(p)
        {
            problems.push(format!(
                "resource #{} `{shown}`: its parent `{}` is not in the imported state",
                i + 1,
                escape_control(p.as_str())
            ));
        }
    }
    let numbers = |v: &[usize]| {
        v.iter()
            .map(|i| format!("#{}", i + 1))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut dups: Vec<String> = live
        .iter()
        .filter(|(_, v)| v.len() > 1)
        .map(|(u, v)| {
            (
                v[0],
                format!(
                    "`{}` is recorded {} times (resources {}); a URN names one resource",
                    escape_control(u.as_str()),
                    v.len(),
                    numbers(v)
                ),
            )
        })
        .chain(old.iter().filter(|(_, v)| v.len() > 1).map(|((u, id), v)| {
            (
                v[0],
                format!(
                    "the old copy `{}` (id `{}`) is recorded {} times (resources {})",
                    escape_control(u.as_str()),
                    escape_control(id),
                    v.len(),
                    numbers(v)
                ),
            )
        }))
        .collect::<std::collections::BTreeMap<usize, String>>()
        .into_values()
        .collect();
    problems.append(&mut dups);
    for p in &snap.pending {
        for e in urn_problems(&p.urn, stack, project) {
            problems.push(format!(
                "pending operation {} `{}`: {e}",
                p.op_id,
                escape_control(p.urn.as_str())
            ));
        }
    }
    for k in snap.outputs.keys() {
        if let Some(p) = insane("name", k) {
            problems.push(format!("output `{}`: {p}", escape_control(k)));
        }
    }
    for k in &snap.secret_outputs {
        if !snap.outputs.contains_key(k) {
            problems.push(format!(
                "secret output `{}` is not an output",
                escape_control(k)
            ));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn snap(v: serde_json::Value) -> Snapshot {
        let mut s: Snapshot = serde_json::from_value(v).unwrap();
        s.resolve_refs();
        s
    }

    const P: &str = "urn:mkso:app.web.Dev::app";

    fn res(urn: &str) -> serde_json::Value {
        json!({"urn": urn, "type": "mkso:builtin:Data", "kind": "custom", "id": "x"})
    }

    #[test]
    fn a_good_export_has_no_problems() {
        let stack = StackName::new("app.web.Dev").unwrap();
        let mut b = res(&format!("{P}::mkso:builtin:Data::b"));
        b["dependencies"] = json!(["mkso:builtin:Data::a"]);
        let mut old_a = res(&format!("{P}::mkso:builtin:Data::a"));
        old_a["pending_delete"] = json!(true);
        old_a["id"] = json!("old");
        let s = snap(json!({
            "stack": "app.web.Dev", "serial": 3, "mkso_version": "0", "written_at": "",
            "resources": [res(&format!("{P}::mkso:builtin:Data::a")), old_a, b],
            "outputs": {"n": "line 1\nline\u{1b}2"},
        }));
        assert_eq!(import_problems(&s, &stack, "app"), Vec::<String>::new());
    }

    #[test]
    fn every_problem_is_listed() {
        let stack = StackName::new("app.web.Dev").unwrap();
        let mut dangling = res(&format!("{P}::mkso:builtin:Data::c"));
        dangling["dependencies"] = json!(["mkso:builtin:Data::gone"]);
        dangling["parent"] = json!(format!("{P}::my:comp:Web::nowhere"));
        let s = snap(json!({
            "stack": "app.web.Dev", "serial": 3, "mkso_version": "0", "written_at": "",
            "resources": [
                res(&format!("{P}::mkso:builtin:Data::a")),
                res(&format!("{P}::mkso:builtin:Data::a")),
                res("urn:mkso:app.web.QA::app::mkso:builtin:Data::b"),
                res("urn:mkso:app.web.Dev::other::mkso:builtin:Data::b"),
                dangling,
                res(&format!("{P}::mkso:builtin:Data::evil\u{1b}[2J\u{1b}]0;pwned\u{7}")),
                res(&format!("{P}::mkso:builtin:Data::a\u{202e}b")),
                res(&format!("{P}::mkso:builtin:Data::with space")),
                res(&format!("{P}::mkso:builtin:Data::a")),
                res("not-a-urn"),
            ],
            "outputs": {"ok": 1, "bad\u{1b}[31m": 2},
            "secret_outputs": ["missing"],
        }));
        let problems = import_problems(&s, &stack, "app");
        assert!(
            problems.iter().all(|p| !p.chars().any(is_unsafe_char)),
            "{problems:#?}"
        );
        insta::assert_snapshot!(problems.join("\n"));
        // Another stack's export: named first.
        let other = StackName::new("app.web.QA").unwrap();
        let problems = import_problems(&s, &other, "app");
        assert_eq!(
            problems[0],
            "it holds the state of stack app.web.Dev, not app.web.QA"
        );
    }
}
