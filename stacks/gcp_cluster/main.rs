//! `gcp_cluster`: network → firewall → instances on Compute Engine (or gcplocal).
//!
//! ```text
//! MKSO_CONFIG__GCP__ENDPOINT=http://127.0.0.1:PORT MKSO_CONFIG__GCP__CREDENTIALS=anonymous \
//!   cargo run -p stacks --bin gcp_cluster -- up --stack gcp.cluster.QA
//! ```

fn main() {
    mkso::Runner::new(stacks::gcp_cluster::program)
        .provider(None, mkso_providers_gcp::GcpProvider::from_stack)
        .project_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/gcp_cluster"))
        .main()
}
