//! The Compute Engine resource types and their provider verbs.

use std::collections::{BTreeMap, HashMap};

use google_cloud_compute_v1::model::{self, Operation};
use google_cloud_lro::Poller;
use mkso::ProviderError;
use mkso::provider::{
    CreateResponse, DiffRequest, DiffResponse, ReadResponse, ResourceIdentity, UpdateRequest,
    UpdateResponse, diff_inputs,
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::provider::{Clients, GcpProvider};

mkso::resource! {
    /// A VPC network (`gcp:compute:Network`), custom subnet mode by default.
    pub struct Network("gcp:compute:Network") {
        args NetworkArgs => NetworkInputs {
            /// The GCP name (default: derived from the mkso name, stable).
            name: Option<String>,
            /// Auto mode: one subnetwork per region, created by GCP.
            auto_create_subnetworks: bool,
        }
        outputs NetworkOutputs {
            /// The GCP name.
            name: String,
        }
    }
}

mkso::resource! {
    /// A subnetwork of a network in a region (`gcp:compute:Subnetwork`).
    pub struct Subnetwork("gcp:compute:Subnetwork") {
        args SubnetworkArgs => SubnetworkInputs {
            /// The GCP name (default: derived).
            name: Option<String>,
            /// The network's name.
            network: String,
            /// The region (default: `gcp:region`).
            region: Option<String>,
            /// The IPv4 range, e.g. `10.0.1.0/24`.
            ip_cidr_range: String,
        }
        outputs SubnetworkOutputs {
            /// The GCP name.
            name: String,
            /// Its region.
            region: String,
        }
    }
}

mkso::resource! {
    /// A firewall rule (`gcp:compute:Firewall`); its rules change in place.
    pub struct Firewall("gcp:compute:Firewall") {
        args FirewallArgs => FirewallInputs {
            /// The GCP name (default: derived).
            name: Option<String>,
            /// The network's name.
            network: String,
            /// `INGRESS` (default) or `EGRESS`.
            direction: Option<String>,
            /// Priority (default 1000).
            priority: Option<i32>,
            /// Allowed protocol → ports, e.g. `{"tcp": ["22"]}`.
            allowed: BTreeMap<String, Vec<String>>,
            /// Source ranges (ingress).
            source_ranges: Vec<String>,
            /// Instances (by network tag) it applies to.
            target_tags: Vec<String>,
        }
        outputs FirewallOutputs {
            /// The GCP name.
            name: String,
        }
    }
}

mkso::resource! {
    /// A VM instance (`gcp:compute:Instance`). Labels change in place; zone,
    /// machine type, image and network replace it.
    pub struct Instance("gcp:compute:Instance") {
        args InstanceArgs => InstanceInputs {
            /// The GCP name (default: derived).
            name: Option<String>,
            /// The zone (default: `gcp:zone`).
            zone: Option<String>,
            /// The machine type, e.g. `e2-small`.
            machine_type: String,
            /// The boot image, e.g. `projects/debian-cloud/global/images/family/debian-12`.
            source_image: String,
            /// The network's name.
            network: String,
            /// The subnetwork's name (custom-mode networks).
            subnetwork: Option<String>,
            /// Network tags (firewalls select on them).
            tags: Vec<String>,
            /// The instance's own labels (mkso adds stack and environment).
            labels: BTreeMap<String, String>,
        }
        outputs InstanceOutputs {
            /// The GCP name.
            name: String,
            /// Its zone.
            zone: String,
        }
    }
}

mkso::resource! {
    /// A persistent disk (`gcp:compute:Disk`). Labels change in place.
    pub struct Disk("gcp:compute:Disk") {
        args DiskArgs => DiskInputs {
            /// The GCP name (default: derived).
            name: Option<String>,
            /// The zone (default: `gcp:zone`).
            zone: Option<String>,
            /// Size in GB.
            size_gb: i64,
            /// A source image, if any.
            source_image: Option<String>,
            /// The disk's own labels (mkso adds stack and environment).
            labels: BTreeMap<String, String>,
        }
        outputs DiskOutputs {
            /// The GCP name.
            name: String,
            /// Its zone.
            zone: String,
        }
    }
}

/// One provider call on one resource.
pub(crate) struct Call<'a> {
    pub p: &'a GcpProvider,
    pub c: &'a Clients,
    pub identity: &'a ResourceIdentity,
}

