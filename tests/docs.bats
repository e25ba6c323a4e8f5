#!/usr/bin/env bats
# Man pages, completions and --help must name the same options, for every
# tool (each tool's options table is the single source). The checker itself
# is tested on the mkread driver and its fixture docs, including the ways it
# must fail.

load helpers

@test "every tool's man page, completions and --help agree with its options table" {
    n=0
    for d in "$ROOT"/cmd/*/; do
        [ -d "$d" ] || continue
        t=$(basename "$d")
        run bash "$ROOT/tests/check-docs.sh" "$MK_BUILD/bin/$t" "$ROOT/man/$t.1" "$ROOT/completions"
        assert_success
        n=$((n + 1))
    done
    echo "checked $n tools"
}

@test "the checker accepts the driver's fixture docs" {
    run bash "$ROOT/tests/check-docs.sh" "$MK_BUILD/test/mkread" "$FIX/docs/mkread.1" "$FIX/docs"
    assert_success
    assert_output ""
}

@test "the checker names an option the man page leaves out, or one it invents" {
    grep -v 'Fl \\-sync' "$FIX/docs/mkread.1" > mkread.1
    run bash "$ROOT/tests/check-docs.sh" "$MK_BUILD/test/mkread" mkread.1 "$FIX/docs"
    assert_failure 1
    assert_output "mkread: man page mkread.1 does not list: --sync "
    sed 's/^\.It Fl \\-map$/.It Fl \\-mapp/' "$FIX/docs/mkread.1" > mkread.1
    run bash "$ROOT/tests/check-docs.sh" "$MK_BUILD/test/mkread" mkread.1 "$FIX/docs"
    assert_failure 1
    assert_line "mkread: man page mkread.1 does not list: --map "
    assert_line "mkread: man page mkread.1 lists options the tool does not have: --mapp "
}

@test "the checker names a stale or missing completion" {
    cp -r "$FIX/docs" comp
    sed -i 's/--sync //' comp/bash/mkread
    rm comp/fish/mkread.fish
    run bash "$ROOT/tests/check-docs.sh" "$MK_BUILD/test/mkread" "$FIX/docs/mkread.1" comp
    assert_failure 1
    assert_line "mkread: completion comp/bash/mkread differs from the options table (run completions/generate.sh $MK_BUILD/test/mkread)"
    assert_line "mkread: completion comp/fish/mkread.fish is missing (run completions/generate.sh $MK_BUILD/test/mkread)"
}

@test "generated completions are valid bash, zsh and fish" {
    bash "$ROOT/completions/generate.sh" "$MK_BUILD/test/mkread" out
    run bash -n out/bash/mkread
    assert_success
    run zsh -n out/zsh/_mkread
    assert_success
    run fish --no-execute out/fish/mkread.fish
    assert_success
}

@test "bash completion offers options, choices and files" {
    bash "$ROOT/completions/generate.sh" "$MK_BUILD/test/mkread" out
    touch data.csv
    run bash -c 'source out/bash/mkread
        COMP_WORDS=(mkread --ma); COMP_CWORD=1; _mkread; echo "${COMPREPLY[*]}"
        COMP_WORDS=(mkread -f n); COMP_CWORD=2; _mkread; echo "${COMPREPLY[*]}"
        COMP_WORDS=(mkread --max-line ""); COMP_CWORD=2; _mkread; echo "[${COMPREPLY[*]}]"
        COMP_WORDS=(mkread data); COMP_CWORD=1; _mkread; echo "${COMPREPLY[*]}"'
    assert_success
    assert_line --index 0 "--max-line --map"
    assert_line --index 1 "ndjson"
    assert_line --index 2 "[]"
    assert_line --index 3 "data.csv"
}

@test "fish completion offers the option descriptions" {
    bash "$ROOT/completions/generate.sh" "$MK_BUILD/test/mkread" out
    run fish -c "source out/fish/mkread.fish; complete -C 'mkread --sy'"
    assert_success
    assert_output "$(printf -- '--sync\tno read-ahead thread')"
}

@test "a command with options of its own (leakdiff record): completions offer them after it, man page and --help checked" {
    run bash -c "source '$ROOT/completions/bash/leakdiff'
        COMP_WORDS=(leakdiff record --f); COMP_CWORD=2; _leakdiff; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(leakdiff rec); COMP_CWORD=1; _leakdiff; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(leakdiff top --f); COMP_CWORD=2; _leakdiff; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(leakdiff record -- bash --f); COMP_CWORD=4; _leakdiff; echo \"[\${COMPREPLY[*]}]\""
    assert_success
    assert_line --index 0 "--frames --follow-fork"
    assert_line --index 1 "record"
    assert_line --index 2 "--from --fail-on-growth --format"
    assert_line --index 3 "[]"
    run fish -c "source '$ROOT/completions/fish/leakdiff.fish'; complete -C 'leakdiff record --fo'; complete -C 'leakdiff --fo'"
    assert_line --index 0 "$(printf -- '--follow-fork\trecord forked children too, each into its own trace memkit-heap.PID.zst')"
    assert_line --index 1 "$(printf -- '--format\toutput format')"
    run zsh -n "$ROOT/completions/zsh/_leakdiff"
    assert_success
    # a man page that does not list one of record's options is caught
    grep -v '^\.It Fl \\-follow-fork' "$ROOT/man/leakdiff.1" > leakdiff.1
    run bash "$ROOT/tests/check-docs.sh" "$MK_BUILD/bin/leakdiff" leakdiff.1 "$ROOT/completions"
    assert_failure 1
    assert_output "leakdiff: man page leakdiff.1 does not list record's option --follow-fork"
}

@test "completions offer a tool's subcommands as its first word, and only there" {
    run bash -c "source '$ROOT/completions/bash/leakdiff'
        COMP_WORDS=(leakdiff su); COMP_CWORD=1; _leakdiff; echo \"\${COMPREPLY[*]}\"
        COMP_WORDS=(leakdiff top su); COMP_CWORD=2; _leakdiff; echo \"[\${COMPREPLY[*]}]\""
    assert_success
    assert_line --index 0 "summary suggest"
    assert_line --index 1 "[]"
    run fish -c "source '$ROOT/completions/fish/leakdiff.fish'; complete -C 'leakdiff ti'"
    assert_output "timeline"
    # a man page that does not describe one is caught
    grep -v '^\.It Cm suggest' "$ROOT/man/leakdiff.1" > leakdiff.1
    run bash "$ROOT/tests/check-docs.sh" "$MK_BUILD/bin/leakdiff" leakdiff.1 "$ROOT/completions"
    assert_failure 1
    assert_output "leakdiff: man page leakdiff.1 does not describe the subcommand suggest"
}
