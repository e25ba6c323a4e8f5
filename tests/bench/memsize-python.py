"""memsize-python.py FILE — what a Python user would run instead of memsize:
read the integers, build every structure memsize models and sum getsizeof
of the container and of each element object once (by id; the shared small
ints count 0). Prints "structure<TAB>shallow<TAB>deep" per structure, in
memsize's order, for tests/bench/memsize.sh to compare and time."""
import array
import sys


def main(path):
    with open(path, "rb") as f:
        values = [int(line) for line in f]
    small = lambda o: type(o) is int and -5 <= o <= 256

    def deep(container, elems):
        seen = set()
        total = sys.getsizeof(container)
        for o in elems:
            if id(o) in seen or small(o):
                continue
            seen.add(id(o))
            total += sys.getsizeof(o)
        return total

    appended = []
    for v in values:
        appended.append(v)
    lo, hi = min(values, default=0), max(values, default=0)
    tc = next(t for t, a, b in (("b", -2**7, 2**7 - 1), ("B", 0, 2**8 - 1), ("h", -2**15, 2**15 - 1),
                                ("H", 0, 2**16 - 1), ("i", -2**31, 2**31 - 1), ("I", 0, 2**32 - 1),
                                ("l", -2**63, 2**63 - 1), ("L", 0, 2**64 - 1)) if a <= lo and hi <= b)
    rows = []
    lst = list(values)
    rows.append(("list", sys.getsizeof(lst), deep(lst, lst)))
    rows.append(("list-append", sys.getsizeof(appended), deep(appended, appended)))
    tup = tuple(values)
    rows.append(("tuple", sys.getsizeof(tup), deep(tup, tup)))
    del lst, appended, tup
    s = set(values)
    rows.append(("set", sys.getsizeof(s), deep(s, s)))
    del s
    fs = frozenset(values)
    rows.append(("frozenset", sys.getsizeof(fs), deep(fs, fs)))
    del fs
    d = dict.fromkeys(values)
    rows.append(("dict", sys.getsizeof(d), deep(d, d)))
    del d
    a = array.array(tc, values)
    rows.append(("array", sys.getsizeof(a), sys.getsizeof(a)))
    for r in rows:
        print("%s\t%d\t%d" % r)


if __name__ == "__main__":
    main(sys.argv[1])
