//! The README's one-line example of each EC2 type, as written there, planned
//! by the in-memory provider (no cloud): they compile and make a valid plan.

use mkso::prelude::*;
use mkso_providers_aws::*;

#[rustfmt::skip]
fn program(stack: &Stack) -> Result<(), mkso::Error> {
    // README: EC2 types
    let vpc = Vpc::new(stack, "main", VpcArgs::builder().cidr_block("10.0.0.0/16").enable_dns_hostnames(true), ResourceOptions::new())?;
    let subnet = Subnet::new(stack, "a", SubnetArgs::builder().vpc_id(vpc.id()).cidr_block("10.0.1.0/24").availability_zone(Some("eu-west-1a".into())), ResourceOptions::new())?;
    let igw = InternetGateway::new(stack, "igw", InternetGatewayArgs::builder().vpc_id(vpc.id().map(Some)), ResourceOptions::new())?;
    let rt = RouteTable::new(stack, "public", RouteTableArgs::builder().vpc_id(vpc.id()), ResourceOptions::new())?;
    Route::new(stack, "default", RouteArgs::builder().route_table_id(rt.id()).destination_cidr_block("0.0.0.0/0").gateway_id(igw.id().map(Some)), ResourceOptions::new())?;
    RouteTableAssociation::new(stack, "a-public", RouteTableAssociationArgs::builder().route_table_id(rt.id()).subnet_id(subnet.id()), ResourceOptions::new())?;
    let sg = SecurityGroup::new(stack, "web-sg", SecurityGroupArgs::builder().vpc_id(vpc.id()).description("web servers"), ResourceOptions::new())?;
    SecurityGroupRule::new(stack, "https", SecurityGroupRuleArgs::builder().security_group_id(sg.id()).direction("ingress").protocol("tcp").from_port(443).to_port(443).cidr_blocks(vec!["0.0.0.0/0".to_string()]), ResourceOptions::new())?;
    let key = KeyPair::new(stack, "ops", KeyPairArgs::builder().public_key("ssh-ed25519 AAAA... ops"), ResourceOptions::new())?;
    let vm = Instance::new(stack, "web", InstanceArgs::builder().ami("ami-12c6146b").instance_type("t3.micro").subnet_id(subnet.id().map(Some)).key_name(key.key_name().map(Some)), ResourceOptions::new())?;
    let ip = Eip::new(stack, "nat-ip", EipArgs::builder(), ResourceOptions::new())?;
    NatGateway::new(stack, "nat", NatGatewayArgs::builder().subnet_id(subnet.id()).allocation_id(ip.id()), ResourceOptions::new())?;
    let web_ip = Eip::new(stack, "web-ip", EipArgs::builder(), ResourceOptions::new())?;
    EipAssociation::new(stack, "web-ip-on-web", EipAssociationArgs::builder().allocation_id(web_ip.id()).instance_id(vm.id().map(Some)), ResourceOptions::new())?;
    let data = Volume::new(stack, "data", VolumeArgs::builder().availability_zone("eu-west-1a").size(100).volume_type(Some("gp3".into())), ResourceOptions::new())?;
    VolumeAttachment::new(stack, "data-on-web", VolumeAttachmentArgs::builder().volume_id(data.id()).instance_id(vm.id()).device_name("/dev/sdf"), ResourceOptions::new())?;
    EgressOnlyInternetGateway::new(stack, "eigw", EgressOnlyInternetGatewayArgs::builder().vpc_id(vpc.id()), ResourceOptions::new())?;
    let acl = NetworkAcl::new(stack, "private", NetworkAclArgs::builder().vpc_id(vpc.id()), ResourceOptions::new())?;
    NetworkAclEntry::new(stack, "https-in", NetworkAclEntryArgs::builder().network_acl_id(acl.id()).rule_number(100).protocol("tcp").rule_action("allow").cidr_block("0.0.0.0/0").from_port(Some(443)).to_port(Some(443)), ResourceOptions::new())?;
    LaunchTemplate::new(stack, "app", LaunchTemplateArgs::builder().image_id("ami-12c6146b").instance_type("t3.micro").security_group_ids(sg.id().map(|g| vec![g])), ResourceOptions::new())?;
    NetworkInterface::new(stack, "appliance", NetworkInterfaceArgs::builder().subnet_id(subnet.id()).source_dest_check(Some(false)), ResourceOptions::new())?;
    VpcEndpoint::new(stack, "s3", VpcEndpointArgs::builder().vpc_id(vpc.id()).service_name("com.amazonaws.eu-west-1.s3").route_table_ids(rt.id().map(|t| vec![t])), ResourceOptions::new())?;
    let peer_vpc = Vpc::new(stack, "shared", VpcArgs::builder().cidr_block("10.1.0.0/16"), ResourceOptions::new())?;
    let pcx = VpcPeeringConnection::new(stack, "to-shared", VpcPeeringConnectionArgs::builder().vpc_id(vpc.id()).peer_vpc_id(peer_vpc.id()).peer_region(Some("eu-central-1".into())), ResourceOptions::new())?;
    VpcPeeringConnectionAccepter::new(stack, "from-main", VpcPeeringConnectionAccepterArgs::builder().vpc_peering_connection_id(pcx.id()), ResourceOptions::new().provider("frankfurt"))?;
    PlacementGroup::new(stack, "hpc", PlacementGroupArgs::builder().strategy("cluster"), ResourceOptions::new())?;
    // README: end
    Ok(())
}

#[test]
fn every_ec2_example_of_the_readme_plans() {
    let graph = mkso::testing::preview(program)
        .stack("aws.network.QA")
        .up()
        .unwrap();
    let mut types: Vec<_> = graph
        .resources
        .iter()
        .map(|r| r.type_token.clone())
        .collect();
    types.sort();
    types.dedup();
    assert_eq!(types.len(), 24, "{types:?}");
}

#[test]
fn the_readme_shows_these_examples_as_written() {
    let readme = include_str!("../../../README.md");
    let me = include_str!("readme.rs");
    let start = me.find("// README: EC2 types\n").unwrap();
    let end = me.find("    // README: end").unwrap();
    for line in me[start..end].lines().skip(1) {
        let line = line.trim();
        assert!(
            readme.contains(line),
            "README.md lacks the example line\n{line}"
        );
    }
}
