#!/usr/bin/env bash
# chunkproc.sh — chunkproc against awk, Miller, datamash and DuckDB (issue 4,
# "Speed and memory"). usage: tests/bench/chunkproc.sh [BUILD_DIR]
#
# Data: the seeded web-log CSV of read.sh, shared with it in $BENCH_DIR
# (default /tmp/memkit-bench; never committed): big.csv from
# `gencsv $ROWS 1` (ROWS default 16700000, ~1.2 GB) and its `zstd -3` copy
# big.csv.zst; regenerated only when big.rows says another size.
#
# Tasks (each tool that can do them):
#   A  group by region: count, sum(bytes), mean/min/max(latency_ms)
#   B  exact distinct user_id
#   C  p50 and p99 of latency_ms per region (chunkproc sketch and --exact)
#   D  status >= 500, project ts,path,status (output to /dev/null)
#   E  group by user_id (~2 M groups): count, sum(bytes) — chunkproc on the
#      plain file at the default --memory (its state spills to disk) against
#      DuckDB; the target is bounded memory (peak RSS < 100 MiB), not speed
# Inputs: chunkproc -j 2 on big.csv; with the default -j on big.csv.zst, on
# it as standard input (`chunkproc < big.csv.zst`) and from
# `zstd -dc | chunkproc`;
# DuckDB (explicit column types, threads=2) on big.csv, big.csv.zst and
# through `zstd -dc |` (the issue's "DuckDB through a pipe"; a ratio, no
# target of its own); mawk,
# Miller, datamash and `cut | sort -u` on big.csv. Limits: `zstd -dc big.csv.zst
# | wc -l` and `wc -l big.csv`. Peers that are not installed are skipped with a
# note; nothing is installed here. DuckDB is the npm package @duckdb/node-api
# in $BENCH_DIR/duckdb (setup: npm install --prefix $BENCH_DIR/duckdb
# @duckdb/node-api); the script writes its runner $BENCH_DIR/duckdb/run.mjs.
#
# Method: one untimed pass of every command (warm-up, and its output is kept to
# check that the tools agree: A's counts and sums, also mean/min/max; B's count;
# C's exact quantiles, sketches within their 1 % bound; D's row count — a loud
# MISMATCH line otherwise), then $RUNS timed runs interleaved in one loop, all
# output to /dev/null. /usr/bin/time gives wall, CPU = user + sys and peak RSS
# (of the largest process of a pipeline); medians are printed with MB/s of the
# uncompressed size, speed ratios (peer wall / chunkproc wall, > 1 = chunkproc
# faster) and the issue's targets marked MET / NOT MET.
#
# Environment: BENCH_DIR, ROWS, RUNS (default 3), TASKS (default ABCDE: the
# tasks to run, e.g. TASKS=E), QUICK=1 (smoke run on 500000
# rows in $BENCH_DIR/quick, so the shared full-size files stay), CP_FALLBACK
# (default 1G), MLR_C=0|1 (Miller's percentiles keep every value, ~11 × the
# input: by default skipped when MemAvailable is short of that).
# Exit status: 0, or 1 when results disagree between tools or chunkproc failed.
# shellcheck disable=SC2016  # awk, mlr and SQL text in single quotes on purpose
set -euo pipefail

die() { printf 'chunkproc.sh: %s\n' "$*" >&2; exit 2; }
have() { command -v "$1" > /dev/null 2>&1; }

