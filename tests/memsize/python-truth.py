#!/usr/bin/env python3
"""CPython ground truth for memsize: what this very interpreter reports.

usage:
  python-truth.py [--type int|float|str] FILE   one row per structure (TSV)
  python-truth.py --growth                      shallow sizes by n (TSV)
  python-truth.py --classes SPEC                instances, regular vs __slots__

Run it with each interpreter whose numbers you want (3.11, 3.12, 3.13);
tests/memsize/regen-python.sh rewrites every committed truth file.  Only the
standard library is used.  Nothing here is a formula: every number is read
from the running Python (sys.getsizeof, tracemalloc).

== FILE mode ==
Lines: the bytes up to LF, minus one CR right before it; the last line counts
without a final LF; an empty file has no lines.  Decoded as strict UTF-8.
parse(s): int(s) if s matches INT_RE, else float(s) if s matches FLOAT_RE
(Python's float syntax, ASCII only, inf/infinity/nan in any case), else s.
The limit on int digits is lifted (sys.set_int_max_str_digits(0)).
--type T: every line must have T's syntax (an error otherwise); str takes all.

values = [parse(line) ...]; structures: list(values); list-append (l.append
each); tuple(values); set(values); frozenset(values); dict.fromkeys(values);
array.array(tc, values) with the narrowest typecode (b B h H i I l L, then
q Q, which never win; 'f' if a float is present and every value survives a
float32 round trip, 'd' if a float is present; empty input: 'b'; no array,
i.e. empty cells, if a str or an int outside 64 bits is present).

Columns: version structure count shallow deep deep_shared typecode
alloc_shallow alloc_deep
  count        len(container)
  shallow      sys.getsizeof(container)
  deep         shallow + getsizeof of every element object the container
               references, each object (id) once, shared objects excluded:
               ints -5..256, '', 1-char str with ord < 256 (asserted to be
               the interpreter's singletons); dict: keys only (the values
               are None and not counted, not even in deep_shared); array: no
               element objects
  deep_shared  the same with the shared objects counted (each once)
  typecode     array only
  alloc_shallow  bytes tracemalloc traces for the container's own memory
               blocks (object, item array / hash table / keys object)
  alloc_deep   alloc_shallow + traced bytes of each non-shared element
               object (id-deduplicated like deep)

How the alloc columns are measured.  tracemalloc is started before the file
is read, so every element object is traced from birth.  A block's traced size
is read when it is freed: t0 = traced; drop the last reference; t1 = traced;
size = t0 - t1 + CAL, where CAL (the int object t0 still alive at t1) is
calibrated by the same sequence dropping nothing.  Freeing is used rather than
the growth while constructing because free lists (list, tuple < 20 items,
dict, dict keys of 8 slots, float) hand out memory that is already traced,
and keep freed memory traced, so a construction delta depends on the free
lists' state.  Before each free the relevant free lists are filled to their
limit, so the dropped object really goes back to the allocator and the drop
is exactly the bytes of its blocks (tracemalloc records the requested size,
not pymalloc's rounded one).  Before each build the free lists are emptied
(their contents held until after the measurement), so nothing built reuses a
block allocated before tracing started; containers and elements are asserted
traced (tracemalloc.get_object_traceback).  Elements are measured last, one
object at a time, each the only reference left.

== --growth ==
Columns: n kind list list_append tuple set frozenset dict array_q, each the
getsizeof of that structure built from n values of kind:
  int      range(1000, 1000+n)             str    f"k{i}"
  float    i + 0.5 (array_q: array('d'), also 8 bytes an item)
  int-dup  1000 + i % max(1, n//10)   (n values, max(1, n//10) distinct)
str has no array (empty cell).  n: 0..300, then every n-1, n around a size
change of list-append, set or dict (for int-dup: 10t-1, 10t around a set/dict
change at t distinct values), found by growing real objects one item at a
time, 2**k-1, 2**k, 2**k+1, and a geometric series, up to 3,000,000.  Every
row is measured on a container built by the constructor named in the header.

== --classes SPEC ==
SPEC: lines "name<TAB>count<TAB>attr1,attr2,..." ('#' lines are comments).
For each line, two fresh classes (a class statement, exec'd):
    class name:                 class name_slots:
        def __init__(self):         __slots__ = (attrs...)
            self.attr1 = 0          def __init__(self): (the same)
then `count` instances of each, created into a pre-built list of None
(objs[i] = C()), so the list is not part of the delta; the delta is
calibrated by the identical loop calling a function that allocates nothing.
The dict free list is emptied first (an instance whose attributes overflow
the shared keys gets a real dict).
Columns: attrs count regular_getsizeof slots_getsizeof
regular_alloc_per_instance slots_alloc_per_instance regular_alloc_total
slots_alloc_total dict_getsizeof dict_alloc name
  *_getsizeof  getsizeof of the last instance (its __dict__ not touched)
  *_alloc_total  traced growth while creating the count instances (kept
               only if the instances give back exactly as much when freed;
               else remeasured with fresh classes, see classes_mode)
  *_alloc_per_instance  total / count (a decimal, exact for powers of ten)
  dict_getsizeof  getsizeof(objs[-1].__dict__) after the count instances
  dict_alloc   traced growth caused by that first __dict__ access
"""
import array
import gc
import math
import re
import struct
import sys
import tracemalloc

