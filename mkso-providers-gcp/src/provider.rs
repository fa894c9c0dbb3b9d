//! `GcpProvider`: the Compute Engine resource types registered in a typed
//! provider over one set of clients per provider instance (project, region,
//! zone, endpoint).

use std::sync::Arc;

use async_trait::async_trait;
use google_cloud_compute_v1::client::{Disks, Firewalls, Instances, Networks, Subnetworks};
use mkso::provider::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffRequest,
    DiffResponse, FindRequest, Provider, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse,
};
use mkso::typed::{ProviderState, TypedProvider};
use mkso::{ProviderError, Stack};
use serde::Deserialize;

use crate::resources;

/// Provider configuration, read from the stack's `gcp:` keys.
#[derive(Debug, Clone, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GcpConfig {
    /// The project id.
    pub project: String,
    /// The default region (subnetworks).
    pub region: String,
    /// The default zone (instances, disks).
    pub zone: String,
    /// An endpoint such as `http://127.0.0.1:PORT` (an emulator).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// `anonymous` (emulators) or `adc` (default: Application Default Credentials).
    #[serde(default)]
    pub credentials: Option<String>,
}

pub(crate) struct Clients {
    pub networks: Networks,
    pub subnetworks: Subnetworks,
    pub firewalls: Firewalls,
    pub instances: Instances,
    pub disks: Disks,
}

/// The provider of the `gcp` package; see the crate docs.
#[derive(Debug)]
pub struct GcpProvider {
    inner: TypedProvider<GcpState>,
}

/// What every Compute Engine call of one provider instance shares: its
/// config and clients (created on first use).
pub struct GcpState {
    pub(crate) config: GcpConfig,
    clients: tokio::sync::OnceCell<Result<Clients, String>>,
}

impl std::fmt::Debug for GcpState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpState")
            .field("project", &self.config.project)
            .field("endpoint", &self.config.endpoint)
            .finish()
    }
}

/// GCP labels are set per resource type (`instances.setLabels`,
/// `disks.setLabels`, each with its fingerprint), not by one provider-wide
/// call: the labelled types implement their own update.
impl ProviderState for GcpState {}

impl GcpProvider {
    /// A provider from the stack's `gcp:` config.
    pub fn from_stack(stack: &Stack) -> Result<Arc<dyn Provider>, mkso::Error> {
        let cfg: GcpConfig = stack.config("gcp")?;
        Ok(Arc::new(Self::new(cfg)?))
    }

    /// A provider from explicit settings.
    pub fn new(config: GcpConfig) -> Result<Self, mkso::Error> {
        for (k, v) in [
            ("project", &config.project),
            ("region", &config.region),
            ("zone", &config.zone),
        ] {
            if v.trim().is_empty() {
                return Err(mkso::Error::program(format!(
                    "config key `gcp:{k}` is empty"
                )));
            }
        }
        match config.credentials.as_deref() {
            None | Some("anonymous") | Some("adc") => {}
            Some(other) => {
                return Err(mkso::Error::program(format!(
                    "config key `gcp:credentials` is `{other}`: use `anonymous` (emulators) or `adc` (Application Default Credentials)"
                )));
            }
        }
        let state = GcpState {
            config,
            clients: tokio::sync::OnceCell::new(),
        };
        Ok(GcpProvider {
            inner: resources::register(TypedProvider::builder("gcp", state)).build(),
        })
    }

    /// The resource types it serves.
    pub fn types(&self) -> Vec<&'static str> {
        self.inner.types()
    }
}

impl GcpState {
    /// The Compute Engine endpoint the clients call.
    pub(crate) fn endpoint(&self) -> &str {
        self.config
            .endpoint
            .as_deref()
            .unwrap_or("https://compute.googleapis.com")
    }

    pub(crate) async fn clients(&self) -> Result<&Clients, ProviderError> {
        let r = self
            .clients
            .get_or_init(|| async {
                macro_rules! build {
                    ($t:ty) => {{
                        // mkso's engine retries (with backoff and events): the
                        // client's own retries would multiply them.
                        let mut b = <$t>::builder()
                            .with_retry_policy(google_cloud_gax::retry_policy::NeverRetry);
                        if let Some(e) = &self.config.endpoint {
                            b = b.with_endpoint(e.clone());
                        }
                        if self.config.credentials.as_deref() == Some("anonymous") {
                            b = b.with_credentials(
                                google_cloud_auth::credentials::anonymous::Builder::new().build(),
                            );
                        }
                        b.build()
                            .await
                            .map_err(|e| format!("cannot create the Compute Engine client: {e}"))?
                    }};
                }
                Ok(Clients {
                    networks: build!(Networks),
                    subnetworks: build!(Subnetworks),
                    firewalls: build!(Firewalls),
                    instances: build!(Instances),
                    disks: build!(Disks),
                })
            })
            .await;
        r.as_ref().map_err(|e| ProviderError::permanent(e.clone()))
    }
}

#[async_trait]
impl Provider for GcpProvider {
    fn package(&self) -> &str {
        self.inner.package()
    }
    fn secret_outputs(&self, type_token: &str) -> Option<&'static [&'static str]> {
        self.inner.secret_outputs(type_token)
    }
    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        self.inner.check(req).await
    }
    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        self.inner.diff(req).await
    }
    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        self.inner.create(req).await
    }
    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        self.inner.read(req).await
    }
    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        self.inner.update(req).await
    }
    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        self.inner.delete(req).await
    }
    async fn find(&self, req: FindRequest) -> Result<Option<CreateResponse>, ProviderError> {
        self.inner.find(req).await
    }
}
