//! `Mkso.<stack>.yaml`: loading, comment-keeping edits, locking, saving.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use super::edit::{Edit, config_block, edit_text, entry_value_text};
use super::limits::{
    MAX_DEPTH, MAX_FILE_BYTES, check_depth, not_regular, read_bounded, short, shorten_quoted,
    too_deep, too_large,
};
use super::{ConfigError, split_key};
use crate::secrets::{Secrets, salt_of};

/// `Mkso.<stack>.yaml`: kept as a YAML mapping so that edits keep unknown parts.
///
/// Edits ([`StackFile::set`], [`StackFile::remove`], ...) change only the
/// lines of the entries they touch when the file is saved: comments, order
/// and formatting of everything else are kept. Edit a file with
/// [`StackFile::open_for_edit`], which holds a lock on the file's directory
/// until the `StackFile` is dropped, so that concurrent `config set`s and
/// `config rm`s of one directory happen one after the other.
#[derive(Debug, Clone, Default)]
pub struct StackFile {
    path: PathBuf,
    pub(super) doc: serde_yaml_ng::Mapping,
    /// The text as read (`None`: the file did not exist).
    pub(super) text: Option<String>,
    /// The edits since loading, in order (applied to `text` by `save`).
    edits: Vec<Edit>,
    /// The directory lock held from `open_for_edit` until drop.
    lock: Option<Arc<std::fs::File>>,
}

impl StackFile {
    /// Reads the file; an absent file is empty. A file that is not a regular
    /// file (after following symlinks), is larger than [`MAX_FILE_BYTES`] or
    /// nested deeper than [`MAX_DEPTH`] is refused.
    pub fn load(path: &Path) -> Result<StackFile, ConfigError> {
        let text = read_bounded(path)?;
        let mut f = Self::parse(text.as_deref().unwrap_or_default(), path)?;
        f.text = text;
        Ok(f)
    }

    /// Whether the file existed when it was read.
    pub fn exists(&self) -> bool {
        self.text.is_some()
    }

    /// Locks the file's directory (an OS lock that dies with the process),
    /// then reads the file, for a read-modify-write that [`StackFile::save`]
    /// ends. The lock is held until the returned value is dropped.
    ///
    /// A stack file that is a symlink is followed: the write replaces the
    /// file it points to (the temp file is made in that file's directory).
    pub fn open_for_edit(path: &Path) -> Result<StackFile, ConfigError> {
        let target = write_target(path)?;
        let dir = parent_dir(&target);
        let lock = lock_dir(dir).map_err(|source| ConfigError::Io {
            action: "lock the directory of",
            file: path.to_path_buf(),
            source,
        })?;
        let mut f = Self::load(path)?;
        f.lock = Some(Arc::new(lock));
        Ok(f)
    }

