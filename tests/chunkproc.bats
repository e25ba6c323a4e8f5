#!/usr/bin/env bats
# chunkproc end to end: group-by aggregates and their exact values, quoting,
# inputs (TSV, BOM, no header, several files, zstd/gzip, stdin), threads,
# quantiles (exact and sketched), --where, filter mode and its formats,
# errors with file:line, --lenient, YAML job files, partial/merge.
#
# Expected values are either small enough to check by hand (the numbers are
# in the test) or come from peers — DuckDB, Miller, datamash, Python
# fractions — through tests/fixtures/chunkproc/make-expected.sh, which says
# how it was run. Floating-point results (mean, var, stddev, interpolated
# quantiles, decimal sums) are compared with the peers to 1e-12 relative,
# because equally valid summation orders differ in the last bits; integer
# results, strings, counts and nearest-rank quantiles must match exactly.

bats_require_minimum_version 1.5.0
load helpers

CP=$FIX/chunkproc

# tsv_close EXPECTED ACTUAL [TOL] — same rows and columns; every cell equal,
# except that in mean_/var_/stddev_/sum_/pN_/quantile_ columns two numbers
# may differ by TOL relative (default 1e-12) when either is not an integer.
# With a TOL of 0.01 or more integers may differ too (sketch bounds).
tsv_close() {
    awk -F'\t' -v tol="${3:-1e-12}" '
    function isnum(s) { return s ~ /^[-+]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][-+]?[0-9]+)?$/ }
    function abs(x) { return x < 0 ? -x : x }
    NR == FNR { want[FNR] = $0; n = FNR; next }
    FNR == 1 { for (i = 1; i <= NF; i++) { hdr[i] = $i; fl[i] = $i ~ /^(mean|var|stddev|sum|p[0-9]+|quantile)_/ } }
    {
        got = FNR
        if (FNR > n) { printf "extra row %d: %s\n", FNR, $0; bad = 1; next }
        if ($0 == want[FNR]) next
        m = split(want[FNR], e, "\t")
        if (m != NF || FNR == 1) { printf "row %d: expected %s\n        got      %s\n", FNR, want[FNR], $0; bad = 1; next }
        for (i = 1; i <= NF; i++) {
            if ($i == e[i]) continue
            if (fl[i] && isnum($i) && isnum(e[i]) && (tol >= 0.01 || ($i e[i]) ~ /[.eE]/) &&
                abs($i - e[i]) <= tol * (abs($i) > abs(e[i]) ? abs($i) : abs(e[i]))) continue
            printf "row %d, %s: expected %s, got %s\n", FNR, hdr[i], e[i], $i; bad = 1
        }
    }
    END { if (got < n) { printf "only %d of %d rows\n", got, n; bad = 1 }; exit bad }
    ' "$1" "$2"
}

# The seeded web-log generator of the benchmarks, built once per run, and
# its 120000-row output (8.6 MB: nine 1 MiB blocks; quoted paths with commas,
# doubled quotes and a few embedded newlines) — the data of the gencsv-*
# expected files.
setup_file() {
    export GENCSV=$BATS_FILE_TMPDIR/gencsv BIG=$BATS_FILE_TMPDIR/big.csv
    cc -O2 -o "$GENCSV" "$ROOT/tests/bench/gencsv.c"
    "$GENCSV" 120000 7 > "$BIG"
}

gen_big() {
    ln -s "$BIG" big.csv
}

# A small table to check by hand: groups a (4 rows), b (2), the empty key (1).
small_csv() {
    printf 'g,v,s\na,1,x\nb,2,y\na,3,\nb,,z\na,2.5,x\n,4,w\na,-0.5,q\n' > s.csv
}

# ---- group-by: every aggregate, names, formats -------------------------------

@test "group-by computes every aggregate, named AGG_COLUMN, rows ordered by key" {
    small_csv
    run chunkproc -f csv -g g -a count,sum:v,mean:v,min:v,max:v,var:v,stddev:v,first:s,last:s,distinct:s,approx-distinct:s,p50:v,p90:v,p99:v,quantile:v:0.25 s.csv
    assert_success
    # a: v = 1, 3, 2.5, -0.5 (mean 1.5, sample var 7.5/3), s = x, "", x, q
    assert_output "$(cat <<'EOF'
g,count,sum_v,mean_v,min_v,max_v,var_v,stddev_v,first_s,last_s,distinct_s,approx_distinct_s,p50_v,p90_v,p99_v,quantile_v_0.25
,1,4,4,4,4,,,w,w,1,1,4,4,4,4
a,4,6,1.5,-0.5,3,2.5,1.5811388300841898,x,q,2,2,1.75,2.85,2.985,0.625
b,2,2,2,2,2,,,y,z,2,2,2,2,2,2
EOF
)"
}

@test "the same aggregates in tsv, json and ndjson: numbers bare, missing as null" {
    small_csv
    run chunkproc -f tsv -g g -a count,sum:v,var:v,first:s s.csv
    assert_success
    assert_output "$(printf 'g\tcount\tsum_v\tvar_v\tfirst_s\n\t1\t4\t\tw\na\t4\t6\t2.5\tx\nb\t2\t2\t\ty')"
    run chunkproc -f json -g g -a count,sum:v,var:v,first:s s.csv
    assert_success
    assert_output "$(cat <<'EOF'
[
{"g":"","count":1,"sum_v":4,"var_v":null,"first_s":"w"},
{"g":"a","count":4,"sum_v":6,"var_v":2.5,"first_s":"x"},
{"g":"b","count":2,"sum_v":2,"var_v":null,"first_s":"y"}
]
EOF
)"
    run chunkproc -f ndjson -g g -a count,sum:v,var:v,first:s s.csv
    assert_success
    assert_output "$(cat <<'EOF'
{"g":"","count":1,"sum_v":4,"var_v":null,"first_s":"w"}
{"g":"a","count":4,"sum_v":6,"var_v":2.5,"first_s":"x"}
{"g":"b","count":2,"sum_v":2,"var_v":null,"first_s":"y"}
EOF
)"
}

@test "without options the result is a count of rows in an aligned text table" {
    small_csv
    run chunkproc s.csv
    assert_success
    assert_output "$(printf 'count\n    7')"
}

@test "without -g there is one row over all input" {
    small_csv
    run chunkproc -f csv -a count,sum:v,min:v,max:v,distinct:g,first:s,last:s s.csv
    assert_success
    assert_output "$(printf 'count,sum_v,min_v,max_v,distinct_g,first_s,last_s\n7,12,-0.5,4,2,x,q')"
}

@test "groups are ordered bytewise: uppercase before lowercase, prefixes first, UTF-8 last" {
    printf 'k,v\nb,1\nB,2\nä,3\na,4\nab,5\n"a ",6\nZ,7\n10,8\n9,9\n' > o.csv
    run chunkproc -f csv -g k -a sum:v o.csv
    assert_success
    assert_output "$(printf 'k,sum_v\n10,8\n9,9\nB,2\nZ,7\na,4\na ,6\nab,5\nb,1\nä,3')"
}

@test "several group columns: one row per combination, ordered column by column" {
    printf 'a,b,v\nx,2,1\nx,10,2\nxy,1,3\nx,2,4\n,z,5\nx,,6\n' > m.csv
    run chunkproc -f csv -g a,b -a count,sum:v m.csv
    assert_success
    # ("x","10") < ("x","2") bytewise; ("x","") first within x; ("x",*) < ("xy",*)
    assert_output "$(printf 'a,b,count,sum_v\n,z,1,5\nx,,1,6\nx,10,1,2\nx,2,2,5\nxy,1,1,3')"
}

@test "group columns are named as in the header, aggregates by -a order" {
    printf 'Region Name,bytes\nx,1\n' > h.csv
    run chunkproc -f csv -g 'Region Name' -a max:bytes,count,min:bytes h.csv
    assert_success
    assert_output "$(printf 'Region Name,max_bytes,count,min_bytes\nx,1,1,1')"
}

# ---- exact numbers ------------------------------------------------------------

@test "integer sums are exact past 2^53 and past int64 (128-bit)" {
    printf 'g,v\na,9000000000000000001\na,9000000000000000002\na,9000000000000000003\nb,-9223372036854775808\nb,-9223372036854775807\nc,9007199254740993\nc,1\n' > i.csv
    run chunkproc -f csv -g g -a sum:v,min:v,max:v,first:v i.csv
    assert_success
    assert_output "$(cat <<'EOF'
g,sum_v,min_v,max_v,first_v
a,27000000000000000006,9000000000000000001,9000000000000000003,9000000000000000001
b,-18446744073709551615,-9223372036854775808,-9223372036854775807,-9223372036854775808
c,9007199254740994,1,9007199254740993,9007199254740993
EOF
)"
    run chunkproc -f ndjson -g g -a sum:v i.csv
    assert_output "$(printf '{"g":"a","sum_v":27000000000000000006}\n{"g":"b","sum_v":-18446744073709551615}\n{"g":"c","sum_v":9007199254740994}')"
}

@test "integer sums stay exact for integers above int64 (uint64 counters)" {
    # 2^64-1 and 2^63 are integers: the sum is 2^64 + 2^63 - 1 exactly.
    printf 'v\n18446744073709551615\n9223372036854775808\n' > u.csv
    run chunkproc -f csv -a sum:v,max:v u.csv
    assert_success
    assert_output "$(printf 'sum_v,max_v\n27670116110564327423,18446744073709551615')"
}

@test "a sum past 128 bits goes on in floating point from the true sum, not a wrapped one" {
    # 400 × (10^36 - 1) = 3.999...e38 > 2^127: the exact sum overflows.
    { echo v; yes 999999999999999999999999999999999999 | head -n 400; } > big.csv
    run chunkproc -f csv -a sum:v,mean:v big.csv
    assert_success
    assert_output "$(printf 'sum_v,mean_v\n4e+38,1e+36')"
}

@test "decimal sums are compensated: ten thousand 0.1 make 1000, 0.1+0.2+0.3 make 0.6" {
    { echo v; yes 0.1 | head -n 10000; } > t.csv
    run chunkproc -f csv -a sum:v,mean:v,var:v t.csv
    assert_success
    assert_output "$(printf 'sum_v,mean_v,var_v\n1000,0.1,0')"
    printf 'g,v\na,0.1\na,0.2\na,0.3\nb,1e3\nb,-2.5E-1\nc,+5\nc,1.50\n' > d.csv
    run chunkproc -f csv -g g -a sum:v,min:v,max:v d.csv
    assert_success
    assert_output "$(printf 'g,sum_v,min_v,max_v\na,0.6,0.1,0.3\nb,999.75,-0.25,1000\nc,6.5,1.5,5')"
}

