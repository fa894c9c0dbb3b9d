//! `config get|set|rm|ls`: edit `Mkso.<stack>.yaml`, keeping the rest of it.

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_INVALID, EXIT_OK};
use crate::config::{StackFile, env_var_for};

/// Arguments of `config`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub command: Sub,
}

/// `config` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Sub {
    /// Print a key's value (with its environment override, if set).
    Get {
        /// `namespace:key`.
        key: String,
    },
    /// Set a key; the value is read as YAML (`10` is a number, `[a, b]` a list).
    Set {
        /// `namespace:key`.
        key: String,
        /// The value.
        value: String,
        /// Keep the value as a string even if it looks like a number or boolean.
        #[arg(long)]
        string: bool,
    },
    /// Remove a key.
    Rm {
        /// `namespace:key`.
        key: String,
    },
    /// List every key.
    Ls,
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let path = ctx.project.stack_file(&stack);
    match args.command {
        Sub::Get { key } => {
            let cfg = ctx.project.stack_config(&stack)?;
            match cfg.get(&key) {
                Some(v) => {
                    match v {
                        serde_json::Value::String(s) if !ctx.global.json => println!("{s}"),
                        v => println!("{v}"),
                    }
                    Ok(EXIT_OK)
                }
                None => Err(CommandError::new(
                    EXIT_INVALID,
                    format!(
                        "config key `{key}` is not set in {} (nor by {})",
                        path.display(),
                        env_var_for(&key)
                    ),
                )),
            }
        }
        Sub::Set { key, value, string } => {
            let mut f = StackFile::load(&path)?;
            let v = if string {
                serde_yaml_ng::Value::String(value)
            } else {
                serde_yaml_ng::from_str(&value).unwrap_or(serde_yaml_ng::Value::String(value))
            };
            f.set(&key, v)?;
            f.save()?;
            Ok(EXIT_OK)
        }
        Sub::Rm { key } => {
            let mut f = StackFile::load(&path)?;
            if !f.remove(&key) {
                return Err(CommandError::new(
                    EXIT_INVALID,
                    format!("config key `{key}` is not set in {}", path.display()),
                ));
            }
            f.save()?;
            Ok(EXIT_OK)
        }
        Sub::Ls => {
            let cfg = ctx.project.stack_config(&stack)?;
            let entries = cfg.entries();
            if ctx.global.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&entries).unwrap_or_default()
                );
            } else if entries.is_empty() {
                println!("no config in {}", path.display());
            } else {
                for (k, v) in entries {
                    println!("{k}: {v}");
                }
            }
            Ok(EXIT_OK)
        }
    }
}
