//! Reusable mkso components.
//!
//! - [`AwsVpcNetwork`]: a VPC with one public and one private subnet per
//!   availability zone, an internet gateway, route tables and optional NAT.
//! - [`GcpCluster`]: a custom-mode network, subnetworks, an SSH firewall and
//!   N instances tagged for it.
//!
//! Each cloud's components are behind a cargo feature (`aws`, `gcp`; both
//! on by default), so a program for one cloud compiles only that cloud's SDK:
//! `mkso-components = { version = "0.1", default-features = false, features = ["aws"] }`.

#[cfg(feature = "aws")]
mod aws_vpc_network;
#[cfg(feature = "gcp")]
mod gcp_cluster;

#[cfg(feature = "aws")]
pub use aws_vpc_network::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode, NetworkPlanError};
#[cfg(feature = "gcp")]
pub use gcp_cluster::{GcpCluster, GcpClusterArgs};
