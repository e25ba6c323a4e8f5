#!/usr/bin/env bash
# pahole-truth.sh — the ground truth memsize's struct layout engine
# (cmd/memsize/layout.c) is checked against. Every figure comes from gcc and
# pahole, never from memsize.
#
# For each tests/fixtures/memsize/layout/NAME.yaml and each ABI whose
# compiler is installed, the equivalent C is generated (struct definitions
# in dependency order, one global instance each so that DWARF has them),
# compiled with `CC -g`, and NAME.ABI.expected is written, one TSV row per
# struct after a header:
#   name size align holes hole_bytes padding best_size
#   size               pahole's "size:" (checked equal to gcc's sizeof)
#   align              gcc's _Alignof, read from the generated assembly
#   holes, hole_bytes  pahole's "holes:" and "sum holes:"; pahole 1.24 only
#                      prints that summary when the struct has a plain
#                      member, so without one they are counted from its
#                      "XXX N bytes hole" lines (the same figures)
#   padding            pahole's "padding:" (0 when not printed)
#   best_size          the least sizeof over every order of the fields,
#                      each distinct order compiled by gcc as a struct of its
#                      own (fixtures keep to at most 8 fields: 8! structs)
# ABIs and compilers: x86_64 `gcc`, i386 `gcc -m32`, aarch64
# `aarch64-linux-gnu-gcc` (sizes read from the assembly, so nothing runs).
#
# How it was run (Debian 12):
#   apt-get install dwarves gcc-multilib gcc-aarch64-linux-gnu python3-yaml
#   # pahole v1.24, gcc 12.2.0 (DWARF 5), aarch64-linux-gnu-gcc 12.2.0
#   bash tests/memsize/pahole-truth.sh            # rewrite the expected files
#   bash tests/memsize/pahole-truth.sh --check    # compare; exit 1 on a difference
# Exit status: 0 done (or all equal with --check), 1 a difference, 2 a tool
# is missing or a step failed.
#
# pahole --reorganize, measured on reorganize.yaml (x86_64; printed again by
# every run, from live pahole and gcc output):
#   flags_mix  7 fields, 28 B as declared: --reorganize keeps the order and
#              claims 32 B ("saved -4 bytes!"); gcc lays that order out in
#              28 B; the best order is 20 B.
#   ld_tail    long long, long double, unsigned char :4, 48 B: --reorganize
#              keeps the order and claims 33 B ("saved 15 bytes!", not even
#              a multiple of the 16-byte alignment); gcc makes it 48 B; the
#              best order (long double first) is 32 B.
# In 300 random structs of 3-7 fields (bitfields, long double, a nested
# struct) pahole 1.24's claimed size differed from gcc's sizeof of its own
# order in 54: it ignores the trailing alignment (long double, 16), puts a
# long double at offset 24, and moves bitfields into units gcc would not.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
fixtures=$here/../fixtures/memsize/layout
check=0
[ "${1:-}" = --check ] && check=1

