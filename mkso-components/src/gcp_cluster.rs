//! `GcpCluster`: network (custom subnet mode) → one subnetwork per configured
//! region range → a firewall allowing SSH from configured ranges to a target
//! tag → N instances carrying that tag (the Make It So cluster, as a component).
//!
//! ```
//! use mkso::prelude::*;
//! use mkso_components::{GcpCluster, GcpClusterArgs};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let args = GcpClusterArgs {
//!         subnets: [("us-central1".to_string(), "10.0.1.0/24".to_string())].into(),
//!         ssh_source_ranges: vec!["203.0.113.0/24".into()],
//!         instances: 2,
//!         ..Default::default()
//!     };
//!     let c = GcpCluster::new(stack, "cluster", &args, ResourceOptions::new())?;
//!     stack.export("instance_names", c.instance_names);
//!     Ok(())
//! }
//! let g = mkso::testing::preview(program).stack("gcp.cluster.QA").run().unwrap();
//! assert_eq!(g.resources_of_type("gcp:compute:Instance").len(), 2);
//! ```

use std::collections::BTreeMap;

use mkso::prelude::*;
use mkso_providers_gcp::{
    Firewall, FirewallArgs, Instance, InstanceArgs, Network, NetworkArgs, Subnetwork,
    SubnetworkArgs,
};
use serde::{Deserialize, Serialize};

/// The cluster's settings (typically the stack's `cluster:` config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GcpClusterArgs {
    /// Region → IPv4 range of its subnetwork.
    pub subnets: BTreeMap<String, String>,
    /// Who may SSH in.
    pub ssh_source_ranges: Vec<String>,
    /// How many instances.
    pub instances: u32,
    /// Their machine type.
    #[serde(default = "default_machine_type")]
    pub machine_type: String,
    /// Their boot image.
    #[serde(default = "default_image")]
    pub image: String,
    /// The zone (default: the provider's).
    #[serde(default)]
    pub zone: Option<String>,
    /// The network tag the firewall targets.
    #[serde(default = "default_tag")]
    pub tag: String,
}

fn default_machine_type() -> String {
    "e2-small".into()
}
fn default_image() -> String {
    "projects/debian-cloud/global/images/family/debian-12".into()
}
fn default_tag() -> String {
    "ssh".into()
}

impl Default for GcpClusterArgs {
    fn default() -> Self {
        GcpClusterArgs {
            subnets: BTreeMap::new(),
            ssh_source_ranges: Vec::new(),
            instances: 1,
            machine_type: default_machine_type(),
            image: default_image(),
            zone: None,
            tag: default_tag(),
        }
    }
}

/// A cluster; see the module docs.
#[derive(Debug, Clone)]
pub struct GcpCluster {
    /// The component.
    pub component: ComponentResource,
    /// The network's GCP name.
    pub network_name: Output<String>,
    /// The instances' GCP names.
    pub instance_names: Output<Vec<String>>,
}

impl GcpCluster {
    /// The component's type token.
    pub const TYPE: &'static str = "mkso:components:GcpCluster";

    /// Declares the cluster `name`.
    pub fn new(
        stack: &Stack,
        name: &str,
        args: &GcpClusterArgs,
        opts: ResourceOptions,
    ) -> Result<Self, mkso::Error> {
        if args.subnets.is_empty() {
            return Err(mkso::Error::program(format!(
                "cluster `{name}` needs at least one subnetwork (`cluster:subnets`, region → range)"
            )));
        }
        let c = stack.component(Self::TYPE, name, opts)?;
        let net = Network::new(stack, "network", NetworkArgs::default(), c.child_opts())?;
        let zone_region = args
            .zone
            .as_ref()
            .and_then(|z| z.rsplit_once('-').map(|(r, _)| r.to_string()));
        let mut first_subnet = None;
        for (region, range) in &args.subnets {
            let s = Subnetwork::new(
                stack,
                &format!("subnet-{region}"),
                SubnetworkArgs::builder()
                    .network(net.name())
                    .region(region.clone())
                    .ip_cidr_range(range.clone()),
                c.child_opts(),
            )?;
            if first_subnet.is_none() || zone_region.as_deref() == Some(region.as_str()) {
                first_subnet = Some(s);
            }
        }
        let subnet = first_subnet.expect("at least one subnetwork");
        let fw = Firewall::new(
            stack,
            "ssh",
            FirewallArgs::builder()
                .network(net.name())
                .allowed(BTreeMap::from([(
                    "tcp".to_string(),
                    vec!["22".to_string()],
                )]))
                .source_ranges(args.ssh_source_ranges.clone())
                .target_tags(vec![args.tag.clone()]),
            c.child_opts(),
        )?;
        let mut names = Vec::new();
        for i in 0..args.instances {
            let vm = Instance::new(
                stack,
                &format!("node-{i}"),
                InstanceArgs::builder()
                    .zone(args.zone.clone())
                    .machine_type(args.machine_type.clone())
                    .source_image(args.image.clone())
                    .network(net.name())
                    .subnetwork(subnet.name())
                    .tags(vec![args.tag.clone()]),
                // The firewall first: instances come up reachable.
                c.child_opts().depends_on(&fw),
            )?;
            names.push(vm.name());
        }
        let network_name = net.name();
        let instance_names = Output::all_vec(names);
        c.register_outputs(
            Output::all((network_name.clone(), instance_names.clone()))
                .map(|(n, i)| serde_json::json!({"network_name": n, "instance_names": i})),
        );
        Ok(GcpCluster {
            component: c,
            network_name,
            instance_names,
        })
    }
}
