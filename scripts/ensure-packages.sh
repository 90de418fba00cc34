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

# Tests run in parallel, and two of them may need the same package at once:
# each would start apt-get, and the second would fail on dpkg's lock. One
# install at a time, then; a caller that waited finds the commands there.
lock="${TMPDIR:-/tmp}/bbs-ensure-packages.lock"
if [ -z "${BBS_PACKAGES_LOCKED:-}" ] && command -v flock >/dev/null 2>&1; then
    BBS_PACKAGES_LOCKED=1 exec flock "$lock" sh "$0" "$@"
fi

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
# Waits (up to 10 minutes) for an apt-get run outside this project too.
wait_for_lock="DPkg::Lock::Timeout=600"
if ! run apt-get -o "$wait_for_lock" install -y --no-install-recommends "$@"; then
    run apt-get -o "$wait_for_lock" update
    run apt-get -o "$wait_for_lock" install -y --no-install-recommends "$@"
fi
for command in $commands; do
    command -v "$command" >/dev/null 2>&1 || { echo "ensure-packages: still no $command" >&2; exit 1; }
done
