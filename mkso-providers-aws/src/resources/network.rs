//! VPC, subnet, internet gateway, route table, route, route table association.

use async_trait::async_trait;
use aws_sdk_ec2::types::VpcAttributeName::{self, EnableDnsHostnames, EnableDnsSupport};
use aws_sdk_ec2::types::{self as ec2, ResourceType};
use mkso::ProviderError;
use mkso::typed::{Created, CustomResource};

use super::common::{
    Cx, ReadResult, Result, Update, by_id, by_urn, call, call_unless, check_cidr, created,
    existing, flag, not_found, observed, own_tags, sync_tags, tag_spec, text, unless_default,
    unless_unset, urn_filter,
};
use super::{
    InternetGateway, InternetGatewayInputs, InternetGatewayOutputs, Route, RouteInputs,
    RouteOutputs, RoutePlanned, RouteTable, RouteTableAssociation, RouteTableAssociationInputs,
    RouteTableAssociationOutputs, RouteTableInputs, RouteTableOutputs, Subnet, SubnetInputs,
    SubnetOutputs, SubnetPlanned, Vpc, VpcInputs, VpcOutputs, VpcPlanned,
};
use crate::provider::AwsState;
use crate::tags;

// ---- VPC ----

fn vpc_outputs(v: &ec2::Vpc) -> VpcOutputs {
    VpcOutputs {
        id: text(v.vpc_id()),
        cidr_block: text(v.cidr_block()),
    }
}

