#!/bin/sh
# Makes sure tmux is installed: the terminal tests (crates/bbs-client/tests/
# terminal_tmux.rs) run the real client inside tmux and read its screen.
# Installs Debian's package when tmux is missing; refreshes the package
# lists only if the first attempt fails (a fresh machine has none).
set -eu

if command -v tmux >/dev/null 2>&1; then
    exit 0
fi

run() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-tmux: tmux is missing and installing it needs root" >&2
        exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get install -y tmux; then
    run apt-get update
    run apt-get install -y tmux
fi
command -v tmux >/dev/null 2>&1
