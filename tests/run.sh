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
# Diagnostics ("# ...") may come before or after their "not ok" line (the C
# harness prints them first, bats after): keep them until the next result.
count() {
    local suite=$1 p=0 f=0 line diag="" last=""
    while IFS= read -r line; do
        case $line in
            "ok "*) p=$((p + 1)); diag=""; last=ok ;;
            "not ok "*) f=$((f + 1)); printf '  FAIL [%s] %s\n' "$suite" "${line#not ok }"
                        [ -n "$diag" ] && printf '%s' "$diag"; diag=""; last=fail ;;
            "#"*) if [ "$last" = fail ]; then printf '    %s\n' "$line"
                  else diag+="    $line"$'\n'; fi ;;
        esac
    done
    printf '%-32s %4d passed, %d failed\n' "$suite" "$p" "$f"
    echo "$p $f" >>"$log"
}

# suite B: the unit and bats tests of build directory B, one after another.
suite() {
    local b=$1 tag t f
    tag=$(basename "$b")
    for t in "$b"/test/test_*; do
        [ -x "$t" ] || continue
        # A binary that dies (sanitizer abort, crash) never prints its plan.
        { out=$("$t" 2>&1); rc=$?; echo "$out"
          grep -q '^1\.\.' <<<"$out" || echo "not ok - $(basename "$t") died with status $rc"
        } | count "$tag/unit/$(basename "$t")"
    done
    for f in tests/*.bats; do
        [ -f "$f" ] || continue
        MK_BUILD=$b bats --formatter tap "$f" 2>&1 | count "$tag/$(basename "$f")"
    done
}

# Each build's suite is mostly one process at a time, so with two builds
# (plain and ASan) and two cores both run at once, each into its own file,
# printed in order afterwards: CI's longest stretch, halved. SUITE_JOBS=1
# runs them one after the other.
if [ $# -gt 1 ] && [ "${SUITE_JOBS:-2}" != 1 ]; then
    outs=()
    for b in "$@"; do
        o=$(mktemp)
        outs+=("$o")
        suite "$b" > "$o" 2>&1 &
    done
    wait
    for o in "${outs[@]}"; do
        cat "$o"
        rm -f "$o"
    done
else
    for b in "$@"; do
        suite "$b"
    done
fi

# The thread-safe modules' unit tests, built with ThreadSanitizer: a data
# race report makes the binary exit non-zero.
if [ -n "${TSAN_DIR:-}" ]; then
    for t in "$TSAN_DIR"/test/test_*; do
        [ -x "$t" ] || continue
        { out=$(TSAN_OPTIONS=halt_on_error=1 "$t" 2>&1); rc=$?; echo "$out"
          grep -q '^1\.\.' <<<"$out" && [ $rc -eq 0 ] || echo "not ok - $(basename "$t") under TSan: status $rc"
          grep -q 'ThreadSanitizer' <<<"$out" && echo "$out" | grep -A20 'WARNING: ThreadSanitizer' | head -40 | sed 's/^/# /'
        } | count "tsan/unit/$(basename "$t")"
    done
fi

# Fuzz targets: replay the seeds and every kept regression input once; with
# FUZZ_SMOKE=N also fuzz each target for N seconds.
if [ -n "${FUZZ_DIR:-}" ] && [ -d "$FUZZ_DIR" ]; then
    {
        n=0
        for t in "$FUZZ_DIR"/fuzz_*; do
            [ -x "$t" ] && [ -f "$t" ] || continue
            name=$(basename "$t")
            inputs=$(ls tests/fuzz/corpus/"$name"/* tests/fixtures/fuzz/"$name"-* 2>/dev/null)
            n=$((n + 1))
            # shellcheck disable=SC2086
            if out=$(UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$t" $inputs 2>&1); then echo "ok $n - replay $name ($(echo "$inputs" | grep -c .) inputs)"
            else echo "not ok $n - replay $name"; echo "$out" | tail -20 | sed 's/^/# /'; fi
        done
    } | count "fuzz/replay"
    if [ "${FUZZ_SMOKE:-0}" != 0 ]; then
        bash tests/fuzz/run.sh "$FUZZ_DIR" "$FUZZ_SMOKE" 2>&1 | count "fuzz/smoke ${FUZZ_SMOKE}s"
    fi
fi

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
