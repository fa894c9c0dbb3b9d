//! The `data_bench` program (see `main.rs`).

use mkso::builtin::{Data, DataArgs};
use mkso::prelude::*;
use serde_json::json;

/// The shape of the benchmark graph.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// No edges.
    #[default]
    Independent,
    /// Each resource takes the previous one's output as input.
    Chain,
}

/// The `bench` config namespace.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {
    /// How many resources (default 1000).
    #[serde(default = "default_count")]
    pub count: u32,
    /// Their shape (default independent).
    #[serde(default)]
    pub shape: Shape,
    /// A value mixed into every resource: change it to update them all.
    #[serde(default)]
    pub revision: u32,
    /// Update only every n-th resource when `revision` changes (100: 1%).
    #[serde(default = "default_every")]
    pub revise_every: u32,
    /// When above zero, declare `test:bench:Slow` resources whose create,
    /// update and delete each take this long (served by mkso's in-process test
    /// provider) instead of built-in Data: the latency benchmark.
    #[serde(default)]
    pub latency_ms: u64,
}

mkso::resource! {
    /// A resource whose operations take `bench:latency_ms` (see [`BenchConfig`]).
    pub struct Slow("test:bench:Slow") {
        args SlowArgs => SlowInputs {
            value: serde_json::Value,
        }
        outputs SlowOutputs {
            value: serde_json::Value,
        }
    }
}

fn default_count() -> u32 {
    1000
}

fn default_every() -> u32 {
    1
}

/// Declares the resources and exports `count`.
pub fn program(stack: &Stack) -> Result<(), mkso::Error> {
    let cfg: BenchConfig = stack.config("bench")?;
    if cfg.latency_ms > 0 {
        return slow_program(stack, &cfg);
    }
    let mut prev: Option<Data> = None;
    for i in 0..cfg.count {
        let revision = if i % cfg.revise_every.max(1) == 0 {
            cfg.revision
        } else {
            0
        };
        let value: Input<serde_json::Value> = match (&prev, cfg.shape) {
            // Same size as an independent value; it reads the previous output.
            // `i` comes from the previous output, so a change does not ripple down.
            (Some(p), Shape::Chain) => p.value().map(
                move |v| json!({ "i": v["i"].as_u64().unwrap_or(0) + 1, "revision": revision }),
            ),
            _ => json!({ "i": i, "revision": revision }).into(),
        };
        let d = Data::new(
            stack,
            &format!("item-{i}"),
            DataArgs::default().value(value),
            ResourceOptions::new(),
        )?;
        prev = Some(d);
    }
    stack.export("count", Output::new(cfg.count));
    Ok(())
}

fn slow_program(stack: &Stack, cfg: &BenchConfig) -> Result<(), mkso::Error> {
    let provider = mkso::testing::TestProvider::for_package("test")
        .latency(std::time::Duration::from_millis(cfg.latency_ms));
    stack.add_provider(None, std::sync::Arc::new(provider));
    let mut prev: Option<Slow> = None;
    for i in 0..cfg.count {
        let value: Input<serde_json::Value> = match (&prev, cfg.shape) {
            (Some(p), Shape::Chain) => p.value().map(move |v| json!({ "i": i, "prev": v["i"] })),
            _ => json!({ "i": i, "revision": cfg.revision }).into(),
        };
        let r = Slow::new(
            stack,
            &format!("slow-{i}"),
            SlowArgs::default().value(value),
            ResourceOptions::new(),
        )?;
        prev = Some(r);
    }
    stack.export("count", Output::new(cfg.count));
    Ok(())
}