impl<'a> Call<'a> {
    pub(crate) fn new(p: &'a GcpProvider, c: &'a Clients, identity: &'a ResourceIdentity) -> Self {
        Call { p, c, identity }
    }

    fn project(&self) -> &str {
        &self.p.config.project
    }

    /// The GCP name: given, or the mkso name sanitised plus a stable suffix.
    fn name(&self, given: &Option<String>) -> String {
        given.clone().unwrap_or_else(|| derived_name(self.identity))
    }

    /// What the description records: the owner.
    fn description(&self) -> String {
        format!("managed by mkso; mkso:urn={}", self.identity.urn)
    }

    /// Whether a resource found by name is this one: its description records
    /// the URN, or (labelled types) its `mkso-urn` label holds the URN's hash.
    fn owned(&self, got: &Got) -> bool {
        got.description
            .as_deref()
            .is_some_and(|d| d.ends_with(&format!("mkso:urn={}", self.identity.urn)))
            || got.urn_label.as_deref() == Some(urn_label(self.identity).as_str())
    }

    fn labels(&self, own: &BTreeMap<String, String>) -> HashMap<String, String> {
        let mut l: HashMap<String, String> =
            own.iter().map(|(k, v)| (label(k), label(v))).collect();
        l.insert("mkso-stack".into(), label(self.identity.stack.as_str()));
        l.insert(
            "environment".into(),
            label(self.identity.stack.environment()),
        );
        l.insert("mkso-urn".into(), urn_label(self.identity));
        l
    }

    fn err(
        &self,
        op: &'static str,
    ) -> impl FnOnce(google_cloud_compute_v1::Error) -> ProviderError + '_ {
        move |e| {
            classify(
                e,
                &format!("{op} of `{}`", self.identity.name()),
                self.p.endpoint(),
            )
        }
    }

    /// Runs a long-running operation to its end: a failed call and an
    /// operation that finished with errors are both errors.
    async fn wait(
        &self,
        what: &'static str,
        poller: impl Poller<Operation, Operation>,
    ) -> Result<(), ProviderError> {
        let op = poller.until_done().await.map_err(self.err(what))?;
        done(op, what)
    }

    fn taken(&self, kind: &str, name: &str) -> ProviderError {
        ProviderError::permanent(format!(
            "the {kind} name `{name}` is taken by a resource mkso does not own (its description does not record {}): choose another `name`, or adopt it with the import option",
            self.identity.urn
        ))
        .with_code("alreadyExists")
    }
}

/// The derived GCP name: lowercase, `[a-z0-9-]`, at most 63 characters,
/// ending in a suffix from the stack and URN (stable across runs).
pub fn derived_name(identity: &ResourceIdentity) -> String {
    let suffix = format!(
        "{:08x}",
        crc32fast::hash(format!("{}|{}", identity.stack, identity.urn).as_bytes())
    );
    let mut base: String = identity
        .name()
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    if !base.starts_with(|c: char| c.is_ascii_lowercase()) {
        base = format!("m-{base}");
    }
    base.truncate(63 - 9);
    let base = base.trim_end_matches('-');
    format!("{base}-{suffix}")
}

/// The `mkso-urn` label: a stable hash of the URN (labels are too short for it).
fn urn_label(identity: &ResourceIdentity) -> String {
    format!("{:08x}", crc32fast::hash(identity.urn.as_str().as_bytes()))
}

/// Labels mkso sets itself (not part of a resource's `labels` input).
const MANAGED_LABELS: &[&str] = &["mkso-stack", "environment", "mkso-urn"];

