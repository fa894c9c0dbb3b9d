//! The in-memory [`TestProvider`].

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::names::Urn;
use crate::output::contains_unknown;
use crate::provider::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffRequest,
    DiffResponse, ErrorClass, FindRequest, Provider, ProviderError, ReadRequest, ReadResponse,
    UpdateRequest, UpdateResponse, diff_inputs,
};

/// One provider call the [`TestProvider`] received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// create / update / delete / read / find / diff.
    pub verb: &'static str,
    /// The resource's nested name.
    pub name: String,
}

type CheckFn = Arc<dyn Fn(&CheckRequest) -> Result<CheckResponse, ProviderError> + Send + Sync>;
type CreateFn = Arc<dyn Fn(&CreateRequest) -> Result<CreateResponse, ProviderError> + Send + Sync>;
type RefuseFn = Arc<dyn Fn(&UpdateRequest) -> Option<ProviderError> + Send + Sync>;
type DiffFn = Arc<dyn Fn(&DiffRequest) -> Result<DiffResponse, ProviderError> + Send + Sync>;
type ReadFn = Arc<dyn Fn(&ReadRequest) -> Result<ReadResponse, ProviderError> + Send + Sync>;
type ReplaceWhenFn = Arc<dyn Fn(&Value, &Value) -> bool + Send + Sync>;

#[derive(Debug, Clone)]
struct Fault {
    verb: &'static str,
    name: String,
    remaining: Option<u32>,
    error: ProviderError,
}

/// A token bucket for mutating calls (in tokio time: virtual under
/// `start_paused`).
#[derive(Debug, Clone)]
struct Bucket {
    per_second: f64,
    burst: f64,
    tokens: f64,
    last: Option<tokio::time::Instant>,
}

impl Bucket {
    fn take(&mut self, now: tokio::time::Instant) -> bool {
        let last = self.last.unwrap_or(now);
        let refill = now.saturating_duration_since(last).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.last = Some(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Default)]
struct Inner {
    cloud: BTreeMap<String, (Urn, Value, Value)>,
    creates: HashMap<String, u32>,
    calls: Vec<Call>,
    faults: Vec<Fault>,
    /// (type token or name, times): throttling answers per matching resource.
    throttles: Vec<(String, u32)>,
    /// Throttling answers given so far, per resource name.
    throttled_by_name: HashMap<String, u32>,
    bucket: Option<Bucket>,
    throttled: u64,
    /// (type token or name, not-ready answers left: `None` for ever).
    not_ready: Vec<(String, Option<u32>)>,
}

/// An in-memory provider for every resource type (or one package), with a
/// "cloud" it really keeps: outputs echo inputs plus a deterministic `id`,
/// reads and finds look there, deletes remove from it. Closures override
/// create / diff / read per type token; faults and latency can be injected.
///
/// The id of a created resource is its nested name with each `/` as `-`,
/// plus `-id`: `web-id` for `web`, `network-private-subnet-0-id` for
/// `network/private-subnet-0`. A second create of the same name (a
/// replacement) gets `-id-2`, then `-id-3`, ...
///
/// ```
/// mkso::resource! {
///     /// A subnet (for illustration).
///     pub struct Subnet("demo:net:Subnet") {
///         args SubnetArgs => SubnetInputs { cidr: String }
///         outputs SubnetOutputs { cidr: String }
///     }
/// }
/// use mkso::prelude::*;
///
/// fn program(stack: &Stack) -> Result<(), mkso::Error> {
///     let net = stack.component("demo:net:Network", "network", ResourceOptions::new())?;
///     let s = Subnet::new(stack, "private-subnet-0", SubnetArgs::default().cidr("10.0.0.0/24"), net.child_opts())?;
///     stack.export("subnet", s.id());
///     Ok(())
/// }
/// let graph = mkso::testing::preview(program).stack("demo.Dev").up().unwrap();
/// assert_eq!(graph.outputs["subnet"], "network-private-subnet-0-id");
/// assert_eq!(graph.get("network/private-subnet-0").unwrap().outputs["cidr"], "10.0.0.0/24");
/// ```
#[derive(Clone)]
pub struct TestProvider {
    /// Shared by clones; its address marks the provider as in-memory (see
    /// [`is_in_memory`]).
    package: Arc<str>,
    latency: Duration,
    checks: HashMap<String, CheckFn>,
    creates: HashMap<String, CreateFn>,
    refusals: HashMap<String, RefuseFn>,
    diffs: HashMap<String, DiffFn>,
    reads: HashMap<String, ReadFn>,
    replace_keys: HashMap<String, Vec<String>>,
    /// (property, whether a change from old to new forces a replacement).
    replace_when: HashMap<String, Vec<(String, ReplaceWhenFn)>>,
    delete_first: std::collections::HashSet<String>,
    inner: Arc<Mutex<Inner>>,
}

impl std::fmt::Debug for TestProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TestProvider({})", self.package)
    }
}

