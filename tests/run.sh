#!/usr/bin/env bash
# The test suite: unit tests, bats end-to-end tests and doc lint, once per
# build directory given (make check passes build and build/asan). Every
# result is a TAP line; the last line sums them: "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || set -- build
pass=0 fail=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count SUITE: reads TAP on stdin, echoes failures and diagnostics, tallies.
count() {
    local suite=$1 p=0 f=0 line
    while IFS= read -r line; do
        case $line in
            "ok "*) p=$((p + 1)) ;;
            "not ok "*) f=$((f + 1)); printf '  FAIL [%s] %s\n' "$suite" "${line#not ok }" ;;
            "#"*) [ "$f" -gt 0 ] && printf '    %s\n' "$line" ;;
        esac
    done
    printf '%-32s %4d passed, %d failed\n' "$suite" "$p" "$f"
    echo "$p $f" >>"$log"
}

for b in "$@"; do
    tag=$(basename "$b")
    for t in "$b"/test/test_*; do
        [ -x "$t" ] || continue
        { "$t" 2>&1 || echo "not ok - $(basename "$t") exited with status $?"; } | count "$tag/unit/$(basename "$t")"
    done
    for f in tests/*.bats; do
        [ -f "$f" ] || continue
        MK_BUILD=$b bats --formatter tap "$f" 2>&1 | count "$tag/$(basename "$f")"
    done
done

# Man pages: mandoc lint must be silent (groff would exit 0 on warnings).
{
    n=0
    for m in man/*.[15]; do
        [ -f "$m" ] || continue
        n=$((n + 1))
        out=$(mandoc -T lint -W warning "$m" 2>&1)
        if [ -z "$out" ]; then echo "ok $n - mandoc lint $m"; else echo "not ok $n - mandoc lint $m"; echo "$out" | sed 's/^/# /'; fi
    done
} | count "man/lint"

read -r p f < <(awk '{p += $1; f += $2} END {print p + 0, f + 0}' "$log")
echo "$p passed, $f failed"
[ "$f" -eq 0 ]
