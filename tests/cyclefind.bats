#!/usr/bin/env bats
# cyclefind end to end: exact components, chains, cycle counts, orders,
# breaking sets and exit codes on hand-checkable graphs; the networkx
# answers committed in tests/fixtures/cyclefind/nx (made by
# tests/cyclefind-networkx.py); every way input can be bad.

bats_require_minimum_version 1.5.0
load helpers

CF=$FIX/cyclefind

# A -next-> B -next-> C -parent-> A, a self-loop on D, E <-> F, a repeated
# A -> B with another label, and G -> A hanging off the big cycle.
graph() {
    printf '%s\n' '# test graph' 'A B next' 'B C next' 'C A parent' 'D D' 'E F' 'F E' 'A B other' 'G A'
}

@test "components, chains and summary as text; exit 1 when a cycle exists" {
    graph > g.txt
    run cyclefind g.txt
    assert_failure 1
    assert_output "$(cat <<'EOF'
7 nodes, 8 edges (1 repeats an earlier one), 1 self-loop
3 cyclic components, 6 nodes in cycles, largest 3

component 1: 3 nodes
  members: A B C
  cycle:   A -[next]-> B -[next]-> C -[parent]-> A

component 2: 2 nodes
  members: E F
  cycle:   E -> F -> E

component 3: 1 node
  members: D
  cycle:   D -> D
EOF
)"
}

@test "JSON carries the interface keys with exact values" {
    graph > g.txt
    run cyclefind -f json g.txt
    assert_failure 1
    assert_output '{"nodes":7,"edges":8,"duplicate_edges":1,"self_loops":1,"cyclic_sccs":3,"nodes_in_cycles":6,"largest_scc":3,"sccs":[{"scc":1,"size":3,"members":["A","B","C"],"cycle":["A","B","C","A"],"labels":["next","next","parent"]},{"scc":2,"size":2,"members":["E","F"],"cycle":["E","F","E"],"labels":[null,null]},{"scc":3,"size":1,"members":["D"],"cycle":["D","D"],"labels":[null]}]}'
}

@test "an acyclic graph: no cycles, exit 0, in every format" {
    printf 'a b\nb c\na c\n' > dag.txt
    run cyclefind dag.txt
    assert_success
    assert_output "$(printf '3 nodes, 3 edges, 0 self-loops\nno cycles')"
    run cyclefind -f json dag.txt
    assert_success
    assert_output '{"nodes":3,"edges":3,"duplicate_edges":0,"self_loops":0,"cyclic_sccs":0,"nodes_in_cycles":0,"largest_scc":0,"sccs":[]}'
    run cyclefind -f tsv dag.txt
    assert_success
    assert_output "$(printf 'scc\tsize\tcycle_length\tcycle\tmembers')"
}

@test "empty input, a single self-loop, comments only" {
    run cyclefind -f json /dev/null
    assert_success
    assert_output '{"nodes":0,"edges":0,"duplicate_edges":0,"self_loops":0,"cyclic_sccs":0,"nodes_in_cycles":0,"largest_scc":0,"sccs":[]}'
    printf '# nothing\n\n   \n# at all\n' | cyclefind -f json > out || true
    run cat out
    assert_output '{"nodes":0,"edges":0,"duplicate_edges":0,"self_loops":0,"cyclic_sccs":0,"nodes_in_cycles":0,"largest_scc":0,"sccs":[]}'
    run cyclefind -f json <<<'x x'
    assert_failure 1
    assert_output '{"nodes":1,"edges":1,"duplicate_edges":0,"self_loops":1,"cyclic_sccs":1,"nodes_in_cycles":1,"largest_scc":1,"sccs":[{"scc":1,"size":1,"members":["x"],"cycle":["x","x"],"labels":[null]}]}'
}

