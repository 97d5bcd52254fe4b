#!/bin/sh
# Installs the Debian packages loa needs, and nothing when they are all present.
set -eu
PKGS="build-essential pkg-config clang libclang-rt-14-dev
libuv1-dev libpq-dev libcurl4-openssl-dev libcjson-dev libmicrohttpd-dev libinih-dev
libcmocka-dev libutf8proc-dev libcsv-dev libxlsxwriter-dev libssl-dev
postgresql kannel kannel-extras python3 python3-pytest python3-pytest-xdist wrk curl systemd logrotate
chromium"
# The dashboard's browser test (tests/browser): playwright-core from npm, at the version of its
# package-lock.json; it drives Debian's chromium and downloads no browser of its own.
browser_deps() {
  [ -d tests/browser/node_modules/playwright-core ] && return 0
  echo "deps: npm ci in tests/browser (playwright-core)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --silent)
}
cd "$(dirname "$0")/.."
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
# Node may come from elsewhere than Debian (with its own npm): ask for the commands, not the packages.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -z "$missing" ]; then
  browser_deps
  exit 0
fi
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
    echo "deps: these Debian packages are missing and I am not root:$missing" >&2; exit 1; fi
else SUDO=""; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
# The kannel package may start its own bearerbox; tests start their own on free ports.
$SUDO sh -c 'command -v service >/dev/null && service kannel stop' >/dev/null 2>&1 || true
browser_deps
