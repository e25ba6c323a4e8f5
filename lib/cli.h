/* cli — one options table per tool drives everything users type.
 *
 * A tool declares its options once (mk_opt[]: long name, short letter,
 * argument kind, where the value goes, help) and picks the standard ones it
 * supports (MK_STD_*). From that single table mk_cli_parse() runs
 * getopt_long, reads the YAML config given with -c (keys = long names, same
 * value syntax; the command line wins), prints --help, --version, and the
 * hidden --list-options that tests use to check that man page, completions
 * and --help name the same options.
 *
 * Exit codes (DESIGN.md): usage errors and bad values exit 2 with
 * "tool: message" and a "Try 'tool --help'" hint on stderr; --help and
 * --version print to stdout and exit 0. Values: FLAG → int, STR/CHOICE →
 * char *, INT → int64_t, UINT → uint64_t, SIZE → uint64_t bytes, DURATION →
 * uint64_t ns, FLOAT → double, LIST → mk_list (comma-separated and/or
 * repeated; a YAML list). Strings handed out stay valid until exit.
 *
 * Single-threaded: call from main() before starting threads. */
#ifndef MK_CLI_H
#define MK_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "out.h"

typedef enum {
    MK_ARG_FLAG, MK_ARG_STR, MK_ARG_INT, MK_ARG_UINT, MK_ARG_SIZE,
    MK_ARG_DURATION, MK_ARG_FLOAT, MK_ARG_CHOICE, MK_ARG_LIST,
} mk_argkind;

typedef struct mk_opt {
    const char *name;          /* long name and config key; NULL ends a table */
    int short_name;            /* 'x', or 0 */
    mk_argkind kind;
    void *dst;
    const char *arg;           /* placeholder in --help: "SIZE" */
    const char *help;
    const char *choices;       /* MK_ARG_CHOICE: "a|b|c" */
    const char *def;           /* default shown in --help, or NULL */
    /* Optional: parse the value yourself (-1 with mk_err message on error). */
    int (*set)(const struct mk_opt *o, const char *val, void *ctx);
} mk_opt;

typedef struct {
    char **v;
    size_t n;
} mk_list;

enum {
    MK_STD_CONFIG = 1 << 0, MK_STD_FORMAT = 1 << 1, MK_STD_OUTPUT = 1 << 2,
    MK_STD_QUIET = 1 << 3, MK_STD_PROGRESS = 1 << 4, MK_STD_STATS = 1 << 5,
    MK_STD_THREADS = 1 << 6, MK_STD_LENIENT = 1 << 7,
    MK_STD_ALL = (1 << 8) - 1,
};

typedef struct {
    const char *name;          /* program name */
    const char *usage;         /* after the name: "[OPTIONS] [FILE...]" */
    const char *summary;       /* one line */
    const char *epilog;        /* printed after the options, or NULL */
    const mk_opt *opts;
    unsigned std;
    void *ctx;                 /* passed to custom setters */
    /* Words the tool takes as its first argument (NULL-terminated), or NULL:
     * listed by the hidden --list-subcommands, for completions and doc tests. */
    const char *const *subcommands;
    /* Output formats of this tool beyond the standard ones ("dot", or
     * "a|b"), offered by --format; one chosen leaves format = TEXT and
     * sets format_extra. NULL for none. */
    const char *extra_formats;
    /* Words that start a command with options of its own (`leakdiff
     * record`), NULL-terminated, or NULL: listed by the hidden
     * --list-commands; `TOOL WORD --list-options` lists their options, for
     * completions and doc tests. */
    const char *const *commands;
} mk_cli_spec;

typedef struct {
    /* Standard option values, filled by mk_cli_parse. */
    char *config;
    char *format_name;
    mk_format format;
    const char *format_extra;  /* the spec's extra format chosen, or NULL */
    char *output;
    int quiet, progress, stats, lenient;
    int64_t threads;           /* resolved: ≥ 1 (0 or absent = online CPUs) */
    int threads_auto;          /* threads came from the CPU count, not the user */
    const mk_cli_spec *spec;
    /* Options whose value came from the config file, and where ("FILE:LINE:COL"). */
    const char **origin_name;
    const char **origin_loc;
    size_t norigin;
} mk_cli;

int mk_cli_parse(mk_cli *cli, const mk_cli_spec *spec, int argc, char **argv);
/* "FILE:LINE:COL" of the config value of long option `name`, or NULL when
 * the command line gave it (or nothing did): for checks a tool makes after
 * parsing, so that a bad value in a YAML job names its place there. Valid
 * until the next mk_cli_parse (whose origins share the storage). */
const char *mk_cli_origin(const mk_cli *cli, const char *name);
/* A bad value of option `name`, checked after parsing: "FILE:LINE:COL:
 * name: message" when it came from the config, else a usage error
 * "option --name: message". Exits 2. */
__attribute__((noreturn, format(printf, 3, 4)))
void mk_cli_option_error(const mk_cli *cli, const char *name, const char *fmt, ...);
/* The FILE arguments from argv[first] on, NULL-terminated, or {"-"} (stdin)
 * when there are none; *n gets how many. */
char **mk_cli_files(int argc, char **argv, int first, int *n);
__attribute__((noreturn)) void mk_cli_usage_error(const mk_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void mk_cli_help(const mk_cli_spec *spec, void *stream);   /* FILE * */
/* --progress forces it; otherwise only on a terminal and without -q. */
int mk_cli_progress_wanted(const mk_cli *cli);

#endif