@test "names are strings: 007 is not 7, # inside a name is kept, odd bytes pass" {
    printf '007 7\n7 Node#1\nNode#1 007\nNode#12 caf\xc3\xa9 \t field [3] \ncaf\xc3\xa9 Node#12\n' > odd.txt
    run cyclefind -f json odd.txt
    assert_failure 1
    assert_output '{"nodes":5,"edges":5,"duplicate_edges":0,"self_loops":0,"cyclic_sccs":2,"nodes_in_cycles":5,"largest_scc":3,"sccs":[{"scc":1,"size":3,"members":["007","7","Node#1"],"cycle":["007","7","Node#1","007"],"labels":[null,null,null]},{"scc":2,"size":2,"members":["Node#12","café"],"cycle":["Node#12","café","Node#12"],"labels":["field [3]",null]}]}'
}

@test "members come in byte order, as LC_ALL=C sort puts them, however long the shared prefix" {
    # 3000 names sharing 24 bytes, some prefixes of others, a few with
    # bytes over 127; one ring through all of them in shuffled order.
    { for i in $(seq 1 1000); do
        echo "object_with_a_long_name_$((i * 7919 % 1000))"
        echo "object_with_a_long_name_$((i * 7919 % 1000))_x"
        echo "object_with_a_long_name_$((i * 104729 % 1000))é"
      done; } | sort -u | shuf --random-source=<(yes) > names
    paste -d' ' names <(tail -n +2 names; head -1 names) > ring.txt
    run cyclefind -f tsv ring.txt
    assert_failure 1
    [ "$(cut -f5 <<<"${lines[1]}" | tr ' ' '\n')" = "$(LC_ALL=C sort names)" ]
}

@test "the same graph with its lines in another order gives the same output" {
    for f in "$CF"/nx/g0*.txt; do
        cyclefind --all-cycles --break -f json "$f" > a.json || true
        grep -v '^#' "$f" | tac | cyclefind --all-cycles --break -f json > b.json || true
        grep -v '^#' "$f" | sort -r | cyclefind --all-cycles --break -f json > c.json || true
        cmp a.json b.json
        cmp a.json c.json
    done
}

@test "a graph split over several files, compressed or not, is one graph" {
    graph | head -4 > part1.txt
    graph | tail -n +5 | zstd -q > part2.zst
    graph | gzip > whole.gz
    run cyclefind -f json part1.txt part2.zst
    assert_failure 1
    first=$output
    run cyclefind -f json whole.gz
    assert_failure 1
    assert_output "$first"
}

@test "DOT: quoted ids with escapes, attributes, chains, subgraphs, ports, comments" {
    run cyclefind -f json "$CF/objects.dot"
    assert_failure 1
    assert_output '{"nodes":14,"edges":13,"duplicate_edges":0,"self_loops":0,"cyclic_sccs":3,"nodes_in_cycles":9,"largest_scc":4,"sccs":[{"scc":1,"size":4,"members":["Cache \"main\"","Entry_7","Session#1","buf:2"],"cycle":["Cache \"main\"","Entry_7","Session#1","Cache \"main\""],"labels":["owner","owner","cache"]},{"scc":2,"size":3,"members":["-3.5","42","multi\nline"],"cycle":["-3.5","multi\nline","42","-3.5"],"labels":[null,null,null]},{"scc":3,"size":2,"members":["a1","a2"],"cycle":["a1","a2","a1"],"labels":[null,null]}]}'
    # every node and edge, including the isolated ones, came through
    run cyclefind --topo -f json "$CF/objects.dot"
    assert_failure 1
    assert_output --partial '"acyclic":false,"order":null'
}

