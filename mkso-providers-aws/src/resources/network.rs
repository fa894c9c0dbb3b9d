//! VPC, subnet, internet gateway, route table, route, route table association.

use async_trait::async_trait;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use mkso::ProviderError;
use mkso::typed::{Change, Created, Ctx, CustomResource, Observed};

use super::{
    Call, InternetGateway, InternetGatewayInputs, InternetGatewayOutputs, Route, RouteInputs,
    RouteOutputs, RoutePlanned, RouteTable, RouteTableAssociation, RouteTableAssociationInputs,
    RouteTableAssociationOutputs, RouteTableInputs, RouteTableOutputs, Subnet, SubnetInputs,
    SubnetOutputs, SubnetPlanned, Vpc, VpcInputs, VpcOutputs, VpcPlanned, check_cidr, existing,
    not_found,
};
use crate::provider::AwsState;
use crate::tags;

fn flag(v: bool) -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(v).build()
}

// ---- VPC ----

#[async_trait]
impl CustomResource<AwsState> for Vpc {
    fn check(i: &VpcPlanned) -> Vec<(String, String)> {
        check_cidr("cidr_block", &i.cidr_block)
    }

    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &VpcInputs,
    ) -> Result<Created<VpcOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .create_vpc()
            .cidr_block(&i.cidr_block)
            .tag_specifications(tags::spec(ResourceType::Vpc, &call.tags(&i.tags)))
            .send()
            .await
            .map_err(call.err("CreateVpc"))?;
        let id = out
            .vpc()
            .and_then(|v| v.vpc_id())
            .unwrap_or_default()
            .to_string();
        set_vpc_attributes(&call, &id, i, None).await?;
        Ok(Created {
            outputs: VpcOutputs {
                id: id.clone(),
                cidr_block: i.cidr_block.clone(),
            },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &VpcInputs,
    ) -> Result<Option<Created<VpcOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_vpcs()
            .filters(tags::urn_filter(call.identity))
            .send()
            .await
            .map_err(call.err("DescribeVpcs"))?;
        Ok(out
            .vpcs()
            .iter()
            .find(|x| tags::has_urn(x.tags(), call.identity))
            .map(|v| {
                let id = v.vpc_id().unwrap_or_default().to_string();
                Created {
                    outputs: VpcOutputs {
                        id: id.clone(),
                        cidr_block: v.cidr_block().unwrap_or_default().to_string(),
                    },
                    id,
                }
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        recorded: Option<&VpcInputs>,
    ) -> Result<Observed<VpcInputs, VpcOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_vpcs()
            .vpc_ids(id)
            .send()
            .await
            .map_err(call.err("DescribeVpcs"))?;
        let v = out
            .vpcs()
            .iter()
            .find(|v| v.vpc_id() == Some(id))
            .ok_or_else(|| not_found("VPC", id))?;
        let dns = |attr: aws_sdk_ec2::types::VpcAttributeName| {
            let call = &call;
            async move {
                call.c
                    .describe_vpc_attribute()
                    .vpc_id(id)
                    .attribute(attr)
                    .send()
                    .await
                    .map_err(call.err("DescribeVpcAttribute"))
            }
        };
        let hostnames = dns(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
            .await?
            .enable_dns_hostnames()
            .and_then(|b| b.value())
            .unwrap_or(false);
        let support = dns(aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport)
            .await?
            .enable_dns_support()
            .and_then(|b| b.value())
            .unwrap_or(true);
        // Unset in the program means the default (on).
        let recorded_support = recorded.and_then(|r| r.enable_dns_support);
        let enable_dns_support = if recorded_support.is_none() && support {
            None
        } else {
            Some(support)
        };
        let cidr_block = v.cidr_block().unwrap_or_default().to_string();
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(VpcInputs {
                cidr_block: cidr_block.clone(),
                enable_dns_hostnames: hostnames,
                enable_dns_support,
                tags: call.own_tags(v.tags()),
            }),
            outputs: VpcOutputs {
                id: id.to_string(),
                cidr_block,
            },
        })
    }

    async fn update(
        cx: &Ctx<'_, AwsState>,
        ch: Change<'_, VpcInputs, VpcOutputs>,
    ) -> Result<VpcOutputs, ProviderError> {
        let call = Call::of(cx).await;
        set_vpc_attributes(&call, ch.id, ch.new, Some(ch.old)).await?;
        call.sync_tags(ch.id, &call.tags(&ch.old.tags), &call.tags(&ch.new.tags))
            .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &VpcInputs,
        _: &VpcOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        call.c
            .delete_vpc()
            .vpc_id(id)
            .send()
            .await
            .map_err(call.err("DeleteVpc"))?;
        Ok(())
    }
}

