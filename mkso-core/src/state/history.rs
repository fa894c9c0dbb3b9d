//! The history of a stack's updates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What kind of operation an update was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateKind {
    /// `up`.
    Up,
    /// `destroy`.
    Destroy,
    /// `refresh`.
    Refresh,
    /// `state import`.
    Import,
    /// A round of `watch` that changed something.
    Watch,
}

/// How it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateResult {
    /// Every step succeeded.
    Succeeded,
    /// Some step failed.
    Failed,
    /// Stopped by Ctrl-C.
    Cancelled,
    /// A step failed, and every change was reverted.
    RolledBack,
}

impl UpdateResult {
    /// For people: `succeeded`, `failed`, `cancelled`, `rolled back`.
    pub fn label(self) -> &'static str {
        match self {
            UpdateResult::Succeeded => "succeeded",
            UpdateResult::Failed => "failed",
            UpdateResult::Cancelled => "cancelled",
            UpdateResult::RolledBack => "rolled back",
        }
    }
}

/// One update in the history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// Its id (the serial of the snapshot it wrote, zero-padded).
    pub id: String,
    /// up / destroy / refresh / import.
    pub kind: UpdateKind,
    /// When it started (RFC 3339).
    pub started: String,
    /// When it ended (RFC 3339).
    pub ended: String,
    /// How it ended.
    pub result: UpdateResult,
    /// Steps per operation (`create`, `update`, `replace`, `delete`, `same`, ...).
    pub changes: BTreeMap<String, usize>,
    /// Steps that failed.
    #[serde(default)]
    pub failed: usize,
    /// The serial of the snapshot written after it.
    pub serial: u64,
    /// Who ran it, and with what (recorded since mkso 0.1 of issue 11).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_by: Option<RunBy>,
    /// Its steps that ran, failed or were skipped, timed (`up`, `destroy`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub steps: Vec<crate::engine::StepTiming>,
}

/// Who ran an update, and with what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunBy {
    /// The user (`$USER`).
    pub user: String,
    /// The host.
    pub host: String,
    /// The command line.
    pub command: Vec<String>,
    /// The mkso version.
    pub mkso_version: String,
    /// A digest of what the program declared (see `engine::program_digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program_digest: Option<String>,
    /// A digest of the stack's config (`StackConfig::digest`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_digest: Option<String>,
}

/// The name of this process's user from `/etc/passwd` (Linux; containers
/// and CI runners often have no `$USER`).
fn user_of_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid).then(|| name.to_string())
    })
}

/// Who runs this process: `$USER` (or `$LOGNAME`, `$USERNAME`), else the
/// name of its uid in `/etc/passwd`, else `unknown`.
pub(crate) fn current_user() -> String {
    ["USER", "LOGNAME", "USERNAME"]
        .into_iter()
        .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
        .or_else(user_of_uid)
        .unwrap_or_else(|| "unknown".into())
}

impl RunBy {
    /// This process, running `command`.
    pub fn current(command: Vec<String>) -> Self {
        RunBy {
            user: current_user(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            command,
            mkso_version: env!("CARGO_PKG_VERSION").to_string(),
            program_digest: None,
            config_digest: None,
        }
    }
}