B=${1:-build}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
case $B in /*) ;; *) B=$ROOT/$B ;; esac
BASE=${BENCH_DIR:-/tmp/memkit-bench}
case $BASE in /*) ;; *) BASE=$PWD/$BASE ;; esac
QUICK=${QUICK:-0}
RUNS=${RUNS:-3}
TASKS=${TASKS:-ABCDE}
CP_FALLBACK=${CP_FALLBACK:-1G}
MLR_C=${MLR_C:-auto}
if [ "$QUICK" = 1 ]; then
    ROWS=500000
    DIR=$BASE/quick
else
    ROWS=${ROWS:-16700000}
    DIR=$BASE
fi
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "RUNS must be a positive integer, not '$RUNS'"
[[ $ROWS =~ ^[1-9][0-9]*$ ]] || die "ROWS must be a positive integer, not '$ROWS'"
case $BASE in *\'* | *$'\n'*) die "BENCH_DIR must not contain a quote or a newline (it goes into SQL)" ;; esac
CP=$B/bin/chunkproc
[ -x "$CP" ] || die "$CP not found: run make first"
[ -x /usr/bin/time ] || die "/usr/bin/time is missing (Debian: apt-get install time)"
F=$DIR/big.csv
Z=$DIR/big.csv.zst
WORK=$DIR/chunkproc
DUCK_DIR=$BASE/duckdb
mkdir -p "$WORK/out"
rm -f "$WORK"/*.times "$WORK"/err.* "$WORK"/out/*

# ---- data (as read.sh) --------------------------------------------------------
if [ ! -s "$F" ] || [ ! -s "$Z" ] || [ "$(cat "$DIR/big.rows" 2> /dev/null)" != "$ROWS" ]; then
    have cc || die "a C compiler (cc) is needed to build the generator"
    have zstd || die "zstd is needed to make big.csv.zst (Debian: apt-get install zstd)"
    cc -O2 -o "$DIR/gencsv" "$ROOT/tests/bench/gencsv.c"
    echo "generating $ROWS rows into $F ..." >&2
    rm -f "$DIR/big.rows"
    "$DIR/gencsv" "$ROWS" 1 > "$F"
    zstd -q -3 -T0 -f "$F" -o "$Z"
    echo "$ROWS" > "$DIR/big.rows"
fi
size=$(stat -c %s "$F")
zsize=$(stat -c %s "$Z")

# ---- peers ----------------------------------------------------------------------
skipped=()
skip() { skipped+=("$1"); printf 'skip: %s\n' "$1"; }
HAVE_ZSTD=0 HAVE_MAWK=0 HAVE_MLR=0 HAVE_DATAMASH=0 HAVE_DUCK=0 HAVE_SORT=0 HAVE_WC=0
if have zstd; then HAVE_ZSTD=1; else skip "zstd missing: no 'zstd -dc | wc -l' limit and no 'zstd -dc | chunkproc' (apt-get install zstd)"; fi
if have wc; then HAVE_WC=1; else skip "wc missing: no 'wc -l' limit"; fi
if have mawk; then HAVE_MAWK=1; else skip "mawk missing (apt-get install mawk)"; fi
if have mlr; then HAVE_MLR=1; else skip "Miller (mlr) missing (apt-get install miller)"; fi
if have datamash; then HAVE_DATAMASH=1; else skip "datamash missing (apt-get install datamash)"; fi
if have cut && have sort && have grep; then HAVE_SORT=1; else skip "cut/sort/grep missing: no 'cut | sort -u' for B"; fi
if ! have node; then
    skip "DuckDB: node missing (apt-get install nodejs npm; then npm install --prefix $DUCK_DIR @duckdb/node-api)"
elif [ ! -f "$DUCK_DIR/node_modules/@duckdb/node-api/package.json" ]; then
    skip "DuckDB: @duckdb/node-api not installed; setup step: npm install --prefix $DUCK_DIR @duckdb/node-api"
else
    HAVE_DUCK=1
fi
versions="chunkproc $("$CP" --version 2>&1 | sed -n 1p)"
[ "$HAVE_ZSTD" = 0 ] || versions+="; $(zstd --version 2>&1 | sed -n 1p | sed 's/^\** *//; s/ *\**$//')"
[ "$HAVE_MAWK" = 0 ] || versions+="; $(mawk -W version 2>&1 | sed -n 1p)"
[ "$HAVE_MLR" = 0 ] || versions+="; $(mlr --version 2>&1 | sed -n 1p)"
[ "$HAVE_DATAMASH" = 0 ] || versions+="; $(datamash --version 2>&1 | sed -n 1p)"
if [ "$HAVE_DUCK" = 1 ]; then
    dver=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$DUCK_DIR/node_modules/@duckdb/node-api/package.json" | sed -n 1p)
    versions+="; @duckdb/node-api $dver (node $(node --version))"
    # The runner: node run.mjs SQL [THREADS] — runs SQL with threads=2 (or
    # THREADS) in an in-memory database and prints the result as CSV.
    cat > "$DUCK_DIR/run.mjs" << 'EOF'
// Generated by memkit tests/bench/chunkproc.sh. usage: node run.mjs SQL [THREADS]
import { DuckDBInstance } from '@duckdb/node-api';
import { fileURLToPath } from 'node:url';
const [sql, threads = '2'] = process.argv.slice(2);
if (!sql) {
  process.stderr.write('usage: node run.mjs SQL [THREADS]\n');
  process.exit(2);
}
try {
  const tmp = fileURLToPath(new URL('./tmp', import.meta.url));
  const db = await DuckDBInstance.create(':memory:', { threads: String(threads), temp_directory: tmp });
  const con = await db.connect();
  const r = await con.runAndReadAll(sql);
  const lines = [r.columnNames().join(',')];
  for (const row of r.getRows()) lines.push(row.map((v) => (v === null ? '' : String(v))).join(','));
  process.stdout.write(lines.join('\n') + '\n');
} catch (e) {
  process.stderr.write(`run.mjs: ${e.message}\n`);
  process.exit(2);
}
EOF
fi

