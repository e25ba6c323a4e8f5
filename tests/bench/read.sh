#!/usr/bin/env bash
# read.sh — how fast the core library reads: source → blocks → CSV fields.
#
# Generates (seeded, in $BENCH_DIR, never committed) a ~1.2 GB CSV with a
# quoted text column and its zstd -3 copy, then times side by side, median of
# $RUNS runs interleaved in one loop:
#   zstd file:  `zstd -dc big.csv.zst | wc -l`   vs  mkread -m csv big.csv.zst
#   plain file: `wc -l big.csv`                   vs  mkread -m csv -j 2 big.csv
# and prints wall and CPU (user+sys) seconds, throughput, the ratio, and the
# driver's peak RSS. usage: tests/bench/read.sh [BUILD_DIR]
set -euo pipefail
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$ROOT/$B ;; esac
DIR=${BENCH_DIR:-/tmp/memkit-bench}
ROWS=${ROWS:-16700000}
RUNS=${RUNS:-3}
MKREAD=$B/test/mkread
mkdir -p "$DIR"

if [ ! -s "$DIR/big.csv" ] || [ "$(cat "$DIR/big.rows" 2>/dev/null)" != "$ROWS" ]; then
    cc -O2 -o "$DIR/gencsv" "$ROOT/tests/bench/gencsv.c"
    echo "generating $ROWS rows into $DIR/big.csv ..." >&2
    "$DIR/gencsv" "$ROWS" 1 > "$DIR/big.csv"
    zstd -q -3 -T0 -f "$DIR/big.csv" -o "$DIR/big.csv.zst"
    echo "$ROWS" > "$DIR/big.rows"
fi
size=$(stat -c %s "$DIR/big.csv")
zsize=$(stat -c %s "$DIR/big.csv.zst")

# measure NAME CMD...: one run; appends "wall cpu rss" to $DIR/NAME.times.
measure() {
    local name=$1; shift
    /usr/bin/time -f '%e %U %S %M' -o "$DIR/t.out" "$@" > /dev/null
    awk '{ printf "%.3f %.3f %d\n", $1, $2 + $3, $4 }' "$DIR/t.out" >> "$DIR/$name.times"
}

rm -f "$DIR"/*.times
cat "$DIR/big.csv" "$DIR/big.csv.zst" > /dev/null   # warm the page cache
for ((i = 0; i < RUNS; i++)); do
    measure zstd_wc bash -c "zstd -dc '$DIR/big.csv.zst' | wc -l"
    measure mk_zstd "$MKREAD" -m csv -f csv "$DIR/big.csv.zst"
    measure wc wc -l "$DIR/big.csv"
    measure mk_plain "$MKREAD" -m csv -f csv -j 2 "$DIR/big.csv"
done

# median NAME COLUMN
median() { cut -d' ' -f"$2" "$DIR/$1.times" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

report() {
    local label=$1 peer=$2 ours=$3 bytes=$4
    local pw pc ow oc orss
    pw=$(median "$peer" 1); pc=$(median "$peer" 2)
    ow=$(median "$ours" 1); oc=$(median "$ours" 2); orss=$(median "$ours" 3)
    awk -v l="$label" -v pw="$pw" -v pc="$pc" -v ow="$ow" -v oc="$oc" -v rss="$orss" -v b="$bytes" \
        -v pn="$peer" -v on="$ours" 'BEGIN {
        printf "%-6s %-9s wall %6.3f s  cpu %6.3f s  %7.0f MB/s\n", l, pn, pw, pc, b / pw / 1e6
        printf "%-6s %-9s wall %6.3f s  cpu %6.3f s  %7.0f MB/s  peak rss %.1f MiB\n", l, on, ow, oc, b / ow / 1e6, rss / 1024
        printf "%-6s speed ratio (peer wall / ours wall): %.2f\n", l, pw / ow
    }'
}

echo "input: $DIR/big.csv $size bytes ($ROWS rows), zstd -3 $zsize bytes; median of $RUNS runs"
report zstd zstd_wc mk_zstd "$size"
report plain wc mk_plain "$size"
