//! A component built from built-in resources.
//!
//! `WebTier` groups a settings resource and N replica resources under one
//! parent; each replica's value is computed from the settings' output (so it
//! depends on it); the component registers its outputs.
//!
//! ```
//! let graph = mkso::testing::preview(mkso_examples::web_tier::program)
//!     .stack("example.web.QA")
//!     .config_yaml("config:\n  web:replicas: 2\n  web:port: 8080\n")
//!     .up()
//!     .unwrap();
//! assert_eq!(graph.outputs["replicas"], serde_json::json!(["front-replica-0-id", "front-replica-1-id"]));
//! ```

use mkso::builtin::{Data, DataArgs};
use mkso::prelude::*;
use serde_json::json;

/// The `web` config namespace.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// How many replicas.
    pub replicas: u32,
    /// The port they listen on.
    pub port: u16,
}

/// A group of replicas sharing settings.
pub struct WebTier {
    /// The component.
    pub component: ComponentResource,
    /// The replicas' ids.
    pub replica_ids: Output<Vec<String>>,
}

impl WebTier {
    /// Declares the tier `name` with `cfg`.
    pub fn new(
        stack: &Stack,
        name: &str,
        cfg: &WebConfig,
        opts: ResourceOptions,
    ) -> Result<Self, mkso::Error> {
        let component = stack.component("examples:web:Tier", name, opts)?;
        let settings = Data::new(
            stack,
            "settings",
            DataArgs::default().value(json!({ "port": cfg.port, "env": stack.environment() })),
            component.child_opts(),
        )?;
        let mut ids = Vec::new();
        for i in 0..cfg.replicas {
            let replica = Data::new(
                stack,
                &format!("replica-{i}"),
                DataArgs::default().value(
                    settings
                        .value()
                        .map(move |s| json!({ "index": i, "listen": s["port"] })),
                ),
                component.child_opts(),
            )?;
            ids.push(replica.id());
        }
        let replica_ids = Output::all_vec(ids);
        component.register_outputs(replica_ids.map(|ids| json!({ "replica_ids": ids })));
        Ok(WebTier {
            component,
            replica_ids,
        })
    }
}

/// The example program: one web tier from the `web` config.
pub fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let cfg: WebConfig = stack.config("web")?;
    let tier = WebTier::new(stack, "front", &cfg, ResourceOptions::new())?;
    stack.export("replicas", tier.replica_ids);
    Ok(())
}
