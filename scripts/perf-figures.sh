#!/usr/bin/env bash
# Produces every figure of docs/PERFORMANCE.md: each benchmark three times,
# release build, loopback only, every run bounded. Output: one file per run
# in $OUT (default perf-results/), to take the medians from.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-perf-results}
DATA=${DATA:-$(mktemp -d -p . perf-data.XXXX)}
RUNS=${RUNS:-3}
mkdir -p "$OUT"
cargo build --release -p bbs-server -p bbs-bench
B=target/release/bbs-bench

# Seeded databases (users with cheap hashes; see PERFORMANCE.md).
$B seed --db "$DATA/small.db" --users 1000 --cheap-hashes --bulk-boards 0 --bulk-posts 0
$B seed --db "$DATA/big.db" --users 1000 --cheap-hashes --bulk-boards 1000 --bulk-posts 1000000
$B seed --db "$DATA/idle.db" --users 1000 --cheap-hashes --bulk-boards 0 --bulk-posts 0

fresh() { rm -f "$DATA/run.db"*; cp "$DATA/$1.db" "$DATA/run.db"; }

for run in $(seq 1 "$RUNS"); do
  $B mix --canned --duration 10 --warmup 2 | tee "$OUT/mix-$run.txt"
  for size in small big; do
    fresh $size
    $B mix --db "$DATA/run.db" --seeded --users 1000 --posts-per-board 100 \
      --mix read=50,list-post=50 --duration 10 --warmup 2 | tee "$OUT/growth-$size-$run.txt"
  done
  for size in small big; do
    fresh $size
    $B mix --db "$DATA/run.db" --seeded --users 1000 --posts-per-board 100 \
      --mix read=50,list-post=50 -c 10 --duration 5 --warmup 1 | tee "$OUT/growth-c10-$size-$run.txt"
  done
  $B udp --canned -k 16 --duration 10 --warmup 2 | tee "$OUT/udp-$run.txt"
  fresh idle
  $B idle --db "$DATA/run.db" -n 19000 --duration 10 | tee "$OUT/idle-$run.txt"
  $B logins -n 200 | tee "$OUT/logins-$run.txt"
done
rm -rf "$DATA"