async fn set_vpc_attributes(
    call: &Call<'_>,
    id: &str,
    i: &VpcInputs,
    old: Option<&VpcInputs>,
) -> Result<(), ProviderError> {
    let support = i.enable_dns_support.unwrap_or(true);
    if old.is_none_or(|o| o.enable_dns_support.unwrap_or(true) != support)
        && (old.is_some() || !support)
    {
        call.c
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_support(flag(support))
            .send()
            .await
            .map_err(call.err("ModifyVpcAttribute"))?;
    }
    if old.is_none_or(|o| o.enable_dns_hostnames != i.enable_dns_hostnames)
        && (old.is_some() || i.enable_dns_hostnames)
    {
        call.c
            .modify_vpc_attribute()
            .vpc_id(id)
            .enable_dns_hostnames(flag(i.enable_dns_hostnames))
            .send()
            .await
            .map_err(call.err("ModifyVpcAttribute"))?;
    }
    Ok(())
}

// ---- Subnet ----

#[async_trait]
impl CustomResource<AwsState> for Subnet {
    fn check(i: &SubnetPlanned) -> Vec<(String, String)> {
        check_cidr("cidr_block", &i.cidr_block)
    }

    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &SubnetInputs,
    ) -> Result<Created<SubnetOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .create_subnet()
            .vpc_id(&i.vpc_id)
            .cidr_block(&i.cidr_block)
            .set_availability_zone(i.availability_zone.clone())
            .tag_specifications(tags::spec(ResourceType::Subnet, &call.tags(&i.tags)))
            .send()
            .await
            .map_err(call.err("CreateSubnet"))?;
        let s = out.subnet();
        let id = s
            .and_then(|s| s.subnet_id())
            .unwrap_or_default()
            .to_string();
        if i.map_public_ip_on_launch {
            call.c
                .modify_subnet_attribute()
                .subnet_id(&id)
                .map_public_ip_on_launch(flag(true))
                .send()
                .await
                .map_err(call.err("ModifySubnetAttribute"))?;
        }
        Ok(Created {
            outputs: SubnetOutputs {
                id: id.clone(),
                availability_zone: s
                    .and_then(|s| s.availability_zone())
                    .unwrap_or_default()
                    .to_string(),
            },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &SubnetInputs,
    ) -> Result<Option<Created<SubnetOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_subnets()
            .filters(tags::urn_filter(call.identity))
            .send()
            .await
            .map_err(call.err("DescribeSubnets"))?;
        Ok(out
            .subnets()
            .iter()
            .find(|x| tags::has_urn(x.tags(), call.identity))
            .map(|s| {
                let id = s.subnet_id().unwrap_or_default().to_string();
                Created {
                    outputs: SubnetOutputs {
                        id: id.clone(),
                        availability_zone: s.availability_zone().unwrap_or_default().to_string(),
                    },
                    id,
                }
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        recorded: Option<&SubnetInputs>,
    ) -> Result<Observed<SubnetInputs, SubnetOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_subnets()
            .subnet_ids(id)
            .send()
            .await
            .map_err(call.err("DescribeSubnets"))?;
        let s = out
            .subnets()
            .iter()
            .find(|x| x.subnet_id() == Some(id))
            .ok_or_else(|| not_found("subnet", id))?;
        let zone = s.availability_zone().unwrap_or_default().to_string();
        // Unset in the program means AWS chose.
        let availability_zone = if recorded.is_some_and(|r| r.availability_zone.is_none()) {
            None
        } else {
            Some(zone.clone())
        };
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(SubnetInputs {
                vpc_id: s.vpc_id().unwrap_or_default().to_string(),
                cidr_block: s.cidr_block().unwrap_or_default().to_string(),
                availability_zone,
                map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
                tags: call.own_tags(s.tags()),
            }),
            outputs: SubnetOutputs {
                id: id.to_string(),
                availability_zone: zone,
            },
        })
    }

    async fn update(
        cx: &Ctx<'_, AwsState>,
        ch: Change<'_, SubnetInputs, SubnetOutputs>,
    ) -> Result<SubnetOutputs, ProviderError> {
        let call = Call::of(cx).await;
        if ch.old.map_public_ip_on_launch != ch.new.map_public_ip_on_launch {
            call.c
                .modify_subnet_attribute()
                .subnet_id(ch.id)
                .map_public_ip_on_launch(flag(ch.new.map_public_ip_on_launch))
                .send()
                .await
                .map_err(call.err("ModifySubnetAttribute"))?;
        }
        call.sync_tags(ch.id, &call.tags(&ch.old.tags), &call.tags(&ch.new.tags))
            .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &SubnetInputs,
        _: &SubnetOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        call.c
            .delete_subnet()
            .subnet_id(id)
            .send()
            .await
            .map_err(call.err("DeleteSubnet"))?;
        Ok(())
    }
}

