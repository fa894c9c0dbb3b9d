//! The `gcp_cluster` program: a [`GcpCluster`] from the stack's `cluster:` config.

use mkso::prelude::*;
use mkso_components::{GcpCluster, GcpClusterArgs};

/// Declares the cluster and exports its network and instance names.
pub fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let args: GcpClusterArgs = stack.config("cluster")?;
    let cluster = GcpCluster::new(stack, "cluster", &args, ResourceOptions::new())?;
    stack.export("network_name", cluster.network_name);
    stack.export("instance_names", cluster.instance_names);
    Ok(())
}
