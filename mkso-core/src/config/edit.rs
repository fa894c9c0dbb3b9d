//! Line-wise edits of a stack file's text: the lines of the entries an edit
//! touches are replaced, added or removed; comments, order and formatting of
//! everything else are kept. A form this editor does not handle is left to
//! the caller, which re-serialises the whole file.

/// An edit of a stack file, applied to its text on save.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Edit {
    /// A `config:` entry set to its value in `doc`.
    Set(String),
    /// A `config:` entry removed.
    Remove(String),
    /// `encryptionsalt:` set to its value in `doc`.
    Salt,
}

/// The indentation (spaces) of a line.
fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// Blank or a comment only.
fn is_trivia(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with('#')
}

/// The key of a block-mapping entry line (`aws:region: x`, `"a:b": 1`,
/// `a:b:` with the value below).
fn entry_key(s: &str) -> Option<String> {
    let s = s.trim_start();
    if let Some(q) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &s[1..];
        let end = body.find(q)?;
        let after = body[end + 1..].trim_start();
        return after.starts_with(':').then(|| body[..end].to_string());
    }
    let b = s.as_bytes();
    (0..b.len())
        .find(|&i| b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t'))
        .map(|i| s[..i].trim_end().to_string())
}

/// The trailing comment of a single-line entry (`  # ...`), if any.
fn trailing_comment(line: &str) -> Option<&str> {
    let b = line.as_bytes();
    let mut quote: Option<u8> = None;
    for i in 0..b.len() {
        let c = b[i];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'"' || c == b'\'' => quote = Some(c),
            None if c == b'#' && i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t') => {
                let start = line[..i].trim_end().len();
                return Some(&line[start..]);
            }
            None => {}
        }
    }
    None
}

/// The value text of a single-line block-mapping entry (`  a:b: 1.10  # c`
/// gives `1.10`), without its trailing comment and surrounding white space.
pub(super) fn entry_value_text(line: &str) -> Option<&str> {
    let s = line.trim_start();
    let rest = if let Some(q) = s.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let body = &s[1..];
        let end = body.find(q)?;
        body[end + 1..].trim_start().strip_prefix(':')?
    } else {
        let b = s.as_bytes();
        let i = (0..b.len()).find(|&i| {
            b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t')
        })?;
        &s[i + 1..]
    };
    let value = match trailing_comment(rest) {
        Some(c) => &rest[..rest.len() - c.len()],
        None => rest,
    };
    Some(value.trim()).filter(|v| !v.is_empty())
}

/// `key: value` as YAML lines (one mapping entry), each indented by `indent`.
fn render_entry(key: &str, value: &serde_yaml_ng::Value, indent: usize) -> Option<Vec<String>> {
    let mut m = serde_yaml_ng::Mapping::new();
    m.insert(key.into(), value.clone());
    let text = serde_yaml_ng::to_string(&m).ok()?;
    let pad = " ".repeat(indent);
    Some(
        text.lines()
            .map(|l| {
                if l.is_empty() {
                    String::new()
                } else {
                    format!("{pad}{l}")
                }
            })
            .collect(),
    )
}

/// Where the `config:` block is in `lines`.
pub(super) struct ConfigBlock {
    /// The `config:` line.
    header: usize,
    /// The line after the block's last line.
    end: usize,
    /// The entries' indentation.
    indent: usize,
    /// Each entry: key, first line, last line.
    pub(super) entries: Vec<(String, usize, usize)>,
}

/// Finds the `config:` block; `Err` when its form is one this editor does
/// not handle (the caller falls back to re-serialising).
pub(super) fn config_block(lines: &mut [String]) -> Result<Option<ConfigBlock>, ()> {
    let Some(header) = lines.iter().position(|l| {
        l.starts_with("config:") || l.starts_with("\"config\":") || l.starts_with("'config':")
    }) else {
        return Ok(None);
    };
    let rest = lines[header]
        .split_once(':')
        .map(|x| x.1)
        .unwrap_or_default();
    let value = match trailing_comment(rest) {
        Some(c) => &rest[..rest.len() - c.len()],
        None => rest,
    }
    .trim();
    match value {
        "" => {}
        "{}" | "null" | "~" => lines[header] = "config:".into(),
        _ => return Err(()),
    }
    let mut end = header + 1;
    let mut last_content = header;
    while end < lines.len() {
        let l = &lines[end];
        if !is_trivia(l) {
            if indent_of(l) == 0 {
                break;
            }
            last_content = end;
        }
        end += 1;
    }
    let end = last_content + 1;
    let indent = lines[header + 1..end]
        .iter()
        .find(|l| !is_trivia(l))
        .map(|l| indent_of(l))
        .unwrap_or(2);
    let mut entries = Vec::new();
    let mut i = header + 1;
    while i < end {
        let l = &lines[i];
        if is_trivia(l) || indent_of(l) != indent {
            if !is_trivia(l) && indent_of(l) < indent {
                return Err(());
            }
            i += 1;
            continue;
        }
        let key = entry_key(l).ok_or(())?;
        let mut last = i;
        let mut j = i + 1;
        while j < end {
            let m = &lines[j];
            if !is_trivia(m) {
                if indent_of(m) <= indent {
                    break;
                }
                last = j;
            }
            j += 1;
        }
        entries.push((key, i, last));
        i = last + 1;
    }
    Ok(Some(ConfigBlock {
        header,
        end,
        indent,
        entries,
    }))
}

