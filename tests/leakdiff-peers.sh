#!/usr/bin/env bash
# leakdiff-peers.sh — checks the known weaknesses of peer heap tools on the
# leakdiff test programs (tests/fixtures/leakdiff/progs/*.c), measured here
# rather than assumed, and prints per program leakdiff's figures beside those
# of heaptrack, valgrind memcheck, valgrind massif and glibc's mtrace script,
# and the truth stated in the program's top comment.
#
#   bash tests/leakdiff-peers.sh [BUILD_DIR]      (default BUILD_DIR: build)
#
# Each program is built (cc -O0 -g -fno-optimize-sibling-calls -pthread) and
# run once per tool: recorded with glibc's mtrace (MALLOC_TRACE=...
# LD_PRELOAD=libc_malloc_debug.so.0) and read by `leakdiff summary -f json`
# and by the `mtrace` perl script; run under `heaptrack` (read by
# heaptrack_print), `valgrind --leak-check=full` and `valgrind --tool=massif`.
# A tiny extra program, written to the temp dir, frees an address twice and
# gets it back twice from malloc (fastbin double free, with the tcache off
# through GLIBC_TUNABLES) for the mtrace-script claim.
#
# The claims checked, each printed as CONFIRMED / NOT CONFIRMED with what was
# measured:
#   1. heaptrack reports a false leak for realloc(p, 0)     (realloc_chain)
#   2. heaptrack misses memalign                            (aligned)
#   3. massif's peak is sampled / approximate               (peak)
#   4. glibc's mtrace script merges reused addresses and
#      misses over-release                                  (extra program)
#
# Everything is built and written in a temp dir removed at exit. Exit status:
# 0 when it ran (whatever it found), 2 when a required tool is missing.
set -euo pipefail

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$ROOT/$B ;; esac
LEAKDIFF=$B/bin/leakdiff
PROGS=$ROOT/tests/fixtures/leakdiff/progs
CFLAGS=(-O0 -g -fno-optimize-sibling-calls -pthread)
HT_POOL=72704   # libstdc++'s emergency pool, allocated in every heaptrack run

missing=()
for t in cc perl heaptrack heaptrack_print valgrind mtrace addr2line; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -x "$LEAKDIFF" ] || missing+=("$LEAKDIFF (build it first)")
preload_err=$(LD_PRELOAD=libc_malloc_debug.so.0 env true 2>&1 || true)
if [[ $preload_err == *"cannot be preloaded"* ]]; then
    missing+=(libc_malloc_debug.so.0)
