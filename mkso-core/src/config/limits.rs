//! What mkso refuses to read: files that are not regular files, too large or
//! too deeply nested; and the cut-short quoting of values in messages.

use std::path::Path;

use super::ConfigError;

/// The largest project or stack file (and config value) mkso reads: 4 MiB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The deepest nesting (lists and mappings) of a config file or value.
pub const MAX_DEPTH: usize = 64;
/// The most characters of a value that an error message quotes.
pub const QUOTE_CHARS: usize = 80;

pub(super) fn too_large(file: &Path) -> ConfigError {
    ConfigError::Refused {
        file: file.to_path_buf(),
        problem: format!(
            "is larger than {} MiB, the most mkso reads from a project or stack file",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    }
}

pub(super) fn too_deep(file: &Path, line: usize) -> ConfigError {
    ConfigError::Refused {
        file: file.to_path_buf(),
        problem: format!(
            "is nested deeper than {MAX_DEPTH} levels (at line {line}), the most mkso reads"
        ),
    }
}

pub(super) fn not_regular(file: &Path, meta: &std::fs::Metadata) -> ConfigError {
    let ft = meta.file_type();
    let mut kind = if ft.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_char_device() {
            kind = "a character device";
        } else if ft.is_block_device() {
            kind = "a block device";
        } else if ft.is_fifo() {
            kind = "a named pipe";
        } else if ft.is_socket() {
            kind = "a socket";
        }
    }
    ConfigError::Refused {
        file: file.to_path_buf(),
        problem: format!(
            "is {kind}: a project or stack file must be a regular file (or a symlink to one)"
        ),
    }
}

/// Reads a project or stack file, bounded: `None` if it does not exist; a
/// path that is not a regular file after following symlinks (a device, a
/// pipe, a directory), a file larger than [`MAX_FILE_BYTES`], text that is not
/// UTF-8 or is nested deeper than [`MAX_DEPTH`] is refused before parsing.
pub(super) fn read_bounded(path: &Path) -> Result<Option<String>, ConfigError> {
    use std::io::Read;
    let io = |source| ConfigError::Io {
        action: "read",
        file: path.to_path_buf(),
        source,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(e)),
    };
    // The path may have changed since: check what was opened.
    let meta = f.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(not_regular(path, &meta));
    }
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path));
    }
    let text = String::from_utf8(bytes).map_err(|e| ConfigError::Parse {
        file: path.to_path_buf(),
        message: format!(
            "it is not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    if let Err(line) = check_depth(&text, MAX_DEPTH) {
        return Err(too_deep(path, line));
    }
    Ok(Some(text))
}

/// Checks the nesting depth of YAML text in one linear pass, before it is
/// parsed: open flow brackets (`[`, `{`) outside quotes and comments, plus
/// block levels (indentation and `- ` sequence markers). Returns the
/// (1-based) line where `limit` is exceeded.
pub(crate) fn check_depth(text: &str, limit: usize) -> Result<(), usize> {
    let mut flow: usize = 0;
    let mut indents: Vec<usize> = Vec::new();
    let mut quote: Option<u8> = None;
    // The indentation of the line that opened a block scalar (`|`, `>`).
    let mut block_scalar: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let b = line.as_bytes();
        let indent = b.iter().take_while(|&&c| c == b' ').count();
        let blank = b[indent..].iter().all(|c| c.is_ascii_whitespace());
        if blank {
            continue;
        }
        if let Some(bi) = block_scalar {
            if indent > bi {
                continue;
            }
            block_scalar = None;
        }
        let mut i = indent;
        if quote.is_none() && flow == 0 {
            if b[i] == b'#' {
                continue;
            }
            while indents.last().is_some_and(|&t| t >= indent) {
                indents.pop();
            }
            indents.push(indent);
            // `- - x`: each sequence marker opens a level.
            while i < b.len() && b[i] == b'-' && (i + 1 == b.len() || b[i + 1] == b' ') {
                i += 1;
                while i < b.len() && b[i] == b' ' {
                    i += 1;
                }
                indents.push(i);
            }
            if indents.len() > limit {
                return Err(n + 1);
            }
        }
        let mut prev = b' ';
        let mut last_content = b' ';
        while i < b.len() {
            let c = b[i];
            match quote {
                Some(b'"') => {
                    if c == b'\\' {
                        i += 1;
                    } else if c == b'"' {
                        quote = None;
                    }
                }
                Some(_) => {
                    if c == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            quote = None;
                        }
                    }
                }
                None => match c {
                    b'#' if prev == b' ' || prev == b'\t' => break,
                    b'"' | b'\'' if matches!(prev, b' ' | b'\t' | b'[' | b'{' | b',' | b':') => {
                        quote = Some(c)
                    }
                    b'[' | b'{' => {
                        flow += 1;
                        if flow + indents.len() > limit {
                            return Err(n + 1);
                        }
                    }
                    b']' | b'}' => flow = flow.saturating_sub(1),
                    _ => {}
                },
            }
            if !c.is_ascii_whitespace() {
                last_content = c;
            }
            prev = c;
            i += 1;
        }
        if quote.is_none() && flow == 0 {
            // `key: |`, `key: >-`, `- |2`: the lines below are text.
            let content = line[..line.len().min(i)].trim_end();
            let tail =
                content.trim_end_matches(|c: char| c == '+' || c == '-' || c.is_ascii_digit());
            if (tail.ends_with('|') || tail.ends_with('>'))
                && (matches!(last_content, b'|' | b'>' | b'+' | b'-')
                    || last_content.is_ascii_digit())
            {
                block_scalar = Some(indent);
            }
        }
    }
    Ok(())
}

