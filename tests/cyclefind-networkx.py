#!/usr/bin/env python3
"""cyclefind against networkx, on seeded random graphs.

usage:
  cyclefind-networkx.py write DIR       graphs and networkx's answers into DIR
                                        (committed: tests/fixtures/cyclefind/nx)
  cyclefind-networkx.py compare BIN DIR cyclefind's answers against DIR's
  cyclefind-networkx.py live BIN [N]    N fresh graphs (seeds 1000..), networkx
                                        computing the answers now

What is compared, per graph (edge lists with odd names: '#', quotes,
non-ASCII, '007' beside '7'; duplicates, self-loops, labels):
  - nodes, edges, self-loops, the cyclic SCC partition and its order
    (largest first, then by smallest member in byte order), members sorted;
  - each SCC's chain: a real cycle inside the SCC starting at its smallest
    member, as short as the shortest cycle through that member (networkx BFS);
  - the number of elementary cycles (networkx simple_cycles), also with
    --max-length 3 and, with parallel edges kept apart (--multi), the sum over
    cycles of the product of edge multiplicities (igraph's count);
  - --topo on acyclic graphs: networkx's lexicographical_topological_sort.
Exit status 1 on any difference (each printed), 0 otherwise.
"""
import json
import os
import random
import subprocess
import sys

NAMES = ["a", "b", "Node#1", "Node#12", "0x7f3a10", "007", "7", "x\"y", "caf\u00e9", "\u00fcber",
         "a,b", "a#b", "[1]", "{}", "->", "n-1", "Type#123"]


def name(i, rng):
    if i < len(NAMES) and rng.random() < 0.5:
        return NAMES[i]
    return "v%d" % i if rng.random() < 0.7 else "0x%x" % (0x7f0000 + i * 16)


