//! The `aws_network` program: an [`AwsVpcNetwork`] from the stack's
//! `network:` config, in the region of `aws:region`.

use mkso::prelude::*;
use mkso_components::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode};
use mkso_providers_aws::AwsConfig;

/// The `network` config namespace.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// The VPC's range, e.g. `10.10.0.0/16`.
    pub cidr: String,
    /// How many availability zones (`<region>a`, `<region>b`, ...).
    pub zones: u32,
    /// Explicit zone names instead of `zones`.
    #[serde(default)]
    pub availability_zones: Option<Vec<String>>,
    /// The subnets' prefix length (default: the smallest split that fits).
    #[serde(default)]
    pub subnet_prefix: Option<u8>,
    /// NAT gateways: `none`, `one` or `per_zone`.
    #[serde(default)]
    pub nat: NatMode,
}

/// Declares the network and exports its ids.
pub fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let aws: AwsConfig = stack.config("aws")?;
    let net: NetworkConfig = stack.config("network")?;
    if net.zones == 0 || net.zones > 6 {
        return Err(mkso::Error::program(format!(
            "config key `network:zones` is {}: use 1 to 6 zones",
            net.zones
        )));
    }
    let zones = net.availability_zones.clone().unwrap_or_else(|| {
        (0..net.zones)
            .map(|i| format!("{}{}", aws.region, (b'a' + i as u8) as char))
            .collect()
    });
    let args = AwsVpcNetworkArgs {
        cidr: net.cidr.clone(),
        availability_zones: zones,
        subnet_prefix: net.subnet_prefix,
        nat: net.nat,
        tags: Default::default(),
    };
    let network = AwsVpcNetwork::new(stack, "network", &args, ResourceOptions::new())?;
    stack.export("vpc_id", network.vpc_id);
    stack.export("public_subnet_ids", network.public_subnet_ids);
    stack.export("private_subnet_ids", network.private_subnet_ids);
    Ok(())
}
