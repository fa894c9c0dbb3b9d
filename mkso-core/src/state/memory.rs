//! An in-memory backend (tests and the testing kit).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::StateError;
use super::backend::Backend;
use crate::names::StackName;

/// State kept in memory.
#[derive(Debug, Default)]
pub struct MemoryBackend {
    files: Mutex<BTreeMap<String, Vec<u8>>>,
    written: AtomicU64,
}

impl MemoryBackend {
    /// An empty backend.
    pub fn new() -> Self {
        Self::default()
    }

    fn key(stack: &StackName, file: &str) -> String {
        format!("{stack}/{file}")
    }

    fn get(&self, k: &str) -> Option<Vec<u8>> {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(k)
            .cloned()
    }

    fn put(&self, k: String, v: Vec<u8>) {
        self.written.fetch_add(v.len() as u64, Ordering::Relaxed);
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(k, v);
    }

    fn remove(&self, k: &str) {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(k);
    }

    /// Overwrites a raw object (tests use this to corrupt state).
    pub fn put_raw(&self, stack: &StackName, file: &str, bytes: Vec<u8>) {
        self.put(Self::key(stack, file), bytes);
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn describe(&self) -> String {
        "memory://".into()
    }
    fn snapshot_location(&self, stack: &StackName) -> String {
        format!("memory://{}", Self::key(stack, "snapshot.json"))
    }
    fn journal_location(&self, stack: &StackName) -> String {
        format!("memory://{}", Self::key(stack, "journal.log"))
    }
    async fn create_lock(
        &self,
        stack: &StackName,
        info: &[u8],
    ) -> Result<Option<Vec<u8>>, StateError> {
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let k = Self::key(stack, "lock.json");
        if let Some(v) = files.get(&k) {
            return Ok(Some(v.clone()));
        }
        files.insert(k, info.to_vec());
        Ok(None)
    }
    async fn read_lock(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.get(&Self::key(stack, "lock.json")))
    }
    fn release_lock_blocking(&self, stack: &StackName) -> Result<(), StateError> {
        self.remove(&Self::key(stack, "lock.json"));
        Ok(())
    }
    async fn read_snapshot(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.get(&Self::key(stack, "snapshot.json")))
    }
    async fn write_snapshot(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError> {
        self.put(Self::key(stack, "snapshot.json"), bytes.to_vec());
        Ok(())
    }
    async fn read_journal(&self, stack: &StackName) -> Result<Vec<u8>, StateError> {
        Ok(self
            .get(&Self::key(stack, "journal.log"))
            .unwrap_or_default())
    }
    async fn append_journal(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError> {
        self.written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        files
            .entry(Self::key(stack, "journal.log"))
            .or_default()
            .extend_from_slice(bytes);
        Ok(())
    }
    async fn reset_journal(&self, stack: &StackName) -> Result<(), StateError> {
        self.remove(&Self::key(stack, "journal.log"));
        Ok(())
    }
    async fn put_history(
        &self,
        stack: &StackName,
        id: &str,
        record: &[u8],
    ) -> Result<(), StateError> {
        if let Some(s) = self.get(&Self::key(stack, "snapshot.json")) {
            self.files
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(Self::key(stack, &format!("history/{id}.snapshot.json")), s);
        }
        self.put(
            Self::key(stack, &format!("history/{id}.json")),
            record.to_vec(),
        );
        Ok(())
    }
    async fn list_history(&self, stack: &StackName) -> Result<Vec<String>, StateError> {
        let prefix = Self::key(stack, "history/");
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        Ok(files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix))
            .filter(|k| !k.ends_with(".snapshot.json"))
            .filter_map(|k| k.strip_suffix(".json"))
            .map(String::from)
            .collect())
    }
    async fn read_history(&self, stack: &StackName, id: &str) -> Result<Vec<u8>, StateError> {
        self.get(&Self::key(stack, &format!("history/{id}.json")))
            .ok_or_else(|| StateError::Backend {
                backend: self.describe(),
                message: format!("no history record {id}"),
            })
    }
    async fn read_history_snapshot(
        &self,
        stack: &StackName,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self.get(&Self::key(stack, &format!("history/{id}.snapshot.json"))))
    }
    async fn delete_history(&self, stack: &StackName, id: &str) -> Result<(), StateError> {
        self.remove(&Self::key(stack, &format!("history/{id}.json")));
        self.remove(&Self::key(stack, &format!("history/{id}.snapshot.json")));
        Ok(())
    }
    async fn list_stacks(&self) -> Result<Vec<StackName>, StateError> {
        let files = self.files.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<StackName> = files
            .keys()
            .filter(|k| k.ends_with("/snapshot.json") && !k.contains("/history/"))
            .filter_map(|k| StackName::new(k.trim_end_matches("/snapshot.json")).ok())
            .collect();
        out.dedup();
        Ok(out)
    }
    async fn remove_stack(&self, stack: &StackName) -> Result<(), StateError> {
        let prefix = format!("{stack}/");
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|k, _| !k.starts_with(&prefix));
        Ok(())
    }
    fn is_persistent(&self) -> bool {
        false
    }

    fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}
