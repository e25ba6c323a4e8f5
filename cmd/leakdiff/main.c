/* leakdiff — leaks, growth, peaks and snapshot diffs from heap traces.
 *
 * Flow: subcommand and options → each trace (memkit heap format or glibc
 * mtrace; plain, zstd or gzip) replayed event by event into a track (live
 * blocks, per-site figures, exact peak, snapshots, timeline) → the report the
 * subcommand asks for, as text, TSV, CSV, JSON or NDJSON, or one HTML page.
 * Memory follows the live set, never the trace length. */
#include "cli.h"
#include "err.h"
#include "html.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "record.h"
#include "report.h"
#include "source.h"
#include "trace.h"
#include "text.h"
#include "track.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- options ---------------------------------------------------------------------- */

static char *by = "live", *group = "site", *from_label, *to_label, *supp_file, *title;
static uint64_t depth, limit = 20, buckets = 20, min_rises = 3;
static int fail_on_growth, growth_only, at_snapshots;
static mk_cli cli;

static const mk_opt opts[] = {
    { "by", 0, MK_ARG_CHOICE, &by, "KEY", "top: rank sites by live bytes at the end, share of the peak, "
      "total bytes allocated or number of allocations", "live|peak|total|count", "live" },
    { "group", 0, MK_ARG_CHOICE, &group, "KEY", "top: per call site, or per type (t=TYPE; else size class)",
      "site|type", "site" },
    { "depth", 0, MK_ARG_UINT, &depth, "N", "group call chains by their N innermost frames (0 = whole chain)",
      NULL, "0" },
    { "limit", 'n', MK_ARG_UINT, &limit, "N", "at most N rows per table (0 = all)", NULL, "20" },
    { "buckets", 0, MK_ARG_UINT, &buckets, "N", "timeline: rows over the whole trace", NULL, "20" },
    { "snapshots", 0, MK_ARG_FLAG, &at_snapshots, NULL, "timeline: one row per snapshot marker instead" },
    { "from", 0, MK_ARG_STR, &from_label, "LABEL",
      "diff: the snapshot to compare from (default: the first; of two traces, the end)" },
    { "to", 0, MK_ARG_STR, &to_label, "LABEL", "diff: the snapshot to compare to (default: the end of the trace)" },
    { "suppressions", 0, MK_ARG_STR, &supp_file, "FILE", "leaks: ignore blocks whose site matches a pattern "
      "in FILE (one glob per line)" },
    { "min-rises", 0, MK_ARG_UINT, &min_rises, "K", "growth suspects: live bytes rose across K consecutive "
      "snapshots or windows", NULL, "3" },
    { "growth", 0, MK_ARG_FLAG, &growth_only, NULL, "leaks: print the growth suspects table instead" },
    { "fail-on-growth", 0, MK_ARG_FLAG, &fail_on_growth, NULL, "leaks: exit 1 on growth suspects too" },
    { "title", 0, MK_ARG_STR, &title, "TEXT", "html: the page title (default: the trace's name)" },
    { 0 },
};

static const char *const SUBCOMMANDS[] = { "summary", "top", "timeline", "diff", "leaks", "suggest", "html",
                                           NULL };
static const char *const COMMANDS[] = { "record", NULL };   /* options of its own: record.c */

static const mk_cli_spec spec = {
    "leakdiff", "[summary|top|timeline|diff|leaks|suggest|html] [OPTIONS] [FILE...]",
    "Leaks, growth, peaks and snapshot diffs from heap traces (memkit heap format or glibc mtrace).",
    "Reports (the first argument; none = summary, top sites and leaks as text):\n"
    "  summary   allocations, frees, bytes, live at the end, the exact peak and when\n"
    "  top       sites (or types) ranked --by live, peak, total or count\n"
    "  timeline  live bytes over time in --buckets N, or at each --snapshots marker\n"
    "  diff      per-site change between two snapshots (--from, --to) or two traces\n"
    "  leaks     blocks not freed at the end, by site, and growth suspects\n"
    "            (exit 1 when blocks remain)\n"
    "  suggest   patterns worth fixing, each with its evidence\n"
    "  html      one self-contained page with charts (-o FILE)\n"
    "\n"
    "Recording (leakdiff record --help for its options):\n"
    "  record -- CMD ARGS   run CMD and write its heap trace; current and peak at exit\n"
    "\n"
    "Exit status: 0 ok; 1 leaks (or, with --fail-on-growth, growth) found by\n"
    "leaks or the default report; 2 bad usage or input.\n"
    "\n"
    "Examples:\n"
    "  leakdiff record -o run.zst -- ./server --once && leakdiff leaks run.zst\n"
    "  leakdiff leaks --suppressions ci.supp trace.zst || exit 1\n"
    "  leakdiff diff --from 'warm' --to 'after 1000 requests' trace\n"
    "  leakdiff html -o report.html trace",
    opts, MK_STD_CONFIG | MK_STD_FORMAT | MK_STD_OUTPUT | MK_STD_QUIET | MK_STD_PROGRESS | MK_STD_STATS |
              MK_STD_LENIENT,
    NULL, SUBCOMMANDS, NULL, COMMANDS,
};

