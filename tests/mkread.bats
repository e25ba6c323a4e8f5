#!/usr/bin/env bats
# The core library as every tool sees it, through the mkread test driver:
# sources (plain, zstd, gzip, stdin), the error verdicts of the foundation
# issue's table, CSV/TSV/blank fields, blocks across threads, options and
# config, output formats and atomic output.

load helpers

# ---- reading ----------------------------------------------------------------

@test "counts lines of a plain file, last line without newline included" {
    printf 'a\nb\nc' > in.txt
    run mkread -f tsv in.txt
    assert_success
    assert_output "$(printf 'file\tcodec\trecords\tfields\tbad\tbytes\nin.txt\tplain\t3\t3\t0\t5')"
}

@test "empty input is zero records" {
    : > empty
    run mkread -f tsv empty
    assert_success
    assert_line --index 1 "$(printf 'empty\tplain\t0\t0\t0\t0')"
}

@test "reads stdin when no file or - is given" {
    run bash -c 'printf "x\ny\n" | mkread -f csv'
    assert_success
    assert_line --index 1 "<stdin>,plain,2,2,0,4"
    run bash -c 'printf "x\n" | mkread -f csv -'
    assert_line --index 1 "<stdin>,plain,1,1,0,2"
}

@test "reads zstd from a file and from stdin, detected by content not name" {
    seq 1 100000 > n.txt
    zstd -q -3 n.txt -o data.bin
    run mkread -f csv data.bin
    assert_success
    assert_line --index 1 "data.bin,zstd,100000,100000,0,588895"
    run bash -c 'mkread -f csv < data.bin'
    assert_line --index 1 "<stdin>,zstd,100000,100000,0,588895"
}

@test "reads gzip, including several members one after another" {
    printf 'a\nb\n' | gzip > two.gz
    printf 'c\n' | gzip >> two.gz
    run mkread -f csv two.gz
    assert_success
    assert_line --index 1 "two.gz,gzip,3,3,0,6"
}

@test "reads several zstd frames and a skippable frame as one stream" {
    printf 'a\n' | zstd -q > f.zst
    printf '\x50\x2a\x4d\x18\x03\x00\x00\x00xyz' >> f.zst
    printf 'b\nc\n' | zstd -q >> f.zst
    run mkread -f csv f.zst
    assert_success
    assert_line --index 1 "f.zst,zstd,3,3,0,6"
}

@test "a file that starts with a skippable frame is still zstd" {
    printf '\x5f\x2a\x4d\x18\x00\x00\x00\x00' > s.zst
    printf 'a\nb\n' | zstd -q >> s.zst
    run mkread -f csv s.zst
    assert_success
    assert_line --index 1 "s.zst,zstd,2,2,0,4"
}

@test "several files are read in order, one row each" {
    printf '1\n' > a; printf '1\n2\n' | gzip > b
    run mkread -f csv a b
    assert_success
    assert_line --index 1 "a,plain,1,1,0,2"
    assert_line --index 2 "b,gzip,2,2,0,4"
}

@test "CRLF line endings are not part of the record" {
    printf 'a,b\r\nc,"d"\r\n' > crlf.csv
    run mkread -m csv --dump crlf.csv
    assert_success
    assert_output "$(printf '["a","b"]\n["c","d"]')"
}

# ---- bad input: exit 2, file:line, no partial result ---------------------------

@test "exits 2 on a truncated zstd stream, naming the byte offset, with no output" {
    seq 1 100000 | zstd -q > t.zst
    head -c 20000 t.zst > cut.zst
    run mkread -f csv cut.zst
    assert_failure 2
    assert_output "mkread: cut.zst: truncated zstd stream at byte 20000"
}

@test "exits 2 on a truncated zstd stream read from stdin" {
    seq 1 1000 | zstd -q | head -c 100 > cut.zst
    run bash -c 'mkread < cut.zst'
    assert_failure 2
    assert_output "mkread: <stdin>: truncated zstd stream at byte 100"
}

@test "exits 2 on a corrupt zstd frame" {
    seq 1 100000 | zstd -q > c.zst
    flip_byte c.zst 3000
    run mkread c.zst
    assert_failure 2
    assert_output --regexp '^mkread: c\.zst: corrupt zstd stream at byte [0-9]+: '
}

@test "exits 2 on a zstd frame whose checksum is wrong" {
    printf 'hello\n' | zstd -q --check > k.zst
    size=$(stat -c %s k.zst)
    flip_byte k.zst $((size - 1))
    run mkread k.zst
    assert_failure 2
    assert_output --partial "k.zst: corrupt zstd stream at byte"
    assert_output --partial "checksum"
}

