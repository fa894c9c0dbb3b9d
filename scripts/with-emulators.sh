#!/usr/bin/env bash
# Runs a command with the local cloud emulators up: starts them if they are not
# running (installing them on first use), exports their endpoints
# (MKSO_MOTO_ENDPOINT, MKSO_GCP_ENDPOINT), runs the command, and stops the
# emulators again if it started them.
#   bash scripts/with-emulators.sh COMMAND [ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
started=0
if ! bash scripts/emulators.sh status >/dev/null 2>&1; then
  bash scripts/emulators.sh start
  started=1
fi
if [ "$started" = 1 ]; then
  trap 'bash scripts/emulators.sh stop >/dev/null' EXIT
fi
set -a
# shellcheck disable=SC1090
. "$(bash scripts/emulators.sh env)"
# The emulators accept any credentials; the SDKs need some to sign with.
: "${AWS_ACCESS_KEY_ID:=testing}" "${AWS_SECRET_ACCESS_KEY:=testing}" "${AWS_REGION:=us-east-1}"
set +a
"$@"