VERSION = "%d.%d" % sys.version_info[:2]
gtm = tracemalloc.get_traced_memory

WS = r"[ \t\v\f\r]*"
INT_RE = re.compile(WS + r"[+-]?[0-9](?:_?[0-9])*" + WS)
_DIG = r"[0-9](?:_?[0-9])*"
FLOAT_RE = re.compile(
    WS + r"[+-]?(?:(?:" + _DIG + r"(?:\.(?:" + _DIG + r")?)?|\." + _DIG + r")"
    r"(?:[eE][+-]?" + _DIG + r")?|inf|infinity|nan)" + WS,
    re.ASCII | re.IGNORECASE)

STRUCTURES = ["list", "list-append", "tuple", "set", "frozenset", "dict", "array"]
HEADER = ["version", "structure", "count", "shallow", "deep", "deep_shared",
          "typecode", "alloc_shallow", "alloc_deep"]


def die(msg):
    sys.stderr.write("python-truth.py: %s\n" % msg)
    sys.exit(2)


# ---------------------------------------------------------------- input

def read_lines(path):
    with open(path, "rb") as f:
        data = f.read()
    if not data:
        return []
    raw = data.split(b"\n")
    if raw[-1] == b"":
        raw.pop()
    return [r[:-1] if r.endswith(b"\r") else r for r in raw]


def parse(s, forced=None):
    if forced == "str":
        return s
    if forced in (None, "int") and INT_RE.fullmatch(s):
        return int(s)
    if forced in (None, "float") and FLOAT_RE.fullmatch(s):
        return float(s)
    if forced is not None:
        raise ValueError("not %s syntax: %r" % (forced, s))
    return s


def is_shared(v):
    """The definition; checked against the interpreter's own singletons."""
    if type(v) is int:
        shared = -5 <= v <= 256
        assert (v is int(str(v))) == shared, v
        return shared
    if type(v) is str:
        shared = len(v) == 0 or (len(v) == 1 and ord(v) < 256)
        if shared:
            assert v is (chr(ord(v)) if v else ""), repr(v)
        return shared
    return False


# ---------------------------------------------------------------- array

def f32_exact(x):
    try:
        y = struct.unpack("f", struct.pack("f", x))[0]
    except (OverflowError, struct.error):
        return False
    return y == x or (x != x and y != y)


# (code, min, max); 'l'/'L' are 8 bytes on Linux x86_64 (checked below), so
# 'q'/'Q' never come first.
INT_CODES = [("b", -2**7, 2**7 - 1), ("B", 0, 2**8 - 1), ("h", -2**15, 2**15 - 1),
             ("H", 0, 2**16 - 1), ("i", -2**31, 2**31 - 1), ("I", 0, 2**32 - 1),
             ("l", -2**63, 2**63 - 1), ("L", 0, 2**64 - 1),
             ("q", -2**63, 2**63 - 1), ("Q", 0, 2**64 - 1)]
assert all(8 * array.array(c).itemsize == math.log2(hi + 1 - lo) for c, lo, hi in INT_CODES)


def typecode(values):
    if not values:
        return "b"
    if any(type(v) is str for v in values):
        return None
    ints = [v for v in values if type(v) is int]
    if ints and (min(ints) < -2**63 or max(ints) > 2**64 - 1):
        return None
    if len(ints) == len(values):
        lo, hi = min(ints), max(ints)
        return next(c for c, a, b in INT_CODES if a <= lo and hi <= b)
    if all(f32_exact(v) for v in values):
        return "f"
    return "d"


