//! `data_bench`: `bench:count` built-in Data resources, shaped by `bench:shape`
//! (`independent`: no edges; `chain`: each takes the previous one's output).
//!
//! ```text
//! cargo run -p stacks --bin data_bench -- up --stack bench.data.Dev --yes
//! ```

fn main() {
    mkso::Runner::new(stacks::data_bench::program)
        .project_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/data_bench"))
        .main()
}
