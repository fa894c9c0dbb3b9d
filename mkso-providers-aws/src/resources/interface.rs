//! Elastic network interfaces.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, ResourceType};
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, Update, by_id, by_urn, call, created, flag, observed, own_tags,
    same_set, sync_tags, tag_spec, text, unless_default, urn_filter,
};
use super::{NetworkInterface, NetworkInterfaceInputs, NetworkInterfaceOutputs};
use crate::provider::AwsState;

async fn describe(cx: &Cx<'_>, id: &str) -> Result<ec2::NetworkInterface> {
    let out = call(cx, "DescribeNetworkInterfaces", |c| {
        c.describe_network_interfaces()
            .network_interface_ids(id)
            .send()
    })
    .await?;
    by_id("network interface", id, out.network_interfaces(), |n| {
        n.network_interface_id()
    })
}

fn outputs(n: &ec2::NetworkInterface) -> NetworkInterfaceOutputs {
    NetworkInterfaceOutputs {
        id: text(n.network_interface_id()),
        private_ip: text(n.private_ip_address()),
        mac_address: text(n.mac_address()),
    }
}

fn groups(n: &ec2::NetworkInterface) -> Vec<String> {
    n.groups()
        .iter()
        .filter_map(|g| g.group_id().map(String::from))
        .collect()
}

#[async_trait]
impl CustomResource<AwsState> for NetworkInterface {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateNetworkInterface", |c| {
            c.create_network_interface()
                .subnet_id(&i.subnet_id)
                .set_private_ip_address(i.private_ip.clone())
                .set_groups(
                    (!i.security_group_ids.is_empty()).then(|| i.security_group_ids.clone()),
                )
                .set_description(i.description.clone())
                .tag_specifications(tag_spec(cx, ResourceType::NetworkInterface, &i.tags))
                .send()
        })
        .await?;
        let id = text(
            out.network_interface()
                .and_then(|n| n.network_interface_id()),
        );
        if i.source_dest_check == Some(false) {
            call(cx, "ModifyNetworkInterfaceAttribute", |c| {
                c.modify_network_interface_attribute()
                    .network_interface_id(&id)
                    .source_dest_check(flag(false))
                    .send()
            })
            .await?;
        }
        let n = describe(cx, &id).await?;
        Ok(created(id, outputs(&n)))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeNetworkInterfaces", |c| {
            c.describe_network_interfaces()
                .filters(urn_filter(cx))
                .send()
        })
        .await?;
        let found = by_urn(cx, out.network_interfaces(), |n| n.tag_set());
        Ok(found.map(|n| created(text(n.network_interface_id()), outputs(n))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let n = describe(cx, id).await?;
        let cloud = groups(&n);
        let inputs = NetworkInterfaceInputs {
            subnet_id: text(n.subnet_id()),
            private_ip: match recorded {
                Some(r) if r.private_ip.is_none() => None,
                _ => n.private_ip_address().map(String::from),
            },
            security_group_ids: match recorded {
                // No groups in the program: the VPC's default group.
                Some(r) if r.security_group_ids.is_empty() && cloud.len() <= 1 => Vec::new(),
                r => same_set(r.map(|r| &r.security_group_ids), cloud),
            },
            description: n.description().filter(|d| !d.is_empty()).map(String::from),
            source_dest_check: unless_default(
                recorded.and_then(|r| r.source_dest_check),
                n.source_dest_check().unwrap_or(true),
                true,
            ),
            tags: own_tags(cx, n.tag_set()),
        };
        Ok(observed(id, inputs, outputs(&n)))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let (o, n) = (ch.old, ch.new);
        if o.security_group_ids != n.security_group_ids && !n.security_group_ids.is_empty() {
            call(cx, "ModifyNetworkInterfaceAttribute", |c| {
                c.modify_network_interface_attribute()
                    .network_interface_id(ch.id)
                    .set_groups(Some(n.security_group_ids.clone()))
                    .send()
            })
            .await?;
        }
        if o.description != n.description {
            call(cx, "ModifyNetworkInterfaceAttribute", |c| {
                c.modify_network_interface_attribute()
                    .network_interface_id(ch.id)
                    .description(
                        ec2::AttributeValue::builder()
                            .value(n.description.clone().unwrap_or_default())
                            .build(),
                    )
                    .send()
            })
            .await?;
        }
        if o.source_dest_check.unwrap_or(true) != n.source_dest_check.unwrap_or(true) {
            call(cx, "ModifyNetworkInterfaceAttribute", |c| {
                c.modify_network_interface_attribute()
                    .network_interface_id(ch.id)
                    .source_dest_check(flag(n.source_dest_check.unwrap_or(true)))
                    .send()
            })
            .await?;
        }
        sync_tags(cx, ch.id, &o.tags, &n.tags).await?;
        Ok(outputs(&describe(cx, ch.id).await?))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteNetworkInterface", |c| {
            c.delete_network_interface().network_interface_id(id).send()
        })
        .await?;
        Ok(())
    }
}
