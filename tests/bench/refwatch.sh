#!/usr/bin/env bash
# refwatch.sh — refwatch against the awk a user would write instead, on the
# same generated log. usage: tests/bench/refwatch.sh [BUILD_DIR]  (default build)
#
# Data (in $BENCH_DIR/refs, default /tmp/memkit-bench/refs; never committed),
# from tests/bench/genrefs.c, seed 1, regenerated when refs.stamp (sizes and
# genrefs.c's md5) says otherwise:
#   refs.zst      50 M events over 1 M live objects (7.5 M created in all),
#                 zstd -3, drained at the end (every object released but the
#                 planted leaks, which adds about 3 M events)
#   mem-N.zst     12 M events over N = 250 000 and 1 000 000 live objects
#                 (about 2.4 outstanding references each), and
#   flat-N.log    N `new` lines (count 1 each), for the memory per live
#                 object: the slope of peak RSS between the two sizes, read
#                 with --history of a name not in the log (no report kept)
#
# Timed (RUNS, default 3, interleaved; median of wall, CPU = user + sys of
# the whole process tree, and peak RSS, from /usr/bin/time):
#   refwatch -f json refs.zst         the whole report
#   zstd -dc refs.zst | awk BALANCE   the balance count a user would write:
#                                     new/ref/unref/free per object, a count
#                                     that ends non-zero or goes below zero is
#                                     unbalanced (mawk, Debian's awk)
#   zstd -dc refs.zst > /dev/null     the decompression floor
# A check pass first (also the warm-up): awk's number of unbalanced objects
# equals refwatch's, and both equal what genrefs planted.
#
# Targets (issue): >= 10 M events/s; peak RSS proportional to live objects,
# <= 64 B per live object plus interned site strings. Printed with ✔ / ✘.
# Knobs: RUNS (3), BENCH_DIR, SMALL=1 (tiny sizes, to try the script).
# Exit status: 0; 1 when the check pass disagrees or a command fails; 2 on
# a usage or set-up error.
set -euo pipefail

die() { printf 'refwatch.sh: %s\n' "$*" >&2; exit 2; }

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.bash"
case $B in /*) ;; *) B=$ROOT/$B ;; esac
RW=$B/bin/refwatch
RUNS=${RUNS:-3}
SMALL=${SMALL:-0}
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
[ -x "$RW" ] || die "$RW is not built (make first)"
command -v zstd > /dev/null || die "zstd is missing"
if [ "$SMALL" = 1 ]; then
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/refs-small EV=500000 OBJ=10000 MEV=200000 MLO=2500 MHI=10000
else
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/refs EV=50000000 OBJ=1000000 MEV=12000000 MLO=250000 MHI=1000000
fi
mkdir -p "$DIR"
cd "$DIR"

# ---- data -------------------------------------------------------------------------
cc -O2 -o genrefs "$ROOT/tests/bench/genrefs.c"
stamp="$EV $OBJ $MEV $MLO $MHI seed 1 $(md5sum < "$ROOT/tests/bench/genrefs.c" | cut -c1-8)"
if [ "$(cat refs.stamp 2> /dev/null)" != "$stamp" ]; then
    rm -f refs.stamp
    echo "generating the logs in $DIR ..."
    ./genrefs "$EV" "$OBJ" 1 drain 2> refs.planted | zstd -q -T0 -3 -f -o refs.zst
    ./genrefs "$MEV" "$MLO" 1 2> /dev/null | zstd -q -T0 -3 -f -o "mem-$MLO.zst"
    ./genrefs "$MEV" "$MHI" 1 2> /dev/null | zstd -q -T0 -3 -f -o "mem-$MHI.zst"
    for n in "$MLO" "$MHI"; do seq 1 "$n" | sed 's/^/new 0x7f3a4/' > "flat-$n.log"; done
    echo "$stamp" > refs.stamp
fi
cat refs.planted

# The balance count in awk: what a user would write first, per object
# incarnation (an address created again is a new object). A leading
# timestamp shifts the fields.
cat > balance.awk <<'AWK'
$1 !~ /^(new|ref|unref|free|weak|deref)$/ { $0 = substr($0, index($0, " ") + 1) }
$1 == "new"   { if ($2 in neg) { n++; delete neg[$2] } c[$2] = 1; next }
$1 == "ref"   { c[$2]++; next }
$1 == "unref" { if (--c[$2] < 0) neg[$2] = 1; next }
$1 == "free"  { if (c[$2] > 0) n++; delete c[$2]; next }
END {
    for (o in c) if (c[o] != 0 && !(o in neg)) n++
    for (o in neg) n++
    print n + 0
}
AWK

# ---- helpers ------------------------------------------------------------------------
failed=0
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }'; }
mark() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN { ok = dir == "ge" ? v >= t : v <= t; print ok ? "✔" : "✘" }'; }

# ---- check pass (also the warm-up) ---------------------------------------------------
run "$RW -f json refs.zst"
[ "$rc" = 1 ] || { echo "refwatch failed (exit $rc): $(head -3 err.txt)"; exit 1; }
events=$(python3 -c 'import json,sys; d=json.load(open("out.txt")); print(d["events"])')
rw_unbal=$(python3 -c 'import json,sys; d=json.load(open("out.txt")); print(len(d["unbalanced"]))')
run "zstd -dc refs.zst | awk -f balance.awk"
[ "$rc" = 0 ] || { echo "awk failed (exit $rc)"; exit 1; }
awk_unbal=$(cat out.txt)
planted=$(sed -E 's/.* ([0-9]+) live at the end.* ([0-9]+) over-releases.*/\1 \2/' refs.planted | awk '{ print $1 + $2 }')
echo "check: unbalanced objects: refwatch $rw_unbal, awk $awk_unbal, planted $planted (leaks + over-releases)"
if [ "$rw_unbal" != "$awk_unbal" ] || [ "$rw_unbal" != "$planted" ]; then
    echo "MISMATCH"
    failed=1
