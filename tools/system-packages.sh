#!/usr/bin/env bash
# Debian packages the tests use, installed when missing (as root, where apt-get exists):
#   fonts-wqy-microhei  a CJK font, so Chinese labels and watermarks render (checker/generate/watermark.py)
#   redis-server        the broker of the Celery path of the async tasks (tests start their own on loopback)
#   chromium            the browser tests/test_page.py drives with Playwright
# Elsewhere it says what is missing; the tests that need it are then skipped (and fail under CI=true).
set -uo pipefail

missing=()
ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc >/dev/null 2>&1 || missing+=(fonts-wqy-microhei)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v chromium >/dev/null || missing+=(chromium)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
  echo "installing ${missing[*]} (Debian packages the tests use)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; } \
    || echo "warning: could not install ${missing[*]}" >&2
else
  echo "note: ${missing[*]} not installed (needs root and apt-get); the tests that use them will be skipped" >&2
fi
exit 0