// ---- Internet gateway ----

#[async_trait]
impl CustomResource<AwsState> for InternetGateway {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &InternetGatewayInputs,
    ) -> Result<Created<InternetGatewayOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .create_internet_gateway()
            .tag_specifications(tags::spec(
                ResourceType::InternetGateway,
                &call.tags(&i.tags),
            ))
            .send()
            .await
            .map_err(call.err("CreateInternetGateway"))?;
        let id = out
            .internet_gateway()
            .and_then(|g| g.internet_gateway_id())
            .unwrap_or_default()
            .to_string();
        if let Some(vpc) = &i.vpc_id {
            attach(&call, &id, vpc).await?;
        }
        Ok(Created {
            outputs: InternetGatewayOutputs { id: id.clone() },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &InternetGatewayInputs,
    ) -> Result<Option<Created<InternetGatewayOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_internet_gateways()
            .filters(tags::urn_filter(call.identity))
            .send()
            .await
            .map_err(call.err("DescribeInternetGateways"))?;
        Ok(out
            .internet_gateways()
            .iter()
            .find(|x| tags::has_urn(x.tags(), call.identity))
            .and_then(|g| g.internet_gateway_id())
            .map(|id| Created {
                outputs: InternetGatewayOutputs { id: id.to_string() },
                id: id.to_string(),
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: Option<&InternetGatewayInputs>,
    ) -> Result<Observed<InternetGatewayInputs, InternetGatewayOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let g = describe_igw(&call, id).await?;
        let vpc_id = g
            .attachments()
            .first()
            .and_then(|a| a.vpc_id())
            .map(String::from);
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(InternetGatewayInputs {
                vpc_id,
                tags: call.own_tags(g.tags()),
            }),
            outputs: InternetGatewayOutputs { id: id.to_string() },
        })
    }

    async fn update(
        cx: &Ctx<'_, AwsState>,
        ch: Change<'_, InternetGatewayInputs, InternetGatewayOutputs>,
    ) -> Result<InternetGatewayOutputs, ProviderError> {
        let call = Call::of(cx).await;
        if ch.old.vpc_id != ch.new.vpc_id {
            if let Some(v) = &ch.old.vpc_id {
                detach(&call, ch.id, v).await?;
            }
            if let Some(v) = &ch.new.vpc_id {
                attach(&call, ch.id, v).await?;
            }
        }
        call.sync_tags(ch.id, &call.tags(&ch.old.tags), &call.tags(&ch.new.tags))
            .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &InternetGatewayInputs,
        _: &InternetGatewayOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        let Some(g) = existing(describe_igw(&call, id).await)? else {
            return Ok(());
        };
        for a in g.attachments() {
            if let Some(v) = a.vpc_id() {
                detach(&call, id, v).await?;
            }
        }
        call.c
            .delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await
            .map_err(call.err("DeleteInternetGateway"))?;
        Ok(())
    }
}

async fn attach(call: &Call<'_>, id: &str, vpc: &str) -> Result<(), ProviderError> {
    call.c
        .attach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await
        .map_err(call.err("AttachInternetGateway"))?;
    Ok(())
}

async fn detach(call: &Call<'_>, id: &str, vpc: &str) -> Result<(), ProviderError> {
    match call
        .c
        .detach_internet_gateway()
        .internet_gateway_id(id)
        .vpc_id(vpc)
        .send()
        .await
        .map_err(call.err("DetachInternetGateway"))
    {
        Err(e) if e.class == mkso::ErrorClass::NotFound => Ok(()),
        Err(e) if e.code.as_deref() == Some("Gateway.NotAttached") => Ok(()),
        other => other.map(|_| ()),
    }
}

