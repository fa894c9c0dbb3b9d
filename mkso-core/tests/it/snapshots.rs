//! Plans, rendered previews and recorded graphs as reviewed insta snapshots.

use mkso::engine::{RenderOptions, render_plan};
use mkso::prelude::*;
use serde_json::json;

use crate::{Harness, program, spec};

#[tokio::test]
async fn rendered_preview_of_every_kind_of_change() {
    let h = Harness::new();
    h.up(&program(vec![
        spec("same", json!(1)),
        spec("updated", json!(1)),
        spec("replaced", json!(1)).zone("z1"),
        spec("removed", json!(1)),
        spec("reader", json!("r")).reads(&["updated"]),
    ]))
    .await;
    let next = program(vec![
        spec("same", json!(1)),
        spec("updated", json!(2)),
        spec("replaced", json!(1)).zone("z2"),
        spec("added", json!({"k": "v"})),
        spec("reader", json!("r")).reads(&["updated"]),
    ]);
    let plan = h.preview(&next).await;
    insta::assert_snapshot!(
        "preview_diff",
        render_plan(
            &plan,
            RenderOptions {
                diff: true,
                show_same: false
            }
        )
    );
    insta::assert_snapshot!(
        "preview_plain",
        render_plan(&plan, RenderOptions::default())
    );
    let summary: Vec<_> = plan.summaries();
    insta::assert_yaml_snapshot!("plan_summaries", summary);
}

#[test]
fn recorded_graph_of_a_component_program() {
    let graph = mkso::testing::preview(mkso_web_tier)
        .stack("example.web.QA")
        .run()
        .unwrap();
    insta::assert_yaml_snapshot!("web_tier_graph", graph);
}

fn mkso_web_tier(stack: &Stack) -> Result<(), mkso::Error> {
    let tier = stack.component(
        "test:index:Tier",
        "web",
        ResourceOptions::new().protect(true),
    )?;
    let a = crate::Thing::new(
        stack,
        "conf",
        crate::ThingArgs::default().value(json!({"port": 80})),
        tier.child_opts(),
    )?;
    let b = crate::Thing::new(
        stack,
        "app",
        crate::ThingArgs::default()
            .value(a.value().map(|v| json!({"listen": v["port"]})))
            .zone(Some("z1".into())),
        tier.child_opts().tenacity(Tenacity::attempts(2)),
    )?;
    tier.register_outputs(b.id());
    stack.export("app", b.id());
    stack.export("secret", Output::secret("s3cr3t".to_string()));
    Ok(())
}
