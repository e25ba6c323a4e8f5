/* replay — run the allocations of a memkit heap trace for real, so another
 * profiler (heaptrack) can record "the same program" as the benchmark trace.
 *
 * usage: replay < trace     (plain memkit heap format, as genheap writes)
 *
 * Every "+" mallocs SIZE bytes (touching the first byte), "-" frees, "~"
 * reallocs; trace addresses map to real pointers through one preallocated
 * open-addressing table (2^22 slots), so the program's own bookkeeping adds
 * a single allocation. Blocks live at the end are left allocated, as in the
 * trace. Exit 2 on a line it cannot read. */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BITS = 22, CAP = 1 << BITS };

typedef struct {
    uint64_t key;
    void *p;
} slot;

static slot *tab;

static slot *find(uint64_t key)
{
    size_t i = (size_t)((key * 0x9E3779B97F4A7C15ull) >> (64 - BITS));
    while (tab[i].key && tab[i].key != key)
        i = (i + 1) & (CAP - 1);
    return &tab[i];
}

/* Remove by backward shift, so probes stay correct without tombstones. */
static void del(slot *s)
{
    size_t i = (size_t)(s - tab), j = i;
    for (;;) {
        j = (j + 1) & (CAP - 1);
        if (!tab[j].key)
            break;
        size_t h = (size_t)((tab[j].key * 0x9E3779B97F4A7C15ull) >> (64 - BITS));
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            tab[i] = tab[j];
            i = j;
        }
    }
    tab[i].key = 0;
}

int main(void)
{
    tab = calloc(CAP, sizeof *tab);
    if (!tab)
        return 2;
    char line[512];
    uint64_t no = 0;
    while (fgets(line, sizeof line, stdin)) {
        no++;
        uint64_t ts, a, b, size;
        char *p = line;
        switch (line[0]) {
        case '+':
            if (sscanf(p + 1, "%" SCNu64 " %" SCNx64 " %" SCNu64, &ts, &a, &size) != 3)
                goto bad;
            {
                void *m = malloc(size ? size : 1);
                if (!m)
                    return 2;
                *(volatile char *)m = 1;
                slot *s = find(a);
                s->key = a;
                s->p = m;
            }
            break;
        case '-':
            if (sscanf(p + 1, "%" SCNu64 " %" SCNx64, &ts, &a) != 2)
                goto bad;
            {
                slot *s = find(a);
                if (s->key) {
                    free(s->p);
                    del(s);
                }
            }
            break;
        case '~':
            if (sscanf(p + 1, "%" SCNu64 " %" SCNx64 " %" SCNx64 " %" SCNu64, &ts, &a, &b, &size) != 4)
                goto bad;
            {
                slot *s = find(a);
                void *old = s->key ? s->p : NULL;
                if (s->key)
                    del(s);
                void *m = realloc(old, size ? size : 1);
                if (!m)
                    return 2;
                slot *t = find(b);
                t->key = b;
                t->p = m;
            }
            break;
        default:
            break;   /* "#", "s", "@" */
        }
    }
    return 0;
bad:
    fprintf(stderr, "replay: line %" PRIu64 ": cannot read it\n", no);
    return 2;
}