async fn describe_igw(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::InternetGateway, ProviderError> {
    let out = call
        .c
        .describe_internet_gateways()
        .internet_gateway_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeInternetGateways"))?;
    out.internet_gateways()
        .iter()
        .find(|x| x.internet_gateway_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("internet gateway", id))
}

// ---- Route table ----

#[async_trait]
impl CustomResource<AwsState> for RouteTable {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &RouteTableInputs,
    ) -> Result<Created<RouteTableOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .create_route_table()
            .vpc_id(&i.vpc_id)
            .tag_specifications(tags::spec(ResourceType::RouteTable, &call.tags(&i.tags)))
            .send()
            .await
            .map_err(call.err("CreateRouteTable"))?;
        let id = out
            .route_table()
            .and_then(|r| r.route_table_id())
            .unwrap_or_default()
            .to_string();
        Ok(Created {
            outputs: RouteTableOutputs { id: id.clone() },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        _: &RouteTableInputs,
    ) -> Result<Option<Created<RouteTableOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_route_tables()
            .filters(tags::urn_filter(call.identity))
            .send()
            .await
            .map_err(call.err("DescribeRouteTables"))?;
        Ok(out
            .route_tables()
            .iter()
            .find(|x| tags::has_urn(x.tags(), call.identity))
            .and_then(|r| r.route_table_id())
            .map(|id| Created {
                outputs: RouteTableOutputs { id: id.to_string() },
                id: id.to_string(),
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: Option<&RouteTableInputs>,
    ) -> Result<Observed<RouteTableInputs, RouteTableOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let r = describe_route_table(&call, id).await?;
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(RouteTableInputs {
                vpc_id: r.vpc_id().unwrap_or_default().to_string(),
                tags: call.own_tags(r.tags()),
            }),
            outputs: RouteTableOutputs { id: id.to_string() },
        })
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &RouteTableInputs,
        _: &RouteTableOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        call.c
            .delete_route_table()
            .route_table_id(id)
            .send()
            .await
            .map_err(call.err("DeleteRouteTable"))?;
        Ok(())
    }
}

async fn describe_route_table(
    call: &Call<'_>,
    id: &str,
) -> Result<aws_sdk_ec2::types::RouteTable, ProviderError> {
    let out = call
        .c
        .describe_route_tables()
        .route_table_ids(id)
        .send()
        .await
        .map_err(call.err("DescribeRouteTables"))?;
    out.route_tables()
        .iter()
        .find(|x| x.route_table_id() == Some(id))
        .cloned()
        .ok_or_else(|| not_found("route table", id))
}

// ---- Route ----

fn route_id(rtb: &str, dest: &str) -> String {
    format!("{rtb}_{dest}")
}

fn split_route_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once('_').ok_or_else(|| {
        ProviderError::permanent(format!(
            "`{id}` is not a route id (<route table id>_<destination>)"
        ))
    })
}

async fn read_route(call: &Call<'_>, id: &str) -> Result<RouteInputs, ProviderError> {
    let (rtb, dest) = split_route_id(id)?;
    let r = describe_route_table(call, rtb).await?;
    let route = r
        .routes()
        .iter()
        .find(|x| x.destination_cidr_block() == Some(dest))
        .ok_or_else(|| not_found("route", id))?;
    Ok(RouteInputs {
        route_table_id: rtb.to_string(),
        destination_cidr_block: dest.to_string(),
        gateway_id: route.gateway_id().map(String::from),
        nat_gateway_id: route.nat_gateway_id().map(String::from),
    })
}

