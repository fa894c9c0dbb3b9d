//! `AwsProvider`: the resource types of the enabled features registered in a
//! typed provider over one client per service and provider instance (region,
//! endpoint), each created on first use.

use std::sync::Arc;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region};
use mkso::ProviderError;
use mkso::Stack;
#[cfg(feature = "ec2")]
use mkso::provider::ResourceIdentity;
use mkso::provider::{
    CheckRequest, CheckResponse, CreateRequest, CreateResponse, DeleteRequest, DiffRequest,
    DiffResponse, FindRequest, Provider, ReadRequest, ReadResponse, UpdateRequest, UpdateResponse,
};
#[cfg(feature = "ec2")]
use mkso::typed::Tags;
use mkso::typed::{ProviderState, TypedProvider};

use crate::config::AwsConfig;
use crate::resources;

/// The provider of the `aws` package; see the crate docs.
#[derive(Debug)]
pub struct AwsProvider {
    inner: TypedProvider<AwsState>,
}

/// What every call of one provider instance shares: its config and
/// clients.
pub struct AwsState {
    pub(crate) config: AwsConfig,
    pub(crate) endpoint: String,
    #[cfg(feature = "ec2")]
    client: tokio::sync::OnceCell<aws_sdk_ec2::Client>,
    #[cfg(feature = "s3")]
    s3: tokio::sync::OnceCell<aws_sdk_s3::Client>,
    #[cfg(feature = "iam")]
    iam: tokio::sync::OnceCell<aws_sdk_iam::Client>,
    #[cfg(feature = "elbv2")]
    elbv2: tokio::sync::OnceCell<aws_sdk_elasticloadbalancingv2::Client>,
    #[cfg(feature = "rds")]
    rds: tokio::sync::OnceCell<aws_sdk_rds::Client>,
    #[cfg(feature = "route53")]
    route53: tokio::sync::OnceCell<aws_sdk_route53::Client>,
    #[cfg(feature = "autoscaling")]
    autoscaling: tokio::sync::OnceCell<aws_sdk_autoscaling::Client>,
}

impl std::fmt::Debug for AwsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsState")
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
        let state = AwsState {
            config,
            endpoint,
            #[cfg(feature = "ec2")]
            client: tokio::sync::OnceCell::new(),
            #[cfg(feature = "s3")]
            s3: tokio::sync::OnceCell::new(),
            #[cfg(feature = "iam")]
            iam: tokio::sync::OnceCell::new(),
            #[cfg(feature = "elbv2")]
            elbv2: tokio::sync::OnceCell::new(),
            #[cfg(feature = "rds")]
            rds: tokio::sync::OnceCell::new(),
            #[cfg(feature = "route53")]
            route53: tokio::sync::OnceCell::new(),
            #[cfg(feature = "autoscaling")]
            autoscaling: tokio::sync::OnceCell::new(),
        };
        Ok(AwsProvider {
            inner: resources::register(TypedProvider::builder("aws", state)).build(),
        })
    }

    /// The EC2 client (feature `ec2`; created on first use, from the
    /// standard credential chain).
    #[cfg(feature = "ec2")]
    pub async fn client(&self) -> &aws_sdk_ec2::Client {
        self.inner.state().client().await
    }

    /// The S3 client (feature `s3`).
    #[cfg(feature = "s3")]
    pub async fn s3(&self) -> &aws_sdk_s3::Client {
        self.inner.state().s3().await
    }

    /// The IAM client (feature `iam`).
    #[cfg(feature = "iam")]
    pub async fn iam(&self) -> &aws_sdk_iam::Client {
        self.inner.state().iam().await
    }

    /// The ELBv2 client (feature `elbv2`).
    #[cfg(feature = "elbv2")]
    pub async fn elbv2(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        self.inner.state().elbv2().await
    }

    /// The RDS client (feature `rds`).
    #[cfg(feature = "rds")]
    pub async fn rds(&self) -> &aws_sdk_rds::Client {
        self.inner.state().rds().await
    }

    /// The Route 53 client (feature `route53`).
    #[cfg(feature = "route53")]
    pub async fn route53(&self) -> &aws_sdk_route53::Client {
        self.inner.state().route53().await
    }

    /// The Auto Scaling client (feature `autoscaling`).
    #[cfg(feature = "autoscaling")]
    pub async fn autoscaling(&self) -> &aws_sdk_autoscaling::Client {
        self.inner.state().autoscaling().await
    }

    /// The resource types it serves.
    pub fn types(&self) -> Vec<&'static str> {
        self.inner.types()
    }
}

