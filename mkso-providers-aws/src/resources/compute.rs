//! Instances, Elastic IPs, NAT gateways and key pairs.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{AttributeBooleanValue, DomainType, InstanceType, ResourceType};
use base64::Engine;
use mkso::ProviderError;
use mkso::typed::{Change, Created, Ctx, CustomResource, Observed};

use super::{
    Call, Eip, EipInputs, EipOutputs, Instance, InstanceInputs, InstanceOutputs, KeyPair,
    KeyPairInputs, KeyPairOutputs, NatGateway, NatGatewayInputs, NatGatewayOutputs, existing,
    not_found,
};
use crate::provider::AwsState;
use crate::tags;

const WAIT: Duration = Duration::from_secs(600);

fn waiter_error(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::retryable(format!("waiting for {what}: {e}"))
}

// ---- Instance ----

fn instance_outputs(i: &aws_sdk_ec2::types::Instance) -> InstanceOutputs {
    InstanceOutputs {
        id: i.instance_id().unwrap_or_default().to_string(),
        private_ip: i.private_ip_address().map(String::from),
        public_ip: i.public_ip_address().map(String::from),
        availability_zone: i
            .placement()
            .and_then(|p| p.availability_zone())
            .map(String::from),
    }
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

#[async_trait]
impl CustomResource<AwsState> for Instance {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &InstanceInputs,
    ) -> Result<Created<InstanceOutputs>, ProviderError> {
        let call = Call::of(cx).await;
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
        let x = describe_instance(&call, &id).await?;
        Ok(Created {
            outputs: instance_outputs(&x),
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &InstanceInputs,
    ) -> Result<Option<Created<InstanceOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
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
        Ok(found.map(|x| Created {
            id: x.instance_id().unwrap_or_default().to_string(),
            outputs: instance_outputs(x),
        }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        recorded: Option<&InstanceInputs>,
    ) -> Result<Observed<InstanceInputs, InstanceOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let x = describe_instance(&call, id).await?;
        let mut groups: Vec<String> = x
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(String::from))
            .collect();
        groups.sort();
        let recorded_list = recorded
            .map(|r| r.security_group_ids.clone())
            .unwrap_or_default();
        let mut recorded_groups = recorded_list.clone();
        recorded_groups.sort();
        // No groups in the program means the VPC's default group.
        let security_group_ids =
            if groups != recorded_groups && !(groups.len() == 1 && recorded_groups.is_empty()) {
                groups
            } else {
                recorded_list
            };
        let sdc = x.source_dest_check().unwrap_or(true);
        let recorded_sdc = recorded.and_then(|r| r.source_dest_check);
        let source_dest_check = if sdc && recorded_sdc.is_none() {
            None
        } else {
            Some(sdc)
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(InstanceInputs {
                ami: x.image_id().unwrap_or_default().to_string(),
                instance_type: x
                    .instance_type()
                    .map(|t| t.as_str().to_string())
                    .unwrap_or_default(),
                subnet_id: match recorded {
                    Some(r) => r.subnet_id.clone(),
                    None => x.subnet_id().map(String::from),
                },
                security_group_ids,
                key_name: match recorded {
                    Some(r) => r.key_name.clone(),
                    None => x.key_name().map(String::from),
                },
                // EC2 does not show user data without another call: kept.
                user_data: recorded.and_then(|r| r.user_data.clone()),
                source_dest_check,
                tags: call.own_tags(x.tags()),
            }),
            outputs: instance_outputs(&x),
        })
    }

    async fn update(
        cx: &Ctx<'_, AwsState>,
        ch: Change<'_, InstanceInputs, InstanceOutputs>,
    ) -> Result<InstanceOutputs, ProviderError> {
        let call = Call::of(cx).await;
        let (o, n) = (ch.old, ch.new);
        if o.security_group_ids != n.security_group_ids && !n.security_group_ids.is_empty() {
            call.c
                .modify_instance_attribute()
                .instance_id(ch.id)
                .set_groups(Some(n.security_group_ids.clone()))
                .send()
                .await
                .map_err(call.err("ModifyInstanceAttribute"))?;
        }
        if o.source_dest_check.unwrap_or(true) != n.source_dest_check.unwrap_or(true) {
            call.c
                .modify_instance_attribute()
                .instance_id(ch.id)
                .source_dest_check(
                    AttributeBooleanValue::builder()
                        .value(n.source_dest_check.unwrap_or(true))
                        .build(),
                )
                .send()
                .await
                .map_err(call.err("ModifyInstanceAttribute"))?;
        }
        call.sync_tags(ch.id, &call.tags(&o.tags), &call.tags(&n.tags))
            .await?;
        let x = describe_instance(&call, ch.id).await?;
        Ok(instance_outputs(&x))
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &InstanceInputs,
        _: &InstanceOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
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

fn eip_outputs(a: &aws_sdk_ec2::types::Address) -> EipOutputs {
    EipOutputs {
        id: a.allocation_id().unwrap_or_default().to_string(),
        public_ip: a.public_ip().unwrap_or_default().to_string(),
        association_id: a.association_id().map(String::from),
    }
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

async fn disassociate(
    call: &Call<'_>,
    a: &aws_sdk_ec2::types::Address,
) -> Result<(), ProviderError> {
    if let Some(assoc) = a.association_id() {
        call.c
            .disassociate_address()
            .association_id(assoc)
            .send()
            .await
            .map_err(call.err("DisassociateAddress"))?;
    }
    Ok(())
}

#[async_trait]
impl CustomResource<AwsState> for Eip {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &EipInputs,
    ) -> Result<Created<EipOutputs>, ProviderError> {
        let call = Call::of(cx).await;
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
            associate(&call, &id, inst).await?;
        }
        let a = describe_eip(&call, &id).await?;
        Ok(Created {
            outputs: eip_outputs(&a),
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &EipInputs,
    ) -> Result<Option<Created<EipOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
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
            .map(|a| Created {
                id: a.allocation_id().unwrap_or_default().to_string(),
                outputs: eip_outputs(a),
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: Option<&EipInputs>,
    ) -> Result<Observed<EipInputs, EipOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let a = describe_eip(&call, id).await?;
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(EipInputs {
                instance_id: a.instance_id().filter(|i| !i.is_empty()).map(String::from),
                tags: call.own_tags(a.tags()),
            }),
            outputs: eip_outputs(&a),
        })
    }

    async fn update(
        cx: &Ctx<'_, AwsState>,
        ch: Change<'_, EipInputs, EipOutputs>,
    ) -> Result<EipOutputs, ProviderError> {
        let call = Call::of(cx).await;
        if ch.old.instance_id != ch.new.instance_id {
            disassociate(&call, &describe_eip(&call, ch.id).await?).await?;
            if let Some(inst) = &ch.new.instance_id {
                associate(&call, ch.id, inst).await?;
            }
        }
        call.sync_tags(ch.id, &call.tags(&ch.old.tags), &call.tags(&ch.new.tags))
            .await?;
        Ok(eip_outputs(&describe_eip(&call, ch.id).await?))
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &EipInputs,
        _: &EipOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        let Some(a) = existing(describe_eip(&call, id).await)? else {
            return Ok(());
        };
        disassociate(&call, &a).await?;
        call.c
            .release_address()
            .allocation_id(id)
            .send()
            .await
            .map_err(call.err("ReleaseAddress"))?;
        Ok(())
    }
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

#[async_trait]
impl CustomResource<AwsState> for NatGateway {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &NatGatewayInputs,
    ) -> Result<Created<NatGatewayOutputs>, ProviderError> {
        let call = Call::of(cx).await;
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
        Ok(Created {
            outputs: NatGatewayOutputs { id: id.clone() },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &NatGatewayInputs,
    ) -> Result<Option<Created<NatGatewayOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
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
            .map(|id| Created {
                outputs: NatGatewayOutputs { id: id.to_string() },
                id: id.to_string(),
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        recorded: Option<&NatGatewayInputs>,
    ) -> Result<Observed<NatGatewayInputs, NatGatewayOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let n = describe_nat(&call, id).await?;
        let allocation_id = n
            .nat_gateway_addresses()
            .first()
            .and_then(|a| a.allocation_id())
            .map(String::from)
            .or_else(|| recorded.map(|r| r.allocation_id.clone()))
            .unwrap_or_default();
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(NatGatewayInputs {
                subnet_id: n.subnet_id().unwrap_or_default().to_string(),
                allocation_id,
                tags: call.own_tags(n.tags()),
            }),
            outputs: NatGatewayOutputs { id: id.to_string() },
        })
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &NatGatewayInputs,
        _: &NatGatewayOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
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
}

// ---- Key pair ----

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

fn key_outputs(k: &aws_sdk_ec2::types::KeyPairInfo) -> KeyPairOutputs {
    KeyPairOutputs {
        id: k.key_pair_id().unwrap_or_default().to_string(),
        key_name: k.key_name().unwrap_or_default().to_string(),
        fingerprint: k.key_fingerprint().map(String::from),
    }
}

#[async_trait]
impl CustomResource<AwsState> for KeyPair {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &KeyPairInputs,
    ) -> Result<Created<KeyPairOutputs>, ProviderError> {
        let call = Call::of(cx).await;
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
        Ok(Created {
            outputs: KeyPairOutputs {
                id: id.clone(),
                key_name: name,
                fingerprint: out.key_fingerprint().map(String::from),
            },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &KeyPairInputs,
    ) -> Result<Option<Created<KeyPairOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_key_pairs()
            .filters(tags::urn_filter(call.identity))
            .send()
            .await
            .map_err(call.err("DescribeKeyPairs"))?;
        Ok(out
            .key_pairs()
            .iter()
            .find(|x| tags::has_urn(x.tags(), call.identity))
            .map(|k| Created {
                id: k.key_pair_id().unwrap_or_default().to_string(),
                outputs: key_outputs(k),
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        recorded: Option<&KeyPairInputs>,
    ) -> Result<Observed<KeyPairInputs, KeyPairOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let k = describe_key(&call, id).await?;
        // EC2 does not give the public key back: on import the program's
        // inputs are taken as they are.
        let inputs = recorded.map(|r| KeyPairInputs {
            // Unset in the program means the default name.
            key_name: r
                .key_name
                .as_ref()
                .map(|_| k.key_name().unwrap_or_default().to_string()),
            public_key: r.public_key.clone(),
            tags: call.own_tags(k.tags()),
        });
        Ok(Observed {
            id: id.to_string(),
            inputs,
            outputs: key_outputs(&k),
        })
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &KeyPairInputs,
        _: &KeyPairOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        // By name: some EC2 implementations ignore KeyPairId on delete.
        let Some(k) = existing(describe_key(&call, id).await)? else {
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
}
