//! The `ec2_bench` program (see `main.rs`).

use ipnet::Ipv4Net;
use mkso::prelude::*;
use mkso_providers_aws::{Subnet, SubnetArgs, Vpc, VpcArgs};

/// The `bench` config namespace.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Ec2BenchConfig {
    /// How many subnets (1 to 4 096: /28s of the VPC's 10.0.0.0/16).
    pub count: u32,
}

/// Declares the VPC and its subnets and exports the subnet count.
pub fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let cfg: Ec2BenchConfig = stack.config("bench")?;
    let vpc_range: Ipv4Net = "10.0.0.0/16".parse().expect("a valid range");
    let mut ranges = vpc_range.subnets(28).expect("/28 fits in /16");
    if cfg.count == 0 || cfg.count > 4096 {
        return Err(mkso::Error::program(format!(
            "config key `bench:count` is {}: use 1 to 4096 subnets (/28s of 10.0.0.0/16)",
            cfg.count
        )));
    }
    let vpc = Vpc::new(
        stack,
        "vpc",
        VpcArgs::builder().cidr_block(vpc_range.to_string()),
        ResourceOptions::new(),
    )?;
    for i in 0..cfg.count {
        let range = ranges.next().expect("count checked above");
        Subnet::new(
            stack,
            &format!("subnet-{i}"),
            SubnetArgs::builder()
                .vpc_id(vpc.id())
                .cidr_block(range.to_string()),
            ResourceOptions::new(),
        )?;
    }
    stack.export("count", Output::new(cfg.count));
    Ok(())
}
