//! IPv6 egress and addresses: egress-only internet gateways, and Elastic IP
//! associations made apart from the address.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self as ec2, ResourceType};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, by_id, by_urn, call, created, existing, observed, own_tags, tag_spec,
    text,
};
use super::{
    EgressOnlyInternetGateway, EgressOnlyInternetGatewayInputs, EgressOnlyInternetGatewayOutputs,
    EipAssociation, EipAssociationInputs, EipAssociationOutputs,
};
use crate::provider::AwsState;

// ---- Egress-only internet gateway ----

async fn describe_eigw(cx: &Cx<'_>, id: &str) -> Result<ec2::EgressOnlyInternetGateway> {
    let out = call(cx, "DescribeEgressOnlyInternetGateways", |c| {
        c.describe_egress_only_internet_gateways()
            .egress_only_internet_gateway_ids(id)
            .send()
    })
    .await?;
    by_id(
        "egress-only internet gateway",
        id,
        out.egress_only_internet_gateways(),
        |g| g.egress_only_internet_gateway_id(),
    )
}

#[async_trait]
impl CustomResource<AwsState> for EgressOnlyInternetGateway {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateEgressOnlyInternetGateway", |c| {
            c.create_egress_only_internet_gateway()
                .vpc_id(&i.vpc_id)
                .tag_specifications(tag_spec(
                    cx,
                    ResourceType::EgressOnlyInternetGateway,
                    &i.tags,
                ))
                .send()
        })
        .await?;
        let id = text(
            out.egress_only_internet_gateway()
                .and_then(|g| g.egress_only_internet_gateway_id()),
        );
        Ok(created(
            &id,
            EgressOnlyInternetGatewayOutputs { id: id.clone() },
        ))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        // Every gateway, matched here by tag (not every EC2 filters these).
        let out = call(cx, "DescribeEgressOnlyInternetGateways", |c| {
            c.describe_egress_only_internet_gateways().send()
        })
        .await?;
        let found = by_urn(cx, out.egress_only_internet_gateways(), |g| g.tags());
        let id = found.and_then(|g| g.egress_only_internet_gateway_id());
        Ok(id.map(|id| created(id, EgressOnlyInternetGatewayOutputs { id: id.into() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let g = describe_eigw(cx, id).await?;
        let inputs = EgressOnlyInternetGatewayInputs {
            vpc_id: text(g.attachments().first().and_then(|a| a.vpc_id())),
            tags: own_tags(cx, g.tags()),
        };
        Ok(observed(
            id,
            inputs,
            EgressOnlyInternetGatewayOutputs { id: id.into() },
        ))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteEgressOnlyInternetGateway", |c| {
            c.delete_egress_only_internet_gateway()
                .egress_only_internet_gateway_id(id)
                .send()
        })
        .await?;
        Ok(())
    }
}

// ---- Elastic IP association ----

/// The address of allocation `allocation_id`.
async fn address(cx: &Cx<'_>, allocation_id: &str) -> Result<ec2::Address> {
    let out = call(cx, "DescribeAddresses", |c| {
        c.describe_addresses().allocation_ids(allocation_id).send()
    })
    .await?;
    by_id("Elastic IP", allocation_id, out.addresses(), |a| {
        a.allocation_id()
    })
}

/// The address associated as `association_id` (any address: EC2 does not
/// look addresses up by association without a filter every emulator knows).
async fn associated(cx: &Cx<'_>, association_id: &str) -> Result<ec2::Address> {
    let out = call(cx, "DescribeAddresses", |c| c.describe_addresses().send()).await?;
    by_id(
        "Elastic IP association",
        association_id,
        out.addresses(),
        |a| a.association_id(),
    )
}

fn association_outputs(a: &ec2::Address) -> EipAssociationOutputs {
    EipAssociationOutputs {
        id: text(a.association_id()),
        public_ip: text(a.public_ip()),
    }
}

/// Whether `a` is associated as `i` asks.
fn matches(a: &ec2::Address, i: &EipAssociationInputs) -> bool {
    a.association_id().is_some()
        && (i.instance_id.is_none() || a.instance_id() == i.instance_id.as_deref())
        && (i.network_interface_id.is_none()
            || a.network_interface_id() == i.network_interface_id.as_deref())
}

#[async_trait]
impl CustomResource<AwsState> for EipAssociation {
    fn check(i: &Self::Planned) -> Vec<(String, String)> {
        use mkso::typed::Planned;
        let neither = matches!(i.instance_id, Planned::Known(None))
            && matches!(i.network_interface_id, Planned::Known(None));
        if neither {
            vec![(
                "instance_id".to_string(),
                "give an instance_id or a network_interface_id to associate the address with"
                    .to_string(),
            )]
        } else {
            Vec::new()
        }
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "AssociateAddress", |c| {
            c.associate_address()
                .allocation_id(&i.allocation_id)
                .set_instance_id(i.instance_id.clone())
                .set_network_interface_id(i.network_interface_id.clone())
                .send()
        })
        .await?;
        let id = text(out.association_id());
        Ok(created(
            &id,
            association_outputs(&associated(cx, &id).await?),
        ))
    }

    /// The address already associated as asked (an interrupted create).
    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let Some(a) = existing(address(cx, &i.allocation_id).await)? else {
            return Ok(None);
        };
        Ok(matches(&a, i).then(|| created(text(a.association_id()), association_outputs(&a))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let a = associated(cx, id).await?;
        // Associated with an instance, the address names its interface too
        // (and the other way round): only what the program gave is read.
        let gave = |f: fn(&EipAssociationInputs) -> bool| recorded.is_none_or(f);
        let inputs = EipAssociationInputs {
            allocation_id: text(a.allocation_id()),
            instance_id: a
                .instance_id()
                .filter(|_| gave(|r| r.instance_id.is_some()))
                .map(String::from),
            network_interface_id: a
                .network_interface_id()
                .filter(|_| gave(|r| r.network_interface_id.is_some()))
                .map(String::from),
        };
        Ok(observed(id, inputs, association_outputs(&a)))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        if existing(associated(cx, id).await)?.is_none() {
            return Ok(());
        }
        call(cx, "DisassociateAddress", |c| {
            c.disassociate_address().association_id(id).send()
        })
        .await
        .map(drop)
        .or_else(|e: ProviderError| {
            if e.class == mkso::ErrorClass::NotFound {
                Ok(())
            } else {
                Err(e)
            }
        })
    }
}
