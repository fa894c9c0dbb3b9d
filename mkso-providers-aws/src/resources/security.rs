//! Security groups and their rules.

use async_trait::async_trait;
use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
use mkso::ProviderError;
use mkso::typed::{Change, Created, Ctx, CustomResource, Observed, Planned};

use super::{
    Call, SecurityGroup, SecurityGroupInputs, SecurityGroupOutputs, SecurityGroupRule,
    SecurityGroupRuleInputs, SecurityGroupRuleOutputs, SecurityGroupRulePlanned, not_found,
    valid_cidr,
};
use crate::provider::AwsState;
use crate::tags;

/// EC2's description when the program sets none.
const DEFAULT_DESCRIPTION: &str = "managed by mkso";

// ---- Security group ----

#[async_trait]
impl CustomResource<AwsState> for SecurityGroup {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &SecurityGroupInputs,
    ) -> Result<Created<SecurityGroupOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let name = i.name.clone().unwrap_or_else(|| call.default_name());
        let out = call
            .c
            .create_security_group()
            .group_name(&name)
            .description(i.description.as_deref().unwrap_or(DEFAULT_DESCRIPTION))
            .vpc_id(&i.vpc_id)
            .tag_specifications(tags::spec(ResourceType::SecurityGroup, &call.tags(&i.tags)))
            .send()
            .await
            .map_err(call.err("CreateSecurityGroup"))?;
        let id = out.group_id().unwrap_or_default().to_string();
        Ok(Created {
            outputs: SecurityGroupOutputs {
                id: id.clone(),
                name,
            },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &SecurityGroupInputs,
    ) -> Result<Option<Created<SecurityGroupOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_security_groups()
            .filters(tags::urn_filter(call.identity))
            .send()
            .await
            .map_err(call.err("DescribeSecurityGroups"))?;
        Ok(out
            .security_groups()
            .iter()
            .find(|x| tags::has_urn(x.tags(), call.identity))
            .map(|g| {
                let id = g.group_id().unwrap_or_default().to_string();
                Created {
                    outputs: SecurityGroupOutputs {
                        id: id.clone(),
                        name: g.group_name().unwrap_or_default().to_string(),
                    },
                    id,
                }
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        recorded: Option<&SecurityGroupInputs>,
    ) -> Result<Observed<SecurityGroupInputs, SecurityGroupOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let g = describe_group(&call, id).await?;
        let group_name = g.group_name().unwrap_or_default().to_string();
        // Unset in the program means the default name and description.
        let name = if recorded.is_some_and(|r| r.name.is_none()) {
            None
        } else {
            Some(group_name.clone())
        };
        let description = match (recorded.map(|r| &r.description), g.description()) {
            (Some(None), Some(DEFAULT_DESCRIPTION)) => None,
            (_, d) => d.map(String::from),
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(SecurityGroupInputs {
                name,
                description,
                vpc_id: g.vpc_id().unwrap_or_default().to_string(),
                tags: call.own_tags(g.tags()),
            }),
            outputs: SecurityGroupOutputs {
                id: id.to_string(),
                name: group_name,
            },
        })
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &SecurityGroupInputs,
        _: &SecurityGroupOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        call.c
            .delete_security_group()
            .group_id(id)
            .send()
            .await
            .map_err(call.err("DeleteSecurityGroup"))?;
        Ok(())
    }
}

