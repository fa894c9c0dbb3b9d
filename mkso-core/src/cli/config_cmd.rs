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
    /// Set a key. The value is stored as the exact string given, unless it
    /// is plainly typed: exactly `true` or `false`, a decimal number (`10`,
    /// `-3`, `2.5`, `1e3`), or a one-line flow list or mapping (`[a, b]`,
    /// `{a: 1}`) — each with no surrounding white space, no `#` (comment),
    /// `!` (tag), `&` or `*` (anchor, alias). --string always stores a string,
    /// --yaml always parses YAML. A secret is always the exact string (unless
    /// --yaml). A program whose field is a number, boolean, list or mapping
    /// reads a string value as YAML.
    #[command(verbatim_doc_comment)]
    Set {
        /// `namespace:key`.
        key: String,
        /// The value; with --secret and no value, it is read from standard
        /// input (so it never lands in the shell's history; one trailing line
        /// break is removed, nothing else).
        value: Option<String>,
        /// Store the value as a string even if it looks like a number or boolean.
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
            string,
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
            let v = if yaml {
                parse_yaml(&key, &value)?
            } else if string || secret {
                serde_yaml_ng::Value::String(value)
            } else {
                plainly_typed(&value).unwrap_or(serde_yaml_ng::Value::String(value))
            };
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

/// The typed value of a plainly typed `config set` value: exactly `true` or
/// `false`, a decimal number, or a one-line flow list or mapping, with no
/// surrounding white space, comment, tag, anchor or alias. `None`: store the
/// exact string.
pub(crate) fn plainly_typed(text: &str) -> Option<serde_yaml_ng::Value> {
    use serde_yaml_ng::Value as Y;
    if text.is_empty()
        || text.trim() != text
        || text.len() > 64 * 1024
        || text.contains(['#', '!', '&', '*', '\n', '\r', '\t'])
    {
        return None;
    }
    match text {
        "true" => return Some(Y::Bool(true)),
        "false" => return Some(Y::Bool(false)),
        _ => {}
    }
    let b = text.as_bytes();
    let flow = (b[0] == b'[' && b[b.len() - 1] == b']') || (b[0] == b'{' && b[b.len() - 1] == b'}');
    if flow {
        if crate::config::check_depth(text, crate::config::MAX_DEPTH).is_err() {
            return None;
        }
        let v: Y = serde_yaml_ng::from_str(text).ok()?;
        return (v.is_sequence() || v.is_mapping()).then_some(v);
    }
    if !is_decimal(text) {
        return None;
    }
    let v: Y = serde_yaml_ng::from_str(text).ok()?;
    let Y::Number(n) = &v else {
        return None;
    };
    // An integer too large for 64 bits would become a rounded float.
    let integral = !text.contains(['.', 'e', 'E']);
    if integral && !(n.is_i64() || n.is_u64()) {
        return None;
    }
    if n.as_f64().is_some_and(|f| !f.is_finite()) {
        return None;
    }
    Some(v)
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`
fn is_decimal(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if b.first() == Some(&b'-') {
        i += 1;
    }
    let start = i;
    let n = digits(&mut i);
    if n == 0 || (n > 1 && b[start] == b'0') {
        return false;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_yaml_ng::Value as Y;

    #[test]
    fn only_plainly_typed_values_are_parsed() {
        for (text, want) in [
            ("10", Some(Y::from(10))),
            ("-3", Some(Y::from(-3))),
            ("2.5", Some(Y::from(2.5))),
            ("true", Some(Y::Bool(true))),
            ("false", Some(Y::Bool(false))),
            ("[a, b]", serde_yaml_ng::from_str("[a, b]").ok()),
            ("{a: 1}", serde_yaml_ng::from_str("{a: 1}").ok()),
        ] {
            assert_eq!(plainly_typed(text), want, "{text}");
        }
        for text in [
            "hunter2 # comment",
            "'hunter2'",
            "  spaced  ",
            "#hunter2",
            "!!binary aGVsbG8=",
            "yes",
            "no",
            "null",
            "~",
            "010",
            "0x10",
            "1_000",
            ".inf",
            "99999999999999999999",
            "[a, b] # c",
            "[*a]",
            "[a,\n b]",
            "10.0.0.0/16",
            "",
            "True",
        ] {
            assert_eq!(plainly_typed(text), None, "{text:?}");
        }
    }
}
