//! `config get|set|rm|ls`: edit `Mkso.<stack>.yaml`, keeping the rest of it.

use super::context::CliContext;
use super::{CmdResult, CommandError, EXIT_INVALID, EXIT_OK};
use crate::config::{StackFile, env_var_for};
use crate::secrets::Secrets;

/// Reads a value from standard input (one line from a terminal, or all of it
/// when piped): exactly one trailing line break (`\n` or `\r\n`) is removed,
/// nothing else.
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
    let text = text
        .strip_suffix("\r\n")
        .or_else(|| text.strip_suffix('\n'))
        .unwrap_or(&text);
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
    /// Set a key. The value is stored as the exact string given (`1.10`
    /// stays `1.10`, `123456789012` stays text), unless --yaml, which
    /// stores the value parsed as YAML (a number, boolean, list, mapping...).
    /// A secret is the exact string too (unless --yaml). A program whose
    /// field is a number, boolean, list or mapping reads a string value as
    /// YAML (`config set bench:count 5` gives the number 5); a string field
    /// reads a number or boolean as its text.
    #[command(verbatim_doc_comment)]
    Set {
        /// `namespace:key`.
        key: String,
        /// The value; with --secret and no value, it is read from standard
        /// input (so it never lands in the shell's history; one trailing line
        /// break is removed, nothing else).
        value: Option<String>,
        /// Store the value as the exact string (the default; accepted for
        /// scripts that pass it).
        #[arg(long, conflicts_with = "yaml")]
        string: bool,
        /// Parse the value as YAML (`5` is a number, `[a, b]` a list, `'x'` the string x).
        #[arg(long)]
        yaml: bool,
        /// Encrypt the value with the passphrase in MKSO_PASSPHRASE; the exact
        /// string is stored.
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
            string: _,
            yaml,
            secret,
        } => {
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
            let v = stored_value(&key, value, yaml)?;
            let new_stack = !ctx.has_stack_file(&stack) && !ctx.store(&stack).exists().await?;
            // Locked from here until `f` is dropped: concurrent edits wait.
            let mut f = StackFile::open_for_edit(&path)?;
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
            if new_stack {
                // A new stack, or a mistyped one: say which it is.
                let others: Vec<String> = ctx
                    .known_stacks()
                    .await?
                    .into_iter()
                    .map(|(name, _)| name)
                    .filter(|n| n != stack.as_str())
                    .collect();
                eprintln!(
                    "note: created {} for the new stack {stack}{}",
                    path.display(),
                    if others.is_empty() {
                        String::new()
                    } else {
                        format!(" (stacks that exist: {})", others.join(", "))
                    }
                );
            }
            Ok(EXIT_OK)
        }
        Sub::Rm { key } => {
            let mut f = StackFile::open_for_edit(&path)?;
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

/// `--yaml`: the value parsed as YAML (bounded in size and depth).
fn parse_yaml(key: &str, value: &str) -> Result<serde_yaml_ng::Value, CommandError> {
    let bad = |why: String| {
        CommandError::new(
            EXIT_INVALID,
            format!("the value of `{key}` is not valid YAML: {why}"),
        )
    };
    if value.len() as u64 > crate::config::MAX_FILE_BYTES {
        return Err(bad(format!(
            "it is larger than {} MiB",
            crate::config::MAX_FILE_BYTES / (1024 * 1024)
        )));
    }
    if crate::config::check_depth(value, crate::config::MAX_DEPTH).is_err() {
        return Err(bad(format!(
            "it is nested deeper than {} levels",
            crate::config::MAX_DEPTH
        )));
    }
    serde_yaml_ng::from_str(value).map_err(|e| bad(crate::config::shorten_quoted(&e.to_string())))
}

/// The value `config set` stores: the exact string, or with --yaml the
/// value parsed as YAML.
fn stored_value(
    key: &str,
    value: String,
    yaml: bool,
) -> Result<serde_yaml_ng::Value, CommandError> {
    if yaml {
        parse_yaml(key, &value)
    } else {
        Ok(serde_yaml_ng::Value::String(value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml_ng::Value as Y;

    #[test]
    fn values_are_exact_strings_unless_yaml() {
        for text in [
            "1.10",
            "1e3",
            "123456789012",
            "10",
            "-3",
            "true",
            "false",
            "[a, b]",
            "{a: 1}",
            "hunter2 # comment",
            "'hunter2'",
            "  spaced  ",
            "null",
            "yes",
            "010",
            "99999999999999999999",
        ] {
            assert_eq!(
                stored_value("a:b", text.into(), false).unwrap(),
                Y::String(text.into()),
                "{text:?}"
            );
        }
        for (text, want) in [
            ("1.10", Y::from(1.1)),
            ("10", Y::from(10)),
            ("true", Y::Bool(true)),
            ("'x' # c", Y::from("x")),
            ("[a, b]", serde_yaml_ng::from_str("[a, b]").unwrap()),
        ] {
            assert_eq!(
                stored_value("a:b", text.into(), true).unwrap(),
                want,
                "{text:?}"
            );
        }
        assert!(stored_value("a:b", "[a".into(), true).is_err());
    }
}
