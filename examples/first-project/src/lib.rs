//! The web shop: a VPC (the `AwsVpcNetwork` component) and a web tier of our
//! own — a security group open on port 80 and N instances spread over the
//! private subnets.

use mkso::prelude::*;
use mkso_components::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode};
use mkso_providers_aws::{
    Instance, InstanceArgs, SecurityGroup, SecurityGroupArgs, SecurityGroupRule,
    SecurityGroupRuleArgs,
};

/// The `net` config namespace.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetConfig {
    /// The VPC's range.
    pub cidr: String,
    /// How many availability zones.
    pub zones: u32,
}

/// The `web` config namespace.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// How many instances.
    pub instances: u32,
    /// Their image.
    pub ami: String,
    /// Their type.
    pub instance_type: String,
}

/// A component of our own: a security group and N instances.
pub struct WebTier {
    /// The instances' ids.
    pub instance_ids: Output<Vec<String>>,
}

impl WebTier {
    /// Declares the tier in `vpc_id`, its instances round-robin over `subnets`.
    pub fn new(
        stack: &Stack,
        name: &str,
        cfg: &WebConfig,
        vpc_id: Output<String>,
        subnets: Output<Vec<String>>,
    ) -> Result<Self, mkso::Error> {
        let component = stack.component("webshop:web:Tier", name, ResourceOptions::new())?;
        let sg = SecurityGroup::new(
            stack,
            "sg",
            SecurityGroupArgs::builder()
                .description(Some(format!("web tier of {}", stack.environment())))
                .vpc_id(vpc_id),
            component.child_opts(),
        )?;
        SecurityGroupRule::new(
            stack,
            "http",
            SecurityGroupRuleArgs::builder()
                .security_group_id(sg.id())
                .direction("ingress")
                .protocol("tcp")
                .from_port(80)
                .to_port(80)
                .cidr_blocks(vec!["0.0.0.0/0".to_string()]),
            component.child_opts(),
        )?;
        let mut ids = Vec::new();
        for i in 0..cfg.instances as usize {
            let subnet = subnets.map(move |s| Some(s[i % s.len()].clone()));
            let instance = Instance::new(
                stack,
                &format!("web-{i}"),
                InstanceArgs::builder()
                    .ami(cfg.ami.clone())
                    .instance_type(cfg.instance_type.clone())
                    .subnet_id(subnet)
                    .security_group_ids(sg.id().map(|id| vec![id])),
                component.child_opts(),
            )?;
            ids.push(instance.id());
        }
        let instance_ids = Output::all_vec(ids);
        component
            .register_outputs(instance_ids.map(|ids| serde_json::json!({ "instance_ids": ids })));
        Ok(WebTier { instance_ids })
    }
}

/// The stack program.
pub fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let aws: mkso_providers_aws::AwsConfig = stack.config("aws")?;
    let net: NetConfig = stack.config("net")?;
    let web: WebConfig = stack.config("web")?;
    let zones = (0..net.zones)
        .map(|i| format!("{}{}", aws.region, (b'a' + i as u8) as char))
        .collect();
    let network = AwsVpcNetwork::new(
        stack,
        "net",
        &AwsVpcNetworkArgs {
            cidr: net.cidr,
            availability_zones: zones,
            subnet_prefix: None,
            nat: NatMode::None,
            tags: Default::default(),
        },
        ResourceOptions::new(),
    )?;
    let tier = WebTier::new(
        stack,
        "web",
        &web,
        network.vpc_id.clone(),
        network.private_subnet_ids.clone(),
    )?;
    stack.export("vpc_id", network.vpc_id);
    stack.export("instance_ids", tier.instance_ids);
    Ok(())
}
