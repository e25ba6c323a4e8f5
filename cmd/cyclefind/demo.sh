#!/usr/bin/env bash
# demo.sh BUILD_DIR DEMO_DIR — cyclefind's part of `make demo` (called by
# tests/demo.sh): a small object graph with a leak-keeping cycle, its chain,
# the references to make weak and the cyclic garbage; a generated heap-like
# graph of 200 000 objects with planted cycles; and, when Graphviz is here,
# a drawing of the cycles (DEMO_DIR/cycles.svg).
set -euo pipefail
B=$(cd "$1" && pwd) D=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$B/bin:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
cd "$D"

cat > objects.txt <<'G'
# holder held field
main      Session#1  session
Session#1 Cache#1    cache
Cache#1   Entry#7    items[7]
Entry#7   Session#1  owner
Entry#7   Buffer#3   data
Widget#2  Listener#9 on_click
Listener#9 Widget#2  widget
G
step "cat objects.txt"
cat objects.txt
step "cyclefind objects.txt"
cyclefind objects.txt || echo "(exit status $?: cycles found)"
step "cyclefind --roots main --break objects.txt"
cyclefind --roots main --break objects.txt || true
step "cyclefind --all-cycles -f json objects.txt"
cyclefind --all-cycles -f json objects.txt || true

cc -O2 -o gengraph "$ROOT/tests/bench/gengraph.c"
./gengraph heap 200000 50 7 2> /dev/null | zstd -q -f -o heap.txt.zst
step "cyclefind --members 5 heap.txt.zst | head -12   # 200 000 objects, 50 planted cycles"
{ cyclefind --members 5 heap.txt.zst || true; } | head -12
if command -v dot > /dev/null; then
    step "cyclefind -f dot objects.txt | dot -Tsvg > cycles.svg"
    { cyclefind -f dot objects.txt || true; } | dot -Tsvg > cycles.svg
    echo "wrote $D/cycles.svg"
fi
