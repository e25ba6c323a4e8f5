/* cli — options table → getopt_long, YAML config, --help (see cli.h). */
#include "cli.h"
#include "cfg.h"
#include "err.h"
#include "parse.h"
#include "progress.h"
#include "text.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_OPTS = 128 };

/* Standard options live in the mk_cli they fill, so the table is built per
 * parse; only the ones the tool asked for are added. */
typedef struct {
    const mk_opt *o[MAX_OPTS];
    size_t n;
    int from_cli[MAX_OPTS];    /* a LIST set on the command line drops config values */
    const mk_cli_spec *spec;
    mk_cli *cli;
} table;

/* Strings we hand out stay reachable (no leak reports) and live until exit. */
static char **kept;
static size_t nkept;

static char *keep(const char *s, size_t n)
{
    kept = mk_xrealloc(kept, (nkept + 1) * sizeof *kept);
    return kept[nkept++] = mk_xstrndup(s, n);
}

static mk_opt std_opts[16];

static char format_choices[256];

static void build(table *t, mk_cli *cli, const mk_cli_spec *spec)
{
    size_t k = 0;
    snprintf(format_choices, sizeof format_choices, "%s%s%s", MK_FORMAT_CHOICES,
             spec->extra_formats ? "|" : "", spec->extra_formats ? spec->extra_formats : "");
    memset(t, 0, sizeof *t);
    t->spec = spec;
    t->cli = cli;
    for (const mk_opt *o = spec->opts; o && o->name; o++)
        t->o[t->n++] = o;
#define STD(bit, ...) if (spec->std & (bit)) { std_opts[k] = (mk_opt){ __VA_ARGS__ }; t->o[t->n++] = &std_opts[k++]; }
    STD(MK_STD_CONFIG, "config", 'c', MK_ARG_STR, &cli->config, "FILE",
        "read options from a YAML file (keys are long option names)")
    STD(MK_STD_FORMAT, "format", 'f', MK_ARG_CHOICE, &cli->format_name, "FORMAT",
        "output format", format_choices, "text")
    STD(MK_STD_OUTPUT, "output", 'o', MK_ARG_STR, &cli->output, "FILE",
        "write to FILE (atomically: a temporary file renamed at the end)")
    STD(MK_STD_THREADS, "threads", 'j', MK_ARG_INT, &cli->threads, "N",
        "worker threads (0 = one per core)", NULL, "0")
    STD(MK_STD_LENIENT, "lenient", 0, MK_ARG_FLAG, &cli->lenient, NULL,
        "skip and count malformed records instead of stopping")
    STD(MK_STD_QUIET, "quiet", 'q', MK_ARG_FLAG, &cli->quiet, NULL,
        "no progress and no warnings")
    STD(MK_STD_PROGRESS, "progress", 0, MK_ARG_FLAG, &cli->progress, NULL,
        "show progress on stderr even when it is not a terminal")
    STD(MK_STD_STATS, "stats", 0, MK_ARG_FLAG, &cli->stats, NULL,
        "print wall and CPU time, bytes, records and peak memory on stderr")
#undef STD
}

void mk_cli_usage_error(const mk_cli *cli, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mk_progname = cli->spec->name;
    mk_err_print(msg);
    fprintf(stderr, "Try '%s --help' for more information.\n", cli->spec->name);
    exit(MK_EXIT_ERROR);
}

static const char *kind_word(mk_argkind k)
{
    switch (k) {
    case MK_ARG_INT: case MK_ARG_UINT: return "a number";
    case MK_ARG_SIZE: return "a size";
    case MK_ARG_DURATION: return "a duration";
    case MK_ARG_FLOAT: return "a number";
    case MK_ARG_FLAG: return "true or false";
    default: return "a value";
    }
}

static int check_choice(const mk_opt *o, const char *v)
{
    const char *c = o->choices;
    size_t n = strlen(v);
    while (c && *c) {
        const char *bar = strchr(c, '|');
        size_t len = bar ? (size_t)(bar - c) : strlen(c);
        if (len == n && strncmp(c, v, n) == 0)
            return 0;
        c = bar ? bar + 1 : c + len;
    }
    return mk_err_set("expected one of %s, found '%s'", o->choices, v);
}

