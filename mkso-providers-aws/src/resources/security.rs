//! Security groups and their rules.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, IpPermission, IpRange, ResourceType, UserIdGroupPair};
use mkso::typed::{Created, CustomResource, Planned};

use super::common::{
    Cx, ReadResult, Result, Update, by_id, by_urn, call, call_unless, created, default_name,
    observed, own_tags, tag_spec, text, unless_unset, urn_filter, valid_cidr,
};
use super::{
    SecurityGroup, SecurityGroupInputs, SecurityGroupOutputs, SecurityGroupRule,
    SecurityGroupRuleInputs, SecurityGroupRuleOutputs, SecurityGroupRulePlanned,
};
use crate::provider::AwsState;

/// EC2's description when the program sets none.
const DEFAULT_DESCRIPTION: &str = "managed by mkso";

// ---- Security group ----

fn group_outputs(g: &ec2::SecurityGroup) -> SecurityGroupOutputs {
    SecurityGroupOutputs {
        id: text(g.group_id()),
        name: text(g.group_name()),
    }
}

#[async_trait]
impl CustomResource<AwsState> for SecurityGroup {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let name = i.name.clone().unwrap_or_else(|| default_name(cx));
        let out = call(cx, "CreateSecurityGroup", |c| {
            c.create_security_group()
                .group_name(&name)
                .description(i.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
                .vpc_id(&i.vpc_id)
                .tag_specifications(tag_spec(cx, ResourceType::SecurityGroup, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.group_id());
        Ok(created(id.clone(), SecurityGroupOutputs { id, name }))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeSecurityGroups", |c| {
            c.describe_security_groups().filters(urn_filter(cx)).send()
        })
        .await?;
        let found = by_urn(cx, out.security_groups(), |g| g.tags());
        Ok(found.map(|g| created(text(g.group_id()), group_outputs(g))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let out = call(cx, "DescribeSecurityGroups", |c| {
            c.describe_security_groups().group_ids(id).send()
        })
        .await?;
        let g = by_id("security group", id, out.security_groups(), |g| {
            g.group_id()
        })?;
        // Unset in the program means the default name and description.
        let name = unless_unset(recorded.map(|r| &r.name), text(g.group_name()));
        let description = match (recorded.map(|r| &r.description), g.description()) {
            (Some(None), Some(DEFAULT_DESCRIPTION)) => None,
            (_, d) => d.map(String::from),
        };
        let inputs = SecurityGroupInputs {
            name,
            description,
            vpc_id: text(g.vpc_id()),
            tags: own_tags(cx, g.tags()),
        };
        Ok(observed(id, inputs, group_outputs(&g)))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteSecurityGroup", |c| {
            c.delete_security_group().group_id(id).send()
        })
        .await?;
        Ok(())
    }
}

// ---- Security group rule ----

/// The rule as EC2's permission (one range per CIDR block, the description
/// on each).
fn permission(i: &SecurityGroupRuleInputs) -> IpPermission {
    let description = || i.description.clone();
    let mut p = IpPermission::builder()
        .ip_protocol(&i.protocol)
        .from_port(i.from_port)
        .to_port(i.to_port);
    for c in &i.cidr_blocks {
        let range = IpRange::builder().cidr_ip(c).set_description(description());
        p = p.ip_ranges(range.build());
    }
    if let Some(g) = &i.source_security_group_id {
        let pair = UserIdGroupPair::builder().group_id(g);
        p = p.user_id_group_pairs(pair.set_description(description()).build());
    }
    p.build()
}

fn egress(i: &SecurityGroupRuleInputs) -> bool {
    i.direction == "egress"
}

#[async_trait]
impl CustomResource<AwsState> for SecurityGroupRule {
    /// A rule is its content: EC2 refuses a second copy next to the first
    /// (`InvalidPermission.Duplicate`), so a replacement deletes first.
    const DELETE_BEFORE_REPLACE: bool = true;

