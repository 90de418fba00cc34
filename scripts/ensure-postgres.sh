#!/bin/sh
# Makes sure PostgreSQL's server programs are installed: the PostgreSQL
# storage tests (crates/bbs-storage-postgres) start a throwaway server with
# initdb and postgres from /usr/lib/postgresql/<version>/bin. Installs
# Debian's package when none is there; refreshes the package lists only if
# the first attempt fails (a fresh machine has none). The package's own
# cluster is not needed: the tests make their own.
set -eu

if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    exit 0
fi

run() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        echo "ensure-postgres: PostgreSQL is missing and installing it needs root" >&2
        exit 1
    fi
}

export DEBIAN_FRONTEND=noninteractive
if ! run apt-get install -y postgresql; then
    run apt-get update
    run apt-get install -y postgresql
fi
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1