# ---- missing values and keys ---------------------------------------------------

@test "an empty field is missing: only count sees it; all missing gives empty cells" {
    printf 'g,v\na,\na,""\nb,1\nb,\n' > m.csv
    run chunkproc -f csv -g g -a count,sum:v,mean:v,min:v,max:v,var:v,stddev:v,first:v,last:v,distinct:v,approx-distinct:v,p50:v,quantile:v:0.5 m.csv
    assert_success
    assert_output "$(cat <<'EOF'
g,count,sum_v,mean_v,min_v,max_v,var_v,stddev_v,first_v,last_v,distinct_v,approx_distinct_v,p50_v,quantile_v_0.5
a,2,,,,,,,,,,,,
b,2,1,1,1,1,,,1,1,1,1,1,1
EOF
)"
}

@test "missing values are skipped by first, last, mean and distinct" {
    printf 'g,v\na,\na,5\na,\na,7\na,\n' > m.csv
    run chunkproc -f csv -g g -a count,first:v,last:v,mean:v,distinct:v m.csv
    assert_success
    assert_output "$(printf 'g,count,first_v,last_v,mean_v,distinct_v\na,5,5,7,6,2')"
}

@test "an empty group key is a group of its own, quoted or not" {
    printf 'g,v\n"",1\n,2\n"a",3\na,4\n' > k.csv
    run chunkproc -f csv -g g -a count,sum:v k.csv
    assert_success
    assert_output "$(printf 'g,count,sum_v\n,2,3\na,2,7')"
}

# ---- input forms -----------------------------------------------------------------

@test "a UTF-8 BOM before the header is dropped" {
    printf '\xef\xbb\xbfname,v\nx,1\nx,2\n' > b.csv
    run chunkproc -f csv -g name -a sum:v b.csv
    assert_success
    assert_output "$(printf 'name,sum_v\nx,3')"
    run chunkproc -f csv --where 'v > 1' b.csv
    assert_output "$(printf 'name,v\nx,2')"
    printf '\xef\xbb\xbfa,1\nb,2\n' > nh.csv
    run chunkproc -f csv --no-header -g 1 -a sum:2 nh.csv
    assert_success
    assert_output "$(printf '1,sum_2\na,1\nb,2')"
}

@test "quoted fields keep commas, doubled quotes, CRLF and embedded newlines" {
    printf 'k,v\r\n"a,b",1\r\n"say ""hi""",2\r\n"two\nlines",3\r\n"cr\r\nlf",4\r\n"a,b",5\r\n' > q.csv
    run chunkproc -f csv -g k -a count,sum:v q.csv
    assert_success
    assert_output "$(printf 'k,count,sum_v\n"a,b",2,6\n"cr\r\nlf",1,4\n"say ""hi""",1,2\n"two\nlines",1,3')"
    run chunkproc -f json -g k -a sum:v q.csv
    assert_output "$(cat <<'EOF'
[
{"k":"a,b","sum_v":6},
{"k":"cr\r\nlf","sum_v":4},
{"k":"say \"hi\"","sum_v":2},
{"k":"two\nlines","sum_v":3}
]
EOF
)"
}

@test "matches DuckDB on a messy CSV: counts, 128-bit sums, min/max, first/last, distinct" {
    # mixed.csv: BOM, CRLF, quoted commas and quotes, LF and CRLF inside
    # quotes, empty and "" fields, UTF-8 keys, int64-edge integers.
    run chunkproc -f csv -g region -a count,sum:n,min:n,max:n,first:label,last:label,distinct:tag,approx-distinct:tag,min:x,max:x,first:x,last:x "$CP/mixed.csv"
    assert_success
    assert_output "$(cat "$CP/mixed-exact.csv")"
}

@test "matches DuckDB on a messy CSV: mean, var, stddev, type 7 quantiles, decimal sums" {
    chunkproc -f tsv -g region -a mean:n,var:n,stddev:n,p50:n,p90:x,p99:x,quantile:x:0.25,sum:x,mean:x,var:x,stddev:x "$CP/mixed.csv" > got.tsv
    run tsv_close "$CP/mixed-float.tsv" got.tsv
    assert_success
}

@test "TSV input with two group columns matches Miller (auto-detected and with -i tsv)" {
    a=count,sum:qty,mean:price,min:price,max:qty,var:qty,stddev:price,distinct:day,p50:qty,p90:price
    chunkproc -f tsv -g shop,item -a "$a" "$CP/sales.tsv" > auto.tsv
    run tsv_close "$CP/sales-float.tsv" auto.tsv
    assert_success
    chunkproc -f tsv -i tsv -g shop,item -a "$a" "$CP/sales.tsv" > forced.tsv
    run cmp auto.tsv forced.tsv
    assert_success
}

@test "TSV: -i tsv splits on tabs only; quotes and commas are ordinary characters" {
    printf 'a,b\tc\n"x",1\t2\ny\t3\n' > t.tsv
    run chunkproc -i tsv -f csv --where '`a,b` ~ "x"' t.tsv
    assert_success
    assert_output "$(printf '"a,b",c\n"""x"",1",2')"
    run chunkproc -i tsv -f csv -a sum:c t.tsv
    assert_output "$(printf 'sum_c\n5')"
}

@test "TSV input: a filter writes TSV back by default" {
    printf 'k\tv\na b\t1\nc\t2\n' > t.tsv
    run chunkproc --where 'v > 0' t.tsv
    assert_success
    assert_output "$(printf 'k\tv\na b\t1\nc\t2')"
}

@test "--no-header: the first row is data and columns are named 1..N or \$N" {
    printf 'a,1\nb,2\na,3\n' > n.csv
    run chunkproc -f csv --no-header -g 1 -a count,sum:2 n.csv
    assert_success
    assert_output "$(printf '1,count,sum_2\na,2,4\nb,1,2')"
    run chunkproc -f csv --no-header --where '$2 >= 2' --select 2,1 n.csv
    assert_success
    assert_output "$(printf '2,1\n2,b\n3,a')"
}

@test "several files are read in order: first and last span them" {
    printf 'g,v\nx,1\nx,2\nx,3\n' > a.csv
    printf 'g,v\nx,9\ny,5\n' > b.csv
    run chunkproc -f csv -g g -a count,first:v,last:v,sum:v a.csv b.csv
    assert_success
    assert_output "$(printf 'g,count,first_v,last_v,sum_v\nx,4,1,9,15\ny,1,5,5,5')"
    run chunkproc -f csv -g g -a first:v,last:v b.csv a.csv
    assert_output "$(printf 'g,first_v,last_v\nx,9,3\ny,5,5')"
    run chunkproc -f csv --where 'v > 2' a.csv b.csv
    assert_output "$(printf 'g,v\nx,3\nx,9\ny,5')"
    # a later file with a BOM and CRLF has the same header
    printf '\xef\xbb\xbfg,v\r\nz,7\r\n' > c.csv
    run chunkproc -f csv -g g -a sum:v a.csv c.csv
    assert_success
    assert_output "$(printf 'g,sum_v\nx,6\nz,7')"
}

@test "a later file whose header differs is an error" {
    printf 'g,v\nx,1\n' > a.csv
    printf 'g,w\nx,2\n' > b.csv
    run chunkproc -f csv -g g -a sum:v a.csv b.csv
    assert_failure 2
    assert_output "chunkproc: b.csv:1: the header differs from the first file's"
}

@test "zstd and gzip input, from files and from stdin, detected by content" {
    small_csv
    zstd -q -c s.csv > data.bin
    gzip -c s.csv > data.gz
    want=$(printf 'g,sum_v\n,4\na,6\nb,2')
    run chunkproc -f csv -g g -a sum:v data.bin
    assert_success
    assert_output "$want"
    run chunkproc -f csv -g g -a sum:v data.gz
    assert_output "$want"
    run bash -c 'chunkproc -f csv -g g -a sum:v < data.bin'
    assert_output "$want"
    run bash -c 'cat data.gz | chunkproc -f csv -g g -a sum:v -'
    assert_output "$want"
}

@test "compressed input and pipes: one parsing thread fewer than the cores by default, -j as given" {
    small_csv
    zstd -q -c s.csv > s.csv.zst
    n=$(nproc)
    want=$(( n > 1 ? n - 1 : 1 ))
    run chunkproc --stats -g g -a count s.csv.zst
    assert_success
    assert_line "chunkproc: stats: threads: $want parsing, 1 decompressing"
    run chunkproc --stats -j 3 -g g -a count s.csv.zst
    assert_line "chunkproc: stats: threads: 3 parsing, 1 decompressing"
    run chunkproc --stats -g g -a count s.csv
    assert_line "chunkproc: stats: threads: $n parsing"
    # a pipe is fed by a process that works too (zstd -dc, say): as for .zst;
    # one worker reads it itself (no reading thread)
    run bash -c "cat s.csv | chunkproc --stats -g g -a count"
    if [ "$want" = 1 ]; then
        assert_line "chunkproc: stats: threads: 1 parsing, reading the pipe itself"
    else
        assert_line "chunkproc: stats: threads: $want parsing, reading the pipe themselves"
    fi
    run bash -c "cat s.csv | chunkproc --stats -j 1 -f csv -g g -a count,sum:v"
    assert_line "chunkproc: stats: threads: 1 parsing, reading the pipe itself"
    assert_line --index 0 "g,count,sum_v"
    assert_equal "$(printf '%s\n' "$output" | grep -v '^chunkproc:')" "$(chunkproc -j 1 -f csv -g g -a count,sum:v s.csv)"
    # many blocks, a quoted newline among them: the same as from the file
    awk 'BEGIN { print "k,v,t"; for (i = 0; i < 300000; i++) printf "k%d,%d,\"a\nb%d\"\n", i % 7, i, i }' > m.csv
    run bash -c "cat m.csv | chunkproc --stats -j 1 -f csv -g k -a count,sum:v,last:t"
    assert_success
    assert_line "chunkproc: stats: threads: 1 parsing, reading the pipe itself"
    assert_equal "$(printf '%s\n' "$output" | grep -v '^chunkproc:')" "$(chunkproc -j 2 -f csv -g k -a count,sum:v,last:t m.csv)"
    run bash -c "chunkproc --stats -g g -a count < s.csv"
    assert_line "chunkproc: stats: threads: $n parsing"
    run bash -c "cat s.csv | chunkproc --stats -j 2 -g g -a count"
    assert_line "chunkproc: stats: threads: 2 parsing, reading the pipe themselves"
    # two workers reading the pipe in turn, a quoted newline among the blocks
    run bash -c "cat m.csv | chunkproc -j 2 -f csv -g k -a count,sum:v,last:t"
    assert_output "$(chunkproc -j 2 -f csv -g k -a count,sum:v,last:t m.csv)"
}

