//! `MKSO_CONFIG__<NAMESPACE>__<KEY>` environment variables that override
//! config keys.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::limits::{MAX_DEPTH, MAX_FILE_BYTES, check_depth, short};
use super::{ConfigError, split_key};

/// The prefix of environment variables that override config keys.
pub const ENV_PREFIX: &str = "MKSO_CONFIG__";

/// The environment variable that overrides `namespace:key`.
pub fn env_var_for(key: &str) -> String {
    match split_key(key) {
        Some((ns, k)) => format!("{ENV_PREFIX}{}__{}", env_part(ns), env_part(k)),
        None => format!("{ENV_PREFIX}{}", env_part(key)),
    }
}

/// Normalises a name for matching an environment variable.
pub(super) fn env_part(s: &str) -> String {
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

/// The `MKSO_CONFIG__` variables of an environment.
#[derive(Debug, Clone, Default)]
pub(super) struct EnvOverrides {
    /// (NAMESPACE, KEY) as in the variable's name → (variable name, raw value).
    vars: BTreeMap<(String, String), (String, String)>,
    /// `MKSO_CONFIG__` variables not of the form `..._<NAMESPACE>__<KEY>`.
    malformed: Vec<String>,
}

impl EnvOverrides {
    /// The names of the variables.
    pub(super) fn names(&self) -> impl Iterator<Item = &String> {
        self.vars.values().map(|(name, _)| name)
    }

    /// Takes the `MKSO_CONFIG__` variables of `vars`.
    pub(super) fn add(&mut self, vars: impl IntoIterator<Item = (String, String)>) {
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let Some((ns, key)) = rest.split_once("__") else {
                self.malformed.push(name);
                continue;
            };
            self.vars
                .insert((ns.to_string(), key.to_string()), (name.clone(), value));
        }
    }

    /// The raw value of the variable that overrides `ns:key`, if one does.
    pub(super) fn get(&self, ns: &str, key: &str) -> Option<&str> {
        self.vars
            .get(&(env_part(ns), env_part(key)))
            .map(|(_, raw)| raw.as_str())
    }

    /// The variables of namespace `ns`: (KEY as in the name, variable name,
    /// raw value).
    pub(super) fn of_namespace(&self, ns: &str) -> impl Iterator<Item = (&str, &str, &str)> {
        let ns = env_part(ns);
        self.vars
            .iter()
            .filter(move |((n, _), _)| *n == ns)
            .map(|((_, key), (name, raw))| (key.as_str(), name.as_str(), raw.as_str()))
    }

    /// Checks that every variable is well formed, upper case and of a
    /// namespace in `used` (`known` lists them for the message).
    pub(super) fn check_namespaces(
        &self,
        used: &BTreeSet<String>,
        known: &str,
    ) -> Result<(), ConfigError> {
        if let Some(name) = self.malformed.first() {
            return Err(ConfigError::UnknownNamespace {
                message: format!(
                    "environment variable {} is not of the form {ENV_PREFIX}<NAMESPACE>__<KEY> (for example {ENV_PREFIX}AWS__REGION): fix or unset it",
                    short(name)
                ),
            });
        }
        for ((ns, key), (name, _)) in &self.vars {
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
}

/// A value given as text (an environment value, or a stored string read into
/// a field that is not a string): a string as-is when a string is expected,
/// else parsed as YAML (`10000` is a number, `[a, b]` a list, `true` a
/// boolean). A value larger than [`MAX_FILE_BYTES`] or nested deeper than
/// [`MAX_DEPTH`] is not parsed (it stays a string, which the typed read then
/// reports).
pub(super) fn parse_env_value(raw: &str, want_string: bool) -> Value {
    if want_string || raw.len() as u64 > MAX_FILE_BYTES || check_depth(raw, MAX_DEPTH).is_err() {
        return Value::String(raw.to_string());
    }
    serde_yaml_ng::from_str::<Value>(raw).unwrap_or_else(|_| Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    use super::super::stack_config::tests::{Net, cfg, net_error};

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
    fn a_value_from_the_environment_is_blamed_on_its_variable() {
        let e = net_error(
            "config:\n  net:cidr: a\n  net:zones: 2\n",
            &[("MKSO_CONFIG__NET__ZONES", "three")],
        );
        assert!(
            e.contains(
                "config key `net:zones` from environment variable MKSO_CONFIG__NET__ZONES has the wrong type: expected integer"
            ),
            "{e}"
        );
        assert!(!e.contains("Mkso.aws.network.QA.yaml"), "{e}");
        // Another key's variable does not take the blame for the file's value.
        let e = net_error(
            "config:\n  net:cidr: a\n  net:zones: two\n",
            &[("MKSO_CONFIG__NET__CIDR", "b")],
        );
        assert!(
            e.contains("`net:zones` in Mkso.aws.network.QA.yaml has the wrong type"),
            "{e}"
        );
        // An unknown key from the environment: unset it (no `config rm`).
        let e = net_error(
            "config:\n  net:cidr: a\n  net:zones: 2\n",
            &[("MKSO_CONFIG__NET__ZONEZ", "3")],
        );
        assert!(
            e.contains("`net:zonez` from environment variable MKSO_CONFIG__NET__ZONEZ")
                && e.contains("unset it")
                && !e.contains("config rm")
                && !e.contains("Mkso.aws.network.QA.yaml"),
            "{e}"
        );
    }

    #[test]
    fn wrong_type_errors_quote_a_short_prefix() {
        let long = "y".repeat(1_000_000);
        let e = net_error(
            "config:\n  net:cidr: a\n",
            &[("MKSO_CONFIG__NET__ZONES", &long)],
        );
        assert!(e.len() < 400 && e.contains("yyy…"), "{e}");
        let e = net_error(
            &format!("config:\n  net:cidr: a\n  net:zones: {long}\n"),
            &[],
        );
        assert!(e.len() < 400 && e.contains("`net:zones`"), "{e}");
        // A deeply nested environment value is not parsed.
        let deep = "[".repeat(200_000);
        let t = std::time::Instant::now();
        let e = net_error(
            "config:\n  net:cidr: a\n",
            &[("MKSO_CONFIG__NET__ZONES", &deep)],
        );
        assert!(e.len() < 400, "{e}");
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
    }
}
