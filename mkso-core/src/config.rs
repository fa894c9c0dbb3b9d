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
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ConfigError::NoProject {
                    dir: dir.to_path_buf(),
                });
            }
            Err(source) => {
                return Err(ConfigError::Io {
                    action: "read",
                    file: path,
                    source,
                });
            }
        };
        let file: ProjectFile = serde_yaml_ng::from_str(&text).map_err(|e| ConfigError::Parse {
            file: path.clone(),
            message: e.to_string(),
        })?;
        if file.name.trim().is_empty() {
            return Err(ConfigError::Parse {
                file: path,
                message: "`name` must not be empty".into(),
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
    /// process environment's overrides.
    pub fn stack_config(&self, stack: &StackName) -> Result<StackConfig, ConfigError> {
        Ok(StackConfig::load(&self.stack_file(stack))?.with_env(std::env::vars()))
    }
}

/// `Mkso.<stack>.yaml`: kept as a YAML mapping so that edits keep unknown parts.
#[derive(Debug, Clone, Default)]
pub struct StackFile {
    path: PathBuf,
    doc: serde_yaml_ng::Mapping,
}

impl StackFile {
    /// Reads the file; an absent file is empty.
    pub fn load(path: &Path) -> Result<StackFile, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => {
                return Err(ConfigError::Io {
                    action: "read",
                    file: path.to_path_buf(),
                    source,
                });
            }
        };
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<StackFile, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            file: path.to_path_buf(),
            message,
        };
        let doc: serde_yaml_ng::Value = if text.trim().is_empty() {
            serde_yaml_ng::Value::Mapping(Default::default())
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| parse_err(e.to_string()))?
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
                    key,
                    file: self.path.clone(),
                });
            }
            let v: Value = serde_json::to_value(v).map_err(|e| ConfigError::Parse {
                file: self.path.clone(),
                message: format!("value of `{key}`: {e}"),
            })?;
            out.insert(key, v);
        }
        Ok(out)
    }

    /// Sets a key (validating its form), keeping every other part of the file.
    pub fn set(&mut self, key: &str, value: serde_yaml_ng::Value) -> Result<(), ConfigError> {
        if split_key(key).is_none() {
            return Err(ConfigError::BadKey {
                key: key.into(),
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
        match self.doc.get_mut("config") {
            Some(serde_yaml_ng::Value::Mapping(m)) => m.remove(key).is_some(),
            _ => false,
        }
    }

    /// Writes the file back (atomically: temp file and rename).
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = serde_yaml_ng::to_string(&self.doc).map_err(|e| ConfigError::Parse {
            file: self.path.clone(),
            message: e.to_string(),
        })?;
        let tmp = self.path.with_extension("yaml.tmp");
        let io = |source| ConfigError::Io {
            action: "write",
            file: self.path.clone(),
            source,
        };
        std::fs::write(&tmp, text).map_err(io)?;
        std::fs::rename(&tmp, &self.path).map_err(io)
    }
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
    /// Keys whose values are secret (decrypted in `entries`).
    secret_keys: BTreeSet<String>,
    /// (NAMESPACE, KEY) in upper case → (variable name, raw value).
    env: BTreeMap<(String, String), (String, String)>,
}

impl StackConfig {
    /// Loads a stack file (an absent file is empty); no environment overrides yet.
    pub fn load(path: &Path) -> Result<StackConfig, ConfigError> {
        let f = StackFile::load(path)?;
        let mut c = StackConfig {
            file: path.to_path_buf(),
            entries: f.entries()?,
            secret_keys: BTreeSet::new(),
            env: BTreeMap::new(),
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
            secret_keys: BTreeSet::new(),
            env: BTreeMap::new(),
        };
        c.open_secrets(&f)?;
        Ok(c)
    }

    /// Config from `namespace:key` → value pairs.
    pub fn from_map(entries: impl IntoIterator<Item = (String, Value)>, file: &str) -> StackConfig {
        StackConfig {
            file: file.into(),
            entries: entries.into_iter().collect(),
            secret_keys: BTreeSet::new(),
            env: BTreeMap::new(),
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

    /// Every entry (file values, then environment overrides of keys the file has).
    pub fn entries(&self) -> BTreeMap<String, Value> {
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
        if let Some((_, raw)) = self.env.get(&(env_part(ns), env_part(k))) {
            let is_str = self.entries.get(key).is_none_or(Value::is_string);
            return Some(parse_env_value(raw, is_str));
        }
        self.entries.get(key).cloned()
    }

    /// Reads a namespace (`bench` for `bench:count`, `bench:shape`, ...) as a typed
    /// struct. Missing, mistyped and unknown keys are errors that name the key,
    /// the expected type and the file.
    pub fn namespace<T: DeserializeOwned + JsonSchema>(&self, ns: &str) -> Result<T, ConfigError> {
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
                    key: key.clone(),
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
            obj.insert(k.to_string(), value.clone());
        }
        let ns_env = env_part(ns);
        for ((ens, ekey), (var, raw)) in &self.env {
            if *ens != ns_env {
                continue;
            }
            let Some((prop, prop_schema)) = props.iter().find(|(p, _)| env_part(p) == *ekey) else {
                return Err(ConfigError::Unknown {
                    key: format!("{ns}:{}", ekey.to_lowercase()),
                    namespace: ns.into(),
                    known: known(),
                    file: format!("environment variable {var}"),
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
                message: e.into_inner().to_string(),
            }
        })
    }
}

/// An environment value: a string as-is when a string is expected, else parsed
/// as YAML (`10000` is a number, `[a, b]` a list, `true` a boolean).
fn parse_env_value(raw: &str, want_string: bool) -> Value {
    if want_string {
        return Value::String(raw.to_string());
    }
    serde_yaml_ng::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
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
}