impl AwsState {
    /// The EC2 client (feature `ec2`; created on first use, from the
    /// standard credential chain).
    #[cfg(feature = "ec2")]
    pub async fn client(&self) -> &aws_sdk_ec2::Client {
        self.client
            .get_or_init(|| async {
                // mkso's engine retries (with backoff, tenacity and events):
                // the SDK's own retries would multiply them.
                let conf = aws_sdk_ec2::config::Builder::from(&self.sdk_config().await)
                    .retry_config(aws_sdk_ec2::config::retry::RetryConfig::disabled())
                    .build();
                aws_sdk_ec2::Client::from_conf(conf)
            })
            .await
    }

    /// The S3 client (feature `s3`; created on first use). Path-style
    /// addressing against an endpoint other than AWS's (an emulator).
    #[cfg(feature = "s3")]
    pub async fn s3(&self) -> &aws_sdk_s3::Client {
        self.s3
            .get_or_init(|| async {
                let conf = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
                    .retry_config(aws_sdk_s3::config::retry::RetryConfig::disabled())
                    .force_path_style(!self.endpoint.ends_with(".amazonaws.com"))
                    .build();
                aws_sdk_s3::Client::from_conf(conf)
            })
            .await
    }

    /// The IAM client (feature `iam`; created on first use).
    #[cfg(feature = "iam")]
    pub async fn iam(&self) -> &aws_sdk_iam::Client {
        self.iam
            .get_or_init(|| async {
                let conf = aws_sdk_iam::config::Builder::from(&self.sdk_config().await)
                    .retry_config(aws_sdk_iam::config::retry::RetryConfig::disabled())
                    .build();
                aws_sdk_iam::Client::from_conf(conf)
            })
            .await
    }

    /// The ELBv2 client (feature `elbv2`; created on first use).
    #[cfg(feature = "elbv2")]
    pub async fn elbv2(&self) -> &aws_sdk_elasticloadbalancingv2::Client {
        use aws_sdk_elasticloadbalancingv2 as sdk;
        self.elbv2
            .get_or_init(|| async {
                let conf = sdk::config::Builder::from(&self.sdk_config().await)
                    .retry_config(sdk::config::retry::RetryConfig::disabled())
                    .build();
                sdk::Client::from_conf(conf)
            })
            .await
    }

    /// The RDS client (feature `rds`; created on first use).
    #[cfg(feature = "rds")]
    pub async fn rds(&self) -> &aws_sdk_rds::Client {
        self.rds
            .get_or_init(|| async {
                let conf = aws_sdk_rds::config::Builder::from(&self.sdk_config().await)
                    .retry_config(aws_sdk_rds::config::retry::RetryConfig::disabled())
                    .build();
                aws_sdk_rds::Client::from_conf(conf)
            })
            .await
    }

    /// The Route 53 client (feature `route53`; created on first use).
    #[cfg(feature = "route53")]
    pub async fn route53(&self) -> &aws_sdk_route53::Client {
        self.route53
            .get_or_init(|| async {
                let conf = aws_sdk_route53::config::Builder::from(&self.sdk_config().await)
                    .retry_config(aws_sdk_route53::config::retry::RetryConfig::disabled())
                    .build();
                aws_sdk_route53::Client::from_conf(conf)
            })
            .await
    }

    /// The Auto Scaling client (feature `autoscaling`; created on first use).
    #[cfg(feature = "autoscaling")]
    pub async fn autoscaling(&self) -> &aws_sdk_autoscaling::Client {
        self.autoscaling
            .get_or_init(|| async {
                let conf = aws_sdk_autoscaling::config::Builder::from(&self.sdk_config().await)
                    .retry_config(aws_sdk_autoscaling::config::retry::RetryConfig::disabled())
                    .build();
                aws_sdk_autoscaling::Client::from_conf(conf)
            })
            .await
    }

    /// The SDK settings: region, endpoint, the standard credential chain.
    #[cfg_attr(not(feature = "ec2"), allow(dead_code))]
    async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(self.config.region.clone()));
        if let Some(e) = &self.config.endpoint {
            loader = loader.endpoint_url(e);
        }
        loader.load().await
    }
}

#[async_trait]
impl ProviderState for AwsState {
    /// EC2's tags (`CreateTags`/`DeleteTags`); the other services' types
    /// change their tags in their own updates.
    #[cfg(feature = "ec2")]
    async fn update_tags(
        &self,
        identity: &ResourceIdentity,
        id: &str,
        old: &Tags,
        new: &Tags,
    ) -> Result<(), ProviderError> {
        let call = resources::Call {
            p: self,
            c: self.client().await,
            identity,
        };
        call.sync_tags(id, &call.had(old), &call.tags(new)).await
    }
}

#[async_trait]
impl Provider for AwsProvider {
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