/// A label key or value: lowercase, `[a-z0-9_-]`, at most 63 characters.
fn label(s: &str) -> String {
    let mut l: String = s
        .to_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    l.truncate(63);
    l
}

/// Whether an answer is a throttling one: HTTP 429, `rateLimitExceeded` (or
/// `userRateLimitExceeded`, sometimes sent with 403), `RESOURCE_EXHAUSTED`.
fn is_throttling(status: Option<u16>, code: Option<&str>, text: &str) -> bool {
    status == Some(429)
        || code == Some("RESOURCE_EXHAUSTED")
        || text.contains("rateLimitExceeded")
        || text.contains("RateLimitExceeded")
        || text.contains("RATE_LIMIT_EXCEEDED")
}

/// A `Retry-After` header's delay (whole seconds; the date form is ignored).
fn retry_after(e: &google_cloud_compute_v1::Error) -> Option<std::time::Duration> {
    e.http_headers()?
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(std::time::Duration::from_secs)
}

/// Classifies a client error: 429, 5xx and transport errors are retryable
/// (429, `rateLimitExceeded` and `RESOURCE_EXHAUSTED` as throttling); 404 is
/// not-found; `resourceInUseByAnotherResource` is retried; 400/403 are
/// permanent with the API's reason and message.
fn classify(e: google_cloud_compute_v1::Error, what: &str, endpoint: &str) -> ProviderError {
    if e.is_connect() {
        return ProviderError::retryable(format!(
            "{what}: cannot reach the Compute Engine endpoint {endpoint}: {e}"
        ))
        .unsent();
    }
    if e.is_timeout() || e.is_io() || e.is_transport() {
        return ProviderError::retryable(format!("{what}: {e}"));
    }
    if e.is_authentication() {
        return ProviderError::permanent(format!(
            "{what}: no usable Google credentials: set up Application Default Credentials (`gcloud auth application-default login`) or `gcp:credentials: anonymous` for an emulator ({e})"
        ))
        .unsent();
    }
    let code = e.http_status_code();
    let message = e
        .status()
        .map(|s| s.message.clone())
        .unwrap_or_else(|| e.to_string());
    let text = format!("{what}: {message}");
    let status_code = e.status().map(|s| s.code.name());
    if is_throttling(code, status_code, &format!("{text} {e:?}")) {
        let err = ProviderError::throttled(text);
        let err = match retry_after(&e) {
            Some(d) => err.with_retry_after(d),
            None => err,
        };
        return match code {
            Some(c) => err.with_code(format!("HTTP {c}")),
            None => err,
        };
    }
    let in_use = text.contains("resourceInUseByAnotherResource")
        || text.contains("is already being used by");
    let err = match code {
        Some(404) => ProviderError::not_found(text),
        Some(429) => ProviderError::retryable(text),
        Some(c) if c >= 500 => ProviderError::retryable(text),
        _ if in_use => ProviderError::retryable(text),
        _ => ProviderError::permanent(text),
    };
    match code {
        Some(c) => err.with_code(format!("HTTP {c}")),
        None => err,
    }
}

/// Fails on an operation that finished with errors.
fn done(op: Operation, what: &str) -> Result<(), ProviderError> {
    if let Some(err) = op.error {
        let msgs: Vec<String> = err
            .errors
            .iter()
            .map(|e| {
                format!(
                    "{}: {}",
                    e.code.clone().unwrap_or_default(),
                    e.message.clone().unwrap_or_default()
                )
            })
            .collect();
        let text = format!("{what}: {}", msgs.join("; "));
        return Err(if text.contains("resourceInUseByAnotherResource") {
            ProviderError::retryable(text)
        } else {
            ProviderError::permanent(text)
        });
    }
    Ok(())
}

fn parse<T: DeserializeOwned>(v: &Value, t: &str) -> Result<T, ProviderError> {
    serde_json::from_value(v.clone())
        .map_err(|e| ProviderError::permanent(format!("inputs of {t} do not fit: {e}")))
}

