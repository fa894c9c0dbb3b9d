//! Tests of the components.

mod aws_postgres;
mod aws_vpc_network;
mod aws_web_service;
mod gcp_cluster;
