//! The local directory backend (the default): `<dir>/stacks/<stack>/` holds
//! `snapshot.json`, `journal.log`, `lock.json` and `history/`.
//!
//! The snapshot is replaced with write-to-temp, fsync, rename, fsync-directory;
//! the journal is appended and fdatasync'ed; the lock is created with `O_EXCL`;
//! history snapshots are copies of their own (a damaged live snapshot never
//! damages its history copy).
//!
//! Like the S3 backend, the snapshot is compare-and-swapped: a writer holds
//! `snapshot.json.writing` (created with `O_EXCL`) while it checks that the
//! snapshot is still the one this process read (by checksum) and renames the
//! new one in; a lock is released only if it is still the one we created.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;

use super::StateError;
use super::backend::Backend;
use super::lock::{Liveness, LockInfo};
use crate::names::StackName;

/// State in a local directory.
#[derive(Debug)]
pub struct LocalBackend {
    root: PathBuf,
    written: AtomicU64,
    /// Checksum of each stack's snapshot as this process last read or wrote it
    /// (`None` inside: seen absent).
    seen: Mutex<HashMap<StackName, Option<u32>>>,
    /// The lock records this process created.
    locks: Mutex<HashMap<StackName, Vec<u8>>>,
}

fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> StateError + use<> {
    let path = path.to_path_buf();
    move |source| StateError::Io {
        action,
        path,
        source,
    }
}

impl LocalBackend {
    /// A backend rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        LocalBackend {
            root: root.into(),
            written: AtomicU64::new(0),
            seen: Mutex::new(HashMap::new()),
            locks: Mutex::new(HashMap::new()),
        }
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn stack_dir(&self, stack: &StackName) -> PathBuf {
        self.root.join("stacks").join(stack.as_str())
    }

    fn ensure_dir(&self, stack: &StackName) -> Result<PathBuf, StateError> {
        let d = self.stack_dir(stack);
        fs::create_dir_all(&d).map_err(io("create", &d))?;
        Ok(d)
    }

    fn read_opt(path: &Path) -> Result<Option<Vec<u8>>, StateError> {
        match fs::read(path) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io("read", path)(e)),
        }
    }

    /// The CRC-32 of a file's bytes, read in pieces (a large snapshot is
    /// not held in memory to check it), `None` when there is no such file.
    fn crc_opt(path: &Path) -> Result<Option<u32>, StateError> {
        let mut f = match fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io("read", path)(e)),
        };
        let mut hasher = crc32fast::Hasher::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match std::io::Read::read(&mut f, &mut buf) {
                Ok(0) => return Ok(Some(hasher.finalize())),
                Ok(n) => hasher.update(&buf[..n]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(io("read", path)(e)),
            }
        }
    }

    fn remove_opt(path: &Path) -> Result<(), StateError> {
        match fs::remove_file(path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("remove", path)(e)),
        }
    }

    /// Whether a snapshot-write guard was left by a writer that is gone: its
    /// writer's process is dead, or it is older than 30 s (a write takes
    /// milliseconds), or its time is over 30 s in the future (a clock that
    /// jumped).
    fn guard_is_stale(guard: &Path) -> bool {
        let age = fs::metadata(guard).and_then(|m| m.modified()).ok();
        let too_old = match age.map(|t| t.elapsed()) {
            Some(Ok(age)) => age > std::time::Duration::from_secs(30),
            // Far in the future (beyond clock skew between machines sharing
            // the directory): not written by a writer running now.
            Some(Err(e)) => e.duration() > std::time::Duration::from_secs(30),
            None => false,
        };
        let dead = fs::read(guard)
            .ok()
            .and_then(|b| serde_json::from_slice::<LockInfo>(&b).ok())
            .is_some_and(|w| w.liveness() == Liveness::Dead);
        too_old || dead
    }

    /// Creates `path` with `content` unless it exists (returns whether it
    /// created it). Written whole to a file of our own first, then linked
    /// into place: the link fails if the file exists, and a reader never sees
    /// it half written, even after a crash between the two (a lock or a
    /// write guard left empty would look held by someone alive).
    fn create_whole(dir: &Path, path: &Path, content: &[u8]) -> Result<bool, StateError> {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
        let tmp = dir.join(format!(
            "{name}.{}.{:x}.tmp",
            std::process::id(),
            fastrand::u64(..)
        ));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(io("create", &tmp))?;
            f.write_all(content).map_err(io("write", &tmp))?;
            f.sync_all().map_err(io("sync", &tmp))
        })();
        let linked = written.and_then(|()| match std::fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
            // A file system without hard links (FAT, some network mounts):
            // an exclusive create, then the write.
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Unsupported | ErrorKind::PermissionDenied
                ) =>
            {
                match OpenOptions::new().write(true).create_new(true).open(path) {
                    Ok(mut f) => {
                        f.write_all(content).map_err(io("write", path))?;
                        f.sync_all().map_err(io("sync", path))?;
                        Ok(true)
                    }
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(false),
                    Err(e) => Err(io("create", path)(e)),
                }
            }
            Err(e) => Err(io("create", path)(e)),
        });
        let _ = std::fs::remove_file(&tmp);
        linked
    }

    fn sync_dir(dir: &Path) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
}