def make_graph(seed):
    """A graph as a list of (src, dst, label or None) and its node list."""
    rng = random.Random(seed)
    kind = seed % 5
    if kind == 0:        # small dense: many cycles
        n, p = rng.randint(4, 9), rng.uniform(0.3, 0.6)
    elif kind == 1:      # sparse medium: a few SCCs
        n, p = rng.randint(30, 200), None
    elif kind == 2:      # a DAG
        n, p = rng.randint(5, 60), "dag"
    elif kind == 3:      # many small cycles
        n, p = rng.randint(20, 80), "rings"
    else:                # mid dense
        n, p = rng.randint(8, 12), rng.uniform(0.15, 0.3)
    names = []
    seen = set()
    for i in range(n):
        x = name(i, rng)
        while x in seen:
            x += "'"
        seen.add(x)
        names.append(x)
    edges = []
    if isinstance(p, float):
        for i in range(n):
            for j in range(n):
                if rng.random() < p and (i != j or rng.random() < 0.3):
                    edges.append((i, j))
    elif p is None:
        for _ in range(int(n * rng.uniform(1.0, 1.8))):
            edges.append((rng.randrange(n), rng.randrange(n)))
    elif p == "dag":
        for _ in range(n * 2):
            i, j = sorted(rng.sample(range(n), 2))
            edges.append((i, j))
    else:
        i = 0
        while i < n:
            k = min(rng.randint(1, 6), n - i)
            for t in range(k):
                edges.append((i + t, i + (t + 1) % k))
            i += k
        for _ in range(n // 3):
            i, j = sorted(rng.sample(range(n), 2))
            edges.append((i, j))
    # duplicates, some labelled
    for _ in range(rng.randint(0, 3)):
        if edges:
            edges.append(rng.choice(edges))
    rng.shuffle(edges)
    labelled = seed % 3 == 0
    out = []
    for (i, j) in edges:
        lab = rng.choice(["next", "prev", "items[0]", "__dict__"]) if labelled and rng.random() < 0.7 else None
        out.append((names[i], names[j], lab))
    return out


def write_edges(path, edges, seed):
    with open(path, "w", encoding="utf-8") as f:
        f.write("# seed %d\n" % seed)
        for (s, d, lab) in edges:
            f.write("%s %s%s\n" % (s, d, " " + lab if lab else ""))


def key_bytes(s):
    return s.encode("utf-8")


def answers(edges):
    import networkx as nx
    g = nx.DiGraph()
    mult = {}
    for (s, d, _) in edges:
        g.add_edge(s, d)
        mult[(s, d)] = mult.get((s, d), 0) + 1
    sccs = []
    for c in nx.strongly_connected_components(g):
        if len(c) > 1 or any(g.has_edge(v, v) for v in c):
            sccs.append(sorted(c, key=key_bytes))
    sccs.sort(key=lambda m: (-len(m), key_bytes(m[0])))
    shortest = []
    for m in sccs:
        s, ms = m[0], set(m)
        sub = g.subgraph(m)
        if len(m) == 1:
            shortest.append(1)
            continue
        dist = nx.single_source_shortest_path_length(sub, s)
        shortest.append(min(dist[u] + 1 for u in sub.predecessors(s) if u != s and u in ms))
    total = bounded = multi = 0
    for c in nx.simple_cycles(g):
        total += 1
        bounded += len(c) <= 3
        prod = 1
        for i in range(len(c)):
            prod *= mult[(c[i], c[(i + 1) % len(c)])]
        multi += prod
    topo = None
    if nx.is_directed_acyclic_graph(g):
        topo = list(nx.lexicographical_topological_sort(g, key=key_bytes))
    return {
        "nodes": g.number_of_nodes(), "edges": len(edges),
        "self_loops": sum(1 for v in g if g.has_edge(v, v)),
        "sccs": sccs, "shortest": shortest,
        "cycles_total": total, "cycles_max3": bounded, "cycles_multi": multi, "topo": topo,
    }


def run(binary, args, path):
    p = subprocess.run([binary] + args + [path], capture_output=True)
    if p.returncode not in (0, 1):
        raise RuntimeError("%s %s: exit %d: %s" % (binary, " ".join(args), p.returncode, p.stderr.decode()))
    return json.loads(p.stdout), p.returncode


def compare(binary, path, want, edges):
    bad = []
    def check(what, got, exp):
        if got != exp:
            bad.append("%s: %s: cyclefind %r, networkx %r" % (path, what, got, exp))
    got, rc = run(binary, ["-f", "json"], path)
    for k in ("nodes", "edges", "self_loops"):
        check(k, got[k], want[k])
    check("cyclic_sccs", got["cyclic_sccs"], len(want["sccs"]))
    check("nodes_in_cycles", got["nodes_in_cycles"], sum(len(m) for m in want["sccs"]))
    check("largest_scc", got["largest_scc"], max([len(m) for m in want["sccs"]] or [0]))
    check("exit status", rc, 1 if want["sccs"] else 0)
    check("SCC members", [s["members"] for s in got["sccs"]], want["sccs"])
    es = {(s, d) for (s, d, _) in edges}
    for s, m, short in zip(got["sccs"], want["sccs"], want["shortest"]):
        c = s["cycle"]
        ok = (len(c) >= 2 and c[0] == c[-1] == m[0] and all((c[i], c[i + 1]) in es for i in range(len(c) - 1))
              and set(c) <= set(m) and len(c) - 1 == short)
        if not ok:
            bad.append("%s: chain %r is not a shortest cycle through %r (length %d)" % (path, c, m[0], short))
    got, _ = run(binary, ["--all-cycles", "--count", "-f", "json"], path)
    check("cycles_total", got["cycles_total"], want["cycles_total"])
    got, _ = run(binary, ["--all-cycles", "--max-length", "3", "--count", "-f", "json"], path)
    check("cycles_total --max-length 3", got["cycles_total"], want["cycles_max3"])
    got, _ = run(binary, ["--all-cycles", "--multi", "--count", "-f", "json"], path)
    check("cycles_total --multi", got["cycles_total"], want["cycles_multi"])
    got, rc = run(binary, ["--topo", "-f", "json"], path)
    check("--topo order", got["order"], want["topo"])
    return bad


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "write":
        d = sys.argv[2]
        os.makedirs(d, exist_ok=True)
        for seed in range(1, 31):
            edges = make_graph(seed)
            write_edges(os.path.join(d, "g%02d.txt" % seed), edges, seed)
            with open(os.path.join(d, "g%02d.json" % seed), "w", encoding="utf-8") as f:
                json.dump(answers(edges), f, ensure_ascii=False, sort_keys=True)
                f.write("\n")
        return 0
    if len(sys.argv) >= 4 and sys.argv[1] == "compare":
        binary, d = sys.argv[2], sys.argv[3]
        bad, n = [], 0
        for f in sorted(os.listdir(d)):
            if not f.endswith(".txt"):
                continue
            path = os.path.join(d, f)
            with open(path[:-4] + ".json", encoding="utf-8") as j:
                want = json.load(j)
            with open(path, encoding="utf-8") as e:
                edges = [tuple(l.split(None, 2) + [None])[:3] for l in e.read().splitlines()
                         if l and not l.startswith("#")]
            bad += compare(binary, path, want, edges)
            n += 1
        print("\n".join(bad) if bad else "%d graphs agree with networkx" % n)
        return 1 if bad else 0
    if len(sys.argv) >= 3 and sys.argv[1] == "live":
        import tempfile
        binary, count = sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 50
        bad = []
        with tempfile.TemporaryDirectory() as d:
            for seed in range(1000, 1000 + count):
                edges = make_graph(seed)
                path = os.path.join(d, "g%d.txt" % seed)
                write_edges(path, edges, seed)
                bad += compare(binary, path, answers(edges), edges)
        print("\n".join(bad) if bad else "%d fresh graphs agree with networkx" % count)
        return 1 if bad else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
