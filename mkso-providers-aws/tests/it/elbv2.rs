//! ELBv2 (feature `elbv2`) against moto: an internet-facing application
//! load balancer in two subnets, a listener forwarding to a target group
//! with an instance registered — create, update in place (health check,
//! listener port, security groups, tags), drift (changed and deregistered
//! behind mkso's back: refresh reports, up repairs), replace (a new target
//! port: the listener and the registration move), import, adoption of an
//! interrupted create, a taken name, delete.

use std::collections::BTreeMap;

use mkso::engine::{DriftKind, Op};
use mkso::prelude::*;
use mkso_providers_aws::sdk::elbv2::Client;
use mkso_providers_aws::sdk::elbv2::types::{Tag, TargetDescription};
use mkso_providers_aws::{
    Instance, InstanceArgs, Listener, ListenerArgs, LoadBalancer, LoadBalancerArgs, SecurityGroup,
    SecurityGroupArgs, Subnet, SubnetArgs, TargetGroup, TargetGroupArgs, TargetGroupAttachment,
    TargetGroupAttachmentArgs, Vpc, VpcArgs,
};

use crate::{Env, Program, op};

#[derive(Clone)]
struct E {
    health_path: &'static str,
    listener_port: i32,
    target_port: i32,
    second_group: bool,
    team: &'static str,
}

fn program(e: E) -> Box<Program> {
    Box::new(move |s: &Stack| {
        let vpc = Vpc::new(
            s,
            "net",
            VpcArgs::builder().cidr_block("10.61.0.0/16"),
            ResourceOptions::new(),
        )?;
        let subnets: Vec<_> = ["a", "b"]
            .iter()
            .enumerate()
            .map(|(n, zone)| {
                Subnet::new(
                    s,
                    &format!("public-{zone}"),
                    SubnetArgs::builder()
                        .vpc_id(vpc.id())
                        .cidr_block(format!("10.61.{n}.0/24"))
                        .availability_zone(Some(format!("us-east-1{zone}"))),
                    ResourceOptions::new(),
                )
            })
            .collect::<Result<_, _>>()?;
        let group = |name: &str| {
            SecurityGroup::new(
                s,
                name,
                SecurityGroupArgs::builder()
                    .vpc_id(vpc.id())
                    .description(Some(format!("{name} of the load balancer"))),
                ResourceOptions::new(),
            )
        };
        let mut groups = vec![group("alb-sg")?.id()];
        if e.second_group {
            groups.push(group("alb-sg-extra")?.id());
        }
        let vm = Instance::new(
            s,
            "web-1",
            InstanceArgs::builder()
                .ami("ami-12c6146b")
                .instance_type("t3.micro")
                .subnet_id(subnets[0].id().map(Some)),
            ResourceOptions::new(),
        )?;
        let tg = TargetGroup::new(
            s,
            "web",
            TargetGroupArgs::builder()
                .port(e.target_port)
                .vpc_id(vpc.id())
                .health_check_path(Some(e.health_path.to_string()))
                .deregistration_delay(Some(30))
                .tags(BTreeMap::from([("owner".to_string(), e.team.to_string())])),
            ResourceOptions::new(),
        )?;
        let lb = LoadBalancer::new(
            s,
            "alb",
            LoadBalancerArgs::builder()
                .subnets(Output::all_vec(subnets.iter().map(|s| s.id())))
                .security_groups(Output::all_vec(groups))
                .tags(BTreeMap::from([("owner".to_string(), e.team.to_string())])),
            ResourceOptions::new(),
        )?;
        Listener::new(
            s,
            "http",
            ListenerArgs::builder()
                .load_balancer_arn(lb.arn())
                .port(e.listener_port)
                .target_group_arn(tg.arn()),
            ResourceOptions::new(),
        )?;
        TargetGroupAttachment::new(
            s,
            "web-1-registered",
            TargetGroupAttachmentArgs::builder()
                .target_group_arn(tg.arn())
                .target_id(vm.id()),
            ResourceOptions::new(),
        )?;
        s.export("dns_name", lb.dns_name());
        Ok(())
    })
}

