//! Unit tests of the web shop's infrastructure: no cloud, no credentials.

const STACK_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Mkso.web.shop.QA.yaml");

/// The QA stack as its committed stack file declares it.
fn qa() -> mkso::testing::RecordedGraph {
    mkso::testing::preview(web_shop::program)
        .stack("web.shop.QA")
        .config_file(std::path::Path::new(STACK_FILE))
        .run()
        .unwrap()
}

#[test]
fn qa_graph() {
    insta::assert_yaml_snapshot!(qa());
}

#[test]
fn every_instance_is_in_the_web_security_group() {
    let graph = qa();
    let instances = graph.resources_of_type("aws:ec2:Instance");
    assert_eq!(instances.len(), 2);
    for i in instances {
        assert!(
            i.dependencies.iter().any(|d| d.ends_with("/sg")),
            "{:?}",
            i.dependencies
        );
    }
}

#[test]
fn more_instances_are_more_instances() {
    let graph = mkso::testing::preview(web_shop::program)
        .stack("web.shop.QA")
        .config_file(std::path::Path::new(STACK_FILE))
        .config([("web:instances", serde_json::json!(4))])
        .run()
        .unwrap();
    assert_eq!(graph.resources_of_type("aws:ec2:Instance").len(), 4);
}
