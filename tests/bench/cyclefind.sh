#!/usr/bin/env bash
# cyclefind.sh — cyclefind against python-igraph, networkx and graphviz's
# sccmap. usage: tests/bench/cyclefind.sh [BUILD_DIR]   (default build)
#
# Data (in $BENCH_DIR/graph, default /tmp/memkit-bench/graph; never
# committed), all from tests/bench/gengraph.c, seed 1, regenerated only when
# graph.stamp (the sizes and gengraph.c's md5) says otherwise:
#   random.txt  1 M nodes 0..N-1, 5 M uniformly random edges   (+ random.dot)
#   heap.txt    a 2 M node object-graph forest (0x7f... and Type#123 names,
#               labelled edges) with 500 planted disjoint cycles of lengths
#               1..50                                          (+ heap.dot)
#               heap.ncol: the same without labels, for igraph, whose NCOL
#               reader takes a third column for a weight and fails on names
#   dense-N-P.txt  dense digraphs (N nodes, edge i->j with P percent) with
#               1.5 M (12-60) and 1.7 M (16-35) simple cycles
#   chain.txt, ring.txt   0 -> 1 -> ... -> 10 M-1, and the same closed
#
# Timed (RUNS, default 3, interleaved; median of wall, CPU = user + sys of
# the whole process tree, and peak RSS, all from /usr/bin/time):
#   random and heap graphs:
#     cyclefind -f json FILE          the reference (cyclefind -f json on the
#                                     DOT form too)
#     python-igraph  Read_Ncol(directed) + components(mode="strong")
#     networkx       read_edgelist(comments=None) + strongly_connected_components
#     sccmap -s FILE.dot              statistics only: less output than the
#                                     others; timeout SCCMAP_TIMEOUT (300 s);
#                                     a crash or timeout is reported, no error
#     wc -l FILE                      the reading limit
#   (the Python peers run tests/bench/cyclefind-peers.py under Debian's
#   /usr/bin/python3, start-up and import included: end to end)
#   dense graphs: cyclefind --all-cycles -f json against networkx
#     simple_cycles, in cycles per second
#   chain and ring: cyclefind FILE, which must exit 0 (chain) and 1 (ring)
# A check pass first (also the warm-up): the number of cyclic strongly
# connected components (more than one node, or a self-loop) from igraph and
# networkx equals cyclefind's "cyclic_sccs" and, on the heap graph, the
# planted count; cyclefind's "cycles_total" equals networkx's count of simple
# cycles. It also shows once what networkx's default comments='#' does to
# names like Type#123.
#
# Targets (issue): end to end >= 10x faster than igraph and >= 50x faster
# than networkx on both graphs (wall and CPU); peak RSS <= 1/4 of igraph's;
# --all-cycles >= 10x networkx's cycles/s. Printed with ✔ / ✘.
#
# Knobs: RUNS (3); BENCH_DIR (/tmp/memkit-bench); SKIP_NX=1 skips networkx
# on the random and heap graphs (about a minute a run on the random one),
# SKIP_NX=all everywhere; SMALL=1 tiny sizes (in $BENCH_DIR/graph-small) to
# try the script; SCCMAP_TIMEOUT (300). Without BUILD_DIR/bin/cyclefind the
# peers alone are run (a note says so). Missing Debian packages
# (python3-igraph python3-networkx graphviz) are installed with apt-get.
# Exit status: 0; 1 when the check pass disagrees (MISMATCH) or cyclefind,
# igraph, networkx or wc failed; 2 on a usage or set-up error.
set -euo pipefail

