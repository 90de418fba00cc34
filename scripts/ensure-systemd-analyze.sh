#!/bin/sh
# Makes sure systemd-analyze is installed: crates/bbs-server/tests/service.rs
# checks contrib/bbsd.service with `systemd-analyze verify`.
# Installs Debian's package when systemd-analyze is missing; refreshes the package
# lists only if the first attempt fails (a fresh machine has none).
set -eu

if command -v systemd-analyze >/dev/null 2>&1; then
    exit 0
fi

run() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-systemd-analyze: systemd-analyze is missing and installing it needs root" >&2
        exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get install -y systemd; then
    run apt-get update
    run apt-get install -y systemd
fi
command -v systemd-analyze >/dev/null 2>&1
