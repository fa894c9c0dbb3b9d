//! `AwsVpcNetwork`: a VPC of a given CIDR, one public and one private subnet
//! per availability zone carved from it, an internet gateway, a public route
//! table with a default route, private route tables, and NAT gateways (none,
//! one shared, or one per zone), each with its Elastic IP.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso_components::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let args = AwsVpcNetworkArgs {
//!         cidr: "10.0.0.0/16".into(),
//!         availability_zones: vec!["us-east-1a".into(), "us-east-1b".into()],
//!         nat: NatMode::One,
//!         ..Default::default()
//!     };
//!     let net = AwsVpcNetwork::new(stack, "net", &args, ResourceOptions::new())?;
//!     stack.export("vpc_id", net.vpc_id.clone());
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program).stack("aws.network.QA").run().unwrap();
//! assert_eq!(graph.resources_of_type("aws:ec2:Subnet").len(), 4);
//! assert_eq!(graph.resources_of_type("aws:ec2:NatGateway").len(), 1);
//! ```

use std::collections::BTreeMap;

use ipnet::Ipv4Net;
use mkso::prelude::*;
use mkso_providers_aws::{
    Eip, EipArgs, InternetGateway, InternetGatewayArgs, NatGateway, NatGatewayArgs, Route,
    RouteArgs, RouteTable, RouteTableArgs, RouteTableAssociation, RouteTableAssociationArgs,
    Subnet, SubnetArgs, Vpc, VpcArgs,
};
use serde::{Deserialize, Serialize};

/// How private subnets reach the internet.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum NatMode {
    /// No NAT: private subnets have no route out.
    #[default]
    None,
    /// One NAT gateway (in the first public subnet) for all zones.
    One,
    /// One NAT gateway per zone.
    PerZone,
}

/// The network's settings (typically the stack's `network:` config).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AwsVpcNetworkArgs {
    /// The VPC's IPv4 range, e.g. `10.0.0.0/16`.
    pub cidr: String,
    /// The availability zones (one public and one private subnet each).
    pub availability_zones: Vec<String>,
    /// The subnets' prefix length (default: the smallest split that gives two
    /// subnets per zone).
    #[serde(default)]
    pub subnet_prefix: Option<u8>,
    /// NAT gateways.
    #[serde(default)]
    pub nat: NatMode,
    /// Tags for every resource of the network.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
}

/// Why the network's address plan does not work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPlanError(pub String);

impl std::fmt::Display for NetworkPlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl AwsVpcNetworkArgs {
    /// The subnets' ranges: (public, private) per zone, in zone order.
    pub fn plan(&self) -> Result<Vec<(Ipv4Net, Ipv4Net)>, NetworkPlanError> {
        let net: Ipv4Net = self.cidr.parse().map_err(|_| {
            NetworkPlanError(format!(
                "network cidr `{}` is not an IPv4 CIDR block such as 10.0.0.0/16",
                self.cidr
            ))
        })?;
        if net.trunc() != net {
            return Err(NetworkPlanError(format!(
                "network cidr `{}` has host bits set: did you mean `{}`?",
                self.cidr,
                net.trunc()
            )));
        }
        if !(16..=28).contains(&net.prefix_len()) {
            return Err(NetworkPlanError(format!(
                "network cidr `{}`: a VPC's prefix must be between /16 and /28",
                self.cidr
            )));
        }
        let zones = self.availability_zones.len();
        if zones == 0 {
            return Err(NetworkPlanError(
                "the network needs at least one availability zone".into(),
            ));
        }
        let needed = 2 * zones;
        let bits = (needed as f64).log2().ceil() as u8;
        let prefix = self.subnet_prefix.unwrap_or(net.prefix_len() + bits);
        if prefix > 28 {
            return Err(NetworkPlanError(format!(
                "{needed} subnets (a public and a private one in each of {zones} zones) need /{prefix} subnets of `{}`, smaller than the /28 EC2 allows: use a larger network or fewer zones",
                self.cidr
            )));
        }
        if prefix < net.prefix_len() {
            return Err(NetworkPlanError(format!(
                "subnet prefix /{prefix} is larger than the network `{}` itself",
                self.cidr
            )));
        }
        let subnets: Vec<Ipv4Net> = net
            .subnets(prefix)
            .map_err(|e| {
                NetworkPlanError(format!("cannot split `{}` into /{prefix}: {e}", self.cidr))
            })?
            .collect();
        if subnets.len() < needed {
            return Err(NetworkPlanError(format!(
                "`{}` holds {} /{prefix} subnets, but {zones} zones need {needed} (a public and a private one each): use a larger network, a longer subnet prefix, or fewer zones",
                self.cidr,
                subnets.len()
            )));
        }
        Ok((0..zones)
            .map(|z| (subnets[z], subnets[zones + z]))
            .collect())
    }
}