/* Store one value; `split` splits LIST values at commas (not for YAML lists). */
static int apply(table *t, size_t idx, const char *v, int split)
{
    const mk_opt *o = t->o[idx];
    size_t n = strlen(v);
    if (o->set)
        return o->set(o, v, t->spec->ctx);
    switch (o->kind) {
    case MK_ARG_FLAG: {
        int b = 1;
        if (v[0] && mk_parse_bool(v, n, &b) < 0)
            return -1;
        *(int *)o->dst = b;
        return 0;
    }
    case MK_ARG_CHOICE:
        if (check_choice(o, v) < 0)
            return -1;
        /* fall through */
    case MK_ARG_STR:
        *(char **)o->dst = keep(v, n);
        return 0;
    case MK_ARG_INT: return mk_parse_i64(v, n, o->dst);
    case MK_ARG_UINT: return mk_parse_u64(v, n, o->dst);
    case MK_ARG_SIZE: return mk_parse_size(v, n, o->dst);
    case MK_ARG_DURATION: return mk_parse_duration(v, n, o->dst);
    case MK_ARG_FLOAT: return mk_parse_double(v, n, o->dst);
    case MK_ARG_LIST: {
        mk_list *l = o->dst;
        const char *p = v;
        for (;;) {
            const char *comma = split ? strchr(p, ',') : NULL;
            size_t len = comma ? (size_t)(comma - p) : strlen(p);
            l->v = mk_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
            l->v[l->n++] = keep(p, len);
            if (!comma)
                return 0;
            p = comma + 1;
        }
    }
    }
    return 0;
}

static int find_long(const table *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->o[i]->name, name) == 0)
            return (int)i;
    return -1;
}

static int origin_index(const mk_cli *cli, const char *name)
{
    for (size_t i = 0; i < cli->norigin; i++)
        if (strcmp(cli->origin_name[i], name) == 0)
            return (int)i;
    return -1;
}

/* The origin arrays, kept here like the strings (a parse starts the
 * mk_cli afresh, and they stay reachable for the next). */
static const char **origin_names, **origin_locs;
static size_t origin_cap;

/* loc NULL: the command line set it. */
static void set_origin(mk_cli *cli, const char *name, const char *loc)
{
    int i = origin_index(cli, name);
    if (i < 0) {
        if (!loc)
            return;
        if (cli->norigin == origin_cap) {
            origin_cap = origin_cap ? 2 * origin_cap : 16;
            origin_names = mk_xrealloc(origin_names, origin_cap * sizeof *origin_names);
            origin_locs = mk_xrealloc(origin_locs, origin_cap * sizeof *origin_locs);
        }
        cli->origin_name = origin_names;
        cli->origin_loc = origin_locs;
        i = (int)cli->norigin++;
        cli->origin_name[i] = name;
    }
    cli->origin_loc[i] = loc;
}

const char *mk_cli_origin(const mk_cli *cli, const char *name)
{
    int i = origin_index(cli, name);
    return i < 0 ? NULL : cli->origin_loc[i];
}

void mk_cli_option_error(const mk_cli *cli, const char *name, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *at = mk_cli_origin(cli, name);
    if (at)
        mk_die("%s: %s: %s", at, name, msg);
    mk_cli_usage_error(cli, "option --%s: %s", name, msg);
}

static int on_cfg(void *ctx, const mk_cfg_item *it)
{
    table *t = ctx;
    int i = find_long(t, it->key);
    if (i < 0 || strcmp(it->key, "config") == 0) {
        const char *names[MAX_OPTS];
        for (size_t k = 0; k < t->n; k++)
            names[k] = strcmp(t->o[k]->name, "config") ? t->o[k]->name : NULL;
        int s = mk_nearest(it->key, strlen(it->key), names, t->n);
        if (s >= 0)
            return mk_err_set("unknown key '%s' (did you mean '%s'?)", it->key, names[s]);
        return mk_err_set("unknown key '%s' (%s takes the long option names; see --help)",
                          it->key, t->spec->name);
    }
    const mk_opt *o = t->o[i];
    if (it->is_list && o->kind != MK_ARG_LIST)
        return mk_err_set("%s: expected %s, found a list", it->key, kind_word(o->kind));
    if (it->is_null)
        return mk_err_set("%s: expected %s, found nothing", it->key, kind_word(o->kind));
    for (size_t k = 0; k < it->nvals; k++)
        if (apply(t, (size_t)i, it->vals[k], !it->is_list) < 0)
            return mk_err_prefix("%s: ", it->key);
    char loc[600];
    int n = snprintf(loc, sizeof loc, "%s:%zu:%zu", it->file, it->line, it->col);
    set_origin(t->cli, o->name, keep(loc, (size_t)n));
    return 0;
}

