#!/bin/sh
# PostgreSQL's server programs for the PostgreSQL storage tests
# (crates/bbs-storage-postgres), which start a throwaway server with initdb
# and postgres from /usr/lib/postgresql/<version>/bin (not on the PATH). The
# package's own cluster is not needed: the tests make their own.
exec sh "$(dirname "$0")/ensure-packages.sh" '/usr/lib/postgresql/*/bin/initdb' -- postgresql