/* ---- reading --------------------------------------------------------------------------- */

static mk_intern sites, types;
static mk_stats_counts st;
static const char *trace_format = "none";

static const char *format_name(ld_format f)
{
    return f == LD_FMT_MTRACE ? "mtrace" : f == LD_FMT_MEMKIT ? "memkit" : "none";
}

/* Replay one file into k; *cont is the trace it continues (closed here) and
 * becomes this one, left open for the next file. */
static void replay(const char *path, ld_track *k, ld_trace **cont)
{
    ld_trace *t = ld_trace_open(path, &sites, &types, cli.lenient, *cont);
    if (!t)
        mk_die_err();
    if (*cont && ld_trace_close(*cont) < 0)
        mk_die_err();
    *cont = t;
    mk_progress pr;
    mk_progress_init(&pr, mk_cli_progress_wanted(&cli), ld_trace_name(t), 0);
    /* Events go in batches: every block's slot is asked for before the
     * first is used, so the cache misses of a big live set overlap. A
     * snapshot ends a batch (its label lives only until the next read). */
    enum { BATCH = 16 };
    ld_event ev[BATCH];
    int r = 1;
    uint64_t n = 0;
    while (r > 0) {
        size_t m = 0;
        while (m < BATCH && (r = ld_trace_next(t, &ev[m])) > 0) {
            ld_track_prefetch(k, ev[m].addr);
            if (ev[m++].kind == LD_SNAPSHOT)
                break;
        }
        for (size_t i = 0; i < m; i++) {
            if (ev[i].kind == LD_REALLOC)
                ld_track_prefetch(k, ev[i].old);
            ld_track_event(k, &ev[i]);
        }
        n += m;
        if ((n & ~(uint64_t)0xffff) != ((n - m) & ~(uint64_t)0xffff))
            mk_progress_update(&pr, ld_trace_lines(t));
    }
    mk_progress_end(&pr);
    if (r < 0)
        mk_die_err();
    st.records += n;
    st.bad_records += ld_trace_skipped(t);
    if (ld_trace_format(t) != LD_FMT_UNKNOWN)
        trace_format = format_name(ld_trace_format(t));
    if (ld_trace_skipped(t) && !cli.quiet)
        fprintf(stderr, "leakdiff: %s: skipped %llu bad records (--lenient)\n", ld_trace_name(t),
                (unsigned long long)ld_trace_skipped(t));
}

static void replay_done(ld_trace **cont)
{
    if (*cont && ld_trace_close(*cont) < 0)
        mk_die_err();
    *cont = NULL;
}

/* Findings go to stderr as warnings, the first few with their lines. */
static void warn_findings(const ld_track *k, const char *name)
{
    static const char *const what[] = { "free of an address that is not allocated",
                                        "double free", "realloc of an address that is not allocated",
                                        "allocation at an address that is still allocated (a free is missing)" };
    if (cli.quiet)
        return;
    size_t n = mk_vec_len(&k->findings), shown = n < 10 ? n : 10;
    for (size_t i = 0; i < shown; i++) {
        const ld_finding *f = mk_vec_get(&k->findings, i);
        char a[32];
        ld_addr_str(f->addr, a, sizeof a);
        if (f->kind == LD_F_DOUBLE_FREE)
            fprintf(stderr, "leakdiff: %s:%llu: %s of %s (freed at line %llu)\n", name,
                    (unsigned long long)f->line, what[f->kind], a, (unsigned long long)f->other_line);
        else
            fprintf(stderr, "leakdiff: %s:%llu: %s: %s\n", name, (unsigned long long)f->line,
                    what[f->kind], a);
    }
    uint64_t total = k->t.findings[0] + k->t.findings[1] + k->t.findings[2] + k->t.findings[3];
    if (total > shown)
        fprintf(stderr, "leakdiff: %s: %llu more findings (leakdiff summary counts them)\n", name,
                (unsigned long long)(total - shown));
}

