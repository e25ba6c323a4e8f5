#!/usr/bin/env bash
# leakdiff.sh — leakdiff against glibc's mtrace script and heaptrack_print
# (issue 5, "Speed and memory"). usage: tests/bench/leakdiff.sh [BUILD_DIR]
#
# Data (in $BENCH_DIR/heap, default /tmp/memkit-bench/heap; never committed),
# all from tests/bench/genheap.c with EVENTS (default 20000000) events around
# LIVE (default 200000) live blocks, seed 1:
#   trace.zst     the memkit heap format, zstd -3
#   trace.mtrace  the same events in glibc's mtrace format (plain: the
#                 mtrace script reads only files)
#   trace.ht.zst  a heaptrack recording of tests/bench/replay.c performing
#                 those allocations for real (only when heaptrack is here)
# Regenerated only when trace.stamp says other parameters.
#
# Timed (RUNS, default 3, interleaved; median of wall, CPU = user + sys, and
# peak RSS from /usr/bin/time):
#   leakdiff TRACE.zst       the default report: summary, top sites, leaks
#   leakdiff trace.mtrace    the same on the mtrace text
#   mtrace trace.mtrace      glibc's script (perl): the blocks not freed
#   heaptrack_print ...      heaptrack's full text report of its recording
# A check pass first compares the blocks and bytes not freed: leakdiff on
# trace.mtrace against the mtrace script's list (MISMATCH otherwise).
#
# Targets (issue 5): >= 10 M events/s single-threaded for the default report
# on the zstd trace; RSS <= 100 B per live block plus sites, measured as
# (RSS - RSS on a trace with 200 live blocks) / live blocks at the end.
# Exit status: 0, or 1 when the check pass disagrees or a tool failed.
set -euo pipefail

die() { printf 'leakdiff.sh: %s\n' "$*" >&2; exit 2; }
have() { command -v "$1" > /dev/null 2>&1; }

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.bash"
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LD=$B/bin/leakdiff
[ -x "$LD" ] || die "$LD not built (make first)"
DIR=${BENCH_DIR:-/tmp/memkit-bench}/heap
EVENTS=${EVENTS:-20000000}
LIVE=${LIVE:-200000}
RUNS=${RUNS:-3}
mkdir -p "$DIR"
cd "$DIR"

cc -O2 -o genheap "$ROOT/tests/bench/genheap.c"
cc -O2 -o replay "$ROOT/tests/bench/replay.c"
stamp="$EVENTS $LIVE 1 $(md5sum < "$ROOT/tests/bench/genheap.c" | cut -c1-8)"
if [ "$(cat trace.stamp 2>/dev/null)" != "$stamp" ]; then
    echo "generating $EVENTS events around $LIVE live blocks ..."
    ./genheap "$EVENTS" "$LIVE" 1 | zstd -q -3 -T2 -f -o trace.zst
    ./genheap "$EVENTS" "$LIVE" 1 mtrace > trace.mtrace
    rm -f trace.ht.zst
    if have heaptrack; then
        echo "recording the replay with heaptrack (once; not timed) ..."
        ./genheap "$EVENTS" "$LIVE" 1 | heaptrack -o "$DIR/trace.ht" ./replay > /dev/null
    fi
    ./genheap 2000000 200 1 | zstd -q -f -o tiny.zst
    echo "$stamp" > trace.stamp
fi

