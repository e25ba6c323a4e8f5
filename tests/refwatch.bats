#!/usr/bin/env bats
# refwatch end to end: exact summaries, histories, callback orders, graphs
# and exit codes on hand-checkable logs; the fixtures from real programs
# (tests/fixtures/refwatch: a C program through reflog.h, CPython 3.11, an
# XPCOM log, a Gallium log), a fresh run of the C program; and every way
# input can be bad.

bats_require_minimum_version 1.5.0
load helpers

RW=$FIX/refwatch

# A session leaks through a cache reference, a widget is released once too
# often, a buffer is freed while referenced and has three weak references
# (one filtered out by type), one of which is dereferenced after death, a
# name never created is referenced.
mixed() {
    cat <<'EOF'
#memkit refs v1
# a session leaks, a widget is over-released
new 0x1 type=Session site=login
ref 0x1 from=main site=cache_put
new 0x2 type=Widget site=ui
unref 0x2 site=ui_close
unref 0x2 site=ui_close
new 0x3 type=Buffer site=load
weak w1 0x3 cb=on_buf prio=5
weak w2 0x3 cb=log_buf
weak w3 0x3 cb=hi prio=9 filter=Session
free 0x3
deref w1
ref 0x2
ref 0x9
EOF
}

@test "summary: objects by type with the sites never released, errors with file:line, weak refs; exit 1" {
    mixed > m.log
    run refwatch m.log
    assert_failure 1
    assert_output "$(cat <<'EOF'
13 events: 3 objects created, 2 died, 1 live; 3 unbalanced, 5 errors

unbalanced objects by type:
  Buffer   1 object, 1 reference never released
         1  load
  Session  1 object, 2 references never released
         1  login
         1  cache_put
  Widget   1 object, 0 references never released, 1 over-released

unbalanced objects:
  0x2 (Widget) count -1, went below 0 at m.log:7
  0x3 (Buffer) count 1, died at m.log:12
  0x1 (Session) count 2, live at the end

errors:
  m.log:7: over-release: unref 0x2 (Widget) at count 0
  m.log:12: free-while-referenced: free 0x3 (Buffer) at count 1
  m.log:13: dead-weak-deref: deref w1: 0x3 (Buffer) is dead
  m.log:14: use-after-free: ref 0x2 (Widget) after it died
  m.log:15: unknown-object: ref 0x9: never created (or died more than --quarantine objects ago)

weak references: 3 made, 3 died with their object, 2 callbacks fired (1 filtered out), 1 dead deref, 0 cleaned up with their holder, 0 live
EOF
)"
}

@test "a balanced log is clean: exit 0; free after the count reached 0 is the normal end" {
    printf '%s\n' 'new a type=T' 'ref a from=b' 'unref a from=b' 'unref a' 'free a' 'new b' 'unref b' 'free b' > ok.log
    run refwatch ok.log
    assert_success
    assert_output "8 events: 2 objects created, 2 died, 0 live; 0 unbalanced, 0 errors"
}

@test "json: the interface keys and values" {
    mixed > m.log
    run refwatch -f json m.log
    assert_failure 1
    echo "$output" > out.json
    run python3 - out.json <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
print(d["created"], d["freed"], d["live"])
for u in d["unbalanced"]:
    print("U", u["obj"], u["type"], u["count"], u["live"], u["went_negative"], u["line"],
          ";".join(f'{s["site"]}={s["refs"]}' for s in u["sites"]))
for e in d["errors"]:
    print("E", e["line"], e["kind"], e["obj"], e.get("weak"))
for w in d["dead_weak_derefs"]:
    print("W", w["line"], w["weak"], w["obj"])
print("weak", d["weak"]["made"], d["weak"]["fired"], d["weak"]["filtered"])
print("counts", d["counts"]["over-release"], d["counts"]["unknown-object"])
EOF
    assert_success
    assert_output "$(cat <<'EOF'
3 2 1
U 0x2 Widget -1 False True 7 
U 0x3 Buffer 1 False False 12 load=1
U 0x1 Session 2 True False None login=1;cache_put=1
E 7 over-release 0x2 None
E 12 free-while-referenced 0x3 None
E 13 dead-weak-deref 0x3 w1
E 14 use-after-free 0x2 None
E 15 unknown-object 0x9 None
W 13 w1 0x3
weak 3 2 1
counts 1 1
EOF
)"
}

