#!/usr/bin/env bash
# Builds data_bench in release and prints the engine benchmark table
# (see docs/benchmarks.md), then `up` on the S3 backend against moto (bytes and
# requests sent). `--quick` skips the 100 000-resource cases.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mkso-target}"
cargo build --release -q -p stacks --bin data_bench
# The S3 cases run against moto (started here if it is not running).
exec bash scripts/with-emulators.sh python3 scripts/bench.py "$CARGO_TARGET_DIR/release/data_bench" "$@"
