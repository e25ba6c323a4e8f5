#!/usr/bin/env bats
# cachesim end to end: hand-checked hit and miss counts, libCacheSim's exact
# figures on committed traces, every trace format, TTLs, weak entries,
# timelines, miss-ratio curves, state files, and every way input can be bad.

bats_require_minimum_version 1.5.0
load helpers

CS=$FIX/cachesim

# field NAME of the row of policy $1 (and capacity $2, if given) in TSV on stdin
col() {
    awk -F'\t' -v p="$1" -v c="$2" -v name="$3" '
        NR == 1 { for (i = 1; i <= NF; i++) k[$i] = i; next }
        $1 == p && (c == "" || $2 == c) { print $k[name] }'
}

# A B C A D B E A, one object each, as a key-per-line trace
abc() { printf '%s\n' A B C A D B E A > abc.txt; }

# ---- hand-checked ------------------------------------------------------------------

@test "hand-checked: A B C A D B E A in 3 slots misses 7 times in LRU and CLOCK, 6 in FIFO, SIEVE and LFU" {
    abc
    run cachesim --count -s 3 -p lru,fifo,clock,sieve,lfu -f tsv abc.txt
    assert_success
    assert_equal "$(col lru 3 misses <<< "$output")" 7
    assert_equal "$(col clock 3 misses <<< "$output")" 7
    assert_equal "$(col fifo 3 misses <<< "$output")" 6
    assert_equal "$(col sieve 3 misses <<< "$output")" 6
    assert_equal "$(col lfu 3 misses <<< "$output")" 6
    assert_equal "$(col lru 3 hits <<< "$output")" 1
    # LRU evicts B, C, A, D for D, B, E, A
    assert_equal "$(col lru 3 evictions <<< "$output")" 4
}

@test "hand-checked: Belady on a text trace computes next uses itself and is optimal" {
    # 2 slots, A B C A B: Belady keeps A for its reuse and evicts B at C
    printf '%s\n' A B C A B > t.txt
    run cachesim --count -s 2 -p belady,lru -f tsv t.txt
    assert_success
    assert_equal "$(col belady 2 misses <<< "$output")" 4
    assert_equal "$(col lru 2 misses <<< "$output")" 5
}

@test "interface: -f tsv starts with the eight contract columns, capacity in bytes, ratios with 6 decimals" {
    abc
    run cachesim -s 2 -p lru -f tsv abc.txt
    assert_success
    assert_equal "$(head -1 <<< "$output" | cut -f1-8)" "$(printf 'policy\tcapacity\trequests\thits\tmisses\tmiss_ratio\tbyte_miss_ratio\tevictions')"
    assert_equal "$(sed -n 2p <<< "$output" | cut -f1-8)" "$(printf 'lru\t2\t8\t0\t8\t1.000000\t1.000000\t6')"
}

@test "interface: json rows carry the same keys and numbers" {
    abc
    run cachesim --count -s 3 -p fifo -f json abc.txt
    assert_success
    assert_output --partial '"policy":"fifo","capacity":3,"requests":8,"hits":2,"misses":6,"miss_ratio":0.750000'
}

# ---- libCacheSim ---------------------------------------------------------------------

@test "libCacheSim: every policy gives its exact miss counts on Zipf 1.0 with variable sizes (bytes and objects)" {
    run python3 "$ROOT/tests/cachesim/match-libcachesim.py" "$CS/expected-zipf1.0-var.tsv" \
        "$CS/zipf1.0-var.oracleGeneral.bin" cachesim
    assert_success
    assert_output --partial "108 of 108 caches agree"
}

@test "libCacheSim: every policy gives its exact miss counts on Zipf 0.8 with unit sizes" {
    run python3 "$ROOT/tests/cachesim/match-libcachesim.py" "$CS/expected-zipf0.8-unit.tsv" \
        "$CS/zipf0.8-unit.oracleGeneral.bin" cachesim
    assert_success
    assert_output --partial "98 of 98 caches agree"
}

@test "libCacheSim: exact miss counts with size-0 records in the trace (skipped by both)" {
    run python3 "$ROOT/tests/cachesim/match-libcachesim.py" "$CS/expected-zipf1.0-size0.tsv" \
        "$CS/zipf1.0-size0.oracleGeneral.bin" cachesim
    assert_success
    assert_output --regexp "([0-9]+) of \1 caches agree"
}

@test "libCacheSim: exact miss counts when many objects are bigger than the cache" {
    run python3 "$ROOT/tests/cachesim/match-libcachesim.py" "$CS/expected-zipf0.9-big.tsv" \
        "$CS/zipf0.9-big.oracleGeneral.bin" cachesim
    assert_success
    assert_output --regexp "([0-9]+) of \1 caches agree"
}

