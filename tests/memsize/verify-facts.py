#!/usr/bin/env python3
"""Check the formulas of tests/fixtures/memsize/python/FACTS.md against the
measured truth files: a reference model of what memsize has to compute.

usage: verify-facts.py [DIR]      (DIR: tests/fixtures/memsize/python)

For every version with files in DIR it recomputes, from FACTS.md's rules
alone (no sys.getsizeof, no tracemalloc):
  growth-<ver>.tsv        every cell
  <fixture>.<ver>.tsv     every cell (the fixture parsed with
                          python-truth.py's own parse; set/dict membership
                          decided by Python equality, the first occurrence kept)
  <fixture>.type-str.<ver>.tsv
  classes-<ver>.tsv       every cell
Prints each difference; exit status 1 if any, 0 otherwise.  Any Python 3
runs it (the model does not depend on the running interpreter).
"""
import glob
import importlib.util
import math
import os
import sys

sys.dont_write_bytecode = True          # no __pycache__ in tests/memsize
HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location(
    "python_truth", os.path.join(HERE, "python-truth.py"))
pt = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(pt)


# ------------------------------------------------------------ containers

def list_exact(n):                       # list(values): even slot count
    return 56 + 8 * ((n + 1) & ~1)


def list_append_alloc(n):                # slots after n appends
    allocated = 0
    for size in range(1, n + 1):
        if size > allocated:
            allocated = (size + (size >> 3) + 6) & ~3
    return allocated


def list_append(n):
    return 56 + 8 * list_append_alloc(n)


def tuple_size(n):
    return 40 + 8 * n                    # n == 0: the shared () is 40 too


def set_table(distinct):
    """Slots of set(values) after `distinct` new keys (no deletions)."""
    size, fill = 8, 0
    for _ in range(distinct):
        fill += 1
        if fill * 5 >= (size - 1) * 3:
            minused = fill * 2 if fill > 50000 else fill * 4
            size = 8
            while size <= minused:
                size <<= 1
    return size


def set_size(distinct):
    t = set_table(distinct)
    return 216 + (16 * t if t > 8 else 0)


def usable(size):
    return (2 * size) // 3


def keys_bytes(log2, unicode):
    size = 1 << log2
    ix = 1 if log2 < 8 else 2 if log2 < 16 else 4 if log2 < 32 else 8
    return 32 + size * ix + usable(size) * (16 if unicode else 24)


def dict_keys(kinds):
    """kinds: is-str of each distinct key in insertion order (dict.fromkeys
    or d[k] = None).  Returns (log2 size, unicode) or None for no keys."""
    log2, uni, used = None, None, 0
    for is_str in kinds:
        if log2 is None:
            log2, uni = 3, is_str
        else:
            if uni and not is_str:       # first non-str key: rebuilt general
                log2, uni = max(3, (used * 3).bit_length()), False
            if usable(1 << log2) - used <= 0:
                log2 = max(3, (used * 3).bit_length())
        used += 1
    return None if log2 is None else (log2, uni)


def dict_size(kinds):
    k = dict_keys(kinds)
    return 64 + (keys_bytes(*k) if k else 0)


ITEMSIZE = {"b": 1, "B": 1, "h": 2, "H": 2, "i": 4, "I": 4, "f": 4,
            "l": 8, "L": 8, "q": 8, "Q": 8, "d": 8}


def array_size(tc, n):
    return 80 + ITEMSIZE[tc] * n


# ------------------------------------------------------------ elements

