#!/usr/bin/env bash
# Makes sure Debian's Chromium is installed (for the timeline page's browser
# test): installs the `chromium` package when it is missing and this user can
# (root, or sudo without a password). Never fails: when it cannot install, it
# says why, and the test prints that it skipped the browser check. After a
# failed install it does not try again for a day (no `apt-get update` and its
# network timeouts on every test run).
set -uo pipefail
failed_marker=${CARGO_TARGET_DIR:-$HOME/.cache/mkso-target}/.mkso-browser-install-failed
if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "browser.sh: no apt-get here; the timeline's browser check will be skipped" >&2
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "browser.sh: not root and no password-less sudo; the timeline's browser check will be skipped" >&2
    exit 0
  fi
fi
if [ -n "$(find "$failed_marker" -mmin -1440 2>/dev/null)" ]; then
  echo "browser.sh: installing chromium failed less than a day ago ($failed_marker); the timeline's browser check will be skipped" >&2
  exit 0
fi
echo "browser.sh: installing Debian's chromium (for the timeline page's browser test)" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends chromium; } >/dev/null 2>&1; then
  echo "browser.sh: installing chromium failed; the timeline's browser check will be skipped" >&2
  mkdir -p "$(dirname "$failed_marker")" && touch "$failed_marker"
fi
exit 0