# ---- the check pass ---------------------------------------------------------
failed=0
echo "check pass (also the warm-up) ..."
read -r ld_blocks ld_bytes < <("$LD" summary -f tsv trace.mtrace |
    awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 2 { print $c["live_blocks"], $c["live_bytes"] }')
if have mtrace; then
    read -r mt_blocks mt_bytes < <(mtrace trace.mtrace 2>/dev/null |
        perl -ne 'if (/^\s*(0x[0-9a-f]+)\s+(0x[0-9a-f]+)/) { $n++; $s += hex($2) } END { print $n + 0, " ", $s + 0, "\n" }')
    if [ "$ld_blocks $ld_bytes" = "$mt_blocks $mt_bytes" ]; then
        echo "  not freed: $ld_blocks blocks, $ld_bytes bytes; mtrace script agrees"
    else
        echo "  MISMATCH: leakdiff $ld_blocks blocks $ld_bytes bytes, mtrace script $mt_blocks blocks $mt_bytes bytes"
        failed=1
    fi
fi
"$LD" -q trace.zst > /dev/null || [ $? = 1 ] || { echo "leakdiff failed"; failed=1; }

# ---- timing ------------------------------------------------------------------
names=() cmds=()
add() { names+=("$1"); cmds+=("$2"); }
add "leakdiff trace.zst" "'$LD' -q trace.zst"
add "leakdiff trace.mtrace" "'$LD' -q trace.mtrace"
add "leakdiff tiny.zst (RSS baseline)" "'$LD' -q tiny.zst"
have mtrace && add "mtrace script" "mtrace trace.mtrace"
[ -f trace.ht.zst ] && have heaptrack_print && add "heaptrack_print" "heaptrack_print trace.ht.zst"

declare -A W C R
for ((r = 1; r <= RUNS; r++)); do
    echo "timed run $r of $RUNS ..."
    for ((i = 0; i < ${#cmds[@]}; i++)); do
        /usr/bin/time -f '%e %U %S %M' -o t.out bash -c "${cmds[i]} > /dev/null 2>&1 || [ \$? = 1 ]" ||
            { echo "  ${names[i]} failed"; failed=1; }
        read -r w u s m < t.out
        W[$i]+="$w " C[$i]+="$(awk -v u="$u" -v s="$s" 'BEGIN { print u + s }') " R[$i]+="$m "
    done
done

events=$("$LD" summary -f tsv trace.zst | awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i } NR == 2 { print $c["events"] + $c["snapshots"], $c["live_blocks"], $c["sites"] }')
read -r nev nlive nsites <<<"$events"
echo
echo "input: $nev records ($(du -h trace.zst | cut -f1) zstd, $(du -h trace.mtrace | cut -f1) as mtrace text), $nlive blocks live at the end, $nsites sites; median of $RUNS runs"
printf '%-34s %9s %9s %10s %12s\n' tool wall_s cpu_s rss_MiB events/s
declare -A MW MR
for ((i = 0; i < ${#cmds[@]}; i++)); do
    MW[$i]=$(median <<<"${W[$i]}")
    mc=$(median <<<"${C[$i]}")
    MR[$i]=$(median <<<"${R[$i]}")
    printf '%-34s %9s %9s %10.1f %12.0f\n' "${names[i]}" "${MW[$i]}" "$mc" "$(awk -v k="${MR[$i]}" 'BEGIN { print k / 1024 }')" \
        "$(awk -v n="$nev" -v w="${MW[$i]}" 'BEGIN { print (w > 0 ? n / w : 0) }')"
done
echo
# The mtrace script reads the mtrace text: compare with leakdiff on that
# text. heaptrack_print reads its own compressed recording of the same
# events: compare with leakdiff on the compressed memkit trace.
for ((i = 3; i < ${#cmds[@]}; i++)); do
    ref=1; [ "${names[i]}" = heaptrack_print ] && ref=0
    printf 'speed: %s takes %.1f x the time of %s\n' "${names[i]}" \
        "$(awk -v a="${MW[$i]}" -v b="${MW[$ref]}" 'BEGIN { print a / b }')" "${names[ref]}"
done
rate=$(awk -v n="$nev" -v w="${MW[0]}" 'BEGIN { printf "%.1f", n / w / 1e6 }')
per=$(awk -v r="${MR[0]}" -v b="${MR[2]}" -v n="$nlive" 'BEGIN { printf "%.0f", (r - b) * 1024 / n }')
met() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { exit !(op == ">=" ? v >= l : v <= l) }' && echo MET || echo "NOT MET"; }
echo "target: >= 10 M events/s on trace.zst: $rate M/s  $(met "$rate" ">=" 10)"
echo "target: <= 100 B per live block: $per B  $(met "$per" "<=" 100)"
exit $failed
