//! VPC, subnet, internet gateway, route table, route, route table association.

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use mkso::ProviderError;
use mkso::provider::{CreateResponse, ReadResponse, UpdateRequest};
use serde_json::{Value, json};

use super::{
    Call, InternetGatewayInputs, RouteInputs, RouteTableAssociationInputs, RouteTableInputs,
    SubnetInputs, VpcInputs, existing, not_found, with_fields,
};
use crate::tags;

fn flag(v: bool) -> AttributeBooleanValue {
    AttributeBooleanValue::builder().value(v).build()
}

// ---- VPC ----

pub(crate) async fn create_vpc(
    call: &Call<'_>,
    i: VpcInputs,
) -> Result<CreateResponse, ProviderError> {
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
    set_vpc_attributes(call, &id, &i, None).await?;
    Ok(CreateResponse {
        outputs: json!({"id": id, "cidr_block": i.cidr_block}),
        id,
    })
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

pub(crate) async fn find_vpc(call: &Call<'_>) -> Result<Option<CreateResponse>, ProviderError> {
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
            CreateResponse {
                outputs: json!({"id": id, "cidr_block": v.cidr_block()}),
                id,
            }
        }))
}

pub(crate) async fn read_vpc(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
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
    let dns = |attr: aws_sdk_ec2::types::VpcAttributeName| async move {
        let a = call
            .c
            .describe_vpc_attribute()
            .vpc_id(id)
            .attribute(attr)
            .send()
            .await
            .map_err(call.err("DescribeVpcAttribute"))?;
        Ok::<_, ProviderError>(a)
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
    let own = tags::own_tags(&tags::from_sdk(v.tags()), &call.p.config.default_tags);
    let recorded_support = recorded
        .get("enable_dns_support")
        .cloned()
        .unwrap_or(Value::Null);
    let support_v = if recorded_support.is_null() && support {
        Value::Null
    } else {
        json!(support)
    };
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({
                "cidr_block": v.cidr_block(),
                "enable_dns_hostnames": hostnames,
                "enable_dns_support": support_v,
                "tags": own,
            }),
        )),
        outputs: json!({"id": id, "cidr_block": v.cidr_block()}),
    })
}

pub(crate) async fn update_vpc(
    call: &Call<'_>,
    req: &UpdateRequest,
    o: VpcInputs,
    n: VpcInputs,
) -> Result<Value, ProviderError> {
    set_vpc_attributes(call, &req.id, &n, Some(&o)).await?;
    call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
        .await?;
    Ok(req.old_outputs.clone())
}

pub(crate) async fn delete_vpc(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    call.c
        .delete_vpc()
        .vpc_id(id)
        .send()
        .await
        .map_err(call.err("DeleteVpc"))?;
    Ok(())
}

// ---- Subnet ----

pub(crate) async fn create_subnet(
    call: &Call<'_>,
    i: SubnetInputs,
) -> Result<CreateResponse, ProviderError> {
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
    Ok(CreateResponse {
        outputs: json!({"id": id, "availability_zone": s.and_then(|s| s.availability_zone())}),
        id,
    })
}

pub(crate) async fn find_subnet(call: &Call<'_>) -> Result<Option<CreateResponse>, ProviderError> {
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
            CreateResponse {
                outputs: json!({"id": id, "availability_zone": s.availability_zone()}),
                id,
            }
        }))
}

pub(crate) async fn read_subnet(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
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
    let own = tags::own_tags(&tags::from_sdk(s.tags()), &call.p.config.default_tags);
    let zone = if recorded
        .get("availability_zone")
        .is_some_and(Value::is_null)
    {
        Value::Null
    } else {
        json!(s.availability_zone())
    };
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({
                "vpc_id": s.vpc_id(),
                "cidr_block": s.cidr_block(),
                "availability_zone": zone,
                "map_public_ip_on_launch": s.map_public_ip_on_launch().unwrap_or(false),
                "tags": own,
            }),
        )),
        outputs: json!({"id": id, "availability_zone": s.availability_zone()}),
    })
}

