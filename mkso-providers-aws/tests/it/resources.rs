//! Each resource type: create, update in place, drift (refresh reports, up
//! corrects), replace, delete, import.

use std::collections::BTreeMap;

use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_aws::*;

use crate::{Env, Program, op};

pub(crate) fn tags(team: &str) -> BTreeMap<String, String> {
    BTreeMap::from([("team".to_string(), team.to_string())])
}

pub(crate) fn boxed(
    f: impl Fn(&Stack) -> Result<(), mkso::Error> + Send + Sync + 'static,
) -> Box<Program> {
    Box::new(f)
}

pub(crate) fn empty() -> Box<Program> {
    boxed(|_| Ok(()))
}

pub(crate) fn drifted(r: &mkso::engine::RefreshOutcome, name: &str) -> DriftKind {
    r.drift
        .iter()
        .find(|d| d.urn.name() == name)
        .unwrap_or_else(|| panic!("no drift for `{name}`: {:?}", r.drift))
        .kind
        .clone()
}

fn vpc_program(
    cidr: &'static str,
    dns: bool,
    team: &'static str,
    import: Option<String>,
) -> Box<Program> {
    boxed(move |s| {
        let mut o = ResourceOptions::new();
        if let Some(id) = &import {
            o = o.import(id.clone());
        }
        Vpc::new(
            s,
            "vpc",
            VpcArgs::builder()
                .cidr_block(cidr)
                .enable_dns_hostnames(dns)
                .tags(tags(team)),
            o,
        )?;
        Ok(())
    })
}

#[tokio::test]
async fn vpc() {
    let env = Env::new("Vpc");
    let c = env.client().await.clone();
    let plan = env.up(&*vpc_program("10.1.0.0/16", false, "a", None)).await;
    assert_eq!(op(&plan, "vpc"), Op::Create);
    let id = env.id("vpc").await;
    let t = env.tags(&id).await;
    assert_eq!(t["Name"], "vpc");
    assert_eq!(t["Environment"], env.stack.environment());
    assert_eq!(t["mkso:stack"], env.stack.as_str());
    assert!(t["mkso:urn"].ends_with("aws:ec2:Vpc::vpc"));
    assert_eq!(t["Team"], "infra", "default tag");
    assert_eq!(t["team"], "a");

    // In place: a DNS attribute and a tag.
    let v2 = vpc_program("10.1.0.0/16", true, "b", None);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "vpc"), Op::Update);
    assert_eq!(env.id("vpc").await, id, "same VPC");
    let attr = c
        .describe_vpc_attribute()
        .vpc_id(&id)
        .attribute(aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .unwrap();
    assert_eq!(
        attr.enable_dns_hostnames().and_then(|b| b.value()),
        Some(true)
    );
    assert_eq!(env.tags(&id).await["team"], "b");
    assert!(!env.preview(&*v2).await.has_changes());

    // Drift: a tag changed behind mkso's back.
    env.set_tag(&id, "team", "zzz").await;
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "vpc"), DriftKind::Changed(vec!["tags".into()]));
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "vpc"), Op::Update);
    assert_eq!(env.tags(&id).await["team"], "b", "up set it back");

    // Drift: deleted behind mkso's back.
    c.delete_vpc().vpc_id(&id).send().await.unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "vpc"), DriftKind::Deleted);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "vpc"), Op::Create);
    let id2 = env.id("vpc").await;
    assert_ne!(id2, id);

    // Replace: the CIDR cannot change in place.
    let plan = env.up(&*vpc_program("10.2.0.0/16", true, "b", None)).await;
    assert_eq!(op(&plan, "vpc"), Op::Replace);
    let id3 = env.id("vpc").await;
    assert_ne!(id3, id2);
    assert!(
        c.describe_vpcs().vpc_ids(&id2).send().await.is_err(),
        "the old VPC is gone"
    );

    // Import it into another stack (adopts the id, creates nothing).
    let other = Env::new("VpcImport");
    let plan = other
        .up(&*vpc_program("10.2.0.0/16", true, "b", Some(id3.clone())))
        .await;
    assert_eq!(op(&plan, "vpc"), Op::Import);
    assert_eq!(other.id("vpc").await, id3);
    // Nothing made for the other stack (other tests make VPCs meanwhile:
    // counting them all would not tell).
    let made = c
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:mkso:stack")
                .values(other.stack.as_str())
                .build(),
        )
        .send()
        .await
        .unwrap();
    // (The adopted one carries the other stack's tags now.)
    assert!(
        made.vpcs().iter().all(|v| v.vpc_id() == Some(id3.as_str())),
        "{made:?}"
    );
    // Forget it there (retain) so only the first stack deletes it.
    other
        .up(&*boxed(move |s| {
            Vpc::new(
                s,
                "vpc",
                VpcArgs::builder()
                    .cidr_block("10.2.0.0/16")
                    .enable_dns_hostnames(true)
                    .tags(tags("b")),
                ResourceOptions::new().retain_on_delete(true),
            )?;
            Ok(())
        }))
        .await;
    other.up(&*empty()).await;

    // Delete.
    let plan = env.up(&*empty()).await;
    assert_eq!(op(&plan, "vpc"), Op::Delete);
    assert!(c.describe_vpcs().vpc_ids(&id3).send().await.is_err());
}

pub(crate) fn network(s: &Stack) -> Result<(Vpc, Subnet), mkso::Error> {
    let vpc = Vpc::new(
        s,
        "vpc",
        VpcArgs::builder().cidr_block("10.3.0.0/16"),
        ResourceOptions::new(),
    )?;
    let sn = Subnet::new(
        s,
        "subnet",
        SubnetArgs::builder()
            .vpc_id(vpc.id())
            .cidr_block("10.3.1.0/24")
            .availability_zone(Some("us-east-1a".to_string())),
        ResourceOptions::new(),
    )?;
    Ok((vpc, sn))
}

