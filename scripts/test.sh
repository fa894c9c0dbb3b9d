#!/usr/bin/env bash
# The project's test command (the README's, and what CI runs): every test of
# every crate — unit, integration (one binary per crate), doc tests, and the
# end-to-end tests of the real stack binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
# Reuse a target directory outside the clone when there is one (builds of the
# cloud SDKs are slow); CARGO_TARGET_DIR, if set, wins.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mkso-target}"
mkdir -p "$CARGO_TARGET_DIR"
# Snapshots are reviewed, never accepted by a test run.
export INSTA_UPDATE=no
cargo test --workspace "$@"
