/* fuzz_memsize — memsize's value typing and tallies, its YAML layout reader
 * and layout engine, and the suggestion pass, under ASan and UBSan.
 *
 * Each input is read twice. As values (one a line) into a pass whose
 * budget is tiny, so the exact table turns into a sample early: the counts
 * must add up, exact distinct counts never exceed the values, and every
 * structure's deep size is at least its shallow size in every model. As a
 * YAML layout file: when it loads and resolves, every struct laid out on
 * every ABI satisfies pahole's accounting identity, the best order is
 * never bigger than the declared one (and is a permutation), and no
 * suggested step grows a struct or a class. The memsize sources are
 * compiled in here: they are not in lib. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#include "../../cmd/memsize/cmodel.c"
#include "../../cmd/memsize/layout.c"
#include "../../cmd/memsize/pymodel.c"
#include "../../cmd/memsize/suggest.c"
#include "../../cmd/memsize/values.c"

static void values(const uint8_t *data, size_t size, int type)
{
    ms_values_opts o = { type, 1 << 16 };
    ms_values *v = ms_values_new(&o);
    const char *p = (const char *)data, *end = p + size;
    uint64_t lines = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *e = eol ? eol : end;
        if (ms_values_add(v, p, (size_t)(e - p)) == 0)
            lines++;
        p = e + 1;
    }
    const ms_result *r = ms_values_result(v);
    FUZZ_CHECK(r->n_int + r->n_float + r->n_str == lines, "%llu + %llu + %llu values of %llu",
               (unsigned long long)r->n_int, (unsigned long long)r->n_float, (unsigned long long)r->n_str,
               (unsigned long long)lines);
    FUZZ_CHECK(!r->exact || r->distinct <= r->n, "%llu distinct of %llu", (unsigned long long)r->distinct,
               (unsigned long long)r->n);
    for (int k = 0; ms_pyver_at(k); k++)
        for (int s = 0; s < MS_PY_STRUCTURES; s++)
            for (int cs = 0; cs < 2; cs++) {
                ms_pyopts po = { cs };
                ms_pysize z;
                ms_py_size(ms_pyver_at(k), s, r, &po, &z);
                FUZZ_CHECK(!z.available || z.deep >= z.shallow, "python %s deep < shallow", ms_py_structure[s]);
            }
    for (int s = 0; s < MS_C_STRUCTURES; s++) {
        ms_csize z;
        ms_c_size(s, r, &z);
        FUZZ_CHECK(!z.available || z.deep >= z.shallow, "c %s deep < shallow", ms_c_structure[s]);
    }
    ms_values_free(v);
}

static void check_layout(const ml_doc *d, ml_abi abi, const ml_struct *s)
{
    ml_layout l;
    if (ml_lay_out(d, abi, s->fields, s->nfields, &l) < 0)
        return;
    FUZZ_CHECK(l.size * 8 == l.sum_members * 8 + l.sum_bits + l.hole_bytes * 8 + l.bit_hole_bits +
                                 l.padding * 8 + l.bit_padding,
               "struct %s: accounting does not add up to %llu bytes", s->name, (unsigned long long)l.size);
    size_t *order = mk_xmalloc((s->nfields ? s->nfields : 1) * sizeof *order);
    uint64_t best;
    int proven;
    if (ml_best_order(d, abi, s->fields, s->nfields, order, &best, &proven) == 0) {
        FUZZ_CHECK(best <= l.size, "struct %s: best %llu > declared %llu", s->name, (unsigned long long)best,
                   (unsigned long long)l.size);
        uint8_t *seen = mk_xcalloc(s->nfields ? s->nfields : 1, 1);
        for (size_t i = 0; i < s->nfields; i++) {
            FUZZ_CHECK(order[i] < s->nfields && !seen[order[i]], "struct %s: order is no permutation", s->name);
            seen[order[i]] = 1;
        }
        free(seen);
    }
    free(order);
    ml_layout_free(&l);
}

static void layouts(const uint8_t *data, size_t size)
{
    ml_doc *d = ml_load_mem("fuzz", (const char *)data, size);
    if (!d)
        return;
    if (ml_resolve(d) == 0) {
        for (int a = 0; a < ML_NABI; a++)
            for (size_t i = 0; i < d->nstructs; i++) {
                check_layout(d, (ml_abi)a, &d->structs[i]);
                ms_plan p;
                if (ms_suggest_struct(d, (ml_abi)a, i, &p) == 0)
                    for (size_t k = 0; k < p.nsteps; k++)
                        FUZZ_CHECK(p.steps[k].cumulative <= p.before, "struct step grows it");
            }
        for (size_t i = 0; i < d->nclasses; i++) {
            ms_plan p;
            if (ms_suggest_class(d, ms_pyver_at(0), i, &p) == 0)
                for (size_t k = 0; k < p.nsteps; k++)
                    FUZZ_CHECK(p.steps[k].cumulative <= p.before, "class step grows it");
        }
    }
    ml_free(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    values(data, size, MS_ANY);
    values(data, size, MS_STR);
    layouts(data, size);
    return 0;
}
