#!/usr/bin/env bash
# demo.sh BUILD_DIR DEMO_DIR — refwatch's part of `make demo` (called by
# tests/demo.sh): a small C program with a reference-counted API logs its
# events (tests/fixtures/refwatch/refprog.c through reflog.h); refwatch finds
# its leak and its over-release, shows one object's history, and hands the
# live references to cyclefind, which names the cycle that leaks; then a
# generated log of 2 million events over 100 000 live objects that ends
# by releasing all but its leaks.
set -euo pipefail
B=$(cd "$1" && pwd) D=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$B/bin:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
cd "$D"

cc -O0 -g -rdynamic -o refprog "$ROOT/tests/fixtures/refwatch/refprog.c"
REFLOG=app.refs ./refprog
step "cat app.refs   # written by refprog.c through reflog.h"
cat app.refs
step "refwatch app.refs"
refwatch app.refs || echo "(exit status $?: unbalanced objects and errors)"
buf=$(awk '/type=Buffer/ {print $2}' app.refs)
step "refwatch --history $buf -f tsv app.refs | cut -f1-3,6,10"
{ refwatch --history "$buf" -f tsv app.refs || true; } | cut -f1-3,6,10
step "refwatch --events app.refs   # weak callbacks, higher priority first"
refwatch --events app.refs || true
step "refwatch --graph app.refs | cyclefind   # why the Session and its Cache never die"
{ refwatch --graph app.refs || true; } | { cyclefind || echo "(exit status $?: a cycle)"; }

cc -O2 -o genrefs "$ROOT/tests/bench/genrefs.c"
./genrefs 2000000 100000 7 drain 2> /dev/null | zstd -q -f -o big.refs.zst
step "refwatch --show 3 --sites 2 big.refs.zst   # 2 M events, 100 000 live objects, drained at the end"
refwatch --show 3 --sites 2 --stats big.refs.zst || true
