//! `AwsVpcNetwork`: graphs of a few configurations, and plans that do not fit.

use mkso::prelude::*;
use mkso::testing::{RecordedGraph, preview};
use mkso_components::{AwsVpcNetwork, AwsVpcNetworkArgs, NatMode};

fn graph(args: AwsVpcNetworkArgs) -> RecordedGraph {
    preview(move |stack: &Stack| {
        let net = AwsVpcNetwork::new(stack, "net", &args, ResourceOptions::new())?;
        stack.export("vpc_id", net.vpc_id.clone());
        stack.export("public_subnet_ids", net.public_subnet_ids.clone());
        stack.export("private_subnet_ids", net.private_subnet_ids.clone());
        Ok(())
    })
    .stack("aws.network.QA")
    .up()
    .unwrap()
}

fn zones(n: usize) -> Vec<String> {
    ["a", "b", "c", "d"]
        .iter()
        .take(n)
        .map(|z| format!("us-east-1{z}"))
        .collect()
}

#[test]
fn two_zones_without_nat() {
    let g = graph(AwsVpcNetworkArgs {
        cidr: "10.10.0.0/16".into(),
        availability_zones: zones(2),
        ..Default::default()
    });
    assert_eq!(g.resources_of_type("aws:ec2:Subnet").len(), 4);
    assert!(g.resources_of_type("aws:ec2:NatGateway").is_empty());
    assert_eq!(
        g.resources_of_type("aws:ec2:Route").len(),
        1,
        "only the public default route"
    );
    let cidrs: Vec<&str> = g
        .resources_of_type("aws:ec2:Subnet")
        .iter()
        .map(|s| s.inputs["cidr_block"].as_str().unwrap())
        .collect();
    assert_eq!(
        cidrs,
        vec![
            "10.10.128.0/18",
            "10.10.192.0/18",
            "10.10.0.0/18",
            "10.10.64.0/18"
        ]
    );
    insta::assert_yaml_snapshot!(g);
}

#[test]
fn three_zones_with_a_nat_per_zone() {
    let g = graph(AwsVpcNetworkArgs {
        cidr: "10.20.0.0/16".into(),
        availability_zones: zones(3),
        nat: NatMode::PerZone,
        ..Default::default()
    });
    assert_eq!(g.resources_of_type("aws:ec2:NatGateway").len(), 3);
    assert_eq!(g.resources_of_type("aws:ec2:Eip").len(), 3);
    // Each private route table routes through its own zone's NAT gateway.
    for z in 0..3 {
        let r = g.get(&format!("net/private-default-{z}")).unwrap();
        assert_eq!(r.inputs["nat_gateway_id"], format!("net-nat-{z}-id"));
    }
    assert_eq!(g.outputs["private_subnet_ids"].as_array().unwrap().len(), 3);
    insta::assert_yaml_snapshot!(
        g.resources
            .iter()
            .map(|r| format!("{} {}", r.type_token, r.name))
            .collect::<Vec<_>>()
    );
}

#[test]
fn one_shared_nat() {
    let g = graph(AwsVpcNetworkArgs {
        cidr: "10.30.0.0/20".into(),
        availability_zones: zones(3),
        nat: NatMode::One,
        subnet_prefix: Some(24),
        ..Default::default()
    });
    assert_eq!(g.resources_of_type("aws:ec2:NatGateway").len(), 1);
    for z in 0..3 {
        let r = g.get(&format!("net/private-default-{z}")).unwrap();
        assert_eq!(r.inputs["nat_gateway_id"], "net-nat-0-id");
    }
    assert_eq!(
        g.get("net/private-subnet-2").unwrap().inputs["cidr_block"],
        "10.30.5.0/24"
    );
}

#[test]
fn plans_that_do_not_fit_say_why() {
    let err = |cidr: &str, n: usize, prefix: Option<u8>| {
        AwsVpcNetworkArgs {
            cidr: cidr.into(),
            availability_zones: zones(n),
            subnet_prefix: prefix,
            ..Default::default()
        }
        .plan()
        .unwrap_err()
        .to_string()
    };
    assert!(err("10.0.0.0/33", 2, None).contains("not an IPv4 CIDR"));
    assert!(err("10.0.0.1/16", 2, None).contains("did you mean `10.0.0.0/16`"));
    assert!(err("10.0.0.0/8", 2, None).contains("between /16 and /28"));
    let e = err("10.0.0.0/24", 4, Some(26));
    assert!(
        e.contains("4 /26 subnets") && e.contains("4 zones need 8"),
        "{e}"
    );
    let e = err("10.0.0.0/27", 4, None);
    assert!(e.contains("/28"), "{e}");
    assert!(err("10.0.0.0/16", 0, None).contains("at least one availability zone"));
    // Through the program: a clear error, nothing declared.
    let e = preview(|stack: &Stack| {
        AwsVpcNetwork::new(
            stack,
            "net",
            &AwsVpcNetworkArgs {
                cidr: "bad".into(),
                availability_zones: zones(1),
                ..Default::default()
            },
            ResourceOptions::new(),
        )?;
        Ok(())
    })
    .run()
    .unwrap_err()
    .to_string();
    assert!(e.contains("network `net`") && e.contains("`bad`"), "{e}");
}
