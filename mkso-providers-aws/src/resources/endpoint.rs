//! VPC endpoints: a gateway (routes) or interface (network interfaces) path
//! from a VPC to an AWS service.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, ResourceType, VpcEndpointType};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, Update, by_urn, call, created, existing, not_found, observed, own_tags,
    poll_until, same_set, sync_tags, tag_spec, text, unless_default, urn_filter,
};
use super::{VpcEndpoint, VpcEndpointInputs, VpcEndpointOutputs};
use crate::error::from_code;
use crate::provider::AwsState;

/// How long a create, change or delete is waited for (an interface
/// endpoint takes minutes on AWS).
const WAIT: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_secs(2);

/// The endpoint `id` in whatever state EC2 shows.
async fn describe_any(cx: &Cx<'_>, id: &str) -> Result<ec2::VpcEndpoint> {
    let out = call(cx, "DescribeVpcEndpoints", |c| {
        c.describe_vpc_endpoints().vpc_endpoint_ids(id).send()
    })
    .await?;
    out.vpc_endpoints()
        .iter()
        .find(|e| e.vpc_endpoint_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("VPC endpoint", id))
}

/// The endpoint `id`; one being deleted or deleted is not found (EC2 shows
/// a deleted endpoint for a while).
async fn describe(cx: &Cx<'_>, id: &str) -> Result<ec2::VpcEndpoint> {
    Some(describe_any(cx, id).await?)
        .filter(|e| !gone(e))
        .ok_or_else(|| not_found("VPC endpoint", id))
}

/// The endpoint's state, lower case: EC2 answers `available`, the SDK's
/// enum spells `Available` (and keeps EC2's word as an unknown value).
fn state(e: &ec2::VpcEndpoint) -> String {
    e.state()
        .map(|s| s.as_str().to_ascii_lowercase())
        .unwrap_or_default()
}

/// Whether the endpoint is deleted, on its way out or failed for good.
fn gone(e: &ec2::VpcEndpoint) -> bool {
    matches!(
        state(e).as_str(),
        "deleted" | "deleting" | "rejected" | "expired"
    )
}

/// Waits until the endpoint is usable (`available`, or waiting for the
/// service's owner to accept it); a failed, rejected or lapsed one is a
/// permanent error.
async fn ready(cx: &Cx<'_>, id: &str) -> Result<ec2::VpcEndpoint> {
    poll_until(
        &format!("VPC endpoint {id} to be available"),
        WAIT,
        POLL,
        || async {
            let e = describe_any(cx, id).await?;
            match state(&e).as_str() {
                "available" | "pendingacceptance" => Ok(Some(e)),
                "deleted" | "deleting" => Err(not_found("VPC endpoint", id)),
                s @ ("failed" | "rejected" | "expired") => Err(ProviderError::permanent(format!(
                    "VPC endpoint {id} of `{}` is {s}: {}",
                    cx.identity.name(),
                    e.failure_reason()
                        .or(e.last_error().and_then(|l| l.message()))
                        .unwrap_or("no reason given")
                ))),
                _ => Ok(None),
            }
        },
    )
    .await
}

fn kind(e: &ec2::VpcEndpoint) -> String {
    e.vpc_endpoint_type()
        .map_or("Gateway", VpcEndpointType::as_str)
        .to_string()
}

/// The prefix list of a gateway endpoint's service (what EC2 routes to it).
async fn prefix_list(cx: &Cx<'_>, e: &ec2::VpcEndpoint) -> Result<String> {
    if kind(e) != "Gateway" {
        return Ok(String::new());
    }
    let service = text(e.service_name());
    let out = call(cx, "DescribePrefixLists", |c| {
        c.describe_prefix_lists()
            .filters(crate::tags::filter("prefix-list-name", &service))
            .send()
    })
    .await?;
    Ok(out
        .prefix_lists()
        .iter()
        .find(|p| p.prefix_list_name() == Some(service.as_str()))
        .map(|p| text(p.prefix_list_id()))
        .unwrap_or_default())
}

async fn outputs(cx: &Cx<'_>, e: &ec2::VpcEndpoint) -> Result<VpcEndpointOutputs> {
    Ok(VpcEndpointOutputs {
        id: text(e.vpc_endpoint_id()),
        dns_names: e
            .dns_entries()
            .iter()
            .filter_map(|d| d.dns_name().map(String::from))
            .collect(),
        network_interface_ids: e.network_interface_ids().to_vec(),
        prefix_list_id: prefix_list(cx, e).await?,
    })
}

