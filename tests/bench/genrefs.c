/* genrefs — a seeded memkit refs log for refwatch's benchmark and demo.
 *
 * usage: genrefs EVENTS OBJECTS SEED [drain] > log
 *
 * OBJECTS objects are live at once (after a ramp-up that creates them); each
 * step then picks a live object at random and refs it (70 % with a live
 * holder as from=, sites from 1000 names), unrefs it (when its count is
 * above 1), or releases its last reference, which kills it; a killed
 * object is freed and replaced by a new one at a new heap-like address
 * (0x7f.. with 12 hex digits, reused after free like an allocator's). One
 * object in 10 000 leaks a reference (taken and never released), one in
 * 20 000 is over-released, and 1 % get a weak reference, dereferenced once
 * later. Every 64th line carries a timestamp. The leaked references are
 * taken at site=cache_put_leak, the extra releases at site=double_release.
 * With `drain`, the log ends by releasing every live object but the leaked
 * ones, as a program that exits cleanly would (the events come on top of
 * EVENTS), and only the leaked references name a holder (from=cache), so
 * refwatch's pairing can tell them apart from any other; without it, the
 * log stops mid-run and every live object still holds references.
 *
 * stderr gets the expected figures: events, objects created, unbalanced
 * live objects at the end (leaked), over-releases. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t s;

static uint64_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

typedef struct {
    uint64_t addr;
    int32_t count;
    uint8_t leaked, weak;
} obj;

static obj *live;
static uint64_t nlive, cap;
static uint64_t *freelist;
static uint64_t nfree, next_addr = 0x7f3a40000000ull;
static uint64_t events, target, created, leaked_live, over_released, weaks;
static int drain;

static char buf[1 << 16];
static size_t bn;

static void flush_buf(void)
{
    if (fwrite(buf, 1, bn, stdout) != bn) {
        perror("genrefs");
        exit(2);
    }
    bn = 0;
}

static void line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void line(const char *fmt, ...)
{
    if (bn > sizeof buf - 512)
        flush_buf();
    if (events % 64 == 0)
        bn += (size_t)snprintf(buf + bn, sizeof buf - bn, "%" PRIu64 ".%03u ", 1700000000 + events / 100000,
                               (unsigned)(events % 1000));
    va_list ap;
    va_start(ap, fmt);
    bn += (size_t)vsnprintf(buf + bn, sizeof buf - bn, fmt, ap);
    va_end(ap);
    events++;
}

static uint64_t new_addr(void)
{
    if (nfree && rnd() % 4)
        return freelist[--nfree];
    next_addr += 16 * (1 + rnd() % 8);
    return next_addr;
}

static void create(void)
{
    obj o = { new_addr(), 1, 0, 0 };
    static const char *types[] = { "Session", "Buffer", "Node", "Widget", "Texture", "Request", "Cache", "Listener" };
    line("new 0x%" PRIx64 " type=%s site=alloc_%u\n", o.addr, types[rnd() % 8], (unsigned)(rnd() % 200));
    if (rnd() % 100 == 0) {
        o.weak = 1;
        line("weak w%" PRIx64 " 0x%" PRIx64 " cb=on_drop prio=%u\n", o.addr, o.addr, (unsigned)(rnd() % 3));
        weaks++;
    }
    live[nlive++] = o;
    created++;
}

static void step(void)
{
    uint64_t i = rnd() % nlive;
    obj *o = &live[i];
    unsigned r = (unsigned)(rnd() % 100);
    unsigned site = (unsigned)(rnd() % 1000);
    if (r < 48) {
        if (!o->leaked && rnd() % 10000 == 0) {
            /* This reference is never given back. */
            line("ref 0x%" PRIx64 " from=cache site=cache_put_leak\n", o->addr);
            o->leaked = 1;
        } else if (r < 34 && !drain) {
            uint64_t h = live[rnd() % nlive].addr;
            line("ref 0x%" PRIx64 " from=0x%" PRIx64 " site=s%u\n", o->addr, h, site);
        } else {
            line("ref 0x%" PRIx64 " site=s%u\n", o->addr, site);
        }
        o->count++;
        return;
    }
    if (o->count > 1 + o->leaked && r < 96) {
        line("unref 0x%" PRIx64 " site=s%u\n", o->addr, site);
        o->count--;
        return;
    }
    if (o->leaked)
        return;
    /* The last reference goes: the object dies and is freed. */
    while (o->count > 0) {
        line("unref 0x%" PRIx64 " site=r%u\n", o->addr, site);
        o->count--;
    }
    if (o->weak)
        line("deref w%" PRIx64 "\n", o->addr);
    line("free 0x%" PRIx64 "\n", o->addr);
    if (rnd() % 20000 == 0) {
        line("unref 0x%" PRIx64 " site=double_release\n", o->addr);
        over_released++;
    }
    freelist[nfree++] = o->addr;
    live[i] = live[--nlive];
    create();
}

int main(int argc, char **argv)
{
    if (argc != 4 && !(argc == 5 && !strcmp(argv[4], "drain"))) {
        fprintf(stderr, "usage: genrefs EVENTS OBJECTS SEED [drain]\n");
        return 2;
    }
    target = strtoull(argv[1], NULL, 10);
    drain = argc == 5;
    cap = strtoull(argv[2], NULL, 10);
    s = strtoull(argv[3], NULL, 10) * 0x9E3779B97F4A7C15ull | 1;
    if (!cap) {
        fprintf(stderr, "genrefs: OBJECTS must be > 0\n");
        return 2;
    }
    live = calloc(cap, sizeof *live);
    freelist = calloc(cap * 2 + 16, sizeof *freelist);
    if (!live || !freelist)
        return 2;
    fputs("#memkit refs v1\n", stdout);
    while (nlive < cap && events < target)
        create();
    while (events < target) {
        step();
        if (nfree > cap * 2)
            nfree = cap;
    }
    if (drain) {
        for (uint64_t i = 0; i < nlive; i++) {
            obj *o = &live[i];
            for (int32_t k = o->count - o->leaked; k > 0; k--)
                line("unref 0x%" PRIx64 " site=shutdown\n", o->addr);
            o->count = o->leaked;
            if (!o->count)
                line("free 0x%" PRIx64 "\n", o->addr);
        }
    }
    flush_buf();
    for (uint64_t i = 0; i < nlive; i++)
        leaked_live += live[i].count != 0;
    fprintf(stderr, "genrefs: %" PRIu64 " events, %" PRIu64 " objects created, %" PRIu64
            " live at the end (all unbalanced), %" PRIu64 " over-releases, %" PRIu64 " weak refs\n",
            events, created, leaked_live, over_released, weaks);
    return 0;
}
