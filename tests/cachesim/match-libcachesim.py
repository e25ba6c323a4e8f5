#!/usr/bin/env python3
"""match-libcachesim.py EXPECTED.tsv TRACE [CACHESIM]

Runs cachesim over TRACE at every policy and capacity of EXPECTED.tsv (the
exact miss counts libCacheSim gave, written by libcachesim-truth.sh) and
compares: every policy must give the same requests and misses, except
tinylfu, whose frequency sketch differs by design (cachesim(1)) and must be
within 1.5 % of libCacheSim's misses; with object capacities below 100
libCacheSim's W-TinyLFU has a window of 0 objects and caches nothing, where
ours keeps one, so those rows are skipped. Prints one line per mismatch and
a summary; exits 1 on any mismatch."""
import collections, csv, subprocess, sys

exp, trace = sys.argv[1], sys.argv[2]
cachesim = sys.argv[3] if len(sys.argv) > 3 else 'cachesim'
rows = list(csv.DictReader(open(exp), delimiter='\t'))
groups = collections.defaultdict(list)
for r in rows:
    groups[r['count_mode']].append(r)
bad = checked = 0
for mode, rs in sorted(groups.items()):
    pols = sorted({r['policy'] for r in rs})
    caps = sorted({r['capacity'] for r in rs}, key=int)
    cmd = [cachesim, '-p', ','.join(pols), '-s', ','.join(caps), '-f', 'tsv', trace]
    if mode == 'objects':
        cmd.insert(1, '--count')
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit('cachesim failed: ' + out.stderr)
    got = {(r['policy'], r['capacity']): r for r in csv.DictReader(out.stdout.splitlines(), delimiter='\t')}
    for r in rs:
        g = got[(r['policy'], r['capacity'])]
        want, have = int(r['misses']), int(g['misses'])
        if r['policy'] == 'tinylfu':
            if mode == 'objects' and int(r['capacity']) < 100:
                continue
            ok = abs(have - want) <= 0.015 * want
        else:
            ok = have == want and g['requests'] == r['requests']
        checked += 1
        if not ok:
            bad += 1
            print(f"{mode} {r['policy']} {r['capacity']}: libCacheSim {want} misses of {r['requests']}, "
                  f"cachesim {have} of {g['requests']}")
print(f'{checked - bad} of {checked} caches agree with libCacheSim')
sys.exit(1 if bad else 0)
