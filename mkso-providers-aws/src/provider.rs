//! `AwsProvider`: one EC2 client per provider instance (region, endpoint).

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region};
use aws_sdk_ec2::Client;
use aws_sdk_ec2::config::retry::RetryConfig;
use mkso::ProviderError;
use mkso::Stack;
use mkso::provider::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffRequest,
    DiffResponse, FindRequest, Provider, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse,
};

use crate::config::AwsConfig;
use crate::resources;

/// The provider of the `aws` package; see the crate docs.
pub struct AwsProvider {
    pub(crate) config: AwsConfig,
    pub(crate) endpoint: String,
    client: tokio::sync::OnceCell<Client>,
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsProvider")
            .field("region", &self.config.region)
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl AwsProvider {
    /// A provider from the stack's `aws:` config.
    pub fn from_stack(stack: &Stack) -> Result<Arc<dyn Provider>, mkso::Error> {
        let cfg: AwsConfig = stack.config("aws")?;
        Ok(Arc::new(Self::new(cfg)?))
    }

    /// A provider from explicit settings.
    pub fn new(config: AwsConfig) -> Result<Self, mkso::Error> {
        if config.region.trim().is_empty() {
            return Err(mkso::Error::program(
                "config key `aws:region` is empty: set it to a region such as `eu-west-1`",
            ));
        }
        let endpoint = config
            .endpoint
            .clone()
            .or_else(|| {
                std::env::var("AWS_ENDPOINT_URL")
                    .ok()
                    .filter(|s| !s.is_empty())
            })
            .unwrap_or_else(|| format!("https://ec2.{}.amazonaws.com", config.region));
        Ok(AwsProvider {
            config,
            endpoint,
            client: tokio::sync::OnceCell::new(),
        })
    }

    /// The EC2 client (created on first use, from the standard credential chain).
    pub async fn client(&self) -> &Client {
        self.client
            .get_or_init(|| async {
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .region(Region::new(self.config.region.clone()));
                if let Some(e) = &self.config.endpoint {
                    loader = loader.endpoint_url(e);
                }
                let sdk = loader.load().await;
                // mkso's engine retries (with backoff, tenacity and events):
                // the SDK's own retries would multiply them.
                let conf = aws_sdk_ec2::config::Builder::from(&sdk)
                    .retry_config(RetryConfig::disabled())
                    .build();
                Client::from_conf(conf)
            })
            .await
    }
}

#[async_trait]
impl Provider for AwsProvider {
    fn package(&self) -> &str {
        "aws"
    }

    async fn check(&self, req: CheckRequest) -> Result<CheckResponse, ProviderError> {
        Ok(CheckResponse {
            failures: resources::check(&req.identity.type_token, &req.inputs),
        })
    }

    async fn diff(&self, req: DiffRequest) -> Result<DiffResponse, ProviderError> {
        resources::diff(&req)
    }

    async fn create(&self, req: CreateRequest) -> Result<CreateResponse, ProviderError> {
        let c = self.client().await;
        let call = resources::Call::new(self, c, &req.identity);
        let found = resources::find(&call, &req.inputs)
            .await?
            .filter(|f| !req.exclude_ids.contains(&f.id));
        let Some(found) = found else {
            // A not-found right after a create is EC2's eventual consistency:
            // retrying is safe, since a retry first adopts what is tagged.
            return resources::create(&call, &req.inputs).await.map_err(|e| {
                if e.class == mkso::ErrorClass::NotFound {
                    ProviderError::retryable(format!("{} (read after create; retrying)", e.message))
                } else {
                    e
                }
            });
        };
        // Adopt the resource already tagged with this urn (an interrupted
        // create), made to match the program.
        tracing::info!(urn = %req.identity.urn, id = %found.id, "adopting the resource tagged with this urn");
        let actual = resources::read(&call, &found.id, &req.inputs).await?;
        let have = actual.inputs.clone().unwrap_or_else(|| req.inputs.clone());
        let d = resources::diff(&DiffRequest {
            identity: req.identity.clone(),
            id: found.id.clone(),
            old_inputs: have.clone(),
            old_outputs: actual.outputs.clone(),
            new_inputs: req.inputs.clone(),
        })?;
        if !d.replace.is_empty() {
            return Err(ProviderError::permanent(format!(
                "{} {} is already tagged with this resource's urn but differs in {}, which cannot change in place: delete it, or adopt it with the import option after matching the program to it",
                req.identity.type_token,
                found.id,
                d.replace.join(", ")
            )));
        }
        if !d.changed.is_empty() {
            let up = resources::update(
                &call,
                &UpdateRequest {
                    identity: req.identity.clone(),
                    id: found.id.clone(),
                    old_inputs: have,
                    old_outputs: actual.outputs.clone(),
                    new_inputs: req.inputs.clone(),
                    changed: d.changed,
                    labels: req.labels.clone(),
                },
            )
            .await?;
            return Ok(CreateResponse {
                id: found.id,
                outputs: up.outputs,
            });
        }
        Ok(CreateResponse {
            id: found.id,
            outputs: actual.outputs,
        })
    }

    async fn read(&self, req: ReadRequest) -> Result<ReadResponse, ProviderError> {
        let c = self.client().await;
        let call = resources::Call::new(self, c, &req.identity);
        resources::read(&call, &req.id, &req.inputs).await
    }

    async fn update(&self, req: UpdateRequest) -> Result<UpdateResponse, ProviderError> {
        let c = self.client().await;
        let call = resources::Call::new(self, c, &req.identity);
        resources::update(&call, &req).await
    }

    async fn delete(&self, req: DeleteRequest) -> Result<(), ProviderError> {
        let c = self.client().await;
        let call = resources::Call::new(self, c, &req.identity);
        resources::delete(&call, &req.id, &req.inputs).await
    }

    async fn find(&self, req: FindRequest) -> Result<Option<CreateResponse>, ProviderError> {
        let c = self.client().await;
        let call = resources::Call::new(self, c, &req.identity);
        Ok(resources::find(&call, &req.inputs)
            .await?
            .filter(|f| !req.exclude_ids.contains(&f.id)))
    }
}
