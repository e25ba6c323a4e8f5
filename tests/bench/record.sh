#!/usr/bin/env bash
# record.sh — leakdiff record against heaptrack, valgrind (massif,
# memcheck) and glibc mtrace, side by side on the same programs.
# usage: tests/bench/record.sh [BUILD_DIR]
#
# Programs (BUILD_DIR/test/rec-bench, tests/leakdiff-record/bench.c):
#   ring    5 M malloc/free pairs of mixed sizes through a ring of live slots
#   deep    the same, each allocation through a 3-deep call chain
# Each runs: native; leakdiff record --frames 0; --frames 8; heaptrack;
# valgrind --tool=massif; valgrind --tool=memcheck; glibc mtrace
# (MALLOC_TRACE with libc_malloc_debug.so.0 preloaded: rec-bench does not
# call mtrace(), so this row is the debug library's hooks alone, no trace). RUNS (default 3) interleaved rounds; the
# medians of wall and CPU (user + sys of the whole process tree, from
# /usr/bin/time), and the trace bytes per event.
# Added CPU per event = (tool CPU - native CPU) / events (10 M: 5 M
# allocations and 5 M frees).
# Targets (issue #6): --frames 0 adds at most 1/4 of heaptrack's CPU per
# event, --frames 8 at most 1/2; our compressed trace at most heaptrack's
# bytes per event; recorder RSS under 16 MB plus the site table.
# Tools missing on the machine are skipped (apt-get install heaptrack
# valgrind). Exit status: 0; 1 when a command fails; 2 on set-up errors.
set -euo pipefail

die() { printf 'record.sh: %s\n' "$*" >&2; exit 2; }

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.bash"
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LD=$B/bin/leakdiff
RUNS=${RUNS:-3}
EVENTS=${EVENTS:-10000000}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
[ -x "$LD" ] || die "$LD is not built (make first)"
BENCH=$B/test/rec-bench
[ -x "$BENCH" ] || die "the benchmark program $BENCH is not built (make tests)"
RING=$BENCH DEEP="$BENCH deep"
DIR=${BENCH_DIR:-/tmp/memkit-bench}/record
mkdir -p "$DIR"
cd "$DIR"
DEBUGSO=$(ls /usr/lib/*/libc_malloc_debug.so.0 2> /dev/null | head -1)

tools="native rec0 rec8"
command -v heaptrack > /dev/null && tools+=" heaptrack"
command -v valgrind > /dev/null && tools+=" massif memcheck"
[ -n "$DEBUGSO" ] && tools+=" mtrace"

cmd() {   # cmd TOOL PROGRAM
    case $1 in
    native) echo "$2" ;;
    rec0) echo "$LD record -q --frames 0 -o rec.zst -- $2" ;;
    rec8) echo "$LD record -q --frames 8 -o rec.zst -- $2" ;;
    heaptrack) echo "heaptrack -o ht $2" ;;
    massif) echo "valgrind -q --tool=massif --massif-out-file=massif.out $2" ;;
    memcheck) echo "valgrind -q --tool=memcheck --leak-check=full $2" ;;
    mtrace) echo "MALLOC_TRACE=mtrace.txt LD_PRELOAD=$DEBUGSO $2" ;;
    esac
}
trace_bytes() {   # the trace a tool left, compressed as it writes it
    case $1 in
    rec0 | rec8) stat -c %s rec.zst ;;
    heaptrack) stat -c %s "$(ls -t ht*.zst ht*.gz 2> /dev/null | head -1)" ;;
    massif) stat -c %s massif.out ;;
    mtrace) stat -c %s mtrace.txt 2> /dev/null || echo 0 ;;   # only if the program calls mtrace()
    *) echo 0 ;;
    esac
}

declare -A W C M T
for ((r = 1; r <= RUNS; r++)); do
    for prog in ring deep; do
        p=$RING
        [ $prog = deep ] && p=$DEEP
        for t in $tools; do
            rm -f rec.zst ht*.zst ht*.gz massif.out mtrace.txt
            run "$(cmd $t "$p")"
            [ "$rc" = 0 ] || { echo "$t $prog failed (exit $rc): $(tail -3 err.txt)"; exit 1; }
            W[$t.$prog]+="$w " C[$t.$prog]+="$c " M[$t.$prog]+="$m " T[$t.$prog]+="$(trace_bytes $t) "
        done
    done
    echo "round $r of $RUNS done"
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
printf '\n%-6s %-10s %8s %8s %12s %10s %10s\n' prog tool wall_s cpu_s added_ns/ev B/event peak_MiB
for prog in ring deep; do
    nc=$(med "${C[native.$prog]}")
    for t in $tools; do
        c=$(med "${C[$t.$prog]}")
        printf '%-6s %-10s %8s %8s %12s %10s %10s\n' $prog $t "$(med "${W[$t.$prog]}")" "$c" \
            "$(awk -v c="$c" -v n="$nc" -v e="$EVENTS" 'BEGIN { printf "%.0f", (c - n) * 1e9 / e }')" \
            "$(awk -v b="$(med "${T[$t.$prog]}")" -v e="$EVENTS" 'BEGIN { printf "%.2f", b / e }')" \
            "$(awk -v m="$(med "${M[$t.$prog]}")" 'BEGIN { printf "%.1f", m / 1024 }')"
    done
done
if [[ " $tools " == *" heaptrack "* ]]; then
    echo
    for prog in ring deep; do
        nc=$(med "${C[native.$prog]}") hc=$(med "${C[heaptrack.$prog]}")
        for t in rec0 rec8; do
            c=$(med "${C[$t.$prog]}")
            want=0.25
            [ $t = rec8 ] && want=0.5
            awk -v c="$c" -v n="$nc" -v h="$hc" -v w="$want" -v t=$t -v p=$prog 'BEGIN {
                r = (h - n) > 0 ? (c - n) / (h - n) : 0
                printf "%-5s %-5s added CPU %.2f x heaptrack'"'"'s  %s target <= %s\n", p, t, r, (r <= w ? "✔" : "✘"), w }'
        done
    done
fi
