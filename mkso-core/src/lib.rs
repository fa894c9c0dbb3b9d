//! # mkso — "make it so"
//!
//! Infrastructure as code as an embeddable Rust SDK. A program declares typed
//! resources and components on a [`Stack`]; [`Output`]s carry values known only
//! after creation and turn references into dependencies; the engine diffs the
//! declared graph against the recorded state and reconciles it in parallel
//! along the graph, journaling every step; the [`Runner`] gives every stack
//! program the same command line (`preview`, `up`, `destroy`, `refresh`, ...).
//!
//! ```no_run
//! use mkso::prelude::*;
//! use mkso::builtin::{Data, DataArgs};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let greeting = Data::new(
//!         stack,
//!         "greeting",
//!         DataArgs::default().value(serde_json::json!({"hello": stack.environment()})),
//!         ResourceOptions::new(),
//!     )?;
//!     stack.export("greeting", greeting.value());
//!     Ok(())
//! }
//!
//! fn main() {
//!     Runner::new(program).main()
//! }
//! ```
//!
//! Modules: [`output`], [`resource`], [`options`], [`stack`], [`config`],
//! [`provider`], [`builtin`], [`engine`], [`state`], [`cli`], [`testing`],
//! [`rolling`].

// Lets `resource!` name `::mkso::serde` inside this crate too.
extern crate self as mkso;

pub mod builtin;
pub mod cli;
pub mod config;
pub mod engine;
pub mod error;
pub mod names;
pub mod options;
pub mod output;
pub mod provider;
pub mod reference;
pub mod resource;
pub mod rolling;
pub mod secrets;
pub mod stack;
pub mod state;
pub mod testing;
pub mod typed;

pub use cli::Runner;
pub use config::{Project, StackConfig};
pub use engine::{EngineEvent, EngineOptions, Op, Plan, Session};
pub use error::Error;
/// Makes a struct of `Output` fields registrable as a component's outputs
/// ([`ComponentResource::register_outputs`]`(&self)`); other fields (the
/// component handle, plain values) are left out.
pub use mkso_derive::ComponentOutputs;
/// Derives a resource type from its inputs struct; see [`typed`].
pub use mkso_derive::Resource;
/// Gives a resource handle its output accessors; see [`typed`].
pub use mkso_derive::ResourceOutputs;
pub use names::{StackName, Urn};
pub use options::{CustomTimeouts, ResourceOptions, ResourceRef, Tenacity};
pub use output::{Input, Output, OutputValue};
pub use provider::{ErrorClass, Provider, ProviderError};
pub use reference::StackReference;
pub use resource::{Registered, Resource, ResourceArgs};
pub use rolling::{ReadinessCheck, RollingGroup, RollingPolicy};
pub use secrets::Secret;
pub use stack::{ComponentResource, IntoComponentOutputs, Stack};

/// The attribute for implementing [`Provider`] (its verbs are `async fn`s):
/// `#[mkso::async_trait] impl mkso::Provider for MyProvider { .. }`.
pub use async_trait::async_trait;
#[doc(hidden)]
pub use serde;
#[doc(hidden)]
pub use serde_json;

/// The names most programs need.
pub mod prelude {
    pub use crate::Error as MksoError;
    pub use crate::cli::Runner;
    pub use crate::options::{CustomTimeouts, ResourceOptions, ResourceRef, Tenacity};
    pub use crate::output::{Input, Output};
    pub use crate::resource::Resource;
    pub use crate::stack::{ComponentResource, Stack};
}
