//! Secrets: passphrase-based encryption of secret config values and of secret
//! values in state, and redaction of known secret values from everything mkso
//! prints or logs.
//!
//! - The key is derived from `MKSO_PASSPHRASE` with Argon2id (memory-hard:
//!   19 MiB, 2 passes) and a random 16-byte salt; values are sealed with
//!   XChaCha20-Poly1305 under a random 24-byte nonce.
//! - A ciphertext is self-describing: `v1:<salt>:<nonce+ciphertext>` (base64),
//!   so the state of one stack can be read by another (stack references) with
//!   the same passphrase, and keys are derived once per salt.
//! - A stack file keeps its salt and a check value in `encryptionsalt:`, so a
//!   wrong passphrase is reported as such rather than as a corrupt value.
//! - Every decrypted secret is registered with [`redact`], which the CLI runs
//!   over its output, its errors and its log lines.
//!
//! ```
//! use mkso::secrets::Secrets;
//!
//! let s = Secrets::with_passphrase("correct horse battery staple");
//! let salt = Secrets::new_salt();
//! let sealed = s.encrypt(&salt, b"hunter2").unwrap();
//! assert!(!sealed.contains("hunter2"));
//! assert_eq!(s.decrypt(&sealed).unwrap(), b"hunter2");
//! assert!(Secrets::with_passphrase("wrong").decrypt(&sealed).is_err());
//! ```

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use serde_json::Value;

/// The environment variable holding the passphrase.
pub const PASSPHRASE_VAR: &str = "MKSO_PASSPHRASE";

/// The plaintext sealed as a stack file's passphrase check.
const CHECK: &[u8] = b"mkso-passphrase-check";

/// Errors of secret handling; none ever contains a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    /// No passphrase.
    #[error(
        "{what} needs the secrets passphrase: set {PASSPHRASE_VAR} (the passphrase this stack's secrets were encrypted with)"
    )]
    NoPassphrase {
        /// What needed it.
        what: String,
    },
    /// The passphrase does not open the value.
    #[error(
        "{what} cannot be decrypted: {PASSPHRASE_VAR} is not the passphrase it was encrypted with (or the value was altered)"
    )]
    WrongPassphrase {
        /// What could not be opened.
        what: String,
    },
    /// Not a ciphertext of ours.
    #[error(
        "{what} is not a valid mkso ciphertext ({reason}): it was altered or not written by mkso; set it again with `config set --secret`, or restore the state from `history`"
    )]
    Malformed {
        /// What it is.
        what: String,
        /// What is wrong.
        reason: &'static str,
    },
}

/// A passphrase and the keys derived from it (one per salt).
pub struct Secrets {
    passphrase: Option<String>,
    keys: Mutex<HashMap<Vec<u8>, Arc<XChaCha20Poly1305>>>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("passphrase", &self.passphrase.as_ref().map(|_| "[secret]"))
            .finish()
    }
}