@test "libCacheSim: shares of the working set round down as its 0.01 and 0.1 do" {
    run cachesim -p lru -s 1%,0.1 -f tsv "$CS/zipf1.0-var.oracleGeneral.bin"
    assert_success
    # libCacheSim: 0.01 -> 8952 bytes, 0.1 -> 89529 bytes, LRU misses 14637 and 7964
    assert_equal "$(col lru 8952 misses <<< "$output")" 14637
    assert_equal "$(col lru 89529 misses <<< "$output")" 7964
}

@test "libCacheSim: size-0 requests are skipped: not requests, not misses, not in the working set" {
    genzipf -n 2000 -m 200 -s 5 -x 0.2 -f oracle -o z0.oracleGeneral
    genzipf -n 2000 -m 200 -s 5 -f text -o full.txt
    run cachesim -p lru --count -s 50 -f tsv z0.oracleGeneral
    assert_success
    req=$(col lru 50 requests <<< "$output")
    [ "$req" -lt 2000 ] && [ "$req" -gt 1400 ]
    run cachesim -p lru --count -s 10% -f tsv z0.oracleGeneral
    assert_success
}

@test "text and oracleGeneral forms of one trace give the same figures, Belady included" {
    genzipf -n 5000 -m 500 -s 3 -z 1:100 -f oracle -o t.oracleGeneral
    genzipf -n 5000 -m 500 -s 3 -z 1:100 -f text -o t.txt
    run cachesim -p all -s 5%,20% -f tsv t.oracleGeneral
    assert_success
    a=$output
    run cachesim -p all -s 5%,20% -f tsv t.txt
    assert_success
    assert_equal "$output" "$a"
}

@test "--write-oracle turns a text trace into the very oracleGeneral records of libCacheSim's traceConv" {
    # genzipf's oracleGeneral output was checked byte for byte against traceConv
    genzipf -n 5000 -m 500 -s 3 -z 1:100 -x 0.05 -f text -o t.txt
    genzipf -n 5000 -m 500 -s 3 -z 1:100 -x 0.05 -f oracle -o want.bin
    run cachesim --write-oracle got.bin t.txt
    assert_success
    cmp got.bin want.bin
    run bash -c "gzip -c t.txt | cachesim --write-oracle - | cmp - want.bin"
    assert_success
    printf '0 get alpha 10\n1 get 42 10\n2 get alpha 10\n' > named.txt
    cachesim --write-oracle n.bin named.txt
    # alpha is hashed; 42 keeps its number; the next uses are 3, -1, -1
    assert_equal "$(od -An -tu8 -j 28 -N 8 n.bin | tr -d ' ')" 42
    assert_equal "$(od -An -td8 -j 16 -N 8 n.bin | tr -d ' ')" 3
    assert_equal "$(od -An -td8 -j 40 -N 8 n.bin | tr -d ' ')" -1
    run cachesim --write-oracle x.bin -p lru t.txt
    assert_failure 2
}

@test "-j 1 and -j 2 give identical tables" {
    genzipf -n 20000 -m 2000 -s 9 -z 1:1000 -f oracle -o t.oracleGeneral
    run cachesim -p all -s 1%,10% -j 1 -f tsv t.oracleGeneral
    a=$output
    run cachesim -p all -s 1%,10% -j 2 -f tsv t.oracleGeneral
    assert_equal "$output" "$a"
}

# ---- inputs ----------------------------------------------------------------------------

@test "input: zstd and gzip by content on a file and on stdin, whatever the name" {
    genzipf -n 3000 -m 300 -s 1 -f oracle -o t.bin
    run cachesim -p lru -s 10% -f tsv t.bin
    want=$output
    zstd -q -c t.bin > t.txt
    run cachesim -p lru -s 10% -f tsv t.txt
    assert_equal "$output" "$want"
    run bash -c "gzip -c t.bin | cachesim -p lru -s 10% -f tsv"
    assert_equal "$output" "$want"
}

@test "input: CSV with quoted keys and named columns, TSV with numbered ones" {
    printf 'ts,key,bytes\n1,"a,b",5\n2,c,5\n3,"a,b",5\n' > t.csv
    run cachesim --csv time=ts,key=key,size=bytes -p lru -s 100 -f tsv t.csv
    assert_success
    assert_equal "$(col lru 100 hits <<< "$output")" 1
    printf 'k\ts\nx\t7\ny\t7\nx\t7\n' > t.tsv
    run cachesim --csv key=1,size=2 -p lru -s 7 -f tsv t.tsv
    assert_success
    assert_equal "$(col lru 7 misses <<< "$output")" 3
    run cachesim --csv key=nope -p lru -s 7 t.tsv
    assert_failure 2
    assert_output --partial "t.tsv:1: --csv key=nope: no such column"
}

