//! `gcp:compute:Network`.

use async_trait::async_trait;
use google_cloud_compute_v1::model;
use mkso::ProviderError;
use mkso::typed::{Created, Ctx, CustomResource, Observed};
use serde::{Deserialize, Serialize};

use super::{Call, check_name, existing, observed_name};
use crate::provider::GcpState;

/// A VPC network (`gcp:compute:Network`), custom subnet mode by default.
/// Nothing changes in place: a new name or mode replaces it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
#[mkso(type = "gcp:compute:Network", resource = Network, outputs = NetworkOutputs)]
pub struct NetworkInputs {
    /// The GCP name (default: derived from the mkso name, stable).
    #[mkso(replace)]
    pub name: Option<String>,
    /// Auto mode: one subnetwork per region, created by GCP.
    #[serde(default)]
    #[mkso(replace)]
    pub auto_create_subnetworks: bool,
}

/// Outputs of [`Network`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
#[mkso(resource = Network)]
pub struct NetworkOutputs {
    /// The GCP name.
    pub name: String,
}

async fn get(call: &Call<'_>, name: &str) -> Result<model::Network, ProviderError> {
    call.c
        .networks
        .get()
        .set_project(call.project())
        .set_network(name)
        .send()
        .await
        .map_err(call.err("networks.get"))
}

#[async_trait]
impl CustomResource<GcpState> for Network {
    /// GCP names are unique: a replacement that keeps the name deletes the
    /// old copy first.
    fn delete_before_replace(changes: &[mkso::typed::PropertyChange]) -> bool {
        super::keeps_name(changes)
    }

    fn check(i: &NetworkPlanned) -> Vec<(String, String)> {
        check_name(&i.name)
    }

    async fn create(
        cx: &Ctx<'_, GcpState>,
        i: &NetworkInputs,
    ) -> Result<Created<NetworkOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let name = call.name(&i.name);
        let body = model::Network::new()
            .set_name(&name)
            .set_description(call.description())
            .set_auto_create_subnetworks(i.auto_create_subnetworks);
        let insert = call.c.networks.insert().set_project(call.project());
        call.wait("networks.insert", insert.set_body(body).poller())
            .await?;
        Ok(Created {
            outputs: NetworkOutputs { name: name.clone() },
            id: name,
        })
    }

    async fn find(
        cx: &Ctx<'_, GcpState>,
        i: &NetworkInputs,
    ) -> Result<Option<Created<NetworkOutputs>>, ProviderError> {
        let call = Call::of(cx).await?;
        let name = call.name(&i.name);
        let Some(n) = existing(get(&call, &name).await)? else {
            return Ok(None);
        };
        call.claim(&name, n.description.as_deref(), None)?;
        Ok(Some(Created {
            outputs: NetworkOutputs {
                name: n.name.unwrap_or_else(|| name.clone()),
            },
            id: name,
        }))
    }

    async fn read(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        recorded: Option<&NetworkInputs>,
    ) -> Result<Observed<NetworkInputs, NetworkOutputs>, ProviderError> {
        let call = Call::of(cx).await?;
        let n = get(&call, id).await?;
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(NetworkInputs {
                name: observed_name(recorded.map(|r| &r.name), n.name.as_ref()),
                auto_create_subnetworks: n.auto_create_subnetworks.unwrap_or(false),
            }),
            outputs: NetworkOutputs {
                name: n.name.unwrap_or_else(|| id.to_string()),
            },
        })
    }

    async fn delete(
        cx: &Ctx<'_, GcpState>,
        id: &str,
        _: &NetworkInputs,
        _: &NetworkOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await?;
        let d = call.c.networks.delete().set_project(call.project());
        call.wait("networks.delete", d.set_network(id).poller())
            .await
    }
}
