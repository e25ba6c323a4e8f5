#!/usr/bin/env bash
# run.sh DIR SECONDS — run every libFuzzer target built in DIR (make fuzz).
#
# Each target runs alone for SECONDS on a temporary working corpus seeded from
# tests/fuzz/corpus/<target>/ and the regression inputs
# tests/fixtures/fuzz/<target>-*; the committed seeds are never written to.
# One TAP line per target, "ok N - fuzz <target>" or "not ok N - fuzz
# <target>", with the run count as a diagnostic. A crashing input is kept as
# DIR/crashes/<target>-crash-<sha1> (the log as DIR/<target>.log). Exit status
# 1 if any target failed. Extra libFuzzer flags: tests/fuzz/<target>.options
# (one line, for that target), -dict=tests/fuzz/<target>.dict if present,
# then FUZZ_ARGS (for all).
set -u
[ $# -ge 1 ] || { echo "usage: run.sh DIR [SECONDS]" >&2; exit 2; }
dir=$1 secs=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/../fixtures/fuzz
crashes=$dir/crashes
mkdir -p "$crashes"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Recoverable UBSan reports must fail the run, not scroll by.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:abort_on_error=1:print_stacktrace=1}
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}

n=0 failed=0
targets=$(find "$dir" -maxdepth 1 -type f -name 'fuzz_*' -perm -u+x | sort)
[ -n "$targets" ] || { echo "run.sh: no fuzz targets in $dir" >&2; exit 2; }
echo "1..$(echo "$targets" | wc -l)"
for t in $targets; do
    name=$(basename "$t")
    n=$((n + 1))
    corpus=$work/$name
    mkdir -p "$corpus"
    [ -d "$here/corpus/$name" ] && cp "$here/corpus/$name"/* "$corpus"/ 2>/dev/null
    for f in "$fixtures/$name"-*; do
        [ -f "$f" ] && cp "$f" "$corpus/"
    done
    log=$dir/$name.log
    opts=$(cat "$here/$name.options" 2>/dev/null)
    [ -f "$here/$name.dict" ] && opts="$opts -dict=$here/$name.dict"
    start=$SECONDS
    # shellcheck disable=SC2086
    "$t" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=30 \
        -print_final_stats=1 -artifact_prefix="$crashes/$name-" $opts ${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
    rc=$?
    took=$((SECONDS - start))
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    if [ "$rc" -eq 0 ]; then
        echo "ok $n - fuzz $name"
    else
        failed=$((failed + 1))
        echo "not ok $n - fuzz $name"
        echo "# exit status $rc; log: $log"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant broken|.*runtime error|artifact_prefix|Test unit written)' "$log" |
            head -8 | sed 's/^/# /'
    fi
    echo "# $name: ${runs:-?} runs in $took s, corpus $(ls "$corpus" | wc -l) inputs"
done
[ "$failed" -eq 0 ]
