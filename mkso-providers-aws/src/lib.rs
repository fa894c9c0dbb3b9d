//! AWS EC2 resources for mkso, on `aws-sdk-ec2`.
//!
//! Resources: [`Vpc`], [`Subnet`], [`InternetGateway`] (with its VPC
//! attachment), [`RouteTable`], [`Route`], [`RouteTableAssociation`],
//! [`SecurityGroup`], [`SecurityGroupRule`], [`Instance`], [`Eip`],
//! [`NatGateway`], [`KeyPair`]. Every taggable resource is tagged `Name`,
//! `Environment` (the stack's environment), `mkso:stack`, `mkso:urn`, then
//! `aws:defaultTags` and its own `tags`. Before a create, the provider looks
//! the resource up by its `mkso:urn` tag and adopts it: an interrupted `up`
//! never makes a second copy.
//!
//! ```no_run
//! use mkso::prelude::*;
//! use mkso_providers_aws::{AwsProvider, Vpc, VpcArgs};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     stack.add_provider(None, AwsProvider::from_stack(stack)?);
//!     let vpc = Vpc::new(stack, "main", VpcArgs::default().cidr_block("10.0.0.0/16"), ResourceOptions::new())?;
//!     stack.export("vpc_id", vpc.id());
//!     Ok(())
//! }
//! ```
//!
//! Provider configuration (namespace `aws`): `aws:region` (required),
//! `aws:endpoint` (else `AWS_ENDPOINT_URL`, else the real endpoint),
//! `aws:defaultTags` (a mapping). Credentials come from the standard
//! `aws-config` chain. Two regions: add a second provider with a name and
//! select it with `ResourceOptions::provider(name)`.

mod config;
mod error;
mod provider;
mod resources;
mod tags;

pub use config::AwsConfig;
pub use provider::AwsProvider;
pub use resources::*;
