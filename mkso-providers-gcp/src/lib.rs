//! GCP Compute Engine resources for mkso, on `google-cloud-compute-v1`.
//!
//! Resources: [`Network`], [`Subnetwork`], [`Firewall`], [`Instance`],
//! [`Disk`], each a typed resource type (`#[derive(mkso::Resource)]`: its
//! required inputs are checked when the program compiles, e.g.
//! `SubnetworkArgs::builder().network(..).ip_cidr_range(..)`) implemented as
//! a [`CustomResource`](mkso::typed::CustomResource) of [`GcpState`].
//! Long-running operations are awaited with the crate's poller; errors are
//! classified from the answer's status (see [`error`]).
//!
//! A resource's GCP name is known before it is created: the `name` argument,
//! or the mkso name sanitised plus a stable suffix derived from the stack and
//! URN (never random). Its `description` records the URN, so an interrupted
//! create is found again by name and adopted; a name taken by something mkso
//! does not own is a clear error, never adopted. Instances and disks are
//! labelled with the stack and environment.
//!
//! Provider configuration (namespace `gcp`): `gcp:project`, `gcp:region`,
//! `gcp:zone`, optional `gcp:endpoint` (an emulator) and `gcp:credentials`
//! (`anonymous` for emulators; default: Application Default Credentials).
//!
//! Register the provider in the stack binary's `main`, on the `Runner`
//! (`mkso::Runner::new(program).provider(None, GcpProvider::from_stack)`), so
//! that the program only declares resources. Unit tests never reach GCP:
//! `mkso::testing::preview(program)` serves every `gcp:*` type from memory,
//! and replaces a provider the program adds itself by the in-memory one
//! unless the test asks for it with `.real_provider("gcp")`.

pub mod error;
mod provider;
mod resources;

pub use provider::{GcpConfig, GcpProvider, GcpState};
pub use resources::*;
