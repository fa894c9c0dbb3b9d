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

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The expected form of a stack name, shown in every error about one.
pub const STACK_NAME_FORM: &str = "<segment>.<segment>[...].<Environment>, each segment made of letters, digits, '_' or '-', for example `aws.network.QA` or `gcp.cluster.Production`";

/// The longest stack name, in bytes. Every file name derived from a stack name
/// (`Mkso.<stack>.yaml`, its temporary and lock siblings, the state directory)
/// must fit the 255-byte file-name limit of common file systems with room to
/// spare; 100 is also the limit Pulumi users know.
pub const MAX_STACK_NAME_LEN: usize = 100;

/// The longest project name, in bytes.
pub const MAX_PROJECT_NAME_LEN: usize = 100;

/// The expected form of a project name, shown in every error about one.
pub const PROJECT_NAME_FORM: &str =
    "letters, digits, '_', '-' or '.', at most 100 characters, for example `aws-network`";

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
        if name.len() > MAX_STACK_NAME_LEN {
            return Err(bad(format!(
                "it is {} bytes long, more than the limit of {MAX_STACK_NAME_LEN} (file names such as `Mkso.<stack>.yaml` are made from it)",
                name.len()
            )));
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

impl Urn {
    /// The stack part of the URN (`aws.network.QA`), as written.
    pub fn stack_part(&self) -> &str {
        self.parts().first().copied().unwrap_or_default()
    }

    /// The project part of the URN, as written.
    pub fn project_part(&self) -> &str {
        self.parts().get(1).copied().unwrap_or_default()
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

/// Checks a project name (the `name` of `Mkso.yaml`): it is part of every
/// URN (`urn:mkso:<stack>::<project>::...`) and of `--target` matching, so it
/// must not contain `::`, white space or anything but [`PROJECT_NAME_FORM`].
/// The error names the project and the expected form.
pub fn validate_project_name(name: &str) -> Result<(), String> {
    let shown = escape_control(name);
    let bad = |reason: String| {
        Err(format!(
            "invalid project name `{shown}`: {reason}; expected {PROJECT_NAME_FORM}"
        ))
    };
    if name.trim().is_empty() {
        return bad("it is empty".into());
    }
    if name.len() > MAX_PROJECT_NAME_LEN {
        return bad(format!(
            "it is {} bytes long, more than the limit of {MAX_PROJECT_NAME_LEN}",
            name.len()
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return bad(format!("it contains `{}`", c.escape_default()));
    }
    Ok(())
}

/// Whether `c` must not reach a terminal raw: a control character (C0, DEL,
/// C1 — escape sequences start with one) or a bidirectional-text override,
/// which can make a name look like another.
pub fn is_unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn escape_where(s: &str, escape: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if escape(c) {
            // `\n`, `\t`, `\r`; `\u{1b}` for the others.
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A name or value made safe to print to a terminal: control characters
/// (and bidi overrides) become `\n`, `\t`, `\u{1b}`, ...; everything else,
/// including non-ASCII text, is unchanged.
///
/// ```
/// assert_eq!(mkso::names::escape_control("web\u{1b}[2J"), "web\\u{1b}[2J");
/// assert_eq!(mkso::names::escape_control("grüße"), "grüße");
/// ```
pub fn escape_control(s: &str) -> Cow<'_, str> {
    escape_where(s, is_unsafe_char)
}

/// Like [`escape_control`], but line breaks and tabs are kept: for whole
/// lines of text (messages, multi-line values) whose layout is their own.
pub fn escape_control_keep_lines(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| c != '\n' && c != '\t' && is_unsafe_char(c))
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

    #[test]
    fn stack_names_are_limited_so_derived_file_names_fit() {
        let longest = format!("{}.QA", "a".repeat(MAX_STACK_NAME_LEN - 3));
        assert_eq!(longest.len(), MAX_STACK_NAME_LEN);
        StackName::new(&longest).unwrap();
        // The longest derived file name fits 255 bytes with room for a
        // unique temporary suffix.
        assert!(format!("Mkso.{longest}.yaml").len() + 64 <= 255);
        let long = format!("{}.QA", "a".repeat(241));
        assert_eq!(long.len(), 244);
        let msg = StackName::new(&long).unwrap_err().to_string();
        assert!(msg.contains("244 bytes"), "{msg}");
        assert!(msg.contains(&MAX_STACK_NAME_LEN.to_string()), "{msg}");
    }

    #[test]
    fn project_names() {
        for ok in ["aws-network", "cli-test", "data_bench", "a.b", "X1"] {
            validate_project_name(ok).unwrap();
        }
        for (bad, why) in [
            ("a::b", "contains `:`"),
            ("", "empty"),
            ("  ", "empty"),
            ("a b", "contains ` `"),
            ("a/b", "contains `/`"),
            ("a\u{1b}[31m", "contains `\\u{1b}`"),
        ] {
            let msg = validate_project_name(bad).unwrap_err();
            assert!(msg.contains(why), "{bad:?}: {msg}");
            assert!(msg.contains("aws-network"), "{msg}");
            assert!(!msg.contains('\u{1b}'), "escaped: {msg}");
        }
        let msg = validate_project_name(&"p".repeat(101)).unwrap_err();
        assert!(msg.contains("101 bytes") && msg.contains("100"), "{msg}");
    }

    #[test]
    fn escaping_changes_only_control_characters() {
        assert_eq!(
            escape_control("plain text, grüße 名前"),
            "plain text, grüße 名前"
        );
        assert!(matches!(escape_control("plain"), Cow::Borrowed(_)));
        assert_eq!(
            escape_control("a\u{1b}[2Jb\nc\td\re\u{7f}f\u{9b}g\u{202e}h"),
            "a\\u{1b}[2Jb\\nc\\td\\re\\u{7f}f\\u{9b}g\\u{202e}h"
        );
        assert_eq!(escape_control("back\\slash"), "back\\slash");
        assert_eq!(
            escape_control_keep_lines("line 1\n\tline\u{1b}[0m 2"),
            "line 1\n\tline\\u{1b}[0m 2"
        );
    }

    #[test]
    fn urn_stack_and_project_parts() {
        let s = StackName::new("a.Dev").unwrap();
        let u = Urn::new(&s, "proj", "mkso:builtin:Data", "web/config");
        assert_eq!(u.stack_part(), "a.Dev");
        assert_eq!(u.project_part(), "proj");
    }
}
