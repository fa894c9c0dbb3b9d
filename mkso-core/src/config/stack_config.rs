//! A stack's configuration: the stack file's values (secrets decrypted) with
//! environment overrides, read a namespace at a time as a typed struct; and
//! the check that every namespace given was read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::env::{EnvOverrides, env_part, env_var_for, parse_env_value};
use super::limits::{short, shorten_quoted};
use super::schema::NamespaceSchema;
use super::{ConfigError, Origin, StackFile, split_key};
use crate::secrets::{Secrets, SecretsError};

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
    /// The `MKSO_CONFIG__` variables.
    env: EnvOverrides,
    /// Namespaces read or declared so far (shared by clones: a program's
    /// `Stack` and the runner see the same set).
    used: Arc<Mutex<BTreeSet<String>>>,
}

impl StackConfig {
    /// Loads a stack file (an absent file is empty); no environment overrides yet.
    pub fn load(path: &Path) -> Result<StackConfig, ConfigError> {
        let f = StackFile::load(path)?;
        let text = f.text.clone().unwrap_or_default();
        Self::of_file(&f, &text)
    }

    /// Parses config from a YAML string (`config:` map); `file` is used in errors.
    pub fn from_yaml_str(text: &str, file: &str) -> Result<StackConfig, ConfigError> {
        Self::of_file(&StackFile::parse(text, Path::new(file))?, text)
    }

    /// The config of a parsed stack file whose text is `text`.
    fn of_file(f: &StackFile, text: &str) -> Result<StackConfig, ConfigError> {
        let mut c = StackConfig {
            file: f.path().to_path_buf(),
            entries: f.entries()?,
            scalar_texts: f.scalar_texts(text),
            ..StackConfig::default()
        };
        c.open_secrets(f)?;
        Ok(c)
    }

    /// Config from `namespace:key` → value pairs; `file` is used in errors.
    pub fn from_map(entries: impl IntoIterator<Item = (String, Value)>, file: &str) -> StackConfig {
        StackConfig {
            file: file.into(),
            entries: entries.into_iter().collect(),
            ..StackConfig::default()
        }
    }

    /// Sets a key's value on top of what the config holds (for tests: one
    /// key changed in a committed stack file).
    #[must_use]
    pub fn with_value(mut self, key: &str, value: Value) -> Self {
        self.entries.insert(key.to_string(), value);
        self.secret_keys.remove(key);
        self
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
        self.env.add(vars);
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
                        "unknown config namespace `{ns}` (key `{key}` in {file}): the program and its providers read {known}; fix its spelling, remove it with `config rm {key}`, or, if the program reads it only sometimes, declare it with `stack.declare_config_namespace(\"{ns}\")`. A namespace that a provider reads (e.g. `aws`) needs that provider registered (`Runner::provider`)",
                        ns = short(ns),
                        key = short(key),
                    ),
                });
            }
        }
        self.env.check_namespaces(&used, &known)
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
                && let Some(raw) = self.env.get(ns, key)
            {
                *v = parse_env_value(raw, v.is_string());
            }
        }
        out
    }

    /// A digest of the config: its values (secret ones left out: a change
    /// of one shows in the inputs that read it) and the names of its
    /// `MKSO_CONFIG__` variables. Saved plans compare it.
    pub fn digest(&self) -> String {
        let entries: BTreeMap<&String, Value> = self
            .entries
            .iter()
            .map(|(k, v)| {
                let v = if self.secret_keys.contains(k) {
                    Value::String("[secret]".into())
                } else {
                    v.clone()
                };
                (k, v)
            })
            .collect();
        let env: Vec<&String> = self.env.names().collect();
        crate::engine::sha256_hex(serde_json::json!([entries, env]).to_string().as_bytes())
    }

    /// Reads one key, untyped (with its environment override).
    pub fn get(&self, key: &str) -> Option<Value> {
        let (ns, k) = split_key(key)?;
        self.mark_used(ns);
        if let Some(raw) = self.env.get(ns, k) {
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
        let schema = NamespaceSchema::of::<T>();
        let mut obj = serde_json::Map::new();
        for (key, value) in &self.entries {
            let Some((kns, k)) = split_key(key) else {
                continue;
            };
            if kns != ns {
                continue;
            }
            if !schema.has(k) {
                return Err(ConfigError::Unknown {
                    key: short(key),
                    namespace: ns.into(),
                    known: schema.known(ns),
                    origin: Origin::File(self.file.clone()),
                });
            }
            if self.secret_keys.contains(key) && !schema.is_secret(k) {
                return Err(ConfigError::SecretNotDeclared {
                    key: key.clone(),
                    file: self.file.clone(),
                });
            }
            let value = match value {
                Value::String(s) if schema.wants_non_string(k) => parse_env_value(s, false),
                Value::Number(_) | Value::Bool(_) if schema.wants_string(k) => {
                    Value::String(match self.scalar_texts.get(key) {
                        Some(raw) if !self.secret_keys.contains(key) => raw.clone(),
                        _ => value.to_string(),
                    })
                }
                v => v.clone(),
            };
            obj.insert(k.to_string(), value);
        }
        // The fields set by an environment variable, and its name.
        let mut from_env: BTreeMap<String, String> = BTreeMap::new();
        for (ekey, var, raw) in self.env.of_namespace(ns) {
            let Some(prop) = schema.find(|p| env_part(p) == ekey) else {
                return Err(ConfigError::Unknown {
                    key: short(&format!("{ns}:{}", ekey.to_lowercase())),
                    namespace: ns.into(),
                    known: schema.known(ns),
                    origin: Origin::Env(short(var)),
                });
            };
            let is_str = schema.describe(prop) == "string";
            obj.insert(prop.to_string(), parse_env_value(raw, is_str));
            from_env.insert(prop.to_string(), short(var));
        }
        for r in schema.required() {
            if !obj.contains_key(r) {
                let key = format!("{ns}:{r}");
                return Err(ConfigError::Missing {
                    expected: schema.describe(r),
                    env: env_var_for(&key),
                    secret: schema.is_secret(r),
                    key,
                    file: self.file.clone(),
                });
            }
        }
        let value = Value::Object(obj);
        serde_path_to_error::deserialize::<_, T>(&value).map_err(|e| {
            let path = e.path().to_string();
            let top = path.split(['.', '[']).next().unwrap_or_default();
            let origin = match from_env.get(top) {
                Some(var) => Origin::Env(var.clone()),
                None => Origin::File(self.file.clone()),
            };
            ConfigError::WrongType {
                expected: schema.describe(top),
                key: format!("{ns}:{path}"),
                origin,
                message: shorten_quoted(&e.into_inner().to_string()),
            }
        })
    }
}

