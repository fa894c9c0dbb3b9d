//! Reusable mkso components.
//!
//! Not implemented yet: the AWS VPC network and GCP cluster components arrive with
//! the provider issues. See `examples/` for a component built on the built-in resources.