/// A VPC network; see the module docs.
#[derive(Debug, Clone, mkso::ComponentOutputs)]
pub struct AwsVpcNetwork {
    /// The component.
    pub component: ComponentResource,
    /// The VPC's id.
    pub vpc_id: Output<String>,
    /// Public subnets' ids, in zone order.
    pub public_subnet_ids: Output<Vec<String>>,
    /// Private subnets' ids, in zone order.
    pub private_subnet_ids: Output<Vec<String>>,
}

impl AwsVpcNetwork {
    /// The component's type token.
    pub const TYPE: &'static str = "mkso:components:AwsVpcNetwork";

    /// Declares the network `name`.
    pub fn new(
        stack: &Stack,
        name: &str,
        args: &AwsVpcNetworkArgs,
        opts: ResourceOptions,
    ) -> Result<Self, mkso::Error> {
        let plan = args
            .plan()
            .map_err(|e| mkso::Error::program(format!("network `{name}`: {e}")))?;
        let c = stack.component(Self::TYPE, name, opts)?;
        let o = || c.child_opts();
        let tags = args.tags.clone();

        let vpc = Vpc::new(
            stack,
            "vpc",
            VpcArgs::builder()
                .cidr_block(args.cidr.clone())
                .enable_dns_hostnames(true)
                .tags(tags.clone()),
            o(),
        )?;
        let igw = InternetGateway::new(
            stack,
            "igw",
            InternetGatewayArgs::builder()
                .vpc_id(vpc.id().map(Some))
                .tags(tags.clone()),
            o(),
        )?;
        let public_rt = RouteTable::new(
            stack,
            "public-rt",
            RouteTableArgs::builder()
                .vpc_id(vpc.id())
                .tags(tags.clone()),
            o(),
        )?;
        Route::new(
            stack,
            "public-default",
            RouteArgs::builder()
                .route_table_id(public_rt.id())
                .destination_cidr_block("0.0.0.0/0")
                .gateway_id(igw.id().map(Some)),
            o(),
        )?;

        let mut public_ids = Vec::new();
        let mut private_ids = Vec::new();
        let mut nat_ids: Vec<Output<String>> = Vec::new();
        for (z, (zone, (public, private))) in args.availability_zones.iter().zip(&plan).enumerate()
        {
            let pub_subnet = Subnet::new(
                stack,
                &format!("public-subnet-{z}"),
                SubnetArgs::builder()
                    .vpc_id(vpc.id())
                    .cidr_block(public.to_string())
                    .availability_zone(Some(zone.clone()))
                    .map_public_ip_on_launch(true)
                    .tags(tags.clone()),
                o(),
            )?;
            RouteTableAssociation::new(
                stack,
                &format!("public-rta-{z}"),
                RouteTableAssociationArgs::builder()
                    .route_table_id(public_rt.id())
                    .subnet_id(pub_subnet.id()),
                o(),
            )?;
            let priv_subnet = Subnet::new(
                stack,
                &format!("private-subnet-{z}"),
                SubnetArgs::builder()
                    .vpc_id(vpc.id())
                    .cidr_block(private.to_string())
                    .availability_zone(Some(zone.clone()))
                    .tags(tags.clone()),
                o(),
            )?;
            if args.nat == NatMode::PerZone || (args.nat == NatMode::One && z == 0) {
                let eip = Eip::new(
                    stack,
                    &format!("nat-eip-{z}"),
                    EipArgs::builder().tags(tags.clone()),
                    o(),
                )?;
                let nat = NatGateway::new(
                    stack,
                    &format!("nat-{z}"),
                    NatGatewayArgs::builder()
                        .subnet_id(pub_subnet.id())
                        .allocation_id(eip.id())
                        .tags(tags.clone()),
                    o(),
                )?;
                nat_ids.push(nat.id());
            }
            let private_rt = RouteTable::new(
                stack,
                &format!("private-rt-{z}"),
                RouteTableArgs::builder()
                    .vpc_id(vpc.id())
                    .tags(tags.clone()),
                o(),
            )?;
            RouteTableAssociation::new(
                stack,
                &format!("private-rta-{z}"),
                RouteTableAssociationArgs::builder()
                    .route_table_id(private_rt.id())
                    .subnet_id(priv_subnet.id()),
                o(),
            )?;
            if let Some(nat) = nat_ids.get(z).or(nat_ids.first()) {
                Route::new(
                    stack,
                    &format!("private-default-{z}"),
                    RouteArgs::builder()
                        .route_table_id(private_rt.id())
                        .destination_cidr_block("0.0.0.0/0")
                        .nat_gateway_id(nat.map(Some)),
                    o(),
                )?;
            }
            public_ids.push(pub_subnet.id());
            private_ids.push(priv_subnet.id());
        }
        let vpc_id = vpc.id();
        let public_subnet_ids = Output::all_vec(public_ids);
        let private_subnet_ids = Output::all_vec(private_ids);
        let net = AwsVpcNetwork {
            component: c,
            vpc_id,
            public_subnet_ids,
            private_subnet_ids,
        };
        net.component.register_outputs(&net);
        Ok(net)
    }
}