#[async_trait]
impl Backend for LocalBackend {
    fn describe(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn snapshot_location(&self, stack: &StackName) -> String {
        self.stack_dir(stack)
            .join("snapshot.json")
            .display()
            .to_string()
    }

    fn journal_location(&self, stack: &StackName) -> String {
        self.stack_dir(stack)
            .join("journal.log")
            .display()
            .to_string()
    }

    async fn create_lock(
        &self,
        stack: &StackName,
        info: &[u8],
    ) -> Result<Option<Vec<u8>>, StateError> {
        let dir = self.ensure_dir(stack)?;
        let path = dir.join("lock.json");
        if Self::create_whole(&dir, &path, info)? {
            self.locks
                .lock()
                .unwrap()
                .insert(stack.clone(), info.to_vec());
            Ok(None)
        } else {
            Ok(Some(Self::read_opt(&path)?.unwrap_or_default()))
        }
    }

    async fn read_lock(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        Self::read_opt(&self.stack_dir(stack).join("lock.json"))
    }

    fn release_lock_blocking(&self, stack: &StackName) -> Result<(), StateError> {
        let path = self.stack_dir(stack).join("lock.json");
        let ours = self.locks.lock().unwrap().remove(stack);
        if let Some(ours) = ours
            && Self::read_opt(&path)?.is_some_and(|cur| cur != ours)
        {
            tracing::warn!(stack = %stack, "the lock was taken over by another process; left it alone");
            return Ok(());
        }
        Self::remove_opt(&path)
    }

    async fn break_lock_if(&self, stack: &StackName, expected: &[u8]) -> Result<bool, StateError> {
        // Move the lock aside atomically, then look at what was moved: if it
        // is not the expected record (taken since), put it back without
        // overwriting whatever may have been created meanwhile.
        let dir = self.stack_dir(stack);
        let path = dir.join("lock.json");
        let aside = dir.join(format!(
            "lock.json.breaking-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        match fs::rename(&path, &aside) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(io("rename", &path)(e)),
        }
        let moved = fs::read(&aside).map_err(io("read", &aside))?;
        if moved == expected {
            Self::remove_opt(&aside)?;
            Self::sync_dir(&dir);
            return Ok(true);
        }
        match fs::hard_link(&aside, &path) {
            Ok(()) => {}
            Err(e) => tracing::error!(
                stack = %stack,
                error = %e,
                "a lock taken while a stale one was being broken could not be put back; it is at {}",
                aside.display()
            ),
        }
        let _ = fs::remove_file(&aside);
        Ok(false)
    }

    async fn read_snapshot(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        let got = Self::read_opt(&self.stack_dir(stack).join("snapshot.json"))?;
        self.seen
            .lock()
            .unwrap()
            .insert(stack.clone(), got.as_deref().map(crc32fast::hash));
        Ok(got)
    }

    async fn write_snapshot(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError> {
        let dir = self.ensure_dir(stack)?;
        let path = dir.join("snapshot.json");
        let guard = dir.join("snapshot.json.writing");
        let conflict = || StateError::Conflict {
            location: path.display().to_string(),
        };
        // Who writes, so that a guard left by a crash is known as such.
        let me =
            serde_json::to_vec(&LockInfo::current("snapshot write")).expect("lock info serializes");
        let mut tries = 0;
        while !Self::create_whole(&dir, &guard, &me)? {
            tries += 1;
            if tries < 3 && Self::guard_is_stale(&guard) {
                let _ = fs::remove_file(&guard);
                continue;
            }
            return Err(conflict());
        }
        let tmp = dir.join(format!(
            "snapshot.json.tmp-{}-{:08x}",
            std::process::id(),
            fastrand::u32(..)
        ));
        let result = (|| {
            let seen = self.seen.lock().unwrap().get(stack).copied().flatten();
            let current = Self::crc_opt(&path)?;
            if current != seen {
                return Err(conflict());
            }
            {
                let mut f = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&tmp)
                    .map_err(io("create", &tmp))?;
                f.write_all(bytes).map_err(io("write", &tmp))?;
                f.sync_all().map_err(io("sync", &tmp))?;
            }
            fs::rename(&tmp, &path).map_err(io("rename", &path))?;
            Self::sync_dir(&dir);
            self.seen
                .lock()
                .unwrap()
                .insert(stack.clone(), Some(crc32fast::hash(bytes)));
            self.written
                .fetch_add(bytes.len() as u64, Ordering::Relaxed);
            Ok(())
        })();
        if result.is_err() {
            // A failed write (a full disk, say) leaves no temp file behind.
            let _ = fs::remove_file(&tmp);
        }
        let _ = fs::remove_file(&guard);
        result
    }

    async fn read_journal(&self, stack: &StackName) -> Result<Vec<u8>, StateError> {
        Ok(Self::read_opt(&self.stack_dir(stack).join("journal.log"))?.unwrap_or_default())
    }

    async fn append_journal(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError> {
        let dir = self.ensure_dir(stack)?;
        let path = dir.join("journal.log");
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io("open", &path))?;
        f.write_all(bytes).map_err(io("append to", &path))?;
        f.sync_data().map_err(io("sync", &path))?;
        self.written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn reset_journal(&self, stack: &StackName) -> Result<(), StateError> {
        let dir = self.stack_dir(stack);
        Self::remove_opt(&dir.join("journal.log"))?;
        Self::sync_dir(&dir);
        Ok(())
    }

    async fn put_history(
        &self,
        stack: &StackName,
        id: &str,
        record: &[u8],
    ) -> Result<(), StateError> {
        let dir = self.ensure_dir(stack)?;
        let hdir = dir.join("history");
        fs::create_dir_all(&hdir).map_err(io("create", &hdir))?;
        let snap = dir.join("snapshot.json");
        let hsnap = hdir.join(format!("{id}.snapshot.json"));
        Self::remove_opt(&hsnap)?;
        if snap.exists() {
            // A copy of its own (never a hard link): damage to the live
            // snapshot in place must not reach its history copy. The copy is
            // made by the kernel (copy_file_range; a reflink where the file
            // system has them).
            let n = fs::copy(&snap, &hsnap).map_err(io("copy", &hsnap))?;
            self.written.fetch_add(n, Ordering::Relaxed);
        }
        let rec = hdir.join(format!("{id}.json"));
        fs::write(&rec, record).map_err(io("write", &rec))?;
        self.written
            .fetch_add(record.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn list_history(&self, stack: &StackName) -> Result<Vec<String>, StateError> {
        let hdir = self.stack_dir(stack).join("history");
        let mut ids = Vec::new();
        let rd = match fs::read_dir(&hdir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(ids),
            Err(e) => return Err(io("list", &hdir)(e)),
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(id) = name.strip_suffix(".json")
                && !id.ends_with(".snapshot")
            {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    async fn read_history(&self, stack: &StackName, id: &str) -> Result<Vec<u8>, StateError> {
        let p = self
            .stack_dir(stack)
            .join("history")
            .join(format!("{id}.json"));
        fs::read(&p).map_err(io("read", &p))
    }

    async fn read_history_snapshot(
        &self,
        stack: &StackName,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StateError> {
        Self::read_opt(
            &self
                .stack_dir(stack)
                .join("history")
                .join(format!("{id}.snapshot.json")),
        )
    }

    async fn delete_history(&self, stack: &StackName, id: &str) -> Result<(), StateError> {
        let hdir = self.stack_dir(stack).join("history");
        Self::remove_opt(&hdir.join(format!("{id}.json")))?;
        Self::remove_opt(&hdir.join(format!("{id}.snapshot.json")))
    }

    async fn list_stacks(&self) -> Result<Vec<StackName>, StateError> {
        let dir = self.root.join("stacks");
        let mut out = Vec::new();
        let rd = match fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io("list", &dir)(e)),
        };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let has_state =
                e.path().join("snapshot.json").exists() || e.path().join("journal.log").exists();
            if has_state && let Ok(s) = StackName::new(&name) {
                out.push(s);
            }
        }
        out.sort();
        Ok(out)
    }

    async fn remove_stack(&self, stack: &StackName) -> Result<(), StateError> {
        let d = self.stack_dir(stack);
        match fs::remove_dir_all(&d) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("remove", &d)(e)),
        }
    }

    async fn put_orphans(
        &self,
        stack: &StackName,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), StateError> {
        let odir = self.ensure_dir(stack)?.join("orphans");
        fs::create_dir_all(&odir).map_err(io("create", &odir))?;
        let path = odir.join(format!("{name}.log"));
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io("create", &path))?;
        f.write_all(bytes).map_err(io("write", &path))?;
        f.sync_all().map_err(io("sync", &path))?;
        Self::sync_dir(&odir);
        self.written
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
        Ok(())
    }

    async fn list_orphans(&self, stack: &StackName) -> Result<Vec<String>, StateError> {
        let odir = self.stack_dir(stack).join("orphans");
        let rd = match fs::read_dir(&odir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io("list", &odir)(e)),
        };
        let mut out: Vec<String> = rd
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_string_lossy()
                    .strip_suffix(".log")
                    .map(str::to_string)
            })
            .collect();
        out.sort();
        Ok(out)
    }

    async fn read_orphans(&self, stack: &StackName, name: &str) -> Result<Vec<u8>, StateError> {
        let p = self
            .stack_dir(stack)
            .join("orphans")
            .join(format!("{name}.log"));
        fs::read(&p).map_err(io("read", &p))
    }

    async fn delete_orphans(&self, stack: &StackName, name: &str) -> Result<(), StateError> {
        Self::remove_opt(
            &self
                .stack_dir(stack)
                .join("orphans")
                .join(format!("{name}.log")),
        )
    }

    fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }
}