# ---- jobs -------------------------------------------------------------------------
# Each job: task (A-D, L for the limits), tool, input, subject (1 = chunkproc),
# tolerance of non-integer results (1e-9; 0.011 for quantile sketches), the
# timed command, the command of the check pass (defaults to the timed one) and
# a fallback with a bigger --memory for chunkproc.
N=0
J_TASK=() J_TOOL=() J_INPUT=() J_SUBJ=() J_TOL=() J_CMD=() J_CHECK=() J_FALLBACK=() J_NOTE=() J_OK=()
add() { # TASK TOOL INPUT SUBJ TOL CMD [CHECK_CMD [FALLBACK_CMD]]
    [ "$1" = L ] || [[ $TASKS == *"$1"* ]] || return 0
    J_TASK[N]=$1 J_TOOL[N]=$2 J_INPUT[N]=$3 J_SUBJ[N]=$4 J_TOL[N]=$5 J_CMD[N]=$6
    J_CHECK[N]=${7:-$6} J_FALLBACK[N]=${8:-} J_NOTE[N]='' J_OK[N]=1
    N=$((N + 1))
}
# cmdstr WORD...: one command line for bash -c, quoted so that people can read
# (and paste) it: bare words, "double quotes" when safe, else 'single quotes'.
shq() {
    local q="'\\''"
    case $1 in
        '') printf "''" ;;
        *[!A-Za-z0-9_./:=,+@%^-]*)
            case $1 in
                *[\"\$\`\\!]*) printf "'%s'" "${1//\'/$q}" ;;
                *) printf '"%s"' "$1" ;;
            esac ;;
        *) printf '%s' "$1" ;;
    esac
}
cmdstr() { local a s=''; for a; do s+="${s:+ }$(shq "$a")"; done; printf '%s' "$s"; }

# cp_jobs TASK TOOL TOL ARGS...: chunkproc on the three inputs.
cp_jobs() {
    local task=$1 tool=$2 tol=$3; shift 3
    local zdc fb=()
    [ "$task" = D ] || fb=(--memory "$CP_FALLBACK")
    add "$task" "$tool" "plain -j2" 1 "$tol" "$(cmdstr "$CP" -j 2 "$@" "$F")" "" \
        "${fb[*]:+$(cmdstr "$CP" -j 2 "${fb[@]}" "$@" "$F")}"
    # The default -j: for compressed input one parser fewer than the cores.
    add "$task" "$tool" "zst" 1 "$tol" "$(cmdstr "$CP" "$@" "$Z")" "" \
        "${fb[*]:+$(cmdstr "$CP" "${fb[@]}" "$@" "$Z")}"
    # The issue's "on the zstd file (and from stdin)": the same file on
    # standard input, decompressed in-process as from the file.
    add "$task" "$tool" "zst < stdin" 1 "$tol" "$(cmdstr "$CP" "$@") < $(shq "$Z")" "" \
        "${fb[*]:+$(cmdstr "$CP" "${fb[@]}" "$@") < $(shq "$Z")}"
    if [ "$HAVE_ZSTD" = 1 ]; then
        zdc=$(cmdstr zstd -dc "$Z")
        add "$task" "$tool" "zstd -dc |" 1 "$tol" "$zdc | $(cmdstr "$CP" "$@")" "" \
            "${fb[*]:+$zdc | $(cmdstr "$CP" "${fb[@]}" "$@")}"
    fi
}

