//! Reusable mkso components.
//!
//! - [`AwsVpcNetwork`]: a VPC with one public and one private subnet per
//!   availability zone, an internet gateway, route tables and optional NAT.
//! - [`AwsWebService`]: an application load balancer, a listener and a
//!   target group in front of instances or an Auto Scaling group, the
//!   security groups chained (only the load balancer reaches the instances).
//! - [`AwsPostgres`]: a PostgreSQL RDS instance in private subnets, reachable
//!   from one security group only, its password a secret.
//! - [`GcpCluster`]: a custom-mode network, subnetworks, an SSH firewall and
//!   N instances tagged for it.
//!
//! Each cloud's components are behind a cargo feature (`aws`, `gcp`), and
//! the AWS components that need services besides EC2 behind one each
//! (`aws-web`: ELBv2 and Auto Scaling; `aws-postgres`: RDS); all are on by
//! default. A program compiles only the SDKs it uses:
//! `mkso-components = { version = "0.1", default-features = false, features = ["aws"] }`
//! is EC2 alone.

#[cfg(feature = "aws-postgres")]
mod aws_postgres;
#[cfg(feature = "aws")]
mod aws_vpc_network;
#[cfg(feature = "aws-web")]
mod aws_web_service;
#[cfg(feature = "gcp")]
mod gcp_cluster;

#[cfg(feature = "aws-postgres")]
pub use aws_postgres::{AwsPostgres, AwsPostgresArgs};
#[cfg(feature = "aws")]
pub use aws_vpc_network::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode, NetworkPlanError};
#[cfg(feature = "aws-web")]
pub use aws_web_service::{AutoScalingTargets, AwsWebService, AwsWebServiceArgs, WebTargets};
#[cfg(feature = "gcp")]
pub use gcp_cluster::{GcpCluster, GcpClusterArgs};
