//! Snapshot tests of every stack program's graph, for each of its stack
//! configs, with the testing kit (no cloud, no state).

use std::path::Path;

use mkso::testing::{RecordedGraph, preview};

fn config(stack: &str, file: &str) -> RecordedGraph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    preview(stacks::data_bench::program)
        .stack(stack)
        .project("data-bench")
        .config_file(&path)
        .run()
        .unwrap()
}

/// The first resources in full, and the shape of the rest.
fn head(g: &RecordedGraph, n: usize) -> serde_json::Value {
    serde_json::json!({
        "stack": g.stack,
        "resources": g.resources.len(),
        "first": g.resources.iter().take(n).collect::<Vec<_>>(),
        "outputs": g.outputs,
    })
}

#[test]
fn data_bench_dev_independent() {
    let g = config("bench.data.Dev", "data_bench/Mkso.bench.data.Dev.yaml");
    assert_eq!(g.resources.len(), 1000);
    assert!(
        g.resources.iter().all(|r| r.dependencies.is_empty()),
        "independent: no edges"
    );
    assert!(
        g.resources
            .iter()
            .all(|r| r.type_token == "mkso:builtin:Data")
    );
    insta::assert_yaml_snapshot!(head(&g, 2));
}

#[test]
fn data_bench_chain() {
    let g = config("bench.chain.Dev", "data_bench/Mkso.bench.chain.Dev.yaml");
    assert_eq!(g.resources.len(), 1000);
    for i in 1..1000 {
        let r = g.get(&format!("item-{i}")).unwrap();
        assert_eq!(
            r.dependencies,
            vec![format!("item-{}", i - 1)],
            "each reads the previous one"
        );
    }
    assert!(g.get("item-0").unwrap().dependencies.is_empty());
    insta::assert_yaml_snapshot!(head(&g, 2));
}

#[test]
fn data_bench_up_outputs() {
    let g = preview(stacks::data_bench::program)
        .stack("bench.data.Dev")
        .config([
            ("bench:count", serde_json::json!(3)),
            ("bench:shape", serde_json::json!("chain")),
        ])
        .up()
        .unwrap();
    assert_eq!(g.outputs["count"], serde_json::json!(3));
    assert_eq!(
        g.get("item-2").unwrap().outputs["value"],
        serde_json::json!({"i": 2, "revision": 0})
    );
    insta::assert_yaml_snapshot!(g);
}

fn stack_graph(
    program: fn(&mkso::Stack) -> Result<(), mkso::Error>,
    project: &str,
    stack: &str,
    file: &str,
) -> RecordedGraph {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    preview(program)
        .stack(stack)
        .project(project)
        .config_file(&path)
        .run()
        .unwrap()
}

#[test]
fn aws_network_configs() {
    for (env, subnets, nats) in [("QA", 4, 0), ("Production", 6, 3)] {
        let stack = format!("aws.network.{env}");
        let g = stack_graph(
            stacks::aws_network::program,
            "aws-network",
            &stack,
            &format!("aws_network/Mkso.{stack}.yaml"),
        );
        assert_eq!(
            g.resources_of_type("aws:ec2:Subnet").len(),
            subnets,
            "{env}"
        );
        assert_eq!(
            g.resources_of_type("aws:ec2:NatGateway").len(),
            nats,
            "{env}"
        );
        insta::assert_yaml_snapshot!(format!("aws_network_{env}"), g);
    }
}

#[test]
fn gcp_cluster_configs() {
    for (env, instances) in [("QA", 2), ("Production", 3)] {
        let stack = format!("gcp.cluster.{env}");
        let g = stack_graph(
            stacks::gcp_cluster::program,
            "gcp-cluster",
            &stack,
            &format!("gcp_cluster/Mkso.{stack}.yaml"),
        );
        assert_eq!(
            g.resources_of_type("gcp:compute:Instance").len(),
            instances,
            "{env}"
        );
        insta::assert_yaml_snapshot!(format!("gcp_cluster_{env}"), g);
    }
}

