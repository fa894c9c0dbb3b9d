#!/usr/bin/env bash
# Builds and tests examples/first-project — a stack project outside this
# workspace, made as the README's "Start a project of your own" says — and runs
# its full cycle against the EC2 emulator: up, preview --expect-no-changes,
# outputs, destroy. Needs the emulators' endpoints (run it through
# scripts/with-emulators.sh, as scripts/test.sh does).
set -euo pipefail
cd "$(dirname "$0")/../examples/first-project"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mkso-target}"
: "${MKSO_MOTO_ENDPOINT:?run through scripts/with-emulators.sh}"
echo "== examples/first-project: cargo fmt --check, cargo test (outside the workspace)"
cargo fmt --check
cargo test --locked
cargo build --locked -q
state="$(mktemp -d)"
trap 'rm -rf "$state"' EXIT
export AWS_ENDPOINT_URL="$MKSO_MOTO_ENDPOINT" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing
export MKSO_BACKEND_URL="file://$state"
unset MKSO_PROJECT_DIR MKSO_STACK
# The committed stack (a fresh backend each run; resources left by a failed run
# carry its mkso:urn tags and are adopted, not duplicated).
stack="web.shop.QA"
bin="$CARGO_TARGET_DIR/debug/web-shop"
echo "== examples/first-project: up / preview / outputs / destroy against moto"
"$bin" up --stack "$stack" --yes </dev/null
"$bin" preview --stack "$stack" --expect-no-changes </dev/null
"$bin" outputs --stack "$stack" </dev/null
"$bin" destroy --stack "$stack" --yes </dev/null