fn with_fields(recorded: &Value, fields: Value) -> Value {
    let mut out = recorded.as_object().cloned().unwrap_or_default();
    if let Value::Object(f) = fields {
        out.extend(f);
    }
    Value::Object(out)
}

/// Splits `location/name` (a bare name uses `default`).
fn split<'s>(id: &'s str, default: &'s str) -> (&'s str, &'s str) {
    id.split_once('/').unwrap_or((default, id))
}

/// The last path segment of a URL or path (gcplocal's selfLinks drop the port:
/// match by name, never follow them).
fn last(s: Option<&str>) -> String {
    s.map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
        .unwrap_or_default()
}

fn replace_keys(t: &str) -> &'static [&'static str] {
    match t {
        Network::TYPE => &["name", "auto_create_subnetworks"],
        Subnetwork::TYPE => &["name", "network", "region", "ip_cidr_range"],
        Firewall::TYPE => &["name", "network", "direction"],
        Instance::TYPE => &[
            "name",
            "zone",
            "machine_type",
            "source_image",
            "network",
            "subnetwork",
            "tags",
        ],
        Disk::TYPE => &["name", "zone", "size_gb", "source_image"],
        _ => &[],
    }
}

pub(crate) fn diff(req: &DiffRequest) -> DiffResponse {
    let mut d = diff_inputs(
        &req.old_inputs,
        &req.new_inputs,
        replace_keys(&req.identity.type_token),
    );
    if d.replace.is_empty() {
        d.planned_outputs = Some(req.old_outputs.clone());
    }
    d
}

pub(crate) fn check(t: &str, inputs: &Value) -> Vec<(String, String)> {
    let mut f = Vec::new();
    if let Some(n) = inputs.get("name").and_then(Value::as_str)
        && n != mkso::output::UNKNOWN
    {
        let ok = n.len() <= 63
            && n.starts_with(|c: char| c.is_ascii_lowercase())
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !n.ends_with('-');
        if !ok {
            f.push(("name".into(), format!("`{n}` is not a GCP name: lowercase letters, digits and `-`, starting with a letter, at most 63")));
        }
    }
    if t == Subnetwork::TYPE
        && let Some(r) = inputs.get("ip_cidr_range").and_then(Value::as_str)
        && r != mkso::output::UNKNOWN
    {
        let valid = r.split_once('/').is_some_and(|(ip, l)| {
            ip.parse::<std::net::Ipv4Addr>().is_ok() && l.parse::<u8>().is_ok_and(|l| l <= 29)
        });
        if !valid {
            f.push((
                "ip_cidr_range".into(),
                format!("`{r}` is not an IPv4 range such as 10.0.1.0/24"),
            ));
        }
    }
    if t == Firewall::TYPE
        && let Some(d) = inputs.get("direction").and_then(Value::as_str)
        && !matches!(d, "INGRESS" | "EGRESS")
        && d != mkso::output::UNKNOWN
    {
        f.push((
            "direction".into(),
            format!("`{d}` is not INGRESS or EGRESS"),
        ));
    }
    f
}

// ---- dispatch ----

pub(crate) async fn create(
    call: &Call<'_>,
    inputs: &Value,
) -> Result<CreateResponse, ProviderError> {
    let t = call.identity.type_token.as_str();
    match t {
        Network::TYPE => create_network(call, parse(inputs, t)?).await,
        Subnetwork::TYPE => create_subnetwork(call, parse(inputs, t)?).await,
        Firewall::TYPE => create_firewall(call, parse(inputs, t)?).await,
        Instance::TYPE => create_instance(call, parse(inputs, t)?).await,
        Disk::TYPE => create_disk(call, parse(inputs, t)?).await,
        _ => Err(unknown(t)),
    }
}

fn unknown(t: &str) -> ProviderError {
    ProviderError::permanent(format!("the gcp provider has no resource type `{t}`"))
}

