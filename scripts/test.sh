#!/usr/bin/env bash
# The project's test command (the README's, and what CI runs): starts the local
# cloud emulators (installing them on first use), runs every test of every
# crate — unit, integration (one binary per crate), doc tests, end-to-end runs
# of the real stack binaries, provider tests against the emulators, and the
# stack project outside the workspace (scripts/first-project.sh) — and stops
# the emulators it started.
set -euo pipefail
cd "$(dirname "$0")/.."
# Reuse a target directory outside the clone when there is one (builds of the
# cloud SDKs are slow); CARGO_TARGET_DIR, if set, wins.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mkso-target}"
mkdir -p "$CARGO_TARGET_DIR"
# The end-to-end tests live outside their package (tests/e2e, built by
# `stacks`), so cargo records their absolute paths: from another clone sharing
# this target directory it would not see their changes. Forget that record
# when the clone changed (only the e2e binary is rebuilt).
marker="$CARGO_TARGET_DIR/.mkso-e2e-root"
if [ "$(cat "$marker" 2>/dev/null)" != "$PWD" ]; then
  rm -f "$CARGO_TARGET_DIR"/debug/.fingerprint/stacks-*/dep-test-integration-test-e2e
  echo "$PWD" > "$marker"
fi
# Snapshots are reviewed, never accepted by a test run.
export INSTA_UPDATE=no

# Tests talk to the emulators only: fake credentials, never real ones.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
unset AWS_PROFILE AWS_SESSION_TOKEN
# Debian's Chromium for the timeline page's browser test (installed when
# missing). Once it is there, the test must use it: it may not skip.
bash scripts/browser.sh
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
  export MKSO_REQUIRE_BROWSER=1
fi
# Every crate of the workspace; then, with no test filter given, the AWS
# provider's S3 type (its `s3` feature, off in the workspace build) and the
# project outside the workspace that the README's "Start a project of your
# own" makes.
if [ "$#" -eq 0 ]; then
  exec bash scripts/with-emulators.sh bash -c 'cargo test --workspace && cargo test -p mkso-providers-aws --features s3,iam,elbv2,rds,route53,autoscaling --test it -- storage iam elbv2 rds route53 autoscaling && bash scripts/first-project.sh'
fi
exec bash scripts/with-emulators.sh cargo test --workspace "$@"