def int_digits(v):
    return max(1, -(-abs(v).bit_length() // 30))


def int_size(v):
    return 24 + 4 * int_digits(v)


def int_alloc(text, v, ver):
    """Bytes int(text) requests (base 10)."""
    d = sum(c in "0123456789" for c in text)
    if ver != "3.11" and d > 6000:
        return int_size(v) + 4
    return 24 + 4 * int(d * (math.log(10) / math.log(2 ** 30)) + 1.0)


def str_size(s, ver):
    m = max(map(ord, s), default=0)
    if ver != "3.11" and len(s) == 1 and 128 <= m < 256:
        return 61          # the static singleton carries its UTF-8 (2 + 1 bytes)
    if m < 128:
        return (48 if ver == "3.11" else 40) + len(s) + 1
    kind = 1 if m < 256 else 2 if m < 65536 else 4
    return (72 if ver == "3.11" else 56) + (len(s) + 1) * kind


def is_shared(v):
    if type(v) is int:
        return -5 <= v <= 256
    if type(v) is str:
        return len(v) == 0 or (len(v) == 1 and ord(v) < 256)
    return False


def elem_size(v, ver):
    if type(v) is int:
        return int_size(v)
    if type(v) is float:
        return 24
    return str_size(v, ver)


def elem_alloc(v, text, ver):
    if type(v) is int:
        return int_alloc(text, v, ver)
    return elem_size(v, ver)


# ------------------------------------------------------------ classes

def values_size(s, ver):
    """Bytes of the per-instance values of s slots (3.13: inline part)."""
    if ver == "3.13":
        return -(-s // 8) * 8 + 8 * (s + 1)
    return -(-(s + 2) // 8) * 8 + 8 * s


def slots_at(j, k, ver):
    top = 30 if ver == "3.13" else 29
    return max(top - j, min(k + 1, 29))


def instance_alloc(j, k, ver):
    obj = 56 if ver == "3.11" else 48
    s = slots_at(j, k, ver)
    if k <= 29:
        return obj + values_size(s, ver)
    # the 30th attribute makes a real dict: 64 + combined str keys grown from
    # 128 slots (29 entries); 3.11/3.12 free the values array, 3.13 keeps it
    log2, used = 7, 29
    for _ in range(k - 29):
        if usable(1 << log2) - used <= 0:
            log2 = max(3, (used * 3).bit_length())
        used += 1
    d = 64 + keys_bytes(log2, True)
    return obj + d + (values_size(s, ver) if ver == "3.13" else 0)


def dict_getsizeof(k, count):
    if k >= 30:
        log2, used = 7, 29
        for _ in range(k - 29):
            if usable(1 << log2) - used <= 0:
                log2 = max(3, (used * 3).bit_length())
            used += 1
        return 64 + keys_bytes(log2, True)
    return 64 + 8 * max(29 - (count - 1), min(k + 1, 29))


# ------------------------------------------------------------ checks

def read_tsv(path):
    with open(path) as f:
        rows = [l.rstrip("\n").split("\t") for l in f]
    return rows[0], rows[1:]


class Checker:
    def __init__(self):
        self.bad = 0
        self.cells = 0

    def eq(self, where, what, got, want):
        self.cells += 1
        if str(got) != str(want):
            self.bad += 1
            if self.bad <= 60:
                print("%s: %s: file %s, FACTS %s" % (where, what, got, want))


def check_growth(ck, path, ver):
    head, rows = read_tsv(path)
    for r in rows:
        n, kind = int(r[0]), r[1]
        distinct = max(1, n // 10) if kind == "int-dup" and n else n
        want = [list_exact(n), list_append(n), tuple_size(n),
                set_size(distinct), set_size(distinct),
                dict_size([kind == "str"] * distinct),
                "" if kind == "str" else array_size("q", n)]
        for name, got, w in zip(head[2:], r[2:], want):
            ck.eq("%s n=%d %s" % (os.path.basename(path), n, kind), name, got, w)


def check_fixture(ck, path, txt, ver, forced):
    lines = [b.decode("utf-8") for b in pt.read_lines(txt)]
    values = [pt.parse(s, forced) for s in lines]
    # first occurrence of each distinct value, by Python equality (a NaN
    # object equals only itself)
    first = {}
    for i, v in enumerate(values):
        first.setdefault(v, i)
    kept = sorted(first.values())
    tc = pt.typecode(values)
    n = len(values)

    def deep(idx, shared_too):
        return sum(elem_size(values[i], ver) for i in idx
                   if shared_too or not is_shared(values[i]))

    def alloc(idx):
        return sum(elem_alloc(values[i], lines[i], ver) for i in idx
                   if not is_shared(values[i]))

    # list/tuple: every element object once; a shared object several times
    # is still one object
    seen, every = set(), []
    for i, v in enumerate(values):
        key = (type(v), v) if is_shared(v) else i
        if key not in seen:
            seen.add(key)
            every.append(i)
    sizes = {
        "list": (n, list_exact(n), every),
        "list-append": (n, list_append(n), every),
        "tuple": (n, tuple_size(n), every),
        "set": (len(kept), set_size(len(kept)), kept),
        "frozenset": (len(kept), set_size(len(kept)), kept),
        "dict": (len(kept), dict_size([type(values[i]) is str for i in kept]), kept),
    }
    head, rows = read_tsv(path)
    where = os.path.basename(path)
    for r in rows:
        got = dict(zip(head, r))
        name = got["structure"]
        ck.eq(where, "version", got["version"], ver)
        if name == "array":
            if tc is None:
                want = dict.fromkeys(head[2:], "")
            else:
                a = array_size(tc, n)
                want = {"count": n, "shallow": a, "deep": a, "deep_shared": a,
                        "typecode": tc, "alloc_shallow": a, "alloc_deep": a}
        else:
            cnt, shallow, idx = sizes[name]
            a0 = 0 if (name == "tuple" and n == 0) else shallow
            want = {"count": cnt, "shallow": shallow, "deep": shallow + deep(idx, False),
                    "deep_shared": shallow + deep(idx, True), "typecode": "",
                    "alloc_shallow": a0, "alloc_deep": a0 + alloc(idx)}
        for col in head[2:]:
            ck.eq("%s %s" % (where, name), col, got[col], want[col])


def check_classes(ck, path, ver):
    head, rows = read_tsv(path)
    for r in rows:
        got = dict(zip(head, r))
        k, count = int(got["attrs"]), int(got["count"])
        total = sum(instance_alloc(j, k, ver) for j in range(count))
        want = {"regular_getsizeof": 56 if ver == "3.11" else 48,
                "slots_getsizeof": 32 + 8 * k,
                "regular_alloc_total": total,
                "slots_alloc_total": (32 + 8 * k) * count,
                "dict_getsizeof": dict_getsizeof(k, count),
                "dict_alloc": 0 if k >= 30 else 64}
        for col, w in want.items():
            ck.eq("%s k=%d count=%d" % (os.path.basename(path), k, count), col, got[col], w)
        ck.eq("%s k=%d count=%d" % (os.path.basename(path), k, count),
              "regular_alloc_per_instance", got["regular_alloc_per_instance"],
              pt.per_instance(total, count))


def main(argv):
    d = argv[0] if argv else os.path.join(HERE, "..", "fixtures", "memsize", "python")
    ck = Checker()
    files = 0
    for path in sorted(glob.glob(os.path.join(d, "*.tsv"))):
        base = os.path.basename(path)[:-4]
        if base.startswith("growth-"):
            check_growth(ck, path, base[len("growth-"):])
        elif base.startswith("classes-"):
            check_classes(ck, path, base[len("classes-"):])
        else:
            stem, ver = base.split(".", 1)
            forced = None
            if ver.startswith("type-"):
                forced, ver = ver[len("type-"):].split(".", 1)
            check_fixture(ck, path, os.path.join(d, stem + ".txt"), ver, forced)
        files += 1
    print("verify-facts: %d files, %d cells, %d differ" % (files, ck.cells, ck.bad))
    return 1 if ck.bad or not files else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
