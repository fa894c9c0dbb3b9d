//! GCP provider for mkso (Compute Engine resources on `google-cloud-compute-v1`).
//!
//! Not implemented yet: this crate reserves its place in the workspace layout.
//! The resources (`gcp:compute:Network`, `Firewall`, ...) arrive with the GCP provider issue.