@test "DOT output renders with Graphviz and reads back as the same graph" {
    command -v dot > /dev/null || skip "graphviz not installed"
    run cyclefind -f dot "$CF/objects.dot"
    assert_failure 1
    assert_line '  "Entry_7" -> "Session#1" [label="owner", color="#cc3333", penwidth=2];'
    assert_line '  subgraph cluster_1 {'
    cyclefind -f dot "$CF/objects.dot" > c.dot || true
    dot -Tsvg c.dot > c.svg
    grep -q '<svg' c.svg
    # --context keeps every edge: read back, the same components
    cyclefind -f dot --context "$CF/objects.dot" > all.dot || true
    dot -Tsvg all.dot > all.svg
    cyclefind -f json "$CF/objects.dot" > a.json || true
    cyclefind -f json all.dot > b.json || true
    cmp a.json b.json
}

@test "--all-cycles: every elementary cycle, as chains and counts; --limit and --max-length" {
    # K4 with every edge both ways has 20 directed elementary cycles:
    # 6 of length 2, 8 of length 3, 6 of length 4.
    for a in 1 2 3 4; do for b in 1 2 3 4; do [ $a != $b ] && echo "n$a n$b"; done; done > k4.txt
    run cyclefind --all-cycles --count -f json k4.txt
    assert_failure 1
    assert_output --partial '"cycles_total":20,"truncated":false}'
    run cyclefind --all-cycles --max-length 2 --count -f json k4.txt
    assert_output --partial '"cycles_total":6,"truncated":false}'
    run cyclefind --all-cycles --max-length 3 --count -f json k4.txt
    assert_output --partial '"cycles_total":14,"truncated":false}'
    run cyclefind --all-cycles --limit 5 -f json k4.txt
    assert_failure 1
    assert_output --partial '"cycles":[["n1","n2","n1"],["n1","n2","n3","n1"],["n1","n2","n3","n4","n1"],["n1","n2","n4","n1"],["n1","n2","n4","n3","n1"]],"cycles_total":5,"truncated":true}'
    run cyclefind --all-cycles --limit 2 k4.txt
    assert_line '  n1 -> n2 -> n1'
    assert_line '  n1 -> n2 -> n3 -> n1'
    assert_line '2 elementary cycles (stopped at --limit; there are more)'
    run cyclefind --all-cycles -f tsv --limit 1 k4.txt
    assert_output "$(printf 'cycle\tlength\tchain\n1\t2\tn1 -> n2 -> n1')"
}

@test "--multi counts each parallel edge as its own cycle, with its label" {
    graph > g.txt
    run cyclefind --all-cycles -f ndjson g.txt
    assert_failure 1
    assert_line '{"cycle":["A","B","C","A"],"labels":["next","next","parent"]}'
    assert_line '{"cycles_total":3,"truncated":false}'
    run cyclefind --all-cycles --multi -f ndjson g.txt
    assert_line '{"cycle":["A","B","C","A"],"labels":["next","next","parent"]}'
    assert_line '{"cycle":["A","B","C","A"],"labels":["other","next","parent"]}'
    assert_line '{"cycles_total":4,"truncated":false}'
    printf 'a b\na b\nb a\nc c\nc c\n' > p.txt
    run cyclefind --multi -f json p.txt
    assert_output --partial '"edges":5,"duplicate_edges":2,"self_loops":2,'
    run cyclefind -f json p.txt
    assert_output --partial '"edges":5,"duplicate_edges":2,"self_loops":1,'
}

@test "--from: only cycles reachable from the node, its own chain through it" {
    graph > g.txt
    run cyclefind --from G -f json g.txt
    assert_failure 1
    assert_output --partial '"cyclic_sccs":1,"nodes_in_cycles":3,"largest_scc":3,"sccs":[{"scc":1,"size":3,"members":["A","B","C"],"cycle":["A","B","C","A"]'
    run cyclefind --from F -f json g.txt
    assert_output --partial '"cycle":["F","E","F"]'
    run cyclefind --from C -f json g.txt
    assert_output --partial '"cycle":["C","A","B","C"],"labels":["parent","next","next"]'
    printf 'x y\ny z\n' >> g.txt
    run cyclefind --from x g.txt
    assert_success
    assert_line 'no cycles reachable from --from'
    run cyclefind --from nope g.txt
    assert_failure 2
    assert_output "cyclefind: unknown node 'nope' (--from)"
    run cyclefind --from a g.txt
    assert_failure 2
    assert_output "cyclefind: unknown node 'a' (--from); did you mean 'A'?"
}

