//! `graph`: the program's resource graph as Mermaid or Graphviz dot.

use std::fmt::Write;

use super::context::CliContext;
use super::{CmdResult, EXIT_OK};
use crate::engine::DepGraph;

/// Output format.
#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum Format {
    /// Mermaid `graph TD`.
    Mermaid,
    /// Graphviz dot.
    Dot,
}

/// Arguments of `graph`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The output format.
    #[arg(long, value_enum, default_value = "mermaid")]
    pub format: Format,
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let graph = ctx.run_program(&stack)?;
    let dg = DepGraph::build(&graph.resources)?;
    let mut out = String::new();
    let label = |i: usize| {
        let d = &graph.resources[i];
        format!("{}\\n{}", d.name, d.type_token)
    };
    match args.format {
        Format::Mermaid => {
            let _ = writeln!(out, "graph TD");
            for i in 0..graph.resources.len() {
                let _ = writeln!(out, "  n{i}[\"{}\"]", label(i).replace("\\n", "<br/>"));
            }
            for (i, deps) in dg.deps.iter().enumerate() {
                for &d in deps {
                    let child_of =
                        graph.resources[d].options.parent.as_ref() == Some(&graph.resources[i].urn);
                    let _ = writeln!(out, "  n{d} {} n{i}", if child_of { "-.->" } else { "-->" });
                }
            }
        }
        Format::Dot => {
            let _ = writeln!(
                out,
                "digraph \"{stack}\" {{\n  rankdir=TB;\n  node [shape=box];"
            );
            for i in 0..graph.resources.len() {
                let _ = writeln!(out, "  n{i} [label=\"{}\"];", label(i));
            }
            for (i, deps) in dg.deps.iter().enumerate() {
                for &d in deps {
                    let child_of =
                        graph.resources[d].options.parent.as_ref() == Some(&graph.resources[i].urn);
                    let _ = writeln!(
                        out,
                        "  n{d} -> n{i}{};",
                        if child_of { " [style=dashed]" } else { "" }
                    );
                }
            }
            let _ = writeln!(out, "}}");
        }
    }
    print!("{out}");
    Ok(EXIT_OK)
}