/// Applies `edits` to `text` line-wise, taking the new values from `doc`.
/// `None` when the text's form is one this editor does not handle.
pub(super) fn edit_text(
    text: &str,
    edits: &[Edit],
    doc: &serde_yaml_ng::Mapping,
) -> Option<String> {
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for e in edits {
        match e {
            Edit::Set(key) => {
                let value = doc.get("config")?.as_mapping()?.get(key.as_str())?;
                match config_block(&mut lines).ok()? {
                    Some(b) => {
                        let mut new = render_entry(key, value, b.indent)?;
                        match b.entries.iter().rev().find(|(k, _, _)| k == key) {
                            Some(&(_, first, last)) => {
                                if first == last
                                    && new.len() == 1
                                    && let Some(c) = trailing_comment(&lines[first])
                                {
                                    new[0].push_str(c);
                                }
                                lines.splice(first..=last, new);
                            }
                            None => {
                                lines.splice(b.end..b.end, new);
                            }
                        }
                    }
                    None => {
                        while lines.last().is_some_and(|l| l.trim().is_empty()) {
                            lines.pop();
                        }
                        lines.push("config:".into());
                        lines.extend(render_entry(key, value, 2)?);
                    }
                }
            }
            Edit::Remove(key) => {
                let b = config_block(&mut lines).ok()??;
                let &(_, first, last) = b.entries.iter().rev().find(|(k, _, _)| k == key)?;
                lines.drain(first..=last);
                if b.entries.len() == 1 {
                    lines[b.header] = "config: {}".into();
                }
            }
            Edit::Salt => {
                let value = doc.get("encryptionsalt")?;
                let new = render_entry("encryptionsalt", value, 0)?;
                if new.len() != 1 {
                    return None;
                }
                if let Some(i) = lines.iter().position(|l| l.starts_with("encryptionsalt:")) {
                    lines[i] = new.into_iter().next()?;
                } else {
                    let at = config_block(&mut lines)
                        .ok()?
                        .map(|b| b.header)
                        .unwrap_or(lines.len());
                    lines.splice(at..at, new);
                }
            }
        }
    }
    let mut out = lines.join(eol);
    out.push_str(eol);
    Some(out)
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::super::{StackConfig, StackFile};

    fn edit(text: &str, f: impl FnOnce(&mut StackFile)) -> String {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::fs::write(&p, text).unwrap();
        let mut sf = StackFile::open_for_edit(&p).unwrap();
        f(&mut sf);
        sf.save().unwrap();
        drop(sf);
        std::fs::read_to_string(&p).unwrap()
    }

    #[test]
    fn edits_keep_comments_order_and_layout() {
        let text = "# The QA stack.\nencryptionsalt: v1:abc\nconfig:\n    # the region\n    aws:region: us-east-1   # keep me\n    aws:defaultTags:\n        Team: x   # tags\n    net:zones: 2\n\n# trailing comment\nextra: [1, 2]  # flow\n";
        let out = edit(text, |f| {
            f.set("aws:region", "eu-west-1".into()).unwrap();
            f.set("net:cidr", "10.0.0.0/16".into()).unwrap();
        });
        assert_eq!(
            out,
            "# The QA stack.\nencryptionsalt: v1:abc\nconfig:\n    # the region\n    aws:region: eu-west-1   # keep me\n    aws:defaultTags:\n        Team: x   # tags\n    net:zones: 2\n    net:cidr: 10.0.0.0/16\n\n# trailing comment\nextra: [1, 2]  # flow\n"
        );
        let out = edit(&out, |f| assert!(f.remove("aws:defaultTags")));
        assert_eq!(
            out,
            "# The QA stack.\nencryptionsalt: v1:abc\nconfig:\n    # the region\n    aws:region: eu-west-1   # keep me\n    net:zones: 2\n    net:cidr: 10.0.0.0/16\n\n# trailing comment\nextra: [1, 2]  # flow\n"
        );
        // A value that needs quoting or several lines is written as YAML.
        let out = edit(&out, |f| {
            f.set("net:note", "a # b\nc".into()).unwrap();
            f.set("net:zones", serde_yaml_ng::from_str("[a, b]").unwrap())
                .unwrap();
        });
        let back = StackConfig::from_yaml_str(&out, "f").unwrap();
        assert_eq!(back.get("net:note"), Some(Value::from("a # b\nc")));
        assert_eq!(back.get("net:zones"), Some(serde_json::json!(["a", "b"])));
        assert!(
            out.starts_with("# The QA stack.\n")
                && out.contains("# trailing comment\nextra: [1, 2]  # flow\n"),
            "{out}"
        );
        // Removing the last entry leaves an empty mapping; a new file gets a block.
        let out = edit("config:\n  a:b: 1\n", |f| assert!(f.remove("a:b")));
        assert_eq!(out, "config: {}\n");
        let out = edit(&out, |f| f.set("a:c", 2.into()).unwrap());
        assert_eq!(out, "config:\n  a:c: 2\n");
        let out = edit("# only a comment\n", |f| f.set("a:c", 2.into()).unwrap());
        assert_eq!(out, "# only a comment\nconfig:\n  a:c: 2\n");
    }

    #[test]
    fn a_form_the_editor_does_not_handle_is_rewritten_whole() {
        let out = edit("config: {a:b: 1}\n", |f| f.set("a:c", 2.into()).unwrap());
        let back = StackConfig::from_yaml_str(&out, "f").unwrap();
        assert_eq!(back.get("a:b"), Some(Value::from(1)));
        assert_eq!(back.get("a:c"), Some(Value::from(2)));
    }
}
