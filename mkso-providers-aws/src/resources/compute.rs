//! Instances, Elastic IPs, NAT gateways and key pairs.

use std::time::Duration;

use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{AttributeBooleanValue, DomainType, InstanceType, ResourceType};
use base64::Engine;
use mkso::ProviderError;
use mkso::provider::{CreateResponse, ReadResponse, UpdateRequest};
use serde_json::{Value, json};

use super::{
    Call, EipInputs, InstanceInputs, KeyPairInputs, NatGatewayInputs, existing, not_found,
    with_fields,
};
use crate::tags;

const WAIT: Duration = Duration::from_secs(600);

fn waiter_error(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::retryable(format!("waiting for {what}: {e}"))
}

// ---- Instance ----

fn instance_outputs(i: &aws_sdk_ec2::types::Instance) -> Value {
    json!({
        "id": i.instance_id(),
        "private_ip": i.private_ip_address(),
        "public_ip": i.public_ip_address(),
        "availability_zone": i.placement().and_then(|p| p.availability_zone()),
    })
}

async fn describe_instance(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::Instance, ProviderError> {
    let out = call
        .c
        .describe_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeInstances"))?;
    out.reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| {
            i.instance_id() == Some(id)
                && i.state().and_then(|s| s.name()).map(|n| n.as_str()) != Some("terminated")
        })
        .cloned()
        .ok_or_else(|| not_found("instance", id))
}

pub(crate) async fn create_instance(
    call: &Call<'_>,
    i: InstanceInputs,
) -> Result<CreateResponse, ProviderError> {
    let user_data = i
        .user_data
        .as_ref()
        .map(|u| base64::engine::general_purpose::STANDARD.encode(u));
    let out = call
        .c
        .run_instances()
        .image_id(&i.ami)
        .instance_type(InstanceType::from(i.instance_type.as_str()))
        .min_count(1)
        .max_count(1)
        .set_subnet_id(i.subnet_id.clone())
        .set_security_group_ids(
            (!i.security_group_ids.is_empty()).then(|| i.security_group_ids.clone()),
        )
        .set_key_name(i.key_name.clone())
        .set_user_data(user_data)
        .tag_specifications(tags::spec(ResourceType::Instance, &call.tags(&i.tags)))
        .send()
        .await
        .map_err(call.err("RunInstances"))?;
    let id = out
        .instances()
        .first()
        .and_then(|x| x.instance_id())
        .unwrap_or_default()
        .to_string();
    call.c
        .wait_until_instance_running()
        .instance_ids(&id)
        .wait(WAIT)
        .await
        .map_err(|e| waiter_error(&format!("instance {id} to run"), e))?;
    if i.source_dest_check == Some(false) {
        call.c
            .modify_instance_attribute()
            .instance_id(&id)
            .source_dest_check(AttributeBooleanValue::builder().value(false).build())
            .send()
            .await
            .map_err(call.err("ModifyInstanceAttribute"))?;
    }
    let x = describe_instance(call, &id).await?;
    Ok(CreateResponse {
        outputs: instance_outputs(&x),
        id,
    })
}

pub(crate) async fn find_instance(
    call: &Call<'_>,
) -> Result<Option<CreateResponse>, ProviderError> {
    let out = call
        .c
        .describe_instances()
        .filters(tags::urn_filter(call.identity))
        .send()
        .await
        .map_err(call.err("DescribeInstances"))?;
    let found = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| {
            tags::has_urn(i.tags(), call.identity)
                && !matches!(
                    i.state().and_then(|s| s.name()).map(|n| n.as_str()),
                    Some("terminated") | Some("shutting-down")
                )
        });
    Ok(found.map(|x| CreateResponse {
        id: x.instance_id().unwrap_or_default().to_string(),
        outputs: instance_outputs(x),
    }))
}

