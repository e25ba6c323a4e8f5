#!/usr/bin/env bats
# memsize end to end: byte figures against committed ground truth (CPython
# 3.11/3.12/3.13 getsizeof and tracemalloc, glibc chunk sizes, pahole and
# gcc layouts), hand-checkable C figures, estimates past the memory budget,
# formats, and every way input can be bad.

bats_require_minimum_version 1.5.0
load helpers

MS=$FIX/memsize

# field N of the row whose model and structure are $1 $2 in TSV on stdin
cell() {
    awk -F'\t' -v m="$1" -v s="$2" -v c="$3" '$1 == m && $2 == s { print $c }'
}

# ---- C model ------------------------------------------------------------------------

@test "c: chunk sizes of one malloc per string equal glibc's, read from real chunk headers" {
    # lines of 0..1099 bytes: strings-malloc deep - shallow = sum of chunk(len + 1)
    awk 'BEGIN { for (n = 0; n < 1100; n++) { s = ""; for (i = 0; i < n; i++) s = s "x"; print s } }' > lens.txt
    want=$(awk '$1 >= 1 && $1 <= 1100 { t += $2 } END { print t }' "$MS/glibc-chunks.txt")
    run memsize --model c -f tsv lens.txt
    assert_success
    shallow=$(cell c strings-malloc 4 <<< "$output")
    deep=$(cell c strings-malloc 5 <<< "$output")
    assert_equal "$((deep - shallow))" "$want"
    # the pointer array: 1100 * 8 = 8800 bytes + 8 of header, rounded to 16
    assert_equal "$shallow" 8816
}

@test "c: past the mmap threshold a block takes whole pages, as glibc's chunk header says" {
    for n in 131064 131072 200000 1048576; do
        # one string of n - 1 bytes is one malloc(n)
        head -c $((n - 1)) /dev/zero | tr '\0' 'x' > big.txt
        echo >> big.txt
        run memsize --model c -f tsv big.txt
        assert_success
        shallow=$(cell c strings-malloc 4 <<< "$output")
        deep=$(cell c strings-malloc 5 <<< "$output")
        assert_equal "$((deep - shallow))" "$(awk -v n=$n '$1 == n { print $2 }' "$MS/glibc-chunks.txt")"
    done
}

@test "c: a fresh run of the chunk program agrees with the committed table" {
    command -v cc >/dev/null || skip "no C compiler"
    cc -O2 -o chunks "$ROOT/tests/memsize/glibc-chunks.c" || skip "cannot build"
    run ./chunks
    assert_success
    assert_equal "$output" "$(cat "$MS/glibc-chunks.txt")"
}

@test "c: narrowest element type, array/vector/list/hashset bytes by hand" {
    # 1000 values 1..1000: int16_t; array 2000 B -> chunk 2016; vector cap 1024
    # -> 2048 B -> chunk 2064; list 1000 nodes of 16 B -> 32 B chunks; hash set
    # 2048 slots (1000 > 3/4 of 1024) of 2 B = 4096 -> 4112, bitmap 256 -> 272
    seq 1000 > s.txt
    run memsize --model c -f tsv s.txt
    assert_success
    assert_line -p $'c\tarray\t1000\t2016\t2016\t'
    assert_line -p $'c\tvector\t1000\t2064\t2064\t'
    assert_line -p $'c\tlist\t1000\t32000\t32000\t'
    assert_line -p $'c\thashset\t1000\t4384\t4384\t'
    assert_output -p "int16_t"
    # types: uint8_t, int8_t, uint32_t, int64_t, uint64_t, float, double, char *
    for case in "200:uint8_t" "-100:int8_t" "4000000000:uint32_t" "-3000000000:int64_t" \
                "18446744073709551615:uint64_t" "0.5:float" "0.1:double" "abc:char *"; do
        printf '1\n%s\n' "${case%%:*}" > t.txt
        run memsize --model c -f tsv t.txt
        assert_success
        assert_equal "$(cell c array 10 <<< "$output")" "${case#*:}"
    done
    # beyond 64 bits no C integer holds it
    echo 18446744073709551616 | memsize --model c -f tsv > o.tsv
    assert_equal "$(cell c array 10 < o.tsv)" "n/a: integers beyond 64 bits"
    assert_equal "$(cell c array 5 < o.tsv)" ""
}