impl Secrets {
    /// The passphrase from `MKSO_PASSPHRASE` (none if unset or empty).
    pub fn from_env() -> Self {
        let p = std::env::var(PASSPHRASE_VAR).ok().filter(|p| !p.is_empty());
        if let Some(p) = &p {
            register(p);
        }
        Secrets {
            passphrase: p,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// The process's passphrase from `MKSO_PASSPHRASE`, read once and shared
    /// (so keys are derived once per salt per process).
    pub fn process() -> Arc<Secrets> {
        static PROCESS: std::sync::OnceLock<Arc<Secrets>> = std::sync::OnceLock::new();
        PROCESS
            .get_or_init(|| Arc::new(Secrets::from_env()))
            .clone()
    }

    /// An explicit passphrase.
    pub fn with_passphrase(p: impl Into<String>) -> Self {
        let p = p.into();
        register(&p);
        Secrets {
            passphrase: Some(p),
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// No passphrase: encrypting or decrypting fails, naming the variable.
    pub fn none() -> Self {
        Secrets {
            passphrase: None,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a passphrase is set.
    pub fn has_passphrase(&self) -> bool {
        self.passphrase.is_some()
    }

    /// A fresh random salt, encoded.
    pub fn new_salt() -> String {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).expect("the OS random source works");
        B64.encode(salt)
    }

    fn key(&self, salt: &[u8], what: &str) -> Result<Arc<XChaCha20Poly1305>, SecretsError> {
        let Some(p) = &self.passphrase else {
            return Err(SecretsError::NoPassphrase { what: what.into() });
        };
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = keys.get(salt) {
            return Ok(k.clone());
        }
        let mut key = [0u8; 32];
        argon2::Argon2::default()
            .hash_password_into(p.as_bytes(), salt, &mut key)
            .map_err(|_| SecretsError::Malformed {
                what: what.into(),
                reason: "bad salt",
            })?;
        let cipher = Arc::new(XChaCha20Poly1305::new((&key).into()));
        keys.insert(salt.to_vec(), cipher.clone());
        Ok(cipher)
    }

    /// Seals `plaintext` under the key for `salt` (from [`Secrets::new_salt`]).
    pub fn encrypt(&self, salt: &str, plaintext: &[u8]) -> Result<String, SecretsError> {
        let what = "a secret value";
        let salt_bytes = B64.decode(salt).map_err(|_| SecretsError::Malformed {
            what: "the salt".into(),
            reason: "not base64",
        })?;
        let cipher = self.key(&salt_bytes, what)?;
        let mut nonce = [0u8; 24];
        getrandom::fill(&mut nonce).expect("the OS random source works");
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), plaintext)
            .expect("XChaCha20-Poly1305 encryption does not fail");
        let mut sealed = nonce.to_vec();
        sealed.extend_from_slice(&ct);
        Ok(format!("v1:{salt}:{}", B64.encode(sealed)))
    }

    /// Opens a value sealed by [`Secrets::encrypt`].
    pub fn decrypt(&self, sealed: &str) -> Result<Vec<u8>, SecretsError> {
        self.decrypt_named(sealed, "a secret value")
    }

    /// [`Secrets::decrypt`], naming the value in errors (`config key app:dbPassword`).
    pub fn decrypt_named(&self, sealed: &str, what: &str) -> Result<Vec<u8>, SecretsError> {
        let bad = |reason| SecretsError::Malformed {
            what: what.into(),
            reason,
        };
        let mut parts = sealed.splitn(3, ':');
        if parts.next() != Some("v1") {
            return Err(bad("unknown version"));
        }
        let salt = B64
            .decode(parts.next().ok_or_else(|| bad("no salt"))?)
            .map_err(|_| bad("salt is not base64"))?;
        let body = B64
            .decode(parts.next().ok_or_else(|| bad("no body"))?)
            .map_err(|_| bad("body is not base64"))?;
        if body.len() < 24 + 16 {
            return Err(bad("too short"));
        }
        let cipher = self.key(&salt, what)?;
        let (nonce, ct) = body.split_at(24);
        cipher
            .decrypt(XNonce::from_slice(nonce), ct)
            .map_err(|_| SecretsError::WrongPassphrase { what: what.into() })
    }

    /// A stack file's `encryptionsalt:` value for a new salt: the salt and a
    /// sealed check value.
    pub fn new_salt_line(&self) -> Result<String, SecretsError> {
        let salt = Self::new_salt();
        self.encrypt(&salt, CHECK)
    }

    /// Verifies the passphrase against a stack file's `encryptionsalt:` and
    /// returns the salt to encrypt new values with.
    pub fn open_salt_line(&self, line: &str, file: &str) -> Result<String, SecretsError> {
        let what = format!("the secrets of {file}");
        let plain = self.decrypt_named(line, &what)?;
        if plain != CHECK {
            return Err(SecretsError::WrongPassphrase { what });
        }
        Ok(salt_of(line).unwrap_or_default().to_string())
    }

    /// Encrypts a JSON value (serialized) as `{"$mkso:secret": "v1:..."}`.
    pub fn seal_value(&self, salt: &str, v: &Value) -> Result<Value, SecretsError> {
        let text = serde_json::to_vec(v).expect("JSON serializes");
        Ok(serde_json::json!({ SEALED_KEY: self.encrypt(salt, &text)? }))
    }

    /// Opens a value sealed by [`Secrets::seal_value`]; other values are
    /// returned as they are. Opened secrets are registered for redaction.
    pub fn open_value(&self, v: Value, what: &str) -> Result<Value, SecretsError> {
        let Some(sealed) = sealed_text(&v) else {
            return Ok(v);
        };
        let plain = self.decrypt_named(sealed, what)?;
        let v: Value = serde_json::from_slice(&plain).map_err(|_| SecretsError::Malformed {
            what: what.into(),
            reason: "not JSON inside",
        })?;
        register_value(&v);
        Ok(v)
    }
}

/// The salt a ciphertext (`v1:<salt>:<body>`) was sealed under.
pub fn salt_of(sealed: &str) -> Option<&str> {
    sealed.split(':').nth(1)
}

/// The key of a sealed JSON value.
pub const SEALED_KEY: &str = "$mkso:secret";

/// The ciphertext of a sealed JSON value, if `v` is one.
pub fn sealed_text(v: &Value) -> Option<&str> {
    match v {
        Value::Object(m) if m.len() == 1 => m.get(SEALED_KEY)?.as_str(),
        _ => None,
    }
}

static KNOWN: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Registers a secret value: [`redact`] replaces it from now on. Values shorter
/// than 4 characters are not registered (they would mask ordinary text).
pub fn register(secret: &str) {
    if secret.chars().count() < 4 {
        return;
    }
    // Also as it appears inside JSON text (`--json` events), escaped.
    let escaped = serde_json::to_string(secret).unwrap_or_default();
    let escaped = escaped[1..escaped.len() - 1].to_string();
    let mut k = KNOWN.write().unwrap_or_else(|e| e.into_inner());
    for form in [secret.to_string(), escaped] {
        if !k.contains(&form) {
            k.push(form);
        }
    }
    // Longest first, so a secret containing another is masked whole.
    k.sort_by_key(|s| std::cmp::Reverse(s.len()));
}

/// Registers every string (and number) inside a JSON value.
pub fn register_value(v: &Value) {
    match v {
        Value::String(s) => register(s),
        Value::Number(n) => register(&n.to_string()),
        Value::Array(a) => a.iter().for_each(register_value),
        Value::Object(m) => m.values().for_each(register_value),
        _ => {}
    }
}

/// Replaces every registered secret in `text` with `[secret]`.
pub fn redact(text: &str) -> Cow<'_, str> {
    let k = KNOWN.read().unwrap_or_else(|e| e.into_inner());
    if k.is_empty() || !k.iter().any(|s| text.contains(s.as_str())) {
        return Cow::Borrowed(text);
    }
    let mut out = text.to_string();
    for s in k.iter() {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "[secret]");
        }
    }
    Cow::Owned(out)
}

