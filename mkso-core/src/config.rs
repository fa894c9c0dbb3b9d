//! Project and stack configuration.
//!
//! A project directory holds `Mkso.yaml` (project name, description, optional
//! backend and history settings) and one `Mkso.<stack>.yaml` per stack with a
//! `config:` map of `namespace:key` entries. A program reads a namespace as a
//! typed struct; every key can be overridden from the environment as
//! `MKSO_CONFIG__<NAMESPACE>__<KEY>`.
//!
//! ```
//! use mkso::config::StackConfig;
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Bench { count: u32, #[serde(default)] shape: Option<String> }
//!
//! let cfg = StackConfig::from_yaml_str("config:\n  bench:count: 10\n", "Mkso.b.Dev.yaml").unwrap()
//!     .with_env([("MKSO_CONFIG__BENCH__COUNT".to_string(), "25".to_string())]);
//! let b: Bench = cfg.namespace("bench").unwrap();
//! assert_eq!(b.count, 25);
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::names::StackName;
use crate::secrets::{SECRET_MARKER, Secrets, SecretsError, salt_of};

/// The project file's name.
pub const PROJECT_FILE: &str = "Mkso.yaml";
/// The prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "MKSO_CONFIG__";
/// The largest project or stack file (and config value) mkso reads: 4 MiB.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// The deepest nesting (lists and mappings) of a config file or value.
pub const MAX_DEPTH: usize = 64;
/// The most characters of a value that an error message quotes.
pub const QUOTE_CHARS: usize = 80;

/// Errors reading configuration. Each names the file and what to do.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A secret config value cannot be encrypted or decrypted.
    #[error("config key `{key}` in {file}: {source}")]
    Secret {
        /// `namespace:key` (or `encryptionsalt`).
        key: String,
        /// The stack file.
        file: PathBuf,
        /// What went wrong (never the value).
        #[source]
        source: SecretsError,
    },
    /// A secret key read into a field that is not a `Secret`.
    #[error(
        "config key `{key}` in {file} is secret, but the program reads it into a plain field: declare that field as `mkso::secrets::Secret<...>` so the value stays secret"
    )]
    SecretNotDeclared {
        /// `namespace:key`.
        key: String,
        /// The stack file.
        file: PathBuf,
    },
    /// The project file does not exist.
    #[error(
        "no {PROJECT_FILE} in {dir}: run from a project directory or pass --project-dir DIR (a directory holding {PROJECT_FILE} with at least `name: <project>`)"
    )]
    NoProject {
        /// Where it was looked for.
        dir: PathBuf,
    },
    /// A file could not be read or written.
    #[error("cannot {action} {file}: {source}")]
    Io {
        /// read / write.
        action: &'static str,
        /// The file.
        file: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid YAML of the expected shape.
    #[error("{file} is not valid: {message}")]
    Parse {
        /// The file.
        file: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A config key is not of the form `namespace:key`.
    #[error(
        "config key `{key}` in {file} is not of the form `namespace:key` (for example `aws:region`)"
    )]
    BadKey {
        /// The key.
        key: String,
        /// The file.
        file: PathBuf,
    },
    /// A required key is missing.
    #[error(
        "missing config key `{key}` (expected {expected}) in {file}: add it with `config set {key} <value>` or set {env}"
    )]
    Missing {
        /// `namespace:key`.
        key: String,
        /// The expected type.
        expected: String,
        /// The stack file.
        file: PathBuf,
        /// The environment variable that would override it.
        env: String,
    },
    /// A key has a value of the wrong type.
    #[error("config key `{key}` in {file} has the wrong type: expected {expected}; {message}")]
    WrongType {
        /// `namespace:key` (with a path into the value where it is nested).
        key: String,
        /// The expected type.
        expected: String,
        /// The stack file.
        file: PathBuf,
        /// What the deserializer found.
        message: String,
    },
    /// A key the program does not know.
    #[error(
        "unknown config key `{key}` in {file}: the program's `{namespace}` config has {known}; remove it with `config rm {key}` or fix its spelling"
    )]
    Unknown {
        /// `namespace:key`.
        key: String,
        /// The namespace.
        namespace: String,
        /// The keys the program knows.
        known: String,
        /// Where it came from (file or environment variable).
        file: String,
    },
    /// A project or stack file that mkso refuses to read or write: not a
    /// regular file, too large, too deeply nested.
    #[error("{file} {problem}")]
    Refused {
        /// The file.
        file: PathBuf,
        /// What is wrong with it, and what to do.
        problem: String,
    },
    /// A config namespace (in the stack file or an `MKSO_CONFIG__` variable)
    /// that neither the program nor its providers read.
    #[error("{message}")]
    UnknownNamespace {
        /// The whole message (names the key or variable, where it came from
        /// and the known namespaces).
        message: String,
    },
    /// The stack file is missing, but the stack has recorded resources.
    #[error(
        "stack file {file} does not exist, but stack {stack} has {what}: without its config the program could plan to delete them. Restore the file (e.g. from version control), run from the project directory that holds it (or pass --project-dir DIR), or create it with `config set --stack {stack} <namespace:key> <value>`"
    )]
    MissingStackFile {
        /// The missing file.
        file: PathBuf,
        /// The stack.
        stack: String,
        /// What is recorded (e.g. `12 recorded resources`).
        what: String,
    },
}

/// Where state is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSettings {
    /// `file://DIR` or `s3://bucket/prefix`.
    pub url: String,
}

/// History settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// How many updates to keep (default 10).
    pub keep: usize,
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings { keep: 10 }
    }
}

/// `Mkso.yaml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// The project's name.
    pub name: String,
    /// What it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Where state is kept (default `file://` to `.mkso/` beside this file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<BackendSettings>,
    /// History settings.
    #[serde(default)]
    pub history: HistorySettings,
}

/// A loaded project: its directory and `Mkso.yaml`.
#[derive(Debug, Clone)]
pub struct Project {
    /// The directory holding `Mkso.yaml`.
    pub dir: PathBuf,
    /// Its contents.
    pub file: ProjectFile,
}

