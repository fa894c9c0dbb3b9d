#!/usr/bin/env bash
# Builds data_bench in release and prints the engine benchmark table
# (see docs/benchmarks.md), then `up` on the S3 backend against moto (bytes and
# requests sent), and 1 000 EC2 creates through the fault proxy's EC2-shaped
# token buckets. `--quick` skips the 100 000-resource cases and refills the
# buckets 4 times as fast; `--throttled-only` runs the throttled case alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mkso-target}"
# No cloud SDK but the S3 backend's (the S3 cases below use it).
cargo build --release -q -p stacks --no-default-features --bin data_bench
# The throttled case is bound by the token buckets, not by the build: debug
# binaries (the ones the tests build) serve it.
cargo build -q -p stacks --bin ec2_bench
cargo build -q -p mkso-fault-proxy --bin mkso-fault-proxy
export MKSO_EC2_BENCH="$CARGO_TARGET_DIR/debug/ec2_bench" MKSO_FAULT_PROXY="$CARGO_TARGET_DIR/debug/mkso-fault-proxy"
# The S3 cases run against moto (started here if it is not running).
exec bash scripts/with-emulators.sh python3 scripts/bench.py "$CARGO_TARGET_DIR/release/data_bench" "$@"