/// The ciphertext of a `{secure: v1:...}` config value.
fn secure_text(v: &Value) -> Option<&str> {
    match v {
        Value::Object(m) if m.len() == 1 => m.get("secure")?.as_str(),
        _ => None,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use schemars::JsonSchema;
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;

    #[derive(Debug, Deserialize, JsonSchema, PartialEq)]
    pub(in crate::config) struct Net {
        pub(in crate::config) cidr: String,
        pub(in crate::config) zones: u32,
        #[serde(default)]
        pub(in crate::config) nat: bool,
    }

    pub(in crate::config) fn cfg(yaml: &str) -> StackConfig {
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

    /// The error of reading `net` from `yaml` with these variables.
    pub(in crate::config) fn net_error(yaml: &str, env: &[(&str, &str)]) -> String {
        cfg(yaml)
            .with_env(env.iter().map(|(k, v)| (k.to_string(), v.to_string())))
            .namespace::<Net>("net")
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn missing_mistyped_and_unknown_keys_name_key_type_and_file() {
        for (yaml, want) in [
            (
                "config:\n  net:cidr: 10.0.0.0/16\n",
                &["`net:zones`", "integer", "MKSO_CONFIG__NET__ZONES"][..],
            ),
            (
                "config:\n  net:cidr: 10.0.0.0/16\n  net:zones: two\n",
                &["`net:zones` in ", "integer"],
            ),
            (
                "config:\n  net:cidr: a\n  net:zones: 1\n  net:zonez: 2\n",
                &["`net:zonez` in ", "`net:zones`", "config rm net:zonez"],
            ),
        ] {
            let e = net_error(yaml, &[]);
            assert!(e.contains("Mkso.aws.network.QA.yaml"), "{e}");
            for w in want {
                assert!(e.contains(w), "{w}: {e}");
            }
        }
    }

    #[test]
    fn a_missing_secret_is_to_be_set_with_config_set_secret() {
        #[derive(Debug, Deserialize, JsonSchema)]
        #[allow(dead_code)]
        struct Db {
            user: String,
            password: crate::secrets::Secret<String>,
            pin: Option<crate::secrets::Secret<u32>>,
        }
        let e = cfg("config:\n  db:user: admin\n")
            .namespace::<Db>("db")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing config key `db:password`")
                && e.contains(
                    "`config set --secret db:password` (it reads the value from standard input)"
                )
                && e.contains("MKSO_CONFIG__DB__PASSWORD"),
            "{e}"
        );
        assert!(!e.contains("config set db:password"), "{e}");
        // A plain field: a plain `config set`.
        let e = cfg("config:\n  db:password: x\n")
            .namespace::<Db>("db")
            .unwrap_err()
            .to_string();
        assert!(e.contains("`config set db:user <value>`"), "{e}");
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