@test "input: several files are one stream; the cache stays warm across them" {
    printf '%s\n' A B > 1.txt
    printf '%s\n' A B > 2.txt
    run cachesim --count -s 2 -p lru -f tsv 1.txt 2.txt
    assert_equal "$(col lru 2 hits <<< "$output")" 2
}

# ---- edge traces -----------------------------------------------------------------------

@test "edge: an empty trace gives zero requests and exit 0 (libCacheSim aborts)" {
    : > empty.txt
    run cachesim -q -p lru,s3fifo -f tsv empty.txt
    assert_success
    assert_equal "$(col lru "" requests <<< "$output" | head -1)" 0
    run cachesim -p lru -f tsv empty.oracleGeneral --trace-format oracleGeneral < /dev/null
    assert_failure 2
}

@test "edge: one request, and one key repeated: one miss each" {
    echo A > one.txt
    run cachesim --count -s 5 -p all -f tsv one.txt
    assert_success
    [ "$(col lru 5 misses <<< "$output")" = 1 ]
    yes A | head -1000 > rep.txt
    run cachesim --count -s 5 -p lru,fifo,lfu,clock,sieve,arc,2q,tinylfu,belady -f tsv rep.txt
    assert_success
    for p in lru fifo lfu clock sieve arc 2q tinylfu belady; do
        assert_equal "$(col $p 5 misses <<< "$output")" 1
    done
}

@test "edge: an object larger than the cache is a miss, never cached" {
    printf '0 get big 200\n1 get big 200\n2 get s 10\n3 get s 10\n' > t.txt
    run cachesim -p lru,arc -s 100 -f tsv t.txt
    assert_success
    assert_equal "$(col lru 100 misses <<< "$output")" 3
    assert_equal "$(col lru 100 rejected <<< "$output")" 2
    assert_equal "$(col lru 100 used <<< "$output")" 10
}

# ---- TTL, weak, set/del --------------------------------------------------------------------

@test "ttl: per-request TTLs and --ttl expire entries on lookup, counted apart from evictions" {
    printf '0 get a 10 5\n4 get a 10\n5 get a 10\n6 get b 10\n7 get b 10\n' > t.txt
    run cachesim -p lru -s 100 -f tsv t.txt
    assert_success
    # a expires at 5: hit at 4, expired at 5 (miss, reinserted without TTL)
    assert_equal "$(col lru 100 hits <<< "$output")" 2
    assert_equal "$(col lru 100 expirations <<< "$output")" 1
    assert_equal "$(col lru 100 evictions <<< "$output")" 0
    run cachesim -p lru -s 100 --ttl 1s -f tsv t.txt
    # default TTL 1 s on a (only at 5) and b: b at 7 has expired
    assert_equal "$(col lru 100 expirations <<< "$output")" 2
}

@test "ttl: TTL 0 expires at once: every request misses" {
    printf '0 get a 10 0\n0 get a 10 0\n1 get a 10 0\n' > t.txt
    run cachesim -p lru -s 100 -f tsv t.txt
    assert_equal "$(col lru 100 misses <<< "$output")" 3
    assert_equal "$(col lru 100 expirations <<< "$output")" 2
}

@test "weak: drop removes the entry with --weak; without it the cache keeps it and counts what only it holds" {
    printf '0 get a 10\n1 get b 20\n2 drop a\n3 drop b\n4 get a 10\n' > t.txt
    run cachesim -p lru -s 100 -f tsv t.txt
    assert_success
    assert_equal "$(col lru 100 hits <<< "$output")" 1
    assert_equal "$(col lru 100 retained <<< "$output")" 1
    assert_equal "$(col lru 100 retained_bytes <<< "$output")" 20
    assert_equal "$(col lru 100 retained_hits <<< "$output")" 1
    run cachesim -p lru -s 100 --weak -f tsv t.txt
    assert_equal "$(col lru 100 hits <<< "$output")" 0
    assert_equal "$(col lru 100 weak_drops <<< "$output")" 2
    assert_equal "$(col lru 100 objects <<< "$output")" 1
}