/// Whether two policy documents say the same (compared as JSON).
fn same_policy(a: &str, b: &str) -> bool {
    match (
        serde_json::from_str::<serde_json::Value>(a),
        serde_json::from_str::<serde_json::Value>(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Whether a policy is the one EC2 gives an endpoint created without one:
/// everything allowed to everyone (whatever its `Version`).
fn full_access(policy: &str) -> bool {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(policy) else {
        return false;
    };
    let star = serde_json::Value::from("*");
    matches!(doc["Statement"].as_array().map(Vec::as_slice), Some([s])
        if s["Effect"] == "Allow"
            && (s["Principal"] == star || s["Principal"]["AWS"] == star)
            && s["Action"] == star
            && s["Resource"] == star)
}

/// Items of `new` not in `old`, or `None`.
fn added(new: &[String], old: &[String]) -> Option<Vec<String>> {
    let v: Vec<String> = new.iter().filter(|x| !old.contains(x)).cloned().collect();
    (!v.is_empty()).then_some(v)
}

#[async_trait]
impl CustomResource<AwsState> for VpcEndpoint {
    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        use mkso::typed::Planned;
        let mut failures = Vec::new();
        if let Planned::Known(Some(p)) = &i.policy
            && serde_json::from_str::<serde_json::Value>(p).is_err()
        {
            failures.push((
                "policy".to_string(),
                "is not a JSON policy document (build it with serde_json::json!(..).to_string())"
                    .to_string(),
            ));
        }
        let kind = match &i.vpc_endpoint_type {
            Planned::Known(k) => k.as_deref().unwrap_or("Gateway"),
            _ => "",
        };
        if !["", "Gateway", "Interface", "GatewayLoadBalancer"].contains(&kind) {
            failures.push((
                "vpc_endpoint_type".to_string(),
                format!("`{kind}` is not `Gateway`, `Interface` or `GatewayLoadBalancer`"),
            ));
        }
        failures
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let kind = i.vpc_endpoint_type.as_deref().unwrap_or("Gateway");
        let out = call(cx, "CreateVpcEndpoint", |c| {
            c.create_vpc_endpoint()
                .vpc_id(&i.vpc_id)
                .service_name(&i.service_name)
                .vpc_endpoint_type(VpcEndpointType::from(kind))
                .set_route_table_ids(
                    (!i.route_table_ids.is_empty()).then(|| i.route_table_ids.clone()),
                )
                .set_subnet_ids((!i.subnet_ids.is_empty()).then(|| i.subnet_ids.clone()))
                .set_security_group_ids(
                    (!i.security_group_ids.is_empty()).then(|| i.security_group_ids.clone()),
                )
                .set_policy_document(i.policy.clone())
                .set_private_dns_enabled(i.private_dns_enabled)
                .tag_specifications(tag_spec(cx, ResourceType::VpcEndpoint, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.vpc_endpoint().and_then(|e| e.vpc_endpoint_id()));
        let e = ready(cx, &id).await?;
        Ok(created(id, outputs(cx, &e).await?))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeVpcEndpoints", |c| {
            c.describe_vpc_endpoints().filters(urn_filter(cx)).send()
        })
        .await?;
        let live: Vec<_> = out.vpc_endpoints().iter().filter(|e| !gone(e)).collect();
        let Some(e) = by_urn(cx, live, |e| e.tags()) else {
            return Ok(None);
        };
        let id = text(e.vpc_endpoint_id());
        let e = ready(cx, &id).await?;
        Ok(Some(created(id, outputs(cx, &e).await?)))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let e = describe(cx, id).await?;
        let kind = kind(&e);
        let groups: Vec<String> = e
            .groups()
            .iter()
            .filter_map(|g| g.group_id().map(String::from))
            .collect();
        let recorded_policy = recorded.and_then(|r| r.policy.as_deref());
        let inputs = VpcEndpointInputs {
            vpc_id: text(e.vpc_id()),
            service_name: text(e.service_name()),
            route_table_ids: same_set(
                recorded.map(|r| &r.route_table_ids),
                e.route_table_ids().to_vec(),
            ),
            subnet_ids: same_set(recorded.map(|r| &r.subnet_ids), e.subnet_ids().to_vec()),
            security_group_ids: match recorded {
                // No groups in the program: the VPC's default group.
                Some(r) if r.security_group_ids.is_empty() && groups.len() <= 1 => Vec::new(),
                r => same_set(r.map(|r| &r.security_group_ids), groups),
            },
            policy: match (recorded_policy, e.policy_document()) {
                (_, None) => None,
                (Some(r), Some(c)) if same_policy(r, c) => Some(r.to_string()),
                (None, Some(c)) if full_access(c) => None,
                (_, Some(c)) => Some(c.to_string()),
            },
            // (An interface endpoint's alone.)
            private_dns_enabled: if kind != "Interface" {
                None
            } else {
                unless_default(
                    recorded.and_then(|r| r.private_dns_enabled),
                    e.private_dns_enabled().unwrap_or(false),
                    true,
                )
            },
            vpc_endpoint_type: unless_default(
                recorded.and_then(|r| r.vpc_endpoint_type.clone()),
                kind,
                "Gateway".to_string(),
            ),
            tags: own_tags(cx, e.tags()),
        };
        Ok(observed(id, inputs, outputs(cx, &e).await?))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let (o, n) = (ch.old, ch.new);
        let policy = match (&o.policy, &n.policy) {
            (Some(a), Some(b)) if same_policy(a, b) => None,
            (None, None) => None,
            (_, new) => Some(new.clone()),
        };
        // (No groups in the program: the VPC's default group, which EC2 keeps
        // when the last one goes; so the old ones stay until new ones come.)
        let remove_groups = if n.security_group_ids.is_empty() {
            None
        } else if o.security_group_ids.is_empty() {
            // From the VPC's default group (which EC2 gave it) to the
            // program's: the live ones go.
            let live: Vec<String> = describe(cx, ch.id)
                .await?
                .groups()
                .iter()
                .filter_map(|g| g.group_id().map(String::from))
                .collect();
            added(&live, &n.security_group_ids)
        } else {
            added(&o.security_group_ids, &n.security_group_ids)
        };
        // Unset: AWS's default, on (an interface endpoint's alone).
        let interface = n.vpc_endpoint_type.as_deref() == Some("Interface");
        let want_dns = n.private_dns_enabled.unwrap_or(true);
        let dns =
            (interface && o.private_dns_enabled.unwrap_or(true) != want_dns).then_some(want_dns);
        let changes = o.route_table_ids != n.route_table_ids
            || o.subnet_ids != n.subnet_ids
            || o.security_group_ids != n.security_group_ids
            || policy.is_some()
            || dns.is_some();
        if changes {
            call(cx, "ModifyVpcEndpoint", |c| {
                let mut r = c
                    .modify_vpc_endpoint()
                    .vpc_endpoint_id(ch.id)
                    .set_add_route_table_ids(added(&n.route_table_ids, &o.route_table_ids))
                    .set_remove_route_table_ids(added(&o.route_table_ids, &n.route_table_ids))
                    .set_add_subnet_ids(added(&n.subnet_ids, &o.subnet_ids))
                    .set_remove_subnet_ids(added(&o.subnet_ids, &n.subnet_ids))
                    .set_add_security_group_ids(added(&n.security_group_ids, &o.security_group_ids))
                    .set_remove_security_group_ids(remove_groups)
                    .set_private_dns_enabled(dns);
                r = match policy {
                    Some(Some(p)) => r.policy_document(p),
                    Some(None) => r.reset_policy(true),
                    None => r,
                };
                r.send()
            })
            .await?;
        }
        sync_tags(cx, ch.id, &o.tags, &n.tags).await?;
        let e = ready(cx, ch.id).await?;
        outputs(cx, &e).await
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let out = call(cx, "DeleteVpcEndpoints", |c| {
            c.delete_vpc_endpoints().vpc_endpoint_ids(id).send()
        })
        .await?;
        if let Some(err) = out.unsuccessful().iter().find_map(|u| u.error()) {
            let code = text(err.code());
            let e = from_code(
                &code,
                format!(
                    "DeleteVpcEndpoints of `{}`: {}",
                    cx.identity.name(),
                    err.message().unwrap_or(&code)
                ),
            );
            if e.class == mkso::ErrorClass::NotFound {
                return Ok(());
            }
            return Err(e);
        }
        poll_until(
            &format!("VPC endpoint {id} to be deleted"),
            WAIT,
            POLL,
            // (Not while `deleting`: its network interfaces still hold its
            // subnets and security groups.)
            || async {
                let left = existing(describe_any(cx, id).await)?;
                Ok(left.is_none_or(|e| state(&e) == "deleted").then_some(()))
            },
        )
        .await
    }
}
