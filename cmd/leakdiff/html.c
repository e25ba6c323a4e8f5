/* html — the whole analysis as one self-contained HTML page (see html.h). */
#include "html.h"
#include "err.h"
#include "parse.h"
#include "svg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char STYLE[] =
    "body{font-family:sans-serif;margin:2em auto;max-width:1100px;color:#222}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;font-size:13px}th,td{padding:3px 8px;border-bottom:1px solid #eee;"
    "text-align:left}th{background:#f4f4f4}.num{text-align:right;font-variant-numeric:tabular-nums}"
    "dl{display:grid;grid-template-columns:max-content auto;gap:4px 16px}dt{color:#555}dd{margin:0}"
    "svg{width:100%;height:auto;max-width:1000px}.none{color:#777}";

static void section(mk_out *o, const char *id, const char *title)
{
    mk_out_printf(o, "<h2 id=\"%s\">", id);
    mk_out_html(o, title, strlen(title));
    mk_out_str(o, "</h2>\n");
}

static void table_or(mk_out *o, mk_table *t, const char *empty)
{
    if (mk_table_rows(t))
        mk_table_write_html(t, o);
    else
        mk_out_printf(o, "<p class=\"none\">%s</p>\n", empty);
    mk_table_free(t);
}

static void dd_bytes(mk_out *o, const char *name, uint64_t v)
{
    char b[MK_FMT_BUFSZ];
    mk_fmt_bytes(b, sizeof b, v);
    mk_out_printf(o, "<dt>%s</dt><dd title=\"%llu\">%s (%llu B)</dd>\n", name, (unsigned long long)v, b,
                  (unsigned long long)v);
}

static void summary(mk_out *o, const ld_track *k, const ld_html_opts *h)
{
    const ld_totals *t = &k->t;
    char d[MK_FMT_BUFSZ];
    mk_out_str(o, "<dl>\n<dt>format</dt><dd>");
    mk_out_html(o, h->format, strlen(h->format));
    mk_out_printf(o, "</dd>\n<dt>allocations</dt><dd>%llu</dd>\n<dt>reallocations</dt><dd>%llu</dd>\n"
                     "<dt>frees</dt><dd>%llu</dd>\n",
                  (unsigned long long)t->allocs, (unsigned long long)t->reallocs, (unsigned long long)t->frees);
    dd_bytes(o, "allocated in total", t->total_bytes);
    dd_bytes(o, "not freed at the end", t->live_bytes);
    mk_out_printf(o, "<dt>blocks not freed</dt><dd>%llu</dd>\n", (unsigned long long)t->live_blocks);
    dd_bytes(o, "peak", t->peak_bytes);
    if (t->peak_has_ts) {
        mk_fmt_duration(d, sizeof d, t->peak_ts);
        mk_out_printf(o, "<dt>peak at</dt><dd>%s (line %llu)</dd>\n", d, (unsigned long long)t->peak_line);
    } else {
        mk_out_printf(o, "<dt>peak at</dt><dd>line %llu</dd>\n", (unsigned long long)t->peak_line);
    }
    char f[256];
    if (ld_findings_text(k, f, sizeof f))
        mk_out_printf(o, "<dt>findings</dt><dd>%s</dd>\n", f);
    mk_out_str(o, "</dl>\n");
}

/* Live bytes over the trace: every timeline point, snapshot markers and the
 * peak; x is time when the trace has timestamps, else the event number. */
