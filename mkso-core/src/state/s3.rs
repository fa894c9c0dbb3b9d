//! The S3 backend (`s3://bucket/prefix`), on `aws-sdk-s3`.
//!
//! Layout under `prefix/stacks/<stack>/`: `snapshot.json`, `lock.json`,
//! `journal/<seq>.log` (one object per group-commit batch, so a finished step
//! costs one small PUT and never a rewrite of the snapshot) and `history/`.
//!
//! Every write that could race is conditional:
//! - the lock is created with `If-None-Match: *` and released with a
//!   conditional delete (`If-Match` on the ETag we created, or, for `unlock`,
//!   the one we read), so a release never removes somebody else's lock;
//! - journal parts are created with `If-None-Match: *`;
//! - the snapshot is replaced with `If-Match` on the ETag this process last read
//!   or wrote (`If-None-Match: *` when it read none), so of two writers that
//!   loaded the same state only one can write it back.
//!
//! Region, credentials and endpoint come from the standard AWS settings
//! (`AWS_REGION`, `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_S3`, profiles, ...);
//! with a custom endpoint, path-style addressing is used.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use tokio::sync::OnceCell;

use super::StateError;
use super::backend::Backend;
use crate::names::StackName;

/// State in an S3 bucket; see the module docs.
pub struct S3Backend {
    bucket: String,
    prefix: String,
    endpoint: Option<String>,
    client: OnceCell<Client>,
    /// The ETag of each stack's snapshot as this process last saw it
    /// (`Some(None)`: seen absent).
    snapshot_etags: Mutex<HashMap<StackName, Option<String>>>,
    /// The ETag of each lock this process created.
    lock_etags: Mutex<HashMap<StackName, String>>,
    /// The next journal part number per stack.
    journal_seq: Mutex<HashMap<StackName, u64>>,
    written: AtomicU64,
    requests: AtomicU64,
}

impl std::fmt::Debug for S3Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S3Backend({})", self.describe())
    }
}

/// What a failed request means for us.
enum Failure {
    /// 404 / NoSuchKey.
    NotFound,
    /// 412 (or 409 for a concurrent conditional write): a condition did not hold.
    Precondition,
    /// Anything else, described.
    Other(String),
}

type Response = aws_sdk_s3::config::http::HttpResponse;

fn classify<E>(e: &SdkError<E, Response>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = e.raw_response().map(|r| r.status().as_u16());
    let code = e.code().unwrap_or_default();
    match (status, code) {
        // A missing bucket is not a missing object.
        (_, "NoSuchBucket") => Failure::Other(describe_error(e)),
        (Some(404), _) | (_, "NoSuchKey" | "NotFound") => Failure::NotFound,
        (Some(412 | 409), _) | (_, "PreconditionFailed" | "ConditionalRequestConflict") => {
            Failure::Precondition
        }
        _ => Failure::Other(describe_error(e)),
    }
}