#[tokio::test]
async fn subnet() {
    let env = Env::new("Subnet");
    let c = env.client().await.clone();
    let p = |cidr: &'static str, public: bool| {
        boxed(move |s| {
            let vpc = Vpc::new(
                s,
                "vpc",
                VpcArgs::builder().cidr_block("10.4.0.0/16"),
                ResourceOptions::new(),
            )?;
            Subnet::new(
                s,
                "subnet",
                SubnetArgs::builder()
                    .vpc_id(vpc.id())
                    .cidr_block(cidr)
                    .availability_zone(Some("us-east-1b".to_string()))
                    .map_public_ip_on_launch(public),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    env.up(&*p("10.4.1.0/24", false)).await;
    let id = env.id("subnet").await;
    let plan = env.up(&*p("10.4.1.0/24", true)).await;
    assert_eq!(op(&plan, "subnet"), Op::Update);
    let sn = c.describe_subnets().subnet_ids(&id).send().await.unwrap();
    assert_eq!(sn.subnets()[0].map_public_ip_on_launch(), Some(true));
    assert_eq!(sn.subnets()[0].availability_zone(), Some("us-east-1b"));
    assert!(!env.preview(&*p("10.4.1.0/24", true)).await.has_changes());
    // Drift: deleted behind the back.
    c.delete_subnet().subnet_id(&id).send().await.unwrap();
    assert_eq!(
        drifted(&env.refresh(&*p("10.4.1.0/24", true)).await, "subnet"),
        DriftKind::Deleted
    );
    assert_eq!(
        op(&env.up(&*p("10.4.1.0/24", true)).await, "subnet"),
        Op::Create
    );
    // Replace on a new range.
    let plan = env.up(&*p("10.4.2.0/24", true)).await;
    assert_eq!(op(&plan, "subnet"), Op::Replace);
    assert_eq!(
        plan.steps
            .iter()
            .find(|s| s.name == "subnet")
            .unwrap()
            .replace_keys(),
        ["cidr_block"]
    );
    // Import into another stack.
    let id = env.id("subnet").await;
    let other = Env::new("SubnetImport");
    let pi = boxed(move |s| {
        Subnet::new(
            s,
            "subnet",
            SubnetArgs::builder()
                .vpc_id("vpc-ignored-on-import".to_string())
                .cidr_block("10.4.2.0/24")
                .availability_zone(Some("us-east-1b".to_string()))
                .map_public_ip_on_launch(true),
            ResourceOptions::new()
                .import(id.clone())
                .retain_on_delete(true)
                .ignore_changes(["vpc_id"]),
        )?;
        Ok(())
    });
    let plan = other.up(&*pi).await;
    assert_eq!(op(&plan, "subnet"), Op::Import);
    other.up(&*empty()).await;
    env.up(&*empty()).await;
}

#[tokio::test]
async fn security_group_and_rules() {
    let env = Env::new("Sg");
    let c = env.client().await.clone();
    let p = |team: &'static str, port: i32, desc: &'static str, wide: bool| {
        boxed(move |s| {
            let vpc = Vpc::new(
                s,
                "vpc",
                VpcArgs::builder().cidr_block("10.5.0.0/16"),
                ResourceOptions::new(),
            )?;
            let sg = SecurityGroup::new(
                s,
                "web",
                SecurityGroupArgs::builder()
                    .vpc_id(vpc.id())
                    .description(Some("web".to_string()))
                    .tags(tags(team)),
                ResourceOptions::new(),
            )?;
            SecurityGroupRule::new(
                s,
                "http",
                SecurityGroupRuleArgs::builder()
                    .security_group_id(sg.id())
                    .direction("ingress")
                    .protocol("tcp")
                    .from_port(port)
                    .to_port(port)
                    .description(desc)
                    .cidr_blocks(if wide {
                        vec!["0.0.0.0/0".to_string(), "10.9.0.0/16".to_string()]
                    } else {
                        vec!["0.0.0.0/0".to_string()]
                    }),
                ResourceOptions::new(),
            )?;
            SecurityGroupRule::new(
                s,
                "out",
                SecurityGroupRuleArgs::builder()
                    .security_group_id(sg.id())
                    .direction("egress")
                    .protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .cidr_blocks(vec!["10.0.0.0/8".to_string()]),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    env.up(&*p("a", 80, "web", false)).await;
    let sg = env.id("web").await;
    let rule = env.id("http").await;
    assert!(rule.starts_with("sgr-"), "{rule}");
    let perms = c
        .describe_security_groups()
        .group_ids(&sg)
        .send()
        .await
        .unwrap();
    assert!(
        perms.security_groups()[0]
            .ip_permissions()
            .iter()
            .any(|p| p.from_port() == Some(80))
    );
    assert!(!env.preview(&*p("a", 80, "web", false)).await.has_changes());
    assert!(
        env.refresh(&*p("a", 80, "web", false))
            .await
            .drift
            .is_empty()
    );
    // Tags change in place; the plan names the tag, not the whole map.
    let plan = env.up(&*p("b", 80, "web", false)).await;
    assert_eq!(op(&plan, "web"), Op::Update);
    let shown = mkso::engine::render_plan(
        &plan,
        mkso::engine::RenderOptions {
            diff: true,
            show_same: false,
        },
    );
    assert!(shown.contains("~ tags.team: \"a\" => \"b\""), "{shown}");
    assert_eq!(env.tags(&sg).await["team"], "b");
    // A rule's port replaces the rule, not the group.
    let plan = env.up(&*p("b", 8080, "web", false)).await;
    assert_eq!(op(&plan, "http"), Op::Replace);
    assert_eq!(op(&plan, "web"), Op::Same);
    let perms = c
        .describe_security_groups()
        .group_ids(&sg)
        .send()
        .await
        .unwrap();
    let ports: Vec<i32> = perms.security_groups()[0]
        .ip_permissions()
        .iter()
        .filter_map(|p| p.from_port())
        .collect();
    assert!(ports.contains(&8080) && !ports.contains(&80), "{ports:?}");
    // Drift: the group's tag.
    env.set_tag(&sg, "team", "x").await;
    assert_eq!(
        drifted(&env.refresh(&*p("b", 8080, "web", false)).await, "web"),
        DriftKind::Changed(vec!["tags".into()])
    );
    env.up(&*p("b", 8080, "web", false)).await;
    assert_eq!(env.tags(&sg).await["team"], "b");
    // A rule is its content: a replacement deletes the old rule first, so
    // a new rule that overlaps the old one (here: one more range) is no
    // duplicate for EC2.
    let plan = env.up(&*p("b", 8080, "web", true)).await;
    let step = plan.all_steps().find(|s| s.name == "http").unwrap();
    assert_eq!(
        (step.op(), step.delete_before_replace()),
        (Op::Replace, true)
    );
    assert_eq!(step.replace_keys(), ["cidr_blocks"]);
    // Its description changes in place: same rule, same id.
    let rule = env.id("http").await;
    let plan = env.up(&*p("b", 8080, "public web", true)).await;
    assert_eq!(op(&plan, "http"), Op::Update);
    assert_eq!(env.id("http").await, rule);
    let described = c
        .describe_security_group_rules()
        .security_group_rule_ids(&rule)
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.security_group_rules()[0].description(),
        Some("public web")
    );
    assert!(
        !env.preview(&*p("b", 8080, "public web", true))
            .await
            .has_changes()
    );
    // Import the group elsewhere.
    let other = Env::new("SgImport");
    let sg2 = sg.clone();
    let plan = other
        .up(&*boxed(move |s| {
            SecurityGroup::new(
                s,
                "web",
                SecurityGroupArgs::builder()
                    .vpc_id("ignored".to_string())
                    .description(Some("web".to_string()))
                    .tags(tags("b")),
                ResourceOptions::new()
                    .import(sg2.clone())
                    .retain_on_delete(true)
                    .ignore_changes(["vpc_id", "name"]),
            )?;
            Ok(())
        }))
        .await;
    assert_eq!(op(&plan, "web"), Op::Import);
    other.up(&*empty()).await;
    env.up(&*empty()).await;
    assert!(
        c.describe_security_groups()
            .group_ids(&sg)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn gateways_route_tables_routes_and_associations() {
    let env = Env::new("Routes");
    let c = env.client().await.clone();
    let p = |attach: bool, dest: &'static str| {
        boxed(move |s| {
            let (vpc, sn) = network(s)?;
            let igw = InternetGateway::new(
                s,
                "igw",
                InternetGatewayArgs::builder().vpc_id(if attach {
                    vpc.id().map(Some)
                } else {
                    Output::new(None)
                }),
                ResourceOptions::new(),
            )?;
            let rt = RouteTable::new(
                s,
                "rt",
                RouteTableArgs::builder().vpc_id(vpc.id()),
                ResourceOptions::new(),
            )?;
            if attach {
                Route::new(
                    s,
                    "default",
                    RouteArgs::builder()
                        .route_table_id(rt.id())
                        .destination_cidr_block(dest)
                        .gateway_id(igw.id().map(Some)),
                    ResourceOptions::new(),
                )?;
            }
            RouteTableAssociation::new(
                s,
                "assoc",
                RouteTableAssociationArgs::builder()
                    .route_table_id(rt.id())
                    .subnet_id(sn.id()),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    env.up(&*p(false, "0.0.0.0/0")).await;
    let igw = env.id("igw").await;
    // Attaching the gateway is an in-place change; the route is new.
    let plan = env.up(&*p(true, "0.0.0.0/0")).await;
    assert_eq!(op(&plan, "igw"), Op::Update);
    assert_eq!(op(&plan, "default"), Op::Create);
    let g = c
        .describe_internet_gateways()
        .internet_gateway_ids(&igw)
        .send()
        .await
        .unwrap();
    assert_eq!(g.internet_gateways()[0].attachments().len(), 1);
    let route = env.id("default").await;
    assert!(route.ends_with("_0.0.0.0/0"), "{route}");
    assert!(env.refresh(&*p(true, "0.0.0.0/0")).await.drift.is_empty());
    assert!(!env.preview(&*p(true, "0.0.0.0/0")).await.has_changes());
    // Drift: the route deleted behind the back; up recreates it.
    let rt = env.id("rt").await;
    c.delete_route()
        .route_table_id(&rt)
        .destination_cidr_block("0.0.0.0/0")
        .send()
        .await
        .unwrap();
    assert_eq!(
        drifted(&env.refresh(&*p(true, "0.0.0.0/0")).await, "default"),
        DriftKind::Deleted
    );
    assert_eq!(
        op(&env.up(&*p(true, "0.0.0.0/0")).await, "default"),
        Op::Create
    );
    // A new destination replaces the route.
    let plan = env.up(&*p(true, "192.168.0.0/16")).await;
    assert_eq!(op(&plan, "default"), Op::Replace);
    let table = c
        .describe_route_tables()
        .route_table_ids(&rt)
        .send()
        .await
        .unwrap();
    let dests: Vec<&str> = table.route_tables()[0]
        .routes()
        .iter()
        .filter_map(|r| r.destination_cidr_block())
        .collect();
    assert!(
        dests.contains(&"192.168.0.0/16") && !dests.contains(&"0.0.0.0/0"),
        "{dests:?}"
    );
    // Import the route table elsewhere.
    let other = Env::new("RtImport");
    let rt2 = rt.clone();
    let plan = other
        .up(&*boxed(move |s| {
            RouteTable::new(
                s,
                "rt",
                RouteTableArgs::builder().vpc_id("ignored".to_string()),
                ResourceOptions::new()
                    .import(rt2.clone())
                    .retain_on_delete(true)
                    .ignore_changes(["vpc_id"]),
            )?;
            Ok(())
        }))
        .await;
    assert_eq!(op(&plan, "rt"), Op::Import);
    other.up(&*empty()).await;
    // Everything deletes in dependency order (gateway detached first).
    env.up(&*empty()).await;
    assert!(
        c.describe_internet_gateways()
            .internet_gateway_ids(&igw)
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn instance_key_pair_eip_and_nat() {
    let env = Env::new("Compute");
    let c = env.client().await.clone();
    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAABAgMEBQYHCAkKCwwNDg8QERITFBUWFxgZGhscHR4f test@mkso";
    let p = |itype: &'static str, team: &'static str, check: bool| {
        boxed(move |s| {
            let (vpc, sn) = network(s)?;
            let key = KeyPair::new(
                s,
                "key",
                KeyPairArgs::builder().public_key(KEY),
                ResourceOptions::new(),
            )?;
            let sg = SecurityGroup::new(
                s,
                "sg",
                SecurityGroupArgs::builder().vpc_id(vpc.id()),
                ResourceOptions::new(),
            )?;
            let vm = Instance::new(
                s,
                "vm",
                InstanceArgs::builder()
                    .ami("ami-12c6146b")
                    .instance_type(itype)
                    .subnet_id(sn.id().map(Some))
                    .security_group_ids(sg.id().map(|g| vec![g]))
                    .key_name(key.key_name().map(Some))
                    .user_data(Some("#!/bin/sh\necho hello\n".to_string()))
                    .source_dest_check(Some(check))
                    .tags(tags(team)),
                ResourceOptions::new(),
            )?;
            Eip::new(
                s,
                "ip",
                EipArgs::builder().instance_id(vm.id().map(Some)),
                ResourceOptions::new(),
            )?;
            let nat_ip = Eip::new(s, "nat-ip", EipArgs::builder(), ResourceOptions::new())?;
            NatGateway::new(
                s,
                "nat",
                NatGatewayArgs::builder()
                    .subnet_id(sn.id())
                    .allocation_id(nat_ip.id()),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    env.up(&*p("t2.micro", "a", true)).await;
    let vm = env.id("vm").await;
    let x = c
        .describe_instances()
        .instance_ids(&vm)
        .send()
        .await
        .unwrap();
    let inst = &x.reservations()[0].instances()[0];
    assert_eq!(
        inst.state().and_then(|s| s.name()).map(|n| n.as_str()),
        Some("running")
    );
    assert_eq!(inst.key_name(), Some(format!("{}-key", env.stack).as_str()));
    let ip = c
        .describe_addresses()
        .allocation_ids(env.id("ip").await)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ip.addresses()[0].instance_id(),
        Some(vm.as_str()),
        "EIP associated"
    );
    let r = env.refresh(&*p("t2.micro", "a", true)).await;
    assert!(r.drift.is_empty(), "{:?}", r.drift);
    let plan = env.preview(&*p("t2.micro", "a", true)).await;
    assert!(!plan.has_changes(), "{:?}", plan.summaries());
    // Tags and source/dest check change in place.
    let plan = env.up(&*p("t2.micro", "b", false)).await;
    assert_eq!(op(&plan, "vm"), Op::Update);
    assert_eq!(env.id("vm").await, vm);
    assert_eq!(env.tags(&vm).await["team"], "b");
    // Drift: the instance's tag.
    env.set_tag(&vm, "team", "q").await;
    assert_eq!(
        drifted(&env.refresh(&*p("t2.micro", "b", false)).await, "vm"),
        DriftKind::Changed(vec!["tags".into()])
    );
    env.up(&*p("t2.micro", "b", false)).await;
    assert_eq!(env.tags(&vm).await["team"], "b");
    // The instance type replaces it; the EIP follows the new instance in place.
    let plan = env.up(&*p("t2.small", "b", false)).await;
    assert_eq!(op(&plan, "vm"), Op::Replace);
    let vm2 = env.id("vm").await;
    assert_ne!(vm2, vm);
    let ip = c
        .describe_addresses()
        .allocation_ids(env.id("ip").await)
        .send()
        .await
        .unwrap();
    assert_eq!(ip.addresses()[0].instance_id(), Some(vm2.as_str()));
    let old = c
        .describe_instances()
        .instance_ids(&vm)
        .send()
        .await
        .unwrap();
    assert_eq!(
        old.reservations()[0].instances()[0]
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str()),
        Some("terminated")
    );
    assert!(!env.preview(&*p("t2.small", "b", false)).await.has_changes());
    // Import the key pair elsewhere.
    let key = env.id("key").await;
    let other = Env::new("KeyImport");
    let k2 = key.clone();
    let stack_key = format!("{}-key", env.stack);
    let plan = other
        .up(&*boxed(move |s| {
            KeyPair::new(
                s,
                "key",
                KeyPairArgs::builder()
                    .key_name(Some(stack_key.clone()))
                    .public_key(KEY),
                ResourceOptions::new()
                    .import(k2.clone())
                    .retain_on_delete(true)
                    .ignore_changes(["public_key"]),
            )?;
            Ok(())
        }))
        .await;
    assert_eq!(op(&plan, "key"), Op::Import);
    other.up(&*empty()).await;
    // Delete everything: instance terminated, EIPs released, NAT deleted.
    let nat = env.id("nat").await;
    env.up(&*empty()).await;
    let n = c
        .describe_nat_gateways()
        .nat_gateway_ids(&nat)
        .send()
        .await
        .unwrap();
    assert!(
        n.nat_gateways()
            .iter()
            .filter(|g| g.nat_gateway_id() == Some(nat.as_str()))
            .all(|g| g.state().map(|s| s.as_str()) == Some("deleted"))
    );
    let keys = c.describe_key_pairs().send().await.unwrap();
    assert!(
        keys.key_pairs()
            .iter()
            .all(|k| k.key_pair_id() != Some(key.as_str())),
        "key pair deleted"
    );
}

#[tokio::test]
async fn errors_are_classified_and_name_the_resource() {
    let env = Env::new("Errors");
    // A subnet outside its VPC's range: EC2 refuses, permanently, with its code.
    let (_, out) = env
        .try_up(&*boxed(|s| {
            let vpc = Vpc::new(
                s,
                "vpc",
                VpcArgs::builder().cidr_block("10.6.0.0/16"),
                ResourceOptions::new(),
            )?;
            Subnet::new(
                s,
                "bad",
                SubnetArgs::builder()
                    .vpc_id(vpc.id())
                    .cidr_block("10.7.0.0/24"),
                ResourceOptions::new(),
            )?;
            Ok(())
        }))
        .await;
    let f = &out.failures[0];
    assert_eq!(f.urn.name(), "bad");
    assert!(f.error.contains("CreateSubnet of `bad`"), "{}", f.error);
    assert!(
        f.error.starts_with("InvalidSubnet"),
        "the AWS error code: {}",
        f.error
    );
    // Reading something gone is not-found (refresh forgets it), deleting it is done.
    let vpc = env.id("vpc").await;
    env.client()
        .await
        .delete_vpc()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
    let r = env
        .refresh(&*boxed(|s| {
            Vpc::new(
                s,
                "vpc",
                VpcArgs::builder().cidr_block("10.6.0.0/16"),
                ResourceOptions::new(),
            )?;
            Ok(())
        }))
        .await;
    assert_eq!(drifted(&r, "vpc"), DriftKind::Deleted);
    // An invalid CIDR is caught before any call, naming the resource and property.
    let err = env
        .try_preview(&*boxed(|s| {
            Vpc::new(
                s,
                "v2",
                VpcArgs::builder().cidr_block("10.0.0.0/99"),
                ResourceOptions::new(),
            )?;
            Ok(())
        }))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`v2`") && err.contains("cidr_block") && err.contains("10.0.0.0/99"),
        "{err}"
    );
}

#[tokio::test]
async fn two_regions_through_the_provider_option() {
    let mut env = Env::new("Regions");
    let west = AwsProvider::new(AwsConfig {
        region: "us-west-2".into(),
        endpoint: Some(crate::moto()),
        default_tags: Default::default(),
    })
    .unwrap();
    let west = std::sync::Arc::new(west);
    env.named.push(("west".into(), west.clone()));
    let p = boxed(|s| {
        Vpc::new(
            s,
            "east",
            VpcArgs::builder().cidr_block("10.8.0.0/16"),
            ResourceOptions::new(),
        )?;
        Vpc::new(
            s,
            "west",
            VpcArgs::builder().cidr_block("10.9.0.0/16"),
            ResourceOptions::new().provider("west"),
        )?;
        Ok(())
    });
    env.up(&*p).await;
    let (east_id, west_id) = (env.id("east").await, env.id("west").await);
    let wc = west.client().await;
    assert!(
        wc.describe_vpcs()
            .vpc_ids(&west_id)
            .send()
            .await
            .unwrap()
            .vpcs()
            .iter()
            .any(|v| v.vpc_id() == Some(west_id.as_str()))
    );
    let east_in_west = wc.describe_vpcs().send().await.unwrap();
    assert!(
        east_in_west
            .vpcs()
            .iter()
            .all(|v| v.vpc_id() != Some(east_id.as_str())),
        "east's VPC is not in us-west-2"
    );
    assert!(!env.preview(&*p).await.has_changes());
    env.up(&*empty()).await;
    assert!(
        wc.describe_vpcs()
            .send()
            .await
            .unwrap()
            .vpcs()
            .iter()
            .all(|v| v.vpc_id() != Some(west_id.as_str())),
        "deleted through the west provider"
    );
}

/// A volume in the instance's zone, attached to it (the instance in the
/// default VPC: the other tests count VPCs).
fn ebs_program(size: i32, volume_type: Option<&'static str>) -> Box<Program> {
    boxed(move |s| {
        let vm = Instance::new(
            s,
            "vm",
            InstanceArgs::builder()
                .ami("ami-12c6146b")
                .instance_type("t3.micro"),
            ResourceOptions::new(),
        )?;
        let vol = Volume::new(
            s,
            "data",
            VolumeArgs::builder()
                .availability_zone(vm.availability_zone().map(Option::unwrap_or_default))
                .size(size)
                .volume_type(volume_type.map(String::from))
                .tags(tags("a")),
            ResourceOptions::new(),
        )?;
        VolumeAttachment::new(
            s,
            "data-on-vm",
            VolumeAttachmentArgs::builder()
                .volume_id(vol.id())
                .instance_id(vm.id())
                .device_name("/dev/sdf"),
            ResourceOptions::new(),
        )?;
        Ok(())
    })
}

#[tokio::test]
async fn volume_and_attachment() {
    let env = Env::new("Ebs");
    let c = env.client().await.clone();
    let plan = env.up(&*ebs_program(8, None)).await;
    for name in ["data", "data-on-vm"] {
        assert_eq!(op(&plan, name), Op::Create, "{name}");
    }
    let (vol, vm) = (env.id("data").await, env.id("vm").await);
    assert_eq!(env.id("data-on-vm").await, format!("{vol}:{vm}"));
    let attached = |v: &aws_sdk_ec2::types::Volume| {
        v.attachments()
            .iter()
            .any(|a| a.instance_id() == Some(vm.as_str()) && a.device() == Some("/dev/sdf"))
    };
    let describe = || async {
        c.describe_volumes()
            .volume_ids(&vol)
            .send()
            .await
            .unwrap()
            .volumes()[0]
            .clone()
    };
    let v = describe().await;
    assert!(attached(&v), "{v:?}");
    assert_eq!(v.size(), Some(8));
    assert_eq!(env.tags(&vol).await["team"], "a");
    assert!(!env.preview(&*ebs_program(8, None)).await.has_changes());

    // In place: the volume grows and changes type.
    let v2 = ebs_program(16, Some("gp3"));
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "data"), Op::Update);
    assert_eq!(op(&plan, "data-on-vm"), Op::Same);
    assert_eq!(env.id("data").await, vol, "the same volume");
    assert_eq!(describe().await.size(), Some(16));
    assert!(!env.preview(&*v2).await.has_changes());

    // A volume does not shrink: refused, naming what to do.
    let (_, out) = env.try_up(&*ebs_program(4, Some("gp3"))).await;
    assert_eq!(out.failures.len(), 1);
    assert!(
        out.failures[0]
            .error
            .contains("cannot shrink from 16 GiB to 4 GiB"),
        "{}",
        out.failures[0].error
    );

    // Drift: detached behind mkso's back; refresh reports it, up attaches it again.
    // (moto needs the instance, which EC2 does not.)
    c.detach_volume()
        .volume_id(&vol)
        .instance_id(&vm)
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "data-on-vm"), DriftKind::Deleted);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "data-on-vm"), Op::Create);
    assert!(attached(&describe().await));

    // Import the volume into another stack by id, then forget it there.
    let other = Env::new("EbsImport");
    let import = vol.clone();
    let zone = describe().await.availability_zone().unwrap().to_string();
    let adopt = move |retain: bool| {
        let (import, zone) = (import.clone(), zone.clone());
        boxed(move |s| {
            Volume::new(
                s,
                "data",
                VolumeArgs::builder()
                    .availability_zone(zone.clone())
                    .size(16)
                    .volume_type(Some("gp3".to_string()))
                    .tags(tags("a")),
                ResourceOptions::new()
                    .import(import.clone())
                    .retain_on_delete(retain),
            )?;
            Ok(())
        })
    };
    let plan = other.up(&*adopt(false)).await;
    assert_eq!(op(&plan, "data"), Op::Import);
    assert_eq!(other.id("data").await, vol);
    other.up(&*adopt(true)).await;
    other.up(&*empty()).await;

    // Delete: detached, then deleted.
    env.up(&*empty()).await;
    let left = c.describe_volumes().volume_ids(&vol).send().await;
    assert!(
        left.map(|o| o
            .volumes()
            .iter()
            .all(|v| v.state() == Some(&aws_sdk_ec2::types::VolumeState::Deleted)))
            .unwrap_or(true),
        "the volume is gone"
    );
}

#[tokio::test]
async fn egress_only_gateway_and_eip_association() {
    let env = Env::new("Egress");
    let c = env.client().await.clone();
    let p = boxed(|s| {
        let (vpc, _) = network(s)?;
        EgressOnlyInternetGateway::new(
            s,
            "eigw",
            EgressOnlyInternetGatewayArgs::builder()
                .vpc_id(vpc.id())
                .tags(tags("a")),
            ResourceOptions::new(),
        )?;
        let vm = Instance::new(
            s,
            "vm",
            InstanceArgs::builder()
                .ami("ami-12c6146b")
                .instance_type("t3.micro"),
            ResourceOptions::new(),
        )?;
        let ip = Eip::new(s, "ip", EipArgs::builder(), ResourceOptions::new())?;
        EipAssociation::new(
            s,
            "ip-on-vm",
            EipAssociationArgs::builder()
                .allocation_id(ip.id())
                .instance_id(vm.id().map(Some)),
            ResourceOptions::new(),
        )?;
        Ok(())
    });
    let plan = env.up(&*p).await;
    for name in ["eigw", "ip-on-vm"] {
        assert_eq!(op(&plan, name), Op::Create, "{name}");
    }
    let (eigw, vpc, vm, alloc) = (
        env.id("eigw").await,
        env.id("vpc").await,
        env.id("vm").await,
        env.id("ip").await,
    );
    let g = c
        .describe_egress_only_internet_gateways()
        .egress_only_internet_gateway_ids(&eigw)
        .send()
        .await
        .unwrap();
    let g = &g.egress_only_internet_gateways()[0];
    assert_eq!(g.attachments()[0].vpc_id(), Some(vpc.as_str()));
    assert_eq!(env.tags(&eigw).await["team"], "a");
    let address = || async {
        c.describe_addresses()
            .allocation_ids(&alloc)
            .send()
            .await
            .unwrap()
            .addresses()[0]
            .clone()
    };
    let a = address().await;
    assert_eq!(a.instance_id(), Some(vm.as_str()));
    assert_eq!(env.id("ip-on-vm").await, a.association_id().unwrap());
    assert!(
        !env.preview(&*p).await.has_changes(),
        "the interface it names too is not drift"
    );

    // Drift: disassociated behind mkso's back; refresh reports it, up
    // associates it again.
    c.disassociate_address()
        .association_id(a.association_id().unwrap())
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*p).await;
    assert_eq!(drifted(&r, "ip-on-vm"), DriftKind::Deleted);
    let plan = env.up(&*p).await;
    assert_eq!(op(&plan, "ip-on-vm"), Op::Create);
    assert_eq!(address().await.instance_id(), Some(vm.as_str()));

    // Delete: the association, then the address; the gateway.
    env.up(&*empty()).await;
    let left = c
        .describe_egress_only_internet_gateways()
        .send()
        .await
        .unwrap();
    assert!(
        !left
            .egress_only_internet_gateways()
            .iter()
            .any(|g| g.egress_only_internet_gateway_id() == Some(eigw.as_str())),
        "the gateway is gone"
    );
    assert!(
        c.describe_addresses()
            .allocation_ids(&alloc)
            .send()
            .await
            .is_err(),
        "the address is released"
    );
}

/// A network ACL with one ingress rule (HTTPS from `cidr` up to `to_port`).
fn acl_program(cidr: &'static str, to_port: i32) -> Box<Program> {
    boxed(move |s| {
        let (vpc, _) = network(s)?;
        let acl = NetworkAcl::new(
            s,
            "acl",
            NetworkAclArgs::builder().vpc_id(vpc.id()).tags(tags("a")),
            ResourceOptions::new(),
        )?;
        NetworkAclEntry::new(
            s,
            "https-in",
            NetworkAclEntryArgs::builder()
                .network_acl_id(acl.id())
                .rule_number(100)
                .protocol("6")
                .rule_action("allow")
                .cidr_block(cidr)
                .from_port(Some(443))
                .to_port(Some(to_port)),
            ResourceOptions::new(),
        )?;
        Ok(())
    })
}

#[tokio::test]
async fn network_acl_and_entry() {
    let env = Env::new("Acl");
    let c = env.client().await.clone();
    let plan = env.up(&*acl_program("10.0.0.0/8", 443)).await;
    assert_eq!(op(&plan, "acl"), Op::Create);
    assert_eq!(op(&plan, "https-in"), Op::Create);
    let acl = env.id("acl").await;
    assert_eq!(env.id("https-in").await, format!("{acl}:ingress:100"));
    let rule = || async {
        let out = c
            .describe_network_acls()
            .network_acl_ids(&acl)
            .send()
            .await
            .unwrap();
        out.network_acls()[0]
            .entries()
            .iter()
            .find(|e| e.rule_number() == Some(100) && e.egress() == Some(false))
            .cloned()
    };
    let r = rule().await.expect("the rule");
    assert_eq!(r.cidr_block(), Some("10.0.0.0/8"));
    assert_eq!(r.port_range().and_then(|p| p.to()), Some(443));
    assert_eq!(env.tags(&acl).await["team"], "a");
    assert!(
        !env.preview(&*acl_program("10.0.0.0/8", 443))
            .await
            .has_changes()
    );

    // In place: another range and port.
    let v2 = acl_program("192.168.0.0/16", 444);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "https-in"), Op::Update);
    let r = rule().await.unwrap();
    assert_eq!(r.cidr_block(), Some("192.168.0.0/16"));
    assert_eq!(r.port_range().and_then(|p| p.to()), Some(444));
    assert!(!env.preview(&*v2).await.has_changes());

    // A bad range is refused before any call, naming the property.
    let e = env
        .try_preview(&*acl_program("10.0.0.0/33", 443))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("cidr_block"), "{e}");

    // Drift: the rule deleted behind mkso's back; refresh reports it, up
    // puts it back.
    c.delete_network_acl_entry()
        .network_acl_id(&acl)
        .rule_number(100)
        .egress(false)
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "https-in"), DriftKind::Deleted);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "https-in"), Op::Create);
    assert!(rule().await.is_some());

    // Delete: the rule, the ACL.
    env.up(&*empty()).await;
    assert!(
        c.describe_network_acls()
            .network_acl_ids(&acl)
            .send()
            .await
            .map(|o| o.network_acls().is_empty())
            .unwrap_or(true),
        "the ACL is gone"
    );
}

