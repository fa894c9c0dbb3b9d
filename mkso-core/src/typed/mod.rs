//! Typed resource types and providers.
//!
//! A resource type is a plain Rust struct of its inputs with
//! `#[derive(mkso::Resource)]`, and a struct of its outputs with
//! `#[derive(mkso::ResourceOutputs)]`. Metadata lives on the fields:
//!
//! | attribute | meaning |
//! |---|---|
//! | `#[mkso(replace)]` | a change replaces the resource |
//! | `#[mkso(secret)]` | the value is always secret |
//! | `#[mkso(ignore_diff)]` | never diffed (set at create only) |
//! | `#[mkso(tags)]` | the resource's own tags: changed in place by [`ProviderState::update_tags`] |
//! | `#[serde(default)]` or `Option<T>` | optional input; every other field is required |
//!
//! and on output fields `#[mkso(computed)]` (an in-place update may change
//! it: a plan shows it as known after apply) and `#[mkso(secret)]`.
//!
//! On the inputs struct, `#[mkso(type = "pkg:module:Type", resource = Name,
//! outputs = NameOutputs)]` names the type token, the handle type to
//! generate and the outputs struct (`args = ..` and `planned = ..` rename
//! the generated `NameArgs` and `NamePlanned`). The derive generates:
//! - `Name`, the handle a program holds (`Name::new(&stack, "name", args,
//!   opts)`, `id()`, `urn()`, and one accessor per output);
//! - `NameArgs` and its builder: `NameArgs::builder()` then one setter per
//!   input; leaving out a required input does not compile, and an
//!   `Option<T>` input takes a `T`, an `Output<T>` or an `Output<Option<T>>`;
//! - `NamePlanned`, the inputs as a plan sees them (each a [`Planned`]);
//! - the [`TypedResource`] metadata the derived diff works from.
//!
//! The [`guide`] walks through a whole provider. A provider implements
//! [`CustomResource`] for each of its types and
//! registers them in a [`TypedProvider`]; it gets the per-property diff
//! ([`diff_properties`]), tags-only updates, adoption of an interrupted
//! create by identity and "already gone" deletes for free.
//!
//! # Example: a provider of local files
//!
//! The kind of provider a Pulumi user writes as a dynamic provider: a file
//! whose path forces a replacement and whose content changes in place.
//!
//! ```
//! use mkso::ProviderError;
//! use mkso::typed::{Change, Created, CustomResource, Ctx, Observed, ProviderState, TypedProvider};
//! use serde::{Deserialize, Serialize};
//!
//! /// A file on the local disk (`local:fs:File`).
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
//! #[mkso(type = "local:fs:File", resource = File, outputs = FileOutputs)]
//! pub struct FileInputs {
//!     /// Where the file lives.
//!     #[mkso(replace)]
//!     pub path: String,
//!     /// What it holds.
//!     pub content: String,
//!     /// Unix permission bits (default 0o644).
//!     pub mode: Option<u32>,
//! }
//!
//! /// What a file reports.
//! #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
//! #[mkso(resource = File)]
//! pub struct FileOutputs {
//!     /// The content's length in bytes.
//!     pub size: u64,
//! }
//!
//! /// The provider's state: nothing to hold for local files.
//! pub struct Local;
//! impl ProviderState for Local {}
//!
//! #[mkso::async_trait]
//! impl CustomResource<Local> for File {
//!     async fn create(_: &Ctx<'_, Local>, i: &FileInputs) -> Result<Created<FileOutputs>, ProviderError> {
//!         std::fs::write(&i.path, &i.content).map_err(|e| ProviderError::permanent(e.to_string()))?;
//!         Ok(Created { id: i.path.clone(), outputs: FileOutputs { size: i.content.len() as u64 } })
//!     }
//!     async fn read(_: &Ctx<'_, Local>, id: &str, recorded: Option<&FileInputs>)
//!         -> Result<Observed<FileInputs, FileOutputs>, ProviderError> {
//!         let content = std::fs::read_to_string(id)
//!             .map_err(|e| ProviderError::not_found(format!("{id}: {e}")))?;
//!         let size = content.len() as u64;
//!         let mode = recorded.and_then(|r| r.mode);
//!         Ok(Observed {
//!             id: id.to_string(),
//!             inputs: Some(FileInputs { path: id.to_string(), content, mode }),
//!             outputs: FileOutputs { size },
//!         })
//!     }
//!     async fn update(_: &Ctx<'_, Local>, c: Change<'_, FileInputs, FileOutputs>)
//!         -> Result<FileOutputs, ProviderError> {
//!         std::fs::write(c.id, &c.new.content).map_err(|e| ProviderError::retryable(e.to_string()))?;
//!         Ok(FileOutputs { size: c.new.content.len() as u64 })
//!     }
//!     async fn delete(_: &Ctx<'_, Local>, id: &str, _: &FileInputs, _: &FileOutputs) -> Result<(), ProviderError> {
//!         std::fs::remove_file(id).map_err(|e| ProviderError::not_found(e.to_string()))
//!     }
//! }
//!
//! // The provider a program registers (`Runner::new(program).provider(None, ..)`).
//! let provider = TypedProvider::builder("local", Local).resource::<File>().build();
//! assert_eq!(provider.types(), ["local:fs:File"]);
//!
//! // What a program writes: `path` and `content` are required, `mode` is not.
//! let args = FileArgs::builder().path("/tmp/hello.txt").content("hi").mode(0o600);
//! # let _: FileArgs = args.into();
//! ```
//!
//! Leaving out a required input is a compile error naming it (`Missing<path>`):
//!
//! ```compile_fail,E0277
//! # use serde::{Deserialize, Serialize};
//! # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
//! # #[mkso(type = "local:fs:File", resource = File, outputs = FileOutputs)]
//! # pub struct FileInputs { pub path: String, pub content: String }
//! # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
//! # #[mkso(resource = File)]
//! # pub struct FileOutputs { pub size: u64 }
//! let args: FileArgs = FileArgs::builder().content("hi").into();
//! ```
//!
//! and so is reading an output as the wrong type:
//!
//! ```compile_fail,E0308
//! # use serde::{Deserialize, Serialize};
//! # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::Resource)]
//! # #[mkso(type = "local:fs:File", resource = File, outputs = FileOutputs)]
//! # pub struct FileInputs { pub path: String }
//! # #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, mkso::ResourceOutputs)]
//! # #[mkso(resource = File)]
//! # pub struct FileOutputs { pub size: u64 }
//! fn size(f: &File) -> mkso::Output<String> {
//!     f.size()
//! }
//! ```

mod diff;
mod provider;
mod schema;

/// The guide "Writing a resource type and a provider" (`docs/writing-a-provider.md`),
/// doc-tested.
#[doc = include_str!("../../../docs/writing-a-provider.md")]
pub mod guide {}

pub use diff::{ChangeKind, PropertyChange, diff_properties, diff_response};
pub use provider::{
    Change, Created, Ctx, CustomResource, Observed, ProviderState, Tags, TypedProvider,
    TypedProviderBuilder, existing, update_tags_only,
};
pub(crate) use schema::placeholders;
pub use schema::{
    IntoOptionalInput, Missing, OutputsMeta, Placeholder, Planned, PlannedError, Property, Set,
    TypedResource, note_placeholders,
};
