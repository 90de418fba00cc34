#!/bin/sh
# Fetches xterm.js and its fit add-on from the npm registry and copies the
# built files the web door serves into crates/bbs-server/assets/ (they are
# committed and embedded in bbsd, so neither building nor running needs
# the network). Run it to upgrade; pass versions to pin others.
set -eu

XTERM_VERSION="${1:-6.0.0}"
FIT_VERSION="${2:-0.11.0}"
ASSETS="$(cd "$(dirname "$0")/.." && pwd)/crates/bbs-server/assets"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

cd "$WORK"
npm pack --silent "@xterm/xterm@$XTERM_VERSION" "@xterm/addon-fit@$FIT_VERSION" >/dev/null
mkdir xterm fit
tar -xzf xterm-xterm-"$XTERM_VERSION".tgz -C xterm
tar -xzf xterm-addon-fit-"$FIT_VERSION".tgz -C fit
cp xterm/package/lib/xterm.js "$ASSETS/xterm.js"
cp xterm/package/css/xterm.css "$ASSETS/xterm.css"
cp xterm/package/LICENSE "$ASSETS/xterm.LICENSE"
cp fit/package/lib/addon-fit.js "$ASSETS/addon-fit.js"
echo "xterm.js $XTERM_VERSION and addon-fit $FIT_VERSION copied to $ASSETS"