@test "--roots: cycles reachable from the roots and cyclic garbage" {
    graph > g.txt
    printf '# roots\n  G  \nnot-there\n' > roots.txt
    run cyclefind --roots @roots.txt -f json g.txt
    assert_failure 1
    assert_output --partial '"roots":2,"garbage_sccs":2,"garbage_nodes":3,'
    assert_output --partial '{"scc":1,"size":3,"members":["A","B","C"],"cycle":["A","B","C","A"],"labels":["next","next","parent"],"reachable":true}'
    assert_output --partial '"members":["E","F"],"cycle":["E","F","E"],"labels":[null,null],"reachable":false}'
    run --separate-stderr cyclefind --roots @roots.txt --roots F g.txt
    assert_line 'cyclic garbage: 1 component, 1 node unreachable from 3 roots'
    assert_line 'component 3: 1 node, cyclic garbage (unreachable from the roots)'
    [ "$stderr" = "cyclefind: roots.txt: 1 root is not a node of the graph" ]
}

@test "--topo: the unique smallest-first order of a DAG; the cycles and exit 1 otherwise" {
    printf 'shirt tie\ntie jacket\npants shoes\npants belt\nbelt jacket\nshirt belt\nsocks shoes\nundershorts pants\nundershorts shoes\n' > dress.txt
    run cyclefind --topo dress.txt
    assert_success
    assert_output "$(printf '%s\n' shirt socks tie undershorts pants belt jacket shoes | head -c -1)"
    run cyclefind --topo -f tsv dress.txt
    assert_line --index 0 "$(printf 'position\tnode')"
    assert_line --index 1 "$(printf '1\tshirt')"
    graph > g.txt
    run --separate-stderr cyclefind --topo g.txt
    assert_failure 1
    [ "$stderr" = "cyclefind: no topological order: the graph has 3 cyclic components (listed instead)" ]
    assert_line '  cycle:   A -[next]-> B -[next]-> C -[parent]-> A'
}

@test "--break: the edges to make weak leave no cycle behind" {
    graph > g.txt
    run cyclefind --break -f json g.txt
    assert_output --partial '"break":[{"src":"C","dst":"A","label":"parent"}]'
    assert_output --partial '"break":[{"src":"F","dst":"E","label":null}]'
    assert_output --partial '"break":[{"src":"D","dst":"D","label":null}]'
    run cyclefind --break g.txt
    assert_line '  break:   make this reference weak:'
    assert_line '           C -[parent]-> A'
    # On every committed graph: removing the set leaves the graph acyclic,
    # and the set is minimal (each edge put back closes a cycle).
    for f in "$CF"/nx/g*.txt; do
        cyclefind --break -f json "$f" > b.json || true
        python3 - "$f" b.json <<'EOF'
import json, sys
edges = [l.split(None, 2)[:2] for l in open(sys.argv[1], encoding="utf-8") if l.strip() and not l.startswith("#")]
cut = [(b["src"], b["dst"]) for s in json.load(open(sys.argv[2], encoding="utf-8"))["sccs"] for b in s["break"]]
def cyclic(es):
    succ = {}
    for s, d in es:
        succ.setdefault(s, set()).add(d)
    color = {}
    for r in succ:
        if r in color:
            continue
        stack = [(r, iter(succ.get(r, ())))]
        color[r] = 1
        while stack:
            v, it = stack[-1]
            w = next(it, None)
            if w is None:
                color[v] = 2
                stack.pop()
            elif color.get(w) == 1:
                return True
            elif w not in color:
                color[w] = 1
                stack.append((w, iter(succ.get(w, ()))))
    return False
rest = [e for e in edges if tuple(e) not in set(cut)]
assert not cyclic(rest), "cycles remain in " + sys.argv[1]
for c in set(cut):
    assert cyclic(rest + [list(c)]), "%s: %r is not needed" % (sys.argv[1], c)
EOF
    done
}

