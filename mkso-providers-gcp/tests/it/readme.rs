//! The README's one-line example of each GCP type, as written there,
//! planned by the in-memory provider (no cloud).

use std::collections::BTreeMap;

use mkso::prelude::*;
use mkso_providers_gcp::*;

#[rustfmt::skip]
fn program(stack: &Stack) -> Result<(), mkso::Error> {
    // README: GCP types
    let net = Network::new(stack, "net", NetworkArgs::default(), ResourceOptions::new())?;
    let sub = Subnetwork::new(stack, "sub", SubnetworkArgs::builder().network(net.name()).region(Some("europe-west1".into())).ip_cidr_range("10.10.0.0/24"), ResourceOptions::new())?;
    Firewall::new(stack, "ssh", FirewallArgs::builder().network(net.name()).allowed(BTreeMap::from([("tcp".to_string(), vec!["22".to_string()])])).source_ranges(vec!["0.0.0.0/0".to_string()]), ResourceOptions::new())?;
    Instance::new(stack, "vm", InstanceArgs::builder().machine_type("e2-small").source_image("projects/debian-cloud/global/images/family/debian-12").network(net.name()).subnetwork(sub.name().map(Some)), ResourceOptions::new())?;
    Disk::new(stack, "data", DiskArgs::builder().size_gb(50), ResourceOptions::new())?;
    // README: end
    Ok(())
}

#[test]
fn every_gcp_example_of_the_readme_plans() {
    let graph = mkso::testing::preview(program)
        .stack("gcp.cluster.QA")
        .up()
        .unwrap();
    let mut types: Vec<_> = graph
        .resources
        .iter()
        .map(|r| r.type_token.clone())
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 5, "{types:?}");
}

#[test]
fn the_readme_shows_these_examples_as_written() {
    let readme = include_str!("../../../README.md");
    let me = include_str!("readme.rs");
    let start = me.find("// README: GCP types\n").unwrap();
    let end = me.find("    // README: end").unwrap();
    for line in me[start..end].lines().skip(1) {
        let line = line.trim();
        assert!(
            readme.contains(line),
            "README.md lacks the example line\n{line}"
        );
    }
}