static void load_suppressions(ld_opts *o)
{
    if (!supp_file)
        return;
    FILE *f = fopen(supp_file, "r");
    if (!f)
        mk_die("%s: %s", supp_file, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while ((len = getline(&line, &cap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' || line[len - 1] == ' ' ||
                           line[len - 1] == '\t'))
            line[--len] = 0;
        char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p || *p == '#')
            continue;
        o->supp = mk_xrealloc(o->supp, (o->nsupp + 1) * sizeof *o->supp);
        o->supp[o->nsupp++] = mk_xstrdup(p);
    }
    int bad = ferror(f);
    free(line);
    fclose(f);
    if (bad)
        mk_die("%s: read error", supp_file);
}

/* ---- reports --------------------------------------------------------------------------- */

static void heading(mk_out *out, const char *s)
{
    mk_out_printf(out, "\n== %s\n", s);
}

static void write_table(mk_table *t, mk_out *out, const char *empty)
{
    if (cli.format == MK_FMT_TEXT && mk_table_rows(t) == 0 && empty)
        mk_out_printf(out, "%s\n", empty);
    else
        mk_table_write(t, cli.format, out);
    mk_table_free(t);
}

/* leaks (and the default report): 1 when leaks (or suspects) remain. */
static int leaks_report(ld_track *k, const ld_opts *o, mk_out *out, int text_sections)
{
    uint64_t nleak, sb, sn, nsus;
    mk_table *lt = ld_leaks(k, o, &nleak, &sb, &sn);
    mk_table *gt = ld_growth(k, o, &nsus);
    if (growth_only) {
        write_table(gt, out, "no growth suspects");
        mk_table_free(lt);
    } else if (cli.format == MK_FMT_TEXT) {
        if (text_sections)
            heading(out, "not freed at the end, by site");
        write_table(lt, out, "no blocks left allocated");
        if (sn) {
            char b[MK_FMT_BUFSZ];
            mk_fmt_bytes(b, sizeof b, sb);
            mk_out_printf(out, "(%llu blocks, %s, suppressed)\n", (unsigned long long)sn, b);
        }
        heading(out, "growth suspects");
        write_table(gt, out, "none");
    } else {
        write_table(lt, out, NULL);
        mk_table_free(gt);
    }
    return nleak || (fail_on_growth && nsus) ? 1 : 0;
}

static int default_report(ld_track *k, const ld_opts *o, mk_out *out)
{
    if (cli.format != MK_FMT_TEXT && cli.format != MK_FMT_JSON)
        mk_die("the default report is text or json; name a report (summary, top, leaks, ...) for %s",
               mk_format_name(cli.format));
    if (cli.format == MK_FMT_JSON) {
        mk_out_str(out, "{\"summary\":");
        ld_summary_write(k, trace_format, MK_FMT_NDJSON, out);
        mk_out_str(out, ",\"top\":");
        mk_table *t = ld_top(k, o);
        mk_table_write(t, MK_FMT_JSON, out);
        mk_table_free(t);
        uint64_t nleak, sb, sn, nsus;
        mk_table *lt = ld_leaks(k, o, &nleak, &sb, &sn);
        mk_out_str(out, ",\"leaks\":");
        mk_table_write(lt, MK_FMT_JSON, out);
        mk_table_free(lt);
        mk_table *gt = ld_growth(k, o, &nsus);
        mk_out_str(out, ",\"growth\":");
        mk_table_write(gt, MK_FMT_JSON, out);
        mk_table_free(gt);
        mk_out_str(out, "}\n");
        return nleak || (fail_on_growth && nsus) ? 1 : 0;
    }
    ld_summary_write(k, trace_format, MK_FMT_TEXT, out);
    heading(out, "top sites by live bytes at the end");
    write_table(ld_top(k, o), out, "no allocations");
    return leaks_report(k, o, out, 1);
}

static long snapshot_or_die(const ld_track *k, const char *label, const char *opt)
{
    long i = ld_snapshot_find(k, label);
    if (i >= 0)
        return i;
    if (!mk_vec_len(&k->snaps))
        mk_die("--%s %s: the trace has no snapshot markers", opt, label);
    const char *names[64];
    size_t n = mk_vec_len(&k->snaps) < 64 ? mk_vec_len(&k->snaps) : 64;
    for (size_t j = 0; j < n; j++)
        names[j] = ((const ld_snap *)mk_vec_get(&k->snaps, j))->label;
    int near = mk_nearest(label, strlen(label), names, n);
    if (near >= 0)
        mk_die("--%s: no snapshot labelled '%s' (did you mean '%s'?)", opt, label, names[near]);
    mk_die("--%s: no snapshot labelled '%s'", opt, label);
}