/// The app on canned outputs of its network stack; the password is a canary
/// that must not appear in the recorded graph.
#[test]
fn aws_app_configs() {
    let canary = "canary-graph-pw-4411";
    for (env, subnets, instances) in [("QA", 2, 2), ("Production", 3, 3)] {
        let stack = format!("aws.app.{env}");
        let private: Vec<String> = (0..subnets)
            .map(|i| format!("subnet-private-{i}"))
            .collect();
        let public: Vec<String> = (0..subnets).map(|i| format!("subnet-public-{i}")).collect();
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("aws_app/Mkso.{stack}.yaml"));
        let g = preview(stacks::aws_app::program)
            .stack(&stack)
            .project("aws-app")
            .config_file(&path)
            .secret_config("app:db_password", serde_json::json!(canary))
            .reference(
                &format!("aws.network.{env}"),
                serde_json::json!({
                    "vpc_id": format!("vpc-{env}"),
                    "private_subnet_ids": private,
                    "public_subnet_ids": public,
                }),
            )
            .run()
            .unwrap();
        let all = serde_json::to_string(&g).unwrap();
        assert!(!all.contains(canary), "the password leaked into the graph");
        let app: Vec<_> = g
            .resources_of_type("aws:ec2:Instance")
            .into_iter()
            .filter(|r| r.name.starts_with("app-"))
            .collect();
        assert_eq!(app.len(), instances, "{env}");
        // App instances carry the secret in their user data: that property
        // alone is masked; AMI, type, subnet and groups show.
        for r in &app {
            assert_eq!(
                r.inputs["user_data"],
                serde_json::json!("[secret]"),
                "{r:?}"
            );
            for clear in ["ami", "instance_type", "subnet_id"] {
                let v = r.inputs[clear].as_str().unwrap_or_default();
                assert!(
                    !v.is_empty() && v != "[secret]",
                    "{clear} of {}: {v:?}",
                    r.name
                );
            }
            assert!(private.iter().any(|s| r.inputs["subnet_id"] == *s), "{r:?}");
        }
        let bastion = g.get("bastion").unwrap();
        assert_eq!(bastion.inputs["subnet_id"], "subnet-public-0");
        let ssh = g.get("app-ssh").unwrap();
        assert_ne!(ssh.inputs["cidr_blocks"], serde_json::json!(["0.0.0.0/0"]));
        // HTTP from anywhere reaches the load balancer; the app instances
        // take it from the load balancer's group only.
        assert_eq!(
            g.get("web/alb-in").unwrap().inputs["cidr_blocks"],
            serde_json::json!(["0.0.0.0/0"])
        );
        // (A preview: ids are known after apply; what each rule reads is
        // what it depends on.)
        let deps = |n: &str| g.get(n).unwrap().dependencies.clone();
        let from_alb = deps("web/instances-from-alb");
        assert!(
            from_alb.contains(&"web/instances-sg".to_string())
                && from_alb.contains(&"web/alb-sg".to_string()),
            "{from_alb:?}"
        );
        let from_web = deps("app-from-web");
        assert!(
            from_web.contains(&"app-sg".to_string())
                && from_web.contains(&"web/instances-sg".to_string()),
            "{from_web:?}"
        );
        assert!(deps("web/launch-template").contains(&"app-profile".to_string()));
        assert!(
            g.get("app-http").is_none(),
            "no HTTP from anywhere to the instances"
        );
        // The database takes Postgres from the app instances only, its
        // password masked; the site's record aliases the load balancer; the
        // app instances take the role through its profile.
        assert!(deps("db/from-app").contains(&"app-sg".to_string()));
        assert_eq!(g.get("db/instance").unwrap().inputs["password"], "[secret]");
        assert!(
            deps("site").contains(&"web/alb".to_string()),
            "{:?}",
            deps("site")
        );
        assert!(deps("app-0").contains(&"app-profile".to_string()));
        insta::assert_yaml_snapshot!(format!("aws_app_{env}"), g);
    }
}

#[test]
fn aws_app_bad_references_are_clear() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("aws_app/Mkso.aws.app.QA.yaml");
    let base = || {
        preview(stacks::aws_app::program)
            .stack("aws.app.QA")
            .config_file(&path)
            .secret_config("app:db_password", serde_json::json!("pw-for-errors"))
    };
    let e = base().run().unwrap_err().to_string();
    assert!(e.contains("stack reference aws.network.QA"), "{e}");
    let e = base()
        .reference("aws.network.QA", serde_json::json!({"vpc_id": "vpc-1"}))
        .run()
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "stack reference aws.network.QA: it has no output `private_subnet_ids` (its outputs: vpc_id)"
    );
    let e = base()
        .reference(
            "aws.network.QA",
            serde_json::json!({"vpc_id": 7, "private_subnet_ids": [], "public_subnet_ids": []}),
        )
        .run()
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("output `vpc_id` is a number") && e.contains("alloc::string::String"),
        "{e}"
    );
    // Without the secret: the error says how to set it.
    let e = preview(stacks::aws_app::program)
        .stack("aws.app.QA")
        .config_file(&path)
        .run()
        .unwrap_err()
        .to_string();
    assert!(e.contains("app:db_password"), "{e}");
}
