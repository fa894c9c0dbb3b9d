#!/usr/bin/env bash
# The quick start's main job: start the local EC2 emulator (moto) and `up` the
# aws_network QA stack against it, then print the stack's outputs.
# State goes to the local backend under .emulators/state (it describes
# resources of this emulator instance; `scripts/emulators.sh stop` removes it).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mkso-target}"
bash scripts/emulators.sh start
set -a
# shellcheck disable=SC1090
. "$(bash scripts/emulators.sh env)"
set +a
export AWS_ENDPOINT_URL="$MKSO_MOTO_ENDPOINT"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
export MKSO_BACKEND_URL="file://$PWD/.emulators/state"
cargo build -q -p stacks --bin aws_network
"$CARGO_TARGET_DIR/debug/aws_network" up --stack aws.network.QA --yes </dev/null
echo
echo "Outputs of aws.network.QA:"
"$CARGO_TARGET_DIR/debug/aws_network" outputs --stack aws.network.QA
echo
echo "The emulator keeps running (scripts/emulators.sh status|stop)."