# ---------------------------------------------------------------- tracemalloc

def _freelist_food(n):
    """One object for each free list a container or an element can use:
    lists (free list of 80), dicts with a str key (dicts and 8-slot keys
    objects, 80 each), floats (100), tuples of n items (2000, n < 20)."""
    food = [[] for _ in range(200)]
    food.extend([{"a": None} for _ in range(200)])
    food.extend([i / 7 for i in range(300)])
    if 0 < n < 25:
        tpl = [None] * n
        food.extend([tuple(tpl) for _ in range(2100)])
    return food


def drain_freelists(n=0):
    """Empty the free lists and return what was in them: hold it while the
    next object is built, so that object gets fresh (traced) memory, never a
    block allocated before tracing began."""
    return _freelist_food(n)


def fill_freelists(n=0):
    """Fill the free lists (with traced blocks): the next object of those
    kinds that is freed really goes back to the allocator."""
    _freelist_food(n)


def _drop(holder, i):
    t0 = gtm()[0]
    holder[i] = None
    t1 = gtm()[0]
    return t0 - t1


def freed_bytes(holder, i, n=0, fill=True):
    """Traced bytes released by dropping holder[i] (its last reference)."""
    nothing = [None]
    cal = _drop(nothing, 0), _drop(nothing, 0), _drop(nothing, 0)
    assert cal[1] == cal[2], cal
    if fill:
        fill_freelists(n)
    return _drop(holder, i) - cal[2]


# ---------------------------------------------------------------- structures

def build(name, values, tc):
    if name == "list":
        return list(values)
    if name == "list-append":
        l = []
        for v in values:
            l.append(v)
        return l
    if name == "tuple":
        return tuple(values)
    if name == "set":
        return set(values)
    if name == "frozenset":
        return frozenset(values)
    if name == "dict":
        return dict.fromkeys(values)
    if name == "array":
        return array.array(tc, values)
    raise KeyError(name)


def structures_mode(path, forced):
    sys.set_int_max_str_digits(0)
    try:
        import _pylong  # noqa: F401  (3.12+: huge int(str) imports it lazily)
    except ImportError:
        pass
    gc.disable()
    tracemalloc.start()
    untraced = drain_freelists()   # blocks from before tracing; kept to the end
    raw = read_lines(path)
    values = []
    for lineno, r in enumerate(raw, 1):
        try:
            values.append(parse(r.decode("utf-8"), forced))
        except UnicodeDecodeError as e:
            die("%s:%d: not UTF-8: %s" % (path, lineno, e))
        except ValueError as e:
            die("%s:%d: %s" % (path, lineno, e))
    del raw
    shared = {id(v): is_shared(v) for v in values}
    tc = typecode(values)

    rows = []
    element_ids = {}
    holder = [None]
    for name in STRUCTURES:
        if name == "array" and tc is None:
            rows.append([VERSION, name] + [""] * 7)
            continue
        hold = drain_freelists(len(values))
        holder[0] = build(name, values, tc)
        c = holder[0]
        n = len(c)
        # traced from birth (tuple() of nothing is the static empty tuple)
        assert tracemalloc.get_object_traceback(c) is not None or (
            name == "tuple" and n == 0), name
        shallow = sys.getsizeof(c)
        if name == "array":
            ids, deep, deep_shared = [], shallow, shallow
        else:
            objs = {id(o): o for o in c}           # dict: its keys
            ids = list(objs)
            deep = shallow + sum(sys.getsizeof(o) for k, o in objs.items() if not shared[k])
            deep_shared = shallow + sum(sys.getsizeof(o) for o in objs.values())
            del objs
        del c
        alloc = freed_bytes(holder, 0, n)
        del hold
        element_ids[name] = [k for k in ids if not shared[k]]
        rows.append([VERSION, name, n, shallow, deep, deep_shared,
                     tc if name == "array" else "", alloc, None])

    # each non-shared element object: the traced size of its block
    size_of = {}
    fill_freelists()       # floats: the float free list stays full from here on
    for i in range(len(values)):
        v = values[i]
        k = id(v)
        if shared[k]:
            continue
        assert sys.getrefcount(v) == 3, (v, sys.getrefcount(v))  # values, v, arg
        assert tracemalloc.get_object_traceback(v) is not None, v
        del v
        size_of[k] = freed_bytes(values, i, fill=False)
        assert size_of[k] > 0, (i, size_of[k])
    del untraced
    for row in rows:
        if row[2] != "":
            row[8] = row[7] + sum(size_of[k] for k in element_ids[row[1]])
    print("\t".join(HEADER))
    for row in rows:
        print("\t".join(str(x) for x in row))


