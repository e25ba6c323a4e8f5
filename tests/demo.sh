#!/usr/bin/env bash
# demo.sh BUILD_DIR — what `make demo` shows: sample data generated here
# (seeded), read through the core library, then every built tool run on its
# own sample input (cmd/<tool>/demo.sh, given the build dir and a scratch dir).
set -euo pipefail
B=${1:-build}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case $B in /*) ;; *) B=$ROOT/$B ;; esac
D=$B/demo
mkdir -p "$D"
PATH=$B/bin:$B/test:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

cc -O2 -o "$D/gencsv" "$ROOT/tests/bench/gencsv.c"
"$D/gencsv" 200000 42 > "$D/weblog.csv"
zstd -q -f -3 "$D/weblog.csv" -o "$D/weblog.csv.zst"
gzip -c "$D/weblog.csv" > "$D/weblog.csv.gz"

echo "memkit demo: sample data in $D"
step "head -3 weblog.csv"
head -3 "$D/weblog.csv"
step "mkread -m csv weblog.csv weblog.csv.zst weblog.csv.gz   # the core library's reader"
(cd "$D" && mkread -m csv weblog.csv weblog.csv.zst weblog.csv.gz)
step "mkread -m csv -f json weblog.csv.zst"
(cd "$D" && mkread -m csv -f json weblog.csv.zst)
step "head -c 100000 weblog.csv.zst | mkread -m csv   # a truncated stream is an error, not a short count"
(cd "$D" && head -c 100000 weblog.csv.zst | mkread -m csv) || echo "(exit status $?)"

for t in "$ROOT"/cmd/*/; do
    [ -d "$t" ] || continue
    name=$(basename "$t")
    if [ -f "$t/demo.sh" ]; then
        printf '\n\033[1m== %s\033[0m\n' "$name"
        bash "$t/demo.sh" "$B" "$D"
    fi
done
echo
echo "demo done."
