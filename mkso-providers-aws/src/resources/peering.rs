//! VPC peering connections: the requester's connection and the accepter's
//! acceptance.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, PeeringConnectionOptionsRequest, ResourceType};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, Update, by_urn, call, created, existing, not_found, observed, own_tags,
    poll_until, sync_tags, tag_spec, text, unless_default, urn_filter,
};
use super::{
    VpcPeeringConnection, VpcPeeringConnectionAccepter, VpcPeeringConnectionAccepterInputs,
    VpcPeeringConnectionAccepterOutputs, VpcPeeringConnectionInputs, VpcPeeringConnectionOutputs,
};
use crate::provider::AwsState;

/// How long a connection is waited for (to be requested, or accepted).
const WAIT: Duration = Duration::from_secs(300);
const POLL: Duration = Duration::from_secs(2);

fn status(p: &ec2::VpcPeeringConnection) -> String {
    p.status()
        .and_then(|s| s.code())
        .map(|c| c.as_str().to_string())
        .unwrap_or_default()
}

/// Whether the connection is deleted, refused or lapsed (EC2 shows those
/// for a while).
fn gone(p: &ec2::VpcPeeringConnection) -> bool {
    matches!(
        status(p).as_str(),
        "deleted" | "deleting" | "rejected" | "failed" | "expired"
    )
}

/// The connection `id` in whatever status EC2 shows.
async fn describe_any(cx: &Cx<'_>, id: &str) -> Result<ec2::VpcPeeringConnection> {
    let out = call(cx, "DescribeVpcPeeringConnections", |c| {
        c.describe_vpc_peering_connections()
            .vpc_peering_connection_ids(id)
            .send()
    })
    .await?;
    out.vpc_peering_connections()
        .iter()
        .find(|p| p.vpc_peering_connection_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("VPC peering connection", id))
}

/// The connection `id`, unless gone.
async fn describe(cx: &Cx<'_>, id: &str) -> Result<ec2::VpcPeeringConnection> {
    Some(describe_any(cx, id).await?)
        .filter(|p| !gone(p))
        .ok_or_else(|| not_found("VPC peering connection", id))
}

/// Waits until the connection's status is one of `states`. One that failed
/// (overlapping ranges, a peer VPC that does not exist), was rejected or
/// lapsed will not get there: a permanent error with EC2's reason (EC2
/// keeps it visible, and creating another would fail the same way).
async fn until(cx: &Cx<'_>, id: &str, states: &[&str]) -> Result<ec2::VpcPeeringConnection> {
    poll_until(
        &format!("VPC peering connection {id} to be {}", states.join(" or ")),
        WAIT,
        POLL,
        || async {
            let p = describe_any(cx, id).await?;
            match status(&p).as_str() {
                s if states.contains(&s) => Ok(Some(p)),
                s @ ("failed" | "rejected" | "expired") => Err(ProviderError::permanent(format!(
                    "VPC peering connection {id} of `{}` is {s}: {}",
                    cx.identity.name(),
                    p.status()
                        .and_then(|s| s.message())
                        .unwrap_or("no reason given")
                ))),
                "deleted" | "deleting" => Err(not_found("VPC peering connection", id)),
                _ => Ok(None),
            }
        },
    )
    .await
}

fn info(
    p: &ec2::VpcPeeringConnection,
    accepter: bool,
) -> Option<&ec2::VpcPeeringConnectionVpcInfo> {
    if accepter {
        p.accepter_vpc_info()
    } else {
        p.requester_vpc_info()
    }
}

fn vpc_of(p: &ec2::VpcPeeringConnection, accepter: bool) -> String {
    text(info(p, accepter).and_then(|i| i.vpc_id()))
}

/// The requester's "resolve the accepter's private DNS names" option.
fn remote_dns(p: &ec2::VpcPeeringConnection) -> bool {
    p.requester_vpc_info()
        .and_then(|i| i.peering_options())
        .and_then(|o| o.allow_dns_resolution_from_remote_vpc())
        .unwrap_or(false)
}

async fn accept(cx: &Cx<'_>, id: &str) -> Result<ec2::VpcPeeringConnection> {
    let p = until(cx, id, &["pending-acceptance", "active"]).await?;
    if status(&p) == "pending-acceptance" {
        call(cx, "AcceptVpcPeeringConnection", |c| {
            c.accept_vpc_peering_connection()
                .vpc_peering_connection_id(id)
                .send()
        })
        .await?;
    }
    until(cx, id, &["active"]).await
}

async fn set_remote_dns(cx: &Cx<'_>, id: &str, on: bool) -> Result<()> {
    call(cx, "ModifyVpcPeeringConnectionOptions", |c| {
        c.modify_vpc_peering_connection_options()
            .vpc_peering_connection_id(id)
            .requester_peering_connection_options(
                PeeringConnectionOptionsRequest::builder()
                    .allow_dns_resolution_from_remote_vpc(on)
                    .build(),
            )
            .send()
    })
    .await
    .map(drop)
}

fn outputs(p: &ec2::VpcPeeringConnection) -> VpcPeeringConnectionOutputs {
    VpcPeeringConnectionOutputs {
        id: text(p.vpc_peering_connection_id()),
        accept_status: status(p),
    }
}

