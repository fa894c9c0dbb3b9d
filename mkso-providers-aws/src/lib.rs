//! AWS resources for mkso, one official SDK crate per service, each behind a
//! cargo feature.
//!
//! - `ec2` (default; on `aws-sdk-ec2`): [`Vpc`], [`Subnet`],
//!   [`InternetGateway`] (with its VPC attachment), [`RouteTable`], [`Route`],
//!   [`RouteTableAssociation`], [`SecurityGroup`], [`SecurityGroupRule`],
//!   [`Instance`], [`Eip`], [`NatGateway`], [`KeyPair`], [`Volume`],
//!   [`VolumeAttachment`], [`EgressOnlyInternetGateway`], [`EipAssociation`],
//!   [`NetworkAcl`], [`NetworkAclEntry`], [`LaunchTemplate`],
//!   [`NetworkInterface`], [`VpcEndpoint`], [`VpcPeeringConnection`],
//!   [`VpcPeeringConnectionAccepter`], [`PlacementGroup`];
//! - `s3` (on `aws-sdk-s3`): `Bucket`;
//! - `iam` (on `aws-sdk-iam`): `Role`, `Policy`, `RolePolicyAttachment`,
//!   `InstanceProfile`;
//! - `elbv2` (on `aws-sdk-elasticloadbalancingv2`; turns `ec2` on):
//!   `LoadBalancer`, `TargetGroup`, `Listener`, `TargetGroupAttachment`;
//! - `rds` (on `aws-sdk-rds`): `DbSubnetGroup`, `DbInstance` (its password a
//!   secret property);
//! - `route53` (on `aws-sdk-route53`): `HostedZone`, `Record`;
//! - `autoscaling` (on `aws-sdk-autoscaling`): `AutoScalingGroup`.
//!
//! A build compiles only the SDK crates of its features: an S3-only user
//! writes `default-features = false, features = ["s3"]`.
//!
//! Every taggable resource is tagged `Name`,
//! `Environment` (the stack's environment), `mkso:stack`, `mkso:urn`, then
//! `aws:defaultTags` and its own `tags`. Before a create, the provider looks
//! the resource up by its `mkso:urn` tag and adopts it: an interrupted `up`
//! never makes a second copy.
//!
//! Register the provider in the stack binary's `main`, on the `Runner`: the
//! program then only declares resources, and runs unchanged in unit tests.
//!
//! ```no_run
//! use mkso::prelude::*;
//! use mkso_providers_aws::{AwsProvider, Vpc, VpcArgs};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let vpc = Vpc::new(stack, "main", VpcArgs::builder().cidr_block("10.0.0.0/16"), ResourceOptions::new())?;
//!     stack.export("vpc_id", vpc.id());
//!     Ok(())
//! }
//!
//! fn main() {
//!     mkso::Runner::new(program)
//!         .provider(None, AwsProvider::from_stack) // from the `aws:` config
//!         .main()
//! }
//! ```
//!
//! Unit tests never reach AWS: `mkso::testing::preview(program)` serves
//! every `aws:*` type from memory, and replaces a provider the program adds
//! itself (`stack.add_provider(None, AwsProvider::from_stack(stack)?)`) by the
//! in-memory one unless the test asks for it with `.real_provider("aws")`.
//! Registering it on the `Runner`, as above, is better: `from_stack` reads
//! `aws:region` while the program runs, so a program that builds its own
//! provider needs the `aws:` keys in every test's config.
//!
//! ```
//! # use mkso::prelude::*;
//! # use mkso_providers_aws::{Vpc, VpcArgs};
//! # fn program(stack: &Stack) -> Result<(), mkso::Error> {
//! #     let vpc = Vpc::new(stack, "main", VpcArgs::builder().cidr_block("10.0.0.0/16"), ResourceOptions::new())?;
//! #     stack.export("vpc_id", vpc.id());
//! #     Ok(())
//! # }
//! let graph = mkso::testing::preview(program).stack("aws.network.QA").up().unwrap();
//! assert_eq!(graph.outputs["vpc_id"], "main-id");
//! ```
//!
//! Provider configuration (namespace `aws`): `aws:region` (required),
//! `aws:endpoint` (else `AWS_ENDPOINT_URL`, else the real endpoint),
//! `aws:defaultTags` (a mapping). Credentials come from the standard
//! `aws-config` chain. Two regions: add a second provider with a name and
//! select it with `ResourceOptions::provider(name)`.

mod config;
pub mod error;
mod provider;
mod resources;
mod tags;

/// The AWS SDK crates of the services this build serves (each behind its
/// feature), for calls of one's own — a test that checks what a stack made,
/// or changes something behind mkso's back — without depending on them.
pub mod sdk {
    #[cfg(feature = "autoscaling")]
    pub use aws_sdk_autoscaling as autoscaling;
    #[cfg(feature = "ec2")]
    pub use aws_sdk_ec2 as ec2;
    #[cfg(feature = "elbv2")]
    pub use aws_sdk_elasticloadbalancingv2 as elbv2;
    #[cfg(feature = "iam")]
    pub use aws_sdk_iam as iam;
    #[cfg(feature = "rds")]
    pub use aws_sdk_rds as rds;
    #[cfg(feature = "route53")]
    pub use aws_sdk_route53 as route53;
    #[cfg(feature = "s3")]
    pub use aws_sdk_s3 as s3;
}

pub use config::AwsConfig;
pub use provider::{AwsProvider, AwsState};
// (Without any service feature the provider serves no type.)
#[cfg_attr(not(feature = "ec2"), allow(unused_imports))]
pub use resources::*;
