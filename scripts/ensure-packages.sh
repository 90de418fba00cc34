#!/bin/sh
# Installs Debian packages when a command a test needs is missing, so the
# README's one test command passes on a fresh machine too.
#
#   ensure-packages.sh COMMAND... -- PACKAGE...
#
# Does nothing when every COMMAND is on the PATH (a COMMAND may also be a
# path, or a path pattern such as /usr/lib/postgresql/*/bin/initdb). Otherwise installs the
# PACKAGEs with apt-get (as root, or through sudo), refreshing the package
# lists only if the first attempt fails (a fresh machine has none).
set -eu

commands=""
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    commands="$commands $1"
    shift
done
[ "${1:-}" = "--" ] && shift
if [ -z "$commands" ] || [ $# -eq 0 ]; then
    echo "usage: ensure-packages.sh COMMAND... -- PACKAGE..." >&2
    exit 2
fi

# Unquoted on purpose: a path pattern expands to what exists.
missing=""
for command in $commands; do
    command -v "$command" >/dev/null 2>&1 || missing="$missing $command"
done
[ -z "$missing" ] && exit 0

run() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-packages:$missing missing, and installing $* needs root" >&2
        exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get install -y --no-install-recommends "$@"; then
    run apt-get update
    run apt-get install -y --no-install-recommends "$@"
fi
for command in $commands; do
    command -v "$command" >/dev/null 2>&1 || { echo "ensure-packages: still no $command" >&2; exit 1; }
done