pub(crate) async fn read_instance(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let x = describe_instance(call, id).await?;
    let own = tags::own_tags(&tags::from_sdk(x.tags()), &call.p.config.default_tags);
    let mut groups: Vec<String> = x
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id().map(String::from))
        .collect();
    groups.sort();
    let mut recorded_groups: Vec<String> = recorded
        .get("security_group_ids")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    recorded_groups.sort();
    let mut fields = json!({
        "ami": x.image_id(),
        "instance_type": x.instance_type().map(|t| t.as_str().to_string()),
        "tags": own,
    });
    if groups != recorded_groups && !(groups.len() == 1 && recorded_groups.is_empty()) {
        fields["security_group_ids"] = json!(groups);
    }
    let sdc = x.source_dest_check().unwrap_or(true);
    if !(sdc && recorded.get("source_dest_check").is_none_or(Value::is_null)) {
        fields["source_dest_check"] = json!(sdc);
    }
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(recorded, fields)),
        outputs: instance_outputs(&x),
    })
}

pub(crate) async fn update_instance(
    call: &Call<'_>,
    req: &UpdateRequest,
    o: InstanceInputs,
    n: InstanceInputs,
) -> Result<Value, ProviderError> {
    if o.security_group_ids != n.security_group_ids && !n.security_group_ids.is_empty() {
        call.c
            .modify_instance_attribute()
            .instance_id(&req.id)
            .set_groups(Some(n.security_group_ids.clone()))
            .send()
            .await
            .map_err(call.err("ModifyInstanceAttribute"))?;
    }
    if o.source_dest_check.unwrap_or(true) != n.source_dest_check.unwrap_or(true) {
        call.c
            .modify_instance_attribute()
            .instance_id(&req.id)
            .source_dest_check(
                AttributeBooleanValue::builder()
                    .value(n.source_dest_check.unwrap_or(true))
                    .build(),
            )
            .send()
            .await
            .map_err(call.err("ModifyInstanceAttribute"))?;
    }
    call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
        .await?;
    let x = describe_instance(call, &req.id).await?;
    Ok(instance_outputs(&x))
}

pub(crate) async fn delete_instance(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    call.c
        .terminate_instances()
        .instance_ids(id)
        .send()
        .await
        .map_err(call.err("TerminateInstances"))?;
    call.c
        .wait_until_instance_terminated()
        .instance_ids(id)
        .wait(WAIT)
        .await
        .map_err(|e| waiter_error(&format!("instance {id} to terminate"), e))?;
    Ok(())
}

// ---- Elastic IP ----

async fn describe_eip(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::Address, ProviderError> {
    let out = call
        .c
        .describe_addresses()
        .allocation_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeAddresses"))?;
    out.addresses()
        .iter()
        .find(|a| a.allocation_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("Elastic IP", id))
}

fn eip_outputs(a: &aws_sdk_ec2::types::Address) -> Value {
    json!({
        "id": a.allocation_id(),
        "public_ip": a.public_ip(),
        "association_id": a.association_id(),
    })
}

pub(crate) async fn create_eip(
    call: &Call<'_>,
    i: EipInputs,
) -> Result<CreateResponse, ProviderError> {
    let out = call
        .c
        .allocate_address()
        .domain(DomainType::Vpc)
        .tag_specifications(tags::spec(ResourceType::ElasticIp, &call.tags(&i.tags)))
        .send()
        .await
        .map_err(call.err("AllocateAddress"))?;
    let id = out.allocation_id().unwrap_or_default().to_string();
    if let Some(inst) = &i.instance_id {
        associate(call, &id, inst).await?;
    }
    let a = describe_eip(call, &id).await?;
    Ok(CreateResponse {
        outputs: eip_outputs(&a),
        id,
    })
}

async fn associate(call: &Call<'_>, id: &str, instance: &str) -> Result<(), ProviderError> {
    call.c
        .associate_address()
        .allocation_id(id)
        .instance_id(instance)
        .send()
        .await
        .map_err(call.err("AssociateAddress"))?;
    Ok(())
}

pub(crate) async fn find_eip(call: &Call<'_>) -> Result<Option<CreateResponse>, ProviderError> {
    let out = call
        .c
        .describe_addresses()
        .filters(tags::urn_filter(call.identity))
        .send()
        .await
        .map_err(call.err("DescribeAddresses"))?;
    Ok(out
        .addresses()
        .iter()
        .find(|x| tags::has_urn(x.tags(), call.identity))
        .map(|a| CreateResponse {
            id: a.allocation_id().unwrap_or_default().to_string(),
            outputs: eip_outputs(a),
        }))
}

pub(crate) async fn read_eip(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let a = describe_eip(call, id).await?;
    let own = tags::own_tags(&tags::from_sdk(a.tags()), &call.p.config.default_tags);
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({"instance_id": a.instance_id().filter(|i| !i.is_empty()), "tags": own}),
        )),
        outputs: eip_outputs(&a),
    })
}