    fn check(i: &SecurityGroupRulePlanned) -> Vec<(String, String)> {
        let mut f = Vec::new();
        if let Planned::Known(d) = &i.direction
            && d != "ingress"
            && d != "egress"
        {
            f.push((
                "direction".into(),
                format!("{d:?} is not `ingress` or `egress`"),
            ));
        }
        if let Planned::Known(blocks) = &i.cidr_blocks {
            for b in blocks.iter().filter(|b| !valid_cidr(b)) {
                f.push((
                    "cidr_blocks".into(),
                    format!("`{b}` is not an IPv4 CIDR block"),
                ));
            }
        }
        f
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let spec = tag_spec(cx, ResourceType::SecurityGroupRule, &Default::default());
        let (group, p) = (&i.security_group_id, permission(i));
        let rules = if egress(i) {
            call(cx, "AuthorizeSecurityGroupEgress", |c| {
                let req = c.authorize_security_group_egress().group_id(group);
                req.ip_permissions(p).tag_specifications(spec).send()
            })
            .await?
            .security_group_rules
        } else {
            call(cx, "AuthorizeSecurityGroupIngress", |c| {
                let req = c.authorize_security_group_ingress().group_id(group);
                req.ip_permissions(p).tag_specifications(spec).send()
            })
            .await?
            .security_group_rules
        };
        let rule = rules.unwrap_or_default().into_iter().next();
        let id = text(rule.as_ref().and_then(|r| r.security_group_rule_id()));
        Ok(created(&id, SecurityGroupRuleOutputs { id: id.clone() }))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeSecurityGroupRules", |c| {
            c.describe_security_group_rules()
                .filters(urn_filter(cx))
                .send()
        })
        .await?;
        let found = by_urn(cx, out.security_group_rules(), |r| r.tags());
        let id = found.and_then(|r| r.security_group_rule_id());
        Ok(id.map(|id| created(id, SecurityGroupRuleOutputs { id: id.into() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let out = call(cx, "DescribeSecurityGroupRules", |c| {
            c.describe_security_group_rules()
                .security_group_rule_ids(id)
                .send()
        })
        .await?;
        let r = by_id("security group rule", id, out.security_group_rules(), |r| {
            r.security_group_rule_id()
        })?;
        let cidrs: Vec<String> = r.cidr_ipv4().into_iter().map(String::from).collect();
        // A rule with several ranges is one EC2 rule per range: keep the
        // recorded list when the cloud rule is one of them.
        let cidr_blocks = match recorded {
            Some(rec) if cidrs.len() == 1 && rec.cidr_blocks.contains(&cidrs[0]) => {
                rec.cidr_blocks.clone()
            }
            _ => cidrs,
        };
        let source_security_group_id = match (recorded, r.referenced_group_info()) {
            (_, Some(g)) => g.group_id().map(String::from),
            (Some(rec), None) => rec.source_security_group_id.clone(),
            (None, None) => None,
        };
        let direction = if r.is_egress().unwrap_or(false) {
            "egress"
        } else {
            "ingress"
        };
        let description = r.description().filter(|d| !d.is_empty()).map(String::from);
        let inputs = SecurityGroupRuleInputs {
            security_group_id: text(r.group_id()),
            direction: direction.to_string(),
            protocol: text(r.ip_protocol()),
            from_port: r.from_port().unwrap_or_default(),
            to_port: r.to_port().unwrap_or_default(),
            cidr_blocks,
            source_security_group_id,
            description: description.or_else(|| recorded.and_then(|rec| rec.description.clone())),
        };
        let outputs = SecurityGroupRuleOutputs { id: id.into() };
        Ok(observed(id, inputs, outputs))
    }

    /// Only the description changes in place (every other property forces
    /// a replacement).
    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let (group, p) = (&ch.new.security_group_id, permission(ch.new));
        if egress(ch.new) {
            call(cx, "UpdateSecurityGroupRuleDescriptionsEgress", |c| {
                let req = c.update_security_group_rule_descriptions_egress();
                req.group_id(group).ip_permissions(p).send()
            })
            .await?;
        } else {
            call(cx, "UpdateSecurityGroupRuleDescriptionsIngress", |c| {
                let req = c.update_security_group_rule_descriptions_ingress();
                req.group_id(group).ip_permissions(p).send()
            })
            .await?;
        }
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, _: &str, i: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        const GONE: &str = "InvalidPermission.NotFound";
        let (group, p) = (&i.security_group_id, permission(i));
        if egress(i) {
            call_unless(cx, "RevokeSecurityGroupEgress", GONE, |c| {
                let req = c.revoke_security_group_egress().group_id(group);
                req.ip_permissions(p).send()
            })
            .await
        } else {
            call_unless(cx, "RevokeSecurityGroupIngress", GONE, |c| {
                let req = c.revoke_security_group_ingress().group_id(group);
                req.ip_permissions(p).send()
            })
            .await
        }
    }
}
