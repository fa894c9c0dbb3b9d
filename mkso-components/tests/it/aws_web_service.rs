//! `AwsWebService`: the graphs of both kinds of targets (snapshots), the
//! security groups chained, and settings that do not make a service.

use mkso::prelude::*;
use mkso::testing::{RecordedGraph, preview};
use mkso_components::{AwsWebService, AwsWebServiceArgs, WebTargets};

fn subnets(kind: &str) -> Output<Vec<String>> {
    Output::new(vec![format!("subnet-{kind}-a"), format!("subnet-{kind}-b")])
}

fn graph(targets: impl Fn() -> WebTargets + Send + Sync + 'static) -> RecordedGraph {
    preview(move |stack: &Stack| {
        let mut args = AwsWebServiceArgs::new(
            Output::new("vpc-1".to_string()),
            subnets("public"),
            subnets("private"),
            targets(),
        );
        args.port = 8080;
        args.health_check_path = "/health".to_string();
        let web = AwsWebService::new(stack, "web", args, ResourceOptions::new())?;
        stack.export("dns_name", web.dns_name.clone());
        stack.export("instance_sg", web.instance_security_group_id.clone());
        Ok(())
    })
    .stack("aws.app.QA")
    .up()
    .unwrap()
}

#[test]
fn an_auto_scaling_group_in_the_private_subnets_behind_the_load_balancer() {
    let g = graph(|| {
        let mut t = WebTargets::auto_scaling("ami-12c6146b", "t3.micro", 2, 4);
        if let WebTargets::AutoScaling(a) = &mut t {
            a.user_data = Some(Output::secret("#!/bin/sh\necho secret\n".to_string()));
        }
        t
    });
    let lb = g.get("web/alb").unwrap();
    assert_eq!(
        lb.inputs["subnets"],
        serde_json::json!(["subnet-public-a", "subnet-public-b"])
    );
    assert_eq!(
        lb.inputs["security_groups"],
        serde_json::json!(["web-alb-sg-id"])
    );
    let asg = g.get("web/asg").unwrap();
    assert_eq!(
        asg.inputs["subnet_ids"],
        serde_json::json!(["subnet-private-a", "subnet-private-b"])
    );
    assert_eq!(asg.inputs["health_check_type"], "ELB");
    // Only the load balancer's group reaches the instances, on their port.
    let rule = g.get("web/instances-from-alb").unwrap();
    assert_eq!(rule.inputs["security_group_id"], "web-instances-sg-id");
    assert_eq!(rule.inputs["source_security_group_id"], "web-alb-sg-id");
    assert_eq!(rule.inputs["from_port"], 8080);
    assert_eq!(rule.inputs["cidr_blocks"], serde_json::json!([]));
    let open = g.get("web/alb-in").unwrap();
    assert_eq!(open.inputs["cidr_blocks"], serde_json::json!(["0.0.0.0/0"]));
    assert_eq!(open.inputs["from_port"], 80);
    assert_eq!(
        g.get("web/launch-template").unwrap().inputs["security_group_ids"],
        serde_json::json!(["web-instances-sg-id"])
    );
    assert!(
        g.resources_of_type("aws:elbv2:TargetGroupAttachment")
            .is_empty(),
        "the group registers its instances"
    );
    assert_eq!(g.outputs["instance_sg"], "web-instances-sg-id");
    insta::assert_yaml_snapshot!(g);
}

#[test]
fn instances_of_the_program_registered_and_let_in() {
    let g = graph(|| WebTargets::Instances {
        ids: vec![
            Output::new("i-1".to_string()),
            Output::new("i-2".to_string()),
        ],
        security_group_id: Output::new("sg-app".to_string()),
    });
    let targets = g.resources_of_type("aws:elbv2:TargetGroupAttachment");
    assert_eq!(targets.len(), 2);
    assert_eq!(targets[0].inputs["target_id"], "i-1");
    assert_eq!(targets[0].inputs["port"], 8080);
    assert!(
        g.resources_of_type("aws:autoscaling:AutoScalingGroup")
            .is_empty()
    );
    assert!(
        g.get("web/instances-sg").is_none(),
        "the program's group is used"
    );
    let rule = g.get("web/instances-from-alb").unwrap();
    assert_eq!(rule.inputs["security_group_id"], "sg-app");
    assert_eq!(rule.inputs["source_security_group_id"], "web-alb-sg-id");
    insta::assert_yaml_snapshot!(
        g.resources
            .iter()
            .map(|r| format!("{} {}", r.type_token, r.name))
            .collect::<Vec<_>>()
    );
}

#[test]
fn settings_that_make_no_service_say_why() {
    let err = |min: i32, max: i32, port: i32| {
        preview(move |stack: &Stack| {
            let mut args = AwsWebServiceArgs::new(
                Output::new("vpc-1".to_string()),
                subnets("public"),
                subnets("private"),
                WebTargets::auto_scaling("ami-1", "t3.micro", min, max),
            );
            args.port = port;
            AwsWebService::new(stack, "web", args, ResourceOptions::new())?;
            Ok(())
        })
        .stack("aws.app.QA")
        .up()
        .unwrap_err()
        .to_string()
    };
    let e = err(3, 2, 80);
    assert!(
        e.contains("web service `web`: min_size 3 and max_size 2"),
        "{e}"
    );
    let e = err(1, 2, 70000);
    assert!(e.contains("port 70000 is not a port"), "{e}");
}
