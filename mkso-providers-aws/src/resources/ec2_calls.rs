//! What every EC2 resource type shares: one EC2 call on one resource
//! ([`call`]), the resource's tags, finding it by its `mkso:urn` tag
//! ([`by_urn`]), waiting with the SDK's waiters.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tag, TagSpecification};
use mkso::ProviderError;
use mkso::provider::ResourceIdentity;

use super::Tags;
use super::common::{Cx, Result};
use crate::error::classify;
use crate::provider::AwsState;
use crate::tags;

/// How long a waiter waits (instances, NAT gateways).
const WAIT: Duration = Duration::from_secs(600);

/// One provider call on one resource.
pub(crate) struct Call<'a> {
    pub p: &'a AwsState,
    pub c: &'a Client,
    pub identity: &'a ResourceIdentity,
}

impl<'a> Call<'a> {
    /// The call of a typed verb.
    pub(crate) async fn of(cx: &'a Cx<'_>) -> Call<'a> {
        Call {
            p: cx.provider,
            c: cx.provider.client().await,
            identity: cx.identity,
        }
    }

    /// Maps an SDK error of `op` on this resource.
    pub(crate) fn err<E>(&self, op: &'static str) -> impl FnOnce(SdkError<E>) -> ProviderError + '_
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        move |e| {
            tracing::debug!(op, urn = %self.identity.urn, "EC2 call failed");
            classify(
                e,
                &format!("{op} of `{}`", self.identity.name()),
                &self.p.endpoint,
            )
        }
    }

    /// The full tag set for this resource.
    pub(crate) fn tags(&self, own: &Tags) -> Tags {
        tags::full_tags(self.identity, &self.p.config.default_tags, own)
    }

    /// The full tag set the cloud has, from the recorded own tags: managed
    /// tags recorded among them (changed behind mkso's back, see
    /// [`own_tags`]) are what the cloud has for those keys.
    pub(crate) fn had(&self, old: &Tags) -> Tags {
        let mut t = self.tags(old);
        for (k, v) in old {
            if tags::MANAGED.contains(&k.as_str()) {
                t.insert(k.clone(), v.clone());
            }
        }
        t
    }

    /// Keeps the cloud's tags equal to `want`, given what it has.
    pub(crate) async fn sync_tags(&self, id: &str, have: &Tags, want: &Tags) -> Result<()> {
        let set: Tags = want
            .iter()
            .filter(|(k, v)| have.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !set.is_empty() {
            self.c
                .create_tags()
                .resources(id)
                .set_tags(Some(tags::to_sdk(&set)))
                .send()
                .await
                .map_err(self.err("CreateTags"))?;
        }
        let remove: Vec<_> = have
            .keys()
            .filter(|k| !want.contains_key(*k) && !k.starts_with("aws:"))
            .map(|k| Tag::builder().key(k).build())
            .collect();
        if !remove.is_empty() {
            self.c
                .delete_tags()
                .resources(id)
                .set_tags(Some(remove))
                .send()
                .await
                .map_err(self.err("DeleteTags"))?;
        }
        Ok(())
    }
}

/// Sends one EC2 request, which `request` builds on the provider's client
/// (`|c| c.delete_vpc().vpc_id(id).send()`); an error is classified and
/// names `op` and the resource.
pub(crate) async fn call<O, E, F>(
    cx: &Cx<'_>,
    op: &'static str,
    request: impl FnOnce(&Client) -> F,
) -> Result<O>
where
    F: Future<Output = Result<O, SdkError<E>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let call = Call::of(cx).await;
    request(call.c).await.map_err(call.err(op))
}

/// A [`call`] undoing something, for which the error answer `code` means it
/// is already undone (e.g. `InvalidRoute.NotFound`): done too.
pub(crate) async fn call_unless<O, E, F>(
    cx: &Cx<'_>,
    op: &'static str,
    code: &str,
    request: impl FnOnce(&Client) -> F,
) -> Result<()>
where
    F: Future<Output = Result<O, SdkError<E>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    match call(cx, op, request).await {
        Err(e) if e.code.as_deref() == Some(code) => Ok(()),
        r => r.map(drop),
    }
}

/// Runs a waiter that `waiter` builds on the provider's client and starts
/// for at most the duration it is given ([`WAIT`]); `what` says what it
/// waits for ("instance i-1 to run").
pub(crate) async fn wait<O, E, F>(
    cx: &Cx<'_>,
    what: &str,
    waiter: impl FnOnce(&Client, Duration) -> F,
) -> Result<()>
where
    F: Future<Output = Result<O, E>>,
    E: std::fmt::Display,
{
    let c = cx.provider.client().await;
    match waiter(c, WAIT).await {
        Ok(_) => Ok(()),
        Err(e) => Err(ProviderError::retryable(format!("waiting for {what}: {e}"))),
    }
}

/// The item of a describe answer that carries this resource's `mkso:urn`
/// tag (checked here too: some emulators ignore describe filters).
pub(crate) fn by_urn<'a, T: 'a>(
    cx: &Cx<'_>,
    items: impl IntoIterator<Item = &'a T>,
    tags: impl Fn(&T) -> &[Tag],
) -> Option<&'a T> {
    items
        .into_iter()
        .find(|x| tags::has_urn(tags(x), cx.identity))
}

/// A describe filter on this resource's `mkso:urn` tag.
pub(crate) fn urn_filter(cx: &Cx<'_>) -> aws_sdk_ec2::types::Filter {
    tags::urn_filter(cx.identity)
}

/// An EC2 boolean attribute value.
pub(crate) fn flag(v: bool) -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(v).build()
}

/// The tag specification of a create: the full tag set for this resource
/// with its `own` tags.
pub(crate) fn tag_spec(cx: &Cx<'_>, rt: ResourceType, own: &Tags) -> TagSpecification {
    let full = tags::full_tags(cx.identity, &cx.provider.config.default_tags, own);
    tags::spec(rt, &full)
}

/// The resource's own tags from the cloud's full set, plus any tag mkso
/// manages (`Name`, `Environment`, `mkso:stack`, `mkso:urn`) whose value was
/// changed behind its back: kept among the recorded tags, a refresh reports
/// it as drift and the next update sets it back (see [`Call::had`]).
pub(crate) fn own_tags(cx: &Cx<'_>, cloud: &[Tag]) -> Tags {
    tags::observed_own_tags(
        cx.identity,
        &cx.provider.config.default_tags,
        &tags::from_sdk(cloud),
    )
}

/// Changes the resource's own tags from `old` to `new` in the cloud.
pub(crate) async fn sync_tags(cx: &Cx<'_>, id: &str, old: &Tags, new: &Tags) -> Result<()> {
    let call = Call::of(cx).await;
    call.sync_tags(id, &call.had(old), &call.tags(new)).await
}