pub(crate) async fn update_eip(
    call: &Call<'_>,
    req: &UpdateRequest,
    o: EipInputs,
    n: EipInputs,
) -> Result<Value, ProviderError> {
    if o.instance_id != n.instance_id {
        let a = describe_eip(call, &req.id).await?;
        if let Some(assoc) = a.association_id() {
            call.c
                .disassociate_address()
                .association_id(assoc)
                .send()
                .await
                .map_err(call.err("DisassociateAddress"))?;
        }
        if let Some(inst) = &n.instance_id {
            associate(call, &req.id, inst).await?;
        }
    }
    call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
        .await?;
    Ok(eip_outputs(&describe_eip(call, &req.id).await?))
}

pub(crate) async fn delete_eip(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    let Some(a) = existing(describe_eip(call, id).await)? else {
        return Ok(());
    };
    if let Some(assoc) = a.association_id() {
        call.c
            .disassociate_address()
            .association_id(assoc)
            .send()
            .await
            .map_err(call.err("DisassociateAddress"))?;
    }
    call.c
        .release_address()
        .allocation_id(id)
        .send()
        .await
        .map_err(call.err("ReleaseAddress"))?;
    Ok(())
}

// ---- NAT gateway ----

async fn describe_nat(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::NatGateway, ProviderError> {
    let out = call
        .c
        .describe_nat_gateways()
        .nat_gateway_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeNatGateways"))?;
    // Match the id here too: moto answers with every NAT gateway.
    out.nat_gateways()
        .iter()
        .find(|n| {
            n.nat_gateway_id() == Some(id) && n.state().map(|s| s.as_str()) != Some("deleted")
        })
        .cloned()
        .ok_or_else(|| not_found("NAT gateway", id))
}

pub(crate) async fn create_nat(
    call: &Call<'_>,
    i: NatGatewayInputs,
) -> Result<CreateResponse, ProviderError> {
    let out = call
        .c
        .create_nat_gateway()
        .subnet_id(&i.subnet_id)
        .allocation_id(&i.allocation_id)
        .tag_specifications(tags::spec(ResourceType::Natgateway, &call.tags(&i.tags)))
        .send()
        .await
        .map_err(call.err("CreateNatGateway"))?;
    let id = out
        .nat_gateway()
        .and_then(|n| n.nat_gateway_id())
        .unwrap_or_default()
        .to_string();
    call.c
        .wait_until_nat_gateway_available()
        .nat_gateway_ids(&id)
        .wait(WAIT)
        .await
        .map_err(|e| waiter_error(&format!("NAT gateway {id} to be available"), e))?;
    Ok(CreateResponse {
        outputs: json!({"id": id}),
        id,
    })
}

pub(crate) async fn find_nat(call: &Call<'_>) -> Result<Option<CreateResponse>, ProviderError> {
    let out = call
        .c
        .describe_nat_gateways()
        .filter(tags::urn_filter(call.identity))
        .send()
        .await
        .map_err(call.err("DescribeNatGateways"))?;
    Ok(out
        .nat_gateways()
        .iter()
        .find(|n| {
            tags::has_urn(n.tags(), call.identity)
                && !matches!(
                    n.state().map(|s| s.as_str()),
                    Some("deleted") | Some("deleting")
                )
        })
        .and_then(|n| n.nat_gateway_id())
        .map(|id| CreateResponse {
            outputs: json!({"id": id}),
            id: id.to_string(),
        }))
}

pub(crate) async fn read_nat(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let n = describe_nat(call, id).await?;
    let own = tags::own_tags(&tags::from_sdk(n.tags()), &call.p.config.default_tags);
    let alloc = n
        .nat_gateway_addresses()
        .first()
        .and_then(|a| a.allocation_id());
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({"subnet_id": n.subnet_id(), "allocation_id": alloc, "tags": own}),
        )),
        outputs: json!({"id": id}),
    })
}

