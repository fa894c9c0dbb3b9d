//! What every resource type shares: the shapes of the verbs' answers, the
//! not-found and name helpers, comparisons of what the cloud answers with
//! what was recorded. What the EC2 types alone share (one EC2 call on one
//! resource, EC2 tags, finding by the `mkso:urn` tag) is in `ec2_calls`,
//! re-exported here.
#![cfg_attr(not(feature = "ec2"), allow(dead_code))]

use mkso::typed::{Change, Created, Ctx, Observed, Planned};
use mkso::{ProviderError, Resource};

#[cfg(any(feature = "elbv2", feature = "rds", feature = "route53"))]
use super::Tags;
#[cfg(feature = "ec2")]
pub(crate) use super::ec2_calls::*;
use crate::provider::AwsState;
#[cfg(any(feature = "elbv2", feature = "rds", feature = "route53"))]
use crate::tags;

/// A provider result.
pub(crate) type Result<T, E = ProviderError> = std::result::Result<T, E>;

/// What each verb of an EC2 resource type gets.
pub(crate) type Cx<'a> = Ctx<'a, AwsState>;

/// What a `read` of resource type `R` answers.
pub(crate) type ReadResult<R> = Result<Observed<<R as Resource>::Inputs, <R as Resource>::Outputs>>;

/// The in-place update of a resource of type `R`.
pub(crate) type Update<'a, R> = Change<'a, <R as Resource>::Inputs, <R as Resource>::Outputs>;

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

#[cfg_attr(not(feature = "ec2"), allow(unused_imports))]
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

/// Asks `probe` every `every` until it answers `Some` (the service reached
/// the state waited for), for at most `wait`; then a retryable error
/// "timed out after .. waiting for `what`". A probe's error ends the wait.
pub(crate) async fn poll_until<T, F>(
    what: &str,
    wait: std::time::Duration,
    every: std::time::Duration,
    mut probe: impl FnMut() -> F,
) -> Result<T>
where
    F: Future<Output = Result<Option<T>>>,
{
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        if let Some(v) = probe().await? {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(ProviderError::retryable(format!(
                "timed out after {} s waiting for {what}",
                wait.as_secs()
            )));
        }
        tokio::time::sleep(every).await;
    }
}

/// Whether a replacement keeps a physical name the program gives (input
/// `field`): the old copy must go before the new one can take the name. (A
/// default name changes with the replace-forcing inputs: create first.) A
/// name not known yet counts as kept: the engine lets an apply create first
/// where the plan said delete first, not the other way round.
pub(crate) fn keeps_given_name(
    name: &Planned<Option<String>>,
    field: &str,
    changes: &[mkso::typed::PropertyChange],
) -> bool {
    !matches!(name, Planned::Known(None))
        && !changes.iter().any(|c| c.property() == field && !c.unknown)
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