static void timeline(mk_out *o, const ld_track *k)
{
    size_t n = mk_vec_len(&k->points), ns = mk_vec_len(&k->snaps);
    int ts = k->t.has_ts;
    double *xs = mk_xmalloc((2 * n + 2) * sizeof *xs), *ys = mk_xmalloc((2 * n + 2) * sizeof *ys);
    size_t m = 0;
    xs[m] = 0;
    ys[m++] = 0;
    for (size_t i = 0; i < n; i++) {
        const ld_tpoint *p = mk_vec_get(&k->points, i);
        double x = ts ? (double)(p->ts - k->t.first_ts) : (double)p->event;
        /* the highest point inside, then where it ended */
        xs[m] = x;
        ys[m++] = (double)p->live_max;
        xs[m] = x;
        ys[m++] = (double)p->live_end;
    }
    if (ts && m > 1)
        xs[0] = xs[1];
    mk_svg_marker *mk = mk_xcalloc(ns + 1, sizeof *mk);
    for (size_t i = 0; i < ns; i++) {
        const ld_snap *s = mk_vec_get(&k->snaps, i);
        mk[i].x = ts ? (double)(s->ts - k->t.first_ts) : (double)s->event;
        mk[i].label = s->label;
    }
    char b[MK_FMT_BUFSZ], pl[96];
    mk_fmt_bytes(b, sizeof b, k->t.peak_bytes);
    snprintf(pl, sizeof pl, "peak %s", b);
    mk[ns] = (mk_svg_marker){ ts ? (double)(k->t.peak_ts - k->t.first_ts) : (double)k->t.peak_event,
                              (double)k->t.peak_bytes, 1, pl };
    mk_svg_chart c = { "Live bytes", ts ? "time since the first record" : "event", "live bytes",
                       ts ? MK_AXIS_DURATION : MK_AXIS_COUNT, MK_AXIS_BYTES, 0, 0 };
    mk_svg_line(o, &c, xs, ys, m, mk, k->t.peak_bytes ? ns + 1 : ns);
    free(xs);
    free(ys);
    free(mk);
}

static void top_bars(mk_out *o, ld_track *k, const ld_opts *o0)
{
    ld_opts opt = *o0;
    opt.by = BY_PEAK;
    if (!opt.limit || opt.limit > 15)
        opt.limit = 15;
    mk_table *t = ld_top(k, &opt);
    size_t n = mk_table_rows(t);
    char **owned = mk_xcalloc(n + 1, sizeof *owned);
    double *vals = mk_xcalloc(n + 1, sizeof *vals);
    char buf[64];
    for (size_t i = 0; i < n; i++) {
        const char *s;
        size_t len;
        mk_table_cell(t, i, 0, buf, sizeof buf, &s, &len);
        owned[i] = mk_xmalloc(len + 1);
        memcpy(owned[i], s, len);
        owned[i][len] = 0;
        mk_table_cell(t, i, 3, buf, sizeof buf, &s, &len);   /* peak_bytes */
        vals[i] = strtod(s, NULL);
    }
    mk_svg_chart c = { "Top sites by their share of the peak", NULL, "bytes live at the peak",
                       MK_AXIS_COUNT, MK_AXIS_BYTES, 0, 0 };
    if (n)
        mk_svg_bars(o, &c, (const char *const *)owned, vals, n);
    else
        mk_out_str(o, "<p class=\"none\">no allocations</p>\n");
    for (size_t i = 0; i < n; i++)
        free(owned[i]);
    free(owned);
    free(vals);
    section(o, "top", "Top sites");
    table_or(o, t, "no allocations");
}

void ld_html_write(ld_track *k, const ld_opts *o, const ld_html_opts *h, mk_out *out)
{
    mk_out_str(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>leakdiff: ");
    mk_out_html(out, h->title, strlen(h->title));
    mk_out_printf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>leakdiff: ", STYLE);
    mk_out_html(out, h->title, strlen(h->title));
    mk_out_str(out, "</h1>\n");
    section(out, "summary", "Summary");
    summary(out, k, h);
    section(out, "timeline", "Timeline");
    timeline(out, k);
    section(out, "peak", "Where the peak came from");
    top_bars(out, k, o);
    uint64_t nleak, sb, sn, nsus;
    section(out, "leaks", "Not freed at the end, by site");
    table_or(out, ld_leaks(k, o, &nleak, &sb, &sn), "No blocks were left allocated.");
    section(out, "growth", "Growth suspects");
    table_or(out, ld_growth(k, o, &nsus), "No site grew across enough consecutive snapshots.");
    section(out, "diff", "Change from the first snapshot to the end");
    if (mk_vec_len(&k->snaps)) {
        ld_moment a = { k, 0 }, b = { k, -1 };
        table_or(out, ld_diff(a, b, o), "No differences.");
    } else {
        mk_out_str(out, "<p class=\"none\">The trace has no snapshot markers.</p>\n");
    }
    section(out, "suggestions", "Suggestions");
    table_or(out, ld_suggest(k, o), "None of the rules fired.");
    if (mk_vec_len(&k->findings)) {
        section(out, "findings", "Findings");
        table_or(out, ld_findings(k, o), "");
    }
    mk_out_str(out, "<p class=\"none\">Made by leakdiff (memkit). Sizes in KiB/MiB are powers of 1024; "
                    "exact bytes are in each value's tooltip.</p>\n</body>\n</html>\n");
}