@test "every kind of error, each at its line" {
    cat > k.log <<'EOF'
new A type=Node
new B type=Node
ref A from=B site=b_holds_a
ref B from=A site=a_holds_b
unref A site=main_drop
unref B site=main_drop
new C type=Leaf
free C
free C
ref C
new D type=Leaf
ref D from=A
free D
unref D from=A
new E
unref E
unref E
deref nosuch
EOF
    run refwatch -f tsv k.log
    assert_failure 1
    assert_output "$(printf '%s\n' \
        'kind	file	line	obj	type	count	weak	sites' \
        'unbalanced-freed	k.log	8	C	Leaf	1		1 (no site)' \
        'unbalanced-freed	k.log	13	D	Leaf	2		2 (no site)' \
        'unbalanced-freed	k.log	17	E		-1		' \
        'unbalanced-live			A	Node	1		1 b_holds_a' \
        'unbalanced-live			B	Node	1		1 a_holds_b' \
        'free-while-referenced	k.log	8	C	Leaf	1		' \
        'double-free	k.log	9	C	Leaf	1		' \
        'use-after-free	k.log	10	C	Leaf	1		' \
        'free-while-referenced	k.log	13	D	Leaf	2		' \
        'use-after-free	k.log	14	D	Leaf	2		' \
        'over-release	k.log	17	E		0		' \
        'unknown-object	k.log	18	nosuch		0		')"
}

@test "--strict stops at the first error" {
    mixed > m.log
    run refwatch --strict -f json m.log
    assert_failure 1
    run python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["events"], [e["kind"] for e in d["errors"]], d["stopped"])' "$output"
    assert_output "5 ['over-release'] True"
    run refwatch --strict m.log
    assert_line "(stopped at the first error: --strict)"
}

@test "--history OBJ: the (operation, count) table with line, site and holder; tsv starts line op count" {
    mixed > m.log
    run refwatch --history 0x2 -f tsv m.log
    assert_failure 1
    assert_output "$(printf '%s\n' \
        'line	op	count	obj	type	site	holder	ts	file	note' \
        '5	new	1	0x2	Widget	ui			m.log	' \
        '6	unref	0	0x2	Widget	ui_close			m.log	died' \
        '7	unref	-1	0x2	Widget	ui_close			m.log	over-release' \
        '14	ref	-1	0x2	Widget				m.log	use-after-free')"
    run refwatch --history Session m.log
    assert_output "$(cat <<'EOF'
line  op   count  obj  type     site       holder  ts  file   note
   3  new      1  0x1  Session  login                  m.log  
   4  ref      2  0x1  Session  cache_put  main        m.log  
EOF
)"
}

@test "--history of a name the log never mentions warns and prints the header" {
    mixed > m.log
    run refwatch --history nothere -f csv m.log
    assert_failure 1
    assert_line --index 0 "refwatch: no object or type named 'nothere' in the log"
    assert_line --index 1 "line,op,count,obj,type,site,holder,ts,file,note"
}

@test "CPython 3.11: --history reproduces every count sys.getrefcount printed (minus its own)" {
    obj=$(awk '$1 == "new" {print $2}' "$RW/cpython.refs")
    run refwatch --history "$obj" -f tsv "$RW/cpython.refs"
    assert_failure 1         # the weak reference dereferenced after death
    echo "$output" | awk -F'\t' 'NR > 1 {print $1 "\t" $3}' > got.tsv
    tail -n +2 "$RW/cpython.expected" | cut -f1,3 > want.tsv
    run join -t "$(printf '\t')" want.tsv got.tsv
    assert_output "$(awk -F'\t' '{print $1 "\t" $2 "\t" $2}' want.tsv)"
    [ "$(wc -l < want.tsv)" -eq 10 ]
    # Assignment 2, in a call 3, back 2, list 3, dict 4, then down to 1 and 0.
    run cut -f3 "$RW/cpython.expected"
    assert_output "$(printf '%s\n' count 1 2 3 2 3 4 3 2 1 1)"
    run refwatch --events "$RW/cpython.refs"
    assert_line --index 1 --regexp '^ +14  0x[0-9a-f]+  Widget  cache\[widget\]  cache_remove     1  '
    assert_line --index 2 --regexp '^ +14  0x[0-9a-f]+  Widget  wref           on_dead          0  '
}