#[async_trait]
impl CustomResource<AwsState> for Route {
    fn check(i: &RoutePlanned) -> Vec<(String, String)> {
        let mut f = check_cidr("destination_cidr_block", &i.destination_cidr_block);
        // Both known: exactly one target.
        if let (Some(gw), Some(nat)) = (i.gateway_id.known(), i.nat_gateway_id.known())
            && gw.is_some() == nat.is_some()
        {
            f.push((
                "gateway_id".into(),
                "set exactly one of gateway_id and nat_gateway_id".into(),
            ));
        }
        f
    }

    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &RouteInputs,
    ) -> Result<Created<RouteOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        call.c
            .create_route()
            .route_table_id(&i.route_table_id)
            .destination_cidr_block(&i.destination_cidr_block)
            .set_gateway_id(i.gateway_id.clone())
            .set_nat_gateway_id(i.nat_gateway_id.clone())
            .send()
            .await
            .map_err(call.err("CreateRoute"))?;
        let id = route_id(&i.route_table_id, &i.destination_cidr_block);
        Ok(Created {
            outputs: RouteOutputs { id: id.clone() },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        i: &RouteInputs,
    ) -> Result<Option<Created<RouteOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let id = route_id(&i.route_table_id, &i.destination_cidr_block);
        Ok(existing(read_route(&call, &id).await)?.map(|_| Created {
            outputs: RouteOutputs { id: id.clone() },
            id,
        }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: Option<&RouteInputs>,
    ) -> Result<Observed<RouteInputs, RouteOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let inputs = read_route(&call, id).await?;
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(inputs),
            outputs: RouteOutputs { id: id.to_string() },
        })
    }

    async fn update(
        cx: &Ctx<'_, AwsState>,
        ch: Change<'_, RouteInputs, RouteOutputs>,
    ) -> Result<RouteOutputs, ProviderError> {
        let call = Call::of(cx).await;
        let n = ch.new;
        call.c
            .replace_route()
            .route_table_id(&n.route_table_id)
            .destination_cidr_block(&n.destination_cidr_block)
            .set_gateway_id(n.gateway_id.clone())
            .set_nat_gateway_id(n.nat_gateway_id.clone())
            .send()
            .await
            .map_err(call.err("ReplaceRoute"))?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &RouteInputs,
        _: &RouteOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        let (rtb, dest) = split_route_id(id)?;
        match call
            .c
            .delete_route()
            .route_table_id(rtb)
            .destination_cidr_block(dest)
            .send()
            .await
            .map_err(call.err("DeleteRoute"))
        {
            Err(e) if e.code.as_deref() == Some("InvalidRoute.NotFound") => Ok(()),
            other => other.map(|_| ()),
        }
    }
}

// ---- Route table association ----

#[async_trait]
impl CustomResource<AwsState> for RouteTableAssociation {
    async fn create(
        cx: &Ctx<'_, AwsState>,
        i: &RouteTableAssociationInputs,
    ) -> Result<Created<RouteTableAssociationOutputs>, ProviderError> {
        let call = Call::of(cx).await;
        let out = call
            .c
            .associate_route_table()
            .route_table_id(&i.route_table_id)
            .subnet_id(&i.subnet_id)
            .send()
            .await
            .map_err(call.err("AssociateRouteTable"))?;
        let id = out.association_id().unwrap_or_default().to_string();
        Ok(Created {
            outputs: RouteTableAssociationOutputs { id: id.clone() },
            id,
        })
    }

    async fn find(
        cx: &Ctx<'_, AwsState>,
        i: &RouteTableAssociationInputs,
    ) -> Result<Option<Created<RouteTableAssociationOutputs>>, ProviderError> {
        let call = Call::of(cx).await;
        let Some(r) = existing(describe_route_table(&call, &i.route_table_id).await)? else {
            return Ok(None);
        };
        Ok(r.associations()
            .iter()
            .find(|a| a.subnet_id() == Some(i.subnet_id.as_str()))
            .and_then(|a| a.route_table_association_id())
            .map(|id| Created {
                outputs: RouteTableAssociationOutputs { id: id.to_string() },
                id: id.to_string(),
            }))
    }

    async fn read(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: Option<&RouteTableAssociationInputs>,
    ) -> Result<Observed<RouteTableAssociationInputs, RouteTableAssociationOutputs>, ProviderError>
    {
        let call = Call::of(cx).await;
        let out = call
            .c
            .describe_route_tables()
            .filters(tags::filter("association.route-table-association-id", id))
            .send()
            .await
            .map_err(call.err("DescribeRouteTables"))?;
        let (route_table_id, subnet_id) = out
            .route_tables()
            .iter()
            .find_map(|r| {
                r.associations()
                    .iter()
                    .find(|a| a.route_table_association_id() == Some(id))
                    .map(|a| {
                        (
                            r.route_table_id().unwrap_or_default().to_string(),
                            a.subnet_id().unwrap_or_default().to_string(),
                        )
                    })
            })
            .ok_or_else(|| not_found("route table association", id))?;
        Ok(Observed {
            id: id.to_string(),
            inputs: Some(RouteTableAssociationInputs {
                route_table_id,
                subnet_id,
            }),
            outputs: RouteTableAssociationOutputs { id: id.to_string() },
        })
    }

    async fn delete(
        cx: &Ctx<'_, AwsState>,
        id: &str,
        _: &RouteTableAssociationInputs,
        _: &RouteTableAssociationOutputs,
    ) -> Result<(), ProviderError> {
        let call = Call::of(cx).await;
        call.c
            .disassociate_route_table()
            .association_id(id)
            .send()
            .await
            .map_err(call.err("DisassociateRouteTable"))?;
        Ok(())
    }
}