async fn describe_group(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::SecurityGroup, ProviderError> {
    let out = call
        .c
        .describe_security_groups()
        .group_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeSecurityGroups"))?;
    out.security_groups()
        .iter()
        .find(|x| x.group_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("security group", id))
}

// ---- Security group rule ----

fn permission(i: &SecurityGroupRuleInputs) -> IpPermission {
    let mut p = IpPermission::builder()
        .ip_protocol(&i.protocol)
        .from_port(i.from_port)
        .to_port(i.to_port);
    for c in &i.cidr_blocks {
        let r = IpRange::builder()
            .cidr_ip(c)
            .set_description(i.description.clone());
        p = p.ip_ranges(r.build());
    }
    if let Some(g) = &i.source_security_group_id {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(i.description.clone())
                .build(),
        );
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

    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &SecurityGroupRuleInputs,
    ) -> Result<Created<SecurityGroupRuleOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let spec = tags::spec(
            ResourceType::SecurityGroupRule,
            &call.tags(&Default::default()),
        );
        let rules = if egress(i) {
            call.c
                .authorize_security_group_egress()
                .group_id(&i.security_group_id)
                .ip_permissions(permission(i))
                .tag_specifications(spec)
                .send()
                .await
                .map_err(call.err("AuthorizeSecurityGroupEgress"))?
                .security_group_rules
                .unwrap_or_default()
        } else {
            call.c
                .authorize_security_group_ingress()
                .group_id(&i.security_group_id)
                .ip_permissions(permission(i))
                .tag_specifications(spec)
                .send()
                .await
                .map_err(call.err("AuthorizeSecurityGroupIngress"))?
                .security_group_rules
                .unwrap_or_default()
        };
        let id = rules
            .first()
            .and_then(|r| r.security_group_rule_id())
            .unwrap_or_default()
            .to_string();
        Ok(Created {
            outputs: SecurityGroupRuleOutputs { id: id.clone() },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &SecurityGroupRuleInputs,
    ) -> Result<Option<Created<SecurityGroupRuleOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_security_group_rules()
            .filters(tags::urn_filter(call.identity))
            .send()
            .await
            .map_err(call.err("DescribeSecurityGroupRules"))?;
        Ok(out
            .security_group_rules()
            .iter()
            .find(|x| tags::has_urn(x.tags(), call.identity))
            .and_then(|r| r.security_group_rule_id())
            .map(|id| Created {
                outputs: SecurityGroupRuleOutputs { id: id.to_string() },
                id: id.to_string(),
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        recorded: Option<&SecurityGroupRuleInputs>,
    ) -> Result<Observed<SecurityGroupRuleInputs, SecurityGroupRuleOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let r = describe_rule(&call, id).await?;
        let cidrs: Vec<String> = r
            .cidr_ipv4()
            .map(|c| vec![c.to_string()])
            .unwrap_or_default();
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
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(SecurityGroupRuleInputs {
                security_group_id: r.group_id().unwrap_or_default().to_string(),
                direction: if r.is_egress().unwrap_or(false) {
                    "egress"
                } else {
                    "ingress"
                }
                .to_string(),
                protocol: r.ip_protocol().unwrap_or_default().to_string(),
                from_port: r.from_port().unwrap_or_default(),
                to_port: r.to_port().unwrap_or_default(),
                cidr_blocks,
                source_security_group_id,
                description: r
                    .description()
                    .filter(|d| !d.is_empty())
                    .map(String::from)
                    .or_else(|| recorded.and_then(|rec| rec.description.clone())),
            }),
            outputs: SecurityGroupRuleOutputs { id: id.to_string() },
        })
    }

    /// Only the description changes in place (every other property forces
    /// a replacement).
    async fn update(
        cx: &Ctx<'_, AwsState>,
        ch: Change<'_, SecurityGroupRuleInputs, SecurityGroupRuleOutputs>,
    ) -> Result<SecurityGroupRuleOutputs, ProviderError> {
        let call = Call::of(cx).await;
        let n = ch.new;
        if egress(n) {
            call.c
                .update_security_group_rule_descriptions_egress()
                .group_id(&n.security_group_id)
                .ip_permissions(permission(n))
                .send()
                .await
                .map_err(call.err("UpdateSecurityGroupRuleDescriptionsEgress"))?;
        } else {
            call.c
                .update_security_group_rule_descriptions_ingress()
                .group_id(&n.security_group_id)
                .ip_permissions(permission(n))
                .send()
                .await
                .map_err(call.err("UpdateSecurityGroupRuleDescriptionsIngress"))?;
        }
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        _: &str,
        i: &SecurityGroupRuleInputs,
        _: &SecurityGroupRuleOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        let revoked = if egress(i) {
            call.c
                .revoke_security_group_egress()
                .group_id(&i.security_group_id)
                .ip_permissions(permission(i))
                .send()
                .await
                .map(|_| ())
                .map_err(call.err("RevokeSecurityGroupEgress"))
        } else {
            call.c
                .revoke_security_group_ingress()
                .group_id(&i.security_group_id)
                .ip_permissions(permission(i))
                .send()
                .await
                .map(|_| ())
                .map_err(call.err("RevokeSecurityGroupIngress"))
        };
        match revoked {
            Err(e) if e.code.as_deref() == Some("InvalidPermission.NotFound") => Ok(()),
            r => r,
        }
    }
}

async fn describe_rule(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::SecurityGroupRule, ProviderError> {
    let out = call
        .c
        .describe_security_group_rules()
        .security_group_rule_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeSecurityGroupRules"))?;
    out.security_group_rules()
        .iter()
        .find(|x| x.security_group_rule_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("security group rule", id))
}