@test "a pipe by default: one parser more joins after a trial if cores stay idle while the parsers are busy" {
    awk 'BEGIN { print "k,v,t"; for (i = 0; i < 300000; i++) printf "k%d,%d,\"a\nb%d\"\n", i % 7, i, i }' > m.csv
    want=$(chunkproc -j 1 -f csv -g k -a count,sum:v,last:t m.csv)
    # windows of 256 KiB: the trial ends after 1 MiB of this 6 MB input
    CHUNKPROC_TRIAL_BYTES=256K run bash -c "cat m.csv | chunkproc --stats -f csv -g k -a count,sum:v,last:t"
    assert_success
    assert_equal "$(printf '%s\n' "$output" | grep -v '^chunkproc:')" "$want"
    n=$(nproc)
    start=$(( n > 1 ? n - 1 : 1 ))
    assert_line --regexp "^chunkproc: stats: parsers for the pipe: $start|$((start + 1)) \(with $start: [0-9]+\.[0-9]{2} cores idle, parsers busy [0-9]+ %\)$"
    # what it chose is what it ran with
    chosen=$(printf '%s\n' "$output" | sed -n 's/^chunkproc: stats: parsers for the pipe: \([0-9]*\) .*/\1/p')
    assert_line --regexp "^chunkproc: stats: threads: $chosen parsing, reading the pipe (itself|themselves)$"
    # too little input for a trial: no figures, the start count
    run bash -c "head -1000 m.csv | chunkproc --stats -f csv -g k -a count"
    refute_line --partial "parsers for the pipe"
    # -j given, or a file: no trial
    CHUNKPROC_TRIAL_BYTES=256K run bash -c "cat m.csv | chunkproc --stats -j 1 -g k -a count"
    refute_line --partial "parsers for the pipe"
    CHUNKPROC_TRIAL_BYTES=256K run chunkproc --stats -g k -a count m.csv
    refute_line --partial "parsers for the pipe"
    CHUNKPROC_TRIAL_BYTES=0 run chunkproc -g k -a count m.csv
    assert_failure 2
    assert_output "chunkproc: CHUNKPROC_TRIAL_BYTES: must be more than 0"
    CHUNKPROC_TRIAL_BYTES=lots run chunkproc -g k -a count m.csv
    assert_failure 2
    assert_output --regexp "^chunkproc: CHUNKPROC_TRIAL_BYTES: "
}

@test "--memory: the input buffers (2N + 4 MiB for N threads, at most half) come out of the budget first" {
    small_csv
    run chunkproc --stats -j 2 -g g -a count s.csv
    assert_success
    assert_line "chunkproc: stats: memory budget 64.0 MiB: 8.00 MiB for input buffers, 56.0 MiB for aggregate state"
    run chunkproc --stats -j 3 --memory 100M -g g -a count s.csv
    assert_line "chunkproc: stats: memory budget 100 MiB: 10.0 MiB for input buffers, 90.0 MiB for aggregate state"
    run chunkproc --stats -j 2 --memory 10M -g g -a count s.csv
    assert_line "chunkproc: stats: memory budget 10.0 MiB: 5.00 MiB for input buffers, 5.00 MiB for aggregate state"
    # filtering keeps no state: no such line
    run chunkproc --stats --where 'v > 1' s.csv
    assert_success
    refute_line --partial "memory budget"
}

@test "decimal forms: signs, short and long numbers sum exactly; malformed ones are errors" {
    printf 'v\n1\n-2.50\n+3.125\n0.000000000000001\n123456789012345678\n1234567890123456789\n-0\n' > d.csv
    run chunkproc -f csv -a sum:v,min:v,max:v,mean:v d.csv
    assert_success
    assert_output "$(printf 'sum_v,min_v,max_v,mean_v\n1358024679135802468.625000000000001,-2.5,1234567890123456789,1.940035255908289e+17')"
    for bad in .5 5. - + 1.2.3 --1 1,5; do
        printf 'v\n"%s"\n' "$bad" > b.csv
        run chunkproc -f csv -a sum:v b.csv
        assert_failure 2
        assert_output "chunkproc: b.csv:2: column 'v': expected a number, found '$bad'"
    done
}

# ---- threads and big inputs ---------------------------------------------------

@test "a multi-block file: -j 1 and -j 2 agree with each other and with DuckDB" {
    gen_big
    a=count,sum:bytes,min:latency_ms,max:bytes,distinct:user_id,first:path,last:path
    run chunkproc -j 1 -f csv -g region,method -a "$a" big.csv
    assert_success
    assert_output "$(cat "$CP/gencsv-exact.csv")"
    run chunkproc -j 2 -f csv -g region,method -a "$a" big.csv
    assert_success
    assert_output "$(cat "$CP/gencsv-exact.csv")"
    chunkproc -j 2 --exact -f tsv -g region,method -a mean:bytes,p50:latency_ms,p99:latency_ms big.csv > got.tsv
    run tsv_close "$CP/gencsv-float.tsv" got.tsv
    assert_success
}

@test "-j 1 and -j 2 give identical output for every aggregate but var/stddev, zstd too" {
    gen_big
    a=count,sum:bytes,mean:latency_ms,min:latency_ms,max:bytes,first:path,last:path,distinct:user_id,approx-distinct:user_id,p50:latency_ms,p99:bytes,quantile:latency_ms:0.9
    chunkproc -j 1 -f csv -g region -a "$a" big.csv > j1.csv
    chunkproc -j 2 -f csv -g region -a "$a" big.csv > j2.csv
    zstd -q -c < big.csv > big.csv.zst
    chunkproc -j 2 -f csv -g region -a "$a" big.csv.zst > z2.csv
    run cmp j1.csv j2.csv
    assert_success
    run cmp j1.csv z2.csv
    assert_success
}

@test "var and stddev do not depend on the thread count or on scheduling" {
    gen_big
    chunkproc -j 1 -f csv -g region,method -a var:latency_ms,stddev:bytes big.csv > j1.csv
    for i in 1 2 3; do
        chunkproc -j 2 -f csv -g region,method -a var:latency_ms,stddev:bytes big.csv > j2.csv
        run diff j1.csv j2.csv
        assert_success
    done
}

