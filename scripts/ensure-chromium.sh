#!/bin/sh
# Makes sure Chromium is installed: the browser test of the web door (crates/bbs-server/tests/
# door_browser.rs) drives headless Chromium over the DevTools protocol.
# Installs Debian's package when chromium is missing; refreshes the package
# lists only if the first attempt fails (a fresh machine has none).
set -eu

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi

run() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-chromium: chromium is missing and installing it needs root" >&2
        exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get install -y --no-install-recommends chromium fonts-dejavu-core; then
    run apt-get update
    run apt-get install -y --no-install-recommends chromium fonts-dejavu-core
fi
command -v chromium >/dev/null 2>&1