#[async_trait]
impl CustomResource<AwsState> for Vpc {
    fn check(i: &VpcPlanned) -> Vec<(String, String)> {
        check_cidr("cidr_block", &i.cidr_block)
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateVpc", |c| {
            c.create_vpc()
                .cidr_block(&i.cidr_block)
                .tag_specifications(tag_spec(cx, ResourceType::Vpc, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.vpc().and_then(|v| v.vpc_id()));
        set_vpc_attributes(cx, &id, i, None).await?;
        let cidr_block = i.cidr_block.clone();
        Ok(created(id.clone(), VpcOutputs { id, cidr_block }))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeVpcs", |c| {
            c.describe_vpcs().filters(urn_filter(cx)).send()
        })
        .await?;
        let found = by_urn(cx, out.vpcs(), |v| v.tags());
        Ok(found.map(|v| created(text(v.vpc_id()), vpc_outputs(v))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let out = call(cx, "DescribeVpcs", |c| c.describe_vpcs().vpc_ids(id).send()).await?;
        let v = by_id("VPC", id, out.vpcs(), |v| v.vpc_id())?;
        let dns = |attr: VpcAttributeName| {
            call(cx, "DescribeVpcAttribute", move |c| {
                c.describe_vpc_attribute().vpc_id(id).attribute(attr).send()
            })
        };
        let hostnames = dns(EnableDnsHostnames).await?.enable_dns_hostnames;
        let support = dns(EnableDnsSupport).await?.enable_dns_support;
        let support = support.and_then(|b| b.value).unwrap_or(true);
        // Unset in the program means the default (on).
        let recorded_support = recorded.and_then(|r| r.enable_dns_support);
        let enable_dns_support = unless_default(recorded_support, support, true);
        let inputs = VpcInputs {
            cidr_block: text(v.cidr_block()),
            enable_dns_hostnames: hostnames.and_then(|b| b.value).unwrap_or(false),
            enable_dns_support,
            tags: own_tags(cx, v.tags()),
        };
        Ok(observed(id, inputs, vpc_outputs(&v)))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        set_vpc_attributes(cx, ch.id, ch.new, Some(ch.old)).await?;
        sync_tags(cx, ch.id, &ch.old.tags, &ch.new.tags).await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteVpc", |c| c.delete_vpc().vpc_id(id).send()).await?;
        Ok(())
    }
}

/// DNS support and hostnames, when they differ from `old` (or from EC2's
/// defaults on create: support on, hostnames off).
async fn set_vpc_attributes(
    cx: &Cx<'_>,
    id: &str,
    i: &VpcInputs,
    old: Option<&VpcInputs>,
) -> Result<()> {
    let support = i.enable_dns_support.unwrap_or(true);
    if old.is_none_or(|o| o.enable_dns_support.unwrap_or(true) != support)
        && (old.is_some() || !support)
    {
        call(cx, "ModifyVpcAttribute", |c| {
            let req = c.modify_vpc_attribute().vpc_id(id);
            req.enable_dns_support(flag(support)).send()
        })
        .await?;
    }
    if old.is_none_or(|o| o.enable_dns_hostnames != i.enable_dns_hostnames)
        && (old.is_some() || i.enable_dns_hostnames)
    {
        call(cx, "ModifyVpcAttribute", |c| {
            let req = c.modify_vpc_attribute().vpc_id(id);
            req.enable_dns_hostnames(flag(i.enable_dns_hostnames))
                .send()
        })
        .await?;
    }
    Ok(())
}

// ---- Subnet ----

#[async_trait]
impl CustomResource<AwsState> for Subnet {
    fn check(i: &SubnetPlanned) -> Vec<(String, String)> {
        check_cidr("cidr_block", &i.cidr_block)
    }

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateSubnet", |c| {
            c.create_subnet()
                .vpc_id(&i.vpc_id)
                .cidr_block(&i.cidr_block)
                .set_availability_zone(i.availability_zone.clone())
                .tag_specifications(tag_spec(cx, ResourceType::Subnet, &i.tags))
                .send()
        })
        .await?;
        let s = out.subnet.unwrap_or_else(|| ec2::Subnet::builder().build());
        let id = text(s.subnet_id());
        if i.map_public_ip_on_launch {
            map_public_ip(cx, &id, true).await?;
        }
        Ok(created(id, subnet_outputs(&s)))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeSubnets", |c| {
            c.describe_subnets().filters(urn_filter(cx)).send()
        })
        .await?;
        let found = by_urn(cx, out.subnets(), |s| s.tags());
        Ok(found.map(|s| created(text(s.subnet_id()), subnet_outputs(s))))
    }

    async fn read(cx: &Cx<'_>, id: &str, recorded: Option<&Self::Inputs>) -> ReadResult<Self> {
        let out = call(cx, "DescribeSubnets", |c| {
            c.describe_subnets().subnet_ids(id).send()
        })
        .await?;
        let s = by_id("subnet", id, out.subnets(), |s| s.subnet_id())?;
        // Unset in the program means AWS chose.
        let zone = text(s.availability_zone());
        let availability_zone = unless_unset(recorded.map(|r| &r.availability_zone), zone);
        let inputs = SubnetInputs {
            vpc_id: text(s.vpc_id()),
            cidr_block: text(s.cidr_block()),
            availability_zone,
            map_public_ip_on_launch: s.map_public_ip_on_launch().unwrap_or(false),
            tags: own_tags(cx, s.tags()),
        };
        Ok(observed(id, inputs, subnet_outputs(&s)))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        if ch.old.map_public_ip_on_launch != ch.new.map_public_ip_on_launch {
            map_public_ip(cx, ch.id, ch.new.map_public_ip_on_launch).await?;
        }
        sync_tags(cx, ch.id, &ch.old.tags, &ch.new.tags).await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteSubnet", |c| {
            c.delete_subnet().subnet_id(id).send()
        })
        .await?;
        Ok(())
    }
}

fn subnet_outputs(s: &ec2::Subnet) -> SubnetOutputs {
    SubnetOutputs {
        id: text(s.subnet_id()),
        availability_zone: text(s.availability_zone()),
    }
}

async fn map_public_ip(cx: &Cx<'_>, id: &str, on: bool) -> Result<()> {
    call(cx, "ModifySubnetAttribute", |c| {
        let req = c.modify_subnet_attribute().subnet_id(id);
        req.map_public_ip_on_launch(flag(on)).send()
    })
    .await?;
    Ok(())
}

// ---- Internet gateway ----

