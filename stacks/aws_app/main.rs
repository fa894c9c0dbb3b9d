//! `aws_app`: an application environment on the `aws_network` stack of the
//! same environment (read through a stack reference).
//!
//! ```text
//! export MKSO_PASSPHRASE=...        # the stack's secrets passphrase
//! cargo run -p stacks --bin aws_app -- config set --secret app:db_password --stack aws.app.QA < password.txt
//! cargo run -p stacks --bin aws_app -- up --stack aws.app.QA
//! ```

fn main() {
    mkso::Runner::new(stacks::aws_app::program)
        .provider(None, mkso_providers_aws::AwsProvider::from_stack)
        .project_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/aws_app"))
        .main()
}