@test "tsv and csv: one row per component, chains and members quoted as needed" {
    graph > g.txt
    run cyclefind -f tsv --roots G --break g.txt
    assert_failure 1
    assert_line --index 0 "$(printf 'scc\tsize\tcycle_length\tcycle\tmembers\treachable\tbreak')"
    assert_line --index 1 "$(printf '1\t3\t3\tA -[next]-> B -[next]-> C -[parent]-> A\tA B C\tyes\tC -[parent]-> A')"
    run cyclefind -f csv g.txt
    assert_line --index 2 '2,2,2,E -> F -> E,E F'
    printf '"q,1" b\nb "q,1"\n' > q.txt
    run cyclefind -f csv q.txt
    assert_line --index 1 '1,2,2,"""q,1"" -> b -> ""q,1""","""q,1"" b"'
}

@test "text lists at most --members members, then how many more" {
    seq 1 30 | awk '{ printf "m%02d m%02d\n", $1, $1 % 30 + 1 }' > ring.txt
    run cyclefind ring.txt
    assert_line '  members: m01 m02 m03 m04 m05 m06 m07 m08 m09 m10 m11 m12 m13 m14 m15 m16 m17 m18 m19 m20 ... and 10 more (--members 0 lists all)'
    run cyclefind --members 3 ring.txt
    assert_line '  members: m01 m02 m03 ... and 27 more (--members 0 lists all)'
    run cyclefind --members 0 ring.txt
    assert_line --partial 'm29 m30'
}

@test "agrees with networkx on 30 committed random graphs" {
    run python3 "$ROOT/tests/cyclefind-networkx.py" compare "$MK_BUILD/bin/cyclefind" "$CF/nx"
    assert_success
    assert_output "30 graphs agree with networkx"
}

@test "agrees with networkx with the cyclic core frozen alone, and with the whole graph" {
    CYCLEFIND_CORE=always run python3 "$ROOT/tests/cyclefind-networkx.py" compare "$MK_BUILD/bin/cyclefind" "$CF/nx"
    assert_success
    assert_output "30 graphs agree with networkx"
    CYCLEFIND_CORE=never run python3 "$ROOT/tests/cyclefind-networkx.py" compare "$MK_BUILD/bin/cyclefind" "$CF/nx"
    assert_success
    assert_output "30 graphs agree with networkx"
}

@test "the cyclic core alone prints the same bytes as the whole graph, in every report about cycles" {
    graph > g.txt
    # A forest of 3000 nodes with the test graph's cycles and a ring of
    # 40 hanging in it: mostly leaves, so the core is chosen by itself.
    { graph; for i in $(seq 1000); do echo "r$i c$i child"; echo "c$i l$i leaf"; echo "r$i A up"; done
      for i in $(seq 40); do echo "ring$i ring$(( i % 40 + 1 )) next"; echo "ring$i x$i"; done; } > forest.txt
    for f in g.txt forest.txt "$CF"/objects.dot "$CF"/nx/g0*.txt; do
        for opts in "" "-f json" "-f tsv" "-f ndjson" "--break -f json" "--multi -f json" "--all-cycles -f json" \
                    "--all-cycles --max-length 3 -f csv" "-f dot" "--members 2"; do
            CYCLEFIND_CORE=never cyclefind $opts "$f" > whole.out 2> whole.err && rw=0 || rw=$?
            CYCLEFIND_CORE=always cyclefind $opts "$f" > core.out 2> core.err && rc=0 || rc=$?
            [ "$rw" = "$rc" ] || { echo "$f $opts: exit $rw vs $rc"; false; }
            cmp whole.out core.out || { echo "$f $opts"; diff whole.out core.out | head; false; }
            cmp whole.err core.err
        done
    done
    CYCLEFIND_CORE=auto run --separate-stderr cyclefind --stats -f json forest.txt
    assert_failure 1
    [[ "$stderr" == *"stats: 3087 nodes, 3087 adjacency entries, 3045 components (4 cyclic)"* ]]
    [[ "$stderr" == *"cyclic core frozen alone: 46 nodes, 46 adjacency entries"* ]]
    # A graph without leaves or roots (one ring) is frozen whole.
    for i in $(seq 10); do echo "n$i n$(( i % 10 + 1 ))"; done > ring.txt
    CYCLEFIND_CORE=auto run --separate-stderr cyclefind --stats ring.txt
    assert_failure 1
    [[ "$stderr" == *"stats: 10 nodes, 10 adjacency entries, 1 components (1 cyclic)"* ]]
    [[ "$stderr" != *"frozen alone"* ]]
    CYCLEFIND_CORE=sometimes run --separate-stderr cyclefind g.txt
    assert_failure 2
    [ "$stderr" = "cyclefind: CYCLEFIND_CORE must be auto, always or never, not 'sometimes'" ]
}