# ---------------------------------------------------------------- growth

MAX_N = 3000000


def change_points():
    """n where getsizeof changes when growing one item at a time (the insert
    paths list.append, set(values) and dict.fromkeys(values) take): a set
    for list-append, one for set and dict together."""
    appends, hashed = set(), set()
    l, s, d = [], set(), {}
    sl, ss, sd = sys.getsizeof(l), sys.getsizeof(s), sys.getsizeof(d)
    gs = sys.getsizeof
    for n in range(1, MAX_N + 1):
        v = 999 + n
        l.append(v)
        s.add(v)
        d[v] = None
        a, b, c = gs(l), gs(s), gs(d)
        if a != sl:
            appends.add(n)
        if b != ss or c != sd:
            hashed.add(n)
        sl, ss, sd = a, b, c
    return appends, hashed


def growth_points():
    pts = set(range(301))
    appends, hashed = change_points()
    for c in appends | hashed:
        pts.update((c - 1, c))
    for c in hashed:
        pts.update((10 * c - 1, 10 * c))        # int-dup: c distinct values
    for k in range(1, 23):
        pts.update((2**k - 1, 2**k, 2**k + 1))
    x = 300.0
    while x < MAX_N:
        pts.add(int(round(x)))
        x *= 1.25
    pts.add(MAX_N)
    return sorted(p for p in pts if 0 <= p <= MAX_N)


