#!/usr/bin/env bash
# demo.sh BUILD_DIR DEMO_DIR — cachesim's part of `make demo` (called by
# tests/demo.sh): a seeded Zipf trace of a million requests replayed through
# every policy at two sizes in one pass, an application trace with TTLs and
# weak references, a miss-ratio curve with its plot, and a warm start.
set -euo pipefail
B=$(cd "$1" && pwd) D=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$B/bin:$B/test:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
cd "$D"

cc -O2 -o genzipf "$ROOT/tests/bench/genzipf.c" -lm
./genzipf -n 1000000 -m 100000 -a 1.0 -s 7 -z 100:10000 -f oracle | zstd -q -f -o zipf.oracleGeneral.zst
step "cachesim -p all -s 1%,10% --stats zipf.oracleGeneral.zst     # ten policies x two sizes, one decode"
cachesim -p all -s 1%,10% --stats zipf.oracleGeneral.zst
awk 'BEGIN {
    srand(3); print "#memkit cache v1"
    for (t = 0; t < 20000; t++) {
        k = int(rand() ^ 3 * 2000); print t / 10, "get", "session-" k, 512 + k % 4096
        if (rand() < 0.05) print t / 10, "drop", "session-" int(rand() * 2000)
    }
}' > app.cache
step "cachesim -p lru,sieve -s 256K --ttl 30s app.cache             # a plain dict cache keeps dropped objects alive"
cachesim -p lru,sieve -s 256K --ttl 30s app.cache
step "cachesim -p lru,sieve -s 256K --ttl 30s --weak app.cache      # a WeakValueDictionary loses them"
cachesim -p lru,sieve -s 256K --ttl 30s --weak app.cache
step "cachesim --mrc --sample 0.1 -s 1%,10% --points 8 --svg mrc.svg zipf.oracleGeneral.zst"
cachesim --mrc --sample 0.1 -s 1%,10% --points 8 --svg mrc.svg zipf.oracleGeneral.zst
echo "(the plot is in $D/mrc.svg)"
step "cachesim -p s3fifo -s 1M --save-state day1.state app.cache && cachesim --load-state day1.state app.cache"
cachesim -p s3fifo -s 1M --save-state day1.state app.cache > /dev/null
cachesim --load-state day1.state app.cache