/// The id a create would give, for looking an interrupted create up.
fn intended_id(call: &Call<'_>, inputs: &Value) -> Result<String, ProviderError> {
    let t = call.identity.type_token.as_str();
    let name: Option<String> = inputs.get("name").and_then(Value::as_str).map(String::from);
    let name = call.name(&name);
    let cfg = &call.p.config;
    let loc = |k: &str, d: &str| {
        inputs
            .get(k)
            .and_then(Value::as_str)
            .unwrap_or(d)
            .to_string()
    };
    Ok(match t {
        Network::TYPE | Firewall::TYPE => name,
        Subnetwork::TYPE => format!("{}/{name}", loc("region", &cfg.region)),
        Instance::TYPE | Disk::TYPE => format!("{}/{name}", loc("zone", &cfg.zone)),
        _ => return Err(unknown(t)),
    })
}

/// Finds the resource by its intended name; adopts it only when its
/// description records this URN, and refuses a name taken by anything else.
pub(crate) async fn find(
    call: &Call<'_>,
    inputs: &Value,
) -> Result<Option<CreateResponse>, ProviderError> {
    let id = intended_id(call, inputs)?;
    let got = match get(call, &id).await {
        Ok(g) => g,
        Err(e) if e.class == mkso::ErrorClass::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if !call.owned(&got) {
        return Err(call.taken(call.identity.type_token.as_str(), split(&id, "").1));
    }
    Ok(Some(CreateResponse {
        id,
        outputs: got.outputs,
    }))
}

struct Got {
    description: Option<String>,
    urn_label: Option<String>,
    inputs: Value,
    outputs: Value,
}

async fn get(call: &Call<'_>, id: &str) -> Result<Got, ProviderError> {
    let cfg = &call.p.config;
    let p = call.project();
    match call.identity.type_token.as_str() {
        Network::TYPE => {
            let n = call
                .c
                .networks
                .get()
                .set_project(p)
                .set_network(id)
                .send()
                .await
                .map_err(call.err("networks.get"))?;
            Ok(Got {
                urn_label: None,
                description: n.description.clone(),
                inputs: json!({"name": n.name, "auto_create_subnetworks": n.auto_create_subnetworks.unwrap_or(false)}),
                outputs: json!({"name": n.name}),
            })
        }
        Subnetwork::TYPE => {
            let (region, name) = split(id, &cfg.region);
            let s = call
                .c
                .subnetworks
                .get()
                .set_project(p)
                .set_region(region)
                .set_subnetwork(name)
                .send()
                .await
                .map_err(call.err("subnetworks.get"))?;
            Ok(Got {
                urn_label: None,
                description: s.description.clone(),
                inputs: json!({"name": s.name, "network": last(s.network.as_deref()), "ip_cidr_range": s.ip_cidr_range}),
                outputs: json!({"name": s.name, "region": region}),
            })
        }
        Firewall::TYPE => {
            let f = call
                .c
                .firewalls
                .get()
                .set_project(p)
                .set_firewall(id)
                .send()
                .await
                .map_err(call.err("firewalls.get"))?;
            let allowed: BTreeMap<String, Vec<String>> = f
                .allowed
                .iter()
                .map(|a| (a.ip_protocol.clone().unwrap_or_default(), a.ports.clone()))
                .collect();
            Ok(Got {
                urn_label: None,
                description: f.description.clone(),
                inputs: json!({"name": f.name, "network": last(f.network.as_deref()),
                    "allowed": allowed,
                    "source_ranges": f.source_ranges,
                    "target_tags": f.target_tags,
                }),
                outputs: json!({"name": f.name}),
            })
        }
        Instance::TYPE => {
            let (zone, name) = split(id, &cfg.zone);
            let i = call
                .c
                .instances
                .get()
                .set_project(p)
                .set_zone(zone)
                .set_instance(name)
                .send()
                .await
                .map_err(call.err("instances.get"))?;
            let own: BTreeMap<String, String> = i
                .labels
                .iter()
                .filter(|(k, _)| !MANAGED_LABELS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Got {
                urn_label: i.labels.get("mkso-urn").cloned(),
                description: i.description.clone(),
                inputs: json!({"name": i.name, "labels": own, "machine_type": last(i.machine_type.as_deref())}),
                outputs: json!({"name": i.name, "zone": zone}),
            })
        }
        Disk::TYPE => {
            let (zone, name) = split(id, &cfg.zone);
            let d = call
                .c
                .disks
                .get()
                .set_project(p)
                .set_zone(zone)
                .set_disk(name)
                .send()
                .await
                .map_err(call.err("disks.get"))?;
            let own: BTreeMap<String, String> = d
                .labels
                .iter()
                .filter(|(k, _)| !MANAGED_LABELS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            Ok(Got {
                urn_label: d.labels.get("mkso-urn").cloned(),
                description: d.description.clone(),
                inputs: json!({"name": d.name, "labels": own, "size_gb": d.size_gb}),
                outputs: json!({"name": d.name, "zone": zone}),
            })
        }
        t => Err(unknown(t)),
    }
}

pub(crate) async fn read(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let g = get(call, id).await?;
    let mut fields = g.inputs;
    if let Some(o) = fields.as_object_mut() {
        // A derived name stays unset in the inputs, as the program has it.
        if recorded.get("name").is_some_and(Value::is_null) {
            o.remove("name");
        }
        // Keep what the cloud does not report as recorded.
        o.retain(|k, v| !(v.is_null() && recorded.get(k).is_some()));
    }
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(recorded, fields)),
        outputs: g.outputs,
    })
}

