//! The Compute Engine resource types: each declared with
//! `#[derive(mkso::Resource)]` in its own module (field metadata: which
//! inputs force a replacement, which are required) and implemented there as
//! a [`CustomResource`](mkso::typed::CustomResource) of [`GcpState`],
//! registered in [`register`]. What they share is here: the call context,
//! names, ownership and labels.

mod disk;
mod firewall;
mod instance;
mod network;
mod subnetwork;

use std::collections::{BTreeMap, HashMap};

use google_cloud_compute_v1::model::Operation;
use google_cloud_lro::Poller;
use mkso::ProviderError;
use mkso::provider::ResourceIdentity;
use mkso::typed::{Ctx, Planned, TypedProviderBuilder};

pub use disk::*;
pub use firewall::*;
pub use instance::*;
pub use network::*;
pub use subnetwork::*;

use crate::error::{check_operation, classify};
use crate::provider::{Clients, GcpConfig, GcpState};

/// A resource's own labels.
pub(crate) type Labels = BTreeMap<String, String>;

/// Registers every Compute Engine type.
pub(crate) fn register(b: TypedProviderBuilder<GcpState>) -> TypedProviderBuilder<GcpState> {
    b.resource::<Network>()
        .resource::<Subnetwork>()
        .resource::<Firewall>()
        .resource::<Instance>()
        .resource::<Disk>()
}

/// One provider call on one resource.
pub(crate) struct Call<'a> {
    pub p: &'a GcpState,
    pub c: &'a Clients,
    pub identity: &'a ResourceIdentity,
}

impl<'a> Call<'a> {
    /// The call of a typed verb (creates the clients on first use).
    pub(crate) async fn of(cx: &'a Ctx<'_, GcpState>) -> Result<Call<'a>, ProviderError> {
        Ok(Call {
            p: cx.provider,
            c: cx.provider.clients().await?,
            identity: cx.identity,
        })
    }

    pub(crate) fn config(&self) -> &GcpConfig {
        &self.p.config
    }

    pub(crate) fn project(&self) -> &str {
        &self.p.config.project
    }

    /// `projects/<project>/global/networks/<network>`.
    pub(crate) fn network_url(&self, network: &str) -> String {
        format!("projects/{}/global/networks/{network}", self.project())
    }

    /// The GCP name: given, or the mkso name sanitised plus a stable suffix.
    pub(crate) fn name(&self, given: &Option<String>) -> String {
        given.clone().unwrap_or_else(|| derived_name(self.identity))
    }

    /// What the description records: the owner.
    pub(crate) fn description(&self) -> String {
        format!("managed by mkso; mkso:urn={}", self.identity.urn)
    }

    /// A resource's full labels: its own, then the stack, environment and
    /// the URN's hash.
    pub(crate) fn labels(&self, own: &Labels) -> HashMap<String, String> {
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

    /// Adoption of a resource found under the intended name: `Ok` when it is
    /// this one (its description records the URN, or its `mkso-urn` label
    /// holds the URN's hash), a clear error for a name taken by anything else.
    pub(crate) fn claim(
        &self,
        name: &str,
        description: Option<&str>,
        labels: Option<&HashMap<String, String>>,
    ) -> Result<(), ProviderError> {
        let by_description =
            description.is_some_and(|d| d.ends_with(&format!("mkso:urn={}", self.identity.urn)));
        let by_label = labels
            .and_then(|l| l.get("mkso-urn"))
            .is_some_and(|v| *v == urn_label(self.identity));
        if by_description || by_label {
            return Ok(());
        }
        Err(ProviderError::permanent(format!(
            "the {} name `{name}` is taken by a resource mkso does not own (its description does not record {}): choose another `name`, or adopt it with the import option",
            self.identity.type_token, self.identity.urn
        ))
        .with_code("alreadyExists"))
    }

    /// Maps a client error of `op` on this resource.
    pub(crate) fn err(
        &self,
        op: &'static str,
    ) -> impl FnOnce(google_cloud_compute_v1::Error) -> ProviderError + '_ {
        move |e| {
            tracing::debug!(op, urn = %self.identity.urn, "Compute Engine call failed");
            classify(
                &e,
                &format!("{op} of `{}`", self.identity.name()),
                self.p.endpoint(),
            )
        }
    }

    /// Runs a long-running operation to its end: a failed call and an
    /// operation that finished with errors are both errors.
    pub(crate) async fn wait(
        &self,
        op: &'static str,
        poller: impl Poller<Operation, Operation>,
    ) -> Result<(), ProviderError> {
        let done = poller.until_done().await.map_err(self.err(op))?;
        check_operation(&done, &format!("{op} of `{}`", self.identity.name()))
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

/// The resource's own labels from the cloud's full set.
pub(crate) fn own_labels(cloud: &HashMap<String, String>) -> Labels {
    cloud
        .iter()
        .filter(|(k, _)| !MANAGED_LABELS.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

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

pub(crate) use mkso::typed::existing;

/// Splits `location/name` (a bare name uses `default`).
pub(crate) fn split<'s>(id: &'s str, default: &'s str) -> (&'s str, &'s str) {
    id.split_once('/').unwrap_or((default, id))
}

/// The last path segment of a URL or path (gcplocal's selfLinks drop the port:
/// match by name, never follow them).
pub(crate) fn last(s: Option<&str>) -> String {
    s.map(|s| s.rsplit('/').next().unwrap_or(s).to_string())
        .unwrap_or_default()
}

/// The `name` input as read back: a derived name stays unset, as the program
/// has it; on import (nothing recorded) it is the cloud's.
pub(crate) fn observed_name(
    recorded: Option<&Option<String>>,
    cloud: Option<&String>,
) -> Option<String> {
    match recorded {
        None => cloud.cloned(),
        Some(None) => None,
        Some(Some(given)) => Some(cloud.unwrap_or(given).clone()),
    }
}

/// A check failure when a known `name` is not a GCP name.
pub(crate) fn check_name(name: &Planned<Option<String>>) -> Vec<(String, String)> {
    match name.known_some() {
        Some(n)
            if !(n.len() <= 63
                && n.starts_with(|c: char| c.is_ascii_lowercase())
                && n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !n.ends_with('-')) =>
        {
            vec![(
                "name".into(),
                format!(
                    "`{n}` is not a GCP name: lowercase letters, digits and `-`, starting with a letter, at most 63"
                ),
            )]
        }
        _ => Vec::new(),
    }
}

/// Whether a replacement keeps the resource's name (a derived name always
/// does): the new copy cannot be created next to the old one then.
pub(crate) fn keeps_name(changes: &[mkso::typed::PropertyChange]) -> bool {
    !changes.iter().any(|c| c.property() == "name")
}
