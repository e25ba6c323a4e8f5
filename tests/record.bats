#!/usr/bin/env bats
# leakdiff record: the recorder's side, driven by a stand-in program that
# speaks the preload protocol itself (tests/leakdiff/record-fake.py), and
# the command-line contract (exit statuses, errors before CMD runs).

bats_require_minimum_version 1.5.0
load helpers

# an empty shared object: LD_PRELOAD accepts it, and the stand-in needs no hooks
empty_so() { printf '' | cc -shared -fPIC -o empty.so -x c -; }

@test "record: events come back in sequence order; an allocation waits for the realloc that freed its address" {
    empty_so
    run --separate-stderr leakdiff record --addresses --preload ./empty.so -o t.zst -- python3 "$ROOT/tests/leakdiff/record-fake.py" 3
    assert_equal "$status" 3
    assert_equal "$output" "fake says hi"
    [[ "$stderr" == *"current: 207 bytes in 2 blocks"* ]]
    [[ "$stderr" == *"peak: 250 bytes"* ]]
    # the trace: the realloc of X before the new allocation of X, and the analysis agrees
    run bash -c "zstd -dc t.zst | grep '^[~+-]' | cut -d' ' -f1,3,4"
    assert_output "$(printf '+ 1000 0x64\n~ 1000 2000\n+ 1000 0x32\n- 1000\n+ 3000 0x7')"
    run leakdiff summary -f json t.zst
    assert_success
    assert_output --partial '"peak_bytes":250'
}

@test "record: by default blocks are numbered, not addressed, and every report is the same" {
    empty_so
    run leakdiff record -q --addresses --preload ./empty.so -o a.zst -- python3 "$ROOT/tests/leakdiff/record-fake.py" 3
    run leakdiff record -q --preload ./empty.so -o n.zst -- python3 "$ROOT/tests/leakdiff/record-fake.py" 3
    assert_equal "$status" 3
    run bash -c "zstd -dc n.zst | grep '^[~+-]' | cut -d' ' -f1,3,4"
    assert_output "$(printf '+ . 0x64\n~ ^1 .\n+ . 0x32\n- ^1\n+ . 0x7')"
    # a real program: a time is written once, then "=" while it stays the
    # same; sizes in hex; the analysis reads it back exactly
    run leakdiff record -q -o b.zst -- rec-bench 100000
    assert_success
    run bash -c "zstd -dc b.zst | grep -c '^[+-] = '"
    [ "$output" -gt 150000 ]
    run bash -c "zstd -dc b.zst | grep -c '^- = ^2047$'"
    [ "$output" -gt 90000 ]
    run leakdiff summary -f json b.zst
    assert_output --partial '"allocs":100000,"frees":100000,'
    assert_output --partial '"live_bytes":0,"live_blocks":0,"peak_bytes":399444,'
    # without frames the site is unknown, and left out
    run leakdiff record -q --frames 0 -o z.zst -- rec-bench 100000
    run bash -c "zstd -dc z.zst | grep -c '^+ = \. 0x[0-9a-f]*$'"
    [ "$output" -gt 90000 ]
    run leakdiff top -f tsv z.zst
    assert_line --index 1 --regexp $'^\\?\t0\t0\t399444\t'
    for r in "summary -f json" "top -f tsv" "leaks -f tsv" "timeline -f tsv"; do
        run bash -c "leakdiff $r a.zst > a.out; leakdiff $r n.zst > n.out; diff a.out n.out"
        assert_success
    done
    run leakdiff summary -f json n.zst
    assert_output --partial '"live_bytes":207,"live_blocks":2,"peak_bytes":250,'
}

@test "record: -o - streams the trace to stdout and the program's stdout to stderr" {
    empty_so
    run --separate-stderr bash -c "leakdiff record -q --preload ./empty.so -o - -- python3 '$ROOT/tests/leakdiff/record-fake.py' | leakdiff summary -f json"
    assert_success
    assert_output --partial '"peak_bytes":250'
    [[ "$stderr" == *"fake says hi"* ]]
}

@test "record: not found exits 127, not executable 126, like a shell" {
    run -127 leakdiff record -- no-such-command-xyz
    assert_output --partial "no-such-command-xyz: command not found"
    printf 'x' > notexec
    run leakdiff record -- ./notexec
    assert_failure 126
}