COLS="columns={'ts': 'BIGINT', 'user_id': 'VARCHAR', 'region': 'VARCHAR', 'method': 'VARCHAR',"
COLS+=" 'status': 'INTEGER', 'bytes': 'BIGINT', 'latency_ms': 'DOUBLE', 'path': 'VARCHAR'}"
# No sniffing: the dialect is given (quote and escape default to '"').
duck_src() { # FILE [zstd]
    printf "read_csv('%s', %sauto_detect=false, header=true, delim=',', %s)" \
        "$1" "${2:+compression='$2', }" "$COLS"
}
# duck_jobs TASK TOL SQL-with-@SRC@ [CHECK-SQL-with-@SRC@]
duck_jobs() {
    local task=$1 tol=$2 sql=$3 csql=${4:-$3} in src c
    [ "$HAVE_DUCK" = 1 ] || return 0
    for in in plain zst; do
        if [ "$in" = plain ]; then src=$(duck_src "$F"); else src=$(duck_src "$Z" zstd); fi
        c=${csql//@N@/$N}   # D: the check pass of job N writes out/N.csv
        add "$task" duckdb "$in" 0 "$tol" "$(cmdstr node "$DUCK_DIR/run.mjs" "${sql//@SRC@/$src}" 2)" \
            "$(cmdstr node "$DUCK_DIR/run.mjs" "${c//@SRC@/$src}" 2)"
    done
    # The issue's "DuckDB through a pipe": plain CSV from `zstd -dc` on its
    # standard input, the way chunkproc's "zstd -dc |" row reads it.
    [ "$HAVE_ZSTD" = 1 ] || return 0
    local zdc
    zdc=$(cmdstr zstd -dc "$Z")
    src=$(duck_src /dev/stdin)
    c=${csql//@N@/$N}
    add "$task" duckdb "zstd -dc |" 0 "$tol" "$zdc | $(cmdstr node "$DUCK_DIR/run.mjs" "${sql//@SRC@/$src}" 2)" \
        "$zdc | $(cmdstr node "$DUCK_DIR/run.mjs" "${c//@SRC@/$src}" 2)"
}

# Limits.
[ "$HAVE_ZSTD" = 0 ] || add L "zstd -dc | wc -l" "zst" 0 0 "$(cmdstr zstd -dc "$Z") | wc -l"
[ "$HAVE_WC" = 0 ] || add L "wc -l" "plain" 0 0 "$(cmdstr wc -l "$F")"

# mawk splits on every comma (it does not know CSV quotes): right here only
# because the quoted column is last; NF >= 8 skips the tails of quoted newlines.
# datamash does not know CSV quotes either and stops at those tails ("line has
# only 1 field"): it reads through `grep -F ,`, which drops them.
GREP_F=$(cmdstr env LC_ALL=C grep -F , "$F")

# A
cp_jobs A chunkproc 1e-9 -g region -a count,sum:bytes,mean:latency_ms,min:latency_ms,max:latency_ms -f csv
if [ "$HAVE_MAWK" = 1 ]; then
    P='NR == 1 { next } NF >= 8 { r = $3; c[r]++; s[r] += $6; t[r] += $7; v = $7 + 0;'
    P+=' if (!(r in lo) || v < lo[r]) lo[r] = v; if (!(r in hi) || v > hi[r]) hi[r] = v }'
    P+=' END { print "region,count,sum_bytes,mean_latency_ms,min_latency_ms,max_latency_ms";'
    P+=' for (r in c) printf "%s,%d,%.0f,%.17g,%.17g,%.17g\n", r, c[r], s[r], t[r] / c[r], lo[r], hi[r] }'
    add A mawk plain 0 1e-9 "$(cmdstr mawk -F, "$P" "$F")"
fi
[ "$HAVE_MLR" = 0 ] || add A mlr plain 0 1e-9 "$(cmdstr mlr --icsv --ocsv stats1 -a count,sum,mean,min,max \
    -f bytes,latency_ms -g region "then" cut -o -f region,bytes_count,bytes_sum,latency_ms_mean,latency_ms_min,latency_ms_max "$F")"
[ "$HAVE_DATAMASH" = 0 ] || add A datamash "grep -F , |" 0 1e-9 \
    "$GREP_F | $(cmdstr datamash -t, -H -s -g 3 count 3 sum 6 mean 7 min 7 max 7)"
duck_jobs A 1e-9 "SELECT region, count(*) AS count, sum(bytes) AS sum_bytes, avg(latency_ms) AS mean_latency_ms, \
min(latency_ms) AS min_latency_ms, max(latency_ms) AS max_latency_ms FROM @SRC@ GROUP BY region ORDER BY region"

# B
cp_jobs B chunkproc 1e-9 -a distinct:user_id -f csv
[ "$HAVE_MAWK" = 0 ] || add B mawk plain 0 1e-9 "$(cmdstr mawk -F, \
    'NR > 1 && NF >= 8 && !($2 in seen) { seen[$2]; n++ } END { print "distinct_user_id"; print n + 0 }' "$F")"
[ "$HAVE_MLR" = 0 ] || add B mlr plain 0 1e-9 "$(cmdstr mlr --icsv --ocsv count-distinct -n -f user_id "$F")"
[ "$HAVE_DATAMASH" = 0 ] || add B datamash "grep -F , |" 0 1e-9 "$GREP_F | $(cmdstr datamash -t, -H countunique 2)"
[ "$HAVE_SORT" = 0 ] || add B "cut|sort -u" plain 0 1e-9 \
    "$(cmdstr cut -s -d, -f2 "$F") | LC_ALL=C sort -u | grep -c -v -x user_id"
duck_jobs B 1e-9 "SELECT count(DISTINCT user_id) AS distinct_user_id FROM @SRC@"

# C
cp_jobs C chunkproc 0.011 -g region -a p50:latency_ms,p99:latency_ms -f csv
cp_jobs C "chunkproc --exact" 1e-9 --exact -g region -a p50:latency_ms,p99:latency_ms -f csv
if [ "$HAVE_MLR" = 1 ]; then
    need=$((size * 12 / 1024))   # KiB
    avail=$(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo 2> /dev/null || echo 0)
    if [ "$MLR_C" = 1 ] || { [ "$MLR_C" = auto ] && [ "${avail:-0}" -gt "$need" ]; }; then
        add C mlr plain 0 1e-9 "$(cmdstr mlr --icsv --ocsv stats1 -i -a p50,p99 -f latency_ms -g region "$F")"
    else
        skip "C with Miller: its percentiles keep every value (~12 × the input = $((need / 1048576)) GiB), MemAvailable $((${avail:-0} / 1048576)) GiB (MLR_C=1 forces it)"
    fi
fi
[ "$HAVE_DATAMASH" = 0 ] || add C datamash "grep -F , |" 0 1e-9 \
    "$GREP_F | $(cmdstr datamash -t, -H -s -g 3 perc:50 7 perc:99 7)"
duck_jobs C 1e-9 "SELECT region, quantile_cont(latency_ms, 0.5) AS p50_latency_ms, \
quantile_cont(latency_ms, 0.99) AS p99_latency_ms FROM @SRC@ GROUP BY region ORDER BY region"

# D — DuckDB writes with COPY: timed into a symlink to /dev/null (so no
# rename can ever touch /dev/null itself), checked into out/N.csv.
DEVNULL=$WORK/devnull
ln -sfn /dev/null "$DEVNULL"
cp_jobs D chunkproc 1e-9 --where 'status >= 500' --select ts,path,status -f csv
[ "$HAVE_MAWK" = 0 ] || add D mawk plain 0 1e-9 "$(cmdstr mawk -F, \
    'NR == 1 { print "ts,path,status"; next } NF >= 8 && $5 >= 500 { print $1 "," substr($0, index($0, "\"")) "," $5 }' "$F")"
[ "$HAVE_MLR" = 0 ] || add D mlr plain 0 1e-9 \
    "$(cmdstr mlr --icsv --ocsv filter '$status >= 500' "then" cut -o -f ts,path,status "$F")"
D_SQL="COPY (SELECT ts, path, status FROM @SRC@ WHERE status >= 500) TO '@OUT@' (FORMAT csv, HEADER true, USE_TMP_FILE false)"
duck_jobs D 1e-9 "${D_SQL//@OUT@/$DEVNULL}" "${D_SQL//@OUT@/$WORK/out/@N@.csv}"
# E — high cardinality: only the plain file (the other inputs add nothing here).
add E chunkproc "plain -j2" 1 1e-9 "$(cmdstr "$CP" -j 2 -g user_id -a count,sum:bytes -f csv "$F")"
if [ "$HAVE_DUCK" = 1 ]; then
    e_sql="SELECT user_id, count(*) AS count, sum(bytes) AS sum_bytes FROM $(duck_src "$F") GROUP BY user_id ORDER BY user_id"
    add E duckdb plain 0 1e-9 "$(cmdstr node "$DUCK_DIR/run.mjs" "$e_sql" 2)"
fi
[ "$HAVE_MAWK" = 1 ] && skip "C with mawk: no quantile function"
[ "$HAVE_DATAMASH" = 1 ] && skip "D with datamash: it cannot filter rows"

# ---- running ------------------------------------------------------------------------
# run_job IDX CMD OUT: one run under /usr/bin/time; its figures in $WORK/t.out.
run_job() {
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/t.out" bash -o pipefail -c "$2" > "$3" 2> "$WORK/err.$1"
}
sel() { [ "${J_TASK[$1]}" = "$2" ] && [ "${J_OK[$1]}" = 1 ]; }   # IDX TASK: a job of TASK still running
label() { printf '%s %s %s' "${J_TASK[$1]}" "${J_TOOL[$1]}" "${J_INPUT[$1]}"; }
guard_devnull() {
    if [ ! -L "$DEVNULL" ]; then
        echo "warning: $DEVNULL was replaced; restoring the symlink to /dev/null" >&2
        rm -f "$DEVNULL" && ln -s /dev/null "$DEVNULL"
    fi
}

echo "input: $F $size bytes ($ROWS rows), zstd -3 $zsize bytes; median of $RUNS runs"
[ "$QUICK" != 1 ] || echo "QUICK=1: smoke run on small data — the figures say nothing about the targets"
echo "tools: $versions"
cat "$F" "$Z" > /dev/null   # warm the page cache

echo "check pass: one untimed run of each command (also the warm-up) ..." >&2
failed=0
for ((i = 0; i < N; i++)); do
    [ "${J_TASK[i]}" != L ] || continue
    if run_job "$i" "${J_CHECK[i]}" "$WORK/out/$i.out"; then
        guard_devnull
        continue
    fi
    why=$(grep -v '^Command exited' "$WORK/err.$i" | head -n 1 || true)
    if [ -n "${J_FALLBACK[i]}" ] && run_job "$i" "${J_FALLBACK[i]}" "$WORK/out/$i.out"; then
        J_CMD[i]=${J_FALLBACK[i]} J_CHECK[i]=${J_FALLBACK[i]}
        J_NOTE[i]="needed --memory $CP_FALLBACK"
        printf 'note: %s: the default --memory failed (%s); using --memory %s\n' "$(label "$i")" "$why" "$CP_FALLBACK"
    else
        J_OK[i]=0 J_NOTE[i]=FAILED failed=$((failed + 1))
        printf '!!! FAILED: %s: %s\n' "$(label "$i")" "$(grep -v '^Command exited' "$WORK/err.$i" | tail -n 3 | tr '\n' ' ')"
    fi
done

# ---- checking -------------------------------------------------------------------------
# cmp_table REF CAND INTCOLS TOL: both CSV with a header, keyed by column 1;
# INTCOLS must be equal as integers, the others within relative TOL. Prints the
# differences, then "MAXREL x" (largest relative difference of the others).
cmp_table() {
    awk -F, -v ic=",$3," -v tol="$4" -v ref="$1" '
        FNR == 1 { if (FILENAME == ref) split($0, h, ","); next }
        FILENAME == ref { r[$1] = $0; next }
        { seen[$1] = 1
          if (!($1 in r)) { print "extra group " $1; next }
          n = split(r[$1], a, ","); m = split($0, b, ",")
          if (n != m) { print $1 ": " m " columns, reference " n; next }
          for (k = 2; k <= n; k++) {
              if (index(ic, "," k ",")) {
                  if (sprintf("%.0f", a[k]) != sprintf("%.0f", b[k])) print $1 " " h[k] ": " b[k] " != " a[k]
                  continue
              }
              d = a[k] - b[k]; if (d < 0) d = -d
              s = a[k] < 0 ? -a[k] : a[k]
              rel = s > 0 ? d / s : d
              if (rel > maxrel) maxrel = rel
              if (rel > tol) print $1 " " h[k] ": " b[k] " vs " a[k] " (relative " rel ")"
          } }
        END { for (k in r) if (!(k in seen)) print "missing group " k
              printf "MAXREL %.3g\n", maxrel }' "$1" "$2"
}
# summary TASK IDX: the figure that is compared, for the check lines.
summary() {
    local o=$WORK/out/$2.out
    case $1 in
        A) awk -F, 'NR > 1 { g++; c += $2; s += $3 } END { printf "%d groups, count %.0f, sum(bytes) %.0f", g, c, s }' "$o" ;;
        B) printf 'distinct %s' "$(bvalue "$2")" ;;
        C) awk -F, 'NR > 1 { g++ } END { printf "%d groups", g }' "$o" ;;
        D) printf 'rows %s' "$(drows "$2")" ;;
        E) awk -F, 'NR > 1 { g++; c += $2; s += $3 } END { printf "%d groups, count %.0f, sum(bytes) %.0f", g, c, s }' "$o" ;;
    esac
}
bvalue() { tail -n 1 "$WORK/out/$1.out" | awk -F, '{ v = $NF; gsub(/[" \r]/, "", v); print v }'; }
# Data rows start with the 13-digit ts: continuation lines of quoted newlines
# and DuckDB's "Count" result do not.
drows() {
    local o=$WORK/out/$1.out
    [ ! -f "$WORK/out/$1.csv" ] || o=$WORK/out/$1.csv
    grep -c -E '^[0-9]+,' "$o" || true
}

