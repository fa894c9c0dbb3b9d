//! `gcp:compute:Subnetwork`.

use async_trait::async_trait;
use google_cloud_compute_v1::model;
use mkso::ProviderError;
use mkso::typed::{Created, Ctx, CustomResource, Observed};
use serde::{Deserialize, Serialize};

use super::{Call, check_name, existing, last, observed_name, split};
use crate::provider::GcpState;

/// A subnetwork of a network in a region (`gcp:compute:Subnetwork`). Its
/// id is `<region>/<name>`; any change replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "gcp:compute:Subnetwork", resource = Subnetwork, outputs = SubnetworkOutputs)]
pub struct SubnetworkInputs {
    /// The GCP name (default: derived).
    #[mkso(replace)]
    pub name: Option<String>,
    /// The network's name.
    #[mkso(replace)]
    pub network: String,
    /// The region (default: `gcp:region`).
    #[mkso(replace)]
    pub region: Option<String>,
    /// The IPv4 range, e.g. `10.0.1.0/24`.
    #[mkso(replace)]
    pub ip_cidr_range: String,
}

/// Outputs of [`Subnetwork`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Subnetwork)]
pub struct SubnetworkOutputs {
    /// The GCP name.
    pub name: String,
    /// Its region.
    pub region: String,
}

async fn get(call: &Call<'_>, id: &str) -> Result<model::Subnetwork, ProviderError> {
    let (region, name) = split(id, &call.config().region);
    call.c
        .subnetworks
        .get()
        .set_project(call.project())
        .set_region(region)
        .set_subnetwork(name)
        .send()
        .await
        .map_err(call.err("subnetworks.get"))
}

/// The id a create gives: `<region>/<name>`.
fn intended_id(call: &Call<'_>, i: &SubnetworkInputs) -> String {
    let region = i.region.as_deref().unwrap_or(&call.config().region);
    format!("{region}/{}", call.name(&i.name))
}

#[async_trait]
impl CustomResource<GcpState> for Subnetwork {
    /// GCP names are unique: a replacement that keeps the name deletes the
    /// old copy first.
    fn delete_before_replace(changes: &[mkso::typed::PropertyChange]) -> bool {
        super::keeps_name(changes)
    }

    fn check(i: &SubnetworkPlanned) -> Vec<(String, String)> {
        let mut f = check_name(&i.name);
        if let Some(r) = i.ip_cidr_range.known() {
            let valid = r.split_once('/').is_some_and(|(ip, l)| {
                ip.parse::<std::net::Ipv4Addr>().is_ok() && l.parse::<u8>().is_ok_and(|l| l <= 29)
            });
            if !valid {
                f.push((
                    "ip_cidr_range".into(),
                    format!("`{r}` is not an IPv4 range such as 10.0.1.0/24"),
                ));
            }
        }
        f
    }

    async fn create(
        cx: &Ctx<'_, GcpState>,
        i: &SubnetworkInputs,
    ) -> Result<Created<SubnetworkOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let name = call.name(&i.name);
        let region = i
            .region
            .clone()
            .unwrap_or_else(|| call.config().region.clone());
        let body = model::Subnetwork::new()
            .set_name(&name)
            .set_description(call.description())
            .set_ip_cidr_range(&i.ip_cidr_range)
            .set_network(call.network_url(&i.network))
            .set_region(&region);
        let insert = call.c.subnetworks.insert().set_project(call.project());
        call.wait(
            "subnetworks.insert",
            insert.set_region(&region).set_body(body).poller(),
        )
        .await?;
        Ok(Created {
            id: format!("{region}/{name}"),
            outputs: SubnetworkOutputs { name, region },
        })
    }

    async fn find(
        cx: &Ctx<'_, GcpState>,
        i: &SubnetworkInputs,
    ) -> Result<Option<Created<SubnetworkOutputs>>, ProviderError> {
        let call = Call::of(cx).await?;
        let id = intended_id(&call, i);
        let (region, name) = split(&id, "");
        let Some(s) = existing(get(&call, &id).await)? else {
            return Ok(None);
        };
        call.claim(name, s.description.as_deref(), None)?;
        Ok(Some(Created {
            outputs: SubnetworkOutputs {
                name: s.name.unwrap_or_else(|| name.to_string()),
                region: region.to_string(),
            },
            id,
        }))
    }

    async fn read(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        recorded: Option<&SubnetworkInputs>,
    ) -> Result<Observed<SubnetworkInputs, SubnetworkOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let s = get(&call, id).await?;
        let (region, name) = split(id, &call.config().region);
        // What the cloud does not report stays as recorded.
        let ip_cidr_range = s
            .ip_cidr_range
            .clone()
            .or_else(|| recorded.map(|r| r.ip_cidr_range.clone()))
            .unwrap_or_default();
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(SubnetworkInputs {
                name: observed_name(recorded.map(|r| &r.name), s.name.as_ref()),
                network: last(s.network.as_deref()),
                region: recorded.and_then(|r| r.region.clone()),
                ip_cidr_range,
            }),
            outputs: SubnetworkOutputs {
                name: s.name.unwrap_or_else(|| name.to_string()),
                region: region.to_string(),
            },
        })
    }

    async fn delete(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        _: &SubnetworkInputs,
        _: &SubnetworkOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await?;
        let (region, name) = split(id, &call.config().region);
        let d = call.c.subnetworks.delete().set_project(call.project());
        call.wait(
            "subnetworks.delete",
            d.set_region(region).set_subnetwork(name).poller(),
        )
        .await
    }
}