impl Project {
    /// Loads `Mkso.yaml` from `dir`.
    pub fn load(dir: &Path) -> Result<Project, ConfigError> {
        let path = dir.join(PROJECT_FILE);
        let Some(text) = read_bounded(&path)? else {
            return Err(ConfigError::NoProject {
                dir: dir.to_path_buf(),
            });
        };
        let file: ProjectFile = serde_yaml_ng::from_str(&text).map_err(|e| ConfigError::Parse {
            file: path.clone(),
            message: shorten_quoted(&e.to_string()),
        })?;
        if let Err(message) = crate::names::validate_project_name(&file.name) {
            return Err(ConfigError::Parse {
                file: path,
                message,
            });
        }
        Ok(Project {
            dir: dir.to_path_buf(),
            file,
        })
    }

    /// The path of a stack's config file.
    pub fn stack_file(&self, stack: &StackName) -> PathBuf {
        self.dir.join(format!("Mkso.{stack}.yaml"))
    }

    /// Loads a stack's config (an absent file is an empty config), with the
    /// process environment's overrides. See [`StackFile::load`] for the files
    /// refused.
    pub fn stack_config(&self, stack: &StackName) -> Result<StackConfig, ConfigError> {
        Ok(StackConfig::load(&self.stack_file(stack))?.with_env(std::env::vars()))
    }
}

/// `Mkso.<stack>.yaml`: kept as a YAML mapping so that edits keep unknown parts.
///
/// Edits ([`StackFile::set`], [`StackFile::remove`], ...) change only the
/// lines of the entries they touch when the file is saved: comments, order
/// and formatting of everything else are kept. Edit a file with
/// [`StackFile::open_for_edit`], which holds a lock on the file's directory
/// until the `StackFile` is dropped, so that concurrent `config set`s and
/// `config rm`s of one directory happen one after the other.
#[derive(Debug, Clone, Default)]
pub struct StackFile {
    path: PathBuf,
    doc: serde_yaml_ng::Mapping,
    /// The text as read (`None`: the file did not exist).
    text: Option<String>,
    /// The edits since loading, in order (applied to `text` by `save`).
    edits: Vec<Edit>,
    /// The directory lock held from `open_for_edit` until drop.
    lock: Option<Arc<std::fs::File>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Edit {
    /// A `config:` entry set to its value in `doc`.
    Set(String),
    /// A `config:` entry removed.
    Remove(String),
    /// `encryptionsalt:` set to its value in `doc`.
    Salt,
}

impl StackFile {
    /// Reads the file; an absent file is empty. A file that is not a regular
    /// file (after following symlinks), is larger than [`MAX_FILE_BYTES`] or
    /// nested deeper than [`MAX_DEPTH`] is refused.
    pub fn load(path: &Path) -> Result<StackFile, ConfigError> {
        let text = read_bounded(path)?;
        let mut f = Self::parse(text.as_deref().unwrap_or_default(), path)?;
        f.text = text;
        Ok(f)
    }

    /// Whether the file existed when it was read.
    pub fn exists(&self) -> bool {
        self.text.is_some()
    }

    /// Locks the file's directory (an OS lock that dies with the process),
    /// then reads the file, for a read-modify-write that [`StackFile::save`]
    /// ends. The lock is held until the returned value is dropped.
    ///
    /// A stack file that is a symlink is followed: the write replaces the
    /// file it points to (the temp file is made in that file's directory).
    pub fn open_for_edit(path: &Path) -> Result<StackFile, ConfigError> {
        let target = write_target(path)?;
        let dir = parent_dir(&target);
        let lock = lock_dir(dir).map_err(|source| ConfigError::Io {
            action: "lock the directory of",
            file: path.to_path_buf(),
            source,
        })?;
        let mut f = Self::load(path)?;
        f.lock = Some(Arc::new(lock));
        Ok(f)
    }

