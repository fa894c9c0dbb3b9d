//! Reusable mkso components.
//!
//! - [`AwsVpcNetwork`]: a VPC with one public and one private subnet per
//!   availability zone, an internet gateway, route tables and optional NAT.

mod aws_vpc_network;

pub use aws_vpc_network::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode, NetworkPlanError};
