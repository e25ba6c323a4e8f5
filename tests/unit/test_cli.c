/* Unit tests for lib/cli, success paths only (errors exit the process):
 * one options table with every argument kind plus all standard options;
 * long options with "=" or a separate value, combined short flags, attached
 * short values, LIST accumulation (commas and repeats), CHOICE, custom
 * setters, defaults left alone, operands after permutation and "--",
 * threads resolved to >= 1, the format parsed; a YAML config given with -c
 * whose values the command line overrides (a LIST from the command line
 * replaces the config's list). mk_cli_parse runs many times in this one
 * process: it resets getopt itself. */
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "unit.h"

static int flag_v, dry_v;
static char *str_v, *choice_v;
static int64_t int_v;
static uint64_t uint_v, size_v, dur_v;
static double float_v;
static mk_list list_v;
static char custom_log[256];
static int custom_ctx;

static int custom_set(const mk_opt *o, const char *val, void *ctx)
{
    size_t n = strlen(custom_log);
    snprintf(custom_log + n, sizeof custom_log - n, "%s%s=%s(ctx %d)", n ? ";" : "", o->name, val,
             ctx ? *(int *)ctx : -1);
    return 0;
}

static const mk_opt opts[] = {
    { "verbose", 'v', MK_ARG_FLAG, &flag_v, NULL, "say more" },
    { "dry-run", 'D', MK_ARG_FLAG, &dry_v, NULL, "change nothing" },
    { "name", 'n', MK_ARG_STR, &str_v, "NAME", "a name" },
    { "count", 'k', MK_ARG_INT, &int_v, "N", "a signed count", NULL, "7" },
    { "limit", 0, MK_ARG_UINT, &uint_v, "N", "an unsigned limit" },
    { "max-size", 's', MK_ARG_SIZE, &size_v, "SIZE", "a size", NULL, "9" },
    { "timeout", 't', MK_ARG_DURATION, &dur_v, "DURATION", "a duration" },
    { "scale", 0, MK_ARG_FLOAT, &float_v, "X", "a float" },
    { "mode", 'm', MK_ARG_CHOICE, &choice_v, "MODE", "how", "fast|slow|auto", "fast" },
    { "col", 'C', MK_ARG_LIST, &list_v, "COL", "columns (repeatable)" },
    { "custom", 0, MK_ARG_STR, NULL, "X", "parsed by the tool", .set = custom_set },
    { NULL },
};

static const mk_cli_spec spec = {
    .name = "mktest",
    .usage = "[OPTIONS] [FILE...]",
    .summary = "exercise the options table",
    .epilog = "Epilog text.",
    .opts = opts,
    .std = MK_STD_ALL,
    .ctx = &custom_ctx,
};

/* The tool's defaults, set before every parse. */
static void defaults(void)
{
    flag_v = 0;
    dry_v = 0;
    str_v = "default-name";
    choice_v = "fast";
    int_v = 7;
    uint_v = 8;
    size_v = 9;
    dur_v = 10;
    float_v = 1.5;
    free(list_v.v);   /* the array is the library's (realloc'd); its strings are kept */
    list_v = (mk_list){ 0 };
    custom_log[0] = 0;
    custom_ctx = 42;
}

/* A writable argv (getopt permutes it) from a NULL-terminated list. */
typedef struct {
    int argc;
    char **argv;
    char *copies[64];
} args;

static void mkargs(args *a, const char *const *list)
{
    a->argc = 0;
    a->argv = calloc(64, sizeof *a->argv);
    for (; list[a->argc]; a->argc++)
        a->argv[a->argc] = a->copies[a->argc] = strdup(list[a->argc]);
}

/* Old argument strings are scribbled over (values handed out must not point
 * into argv) but freed only at the end: see test_reparse_reused_argv for
 * what happens when their memory is reused. */
static char *graveyard[4096];
static size_t ngrave;

static void freeargs(args *a)
{
    for (int i = 0; i < a->argc; i++) {
        memset(a->copies[i], 'Z', strlen(a->copies[i]));
        if (ngrave < sizeof graveyard / sizeof *graveyard)
            graveyard[ngrave++] = a->copies[i];
        else
            free(a->copies[i]);
    }
    free(a->argv);
}