@test "agrees with networkx on fresh random graphs (when networkx is here)" {
    /usr/bin/python3 -c 'import networkx' 2> /dev/null || skip "python3-networkx not installed"
    run /usr/bin/python3 "$ROOT/tests/cyclefind-networkx.py" live "$MK_BUILD/bin/cyclefind" 15
    assert_success
    assert_output "15 fresh graphs agree with networkx"
}

@test "a 200000-node path and ring: no recursion, exit 0 and 1" {
    seq 1 199999 | awk '{ print $1, $1 + 1 }' > path.txt
    run cyclefind -f json path.txt
    assert_success
    assert_output --partial '"nodes":200000,"edges":199999,'
    echo "200000 1" >> path.txt
    run cyclefind -f json --members 0 path.txt
    assert_failure 1
    assert_output --partial '"cyclic_sccs":1,"nodes_in_cycles":200000,"largest_scc":200000,'
    run cyclefind --topo -q path.txt
    assert_failure 1
}

@test "bad input: file:line, one line on stderr, exit 2" {
    printf 'a b\nlonely\n' > one.txt
    run --separate-stderr cyclefind one.txt
    assert_failure 2
    [ "$stderr" = "cyclefind: one.txt:2: an edge needs a source and a target node, found one word 'lonely'" ]
    run --separate-stderr cyclefind --lenient one.txt
    assert_success
    [ "$stderr" = "cyclefind: skipped 1 malformed line (--lenient)" ]
    printf 'digraph {\n a -> b\n c -> ;\n}\n' > syn.dot
    run --separate-stderr cyclefind syn.dot
    assert_failure 2
    [ "$stderr" = "cyclefind: syn.dot:3: DOT syntax error: expected a node id, found ';'" ]
    printf 'digraph {\n a -> "b\n\n' > q.dot
    run --separate-stderr cyclefind q.dot
    assert_failure 2
    [ "$stderr" = "cyclefind: q.dot:2: unterminated quoted string" ]
    printf 'digraph {\n a -> b\n' > open.dot
    run --separate-stderr cyclefind open.dot
    [ "$stderr" = "cyclefind: open.dot:3: DOT syntax error: expected '}', found 'end of input'" ]
    printf '/* x */ digraph {\n a -> b /* open\n' > c.dot
    run --separate-stderr cyclefind c.dot
    [ "$stderr" = "cyclefind: c.dot:2: unterminated /* comment" ]
    printf 'graph { a -- b }\n' > u.dot
    run --separate-stderr cyclefind u.dot
    assert_failure 2
    [ "$stderr" = "cyclefind: u.dot:1: an undirected graph ('graph'): cyclefind reads digraphs" ]
    printf 'digraph {\n a -> b\n a -- c }\n' > d.dot
    run --separate-stderr cyclefind d.dot
    [ "$stderr" = "cyclefind: d.dot:3: DOT syntax error: '--' in a digraph (use '->')" ]
    printf 'digraph { a -> b } x\n' > trail.dot
    run --separate-stderr cyclefind trail.dot
    assert_failure 2
    [ "$stderr" = "cyclefind: trail.dot:1: DOT syntax error: expected 'digraph', found 'x'" ]
}