    pub(super) fn parse(text: &str, path: &Path) -> Result<StackFile, ConfigError> {
        let parse_err = |message: String| ConfigError::Parse {
            file: path.to_path_buf(),
            message,
        };
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(too_large(path));
        }
        if let Err(line) = check_depth(text, MAX_DEPTH) {
            return Err(too_deep(path, line));
        }
        let doc: serde_yaml_ng::Value = if text.trim().is_empty() {
            serde_yaml_ng::Value::Mapping(Default::default())
        } else {
            serde_yaml_ng::from_str(text).map_err(|e| parse_err(shorten_quoted(&e.to_string())))?
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
            text: None,
            edits: Vec::new(),
            lock: None,
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
                    key: short(&key),
                    file: self.path.clone(),
                });
            }
            let v: Value = serde_json::to_value(v).map_err(|e| ConfigError::Parse {
                file: self.path.clone(),
                message: format!("value of `{key}`: {}", shorten_quoted(&e.to_string())),
            })?;
            out.insert(key, v);
        }
        Ok(out)
    }

    /// The text as written in the file of each `config:` entry whose value
    /// is a number or boolean on the entry's own line (`app:account:
    /// 123456789012`, `app:version: 1.10`), so that a string field reads it
    /// exactly as written rather than as the number's canonical form.
    pub(super) fn scalar_texts(&self, text: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        let Some(serde_yaml_ng::Value::Mapping(m)) = self.doc.get("config") else {
            return out;
        };
        let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
        let Ok(Some(block)) = config_block(&mut lines) else {
            return out;
        };
        for (key, first, last) in &block.entries {
            if first != last {
                continue;
            }
            let Some(v) = m.get(key.as_str()) else {
                continue;
            };
            if !(v.is_number() || v.is_bool()) {
                continue;
            }
            let Some(raw) = entry_value_text(&lines[*first]) else {
                continue;
            };
            // Only text that is that very value (no tag, anchor, quotes...).
            if serde_yaml_ng::from_str::<serde_yaml_ng::Value>(raw)
                .ok()
                .as_ref()
                == Some(v)
                && !raw.contains(['!', '&', '*', '"', '\'', '[', '{'])
            {
                out.insert(key.clone(), raw.to_string());
            }
        }
        out
    }

    /// Sets a key (validating its form), keeping every other part of the file.
    pub fn set(&mut self, key: &str, value: serde_yaml_ng::Value) -> Result<(), ConfigError> {
        if split_key(key).is_none() {
            return Err(ConfigError::BadKey {
                key: short(key),
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
        self.edits.push(Edit::Set(key.to_string()));
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
                self.edits.push(Edit::Salt);
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
        let removed = match self.doc.get_mut("config") {
            Some(serde_yaml_ng::Value::Mapping(m)) => m.remove(key).is_some(),
            _ => false,
        };
        if removed {
            self.edits.push(Edit::Remove(key.to_string()));
        }
        removed
    }

    /// The file's new text: the old text with the edited entries' lines
    /// replaced, added or removed (checked by parsing it back), else the
    /// whole mapping serialised anew.
    fn render(&self) -> Result<String, ConfigError> {
        let old = self.text.as_deref().unwrap_or_default();
        if let Some(text) = edit_text(old, &self.edits, &self.doc)
            && let Ok(back) = Self::parse(&text, &self.path)
            && same_doc(&back.doc, &self.doc)
        {
            return Ok(text);
        }
        serde_yaml_ng::to_string(&self.doc).map_err(|e| ConfigError::Parse {
            file: self.path.clone(),
            message: e.to_string(),
        })
    }

    /// Writes the file back atomically: a new temp file created exclusively
    /// beside the target (never through a symlink), synced, then renamed over
    /// it. A stack file that is a symlink is followed to the file it points
    /// to, which is replaced.
    pub fn save(&self) -> Result<(), ConfigError> {
        let text = self.render()?;
        if text.len() as u64 > MAX_FILE_BYTES {
            return Err(ConfigError::Refused {
                file: self.path.clone(),
                problem: format!(
                    "would be larger than {} MiB (the most mkso reads): nothing was written",
                    MAX_FILE_BYTES / (1024 * 1024)
                ),
            });
        }
        let target = write_target(&self.path)?;
        write_atomic(&target, text.as_bytes()).map_err(|source| ConfigError::Io {
            action: "write",
            file: self.path.clone(),
            source,
        })
    }
}

/// Two stack-file mappings are equal (an absent or null `config:` is empty).
fn same_doc(a: &serde_yaml_ng::Mapping, b: &serde_yaml_ng::Mapping) -> bool {
    let norm = |m: &serde_yaml_ng::Mapping| {
        let mut m = m.clone();
        match m.get("config") {
            Some(serde_yaml_ng::Value::Null) => {
                m.insert("config".into(), serde_yaml_ng::Mapping::new().into());
            }
            None => {
                m.insert("config".into(), serde_yaml_ng::Mapping::new().into());
            }
            _ => {}
        }
        m
    };
    norm(a) == norm(b)
}

fn parent_dir(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The file a write of `path` replaces: `path` itself, or the file a symlink
/// at `path` points to (a dangling symlink is refused).
fn write_target(path: &Path) -> Result<PathBuf, ConfigError> {
    match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(t) => {
                let meta = std::fs::metadata(&t).map_err(|source| ConfigError::Io {
                    action: "read",
                    file: path.to_path_buf(),
                    source,
                })?;
                if !meta.is_file() {
                    return Err(not_regular(path, &meta));
                }
                Ok(t)
            }
            Err(_) => Err(ConfigError::Refused {
                file: path.to_path_buf(),
                problem: "is a symlink to a file that does not exist: remove the symlink or create its target".into(),
            }),
        },
        Ok(m) if !m.is_file() => Err(not_regular(path, &m)),
        _ => Ok(path.to_path_buf()),
    }
}

/// An exclusive OS lock on a directory (released when the file is closed,
/// and by the OS when the process dies).
fn lock_dir(dir: &Path) -> std::io::Result<std::fs::File> {
    #[cfg(unix)]
    let f = std::fs::File::open(dir)?;
    #[cfg(not(unix))]
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".mkso-config.lock"))?;
    f.lock()?;
    Ok(f)
}

