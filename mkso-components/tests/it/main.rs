//! Tests of the components.

mod aws_vpc_network;
mod gcp_cluster;
