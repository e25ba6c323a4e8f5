#!/usr/bin/env bash
# Regenerate every committed CPython truth file for memsize:
#   tests/fixtures/memsize/python/many.txt              (seeded, generated)
#   tests/fixtures/memsize/python/<fixture>.<ver>.tsv   python-truth.py FILE
#   tests/fixtures/memsize/python/<fixture>.type-str.<ver>.tsv   --type str
#   tests/fixtures/memsize/python/growth-<ver>.tsv      --growth
#   tests/fixtures/memsize/python/classes-<ver>.tsv     --classes classes.spec
# then checks them against FACTS.md's formulas (verify-facts.py).
# Pythons: $PY311 $PY312 $PY313, default ~/.pyenv/versions/3.1x.y/bin/python3.
# usage: regen-python.sh [--no-growth] [--no-classes]   (growth: minutes)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fx=$here/../fixtures/memsize/python
truth=$here/python-truth.py
PY311=${PY311:-$HOME/.pyenv/versions/3.11.7/bin/python3}
PY312=${PY312:-$HOME/.pyenv/versions/3.12.1/bin/python3}
PY313=${PY313:-$HOME/.pyenv/versions/3.13.0/bin/python3}
growth=1 classes=1
for a in "$@"; do
    case $a in
        --no-growth) growth=0 ;;
        --no-classes) classes=0 ;;
        *) echo "usage: $0 [--no-growth] [--no-classes]" >&2; exit 2 ;;
    esac
done

# many.txt: 20000 ints (all within 64 bits, so an 'l' array), seeded; the
# same bytes from any Python 3 (random.Random(seed) is stable).
"$PY311" - "$fx/many.txt" <<'EOF'
import random, sys
rng = random.Random(20240517)
out = []
for i in range(20000):
    r = rng.random()
    if out and r < 0.15:
        out.append(rng.choice(out))                        # duplicate line
        continue
    r = rng.random()
    if r < 0.20:
        v = rng.randint(-5, 256)                           # shared
    elif r < 0.55:
        v = rng.randint(257, 2**30 - 1)                    # 1 digit
    elif r < 0.65:
        v = -rng.randint(257, 2**30 - 1)
    elif r < 0.85:
        v = rng.randint(2**30, 2**60 - 1)                  # 2 digits
    else:
        v = rng.choice((1, -1)) * rng.randint(2**60, 2**63 - 1)   # 3 digits
    s = str(v)
    r = rng.random()
    if r < 0.02:
        s = format(v, "_")
    elif r < 0.04:
        s = ("-" if v < 0 else "") + "000" + str(abs(v))   # leading zeros
    elif r < 0.05:
        s = " " + s + " "
    out.append(s)
with open(sys.argv[1], "w") as f:
    f.write("\n".join(out) + "\n")
EOF

fixtures="ints floats f32 strs mixed strs-then-int bytes8 neg16 u64 empty crlf many"
for py in "$PY311" "$PY312" "$PY313"; do
    ver=$("$py" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    for f in $fixtures; do
        "$py" "$truth" "$fx/$f.txt" > "$fx/$f.$ver.tsv"
    done
    for f in ints mixed; do
        "$py" "$truth" --type str "$fx/$f.txt" > "$fx/$f.type-str.$ver.tsv"
    done
    if [ $classes = 1 ]; then
        "$py" "$truth" --classes "$fx/classes.spec" > "$fx/classes-$ver.tsv"
    fi
    if [ $growth = 1 ]; then
        "$py" "$truth" --growth > "$fx/growth-$ver.tsv"
    fi
    echo "regen-python: $ver done"
done
"$PY311" "$here/verify-facts.py" "$fx"