static int parse(mk_cli *cli, args *a, const char *const *list)
{
    defaults();
    mkargs(a, list);
    return mk_cli_parse(cli, &spec, a->argc, a->argv);
}

static long nprocs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > 256 ? 256 : n;
}

static void test_defaults_untouched(void)
{
    mk_cli cli;
    args a;
    memset(&cli, 0x5a, sizeof cli);
    int first = parse(&cli, &a, (const char *const[]){ "mktest", NULL });
    CHECK_INT(first, 1);
    CHECK_INT(a.argc, 1);
    CHECK_INT(flag_v, 0);
    CHECK_INT(dry_v, 0);
    CHECK_STR(str_v, "default-name");
    CHECK_STR(choice_v, "fast");
    CHECK_INT(int_v, 7);
    CHECK_U64(uint_v, 8);
    CHECK_U64(size_v, 9);
    CHECK_U64(dur_v, 10);
    CHECK(float_v == 1.5);
    CHECK_U64(list_v.n, 0);
    CHECK_STR(custom_log, "");
    /* Standard values: all cleared, format text, threads one per core. */
    CHECK(cli.config == NULL);
    CHECK(cli.format_name == NULL);
    CHECK_INT(cli.format, MK_FMT_TEXT);
    CHECK(cli.output == NULL);
    CHECK_INT(cli.quiet, 0);
    CHECK_INT(cli.progress, 0);
    CHECK_INT(cli.stats, 0);
    CHECK_INT(cli.lenient, 0);
    CHECK_INT(cli.threads, nprocs());
    CHECK(cli.threads >= 1);
    CHECK(cli.spec == &spec);
    CHECK_STR(mk_progname, "mktest");
    freeargs(&a);
}

static void test_every_kind(void)
{
    mk_cli cli;
    args a;
    int first = parse(&cli, &a, (const char *const[]){
        "mktest", "-v", "--name=alice", "file1", "-k", "-42", "--limit", "18446744073709551615",
        "-s", "64K", "-", "-t", "1h30m", "--scale=2.5e3", "-m", "slow", "-C", "a,b", "file2",
        "--col=c", "-Cd", "--custom", "one", "--custom=two", NULL });
    /* Operands come last, in order, from the returned index. */
    CHECK_INT(a.argc - first, 3);
    if (a.argc - first == 3) {
        CHECK_STR(a.argv[first], "file1");
        CHECK_STR(a.argv[first + 1], "-");
        CHECK_STR(a.argv[first + 2], "file2");
    }
    CHECK_INT(flag_v, 1);
    CHECK_INT(dry_v, 0);
    CHECK_INT(int_v, -42);
    CHECK_U64(uint_v, UINT64_MAX);
    CHECK_U64(size_v, 65536);
    CHECK_U64(dur_v, 5400000000000ull);
    CHECK(float_v == 2500.0);
    CHECK_STR(custom_log, "custom=one(ctx 42);custom=two(ctx 42)");
    freeargs(&a);
    /* Strings stay valid after argv is gone. */
    CHECK_STR(str_v, "alice");
    CHECK_STR(choice_v, "slow");
    CHECK_U64(list_v.n, 4);
    if (list_v.n == 4) {
        CHECK_STR(list_v.v[0], "a");
        CHECK_STR(list_v.v[1], "b");
        CHECK_STR(list_v.v[2], "c");
        CHECK_STR(list_v.v[3], "d");
    }
}

