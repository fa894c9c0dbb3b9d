//! Reusable mkso components.
//!
//! - [`AwsVpcNetwork`]: a VPC with one public and one private subnet per
//!   availability zone, an internet gateway, route tables and optional NAT.
//! - [`GcpCluster`]: a custom-mode network, subnetworks, an SSH firewall and
//!   N instances tagged for it.

mod aws_vpc_network;
mod gcp_cluster;

pub use aws_vpc_network::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode, NetworkPlanError};
pub use gcp_cluster::{GcpCluster, GcpClusterArgs};
