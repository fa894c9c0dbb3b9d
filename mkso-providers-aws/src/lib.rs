//! AWS provider for mkso (EC2 resources on `aws-sdk-ec2`).
//!
//! Not implemented yet: this crate reserves its place in the workspace layout.
//! The resources (`aws:ec2:Vpc`, `Subnet`, ...) arrive with the AWS provider issue.