static void test_short_forms(void)
{
    mk_cli cli;
    args a;
    /* Combined flags, and a value attached to the last short option. */
    int first = parse(&cli, &a, (const char *const[]){ "mktest", "-vD", "x", NULL });
    CHECK_INT(flag_v, 1);
    CHECK_INT(dry_v, 1);
    CHECK_INT(a.argc - first, 1);
    CHECK_STR(a.argv[first], "x");
    freeargs(&a);

    first = parse(&cli, &a, (const char *const[]){ "mktest", "-qvk5", "-j3", "-fjson", NULL });
    CHECK_INT(cli.quiet, 1);
    CHECK_INT(flag_v, 1);
    CHECK_INT(dry_v, 0);
    CHECK_INT(int_v, 5);
    CHECK_INT(cli.threads, 3);
    CHECK_INT(cli.format, MK_FMT_JSON);
    CHECK_STR(cli.format_name, "json");
    CHECK_INT(first, a.argc);
    freeargs(&a);

    /* "--" ends the options; "-" is an operand. */
    first = parse(&cli, &a, (const char *const[]){ "mktest", "-D", "--", "-v", "--name=x", "-", NULL });
    CHECK_INT(dry_v, 1);
    CHECK_INT(flag_v, 0);
    CHECK_STR(str_v, "default-name");
    CHECK_INT(a.argc - first, 3);
    if (a.argc - first == 3) {
        CHECK_STR(a.argv[first], "-v");
        CHECK_STR(a.argv[first + 1], "--name=x");
        CHECK_STR(a.argv[first + 2], "-");
    }
    freeargs(&a);

    /* Repeats: the last scalar wins, lists accumulate. */
    parse(&cli, &a, (const char *const[]){ "mktest", "--name", "a", "-n", "b", "--name=c",
                                           "-k", "1", "--count=2", "-C", "x", "-C", "y,z", NULL });
    CHECK_STR(str_v, "c");
    CHECK_INT(int_v, 2);
    CHECK_U64(list_v.n, 3);
    if (list_v.n == 3)
        CHECK_STR(list_v.v[2], "z");
    freeargs(&a);

    /* A value that looks like an option is still the value. */
    parse(&cli, &a, (const char *const[]){ "mktest", "--name", "-v", "-n", "--", NULL });
    CHECK_STR(str_v, "--");
    CHECK_INT(flag_v, 0);
    freeargs(&a);
}

static void test_standard_options(void)
{
    mk_cli cli;
    args a;
    parse(&cli, &a, (const char *const[]){ "mktest", "--format=ndjson", "-o", "out.json",
                                           "--stats", "--lenient", "--progress", "--threads", "0", NULL });
    CHECK_INT(cli.format, MK_FMT_NDJSON);
    CHECK_STR(cli.output, "out.json");
    CHECK_INT(cli.stats, 1);
    CHECK_INT(cli.lenient, 1);
    CHECK_INT(cli.progress, 1);
    CHECK_INT(mk_cli_progress_wanted(&cli), 1);
    CHECK_INT(cli.threads, nprocs());
    freeargs(&a);

    /* Quiet switches progress off even when asked for. */
    parse(&cli, &a, (const char *const[]){ "mktest", "--progress", "-q", NULL });
    CHECK_INT(cli.quiet, 1);
    CHECK_INT(cli.progress, 0);
    CHECK_INT(mk_cli_progress_wanted(&cli), 0);
    freeargs(&a);

    /* Every format; threads capped at 256. */
    static const char *const fmts[] = { "text", "tsv", "csv", "json", "ndjson" };
    for (int i = 0; i < 5; i++) {
        char arg[32];
        snprintf(arg, sizeof arg, "--format=%s", fmts[i]);
        parse(&cli, &a, (const char *const[]){ "mktest", arg, "-j", "100000", NULL });
        CHECK_INT(cli.format, i);
        CHECK_INT(cli.threads, 256);
        freeargs(&a);
    }
    parse(&cli, &a, (const char *const[]){ "mktest", "-j", "1", NULL });
    CHECK_INT(cli.threads, 1);
    freeargs(&a);

    /* The standard state is reset by every parse. */
    parse(&cli, &a, (const char *const[]){ "mktest", NULL });
    CHECK_INT(cli.format, MK_FMT_TEXT);
    CHECK(cli.output == NULL);
    CHECK_INT(cli.stats, 0);
    CHECK_INT(cli.quiet, 0);
    freeargs(&a);
}

static void test_choice(void)
{
    mk_cli cli;
    args a;
    static const char *const ch[] = { "fast", "slow", "auto" };
    for (int i = 0; i < 3; i++) {
        parse(&cli, &a, (const char *const[]){ "mktest", "-m", ch[i], NULL });
        CHECK_STR(choice_v, ch[i]);
        freeargs(&a);
    }
}

/* ---- config files ---------------------------------------------------------- */

