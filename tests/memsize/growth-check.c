/* growth-check — memsize's CPython container model against the growth
 * tables measured with real CPython (tests/fixtures/memsize/python/
 * growth-VER.tsv: shallow getsizeof of list, list grown by append, tuple,
 * set, frozenset, dict.fromkeys and array('q') built from n values of one
 * kind), every row. usage: growth-check VERSION FILE. Prints the rows that
 * differ; exit 1 if any, 2 on a usage or read error. Built by `make tests`
 * with pymodel.c and values.c compiled in (tool sources are not in lib). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cmd/memsize/pymodel.c"
#include "../../cmd/memsize/values.c"

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: growth-check VERSION FILE\n");
        return 2;
    }
    const ms_pyver *v = ms_pyver_find(argv[1]);
    FILE *f = fopen(argv[2], "r");
    if (!v || !f) {
        fprintf(stderr, "growth-check: bad version or file\n");
        return 2;
    }
    char line[512], kind[32];
    uint64_t rows = 0, bad = 0;
    if (!fgets(line, sizeof line, f))
        return 2;
    while (fgets(line, sizeof line, f)) {
        /* n kind list list_append tuple set frozenset dict array_q; array_q
         * is empty for strings */
        uint64_t n, e[7] = { 0 };
        char *fld[9], *rest = line, *t;
        int nf = 0;
        line[strcspn(line, "\n")] = 0;
        while (nf < 9 && (t = strsep(&rest, "\t")))
            fld[nf++] = t;
        if (nf < 8) {
            fprintf(stderr, "growth-check: bad line: %s\n", line);
            return 2;
        }
        n = strtoull(fld[0], NULL, 10);
        snprintf(kind, sizeof kind, "%s", fld[1]);
        int has_array = nf == 9 && fld[8][0];
        for (int i = 0; i < 7; i++)
            e[i] = i < 6 || has_array ? strtoull(fld[2 + i], NULL, 10) : 0;
        /* int-dup: n values over max(1, n / 10) distinct ints */
        uint64_t distinct = strcmp(kind, "int-dup") == 0 ? (n ? (n / 10 ? n / 10 : 1) : 0) : n;
        uint64_t str_until = strcmp(kind, "str") == 0 ? distinct : 0;
        uint64_t g[7] = {
            ms_py_list_exact(v, n), ms_py_list_append(v, n), ms_py_tuple(v, n), ms_py_set(v, distinct),
            ms_py_set(v, distinct), ms_py_dict(v, distinct, str_until), has_array ? ms_py_array(v, 8, n) : 0,
        };
        rows++;
        if (memcmp(g, e, sizeof g) != 0) {
            bad++;
            printf("%s n=%" PRIu64 ": memsize", kind, n);
            for (int i = 0; i < 7; i++)
                printf(" %" PRIu64, g[i]);
            printf(", CPython");
            for (int i = 0; i < 7; i++)
                printf(" %" PRIu64, e[i]);
            printf("\n");
        }
    }
    fclose(f);
    printf("%" PRIu64 " rows, %" PRIu64 " differ\n", rows, bad);
    return bad ? 1 : 0;
}
