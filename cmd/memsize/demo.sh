#!/usr/bin/env bash
# demo.sh BUILD_DIR DEMO_DIR — memsize's part of `make demo` (called by
# tests/demo.sh): a million integers in every CPython and C structure, the
# same for strings, one column of the demo CSV, a struct with holes laid out
# and shrunk technique by technique.
set -euo pipefail
B=$(cd "$1" && pwd) D=$2
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PATH=$B/bin:$PATH

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
cd "$D"

cc -O2 -o genints "$ROOT/tests/bench/genints.c"
./genints 1000000 7 | zstd -q -f -o ints.txt.zst
step "memsize ints.txt.zst      # a million integers, CPython 3.11 and C"
memsize ints.txt.zst
step "seq 100000 | sed 's/^/user-/' | memsize --python all --model python"
seq 100000 | sed 's/^/user-/' | memsize --python all --model python
if [ -f weblog.csv ]; then
    step "memsize --column status --model c weblog.csv"
    memsize --column status --model c weblog.csv
fi
cat > order.yaml <<'Y'
structs:
  - name: order
    count: 1000000
    fields:
      - {name: paid, type: bool}
      - {name: id, type: long, range: [0, 4000000]}
      - {name: shipped, type: bool}
      - {name: qty, type: int, range: [0, 200]}
      - {name: country, type: "char *", distinct: 200}
      - {name: price, type: double}
classes:
  - {name: Point, count: 100000, attrs: [x, y, z], list_len: 8}
  - {name: User, count: 500000, attrs: [id, name, country],
     distinct: {country: 200}, str_len: {country: 12}}
Y
step "cat order.yaml"
cat order.yaml
step "memsize --layout order.yaml --show"
memsize --layout order.yaml --show
step "memsize --layout order.yaml --suggest --target 50%"
memsize --layout order.yaml --suggest --target 50%
