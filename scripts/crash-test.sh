#!/usr/bin/env bash
# Crash test (issue 5): builds bbsd and the checker in release, then kills
# bbsd with SIGKILL at random moments under concurrent write load (20 times
# by default) and checks after each kill that every acknowledged post is in
# the database and that PRAGMA integrity_check passes. Needs only cargo: the
# checker reads the database with rusqlite (bundled SQLite).
#
#   scripts/crash-test.sh                 # 20 kills, 8 writers
#   scripts/crash-test.sh --rounds 50 --writers 16 --seed 7
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p bbs-server -p bbs-crashtest
exec target/release/bbs-crashtest --bbsd target/release/bbsd "$@"