die() { printf 'cyclefind.sh: %s\n' "$*" >&2; exit 2; }
have() { command -v "$1" > /dev/null 2>&1; }

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT/tests/bench/lib.bash"
case $B in /*) ;; *) B=$ROOT/$B ;; esac
CF=$B/bin/cyclefind
PY=/usr/bin/python3
PEERS=$ROOT/tests/bench/cyclefind-peers.py
RUNS=${RUNS:-3}
SKIP_NX=${SKIP_NX:-0}
SMALL=${SMALL:-0}
SCCMAP_TIMEOUT=${SCCMAP_TIMEOUT:-300}
SEED=1
if [ "$SMALL" = 1 ]; then
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/graph-small
    RN=10000 RM=50000 HN=20000 HC=50 LONG=100000 DENSE="8-60 9-45"
else
    DIR=${BENCH_DIR:-/tmp/memkit-bench}/graph
    RN=1000000 RM=5000000 HN=2000000 HC=500 LONG=10000000 DENSE="12-60 16-35"
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive number"
[ -x "$PY" ] || die "$PY not found (Debian's python3)"
mkdir -p "$DIR"
cd "$DIR"

need=()
"$PY" -c 'import igraph' 2> /dev/null || need+=(python3-igraph)
"$PY" -c 'import networkx' 2> /dev/null || need+=(python3-networkx)
have sccmap || need+=(graphviz)
if ((${#need[@]})); then
    echo "installing ${need[*]} ..."
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" ||
        { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"; }; } \
        > apt.log 2>&1 || die "could not install ${need[*]} (see $DIR/apt.log)"
fi
HAVE_CF=1
if [ ! -x "$CF" ]; then
    HAVE_CF=0
    echo "note: $CF is not built yet: cyclefind is skipped, the peers run alone"
fi
NX=1 NXC=1
[ "$SKIP_NX" = 1 ] && NX=0
[ "$SKIP_NX" = all ] && NX=0 NXC=0

# ---- data ----------------------------------------------------------------------
cc -O2 -o gengraph "$ROOT/tests/bench/gengraph.c"
stamp="random $RN $RM heap $HN $HC long $LONG dense $DENSE seed $SEED $(md5sum < "$ROOT/tests/bench/gengraph.c" | cut -c1-8)"
if [ "$(cat graph.stamp 2> /dev/null)" != "$stamp" ]; then
    rm -f graph.stamp
    echo "generating the graphs in $DIR ..."
    ./gengraph random "$RN" "$RM" "$SEED" > random.txt
    ./gengraph dot random "$RN" "$RM" "$SEED" > random.dot
    ./gengraph heap "$HN" "$HC" "$SEED" > heap.txt 2> heap.planted
    ./gengraph dot heap "$HN" "$HC" "$SEED" > heap.dot 2> /dev/null
    cut -d' ' -f1,2 heap.txt > heap.ncol
    ./gengraph chain "$LONG" > chain.txt
    ./gengraph ring "$LONG" > ring.txt
    for d in $DENSE; do
        ./gengraph dense "${d%-*}" "${d#*-}" "$SEED" > "dense-$d.txt"
    done
    echo "$stamp" > graph.stamp
fi
planted=$(awk '{ print $2 }' heap.planted)

# ---- helpers -------------------------------------------------------------------
failed=0
# why OK_STATUSES RC: nothing when RC is one of OK_STATUSES, else what happened
why() {
    case " $1 " in *" $2 "*) return 0 ;; esac
    if [ "$2" = 124 ]; then
        echo "timeout"
    elif [ "$2" -gt 128 ]; then
        echo "crashed (SIG$(kill -l $(($2 - 128)) 2> /dev/null || echo $(($2 - 128))))"
    else
        echo "failed (exit $2)"
    fi
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b <= 0) print "-"; else if (a / b < 1) printf "%.2f", a / b; else printf "%.1f", a / b }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
mb() { stat -c %s "$1" | awk '{ printf "%.1f", $1 / 1e6 }'; }

# the tools of one table: add NAME CMD OK_STATUSES FATAL(1: its failure fails
# the script)
names=() cmds=() oks=() fatal=()
reset() { names=() cmds=() oks=() fatal=(); }
add() { names+=("$1"); cmds+=("$2"); oks+=("$3"); fatal+=("$4"); }

# bench: RUNS interleaved runs of the tools; a tool that fails is not run
# again. Fills MW MC MR (medians) and ST (what went wrong, or empty).
bench() {
    local i r
    declare -gA W=() C=() R=()
    ST=() MW=() MC=() MR=()
    for ((r = 1; r <= RUNS; r++)); do
        echo "  timed run $r of $RUNS ..."
        for ((i = 0; i < ${#cmds[@]}; i++)); do
            [ -n "${ST[i]:-}" ] && continue
            run "${cmds[i]}"
            ST[i]=$(why "${oks[i]}" "$rc")
            if [ -n "${ST[i]}" ]; then
                W[$i]="$w" C[$i]="$c" R[$i]="$m"
                [ "${fatal[i]}" = 1 ] && { echo "  ${names[i]}: ${ST[i]}: $(head -c 300 err.txt)"; failed=1; }
                continue
            fi
            W[$i]+="$w " C[$i]+="$c " R[$i]+="$m "
        done
    done
    for ((i = 0; i < ${#cmds[@]}; i++)); do
        MW[i]=$(median <<< "${W[$i]}") MC[i]=$(median <<< "${C[$i]}") MR[i]=$(median <<< "${R[$i]}")
    done
}

# table [plain]: the medians; ratios peer / cyclefind (the tool at index 0)
# when cyclefind is there, unless plain
table() {
    local i
    printf '  %-26s %8s %8s %9s %8s %8s %8s\n' tool wall_s cpu_s rss_MiB wall_x cpu_x rss_x
    for ((i = 0; i < ${#cmds[@]}; i++)); do
        if [ -n "${ST[i]}" ]; then
            printf '  %-26s %s after %s s wall, %s s CPU, %s MiB\n' "${names[i]}" "${ST[i]}" "${MW[i]}" "${MC[i]}" "$(mib "${MR[i]}")"
        elif [ "$HAVE_CF" = 1 ] && [ "$i" != 0 ] && [ -z "${ST[0]}" ] && [ "${1:-}" != plain ]; then
            printf '  %-26s %8s %8s %9s %8s %8s %8s\n' "${names[i]}" "${MW[i]}" "${MC[i]}" "$(mib "${MR[i]}")" \
                "$(ratio "${MW[i]}" "${MW[0]}")x" "$(ratio "${MC[i]}" "${MC[0]}")x" "$(ratio "${MR[i]}" "${MR[0]}")x"
        else
            printf '  %-26s %8s %8s %9s %8s %8s %8s\n' "${names[i]}" "${MW[i]}" "${MC[i]}" "$(mib "${MR[i]}")" - - -
        fi
    done
}
idx() { local i; for ((i = 0; i < ${#names[@]}; i++)); do [ "${names[i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
mismatch() { echo "  MISMATCH: $*"; exit 1; }

# results for the targets: T[graph,tool,wall|cpu|rss]
declare -A T=()
keep() { # GRAPH TOOLNAME KEY
    local i; i=$(idx "$2")
    [ "$i" -ge 0 ] && [ -z "${ST[i]}" ] && T[$1,$3,wall]=${MW[i]} T[$1,$3,cpu]=${MC[i]} T[$1,$3,rss]=${MR[i]}
    return 0
}

# ---- random and heap graphs ------------------------------------------------
scc_graph() { # NAME EDGELIST NCOL DOT PLANTED(or empty)
    local g=$1 file=$2 ncol=$3 dotf=$4 want=$5 cf_n="" cfd_n="" ig_n ig_v ig_e nx_n
    local edges; edges=$(wc -l < "$file")
    echo
    echo "== $g: check pass (also the warm-up) =="
    if [ "$HAVE_CF" = 1 ]; then
        run "'$CF' -f json '$file'"
        [ -n "$(why "0 1" "$rc")" ] && mismatch "cyclefind $(why "0 1" "$rc") on $file: $(head -c 300 err.txt)"
        cp out.txt cf.json
        cf_n=$("$PY" "$PEERS" json cyclic_sccs cf.json) || mismatch "no cyclic_sccs in cyclefind's JSON"
        [ "$rc" = $((cf_n > 0 ? 1 : 0)) ] || mismatch "cyclefind exit status $rc with $cf_n cyclic SCCs"
        run "'$CF' -f json '$dotf'"
        [ -n "$(why "0 1" "$rc")" ] && mismatch "cyclefind $(why "0 1" "$rc") on $dotf: $(head -c 300 err.txt)"
        cfd_n=$("$PY" "$PEERS" json cyclic_sccs out.txt) || mismatch "no cyclic_sccs in cyclefind's JSON (DOT)"
    fi
    run "'$PY' '$PEERS' igraph '$ncol'"
    [ "$rc" = 0 ] || mismatch "igraph $(why 0 "$rc"): $(tail -c 300 err.txt)"
    read -r ig_n ig_v ig_e < out.txt
    local line="igraph $ig_n"
    if [ "$NX" = 1 ]; then
        run "'$PY' '$PEERS' networkx '$file'"
        [ "$rc" = 0 ] || mismatch "networkx $(why 0 "$rc"): $(tail -c 300 err.txt)"
        read -r nx_n _ _ < out.txt
        line+=", networkx $nx_n"
        [ "$nx_n" = "$ig_n" ] || mismatch "cyclic SCCs: $line"
    fi
    if [ -n "$cf_n" ]; then
        line="cyclefind $cf_n (on the DOT form $cfd_n), $line"
        [ "$cf_n" = "$ig_n" ] && [ "$cfd_n" = "$ig_n" ] || mismatch "cyclic SCCs: $line"
    fi
    if [ -n "$want" ]; then
        line+=", planted $want"
        [ "$want" = "$ig_n" ] || mismatch "cyclic SCCs: $line"
    fi
    echo "  cyclic SCCs: $line: agree"
    [ "$ig_e" = "$edges" ] || echo "  note: igraph read $ig_e edges, the file has $edges lines"
    if [ "$g" = heap ] && [ "$NXC" = 1 ]; then
        local lim=$((edges < 200000 ? edges : 200000)) a b c d
        run "'$PY' '$PEERS' nx-comments '$file' $lim"
        read -r a b c d < out.txt || true
        echo "  networkx read_edgelist on the first $lim lines: with its default comments='#' $a nodes, $b edges;"
        echo "    with comments=None $c nodes, $d edges (the default cuts each line at its first '#': Type#123 as"
        echo "    the source drops the edge, as the destination leaves an edge to a node named Type)"
    fi

    reset
    if [ "$HAVE_CF" = 1 ]; then
        add "cyclefind -f json" "'$CF' -f json '$file'" "0 1" 1
        add "cyclefind -f json (DOT)" "'$CF' -f json '$dotf'" "0 1" 1
    fi
    add "python-igraph" "'$PY' '$PEERS' igraph '$ncol'" 0 1
    [ "$NX" = 1 ] && add "networkx" "'$PY' '$PEERS' networkx '$file'" 0 1
    add "sccmap -s (DOT)" "timeout $SCCMAP_TIMEOUT sccmap -s '$dotf'" 0 0
    add "wc -l" "wc -l '$file'" 0 1
    bench
    echo
    echo "$g: $ig_v nodes, $edges edges ($(mb "$file") MB as edge list, $(mb "$dotf") MB as DOT), $ig_n cyclic SCCs; median of $RUNS runs"
    [ "$ncol" != "$file" ] && echo "  (igraph reads $(basename "$ncol"), the same edges without labels: $(mb "$ncol") MB)"
    table
    if [ "$HAVE_CF" = 1 ] && [ -z "${ST[0]}" ]; then
        echo "  cyclefind peak RSS: $(awk -v k="${MR[0]}" -v e="$edges" 'BEGIN { printf "%.0f", k * 1024 / e }') bytes per edge"
    fi
    keep "$g" "cyclefind -f json" cf
    keep "$g" "python-igraph" ig
    keep "$g" "networkx" nx
}

scc_graph random random.txt random.txt random.dot ""
scc_graph heap heap.txt heap.ncol heap.dot "$planted"

# ---- elementary cycles -----------------------------------------------------
for d in $DENSE; do
    f=dense-$d.txt
    echo
    echo "== dense $d: check pass (also the warm-up) =="
    cf_n="" nx_n=""
    if [ "$HAVE_CF" = 1 ]; then
        run "'$CF' --all-cycles -f json '$f'"
        [ -n "$(why "0 1" "$rc")" ] && mismatch "cyclefind --all-cycles $(why "0 1" "$rc"): $(head -c 300 err.txt)"
        cp out.txt cfc.json
        cf_n=$("$PY" "$PEERS" json cycles_total cfc.json) || mismatch "no cycles_total in cyclefind's JSON"
    fi
    if [ "$NXC" = 1 ]; then
        run "'$PY' '$PEERS' nx-cycles '$f'"
        [ "$rc" = 0 ] || mismatch "networkx simple_cycles $(why 0 "$rc"): $(tail -c 300 err.txt)"
        nx_n=$(cat out.txt)
    fi
    if [ -n "$cf_n" ] && [ -n "$nx_n" ]; then
        [ "$cf_n" = "$nx_n" ] || mismatch "simple cycles: cyclefind $cf_n, networkx $nx_n"
        echo "  simple cycles: cyclefind $cf_n, networkx $nx_n: agree"
    else
        echo "  simple cycles: ${cf_n:+cyclefind $cf_n}${nx_n:+networkx $nx_n} (nothing to compare with)"
    fi
    n=${cf_n:-$nx_n}
    [ -n "$n" ] || continue
    reset
    [ "$HAVE_CF" = 1 ] && add "cyclefind --all-cycles" "'$CF' --all-cycles -f json '$f'" "0 1" 1
    [ "$NXC" = 1 ] && add "networkx simple_cycles" "'$PY' '$PEERS' nx-cycles '$f'" 0 1
    bench
    echo
    echo "dense $d: ${d%-*} nodes, $(wc -l < "$f") edges, $n simple cycles; median of $RUNS runs"
    table
    for ((i = 0; i < ${#cmds[@]}; i++)); do
        [ -z "${ST[i]}" ] && printf '  %-26s %12.0f cycles/s\n' "${names[i]}" "$(awk -v n="$n" -v w="${MW[i]}" 'BEGIN { print (w > 0 ? n / w : 0) }')"
    done
    keep "dense-$d" "cyclefind --all-cycles" cf
    keep "dense-$d" "networkx simple_cycles" nx
    T[dense-$d,n]=$n
done

# ---- a long chain and ring -------------------------------------------------
if [ "$HAVE_CF" = 1 ]; then
    echo
    echo "== chain and ring of $LONG nodes =="
    reset
    add "cyclefind chain.txt" "'$CF' chain.txt" 0 1
    add "cyclefind ring.txt" "'$CF' ring.txt" 1 1
    bench
    echo
    echo "chain and ring: $LONG nodes ($(mb chain.txt) MB); cyclefind must exit 0 on the chain, 1 on the ring; median of $RUNS runs"
    table plain
    for ((i = 0; i < ${#cmds[@]}; i++)); do
        [ -z "${ST[i]}" ] && printf '  %-26s %s bytes per edge\n' "${names[i]}" \
            "$(awk -v k="${MR[i]}" -v e="$LONG" 'BEGIN { printf "%.0f", k * 1024 / e }')"
    done
fi

# ---- targets -----------------------------------------------------------------
echo
echo "targets (issue):"
[ "$SMALL" = 1 ] && echo "  (SMALL=1: Python's start-up dominates these sizes; the marks say little)"
mark() { awk -v v="$1" -v l="$2" 'BEGIN { exit !(v >= l) }' && echo "✔" || echo "✘"; }
if [ "$HAVE_CF" = 0 ]; then
    echo "  not measured: cyclefind is not built"
    exit $failed
fi
for g in random heap; do
    for p in ig:python-igraph:10 nx:networkx:50; do
        k=${p%%:*} rest=${p#*:} peer=${rest%:*} lim=${p##*:}
        if [ -z "${T[$g,cf,wall]:-}" ] || [ -z "${T[$g,$k,wall]:-}" ]; then
            echo "  -  $g: cyclefind >= ${lim}x faster than $peer: not measured"
            continue
        fi
        rw=$(ratio "${T[$g,$k,wall]}" "${T[$g,cf,wall]}") rc_=$(ratio "${T[$g,$k,cpu]}" "${T[$g,cf,cpu]}")
        low=$(awk -v a="$rw" -v b="$rc_" 'BEGIN { print (a < b ? a : b) }')
        echo "  $(mark "$low" "$lim") $g: cyclefind >= ${lim}x faster than $peer: ${rw}x wall, ${rc_}x CPU"
    done
    if [ -n "${T[$g,cf,rss]:-}" ] && [ -n "${T[$g,ig,rss]:-}" ]; then
        r=$(ratio "${T[$g,ig,rss]}" "${T[$g,cf,rss]}")
        echo "  $(mark "$r" 4) $g: peak RSS <= 1/4 of igraph's: $(mib "${T[$g,cf,rss]}") MiB vs $(mib "${T[$g,ig,rss]}") MiB (1/${r})"
    else
        echo "  -  $g: peak RSS <= 1/4 of igraph's: not measured"
    fi
done
for d in $DENSE; do
    if [ -n "${T[dense-$d,cf,wall]:-}" ] && [ -n "${T[dense-$d,nx,wall]:-}" ]; then
        r=$(ratio "${T[dense-$d,nx,wall]}" "${T[dense-$d,cf,wall]}")
        echo "  $(mark "$r" 10) dense $d: --all-cycles >= 10x networkx's cycles/s: ${r}x"
    else
        echo "  -  dense $d: --all-cycles >= 10x networkx's cycles/s: not measured"
    fi
done
exit $failed
