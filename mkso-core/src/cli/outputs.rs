//! `outputs`: the stack's outputs.

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_INVALID, EXIT_OK};
use crate::names::{escape_control, escape_control_keep_lines};

/// Arguments of `outputs`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Print only this output's value.
    pub name: Option<String>,
    /// Show secret values.
    #[arg(long)]
    pub show_secrets: bool,
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let view = ctx.store(&stack).load().await?.view;
    let shown = |k: &str, v: &serde_json::Value| -> serde_json::Value {
        if view.secret_outputs.iter().any(|s| s == k) && !args.show_secrets {
            serde_json::Value::String("[secret]".into())
        } else {
            v.clone()
        }
    };
    if let Some(name) = &args.name {
        let Some(v) = view.outputs.get(name) else {
            return Err(CommandError::new(
                EXIT_INVALID,
                format!(
                    "stack {stack} has no output `{}` (it has: {})",
                    escape_control(name),
                    escape_control(&view.outputs.keys().cloned().collect::<Vec<_>>().join(", "))
                ),
            ));
        };
        let v = shown(name, v);
        match (&v, ctx.global.json) {
            // The value itself, for scripts; its own line breaks and tabs are
            // kept, other control characters escaped (`--json` is exact).
            (serde_json::Value::String(s), false) => println!("{}", escape_control_keep_lines(s)),
            (_, false) => println!("{}", escape_control(&v.to_string())),
            (_, true) => println!("{v}"),
        }
        return Ok(EXIT_OK);
    }
    if ctx.global.json {
        let obj: serde_json::Map<String, serde_json::Value> = view
            .outputs
            .iter()
            .map(|(k, v)| (k.clone(), shown(k, v)))
            .collect();
        println!("{}", serde_json::to_string_pretty(&obj).unwrap_or_default());
    } else if view.outputs.is_empty() {
        println!("stack {stack} has no outputs");
    } else {
        for (k, v) in &view.outputs {
            let secret = view.secret_outputs.contains(k) && !args.show_secrets;
            println!(
                "{}: {}",
                escape_control(k),
                if secret {
                    "[secret]".into()
                } else {
                    crate::engine::render_value_whole(v, false)
                }
            );
        }
    }
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn render_whole(v: &serde_json::Value) -> String {
        crate::engine::render_value_whole(v, false)
    }

    #[test]
    fn long_values_are_whole_and_control_characters_escaped() {
        let long = "i-".to_string() + &"8902eae".repeat(20);
        assert_eq!(render_whole(&json!(long)), format!("\"{long}\""));
        assert_eq!(render_whole(&json!("a\u{1b}[2Jb")), "\"a\\u001b[2Jb\"");
        assert_eq!(render_whole(&json!("x\u{202e}y")), "\"x\\u202ey\"");
        assert_eq!(render_whole(&json!({"n": 1})), "{\"n\":1}");
    }
}