mismatches=0
mismatch() { mismatches=$((mismatches + 1)); printf '!!! MISMATCH %s\n' "$*"; }
echo
echo "== results check (reference: DuckDB on the plain file when present, else the first tool listed)"
for task in A B C D E; do
    ref=-1
    for ((i = 0; i < N; i++)); do
        if ! sel "$i" "$task" || [ "${J_TOL[i]}" != 1e-9 ]; then continue; fi
        if [ "${J_TOOL[i]}" = duckdb ] && [ "${J_INPUT[i]}" = plain ]; then ref=$i; break; fi
        [ "$ref" -ge 0 ] || ref=$i
    done
    [ "$ref" -ge 0 ] || { echo "$task: nothing to compare"; continue; }
    for ((i = 0; i < N; i++)); do
        sel "$i" "$task" || continue
        line="$(label "$i"): $(summary "$task" "$i")"
        if [ "$i" = "$ref" ]; then echo "$line  (reference)"; continue; fi
        diffs=''
        case $task in
            A|E) diffs=$(cmp_table "$WORK/out/$ref.out" "$WORK/out/$i.out" 2,3 "${J_TOL[i]}") ;;
            C) diffs=$(cmp_table "$WORK/out/$ref.out" "$WORK/out/$i.out" '' "${J_TOL[i]}")
               line+=", max relative difference $(sed -n 's/^MAXREL //p' <<< "$diffs")" ;;
            B) [ "$(bvalue "$i")" = "$(bvalue "$ref")" ] || diffs="$(bvalue "$i") != $(bvalue "$ref")" ;;
            D) [ "$(drows "$i")" = "$(drows "$ref")" ] || diffs="rows $(drows "$i") != $(drows "$ref")" ;;
        esac
        diffs=$(grep -v -e '^MAXREL ' -e '^$' <<< "$diffs" | head -n 5 | tr '\n' ';' || true)
        if [ -n "$diffs" ]; then
            echo "$line"
            mismatch "task $task: $(label "$i" | cut -d' ' -f2-) vs $(label "$ref" | cut -d' ' -f2-): $diffs"
        else
            echo "$line  agrees"
        fi
    done