#[tokio::test]
async fn network_interface() {
    let env = Env::new("Eni");
    let c = env.client().await.clone();
    let p = |description: &'static str, second_group: bool, sdc: bool| {
        boxed(move |s| {
            let (vpc, sn) = network(s)?;
            let group = |name: &str| {
                SecurityGroup::new(
                    s,
                    name,
                    SecurityGroupArgs::builder().vpc_id(vpc.id()),
                    ResourceOptions::new(),
                )
            };
            let mut groups = vec![group("eni-a")?.id()];
            if second_group {
                groups.push(group("eni-b")?.id());
            }
            NetworkInterface::new(
                s,
                "eni",
                NetworkInterfaceArgs::builder()
                    .subnet_id(sn.id())
                    .security_group_ids(Output::all_vec(groups))
                    .description(Some(description.to_string()))
                    .source_dest_check(Some(sdc))
                    .tags(tags("a")),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    let v1 = p("appliance port", false, false);
    let plan = env.up(&*v1).await;
    assert_eq!(op(&plan, "eni"), Op::Create);
    let id = env.id("eni").await;
    let get = || async {
        c.describe_network_interfaces()
            .network_interface_ids(&id)
            .send()
            .await
            .unwrap()
            .network_interfaces()[0]
            .clone()
    };
    let n = get().await;
    assert_eq!(n.description(), Some("appliance port"));
    assert_eq!(n.source_dest_check(), Some(false));
    assert_eq!(n.groups().len(), 1);
    assert_eq!(env.tags(&id).await["team"], "a");
    assert!(!env.preview(&*v1).await.has_changes());

    // In place: a second group, a new description, source/dest check on.
    let v2 = p("router port", true, true);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "eni"), Op::Update);
    assert_eq!(env.id("eni").await, id, "updated, not replaced");
    let n = get().await;
    assert_eq!(n.description(), Some("router port"));
    assert_eq!(n.groups().len(), 2);
    assert_eq!(n.source_dest_check(), Some(true));
    assert!(!env.preview(&*v2).await.has_changes());

    // Drift: the description changed behind mkso's back.
    c.modify_network_interface_attribute()
        .network_interface_id(&id)
        .description(
            aws_sdk_ec2::types::AttributeValue::builder()
                .value("hacked")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(
        drifted(&r, "eni"),
        DriftKind::Changed(vec!["description".into()])
    );
    env.up(&*v2).await;
    assert_eq!(get().await.description(), Some("router port"));
    assert!(!env.preview(&*v2).await.has_changes());

    // Import it into another stack.
    let other = Env::new("EniImport");
    let (subnet, eni) = (env.id("subnet").await, id.clone());
    // (On import the address is the interface's: the program names it.)
    let ip = get().await.private_ip_address().unwrap().to_string();
    let mut groups = Vec::new();
    for g in ["eni-a", "eni-b"] {
        groups.push(env.id(g).await);
    }
    let imported = boxed(move |s| {
        NetworkInterface::new(
            s,
            "eni",
            NetworkInterfaceArgs::builder()
                .subnet_id(subnet.clone())
                .private_ip(Some(ip.clone()))
                .security_group_ids(groups.clone())
                .description(Some("router port".to_string()))
                .tags(tags("a")),
            ResourceOptions::new().import(eni.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "eni"), Op::Import);

    // Delete.
    env.up(&*empty()).await;
    let left = c
        .describe_network_interfaces()
        .network_interface_ids(&id)
        .send()
        .await;
    assert!(
        left.map_or(true, |o| o.network_interfaces().is_empty()),
        "the interface is gone"
    );
}

/// A placement group `pg` of `strategy` (3 partitions when `partition`),
/// named `name` when given.
fn placement_program(
    strategy: &'static str,
    team: &'static str,
    name: Option<String>,
) -> Box<Program> {
    boxed(move |s| {
        PlacementGroup::new(
            s,
            "pg",
            PlacementGroupArgs::builder()
                .name(name.clone())
                .strategy(strategy)
                .partition_count((strategy == "partition").then_some(3))
                .tags(tags(team)),
            ResourceOptions::new(),
        )?;
        Ok(())
    })
}

#[tokio::test]
async fn placement_group() {
    let env = Env::new("Placement");
    let c = env.client().await.clone();
    let get = |id: String| {
        let c = c.clone();
        async move {
            c.describe_placement_groups()
                .group_ids(id)
                .send()
                .await
                .unwrap()
                .placement_groups()[0]
                .clone()
        }
    };
    let v1 = placement_program("partition", "a", None);
    let plan = env.up(&*v1).await;
    assert_eq!(op(&plan, "pg"), Op::Create);
    let id = env.id("pg").await;
    let g = get(id.clone()).await;
    let name = format!("{}-pg", env.stack);
    assert_eq!(g.group_name(), Some(name.as_str()), "the default name");
    assert_eq!(g.strategy().unwrap().as_str(), "partition");
    assert_eq!(g.partition_count(), Some(3));
    assert_eq!(env.tags(&id).await["team"], "a");
    assert!(!env.preview(&*v1).await.has_changes());

    // Tags in place.
    let v2 = placement_program("partition", "b", None);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "pg"), Op::Update);
    assert_eq!(env.id("pg").await, id);
    assert_eq!(env.tags(&id).await["team"], "b");

    // Drift: a tag changed, then the group deleted behind mkso's back.
    env.set_tag(&id, "team", "x").await;
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "pg"), DriftKind::Changed(vec!["tags".into()]));
    env.up(&*v2).await;
    assert_eq!(env.tags(&id).await["team"], "b");
    c.delete_placement_group()
        .group_name(&name)
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*v2).await;
    assert_eq!(drifted(&r, "pg"), DriftKind::Deleted);
    let plan = env.up(&*v2).await;
    assert_eq!(op(&plan, "pg"), Op::Create);
    let id = env.id("pg").await;
    assert!(!env.preview(&*v2).await.has_changes());

    // Replace: another strategy, same (default) name: the old group goes
    // first.
    let v3 = placement_program("spread", "b", None);
    let plan = env.up(&*v3).await;
    assert_eq!(op(&plan, "pg"), Op::Replace);
    assert!(
        plan.all_steps()
            .find(|s| s.name == "pg")
            .unwrap()
            .delete_before_replace(),
        "the old group goes first"
    );
    let id2 = env.id("pg").await;
    assert_ne!(id2, id);
    let g = get(id2.clone()).await;
    assert_eq!(g.group_name(), Some(name.as_str()));
    assert_eq!(g.strategy().unwrap().as_str(), "spread");
    assert!(!env.preview(&*v3).await.has_changes());

    // Import it into another stack, which names it.
    let other = Env::new("PlacementImport");
    let (named, gid) = (name.clone(), id2.clone());
    let imported = boxed(move |s| {
        PlacementGroup::new(
            s,
            "pg",
            PlacementGroupArgs::builder()
                .name(Some(named.clone()))
                .strategy("spread")
                .tags(tags("b")),
            ResourceOptions::new().import(gid.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "pg"), Op::Import);

    // Another stack wants the same name: refused, naming what to do.
    let third = Env::new("PlacementTaken");
    let (_, out) = third
        .try_up(&*placement_program("cluster", "c", Some(name.clone())))
        .await;
    assert_eq!(out.failures.len(), 1);
    let e = &out.failures[0].error;
    assert!(
        e.contains(&format!("the placement group name `{name}` is taken"))
            && e.contains("import option"),
        "{e}"
    );

    // Delete.
    env.up(&*empty()).await;
    let left = c
        .describe_placement_groups()
        .group_names(&name)
        .send()
        .await;
    assert!(left.is_err(), "the group is gone");
}