@test "exits 2 on a truncated gzip stream" {
    seq 1 10000 | gzip > t.gz
    head -c 1000 t.gz > cut.gz
    run mkread cut.gz
    assert_failure 2
    assert_output "mkread: cut.gz: truncated gzip stream at byte 1000"
}

@test "exits 2 on a gzip stream with a wrong CRC" {
    printf 'hello\n' | gzip > k.gz
    size=$(stat -c %s k.gz)
    flip_byte k.gz $((size - 6))
    run mkread k.gz
    assert_failure 2
    assert_output --regexp '^mkread: k\.gz: corrupt gzip stream at byte [0-9]+: incorrect data check$'
}

@test "exits 2 on garbage after a gzip member" {
    printf 'a\n' | gzip > g.gz
    printf 'junk' >> g.gz
    run mkread g.gz
    assert_failure 2
    assert_output --regexp '^mkread: g\.gz: trailing garbage after gzip stream at byte [0-9]+$'
}

@test "exits 2 on a line longer than the limit, naming file and line" {
    { echo short; head -c 5000 /dev/zero | tr '\0' x; echo; } > long.txt
    run mkread --max-line 4K long.txt
    assert_failure 2
    assert_output "mkread: long.txt:2: line longer than 4096 bytes"
}

@test "exits 2 on a long line inside a big block too" {
    { seq 1 10; head -c 3000 /dev/zero | tr '\0' x; echo; seq 1 10; } > long.txt
    run mkread --max-line 2K --block-size 64K long.txt
    assert_failure 2
    assert_output "mkread: long.txt:11: line longer than 2048 bytes"
}

@test "exits 2 on a NUL byte in text input, naming the line" {
    printf 'a\nb\nc\0d\ne\n' > nul.txt
    run mkread nul.txt
    assert_failure 2
    assert_output "mkread: nul.txt:3: NUL byte in text input (binary file?)"
}

@test "exits 2 on binary junk" {
    head -c 65536 /dev/urandom > junk.bin
    printf '\0' >> junk.bin
    run mkread junk.bin
    assert_failure 2
    assert_output --regexp '^mkread: junk\.bin:[0-9]+: (NUL byte in text input|line longer than)'
}

@test "exits 2 on an unterminated CSV quote at EOF, naming the line of the opening quote" {
    printf 'a,b\n1,2\n3,"open\nstill open\n' > q.csv
    run mkread -m csv q.csv
    assert_failure 2
    assert_output "mkread: q.csv:3: unterminated quoted field"
}

@test "an unterminated quote far from EOF is named by the line of the opening quote" {
    { echo 'a,b'; echo '1,"open'; seq 1 300000; } > q.csv
    run mkread -m csv --max-line 64K q.csv
    assert_failure 2
    assert_output "mkread: q.csv:2: unterminated quoted field (record longer than 65536 bytes)"
}

@test "exits 2 on a quote inside an unquoted field and on text after a closing quote" {
    printf 'a,b\nx"y,1\n' > bad1.csv
    run mkread -m csv bad1.csv
    assert_failure 2
    assert_output "mkread: bad1.csv:2: quote inside an unquoted field"
    printf 'a,b\n"x"y,1\n' > bad2.csv
    run mkread -m csv bad2.csv
    assert_failure 2
    assert_output "mkread: bad2.csv:2: unexpected character after closing quote"
}

@test "--lenient skips and counts malformed records" {
    printf 'a,b\nx"y,1\nc,d\n' > bad.csv
    run mkread -m csv -f csv --lenient bad.csv
    assert_success
    assert_line --index 0 "mkread: bad.csv: skipped 1 malformed records"
    assert_line --index 2 "bad.csv,plain,2,4,1,14"
}

@test "exits 2 on a missing file and on a directory" {
    run mkread nosuch
    assert_failure 2
    assert_output "mkread: nosuch: No such file or directory"
    mkdir d
    run mkread d
    assert_failure 2
    assert_output "mkread: d: is a directory"
}

# ---- CSV, TSV, blanks ---------------------------------------------------------

@test "CSV: quotes, doubled quotes, separators and newlines inside quotes" {
    printf 'id,text\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,\n,\n' > t.csv
    run mkread -m csv --dump t.csv
    assert_success
    assert_output "$(cat <<'OUT'
["id","text"]
["1","a, b"]
["2","say \"hi\""]
["3","two\nlines"]
["4",""]
["",""]
OUT
)"
}

@test "CSV: line numbers stay right after a record with quoted newlines" {
    printf 'a\n"x\ny\nz"\nb,"c\n' > l.csv
    run mkread -m csv l.csv
    assert_failure 2
    assert_output "mkread: l.csv:5: unterminated quoted field"
}

@test "CSV: a UTF-8 BOM before the header is dropped" {
    printf '\xef\xbb\xbfname,"size"\nx,1\n' > bom.csv
    run mkread -m csv --dump --header bom.csv
    assert_success
    assert_line --index 0 "column 1: name"
    assert_line --index 1 "column 2: size"
}