    fn parse(text: &str, path: &Path) -> Result<StackFile, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            file: path.to_path_buf(),
            message,
        };
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large(path));
        }
        if let Err(line) = check_depth(text, MAX_DEPTH) {
            return Err(too_deep(path, line));
        }
        let doc: serde_yaml_ng::Value = if text.trim().is_empty() {
            serde_yaml_ng::Value::Mapping(Default::default())
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| parse_err(shorten_quoted(&e.to_string())))?
        };
        let doc = match doc {
            serde_yaml_ng::Value::Mapping(m) => m,
            serde_yaml_ng::Value::Null => Default::default(),
            _ => return Err(parse_err("expected a mapping with a `config:` key".into())),
        };
        if let Some(c) = doc.get("config")
            && !(c.is_mapping() || c.is_null())
        {
            return Err(parse_err(
                "`config:` must be a mapping of `namespace:key: value`".into(),
            ));
        }
        Ok(StackFile {
            path: path.to_path_buf(),
            doc,
            text: None,
            edits: Vec::new(),
            lock: None,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The `config:` entries, as JSON values.
    pub fn entries(&self) -> Result<BTreeMap<String, Value>, ConfigError> {
        let mut out = BTreeMap::new();
        let Some(serde_yaml_ng::Value::Mapping(m)) = self.doc.get("config") else {
            return Ok(out);
        };
        for (k, v) in m {
            let key = k.as_str().map(str::to_string).unwrap_or_else(|| {
                serde_yaml_ng::to_string(k)
                    .unwrap_or_default()
                    .trim()
                    .to_string()
            });
            if split_key(&key).is_none() {
                return Err(ConfigError::BadKey {
                    key: short(&key),
                    file: self.path.clone(),
                });
            }
            let v: Value = serde_json::to_value(v).map_err(|e| ConfigError::Parse {
                file: self.path.clone(),
                message: format!("value of `{key}`: {}", shorten_quoted(&e.to_string())),
            })?;
            out.insert(key, v);
        }
        Ok(out)
    }

    /// The text as written in the file of each `config:` entry whose value
    /// is a number or boolean on the entry's own line (`app:account:
    /// 123456789012`, `app:version: 1.10`), so that a string field reads it
    /// exactly as written rather than as the number's canonical form.
    fn scalar_texts(&self, text: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(serde_yaml_ng::Value::Mapping(m)) = self.doc.get("config") else {
            return out;
        };
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let Ok(Some(block)) = config_block(&mut lines) else {
            return out;
        };
        for (key, first, last) in &block.entries {
            if first != last {
                continue;
            }
            let Some(v) = m.get(key.as_str()) else {
                continue;
            };
            if !(v.is_number() || v.is_bool()) {
                continue;
            }
            let Some(raw) = entry_value_text(&lines[*first]) else {
                continue;
            };
            // Only text that is that very value (no tag, anchor, quotes...).
            if serde_yaml_ng::from_str::<serde_yaml_ng::Value>(raw)
                .ok()
                .as_ref()
                == Some(v)
                && !raw.contains(['!', '&', '*', '"', '\'', '[', '{'])
            {
                out.insert(key.clone(), raw.to_string());
            }
        }
        out
    }

    /// Sets a key (validating its form), keeping every other part of the file.
    pub fn set(&mut self, key: &str, value: serde_yaml_ng::Value) -> Result<(), ConfigError> {
        if split_key(key).is_none() {
            return Err(ConfigError::BadKey {
                key: short(key),
                file: self.path.clone(),
            });
        }
        let config = self
            .doc
            .entry("config".into())
            .or_insert_with(|| serde_yaml_ng::Value::Mapping(Default::default()));
        if config.is_null() {
            *config = serde_yaml_ng::Value::Mapping(Default::default());
        }
        if let serde_yaml_ng::Value::Mapping(m) = config {
            m.insert(key.into(), value);
        }
        self.edits.push(Edit::Set(key.to_string()));
        Ok(())
    }

    /// Sets a key to an encrypted value (`{secure: v1:...}`), creating the
    /// file's salt (`encryptionsalt:`) on first use and checking the passphrase
    /// against it otherwise.
    pub fn set_secret(
        &mut self,
        key: &str,
        value: &Value,
        secrets: &Secrets,
    ) -> Result<(), ConfigError> {
        let err = |source| ConfigError::Secret {
            key: key.into(),
            file: self.path.clone(),
            source,
        };
        let salt = match self.doc.get("encryptionsalt").and_then(|v| v.as_str()) {
            Some(line) => secrets
                .open_salt_line(line, &self.path.display().to_string())
                .map_err(err)?,
            None => {
                let line = secrets.new_salt_line().map_err(err)?;
                let salt = salt_of(&line).unwrap_or_default().to_string();
                self.doc.insert("encryptionsalt".into(), line.into());
                self.edits.push(Edit::Salt);
                salt
            }
        };
        let text = serde_json::to_vec(value).expect("JSON serializes");
        let sealed = secrets.encrypt(&salt, &text).map_err(err)?;
        let mut m = serde_yaml_ng::Mapping::new();
        m.insert("secure".into(), sealed.into());
        self.set(key, serde_yaml_ng::Value::Mapping(m))
    }

    /// The salt of the file's secrets (`encryptionsalt:`), if it has any.
    pub fn salt(&self) -> Option<String> {
        let line = self.doc.get("encryptionsalt")?.as_str()?;
        salt_of(line).map(str::to_string)
    }

    /// Removes a key; returns whether it was there.
    pub fn remove(&mut self, key: &str) -> bool {
        let removed = match self.doc.get_mut("config") {
            Some(serde_yaml_ng::Value::Mapping(m)) => m.remove(key).is_some(),
            _ => false,
        };
        if removed {
            self.edits.push(Edit::Remove(key.to_string()));
        }
        removed
    }

    /// The file's new text: the old text with the edited entries' lines
    /// replaced, added or removed (checked by parsing it back), else the
    /// whole mapping serialised anew.
    fn render(&self) -> Result<String, ConfigError> {
        let old = self.text.as_deref().unwrap_or_default();
        if let Some(text) = edit_text(old, &self.edits, &self.doc)
            && let Ok(back) = Self::parse(&text, &self.path)
            && same_doc(&back.doc, &self.doc)
        {
            return Ok(text);
        }
        serde_yaml_ng::to_string(&self.doc).map_err(|e| ConfigError::Parse {
            file: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// Writes the file back atomically: a new temp file created exclusively
    /// beside the target (never through a symlink), synced, then renamed over
    /// it. A stack file that is a symlink is followed to the file it points
    /// to, which is replaced.
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = self.render()?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(ConfigError::Refused {
                file: self.path.clone(),
                problem: format!(
                    "would be larger than {} MiB (the most mkso reads): nothing was written",
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            });
        }
        let target = write_target(&self.path)?;
        write_atomic(&target, text.as_bytes()).map_err(|source| ConfigError::Io {
            action: "write",
            file: self.path.clone(),
            source,
        })
    }
}

/// Two stack-file mappings are equal (an absent or null `config:` is empty).
fn same_doc(a: &serde_yaml_ng::Mapping, b: &serde_yaml_ng::Mapping) -> bool {
    let norm = |m: &serde_yaml_ng::Mapping| {
        let mut m = m.clone();
        match m.get("config") {
            Some(serde_yaml_ng::Value::Null) => {
                m.insert("config".into(), serde_yaml_ng::Mapping::new().into());
            }
            None => {
                m.insert("config".into(), serde_yaml_ng::Mapping::new().into());
            }
            _ => {}
        }
        m
    };
    norm(a) == norm(b)
}

fn parent_dir(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The file a write of `path` replaces: `path` itself, or the file a symlink
/// at `path` points to (a dangling symlink is refused).
fn write_target(path: &Path) -> Result<PathBuf, ConfigError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(t) => {
                let meta = std::fs::metadata(&t).map_err(|source| ConfigError::Io {
                    action: "read",
                    file: path.to_path_buf(),
                    source,
                })?;
                if !meta.is_file() {
                    return Err(not_regular(path, &meta));
                }
                Ok(t)
            }
            Err(_) => Err(ConfigError::Refused {
                file: path.to_path_buf(),
                problem: "is a symlink to a file that does not exist: remove the symlink or create its target".into(),
            }),
        },
        Ok(m) if !m.is_file() => Err(not_regular(path, &m)),
        _ => Ok(path.to_path_buf()),
    }
}

/// An exclusive OS lock on a directory (released when the file is closed,
/// and by the OS when the process dies).
fn lock_dir(dir: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    let f = std::fs::File::open(dir)?;
    #[cfg(not(unix))]
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".mkso-config.lock"))?;
    f.lock()?;
    Ok(f)
}

