//! `config get|set|rm|ls`: edit `Mkso.<stack>.yaml`, keeping the rest of it.

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_INVALID, EXIT_OK};
use crate::config::{StackFile, env_var_for};
use crate::secrets::Secrets;

/// Reads a secret value from standard input (one line, or all of it when piped).
fn read_stdin_value(key: &str) -> Result<String, CommandError> {
    use std::io::{IsTerminal, Read};
    let mut stdin = std::io::stdin();
    let mut text = String::new();
    if stdin.is_terminal() {
        eprint!("value of {key}: ");
        stdin.read_line(&mut text)
    } else {
        stdin.read_to_string(&mut text)
    }
    .map_err(|e| {
        CommandError::new(
            EXIT_INVALID,
            format!("cannot read the value of `{key}` from standard input: {e}"),
        )
    })?;
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let text = text.strip_suffix('\r').unwrap_or(text);
    if text.is_empty() {
        return Err(CommandError::new(
            EXIT_INVALID,
            format!("no value for `{key}` on standard input"),
        ));
    }
    Ok(text.to_string())
}

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
        /// Print a secret value in clear.
        #[arg(long)]
        show_secrets: bool,
    },
    /// Set a key; the value is read as YAML (`10` is a number, `[a, b]` a list).
    Set {
        /// `namespace:key`.
        key: String,
        /// The value; with --secret and no value, it is read from standard
        /// input (so it never lands in the shell's history).
        value: Option<String>,
        /// Keep the value as a string even if it looks like a number or boolean.
        #[arg(long)]
        string: bool,
        /// Encrypt the value with the passphrase in MKSO_PASSPHRASE.
        #[arg(long)]
        secret: bool,
    },
    /// Remove a key.
    Rm {
        /// `namespace:key`.
        key: String,
    },
    /// List every key (secret values masked).
    Ls {
        /// Print secret values in clear.
        #[arg(long)]
        show_secrets: bool,
    },
}

pub(crate) async fn run(ctx: &CliContext, args: Args) -> CmdResult {
    let stack = ctx.stack_name()?;
    let path = ctx.project.stack_file(&stack);
    match args.command {
        Sub::Get { key, show_secrets } => {
            let cfg = ctx.project.stack_config(&stack)?;
            match cfg.get(&key) {
                Some(_) if cfg.is_secret(&key) && !show_secrets => {
                    println!("[secret]");
                    Ok(EXIT_OK)
                }
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
        Sub::Set {
            key,
            value,
            string,
            secret,
        } => {
            let mut f = StackFile::load(&path)?;
            let value = match value {
                Some(v) => v,
                None if secret => read_stdin_value(&key)?,
                None => {
                    return Err(CommandError::new(
                        EXIT_INVALID,
                        format!(
                            "no value for `{key}`: pass it after the key (or, for a secret, on standard input with --secret)"
                        ),
                    ));
                }
            };
            let v = if string {
                serde_yaml_ng::Value::String(value)
            } else {
                serde_yaml_ng::from_str(&value).unwrap_or(serde_yaml_ng::Value::String(value))
            };
            if secret {
                let json: serde_json::Value = serde_json::to_value(&v).map_err(|e| {
                    CommandError::new(EXIT_INVALID, format!("value of `{key}`: {e}"))
                })?;
                crate::secrets::register_value(&json);
                f.set_secret(&key, &json, &Secrets::process())?;
            } else {
                f.set(&key, v)?;
            }
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
        Sub::Ls { show_secrets } => {
            let cfg = ctx.project.stack_config(&stack)?;
            let mut entries = cfg.entries();
            if !show_secrets {
                for (k, v) in entries.iter_mut() {
                    if cfg.is_secret(k) {
                        *v = serde_json::Value::String("[secret]".into());
                    }
                }
            }
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