fn empty() -> Box<Program> {
    Box::new(|_: &Stack| Ok(()))
}

async fn tags(c: &Client, arn: &str) -> BTreeMap<String, String> {
    let out = c.describe_tags().resource_arns(arn).send().await.unwrap();
    out.tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .map(|t| {
            (
                t.key().unwrap_or("").to_string(),
                t.value().unwrap_or("").to_string(),
            )
        })
        .collect()
}

async fn registered(c: &Client, tg: &str) -> Vec<String> {
    let out = c
        .describe_target_health()
        .target_group_arn(tg)
        .send()
        .await
        .unwrap();
    out.target_health_descriptions()
        .iter()
        .filter_map(|d| d.target()?.id().map(String::from))
        .collect()
}

async fn listener(c: &Client, arn: &str) -> (i32, String) {
    let out = c
        .describe_listeners()
        .listener_arns(arn)
        .send()
        .await
        .unwrap();
    let l = &out.listeners()[0];
    (
        l.port().unwrap(),
        l.default_actions()[0]
            .target_group_arn()
            .unwrap()
            .to_string(),
    )
}

async fn exists(c: &Client, lb: Option<&str>, tg: Option<&str>) -> bool {
    match (lb, tg) {
        (Some(a), _) => c
            .describe_load_balancers()
            .load_balancer_arns(a)
            .send()
            .await
            .is_ok(),
        (_, Some(a)) => c
            .describe_target_groups()
            .target_group_arns(a)
            .send()
            .await
            .is_ok(),
        _ => false,
    }
}

