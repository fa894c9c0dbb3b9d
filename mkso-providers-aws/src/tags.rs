//! The tags mkso puts on every taggable resource, and keeping them in sync;
//! EC2's tag shapes and describe filters with the `ec2` feature.
#![cfg_attr(not(feature = "ec2"), allow(dead_code))]

use std::collections::BTreeMap;

#[cfg(feature = "ec2")]
use aws_sdk_ec2::types::{Filter, ResourceType, Tag, TagSpecification};
use mkso::provider::ResourceIdentity;

/// Tag keys mkso manages itself (not part of a resource's `tags` input).
pub(crate) const MANAGED: &[&str] = &["Name", "Environment", "mkso:stack", "mkso:urn"];

/// The full tag set: mkso's, then default tags, then the resource's own.
pub(crate) fn full_tags(
    identity: &ResourceIdentity,
    defaults: &BTreeMap<String, String>,
    own: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut t = BTreeMap::new();
    t.insert("Name".to_string(), identity.name().to_string());
    t.insert(
        "Environment".to_string(),
        identity.stack.environment().to_string(),
    );
    t.insert("mkso:stack".to_string(), identity.stack.to_string());
    t.insert("mkso:urn".to_string(), identity.urn.to_string());
    for (k, v) in defaults.iter().chain(own.iter()) {
        if !MANAGED.contains(&k.as_str()) {
            t.insert(k.clone(), v.clone());
        }
    }
    t
}

#[cfg(feature = "ec2")]
pub(crate) fn to_sdk(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

#[cfg(feature = "ec2")]
pub(crate) fn spec(rt: ResourceType, tags: &BTreeMap<String, String>) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(rt)
        .set_tags(Some(to_sdk(tags)))
        .build()
}

#[cfg(feature = "ec2")]
pub(crate) fn from_sdk(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// The resource's own tags as the cloud has them: managed and default tags
/// removed (a default tag whose value was changed counts as the resource's).
pub(crate) fn own_tags(
    cloud: &BTreeMap<String, String>,
    defaults: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    cloud
        .iter()
        .filter(|(k, v)| !MANAGED.contains(&k.as_str()) && defaults.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The resource's own tags from the cloud's full set, plus any tag mkso
/// manages (`Name`, `Environment`, `mkso:stack`, `mkso:urn`) whose value was
/// changed behind its back: kept among the recorded tags, a refresh reports
/// it as drift and the next update sets it back.
pub(crate) fn observed_own_tags(
    identity: &ResourceIdentity,
    defaults: &BTreeMap<String, String>,
    cloud: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut own = own_tags(cloud, defaults);
    let expected = full_tags(identity, defaults, &BTreeMap::new());
    for key in MANAGED {
        if let (Some(have), Some(want)) = (cloud.get(*key), expected.get(*key))
            && have != want
        {
            own.insert((*key).to_string(), have.clone());
        }
    }
    own
}

/// What to set and unset to go from a resource's `old` own tags to `new`
/// ones, for services that tag by key (IAM, ELBv2): a managed tag recorded
/// among the own ones is what the cloud had for it, changed behind mkso's
/// back, and is set back.
#[cfg(any(
    feature = "iam",
    feature = "elbv2",
    feature = "rds",
    feature = "route53",
    feature = "autoscaling"
))]
pub(crate) fn changes(
    identity: &ResourceIdentity,
    defaults: &BTreeMap<String, String>,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let want = full_tags(identity, defaults, new);
    let mut had = full_tags(identity, defaults, old);
    for (k, v) in old {
        if MANAGED.contains(&k.as_str()) {
            had.insert(k.clone(), v.clone());
        }
    }
    let unset = had
        .keys()
        .filter(|k| !want.contains_key(*k))
        .cloned()
        .collect();
    let set = want
        .into_iter()
        .filter(|(k, v)| had.get(k) != Some(v))
        .collect();
    (set, unset)
}

#[cfg(feature = "ec2")]
/// A describe filter on the `mkso:urn` tag.
pub(crate) fn urn_filter(identity: &ResourceIdentity) -> Filter {
    Filter::builder()
        .name("tag:mkso:urn")
        .values(identity.urn.to_string())
        .build()
}

#[cfg(feature = "ec2")]
/// A describe filter.
pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

#[cfg(feature = "ec2")]
/// Whether these tags carry the resource's `mkso:urn` (checked here too: some
/// emulators ignore describe filters).
pub(crate) fn has_urn(tags: &[Tag], identity: &ResourceIdentity) -> bool {
    tags.iter()
        .any(|t| t.key() == Some("mkso:urn") && t.value() == Some(identity.urn.as_str()))
}