@test "approx-distinct is within 3 standard errors (2.4 %) of the exact count" {
    gen_big
    run chunkproc -j 2 -f csv -a count,distinct:user_id,approx-distinct:user_id big.csv
    assert_success
    # DuckDB: 120000 rows, 89250 distinct user_id (gencsv-total.csv)
    assert_line --index 1 --regexp '^120000,89250,[0-9]+$'
    est=${lines[1]##*,}
    [ "$est" -ge 87108 ]
    [ "$est" -le 91392 ]
    tail -n 1 "$CP/gencsv-total.csv" | grep -qx '120000,89250'
}

# ---- quantiles ---------------------------------------------------------------------

@test "quantiles are exact type 7 without --exact for groups of up to 4096 values" {
    { echo v; seq 1 4096; } > q.csv
    run chunkproc -f csv -a p50:v,p90:v,p99:v,quantile:v:0.001,quantile:v:0,quantile:v:1 q.csv
    assert_success
    assert_output "$(printf 'p50_v,p90_v,p99_v,quantile_v_0.001,quantile_v_0,quantile_v_1\n2048.5,3686.5,4055.05,5.095,1,4096')"
    run chunkproc -j 2 -f csv -a p50:v,p90:v,p99:v,quantile:v:0.001 q.csv
    assert_output "$(printf 'p50_v,p90_v,p99_v,quantile_v_0.001\n2048.5,3686.5,4055.05,5.095')"
}

@test "type 7 interpolates between closest ranks; nearest takes x at ceil(q*n)" {
    printf 'v\n1\n2\n3\n4\n' > q.csv
    run chunkproc --exact -f csv -a p50:v,quantile:v:0.25,quantile:v:0.75 q.csv
    assert_success
    assert_output "$(printf 'p50_v,quantile_v_0.25,quantile_v_0.75\n2.5,1.75,3.25')"
    run chunkproc --exact --quantile-method nearest -f csv -a p50:v,quantile:v:0.25,quantile:v:0.75,quantile:v:0.76,quantile:v:0 q.csv
    assert_success
    assert_output "$(printf 'p50_v,quantile_v_0.25,quantile_v_0.75,quantile_v_0.76,quantile_v_0\n2,1,3,4,1')"
}

@test "--quantile-method nearest: 1..100 at q = 0.07 is 7 (no floating-point off-by-one)" {
    # ceil(100 * 0.07) = 7, although 100 * 0.07 is 7.000000000000001 in doubles;
    # DuckDB's quantile_disc gives 7, 14, 29, 57 here.
    { echo v; seq 1 100; } > h.csv
    run chunkproc --exact --quantile-method nearest -f csv -a quantile:v:0.07,quantile:v:0.14,quantile:v:0.29,quantile:v:0.57 h.csv
    assert_success
    assert_output "$(printf 'quantile_v_0.07,quantile_v_0.14,quantile_v_0.29,quantile_v_0.57\n7,14,29,57')"
}

@test "nearest-rank quantiles per group match DuckDB's quantile_disc" {
    chunkproc --quantile-method nearest -f tsv -g region -a p50:n,p90:x,quantile:x:0.25,quantile:x:0.75 "$CP/mixed.csv" > got.tsv
    run diff "$CP/mixed-nearest.tsv" got.tsv
    assert_success
}

@test "a big skewed group: --exact matches exact fractions; the default sketch is within 1 %" {
    awk -f "$CP/skewed.awk" > sk.csv
    a=p50:v,p90:v,p99:v,quantile:v:0.25,quantile:v:0.999,quantile:v:0.001
    chunkproc -j 2 --exact -f tsv -g g -a "$a" sk.csv > exact.tsv
    run tsv_close "$CP/skewed-exact.tsv" exact.tsv
    assert_success
    chunkproc -j 2 -f tsv -g g -a "$a" sk.csv > sketch.tsv
    run tsv_close "$CP/skewed-exact.tsv" sketch.tsv 0.01
    assert_success
    # the small groups (4 and 2 values) are exact even with the sketch on
    run tsv_close <(sed -n '1p;3,$p' "$CP/skewed-exact.tsv") <(sed -n '1p;3,$p' sketch.tsv)
    assert_success
    chunkproc -j 2 --exact --quantile-method nearest -f tsv -g g -a "$a" sk.csv > nearest.tsv
    run diff "$CP/skewed-nearest.tsv" nearest.tsv
    assert_success
}

@test "quantile:C:Q names its column quantile_C_Q and needs Q from 0 to 1" {
    printf 'v\n1\n' > q.csv
    run chunkproc -f csv -a quantile:v:0.5,quantile:v:1 q.csv
    assert_success
    assert_line --index 0 "quantile_v_0.5,quantile_v_1"
    run chunkproc -a quantile:v:1.5 q.csv
    assert_failure 2
    assert_line --index 0 "chunkproc: option --aggregates: 'quantile:v:1.5': expected quantile:COLUMN:Q with Q from 0 to 1"
    run chunkproc -a quantile:v q.csv
    assert_failure 2
}

# ---- --where -------------------------------------------------------------------------

where_csv() {
    printf 'id,name,score,city\n1,alice,10,Oslo\n2,bob,,Rome\n3,carol,7.5,\n4,dave,n/a,Oslo\n5,eve,-2,Paris\n6,"o,k",1e1,"New York"\n7,it'"'"'s,0.5,oslo\n' > w.csv
}

# ids EXPR: the ids of the rows EXPR keeps, on one line
ids() {
    chunkproc -f csv --select id --where "$1" w.csv | tail -n +2 | paste -sd' '
}

@test "--where compares numbers numerically, with decimals, exponents and negatives" {
    where_csv
    [ "$(ids 'score > 5')" = "1 3 6" ]
    [ "$(ids 'score >= 10')" = "1 6" ]
    [ "$(ids 'score = 1e1')" = "1 6" ]
    [ "$(ids 'score == 10.0')" = "1 6" ]
    [ "$(ids 'score < 0.5')" = "5" ]
    [ "$(ids 'score <= 0.5')" = "5 7" ]
    [ "$(ids 'score > -5')" = "1 3 5 6 7" ]
    [ "$(ids 'score <> 10')" = "3 5 7" ]
}

@test "--where compares strings bytewise, in single or double quotes" {
    where_csv
    [ "$(ids 'city = "Oslo"')" = "1 4" ]
    [ "$(ids "city = 'Oslo'")" = "1 4" ]
    [ "$(ids "city < 'P'")" = "1 4 6" ]
    [ "$(ids 'city >= "o"')" = "7" ]
    [ "$(ids "name = 'it''s'")" = "7" ]
    [ "$(ids 'name = "o,k"')" = "6" ]
    [ "$(ids 'score = "n/a"')" = "4" ]
}

@test "--where ~ and !~ match POSIX extended regular expressions" {
    where_csv
    [ "$(ids 'city ~ "^O"')" = "1 4" ]
    [ "$(ids 'city ~ "^(R|P)[a-z]+$"')" = "2 5" ]
    [ "$(ids 'city !~ "^O"')" = "2 5 6 7" ]
    [ "$(ids 'name ~ "l{2}|,"')" = "6" ]
}

@test "--where and/or/not with parentheses; and binds tighter; keywords in any case" {
    where_csv
    [ "$(ids 'name ~ "^[a-c]" and score > 0')" = "1 3" ]
    [ "$(ids 'score < 0 or city = "Rome"')" = "2 5" ]
    [ "$(ids 'id = 1 or id = 2 and id = 3')" = "1" ]
    [ "$(ids '(id = 1 or id = 2) and id = 2')" = "2" ]
    [ "$(ids 'NOT city = "Oslo" AnD id <= 5')" = "2 5" ]
    [ "$(ids 'not (score > 5)')" = "5 7" ]
    [ "$(ids 'not not id = 3')" = "3" ]
}

@test "--where names columns by \$N and by \`quoted name\`" {
    where_csv
    [ "$(ids '$3 > 5')" = "1 3 6" ]
    [ "$(ids '`city` = "New York"')" = "6" ]
    printf 'a b,c\n1,x\n2,y\n' > sp.csv
    run chunkproc -f csv --where '`a b` >= 2' sp.csv
    assert_success
    assert_output "$(printf 'a b,c\n2,y')"
}

@test "--where: a missing value never matches, not under not, != or !~ either" {
    where_csv
    [ "$(ids 'score != 10')" = "3 5 7" ]
    [ "$(ids 'not score = 10')" = "3 5 7" ]
    [ "$(ids 'city != "Oslo"')" = "2 5 6 7" ]
    [ "$(ids 'city !~ "x"')" = "1 2 4 5 6 7" ]
    # unknown and false is false, so these rows match on the known part
    [ "$(ids 'not (city = "Oslo" and score > 100)')" = "1 2 3 5 6 7" ]
    [ "$(ids 'not (city = "Oslo" or score > 100)')" = "5 6 7" ]
    [ "$(ids 'score = ""')" = "" ]
}

@test "--where: a non-number compared with a number literal does not match" {
    where_csv
    [ "$(ids 'score < 1000')" = "1 3 5 6 7" ]
    [ "$(ids 'not score < 1000')" = "" ]
    [ "$(ids 'name > 0')" = "" ]
    [ "$(ids 'name != 0')" = "" ]
}

@test "--where: two columns compare as numbers when both are, else as bytes" {
    printf 'a,b\n10,9\n9,10\nb,a\n2,2.0\n' > c.csv
    run chunkproc -f csv --where 'a > b' c.csv
    assert_success
    assert_output "$(printf 'a,b\n10,9\nb,a')"
    run chunkproc -f csv --where 'a = b' c.csv
    assert_output "$(printf 'a,b\n2,2.0')"
}

@test "--where filters rows before they are grouped" {
    small_csv
    run chunkproc -f csv -g g -a count,sum:v --where 'v > 1' s.csv
    assert_success
    assert_output "$(printf 'g,count,sum_v\n,1,4\na,2,5.5\nb,1,2')"
}

@test "a bad --where expression exits 2 naming its column" {
    small_csv
    run chunkproc --where 'v >' s.csv
    assert_failure 2
    assert_line --index 0 "chunkproc: --where: column 4: expected a column, number or string, found the end of the expression"
    run chunkproc --where '(v > 1' s.csv
    assert_failure 2
    assert_line --index 0 "chunkproc: --where: column 7: expected ')', found the end of the expression"
    run chunkproc --where 'v > 1 v' s.csv
    assert_line --index 0 "chunkproc: --where: column 7: expected 'and', 'or' or the end, found 'v'"
    run chunkproc --where 'v ! 1' s.csv
    assert_line --index 0 "chunkproc: --where: column 3: unexpected character '!'"
    run chunkproc --where 'v = 1abc' s.csv
    assert_failure 2
    assert_line --index 0 "chunkproc: --where: column 5: expected a number like 3.14, -2 or 1e-6, found '1abc'"
    run chunkproc --where 's = "open' s.csv
    assert_line --index 0 "chunkproc: --where: column 5: unterminated quote"
    run chunkproc --where 's ~ "("' s.csv
    assert_failure 2
    assert_line --index 0 --regexp "^chunkproc: --where: column 5: bad regular expression: "
    run chunkproc --where '1 = 2' s.csv
    assert_line --index 0 "chunkproc: --where: column 1: a comparison needs at least one column"
}

@test "an unknown --where column exits 2 with a suggestion" {
    small_csv
    run chunkproc --where 'g = "a" and vv > 1' s.csv
    assert_failure 2
    assert_output "chunkproc: s.csv:1: --where: column 13: unknown column 'vv' (did you mean 'v'?)"
    run chunkproc --where '$9 > 1' s.csv
    assert_failure 2
    assert_output "chunkproc: s.csv:1: --where: column 1: unknown column '\$9'"
}

# ---- filter mode ---------------------------------------------------------------------

@test "filter output is minimal RFC 4180: quotes only where needed" {
    printf 'k,v,n\r\n"plain",1,"a ""q"""\r\n"a,b",2,x\r\n"two\nlines",3,"cr\r\nlf"\r\n" lead",4,\r\n' > q.csv
    run chunkproc -f csv --where 'v > 0' q.csv
    assert_success
    assert_output "$(printf 'k,v,n\nplain,1,"a ""q"""\n"a,b",2,x\n"two\nlines",3,"cr\r\nlf"\n lead,4,')"
}

@test "filter output has the header even when nothing matches" {
    small_csv
    run --separate-stderr chunkproc -f csv --where 'v > 100' s.csv
    assert_success
    assert_output "g,v,s"
    run chunkproc -f csv --where 'v > 100' --select s,g s.csv
    assert_output "s,g"
    run chunkproc -f json --where 'v > 100' s.csv
    assert_output "[]"
    run chunkproc -f ndjson --where 'v > 100' s.csv
    assert_output ""
}

@test "--select projects and reorders columns, alone or with --where" {
    small_csv
    run chunkproc -f csv --select s,g s.csv
    assert_success
    assert_output "$(printf 's,g\nx,a\ny,b\n,a\nz,b\nx,a\nw,\nq,a')"
    run chunkproc -f csv --select v,v,g --where 'g = "b"' s.csv
    assert_output "$(printf 'v,v,g\n2,2,b\n,,b')"
}

@test "filter output in json and ndjson: numbers bare, empty as null, strings escaped" {
    printf 'k,v,n\n"say ""hi""",1.5,\n"a\nb",-2,x\n' > j.csv
    run chunkproc -f json --where 'v < 5' j.csv
    assert_success
    assert_output "$(printf '[\n{"k":"say \\"hi\\"","v":1.5,"n":null},\n{"k":"a\\nb","v":-2,"n":"x"}\n]')"
    run chunkproc -f ndjson --where 'v < 5' --select v,k j.csv
    assert_success
    assert_output "$(printf '{"v":1.5,"k":"say \\"hi\\""}\n{"v":-2,"k":"a\\nb"}')"
}

@test "filter output in tsv from CSV input has a tab-separated header" {
    printf 'a,b\n"x,y",1\n' > c.csv
    run chunkproc -f tsv --where 'b = 1' c.csv
    assert_success
    assert_output "$(printf 'a\tb\nx,y\t1')"
}

@test "a filter over a multi-block file keeps input order with -j 2 and matches DuckDB" {
    gen_big
    run chunkproc -j 2 -f csv --where 'status >= 500 and method = "DELETE"' --select ts,path,status big.csv
    assert_success
    assert_output "$(cat "$CP/gencsv-filter.csv")"
    chunkproc -j 2 -f ndjson --where 'status >= 500' big.csv > j2.ndjson
    chunkproc -j 1 -f ndjson --where 'status >= 500' big.csv > j1.ndjson
    run cmp j1.ndjson j2.ndjson
    assert_success
}

@test "an unknown --select column exits 2 with a suggestion" {
    small_csv
    run chunkproc --select g,vv s.csv
    assert_failure 2
    assert_output "chunkproc: s.csv:1: --select: unknown column 'vv' (did you mean 'v'?)"
    # from stdin
    run chunkproc --select g,vv < s.csv
    assert_output "chunkproc: <stdin>:1: --select: unknown column 'vv' (did you mean 'v'?)"
}

@test "-o writes the result to a file and nothing to stdout" {
    small_csv
    run chunkproc -f csv -g g -a count -o out.csv s.csv
    assert_success
    assert_output ""
    run cat out.csv
    assert_output "$(printf 'g,count\n,1\na,4\nb,2')"
}

# ---- errors ---------------------------------------------------------------------------

@test "a ragged row exits 2 with file:line and the field counts" {
    printf 'a,b\n1,2\n3\n4,5\n' > r.csv
    run --separate-stderr chunkproc -f csv -a count r.csv
    assert_failure 2
    assert_output ""
    [ "$stderr" = "chunkproc: r.csv:3: expected 2 fields, found 1" ]
    printf 'a,b\r\n"x\r\ny",1\r\n1,2,3\r\n' > r2.csv
    run chunkproc --where 'b > 0' r2.csv
    assert_failure 2
    assert_output --partial "chunkproc: r2.csv:4: expected 2 fields, found 3"
}

@test "a ragged row deep in a multi-block file is named by its line with -j 2" {
    { echo a,b; seq 1 300000 | sed 's/$/,1/'; echo 5; seq 1 10 | sed 's/$/,1/'; } > r.csv
    run chunkproc -j 2 -a count r.csv
    assert_failure 2
    assert_output "chunkproc: r.csv:300002: expected 2 fields, found 1"
}

@test "a non-number in a numeric aggregate exits 2 with file:line and the column" {
    printf 'a,b\n1,2\n3,x\n' > n.csv
    for agg in sum:b mean:b min:b max:b var:b stddev:b p50:b quantile:b:0.3; do
        run chunkproc -a "$agg" n.csv
        assert_failure 2
        assert_output "chunkproc: n.csv:3: column 'b': expected a number, found 'x'"
    done
    # first, last, distinct and approx-distinct take any text
    run chunkproc -f csv -a first:b,last:b,distinct:b,approx-distinct:b n.csv
    assert_success
    assert_output "$(printf 'first_b,last_b,distinct_b,approx_distinct_b\n2,x,2,2')"
}

@test "an unterminated quote exits 2 naming the line of the opening quote" {
    printf 'a,b\n1,2\n3,"open\n4,5\n' > u.csv
    run chunkproc -a count u.csv
    assert_failure 2
    assert_output "chunkproc: u.csv:3: unterminated quoted field"
}

@test "--lenient skips and counts bad records, warns on stderr, exits 0" {
    printf 'a,b\n1,2\n3\n4,"open\n' > l.csv
    run --separate-stderr chunkproc --lenient -f csv -a count,sum:a l.csv
    assert_success
    assert_output "$(printf 'count,sum_a\n1,1')"
    [[ $stderr == "chunkproc: skipped 2 malformed record"* ]]
    run --separate-stderr chunkproc --lenient -q -f csv -a count l.csv
    assert_success
    [ -z "$stderr" ]
    printf 'a,b\n1,2\n1\n2,x\n3,4\n' > f.csv
    run --separate-stderr chunkproc --lenient -f csv --where 'b > 0' f.csv
    assert_success
    assert_output "$(printf 'a,b\n1,2\n3,4')"
    [[ $stderr == "chunkproc: skipped 1 malformed record"* ]]
}

@test "--lenient: a record skipped for a non-number adds nothing to any aggregate" {
    printf 'a,b\n1,x\n2,3\n' > n.csv
    run --separate-stderr chunkproc --lenient -f csv -a count,sum:a,sum:b n.csv
    assert_success
    assert_output "$(printf 'count,sum_a,sum_b\n1,2,3')"
    [[ $stderr == "chunkproc: skipped 1 malformed record"* ]]
    run --separate-stderr chunkproc --lenient -f csv -g a -a count,sum:b n.csv
    assert_success
    assert_output "$(printf 'a,count,sum_b\n2,1,3')"
}

@test "an unknown aggregate is a usage error with a suggestion" {
    small_csv
    run chunkproc -a summ:v s.csv
    assert_failure 2
    assert_line --index 0 "chunkproc: option --aggregates: unknown aggregate 'summ' (did you mean 'sum'?)"
    assert_line --index 1 "Try 'chunkproc --help' for more information."
    run chunkproc -a frobnicate:v s.csv
    assert_failure 2
    assert_line --index 0 --partial "unknown aggregate 'frobnicate' (expected count, sum, mean"
    run chunkproc -a count:v s.csv
    assert_failure 2
    run chunkproc -a sum s.csv
    assert_failure 2
    assert_line --index 0 "chunkproc: option --aggregates: 'sum' needs a column: sum:COLUMN"
}

@test "an unknown -g or -a column exits 2 with a suggestion" {
    small_csv
    run chunkproc -g gg s.csv
    assert_failure 2
    assert_output "chunkproc: s.csv:1: -a/-g: unknown column 'gg' (did you mean 'g'?)"
    run chunkproc -g g -a sum:vv s.csv
    assert_failure 2
    assert_output "chunkproc: s.csv:1: -a/-g: unknown column 'vv' (did you mean 'v'?)"
}

@test "--select with -a or -g is a usage error" {
    small_csv
    run chunkproc -g g --select v s.csv
    assert_failure 2
    assert_line --index 0 --partial "chunkproc: --select"
    assert_line --index 1 "Try 'chunkproc --help' for more information."
    run chunkproc -a count --where 'v > 1' --select v s.csv
    assert_failure 2
}

@test "truncated zstd and gzip input exit 2, from a file and from stdin, with no result" {
    gen_big
    zstd -q -c < big.csv | head -c 300000 > cut.zst
    run --separate-stderr chunkproc -f csv -g region -a count cut.zst
    assert_failure 2
    assert_output ""
    [ "$stderr" = "chunkproc: cut.zst: truncated zstd stream at byte 300000" ]
    run bash -c 'chunkproc -a count < cut.zst'
    assert_failure 2
    assert_output "chunkproc: <stdin>: truncated zstd stream at byte 300000"
    gzip -c < big.csv | head -c 50000 > cut.gz
    run chunkproc -a count cut.gz
    assert_failure 2
    assert_output "chunkproc: cut.gz: truncated gzip stream at byte 50000"
}

@test "empty input: count 0 without -g, only the header with -g, nothing to filter" {
    : > e.csv
    run chunkproc -f csv e.csv
    assert_success
    assert_output "$(printf 'count\n0')"
    run chunkproc -f csv -g g -a count,sum:v e.csv
    assert_success
    assert_output "g,count,sum_v"
    run chunkproc -f json -g g -a count e.csv
    assert_output "[]"
    run bash -c ': | chunkproc -f csv -a count,sum:v'
    assert_success
    assert_output "$(printf 'count,sum_v\n0,')"
    printf 'g,v\n' > h.csv
    run chunkproc -f csv -g g -a count h.csv
    assert_output "g,count"
    run chunkproc -f csv --where 'v > 0' h.csv
    assert_output "g,v"
}

# ---- YAML job files ------------------------------------------------------------------

@test "a YAML job file sets group-by, aggregates, where and format" {
    small_csv
    printf 'group-by: g\naggregates: [count, "sum:v"]\nwhere: v > 1\nformat: csv\n' > job.yaml
    run chunkproc -c job.yaml s.csv
    assert_success
    assert_output "$(printf 'g,count,sum_v\n,1,4\na,2,5.5\nb,1,2')"
    printf 'where: g = "a"\nselect: [s, v]\nformat: ndjson\n' > filter.yaml
    run chunkproc -c filter.yaml s.csv
    assert_success
    assert_output "$(printf '{"s":"x","v":1}\n{"s":null,"v":3}\n{"s":"x","v":2.5}\n{"s":"q","v":-0.5}')"
}

@test "options on the command line override the YAML job file" {
    small_csv
    printf 'group-by: g\naggregates: [count, "sum:v"]\nwhere: v > 1\nformat: csv\n' > job.yaml
    run chunkproc -c job.yaml -f tsv -a count --where 'v >= 1' s.csv
    assert_success
    assert_output "$(printf 'g\tcount\n\t1\na\t3\nb\t1')"
}

@test "a bad value in a YAML job exits 2 naming its file:line:column, even when checked after parsing" {
    small_csv
    job() { printf '%b' "$1" > job.yaml; run chunkproc -c job.yaml s.csv; assert_failure 2; }
    job 'group-by: g\naggregates: [count, summ:v]\n'
    assert_output "chunkproc: job.yaml:2:13: aggregates: unknown aggregate 'summ' (did you mean 'sum'?)"
    job 'aggregates:\n  - count\n  - quantile:v:1.5\n'
    assert_output "chunkproc: job.yaml:2:3: aggregates: 'quantile:v:1.5': expected quantile:COLUMN:Q with Q from 0 to 1"
    job 'where: "v >"\n'
    assert_output "chunkproc: job.yaml:1:8: where: column 4: expected a column, number or string, found the end of the expression"
    job 'threads: -1\n'
    assert_output "chunkproc: job.yaml:1:10: threads: expected 0 (one per core) or more, found -1"
    job 'group-by: g\naggregates: sum:v\nsort: sum_x\n'
    assert_output "chunkproc: job.yaml:3:7: sort: no aggregate column 'sum_x' (did you mean 'sum_v'?)"
    job 'max-line: 8\n'
    assert_output "chunkproc: job.yaml:1:11: max-line: expected 16 to 4G bytes"
    # a folded value ends in a newline: the message shows it escaped, on one line
    job 'aggregates: >\n  y\n'
    assert_output "chunkproc: job.yaml:1:13: aggregates: unknown aggregate 'y\\n' (expected count, sum, mean, min, max, var, stddev, first, last, distinct, approx-distinct, p50, p90, p99, quantile or top)"
    # the same value on the command line overrides the job's: a usage error there
    printf 'aggregates: summ:v\n' > job.yaml
    run chunkproc -c job.yaml -a bogus s.csv
    assert_failure 2
    assert_line --index 0 --partial "chunkproc: option --aggregates: unknown aggregate 'bogus' ("
    run chunkproc -c job.yaml -a sum:v -f csv s.csv
    assert_success
}

@test "a YAML job file with an unknown key exits 2 with file:line:column and a suggestion" {
    small_csv
    printf 'format: csv\ngroup_by: g\n' > bad.yaml
    run chunkproc -c bad.yaml s.csv
    assert_failure 2
    assert_output "chunkproc: bad.yaml:2:11: unknown key 'group_by' (did you mean 'group-by'?)"
}

# ---- partial and merge -------------------------------------------------------------

@test "--merge of --partial outputs gives the single-run answer" {
    "$GENCSV" 20000 1 > s1.csv
    "$GENCSV" 20000 2 > s2.csv
    a=count,sum:bytes,mean:latency_ms,min:latency_ms,max:bytes,first:path,last:path,distinct:user_id,approx-distinct:user_id,p50:latency_ms,p99:bytes
    chunkproc -f csv -g region -a "$a" s1.csv s2.csv > single.csv
    chunkproc --partial -g region -a "$a" s1.csv > 1.part
    chunkproc --partial -g region -a "$a" s2.csv > 2.part
    run chunkproc --merge -f csv 1.part 2.part
    assert_success
    assert_output "$(cat single.csv)"
}

@test "--merge reads partials concatenated on stdin, as a streaming reducer gets them" {
    "$GENCSV" 2000 1 > s1.csv
    "$GENCSV" 2000 2 > s2.csv
    chunkproc -f csv -g region -a count,sum:bytes s1.csv s2.csv > single.csv
    chunkproc --partial -g region -a count,sum:bytes s1.csv > 1.part
    chunkproc --partial -g region -a count,sum:bytes s2.csv > 2.part
    run bash -c 'cat 1.part 2.part | chunkproc --merge -f csv'
    assert_success
    assert_output "$(cat single.csv)"
}

@test "--merge: input that is not a well-formed partial exits 2 naming file and line" {
    printf 'g,v,s\na,1,x\nb,2,y\na,3,"z,w"\n' > s.csv
    chunkproc --partial -g g -a count,sum:v,first:s s.csv > ok.part
    # the header records, then a G record a group: line 8 is group a
    run sed -n '2,6p' ok.part
    assert_output "$(printf 'P\tkey-names\tg\nP\tgroup-by\tg\nP\taggregates\tcount\tsum:v\tfirst:s\nP\tagg-columns\t-1\t1\t2\nP\texact\t0')"
    bad() { # WANT FILE
        run chunkproc --merge -f csv "$2"
        assert_failure 2
        assert_output "chunkproc: $2:$1"
    }
    bad "1: not a chunkproc --partial file (expected '#memkit chunkproc-partial v1')" s.csv
    printf '' > empty.part
    bad " empty input, not a chunkproc --partial file" empty.part
    sed '/key-names/d' ok.part > a.part
    bad "1: malformed partial header (no 'key-names' record)" a.part
    sed '/agg-columns/d' ok.part > a.part
    bad "1: malformed partial header (no 'agg-columns' record)" a.part
    sed '3p' ok.part > a.part
    bad "4: malformed partial header ('group-by' given twice)" a.part
    sed 's/^P\tagg-columns.*/P\tagg-columns\t-1\tzz\t2/' ok.part > a.part
    bad "5: malformed partial header (agg-columns: 'zz' is not a column index)" a.part
    sed 's/^P\tagg-columns.*/P\tagg-columns\t-1\t1/' ok.part > a.part
    bad "5: malformed partial header (agg-columns and aggregates differ in length: 2 and 3)" a.part
    sed 's/^P\tkey-names.*/P\tkey-names\tg\th/' ok.part > a.part
    bad "2: malformed partial header (key-names and group-by differ in length: 2 and 1)" a.part
    sed 's/^P\texact.*/P\texact\tyes/' ok.part > a.part
    bad "6: malformed partial header (exact must be 0 or 1)" a.part
    sed 's/^P\taggregates.*/P\taggregates\tcount\tbogus:v\tfirst:s/' ok.part > a.part
    bad "4: unknown aggregate 'bogus' (expected count, sum, mean, min, max, var, stddev, first, last, distinct, approx-distinct, p50, p90, p99, quantile or top)" a.part
    sed '8a P\texact\t0' ok.part > a.part
    bad "9: header record after group records" a.part
    sed 's/^G\t2\ta\t.*/G\t2\ta\t2\t1:zz/' ok.part > a.part
    bad "8: malformed partial state (field count)" a.part
    # a header record this version does not know is skipped
    sed '2i P\tfrom-the-future\t1' ok.part > a.part
    run chunkproc --merge -f csv a.part
    assert_success
    assert_output "$(chunkproc -f csv -g g -a count,sum:v,first:s s.csv)"
    # partials of different jobs, and a job given that differs
    chunkproc --partial -g g -a count s.csv > other.part
    run chunkproc --merge ok.part other.part
    assert_failure 2
    assert_output "chunkproc: other.part:1: made with different -g/-a/--exact than the first partial"
    cat ok.part other.part > both.part
    run chunkproc --merge both.part
    assert_failure 2
    assert_output "chunkproc: both.part:10: made with different -g/-a/--exact than the first partial"
    run chunkproc --merge -g g -a count ok.part
    assert_failure 2
    assert_output "chunkproc: ok.part:1: made with different -g/-a than given"
}

@test "--merge: a partial whose quantile values are missing exits 2 instead of reading past them" {
    awk 'BEGIN { print "g,v"; for (i = 0; i < 50; i++) print "g" i % 2 "," i }' > q.csv
    chunkproc --partial -g g -a count,p50:v,p90:v q.csv > q.part
    run grep -c '^Q' q.part
    assert_output 2
    sed '/^Q\t1\t/d' q.part > noq.part
    run chunkproc --merge noq.part
    assert_failure 2
    assert_output "chunkproc: noq.part:1: malformed partial state (group 1: 0 values for 'p50_v', 25 counted)"
    # a value too many
    sed 's/^\(Q\t0\t.*\)$/\1\t0x1p+0/' q.part > extra.part
    run chunkproc --merge extra.part
    assert_failure 2
    assert_output "chunkproc: extra.part:1: malformed partial state (group 0: 26 values for 'p50_v', 25 counted)"
    run chunkproc --merge -f csv q.part
    assert_success
    assert_output "$(chunkproc -f csv -g g -a count,p50:v,p90:v q.csv)"
}

@test "--merge: hundreds of damaged partials each merge or exit 2 with one line, none crashes" {
    awk 'BEGIN { srand(3); print "k,j,v,s"
                 for (i = 0; i < 300; i++) printf "k%d,%s,%.3f,s%d\n", i % 5, i % 3 ? "x" : "y", rand() * 100, int(rand() * 40) }' > m.csv
    # small, so that a tenth of its lines are the header: damage there crashed
    # the merge before (2 of these 150 did)
    head -31 m.csv | chunkproc --partial -g j -a count,sum:v,mean:v,min:v,max:v,var:v,stddev:v,first:s,last:s,distinct:s,approx-distinct:s,p50:v,quantile:v:0.3,top:s:3 > all.part
    chunkproc --partial --exact -g k -a count,p50:v,distinct:s m.csv > exact.part
    # spilled: many partials in one file, with K and T records
    chunkproc --partial --memory 64K -g s -a count,distinct:k,top:j:1,first:v m.csv > spilled.part
    [ "$(grep -c '^#memkit' spilled.part)" -gt 10 ] && grep -q '^K' spilled.part
    run python3 "$CP/mutate-partial.py" "$MK_BUILD/bin/chunkproc" all.part 150 1
    assert_success
    assert_output "150 damaged partials, 0 failed"
    run python3 "$CP/mutate-partial.py" "$MK_BUILD/bin/chunkproc" exact.part 100 2
    assert_output "100 damaged partials, 0 failed"
    run python3 "$CP/mutate-partial.py" "$MK_BUILD/bin/chunkproc" spilled.part 100 3
    assert_output "100 damaged partials, 0 failed"
}