@test "weak callbacks fire in priority order, ties in registration order, filtered by type" {
    cat > w.log <<'EOF'
new obj type=Listener
weak a obj cb=first_low prio=0
weak b obj cb=high prio=10
weak c obj cb=second_low prio=0
weak d obj cb=neg prio=-2
weak e obj cb=wrong_type prio=50 filter=Timer
weak f obj cb=right_type prio=1 filter=Listener
unref obj
EOF
    run refwatch --events -f tsv w.log
    assert_success
    assert_output "$(printf '%s\n' 'line	obj	type	weak	cb	prio	file' \
        '8	obj	Listener	b	high	10	w.log' \
        '8	obj	Listener	f	right_type	1	w.log' \
        '8	obj	Listener	a	first_low	0	w.log' \
        '8	obj	Listener	c	second_low	0	w.log' \
        '8	obj	Listener	d	neg	-2	w.log')"
    run refwatch -f json w.log
    run python3 -c 'import json,sys; print(json.loads(sys.argv[1])["weak"])' "$output"
    assert_output "{'made': 6, 'died': 6, 'fired': 5, 'filtered': 1, 'live': 0, 'orphaned': 0, 'auto_cleaned': 0}"
}

@test "weak references whose holder is gone are cleaned up, counted, and never fire" {
    cat > h.log <<'EOF'
new cache type=Cache
new value type=Blob
new listener type=Listener
weak slot1 value cb=evict from=cache
weak slot2 value cb=notify from=listener prio=3
unref listener
deref slot2
unref value
deref slot1
EOF
    run refwatch --events h.log
    assert_failure 1
    assert_output "$(cat <<'EOF'
line  obj    type  weak   cb     prio  file
   8  value  Blob  slot1  evict     0  h.log
EOF
)"
    run refwatch h.log
    assert_line "  h.log:7: unknown-object: deref slot2: never created (or died more than --quarantine objects ago)"
    assert_line "  h.log:9: dead-weak-deref: deref slot1: value (Blob) is dead"
    assert_line "weak references: 2 made, 1 died with their object, 1 callback fired (0 filtered out), 1 dead deref, 1 cleaned up with their holder, 0 live"
    run refwatch -f json h.log
    run python3 -c 'import json,sys; w=json.loads(sys.argv[1])["weak"]; print(w["orphaned"], w["auto_cleaned"])' "$output"
    assert_output "1 1"
}

@test "--graph: live holder -> held edges; the C program's leak is a cycle cyclefind finds" {
    s=$(awk '/type=Session/ {print $2}' "$RW/refprog.refs")
    c=$(awk '/type=Cache/ {print $2}' "$RW/refprog.refs")
    run refwatch --graph "$RW/refprog.refs"
    assert_failure 1
    assert_output "$(printf '%s %s\n' "$s" "$c" "$c" "$s" | LC_ALL=C sort)"
    run bash -c "refwatch --graph '$RW/refprog.refs' | cyclefind"
    assert_failure 1
    assert_line "  members: $(printf '%s\n' "$s" "$c" | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"
    run refwatch --graph -f csv "$RW/refprog.refs"
    assert_line --index 0 "holder,held"
}

@test "unref pairing: the holder's reference, else the same site, else an anonymous one" {
    cat > p.log <<'EOF'
new x type=T site=make
ref x from=h1 site=s1
ref x from=h2 site=s2
unref x from=h1
ref x site=s3
unref x
unref x from=nobody
ref x from=h3 site=s4
unref x site=s4
EOF
    # Outstanding after each line, oldest first: make; make h1; make h1 h2;
    # make h2; make h2 s3; make h2 (the newest anonymous); h2 (a holder with
    # none takes an anonymous one); h2 h3; h2 (the same site, even another
    # holder's, when from= is not given).
    run refwatch --graph p.log
    assert_output "h2 x"
    run refwatch -f json p.log
    run python3 -c 'import json,sys; print(json.loads(sys.argv[1])["unbalanced"][0]["sites"])' "$output"
    assert_output "[{'site': 's2', 'refs': 1}]"
}