@test "c: strings, the hash set of distinct strings, and the arena" {
    # 4 strings, 3 distinct: 'aa' 'bbbb' 'aa' 'c'
    printf 'aa\nbbbb\naa\nc\n' > s.txt
    run memsize --model c -f tsv s.txt
    assert_success
    # array of 4 pointers: 32 B -> chunk 48; strings malloc(3),(5),(3),(2): 32 each
    assert_line -p $'c\tarray\t4\t48\t176\t'
    # hash set: 8 slots of 8 B = 64 -> 80, distinct strings 3 x 32
    assert_line -p $'c\thashset\t3\t80\t176\t'
    # arena: 3+5+3+2 = 13 bytes, one buffer grown by doubling to 16 -> 32
    assert_line -p $'c\tstrings-arena\t4\t48\t80\t'
}

# ---- layouts ------------------------------------------------------------------------

@test "layout: size, alignment, holes and padding equal pahole's, best size equals gcc's best over every order, on three ABIs" {
    n=0
    for exp in "$MS"/layout/*.expected; do
        base=$(basename "$exp" .expected)
        abi=${base##*.}
        yaml="$MS/layout/${base%.*}.yaml"
        run memsize --layout "$yaml" --abi "$abi" -f tsv
        assert_success
        got=$(awk -F'\t' 'NR == 1 || $2 == "struct" { print $1 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7 "\t" $8 }' <<< "$output" |
              sed '1s/.*/name\tsize\talign\tholes\thole_bytes\tpadding\tbest_size/')
        assert_equal "$got" "$(cat "$exp")"
        n=$((n + 1))
    done
    [ "$n" -ge 20 ]
}

@test "layout errors: every bad struct file exits 2 with one FILE:LINE:COL line" {
    cd "$MS/layout/errors"
    n=0
    for y in *.yaml; do
        run memsize --layout "$y"
        assert_failure 2
        assert_output "memsize: $(cat "${y%.yaml}.err")"
        n=$((n + 1))
    done
    [ "$n" -ge 20 ]
    cd "$T"
    printf 'structs: [\n' > bad.yaml
    run memsize --layout bad.yaml
    assert_failure 2
    assert_output -p "memsize: bad.yaml:2:"
    run memsize --layout missing.yaml
    assert_failure 2
    run memsize --layout "$MS/layout/schema.yaml" --abi sparc
    assert_failure 2
}

@test "layout: the TSV contract columns, saving and totals" {
    run memsize --layout "$MS/layout/holey.yaml" -f tsv
    assert_success
    assert_line -n 0 -p $'name\tkind\tsize\talign\tholes\thole_bytes\tpadding\tbest_size\tsaving\t'
    # holey: 40 B as declared, 24 B in the best order, 1000 instances
    assert_line -p $'holey\tstruct\t40\t8\t3\t16\t0\t24\t16\t1000\t40000\t16000\t'
}

# ---- CPython ------------------------------------------------------------------------

# The truth files' columns (structure count shallow deep deep_shared typecode)
# from memsize's two runs, with and without --count-shared.
py_rows() {
    local v=$1 f=$2
    paste <(memsize --python "$v" --model python -f tsv "$f" | awk -F'\t' 'NR > 1 { print $2 "\t" $3 "\t" $4 "\t" $5 }') \
          <(memsize --python "$v" --model python --count-shared -f tsv "$f" | awk -F'\t' 'NR > 1 { print $5 "\t" $NF }') |
        awk -F'\t' '{ tc = $6; if (tc !~ /^typecode /) tc = ""; sub(/^typecode /, "", tc)
                      if ($3 == "") print $1 "\t\t\t\t\t"; else print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 "\t" tc }'
}