pub(crate) async fn update(
    call: &Call<'_>,
    req: &UpdateRequest,
) -> Result<UpdateResponse, ProviderError> {
    let t = req.identity.type_token.as_str();
    let cfg = &call.p.config;
    let p = call.project();
    match t {
        Firewall::TYPE => {
            let n: FirewallInputs = parse(&req.new_inputs, t)?;
            let body = firewall_body(call, &n, &req.id);
            call.wait(
                "firewalls.patch",
                call.c
                    .firewalls
                    .patch()
                    .set_project(p)
                    .set_firewall(&req.id)
                    .set_body(body)
                    .poller(),
            )
            .await?;
        }
        Instance::TYPE => {
            let n: InstanceInputs = parse(&req.new_inputs, t)?;
            let (zone, name) = split(&req.id, &cfg.zone);
            let cur = call
                .c
                .instances
                .get()
                .set_project(p)
                .set_zone(zone)
                .set_instance(name)
                .send()
                .await
                .map_err(call.err("instances.get"))?;
            let body = model::InstancesSetLabelsRequest::new()
                .set_labels(call.labels(&n.labels))
                .set_or_clear_label_fingerprint(cur.label_fingerprint);
            call.wait(
                "instances.setLabels",
                call.c
                    .instances
                    .set_labels()
                    .set_project(p)
                    .set_zone(zone)
                    .set_instance(name)
                    .set_body(body)
                    .poller(),
            )
            .await?;
        }
        Disk::TYPE => {
            let n: DiskInputs = parse(&req.new_inputs, t)?;
            let (zone, name) = split(&req.id, &cfg.zone);
            let cur = call
                .c
                .disks
                .get()
                .set_project(p)
                .set_zone(zone)
                .set_disk(name)
                .send()
                .await
                .map_err(call.err("disks.get"))?;
            let body = model::ZoneSetLabelsRequest::new()
                .set_labels(call.labels(&n.labels))
                .set_or_clear_label_fingerprint(cur.label_fingerprint);
            call.wait(
                "disks.setLabels",
                call.c
                    .disks
                    .set_labels()
                    .set_project(p)
                    .set_zone(zone)
                    .set_resource(name)
                    .set_body(body)
                    .poller(),
            )
            .await?;
        }
        _ => {}
    }
    Ok(UpdateResponse {
        outputs: req.old_outputs.clone(),
    })
}