@test "the C program, built and run now: memkit and Gallium formats give the same findings" {
    cc -O0 -g -rdynamic -o refprog "$RW/refprog.c"
    REFLOG=now.refs ./refprog
    REFLOG=now.gal REFLOG_FORMAT=gallium ./refprog
    for f in now.refs now.gal; do
        run refwatch -f json "$f"
        assert_failure 1
        run python3 -c '
import json, sys
d = json.loads(sys.argv[1])
print(d["created"], d["freed"], d["live"])
print(sorted((u["type"], u["count"], u["live"]) for u in d["unbalanced"]))
print([e["kind"] for e in d["errors"] if e["kind"] != "dead-weak-deref"])' "$output"
        assert_output "$(printf '%s\n' '4 2 2' "[('Buffer', -1, False), ('Cache', 1, True), ('Session', 1, True)]" "['over-release']")"
    done
    run bash -c 'refwatch --graph now.refs | cyclefind -f json'
    assert_failure 1
    assert_output --partial '"cyclic_sccs":1'
}

@test "Gallium fixture: stacks become site chains" {
    run refwatch "$RW/refprog.gallium.log"
    assert_failure 1
    assert_line "19 events: 4 objects created, 2 died, 2 live; 3 unbalanced, 1 error"
    # main's release shares only the outermost frames with either of
    # open_session's references: a tie, so the newest (cache_put's) went.
    assert_line --regexp '^         1  refprog\(obj_new\+0x[0-9a-f]+\) \[0x[0-9a-f]+\] < refprog\(open_session\+0x[0-9a-f]+\)'
    assert_line --regexp '^  [^ ]+: over-release: unref 0x[0-9a-f]+ \(Buffer\) at count 0$'
}

@test "XPCOM fixture: AddRef 1 creates, frames are the site chain, Release of 4294967295 is an over-release" {
    run refwatch "$RW/xpcom.log"
    assert_failure 1
    assert_output "$(cat <<EOF
10 events: 3 objects created, 2 died, 1 live; 2 unbalanced, 1 error

unbalanced objects by type:
  nsDocShell  1 object, 1 reference never released
         1  nsDocShell::Create(mozilla::dom::BrowsingContext*, unsigned long) (/builds/worker/docshell/base/nsDocShell.cpp:402) < nsFrameLoader::MaybeCreateDocShell() (/builds/worker/dom/base/nsFrameLoader.cpp:2041) < main (/builds/worker/browser/app/nsBrowserApp.cpp:360)
  nsTimer     1 object, 0 references never released, 1 over-released

unbalanced objects:
  0x7f3a1c0a2e40 (nsTimer) count -1, went below 0 at $RW/xpcom.log:37
  0x7f3a1c04d800 (nsDocShell) count 1, live at the end

errors:
  $RW/xpcom.log:37: over-release: unref 0x7f3a1c0a2e40 (nsTimer) at count 0
EOF
)"
}

@test "XPCOM: a malformed record or count is an error with its line" {
    printf '%s\n' '<nsFoo> 0x10 1 AddRef 1' '#01: f()' '<nsFoo> 0x10 1 AddRef two' > x.log
    run refwatch x.log
    assert_failure 2
    assert_output "refwatch: x.log:3: AddRef: count 'two' is not a number"
    printf '%s\n' '<nsFoo> 0x10 1 AddRef 1' '<nsFoo> 0x10 1 Grab 2' > z.log
    run refwatch z.log
    assert_failure 2
    assert_output "refwatch: z.log:2: not a refcount record: expected Create, AddRef N, Release N, Destroy, Ctor (N) or Dtor (N) at the end"
    printf '%s\n' '<nsFoo> 0x10 1 AddRef 1' '<nsFoo> zz 1 Release 0' > y.log
    run refwatch y.log
    assert_failure 2
    assert_output "refwatch: y.log:2: not a refcount record: expected <Type> ADDRESS SERIAL before the operation"
}