@test "--merge: a first or last whose value is empty merges to an empty cell" {
    printf 'g,s\na,x\n' > e.csv
    chunkproc --partial -g g -a count,first:s e.csv > e.part
    sed 's/1:1:x$/1:1:/' e.part > empty.part
    run chunkproc --merge -f csv empty.part
    assert_success
    assert_output "$(printf 'g,count,first_s\na,1,')"
}

# The literal block (.Bd ... .Ed) that follows the first man page line
# containing $1, with mandoc's \e made a backslash again: the recipes the
# man page gives are run as written.
man_recipe() {
    awk -v pat="$1" 'on == 2 && /^\.Ed/ { exit } on == 2 { print } on == 1 && /^\.Bd/ { on = 2 }
                     !on && index($0, pat) { on = 1 }' "$ROOT/man/chunkproc.1" | sed 's/\\e/\\/g'
}

@test "the man page's GNU parallel recipe (a partial per file, then --merge) gives the single-run answer" {
    command -v parallel > /dev/null || skip "GNU parallel is not installed (make check-deps installs it)"
    mkdir logs
    for i in 1 2 3 4; do "$GENCSV" 15000 $((20 + i)) | zstd -q > logs/day$i.csv.zst; done
    recipe=$(man_recipe "Make one partial per file with GNU")
    [[ $recipe == *"parallel chunkproc --partial"* ]]
    bash -e -c "$recipe"
    chunkproc -f csv -g region -a count,sum:bytes,p99:latency_ms logs/*.csv.zst > single.csv
    run cat by-region.csv
    assert_output "$(cat single.csv)"
    assert_equal "$(wc -l < single.csv)" 9
}

@test "GNU parallel over shards of every codec: merged partials of every aggregate give the single-run answer" {
    command -v parallel > /dev/null || skip "GNU parallel is not installed (make check-deps installs it)"
    "$GENCSV" 30000 11 | zstd -q > a.csv.zst
    "$GENCSV" 30000 12 | gzip > b.csv.gz
    "$GENCSV" 30000 13 > c.csv
    "$GENCSV" 5 14 > d.csv
    a=count,sum:bytes,mean:latency_ms,min:latency_ms,max:bytes,var:bytes,stddev:latency_ms,first:path,last:ts,distinct:user_id,approx-distinct:user_id,p50:latency_ms,quantile:bytes:0.9,top:method:2
    chunkproc -f csv -g region,method -a "$a" a.csv.zst b.csv.gz c.csv d.csv > single.csv
    parallel --will-cite -j 4 chunkproc --partial -j 1 -g region,method -a "$a" -o {}.part {} ::: a.csv.zst b.csv.gz c.csv d.csv
    run chunkproc --merge -f csv a.csv.zst.part b.csv.gz.part c.csv.part d.csv.part
    assert_success
    assert_output "$(cat single.csv)"
    # --exact too: exact quantiles and distinct counts merge exactly
    chunkproc --exact -f csv -g region -a count,p50:latency_ms,p99:bytes,distinct:path a.csv.zst b.csv.gz c.csv d.csv > single.csv
    parallel --will-cite chunkproc --exact --partial -g region -a count,p50:latency_ms,p99:bytes,distinct:path -o {}.part {} ::: a.csv.zst b.csv.gz c.csv d.csv
    run chunkproc --exact --merge -f csv a.csv.zst.part b.csv.gz.part c.csv.part d.csv.part
    assert_success
    assert_output "$(cat single.csv)"
}

@test "the man page's split(1) recipe cuts a file into shards that merge to the single-run answer" {
    # no quoted field holds a newline here, as the recipe requires
    awk 'BEGIN { srand(3); print "ts,region,bytes,path"
                 for (i = 0; i < 50000; i++)
                     printf "%d,r%d,%d,\"/p/%d, \"\"q\"\"\"\n", i, i % 7, int(rand() * 1000), i % 13 }' | zstd -q > big.csv.zst
    recipe=$(man_recipe "One big file can be cut into shards")
    [[ $recipe == *"split -l 2000000"* ]]
    bash -e -c "${recipe//2000000/12000}"
    run ls
    assert_output "$(printf 'big.csv.zst\nshard-00.csv.zst\nshard-01.csv.zst\nshard-02.csv.zst\nshard-03.csv.zst\nshard-04.csv.zst')"
    for f in shard-*.csv.zst; do chunkproc --partial -g region -a count,sum:bytes,distinct:path,top:path:2 -o "$f.part" "$f"; done
    run chunkproc --merge -f csv shard-*.part
    assert_success
    assert_output "$(chunkproc -f csv -g region -a count,sum:bytes,distinct:path,top:path:2 big.csv.zst)"
    assert_line --index 1 --regexp '^r0,7143,[0-9]+,13,'
}

@test "the man page's Hadoop Streaming mapper and reducer, run as Hadoop runs them, give the single-run answer" {
    mapper=$(man_recipe ".Pa mapper.sh :")
    reducer=$(man_recipe ".Pa reducer.sh :")
    [[ $mapper == *"chunkproc --partial -c job.yaml"* && $reducer == *"chunkproc --merge"* ]]
    printf 'group-by: region\naggregates: count,sum:bytes,mean:latency_ms,max:bytes,distinct:user_id,p99:latency_ms\n' > job.yaml
    for i in 1 2 3; do "$GENCSV" 12000 $((30 + i)) | gzip > in$i.csv.gz; done
    # each map task gets one whole (gzip, so unsplit) file as lines on stdin
    # and runs in a directory of its own; the reducer gets all map output
    # lines sorted by their text
    for i in 1 2 3; do
        mkdir m$i && cp job.yaml m$i/
        (cd m$i && zcat ../in$i.csv.gz | sh -c "$mapper") > map$i.out
    done
    mkdir r && cp job.yaml r/
    LC_ALL=C sort map1.out map2.out map3.out > sorted.out
    run wc -l < sorted.out
    assert_output 3
    (cd r && sh -c "$reducer" < ../sorted.out) > reduced.tsv
    run cat reduced.tsv
    assert_output "$(chunkproc -c job.yaml -f tsv in1.csv.gz in2.csv.gz in3.csv.gz)"
    assert_equal "$(wc -l < reduced.tsv)" 9
}

@test "a file holding only a UTF-8 BOM is empty input" {
    printf '\xef\xbb\xbf' > bom.csv
    run chunkproc -f csv bom.csv
    assert_success
    assert_output "$(printf 'count\n0')"
}

@test "partials concatenated on stdin and a --sort/--top merge give the single-run answer" {
    printf 'k,v\na,1.10\nb,2\na,3.05\nc,4\n' > all.csv
    head -3 all.csv > p1.csv
    { head -1 all.csv; tail -2 all.csv; } > p2.csv
    chunkproc -g k -a count,sum:v,var:v,distinct:v --partial p1.csv > 1.part
    chunkproc -g k -a count,sum:v,var:v,distinct:v --partial p2.csv | gzip > 2.part.gz
    run bash -c 'cat 1.part <(zcat 2.part.gz) | chunkproc --merge -f csv'
    assert_success
    expected=$(chunkproc -g k -a count,sum:v,var:v,distinct:v -f csv all.csv)
    assert_output "$expected"
    assert_line --index 1 "a,2,4.15,1.90125,2"
    run chunkproc --merge --sort sum_v --top 1 -f csv 1.part 2.part.gz
    assert_output "$(printf 'k,count,sum_v,var_v,distinct_v\na,2,4.15,1.90125,2')"
}

@test "--sort names an output column and --top limits the groups" {
    printf 'k,v\na,1\nb,5\nc,3\n' > s.csv
    run chunkproc -g k -a sum:v --sort sum_v --top 2 -f csv s.csv
    assert_success
    assert_output "$(printf 'k,sum_v\nb,5\nc,3')"
    run chunkproc -g k -a sum:v --sort sum_x s.csv
    assert_failure 2
    assert_line --index 0 "chunkproc: option --sort: no aggregate column 'sum_x' (did you mean 'sum_v'?)"
}

@test "decimal sums are exact and thread-independent" {
    printf 'p\n10.10\n20.20\n11.65\n' > d.csv
    run chunkproc -a sum:p,mean:p -f csv d.csv
    assert_output "$(printf 'sum_p,mean_p\n41.95,13.983333333333334')"
}

# ---- beyond --memory: spilling to --tmpdir ------------------------------------

@test "state beyond --memory spills to --tmpdir and gives DuckDB's answer, -j 1 and -j 2" {
    gen_big
    a=count,sum:bytes,min:latency_ms,max:bytes,distinct:user_id,first:path,last:path
    mkdir tmp
    for j in 1 2; do
        chunkproc --memory 64K --tmpdir tmp --stats -j $j -f csv -g region,method -a "$a" big.csv \
            > got.csv 2> err
        run diff "$CP/gencsv-exact.csv" got.csv
        assert_success
        run grep -c 'spilled to tmp: .* set spills' err
        assert_output 1
    done
    # spill files are unlinked from the start: nothing is ever left behind
    run ls -A tmp
    assert_output ""
}

@test "exact distinct of a high-cardinality column without -g spills and matches DuckDB" {
    gen_big
    for j in 1 2; do
        chunkproc --memory 64K --stats -j $j -f csv -a count,distinct:user_id big.csv > got.csv 2> err
        run diff "$CP/gencsv-total.csv" got.csv
        assert_success
        run grep -oE '[0-9]+ set spills' err
        assert_output --regexp '^[0-9]{2,} set spills$'
        # the table of one group frees nothing: each worker spills it once,
        # at the end, not with every set spill
        run grep -oE '[0-9]+ table spills' err
        assert_output "$j table spills"
    done
}

@test "grouping by a high-cardinality key in 1M gives the in-memory result in every format" {
    "$GENCSV" 40000 5 > hc.csv
    a=count,sum:bytes,mean:latency_ms,var:bytes,min:latency_ms,first:path,last:ts,distinct:region,approx-distinct:method,p50:latency_ms,p99:bytes
    for run in "csv" "json" "text" "ndjson --sort sum_bytes" "csv --sort p50_latency_ms --top 30" "tsv --top 7"; do
        chunkproc -j 2 -f $run -g user_id -a "$a" hc.csv > mem.out
        chunkproc -j 2 -f $run --memory 1M --stats -g user_id -a "$a" hc.csv > spill.out 2> err
        grep -q 'spilled to .* table spills' err
        run cmp mem.out spill.out
        assert_success
    done
    # the result of 36 thousand groups is written in pieces, never held whole
    run wc -l < spill.out
    assert_output 8
}

@test "--exact quantiles of one group bigger than --memory are found by passes over the log" {
    awk -f "$CP/skewed.awk" > sk.csv
    a=p50:v,p90:v,p99:v,quantile:v:0.25,quantile:v:0.999,quantile:v:0.001
    chunkproc -j 2 --exact --memory 64K --stats -f tsv -g g -a "$a" sk.csv > exact.tsv 2> err
    run tsv_close "$CP/skewed-exact.tsv" exact.tsv
    assert_success
    grep -Eq 'exact quantiles: [1-9][0-9]* values of 1 stores logged .* passes over them: [1-9]' err
    chunkproc -j 2 --exact --memory 64K --quantile-method nearest -f tsv -g g -a "$a" sk.csv > nearest.tsv
    run diff "$CP/skewed-nearest.tsv" nearest.tsv
    assert_success
    # without -g the whole file is that one group
    chunkproc --exact -a count,p50:v,quantile:v:0.999 sk.csv > mem.out
    chunkproc --exact --memory 64K -a count,p50:v,quantile:v:0.999 sk.csv > spill.out
    run cmp mem.out spill.out
    assert_success
}

@test "--exact: big groups' values go to the log, across threads and spilled tables" {
    # a: 0..99999 and b: 0..12499.75 in steps of 0.25, both shuffled by a
    # multiplier prime to their size; 3000 small groups around them.
    awk 'BEGIN { print "g,v"
                 for (i = 0; i < 100000; i++) print "a," (i * 7919) % 100000
                 for (i = 0; i < 50000; i++) print "b," (i * 7919) % 50000 / 4
                 for (i = 0; i < 30000; i++) print "k" i % 3000 "," i }' > d.csv
    want='g,count,p50_v,p90_v,p99_v,quantile_v_0
a,100000,49999.5,89999.1,98999.01,0
b,50000,6249.875,11249.82,12374.802,0
k0,10,13500,24300,26730,0'
    for opts in "-j 1" "-j 2" "-j 2 --memory 256K"; do
        chunkproc --exact $opts --stats -f csv -g g -a count,p50:v,p90:v,p99:v,quantile:v:0 d.csv > got.csv 2> err
        run head -4 got.csv
        assert_output "$want"
        run wc -l < got.csv
        assert_output 3003
        grep -Eq 'exact quantiles: [0-9]+ values of 2 stores logged' err
    done
    grep -q 'table spills' err          # the last run spilled its tables too
    # nearest rank (x at ceil(q n)): 50000th of 0..99999
    run chunkproc --exact --quantile-method nearest -f csv --where 'g = "a"' -a p50:v,p99:v d.csv
    assert_output "$(printf 'p50_v,p99_v\n49999,98999')"
    # the same answers from partials merged (the merge logs them again)
    head -90001 d.csv > 1.csv
    { head -1 d.csv; tail -n +90002 d.csv; } > 2.csv
    chunkproc --exact --partial -g g -a count,p50:v,p90:v,p99:v,quantile:v:0 1.csv > 1.part
    chunkproc --exact --partial -g g -a count,p50:v,p90:v,p99:v,quantile:v:0 2.csv > 2.part
    chunkproc --merge --stats -f csv 1.part 2.part > merged.csv 2> err
    run head -4 merged.csv
    assert_output "$want"
    grep -q 'exact quantiles: .* of 2 stores logged' err
    # merging within a small budget spills the merged tables too: the log's
    # refs go through the spilled segments
    chunkproc --merge --memory 256K --stats -f csv 1.part 2.part > merged2.csv 2> err
    run cmp merged.csv merged2.csv
    assert_success
    grep -q 'table spills' err
    grep -q 'exact quantiles: .* of 2 stores logged' err
}

@test "--exact: threads share the passes over a big log" {
    # 0..799999 shuffled: 196 chunks of 4096 values, enough for two threads
    awk 'BEGIN { print "v"; for (i = 0; i < 800000; i++) print (i * 7919) % 800000 }' > d.csv
    run chunkproc -j 2 --exact --stats -f csv -a count,p50:v,p99:v,quantile:v:0.001 d.csv
    assert_success
    assert_line --index 0 count,p50_v,p99_v,quantile_v_0.001
    assert_line --index 1 800000,399999.5,791999.01,799.999
    assert_line --regexp 'exact quantiles: 800000 values of 1 stores logged .* passes over them: [23], by 2 threads'
    run chunkproc -j 1 --exact --stats -f csv -a count,p50:v,p99:v,quantile:v:0.001 d.csv
    assert_line --index 1 800000,399999.5,791999.01,799.999
    assert_line --regexp 'passes over them: [23], by 1 threads'
}

@test "--exact: a hundred big groups are resolved in batches, each exact" {
    # 100 groups of 0..4999 shuffled: 100 logged stores, 6 ranks each, so
    # three batches of passes
    awk 'BEGIN { print "g,v"
                 for (i = 0; i < 5000; i++) for (g = 0; g < 100; g++) print "g" g "," (i * 7919 + g) % 5000 }' > d.csv
    chunkproc -j 2 --exact --stats -f csv -g g -a count,p50:v,p99:v d.csv > got.csv 2> err
    grep -q 'exact quantiles: 500000 values of 100 stores logged' err
    run sort -u <(tail -n +2 got.csv | cut -d, -f2-)
    assert_output "5000,2499.5,4949.01"
    run wc -l < got.csv
    assert_output 101
}

@test "--exact: a log that cannot be written is an error" {
    awk 'BEGIN { print "v"; for (i = 0; i < 10000; i++) print i }' > d.csv
    run chunkproc --exact --tmpdir "$BATS_TEST_TMPDIR/missing" -a p50:v d.csv
    assert_failure 2
    assert_output "chunkproc: $BATS_TEST_TMPDIR/missing: cannot create a temporary file: No such file or directory"
    # small groups need no log: no error
    run chunkproc --exact --tmpdir "$BATS_TEST_TMPDIR/missing" -f csv -a p50:v <(head -100 d.csv)
    assert_success
    assert_output "$(printf 'p50_v\n49')"
}

@test "a full --tmpdir is an error: for the quantile log and for spilled tables" {
    mkdir small
    mount -t tmpfs -o size=256k tmpfs small 2> /dev/null || skip "cannot mount a small tmpfs (not root)"
    awk 'BEGIN { print "v"; for (i = 0; i < 100000; i++) print i }' > d.csv
    run chunkproc --exact --tmpdir small -f csv -a p50:v d.csv
    umount small 2> /dev/null || true
    assert_failure 2
    assert_output "chunkproc: small (temporary file): write error: No space left on device"
    mount -t tmpfs -o size=256k tmpfs small
    "$GENCSV" 40000 5 > hc.csv
    run chunkproc --tmpdir small --memory 256K -g user_id -a count -f csv hc.csv
    umount small
    assert_failure 2
    assert_line --index 0 "chunkproc: small (temporary file): write error: No space left on device"
}

@test "--partial and --merge spill too, and still give the single-run answer" {
    "$GENCSV" 30000 1 > s1.csv
    "$GENCSV" 30000 2 > s2.csv
    a=count,sum:bytes,mean:latency_ms,first:path,last:path,distinct:region,p50:latency_ms
    chunkproc -f csv -g user_id -a "$a" s1.csv s2.csv > single.csv
    chunkproc --partial --memory 64K -g user_id -a "$a" s1.csv > 1.part
    chunkproc --partial --memory 64K -g user_id -a "$a" s2.csv > 2.part
    run chunkproc --merge -f csv 1.part 2.part
    assert_success
    assert_output "$(cat single.csv)"
    chunkproc --merge --memory 64K --stats -f csv 1.part 2.part > merged.csv 2> err
    grep -q 'spilled to' err
    run cmp single.csv merged.csv
    assert_success
    # --exact values of one group survive a spilled partial
    awk -f "$CP/skewed.awk" > sk.csv
    chunkproc --exact --partial --memory 64K -a count,p50:v sk.csv > sk.part
    run chunkproc --merge sk.part
    assert_output "$(chunkproc --exact -a count,p50:v sk.csv)"
}

@test "a --tmpdir that cannot be used exits 2 naming it, only when state must spill" {
    small_csv
    run chunkproc --tmpdir /nonexistent/dir -g g -a count s.csv
    assert_success
    gen_big
    run chunkproc --tmpdir /nonexistent/dir --memory 64K -g user_id -a count big.csv
    assert_failure 2
    assert_output "chunkproc: /nonexistent/dir: cannot create a temporary file: No such file or directory"
    TMPDIR=/nonexistent/env run chunkproc --memory 64K -g user_id -a count big.csv
    assert_failure 2
    assert_output --partial "/nonexistent/env: cannot create a temporary file"
}

# ---- top:C:K --------------------------------------------------------------------

@test "top:C:K lists the K most frequent values with counts, ties by value, as JSON" {
    small_csv
    run chunkproc -f csv -g g -a count,top:s:2 s.csv
    assert_success
    assert_output "$(printf '%s\n' 'g,count,top_s_2' ',1,"[[""w"",1]]"' \
        'a,4,"[[""x"",2],[""q"",1]]"' 'b,2,"[[""y"",1],[""z"",1]]"')"
    run chunkproc -f ndjson -g g -a top:s:1 s.csv
    assert_output "$(printf '%s\n' '{"g":"","top_s_1":[["w",1]]}' '{"g":"a","top_s_1":[["x",2]]}' \
        '{"g":"b","top_s_1":[["y",1]]}')"
    # --sort by a top column orders by the count of its first value
    run chunkproc -f tsv --sort top_s_1 -g g -a top:s:1 s.csv
    assert_line --index 1 $'a\t[["x",2]]'
}

@test "top:C:K per group equals the per-value counts DuckDB gives, spilled or not" {
    gen_big
    # gencsv-exact.csv has DuckDB's count per (region, method): sorted by count
    # (then method) and joined per region, that is top:method:6 by region.
    awk -F, 'NR > 1 { print $1 "\t" $3 "\t" $2 }' "$CP/gencsv-exact.csv" |
        LC_ALL=C sort -t$'\t' -k1,1 -k2,2nr -k3,3 |
        awk -F'\t' '{ l[$1] = l[$1] (l[$1] == "" ? "" : ",") "[\"" $3 "\"," $2 "]" }
                    END { print "region\ttop_method_6"; for (r in l) print r "\t[" l[r] "]" }' |
        LC_ALL=C sort > want.tsv
    for mem in 64M 64K; do
        chunkproc -j 2 --memory $mem -f tsv -g region -a top:method:6 big.csv | LC_ALL=C sort > got.tsv
        run diff want.tsv got.tsv
        assert_success
    done
    chunkproc -f csv -g region -a count,top:user_id:3,top:path:2 big.csv > single.csv
    chunkproc --partial --memory 64K -g region -a count,top:user_id:3,top:path:2 big.csv > p.part
    run chunkproc --merge -f csv --memory 64K p.part
    assert_output "$(cat single.csv)"
}

@test "top:C:K needs a K from 1 to 1000" {
    small_csv
    for spec in top:s top:s:0 top:s:x top:s:1001 top::2; do
        run chunkproc -a "$spec" s.csv
        assert_failure 2
        assert_line --index 0 --partial "expected top:COLUMN:K with K from 1 to 1000"
    done
}
