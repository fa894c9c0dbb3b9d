//! `ec2_bench`: one VPC and `bench:count` subnets in it (default 1 000), all
//! independent of each other: the throttled-API benchmark of
//! `scripts/bench.sh` runs it against moto behind the fault proxy's
//! EC2-shaped token buckets.
//!
//! ```text
//! cargo run -p stacks --bin ec2_bench -- up --stack bench.ec2.Dev --yes
//! ```

fn main() {
    mkso::Runner::new(stacks::ec2_bench::program)
        .provider(None, mkso_providers_aws::AwsProvider::from_stack)
        .project_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/ec2_bench"))
        .main()
}