#[tokio::test]
async fn a_load_balancer_forwards_to_its_targets_through_every_change() {
    let env = Env::new("Elb");
    let c = env.elbv2().await.clone();
    let v1 = E {
        health_path: "/health",
        listener_port: 80,
        target_port: 80,
        second_group: false,
        team: "a",
    };
    let plan = env.up(&*program(v1.clone())).await;
    for name in ["alb", "web", "http", "web-1-registered"] {
        assert_eq!(op(&plan, name), Op::Create, "{name}");
    }
    let (lb, tg, http) = (
        env.id("alb").await,
        env.id("web").await,
        env.id("http").await,
    );
    let vm = env.id("web-1").await;
    let got = c
        .describe_load_balancers()
        .load_balancer_arns(&lb)
        .send()
        .await
        .unwrap();
    let l = &got.load_balancers()[0];
    assert_eq!(l.scheme().unwrap().as_str(), "internet-facing");
    assert_eq!(l.availability_zones().len(), 2);
    // Default name: <stack>-<resource name>-<hash>, in ELB's characters.
    let prefix = format!("{}-alb-", env.stack.as_str().replace('.', "-"));
    assert!(
        l.load_balancer_name().unwrap().starts_with(&prefix),
        "{:?}",
        l.load_balancer_name()
    );
    assert_eq!(
        env.state().await.outputs["dns_name"],
        l.dns_name().unwrap(),
        "the DNS name is an output"
    );
    let t = tags(&c, &lb).await;
    assert_eq!(t["owner"], "a");
    assert_eq!(t["Team"], "infra", "default tag");
    assert!(t["mkso:urn"].ends_with("aws:elbv2:LoadBalancer::alb"));
    assert_eq!(listener(&c, &http).await, (80, tg.clone()));
    assert_eq!(registered(&c, &tg).await, vec![vm.clone()]);
    let health = |c: Client, tg: String| async move {
        c.describe_target_groups()
            .target_group_arns(tg)
            .send()
            .await
            .unwrap()
            .target_groups()[0]
            .health_check_path()
            .map(String::from)
    };
    assert_eq!(
        health(c.clone(), tg.clone()).await.as_deref(),
        Some("/health")
    );
    assert!(!env.preview(&*program(v1.clone())).await.has_changes());

    // In place: the health check, the listener's port, a second security
    // group, the owner tag.
    let v2 = E {
        health_path: "/ready",
        listener_port: 8080,
        second_group: true,
        team: "b",
        ..v1.clone()
    };
    let plan = env.up(&*program(v2.clone())).await;
    for name in ["alb", "web", "http"] {
        assert_eq!(op(&plan, name), Op::Update, "{name}");
    }
    assert_eq!(op(&plan, "web-1-registered"), Op::Same);
    assert_eq!(env.id("alb").await, lb, "updated, not replaced");
    assert_eq!(
        health(c.clone(), tg.clone()).await.as_deref(),
        Some("/ready")
    );
    assert_eq!(listener(&c, &http).await, (8080, tg.clone()));
    let got = c
        .describe_load_balancers()
        .load_balancer_arns(&lb)
        .send()
        .await
        .unwrap();
    assert_eq!(got.load_balancers()[0].security_groups().len(), 2);
    assert_eq!(tags(&c, &lb).await["owner"], "b");
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Drift: the health check and a tag changed, the instance deregistered
    // behind mkso's back.
    c.modify_target_group()
        .target_group_arn(&tg)
        .health_check_path("/hacked")
        .send()
        .await
        .unwrap();
    c.add_tags()
        .resource_arns(&lb)
        .tags(Tag::builder().key("owner").value("zzz").build())
        .send()
        .await
        .unwrap();
    c.deregister_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id(&vm).build())
        .send()
        .await
        .unwrap();
    let r = env.refresh(&*program(v2.clone())).await;
    let kind = |n: &str| {
        r.drift
            .iter()
            .find(|d| d.urn.name() == n)
            .unwrap_or_else(|| panic!("no drift of {n}: {:?}", r.drift))
            .kind
            .clone()
    };
    assert_eq!(
        kind("web"),
        DriftKind::Changed(vec!["health_check_path".into()])
    );
    assert_eq!(kind("alb"), DriftKind::Changed(vec!["tags".into()]));
    assert_eq!(kind("web-1-registered"), DriftKind::Deleted);
    env.up(&*program(v2.clone())).await;
    assert_eq!(
        health(c.clone(), tg.clone()).await.as_deref(),
        Some("/ready")
    );
    assert_eq!(tags(&c, &lb).await["owner"], "b");
    assert_eq!(
        registered(&c, &tg).await,
        vec![vm.clone()],
        "registered again"
    );
    assert!(!env.preview(&*program(v2.clone())).await.has_changes());

    // Replace: a new target port makes a new target group (under a new
    // default name, next to the old one); the listener moves to it in
    // place, the registration is replaced, then the old group goes.
    let v3 = E {
        target_port: 8081,
        ..v2.clone()
    };
    let plan = env.up(&*program(v3.clone())).await;
    assert_eq!(op(&plan, "web"), Op::Replace);
    assert_eq!(op(&plan, "web-1-registered"), Op::Replace);
    assert_eq!(op(&plan, "http"), Op::Update);
    let tg2 = env.id("web").await;
    assert_ne!(tg2, tg);
    assert!(!exists(&c, None, Some(&tg)).await, "the old group is gone");
    assert_eq!(listener(&c, &http).await, (8080, tg2.clone()));
    assert_eq!(registered(&c, &tg2).await, vec![vm.clone()]);
    assert!(!env.preview(&*program(v3.clone())).await.has_changes());

    // Import the load balancer into another stack.
    let other = Env::new("ElbImport");
    let name = c
        .describe_load_balancers()
        .load_balancer_arns(&lb)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_name()
        .unwrap()
        .to_string();
    let mut subnets = Vec::new();
    for n in ["public-a", "public-b"] {
        subnets.push(env.id(n).await);
    }
    let mut groups = Vec::new();
    for n in ["alb-sg", "alb-sg-extra"] {
        groups.push(env.id(n).await);
    }
    let lb_arn = lb.clone();
    let imported: Box<Program> = Box::new(move |s: &Stack| {
        LoadBalancer::new(
            s,
            "alb",
            LoadBalancerArgs::builder()
                .name(Some(name.clone()))
                .subnets(subnets.clone())
                .security_groups(groups.clone())
                .tags(BTreeMap::from([("owner".to_string(), "b".to_string())])),
            ResourceOptions::new().import(lb_arn.clone()),
        )?;
        Ok(())
    });
    let plan = other.up(&*imported).await;
    assert_eq!(op(&plan, "alb"), Op::Import);
    assert_eq!(other.id("alb").await, lb);

    // Delete: listener, registration, groups, then the load balancer.
    let plan = env.up(&*empty()).await;
    assert_eq!(op(&plan, "alb"), Op::Delete);
    assert!(!exists(&c, Some(&lb), None).await, "load balancer gone");
    assert!(!exists(&c, None, Some(&tg2)).await, "target group gone");
}

