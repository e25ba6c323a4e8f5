#!/usr/bin/env bash
# memsize.sh — memsize against its floor and against Python, on the same
# generated integers. usage: tests/bench/memsize.sh [BUILD_DIR]  (default build)
#
# Data (in $BENCH_DIR/memsize, default /tmp/memkit-bench/memsize; never
# committed), from tests/bench/genints.c, seed 1, regenerated when
# ints.stamp says otherwise:
#   ints.zst    100 M integers uniform in [-1e8, 1e9), one a line (~1 GB of
#               text; ~95.6 M distinct, so set and dict sizes are estimates
#               under the default --memory 64M)
#   ints10m.txt the first 10 M of them, plain
#
# Check pass (also the warm-up): on ints10m.txt, python3.11 building every
# structure and summing getsizeof (tests/bench/memsize-python.py) and
# memsize --memory 2G (exact distinct counts) must print the same shallow
# and deep bytes for every structure.
#
# Timed (RUNS, default 3, interleaved; median of wall, CPU = user + sys of
# the whole process tree, and peak RSS, from /usr/bin/time):
#   memsize --python all ints.zst     every structure, both models, three
#                                     CPython versions
#   zstd -dc ints.zst | wc -l         the floor the issue compares with
#   python3.11 memsize-python.py      on ints10m.txt, against
#   memsize --model python            on ints10m.txt
# Targets (issue): memsize at least 0.8 x the throughput of zstd -dc | wc -l
# on ints.zst, peak RSS under 64 MB. Printed with ✔ / ✘.
# Knobs: RUNS (3), BENCH_DIR, SMALL=1 (1 M integers, to try the script),
# PYTHON (python3.11 from pyenv, else python3).
# Exit status: 0; 1 when the check pass disagrees or a command fails; 2 on
# a usage or set-up error.
set -euo pipefail

die() { printf 'memsize.sh: %s\n' "$*" >&2; exit 2; }

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.bash"
case $B in /*) ;; *) B=$ROOT/$B ;; esac
MS=$B/bin/memsize
RUNS=${RUNS:-3}
SMALL=${SMALL:-0}
PY=${PYTHON:-$(ls ~/.pyenv/versions/3.11*/bin/python3 2> /dev/null | tail -1)}
PY=${PY:-python3}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
[ -x "$MS" ] || die "$MS is not built (make first)"
command -v zstd > /dev/null || die "zstd is missing"
if [ "$SMALL" = 1 ]; then
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/memsize-small N=1000000 NPY=200000
else
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/memsize N=100000000 NPY=10000000
fi
mkdir -p "$DIR"
cd "$DIR"

# ---- data -----------------------------------------------------------------------------
cc -O2 -o genints "$ROOT/tests/bench/genints.c"
stamp="$N $NPY seed 1 $(md5sum < "$ROOT/tests/bench/genints.c" | cut -c1-8)"
if [ "$(cat ints.stamp 2> /dev/null)" != "$stamp" ]; then
    rm -f ints.stamp
    echo "generating the integers in $DIR ..."
    ./genints "$N" 1 | zstd -q -T0 -3 -f -o ints.zst
    ./genints "$NPY" 1 > ints10m.txt
    echo "$stamp" > ints.stamp
fi
ls -l ints.zst ints10m.txt | awk '{ print $5, $NF }'

# ---- helpers --------------------------------------------------------------------------
failed=0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
mark() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = dir == "ge" ? v >= t : v <= t; print ok ? "✔" : "✘" }'; }
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
PYSCRIPT=$ROOT/tests/bench/memsize-python.py

# ---- check pass ----------------------------------------------------------------------------
run "$PY $PYSCRIPT ints10m.txt"
[ "$rc" = 0 ] || { echo "python failed (exit $rc): $(head -3 err.txt)"; exit 1; }
cp out.txt py.tsv
run "$MS --model python --memory 2G -f tsv ints10m.txt"
[ "$rc" = 0 ] || { echo "memsize failed (exit $rc): $(head -3 err.txt)"; exit 1; }
awk -F'\t' 'NR > 1 && $4 != "" { print $2 "\t" $4 "\t" $5 }' out.txt > ms.tsv
if diff py.tsv ms.tsv > /dev/null; then
    echo "check: memsize and $($PY -V) agree on every structure's shallow and deep bytes ($NPY values)"
else
    echo "MISMATCH between python and memsize:"
    diff py.tsv ms.tsv || true
    failed=1
fi

# ---- timed runs ----------------------------------------------------------------------------
declare -A W C M
for i in $(seq 1 "$RUNS"); do
    for t in memsize wc python mspy; do
        case $t in
            memsize) run "$MS --python all ints.zst" ;;
            wc) run "zstd -dc ints.zst | wc -l" ;;
            python) run "$PY $PYSCRIPT ints10m.txt" ;;
            mspy) run "$MS --model python ints10m.txt" ;;
        esac
        [ "$rc" = 0 ] || { echo "$t failed (exit $rc): $(head -3 err.txt)"; exit 1; }
        W[$t]+="$w " C[$t]+="$c " M[$t]+="$m "
    done
done
printf '\n%-44s %9s %9s %10s\n' "median of $RUNS" "wall s" "CPU s" "RSS MiB"
for t in memsize wc python mspy; do
    case $t in
        memsize) label="memsize --python all ints.zst ($N)" ;;
        wc) label="zstd -dc ints.zst | wc -l" ;;
        python) label="$("$PY" -c 'import sys; print("python%d.%d" % sys.version_info[:2])') getsizeof ($NPY)" ;;
        mspy) label="memsize --model python ($NPY)" ;;
    esac
    printf '%-44s %9s %9s %10.1f\n' "$label" "$(med "${W[$t]}")" "$(med "${C[$t]}")" \
        "$(awk -v k="$(med "${M[$t]}")" 'BEGIN { print k / 1024 }')"
done
ms_w=$(med "${W[memsize]}") wc_w=$(med "${W[wc]}") ms_m=$(med "${M[memsize]}")
tp=$(awk -v a="$wc_w" -v b="$ms_w" 'BEGIN { printf "%.2f", a / b }')
rss=$(awk -v k="$ms_m" 'BEGIN { printf "%.1f", k / 1024 }')
echo
echo "memsize: $(awk -v n="$N" -v w="$ms_w" 'BEGIN { printf "%.0f", n / w / 1e6 }') M values/s; $tp x the throughput of zstd -dc | wc -l $(mark "$tp" 0.8 ge) (target >= 0.8)"
echo "memsize: peak RSS $rss MiB $(mark "$rss" 64 le) (target < 64)"
echo "against python: $(ratio "$(med "${W[python]}")" "$(med "${W[mspy]}")")x faster wall, $(ratio "$(med "${C[python]}")" "$(med "${C[mspy]}")")x less CPU, $(ratio "$(med "${M[python]}")" "$(med "${M[mspy]}")")x less memory"
exit "$failed"
