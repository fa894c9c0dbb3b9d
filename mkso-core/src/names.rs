//! Stack names and resource URNs.
//!
//! A stack name is dotted: `aws.network.QA`. Each segment matches `[A-Za-z0-9_-]+`,
//! there are at least two, and the last one is the *environment* (`QA`,
//! `Production`, `Dev`, ...).
//!
//! ```
//! use mkso::StackName;
//! let s: StackName = "aws.network.QA".parse().unwrap();
//! assert_eq!(s.environment(), "QA");
//! assert!("network".parse::<StackName>().is_err());
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The expected form of a stack name, shown in every error about one.
pub const STACK_NAME_FORM: &str = "<segment>.<segment>[...].<Environment>, each segment made of letters, digits, '_' or '-', for example `aws.network.QA` or `gcp.cluster.Production`";

/// A validated, dotted stack name such as `aws.network.QA`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct StackName(Arc<str>);

/// Why a stack name was rejected.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
#[error("invalid stack name `{name}`: {reason}; expected {STACK_NAME_FORM}")]
pub struct InvalidStackName {
    /// The rejected name.
    pub name: String,
    /// What is wrong with it.
    pub reason: String,
}

impl StackName {
    /// Parses and validates a stack name.
    pub fn new(name: &str) -> Result<Self, InvalidStackName> {
        let bad = |reason: String| InvalidStackName {
            name: name.to_string(),
            reason,
        };
        if name.is_empty() {
            return Err(bad("it is empty".into()));
        }
        let segments: Vec<&str> = name.split('.').collect();
        if segments.len() < 2 {
            return Err(bad(
                "it needs at least two dot-separated segments, the last being the environment"
                    .into(),
            ));
        }
        for (i, seg) in segments.iter().enumerate() {
            if seg.is_empty() {
                return Err(bad(format!("segment {} is empty", i + 1)));
            }
            if let Some(c) = seg
                .chars()
                .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
            {
                return Err(bad(format!("segment `{seg}` contains `{c}`")));
            }
        }
        Ok(StackName(name.into()))
    }

    /// The whole name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The environment: the last segment (`QA` in `aws.network.QA`).
    pub fn environment(&self) -> &str {
        self.0.rsplit('.').next().unwrap_or_default()
    }

    /// Everything before the environment (`aws.network` in `aws.network.QA`).
    pub fn base(&self) -> &str {
        let env = self.environment();
        &self.0[..self.0.len() - env.len() - 1]
    }
}

impl FromStr for StackName {
    type Err = InvalidStackName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StackName::new(s)
    }
}

impl TryFrom<String> for StackName {
    type Error = InvalidStackName;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        StackName::new(&s)
    }
}

impl From<StackName> for String {
    fn from(s: StackName) -> String {
        s.0.to_string()
    }
}

impl fmt::Display for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StackName({})", self.0)
    }
}

/// A resource's unique name within a stack:
/// `urn:mkso:<stack>::<project>::<type>::<name>`.
///
/// The name part of a child of a component is nested under its parent's name
/// (`web/config`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Urn(Arc<str>);

impl Urn {
    /// Builds the URN of a resource.
    pub fn new(stack: &StackName, project: &str, type_token: &str, name: &str) -> Urn {
        Urn(format!("urn:mkso:{stack}::{project}::{type_token}::{name}").into())
    }

    /// A reference as stored in state (possibly relative); see [`Urn::resolve`].
    pub(crate) fn stored(s: &str) -> Urn {
        Urn(s.into())
    }

    /// Wraps a string that is already a URN (no validation beyond the prefix).
    pub fn parse(s: &str) -> Option<Urn> {
        let rest = s.strip_prefix("urn:mkso:")?;
        (rest.split("::").count() >= 4).then(|| Urn(s.into()))
    }

    /// The whole URN.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `urn:mkso:<stack>::<project>::` (`type::name`); state
    /// files store dependencies this way, since a stack's URNs share the prefix.
    pub fn relative(&self) -> &str {
        match self.0.strip_prefix("urn:mkso:") {
            Some(rest) => {
                let mut it = rest.splitn(3, "::");
                let (_, _, tail) = (it.next(), it.next(), it.next());
                tail.unwrap_or(&self.0)
            }
            None => &self.0,
        }
    }

    /// Resolves a stored reference (relative `type::name` or a whole URN)
    /// against this URN's stack and project.
    pub fn resolve(&self, stored: &str) -> Urn {
        if stored.starts_with("urn:") {
            return Urn(stored.into());
        }
        let prefix_len = self.0.len() - self.relative().len();
        Urn(format!("{}{stored}", &self.0[..prefix_len]).into())
    }

    fn parts(&self) -> Vec<&str> {
        self.0
            .strip_prefix("urn:mkso:")
            .unwrap_or(&self.0)
            .splitn(4, "::")
            .collect()
    }

    /// The type token (`mkso:builtin:Data`).
    pub fn type_token(&self) -> &str {
        self.parts().get(2).copied().unwrap_or_default()
    }

    /// The (nested) resource name (`web/config`).
    pub fn name(&self) -> &str {
        self.parts().get(3).copied().unwrap_or_default()
    }

    /// The same resource under another name (used for aliases).
    pub fn with_name(&self, name: &str) -> Urn {
        let p = self.parts();
        Urn(format!("urn:mkso:{}::{}::{}::{}", p[0], p[1], p[2], name).into())
    }
}

impl fmt::Display for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Urn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names() {
        for n in [
            "aws.network.QA",
            "gcp.cluster.Production",
            "a.b",
            "x_1.y-2.Dev",
        ] {
            StackName::new(n).unwrap();
        }
        let s = StackName::new("aws.network.QA").unwrap();
        assert_eq!(s.environment(), "QA");
        assert_eq!(s.base(), "aws.network");
    }

    #[test]
    fn invalid_names_show_the_form() {
        for n in [
            "",
            "network",
            "aws..QA",
            "aws.net work.QA",
            ".QA",
            "aws.",
            "aws/network.QA",
        ] {
            let e = StackName::new(n).unwrap_err();
            let msg = e.to_string();
            assert!(msg.contains("aws.network.QA"), "{msg}");
            assert!(msg.contains(&format!("`{n}`")), "{msg}");
        }
    }

    #[test]
    fn urn_parts() {
        let s = StackName::new("a.Dev").unwrap();
        let u = Urn::new(&s, "proj", "mkso:builtin:Data", "web/config");
        assert_eq!(
            u.as_str(),
            "urn:mkso:a.Dev::proj::mkso:builtin:Data::web/config"
        );
        assert_eq!(u.type_token(), "mkso:builtin:Data");
        assert_eq!(u.name(), "web/config");
        assert_eq!(u.with_name("x").name(), "x");
        assert_eq!(Urn::parse(u.as_str()), Some(u.clone()));
        assert_eq!(u.relative(), "mkso:builtin:Data::web/config");
        let other = Urn::new(&s, "proj", "x:y:Z", "b");
        assert_eq!(u.resolve(other.relative()), other);
        assert_eq!(u.resolve(other.as_str()), other);
    }
}