#[async_trait]
impl CustomResource<AwsState> for InternetGateway {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateInternetGateway", |c| {
            let tags = tag_spec(cx, ResourceType::InternetGateway, &i.tags);
            c.create_internet_gateway().tag_specifications(tags).send()
        })
        .await?;
        let id = text(out.internet_gateway().and_then(|g| g.internet_gateway_id()));
        if let Some(vpc) = &i.vpc_id {
            attach(cx, &id, vpc).await?;
        }
        Ok(created(&id, InternetGatewayOutputs { id: id.clone() }))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeInternetGateways", |c| {
            c.describe_internet_gateways()
                .filters(urn_filter(cx))
                .send()
        })
        .await?;
        let found = by_urn(cx, out.internet_gateways(), |g| g.tags());
        let id = found.and_then(|g| g.internet_gateway_id());
        Ok(id.map(|id| created(id, InternetGatewayOutputs { id: id.into() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let g = describe_igw(cx, id).await?;
        let vpc_id = g.attachments().first().and_then(|a| a.vpc_id());
        let inputs = InternetGatewayInputs {
            vpc_id: vpc_id.map(String::from),
            tags: own_tags(cx, g.tags()),
        };
        let outputs = InternetGatewayOutputs { id: id.into() };
        Ok(observed(id, inputs, outputs))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        if ch.old.vpc_id != ch.new.vpc_id {
            if let Some(v) = &ch.old.vpc_id {
                detach(cx, ch.id, v).await?;
            }
            if let Some(v) = &ch.new.vpc_id {
                attach(cx, ch.id, v).await?;
            }
        }
        sync_tags(cx, ch.id, &ch.old.tags, &ch.new.tags).await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let Some(g) = existing(describe_igw(cx, id).await)? else {
            return Ok(());
        };
        for v in g.attachments().iter().filter_map(|a| a.vpc_id()) {
            detach(cx, id, v).await?;
        }
        call(cx, "DeleteInternetGateway", |c| {
            c.delete_internet_gateway().internet_gateway_id(id).send()
        })
        .await?;
        Ok(())
    }
}

async fn attach(cx: &Cx<'_>, id: &str, vpc: &str) -> Result<()> {
    call(cx, "AttachInternetGateway", |c| {
        let req = c.attach_internet_gateway().internet_gateway_id(id);
        req.vpc_id(vpc).send()
    })
    .await?;
    Ok(())
}

/// Detaches the gateway; done too when it is gone or not attached.
async fn detach(cx: &Cx<'_>, id: &str, vpc: &str) -> Result<()> {
    let detached = call_unless(cx, "DetachInternetGateway", "Gateway.NotAttached", |c| {
        let req = c.detach_internet_gateway().internet_gateway_id(id);
        req.vpc_id(vpc).send()
    });
    existing(detached.await).map(drop)
}

async fn describe_igw(cx: &Cx<'_>, id: &str) -> Result<ec2::InternetGateway> {
    let out = call(cx, "DescribeInternetGateways", |c| {
        c.describe_internet_gateways()
            .internet_gateway_ids(id)
            .send()
    })
    .await?;
    by_id("internet gateway", id, out.internet_gateways(), |g| {
        g.internet_gateway_id()
    })
}

// ---- Route table ----

#[async_trait]
impl CustomResource<AwsState> for RouteTable {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "CreateRouteTable", |c| {
            c.create_route_table()
                .vpc_id(&i.vpc_id)
                .tag_specifications(tag_spec(cx, ResourceType::RouteTable, &i.tags))
                .send()
        })
        .await?;
        let id = text(out.route_table().and_then(|r| r.route_table_id()));
        Ok(created(&id, RouteTableOutputs { id: id.clone() }))
    }

    async fn find(cx: &Cx<'_>, _: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let out = call(cx, "DescribeRouteTables", |c| {
            c.describe_route_tables().filters(urn_filter(cx)).send()
        })
        .await?;
        let found = by_urn(cx, out.route_tables(), |r| r.tags());
        let id = found.and_then(|r| r.route_table_id());
        Ok(id.map(|id| created(id, RouteTableOutputs { id: id.into() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let r = describe_route_table(cx, id).await?;
        let inputs = RouteTableInputs {
            vpc_id: text(r.vpc_id()),
            tags: own_tags(cx, r.tags()),
        };
        Ok(observed(id, inputs, RouteTableOutputs { id: id.into() }))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DeleteRouteTable", |c| {
            c.delete_route_table().route_table_id(id).send()
        })
        .await?;
        Ok(())
    }
}

async fn describe_route_table(cx: &Cx<'_>, id: &str) -> Result<ec2::RouteTable> {
    let out = call(cx, "DescribeRouteTables", |c| {
        c.describe_route_tables().route_table_ids(id).send()
    })
    .await?;
    by_id("route table", id, out.route_tables(), |r| {
        r.route_table_id()
    })
}

// ---- Route ----

fn route_id(rtb: &str, dest: &str) -> String {
    format!("{rtb}_{dest}")
}