fi
if [ ${#missing[@]} -gt 0 ]; then
    printf 'leakdiff-peers: missing: %s\n' "${missing[*]}" >&2
    exit 2
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# --- helpers ---------------------------------------------------------------

# jnum KEY FILE: a number from leakdiff's one-line JSON ("?" when absent).
jnum() {
    local v
    v=$(sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$2" 2>/dev/null | head -n 1)
    echo "${v:-?}"
}

# si2b TEXT: heaptrack's "430B" / "73.14K" / "10.56M" in bytes (K = 1000).
si2b() {
    awk -v s="$1" 'BEGIN {
        if (!match(s, /^[0-9.]+/)) { print "?"; exit }
        n = substr(s, 1, RLENGTH); u = substr(s, RLENGTH + 1, 1)
        m = (u == "K") ? 1e3 : (u == "M") ? 1e6 : (u == "G") ? 1e9 : 1
        printf "%.0f\n", n * m }'
}

# comment PROG: the program's top comment as one line.
comment() {
    sed -n '1,/\*\//p' "$1" | tr '\n' ' ' | sed 's#/\*##; s#\*/.*##; s#\*##g; s/  */ /g'
}

# lineof FILE REGEX: number of the first source line matching REGEX.
lineof() { grep -n -E "$2" "$1" | head -n 1 | cut -d: -f1; }

# run_all NAME [ENV...]: every tool on $T/NAME; figures into shell variables
# prefixed with the tool (ld_, ht_, vg_, ms_, mt_).
run_all() {
    local p=$1; shift
    local envs=("$@") f

    # glibc mtrace recording, read by leakdiff and by the mtrace script
    rc_mt=0
    (cd "$T" && env "${envs[@]}" MALLOC_TRACE="$T/$p.mt" \
        LD_PRELOAD=libc_malloc_debug.so.0 "./$p" >"$T/$p.run.log" 2>&1) || rc_mt=$?
    "$LEAKDIFF" summary -f json "$T/$p.mt" >"$T/$p.ld.json" 2>"$T/$p.ld.err" || true
    ld_live=$(jnum live_bytes "$T/$p.ld.json")
    ld_blocks=$(jnum live_blocks "$T/$p.ld.json")
    ld_peak=$(jnum peak_bytes "$T/$p.ld.json")
    ld_dfree=$(jnum double_frees "$T/$p.ld.json")
    ld_reused=$(jnum reused_live "$T/$p.ld.json")
    (cd "$T" && mtrace "./$p" "$p.mt") >"$T/$p.mtpl.txt" 2>&1 || true
    read -r mt_live mt_blocks < <(
        { grep -E '^0x[0-9a-f]+ +0x[0-9a-f]+ +at ' "$T/$p.mtpl.txt" || true; } |
        while read -r _ sz _; do echo $((sz)); done |
        awk '{ s += $1; n++ } END { print s + 0, n + 0 }')

    ht_leak="?" ht_lcalls="?" ht_peak="?" ht_peak_raw="?" ht_calls="?" ht_pool=0
    if [ -n "${SKIP_PEERS:-}" ]; then return 0; fi

    # heaptrack
    (cd "$T" && env "${envs[@]}" heaptrack -o "$T/$p.ht" "./$p" >"$T/$p.htrec.log" 2>&1) || true
    f=""
    for x in "$T/$p.ht".zst "$T/$p.ht".gz "$T/$p.ht"; do [ -f "$x" ] && { f=$x; break; }; done
    if [ -n "$f" ]; then
        heaptrack_print -l 1 "$f" >"$T/$p.htp.txt" 2>&1 || true
        ht_peak_raw=$(sed -n 's/^peak heap memory consumption: *//p' "$T/$p.htp.txt")
        ht_leak=$(si2b "$(sed -n 's/^total memory leaked: *//p' "$T/$p.htp.txt")")
        ht_calls=$(sed -n 's/^calls to allocation functions: *\([0-9]*\).*/\1/p' "$T/$p.htp.txt")
        ht_lcalls=$(awk '/^MEMORY LEAKS/ { on = 1; next } /^MOST TEMPORARY/ { on = 0 }
            on && / leaked over [0-9]+ calls from$/ { n += $4 } END { print n + 0 }' "$T/$p.htp.txt")
        grep -q '72\.70K peak consumption' "$T/$p.htp.txt" && ht_pool=1
        ht_peak=$(si2b "${ht_peak_raw:-?}")
        if [ "$ht_peak" != "?" ] && [ $ht_pool = 1 ]; then ht_peak=$((ht_peak - HT_POOL)); fi
    fi

    # valgrind memcheck
    (cd "$T" && env "${envs[@]}" valgrind --leak-check=full "./$p" >"$T/$p.vg.txt" 2>&1) || true
    vg_num() {   # vg_num LABEL: "bytes blocks" after "LABEL: N bytes in M blocks"
        local v
        v=$(sed -n "s/.*$1: \([0-9,]*\) bytes in \([0-9,]*\) blocks.*/\1 \2/p" "$T/$p.vg.txt" | head -n 1)
        v=${v//,/}
        echo "${v:-0 0}"
    }
    read -r vg_use vg_useb < <(vg_num 'in use at exit')
    read -r vg_def _ < <(vg_num 'definitely lost')
    read -r vg_ind _ < <(vg_num 'indirectly lost')
    read -r vg_reach _ < <(vg_num 'still reachable')
    vg_abort=$(sed -n 's/.*Program aborting because of call to \([a-z_]*\).*/\1/p' "$T/$p.vg.txt" | head -n 1)

    # valgrind massif: highest mem_heap_B over the snapshots it took
    (cd "$T" && env "${envs[@]}" valgrind --tool=massif --massif-out-file="$T/$p.massif" \
        "./$p" >"$T/$p.ms.log" 2>&1) || true
    ms_peak="?" ms_snaps=0
    if [ -f "$T/$p.massif" ]; then
        ms_peak=$(sed -n 's/^mem_heap_B=//p' "$T/$p.massif" | sort -n | tail -n 1)
        ms_snaps=$(grep -c '^snapshot=' "$T/$p.massif" || true)
    fi
}

# --- the fixture programs ----------------------------------------------------

printf 'leakdiff vs peers on %s (live B(blocks) / peak B; "-" = not stated/not reported)\n' \
    "${PROGS#"$ROOT"/}"
fmt='%-13s %-14s %-15s %-17s %-15s %-15s %s\n'
# shellcheck disable=SC2059
printf "$fmt" program truth leakdiff 'heaptrack leak/pk' 'memcheck d/i/r' 'massif peak' 'mtrace.pl'
notes=()
declare -A T_LIVE T_PEAK LD HT MS

for src in "$PROGS"/*.c; do
    p=$(basename "$src" .c)
    cc "${CFLAGS[@]}" -o "$T/$p" "$src"
    c=$(comment "$src")
    t_live=$(sed -E -n 's/.*[Ll]ive ([0-9]+)( B in ([0-9]+) blocks?)?.*/\1 \3/p' <<<"$c")
    t_own=""
    if [ -z "$t_live" ]; then
        t_live=$(sed -E -n 's/.* leaks ([0-9]+) B in ([0-9]+) blocks.*/\1 \2/p' <<<"$c")
        [ -n "$t_live" ] && t_own="+libc"
    fi
    read -r tb tn <<<"${t_live:-- -}"
    [ "$tb" = 0 ] && tn=0
    t_peak=$(sed -E -n 's/.*peak ([0-9]+) B.*/\1/p' <<<"$c")
    T_LIVE[$p]=$tb T_PEAK[$p]=${t_peak:--}

    run_all "$p"

    LD[$p]="$ld_live $ld_blocks $ld_peak"
    HT[$p]="$ht_leak $ht_peak $ht_calls"
    MS[$p]="$ms_peak"
    tilde=""; [ "$ht_peak_raw" != "${ht_peak_raw%[KMG]}" ] && tilde="~"
    vgcell="$vg_def/$vg_ind/$vg_reach"
    if [ -n "$vg_abort" ]; then
        vgcell+="!"
        notes+=("! memcheck aborted $p at its call to $vg_abort (in use at exit: $vg_use B in $vg_useb blocks)")
    fi
    [ -n "$t_own" ] && notes+=("$p: truth is for its own sites; libc's pthread allocations come on top")
    # shellcheck disable=SC2059
    printf "$fmt" "$p" "$tb($tn)$t_own/${t_peak:--}" "$ld_live($ld_blocks)/$ld_peak" \
        "$ht_leak($ht_lcalls)/$tilde$ht_peak" "$vgcell" "$ms_peak n=$ms_snaps" \
        "$mt_live($mt_blocks)"
done

# --- the extra program: an address freed twice and handed out twice ----------

cat >"$T/overfree.c" <<'EOF'
/* Over-release: p freed twice (glibc does not notice with the tcache off:
 * fastbin p -> q -> p), then malloc hands p out twice. Truth: allocs 5,
 * frees 3 of which 1 is a double free; the program ends holding 3 pointers
 * to 2 blocks (48 B), one block handed out twice. Exit 0 when it was. */
#include <mcheck.h>
#include <stdlib.h>
#include <unistd.h>

static void *keep[3];

int main(void)
{
    mtrace();
    char *p = malloc(24), *q = malloc(24);
    free(p);
    free(q);
    free(p);
    keep[0] = malloc(24);
    keep[1] = malloc(24);
    keep[2] = malloc(24);
    muntrace();
    _exit(keep[0] != keep[2]); /* no exit handlers on the looped fastbin */
}
EOF
cc "${CFLAGS[@]}" -o "$T/overfree" "$T/overfree.c"
# heaptrack and valgrind are not run on it: heaptrack's exit code trips over
# the looped fastbin (abort, empty data), and memcheck never reuses addresses.
SKIP_PEERS=1 run_all overfree GLIBC_TUNABLES=glibc.malloc.tcache_count=0
of_rc=$rc_mt
# shellcheck disable=SC2059
printf "$fmt" overfree '48(2)*/48' "$ld_live($ld_blocks)/$ld_peak" '(not run)' '(not run)' \
    '(not run)' "$mt_live($mt_blocks)"
notes+=("* overfree (extra, temp dir): 3 pointers kept, 2 blocks; leakdiff: double_frees=$ld_dfree reused_live=$ld_reused")
notes+=("heaptrack peak: minus its ${HT_POOL} B libstdc++ pool, ~ = from SI units (K = 1000); (n) after leak = calls; massif n = snapshots")
printf '%s\n' "${notes[@]}"

# --- the claims ------------------------------------------------------------

verdicts=()
claim() {   # claim N TEXT VERDICT MEASURED
    printf 'CLAIM %s %s: %s -- %s\n' "$1" "$2" "$3" "$4"
    verdicts+=("$(printf '%-2s %-44s %s' "$1" "$2" "$3")")
}

# 1. heaptrack, realloc(p, 0)
read -r h_leak _ _ <<<"${HT[realloc_chain]}"
rc_src=$PROGS/realloc_chain.c
ln=$(lineof "$rc_src" '= *realloc\(NULL')
t=${T_LIVE[realloc_chain]}
if [ "$h_leak" = "?" ] || [ "$t" = "-" ]; then
    claim 1 "heaptrack: false leak on realloc(p, 0)" "NOT MEASURED" "no heaptrack figure"
else
    listed=$(awk -v l="realloc_chain.c:$ln" '/^MEMORY LEAKS/ { on = 1 } /^MOST TEMPORARY/ { on = 0 }
        on && / leaked over .* from$/ { last = $1 } on && $0 ~ (l "$") { print last; exit }' \
        "$T/realloc_chain.htp.txt")
    extra=$((h_leak - t))
    m="heaptrack leaked $h_leak B, truth $t B (leakdiff ${LD[realloc_chain]%% *} B): ${extra} B extra"
    if [ -n "$listed" ]; then
        m+=", listed as $listed leaked at realloc_chain.c:$ln (the block later given to realloc(q, 0))"
    fi
    if [ $extra -gt 0 ] && [ -n "$listed" ]; then
        v="CONFIRMED"
        if [ $extra -lt 48 ] || [ $extra -gt 80 ]; then
            m+="; its size is that block's ($extra B), not ~64 B"
        fi
    else
        v="NOT CONFIRMED"
    fi
    claim 1 "heaptrack: false leak on realloc(p, 0)" "$v" "$m"
fi

# 2. heaptrack, memalign
al_src=$PROGS/aligned.c
ln_ma=$(lineof "$al_src" '= *memalign\(')
ln_pv=$(lineof "$al_src" '= *pvalloc\(')
ma_size=$(sed -n "${ln_ma}s/.*memalign([^,]*, *\([0-9]*\)).*/\1/p" "$al_src")
read -r h_leak _ h_calls <<<"${HT[aligned]}"
if [ ! -s "$T/aligned.htp.txt" ]; then
    claim 2 "heaptrack: misses memalign" "NOT MEASURED" "no heaptrack output"
else
    seen_ma=no seen_pv=no
    grep -q "aligned\.c:$ln_ma\$" "$T/aligned.htp.txt" && seen_ma=yes
    grep -q "aligned\.c:$ln_pv\$" "$T/aligned.htp.txt" && seen_pv=yes
    t=${T_LIVE[aligned]}
    m="heaptrack leaked $h_leak B, truth $t B (-$((t - h_leak)) B; memalign kept $ma_size B);"
    m+=" memalign (aligned.c:$ln_ma) in its report: $seen_ma, pvalloc (:$ln_pv): $seen_pv;"
    m+=" $h_calls calls counted incl. its pool, the program makes 6"
    if [ $seen_ma = no ] && [ $((t - h_leak)) = "$ma_size" ]; then v="CONFIRMED"; else v="NOT CONFIRMED"; fi
    claim 2 "heaptrack: misses memalign" "$v" "$m"
fi

# 3. massif, peak
mp=${MS[peak]} tp=${T_PEAK[peak]}
if [ "$mp" = "?" ] || [ "$tp" = "-" ]; then
    claim 3 "massif: sampled/approximate peak" "NOT MEASURED" "no massif figure"
else
    m="massif max mem_heap_B $mp B, truth $tp B, leakdiff ${LD[peak]##* } B"
    m+=" (diff $((mp - tp)) B; heaptrack ~$(read -r _ x _ <<<"${HT[peak]}"; echo "$x") B)"
    if [ "$mp" != "$tp" ]; then v="CONFIRMED"; else
        v="NOT CONFIRMED"; m+="; exact here: every allocation grows the heap by > 1% (massif's --peak-inaccuracy)"
    fi
    claim 3 "massif: sampled/approximate peak" "$v" "$m"
fi

# 4. glibc mtrace script: reused addresses, over-release
if [ "$of_rc" != 0 ]; then
    claim 4a "mtrace.pl: merges reused addresses" "NOT MEASURED" "the allocator did not hand out an address twice (exit $of_rc)"
    claim 4b "mtrace.pl: misses over-release" "NOT MEASURED" "idem"
else
    dup=$(grep -c 'duplicate' "$T/overfree.mtpl.txt" || true)
    m="3 allocations at 2 addresses never freed; mtrace.pl lists $mt_blocks ($mt_live B), $dup 'duplicate' warning(s);"
    m+=" leakdiff $ld_blocks blocks ($ld_live B), reused_live=$ld_reused"
    if [ "$mt_blocks" -lt 3 ] && [ "$dup" -gt 0 ]; then v="CONFIRMED"; else v="NOT CONFIRMED"; fi
    claim 4a "mtrace.pl: merges reused addresses" "$v" "$m"
    df=$(sed -n "s/^- 0x[0-9a-f]* \(Free [0-9]* was never alloc'd\).*/\1/p" "$T/overfree.mtpl.txt" | head -n 1)
    if [ -n "$df" ]; then
        claim 4b "mtrace.pl: misses over-release" "NOT CONFIRMED" \
            "it flags the 2nd free, but as \"$df\" (not as a double free); leakdiff: double_frees=$ld_dfree"
    else
        claim 4b "mtrace.pl: misses over-release" "CONFIRMED" "no line for the 2nd free; leakdiff: double_frees=$ld_dfree"
    fi
fi

printf '\nSUMMARY\n'
printf '%s\n' "${verdicts[@]}"
exit 0
