/* fuzz_refwatch — refwatch's log readers (memkit refs and XPCOM/Gallium)
 * and the model behind its reports, under ASan and UBSan.
 *
 * Each input is read leniently into models with quarantines of 0, 2 and
 * 1000 dead objects (so names are forgotten, reused and remembered), then
 * checked against what must hold whatever the log says: objects created =
 * died + live; every error is counted under its kind; every unbalanced
 * object has a count other than 0 or went below 0, and its sites add up to
 * at most its references; weak references made = live + died + dropped;
 * the holder -> held edges name live objects only, no more than their
 * outstanding references. The refwatch sources are compiled in here: they
 * are not in lib. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#include "../../cmd/refwatch/keytab.c"
#include "../../cmd/refwatch/log.c"
#include "../../cmd/refwatch/model.c"
#include "../../cmd/refwatch/reflist.c"

static uint64_t nedges;

static void count_edge(void *ctx, const char *h, size_t hn, const char *d, size_t dn)
{
    (void)ctx;
    FUZZ_CHECK(hn > 0 && dn > 0 && h && d, "empty name in an edge");
    nedges++;
}

static int check_unbalanced(void *ctx, const rw_unbalanced *u)
{
    uint64_t *n = ctx;
    ++*n;
    FUZZ_CHECK(u->obj != NULL, "unbalanced object without a name");
    FUZZ_CHECK(u->count != 0 || u->went_negative, "balanced object reported unbalanced");
    uint64_t refs = 0;
    for (uint32_t j = 0; j < u->nsites; j++)
        refs += u->sites[j].refs;
    FUZZ_CHECK(u->count < 0 || refs <= (uint64_t)u->count || u->went_negative,
               "%llu unmatched references on a count of %d", (unsigned long long)refs, u->count);
    return 0;
}

static void check(rw_model *m)
{
    rw_totals t;
    rw_model_totals(m, &t);
    FUZZ_CHECK(t.created == t.died + t.live, "created %llu != died %llu + live %llu",
               (unsigned long long)t.created, (unsigned long long)t.died, (unsigned long long)t.live);
    size_t ne;
    const rw_error *e = rw_model_errors(m, &ne);
    uint64_t by_kind[RW_NKINDS] = { 0 }, sum = 0;
    for (size_t i = 0; i < ne; i++) {
        FUZZ_CHECK(e[i].kind < RW_NKINDS && e[i].obj, "bad error record");
        by_kind[e[i].kind]++;
    }
    for (int k = 0; k < RW_NKINDS; k++) {
        FUZZ_CHECK(by_kind[k] == t.kinds[k], "kind %d: %llu listed, %llu counted", k,
                   (unsigned long long)by_kind[k], (unsigned long long)t.kinds[k]);
        sum += t.kinds[k];
    }
    FUZZ_CHECK(sum == ne, "errors");
    uint64_t nu = 0;
    rw_model_unbalanced_each(m, check_unbalanced, &nu);
    FUZZ_CHECK(nu == rw_model_unbalanced_count(m), "%llu unbalanced walked, %zu counted", (unsigned long long)nu,
               rw_model_unbalanced_count(m));
    FUZZ_CHECK(t.weak_made >= t.weak_live + t.weak_died, "weak references: made %llu, live %llu, died %llu",
               (unsigned long long)t.weak_made, (unsigned long long)t.weak_live, (unsigned long long)t.weak_died);
    nedges = 0;
    rw_model_edges(m, count_edge, NULL);
    FUZZ_CHECK(nedges <= t.live_refs, "%llu edges but %llu outstanding references",
               (unsigned long long)nedges, (unsigned long long)t.live_refs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint64_t quarantines[] = { 0, 2, 1000 };
    for (size_t q = 0; q < 3; q++) {
        rw_model *m = rw_model_new(quarantines[q]);
        rw_reader r = { 0 };
        r.m = m;
        r.lenient = 1;
        r.block_size = 4096;    /* small blocks: records across block ends, and fast runs */
        mk_source *src = mk_source_open_mem("fuzz", data, size);
        if (src) {
            uint32_t f = rw_model_file(m, "fuzz");
            (void)rw_read(&r, src, f);
            mk_source_close(src);
            rw_model_finish(m);
            check(m);
        }
        rw_model_free(m);
    }
    return 0;
}
