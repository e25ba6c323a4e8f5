#!/usr/bin/env bash
# demo.sh BUILD_DIR DEMO_DIR — leakdiff's part of `make demo` (called by
# tests/demo.sh): a small C program that leaks in a loop is recorded with
# glibc's mtrace, then reported on; a generated trace with snapshots gets a
# diff, growth suspects and an HTML report (DEMO_DIR/leakdiff-report.html).
set -euo pipefail
B=$(cd "$1" && pwd) D=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$B/bin:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
cd "$D"

mdebug=$(find /usr/lib /lib -name 'libc_malloc_debug.so.0' 2>/dev/null | head -1)
if [ -n "$mdebug" ]; then
    cc -O0 -g -fno-optimize-sibling-calls -o two_sites "$ROOT/tests/fixtures/leakdiff/progs/two_sites.c"
    step "MALLOC_TRACE=two_sites.mt LD_PRELOAD=libc_malloc_debug.so.0 ./two_sites"
    MALLOC_TRACE=two_sites.mt LD_PRELOAD="$mdebug" ./two_sites
    step "leakdiff two_sites.mt"
    leakdiff two_sites.mt || echo "(exit status $?: blocks were not freed)"
else
    echo "(glibc's libc_malloc_debug.so.0 is not here: skipping the mtrace recording)"
fi

cc -O2 -o genheap "$ROOT/tests/bench/genheap.c"
./genheap 200000 2000 7 | zstd -q -f -o service.heap.zst
step "leakdiff summary service.heap.zst"
leakdiff summary service.heap.zst
step "leakdiff top --by peak --depth 1 -n 5 service.heap.zst"
leakdiff top --by peak --depth 1 -n 5 service.heap.zst
step "leakdiff diff --from 'step 5' --to 'step 15' -n 5 service.heap.zst"
leakdiff diff --from 'step 5' --to 'step 15' -n 5 service.heap.zst
step "leakdiff leaks --growth -n 5 service.heap.zst"
leakdiff leaks --growth -n 5 service.heap.zst || echo "(exit status $?: blocks were not freed)"
step "leakdiff html -o leakdiff-report.html service.heap.zst"
leakdiff html -o leakdiff-report.html service.heap.zst
echo "wrote $D/leakdiff-report.html ($(wc -c < leakdiff-report.html) bytes; open it in a browser)"
if [ -x "$B/test/rec-threads" ]; then
    step "leakdiff record -o threads.heap.zst -- rec-threads   # two threads, recorded without changing the program"
    leakdiff record -o threads.heap.zst -- "$B/test/rec-threads"
    step "leakdiff summary threads.heap.zst"
    leakdiff summary threads.heap.zst
fi