/// Writes `bytes` to `target` through a uniquely named temp file created
/// exclusively (`O_EXCL`: a planted symlink is never followed) in the same
/// directory, synced, then renamed over the target.
fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = parent_dir(target);
    let mut tmp = tempfile::Builder::new()
        .prefix(".mkso-config-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(target)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

fn too_large(file: &Path) -> ConfigError {
    ConfigError::Refused {
        file: file.to_path_buf(),
        problem: format!(
            "is larger than {} MiB, the most mkso reads from a project or stack file",
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    }
}

fn too_deep(file: &Path, line: usize) -> ConfigError {
    ConfigError::Refused {
        file: file.to_path_buf(),
        problem: format!(
            "is nested deeper than {MAX_DEPTH} levels (at line {line}), the most mkso reads"
        ),
    }
}

fn not_regular(file: &Path, meta: &std::fs::Metadata) -> ConfigError {
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
fn read_bounded(path: &Path) -> Result<Option<String>, ConfigError> {
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
    match s.char_indices().nth(QUOTE_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
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

fn short_n(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

// ---- Line-wise edits of a stack file's text -------------------------------

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
fn entry_value_text(line: &str) -> Option<&str> {
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
struct ConfigBlock {
    /// The `config:` line.
    header: usize,
    /// The line after the block's last line.
    end: usize,
    /// The entries' indentation.
    indent: usize,
    /// Each entry: key, first line, last line.
    entries: Vec<(String, usize, usize)>,
}

/// Finds the `config:` block; `Err` when its form is one this editor does
/// not handle (the caller falls back to re-serialising).
fn config_block(lines: &mut [String]) -> Result<Option<ConfigBlock>, ()> {
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
fn edit_text(text: &str, edits: &[Edit], doc: &serde_yaml_ng::Mapping) -> Option<String> {
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

fn split_key(key: &str) -> Option<(&str, &str)> {
    let (ns, k) = key.split_once(':')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    };
    (ok(ns) && ok(k)).then_some((ns, k))
}

/// Normalises a name for matching an environment variable.
fn env_part(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// The ciphertext of a `{secure: v1:...}` config value.
fn secure_text(v: &Value) -> Option<&str> {
    match v {
        Value::Object(m) if m.len() == 1 => m.get("secure")?.as_str(),
        _ => None,
    }
}

/// The environment variable that overrides `namespace:key`.
pub fn env_var_for(key: &str) -> String {
    match split_key(key) {
        Some((ns, k)) => format!("{ENV_PREFIX}{}__{}", env_part(ns), env_part(k)),
        None => format!("{ENV_PREFIX}{}", env_part(key)),
    }
}

/// A stack's configuration with environment overrides; read namespaces typed.
#[derive(Debug, Clone, Default)]
pub struct StackConfig {
    file: PathBuf,
    entries: BTreeMap<String, Value>,
    /// The text as written in the file of number and boolean values (for
    /// string fields), by key.
    scalar_texts: BTreeMap<String, String>,
    /// Keys whose values are secret (decrypted in `entries`).
    secret_keys: BTreeSet<String>,
    /// (NAMESPACE, KEY) as in the variable's name → (variable name, raw value).
    env: BTreeMap<(String, String), (String, String)>,
    /// `MKSO_CONFIG__` variables not of the form `..._<NAMESPACE>__<KEY>`.
    env_malformed: Vec<String>,
    /// Namespaces read or declared so far (shared by clones: a program's
    /// `Stack` and the runner see the same set).
    used: Arc<Mutex<BTreeSet<String>>>,
}

impl StackConfig {
    /// Loads a stack file (an absent file is empty); no environment overrides yet.
    pub fn load(path: &Path) -> Result<StackConfig, ConfigError> {
        let f = StackFile::load(path)?;
        let mut c = StackConfig {
            file: path.to_path_buf(),
            entries: f.entries()?,
            scalar_texts: f.scalar_texts(f.text.as_deref().unwrap_or_default()),
            ..StackConfig::default()
        };
        c.open_secrets(&f)?;
        Ok(c)
    }

    /// Parses config from a YAML string (`config:` map); `file` is used in errors.
    pub fn from_yaml_str(text: &str, file: &str) -> Result<StackConfig, ConfigError> {
        let f = StackFile::parse(text, Path::new(file))?;
        let mut c = StackConfig {
            file: file.into(),
            entries: f.entries()?,
            scalar_texts: f.scalar_texts(text),
            ..StackConfig::default()
        };
        c.open_secrets(&f)?;
        Ok(c)
    }

    /// Config from `namespace:key` → value pairs.
    pub fn from_map(entries: impl IntoIterator<Item = (String, Value)>, file: &str) -> StackConfig {
        StackConfig {
            file: file.into(),
            entries: entries.into_iter().collect(),
            ..StackConfig::default()
        }
    }

    /// Adds a secret value (as `config set --secret` would; for tests).
    #[must_use]
    pub fn with_secret(mut self, key: &str, value: Value) -> Self {
        crate::secrets::register_value(&value);
        self.entries.insert(key.to_string(), value);
        self.secret_keys.insert(key.to_string());
        self
    }

    /// Decrypts `{secure: ...}` values with `MKSO_PASSPHRASE`.
    fn open_secrets(&mut self, f: &StackFile) -> Result<(), ConfigError> {
        let secure: Vec<String> = self
            .entries
            .iter()
            .filter(|(_, v)| secure_text(v).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        if secure.is_empty() {
            return Ok(());
        }
        let secrets = Secrets::process();
        let file = self.file.display().to_string();
        if let Some(line) = f.doc.get("encryptionsalt").and_then(|v| v.as_str()) {
            secrets
                .open_salt_line(line, &file)
                .map_err(|source| ConfigError::Secret {
                    key: "encryptionsalt".into(),
                    file: self.file.clone(),
                    source,
                })?;
        }
        for key in secure {
            let sealed = secure_text(&self.entries[&key])
                .unwrap_or_default()
                .to_string();
            let err = |source| ConfigError::Secret {
                key: key.clone(),
                file: self.file.clone(),
                source,
            };
            let plain = secrets
                .decrypt_named(&sealed, &format!("the value of `{key}`"))
                .map_err(err)?;
            let v: Value = serde_json::from_slice(&plain).map_err(|_| {
                err(SecretsError::Malformed {
                    what: format!("the value of `{key}`"),
                    reason: "not JSON inside",
                })
            })?;
            crate::secrets::register_value(&v);
            self.entries.insert(key.clone(), v);
            self.secret_keys.insert(key);
        }
        Ok(())
    }

    /// Whether a key holds a secret.
    pub fn is_secret(&self, key: &str) -> bool {
        self.secret_keys.contains(key)
    }

    /// Applies `MKSO_CONFIG__<NAMESPACE>__<KEY>` overrides from these variables.
    #[must_use]
    pub fn with_env(mut self, vars: impl IntoIterator<Item = (String, String)>) -> Self {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let Some((ns, key)) = rest.split_once("__") else {
                self.env_malformed.push(name);
                continue;
            };
            self.env
                .insert((ns.to_string(), key.to_string()), (name.clone(), value));
        }
        self
    }

    /// The stack file these values come from.
    pub fn file(&self) -> &Path {
        &self.file
    }

    /// Declares a namespace that the program reads only sometimes (or reads
    /// by other means than [`StackConfig::namespace`] and
    /// [`StackConfig::get`]), so that its keys are not reported as unknown
    /// when the program did not read them; see [`StackConfig::check_namespaces`].
    ///
    /// ```
    /// use mkso::config::StackConfig;
    /// let cfg = StackConfig::from_yaml_str("config:\n  extra:flag: true\n", "Mkso.a.b.Dev.yaml").unwrap();
    /// assert!(cfg.check_namespaces().is_err(), "nobody read `extra`");
    /// cfg.declare_namespace("extra");
    /// assert!(cfg.check_namespaces().is_ok());
    /// ```
    pub fn declare_namespace(&self, namespace: &str) {
        self.mark_used(namespace);
    }

    fn mark_used(&self, namespace: &str) {
        self.used
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(namespace.to_string());
    }

    /// The namespaces read or declared so far.
    pub fn used_namespaces(&self) -> BTreeSet<String> {
        self.used.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Checks that every namespace of the stack file and of the `MKSO_CONFIG__`
    /// variables was read (or declared) by the program and its providers: the
    /// first one that was not is an error naming the key or variable, where it
    /// came from and the namespaces that were read, so that a typo
    /// (`bnech:count`, `MKSO_CONFIG__BENCHX__COUNT`) does not silently leave a
    /// default in place. A variable name that is not upper case is an error
    /// with the upper-case form.
    pub fn check_namespaces(&self) -> Result<(), ConfigError> {
        let used = self.used_namespaces();
        let known = if used.is_empty() {
            "no namespace".to_string()
        } else {
            used.iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let file = self.file.display();
        for key in self.entries.keys() {
            let Some((ns, _)) = split_key(key) else {
                continue;
            };
            if !used.contains(ns) {
                return Err(ConfigError::UnknownNamespace {
                    message: format!(
                        "unknown config namespace `{ns}` (key `{key}` in {file}): the program and its providers read {known}; fix its spelling, remove it with `config rm {key}`, or, if the program reads it only sometimes, declare it with `stack.declare_config_namespace(\"{ns}\")`",
                        ns = short(ns),
                        key = short(key),
                    ),
                });
            }
        }
        if let Some(name) = self.env_malformed.first() {
            return Err(ConfigError::UnknownNamespace {
                message: format!(
                    "environment variable {} is not of the form {ENV_PREFIX}<NAMESPACE>__<KEY> (for example {ENV_PREFIX}AWS__REGION): fix or unset it",
                    short(name)
                ),
            });
        }
        for ((ns, key), (name, _)) in &self.env {
            let upper = format!("{ENV_PREFIX}{}__{}", env_part(ns), env_part(key));
            if *name != upper {
                return Err(ConfigError::UnknownNamespace {
                    message: format!(
                        "environment variable {} is not read: config variables are upper case, {ENV_PREFIX}<NAMESPACE>__<KEY>; use {}",
                        short(name),
                        short(&upper)
                    ),
                });
            }
            if !used.iter().any(|u| env_part(u) == *ns) {
                return Err(ConfigError::UnknownNamespace {
                    message: format!(
                        "unknown config namespace `{}` (environment variable {}): the program and its providers read {known}; fix its name or unset it",
                        short(&ns.to_lowercase()),
                        short(name)
                    ),
                });
            }
        }
        Ok(())
    }

    /// Every entry (file values, then environment overrides of keys the file
    /// has). Counts as reading every namespace.
    pub fn entries(&self) -> BTreeMap<String, Value> {
        for k in self.entries.keys() {
            if let Some((ns, _)) = split_key(k) {
                self.mark_used(ns);
            }
        }
        let mut out = self.entries.clone();
        for (k, v) in out.iter_mut() {
            if let Some((ns, key)) = split_key(k)
                && let Some((_, raw)) = self.env.get(&(env_part(ns), env_part(key)))
            {
                *v = parse_env_value(raw, v.is_string());
            }
        }
        out
    }

    /// Reads one key, untyped (with its environment override).
    pub fn get(&self, key: &str) -> Option<Value> {
        let (ns, k) = split_key(key)?;
        self.mark_used(ns);
        if let Some((_, raw)) = self.env.get(&(env_part(ns), env_part(k))) {
            let is_str = self.entries.get(key).is_none_or(Value::is_string);
            return Some(parse_env_value(raw, is_str));
        }
        self.entries.get(key).cloned()
    }

    /// Reads a namespace (`bench` for `bench:count`, `bench:shape`, ...) as a typed
    /// struct. Missing, mistyped and unknown keys are errors that name the key,
    /// the expected type and the file.
    ///
    /// A value stored as a string (`config set` stores the exact string
    /// given, unless --yaml) is read as YAML when the field is a number,
    /// boolean, list or mapping (as environment values are). A number or
    /// boolean (`app:account: 123456789012`, `app:version: 1.10`) read into
    /// a string field is the text as written in the file (or, where that
    /// is not known, the value's canonical text).
    pub fn namespace<T: DeserializeOwned + JsonSchema>(&self, ns: &str) -> Result<T, ConfigError> {
        self.mark_used(ns);
        let schema = schemars::schema_for!(T);
        let schema = schema.as_value();
        let props = schema
            .get("properties")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let file = self.file.display().to_string();
        let known = || {
            if props.is_empty() {
                "no keys".to_string()
            } else {
                props
                    .keys()
                    .map(|k| format!("`{ns}:{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        };

        let mut obj = serde_json::Map::new();
        for (key, value) in &self.entries {
            let Some((kns, k)) = split_key(key) else {
                continue;
            };
            if kns != ns {
                continue;
            }
            if !props.contains_key(k) {
                return Err(ConfigError::Unknown {
                    key: short(key),
                    namespace: ns.into(),
                    known: known(),
                    file: file.clone(),
                });
            }
            if self.secret_keys.contains(key) && !props[k].to_string().contains(SECRET_MARKER) {
                return Err(ConfigError::SecretNotDeclared {
                    key: key.clone(),
                    file: self.file.clone(),
                });
            }
            let value = match value {
                Value::String(s) if wants_non_string(&props[k], schema) => {
                    parse_env_value(s, false)
                }
                Value::Number(_) | Value::Bool(_) if wants_string(&props[k], schema) => {
                    Value::String(match self.scalar_texts.get(key) {
                        Some(raw) if !self.secret_keys.contains(key) => raw.clone(),
                        _ => value.to_string(),
                    })
                }
                v => v.clone(),
            };
            obj.insert(k.to_string(), value);
        }
        let ns_env = env_part(ns);
        for ((ens, ekey), (var, raw)) in &self.env {
            if *ens != ns_env {
                continue;
            }
            let Some((prop, prop_schema)) = props.iter().find(|(p, _)| env_part(p) == *ekey) else {
                return Err(ConfigError::Unknown {
                    key: short(&format!("{ns}:{}", ekey.to_lowercase())),
                    namespace: ns.into(),
                    known: known(),
                    file: format!("environment variable {}", short(var)),
                });
            };
            let is_str = describe_type(prop_schema, schema) == "string";
            obj.insert(prop.clone(), parse_env_value(raw, is_str));
        }
        for r in &required {
            if !obj.contains_key(r) {
                let key = format!("{ns}:{r}");
                return Err(ConfigError::Missing {
                    expected: props
                        .get(r)
                        .map(|p| describe_type(p, schema))
                        .unwrap_or_else(|| "a value".into()),
                    env: env_var_for(&key),
                    key,
                    file: self.file.clone(),
                });
            }
        }
        let value = Value::Object(obj);
        serde_path_to_error::deserialize::<_, T>(&value).map_err(|e| {
            let path = e.path().to_string();
            let top = path
                .split(['.', '['])
                .next()
                .unwrap_or_default()
                .to_string();
            let expected = props
                .get(&top)
                .map(|p| describe_type(p, schema))
                .unwrap_or_else(|| "a value".into());
            ConfigError::WrongType {
                key: format!("{ns}:{path}"),
                expected,
                file: self.file.clone(),
                message: shorten_quoted(&e.into_inner().to_string()),
            }
        })
    }
}

/// An environment value: a string as-is when a string is expected, else parsed
/// as YAML (`10000` is a number, `[a, b]` a list, `true` a boolean). A value
/// larger than [`MAX_FILE_BYTES`] or nested deeper than [`MAX_DEPTH`] is not
/// parsed (it stays a string, which the typed read then reports).
fn parse_env_value(raw: &str, want_string: bool) -> Value {
    if want_string || raw.len() as u64 > MAX_FILE_BYTES || check_depth(raw, MAX_DEPTH).is_err() {
        return Value::String(raw.to_string());
    }
    serde_yaml_ng::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

/// Whether a field's schema accepts no string: a number, boolean, list or
/// mapping (optional or not).
fn wants_non_string(s: &Value, root: &Value) -> bool {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return match root.get("$defs").and_then(|d| d.get(name)) {
            Some(def) => wants_non_string(def, root),
            None => false,
        };
    }
    let plain = |t: &str| matches!(t, "integer" | "number" | "boolean" | "array" | "object");
    if s.get("enum").is_some() || s.get("const").is_some() {
        return false;
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(k).and_then(Value::as_array) {
            let alts: Vec<&Value> = alts
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            return !alts.is_empty() && alts.iter().all(|a| wants_non_string(a, root));
        }
    }
    match s.get("type") {
        Some(Value::String(t)) => plain(t),
        Some(Value::Array(ts)) => {
            let ts: Vec<&str> = ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            !ts.is_empty() && ts.iter().all(|t| plain(t))
        }
        _ => false,
    }
}

/// Whether a field's schema accepts only a string (optional or not; not an
/// enum): a number or boolean value is then read as its text.
fn wants_string(s: &Value, root: &Value) -> bool {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        return match root.get("$defs").and_then(|d| d.get(name)) {
            Some(def) => wants_string(def, root),
            None => false,
        };
    }
    if s.get("enum").is_some() || s.get("const").is_some() {
        return false;
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(k).and_then(Value::as_array) {
            let alts: Vec<&Value> = alts
                .iter()
                .filter(|a| a.get("type").and_then(Value::as_str) != Some("null"))
                .collect();
            return !alts.is_empty() && alts.iter().all(|a| wants_string(a, root));
        }
    }
    match s.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => {
            let ts: Vec<&str> = ts
                .iter()
                .filter_map(Value::as_str)
                .filter(|t| *t != "null")
                .collect();
            !ts.is_empty() && ts.iter().all(|t| *t == "string")
        }
        _ => false,
    }
}

/// A short, human description of a JSON schema's type.
fn describe_type(s: &Value, root: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        if let Some(def) = root.get("$defs").and_then(|d| d.get(name)) {
            if def.get("enum").is_some() {
                return format!("one of {}", def["enum"]);
            }
            if def.get("properties").is_some() {
                return format!("a mapping ({name})");
            }
            return describe_type(def, root);
        }
        return name.to_string();
    }
    if let Some(e) = s.get("enum") {
        return format!("one of {e}");
    }
    for k in ["anyOf", "oneOf"] {
        if let Some(alts) = s.get(k).and_then(Value::as_array) {
            let parts: Vec<String> = alts
                .iter()
                .map(|a| describe_type(a, root))
                .filter(|t| t != "null")
                .collect();
            return parts.join(" or ");
        }
    }
    match s.get("type") {
        Some(Value::String(t)) => match t.as_str() {
            "array" => match s.get("items") {
                Some(items) => format!("a list of {}", describe_type(items, root)),
                None => "a list".into(),
            },
            "object" => "a mapping".into(),
            other => other.to_string(),
        },
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "a value".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    struct Net {
        cidr: String,
        zones: u32,
        #[serde(default)]
        nat: bool,
    }

    fn cfg(yaml: &str) -> StackConfig {
        StackConfig::from_yaml_str(yaml, "Mkso.aws.network.QA.yaml").unwrap()
    }

    #[test]
    fn reads_typed_namespace() {
        let c = cfg("config:\n  net:cidr: 10.0.0.0/16\n  net:zones: 2\n  other:x: 1\n");
        let n: Net = c.namespace("net").unwrap();
        assert_eq!(
            n,
            Net {
                cidr: "10.0.0.0/16".into(),
                zones: 2,
                nat: false
            }
        );
    }

    #[test]
    fn missing_key_names_key_type_and_file() {
        let e = cfg("config:\n  net:cidr: 10.0.0.0/16\n")
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`net:zones`"), "{e}");
        assert!(e.contains("integer"), "{e}");
        assert!(e.contains("Mkso.aws.network.QA.yaml"), "{e}");
        assert!(e.contains("MKSO_CONFIG__NET__ZONES"), "{e}");
    }

    #[test]
    fn wrong_type_names_key_type_and_file() {
        let e = cfg("config:\n  net:cidr: 10.0.0.0/16\n  net:zones: two\n")
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`net:zones`"), "{e}");
        assert!(e.contains("integer"), "{e}");
        assert!(e.contains("Mkso.aws.network.QA.yaml"), "{e}");
    }

    #[test]
    fn unknown_key_is_named() {
        let e = cfg("config:\n  net:cidr: a\n  net:zones: 1\n  net:zonez: 2\n")
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`net:zonez`"), "{e}");
        assert!(e.contains("`net:zones`"), "{e}");
        assert!(e.contains("Mkso.aws.network.QA.yaml"), "{e}");
    }

    #[test]
    fn env_overrides_and_adds_keys() {
        let c = cfg("config:\n  net:cidr: a\n  net:zones: 1\n").with_env([
            ("MKSO_CONFIG__NET__ZONES".to_string(), "3".to_string()),
            ("MKSO_CONFIG__NET__NAT".to_string(), "true".to_string()),
            ("MKSO_CONFIG__NET__CIDR".to_string(), "10".to_string()),
            ("UNRELATED".to_string(), "x".to_string()),
        ]);
        let n: Net = c.namespace("net").unwrap();
        assert_eq!(n.zones, 3);
        assert!(n.nat);
        assert_eq!(n.cidr, "10", "a string field keeps the raw string");
        assert_eq!(c.get("net:zones"), Some(serde_json::json!(3)));
    }

    #[test]
    fn unknown_env_key_names_the_variable() {
        let e = cfg("config:\n  net:cidr: a\n  net:zones: 1\n")
            .with_env([("MKSO_CONFIG__NET__ZONEZ".to_string(), "3".to_string())])
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string();
        assert!(e.contains("MKSO_CONFIG__NET__ZONEZ"), "{e}");
    }

    #[test]
    fn bad_key_form_is_rejected() {
        let e = StackConfig::from_yaml_str("config:\n  nonamespace: 1\n", "f.yaml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`nonamespace`") && e.contains("namespace:key"),
            "{e}"
        );
    }

    #[test]
    fn set_keeps_other_parts() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("Mkso.a.Dev.yaml");
        std::fs::write(&p, "extra: keep\nconfig:\n  a:b: 1\n").unwrap();
        let mut f = StackFile::load(&p).unwrap();
        f.set("a:c", serde_yaml_ng::Value::from(2)).unwrap();
        f.save().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(
            text.contains("extra: keep") && text.contains("a:b: 1") && text.contains("a:c: 2"),
            "{text}"
        );
    }

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

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_a_temp_name_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::fs::write(&p, "config:\n  a:b: 1\n").unwrap();
        for name in ["Mkso.a.b.Dev.yaml.tmp", ".mkso-config-.tmp"] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        let mut f = StackFile::open_for_edit(&p).unwrap();
        f.set("a:c", 2.into()).unwrap();
        f.save().unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "config:\n  a:b: 1\n  a:c: 2\n"
        );
        // No temp file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".mkso-config-") && n != ".mkso-config-.tmp")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_stack_file_that_is_a_symlink_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("shared")).unwrap();
        let target = dir.path().join("shared/qa.yaml");
        std::fs::write(&target, "config:\n  a:b: 1\n").unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        let mut f = StackFile::open_for_edit(&p).unwrap();
        f.set("a:b", 3.into()).unwrap();
        f.save().unwrap();
        assert!(
            std::fs::symlink_metadata(&p)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "config:\n  a:b: 3\n"
        );
        // A dangling symlink is refused with a clear error.
        let q = dir.path().join("Mkso.a.b.QA.yaml");
        std::os::unix::fs::symlink(dir.path().join("nope"), &q).unwrap();
        let e = StackFile::open_for_edit(&q).unwrap_err().to_string();
        assert!(e.contains("symlink to a file that does not exist"), "{e}");
    }

    #[test]
    fn concurrent_edits_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::fs::write(&p, "# keep\nconfig:\n  a:x: 0\n").unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let p = &p;
                s.spawn(move || {
                    for i in 0..10 {
                        let mut f = StackFile::open_for_edit(p).unwrap();
                        f.set(&format!("a:k{t}-{i}"), i.into()).unwrap();
                        f.save().unwrap();
                    }
                });
            }
        });
        let c = StackConfig::load(&p).unwrap();
        assert_eq!(c.entries().len(), 81);
        assert!(std::fs::read_to_string(&p).unwrap().starts_with("# keep\n"));
    }

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

    #[test]
    fn wrong_type_errors_quote_a_short_prefix() {
        let long = "y".repeat(1_000_000);
        let e = cfg("config:\n  net:cidr: a\n")
            .with_env([("MKSO_CONFIG__NET__ZONES".to_string(), long.clone())])
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400 && e.contains("yyy…"), "{e}");
        let e = cfg(&format!("config:\n  net:cidr: a\n  net:zones: {long}\n"))
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400 && e.contains("`net:zones`"), "{e}");
        // A deeply nested environment value is not parsed.
        let deep = "[".repeat(200_000);
        let t = std::time::Instant::now();
        let e = cfg("config:\n  net:cidr: a\n")
            .with_env([("MKSO_CONFIG__NET__ZONES".to_string(), deep)])
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string();
        assert!(e.len() < 400, "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn string_values_are_read_as_typed_fields_want() {
        #[derive(Debug, Deserialize, JsonSchema)]
        struct S {
            n: u32,
            opt: Option<u32>,
            flag: bool,
            list: Vec<String>,
            name: String,
            maybe: Option<String>,
            pin: crate::secrets::Secret<u32>,
            pass: crate::secrets::Secret<String>,
        }
        let c = cfg(
            "config:\n  s:n: '5'\n  s:opt: '6'\n  s:flag: 'true'\n  s:list: '[a, b]'\n  s:name: '7'\n  s:maybe: 'null'\n",
        )
        .with_secret("s:pin", Value::from("1234"))
        .with_secret("s:pass", Value::from("hunter2 # comment"));
        let s: S = c.namespace("s").unwrap();
        assert_eq!((s.n, s.opt, s.flag), (5, Some(6), true));
        assert_eq!(s.list, ["a", "b"]);
        assert_eq!(s.name, "7");
        assert_eq!(s.maybe.as_deref(), Some("null"));
        assert_eq!(*s.pin.expose(), 1234);
        assert_eq!(s.pass.expose(), "hunter2 # comment");
    }

    #[test]
    fn numbers_and_booleans_are_read_as_written_into_string_fields() {
        #[derive(Debug, Deserialize, JsonSchema)]
        struct A {
            account: String,
            version: String,
            exp: String,
            flag: Option<String>,
            quoted: String,
            count: u64,
            nested: String,
        }
        let c = cfg(concat!(
            "config:\n",
            "  app:account: 123456789012\n",
            "  app:version: 1.10   # not 1.1\n",
            "  \"app:exp\": 1e3\n",
            "  app:flag: true\n",
            "  app:quoted: '1.10'\n",
            "  app:count: 123456789012\n",
            "  app:nested:\n    1.50\n",
        ));
        let a: A = c.namespace("app").unwrap();
        assert_eq!(a.account, "123456789012");
        assert_eq!(a.version, "1.10");
        assert_eq!(a.exp, "1e3");
        assert_eq!(a.flag.as_deref(), Some("true"));
        assert_eq!(a.quoted, "1.10");
        assert_eq!(a.count, 123_456_789_012);
        assert_eq!(a.nested, "1.5", "not on its own line: the canonical text");

        // Without the file's text: the canonical text.
        let c = StackConfig::from_map(
            [
                ("app:account".to_string(), Value::from(123_456_789_012u64)),
                ("app:version".to_string(), Value::from(1.1)),
                ("app:exp".to_string(), Value::from(1000.0)),
                ("app:flag".to_string(), Value::Bool(false)),
                ("app:quoted".to_string(), Value::from("x")),
                ("app:count".to_string(), Value::from("7")),
                ("app:nested".to_string(), Value::from(-3)),
            ],
            "Mkso.a.Dev.yaml",
        );
        let a: A = c.namespace("app").unwrap();
        assert_eq!(
            (a.account.as_str(), a.version.as_str(), a.exp.as_str()),
            ("123456789012", "1.1", "1000.0")
        );
        assert_eq!(
            (a.flag.as_deref(), a.count, a.nested.as_str()),
            (Some("false"), 7, "-3")
        );

        // A list of strings is not converted (only a scalar field is).
        #[derive(Debug, Deserialize, JsonSchema)]
        struct L {
            #[allow(dead_code)]
            items: Vec<String>,
        }
        assert!(
            cfg("config:\n  l:items: [1, 2]\n")
                .namespace::<L>("l")
                .is_err()
        );
    }

    #[test]
    fn unread_namespaces_are_errors_naming_where_they_came_from() {
        let c = cfg("config:\n  bench:count: 5\n  bnech:count: 5\n");
        let _ = c.namespace::<serde_json::Value>("bench");
        let e = c.check_namespaces().unwrap_err().to_string();
        assert!(
            e.contains("`bnech`")
                && e.contains("`bnech:count`")
                && e.contains("Mkso.aws.network.QA.yaml")
                && e.contains("`bench`"),
            "{e}"
        );
        c.declare_namespace("bnech");
        c.check_namespaces().unwrap();

        let c = cfg("config:\n  bench:count: 5\n")
            .with_env([("MKSO_CONFIG__BENCHX__COUNT".to_string(), "5".to_string())]);
        let _ = c.get("bench:count");
        let e = c.check_namespaces().unwrap_err().to_string();
        assert!(
            e.contains("MKSO_CONFIG__BENCHX__COUNT") && e.contains("`bench`"),
            "{e}"
        );

        let c = cfg("config:\n  bench:count: 5\n")
            .with_env([("MKSO_CONFIG__bench__count".to_string(), "5".to_string())]);
        let _ = c.get("bench:count");
        let e = c.check_namespaces().unwrap_err().to_string();
        assert!(
            e.contains("MKSO_CONFIG__bench__count") && e.contains("use MKSO_CONFIG__BENCH__COUNT"),
            "{e}"
        );

        let c = cfg("config:\n  my-app:count: 5\n")
            .with_env([("MKSO_CONFIG__MY_APP__COUNT".to_string(), "5".to_string())]);
        let _ = c.get("my-app:count");
        c.check_namespaces().unwrap();
    }
}