@test "set and del: writes are counted apart, a delete is not an eviction" {
    printf '0 set a 10\n1 get a 10\n2 del a\n3 get a 10\n' > t.txt
    run cachesim -p lru -s 100 -f tsv t.txt
    assert_equal "$(col lru 100 sets <<< "$output")" 1
    assert_equal "$(col lru 100 deletes <<< "$output")" 1
    assert_equal "$(col lru 100 requests <<< "$output")" 2
    assert_equal "$(col lru 100 hits <<< "$output")" 1
    assert_equal "$(col lru 100 evictions <<< "$output")" 0
}

@test "interval: one row per N requests with that interval's counts" {
    abc
    run cachesim --count -s 3 -p lru --interval 3 -f tsv abc.txt
    assert_success
    assert_equal "$(wc -l <<< "$output")" 4
    assert_equal "$(col lru 3 misses <<< "$output" | tr '\n' ' ')" "3 2 2 "
    assert_equal "$(awk -F'\t' 'NR == 4 { print $(NF-1), $NF }' <<< "$output")" "7 8"
}

# ---- miss-ratio curves -----------------------------------------------------------------

@test "mrc: exact stack distances give the LRU simulation's misses at every size" {
    genzipf -n 20000 -m 3000 -s 4 -z 1:500 -f oracle -o t.oracleGeneral
    run cachesim -p lru -s 10K,50K,200K -f tsv t.oracleGeneral
    sim=$(col lru "" misses <<< "$output" | tr '\n' ' ')
    run cachesim --mrc -s 10K,50K,200K --points 0 -f tsv t.oracleGeneral
    assert_success
    assert_equal "$(awk -F'\t' 'NR > 1 && $4 == "exact" { printf "%s ", $6 }' <<< "$output")" "$sim"
}

@test "mrc: the stack-distance module agrees with a naive stack walk and an LRU simulation (mrc-check)" {
    run mrc-check
    assert_success
    assert_output --regexp "mrc-check: [0-9]+ checks passed"
}

@test "mrc: the first request of the trace is a miss once, its re-access a hit" {
    printf '%s\n' A A > t.txt
    run cachesim --mrc --count -s 1 --points 0 -f tsv t.txt
    assert_success
    assert_equal "$(awk -F'\t' 'NR == 2 { print $6 }' <<< "$output")" 1
}

@test "mrc: SHARDS at 10 % lands near the exact curve, and --svg draws it" {
    genzipf -n 100000 -m 10000 -s 6 -f oracle -o t.oracleGeneral
    run cachesim --mrc --count -s 500,2000 --points 0 -f tsv t.oracleGeneral
    exact=$(awk -F'\t' 'NR == 2 { print $2 }' <<< "$output")
    run cachesim --mrc --count -s 500,2000 --sample 0.1 --svg c.svg -f tsv t.oracleGeneral
    assert_success
    got=$(awk -F'\t' 'NR == 2 { print $2 }' <<< "$output")
    assert_equal "$(awk -F'\t' 'NR == 2 { print $4 }' <<< "$output")" sampled
    awk -v a="$exact" -v b="$got" 'BEGIN { d = a - b; exit !(d < 0.03 && d > -0.03) }'
    grep -q '<svg' c.svg
    grep -q 'LRU miss-ratio curve' c.svg
}

# ---- state files --------------------------------------------------------------------------

@test "state: two runs chained through --save-state/--load-state equal one run over both traces" {
    genzipf -n 20000 -m 2000 -s 2 -z 1:300 -f text -o all.txt
    head -10001 all.txt > a.txt
    { echo '#memkit cache v1'; tail -n +10002 all.txt; } > b.txt
    pols=lru,fifo,lfu,clock,sieve,s3fifo,arc,2q,tinylfu
    run cachesim -p $pols -s 20K,60K -f tsv all.txt
    want=$(cut -f1-18 <<< "$output")
    run cachesim -p $pols -s 20K,60K --save-state st.bin -f tsv a.txt
    assert_success
    run cachesim --load-state st.bin -f tsv b.txt
    assert_success
    assert_equal "$(cut -f1-18 <<< "$output")" "$want"
}

@test "state: a corrupt, truncated or mismatched state file is an error, never a cold start" {
    abc
    cachesim --count -s 3 -p lru --save-state st.bin abc.txt > /dev/null
    cp st.bin bad.bin && flip_byte bad.bin 40
    run cachesim --count --load-state bad.bin abc.txt
    assert_failure 2
    assert_output --partial "bad.bin: checksum mismatch"
    head -c 30 st.bin > short.bin
    run cachesim --count --load-state short.bin abc.txt
    assert_failure 2
    run cachesim --count -s 4 -p lru --load-state st.bin abc.txt
    assert_failure 2
    assert_output --partial "no saved lru cache of 4"
    run cachesim -s 3 -p lru --load-state st.bin abc.txt
    assert_failure 2
    assert_output --partial "saved object capacities"
    echo hello > junk.bin
    run cachesim --load-state junk.bin abc.txt
    assert_failure 2
    assert_output --partial "not a cachesim state file"
}

