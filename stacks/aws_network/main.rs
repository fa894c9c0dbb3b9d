//! `aws_network`: a VPC network on AWS (or on the moto emulator).
//!
//! ```text
//! cargo run -p stacks --bin aws_network -- up --stack aws.network.QA
//! ```

fn main() {
    mkso::Runner::new(stacks::aws_network::program)
        .provider(None, mkso_providers_aws::AwsProvider::from_stack)
        .project_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/aws_network"))
        .main()
}
