/* fuzz_leakdiff — the heap trace reader and every leakdiff report.
 *
 * The input is read as a trace (memkit heap format or mtrace, any junk),
 * leniently, so every record that parses is replayed; then every report is
 * built, the HTML page included. Checked: nothing crashes or leaks (ASan),
 * and the books balance — the live bytes and blocks of the totals equal the
 * sums over the live blocks, over the sites and over the types; the peak is
 * at least the live bytes; allocs + reallocs made at least the live blocks.
 * The leakdiff sources are compiled in here: they are not in lib. */
#include <stdint.h>
#include <string.h>

#include "fuzz.h"

#include "../../cmd/leakdiff/report.c"
#include "../../cmd/leakdiff/html.c"
#include "../../cmd/leakdiff/trace.c"
#include "../../cmd/leakdiff/track.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mk_intern sites, types;
    mk_intern_init(&sites, 0);
    mk_intern_init(&types, 0);
    ld_track k;
    ld_track_init(&k, &types);
    mk_source *src = mk_source_open_mem("fuzz", data, size);
    ld_trace *t = src ? ld_trace_from(src, &sites, &types, 1, NULL) : NULL;
    if (t) {
        ld_event ev;
        while (ld_trace_next(t, &ev) > 0)
            ld_track_event(&k, &ev);
        ld_trace_close(t);
    }
    ld_track_end(&k);

    uint64_t bytes = 0, blocks = 0, sb = 0, tb = 0, sn = 0, tn = 0;
    size_t it = 0;
    ld_block b;
    while (ld_track_next_live(&k, &it, &b)) {
        bytes += b.size;
        blocks++;
    }
    for (size_t i = 0; i < mk_vec_len(&k.sites); i++) {
        const ld_stat *s = mk_vec_get(&k.sites, i);
        sb += s->live_bytes;
        sn += s->live_blocks;
    }
    for (size_t i = 0; i < mk_vec_len(&k.types); i++) {
        const ld_stat *s = mk_vec_get(&k.types, i);
        tb += s->live_bytes;
        tn += s->live_blocks;
    }
    FUZZ_CHECK(bytes == k.t.live_bytes && blocks == k.t.live_blocks, "blocks %llu/%llu vs totals %llu/%llu",
               (unsigned long long)bytes, (unsigned long long)blocks, (unsigned long long)k.t.live_bytes,
               (unsigned long long)k.t.live_blocks);
    FUZZ_CHECK(sb == bytes && sn == blocks, "sites %llu/%llu", (unsigned long long)sb, (unsigned long long)sn);
    FUZZ_CHECK(tb == bytes && tn == blocks, "types %llu/%llu", (unsigned long long)tb, (unsigned long long)tn);
    FUZZ_CHECK(k.t.peak_bytes >= k.t.live_bytes, "peak below live");
    FUZZ_CHECK(k.t.allocs + k.t.reallocs >= k.t.live_blocks, "more live blocks than allocations");

    ld_opts o = { &sites, &types, 2, 0, BY_PEAK, 0, 5, 2, NULL, 0 };
    char *pat[] = { "*a*" };
    o.supp = pat;
    o.nsupp = 1;
    mk_out *out = mk_out_open_mem();
    uint64_t n1, n2, n3, n4;
    mk_table *tabs[8];
    size_t nt = 0;
    tabs[nt++] = ld_top(&k, &o);
    o.by_type = 1;
    tabs[nt++] = ld_top(&k, &o);
    tabs[nt++] = ld_leaks(&k, &o, &n1, &n2, &n3);
    tabs[nt++] = ld_growth(&k, &o, &n4);
    tabs[nt++] = ld_timeline(&k, &o);
    tabs[nt++] = ld_timeline_snapshots(&k);
    ld_moment m0 = { &k, mk_vec_len(&k.snaps) ? 0 : -1 }, m1 = { &k, -1 };
    tabs[nt++] = ld_diff(m0, m1, &o);
    tabs[nt++] = ld_suggest(&k, &o);
    for (size_t i = 0; i < nt; i++) {
        mk_table_write(tabs[i], MK_FMT_JSON, out);
        mk_table_free(tabs[i]);
    }
    ld_summary_write(&k, "memkit", MK_FMT_TEXT, out);
    ld_html_opts ho = { "fuzz", "memkit" };
    ld_html_write(&k, &o, &ho, out);
    mk_out_discard(out);
    ld_track_free(&k);
    mk_intern_free(&sites);
    mk_intern_free(&types);
    return 0;
}
