//! Secret values in state: a resource's secret input and output properties
//! (or all of them, for a resource secret as a whole), the secret inputs of a
//! pending operation and secret stack outputs are written sealed
//! (`{"$mkso:secret": "v1:..."}`, see [`crate::secrets`]) and opened on load;
//! the rest stays in clear. Backends that keep nothing (the in-memory one)
//! skip it.

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

    /// Seals `v` as a whole (`all`) or the listed top-level properties.
    pub(crate) fn seal_props(
        &self,
        v: &mut Value,
        all: bool,
        keys: &[String],
        location: &str,
    ) -> Result<(), StateError> {
        if all {
            *v = self.seal(v, location)?;
        } else if let Value::Object(o) = v {
            // An unset property has nothing to hide (and needs no passphrase).
            for k in keys {
                if let Some(x) = o.get_mut(k)
                    && !x.is_null()
                {
                    *x = self.seal(x, location)?;
                }
            }
        }
        Ok(())
    }

    /// Opens `v` whole (`all`) or the listed top-level properties.
    pub(crate) fn open_props(
        &self,
        v: &mut Value,
        all: bool,
        keys: &[String],
        what: &str,
        location: &str,
    ) -> Result<(), StateError> {
        if all {
            self.open(v, what, location)?;
        } else if let Value::Object(o) = v {
            for k in keys {
                if let Some(x) = o.get_mut(k) {
                    self.open(x, what, location)?;
                }
            }
        }
        Ok(())
    }

    fn seal_resource(&self, r: &mut ResourceState, location: &str) -> Result<(), StateError> {
        // Values are shared (`Arc`): copied only when there is something to seal.
        if r.secret || !r.secret_inputs.is_empty() {
            let inputs = r.inputs.to_mut();
            self.seal_props(inputs, r.secret, &r.secret_inputs, location)?;
        }
        if r.secret || !r.secret_outputs.is_empty() {
            let outputs = r.outputs.to_mut();
            self.seal_props(outputs, r.secret, &r.secret_outputs, location)?;
        }
        Ok(())
    }

    /// A copy of a resource with its secret values sealed.
    fn sealed(&self, r: &ResourceState, location: &str) -> Result<ResourceState, StateError> {
        let mut c = r.clone();
        self.seal_resource(&mut c, location)?;
        Ok(c)
    }

    fn open_resource(&self, r: &mut ResourceState, location: &str) -> Result<(), StateError> {
        if r.has_secrets() {
            let what = format!("the secret values of {} in {location}", r.urn);
            let inputs = r.inputs.to_mut();
            self.open_props(inputs, r.secret, &r.secret_inputs, &what, location)?;
            let outputs = r.outputs.to_mut();
            self.open_props(outputs, r.secret, &r.secret_outputs, &what, location)?;
        }
        Ok(())
    }

    fn open_op(&self, op: &mut PendingOperation, location: &str) -> Result<(), StateError> {
        if op.secret || !op.secret_inputs.is_empty() {
            let what = format!("the secret inputs of {} in {location}", op.urn);
            self.open_props(
                &mut op.inputs,
                op.secret,
                &op.secret_inputs,
                &what,
                location,
            )?;
        }
        Ok(())
    }

    /// A journal entry as it is written.
    pub fn seal_entry(&self, e: &JournalEntry, location: &str) -> Result<JournalEntry, StateError> {
        if !self.enabled {
            return Ok(e.clone());
        }
        Ok(match e {
            JournalEntry::Upsert { op_id, resource } if resource.has_secrets() => {
                JournalEntry::Upsert {
                    op_id: *op_id,
                    resource: self.sealed(resource, location)?,
                }
            }
            JournalEntry::Replaced { op_id, resource } if resource.has_secrets() => {
                JournalEntry::Replaced {
                    op_id: *op_id,
                    resource: self.sealed(resource, location)?,
                }
            }
            JournalEntry::Begin { op } if op.secret || !op.secret_inputs.is_empty() => {
                let mut op = op.clone();
                self.seal_props(&mut op.inputs, op.secret, &op.secret_inputs, location)?;
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
        for r in s.resources.iter_mut() {
            self.seal_resource(r, location)?;
        }
        for p in s.pending.iter_mut() {
            self.seal_props(&mut p.inputs, p.secret, &p.secret_inputs, location)?;
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