void mk_cli_help(const mk_cli_spec *spec, void *stream)
{
    FILE *f = stream;
    mk_cli dummy = { 0 };
    table t;
    build(&t, &dummy, spec);
    fprintf(f, "Usage: %s %s\n%s\n\nOptions:\n", spec->name, spec->usage, spec->summary);
    for (size_t i = 0; i < t.n; i++) {
        const mk_opt *o = t.o[i];
        char left[96];
        int n = snprintf(left, sizeof left, "  %c%c%s--%s%s%s", o->short_name ? '-' : ' ',
                         o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ",
                         o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        fprintf(f, "%s%*s%s", left, n < 30 ? 30 - n : 1, "", o->help);
        if (o->choices)
            fprintf(f, ": %s", o->choices);
        if (o->def)
            fprintf(f, " (default: %s)", o->def);
        fputc('\n', f);
    }
    fprintf(f, "  -h, --help                  show this help and exit\n"
               "  -V, --version               show the version and exit\n");
    if (spec->epilog)
        fprintf(f, "\n%s\n", spec->epilog);
}

/* --list-options: one option a line, "long<TAB>short<TAB>ARG<TAB>choices<TAB>help",
 * empty fields for what an option lacks. Completions are generated from it
 * and the doc tests compare man pages against it. */
static void list_options(const table *t)
{
    for (size_t i = 0; i < t->n; i++) {
        const mk_opt *o = t->o[i];
        char sh[3] = { '-', (char)o->short_name, 0 };
        printf("--%s\t%s\t%s\t%s\t%s\n", o->name, o->short_name ? sh : "", o->arg ? o->arg : "",
               o->choices ? o->choices : "", o->help);
    }
    printf("--help\t-h\t\t\tshow this help and exit\n"
           "--version\t-V\t\t\tshow the version and exit\n");
}

typedef struct {
    int idx;
    char *val;
} pending;

int mk_cli_parse(mk_cli *cli, const mk_cli_spec *spec, int argc, char **argv)
{
    mk_progname = spec->name;
    mk_stats_start();
    memset(cli, 0, sizeof *cli);
    cli->spec = spec;
    table t;
    build(&t, cli, spec);

    struct option lo[MAX_OPTS + 6];
    char so[3 * MAX_OPTS + 8];
    size_t ns = 0, nl = 0;
    so[ns++] = ':';           /* report a missing argument as ':' */
    for (size_t i = 0; i < t.n; i++) {
        const mk_opt *o = t.o[i];
        int has = o->kind != MK_ARG_FLAG;
        lo[nl++] = (struct option){ o->name, has ? required_argument : no_argument, NULL,
                                    256 + (int)i };
        if (o->short_name) {
            so[ns++] = (char)o->short_name;
            if (has)
                so[ns++] = ':';
        }
    }
    lo[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
    lo[nl++] = (struct option){ "version", no_argument, NULL, 'V' };
    lo[nl++] = (struct option){ "list-options", no_argument, NULL, 1 };
    lo[nl++] = (struct option){ "list-subcommands", no_argument, NULL, 2 };
    lo[nl++] = (struct option){ "list-commands", no_argument, NULL, 3 };
    lo[nl] = (struct option){ 0 };
    memcpy(so + ns, "hV", 3);

    pending *pend = mk_xcalloc((size_t)argc + 1, sizeof *pend);
    size_t np = 0;
    opterr = 0;
    optind = 0;     /* glibc: 0 re-initialises getopt fully, so parsing twice works */
    int c;
    while ((c = getopt_long(argc, argv, so, lo, NULL)) != -1) {
        if (c == 'h') {
            mk_cli_help(spec, stdout);
            exit(fflush(stdout) == 0 ? 0 : MK_EXIT_ERROR);
        }
        if (c == 'V') {
            printf("%s (memkit) %s\n", spec->name, MK_VERSION);
            exit(0);
        }
        if (c == 1) {
            list_options(&t);
            exit(0);
        }
        if (c == 2 || c == 3) {
            const char *const *w = c == 2 ? spec->subcommands : spec->commands;
            for (size_t i = 0; w && w[i]; i++)
                printf("%s\n", w[i]);
            exit(0);
        }
        if (c == ':') {
            const char *bad = argv[optind - 1];
            if (strncmp(bad, "--", 2) != 0)
                mk_cli_usage_error(cli, "option -%c needs a value", optopt);
            mk_cli_usage_error(cli, "option %s needs a value", bad);
        }
        if (c == '?') {
            const char *bad = argv[optind - 1];
            if (optopt && strncmp(bad, "--", 2) != 0)
                mk_cli_usage_error(cli, "unknown option -%c", optopt);
            const char *name = bad + 2;
            size_t len = strcspn(name, "=");
            const char *names[MAX_OPTS + 2];
            for (size_t i = 0; i < t.n; i++)
                names[i] = t.o[i]->name;
            names[t.n] = "help";
            names[t.n + 1] = "version";
            int s = mk_nearest(name, len, names, t.n + 2);
            if (s >= 0)
                mk_cli_usage_error(cli, "unknown option '--%.*s' (did you mean '--%s'?)",
                                   (int)len, name, names[s]);
            mk_cli_usage_error(cli, "unknown option '%s'", bad);
        }
        int idx = -1;
        if (c >= 256) {
            idx = c - 256;
        } else {
            for (size_t i = 0; i < t.n; i++)
                if (t.o[i]->short_name == c)
                    idx = (int)i;
        }
        pend[np++] = (pending){ idx, t.o[idx]->kind == MK_ARG_FLAG ? "" : optarg };
    }

    /* The config first, so the command line overrides it. */
    for (size_t i = 0; i < np; i++)
        if (t.o[pend[i].idx]->dst == &cli->config && apply(&t, (size_t)pend[i].idx, pend[i].val, 0) < 0)
            mk_die_err();
    if (cli->config && mk_cfg_load(cli->config, on_cfg, &t) < 0)
        mk_die_err();
    for (size_t i = 0; i < np; i++) {
        const mk_opt *o = t.o[pend[i].idx];
        if (o->dst == &cli->config)
            continue;
        if (o->kind == MK_ARG_LIST && !t.from_cli[pend[i].idx]) {
            ((mk_list *)o->dst)->n = 0;
            t.from_cli[pend[i].idx] = 1;
        }
        set_origin(cli, o->name, NULL);
        if (apply(&t, (size_t)pend[i].idx, pend[i].val, 1) < 0) {
            char flag[8] = "";
            if (o->short_name)
                snprintf(flag, sizeof flag, " (-%c)", o->short_name);
            mk_cli_usage_error(cli, "option --%s%s: %s", o->name, flag, mk_err_msg());
        }
    }
    free(pend);

    cli->format = MK_FMT_TEXT;
    cli->format_extra = NULL;
    if (cli->format_name && spec->extra_formats) {
        /* The choice was checked against format_choices already. */
        const char *x = strstr(spec->extra_formats, cli->format_name);
        size_t n = strlen(cli->format_name);
        if (x && (x == spec->extra_formats || x[-1] == '|') && (x[n] == 0 || x[n] == '|'))
            cli->format_extra = cli->format_name;
    }
    if (cli->format_name && !cli->format_extra && mk_format_parse(cli->format_name, &cli->format) < 0)
        mk_cli_usage_error(cli, "option --format: %s", mk_err_msg());
    if (cli->threads < 0)
        mk_cli_option_error(cli, "threads", "expected 0 (one per core) or more, found %lld",
                            (long long)cli->threads);
    if (cli->threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        cli->threads_auto = 1;
        cli->threads = n > 0 ? n : 1;
    }
    if (cli->threads > 256)
        cli->threads = 256;
    if (cli->quiet)
        cli->progress = 0;
    return optind;
}

char **mk_cli_files(int argc, char **argv, int first, int *n)
{
    static char *stdin_only[] = { "-", NULL };
    *n = first < argc ? argc - first : 1;
    return first < argc ? argv + first : stdin_only;
}

int mk_cli_progress_wanted(const mk_cli *cli)
{
    return cli->progress || (!cli->quiet && isatty(2));
}
