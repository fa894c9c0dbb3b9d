//! Secret values in state: the inputs and outputs of a secret resource, the
//! inputs of a secret pending operation and secret stack outputs are written
//! sealed (`{"$mkso:secret": "v1:..."}`, see [`crate::secrets`]) and opened on
//! load. Backends that keep nothing (the in-memory one) skip it.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::StateError;
use super::model::{JournalEntry, PendingOperation, ResourceState, Snapshot};
use crate::secrets::{Secrets, SecretsError, sealed_text};

/// The passphrase and the salt new values are sealed with.
#[derive(Debug, Clone)]
pub struct Sealer {
    secrets: Arc<Secrets>,
    salt: String,
    enabled: bool,
}

impl Sealer {
    /// Seals with `secrets` under `salt` (a stack file's salt, or a new one).
    pub fn new(secrets: Arc<Secrets>, salt: Option<String>) -> Self {
        Sealer {
            secrets,
            salt: salt.unwrap_or_else(Secrets::new_salt),
            enabled: true,
        }
    }

    /// Keeps values as they are (backends that persist nothing).
    pub fn disabled() -> Self {
        Sealer {
            secrets: Arc::new(Secrets::none()),
            salt: String::new(),
            enabled: false,
        }
    }

    /// Whether values are sealed at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// Whether secret values can be written (a passphrase is set, or sealing is off).
    pub fn can_seal(&self) -> bool {
        !self.enabled || self.secrets.has_passphrase()
    }

    fn err(location: &str) -> impl Fn(SecretsError) -> StateError + '_ {
        move |source| StateError::Secret {
            location: location.to_string(),
            source,
        }
    }

    fn seal(&self, v: &Value, location: &str) -> Result<Value, StateError> {
        if sealed_text(v).is_some() {
            return Ok(v.clone());
        }
        self.secrets
            .seal_value(&self.salt, v)
            .map_err(Self::err(location))
    }

    fn open(&self, v: &mut Value, what: &str, location: &str) -> Result<(), StateError> {
        if sealed_text(v).is_some() {
            let taken = std::mem::take(v);
            *v = self
                .secrets
                .open_value(taken, what)
                .map_err(Self::err(location))?;
        }
        Ok(())
    }

    /// A copy of a secret resource with its values sealed.
    fn sealed(&self, r: &ResourceState, location: &str) -> Result<ResourceState, StateError> {
        let mut c = r.clone();
        c.inputs = self.seal(&r.inputs, location)?;
        c.outputs = self.seal(&r.outputs, location)?;
        Ok(c)
    }

    fn open_resource(&self, r: &mut ResourceState, location: &str) -> Result<(), StateError> {
        if r.secret {
            let what = format!("the secret values of {} in {location}", r.urn);
            self.open(&mut r.inputs, &what, location)?;
            self.open(&mut r.outputs, &what, location)?;
        }
        Ok(())
    }

    fn open_op(&self, op: &mut PendingOperation, location: &str) -> Result<(), StateError> {
        if op.secret {
            let what = format!("the secret inputs of {} in {location}", op.urn);
            self.open(&mut op.inputs, &what, location)?;
        }
        Ok(())
    }

    /// A journal entry as it is written.
    pub fn seal_entry(&self, e: &JournalEntry, location: &str) -> Result<JournalEntry, StateError> {
        if !self.enabled {
            return Ok(e.clone());
        }
        Ok(match e {
            JournalEntry::Upsert { op_id, resource } if resource.secret => JournalEntry::Upsert {
                op_id: *op_id,
                resource: self.sealed(resource, location)?,
            },
            JournalEntry::Replaced { op_id, resource } if resource.secret => {
                JournalEntry::Replaced {
                    op_id: *op_id,
                    resource: self.sealed(resource, location)?,
                }
            }
            JournalEntry::Begin { op } if op.secret => {
                let mut op = op.clone();
                op.inputs = self.seal(&op.inputs, location)?;
                JournalEntry::Begin { op }
            }
            JournalEntry::Outputs { outputs, secret } if !secret.is_empty() => {
                let mut outputs = outputs.clone();
                self.seal_outputs(&mut outputs, secret, location)?;
                JournalEntry::Outputs {
                    outputs,
                    secret: secret.clone(),
                }
            }
            other => other.clone(),
        })
    }

    /// Opens a journal entry as it was read.
    pub fn open_entry(&self, e: &mut JournalEntry, location: &str) -> Result<(), StateError> {
        match e {
            JournalEntry::Upsert { resource, .. } | JournalEntry::Replaced { resource, .. } => {
                self.open_resource(resource, location)
            }
            JournalEntry::Begin { op } => self.open_op(op, location),
            JournalEntry::Outputs { outputs, secret } => {
                self.open_outputs(outputs, secret, location)
            }
            _ => Ok(()),
        }
    }

    fn seal_outputs(
        &self,
        outputs: &mut BTreeMap<String, Value>,
        secret: &[String],
        location: &str,
    ) -> Result<(), StateError> {
        for k in secret {
            if let Some(v) = outputs.get_mut(k) {
                *v = self.seal(v, location)?;
            }
        }
        Ok(())
    }

    fn open_outputs(
        &self,
        outputs: &mut BTreeMap<String, Value>,
        secret: &[String],
        location: &str,
    ) -> Result<(), StateError> {
        for k in secret {
            if let Some(v) = outputs.get_mut(k) {
                let what = format!("secret stack output `{k}` in {location}");
                self.open(v, &what, location)?;
            }
        }
        Ok(())
    }

    /// Seals a snapshot in place.
    pub fn seal_snapshot(&self, s: &mut Snapshot, location: &str) -> Result<(), StateError> {
        for r in s.resources.iter_mut().filter(|r| r.secret) {
            r.inputs = self.seal(&r.inputs, location)?;
            r.outputs = self.seal(&r.outputs, location)?;
        }
        for p in s.pending.iter_mut().filter(|p| p.secret) {
            p.inputs = self.seal(&p.inputs, location)?;
        }
        self.seal_outputs(&mut s.outputs, &s.secret_outputs, location)
    }

    /// Opens a snapshot in place.
    pub fn open_snapshot(&self, s: &mut Snapshot, location: &str) -> Result<(), StateError> {
        for r in s.resources.iter_mut() {
            self.open_resource(r, location)?;
        }
        for p in s.pending.iter_mut() {
            self.open_op(p, location)?;
        }
        self.open_outputs(&mut s.outputs, &s.secret_outputs, location)
    }
}