@test "timestamps and --at LINE | @TS" {
    cat > t.log <<'EOF'
100.0 new a type=T
100.5 ref a from=b
101.0 new b
102.0 ref b from=a
103.0 unref a from=b
104.0 unref b from=a
EOF
    run refwatch --graph --at 4 t.log
    assert_output "$(printf '%s\n' 'a b' 'b a')"
    run refwatch --graph --at @102.5 t.log
    assert_output "$(printf '%s\n' 'a b' 'b a')"
    run refwatch --graph --at @101 t.log
    assert_output "b a"
    run refwatch --history a -f csv t.log
    assert_line --index 1 "1,new,1,a,T,,,100.0,t.log,"
    run refwatch --at 0 t.log
    assert_failure 2
    assert_line --index 0 "refwatch: --at '0': expected a line number (from 1) or @TIMESTAMP"
}

@test "--quarantine: a long-dead name is unknown, a recently dead one is a use-after-free" {
    { echo 'new old'; echo 'unref old'; for i in $(seq 1 5); do echo "new n$i"; echo "unref n$i"; done; echo 'ref old'; } > q.log
    run refwatch --quarantine 3 q.log
    assert_failure 1
    assert_line "  q.log:13: unknown-object: ref old: never created (or died more than --quarantine objects ago)"
    run refwatch --quarantine 10 q.log
    assert_line "  q.log:13: use-after-free: ref old (no type) after it died" || assert_line "  q.log:13: use-after-free: ref old after it died"
}

@test "a name created again: after death a new object; while live the old one is unbalanced" {
    printf '%s\n' 'new a' 'unref a' 'new a' 'unref a' 'new b' 'new b' 'unref b' > r.log
    run refwatch r.log
    assert_failure 1
    assert_line "7 events: 4 objects created, 4 died, 0 live; 1 unbalanced, 0 errors"
    assert_line "  b count 1, died at r.log:6"
}

@test "a name that died twice: later events are judged against its newest death" {
    # The first a was freed; the second died at count 0 and is not yet
    # freed, so its free is the normal end, and only the next is a double free.
    printf '%s\n' 'new a type=First' 'free a' 'new a type=Second' 'unref a' 'free a' 'free a' 'ref a' > d.log
    run refwatch -f json d.log
    assert_failure 1
    [ "$(jq -c '[.errors[] | [.line, .kind]]' <<< "$output")" = '[[2,"free-while-referenced"],[6,"double-free"],[7,"use-after-free"]]' ]
    run refwatch d.log
    assert_line --partial "d.log:7: use-after-free: ref a (Second)"
}

@test "names: long ones and hex spellings come back exactly" {
    printf '%s\n' 'new Session#123456789012345678 type=T' 'new 0X00007F3A4C001230' 'new 0x7f3a4c001230abcd' 'new DEADBEEFdeadbeef' > n.log
    run refwatch -f json n.log
    run python3 -c 'import json,sys; print(sorted(u["obj"] for u in json.loads(sys.argv[1])["unbalanced"]))' "$output"
    assert_output "['0X00007F3A4C001230', '0x7f3a4c001230abcd', 'DEADBEEFdeadbeef', 'Session#123456789012345678']"
}

@test "zstd, gzip and plain give the same report; several files are one log, lines per file" {
    mixed > m.log
    zstd -q m.log -o m.log.zst
    gzip -c m.log > m.log.gz
    a=$(refwatch -f json m.log || true)
    b=$(refwatch -f json m.log.zst || true)
    c=$(refwatch -f json m.log.gz || true)
    [ "${a//m.log/X}" = "${b//m.log.zst/X}" ]
    [ "${a//m.log/X}" = "${c//m.log.gz/X}" ]
    printf '%s\n' 'new z' > one.log
    printf '%s\n' 'ref z' 'unref z' 'unref z' 'unref z' > two.log
    run refwatch one.log two.log
    assert_line "  two.log:4: over-release: unref z at count 0"
    run bash -c 'cat two.log | refwatch one.log -'
    assert_line "  -:4: over-release: unref z at count 0" || assert_line "  <stdin>:4: over-release: unref z at count 0"
}

@test "tsv, csv, ndjson and -o" {
    mixed > m.log
    run refwatch -f ndjson m.log
    assert_line --index 0 '{"kind":"unbalanced-freed","file":"m.log","line":7,"obj":"0x2","type":"Widget","count":-1,"weak":null,"sites":null}'
    run refwatch -f csv m.log
    assert_line --index 0 "kind,file,line,obj,type,count,weak,sites"
    assert_line --index 1 "unbalanced-freed,m.log,7,0x2,Widget,-1,,"
    run refwatch -o out.txt m.log
    assert_failure 1
    assert_output ""
    run head -1 out.txt
    assert_output "13 events: 3 objects created, 2 died, 1 live; 3 unbalanced, 5 errors"
}

