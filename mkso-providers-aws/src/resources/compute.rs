//! Instances, Elastic IPs, NAT gateways and key pairs.

use async_trait::async_trait;
use aws_sdk_ec2::client::Waiters;
use aws_sdk_ec2::primitives::Blob;
use aws_sdk_ec2::types::{self as ec2, DomainType, InstanceType, ResourceType};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use mkso::typed::{Created, CustomResource, Observed};

use super::common::{
    Cx, ReadResult, Result, Update, by_id, by_urn, call, created, default_name, existing, flag,
    observed, own_tags, sync_tags, tag_spec, text, unless_default, unless_unset, urn_filter, wait,
};
use super::{
    Eip, EipInputs, EipOutputs, Instance, InstanceInputs, InstanceOutputs, KeyPair, KeyPairInputs,
    KeyPairOutputs, NatGateway, NatGatewayInputs, NatGatewayOutputs,
};
use crate::provider::AwsState;

// ---- Instance ----

fn instance_outputs(i: &ec2::Instance) -> InstanceOutputs {
    InstanceOutputs {
        id: text(i.instance_id()),
        private_ip: i.private_ip_address().map(String::from),
        public_ip: i.public_ip_address().map(String::from),
        availability_zone: i
            .placement()
            .and_then(|p| p.availability_zone())
            .map(String::from),
    }
}

fn state(i: &ec2::Instance) -> Option<&str> {
    i.state().and_then(|s| s.name()).map(|n| n.as_str())
}

async fn describe_instance(cx: &Cx<'_>, id: &str) -> Result<ec2::Instance> {
    let out = call(cx, "DescribeInstances", |c| {
        c.describe_instances().instance_ids(id).send()
    })
    .await?;
    let instances = out.reservations().iter().flat_map(|r| r.instances());
    let live = instances.filter(|i| state(i) != Some("terminated"));
    by_id("instance", id, live, |i| i.instance_id())
}

/// Sets `source_dest_check`.
async fn source_dest_check(cx: &Cx<'_>, id: &str, on: bool) -> Result<()> {
    call(cx, "ModifyInstanceAttribute", |c| {
        let req = c.modify_instance_attribute().instance_id(id);
        req.source_dest_check(flag(on)).send()
    })
    .await?;
    Ok(())
}

#[async_trait]
impl CustomResource<AwsState> for Instance {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let user_data = i.user_data.as_ref().map(|u| BASE64.encode(u));
        let groups = (!i.security_group_ids.is_empty()).then(|| i.security_group_ids.clone());
        let out = call(cx, "RunInstances", |c| {
            c.run_instances()
                .image_id(&i.ami)
                .instance_type(InstanceType::from(i.instance_type.as_str()))
                .min_count(1)
                .max_count(1)
                .set_subnet_id(i.subnet_id.clone())
                .set_security_group_ids(groups)
                .set_key_name(i.key_name.clone())
                .set_user_data(user_data)
                .set_iam_instance_profile(i.iam_instance_profile.as_deref().map(profile))
                .tag_specifications(tag_spec(cx, ResourceType::Instance, &i.tags))
                .send()
        })
        .await
        .map_err(|mut e| {
            // A profile IAM has just made is not yet known to EC2 (IAM is
            // eventually consistent): try again.
            if i.iam_instance_profile.is_some() && e.message.contains("iamInstanceProfile") {
                e.class = mkso::ErrorClass::Retryable;
            }
            e
        })?;
        let id = text(out.instances().first().and_then(|x| x.instance_id()));
        wait(cx, &format!("instance {id} to run"), |c, t| {
            c.wait_until_instance_running().instance_ids(&id).wait(t)
        })
        .await?;
        if i.source_dest_check == Some(false) {
            source_dest_check(cx, &id, false).await?;
        }
        let x = describe_instance(cx, &id).await?;
        Ok(created(id, instance_outputs(&x)))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeInstances", |c| {
            c.describe_instances().filters(urn_filter(cx)).send()
        })
        .await?;
        let instances = out.reservations().iter().flat_map(|r| r.instances());
        let gone = |i: &&ec2::Instance| matches!(state(i), Some("terminated" | "shutting-down"));
        let live = instances.filter(|i| !gone(i));
        let found = by_urn(cx, live, |i| i.tags());
        Ok(found.map(|x| created(text(x.instance_id()), instance_outputs(x))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let x = describe_instance(cx, id).await?;
        let mut groups: Vec<String> = x
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(String::from))
            .collect();
        groups.sort();
        let recorded_list = recorded.map_or(vec![], |r| r.security_group_ids.clone());
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
        let source_dest_check = unless_default(recorded_sdc, sdc, true);
        let inputs = InstanceInputs {
            ami: text(x.image_id()),
            instance_type: text(x.instance_type().map(|t| t.as_str())),
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
            iam_instance_profile: observed_profile(
                recorded.and_then(|r| r.iam_instance_profile.as_deref()),
                x.iam_instance_profile().and_then(|p| p.arn()),
            ),
            source_dest_check,
            tags: own_tags(cx, x.tags()),
        };
        Ok(observed(id, inputs, instance_outputs(&x)))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let (o, n) = (ch.old, ch.new);
        if o.security_group_ids != n.security_group_ids && !n.security_group_ids.is_empty() {
            call(cx, "ModifyInstanceAttribute", |c| {
                let req = c.modify_instance_attribute().instance_id(ch.id);
                req.set_groups(Some(n.security_group_ids.clone())).send()
            })
            .await?;
        }
        if o.source_dest_check.unwrap_or(true) != n.source_dest_check.unwrap_or(true) {
            source_dest_check(cx, ch.id, n.source_dest_check.unwrap_or(true)).await?;
        }
        sync_tags(cx, ch.id, &o.tags, &n.tags).await?;
        Ok(instance_outputs(&describe_instance(cx, ch.id).await?))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "TerminateInstances", |c| {
            c.terminate_instances().instance_ids(id).send()
        })
        .await?;
        wait(cx, &format!("instance {id} to terminate"), |c, t| {
            c.wait_until_instance_terminated().instance_ids(id).wait(t)
        })
        .await
    }

    /// Ready when EC2 says `running`.
    async fn ready(cx: &Cx<'_>, id: &str) -> Result<Option<String>> {
        let x = describe_instance(cx, id).await?;
        Ok(match state(&x) {
            Some("running") => None,
            other => Some(format!(
                "instance {id} is {}",
                other.unwrap_or("in no known state")
            )),
        })
    }
}

