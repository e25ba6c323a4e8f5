#!/usr/bin/python3
"""cyclefind-peers.py — the Python peers of tests/bench/cyclefind.sh.

Run with Debian's /usr/bin/python3 (python3-igraph, python3-networkx).

  igraph FILE          Graph.Read_Ncol + components(mode="strong")
  networkx FILE        nx.read_edgelist(comments=None) + strongly_connected_components
      both print "CYCLIC_SCCS NODES EDGES": strongly connected components
      with more than one node or with a self-loop, and the graph's size
      (networkx: as a DiGraph, duplicate edges once)
  nx-comments FILE [LINES]
      networkx's edge-list reader with its default comments='#' and with
      comments=None on the first LINES lines (default all): prints
      "NODES EDGES NODES EDGES" (default first)
  nx-cycles FILE       nx.simple_cycles, counted: prints the count
  json KEY FILE        the first value of KEY anywhere in cyclefind's JSON
                       output (one document, or one per line)
"""
import json
import re
import sys


def cyclic_igraph(path):
    import igraph as ig

    g = ig.Graph.Read_Ncol(path, names=True, weights=False, directed=True)
    comps = g.connected_components(mode="strong") if hasattr(g, "connected_components") \
        else g.components(mode="strong")
    member = comps.membership
    looped = {member[e.source] for e in g.es.select(_is_loop=True)}
    n = sum(1 for i, s in enumerate(comps.sizes()) if s > 1 or i in looped)
    return n, g.vcount(), g.ecount()


def cyclic_networkx(path):
    import networkx as nx

    g = nx.read_edgelist(path, create_using=nx.DiGraph, comments=None, data=False)
    looped = {u for u, _ in nx.selfloop_edges(g)}
    n = 0
    for comp in nx.strongly_connected_components(g):
        if len(comp) > 1 or next(iter(comp)) in looped:
            n += 1
    return n, g.number_of_nodes(), g.number_of_edges()


def nx_comments(path, limit):
    import itertools
    import networkx as nx

    with open(path, encoding="utf-8") as f:
        lines = list(itertools.islice(f, limit))
    out = []
    for comments in ("#", None):
        g = nx.parse_edgelist(lines, create_using=nx.DiGraph, comments=comments, data=False)
        out += [g.number_of_nodes(), g.number_of_edges()]
    return out


def nx_cycles(path):
    import networkx as nx

    g = nx.read_edgelist(path, create_using=nx.DiGraph, comments=None, data=False)
    return sum(1 for _ in nx.simple_cycles(g))


def find_key(doc, key):
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        doc = list(doc.values())
    if isinstance(doc, list):
        for v in doc:
            r = find_key(v, key)
            if r is not None:
                return r
    return None


def json_key(key, path):
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = []
        for line in text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                docs.append(json.loads(line))
            except ValueError:
                pass
    for d in docs:
        r = find_key(d, key)
        if r is not None:
            return r
    m = re.search(r'"%s"\s*:\s*(-?\d+)' % re.escape(key), text)
    return int(m.group(1)) if m else None


def main(argv):
    if len(argv) >= 2 and argv[0] == "igraph":
        print(*cyclic_igraph(argv[1]))
    elif len(argv) >= 2 and argv[0] == "networkx":
        print(*cyclic_networkx(argv[1]))
    elif len(argv) >= 2 and argv[0] == "nx-comments":
        print(*nx_comments(argv[1], int(argv[2]) if len(argv) > 2 else None))
    elif len(argv) >= 2 and argv[0] == "nx-cycles":
        print(nx_cycles(argv[1]))
    elif len(argv) >= 3 and argv[0] == "json":
        v = json_key(argv[1], argv[2])
        if v is None:
            print("cyclefind-peers.py: no key %s in %s" % (argv[1], argv[2]), file=sys.stderr)
            return 1
        print(v)
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