pub(crate) async fn update_subnet(
    call: &Call<'_>,
    req: &UpdateRequest,
    o: SubnetInputs,
    n: SubnetInputs,
) -> Result<Value, ProviderError> {
    if o.map_public_ip_on_launch != n.map_public_ip_on_launch {
        call.c
            .modify_subnet_attribute()
            .subnet_id(&req.id)
            .map_public_ip_on_launch(flag(n.map_public_ip_on_launch))
            .send()
            .await
            .map_err(call.err("ModifySubnetAttribute"))?;
    }
    call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
        .await?;
    Ok(req.old_outputs.clone())
}

pub(crate) async fn delete_subnet(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    call.c
        .delete_subnet()
        .subnet_id(id)
        .send()
        .await
        .map_err(call.err("DeleteSubnet"))?;
    Ok(())
}

// ---- Internet gateway ----

pub(crate) async fn create_igw(
    call: &Call<'_>,
    i: InternetGatewayInputs,
) -> Result<CreateResponse, ProviderError> {
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
        attach(call, &id, vpc).await?;
    }
    Ok(CreateResponse {
        outputs: json!({"id": id}),
        id,
    })
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

pub(crate) async fn find_igw(call: &Call<'_>) -> Result<Option<CreateResponse>, ProviderError> {
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
        .map(|g| {
            let id = g.internet_gateway_id().unwrap_or_default().to_string();
            CreateResponse {
                outputs: json!({"id": id}),
                id,
            }
        }))
}

pub(crate) async fn read_igw(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let g = describe_igw(call, id).await?;
    let vpc = g
        .attachments()
        .first()
        .and_then(|a| a.vpc_id())
        .map(String::from);
    let own = tags::own_tags(&tags::from_sdk(g.tags()), &call.p.config.default_tags);
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(recorded, json!({"vpc_id": vpc, "tags": own}))),
        outputs: json!({"id": id}),
    })
}

pub(crate) async fn update_igw(
    call: &Call<'_>,
    req: &UpdateRequest,
    o: InternetGatewayInputs,
    n: InternetGatewayInputs,
) -> Result<Value, ProviderError> {
    if o.vpc_id != n.vpc_id {
        if let Some(v) = &o.vpc_id {
            detach(call, &req.id, v).await?;
        }
        if let Some(v) = &n.vpc_id {
            attach(call, &req.id, v).await?;
        }
    }
    call.sync_tags(&req.id, &call.tags(&o.tags), &call.tags(&n.tags))
        .await?;
    Ok(req.old_outputs.clone())
}

pub(crate) async fn delete_igw(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    let Some(g) = existing(describe_igw(call, id).await)? else {
        return Ok(());
    };
    for a in g.attachments() {
        if let Some(v) = a.vpc_id() {
            detach(call, id, v).await?;
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

// ---- Route table ----

pub(crate) async fn create_route_table(
    call: &Call<'_>,
    i: RouteTableInputs,
) -> Result<CreateResponse, ProviderError> {
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
    Ok(CreateResponse {
        outputs: json!({"id": id}),
        id,
    })
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

pub(crate) async fn find_route_table(
    call: &Call<'_>,
) -> Result<Option<CreateResponse>, ProviderError> {
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
        .map(|r| {
            let id = r.route_table_id().unwrap_or_default().to_string();
            CreateResponse {
                outputs: json!({"id": id}),
                id,
            }
        }))
}

pub(crate) async fn read_route_table(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let r = describe_route_table(call, id).await?;
    let own = tags::own_tags(&tags::from_sdk(r.tags()), &call.p.config.default_tags);
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({"vpc_id": r.vpc_id(), "tags": own}),
        )),
        outputs: json!({"id": id}),
    })
}

