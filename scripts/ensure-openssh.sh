#!/bin/sh
# Makes sure OpenSSH's client is installed: the SSH door test (crates/bbs-server/tests/
# door_openssh.rs) runs the system ssh and ssh-keygen against bbsd.
# Installs Debian's package when ssh or ssh-keygen is missing; refreshes the package
# lists only if the first attempt fails (a fresh machine has none).
set -eu

if command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1; then
    exit 0
fi

run() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-openssh: ssh is missing and installing it needs root" >&2
        exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get install -y openssh-client; then
    run apt-get update
    run apt-get install -y openssh-client
fi
command -v ssh >/dev/null 2>&1