/// Writes `bytes` to `target` through a uniquely named temp file created
/// exclusively (`O_EXCL`: a planted symlink is never followed) in the same
/// directory, synced, then renamed over the target.
fn write_atomic(target: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = parent_dir(target);
    let mut tmp = tempfile::Builder::new()
        .prefix(".mkso-config-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(target)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644);
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(target).map_err(|e| e.error)?;
    #[cfg(unix)]
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::StackConfig;
    use super::*;

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

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_a_temp_name_is_never_followed() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::fs::write(&p, "config:\n  a:b: 1\n").unwrap();
        for name in ["Mkso.a.b.Dev.yaml.tmp", ".mkso-config-.tmp"] {
            std::os::unix::fs::symlink(&victim, dir.path().join(name)).unwrap();
        }
        let mut f = StackFile::open_for_edit(&p).unwrap();
        f.set("a:c", 2.into()).unwrap();
        f.save().unwrap();
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(
            std::fs::read_to_string(&p).unwrap(),
            "config:\n  a:b: 1\n  a:c: 2\n"
        );
        // No temp file is left behind.
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".mkso-config-") && n != ".mkso-config-.tmp")
            .collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[cfg(unix)]
    #[test]
    fn a_stack_file_that_is_a_symlink_is_written_through() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("shared")).unwrap();
        let target = dir.path().join("shared/qa.yaml");
        std::fs::write(&target, "config:\n  a:b: 1\n").unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::os::unix::fs::symlink(&target, &p).unwrap();
        let mut f = StackFile::open_for_edit(&p).unwrap();
        f.set("a:b", 3.into()).unwrap();
        f.save().unwrap();
        assert!(
            std::fs::symlink_metadata(&p)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            std::fs::read_to_string(&target).unwrap(),
            "config:\n  a:b: 3\n"
        );
        // A dangling symlink is refused with a clear error.
        let q = dir.path().join("Mkso.a.b.QA.yaml");
        std::os::unix::fs::symlink(dir.path().join("nope"), &q).unwrap();
        let e = StackFile::open_for_edit(&q).unwrap_err().to_string();
        assert!(e.contains("symlink to a file that does not exist"), "{e}");
    }

    #[test]
    fn concurrent_edits_all_land() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("Mkso.a.b.Dev.yaml");
        std::fs::write(&p, "# keep\nconfig:\n  a:x: 0\n").unwrap();
        std::thread::scope(|s| {
            for t in 0..8 {
                let p = &p;
                s.spawn(move || {
                    for i in 0..10 {
                        let mut f = StackFile::open_for_edit(p).unwrap();
                        f.set(&format!("a:k{t}-{i}"), i.into()).unwrap();
                        f.save().unwrap();
                    }
                });
            }
        });
        let c = StackConfig::load(&p).unwrap();
        assert_eq!(c.entries().len(), 81);
        assert!(std::fs::read_to_string(&p).unwrap().starts_with("# keep\n"));
    }
}