pub(crate) async fn delete_route_table(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    call.c
        .delete_route_table()
        .route_table_id(id)
        .send()
        .await
        .map_err(call.err("DeleteRouteTable"))?;
    Ok(())
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

pub(crate) async fn create_route(
    call: &Call<'_>,
    i: RouteInputs,
) -> Result<CreateResponse, ProviderError> {
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
    Ok(CreateResponse {
        outputs: json!({"id": id}),
        id,
    })
}

pub(crate) async fn find_route(
    call: &Call<'_>,
    i: RouteInputs,
) -> Result<Option<CreateResponse>, ProviderError> {
    let id = route_id(&i.route_table_id, &i.destination_cidr_block);
    match read_route(call, &id, &Value::Null).await {
        Ok(_) => Ok(Some(CreateResponse {
            outputs: json!({"id": id}),
            id,
        })),
        Err(e) if e.class == mkso::ErrorClass::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

pub(crate) async fn read_route(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let (rtb, dest) = split_route_id(id)?;
    let r = describe_route_table(call, rtb).await?;
    let route = r
        .routes()
        .iter()
        .find(|x| x.destination_cidr_block() == Some(dest))
        .ok_or_else(|| not_found("route", id))?;
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({
                "route_table_id": rtb,
                "destination_cidr_block": dest,
                "gateway_id": route.gateway_id(),
                "nat_gateway_id": route.nat_gateway_id(),
            }),
        )),
        outputs: json!({"id": id}),
    })
}

pub(crate) async fn update_route(
    call: &Call<'_>,
    req: &UpdateRequest,
    n: RouteInputs,
) -> Result<Value, ProviderError> {
    call.c
        .replace_route()
        .route_table_id(&n.route_table_id)
        .destination_cidr_block(&n.destination_cidr_block)
        .set_gateway_id(n.gateway_id.clone())
        .set_nat_gateway_id(n.nat_gateway_id.clone())
        .send()
        .await
        .map_err(call.err("ReplaceRoute"))?;
    Ok(req.old_outputs.clone())
}

pub(crate) async fn delete_route(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
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

// ---- Route table association ----

pub(crate) async fn create_association(
    call: &Call<'_>,
    i: RouteTableAssociationInputs,
) -> Result<CreateResponse, ProviderError> {
    let out = call
        .c
        .associate_route_table()
        .route_table_id(&i.route_table_id)
        .subnet_id(&i.subnet_id)
        .send()
        .await
        .map_err(call.err("AssociateRouteTable"))?;
    let id = out.association_id().unwrap_or_default().to_string();
    Ok(CreateResponse {
        outputs: json!({"id": id}),
        id,
    })
}

pub(crate) async fn find_association(
    call: &Call<'_>,
    i: RouteTableAssociationInputs,
) -> Result<Option<CreateResponse>, ProviderError> {
    let r = match describe_route_table(call, &i.route_table_id).await {
        Ok(r) => r,
        Err(e) if e.class == mkso::ErrorClass::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(r.associations()
        .iter()
        .find(|a| a.subnet_id() == Some(i.subnet_id.as_str()))
        .and_then(|a| a.route_table_association_id())
        .map(|id| CreateResponse {
            outputs: json!({"id": id}),
            id: id.to_string(),
        }))
}

pub(crate) async fn read_association(
    call: &Call<'_>,
    id: &str,
    recorded: &Value,
) -> Result<ReadResponse, ProviderError> {
    let out = call
        .c
        .describe_route_tables()
        .filters(tags::filter("association.route-table-association-id", id))
        .send()
        .await
        .map_err(call.err("DescribeRouteTables"))?;
    let (rtb, subnet) = out
        .route_tables()
        .iter()
        .find_map(|r| {
            r.associations()
                .iter()
                .find(|a| a.route_table_association_id() == Some(id))
                .map(|a| {
                    (
                        r.route_table_id().map(String::from),
                        a.subnet_id().map(String::from),
                    )
                })
        })
        .ok_or_else(|| not_found("route table association", id))?;
    Ok(ReadResponse {
        id: id.to_string(),
        inputs: Some(with_fields(
            recorded,
            json!({"route_table_id": rtb, "subnet_id": subnet}),
        )),
        outputs: json!({"id": id}),
    })
}

pub(crate) async fn delete_association(call: &Call<'_>, id: &str) -> Result<(), ProviderError> {
    call.c
        .disassociate_route_table()
        .association_id(id)
        .send()
        .await
        .map_err(call.err("DisassociateRouteTable"))?;
    Ok(())
}
