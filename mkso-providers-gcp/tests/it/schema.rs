//! The field metadata of every type (no emulator): which inputs force a
//! replacement (the replace-key tables of the untyped provider), which are
//! required, and what a change plans.

use mkso::typed::{TypedResource, diff_properties, diff_response};
use mkso_providers_gcp::*;
use serde_json::json;

fn replace_keys<R: TypedResource>() -> Vec<&'static str> {
    R::PROPERTIES
        .iter()
        .filter(|p| p.replace)
        .map(|p| p.name)
        .collect()
}

fn required<R: TypedResource>() -> Vec<&'static str> {
    R::PROPERTIES
        .iter()
        .filter(|p| p.required)
        .map(|p| p.name)
        .collect()
}

#[test]
fn replace_keys_and_required_inputs() {
    assert_eq!(
        replace_keys::<Network>(),
        ["name", "auto_create_subnetworks"]
    );
    assert_eq!(required::<Network>(), Vec::<&str>::new());
    assert_eq!(
        replace_keys::<Subnetwork>(),
        ["name", "network", "region", "ip_cidr_range"]
    );
    assert_eq!(required::<Subnetwork>(), ["network", "ip_cidr_range"]);
    assert_eq!(replace_keys::<Firewall>(), ["name", "network", "direction"]);
    assert_eq!(required::<Firewall>(), ["network", "allowed"]);
    assert_eq!(
        replace_keys::<Instance>(),
        [
            "name",
            "zone",
            "machine_type",
            "source_image",
            "network",
            "subnetwork",
            "tags"
        ]
    );
    assert_eq!(
        required::<Instance>(),
        ["machine_type", "source_image", "network"]
    );
    assert_eq!(
        replace_keys::<Disk>(),
        ["name", "zone", "size_gb", "source_image"]
    );
    assert_eq!(required::<Disk>(), ["size_gb"]);
    // No type declares provider-wide tags: labels are set per type.
    for props in [
        Network::PROPERTIES,
        Subnetwork::PROPERTIES,
        Firewall::PROPERTIES,
        Instance::PROPERTIES,
        Disk::PROPERTIES,
    ] {
        assert!(props.iter().all(|p| !p.tags && !p.secret));
    }
}

#[test]
fn labels_and_rules_change_in_place_the_rest_replaces() {
    let vm = json!({"name": null, "zone": null, "machine_type": "e2-small",
        "source_image": "img", "network": "net", "subnetwork": null,
        "tags": ["ssh"], "labels": {"team": "infra"}});
    let mut relabelled = vm.clone();
    relabelled["labels"]["team"] = json!("data");
    let d = diff_response(&diff_properties(Instance::PROPERTIES, &vm, &relabelled));
    assert_eq!((d.changed, d.replace), (vec!["labels".to_string()], vec![]));
    let mut retagged = vm.clone();
    retagged["tags"] = json!(["ssh", "web"]);
    let d = diff_response(&diff_properties(Instance::PROPERTIES, &vm, &retagged));
    assert_eq!(d.replace, ["tags"]);

    let fw = json!({"name": null, "network": "net", "direction": null, "priority": null,
        "allowed": {"tcp": ["22"]}, "source_ranges": [], "target_tags": []});
    let mut wider = fw.clone();
    wider["allowed"]["tcp"] = json!(["22", "2222"]);
    wider["priority"] = json!(900);
    let d = diff_response(&diff_properties(Firewall::PROPERTIES, &fw, &wider));
    assert_eq!(d.changed, ["allowed", "priority"]);
    assert!(d.replace.is_empty());
    let mut egress = fw.clone();
    egress["direction"] = json!("EGRESS");
    let d = diff_response(&diff_properties(Firewall::PROPERTIES, &fw, &egress));
    assert_eq!(d.replace, ["direction"]);
}

/// GCP names are unique: a replacement that keeps the name (a derived one
/// always does) deletes the old copy first; one that renames creates the
/// new copy first.
#[tokio::test]
async fn a_replacement_that_keeps_the_name_deletes_first() {
    use mkso::Provider;
    use mkso::provider::{DiffRequest, ResourceIdentity};
    let provider = GcpProvider::new(GcpConfig {
        project: "p".into(),
        region: "europe-west1".into(),
        zone: "europe-west1-b".into(),
        endpoint: Some("http://127.0.0.1:9".into()),
        credentials: Some("anonymous".into()),
    })
    .unwrap();
    let stack = mkso::StackName::new("gcp.schema.QA").unwrap();
    let identity = ResourceIdentity {
        urn: mkso::Urn::new(&stack, "p", Subnetwork::TYPE, "subnet"),
        type_token: Subnetwork::TYPE.into(),
        stack,
    };
    let old = json!({"name": null, "network": "n", "region": null, "ip_cidr_range": "10.0.0.0/24"});
    let diff = |new: serde_json::Value| {
        provider.diff(DiffRequest {
            identity: identity.clone(),
            id: "subnet-id".into(),
            old_inputs: old.clone(),
            old_outputs: json!({}),
            new_inputs: new,
        })
    };
    let same_name =
        diff(json!({"name": null, "network": "n", "region": null, "ip_cidr_range": "10.0.1.0/24"}))
            .await
            .unwrap();
    assert_eq!(same_name.replace, ["ip_cidr_range"]);
    assert!(same_name.delete_before_replace);
    let renamed = diff(
        json!({"name": "other", "network": "n", "region": null, "ip_cidr_range": "10.0.1.0/24"}),
    )
    .await
    .unwrap();
    assert!(!renamed.delete_before_replace);
}
