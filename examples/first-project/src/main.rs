//! The web shop's stack binary: `cargo run -- up --stack web.shop.QA`.

fn main() {
    mkso::Runner::new(web_shop::program)
        // The AWS provider, configured from the stack's `aws:` keys.
        .provider(None, mkso_providers_aws::AwsProvider::from_stack)
        // Mkso.yaml and the stack files live beside Cargo.toml.
        .project_dir(env!("CARGO_MANIFEST_DIR"))
        .main()
}
