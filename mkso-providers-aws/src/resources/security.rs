//! Security groups and their rules.

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, UserIdGroupPair};
use mkso::ProviderError;
use mkso::provider::{CreateResponse, ReadResponse};
use serde_json::{Value, json};

use super::{Call, SecurityGroupInputs, SecurityGroupRuleInputs, not_found, with_fields};
use crate::tags;

pub(crate) async fn create_group(
    call: &Call<'_>,
    i: SecurityGroupInputs,
) -> Result<CreateResponse, ProviderError> {
    let name = i.name.clone().unwrap_or_else(|| call.default_name());
    let out = call
        .c
        .create_security_group()
        .group_name(&name)
        .description(i.description.as_deref().unwrap_or("managed by mkso"))
        .vpc_id(&i.vpc_id)
        .tag_specifications(tags::spec(ResourceType::SecurityGroup, &call.tags(&i.tags)))
        .send()
        .await
        .map_err(call.err("CreateSecurityGroup"))?;
    let id = out.group_id().unwrap_or_default().to_string();
    Ok(CreateResponse {
        outputs: json!({"id": id, "name": name}),
        id,
    })
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

pub(crate) async fn find_group(call: &Call<'_>) -> Result<Option<CreateResponse>, ProviderError> {
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
            CreateResponse {
                outputs: json!({"id": id, "name": g.group_name()}),
                id,
            }
        }))
}

pub(crate) async fn read_group(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let g = describe_group(call, id).await?;
    let own = tags::own_tags(&tags::from_sdk(g.tags()), &call.p.config.default_tags);
    let name = if recorded.get("name").is_some_and(Value::is_null) {
        Value::Null
    } else {
        json!(g.group_name())
    };
    // Unset in the program means the default description.
    let description = match (recorded.get("description"), g.description()) {
        (Some(Value::Null), Some("managed by mkso")) => Value::Null,
        (_, d) => json!(d),
    };
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({"name": name, "description": description, "vpc_id": g.vpc_id(), "tags": own}),
        )),
        outputs: json!({"id": id, "name": g.group_name()}),
    })
}

pub(crate) async fn delete_group(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    call.c
        .delete_security_group()
        .group_id(id)
        .send()
        .await
        .map_err(call.err("DeleteSecurityGroup"))?;
    Ok(())
}

fn permission(i: &SecurityGroupRuleInputs) -> IpPermission {
    let mut p = IpPermission::builder()
        .ip_protocol(&i.protocol)
        .from_port(i.from_port)
        .to_port(i.to_port);
    for c in &i.cidr_blocks {
        let mut r = IpRange::builder().cidr_ip(c);
        if let Some(d) = &i.description {
            r = r.description(d);
        }
        p = p.ip_ranges(r.build());
    }
    if let Some(g) = &i.source_security_group_id {
        p = p.user_id_group_pairs(UserIdGroupPair::builder().group_id(g).build());
    }
    p.build()
}

pub(crate) async fn create_rule(
    call: &Call<'_>,
    i: SecurityGroupRuleInputs,
) -> Result<CreateResponse, ProviderError> {
    let spec = tags::spec(
        ResourceType::SecurityGroupRule,
        &call.tags(&Default::default()),
    );
    let rules = if i.direction == "egress" {
        call.c
            .authorize_security_group_egress()
            .group_id(&i.security_group_id)
            .ip_permissions(permission(&i))
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
            .ip_permissions(permission(&i))
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
    Ok(CreateResponse {
        outputs: json!({"id": id}),
        id,
    })
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

pub(crate) async fn find_rule(call: &Call<'_>) -> Result<Option<CreateResponse>, ProviderError> {
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
        .map(|id| CreateResponse {
            outputs: json!({"id": id}),
            id: id.to_string(),
        }))
}

pub(crate) async fn read_rule(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let r = describe_rule(call, id).await?;
    let cidrs: Vec<String> = r
        .cidr_ipv4()
        .map(|c| vec![c.to_string()])
        .unwrap_or_default();
    let mut fields = json!({
        "security_group_id": r.group_id(),
        "direction": if r.is_egress().unwrap_or(false) { "egress" } else { "ingress" },
        "protocol": r.ip_protocol(),
        "from_port": r.from_port(),
        "to_port": r.to_port(),
    });
    // A rule with several ranges is one EC2 rule per range: keep the recorded list
    // when the cloud rule is one of them.
    let recorded_cidrs: Vec<String> = recorded
        .get("cidr_blocks")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if !(cidrs.len() == 1 && recorded_cidrs.contains(&cidrs[0])) {
        fields["cidr_blocks"] = json!(cidrs);
    }
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(recorded, fields)),
        outputs: json!({"id": id}),
    })
}

pub(crate) async fn delete_rule(
    call: &Call<'_>,
    id: &str,
    i: SecurityGroupRuleInputs,
) -> Result<(), ProviderError> {
    if i.direction == "egress" {
        call.c
            .revoke_security_group_egress()
            .group_id(&i.security_group_id)
            .ip_permissions(permission(&i))
            .send()
            .await
            .map_err(call.err("RevokeSecurityGroupEgress"))?;
    } else {
        call.c
            .revoke_security_group_ingress()
            .group_id(&i.security_group_id)
            .ip_permissions(permission(&i))
            .send()
            .await
            .map_err(call.err("RevokeSecurityGroupIngress"))?;
    }
    let _ = id;
    Ok(())
}