pub(crate) async fn delete(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    let cfg = &call.p.config;
    let p = call.project();
    let c = call.c;
    match call.identity.type_token.as_str() {
        Network::TYPE => {
            let d = c.networks.delete().set_project(p).set_network(id);
            call.wait("networks.delete", d.poller()).await
        }
        Subnetwork::TYPE => {
            let (region, name) = split(id, &cfg.region);
            let d = c
                .subnetworks
                .delete()
                .set_project(p)
                .set_region(region)
                .set_subnetwork(name);
            call.wait("subnetworks.delete", d.poller()).await
        }
        Firewall::TYPE => {
            let d = c.firewalls.delete().set_project(p).set_firewall(id);
            call.wait("firewalls.delete", d.poller()).await
        }
        Instance::TYPE => {
            let (zone, name) = split(id, &cfg.zone);
            let d = c
                .instances
                .delete()
                .set_project(p)
                .set_zone(zone)
                .set_instance(name);
            call.wait("instances.delete", d.poller()).await
        }
        Disk::TYPE => {
            let (zone, name) = split(id, &cfg.zone);
            let d = c
                .disks
                .delete()
                .set_project(p)
                .set_zone(zone)
                .set_disk(name);
            call.wait("disks.delete", d.poller()).await
        }
        t => Err(unknown(t)),
    }
}

// ---- creates ----

async fn create_network(
    call: &Call<'_>,
    i: NetworkInputs,
) -> Result<CreateResponse, ProviderError> {
    let name = call.name(&i.name);
    let mut body = model::Network::new();
    body.name = Some(name.clone());
    body.description = Some(call.description());
    body.auto_create_subnetworks = Some(i.auto_create_subnetworks);
    call.wait(
        "networks.insert",
        call.c
            .networks
            .insert()
            .set_project(call.project())
            .set_body(body)
            .poller(),
    )
    .await?;
    Ok(CreateResponse {
        outputs: json!({"name": name}),
        id: name,
    })
}

async fn create_subnetwork(
    call: &Call<'_>,
    i: SubnetworkInputs,
) -> Result<CreateResponse, ProviderError> {
    let name = call.name(&i.name);
    let region = i
        .region
        .clone()
        .unwrap_or_else(|| call.p.config.region.clone());
    let mut body = model::Subnetwork::new();
    body.name = Some(name.clone());
    body.description = Some(call.description());
    body.ip_cidr_range = Some(i.ip_cidr_range.clone());
    body.network = Some(format!(
        "projects/{}/global/networks/{}",
        call.project(),
        i.network
    ));
    body.region = Some(region.clone());
    call.wait(
        "subnetworks.insert",
        call.c
            .subnetworks
            .insert()
            .set_project(call.project())
            .set_region(&region)
            .set_body(body)
            .poller(),
    )
    .await?;
    Ok(CreateResponse {
        outputs: json!({"name": name, "region": region}),
        id: format!("{region}/{name}"),
    })
}

fn firewall_body(call: &Call<'_>, i: &FirewallInputs, name: &str) -> model::Firewall {
    let mut body = model::Firewall::new();
    body.name = Some(name.to_string());
    body.description = Some(call.description());
    body.network = Some(format!(
        "projects/{}/global/networks/{}",
        call.project(),
        i.network
    ));
    body.direction = Some(match i.direction.as_deref() {
        Some("EGRESS") => model::firewall::Direction::Egress,
        _ => model::firewall::Direction::Ingress,
    });
    body.priority = Some(i.priority.unwrap_or(1000));
    body.allowed = i
        .allowed
        .iter()
        .map(|(proto, ports)| {
            let mut a = model::firewall::Allowed::new();
            a.ip_protocol = Some(proto.clone());
            a.ports = ports.clone();
            a
        })
        .collect();
    body.source_ranges = i.source_ranges.clone();
    body.target_tags = i.target_tags.clone();
    body
}