done

# ---- timing -------------------------------------------------------------------------------
for ((r = 1; r <= RUNS; r++)); do
    echo "timed run $r of $RUNS ..." >&2
    for ((i = 0; i < N; i++)); do
        [ "${J_OK[i]}" = 1 ] || continue
        if run_job "$i" "${J_CMD[i]}" /dev/null; then
            tail -n 1 "$WORK/t.out" | awk '{ printf "%.3f %.3f %d\n", $1, $2 + $3, $4 }' >> "$WORK/$i.times"
        else
            J_OK[i]=0 J_NOTE[i]=FAILED failed=$((failed + 1))
            printf '!!! FAILED in timed run %d: %s: %s\n' "$r" "$(label "$i")" "$(tail -n 3 "$WORK/err.$i" | tr '\n' ' ')"
        fi
        guard_devnull
    done
done

# ---- report ----------------------------------------------------------------------------------
median() { cut -d' ' -f"$2" "$WORK/$1.times" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
M_W=() M_C=() M_R=()
for ((i = 0; i < N; i++)); do
    [ "${J_OK[i]}" = 1 ] || continue
    M_W[i]=$(median "$i" 1) M_C[i]=$(median "$i" 2) M_R[i]=$(median "$i" 3)
done
find_job() { # TASK TOOL INPUT → index of a job with figures, or -1
    local i
    for ((i = 0; i < N; i++)); do
        if [ "${J_TASK[i]}" = "$1" ] && [ "${J_TOOL[i]}" = "$2" ] && [ "${J_INPUT[i]}" = "$3" ] && [ "${J_OK[i]}" = 1 ]; then
            echo "$i"; return
        fi
    done
    echo -1
}
row() { # IDX
    local i=$1
    if [ "${J_OK[i]}" = 1 ]; then
        awk -v t="${J_TOOL[i]}" -v inp="${J_INPUT[i]}" -v w="${M_W[i]}" -v c="${M_C[i]}" -v r="${M_R[i]}" \
            -v b="$size" -v note="${J_NOTE[i]}" 'BEGIN {
            printf "  %-18s %-16s %8.2f %8.2f %8.0f %9.1f MiB  %s\n", t, inp, w, c, b / (w > 0.01 ? w : 0.01) / 1e6, r / 1024, note }'
    else
        printf '  %-18s %-16s %s\n' "${J_TOOL[i]}" "${J_INPUT[i]}" "${J_NOTE[i]:-not run}"
    fi
}
met=0 notmet=0
# target IDX TEXT VALUE OP LIMIT UNIT
target() {
    local ok
    ok=$(awk -v v="$3" -v l="$5" -v op="$4" 'BEGIN { print (op == ">=" ? v >= l : v < l) ? 1 : 0 }')
    if [ "$ok" = 1 ]; then met=$((met + 1)); ok='MET    '; else notmet=$((notmet + 1)); ok='NOT MET'; fi
    printf '  %s  %-18s %-16s %-32s %s\n' "$ok" "${J_TOOL[$1]}" "${J_INPUT[$1]}" "$2" "$6"
}
ratio() { awk -v p="$1" -v o="$2" 'BEGIN { printf "%.2f", (p > 0.01 ? p : 0.01) / (o > 0.01 ? o : 0.01) }'; }