/// An instance profile given by ARN or by name.
fn profile(p: &str) -> ec2::IamInstanceProfileSpecification {
    let b = ec2::IamInstanceProfileSpecification::builder();
    if p.starts_with("arn:") {
        b.arn(p).build()
    } else {
        b.name(p).build()
    }
}

/// The recorded profile when the instance has it (by ARN or name), else
/// the instance's ARN.
fn observed_profile(recorded: Option<&str>, cloud: Option<&str>) -> Option<String> {
    match (recorded, cloud) {
        (Some(r), Some(c)) if c == r || c.ends_with(&format!("/{r}")) => Some(r.to_string()),
        (_, c) => c.map(String::from),
    }
}

// ---- Elastic IP ----

async fn describe_eip(cx: &Cx<'_>, id: &str) -> Result<ec2::Address> {
    let out = call(cx, "DescribeAddresses", |c| {
        c.describe_addresses().allocation_ids(id).send()
    })
    .await?;
    by_id("Elastic IP", id, out.addresses(), |a| a.allocation_id())
}

fn eip_outputs(a: &ec2::Address) -> EipOutputs {
    EipOutputs {
        id: text(a.allocation_id()),
        public_ip: text(a.public_ip()),
        association_id: a.association_id().map(String::from),
    }
}

async fn associate(cx: &Cx<'_>, id: &str, instance: &str) -> Result<()> {
    call(cx, "AssociateAddress", |c| {
        let req = c.associate_address().allocation_id(id);
        req.instance_id(instance).send()
    })
    .await?;
    Ok(())
}

async fn disassociate(cx: &Cx<'_>, a: &ec2::Address) -> Result<()> {
    if let Some(assoc) = a.association_id() {
        call(cx, "DisassociateAddress", |c| {
            c.disassociate_address().association_id(assoc).send()
        })
        .await?;
    }
    Ok(())
}

#[async_trait]
impl CustomResource<AwsState> for Eip {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "AllocateAddress", |c| {
            c.allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(tag_spec(cx, ResourceType::ElasticIp, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.allocation_id());
        if let Some(inst) = &i.instance_id {
            associate(cx, &id, inst).await?;
        }
        let a = describe_eip(cx, &id).await?;
        Ok(created(id, eip_outputs(&a)))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeAddresses", |c| {
            c.describe_addresses().filters(urn_filter(cx)).send()
        })
        .await?;
        let found = by_urn(cx, out.addresses(), |a| a.tags());
        Ok(found.map(|a| created(text(a.allocation_id()), eip_outputs(a))))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let a = describe_eip(cx, id).await?;
        let inputs = EipInputs {
            instance_id: a.instance_id().filter(|i| !i.is_empty()).map(String::from),
            tags: own_tags(cx, a.tags()),
        };
        Ok(observed(id, inputs, eip_outputs(&a)))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        if ch.old.instance_id != ch.new.instance_id {
            disassociate(cx, &describe_eip(cx, ch.id).await?).await?;
            if let Some(inst) = &ch.new.instance_id {
                associate(cx, ch.id, inst).await?;
            }
        }
        sync_tags(cx, ch.id, &ch.old.tags, &ch.new.tags).await?;
        Ok(eip_outputs(&describe_eip(cx, ch.id).await?))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let Some(a) = existing(describe_eip(cx, id).await)? else {
            return Ok(());
        };
        disassociate(cx, &a).await?;
        call(cx, "ReleaseAddress", |c| {
            c.release_address().allocation_id(id).send()
        })
        .await?;
        Ok(())
    }
}

// ---- NAT gateway ----

fn nat_state(n: &ec2::NatGateway) -> Option<&str> {
    n.state().map(|s| s.as_str())
}