#[tokio::test]
async fn an_interrupted_target_group_create_is_adopted_and_a_taken_name_is_refused() {
    let env = Env::new("ElbAdopt");
    let c = env.elbv2().await.clone();
    let vpc = env
        .client()
        .await
        .create_vpc()
        .cidr_block("10.62.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let name = format!("mkso-it-adopt-{}", std::process::id());
    let urn = format!(
        "urn:mkso:{}::aws-test::aws:elbv2:TargetGroup::web",
        env.stack.as_str()
    );
    // What an interrupted create left: the group, tagged with the urn.
    let made = c
        .create_target_group()
        .name(&name)
        .port(80)
        .protocol("HTTP".into())
        .vpc_id(&vpc)
        .tags(Tag::builder().key("mkso:urn").value(urn).build())
        .send()
        .await
        .unwrap();
    let arn = made.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let on_port = |name: String, vpc: String, port: i32| -> Box<Program> {
        Box::new(move |s: &Stack| {
            TargetGroup::new(
                s,
                "web",
                TargetGroupArgs::builder()
                    .name(Some(name.clone()))
                    .port(port)
                    .vpc_id(vpc.clone()),
                ResourceOptions::new(),
            )?;
            Ok(())
        })
    };
    let only_group = |name: String, vpc: String| on_port(name, vpc, 80);
    let plan = env.up(&*only_group(name.clone(), vpc.clone())).await;
    assert_eq!(op(&plan, "web"), Op::Create);
    assert_eq!(env.id("web").await, arn, "adopted, not a second group");
    assert!(
        !env.preview(&*only_group(name.clone(), vpc.clone()))
            .await
            .has_changes()
    );

    // Another stack wants the same name: refused, naming what to do.
    let other = Env::new("ElbTaken");
    let (_, out) = other.try_up(&*only_group(name.clone(), vpc.clone())).await;
    assert_eq!(out.failures.len(), 1);
    let e = &out.failures[0].error;
    assert!(
        e.contains(&format!("the target group name `{name}` is taken"))
            && e.contains("import option"),
        "{e}"
    );

    // A replacement keeping the given name: the old group goes first (a
    // create first would meet the name taken by the old one).
    let plan = env.up(&*on_port(name.clone(), vpc.clone(), 8080)).await;
    assert_eq!(op(&plan, "web"), Op::Replace);
    assert!(
        plan.all_steps()
            .find(|s| s.name == "web")
            .unwrap()
            .delete_before_replace(),
        "the given name stays: the old group goes first"
    );
    let new_arn = env.id("web").await;
    assert_ne!(new_arn, arn);
    assert!(!exists(&c, None, Some(&arn)).await, "the old group is gone");
    let g = c
        .describe_target_groups()
        .target_group_arns(&new_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        g.target_groups()[0].target_group_name(),
        Some(name.as_str())
    );
    assert_eq!(g.target_groups()[0].port(), Some(8080));

    env.up(&*empty()).await;
    assert!(!exists(&c, None, Some(&new_arn)).await);
    env.client()
        .await
        .delete_vpc()
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap();
}