static char cfg_path[512];

static void write_cfg(const char *text)
{
    FILE *f = fopen(cfg_path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_config(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(cfg_path, sizeof cfg_path, "%s/mk_test_cli.XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(cfg_path);
    close(fd);
    write_cfg("# test config\n"
              "name: fromcfg\n"
              "count: 3\n"
              "limit: 12\n"
              "col: [x, y]\n"
              "mode: auto\n"
              "verbose: true\n"
              "dry-run: false\n"
              "format: csv\n"
              "threads: 2\n"
              "max-size: 1M\n"
              "timeout: 500ms\n"
              "scale: 0.25\n"
              "custom: fromcfg\n"
              "lenient: yes\n");
    mk_cli cli;
    args a;
    /* The config alone. */
    int first = parse(&cli, &a, (const char *const[]){ "mktest", "-c", cfg_path, "in.txt", NULL });
    CHECK_STR(cli.config, cfg_path);
    CHECK_STR(str_v, "fromcfg");
    CHECK_INT(int_v, 3);
    CHECK_U64(uint_v, 12);
    CHECK_U64(list_v.n, 2);
    if (list_v.n == 2) {
        CHECK_STR(list_v.v[0], "x");
        CHECK_STR(list_v.v[1], "y");
    }
    CHECK_STR(choice_v, "auto");
    CHECK_INT(flag_v, 1);
    CHECK_INT(dry_v, 0);
    CHECK_INT(cli.format, MK_FMT_CSV);
    CHECK_INT(cli.threads, 2);
    CHECK_U64(size_v, 1 << 20);
    CHECK_U64(dur_v, 500000000);
    CHECK(float_v == 0.25);
    CHECK_STR(custom_log, "custom=fromcfg(ctx 42)");
    CHECK_INT(cli.lenient, 1);
    CHECK_INT(a.argc - first, 1);
    /* where each value came from, for checks made after parsing */
    char at[600];
    snprintf(at, sizeof at, "%s:2:7", cfg_path);
    CHECK_STR(mk_cli_origin(&cli, "name"), at);
    snprintf(at, sizeof at, "%s:10:10", cfg_path);
    CHECK_STR(mk_cli_origin(&cli, "threads"), at);
    snprintf(at, sizeof at, "%s:5:6", cfg_path);
    CHECK_STR(mk_cli_origin(&cli, "col"), at);
    CHECK(mk_cli_origin(&cli, "output") == NULL);   /* not given */
    freeargs(&a);

    /* The command line wins, wherever -c is; a LIST given on the command
     * line replaces the config's list (and then accumulates); untouched keys
     * keep the config's values. */
    parse(&cli, &a, (const char *const[]){ "mktest", "--name=cli", "-C", "z", "--dry-run",
                                           "--config", cfg_path, "-f", "json", "--col=w",
                                           "-m", "fast", "-j", "5", "--custom=cli", NULL });
    CHECK_STR(str_v, "cli");
    CHECK_U64(list_v.n, 2);
    if (list_v.n == 2) {
        CHECK_STR(list_v.v[0], "z");
        CHECK_STR(list_v.v[1], "w");
    }
    CHECK_INT(dry_v, 1);
    CHECK_INT(cli.format, MK_FMT_JSON);
    CHECK_STR(choice_v, "fast");
    CHECK_INT(cli.threads, 5);
    CHECK_INT(int_v, 3);                 /* from the config */
    CHECK_INT(flag_v, 1);
    CHECK_STR(custom_log, "custom=fromcfg(ctx 42);custom=cli(ctx 42)");
    CHECK(mk_cli_origin(&cli, "name") == NULL);      /* the command line's */
    CHECK(mk_cli_origin(&cli, "threads") == NULL);
    CHECK(mk_cli_origin(&cli, "col") == NULL);
    snprintf(at, sizeof at, "%s:3:8", cfg_path);
    CHECK_STR(mk_cli_origin(&cli, "count"), at);
    freeargs(&a);

    /* A list as a comma-separated scalar in YAML; a block list keeps commas. */
    write_cfg("col: p,q\n");
    parse(&cli, &a, (const char *const[]){ "mktest", "-c", cfg_path, NULL });
    CHECK_U64(list_v.n, 2);
    if (list_v.n == 2)
        CHECK_STR(list_v.v[1], "q");
    freeargs(&a);
    write_cfg("col:\n  - 'a,b'\n  - c\nverbose: false\n");
    parse(&cli, &a, (const char *const[]){ "mktest", "-c", cfg_path, "-v", NULL });
    CHECK_U64(list_v.n, 2);
    if (list_v.n == 2)
        CHECK_STR(list_v.v[0], "a,b");
    CHECK_INT(flag_v, 1);                /* the command line's flag wins */
    freeargs(&a);

    /* An empty config changes nothing. */
    write_cfg("");
    parse(&cli, &a, (const char *const[]){ "mktest", "-c", cfg_path, NULL });
    CHECK_STR(str_v, "default-name");
    CHECK_INT(int_v, 7);
    CHECK_INT(cli.format, MK_FMT_TEXT);
    freeargs(&a);
    unlink(cfg_path);
}

/* Parsing again after the previous argv's memory was reused for new
 * arguments (as happens when a caller frees its argv and allocates a new
 * one): getopt must start afresh, not continue inside the old last option.
 * In a child process, because a misparse exits. */
static void test_reparse_reused_argv(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        static char buf[64];
        mk_cli cli;
        memcpy(buf, "t\0-vD\0", 7);
        char *argv1[] = { buf, buf + 2, NULL };
        defaults();
        mk_cli_parse(&cli, &spec, 2, argv1);
        if (!flag_v || !dry_v)
            _exit(3);
        /* The same memory now holds other arguments. */
        memcpy(buf, "t\0-qvk5\0", 9);
        char *argv2[] = { buf, buf + 2, NULL };
        defaults();
        mk_cli_parse(&cli, &spec, 2, argv2);
        _exit(cli.quiet == 1 && flag_v == 1 && int_v == 5 && dry_v == 0 ? 0 : 4);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st));
    CHECK_INT(WEXITSTATUS(st), 0);   /* 2: usage error, 3/4: wrong values */
}

static void test_help(void)
{
    FILE *f = tmpfile();
    mk_cli_help(&spec, f);
    long n = ftell(f);
    rewind(f);
    char *s = calloc(1, (size_t)n + 1);
    CHECK_U64(fread(s, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    const char *head = "Usage: mktest [OPTIONS] [FILE...]\nexercise the options table\n\nOptions:\n";
    CHECK(strncmp(s, head, strlen(head)) == 0);
    CHECK_CONTAINS(s, "  -v, --verbose");
    CHECK_CONTAINS(s, "  -k, --count N");
    CHECK_CONTAINS(s, "      --limit N");
    CHECK_CONTAINS(s, "a signed count (default: 7)");
    CHECK_CONTAINS(s, "how: fast|slow|auto (default: fast)");
    CHECK_CONTAINS(s, "  -f, --format FORMAT");
    CHECK_CONTAINS(s, "  -c, --config FILE");
    CHECK_CONTAINS(s, "  -j, --threads N");
    CHECK_CONTAINS(s, "  -h, --help");
    CHECK_CONTAINS(s, "  -V, --version");
    CHECK_CONTAINS(s, "\nEpilog text.\n");
    /* Every option of the table is listed once. */
    for (const mk_opt *o = opts; o->name; o++) {
        char key[64];
        snprintf(key, sizeof key, "--%s", o->name);
        const char *p = strstr(s, key);
        CHECK(p != NULL);
        if (p) {
            const char *q = strstr(p + 1, key);
            /* "--col" is a prefix of nothing else here; any second hit must
             * be a longer name. */
            CHECK(q == NULL || (q[strlen(key)] != ' ' && q[strlen(key)] != '\n'));
        }
    }
    free(s);
}

int main(void)
{
    RUN(test_defaults_untouched);
    RUN(test_every_kind);
    RUN(test_short_forms);
    RUN(test_standard_options);
    RUN(test_choice);
    RUN(test_config);
    RUN(test_reparse_reused_argv);
    RUN(test_help);
    for (size_t i = 0; i < ngrave; i++)
        free(graveyard[i]);
    return DONE();
}