@test "TSV and blank-separated fields" {
    printf 'a\t\tb\n' > t.tsv
    run mkread -m tsv --dump t.tsv
    assert_output '["a","","b"]'
    printf '  + 12  0x1f\t64 \n' > b.txt
    run mkread -m blank --dump b.txt
    assert_output '["+","12","0x1f","64"]'
}

@test "blocks: threads and tiny blocks give the same counts as one thread" {
    awk 'BEGIN { srand(7); for (i = 0; i < 60000; i++) {
        if (i % 7 == 0) printf "%d,\"multi\nline, \"\"quoted\"\"\",%d\n", i, i * 3;
        else printf "%d,plain,%d\n", i, i * 3 } }' > big.csv
    run mkread -m csv -f csv -j 1 --sync big.csv
    assert_success
    assert_line --index 1 "big.csv,plain,60000,180000,0,$(stat -c %s big.csv)"
    expected=$output
    run mkread -m csv -f csv -j 3 --block-size 4K big.csv
    assert_output "$expected"
    run mkread -m csv -f csv -j 2 --map --block-size 4K big.csv
    assert_output "$expected"
    zstd -q big.csv -o big.csv.zst
    run mkread -m csv -f csv -j 2 --block-size 4K big.csv.zst
    assert_line --index 1 "big.csv.zst,zstd,60000,180000,0,$(stat -c %s big.csv)"
}

@test "blocks: an error is reported at its line whichever thread finds it" {
    { seq 1 200000; echo 'x"y'; seq 1 1000; } > e.csv
    run mkread -m csv -j 4 --block-size 4K e.csv
    assert_failure 2
    assert_output "mkread: e.csv:200001: quote inside an unquoted field"
}

# ---- options, config, help ------------------------------------------------------

@test "--help prints usage to stdout and exits 0; --version names the tool" {
    run mkread --help
    assert_success
    assert_line --index 0 "Usage: mkread [OPTIONS] [FILE...]"
    assert_output --partial "--max-line SIZE"
    assert_output --partial "output format: text|tsv|csv|json|ndjson (default: text)"
    run mkread -V
    assert_success
    assert_output --regexp '^mkread \(memkit\) [0-9]+\.[0-9]+\.[0-9]+$'
}

@test "an unknown option exits 2 and suggests the nearest one" {
    run mkread --max-lines 4K
    assert_failure 2
    assert_line --index 0 "mkread: unknown option '--max-lines' (did you mean '--max-line'?)"
    assert_line --index 1 "Try 'mkread --help' for more information."
    run mkread -Z
    assert_failure 2
    assert_line --index 0 "mkread: unknown option -Z"
}

@test "a missing option value exits 2" {
    run mkread --max-line
    assert_failure 2
    assert_line --index 0 "mkread: option --max-line needs a value"
}

@test "bad sizes exit 2 naming the option and the expected form" {
    for bad in 12K3 -5 99999999999999999999; do
        run mkread --max-line "$bad" /dev/null
        assert_failure 2
        assert_line --index 0 --partial "mkread: option --max-line: "
        assert_line --index 0 --partial "'$bad'"
    done
    run mkread --max-line 12K3 /dev/null
    assert_line --index 0 "mkread: option --max-line: expected a size like 64K, 50M or 2G, found '12K3'"
}

@test "a bad choice lists the valid ones" {
    run mkread -f xml /dev/null
    assert_failure 2
    assert_line --index 0 "mkread: option --format (-f): expected one of text|tsv|csv|json|ndjson, found 'xml'"
}

@test "YAML config: keys are long options, and the command line wins" {
    printf 'a,"b\nc"\n' > in.csv
    printf 'mode: csv\nformat: tsv\nmax-line: 1K\n' > job.yaml
    run mkread -c job.yaml in.csv
    assert_success
    assert_line --index 1 "$(printf 'in.csv\tplain\t1\t2\t0\t8')"
    run mkread -c job.yaml -f csv in.csv
    assert_line --index 1 "in.csv,plain,1,2,0,8"
}

@test "YAML config: a syntax error names file:line:column" {
    printf 'mode: csv\nformat: [tsv\n' > bad.yaml
    run mkread -c bad.yaml /dev/null
    assert_failure 2
    assert_output --regexp "^mkread: bad\.yaml:[0-9]+:[0-9]+: "
}

@test "YAML config: an unknown key names file:line:column and suggests one" {
    printf 'mode: csv\nmax-lines: 4K\n' > bad.yaml
    run mkread -c bad.yaml /dev/null
    assert_failure 2
    assert_output "mkread: bad.yaml:2:12: unknown key 'max-lines' (did you mean 'max-line'?)"
}

