//! GCP provider tests.
