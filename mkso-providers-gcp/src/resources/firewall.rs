//! `gcp:compute:Firewall`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use google_cloud_compute_v1::model;
use google_cloud_compute_v1::model::firewall::{Allowed, Direction};
use mkso::ProviderError;
use mkso::typed::{Change, Created, Ctx, CustomResource, Observed};
use serde::{Deserialize, Serialize};

use super::{Call, check_name, existing, last, observed_name};
use crate::provider::GcpState;

/// A firewall rule (`gcp:compute:Firewall`). Its rules, ranges, target tags
/// and priority change in place; a new name, network or direction replaces
/// it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "gcp:compute:Firewall", resource = Firewall, outputs = FirewallOutputs)]
pub struct FirewallInputs {
    /// The GCP name (default: derived).
    #[mkso(replace)]
    pub name: Option<String>,
    /// The network's name.
    #[mkso(replace)]
    pub network: String,
    /// `INGRESS` (default) or `EGRESS`.
    #[mkso(replace)]
    pub direction: Option<String>,
    /// Priority (default 1000).
    pub priority: Option<i32>,
    /// Allowed protocol → ports, e.g. `{"tcp": ["22"]}` (GCP refuses a rule
    /// that allows nothing).
    pub allowed: BTreeMap<String, Vec<String>>,
    /// Source ranges (ingress).
    #[serde(default)]
    pub source_ranges: Vec<String>,
    /// Instances (by network tag) it applies to.
    #[serde(default)]
    pub target_tags: Vec<String>,
}

/// Outputs of [`Firewall`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Firewall)]
pub struct FirewallOutputs {
    /// The GCP name.
    pub name: String,
}

async fn get(call: &Call<'_>, name: &str) -> Result<model::Firewall, ProviderError> {
    call.c
        .firewalls
        .get()
        .set_project(call.project())
        .set_firewall(name)
        .send()
        .await
        .map_err(call.err("firewalls.get"))
}

/// The whole rule, for an insert or a patch.
fn body(call: &Call<'_>, i: &FirewallInputs, name: &str) -> model::Firewall {
    model::Firewall::new()
        .set_name(name)
        .set_description(call.description())
        .set_network(call.network_url(&i.network))
        .set_direction(match i.direction.as_deref() {
            Some("EGRESS") => Direction::Egress,
            _ => Direction::Ingress,
        })
        .set_priority(i.priority.unwrap_or(1000))
        .set_allowed(i.allowed.iter().map(|(proto, ports)| {
            Allowed::new()
                .set_ip_protocol(proto)
                .set_ports(ports.clone())
        }))
        .set_source_ranges(i.source_ranges.clone())
        .set_target_tags(i.target_tags.clone())
}

#[async_trait]
impl CustomResource<GcpState> for Firewall {
    /// GCP names are unique: a replacement that keeps the name deletes the
    /// old copy first.
    fn delete_before_replace(changes: &[mkso::typed::PropertyChange]) -> bool {
        super::keeps_name(changes)
    }

    fn check(i: &FirewallPlanned) -> Vec<(String, String)> {
        let mut f = check_name(&i.name);
        if let Some(d) = i.direction.known_some()
            && !matches!(d.as_str(), "INGRESS" | "EGRESS")
        {
            f.push((
                "direction".into(),
                format!("`{d}` is not INGRESS or EGRESS"),
            ));
        }
        f
    }

    async fn create(
        cx: &Ctx<'_, GcpState>,
        i: &FirewallInputs,
    ) -> Result<Created<FirewallOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let name = call.name(&i.name);
        let insert = call.c.firewalls.insert().set_project(call.project());
        call.wait(
            "firewalls.insert",
            insert.set_body(body(&call, i, &name)).poller(),
        )
        .await?;
        Ok(Created {
            outputs: FirewallOutputs { name: name.clone() },
            id: name,
        })
    }

    async fn find(
        cx: &Ctx<'_, GcpState>,
        i: &FirewallInputs,
    ) -> Result<Option<Created<FirewallOutputs>>, ProviderError> {
        let call = Call::of(cx).await?;
        let name = call.name(&i.name);
        let Some(f) = existing(get(&call, &name).await)? else {
            return Ok(None);
        };
        call.claim(&name, f.description.as_deref(), None)?;
        Ok(Some(Created {
            outputs: FirewallOutputs {
                name: f.name.unwrap_or_else(|| name.clone()),
            },
            id: name,
        }))
    }

    async fn read(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        recorded: Option<&FirewallInputs>,
    ) -> Result<Observed<FirewallInputs, FirewallOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let f = get(&call, id).await?;
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(FirewallInputs {
                name: observed_name(recorded.map(|r| &r.name), f.name.as_ref()),
                network: last(f.network.as_deref()),
                // Not compared with the cloud: as recorded.
                direction: recorded.and_then(|r| r.direction.clone()),
                priority: recorded.and_then(|r| r.priority),
                allowed: f
                    .allowed
                    .iter()
                    .map(|a| (a.ip_protocol.clone().unwrap_or_default(), a.ports.clone()))
                    .collect(),
                source_ranges: f.source_ranges,
                target_tags: f.target_tags,
            }),
            outputs: FirewallOutputs {
                name: f.name.unwrap_or_else(|| id.to_string()),
            },
        })
    }

    /// Patches the whole rule.
    async fn update(
        cx: &Ctx<'_, GcpState>,
        ch: Change<'_, FirewallInputs, FirewallOutputs>,
    ) -> Result<FirewallOutputs, ProviderError> {
        let call = Call::of(cx).await?;
        let patch = call.c.firewalls.patch().set_project(call.project());
        call.wait(
            "firewalls.patch",
            patch
                .set_firewall(ch.id)
                .set_body(body(&call, ch.new, ch.id))
                .poller(),
        )
        .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        _: &FirewallInputs,
        _: &FirewallOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await?;
        let d = call.c.firewalls.delete().set_project(call.project());
        call.wait("firewalls.delete", d.set_firewall(id).poller())
            .await
    }
}