def growth_mode():
    points = growth_points()
    big = max(points)
    strs = ["k%d" % i for i in range(big)]
    floats = [i + 0.5 for i in range(big)]
    print("\t".join(["n", "kind", "list", "list_append", "tuple", "set",
                     "frozenset", "dict", "array_q"]))
    gs = sys.getsizeof
    for kind in ("int", "str", "float", "int-dup"):
        for n in points:
            if kind == "int":
                vals = list(range(1000, 1000 + n))
            elif kind == "str":
                vals = strs[:n]
            elif kind == "float":
                vals = floats[:n]
            else:
                d = max(1, n // 10)
                vals = (list(range(1000, 1000 + d)) * (n // d + 1))[:n]
            la = []
            for v in vals:
                la.append(v)
            if kind == "str":
                arr = ""
            else:
                arr = gs(array.array("d" if kind == "float" else "q", vals))
            row = [n, kind, gs(list(vals)), gs(la), gs(tuple(vals)), gs(set(vals)),
                   gs(frozenset(vals)), gs(dict.fromkeys(vals)), arr]
            print("\t".join(str(x) for x in row))
            del la, vals


# ---------------------------------------------------------------- classes

def make_class(name, attrs, slots):
    src = "class %s:\n" % name
    if slots:
        src += "    __slots__ = %r\n" % (tuple(attrs),)
    src += "    def __init__(self):\n"
    src += "".join("        self.%s = 0\n" % a for a in attrs) or "        pass\n"
    ns = {}
    exec(src, ns)
    return ns[name]


def _nothing():
    return None


def create(C, count):
    objs = [None] * count
    rng = range(count)
    t0 = gtm()[0]
    for i in rng:
        objs[i] = C()
    t1 = gtm()[0]
    return t1 - t0, objs


def instances_alloc(C, count):
    keep = [{} for _ in range(200)]          # empty the dict free list
    cal = [create(_nothing, count)[0] for _ in range(3)]
    assert cal[1] == cal[2], cal
    got, objs = create(C, count)
    del keep
    return got - cal[2], objs


def _release(objs):
    rng = range(len(objs))
    t0 = gtm()[0]
    for i in rng:
        objs[i] = None
    t1 = gtm()[0]
    return t0 - t1


def released(objs):
    """Traced bytes freed by dropping every object in objs (each its last
    reference), the free lists filled first."""
    cal = [_release([None] * len(objs)) for _ in range(3)]
    assert cal[1] == cal[2], cal
    fill_freelists()
    return _release(objs) - cal[2]


def _get_attr(o, name):
    """Traced growth while reading o.<name> (name None: read nothing)."""
    t0 = gtm()[0]
    r = getattr(o, name) if name else o
    t1 = gtm()[0]
    return t1 - t0, r


def per_instance(total, count):
    """total / count as an exact decimal (counts are powers of ten)."""
    import decimal
    q = decimal.Decimal(total) / decimal.Decimal(count)
    s = format(q, "f")
    return s.rstrip("0").rstrip(".") if "." in s else s


_CLASSES = []     # every class made stays alive: see measure_class


def measure_class(name, attrs, count):
    """One measurement with two fresh classes.  The creation deltas are
    cross-checked: the same bytes must come back when the instances are
    freed (None if they do not)."""
    R = make_class(name, attrs, False)
    S = make_class(name + "_slots", attrs, True)
    _CLASSES.extend((R, S))
    r_total, robjs = instances_alloc(R, count)
    s_total, sobjs = instances_alloc(S, count)
    r_size = sys.getsizeof(robjs[-1])
    s_size = sys.getsizeof(sobjs[-1])
    s_freed = released(sobjs)
    last = [robjs[-1]]
    robjs[-1] = None
    r_freed = released(robjs)
    keep = [{} for _ in range(200)]          # empty the dict free list
    cal = [_get_attr(last[0], None)[0] for _ in range(3)]
    assert cal[1] == cal[2], cal
    dict_alloc, d = _get_attr(last[0], "__dict__")
    dict_alloc -= cal[2]
    dict_size = sys.getsizeof(d)
    del d, keep
    r_freed += released(last) - dict_alloc   # the __dict__ went with it
    if (r_freed, s_freed) != (r_total, s_total):
        return None
    return (r_size, s_size, r_total, s_total, dict_size, dict_alloc)


def classes_mode(spec):
    """Each line is measured with fresh classes until the creation deltas
    equal the bytes released when the instances are freed (at most 10
    tries).  A few creation windows see an unrelated stray free (some
    45..66-byte object made while a class was built dies during the first
    instances' creation), which makes that delta come out low; releasing
    does not run that code, so the two agree exactly when there was none."""
    gc.disable()
    tracemalloc.start()
    # warm up: specialisation of calls to a class with __init__, type caches
    W = make_class("Warmup", ["a", "b"], False)
    for _ in range(100):
        instances_alloc(W, 3)
    print("\t".join(["attrs", "count", "regular_getsizeof", "slots_getsizeof",
                     "regular_alloc_per_instance", "slots_alloc_per_instance",
                     "regular_alloc_total", "slots_alloc_total",
                     "dict_getsizeof", "dict_alloc", "name"]))
    with open(spec) as f:
        lines = [l.rstrip("\n") for l in f if l.strip() and not l.startswith("#")]
    for line in lines:
        name, count, attrs = line.split("\t")
        count = int(count)
        attrs = [a for a in attrs.split(",") if a]
        if not name.isidentifier() or not all(a.isidentifier() for a in attrs):
            die("bad spec line: %r" % line)
        for attempt in range(10):
            m = measure_class(name, attrs, count)
            if m is not None:
                break
        else:
            die("%s: creation and release never agreed" % name)
        r_size, s_size, r_total, s_total, dict_size, dict_alloc = m
        print("\t".join(str(x) for x in [
            len(attrs), count, r_size, s_size, per_instance(r_total, count),
            per_instance(s_total, count), r_total, s_total, dict_size,
            dict_alloc, name]))


# ---------------------------------------------------------------- main

def main(argv):
    if len(argv) == 1 and argv[0] == "--growth":
        return growth_mode()
    if len(argv) == 2 and argv[0] == "--classes":
        return classes_mode(argv[1])
    forced = None
    if len(argv) == 3 and argv[0] == "--type" and argv[1] in ("int", "float", "str"):
        forced = argv[1]
        argv = argv[2:]
    if len(argv) != 1 or argv[0].startswith("--"):
        die("usage: python-truth.py [--type int|float|str] FILE | --growth | --classes SPEC")
    structures_mode(argv[0], forced)


if __name__ == "__main__":
    main(sys.argv[1:])
