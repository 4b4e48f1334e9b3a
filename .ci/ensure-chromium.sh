#!/usr/bin/env bash
# The web chat's browser test drives Debian's chromium (never a downloaded browser).
set -uo pipefail
command -v chromium >/dev/null && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing chromium (apt) for the browser test" >&2
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >&2 || echo "chromium install failed: the browser test will skip" >&2
else
  echo "chromium not installed: the browser test will skip (apt-get install chromium)" >&2
fi
exit 0