# ---- errors ------------------------------------------------------------------------------

@test "error: a truncated oracleGeneral file names the incomplete record" {
    genzipf -n 10 -m 5 -f oracle -o t.oracleGeneral
    head -c 100 t.oracleGeneral > cut.oracleGeneral
    run cachesim -p lru -s 10 cut.oracleGeneral
    assert_failure 2
    assert_output --partial "cut.oracleGeneral: record 5: truncated (4 of 24 bytes"
}

@test "error: unknown operation, bad size, bad time and bad TTL name file:line" {
    printf '0 get a 1\n1 put a 1\n' > op.txt
    run cachesim op.txt
    assert_failure 2
    assert_output --partial "op.txt:2: unknown operation (get, set, del, drop)"
    printf '0 get a 1\n1 get a x\n' > size.txt
    run cachesim size.txt
    assert_failure 2
    assert_output --partial "size.txt:2: bad size"
    printf '0 get a 99999999999\n' > big.txt
    run cachesim big.txt
    assert_failure 2
    assert_output --partial "big.txt:1: bad size"
    printf 'x get a 1\n' > ts.txt
    run cachesim ts.txt
    assert_failure 2
    assert_output --partial "ts.txt:1: bad time"
    printf '0 get a 1 soon\n' > ttl.txt
    run cachesim ttl.txt
    assert_failure 2
    assert_output --partial "ttl.txt:1: bad TTL"
}

@test "error: unknown policy lists the valid ones; capacity 0 and bad sizes exit 2" {
    abc
    run cachesim -p lru,mru abc.txt
    assert_failure 2
    assert_output --partial "unknown policy 'mru' (lru, fifo, lfu, clock, sieve, s3fifo, arc, 2q, tinylfu, belady, all)"
    run cachesim -s 0 abc.txt
    assert_failure 2
    assert_output --partial "-s 0: capacity 0"
    run cachesim -s 12Q abc.txt
    assert_failure 2
    assert_output --partial "bad size '12Q'"
    run cachesim -s 150% abc.txt
    assert_failure 2
}

@test "error: binary junk, a NUL in a text trace, a huge line, a corrupt zstd or gzip stream" {
    printf 'a\nb\0c\n' > nul.txt
    run cachesim --trace-format keys nul.txt
    assert_failure 2
    assert_output --partial "nul.txt:2: NUL byte"
    head -c 100 /dev/urandom > junk.bin
    run cachesim --trace-format text junk.bin
    assert_failure 2
    awk 'BEGIN { s = "x"; while (length(s) < 1100000) s = s s; print s }' > huge.txt
    run cachesim --trace-format keys huge.txt
    assert_failure 2
    assert_output --partial "huge.txt:1: line longer than"
    abc
    zstd -q -c abc.txt > z.zst && head -c 12 z.zst > cut.zst
    run cachesim cut.zst
    assert_failure 2
    assert_output --partial "cut.zst"
    gzip -c abc.txt > g.gz && flip_byte g.gz 14
    run cachesim g.gz
    assert_failure 2
}

@test "error: unknown options, bad option values, bad YAML config" {
    abc
    run cachesim --nope abc.txt
    assert_failure 2
    run cachesim --sample 0.5 abc.txt
    assert_failure 2
    assert_output --partial "--sample needs --mrc"
    run cachesim --mrc -p lru abc.txt
    assert_failure 2
    run cachesim --csv size=2 abc.txt
    assert_failure 2
    assert_output --partial "needs key=COLUMN"
    printf 'sizes: [1, 2\n' > bad.yaml
    run cachesim -c bad.yaml abc.txt
    assert_failure 2
    assert_output --partial "bad.yaml"
    printf 'policies: [lru, sieve]\nsizes: ["3"]\ncount: true\n' > good.yaml
    run cachesim -c good.yaml -f tsv abc.txt
    assert_success
    assert_equal "$(col sieve 3 misses <<< "$output")" 6
}

@test "error: a missing file or an unreadable state path exits 2 with the name" {
    run cachesim nosuch.txt
    assert_failure 2
    assert_output --partial "nosuch.txt"
    abc
    run cachesim --count -s 3 --save-state /nonexistent/dir/st.bin abc.txt
    assert_failure 2
    assert_output --partial "/nonexistent/dir/st.bin"
}
