//! Snapshot tests of the example programs.

#[test]
fn web_tier_preview_graph() {
    let graph = mkso::testing::preview(mkso_examples::web_tier::program)
        .stack("example.web.QA")
        .config_yaml("config:\n  web:replicas: 2\n  web:port: 8080\n")
        .run()
        .unwrap();
    assert_eq!(graph.resources_of_type("mkso:builtin:Data").len(), 3);
    // Every replica reads the settings: a dependency edge.
    for r in graph.resources_of_type("mkso:builtin:Data") {
        if r.name.contains("replica") {
            assert_eq!(r.dependencies, vec!["front/settings".to_string()]);
        }
    }
    insta::assert_yaml_snapshot!(graph);
}

#[test]
fn web_tier_after_up() {
    let graph = mkso::testing::preview(mkso_examples::web_tier::program)
        .stack("example.web.Production")
        .config_yaml("config:\n  web:replicas: 1\n  web:port: 443\n")
        .up()
        .unwrap();
    let replica = graph.get("front/replica-0").unwrap();
    assert_eq!(
        replica.outputs["value"],
        serde_json::json!({"index": 0, "listen": 443})
    );
    insta::assert_yaml_snapshot!(graph);
}

#[test]
fn web_tier_preview_as_rendered() {
    let text = mkso::testing::preview(mkso_examples::web_tier::program)
        .stack("example.web.QA")
        .config_yaml("config:\n  web:replicas: 2\n  web:port: 8080\n")
        .render()
        .unwrap();
    insta::assert_snapshot!(text);
}