fn split_route_id(id: &str) -> Result<(&str, &str)> {
    id.split_once('_').ok_or_else(|| {
        ProviderError::permanent(format!(
            "`{id}` is not a route id (<route table id>_<destination>)"
        ))
    })
}

async fn read_route(cx: &Cx<'_>, id: &str) -> Result<RouteInputs> {
    let (rtb, dest) = split_route_id(id)?;
    let r = describe_route_table(cx, rtb).await?;
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

    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        call(cx, "CreateRoute", |c| {
            c.create_route()
                .route_table_id(&i.route_table_id)
                .destination_cidr_block(&i.destination_cidr_block)
                .set_gateway_id(i.gateway_id.clone())
                .set_nat_gateway_id(i.nat_gateway_id.clone())
                .send()
        })
        .await?;
        let id = route_id(&i.route_table_id, &i.destination_cidr_block);
        Ok(created(&id, RouteOutputs { id: id.clone() }))
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let id = route_id(&i.route_table_id, &i.destination_cidr_block);
        let found = existing(read_route(cx, &id).await)?;
        Ok(found.map(|_| created(&id, RouteOutputs { id: id.clone() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let inputs = read_route(cx, id).await?;
        Ok(observed(id, inputs, RouteOutputs { id: id.into() }))
    }

    async fn update(cx: &Cx<'_>, ch: Update<'_, Self>) -> Result<Self::Outputs> {
        let n = ch.new;
        call(cx, "ReplaceRoute", |c| {
            c.replace_route()
                .route_table_id(&n.route_table_id)
                .destination_cidr_block(&n.destination_cidr_block)
                .set_gateway_id(n.gateway_id.clone())
                .set_nat_gateway_id(n.nat_gateway_id.clone())
                .send()
        })
        .await?;
        Ok(ch.old_outputs.clone())
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        let (rtb, dest) = split_route_id(id)?;
        call_unless(cx, "DeleteRoute", "InvalidRoute.NotFound", |c| {
            let req = c.delete_route().route_table_id(rtb);
            req.destination_cidr_block(dest).send()
        })
        .await
    }
}

// ---- Route table association ----

#[async_trait]
impl CustomResource<AwsState> for RouteTableAssociation {
    async fn create(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Created<Self::Outputs>> {
        let out = call(cx, "AssociateRouteTable", |c| {
            let req = c.associate_route_table().route_table_id(&i.route_table_id);
            req.subnet_id(&i.subnet_id).send()
        })
        .await?;
        let id = text(out.association_id());
        let outputs = RouteTableAssociationOutputs { id: id.clone() };
        Ok(created(id, outputs))
    }

    async fn find(cx: &Cx<'_>, i: &Self::Inputs) -> Result<Option<Created<Self::Outputs>>> {
        let Some(r) = existing(describe_route_table(cx, &i.route_table_id).await)? else {
            return Ok(None);
        };
        let subnet = Some(i.subnet_id.as_str());
        let found = r.associations().iter().find(|a| a.subnet_id() == subnet);
        let id = found.and_then(|a| a.route_table_association_id());
        Ok(id.map(|id| created(id, RouteTableAssociationOutputs { id: id.into() })))
    }

    async fn read(cx: &Cx<'_>, id: &str, _: Option<&Self::Inputs>) -> ReadResult<Self> {
        let out = call(cx, "DescribeRouteTables", |c| {
            let f = tags::filter("association.route-table-association-id", id);
            c.describe_route_tables().filters(f).send()
        })
        .await?;
        let found = out.route_tables().iter().find_map(|r| {
            let mut a = r.associations().iter();
            Some((r, a.find(|a| a.route_table_association_id() == Some(id))?))
        });
        let (r, a) = found.ok_or_else(|| not_found("route table association", id))?;
        let inputs = RouteTableAssociationInputs {
            route_table_id: text(r.route_table_id()),
            subnet_id: text(a.subnet_id()),
        };
        let outputs = RouteTableAssociationOutputs { id: id.into() };
        Ok(observed(id, inputs, outputs))
    }

    async fn delete(cx: &Cx<'_>, id: &str, _: &Self::Inputs, _: &Self::Outputs) -> Result<()> {
        call(cx, "DisassociateRouteTable", |c| {
            c.disassociate_route_table().association_id(id).send()
        })
        .await?;
        Ok(())
    }
}
