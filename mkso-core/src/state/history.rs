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
}
