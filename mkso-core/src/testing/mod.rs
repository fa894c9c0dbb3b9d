//! Unit-testing infrastructure programs with no cloud.
//!
//! [`preview`] runs a program (the same function a stack binary runs) against
//! an in-memory [`TestProvider`] that accepts every resource type, and returns
//! the [`RecordedGraph`]: resources sorted by URN with their type, name,
//! parent, inputs, options, direct dependencies and outputs, plus the stack
//! outputs, in a stable form for `insta` snapshots. `.up()` runs a simulated
//! update instead, so outputs are those the provider returned.
//!
//! ```
//! use mkso::prelude::*;
//! use mkso::builtin::{Data, DataArgs};
//!
//! fn program(stack: &Stack) -> Result<(), mkso::Error> {
//!     let a = Data::new(stack, "a", DataArgs::default().value(serde_json::json!(1)), ResourceOptions::new())?;
//!     stack.export("a", a.value());
//!     Ok(())
//! }
//! let graph = mkso::testing::preview(program).stack("demo.Dev").up().unwrap();
//! assert_eq!(graph.outputs["a"], serde_json::json!(1));
//! assert_eq!(graph.resources_of_type("mkso:builtin:Data").len(), 1);
//! ```
//!
//! # No real cloud unless a test asks for it
//!
//! In a kit run ([`preview`] and [`StackHarness`]) a program only ever
//! reaches the providers the test gave: a provider the program adds itself
//! with [`Stack::add_provider`](crate::stack::Stack::add_provider) (`stack.add_provider(None,
//! AwsProvider::from_stack(stack)?)`) is replaced by the kit's in-memory
//! provider, unless it is in-memory itself (a [`TestProvider`], the built-in
//! provider) or the test opted in to that package's real provider by name
//! with `.real_provider("aws")`. A [`StackHarness`] that has no provider of
//! its own for such a resource refuses to run, naming the resource and both
//! ways out. Providers a test gives explicitly (`ProgramTest::with_provider`,
//! `StackHarness::provider`) are used as given.
//!
//! # Ids and URNs
//!
//! The [`TestProvider`] gives a created resource the id `<name>-id`, where
//! `<name>` is its nested name with each `/` as `-` (`network/subnet-0` →
//! `network-subnet-0-id`). URNs carry the project named by
//! `ProgramTest::project`, else the `name:` of the `Mkso.yaml` beside the file
//! given to `ProgramTest::config_file`, else `test`.

mod graph;
mod harness;
mod program;
mod provider;

use std::collections::BTreeSet;
use std::sync::Arc;

pub use graph::{RecordedGraph, RecordedResource};
pub use harness::{ProgramRef, StackHarness, stored_text};
pub use program::{ProgramTest, preview};
pub use provider::{Call, TestProvider};

use crate::error::Error;
use crate::names::Urn;
use crate::output::{Output, OutputValue, ResolvedResource, Resolver};
use crate::provider::{Provider, ProviderRef, ProviderRegistry, package_of};
use crate::stack::{ProgramGraph, ResourceKind};
use crate::state::StateView;

/// Evaluates an output with nothing known about any resource: `Ok(None)` when
/// it depends on a resource.
pub fn resolve<T: OutputValue>(o: &Output<T>) -> Result<Option<T>, crate::output::OutputError> {
    struct Nothing;
    impl Resolver for Nothing {
        fn resource(&self, _: &Urn) -> Option<ResolvedResource> {
            None
        }
    }
    futures::executor::block_on(o.resolve(Arc::new(Nothing))).map(|r| r.value)
}

/// The providers of a kit run, once the program has run: the built-in
/// provider and those the test gave (`given`, in order), plus, for each
/// resource declared (or recorded in `state`), the provider the program itself
/// added for it when that one is in-memory or of a package in `real`. Any
/// other provider the program added is dropped, so that its resources go to
/// the test's providers; a resource left with none is an error saying so.
pub(crate) fn kit_providers(
    given: &[(Option<String>, Arc<dyn Provider>)],
    graph: &ProgramGraph,
    state: Option<&StateView>,
    real: &BTreeSet<String>,
) -> Result<ProviderRegistry, Error> {
    let mut out = ProviderRegistry::default();
    out.add(None, Arc::new(crate::builtin::BuiltinProvider::new()));
    for (name, p) in given {
        out.add(name.as_deref(), p.clone());
    }
    let base = out.clone();
    let mut refs: Vec<(ProviderRef, String, String)> = graph
        .resources
        .iter()
        .filter(|d| d.kind == ResourceKind::Custom)
        .map(|d| {
            let r = ProviderRef {
                package: package_of(&d.type_token).to_string(),
                name: d.options.provider.clone(),
            };
            (r, d.name.clone(), d.type_token.clone())
        })
        .collect();
    if let Some(view) = state {
        let recorded = view
            .live
            .values()
            .chain(view.pending_deletes.values())
            .filter_map(|r| Some((r.provider.clone()?, &r.urn, &r.type_token)))
            .chain(
                view.pending
                    .values()
                    .filter_map(|o| Some((o.provider.clone()?, &o.urn, &o.type_token))),
            );
        refs.extend(recorded.map(|(r, u, t)| (r, u.name().to_string(), t.clone())));
    }
    let mut seen = BTreeSet::new();
    for (r, name, type_token) in refs {
        if !seen.insert(r.clone()) {
            continue;
        }
        let Some(p) = graph.providers.get(&r) else {
            if real.contains(&r.package) {
                // Opted in to a real provider the program never added (it is
                // registered on the `Runner`, which tests do not run): say so
                // rather than quietly serving the type from memory.
                return Err(Error::Program(format!(
                    "`{name}` ({type_token}): the test asks for the real `{}` provider with                      `.real_provider(..)`, but the program adds none (providers registered on                      the `Runner` are not part of a test run); give one with                      `.with_provider(..)` / `.provider(..)`",
                    r.package
                )));
            }
            continue;
        };
        if base.get(&r).is_some_and(|b| Arc::ptr_eq(&b, &p)) {
            continue;
        }
        if real.contains(&r.package) || provider::is_in_memory(&*p) {
            out.add(r.name.as_deref(), p);
        } else if out.get(&r).is_none() {
            return Err(Error::Program(format!(
                "`{name}` ({type_token}) would use the provider {r} that the program added itself, \
                 which may reach a real cloud: a test harness uses only the providers the test \
                 gives it; give it one (e.g. `.provider(None, Arc::new(TestProvider::new()))`), \
                 or opt in to the program's own with `.real_provider(\"{}\")`",
                r.package
            )));
        }
    }
    Ok(out)
}