#[async_trait]
impl CustomResource<AwsState> for VpcPeeringConnection {
    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        use mkso::typed::Planned;
        // (A peer account given may be this one: EC2 says so if not.)
        if matches!(i.auto_accept, Planned::Known(true))
            && matches!(i.peer_region, Planned::Known(Some(_)))
        {
            vec![(
                "auto_accept".to_string(),
                "a connection to another region is accepted there: declare a VpcPeeringConnectionAccepter with that region's provider".to_string(),
            )]
        } else {
            Vec::new()
        }
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateVpcPeeringConnection", |c| {
            c.create_vpc_peering_connection()
                .vpc_id(&i.vpc_id)
                .peer_vpc_id(&i.peer_vpc_id)
                .set_peer_owner_id(i.peer_owner_id.clone())
                .set_peer_region(i.peer_region.clone())
                .tag_specifications(tag_spec(cx, ResourceType::VpcPeeringConnection, &i.tags))
                .send()
        })
        .await?;
        let id = text(
            out.vpc_peering_connection()
                .and_then(|p| p.vpc_peering_connection_id()),
        );
        Ok(created(id.clone(), settle(cx, &id, i).await?))
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeVpcPeeringConnections", |c| {
            c.describe_vpc_peering_connections()
                .filters(urn_filter(cx))
                .send()
        })
        .await?;
        let live: Vec<_> = out
            .vpc_peering_connections()
            .iter()
            .filter(|p| !gone(p))
            .collect();
        let Some(p) = by_urn(cx, live, |p| p.tags()) else {
            return Ok(None);
        };
        let id = text(p.vpc_peering_connection_id());
        Ok(Some(created(id.clone(), settle(cx, &id, i).await?)))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let p = describe(cx, id).await?;
        let peer = info(&p, true);
        let requester = info(&p, false);
        let elsewhere = |f: fn(&ec2::VpcPeeringConnectionVpcInfo) -> Option<&str>,
                         recorded: Option<&Option<String>>| {
            let (mine, theirs) = (requester.and_then(f), peer.and_then(f));
            match recorded {
                Some(Some(_)) => theirs.map(String::from),
                // Unset in the program (or on import): the same as the
                // requester's stays unset.
                _ if mine == theirs => None,
                _ => theirs.map(String::from),
            }
        };
        let inputs = VpcPeeringConnectionInputs {
            vpc_id: vpc_of(&p, false),
            peer_vpc_id: vpc_of(&p, true),
            peer_owner_id: elsewhere(|i| i.owner_id(), recorded.map(|r| &r.peer_owner_id)),
            peer_region: elsewhere(|i| i.region(), recorded.map(|r| &r.peer_region)),
            // What the program asked; an accepted connection stays accepted.
            auto_accept: recorded.map_or(status(&p) == "active", |r| r.auto_accept),
            allow_remote_vpc_dns_resolution: unless_default(
                recorded.and_then(|r| r.allow_remote_vpc_dns_resolution),
                remote_dns(&p),
                false,
            ),
            tags: own_tags(cx, p.tags()),
        };
        Ok(observed(id, inputs, outputs(&p)))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let (o, n) = (ch.old, ch.new);
        sync_tags(cx, ch.id, &o.tags, &n.tags).await?;
        settle(cx, ch.id, n).await
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        if existing(describe(cx, id).await)?.is_none() {
            return Ok(());
        }
        call(cx, "DeleteVpcPeeringConnection", |c| {
            c.delete_vpc_peering_connection()
                .vpc_peering_connection_id(id)
                .send()
        })
        .await?;
        poll_until(
            &format!("VPC peering connection {id} to be deleted"),
            WAIT,
            POLL,
            || async { Ok(existing(describe(cx, id).await)?.is_none().then_some(())) },
        )
        .await
    }
}

/// Brings a requested connection where the inputs want it: accepted with
/// `auto_accept`, then (once active) the DNS option set.
async fn settle(
    cx: &Cx<'_>,
    id: &str,
    i: &VpcPeeringConnectionInputs,
) -> Result<VpcPeeringConnectionOutputs> {
    let p = if i.auto_accept {
        accept(cx, id).await?
    } else {
        until(cx, id, &["pending-acceptance", "active", "provisioning"]).await?
    };
    let want = i.allow_remote_vpc_dns_resolution.unwrap_or(false);
    if remote_dns(&p) == want {
        return Ok(outputs(&p));
    }
    if status(&p) != "active" {
        return Err(ProviderError::permanent(format!(
            "`{}`: allow_remote_vpc_dns_resolution can be set once VPC peering connection {id} is active (it is {}): accept it (auto_accept, or a VpcPeeringConnectionAccepter), then set it",
            cx.identity.name(),
            status(&p)
        )));
    }
    set_remote_dns(cx, id, want).await?;
    Ok(outputs(&describe(cx, id).await?))
}

fn accepter_outputs(p: &ec2::VpcPeeringConnection) -> VpcPeeringConnectionAccepterOutputs {
    VpcPeeringConnectionAccepterOutputs {
        id: text(p.vpc_peering_connection_id()),
        accept_status: status(p),
        vpc_id: vpc_of(p, false),
        peer_vpc_id: vpc_of(p, true),
    }
}

#[async_trait]
impl CustomResource<AwsState> for VpcPeeringConnectionAccepter {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let p = accept(cx, &i.vpc_peering_connection_id).await?;
        Ok(created(
            i.vpc_peering_connection_id.clone(),
            accepter_outputs(&p),
        ))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let p = describe(cx, id).await?;
        let inputs = VpcPeeringConnectionAccepterInputs {
            vpc_peering_connection_id: id.to_string(),
        };
        Ok(observed(id, inputs, accepter_outputs(&p)))
    }

    /// Leaves the connection: its requester deletes it.
    async fn delete(_: &Cx<'_>, _: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        Ok(())
    }
}