/* ---- main ------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *sub = NULL;
    mk_progname = spec.name;
    if (argc > 1)
        for (size_t i = 0; SUBCOMMANDS[i]; i++)
            if (strcmp(argv[1], SUBCOMMANDS[i]) == 0) {
                sub = SUBCOMMANDS[i];
                argv[1] = argv[0];
                argv++;
                argc--;
                break;
            }
    if (argc > 1 && strcmp(argv[1], "record") == 0)
        return ld_record_main(argc - 1, argv + 1);
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    int nfiles;
    char **files = mk_cli_files(argc, argv, first, &nfiles);
    mk_intern_init(&sites, 0);
    mk_intern_init(&types, 0);
    ld_opts o = { &sites, &types, (unsigned)depth, limit, BY_LIVE, strcmp(group, "type") == 0, buckets,
                  min_rises, NULL, 0 };
    o.by = strcmp(by, "peak") == 0 ? BY_PEAK : strcmp(by, "total") == 0 ? BY_TOTAL
         : strcmp(by, "count") == 0 ? BY_COUNT : BY_LIVE;
    if (min_rises == 0)
        mk_cli_option_error(&cli, "min-rises", "expected 1 or more");
    int is_diff = sub && strcmp(sub, "diff") == 0, is_html = sub && strcmp(sub, "html") == 0;
    if (is_diff && nfiles > 2)
        mk_cli_usage_error(&cli, "diff: one trace (with --from/--to) or two traces, not %d", nfiles);
    if (is_html && (!cli.output || strcmp(cli.output, "-") == 0) && !cli.quiet && isatty(1))
        mk_cli_usage_error(&cli, "html: give -o FILE (the page is not for a terminal)");
    load_suppressions(&o);

    ld_track a, b;
    ld_track_init(&a, &types);
    int two = is_diff && nfiles == 2;
    ld_trace *cont = NULL;
    if (two) {
        ld_track_init(&b, &types);
        replay(files[0], &a, &cont);
        replay_done(&cont);
        replay(files[1], &b, &cont);
        ld_track_end(&b);
    } else {
        for (int i = 0; i < nfiles; i++)
            replay(files[i], &a, &cont);
    }
    replay_done(&cont);
    ld_track_end(&a);
    warn_findings(&a, nfiles == 1 || two ? files[0] : "input");
    if (two)
        warn_findings(&b, files[1]);

    mk_out *out = mk_out_open(cli.output);
    if (!out)
        mk_die_err();
    int rc = 0;
    if (!sub) {
        rc = default_report(&a, &o, out);
    } else if (strcmp(sub, "summary") == 0) {
        ld_summary_write(&a, trace_format, cli.format, out);
    } else if (strcmp(sub, "top") == 0) {
        write_table(ld_top(&a, &o), out, "no allocations");
    } else if (strcmp(sub, "timeline") == 0) {
        if (at_snapshots)
            write_table(ld_timeline_snapshots(&a), out, "no snapshot markers");
        else
            write_table(ld_timeline(&a, &o), out, "no events");
    } else if (strcmp(sub, "leaks") == 0) {
        rc = leaks_report(&a, &o, out, 0);
    } else if (strcmp(sub, "suggest") == 0) {
        write_table(ld_suggest(&a, &o), out, "no suggestions");
    } else if (is_diff) {
        ld_moment m0 = { &a, -1 }, m1 = { two ? &b : &a, -1 };
        if (from_label)
            m0.snap = snapshot_or_die(&a, from_label, "from");
        else if (!two) {
            if (!mk_vec_len(&a.snaps))
                mk_die("diff: the trace has no snapshot markers; give two traces, or --from/--to labels");
            m0.snap = 0;
        }
        if (to_label)
            m1.snap = snapshot_or_die(m1.k, to_label, "to");
        write_table(ld_diff(m0, m1, &o), out, "no differences");
    } else if (is_html) {
        ld_html_opts ho = { title ? title : (nfiles == 1 ? files[0] : "heap trace"), trace_format };
        ld_html_write(&a, &o, &ho, out);
    }
    if (mk_out_close(out) < 0)
        mk_die_err();
    if (cli.stats) {
        mk_stats_print(&st);
        fprintf(stderr, "leakdiff: stats: live blocks at the end %llu, sites %zu, block table %zu slots "
                "(%zu freed marks)\n", (unsigned long long)a.t.live_blocks, mk_intern_count(&sites), a.cap,
                a.freed);
    }
    ld_track_free(&a);
    if (two)
        ld_track_free(&b);
    for (size_t i = 0; i < o.nsupp; i++)
        free(o.supp[i]);
    free(o.supp);
    mk_intern_free(&sites);
    mk_intern_free(&types);
    return rc;
}