@test "malformed lines: one line on stderr with file:line, exit 2" {
    check() {
        printf 'new ok\n%s\n' "$1" > bad.log
        run refwatch bad.log
        assert_failure 2
        assert_output "refwatch: bad.log:2: $2"
    }
    check 'grab x' "unknown operation 'grab' (new, ref, unref, free, weak or deref)"
    check 'ref' "ref: missing object id"
    check 'weak w' "weak: missing object id (weak W OBJ)"
    check 'ref a b' "ref: unexpected argument 'b'"
    check 'ref a colour=red' "unknown field 'colour' (type, site, from, cb, prio, filter)"
    check 'ref a type=T' "field 'type' does not apply to ref"
    check 'ref a site=' "field 'site' has no value"
    check 'ref a site=x site=y' "field 'site' given twice"
    check 'weak w a prio=high' "prio: 'high' is not an integer"
    check 'ref a site=x extra' "ref: argument 'extra' after the fields"
    check '12.5' "unknown operation '12.5' (new, ref, unref, free, weak or deref)"
    printf '#memkit refs v9\nnew a\n' > v.log
    run refwatch v.log
    assert_failure 2
    assert_output "refwatch: v.log:1: not a memkit refs v1 log (header '#memkit refs v9')"
}

@test "--lenient skips and counts malformed lines" {
    printf '%s\n' 'new a' 'bogus line' 'ref' 'unref a' > l.log
    run refwatch --lenient l.log
    assert_success
    assert_output "$(printf '%s\n' "refwatch: skipped 2 malformed lines (--lenient)" \
        "2 events: 1 object created, 1 died, 0 live; 0 unbalanced, 0 errors" "(2 malformed lines skipped: --lenient)")"
}

@test "bad input: truncated zstd, binary junk, huge line, empty input" {
    mixed > m.log
    for i in $(seq 1 2000); do echo "new o$i"; done >> m.log
    zstd -q m.log -o m.zst
    head -c 300 m.zst > cut.zst
    run refwatch cut.zst
    assert_failure 2
    assert_output --partial "cut.zst: truncated"
    printf 'new a\nref a\0\n' > nul.log
    run refwatch nul.log
    assert_failure 2
    assert_output --regexp '^refwatch: nul.log:2: .*NUL'
    { printf 'new '; head -c 2000000 /dev/zero | tr '\0' a; echo; } > huge.log
    run refwatch huge.log
    assert_failure 2
    assert_output --regexp '^refwatch: huge.log:1: .*longer than'
    : > empty.log
    run refwatch empty.log
    assert_success
    assert_output "0 events: 0 objects created, 0 died, 0 live; 0 unbalanced, 0 errors"
    run refwatch missing.log
    assert_failure 2
    assert_output --partial "missing.log"
}

@test "usage errors: unknown option, two reports at once" {
    run refwatch --frobnicate x
    assert_failure 2
    assert_line --index 0 --partial "refwatch: unknown option '--frobnicate'"
    run refwatch --graph --events x.log
    assert_failure 2
    assert_line --index 0 "refwatch: --history, --graph and --events are different reports: choose one"
}

@test "several blocks: --strict and --at end the reading before a malformed line further on" {
    { echo 'new a'; echo 'unref a'; echo 'unref a'
      for i in $(seq 1 60000); do echo "new obj$i type=Filler"; echo "unref obj$i"; done
      echo 'this is not an event'; } > big.log
    run refwatch --strict big.log
    assert_failure 1
    assert_line "(stopped at the first error: --strict)"
    run refwatch --at 100000 big.log
    assert_failure 1
    assert_line --index 0 "100000 events: 50000 objects created, 49999 died, 1 live; 2 unbalanced, 1 error"
    run refwatch big.log
    assert_failure 2
    assert_output "refwatch: big.log:120004: unknown operation 'this' (new, ref, unref, free, weak or deref)"
    run refwatch --lenient -q big.log
    assert_failure 1
    assert_line --index 0 "120003 events: 60001 objects created, 60001 died, 0 live; 1 unbalanced, 1 error"
}