impl Default for TestProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl TestProvider {
    /// A provider for every package.
    pub fn new() -> Self {
        Self::for_package("*")
    }

    /// A provider for one package only.
    pub fn for_package(package: &str) -> Self {
        let package: Arc<str> = Arc::from(package);
        {
            let mut all = IN_MEMORY.lock().unwrap_or_else(|e| e.into_inner());
            all.retain(|w| w.strong_count() > 0);
            all.push(Arc::downgrade(&package));
        }
        TestProvider {
            package,
            latency: Duration::ZERO,
            checks: HashMap::new(),
            creates: HashMap::new(),
            refusals: HashMap::new(),
            diffs: HashMap::new(),
            reads: HashMap::new(),
            replace_keys: HashMap::new(),
            replace_when: HashMap::new(),
            delete_first: Default::default(),
            inner: Arc::new(Mutex::new(Inner::default())),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Every create, update and delete sleeps this long (in tokio time).
    #[must_use]
    pub fn latency(mut self, d: Duration) -> Self {
        self.latency = d;
        self
    }

    /// Validates the inputs of a type (the default accepts any): return
    /// (property, problem) pairs in [`CheckResponse::failures`] to refuse
    /// them. Inputs may hold the unknown marker at plan time
    /// ([`UNKNOWN`](crate::output::UNKNOWN)); a value known only at apply
    /// time is checked again then.
    ///
    /// ```
    /// use mkso::provider::CheckResponse;
    /// use mkso::testing::TestProvider;
    /// let p = TestProvider::new().on_check("demo:net:Subnet", |req| {
    ///     let mut failures = Vec::new();
    ///     if req.inputs["cidr"] == "0.0.0.0/0" {
    ///         failures.push(("cidr".to_string(), "too wide".to_string()));
    ///     }
    ///     Ok(CheckResponse { failures })
    /// });
    /// # let _ = p;
    /// ```
    #[must_use]
    pub fn on_check(
        mut self,
        type_token: &str,
        f: impl Fn(&CheckRequest) -> Result<CheckResponse, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.checks.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Overrides create for a type (e.g. to return computed outputs).
    #[must_use]
    pub fn on_create(
        mut self,
        type_token: &str,
        f: impl Fn(&CreateRequest) -> Result<CreateResponse, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.creates.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Updates of a type fail with the error `f` returns for them (`None`:
    /// the update goes through), as a cloud that refuses a value.
    #[must_use]
    pub fn refuse_updates(
        mut self,
        type_token: &str,
        f: impl Fn(&UpdateRequest) -> Option<ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.refusals.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Overrides diff for a type.
    #[must_use]
    pub fn on_diff(
        mut self,
        type_token: &str,
        f: impl Fn(&DiffRequest) -> Result<DiffResponse, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.diffs.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Overrides read for a type.
    #[must_use]
    pub fn on_read(
        mut self,
        type_token: &str,
        f: impl Fn(&ReadRequest) -> Result<ReadResponse, ProviderError> + Send + Sync + 'static,
    ) -> Self {
        self.reads.insert(type_token.into(), Arc::new(f));
        self
    }

    /// Changes of these input properties of a type force a replacement.
    #[must_use]
    pub fn replace_on(mut self, type_token: &str, keys: &[&str]) -> Self {
        self.replace_keys.insert(
            type_token.into(),
            keys.iter().map(|k| k.to_string()).collect(),
        );
        self
    }

    /// Serves a derived type as its own provider would plan it: its
    /// `#[mkso(replace)]` properties force a replacement here too (the same
    /// as [`replace_on`](Self::replace_on) with those properties).
    #[must_use]
    pub fn typed<R: crate::typed::TypedResource>(self) -> Self {
        let keys: Vec<&str> = R::PROPERTIES
            .iter()
            .filter(|p| p.replace)
            .map(|p| p.name)
            .collect();
        self.replace_on(R::TYPE, &keys)
    }

    /// A change of input property `key` of a type forces a replacement when
    /// `forces(old, new)` says so, and is made in place otherwise: a property
    /// whose replace-ness depends on the value, as a disk size that grows in
    /// place but cannot shrink. A new value still unknown at plan time is
    /// planned as an in-place update (the provider cannot judge a value it
    /// does not know yet), so the replacement shows only at apply time.
    ///
    /// ```
    /// use mkso::testing::TestProvider;
    /// let p = TestProvider::new().replace_when("demo:disk:Disk", "size_gb", |old, new| {
    ///     new.as_i64() < old.as_i64()
    /// });
    /// # let _ = p;
    /// ```
    #[must_use]
    pub fn replace_when(
        mut self,
        type_token: &str,
        key: &str,
        forces: impl Fn(&Value, &Value) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.replace_when
            .entry(type_token.into())
            .or_default()
            .push((key.into(), Arc::new(forces)));
        self
    }

    /// A replacement of a type deletes the old resource before creating the
    /// new one (the provider's diff says so, as for resources identified by
    /// their content, such as EC2 security-group rules, whose new copy would
    /// collide with the old one). As in such a cloud, creating a resource of
    /// the type while another copy of it (same URN) exists fails with a
    /// permanent `InvalidPermission.Duplicate` error.
    #[must_use]
    pub fn delete_before_replace(mut self, type_token: &str) -> Self {
        self.delete_first.insert(type_token.into());
        self
    }

    /// Makes `verb` (create / update / delete / read) of resource `name` fail
    /// with `error`, `times` times (`None`: always).
    #[must_use]
    pub fn fail(
        self,
        verb: &'static str,
        name: &str,
        times: Option<u32>,
        error: ProviderError,
    ) -> Self {
        self.lock().faults.push(Fault {
            verb,
            name: name.into(),
            remaining: times,
            error,
        });
        self
    }

    /// Answers the first `times` creates, updates and deletes of each
    /// resource whose type token or nested name is `type_or_name` with a
    /// throttling error (as EC2's `RequestLimitExceeded`).
    #[must_use]
    pub fn throttle(self, type_or_name: &str, times: u32) -> Self {
        self.lock().throttles.push((type_or_name.into(), times));
        self
    }

    /// Grants creates, updates and deletes at `per_second` calls per second
    /// with bursts of `burst` (a token bucket in tokio time, virtual under
    /// `#[tokio::test(start_paused = true)]`); calls beyond it get a
    /// throttling answer (as EC2's `RequestLimitExceeded`).
    #[must_use]
    pub fn rate_limit(self, per_second: f64, burst: u32) -> Self {
        let burst = f64::from(burst.max(1));
        self.lock().bucket = Some(Bucket {
            per_second,
            burst,
            tokens: burst,
            last: None,
        });
        self
    }

    /// How many throttling answers ([`throttle`](Self::throttle),
    /// [`rate_limit`](Self::rate_limit)) it has given.
    pub fn throttled(&self) -> u64 {
        self.lock().throttled
    }

    /// Answers a mutating call with throttling if the injected limits say so.
    fn throttle_check(
        &self,
        identity: &crate::provider::ResourceIdentity,
    ) -> Result<(), ProviderError> {
        let mut inner = self.lock();
        let name = identity.name().to_string();
        let times = inner
            .throttles
            .iter()
            .find(|(t, _)| *t == name || *t == identity.type_token)
            .map(|(_, n)| *n);
        let mut refuse = false;
        if let Some(times) = times {
            let given = inner.throttled_by_name.entry(name).or_insert(0);
            if *given < times {
                *given += 1;
                refuse = true;
            }
        }
        if !refuse && let Some(b) = inner.bucket.as_mut() {
            refuse = !b.take(tokio::time::Instant::now());
        }
        if refuse {
            inner.throttled += 1;
            return Err(ProviderError::throttled("Request limit exceeded.")
                .with_code("RequestLimitExceeded"));
        }
        Ok(())
    }

    /// Resources of this type (or of this nested name) answer "not ready"
    /// to their first `times` readiness questions (a rolling group's
    /// members are asked until ready); `None`: never ready.
    #[must_use]
    pub fn not_ready(self, type_or_name: &str, times: Option<u32>) -> Self {
        self.lock()
            .not_ready
            .push((type_or_name.to_string(), times));
        self
    }

    /// The calls received so far.
    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    /// The resources in the in-memory cloud: id → (urn, inputs, outputs).
    pub fn cloud(&self) -> BTreeMap<String, (Urn, Value, Value)> {
        self.lock().cloud.clone()
    }

    /// Deletes a resource behind mkso's back (to test drift).
    pub fn delete_behind_the_back(&self, id: &str) {
        self.lock().cloud.remove(id);
    }

    /// Changes a property (input and output) behind mkso's back (to test drift).
    pub fn change_behind_the_back(&self, id: &str, key: &str, value: Value) {
        if let Some((_, inputs, out)) = self.lock().cloud.get_mut(id) {
            for v in [inputs, out] {
                if let Some(o) = v.as_object_mut() {
                    o.insert(key.into(), value.clone());
                }
            }
        }
    }

    fn record(&self, verb: &'static str, urn: &Urn) -> Result<(), ProviderError> {
        let mut inner = self.lock();
        inner.calls.push(Call {
            verb,
            name: urn.name().to_string(),
        });
        for f in inner.faults.iter_mut() {
            if f.verb == verb && f.name == urn.name() {
                match &mut f.remaining {
                    Some(0) => continue,
                    Some(n) => *n -= 1,
                    None => {}
                }
                return Err(f.error.clone());
            }
        }
        Ok(())
    }

    async fn wait(&self) {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
    }
}

/// The package names of every live [`TestProvider`] (clones share one).
static IN_MEMORY: Mutex<Vec<Weak<str>>> = Mutex::new(Vec::new());

/// Whether a provider is in-memory: a [`TestProvider`] (recognised by its
/// package string, which only test providers allocate in [`IN_MEMORY`]) or
/// the built-in provider of `mkso:builtin:*` types. The testing kit keeps
/// these when a program adds them itself; any other provider a program adds
/// may reach a real cloud.
pub(crate) fn is_in_memory(p: &dyn Provider) -> bool {
    if p.package() == "mkso" {
        return true;
    }
    let ptr = p.package().as_ptr();
    IN_MEMORY
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .any(|w| w.upgrade().is_some_and(|s| std::ptr::eq(s.as_ptr(), ptr)))
}

/// Outputs that echo the inputs, with the id, and a stand-in for each
/// required output of a typed resource that the inputs do not hold
/// (`<name>-<output>` for a string).
fn echo(inputs: &Value, id: &str, identity: &crate::provider::ResourceIdentity) -> Value {
    use crate::typed::Placeholder;
    let mut out = inputs.as_object().cloned().unwrap_or_default();
    out.insert("id".into(), json!(id));
    let name = identity.name().replace('/', "-");
    for (key, kind) in crate::typed::placeholders(&identity.type_token) {
        if out.get(*key).is_none_or(Value::is_null) {
            let v = match kind {
                Placeholder::Text => json!(format!("{name}-{key}")),
                Placeholder::Number => json!(0),
                Placeholder::Flag => json!(false),
                Placeholder::List => json!([]),
                Placeholder::Map => json!({}),
            };
            out.insert((*key).to_string(), v);
        }
    }
    Value::Object(out)
}

#[async_trait]
impl Provider for TestProvider {
    fn package(&self) -> &str {
        &self.package
    }

    /// Its outputs echo its inputs: an output is secret when the input of
    /// that name is.
    fn secret_outputs(&self, _type_token: &str) -> Option<&'static [&'static str]> {
        Some(&[])
    }

    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        match self.checks.get(&req.identity.type_token) {
            Some(f) => f(&req),
            None => Ok(CheckResponse::default()),
        }
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        let delete_first = self.delete_first.contains(&req.identity.type_token);
        if let Some(f) = self.diffs.get(&req.identity.type_token) {
            let mut d = f(&req)?;
            d.delete_before_replace |= delete_first;
            return Ok(d);
        }
        let keys: Vec<&str> = self
            .replace_keys
            .get(&req.identity.type_token)
            .map(|v| v.iter().map(String::as_str).collect())
            .unwrap_or_default();
        let mut d = diff_inputs(&req.old_inputs, &req.new_inputs, &keys);
        for (key, forces) in self
            .replace_when
            .get(&req.identity.type_token)
            .into_iter()
            .flatten()
        {
            let old = req.old_inputs.get(key).unwrap_or(&Value::Null);
            let new = req.new_inputs.get(key).unwrap_or(&Value::Null);
            if d.changed.contains(key)
                && !d.replace.contains(key)
                && !contains_unknown(new)
                && forces(old, new)
            {
                d.replace.push(key.clone());
            }
        }
        d.replace.sort();
        if d.replace.is_empty() {
            d.planned_outputs = Some(echo(&req.new_inputs, &req.id, &req.identity));
        }
        d.delete_before_replace = delete_first;
        Ok(d)
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        self.throttle_check(&req.identity)?;
        self.wait().await;
        self.record("create", &req.identity.urn)?;
        if self.delete_first.contains(&req.identity.type_token)
            && self
                .lock()
                .cloud
                .values()
                .any(|(u, _, _)| *u == req.identity.urn)
        {
            return Err(ProviderError::permanent(format!(
                "the specified rule `{}` already exists",
                req.identity.name()
            ))
            .with_code("InvalidPermission.Duplicate"));
        }
        let resp = match self.creates.get(&req.identity.type_token) {
            Some(f) => f(&req)?,
            None => {
                let name = req.identity.name().replace('/', "-");
                let n = {
                    let mut inner = self.lock();
                    let c = inner.creates.entry(name.clone()).or_insert(0);
                    *c += 1;
                    *c
                };
                let id = if n == 1 {
                    format!("{name}-id")
                } else {
                    format!("{name}-id-{n}")
                };
                CreateResponse {
                    outputs: echo(&req.inputs, &id, &req.identity),
                    id,
                }
            }
        };
        self.lock().cloud.insert(
            resp.id.clone(),
            (
                req.identity.urn.clone(),
                req.inputs.clone(),
                resp.outputs.clone(),
            ),
        );
        Ok(resp)
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        self.record("read", &req.identity.urn)?;
        if let Some(f) = self.reads.get(&req.identity.type_token) {
            return f(&req);
        }
        match self.lock().cloud.get(&req.id) {
            Some((_, inputs, outputs)) => Ok(ReadResponse {
                id: req.id.clone(),
                inputs: Some(inputs.clone()),
                outputs: outputs.clone(),
            }),
            None => Err(ProviderError::not_found(format!(
                "no resource with id {}",
                req.id
            ))),
        }
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        self.throttle_check(&req.identity)?;
        self.wait().await;
        self.record("update", &req.identity.urn)?;
        if let Some(e) = self
            .refusals
            .get(&req.identity.type_token)
            .and_then(|f| f(&req))
        {
            return Err(e);
        }
        let outputs = echo(&req.new_inputs, &req.id, &req.identity);
        let mut inner = self.lock();
        match inner.cloud.get_mut(&req.id) {
            Some(entry) => {
                entry.1 = req.new_inputs.clone();
                entry.2 = outputs.clone();
                Ok(UpdateResponse { outputs })
            }
            None => Err(ProviderError::not_found(format!(
                "no resource with id {}",
                req.id
            ))),
        }
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.throttle_check(&req.identity)?;
        self.wait().await;
        self.record("delete", &req.identity.urn)?;
        match self.lock().cloud.remove(&req.id) {
            Some(_) => Ok(()),
            None => Err(ProviderError::new(
                ErrorClass::NotFound,
                format!("no resource with id {}", req.id),
            )),
        }
    }

    async fn ready(&self, req: ReadRequest) -> Result<Option<String>, ProviderError> {
        self.record("ready", &req.identity.urn)?;
        let (name, ty) = (req.identity.name(), req.identity.type_token.as_str());
        let mut inner = self.lock();
        if !inner.cloud.contains_key(&req.id) {
            return Err(ProviderError::not_found(format!(
                "no resource with id {}",
                req.id
            )));
        }
        for (key, left) in inner.not_ready.iter_mut() {
            if key != name && key != ty {
                continue;
            }
            match left {
                Some(0) => continue,
                Some(n) => *n -= 1,
                None => {}
            }
            return Ok(Some(format!("{} is starting", req.id)));
        }
        Ok(None)
    }

    async fn find(&self, req: FindRequest) -> Result<Option<CreateResponse>, ProviderError> {
        self.record("find", &req.identity.urn)?;
        Ok(self
            .lock()
            .cloud
            .iter()
            .find(|(id, (u, _, _))| *u == req.identity.urn && !req.exclude_ids.contains(id))
            .map(|(id, (_, _, out))| CreateResponse {
                id: id.clone(),
                outputs: out.clone(),
            }))
    }
}
