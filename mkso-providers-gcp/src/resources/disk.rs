//! `gcp:compute:Disk`.

use async_trait::async_trait;
use google_cloud_compute_v1::model;
use mkso::ProviderError;
use mkso::typed::{Change, Created, Ctx, CustomResource, Observed};
use serde::{Deserialize, Serialize};

use super::{Call, Labels, check_name, existing, observed_name, own_labels, split};
use crate::provider::GcpState;

/// A persistent disk (`gcp:compute:Disk`). Its id is `<zone>/<name>`.
/// Labels change in place (`disks.setLabels`); anything else replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "gcp:compute:Disk", resource = Disk, outputs = DiskOutputs)]
pub struct DiskInputs {
    /// The GCP name (default: derived).
    #[mkso(replace)]
    pub name: Option<String>,
    /// The zone (default: `gcp:zone`).
    #[mkso(replace)]
    pub zone: Option<String>,
    /// Size in GB.
    #[mkso(replace)]
    pub size_gb: i64,
    /// A source image, if any.
    #[mkso(replace)]
    pub source_image: Option<String>,
    /// The disk's own labels (mkso adds stack and environment).
    #[serde(default)]
    pub labels: Labels,
}

/// Outputs of [`Disk`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Disk)]
pub struct DiskOutputs {
    /// The GCP name.
    pub name: String,
    /// Its zone.
    pub zone: String,
}

async fn get(call: &Call<'_>, id: &str) -> Result<model::Disk, ProviderError> {
    let (zone, name) = split(id, &call.config().zone);
    call.c
        .disks
        .get()
        .set_project(call.project())
        .set_zone(zone)
        .set_disk(name)
        .send()
        .await
        .map_err(call.err("disks.get"))
}

fn outputs(d: &model::Disk, id: &str, zone: &str) -> DiskOutputs {
    DiskOutputs {
        name: d
            .name
            .clone()
            .unwrap_or_else(|| split(id, zone).1.to_string()),
        zone: zone.to_string(),
    }
}

#[async_trait]
impl CustomResource<GcpState> for Disk {
    /// GCP names are unique: a replacement that keeps the name deletes the
    /// old copy first.
    fn delete_before_replace(changes: &[mkso::typed::PropertyChange]) -> bool {
        super::keeps_name(changes)
    }

    fn check(i: &DiskPlanned) -> Vec<(String, String)> {
        check_name(&i.name)
    }

    async fn create(
        cx: &Ctx<'_, GcpState>,
        i: &DiskInputs,
    ) -> Result<Created<DiskOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let name = call.name(&i.name);
        let zone = i.zone.clone().unwrap_or_else(|| call.config().zone.clone());
        let body = model::Disk::new()
            .set_name(&name)
            .set_description(call.description())
            .set_size_gb(i.size_gb)
            .set_or_clear_source_image(i.source_image.clone())
            .set_labels(call.labels(&i.labels));
        let insert = call.c.disks.insert().set_project(call.project());
        call.wait(
            "disks.insert",
            insert.set_zone(&zone).set_body(body).poller(),
        )
        .await?;
        Ok(Created {
            id: format!("{zone}/{name}"),
            outputs: DiskOutputs { name, zone },
        })
    }

    async fn find(
        cx: &Ctx<'_, GcpState>,
        i: &DiskInputs,
    ) -> Result<Option<Created<DiskOutputs>>, ProviderError> {
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

    /// Reads name, labels and size; zone and source image stay as recorded.
    async fn read(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        recorded: Option<&DiskInputs>,
    ) -> Result<Observed<DiskInputs, DiskOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let got = get(&call, id).await?;
        let zone = split(id, &call.config().zone).0;
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(DiskInputs {
                name: observed_name(recorded.map(|r| &r.name), got.name.as_ref()),
                zone: recorded.and_then(|r| r.zone.clone()),
                size_gb: got
                    .size_gb
                    .or(recorded.map(|r| r.size_gb))
                    .unwrap_or_default(),
                source_image: recorded.and_then(|r| r.source_image.clone()),
                labels: own_labels(&got.labels),
            }),
            outputs: outputs(&got, id, zone),
        })
    }

    /// Sets the labels (the only property that changes in place).
    async fn update(
        cx: &Ctx<'_, GcpState>,
        ch: Change<'_, DiskInputs, DiskOutputs>,
    ) -> Result<DiskOutputs, ProviderError> {
        let call = Call::of(cx).await?;
        let cur = get(&call, ch.id).await?;
        let (zone, name) = split(ch.id, &call.config().zone);
        let body = model::ZoneSetLabelsRequest::new()
            .set_labels(call.labels(&ch.new.labels))
            .set_or_clear_label_fingerprint(cur.label_fingerprint);
        let set = call.c.disks.set_labels().set_project(call.project());
        call.wait(
            "disks.setLabels",
            set.set_zone(zone)
                .set_resource(name)
                .set_body(body)
                .poller(),
        )
        .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        _: &DiskInputs,
        _: &DiskOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await?;
        let (zone, name) = split(id, &call.config().zone);
        let d = call.c.disks.delete().set_project(call.project());
        call.wait("disks.delete", d.set_zone(zone).set_disk(name).poller())
            .await
    }
}
