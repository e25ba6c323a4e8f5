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
    run --separate-stderr leakdiff record --preload ./empty.so -o t.zst -- python3 "$ROOT/tests/leakdiff/record-fake.py" 3
    assert_equal "$status" 3
    assert_equal "$output" "fake says hi"
    [[ "$stderr" == *"current: 207 bytes in 2 blocks"* ]]
    [[ "$stderr" == *"peak: 250 bytes"* ]]
    # the trace: the realloc of X before the new allocation of X, and the analysis agrees
    run bash -c "zstd -dc t.zst | grep '^[~+-]' | cut -d' ' -f1,3,4"
    assert_output "$(printf '+ 1000 100\n~ 1000 2000\n+ 1000 50\n- 1000\n+ 3000 7')"
    run leakdiff summary -f json t.zst
    assert_success
    assert_output --partial '"peak_bytes":250'
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
