//! What every EC2 resource type shares: one EC2 call on one resource
//! ([`call`]), the resource's tags, finding it by its `mkso:urn` tag
//! ([`by_urn`]) or by its id ([`by_id`]), and the shapes of the answers.

use std::time::Duration;

use aws_sdk_ec2::Client;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Tag, TagSpecification};
use mkso::provider::ResourceIdentity;
use mkso::typed::{Change, Created, Ctx, Observed, Planned};
use mkso::{ProviderError, Resource};

use super::Tags;
use crate::error::classify;
use crate::provider::AwsState;
use crate::tags;

/// A provider result.
pub(crate) type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// What each verb of an EC2 resource type gets.
pub(crate) type Cx<'a> = Ctx<'a, AwsState>;

/// What a `read` of resource type `R` answers.
pub(crate) type ReadResult<R> = Result<Observed<<R as Resource>::Inputs, <R as Resource>::Outputs>>;

/// The in-place update of a resource of type `R`.
pub(crate) type Update<'a, R> = Change<'a, <R as Resource>::Inputs, <R as Resource>::Outputs>;

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

/// The item of a describe answer whose id (`id_of`) is `id`: matched here
/// too, as some emulators answer with more. Else not found ("`what` `id`
/// does not exist").
pub(crate) fn by_id<'a, T: Clone + 'a>(
    what: &str,
    id: &str,
    items: impl IntoIterator<Item = &'a T>,
    id_of: impl Fn(&T) -> Option<&str>,
) -> Result<T> {
    items
        .into_iter()
        .find(|x| id_of(x) == Some(id))
        .cloned()
        .ok_or_else(|| not_found(what, id))
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

pub(crate) use mkso::typed::existing;

/// `Ok(None)` for a not-found answer (of any service).
#[cfg_attr(
    not(any(
        feature = "iam",
        feature = "elbv2",
        feature = "rds",
        feature = "route53"
    )),
    allow(dead_code)
)]
pub(crate) fn found<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.class == mkso::ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The cloud's list when it holds the same items as the recorded one (kept
/// in the recorded order: no drift from ordering), else sorted. For lists
/// the cloud keeps in an order of its own (subnets, security groups).
pub(crate) fn same_set(recorded: Option<&Vec<String>>, mut cloud: Vec<String>) -> Vec<String> {
    cloud.sort();
    if let Some(r) = recorded {
        let mut sorted = r.clone();
        sorted.sort();
        if sorted == cloud {
            return r.clone();
        }
    }
    cloud
}

/// Whether two lists hold different items (in any order).
#[cfg(any(feature = "elbv2", feature = "rds", feature = "autoscaling"))]
pub(crate) fn differ(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a != b
}

/// The failure of a create whose name (or port) something not tagged as
/// this resource's holds (`code`: the service's word for it).
#[cfg(any(feature = "elbv2", feature = "rds"))]
pub(crate) fn taken(what: &str, kind: &str, name: &str, code: &str) -> ProviderError {
    ProviderError::permanent(format!(
        "{what}: the {kind} `{name}` is taken (by something not tagged as this resource's): set another one, or adopt it with the import option"
    ))
    .with_code(code)
}

/// Whether a resource's tags (as a map: the services other than EC2) carry
/// this resource's `mkso:urn`.
#[cfg(any(feature = "elbv2", feature = "rds", feature = "route53"))]
pub(crate) fn is_mine(cx: &Cx<'_>, cloud: &Tags) -> bool {
    cloud.get("mkso:urn").map(String::as_str) == Some(cx.urn().as_str())
}

/// The resource's own tags from the cloud's full set (as a map: the
/// services other than EC2); see [`own_tags`].
#[cfg(any(feature = "elbv2", feature = "rds", feature = "route53"))]
pub(crate) fn own_tags_of(cx: &Cx<'_>, cloud: &Tags) -> Tags {
    tags::observed_own_tags(cx.identity, &cx.provider.config.default_tags, cloud)
}

/// "`what` `id` does not exist".
pub(crate) fn not_found(what: &str, id: &str) -> ProviderError {
    ProviderError::not_found(format!("{what} {id} does not exist"))
}

/// A created (or found) resource.
pub(crate) fn created<O>(id: impl Into<String>, outputs: O) -> Created<O> {
    Created {
        id: id.into(),
        outputs,
    }
}

/// A resource as read, inputs included.
pub(crate) fn observed<I, O>(id: &str, inputs: I, outputs: O) -> Observed<I, O> {
    Observed {
        id: id.to_string(),
        inputs: Some(inputs),
        outputs,
    }
}

/// An optional input with a default, as read: the cloud's value, unless the
/// program leaves the input unset (`recorded` is `None`; also on import) and
/// the cloud has the `default`.
pub(crate) fn unless_default<T: PartialEq>(recorded: Option<T>, cloud: T, default: T) -> Option<T> {
    if recorded.is_none() && cloud == default {
        None
    } else {
        Some(cloud)
    }
}

/// An optional input that stands for a value chosen when it is unset (by
/// AWS, or mkso's default), as read: the cloud's value, unless the recorded
/// inputs leave the input unset (on import: the cloud's value).
pub(crate) fn unless_unset<T>(recorded: Option<&Option<T>>, cloud: T) -> Option<T> {
    match recorded {
        Some(None) => None,
        _ => Some(cloud),
    }
}

/// An SDK string, empty when absent.
pub(crate) fn text(s: Option<&str>) -> String {
    s.unwrap_or_default().to_string()
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

/// A default physical name: `<stack>-<resource name>`, sanitised.
pub(crate) fn default_name(cx: &Cx<'_>) -> String {
    format!("{}-{}", cx.identity.stack, cx.identity.name())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// A check failure when a known value is not an IPv4 CIDR block.
pub(crate) fn check_cidr(property: &str, v: &Planned<String>) -> Vec<(String, String)> {
    match v.known() {
        Some(s) if s.parse::<std::net::Ipv4Addr>().is_err() && !valid_cidr(s) => vec![(
            property.to_string(),
            format!("`{s}` is not an IPv4 CIDR block such as 10.0.0.0/16"),
        )],
        _ => Vec::new(),
    }
}

/// Whether `s` is an IPv4 CIDR block (`10.0.0.0/16`).
pub(crate) fn valid_cidr(s: &str) -> bool {
    let Some((ip, len)) = s.split_once('/') else {
        return false;
    };
    ip.parse::<std::net::Ipv4Addr>().is_ok() && len.parse::<u8>().is_ok_and(|l| l <= 32)
}
