//! Network ACLs and their entries (rules).

use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, PortRange, ResourceType, RuleAction};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, Update, by_id, by_urn, call, call_unless, created, existing, observed,
    own_tags, tag_spec, text,
};
use super::{
    NetworkAcl, NetworkAclEntry, NetworkAclEntryInputs, NetworkAclEntryOutputs, NetworkAclInputs,
    NetworkAclOutputs,
};
use crate::provider::AwsState;

async fn describe_acl(cx: &Cx<'_>, id: &str) -> Result<ec2::NetworkAcl> {
    let out = call(cx, "DescribeNetworkAcls", |c| {
        c.describe_network_acls().network_acl_ids(id).send()
    })
    .await?;
    by_id("network ACL", id, out.network_acls(), |a| {
        a.network_acl_id()
    })
}

// ---- Network ACL ----

#[async_trait]
impl CustomResource<AwsState> for NetworkAcl {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateNetworkAcl", |c| {
            c.create_network_acl()
                .vpc_id(&i.vpc_id)
                .tag_specifications(tag_spec(cx, ResourceType::NetworkAcl, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.network_acl().and_then(|a| a.network_acl_id()));
        Ok(created(&id, NetworkAclOutputs { id: id.clone() }))
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeNetworkAcls", |c| {
            let vpc = ec2::Filter::builder()
                .name("vpc-id")
                .values(&i.vpc_id)
                .build();
            c.describe_network_acls().filters(vpc).send()
        })
        .await?;
        let found = by_urn(cx, out.network_acls(), |a| a.tags());
        let id = found.and_then(|a| a.network_acl_id());
        Ok(id.map(|id| created(id, NetworkAclOutputs { id: id.into() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let a = describe_acl(cx, id).await?;
        let inputs = NetworkAclInputs {
            vpc_id: text(a.vpc_id()),
            tags: own_tags(cx, a.tags()),
        };
        Ok(observed(id, inputs, NetworkAclOutputs { id: id.into() }))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteNetworkAcl", |c| {
            c.delete_network_acl().network_acl_id(id).send()
        })
        .await?;
        Ok(())
    }
}

// ---- Network ACL entry ----

/// An entry's id: `<acl id>:<ingress|egress>:<rule number>`.
fn entry_id(i: &NetworkAclEntryInputs) -> String {
    let way = if i.egress { "egress" } else { "ingress" };
    format!("{}:{way}:{}", i.network_acl_id, i.rule_number)
}

fn parse_entry_id(id: &str) -> Result<(&str, bool, i32)> {
    let bad = || {
        ProviderError::permanent(format!(
            "`{id}` is not a network ACL entry id (`<acl id>:<ingress|egress>:<rule number>`)"
        ))
    };
    let mut parts = id.split(':');
    let (Some(acl), Some(way), Some(n), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let egress = match way {
        "egress" => true,
        "ingress" => false,
        _ => return Err(bad()),
    };
    Ok((acl, egress, n.parse().map_err(|_| bad())?))
}

fn port_range(i: &NetworkAclEntryInputs) -> Option<PortRange> {
    (i.from_port.is_some() || i.to_port.is_some()).then(|| {
        PortRange::builder()
            .set_from(i.from_port)
            .set_to(i.to_port.or(i.from_port))
            .build()
    })
}

fn action(i: &NetworkAclEntryInputs) -> RuleAction {
    RuleAction::from(i.rule_action.as_str())
}

#[async_trait]
impl CustomResource<AwsState> for NetworkAclEntry {
    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        let mut out = super::common::check_cidr("cidr_block", &i.cidr_block);
        if let mkso::typed::Planned::Known(a) = &i.rule_action
            && a != "allow"
            && a != "deny"
        {
            out.push((
                "rule_action".to_string(),
                format!("`{a}` is not `allow` or `deny`"),
            ));
        }
        out
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        call(cx, "CreateNetworkAclEntry", |c| {
            c.create_network_acl_entry()
                .network_acl_id(&i.network_acl_id)
                .rule_number(i.rule_number)
                .egress(i.egress)
                .protocol(&i.protocol)
                .rule_action(action(i))
                .cidr_block(&i.cidr_block)
                .set_port_range(port_range(i))
                .send()
        })
        .await?;
        let id = entry_id(i);
        Ok(created(&id, NetworkAclEntryOutputs { id: id.clone() }))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let (acl, egress, n) = parse_entry_id(id)?;
        let a = describe_acl(cx, acl).await?;
        let e = a
            .entries()
            .iter()
            .find(|e| e.rule_number() == Some(n) && e.egress() == Some(egress))
            .ok_or_else(|| {
                ProviderError::not_found(format!("network ACL {acl} has no rule {id}"))
            })?;
        let inputs = NetworkAclEntryInputs {
            network_acl_id: acl.to_string(),
            rule_number: n,
            egress,
            protocol: text(e.protocol()),
            rule_action: text(e.rule_action().map(|a| a.as_str())),
            cidr_block: text(e.cidr_block()),
            from_port: e.port_range().and_then(|p| p.from()),
            to_port: e.port_range().and_then(|p| p.to()),
        };
        Ok(observed(
            id,
            inputs,
            NetworkAclEntryOutputs { id: id.into() },
        ))
    }

    /// Action, protocol, range and ports change in place.
    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let n = ch.new;
        call(cx, "ReplaceNetworkAclEntry", |c| {
            c.replace_network_acl_entry()
                .network_acl_id(&n.network_acl_id)
                .rule_number(n.rule_number)
                .egress(n.egress)
                .protocol(&n.protocol)
                .rule_action(action(n))
                .cidr_block(&n.cidr_block)
                .set_port_range(port_range(n))
                .send()
        })
        .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        if existing(describe_acl(cx, &i.network_acl_id).await)?.is_none() {
            return Ok(());
        }
        call_unless(
            cx,
            "DeleteNetworkAclEntry",
            "InvalidNetworkAclEntry.NotFound",
            |c| {
                c.delete_network_acl_entry()
                    .network_acl_id(&i.network_acl_id)
                    .rule_number(i.rule_number)
                    .egress(i.egress)
                    .send()
            },
        )
        .await
        .map_err(|mut e| {
            e.message = format!("{} ({id})", e.message);
            e
        })
    }
}
