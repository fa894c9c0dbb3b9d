//! `GcpCluster`: network → firewall → instances, as the testing kit records it.

use mkso::prelude::*;
use mkso::provider::CreateResponse;
use mkso::testing::{TestProvider, preview};
use mkso_components::{GcpCluster, GcpClusterArgs};

#[test]
fn network_firewall_instances() {
    let args = GcpClusterArgs {
        subnets: [
            ("us-central1".to_string(), "10.0.1.0/24".to_string()),
            ("us-east1".to_string(), "10.0.2.0/24".to_string()),
        ]
        .into(),
        ssh_source_ranges: vec!["203.0.113.0/24".into()],
        instances: 2,
        zone: Some("us-east1-b".into()),
        ..Default::default()
    };
    let g = preview(move |stack: &Stack| {
        let c = GcpCluster::new(stack, "cluster", &args, ResourceOptions::new())?;
        stack.export("network_name", c.network_name);
        stack.export("instance_names", c.instance_names);
        Ok(())
    })
    .stack("gcp.cluster.QA")
    .provider(gcp_like())
    .up()
    .unwrap();
    assert_eq!(g.resources_of_type("gcp:compute:Subnetwork").len(), 2);
    let fw = g.get("cluster/ssh").unwrap();
    assert_eq!(
        fw.inputs["source_ranges"],
        serde_json::json!(["203.0.113.0/24"])
    );
    assert_eq!(fw.inputs["allowed"], serde_json::json!({"tcp": ["22"]}));
    for vm in g.resources_of_type("gcp:compute:Instance") {
        assert_eq!(
            vm.inputs["tags"],
            serde_json::json!(["ssh"]),
            "tagged for the firewall"
        );
        assert!(
            vm.dependencies.contains(&"cluster/ssh".to_string()),
            "after the firewall"
        );
        assert_eq!(
            vm.inputs["subnetwork"], "cluster-subnet-us-east1",
            "the zone's region's subnetwork"
        );
    }
    assert_eq!(g.outputs["instance_names"].as_array().unwrap().len(), 2);
    insta::assert_yaml_snapshot!(g);
}

#[test]
fn a_cluster_without_subnetworks_is_refused() {
    let e = preview(|stack: &Stack| {
        GcpCluster::new(
            stack,
            "c",
            &GcpClusterArgs::default(),
            ResourceOptions::new(),
        )?;
        Ok(())
    })
    .run()
    .unwrap_err()
    .to_string();
    assert!(e.contains("cluster:subnets"), "{e}");
}

/// A test provider that computes GCP names as the real provider would
/// (here simply from the mkso name): the `name` outputs programs read.
fn gcp_like() -> TestProvider {
    [
        "gcp:compute:Network",
        "gcp:compute:Subnetwork",
        "gcp:compute:Firewall",
        "gcp:compute:Instance",
    ]
    .into_iter()
    .fold(TestProvider::new(), |tp, t| {
        tp.on_create(t, |req| {
            let name = req.identity.name().replace('/', "-");
            let mut outputs = req.inputs.clone();
            outputs["name"] = serde_json::json!(name);
            Ok(CreateResponse { id: name, outputs })
        })
    })
}