fn describe_error<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match e {
        SdkError::ServiceError(se) => {
            let err = se.err();
            match (err.code(), err.message()) {
                (Some("NoSuchBucket"), _) => {
                    "the bucket does not exist: create it first (e.g. `aws s3 mb s3://BUCKET`)"
                        .into()
                }
                (Some(code), Some(msg)) => format!("{code}: {msg}"),
                (Some(code), None) => code.to_string(),
                _ => format!("{err}"),
            }
        }
        SdkError::DispatchFailure(d) => {
            let mut msg = "cannot reach the S3 endpoint".to_string();
            if d.is_io() || d.is_timeout() {
                msg.push_str(" (connection failed: check AWS_ENDPOINT_URL and the network)");
            }
            if let Some(src) = std::error::Error::source(e) {
                msg.push_str(&format!(": {}", error_chain(src)));
            }
            msg
        }
        SdkError::ConstructionFailure(_) => format!(
            "cannot build the request ({}); check AWS_REGION and the credentials",
            error_chain(e)
        ),
        _ => error_chain(e),
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

impl S3Backend {
    /// A backend for `s3://bucket/prefix` (the client is made on first use).
    pub fn new(bucket: impl Into<String>, prefix: impl Into<String>) -> Self {
        let prefix = prefix.into().trim_matches('/').to_string();
        S3Backend {
            bucket: bucket.into(),
            prefix,
            endpoint: None,
            client: OnceCell::new(),
            snapshot_etags: Mutex::new(HashMap::new()),
            lock_etags: Mutex::new(HashMap::new()),
            journal_seq: Mutex::new(HashMap::new()),
            written: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// Parses `s3://bucket/prefix`.
    pub fn from_url(url: &str) -> Result<Self, StateError> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| StateError::BadUrl { url: url.into() })?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StateError::BadUrl { url: url.into() });
        }
        Ok(Self::new(bucket, prefix))
    }

    /// Uses this endpoint (e.g. an emulator) instead of `AWS_ENDPOINT_URL`;
    /// path-style addressing follows.
    pub fn with_endpoint(mut self, url: impl Into<String>) -> Self {
        self.endpoint = Some(url.into());
        self
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| build_client(self.endpoint.as_deref()))
            .await
    }

    fn stack_prefix(&self, stack: &StackName) -> String {
        if self.prefix.is_empty() {
            format!("stacks/{stack}/")
        } else {
            format!("{}/stacks/{stack}/", self.prefix)
        }
    }

    fn key(&self, stack: &StackName, name: &str) -> String {
        format!("{}{name}", self.stack_prefix(stack))
    }

    fn err(&self, action: &str, key: &str, message: String) -> StateError {
        StateError::Backend {
            backend: self.describe(),
            message: format!("cannot {action} s3://{}/{key}: {message}", self.bucket),
        }
    }

    fn count(&self, body: usize) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.written.fetch_add(body as u64, Ordering::Relaxed);
    }

    /// GET: the body and ETag, or `None` if absent.
    async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, Option<String>)>, StateError> {
        self.count(0);
        let span = tracing::debug_span!("s3", op = "GetObject", key);
        let _g = span.enter();
        match self
            .client()
            .await
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => {
                let etag = out.e_tag().map(str::to_string);
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| self.err("read", key, e.to_string()))?;
                Ok(Some((body.into_bytes().to_vec(), etag)))
            }
            Err(e) => match classify(&e) {
                Failure::NotFound => Ok(None),
                Failure::Precondition => Err(self.err("read", key, describe_error(&e))),
                Failure::Other(m) => Err(self.err("read", key, m)),
            },
        }
    }

    /// PUT with an optional condition; `Ok(None)` when the condition failed.
    async fn put(
        &self,
        key: &str,
        body: &[u8],
        cond: Cond<'_>,
    ) -> Result<Option<Option<String>>, StateError> {
        self.count(body.len());
        let mut req = self
            .client()
            .await
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body.to_vec()));
        req = match cond {
            Cond::None => req,
            Cond::Absent => req.if_none_match("*"),
            Cond::Etag(e) => req.if_match(e),
        };
        match req.send().await {
            Ok(out) => Ok(Some(
                out.e_tag().filter(|e| !e.is_empty()).map(str::to_string),
            )),
            Err(e) => match classify(&e) {
                Failure::Precondition => {
                    // The SDK retries a request whose response was lost; the
                    // retry of a write that did succeed fails its condition.
                    // If the object holds exactly our bytes, it was ours.
                    match self.get(key).await? {
                        Some((existing, etag)) if existing == body => Ok(Some(etag)),
                        _ => Ok(None),
                    }
                }
                Failure::NotFound => Err(self.err("write", key, describe_error(&e))),
                Failure::Other(m) => Err(self.err("write", key, m)),
            },
        }
    }

    /// DELETE with an optional `If-Match`; absent keys are fine. `Ok(false)`
    /// when the condition failed.
    async fn delete(&self, key: &str, if_match: Option<&str>) -> Result<bool, StateError> {
        self.delete_with(self.client().await, key, if_match).await
    }

    /// [`S3Backend::delete`] through a given client (the lock release makes its own).
    async fn delete_with(
        &self,
        client: &Client,
        key: &str,
        if_match: Option<&str>,
    ) -> Result<bool, StateError> {
        self.count(0);
        let mut req = client.delete_object().bucket(&self.bucket).key(key);
        if let Some(e) = if_match {
            req = req.if_match(e);
        }
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e) => match classify(&e) {
                Failure::NotFound => Ok(true),
                Failure::Precondition => Ok(false),
                Failure::Other(m) => Err(self.err("delete", key, m)),
            },
        }
    }

    /// Every key under `prefix`, sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, StateError> {
        let mut keys = Vec::new();
        let mut pages = self
            .client()
            .await
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            self.count(0);
            let page = page.map_err(|e| self.err("list", prefix, describe_error(&e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    fn journal_parts(&self, stack: &StackName, keys: &[String]) -> Vec<(u64, String)> {
        let jp = self.key(stack, "journal/");
        let mut parts: Vec<(u64, String)> = keys
            .iter()
            .filter_map(|k| {
                let n = k.strip_prefix(&jp)?.strip_suffix(".log")?.parse().ok()?;
                Some((n, k.clone()))
            })
            .collect();
        parts.sort();
        parts
    }
}

enum Cond<'a> {
    None,
    Absent,
    Etag(&'a str),
}

/// Keeps the `Date` of an answer: S3's clock.
#[derive(Debug, Default, Clone)]
struct ServerDate(std::sync::Arc<Mutex<Option<aws_sdk_s3::primitives::DateTime>>>);

impl ServerDate {
    fn get(&self) -> Option<aws_sdk_s3::primitives::DateTime> {
        *self.0.lock().unwrap()
    }
}

impl aws_sdk_s3::config::Intercept for ServerDate {
    fn name(&self) -> &'static str {
        "ServerDate"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_sdk_s3::config::interceptors::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_sdk_s3::config::RuntimeComponents,
        _: &mut aws_sdk_s3::config::ConfigBag,
    ) -> Result<(), aws_sdk_s3::error::BoxError> {
        let date = context.response().headers().get("date").and_then(|d| {
            aws_sdk_s3::primitives::DateTime::from_str(
                d,
                aws_sdk_s3::primitives::DateTimeFormat::HttpDate,
            )
            .ok()
        });
        *self.0.lock().unwrap() = date;
        Ok(())
    }
}

async fn build_client(endpoint: Option<&str>) -> Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(e) = endpoint {
        loader = loader.endpoint_url(e);
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none()
    {
        // Buckets are global; a region is only needed to sign requests.
        loader = loader.region(
            aws_config::meta::region::RegionProviderChain::default_provider().or_else("us-east-1"),
        );
    }
    let sdk = loader.load().await;
    let custom_endpoint = sdk.endpoint_url().is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let conf = aws_sdk_s3::config::Builder::from(&sdk)
        .force_path_style(custom_endpoint)
        .build();
    Client::from_conf(conf)
}

#[async_trait]
impl Backend for S3Backend {
    fn describe(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }

    fn snapshot_location(&self, stack: &StackName) -> String {
        format!("s3://{}/{}", self.bucket, self.key(stack, "snapshot.json"))
    }

    fn journal_location(&self, stack: &StackName) -> String {
        format!("s3://{}/{}", self.bucket, self.key(stack, "journal/"))
    }

    async fn create_lock(
        &self,
        stack: &StackName,
        info: &[u8],
    ) -> Result<Option<Vec<u8>>, StateError> {
        let key = self.key(stack, "lock.json");
        // The record carries the holder's random token, so that a create
        // retried after a lost response recognises its own lock (see `put`).
        // A holder may release between our failed create and our read: try again.
        for _ in 0..5 {
            if let Some(etag) = self.put(&key, info, Cond::Absent).await? {
                // Renewals and the release are conditional on it: read it
                // back if the answer did not carry it.
                let etag = match etag {
                    Some(e) => Some(e),
                    None => self.get(&key).await?.and_then(|(_, e)| e),
                };
                if let Some(etag) = etag {
                    self.lock_etags.lock().unwrap().insert(stack.clone(), etag);
                }
                return Ok(None);
            }
            if let Some((holder, _)) = self.get(&key).await? {
                return Ok(Some(holder));
            }
        }
        Err(self.err(
            "create",
            &key,
            "the lock keeps changing hands; try again".into(),
        ))
    }

    fn leases(&self) -> bool {
        true
    }

    async fn renew_lock(&self, stack: &StackName, info: &[u8]) -> Result<bool, StateError> {
        let key = self.key(stack, "lock.json");
        let Some(ours) = self.lock_etags.lock().unwrap().get(stack).cloned() else {
            return Ok(false);
        };
        match self.put(&key, info, Cond::Etag(&ours)).await? {
            Some(etag) => {
                if let Some(etag) = etag {
                    self.lock_etags.lock().unwrap().insert(stack.clone(), etag);
                }
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn lock_age(&self, stack: &StackName) -> Result<Option<Duration>, StateError> {
        let key = self.key(stack, "lock.json");
        self.count(0);
        // Both ends by S3's clock (its `Date` answer against the record's
        // `Last-Modified`), so a client with a fast clock never sees a live
        // holder's lease as run out.
        let date = ServerDate::default();
        match self
            .client()
            .await
            .head_object()
            .bucket(&self.bucket)
            .key(&key)
            .customize()
            .interceptor(date.clone())
            .send()
            .await
        {
            Ok(h) => Ok(h.last_modified().zip(date.get()).map(|(modified, now)| {
                Duration::from_secs_f64((now.as_secs_f64() - modified.as_secs_f64()).max(0.0))
            })),
            Err(e) => match classify(&e) {
                Failure::NotFound => Ok(None),
                _ => Err(self.err("read", &key, describe_error(&e))),
            },
        }
    }

    async fn read_lock(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .get(&self.key(stack, "lock.json"))
            .await?
            .map(|(b, _)| b))
    }

    fn release_lock_blocking(&self, stack: &StackName) -> Result<(), StateError> {
        let key = self.key(stack, "lock.json");
        let ours = self.lock_etags.lock().unwrap().remove(stack);
        // Callable from Drop or a signal handler, inside or outside a runtime:
        // run the requests on a runtime of our own, in a thread of our own.
        let this = self;
        std::thread::scope(|s| {
            s.spawn(|| {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .map_err(|e| this.err("delete", &key, e.to_string()))?;
                rt.block_on(async {
                    let client = build_client(this.endpoint.as_deref()).await;
                    let work = async {
                        let etag = match ours {
                            Some(e) => Some(e),
                            // `unlock`: delete the lock we see, not one taken after.
                            None => {
                                match client
                                    .head_object()
                                    .bucket(&this.bucket)
                                    .key(&key)
                                    .send()
                                    .await
                                {
                                    Ok(h) => h.e_tag().map(str::to_string),
                                    Err(e) => match classify(&e) {
                                        Failure::NotFound => return Ok(()),
                                        _ => {
                                            return Err(this.err("read", &key, describe_error(&e)));
                                        }
                                    },
                                }
                            }
                        };
                        if this.delete_with(&client, &key, etag.as_deref()).await? {
                            Ok(())
                        } else {
                            Err(this.err(
                                "release",
                                &key,
                                "the lock was taken over by another process; left it alone".into(),
                            ))
                        }
                    };
                    tokio::time::timeout(Duration::from_secs(20), work)
                        .await
                        .unwrap_or_else(|_| {
                            Err(this.err("delete", &key, "timed out after 20 s".into()))
                        })
                })
            })
            .join()
            .unwrap_or_else(|_| Err(this.err("delete", &key, "the release panicked".into())))
        })
    }

    async fn break_lock_if(&self, stack: &StackName, expected: &[u8]) -> Result<bool, StateError> {
        // The ETag read with the record makes the delete conditional on it.
        let key = self.key(stack, "lock.json");
        match self.get(&key).await? {
            Some((cur, etag)) if cur == expected => self.delete(&key, etag.as_deref()).await,
            _ => Ok(false),
        }
    }

    async fn read_snapshot(&self, stack: &StackName) -> Result<Option<Vec<u8>>, StateError> {
        let got = self.get(&self.key(stack, "snapshot.json")).await?;
        let etag = got.as_ref().and_then(|(_, e)| e.clone());
        self.snapshot_etags
            .lock()
            .unwrap()
            .insert(stack.clone(), if got.is_some() { etag } else { None });
        Ok(got.map(|(b, _)| b))
    }

    async fn write_snapshot(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError> {
        let key = self.key(stack, "snapshot.json");
        // Never read in this process: it must not exist yet.
        let seen = self
            .snapshot_etags
            .lock()
            .unwrap()
            .get(stack)
            .cloned()
            .flatten();
        let cond = match &seen {
            Some(e) => Cond::Etag(e),
            None => Cond::Absent,
        };
        match self.put(&key, bytes, cond).await? {
            Some(etag) => {
                self.snapshot_etags
                    .lock()
                    .unwrap()
                    .insert(stack.clone(), etag);
                Ok(())
            }
            None => Err(StateError::Conflict {
                location: self.snapshot_location(stack),
            }),
        }
    }

    async fn read_journal(&self, stack: &StackName) -> Result<Vec<u8>, StateError> {
        let keys = self.list(&self.key(stack, "journal/")).await?;
        let parts = self.journal_parts(stack, &keys);
        let mut out = Vec::new();
        for (_, k) in &parts {
            if let Some((b, _)) = self.get(k).await? {
                out.extend_from_slice(&b);
            }
        }
        let next = parts.last().map_or(0, |(n, _)| n + 1);
        self.journal_seq.lock().unwrap().insert(stack.clone(), next);
        Ok(out)
    }

    async fn append_journal(&self, stack: &StackName, bytes: &[u8]) -> Result<(), StateError> {
        let known = self.journal_seq.lock().unwrap().get(stack).copied();
        let mut seq = match known {
            Some(n) => n,
            None => {
                let keys = self.list(&self.key(stack, "journal/")).await?;
                self.journal_parts(stack, &keys)
                    .last()
                    .map_or(0, |(n, _)| n + 1)
            }
        };
        // A part may exist already where a writer whose lock was broken
        // appended after we read the journal: step over a few such parts.
        let mut skipped = 0;
        loop {
            let key = self.key(stack, &format!("journal/{seq:012}.log"));
            if self.put(&key, bytes, Cond::Absent).await?.is_some() {
                break;
            }
            skipped += 1;
            if skipped > 8 {
                return Err(StateError::Conflict {
                    location: format!("s3://{}/{key}", self.bucket),
                });
            }
            seq += 1;
        }
        seq += 1;
        self.journal_seq.lock().unwrap().insert(stack.clone(), seq);
        Ok(())
    }

    async fn reset_journal(&self, stack: &StackName) -> Result<(), StateError> {
        let keys = self.list(&self.key(stack, "journal/")).await?;
        for (_, k) in self.journal_parts(stack, &keys) {
            self.delete(&k, None).await?;
        }
        self.journal_seq.lock().unwrap().insert(stack.clone(), 0);
        Ok(())
    }

    async fn put_history(
        &self,
        stack: &StackName,
        id: &str,
        record: &[u8],
    ) -> Result<(), StateError> {
        let snap = self.key(stack, "snapshot.json");
        let hsnap = self.key(stack, &format!("history/{id}.snapshot.json"));
        // A server-side copy: no snapshot bytes are sent.
        self.count(0);
        let copied = self
            .client()
            .await
            .copy_object()
            .bucket(&self.bucket)
            .key(&hsnap)
            .copy_source(format!("{}/{}", self.bucket, snap))
            .send()
            .await;
        if let Err(e) = copied {
            match classify(&e) {
                Failure::NotFound => {}
                Failure::Precondition => return Err(self.err("copy", &snap, describe_error(&e))),
                Failure::Other(m) => return Err(self.err("copy", &snap, m)),
            }
        }
        let rec = self.key(stack, &format!("history/{id}.json"));
        self.put(&rec, record, Cond::None).await?;
        Ok(())
    }

    async fn list_history(&self, stack: &StackName) -> Result<Vec<String>, StateError> {
        let hp = self.key(stack, "history/");
        let keys = self.list(&hp).await?;
        let mut ids: Vec<String> = keys
            .iter()
            .filter_map(|k| {
                let id = k.strip_prefix(&hp)?.strip_suffix(".json")?;
                (!id.ends_with(".snapshot")).then(|| id.to_string())
            })
            .collect();
        ids.sort();
        Ok(ids)
    }

    async fn read_history(&self, stack: &StackName, id: &str) -> Result<Vec<u8>, StateError> {
        let key = self.key(stack, &format!("history/{id}.json"));
        self.get(&key)
            .await?
            .map(|(b, _)| b)
            .ok_or_else(|| self.err("read", &key, "no such history record".into()))
    }

    async fn read_history_snapshot(
        &self,
        stack: &StackName,
        id: &str,
    ) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .get(&self.key(stack, &format!("history/{id}.snapshot.json")))
            .await?
            .map(|(b, _)| b))
    }

    async fn delete_history(&self, stack: &StackName, id: &str) -> Result<(), StateError> {
        self.delete(&self.key(stack, &format!("history/{id}.json")), None)
            .await?;
        self.delete(
            &self.key(stack, &format!("history/{id}.snapshot.json")),
            None,
        )
        .await?;
        Ok(())
    }

    async fn list_stacks(&self) -> Result<Vec<StackName>, StateError> {
        let root = if self.prefix.is_empty() {
            "stacks/".to_string()
        } else {
            format!("{}/stacks/", self.prefix)
        };
        let keys = self.list(&root).await?;
        let mut out: Vec<StackName> = keys
            .iter()
            .filter_map(|k| {
                let (stack, rest) = k.strip_prefix(&root)?.split_once('/')?;
                let has_state = rest == "snapshot.json" || rest.starts_with("journal/");
                has_state.then(|| StackName::new(stack).ok()).flatten()
            })
            .collect();
        out.dedup();
        Ok(out)
    }

    async fn remove_stack(&self, stack: &StackName) -> Result<(), StateError> {
        for k in self.list(&self.stack_prefix(stack)).await? {
            self.delete(&k, None).await?;
        }
        self.snapshot_etags.lock().unwrap().remove(stack);
        self.journal_seq.lock().unwrap().remove(stack);
        Ok(())
    }

    async fn put_orphans(
        &self,
        stack: &StackName,
        name: &str,
        bytes: &[u8],
    ) -> Result<(), StateError> {
        let key = self.key(stack, &format!("orphans/{name}.log"));
        match self.put(&key, bytes, Cond::Absent).await? {
            Some(_) => Ok(()),
            None => Err(self.err("create", &key, "it exists already".into())),
        }
    }

    async fn list_orphans(&self, stack: &StackName) -> Result<Vec<String>, StateError> {
        let op = self.key(stack, "orphans/");
        let keys = self.list(&op).await?;
        Ok(keys
            .iter()
            .filter_map(|k| Some(k.strip_prefix(&op)?.strip_suffix(".log")?.to_string()))
            .collect())
    }

    async fn read_orphans(&self, stack: &StackName, name: &str) -> Result<Vec<u8>, StateError> {
        let key = self.key(stack, &format!("orphans/{name}.log"));
        self.get(&key)
            .await?
            .map(|(b, _)| b)
            .ok_or_else(|| self.err("read", &key, "no such object".into()))
    }

    async fn delete_orphans(&self, stack: &StackName, name: &str) -> Result<(), StateError> {
        self.delete(&self.key(stack, &format!("orphans/{name}.log")), None)
            .await?;
        Ok(())
    }

    fn bytes_written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}