fi

# ---- timed runs --------------------------------------------------------------------------
declare -A W C M
for i in $(seq 1 "$RUNS"); do
    for t in refwatch awk zstd; do
        case $t in
            refwatch) run "$RW -f json refs.zst" ;;
            awk) run "zstd -dc refs.zst | awk -f balance.awk" ;;
            # run sends stdout to out.txt: the braces keep 1.7 GB off the
            # disk (writing it there slowed the next round's refwatch too)
            zstd) run "{ zstd -dc refs.zst > /dev/null; }" ;;
        esac
        W[$t]+="$w " C[$t]+="$c " M[$t]+="$m "
    done
done
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
printf '\n%-30s %9s %9s %10s\n' "$events events, median of $RUNS" "wall s" "CPU s" "RSS MiB"
for t in refwatch awk zstd; do
    case $t in
        refwatch) label="refwatch -f json" ;;
        awk) label="zstd -dc | awk (balance)" ;;
        zstd) label="zstd -dc > /dev/null" ;;
    esac
    printf '%-30s %9s %9s %10.1f\n' "$label" "$(med "${W[$t]}")" "$(med "${C[$t]}")" \
        "$(awk -v k="$(med "${M[$t]}")" 'BEGIN { print k / 1024 }')"
done
rw_w=$(med "${W[refwatch]}") rw_c=$(med "${C[refwatch]}") aw_w=$(med "${W[awk]}") aw_c=$(med "${C[awk]}")
eps=$(awk -v e="$events" -v w="$rw_w" 'BEGIN { printf "%.1f", e / w / 1e6 }')
epsc=$(awk -v e="$events" -v c="$rw_c" 'BEGIN { printf "%.1f", e / c / 1e6 }')
echo
echo "refwatch: $eps M events/s wall, $epsc M events/s per CPU second $(mark "$eps" 10 ge) (target >= 10 M/s)"
echo "against awk: $(ratio "$aw_w" "$rw_w")x faster wall, $(ratio "$aw_c" "$rw_c")x less CPU, $(ratio "$(med "${M[awk]}")" "$(med "${M[refwatch]}")")x less memory"

# ---- memory per live object ------------------------------------------------------------------
# slope NAME: peak RSS (median KiB) of the MLO and MHI logs NAME-N.*, and the
# bytes per live object between them, into lo, hi, per.
slope() {
    local n ms
    for n in "$MLO" "$MHI"; do
        ms=""
        for i in $(seq 1 "$RUNS"); do
            run "$RW -q --history none $1-$n.*"    # the model alone: no report to hold
            ms+="$m "
        done
        eval "rss_$n=$(med "$ms")"
    done
    lo=rss_$MLO hi=rss_$MHI
    lo=${!lo} hi=${!hi}
    per=$(awk -v a="$lo" -v b="$hi" -v n1="$MLO" -v n2="$MHI" 'BEGIN { printf "%.0f", (b - a) * 1024 / (n2 - n1) }')
}
slope flat
echo "peak RSS, objects at count 1: $((lo / 1024)) MiB with $MLO live, $((hi / 1024)) MiB with $MHI:" \
     "$per B per live object $(mark "$per" 64 le) (target <= 64 B plus site strings)"
slope mem
echo "peak RSS, genrefs' objects (about 2.4 outstanding references each): $((lo / 1024)) MiB with $MLO live," \
     "$((hi / 1024)) MiB with $MHI: $per B per live object (12 B per reference on top)"
exit $failed