pub(crate) async fn delete_nat(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    call.c
        .delete_nat_gateway()
        .nat_gateway_id(id)
        .send()
        .await
        .map_err(call.err("DeleteNatGateway"))?;
    call.c
        .wait_until_nat_gateway_deleted()
        .nat_gateway_ids(id)
        .wait(WAIT)
        .await
        .map_err(|e| waiter_error(&format!("NAT gateway {id} to be deleted"), e))?;
    Ok(())
}

// ---- Key pair ----

pub(crate) async fn create_key_pair(
    call: &Call<'_>,
    i: KeyPairInputs,
) -> Result<CreateResponse, ProviderError> {
    let name = i.key_name.clone().unwrap_or_else(|| call.default_name());
    let out = call
        .c
        .import_key_pair()
        .key_name(&name)
        .public_key_material(Blob::new(i.public_key.as_bytes()))
        .tag_specifications(tags::spec(ResourceType::KeyPair, &call.tags(&i.tags)))
        .send()
        .await
        .map_err(call.err("ImportKeyPair"))?;
    let id = out.key_pair_id().unwrap_or(&name).to_string();
    Ok(CreateResponse {
        outputs: json!({"id": id, "key_name": name, "fingerprint": out.key_fingerprint()}),
        id,
    })
}

async fn describe_key(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::KeyPairInfo, ProviderError> {
    let out = call
        .c
        .describe_key_pairs()
        .key_pair_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeKeyPairs"))?;
    out.key_pairs()
        .iter()
        .find(|x| x.key_pair_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("key pair", id))
}

pub(crate) async fn find_key_pair(
    call: &Call<'_>,
) -> Result<Option<CreateResponse>, ProviderError> {
    let out = call
        .c
        .describe_key_pairs()
        .filters(tags::urn_filter(call.identity))
        .send()
        .await
        .map_err(call.err("DescribeKeyPairs"))?;
    Ok(out.key_pairs().iter().find(|x| tags::has_urn(x.tags(), call.identity)).map(|k| {
        let id = k.key_pair_id().unwrap_or_default().to_string();
        CreateResponse {
            outputs: json!({"id": id, "key_name": k.key_name(), "fingerprint": k.key_fingerprint()}),
            id,
        }
    }))
}

pub(crate) async fn read_key_pair(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let k = describe_key(call, id).await?;
    let own = tags::own_tags(&tags::from_sdk(k.tags()), &call.p.config.default_tags);
    // Unset in the program means the default name.
    let key_name = if recorded.get("key_name").is_some_and(Value::is_null) {
        Value::Null
    } else {
        json!(k.key_name())
    };
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({"key_name": key_name, "tags": own}),
        )),
        outputs: json!({"id": id, "key_name": k.key_name(), "fingerprint": k.key_fingerprint()}),
    })
}

pub(crate) async fn delete_key_pair(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    // By name: some EC2 implementations ignore KeyPairId on delete.
    let Some(k) = existing(describe_key(call, id).await)? else {
        return Ok(());
    };
    call.c
        .delete_key_pair()
        .set_key_name(k.key_name().map(String::from))
        .send()
        .await
        .map_err(call.err("DeleteKeyPair"))?;
    Ok(())
}
