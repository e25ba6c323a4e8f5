#!/usr/bin/env bash
# cachesim.sh — cachesim against libCacheSim's cachesim, side by side on the
# same generated traces. usage: tests/bench/cachesim.sh [BUILD_DIR]
#
# Data (in $BENCH_DIR/cachesim, default /tmp/memkit-bench/cachesim; never
# committed), from tests/bench/genzipf.c, regenerated when zipf.stamp says
# otherwise:
#   zipf.oracleGeneral  10 M requests, Zipf(1.0) over 1 M objects (763 274
#                       of them requested), unit sizes, seed 42: 240 MB
#   zipf.keys           the same requests, one id per line (libCacheSim's
#                       txt format; our key-per-line format)
#
# libCacheSim: $LIBCACHESIM (default /tmp/libcachesim-src/_build/bin/
# cachesim), a Release build of github.com/1a1a11a/libCacheSim (GPL; built
# outside the project, see tests/fixtures/cachesim/LIBCACHESIM.md). It writes
# result files into its working directory, so both run in a scratch one.
#
# Check pass (also the warm-up): both print the same miss ratios (4
# decimals, libCacheSim's precision) for the 18 caches of the grid.
#
# Timed (RUNS, default 3, interleaved; median wall, CPU = user + sys of the
# whole process tree, and peak RSS, from /usr/bin/time), each pair on the
# same input:
#   lru10     one LRU cache at 10 % of the working set
#   lru1      one LRU cache at 1 %
#   grid      lru,fifo,lfu,arc,s3fifo,sieve x 1%,5%,10% (18 caches) in one
#             run of each tool (libCacheSim: one thread per cache, each
#             re-reading the trace; cachesim: one decode, -j cores)
#   text      LRU at 10 % from the key-per-line trace
# Targets (issue #7): lru10 at least 3 x libCacheSim's requests/s; grid at
# least 5 x faster; text at least 5 x; peak RSS at most a quarter of
# libCacheSim's. Printed with ✔ / ✘.
# Knobs: RUNS (3), BENCH_DIR, SMALL=1 (1 M requests, to try the script),
# LIBCACHESIM.
# Exit status: 0; 1 when the check pass disagrees or a command fails; 2 on
# a usage or set-up error.
set -euo pipefail