@test "python: getsizeof shallow and deep, with and without shared objects, equal CPython 3.11/3.12/3.13 on every fixture" {
    n=0
    for exp in "$MS"/python/*.3.1[123].tsv; do
        base=$(basename "$exp" .tsv)
        v=${base#*.}; fx=${base%%.*}
        case $base in *.type-str.*) continue ;; esac
        want=$(tail -n +2 "$exp" | awk -F'\t' '{ if ($4 == "") print $2 "\t\t\t\t\t"; else print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 "\t" $7 }')
        run py_rows "$v" "$MS/python/$fx.txt"
        assert_success
        assert_equal "$output" "$want"
        n=$((n + 1))
    done
    [ "$n" -ge 20 ]
}

@test "python: --type str reads numbers as strings, as CPython sizes them" {
    for exp in "$MS"/python/*.type-str.3.1[123].tsv; do
        base=$(basename "$exp" .tsv)
        v=${base##*type-str.}; fx=${base%%.*}
        want=$(tail -n +2 "$exp" | awk -F'\t' '$4 != "" { print $2 "\t" $3 "\t" $4 "\t" $5 }')
        got=$(memsize --python "$v" --model python --type str -f tsv "$MS/python/$fx.txt" |
              awk -F'\t' 'NR > 1 && $4 != "" { print $2 "\t" $3 "\t" $4 "\t" $5 }')
        assert_equal "$got" "$want"
    done
}

# ---- values: typing, estimates, formats -----------------------------------------------

@test "values: Python's typing, 1 == 1.0 in a set, every NaN its own key" {
    printf '1\n1.0\n 7 \n1_000\nnan\nnan\nx\n' > t.txt
    run memsize --model python -f tsv t.txt
    assert_success
    # list: 7 items; set: {1, 7, 1000, nan, nan, 'x'} = 6 keys
    assert_equal "$(cell python3.11 list 3 <<< "$output")" 7
    assert_equal "$(cell python3.11 set 3 <<< "$output")" 6
    # deep of the set: 1 (shared, 0) + 7 (shared) + 1000 (28) + two NaN floats (24 each) + 'x' (shared)
    assert_equal "$(( $(cell python3.11 set 5 <<< "$output") - $(cell python3.11 set 4 <<< "$output") ))" 76
    # the float 1.0 came second: the set keeps the int; the list holds both
    assert_equal "$(( $(cell python3.11 list 5 <<< "$output") - $(cell python3.11 list 4 <<< "$output") ))" $((24 + 28 + 24 + 24))
}

@test "values: past --memory, set and dict are estimates within the stated error, list and tuple stay exact" {
    seq 1 300000 | awk '{ print $1 * 7919 % 1000003 }' > many.txt
    run memsize --model python -f tsv many.txt
    assert_success
    exact=$(cell python3.11 set 3 <<< "$output")
    list=$(cell python3.11 list 5 <<< "$output")
    assert_equal "$(cell python3.11 set 8 <<< "$output")" exact
    run memsize --model python --memory 1M -f tsv many.txt
    assert_success
    est=$(cell python3.11 set 3 <<< "$output")
    assert_equal "$(cell python3.11 set 8 <<< "$output")" estimate
    assert_equal "$(cell python3.11 set 9 <<< "$output")" 0.008125
    assert_equal "$(cell python3.11 list 8 <<< "$output")" exact
    assert_equal "$(cell python3.11 list 5 <<< "$output")" "$list"
    # within 3 standard errors
    awk -v e="$est" -v x="$exact" 'BEGIN { d = (e - x) / x; if (d < 0) d = -d; exit !(d < 3 * 0.008125) }'
    # strings first, integers only after the budget ran out: the estimated
    # dict still leaves its str-keys table (16-byte entries) for 24-byte ones
    { seq 1 300000 | sed 's/^/s/'; seq 1 300000; } > sm.txt
    exact=$(memsize --memory 1G --model python -f tsv sm.txt | cell python3.11 dict 4)
    est=$(memsize --memory 1M --model python -f tsv sm.txt | cell python3.11 dict 4)
    assert_equal "$est" "$exact"
}

@test "values: --column by name and number, CSV quoting and TSV, --no-header" {
    printf 'id,name\n1,"a,b"\n2,"say ""hi"""\n' > t.csv
    run memsize --column name --model c -f tsv t.csv
    assert_success
    # two strings of 3 and 8 bytes: malloc(4) and malloc(9), 32 B each
    assert_line -p $'c\tstrings-malloc\t2\t32\t96\t'
    run memsize --column 1 --model c -f tsv t.csv
    assert_line -p $'c\tarray\t2\t32\t32\t'
    printf '5\tx\n6\ty\n' > t.tsv
    run memsize --column 1 --no-header --model c -f tsv t.tsv
    assert_success
    assert_output -p $'c\tarray\t2\t'
    run memsize --column nme t.csv
    assert_failure 2
    assert_output "memsize: t.csv:1: no column 'nme' (did you mean 'name'?)"
}

@test "values: json, ndjson and csv carry the same numbers; empty input gives zero-item structures" {
    seq 10 > s.txt
    run memsize -f json --model python s.txt
    assert_success
    assert_output -p '"model":"python3.11","structure":"list","count":10,"shallow":136,"deep":136'
    run memsize -f ndjson --model c s.txt
    assert_line -n 0 -p '{"model":"c","structure":"array","count":10,"shallow":32,"deep":32'
    : > empty.txt
    run memsize -f csv --python all empty.txt
    assert_success
    assert_line 'model,structure,count,shallow,deep,per_item,ratio,exact,error,detail'
    assert_line 'python3.13,dict,0,64,64,,,exact,,'
    assert_line 'python3.12,tuple,0,40,40,,,exact,,'
}

@test "values: zstd and gzip input give the same figures as plain" {
    seq 5000 | sed 's/$/.5/' > f.txt
    zstd -q f.txt -o f.zst
    gzip -c f.txt > f.gz
    a=$(memsize -f tsv f.txt)
    assert_equal "$(memsize -f tsv f.zst)" "$a"
    assert_equal "$(memsize -f tsv f.gz)" "$a"
    assert_equal "$(cat f.txt | memsize -f tsv)" "$a"
}

@test "errors: bad text, NUL, huge line, truncated and corrupt streams, bad type, bad options: one line and exit 2" {
    printf '1\n2\n\xff\xfe\n' > bad.txt
    run memsize bad.txt
    assert_failure 2
    assert_output "memsize: bad.txt:3: not valid UTF-8"
    printf '1\n2\0\n' > nul.txt
    run memsize nul.txt
    assert_failure 2
    assert_output -p "nul.txt:2: NUL byte"
    head -c 2000000 /dev/zero | tr '\0' x > long.txt
    run memsize long.txt
    assert_failure 2
    assert_output -p "long.txt:1:"
    seq 100000 | zstd -q > s.zst
    head -c 5000 s.zst > trunc.zst
    run memsize trunc.zst
    assert_failure 2
    assert_output -p "trunc.zst"
    seq 100000 | gzip > s.gz
    cp s.gz corrupt.gz
    flip_byte corrupt.gz 3000
    run memsize corrupt.gz
    assert_failure 2
    assert_output -p "corrupt.gz"
    printf '1\nx\n' > t.txt
    run memsize --type int t.txt
    assert_failure 2
    assert_output "memsize: t.txt:2: 'x' is not an integer (--type int)"
    run memsize --type float t.txt
    assert_failure 2
    assert_output "memsize: t.txt:2: 'x' is not a float (--type float)"
    run memsize --python 3.9 t.txt
    assert_failure 2
    assert_output -p "unknown version '3.9'"
    run memsize --bogus
    assert_failure 2
    assert_line -n 0 "memsize: unknown option '--bogus'"
    run memsize --suggest t.txt
    assert_failure 2
    assert_output -p "--suggest needs --layout"
    run memsize --no-header t.txt
    assert_failure 2
    head -c 3000 /dev/urandom > junk.bin
    run memsize junk.bin
    assert_failure 2
}

@test "python classes: regular vs __slots__ instances as tracemalloc traces them, CPython 3.11/3.12/3.13" {
    n=0
    for exp in "$MS"/python/classes-3.1[123].tsv; do
        v=$(basename "$exp" .tsv); v=${v#classes-}
        # one YAML with every (attrs, count) row of the truth file as a class
        awk -F'\t' 'NR == 1 { print "classes:"; next }
            { a = ""; for (i = 0; i < $1; i++) a = a (i ? ", " : "") "a" i
              printf "  - {name: C%d_%d, count: %d, attrs: [%s]}\n", $1, $2, $2, a }' "$exp" > c.yaml
        want=$(awk -F'\t' 'NR > 1 { printf "C%d_%d\t%d\t%d\t%d\n", $1, $2, $6, $7, $8 }' "$exp")
        run memsize --layout c.yaml --python "$v" -f tsv
        assert_success
        # best_size is the slots instance; total the regular instances' total
        got=$(awk -F'\t' 'NR > 1 { printf "%s\t%d\t%d\t%d\n", $1, $8, $11, $8 * $10 }' <<< "$output")
        assert_equal "$got" "$want"
        n=$((n + 1))
    done
    [ "$n" = 3 ]
}

@test "python: --allocated equals what tracemalloc traces, int(text)'s over-allocation and the shared () included" {
    n=0
    for exp in "$MS"/python/*.3.1[123].tsv; do
        base=$(basename "$exp" .tsv)
        v=${base#*.}; fx=${base%%.*}
        case $base in *.type-str.*) continue ;; esac
        want=$(tail -n +2 "$exp" | awk -F'\t' '$4 != "" { print $2 "\t" $8 "\t" $9 }')
        got=$(memsize --allocated --python "$v" --model python -f tsv "$MS/python/$fx.txt" |
              awk -F'\t' 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
                          $4 != "" { print $2 "\t" $c["alloc_shallow"] "\t" $c["alloc_deep"] }')
        assert_equal "$got" "$want"
        n=$((n + 1))
    done
    [ "$n" -ge 20 ]
    # 1073741823 < 2^30: getsizeof 28, but int() of its 10 digits asks for 32
    echo 1073741823 | memsize --allocated --model python -f tsv > o.tsv
    assert_equal "$(cell python3.11 list 5 < o.tsv)" $((56 + 8 * 2 + 28))
    assert_equal "$(cell python3.11 list 9 < o.tsv)" $((56 + 8 * 2 + 32))
}

@test "python: container growth equals CPython's for every count of the growth tables, model and tool" {
    # every row through the model (growth-check compiles pymodel.c in)
    for v in 3.11 3.12 3.13; do
        run growth-check "$v" "$MS/python/growth-$v.tsv"
        assert_success
        assert_output -p " rows, 0 differ"
    done
    # and a sample through the tool: both sides of the resize thresholds
    awk -F'\t' 'NR > 1 && ($2 == "int" || $2 == "str") && ($1 <= 12 || $1 == 21 || $1 == 22 || $1 == 42 ||
                 $1 == 43 || $1 == 76 || $1 == 77 || $1 == 78 || $1 == 1228 || $1 == 1229 || $1 == 1230 ||
                 $1 == 50000 || $1 == 50001 || $1 == 78642 || $1 == 78643)' "$MS/python/growth-3.13.tsv" |
    while IFS=$'\t' read -r cnt kind list lapp tup set fset dict arr; do
        case $kind in
            int) seq 1000 $((999 + cnt)) ;;
            str) seq 0 $((cnt - 1)) | sed 's/^/k/' ;;
        esac > in.txt
        [ "$cnt" -gt 0 ] || : > in.txt
        got=$(memsize --memory 1G --python 3.13 --model python -f tsv in.txt | awk -F'\t' 'NR > 1 && NR <= 7 { printf "%s ", $4 }')
        if [ "$got" != "$list $lapp $tup $set $fset $dict " ]; then
            echo "python3.13 $kind n=$cnt: memsize $got, CPython $list $lapp $tup $set $fset $dict"
            exit 1
        fi
    done
}

# ---- suggestions ------------------------------------------------------------------------

@test "suggest: a struct halved technique by technique, each figure by hand" {
    cat > order.yaml <<'Y'
structs:
  - name: order
    count: 1000000
    fields:
      - {name: paid, type: bool}
      - {name: id, type: long, range: [0, 4000000]}
      - {name: shipped, type: bool}
      - {name: qty, type: int, range: [0, 200]}
      - {name: country, type: "char *", distinct: 200}
      - {name: gift, type: int, range: [0, 1]}
      - {name: price, type: double}
Y
    run memsize --layout order.yaml --suggest -f tsv
    assert_success
    assert_line -n 0 $'name\tkind\tstep\ttechnique\tbefore\talone\talone_saving\tcumulative\tcumulative_saving\tcount\ttotal_before\ttotal_after\ttarget_met\tmodel\twhat'
    # declared 48 B (holes after paid, shipped, qty... ); the best combination: price,
    # id as uint32_t, qty and the country index as uint8_t, three 1-bit fields: 8+4+1+1+1 -> 16
    assert_line -p $'order\tstruct\t1\treorder\t48\t40\t0.16666666666666663\t40\t'
    assert_line -p $'order\tstruct\t2\tnarrow\t48\t40\t'
    run bash -c "memsize --layout order.yaml --suggest -f tsv | awk -F'\t' '\$4 == \"intern\" { print \$8, \$12, \$13 }'"
    # 200 country pointers once: 1600 B
    assert_output "16 16001600 yes"
    run bash -c "memsize --layout order.yaml --suggest -f tsv | awk -F'\t' '\$4 == \"soa\" { print \$6, \$15 }'"
    # struct of arrays alone: 1+8+1+4+8+4+8 = 34, but it adds nothing to the 16 B
    assert_output "34 one array per field (alone only: nothing more on top of the steps above)"
    run memsize --layout order.yaml --suggest --target 70% -f tsv
    refute_output -p $'\tyes\t'
    run memsize --layout order.yaml --suggest --target 120%
    assert_failure 2
}

@test "suggest: a class: array, interning, slots, tuple, as CPython 3.11 sizes them" {
    cat > c.yaml <<'Y'
classes:
  - {name: Order, count: 1000000, attrs: [id, country, price, tags],
     distinct: {country: 200}, str_len: {country: 12}, list_len: 4}
Y
    run memsize --layout c.yaml --suggest -f tsv
    assert_success
    # instance 56 + values of 5 slots (8 + 40) = 104; list of 4 floats 88 + 96;
    # a 12-character str 61: 349 B. array('d') 80 + 32; slots 32 + 8 x 4
    assert_line -p $'Order\tclass\t1\tarray\t349\t277\t'
    assert_line -p $'Order\tclass\t2\tintern\t349\t288\t'
    assert_line -p $'Order\tclass\t3\tslots\t349\t309\t'
    # 64 + 112 = 176 per instance, and 200 interned strings once
    run bash -c "memsize --layout c.yaml --suggest -f tsv | awk -F'\t' '\$4 == \"slots\" { print \$8, \$12 }'"
    assert_output "176 176012200"
    echo 'classes: [{name: A, attrs: [x], distinct: {y: 3}, str_len: {y: 2}}]' > bad.yaml
    run memsize --layout bad.yaml
    assert_failure 2
    assert_output "memsize: bad.yaml:1:44: class 'A': distinct names 'y', which is not one of its attrs"
}
