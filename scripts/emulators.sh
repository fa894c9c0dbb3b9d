#!/usr/bin/env bash
# Local cloud emulators for tests and the quick start: moto (EC2, S3) and
# gcplocal (Compute Engine), from PyPI, pinned, in a venv created on first use.
#
#   scripts/emulators.sh start    install if needed, start both on free ports of
#                                 127.0.0.1, wait until healthy, write the env file
#   scripts/emulators.sh stop     stop them (by PID) and remove the env file
#   scripts/emulators.sh status   say what runs where (exit 1 if not running)
#   scripts/emulators.sh env      print the env file's path
#
# The env file (default .emulators/emulators.env) holds MKSO_MOTO_ENDPOINT,
# MKSO_GCP_ENDPOINT and the PIDs; `set -a; . FILE; set +a` exports them.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DIR=${MKSO_EMULATORS_DIR:-$ROOT/.emulators}
VENV=${MKSO_EMULATORS_VENV:-$HOME/.cache/mkso-emulators/venv}
ENV_FILE=$DIR/emulators.env
MOTO_VERSION=5.2.5
GCPLOCAL_VERSION=0.1.0

ensure_venv() {
  if [ -x "$VENV/bin/moto_server" ] && [ -x "$VENV/bin/gcplocal" ] \
    && "$VENV/bin/python" -c "import importlib.metadata as m; assert m.version('moto') == '$MOTO_VERSION' and m.version('gcplocal') == '$GCPLOCAL_VERSION'" 2>/dev/null; then
    return
  fi
  echo "emulators: installing moto[server]==$MOTO_VERSION and gcplocal==$GCPLOCAL_VERSION into $VENV" >&2
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION" "gcplocal==$GCPLOCAL_VERSION" >&2
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

wait_http() { # url seconds
  python3 - "$1" "$2" <<'PY'
import sys, time, urllib.request
url, limit = sys.argv[1], float(sys.argv[2])
deadline = time.time() + limit
while True:
    try:
        urllib.request.urlopen(url, timeout=1).read()
        sys.exit(0)
    except Exception as e:
        if time.time() > deadline:
            print(f"emulators: {url} did not answer within {limit}s: {e}", file=sys.stderr)
            sys.exit(1)
        time.sleep(0.1)
PY
}

alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

status() {
  [ -f "$ENV_FILE" ] || { echo "emulators: not running (no $ENV_FILE)"; return 1; }
  # shellcheck disable=SC1090
  . "$ENV_FILE"
  if alive "${MKSO_MOTO_PID:-}" && alive "${MKSO_GCPLOCAL_PID:-}"; then
    echo "emulators: moto at $MKSO_MOTO_ENDPOINT (pid $MKSO_MOTO_PID), gcplocal at $MKSO_GCP_ENDPOINT (pid $MKSO_GCPLOCAL_PID)"
    return 0
  fi
  echo "emulators: stale env file $ENV_FILE (processes gone)"
  return 1
}

stop() {
  if [ -f "$ENV_FILE" ]; then
    # shellcheck disable=SC1090
    . "$ENV_FILE"
    for pid in "${MKSO_MOTO_PID:-}" "${MKSO_GCPLOCAL_PID:-}"; do
      if alive "$pid"; then kill "$pid" 2>/dev/null || true; fi
    done
    rm -f "$ENV_FILE"
  fi
  # State kept by the quick start describes this emulator instance's resources.
  rm -rf "$DIR/state"
  echo "emulators: stopped"
}

start() {
  if status >/dev/null 2>&1; then status; return 0; fi
  stop >/dev/null
  ensure_venv
  mkdir -p "$DIR"
  local moto_port gcp_port
  moto_port=$(free_port)
  # EC2 refuses instance types it does not have, as the real one does (the
  # rollback test updates to one); the launcher mends where moto differs
  # from EC2 (see scripts/moto_launcher.py).
  MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true \
    setsid "$VENV/bin/python" "$ROOT/scripts/moto_launcher.py" -H 127.0.0.1 -p "$moto_port" >"$DIR/moto.log" 2>&1 < /dev/null &
  local moto_pid=$!
  gcp_port=$(free_port)
  setsid "$VENV/bin/python" "$ROOT/scripts/gcplocal_launcher.py" start --host 127.0.0.1 --port "$gcp_port" >"$DIR/gcplocal.log" 2>&1 < /dev/null &
  local gcp_pid=$!
  if ! wait_http "http://127.0.0.1:$moto_port/moto-api/" 30; then
    kill "$moto_pid" "$gcp_pid" 2>/dev/null || true; tail -20 "$DIR/moto.log" >&2; exit 1
  fi
  if ! wait_http "http://127.0.0.1:$gcp_port/health" 30; then
    kill "$moto_pid" "$gcp_pid" 2>/dev/null || true; tail -20 "$DIR/gcplocal.log" >&2; exit 1
  fi
  cat >"$ENV_FILE" <<ENV
MKSO_MOTO_ENDPOINT=http://127.0.0.1:$moto_port
MKSO_MOTO_PID=$moto_pid
MKSO_GCP_ENDPOINT=http://127.0.0.1:$gcp_port
MKSO_GCPLOCAL_PID=$gcp_pid
ENV
  status
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "$ENV_FILE" ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