die() { printf 'cachesim.sh: %s\n' "$*" >&2; exit 2; }

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.bash"
case $B in /*) ;; *) B=$ROOT/$B ;; esac
CS=$B/bin/cachesim
LCS=${LIBCACHESIM:-/tmp/libcachesim-src/_build/bin/cachesim}
RUNS=${RUNS:-3}
SMALL=${SMALL:-0}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
[ -x "$CS" ] || die "$CS is not built (make first)"
[ -x "$LCS" ] || die "libCacheSim's cachesim not found at $LCS (set LIBCACHESIM)"
if [ "$SMALL" = 1 ]; then
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/cachesim-small N=1000000 M=100000
else
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/cachesim N=10000000 M=1000000
fi
mkdir -p "$DIR"
cd "$DIR"

# ---- data -----------------------------------------------------------------------------
cc -O2 -o genzipf "$ROOT/tests/bench/genzipf.c" -lm
stamp="$N $M seed 42 $(md5sum < "$ROOT/tests/bench/genzipf.c" | cut -c1-8)"
if [ "$(cat zipf.stamp 2> /dev/null)" != "$stamp" ]; then
    rm -f zipf.stamp
    echo "generating the traces in $DIR ..."
    ./genzipf -n "$N" -m "$M" -a 1.0 -s 42 -f oracle -o zipf.oracleGeneral
    ./genzipf -n "$N" -m "$M" -a 1.0 -s 42 -f keys -o zipf.keys
    echo "$stamp" > zipf.stamp
fi
ls -l zipf.oracleGeneral zipf.keys | awk '{ print $5, $NF }'
mkdir -p scratch
cd scratch
T=../zipf.oracleGeneral K=../zipf.keys

# ---- helpers --------------------------------------------------------------------------
failed=0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mark() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = dir == "ge" ? v >= t : v <= t; print ok ? "✔" : "✘" }'; }
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
mreq() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.2f", (s > 0 ? n / s / 1e6 : 0) }'; }

# ---- check pass ----------------------------------------------------------------------------
# The 18 caches of the grid: both tools must print the same miss ratios
# (libCacheSim's 4 decimals), compared as sorted lists.
run "$LCS $T oracleGeneral lru,fifo,lfu,arc,s3fifo,sieve 0.01,0.05,0.1"
[ "$rc" = 0 ] || { echo "libCacheSim failed (exit $rc): $(tail -3 err.txt)"; exit 1; }
lcs_mr=$(grep -o 'req, miss ratio [0-9.]*' out.txt | awk '{ print $4 }' | sort | tr '\n' ' ')
run "$CS -p lru,fifo,lfu,arc,s3fifo,sieve -s 1%,5%,10% -f tsv $T"
[ "$rc" = 0 ] || { echo "cachesim failed (exit $rc): $(head -3 err.txt)"; exit 1; }
cs_mr=$(awk -F'\t' 'NR > 1 { printf "%.4f\n", $5 / $3 }' out.txt | sort | tr '\n' ' ')
echo "miss ratios of the 18 caches, libCacheSim: $lcs_mr"
echo "                                cachesim: $cs_mr"
if [ "$lcs_mr" = "$cs_mr" ] && [ -n "$cs_mr" ]; then echo "✔ the same"; else echo "✘ the miss ratios differ"; failed=1; fi

# ---- timed ----------------------------------------------------------------------------------
declare -A W C M
cases="lru10 lru1 grid text"
lcs_cmd() {
    case $1 in
    lru10) echo "$LCS $T oracleGeneral lru 0.1" ;;
    lru1) echo "$LCS $T oracleGeneral lru 0.01" ;;
    grid) echo "$LCS $T oracleGeneral lru,fifo,lfu,arc,s3fifo,sieve 0.01,0.05,0.1" ;;
    text) echo "$LCS $K txt lru 0.1" ;;
    esac
}
cs_cmd() {
    case $1 in
    lru10) echo "$CS -p lru -s 10% $T" ;;
    lru1) echo "$CS -p lru -s 1% $T" ;;
    grid) echo "$CS -p lru,fifo,lfu,arc,s3fifo,sieve -s 1%,5%,10% $T" ;;
    text) echo "$CS -p lru -s 10% $K" ;;
    esac
}
for ((r = 1; r <= RUNS; r++)); do
    for k in $cases; do
        for tool in lcs cs; do
            run "$(${tool}_cmd "$k")"
            [ "$rc" = 0 ] || { echo "$tool $k failed (exit $rc): $(tail -3 err.txt)"; exit 1; }
            W[$tool.$k]+="$w " C[$tool.$k]+="$c " M[$tool.$k]+="$m "
        done
    done
    echo "run $r of $RUNS done"
done

printf '\n%-6s %-12s %9s %9s %10s %10s %9s\n' case tool wall_s cpu_s Mreq/s peak_MiB
for k in $cases; do
    for tool in lcs cs; do
        w=$(med "${W[$tool.$k]}") c=$(med "${C[$tool.$k]}") m=$(med "${M[$tool.$k]}")
        n=$N
        [ "$k" = grid ] && n=$((N * 18))
        printf '%-6s %-12s %9s %9s %10s %10s\n' "$k" "$([ $tool = cs ] && echo cachesim || echo libCacheSim)" \
            "$w" "$c" "$(mreq "$n" "$w")" "$(awk -v m="$m" 'BEGIN { printf "%.1f", m / 1024 }')"
    done
done
echo
for k in $cases; do
    lw=$(med "${W[lcs.$k]}") cw=$(med "${W[cs.$k]}") lc=$(med "${C[lcs.$k]}") cc=$(med "${C[cs.$k]}")
    lm=$(med "${M[lcs.$k]}") cm=$(med "${M[cs.$k]}")
    want=3
    [ "$k" = grid ] || [ "$k" = text ] && want=5
    sp=$(ratio "$lw" "$cw")
    printf '%-6s speed (wall) %6s x  (CPU %s x)  %s target %s x;  memory %s x less  %s target 4 x\n' "$k" "$sp" \
        "$(ratio "$lc" "$cc")" "$(mark "$sp" "$want" ge)" "$want" "$(ratio "$lm" "$cm")" \
        "$(mark "$(ratio "$lm" "$cm")" 4 ge)"
done
exit $failed