@test "record: a static binary, a conflicting LD_PRELOAD, an unwritable output and no command are errors (2)" {
    if [ -x /sbin/ldconfig ] && ! file -L /sbin/ldconfig 2>/dev/null | grep -q dynamic; then
        run leakdiff record -- /sbin/ldconfig
        assert_failure 2
        assert_output --partial "statically linked"
    fi
    empty_so
    run env LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 leakdiff record --preload ./empty.so -- true
    assert_failure 2
    assert_output --partial "LD_PRELOAD already holds jemalloc"
    run leakdiff record --preload ./empty.so -o /nonexistent/dir/t.zst -- true
    assert_failure 2
    assert_output --partial "/nonexistent/dir/t.zst"
    run leakdiff record
    assert_failure 2
    assert_output --partial "no command to record"
    run leakdiff record --preload ./nosuch.so -- true
    assert_failure 2
    assert_output --partial "preload library"
}

@test "record: its man page section and --help list exactly its options" {
    want=$(leakdiff record --list-options | cut -f1 | grep -v -e --help -e --version | sort)
    got=$(awk '/^\.Sh RECORDING/{ on = 1; next } /^\.Sh /{ on = 0 } on && /^\.It Fl/' "$ROOT/man/leakdiff.1" |
          grep -oE 'Fl +\\-[a-z-]+' | sed -E 's/^Fl +\\-/--/' | sort -u)
    assert_equal "$got" "$want"
    help=$(leakdiff record --help)
    for o in $want; do [[ "$help" == *"$o"* ]]; done
}

# ---- real programs under the preload (tests/leakdiff-record/*.c) ----------------------------

# record PROG: run it under leakdiff record into t.zst; stderr in $stderr
rec() { run --separate-stderr leakdiff record -o t.zst -- "$MK_BUILD/test/rec-$1" "${@:2}"; }
# the summary's JSON value of KEY for t.zst
js() { leakdiff summary -f json t.zst | grep -o "\"$1\":[0-9]*" | head -1 | cut -d: -f2; }

@test "record: exact current and peak on basic mallocs, and the analysis reads the same from the trace" {
    rec basic
    assert_success
    [[ "$stderr" == *"current: 1000 bytes in 1 blocks"* ]]
    [[ "$stderr" == *"peak: 1600 bytes"* ]]
    [[ "$stderr" == *"main@basic.c:17"* ]]   # the top site, symbolized
    assert_equal "$(js peak_bytes)" 1600
    assert_equal "$(js live_bytes)" 1000
}

@test "record: realloc chains, realloc(p, 0) and realloc(NULL, n)" {
    rec realloc
    assert_success
    [[ "$stderr" == *"current: 400 bytes in 1 blocks"* ]]
    [[ "$stderr" == *"peak: 430 bytes"* ]]
}

@test "record: posix_memalign, memalign, aligned_alloc, valloc, pvalloc and reallocarray, at their requested sizes" {
    rec aligned
    assert_success
    [[ "$stderr" == *"current: 556 bytes in 4 blocks"* ]]
    [[ "$stderr" == *"peak: 756 bytes"* ]]
}

@test "record: two threads freeing each other's blocks: exact, and glibc's thread blocks are released" {
    rec threads
    assert_success
    [[ "$stderr" == *"current: 333 bytes in 2 blocks"* ]]
    [[ "$stderr" == *"peak: 1048576 bytes"* ]]
    run leakdiff summary t.zst
    refute_output --partial "not allocated"
}

@test "record: a crash still leaves the trace and the summary, and the exit status is 128 + signal" {
    rec crash
    assert_equal "$status" 139
    [[ "$stderr" == *"killed by signal 11"* ]]
    [[ "$stderr" == *"current: 4242 bytes in 1 blocks"* ]]
    [[ "$stderr" == *"peak: 4342 bytes"* ]]
    assert_equal "$(js peak_bytes)" 4342
}

@test "record: the program's stdin, stdout and exit status pass through untouched" {
    run --separate-stderr bash -c "printf 'one\ntwo\n' | leakdiff record -q -o t.zst -- '$MK_BUILD/test/rec-stdio'"
    assert_equal "$status" 3
    assert_equal "$output" "$(printf 'one\ntwo')"
    assert_equal "$stderr" ""
}

@test "record: fork and exec: the child only with --follow-fork, starting from the parent's heap" {
    rec forkexec
    assert_success
    [[ "$stderr" == *"current: 555 bytes in 1 blocks"* ]]
    [[ "$stderr" != *"child"* ]]
    run --separate-stderr leakdiff record --follow-fork -o t.zst -- "$MK_BUILD/test/rec-forkexec"
    assert_success
    [[ "$stderr" =~ child\ [0-9]+:\ current\ 1777\ bytes,\ peak\ 1827\ bytes ]]
    ls memkit-heap.*.zst
}

@test "record: snapshots from memkit_snapshot() land in the trace as @ records" {
    rec snapshot
    assert_success
    [[ "$stderr" == *"current: 64 bytes in 1 blocks"* ]]
    run bash -c "zstd -dc t.zst | grep -c '^@'"
    [ "$output" -ge 1 ]
}