async fn create_firewall(
    call: &Call<'_>,
    i: FirewallInputs,
) -> Result<CreateResponse, ProviderError> {
    let name = call.name(&i.name);
    let body = firewall_body(call, &i, &name);
    call.wait(
        "firewalls.insert",
        call.c
            .firewalls
            .insert()
            .set_project(call.project())
            .set_body(body)
            .poller(),
    )
    .await?;
    Ok(CreateResponse {
        outputs: json!({"name": name}),
        id: name,
    })
}

async fn create_instance(
    call: &Call<'_>,
    i: InstanceInputs,
) -> Result<CreateResponse, ProviderError> {
    let name = call.name(&i.name);
    let zone = i.zone.clone().unwrap_or_else(|| call.p.config.zone.clone());
    let p = call.project();
    let mut body = model::Instance::new();
    body.name = Some(name.clone());
    body.description = Some(call.description());
    body.machine_type = Some(format!("zones/{zone}/machineTypes/{}", i.machine_type));
    body.labels = call.labels(&i.labels);
    let mut init = model::AttachedDiskInitializeParams::new();
    init.source_image = Some(i.source_image.clone());
    let mut disk = model::AttachedDisk::new();
    disk.boot = Some(true);
    disk.auto_delete = Some(true);
    disk.initialize_params = Some(init);
    body.disks = vec![disk];
    let mut nic = model::NetworkInterface::new();
    nic.network = Some(format!("projects/{p}/global/networks/{}", i.network));
    let region = zone
        .rsplit_once('-')
        .map(|(r, _)| r.to_string())
        .unwrap_or_else(|| call.p.config.region.clone());
    nic.subnetwork = i
        .subnetwork
        .as_ref()
        .map(|s| format!("projects/{p}/regions/{region}/subnetworks/{s}"));
    body.network_interfaces = vec![nic];
    if !i.tags.is_empty() {
        let mut tags = model::Tags::new();
        tags.items = i.tags.clone();
        body.tags = Some(tags);
    }
    call.wait(
        "instances.insert",
        call.c
            .instances
            .insert()
            .set_project(p)
            .set_zone(&zone)
            .set_body(body)
            .poller(),
    )
    .await?;
    Ok(CreateResponse {
        outputs: json!({"name": name, "zone": zone}),
        id: format!("{zone}/{name}"),
    })
}

async fn create_disk(call: &Call<'_>, i: DiskInputs) -> Result<CreateResponse, ProviderError> {
    let name = call.name(&i.name);
    let zone = i.zone.clone().unwrap_or_else(|| call.p.config.zone.clone());
    let mut body = model::Disk::new();
    body.name = Some(name.clone());
    body.description = Some(call.description());
    body.size_gb = Some(i.size_gb);
    body.source_image = i.source_image.clone();
    body.labels = call.labels(&i.labels);
    call.wait(
        "disks.insert",
        call.c
            .disks
            .insert()
            .set_project(call.project())
            .set_zone(&zone)
            .set_body(body)
            .poller(),
    )
    .await?;
    Ok(CreateResponse {
        outputs: json!({"name": name, "zone": zone}),
        id: format!("{zone}/{name}"),
    })
}

#[cfg(test)]
mod throttling_tests {
    use super::is_throttling;

    #[test]
    fn throttling_answers_are_recognised() {
        assert!(is_throttling(
            Some(429),
            None,
            "create: Rate Limit Exceeded"
        ));
        assert!(is_throttling(
            Some(403),
            None,
            "create: Rate Limit Exceeded (reason: rateLimitExceeded)"
        ));
        assert!(is_throttling(Some(429), Some("RESOURCE_EXHAUSTED"), ""));
        assert!(is_throttling(None, Some("RESOURCE_EXHAUSTED"), ""));
        assert!(!is_throttling(Some(403), None, "create: quotaExceeded"));
        assert!(!is_throttling(
            Some(503),
            Some("UNAVAILABLE"),
            "backend error"
        ));
    }
}
