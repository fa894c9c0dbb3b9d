//! Auto Scaling (feature `autoscaling`) and launch templates against moto:
//! a group launching from a template into two subnets, registered with a
//! target group — create (waits for the instances), update in place (a new
//! template version the group follows, sizes, tags), drift (the desired
//! capacity changed behind mkso's back: refresh reports, up repairs),
//! import, delete (the instances terminated with the group).

use std::collections::BTreeMap;

use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_aws::sdk::autoscaling::Client;
use mkso_providers_aws::{
    AutoScalingGroup, AutoScalingGroupArgs, LaunchTemplate, LaunchTemplateArgs, SecurityGroup,
    SecurityGroupArgs, Subnet, SubnetArgs, TargetGroup, TargetGroupArgs, Vpc, VpcArgs,
};

use crate::{Env, Program, op};

#[derive(Clone)]
struct A {
    instance_type: &'static str,
    min: i32,
    max: i32,
    desired: Option<i32>,
    team: &'static str,
}

fn program(a: A) -> Box<Program> {
    Box::new(move |s: &Stack| {
        let vpc = Vpc::new(
            s,
            "net",
            VpcArgs::builder().cidr_block("10.65.0.0/16"),
            ResourceOptions::new(),
        )?;
        let subnets: Vec<_> = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(n, zone)| {
                Subnet::new(
                    s,
                    &format!("private-{zone}"),
                    SubnetArgs::builder()
                        .vpc_id(vpc.id())
                        .cidr_block(format!("10.65.{n}.0/24"))
                        .availability_zone(Some(format!("us-east-1{zone}"))),
                    ResourceOptions::new(),
                )
            })
            .collect::<Result<_, _>>()?;
        let sg = SecurityGroup::new(
            s,
            "web-sg",
            SecurityGroupArgs::builder().vpc_id(vpc.id()),
            ResourceOptions::new(),
        )?;
        let lt = LaunchTemplate::new(
            s,
            "web",
            LaunchTemplateArgs::builder()
                .image_id("ami-12c6146b")
                .instance_type(a.instance_type)
                .security_group_ids(sg.id().map(|g| vec![g]))
                .user_data(Some("#!/bin/sh\necho web\n".to_string())),
            ResourceOptions::new(),
        )?;
        let tg = TargetGroup::new(
            s,
            "web-tg",
            TargetGroupArgs::builder().port(80).vpc_id(vpc.id()),
            ResourceOptions::new(),
        )?;
        AutoScalingGroup::new(
            s,
            "web-asg",
            AutoScalingGroupArgs::builder()
                .launch_template_id(lt.id())
                .launch_template_version(lt.latest_version().map(|v| Some(v.to_string())))
                .min_size(a.min)
                .max_size(a.max)
                .desired_capacity(a.desired)
                .subnet_ids(Output::all_vec(subnets.iter().map(|s| s.id())))
                .target_group_arns(tg.arn().map(|a| vec![a]))
                .tags(BTreeMap::from([("owner".to_string(), a.team.to_string())])),
            ResourceOptions::new(),
        )?;
        Ok(())
    })
}

fn empty() -> Box<Program> {
    Box::new(|_: &Stack| Ok(()))
}

async fn group(
    c: &Client,
    name: &str,
) -> Option<mkso_providers_aws::sdk::autoscaling::types::AutoScalingGroup> {
    c.describe_auto_scaling_groups()
        .auto_scaling_group_names(name)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()
        .first()
        .cloned()
}

