//! mkso stack programs. Each program is a function here (so tests can run it
//! with `mkso::testing`) and a bin under its own folder, beside its `Mkso.yaml`
//! and `Mkso.<stack>.yaml` files.

#[path = "data_bench/program.rs"]
pub mod data_bench;

#[cfg(feature = "aws")]
#[path = "aws_network/program.rs"]
pub mod aws_network;

#[cfg(feature = "aws-app")]
#[path = "aws_app/program.rs"]
pub mod aws_app;

#[cfg(feature = "gcp")]
#[path = "gcp_cluster/program.rs"]
pub mod gcp_cluster;

#[cfg(feature = "aws")]
#[path = "ec2_bench/program.rs"]
pub mod ec2_bench;
