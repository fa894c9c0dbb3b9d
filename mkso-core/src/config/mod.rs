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
//!
//! The parts: the project ([`Project`], `Mkso.yaml`), the stack file
//! ([`StackFile`]: loading, comment-keeping edits, locking, saving), a
//! stack's typed config ([`StackConfig`]), environment overrides
//! ([`env_var_for`]), the limits on what is read ([`MAX_FILE_BYTES`],
//! [`MAX_DEPTH`]) and a program's config types as errors describe them.

use std::path::PathBuf;

use crate::secrets::SecretsError;

mod edit;
mod env;
mod limits;
mod project;
mod schema;
mod stack_config;
mod stack_file;

pub use env::{ENV_PREFIX, env_var_for};
pub use limits::{MAX_DEPTH, MAX_FILE_BYTES, QUOTE_CHARS};
pub(crate) use limits::{check_depth, shorten_quoted};
pub use project::{
    BackendSettings, HistorySettings, PROJECT_FILE, Project, ProjectFile, RollbackSetting,
};
pub use stack_config::StackConfig;
pub use stack_file::StackFile;

/// Errors reading configuration. Each names the file and what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
        "missing config key `{key}` (expected {expected}) in {file}: add it with {how} or set {env}",
        how = set_command(.key, *.secret)
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
        /// Whether the program reads it into a `Secret` (the message then
        /// suggests `config set --secret`).
        secret: bool,
    },
    /// A key has a value of the wrong type.
    #[error("config key `{key}` {origin} has the wrong type: expected {expected}; {message}")]
    WrongType {
        /// `namespace:key` (with a path into the value where it is nested).
        key: String,
        /// The expected type.
        expected: String,
        /// Where the value came from: the stack file or an environment variable.
        origin: Origin,
        /// What the deserializer found.
        message: String,
    },
    /// A key the program does not know.
    #[error(
        "unknown config key `{key}` {origin}: the program's `{namespace}` config has {known}; {fix}",
        fix = match .origin {
            Origin::File(_) => format!("remove it with `config rm {key}` or fix its spelling"),
            Origin::Env(_) => "fix its name or unset it".to_string(),
        }
    )]
    Unknown {
        /// `namespace:key`.
        key: String,
        /// The namespace.
        namespace: String,
        /// The keys the program knows.
        known: String,
        /// Where it came from: the stack file or an environment variable.
        origin: Origin,
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

/// Where a config value came from, as messages name it: `in FILE` or `from
/// environment variable NAME`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The stack file.
    File(PathBuf),
    /// An `MKSO_CONFIG__` environment variable (its name).
    Env(String),
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Origin::File(file) => write!(f, "in {}", file.display()),
            Origin::Env(name) => write!(f, "from environment variable {name}"),
        }
    }
}

/// The `config set` command that adds `key`: a secret's value is read from
/// standard input, so that it lands in no shell history.
fn set_command(key: &str, secret: bool) -> String {
    if secret {
        format!("`config set --secret {key}` (it reads the value from standard input)")
    } else {
        format!("`config set {key} <value>`")
    }
}

/// `namespace:key` split in two; `None` unless both parts are non-empty and
/// made of ASCII letters, digits, `_`, `-` and `.`.
fn split_key(key: &str) -> Option<(&str, &str)> {
    let (ns, k) = key.split_once(':')?;
    let ok = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    };
    (ok(ns) && ok(k)).then_some((ns, k))
}