@test "binary junk, huge lines, truncated and corrupt zstd and gzip: exit 2" {
    printf 'a b\n\0\0\1junk\n' > junk
    run --separate-stderr cyclefind junk
    assert_failure 2
    [ "$stderr" = "cyclefind: junk:2: NUL byte in text input (binary file?)" ]
    { echo "a b"; head -c 2000000 /dev/zero | tr '\0' x; echo " y"; } > huge.txt
    run --separate-stderr cyclefind huge.txt
    assert_failure 2
    [[ "$stderr" == "cyclefind: huge.txt:2: line longer than"* ]]
    seq 1 20000 | awk '{ print "n" $1, "n" $1 + 1 }' | zstd -q > g.zst
    head -c 3000 g.zst > cut.zst
    run --separate-stderr cyclefind cut.zst
    assert_failure 2
    [[ "$stderr" == "cyclefind: cut.zst: truncated zstd stream at byte"* ]]
    cp g.zst bad.zst
    flip_byte bad.zst 2000
    run --separate-stderr cyclefind bad.zst
    assert_failure 2
    [[ "$stderr" == "cyclefind: bad.zst: "* ]]
    seq 1 20000 | awk '{ print "n" $1, "n" $1 + 1 }' | gzip > g.gz
    head -c 3000 g.gz > cut.gz
    run --separate-stderr cyclefind cut.gz
    assert_failure 2
    [[ "$stderr" == "cyclefind: cut.gz: truncated gzip stream"* ]]
    printf 'digraph { a -> b; "c\0" -> d }' > nul.dot
    run --separate-stderr cyclefind nul.dot
    assert_failure 2
}

@test "usage errors: unknown option, bad value, options that need others, bad config" {
    run --separate-stderr cyclefind --bogus
    assert_failure 2
    [ "$stderr" = "$(printf "cyclefind: unknown option '--bogus'\nTry 'cyclefind --help' for more information.")" ]
    run --separate-stderr cyclefind -f xml /dev/null
    assert_failure 2
    [[ "$stderr" == "cyclefind: option --format (-f): expected one of text|tsv|csv|json|ndjson|dot, found 'xml'"* ]]
    run --separate-stderr cyclefind --limit 3 /dev/null
    assert_failure 2
    [[ "$stderr" == "cyclefind: --max-length, --limit and --count go with --all-cycles"* ]]
    run --separate-stderr cyclefind --context /dev/null
    assert_failure 2
    run --separate-stderr cyclefind no-such-file
    assert_failure 2
    [[ "$stderr" == "cyclefind: no-such-file: "* ]]
    printf 'all-cycles: [\n' > bad.yaml
    run --separate-stderr cyclefind -c bad.yaml /dev/null
    assert_failure 2
    [[ "$stderr" == "cyclefind: bad.yaml:"* ]]
    printf 'all-cycles: true\nlimit: 1\nformat: json\n' > ok.yaml
    run cyclefind -c ok.yaml "$CF/nx/g05.txt"
    assert_failure 1
    assert_output --partial '"cycles_total":1,"truncated":true}'
}

@test "--stats reports phases, nodes and memory on stderr" {
    graph > g.txt
    run --separate-stderr cyclefind --stats -q g.txt
    assert_failure 1
    [[ "$stderr" == *"cyclefind: stats: 7 nodes, 7 adjacency entries, 4 components (3 cyclic)"* ]]
    [[ "$stderr" == *"cyclefind: stats: read "*" s, sort and index "*" s, components "*" s, report "*" s"* ]]
}