async fn describe_nat(cx: &Cx<'_>, id: &str) -> Result<ec2::NatGateway> {
    let out = call(cx, "DescribeNatGateways", |c| {
        c.describe_nat_gateways().nat_gateway_ids(id).send()
    })
    .await?;
    // Match the id here too: moto answers with every NAT gateway.
    let live = out
        .nat_gateways()
        .iter()
        .filter(|n| nat_state(n) != Some("deleted"));
    by_id("NAT gateway", id, live, |n| n.nat_gateway_id())
}

#[async_trait]
impl CustomResource<AwsState> for NatGateway {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateNatGateway", |c| {
            c.create_nat_gateway()
                .subnet_id(&i.subnet_id)
                .allocation_id(&i.allocation_id)
                .tag_specifications(tag_spec(cx, ResourceType::Natgateway, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.nat_gateway().and_then(|n| n.nat_gateway_id()));
        wait(cx, &format!("NAT gateway {id} to be available"), |c, t| {
            c.wait_until_nat_gateway_available()
                .nat_gateway_ids(&id)
                .wait(t)
        })
        .await?;
        Ok(created(&id, NatGatewayOutputs { id: id.clone() }))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeNatGateways", |c| {
            c.describe_nat_gateways().filter(urn_filter(cx)).send()
        })
        .await?;
        let gateways = out.nat_gateways().iter();
        let live = gateways.filter(|n| !matches!(nat_state(n), Some("deleted") | Some("deleting")));
        let id = by_urn(cx, live, |n| n.tags()).and_then(|n| n.nat_gateway_id());
        Ok(id.map(|id| created(id, NatGatewayOutputs { id: id.into() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let n = describe_nat(cx, id).await?;
        let allocation_id = n
            .nat_gateway_addresses()
            .first()
            .and_then(|a| a.allocation_id())
            .map(String::from)
            .or_else(|| recorded.map(|r| r.allocation_id.clone()))
            .unwrap_or_default();
        let inputs = NatGatewayInputs {
            subnet_id: text(n.subnet_id()),
            allocation_id,
            tags: own_tags(cx, n.tags()),
        };
        Ok(observed(id, inputs, NatGatewayOutputs { id: id.into() }))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteNatGateway", |c| {
            c.delete_nat_gateway().nat_gateway_id(id).send()
        })
        .await?;
        wait(cx, &format!("NAT gateway {id} to be deleted"), |c, t| {
            c.wait_until_nat_gateway_deleted()
                .nat_gateway_ids(id)
                .wait(t)
        })
        .await
    }
}

// ---- Key pair ----

async fn describe_key(cx: &Cx<'_>, id: &str) -> Result<ec2::KeyPairInfo> {
    let out = call(cx, "DescribeKeyPairs", |c| {
        c.describe_key_pairs().key_pair_ids(id).send()
    })
    .await?;
    by_id("key pair", id, out.key_pairs(), |k| k.key_pair_id())
}

fn key_outputs(k: &ec2::KeyPairInfo) -> KeyPairOutputs {
    KeyPairOutputs {
        id: text(k.key_pair_id()),
        key_name: text(k.key_name()),
        fingerprint: k.key_fingerprint().map(String::from),
    }
}

#[async_trait]
impl CustomResource<AwsState> for KeyPair {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let name = i.key_name.clone().unwrap_or_else(|| default_name(cx));
        let out = call(cx, "ImportKeyPair", |c| {
            c.import_key_pair()
                .key_name(&name)
                .public_key_material(Blob::new(i.public_key.as_bytes()))
                .tag_specifications(tag_spec(cx, ResourceType::KeyPair, &i.tags))
                .send()
        })
        .await?;
        let id = out.key_pair_id().unwrap_or(&name).to_string();
        let outputs = KeyPairOutputs {
            id: id.clone(),
            key_name: name,
            fingerprint: out.key_fingerprint().map(String::from),
        };
        Ok(created(id, outputs))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeKeyPairs", |c| {
            c.describe_key_pairs().filters(urn_filter(cx)).send()
        })
        .await?;
        let found = by_urn(cx, out.key_pairs(), |k| k.tags());
        Ok(found.map(|k| created(text(k.key_pair_id()), key_outputs(k))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let k = describe_key(cx, id).await?;
        // EC2 does not give the public key back: on import the program's
        // inputs are taken as they are.
        let inputs = recorded.map(|r| KeyPairInputs {
            // Unset in the program means the default name.
            key_name: unless_unset(Some(&r.key_name), text(k.key_name())),
            public_key: r.public_key.clone(),
            tags: own_tags(cx, k.tags()),
        });
        Ok(Observed {
            id: id.to_string(),
            inputs,
            outputs: key_outputs(&k),
        })
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        // By name: some EC2 implementations ignore KeyPairId on delete.
        let Some(k) = existing(describe_key(cx, id).await)? else {
            return Ok(());
        };
        call(cx, "DeleteKeyPair", |c| {
            c.delete_key_pair()
                .set_key_name(k.key_name().map(String::from))
                .send()
        })
        .await?;
        Ok(())
    }
}