/// `s` cut to [`QUOTE_CHARS`] characters (with `…` when cut), for messages.
pub(crate) fn short(s: &str) -> String {
    short_n(s, QUOTE_CHARS)
}

/// A message with every quoted part (`"..."`, `` `...` ``) longer than
/// [`QUOTE_CHARS`] cut short, so that no error echoes a whole huge value.
pub(crate) fn shorten_quoted(msg: &str) -> String {
    let mut out = String::new();
    let mut rest = msg;
    while let Some(pos) = rest.find(['"', '`']) {
        let q = rest.as_bytes()[pos] as char;
        out.push_str(&rest[..=pos]);
        let body = &rest[pos + 1..];
        // The closing quote (skipping backslash escapes inside "...").
        let mut end = None;
        let mut escaped = false;
        for (i, c) in body.char_indices() {
            if escaped {
                escaped = false;
            } else if c == '\\' && q == '"' {
                escaped = true;
            } else if c == q {
                end = Some(i);
                break;
            }
        }
        match end {
            Some(e) => {
                out.push_str(&short(&body[..e]));
                out.push(q);
                rest = &body[e + 1..];
            }
            None => {
                out.push_str(&short(body));
                rest = "";
            }
        }
    }
    out.push_str(rest);
    if out.chars().count() > 8 * QUOTE_CHARS {
        out = short_n(&out, 8 * QUOTE_CHARS);
    }
    out
}

/// `s` cut to `n` characters (with `…` when cut).
fn short_n(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PROJECT_FILE, Project, StackConfig, StackFile};

    #[cfg(unix)]
    #[test]
    fn non_regular_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::os::unix::fs::symlink("/dev/zero", &p).unwrap();
        let t = std::time::Instant::now();
        let e = StackFile::load(&p).unwrap_err().to_string();
        assert!(
            e.contains("a character device") && e.contains("regular file"),
            "{e}"
        );
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        std::os::unix::fs::symlink("/dev/zero", dir.path().join(PROJECT_FILE)).unwrap();
        let e = Project::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("a character device"), "{e}");
        let d = dir.path().join("Mkso.a.b.QA.yaml");
        std::fs::create_dir(&d).unwrap();
        let e = StackFile::load(&d).unwrap_err().to_string();
        assert!(e.contains("a directory"), "{e}");
    }

    #[test]
    fn large_and_deep_files_are_refused_fast() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        let big = format!("config:\n  a:b: \"{}\"\n", "x".repeat(5 * 1024 * 1024));
        std::fs::write(&p, &big).unwrap();
        let e = StackFile::load(&p).unwrap_err().to_string();
        assert!(e.contains("larger than 4 MiB"), "{e}");
        assert!(e.len() < 300, "{e}");
        let t = std::time::Instant::now();
        for deep in [
            format!(
                "config:\n  a:b: {}{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
            format!("config:\n  a:b:\n    {}1\n", "- ".repeat(50_000)),
            format!(
                "config:\n  a:b: {}1{}\n",
                "{x: ".repeat(50_000),
                "}".repeat(50_000)
            ),
            {
                let mut s = String::from("config:\n  a:b:\n");
                for i in 0..200 {
                    s.push_str(&" ".repeat(4 + i));
                    s.push_str("- x\n");
                    s.push_str(&" ".repeat(4 + i));
                    s.push_str("-\n");
                }
                s
            },
        ] {
            std::fs::write(&p, &deep).unwrap();
            let e = StackFile::load(&p).unwrap_err().to_string();
            assert!(e.contains("nested deeper than 64 levels"), "{e}");
        }
        assert!(
            t.elapsed() < std::time::Duration::from_secs(2),
            "{:?}",
            t.elapsed()
        );
        // Brackets in quotes, comments and block scalars do not count.
        let ok = format!(
            "config:\n  a:b: \"{0}\"\n  a:c: '{0}'\n  # {0}\n  a:d: |\n    {0}\n  a:e: [x, 'it''s [', \"]\"]\n",
            "[".repeat(100)
        );
        std::fs::write(&p, &ok).unwrap();
        let c = StackConfig::load(&p).unwrap();
        assert_eq!(c.get("a:e"), Some(serde_json::json!(["x", "it's [", "]"])));
        // Real stack files pass.
        for f in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../stacks"))
            .unwrap()
            .flat_map(|d| std::fs::read_dir(d.unwrap().path()).into_iter().flatten())
        {
            let f = f.unwrap().path();
            if f.extension().is_some_and(|e| e == "yaml") {
                StackFile::load(&f).unwrap();
            }
        }
    }
}