#[tokio::test]
async fn a_group_follows_its_launch_template() {
    let env = Env::new("Asg");
    let c = env.autoscaling().await.clone();
    let ec2 = env.client().await.clone();
    let v1 = A {
        instance_type: "t3.micro",
        min: 1,
        max: 2,
        desired: None,
        team: "a",
    };
    let plan = env.up(&*program(v1.clone())).await;
    assert_eq!(op(&plan, "web"), Op::Create);
    assert_eq!(op(&plan, "web-asg"), Op::Create);
    let (name, lt, tg) = (
        env.id("web-asg").await,
        env.id("web").await,
        env.id("web-tg").await,
    );
    let prefix = format!("{}-web-asg-", env.stack.as_str().replace('.', "-"));
    assert!(name.starts_with(&prefix), "{name}");
    let g = group(&c, &name).await.unwrap();
    assert_eq!((g.min_size(), g.max_size()), (Some(1), Some(2)));
    assert_eq!(g.instances().len(), 1, "create waits for the instances");
    assert_eq!(g.target_group_arns(), std::slice::from_ref(&tg));
    assert_eq!(
        g.launch_template().and_then(|t| t.version()),
        Some("1"),
        "the template's latest version"
    );
    let tags: BTreeMap<_, _> = g
        .tags()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!((tags["owner"], tags["Team"]), ("a", "infra"));
    assert!(tags["mkso:urn"].ends_with("::web-asg"));
    assert!(!env.preview(&*program(v1.clone())).await.has_changes());

    // In place: a new instance type is a new template version, which the
    // group follows; sizes and tags.
    let v2 = A {
        instance_type: "t3.small",
        max: 3,
        desired: Some(2),
        team: "b",
        ..v1.clone()
    };
    let plan = env.up(&*program(v2.clone())).await;
    assert_eq!(op(&plan, "web"), Op::Update);
    assert_eq!(op(&plan, "web-asg"), Op::Update);
    assert_eq!(env.id("web").await, lt, "a new version, not a new template");
    let versions = ec2
        .describe_launch_template_versions()
        .launch_template_id(&lt)
        .versions("$Default")
        .send()
        .await
        .unwrap();
    let v = &versions.launch_template_versions()[0];
    assert_eq!(v.version_number(), Some(2));
    assert_eq!(
        v.launch_template_data()
            .and_then(|d| d.instance_type())
            .map(|t| t.as_str()),
        Some("t3.small")
    );
    let g = group(&c, &name).await.unwrap();
    assert_eq!(g.launch_template().and_then(|t| t.version()), Some("2"));
    assert_eq!((g.max_size(), g.desired_capacity()), (Some(3), Some(2)));
    assert_eq!(g.instances().len(), 2);
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Drift: the desired capacity changed behind mkso's back.
    c.set_desired_capacity()
        .auto_scaling_group_name(&name)
        .desired_capacity(3)
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*program(v2.clone())).await;
    let drift = r
        .drift
        .iter()
        .find(|d| d.urn.name() == "web-asg")
        .unwrap_or_else(|| panic!("no drift of web-asg: {:?}", r.drift));
    assert_eq!(
        drift.kind,
        DriftKind::Changed(vec!["desired_capacity".into()])
    );
    env.up(&*program(v2.clone())).await;
    assert_eq!(group(&c, &name).await.unwrap().desired_capacity(), Some(2));
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Import the group into another stack.
    let other = Env::new("AsgImport");
    let (n, l, t) = (name.clone(), lt.clone(), tg.clone());
    let mut subnets = Vec::new();
    for s in ["private-a", "private-b"] {
        subnets.push(env.id(s).await);
    }
    let imported: Box<Program> = Box::new(move |s: &Stack| {
        AutoScalingGroup::new(
            s,
            "web-asg",
            AutoScalingGroupArgs::builder()
                .name(Some(n.clone()))
                .launch_template_id(l.clone())
                .launch_template_version(Some("2".to_string()))
                .min_size(1)
                .max_size(3)
                .desired_capacity(Some(2))
                .subnet_ids(subnets.clone())
                .target_group_arns(vec![t.clone()])
                .tags(BTreeMap::from([("owner".to_string(), "b".to_string())])),
            ResourceOptions::new().import(n.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "web-asg"), Op::Import);

    // Delete: the group with its instances, then the template.
    let instances: Vec<String> = group(&c, &name)
        .await
        .unwrap()
        .instances()
        .iter()
        .filter_map(|i| i.instance_id().map(String::from))
        .collect();
    let plan = env.up(&*empty()).await;
    assert_eq!(op(&plan, "web-asg"), Op::Delete);
    assert!(group(&c, &name).await.is_none());
    let out = ec2
        .describe_instances()
        .set_instance_ids(Some(instances))
        .send()
        .await
        .unwrap();
    for i in out.reservations().iter().flat_map(|r| r.instances()) {
        let state = i.state().and_then(|s| s.name()).map(|n| n.as_str());
        assert!(
            matches!(state, Some("terminated" | "shutting-down")),
            "{state:?}"
        );
    }
    assert!(
        ec2.describe_launch_templates()
            .launch_template_ids(&lt)
            .send()
            .await
            .map_or(true, |o| o.launch_templates().is_empty())
    );
}