/// A writer that redacts registered secrets from what passes through it (for
/// log lines: each `write` is one formatted event).
#[derive(Debug)]
pub struct RedactingWriter<W>(pub W);

impl<W: std::io::Write> std::io::Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.0.write_all(redact(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_wrong_passphrases_are_named() {
        let s = Secrets::with_passphrase("pass-one");
        let line = s.new_salt_line().unwrap();
        let salt = s.open_salt_line(&line, "Mkso.x.QA.yaml").unwrap();
        let v = serde_json::json!({"user": "admin", "password": "s3cr3t-value"});
        let sealed = s.seal_value(&salt, &v).unwrap();
        assert!(!sealed.to_string().contains("s3cr3t-value"));
        assert_eq!(s.open_value(sealed.clone(), "x").unwrap(), v);
        let wrong = Secrets::with_passphrase("pass-two");
        let e = wrong.open_salt_line(&line, "Mkso.x.QA.yaml").unwrap_err();
        assert!(e.to_string().contains(PASSPHRASE_VAR), "{e}");
        assert!(e.to_string().contains("Mkso.x.QA.yaml"), "{e}");
        let e = Secrets::none()
            .open_value(sealed, "state of x")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "state of x needs the secrets passphrase: set MKSO_PASSPHRASE (the passphrase this stack's secrets were encrypted with)"
        );
    }

    #[test]
    fn registered_secrets_are_redacted() {
        register("canary-7f3a");
        assert_eq!(
            redact("error: bad value canary-7f3a!"),
            "error: bad value [secret]!"
        );
        assert!(matches!(redact("nothing here"), Cow::Borrowed(_)));
    }
}

/// A config value that is secret: declare a config field as `Secret<T>` to read
/// a secret key (`config set --secret`). It never prints its value, and it
/// becomes a secret [`Output`](crate::Output) with `.into()` or
/// [`Secret::into_output`].
///
/// ```
/// use mkso::secrets::Secret;
///
/// #[derive(serde::Deserialize, schemars::JsonSchema)]
/// struct AppConfig {
///     db_password: Secret<String>,
/// }
/// let c: AppConfig = serde_json::from_value(serde_json::json!({"db_password": "pa55-word"})).unwrap();
/// assert_eq!(format!("{:?}", c.db_password), "Secret([secret])");
/// let out: mkso::Output<String> = c.db_password.into();
/// assert!(out.is_secret());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Secret(value)
    }

    /// The value (for code that must hand it to something, never to print it).
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// A secret output of the value.
    pub fn into_output(self) -> crate::Output<T>
    where
        T: crate::OutputValue,
    {
        crate::Output::secret(self.0)
    }
}

impl<T: crate::OutputValue> From<Secret<T>> for crate::Output<T> {
    fn from(s: Secret<T>) -> Self {
        s.into_output()
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([secret])")
    }
}

impl<'de, T: serde::de::DeserializeOwned> serde::Deserialize<'de> for Secret<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        register_value(&v);
        T::deserialize(v).map(Secret).map_err(|_| {
            // The value itself is never shown.
            serde::de::Error::custom(format!(
                "the secret value is not a `{}`",
                std::any::type_name::<T>()
            ))
        })
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Secret<T> {
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let mut s = generator.subschema_for::<T>();
        s.insert(SECRET_MARKER.into(), Value::Bool(true));
        s
    }
}

/// The JSON-schema keyword that marks a [`Secret`] field.
pub const SECRET_MARKER: &str = "x-mkso-secret";