command -v pahole >/dev/null || { echo "pahole-truth: pahole missing (apt-get install dwarves)" >&2; exit 2; }
command -v python3 >/dev/null || { echo "pahole-truth: python3 missing" >&2; exit 2; }
python3 -c 'import yaml' 2>/dev/null || { echo "pahole-truth: PyYAML missing (apt-get install python3-yaml)" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

abis=()
ccs=()
probe() {   # ABI, compiler command
    printf 'int x;\n' >"$tmp/probe.c"
    if $2 -c "$tmp/probe.c" -o "$tmp/probe.o" 2>/dev/null; then
        abis+=("$1")
        ccs+=("$2")
    else
        echo "pahole-truth: no compiler for $1 ($2): skipped" >&2
    fi
}
probe x86_64 gcc
probe i386 "gcc -m32"
probe aarch64 aarch64-linux-gnu-gcc
[ ${#abis[@]} -gt 0 ] || { echo "pahole-truth: no compiler" >&2; exit 2; }
echo "pahole-truth: $(pahole --version), $(gcc -dumpfullversion 2>/dev/null || gcc -dumpversion), ABIs: ${abis[*]}"

status=0
for yaml in "$fixtures"/*.yaml; do
    base=$(basename "$yaml" .yaml)
    for i in "${!abis[@]}"; do
        abi=${abis[$i]}
        out=$tmp/$base.$abi.expected
        mkdir -p "$tmp/$base.$abi"
        python3 - "$yaml" "$abi" "${ccs[$i]}" "$tmp/$base.$abi" >"$out" <<'PY' || { echo "pahole-truth: $base $abi failed" >&2; exit 2; }
import itertools, re, subprocess, sys
import yaml

path, abi, cc, work = sys.argv[1], sys.argv[2], sys.argv[3].split(), sys.argv[4]
doc = yaml.safe_load(open(path)) or {}
structs = doc.get('structs') or []
by_name = {s['name']: s for s in structs}

def by_value(t):
    m = re.fullmatch(r'\s*struct\s+(\w+)\s*', t)
    return m.group(1) if m else None

order, seen = [], set()
def visit(name):
    if name in seen:
        return
    seen.add(name)
    for f in by_name[name].get('fields') or []:
        dep = by_value(str(f['type']))
        if dep:
            visit(dep)
    order.append(name)
for s in structs:
    visit(s['name'])

def decl(f):
    t = str(f['type'])
    if 'bits' in f:
        return '%s %s:%d;' % (t, '' if f['bits'] == 0 else f['name'], f['bits'])
    if 'count' in f:
        return '%s %s[%d];' % (t, f['name'], f['count'])
    return '%s %s;' % (t, f['name'])

def body(fields):
    return ''.join('\t%s\n' % decl(f) for f in fields)

HEAD = '#include <stdbool.h>\n#include <stddef.h>\n#include <stdint.h>\n#include <sys/types.h>\n'
defs = ''.join('struct %s {\n%s};\n' % (n, body(by_name[n].get('fields') or [])) for n in order)

def compile_asm(name, src, debug):
    c = '%s/%s.c' % (work, name)
    s = '%s/%s.s' % (work, name)
    open(c, 'w').write(src)
    subprocess.run(cc + (['-g'] if debug else []) + ['-O0', '-w', '-S', c, '-o', s], check=True)
    return s

def asm_values(s):
    """label -> list of 32-bit values of the data that follows it."""
    vals, cur = {}, None
    for line in open(s):
        m = re.match(r'^(ml_\w+):', line)
        if m:
            cur = vals.setdefault(m.group(1), [])
            continue
        m = re.match(r'^\s+\.(long|word|4byte)\s+(\d+)\s*$', line)
        if m and cur is not None:
            cur.append(int(m.group(2)))
            continue
        m = re.match(r'^\s+\.zero\s+(\d+)\s*$', line)
        if m and cur is not None:
            cur.extend([0] * (int(m.group(1)) // 4))
            continue
        cur = None
    return vals

# The structs as written: pahole's view and gcc's sizes and alignments.
src = HEAD + defs + ''.join(
    'struct %s ml_inst_%s;\nconst unsigned ml_size_%s = sizeof(struct %s), '
    'ml_align_%s = _Alignof(struct %s);\n' % ((n,) * 6) for n in order)
s = compile_asm('truth', src, True)
obj = '%s/truth.o' % work
subprocess.run(cc + ['-c', s, '-o', obj], check=True)
vals = asm_values(s)

# Every distinct order of every struct's fields, as structs of their own.
psrc = [HEAD, defs]
for n in order:
    fields = by_name[n].get('fields') or []
    if len(fields) > 8:
        sys.exit('%s: struct %s has more than 8 fields' % (path, n))
    keys = [(str(f['type']), f.get('bits'), f.get('count')) for f in fields]
    perms, done = [], set()
    for p in itertools.permutations(range(len(fields))):
        k = tuple(keys[i] for i in p)
        if k not in done:
            done.add(k)
            perms.append(p)
    for j, p in enumerate(perms):
        psrc.append('struct ml_p_%s_%d {\n%s};\n' % (n, j, body([fields[i] for i in p])))
    psrc.append('const unsigned ml_perms_%s[] = {\n%s};\n' % (
        n, ''.join('\tsizeof(struct ml_p_%s_%d),\n' % (n, j) for j in range(len(perms)))))
pvals = asm_values(compile_asm('perms', ''.join(psrc), False))

def pahole(args):
    return subprocess.run(['pahole'] + args + [obj], capture_output=True, text=True,
                          check=True).stdout

def summary(name, text):
    size = int(re.search(r'/\* size: (\d+), cachelines', text).group(1))
    m = re.search(r'/\* sum members: \d+(?:, holes: (\d+), sum holes: (\d+))? \*/', text)
    xxx = [int(x) for x in re.findall(r'^\t/\* XXX (\d+) bytes? hole, try to pack \*/$', text, re.M)]
    holes, hole_bytes = len(xxx), sum(xxx)
    if m and m.group(1) is not None and (int(m.group(1)), int(m.group(2))) != (holes, hole_bytes):
        sys.exit('%s: %s: pahole summary %s/%s != its XXX lines %d/%d' % (
            path, name, m.group(1), m.group(2), holes, hole_bytes))
    p = re.search(r'/\* padding: (\d+) \*/', text)
    if 'BRAIN FART' in text:
        print('pahole-truth: %s %s %s: pahole reports a BRAIN FART' % (path, abi, name), file=sys.stderr)
    return size, holes, hole_bytes, int(p.group(1)) if p else 0

print('name\tsize\talign\tholes\thole_bytes\tpadding\tbest_size')
for st in structs:
    n = st['name']
    size, holes, hole_bytes, padding = summary(n, pahole(['-C', n]))
    if size != vals['ml_size_' + n][0]:
        sys.exit('%s: %s: pahole says %d bytes, gcc %d' % (path, n, size, vals['ml_size_' + n][0]))
    print('%s\t%d\t%d\t%d\t%d\t%d\t%d' % (n, size, vals['ml_align_' + n][0], holes, hole_bytes,
                                          padding, min(pvals['ml_perms_' + n])))

# pahole --reorganize against gcc, for the record (x86_64 only).
if abi == 'x86_64' and path.endswith('/reorganize.yaml'):
    rsrc = HEAD + defs
    claims = {}
    for st in structs:
        n = st['name']
        text = pahole(['--reorganize', '-C', n])
        claims[n] = int(re.search(r'/\* size: (\d+), cachelines', text).group(1))
        members = [re.sub(r'/\*.*?\*/', '', l).strip() for l in text.split('\n')
                   if re.match(r'^\t[^\t/].*;', l)]
        rsrc += 'struct ml_r_%s {\n%s};\nconst unsigned ml_reorg_%s = sizeof(struct ml_r_%s);\n' % (
            n, ''.join('\t%s\n' % m for m in members), n, n)
    rvals = asm_values(compile_asm('reorg', rsrc, False))
    for st in structs:
        n = st['name']
        print('pahole-truth: %s: declared %d B; pahole --reorganize claims %d B, gcc lays its '
              'order out in %d B; best order %d B' % (n, vals['ml_size_' + n][0], claims[n],
              rvals['ml_reorg_' + n][0], min(pvals['ml_perms_' + n])), file=sys.stderr)
PY
        dest=$fixtures/$base.$abi.expected
        if [ $check = 1 ]; then
            if ! diff -u "$dest" "$out"; then
                status=1
            fi
        else
            cp "$out" "$dest"
        fi
    done
done
[ $check = 1 ] && [ $status = 0 ] && echo "pahole-truth: all expected files agree"
exit $status
