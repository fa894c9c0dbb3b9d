//! `gcp:compute:Instance`.

use async_trait::async_trait;
use google_cloud_compute_v1::model;
use mkso::ProviderError;
use mkso::typed::{Change, Created, Ctx, CustomResource, Observed};
use serde::{Deserialize, Serialize};

use super::{Call, Labels, check_name, existing, last, observed_name, own_labels, split};
use crate::provider::GcpState;

/// A VM instance (`gcp:compute:Instance`). Its id is `<zone>/<name>`. Labels
/// change in place (`instances.setLabels`); anything else replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "gcp:compute:Instance", resource = Instance, outputs = InstanceOutputs)]
pub struct InstanceInputs {
    /// The GCP name (default: derived).
    #[mkso(replace)]
    pub name: Option<String>,
    /// The zone (default: `gcp:zone`).
    #[mkso(replace)]
    pub zone: Option<String>,
    /// The machine type, e.g. `e2-small`.
    #[mkso(replace)]
    pub machine_type: String,
    /// The boot image, e.g. `projects/debian-cloud/global/images/family/debian-12`.
    #[mkso(replace)]
    pub source_image: String,
    /// The network's name.
    #[mkso(replace)]
    pub network: String,
    /// The subnetwork's name (custom-mode networks).
    #[mkso(replace)]
    pub subnetwork: Option<String>,
    /// Network tags (firewalls select on them).
    #[serde(default)]
    #[mkso(replace)]
    pub tags: Vec<String>,
    /// The instance's own labels (mkso adds stack and environment).
    #[serde(default)]
    pub labels: Labels,
}

/// Outputs of [`Instance`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Instance)]
pub struct InstanceOutputs {
    /// The GCP name.
    pub name: String,
    /// Its zone.
    pub zone: String,
}

async fn get(call: &Call<'_>, id: &str) -> Result<model::Instance, ProviderError> {
    let (zone, name) = split(id, &call.config().zone);
    call.c
        .instances
        .get()
        .set_project(call.project())
        .set_zone(zone)
        .set_instance(name)
        .send()
        .await
        .map_err(call.err("instances.get"))
}

fn outputs(i: &model::Instance, id: &str, zone: &str) -> InstanceOutputs {
    InstanceOutputs {
        name: i
            .name
            .clone()
            .unwrap_or_else(|| split(id, zone).1.to_string()),
        zone: zone.to_string(),
    }
}

#[async_trait]
impl CustomResource<GcpState> for Instance {
    /// GCP names are unique: a replacement that keeps the name deletes the
    /// old copy first.
    fn delete_before_replace(changes: &[mkso::typed::PropertyChange]) -> bool {
        super::keeps_name(changes)
    }

    fn check(i: &InstancePlanned) -> Vec<(String, String)> {
        check_name(&i.name)
    }

    async fn create(
        cx: &Ctx<'_, GcpState>,
        i: &InstanceInputs,
    ) -> Result<Created<InstanceOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let name = call.name(&i.name);
        let zone = i.zone.clone().unwrap_or_else(|| call.config().zone.clone());
        let p = call.project();
        let boot = model::AttachedDisk::new()
            .set_boot(true)
            .set_auto_delete(true)
            .set_initialize_params(
                model::AttachedDiskInitializeParams::new().set_source_image(&i.source_image),
            );
        let region = zone
            .rsplit_once('-')
            .map(|(r, _)| r.to_string())
            .unwrap_or_else(|| call.config().region.clone());
        let nic = model::NetworkInterface::new()
            .set_network(call.network_url(&i.network))
            .set_or_clear_subnetwork(
                i.subnetwork
                    .as_ref()
                    .map(|s| format!("projects/{p}/regions/{region}/subnetworks/{s}")),
            );
        let mut body = model::Instance::new()
            .set_name(&name)
            .set_description(call.description())
            .set_machine_type(format!("zones/{zone}/machineTypes/{}", i.machine_type))
            .set_labels(call.labels(&i.labels))
            .set_disks([boot])
            .set_network_interfaces([nic]);
        if !i.tags.is_empty() {
            body = body.set_tags(model::Tags::new().set_items(i.tags.clone()));
        }
        let insert = call.c.instances.insert().set_project(p).set_zone(&zone);
        call.wait("instances.insert", insert.set_body(body).poller())
            .await?;
        Ok(Created {
            id: format!("{zone}/{name}"),
            outputs: InstanceOutputs { name, zone },
        })
    }

    async fn find(
        cx: &Ctx<'_, GcpState>,
        i: &InstanceInputs,
    ) -> Result<Option<Created<InstanceOutputs>>, ProviderError> {
        let call = Call::of(cx).await?;
        let zone = i.zone.as_deref().unwrap_or(&call.config().zone);
        let name = call.name(&i.name);
        let id = format!("{zone}/{name}");
        let Some(got) = existing(get(&call, &id).await)? else {
            return Ok(None);
        };
        call.claim(&name, got.description.as_deref(), Some(&got.labels))?;
        Ok(Some(Created {
            outputs: outputs(&got, &id, zone),
            id,
        }))
    }

    /// Reads name, labels and machine type; the rest stays as recorded. An
    /// import (nothing recorded) keeps the program's inputs: the boot image
    /// an instance was made from cannot be read back.
    async fn read(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        recorded: Option<&InstanceInputs>,
    ) -> Result<Observed<InstanceInputs, InstanceOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let got = get(&call, id).await?;
        let zone = split(id, &call.config().zone).0;
        let inputs = recorded.map(|r| InstanceInputs {
            name: observed_name(Some(&r.name), got.name.as_ref()),
            machine_type: match &got.machine_type {
                Some(m) => last(Some(m)),
                None => r.machine_type.clone(),
            },
            labels: own_labels(&got.labels),
            ..r.clone()
        });
        Ok(Observed {
            id: id.to_string(),
            inputs,
            outputs: outputs(&got, id, zone),
        })
    }

    /// Sets the labels (the only property that changes in place).
    async fn update(
        cx: &Ctx<'_, GcpState>,
        ch: Change<'_, InstanceInputs, InstanceOutputs>,
    ) -> Result<InstanceOutputs, ProviderError> {
        let call = Call::of(cx).await?;
        let cur = get(&call, ch.id).await?;
        let (zone, name) = split(ch.id, &call.config().zone);
        let body = model::InstancesSetLabelsRequest::new()
            .set_labels(call.labels(&ch.new.labels))
            .set_or_clear_label_fingerprint(cur.label_fingerprint);
        let set = call.c.instances.set_labels().set_project(call.project());
        call.wait(
            "instances.setLabels",
            set.set_zone(zone)
                .set_instance(name)
                .set_body(body)
                .poller(),
        )
        .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        _: &InstanceInputs,
        _: &InstanceOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await?;
        let (zone, name) = split(id, &call.config().zone);
        let d = call.c.instances.delete().set_project(call.project());
        call.wait(
            "instances.delete",
            d.set_zone(zone).set_instance(name).poller(),
        )
        .await
    }

    /// Ready when Compute Engine says `RUNNING`.
    async fn ready(cx: &Ctx<'_, GcpState>, id: &str) -> Result<Option<String>, ProviderError> {
        let call = Call::of(cx).await?;
        let got = get(&call, id).await?;
        Ok(match got.status.as_ref().and_then(|s| s.name()) {
            Some("RUNNING") => None,
            other => Some(format!(
                "instance {id} is {}",
                other.unwrap_or("in no known state")
            )),
        })
    }
}