@test "YAML config: a list where a number belongs, and a bad value" {
    printf 'max-line: [1, 2]\n' > bad.yaml
    run mkread -c bad.yaml /dev/null
    assert_failure 2
    assert_output "mkread: bad.yaml:1:11: max-line: expected a size, found a list"
    printf '\n\nmax-line: 12K3\n' > bad2.yaml
    run mkread -c bad2.yaml /dev/null
    assert_failure 2
    assert_output "mkread: bad2.yaml:3:11: max-line: expected a size like 64K, 50M or 2G, found '12K3'"
}

@test "YAML config: flags take booleans; a missing file is an error" {
    printf 'a\n' > in.txt
    printf 'dump: yes\n' > j.yaml
    run mkread -c j.yaml in.txt
    assert_output '["a"]'
    printf 'dump: maybe\n' > j2.yaml
    run mkread -c j2.yaml in.txt
    assert_failure 2
    assert_output --partial "j2.yaml:1:7: dump: "
    run mkread -c nope.yaml in.txt
    assert_failure 2
    assert_output "mkread: nope.yaml: No such file or directory"
}

# ---- output ---------------------------------------------------------------------

@test "output formats: text aligned, json and ndjson with raw numbers" {
    seq 1 2000 > n.txt
    run mkread n.txt
    assert_success
    assert_line --index 0 "file   codec  records  fields  bad     bytes"
    assert_line --index 1 "n.txt  plain     2000    2000    0  8.68 KiB"
    run mkread -f json n.txt
    assert_output "$(printf '[\n{"file":"n.txt","codec":"plain","records":2000,"fields":2000,"bad":0,"bytes":8893}\n]')"
    run mkread -f ndjson n.txt
    assert_output '{"file":"n.txt","codec":"plain","records":2000,"fields":2000,"bad":0,"bytes":8893}'
}

@test "CSV and JSON output escape what they must" {
    printf 'x\n' > 'we,ird "name".txt'
    run mkread -f csv 'we,ird "name".txt'
    assert_line --index 1 '"we,ird ""name"".txt",plain,1,1,0,2'
    run mkread -f ndjson 'we,ird "name".txt'
    assert_output '{"file":"we,ird \"name\".txt","codec":"plain","records":1,"fields":1,"bad":0,"bytes":2}'
}

@test "-o writes the file atomically and leaves nothing behind on error" {
    printf 'a\n' > in.txt
    run mkread -f csv -o out.csv in.txt
    assert_success
    assert_output ""
    run cat out.csv
    assert_line --index 1 "in.txt,plain,1,1,0,2"
    printf 'a\0\n' > bad.txt
    run mkread -o out2.csv in.txt bad.txt
    assert_failure 2
    [ ! -e out2.csv ]
    [ -z "$(ls | grep tmp)" ]
}

@test "-o replaces an existing file only when the run succeeds" {
    printf 'a\n' > in.txt
    echo old > out.csv
    run mkread -o out.csv in.txt nosuch
    assert_failure 2
    run cat out.csv
    assert_output old
}

@test "a full disk exits 2 with the reason" {
    seq 1 100 > n.txt
    run bash -c 'mkread --dump n.txt > /dev/full'
    assert_failure 2
    assert_output "mkread: <stdout>: write error: No space left on device"
}

@test "a closed pipe ends quietly with status 0" {
    seq 1 500000 > n.txt
    run bash -c 'set -o pipefail; mkread --dump n.txt | head -n 2'
    assert_success
    assert_output "$(printf '["1"]\n["2"]')"
}

@test "--stats reports bytes, records and peak memory on stderr" {
    seq 1 1000 > n.txt
    run bash -c 'mkread --stats n.txt 2>&1 >/dev/null'
    assert_success
    assert_output --regexp '^mkread: stats: wall [0-9.]+ s, cpu [0-9.]+ s, read 3\.80 KiB \(3893 B\), wrote [0-9.]+ [KMG]?i?B \([0-9]+ B\), records 1000, bad records 0, peak rss [0-9.]+ MiB \([0-9]+ B\)$'
}

@test "--progress draws on stderr and erases itself; -q silences it" {
    seq 1 300000 > n.txt
    MEMKIT_PROGRESS_MS=0 mkread --progress --block-size 64K -f csv n.txt 2>err >/dev/null
    run cat err
    assert_output --partial "n.txt  "
    assert_output --partial "/ 1.90 MiB"
    assert_output --regexp $'\r\e\[K$'
    MEMKIT_PROGRESS_MS=0 mkread -q --progress --block-size 64K n.txt 2>err >/dev/null
    run cat err
    assert_output ""
    MEMKIT_PROGRESS_MS=0 mkread --block-size 64K n.txt 2>err >/dev/null
    run cat err
    assert_output ""
}
