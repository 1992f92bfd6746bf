#!/usr/bin/env bash
# Debian packages the tests use, installed when missing (as root, where apt-get exists):
#   fonts-wqy-microhei  a CJK font, so Chinese labels and watermarks render (checker/generate/watermark.py)
#   redis-server        the broker of the Celery path of the async tasks (tests start their own on loopback)
#   chromium            the browser tests/test_page.py drives with Playwright
#   buildah             builds the container image (Containerfile; `make image`, tests/test_image.py) and
#                       runs the server in it with --isolation chroot (podman's runtime needs cgroups)
#   debootstrap         makes the image's local Debian base (no registry of images is reachable here)
# With arguments, only those of these packages are looked at (`make image`: buildah debootstrap).
# Elsewhere it says what is missing; the tests that need it are then skipped (and fail under CI=true).
set -uo pipefail

ONLY="$*"
missing=()
want() { # want PACKAGE TEST...: PACKAGE is missing when TEST fails
  local package=$1
  shift
  if [ -z "$ONLY" ] || [[ " $ONLY " == *" $package "* ]]; then
    "$@" >/dev/null 2>&1 || missing+=("$package")
  fi
}
want fonts-wqy-microhei ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc
want redis-server command -v redis-server
want chromium command -v chromium
want buildah command -v buildah
want debootstrap test -x /usr/sbin/debootstrap
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