declare -A TITLE=(
    [A]="group by region: count, sum(bytes), mean/min/max(latency_ms)"
    [B]="exact distinct user_id"
    [C]="p50 and p99 of latency_ms per region"
    [D]="status >= 500, project ts,path,status (to /dev/null)"
    [E]="group by user_id (~2 M groups): count, sum(bytes); state spills to disk")
zwc=$(find_job L "zstd -dc | wc -l" zst)
echo
echo "== figures: median of $RUNS; MB/s of the uncompressed $size bytes; ratio = peer wall / chunkproc wall (> 1: chunkproc faster)"
for task in A B C D E; do
    echo
    echo "$task: ${TITLE[$task]}"
    printf '  %-18s %-16s %8s %8s %8s %13s\n' tool input "wall s" "cpu s" "MB/s" "peak RSS"
    for ((i = 0; i < N; i++)); do [ "${J_TASK[i]}" != "$task" ] || row "$i"; done
    for ((i = 0; i < N; i++)); do [ "${J_TASK[i]}" != L ] || row "$i"; done
    echo "  ratios:"
    for ((i = 0; i < N; i++)); do
        if ! sel "$i" "$task" || [ "${J_SUBJ[i]}" != 1 ]; then continue; fi
        line=$(printf '    %-18s %-16s' "${J_TOOL[i]}" "${J_INPUT[i]}")
        for ((k = 0; k < N; k++)); do
            { [ "${J_TASK[k]}" = "$task" ] && [ "${J_SUBJ[k]}" = 0 ]; } || [ "${J_TASK[k]}" = L ] || continue
            [ "${J_OK[k]}" = 1 ] || continue
            line+=" ${J_TOOL[k]}"
            [ "${J_TOOL[k]}" != duckdb ] || line+="/${J_INPUT[k]}"
            line+=" $(ratio "${M_W[k]}" "${M_W[i]}");"
        done
        echo "${line%;}"
    done
    echo "  targets:"
    duck=$(find_job "$task" duckdb plain)
    mlr=$(find_job "$task" mlr plain)
    for ((i = 0; i < N; i++)); do
        if ! sel "$i" "$task" || [ "${J_SUBJ[i]}" != 1 ]; then continue; fi
        if [ "$task" = E ]; then
            v=$(awk -v r="${M_R[i]}" 'BEGIN { printf "%.1f", r / 1024 }')
            target "$i" "peak RSS < 100 MiB" "$v" "<" 100 "$v MiB"
            continue
        fi
        case ${J_INPUT[i]} in
            plain*)
                if [ "$duck" -ge 0 ]; then
                    v=$(ratio "${M_W[duck]}" "${M_W[i]}"); target "$i" "speed >= 2 x DuckDB (plain)" "$v" ">=" 2 "$v x"
                else echo "  n/a      ${J_TOOL[i]} ${J_INPUT[i]}: >= 2 x DuckDB (DuckDB not run)"; fi
                if [ "$mlr" -ge 0 ]; then
                    v=$(ratio "${M_W[mlr]}" "${M_W[i]}"); target "$i" "speed >= 10 x Miller" "$v" ">=" 10 "$v x"
                else echo "  n/a      ${J_TOOL[i]} ${J_INPUT[i]}: >= 10 x Miller (Miller not run)"; fi ;;
            *)
                if [ "$zwc" -ge 0 ]; then
                    v=$(ratio "${M_W[zwc]}" "${M_W[i]}"); target "$i" "speed >= 0.9 x zstd -dc | wc -l" "$v" ">=" 0.9 "$v x"
                else echo "  n/a      ${J_TOOL[i]} ${J_INPUT[i]}: >= 0.9 x zstd -dc | wc -l (not run)"; fi ;;
        esac
        lim=32; [ "$task" != B ] || lim=100
        v=$(awk -v r="${M_R[i]}" 'BEGIN { printf "%.1f", r / 1024 }')
        target "$i" "peak RSS < $lim MiB" "$v" "<" "$lim" "$v MiB"
    done
done

echo
echo "== commands (as timed)"
for ((i = 0; i < N; i++)); do
    printf '  %s:\n    %s\n' "$(label "$i")" "${J_CMD[i]}"
done

echo
echo "== summary: targets $met MET, $notmet NOT MET; $mismatches MISMATCH; $failed FAILED; ${#skipped[@]} skipped"
for ((i = 0; i < N; i++)); do
    [ -z "${J_NOTE[i]}" ] || [ "${J_NOTE[i]}" = FAILED ] || echo "  $(label "$i"): ${J_NOTE[i]}"
done
for s in "${skipped[@]}"; do echo "  skipped: $s"; done
cpfailed=0
for ((i = 0; i < N; i++)); do
    [ "${J_SUBJ[i]}${J_NOTE[i]}" != 1FAILED ] || cpfailed=$((cpfailed + 1))
done
[ "$mismatches" = 0 ] || echo "!!! $mismatches MISMATCH(ES): see the results check above"
[ "$cpfailed" = 0 ] || echo "!!! $cpfailed chunkproc command(s) FAILED: see the messages above"
[ "$mismatches" = 0 ] && [ "$cpfailed" = 0 ]
