/* Unit tests for lib/cfg through mk_cfg_load_mem (and mk_cfg_load on a
 * file): scalars, flow and block lists, nulls, empty documents, comments,
 * value locations; every error with its "NAME:LINE:COL: " prefix: YAML
 * syntax, nested mappings, duplicate keys, a top-level list or scalar,
 * aliases, several documents, and a callback's own error. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "err.h"
#include "unit.h"

/* Every item the callback saw, as one line of text:
 * "key=v1|v2 [list] [null] @LINE:COL file=NAME". */
typedef struct {
    char log[16384];
    size_t len;
    int calls;
    int fail_on_call;      /* 1-based call that fails, or 0 */
} recorder;

static int record(void *ctx, const mk_cfg_item *it)
{
    recorder *r = ctx;
    r->calls++;
    size_t room = sizeof r->log - r->len;
    int n = snprintf(r->log + r->len, room, "%s=", it->key);
    for (size_t i = 0; i < it->nvals; i++)
        n += snprintf(r->log + r->len + n, room - (size_t)n, "%s%s", i ? "|" : "", it->vals[i]);
    n += snprintf(r->log + r->len + n, room - (size_t)n, "%s%s @%zu:%zu file=%s\n",
                  it->is_list ? " list" : "", it->is_null ? " null" : "", it->line, it->col, it->file);
    r->len += (size_t)n;
    if (r->fail_on_call == r->calls)
        return mk_err_set("%s: bad value '%s'", it->key, it->nvals ? it->vals[0] : "");
    return 0;
}

/* Loads a literal (exact-size heap copy, no NUL after it). */
static int load(const char *text, recorder *r)
{
    memset(r->log, 0, sizeof r->log);
    r->len = 0;
    r->calls = 0;
    size_t n = strlen(text);
    char *c = malloc(n ? n : 1);
    memcpy(c, text, n);
    mk_err_set("%s", "");
    int rc = mk_cfg_load_mem("cfg.yaml", c, n, record, r);
    free(c);
    return rc;
}

static void test_scalars(void)
{
    recorder r = { .fail_on_call = 0 };
    CHECK_INT(load("threads: 4\n"
                   "format: json\n"
                   "quiet: true\n"
                   "name: \"quoted: str # not a comment\"\n"
                   "single: 'it''s'\n"
                   "size:    64K\n"
                   "empty-string: ''\n", &r), 0);
    CHECK_STR(r.log, "threads=4 @1:10 file=cfg.yaml\n"
                     "format=json @2:9 file=cfg.yaml\n"
                     "quiet=true @3:8 file=cfg.yaml\n"
                     "name=quoted: str # not a comment @4:7 file=cfg.yaml\n"
                     "single=it's @5:9 file=cfg.yaml\n"
                     "size=64K @6:10 file=cfg.yaml\n"
                     "empty-string= @7:15 file=cfg.yaml\n");
    CHECK_INT(r.calls, 7);

    /* Comments, blank lines, CRLF line ends, a document start marker and no
     * final newline. */
    CHECK_INT(load("# memkit config\n"
                   "---\r\n"
                   "a: 1   # trailing comment\r\n"
                   "\r\n"
                   "   # indented comment\n"
                   "b: two words", &r), 0);
    CHECK_STR(r.log, "a=1 @3:4 file=cfg.yaml\n"
                     "b=two words @6:4 file=cfg.yaml\n");

    /* Block scalars keep their newlines. */
    CHECK_INT(load("text: |\n  line1\n  line2\nfolded: >\n  a\n  b\n", &r), 0);
    CHECK_STR(r.log, "text=line1\nline2\n @1:7 file=cfg.yaml\n"
                     "folded=a b\n @4:9 file=cfg.yaml\n");
}

static void test_lists(void)
{
    recorder r = { 0 };
    CHECK_INT(load("cols: [a, \"b,c\", 3]\n", &r), 0);
    CHECK_STR(r.log, "cols=a|b,c|3 list @1:7 file=cfg.yaml\n");
    CHECK_INT(load("cols:\n"
                   "  - a\n"
                   "  - 'b c'\n"
                   "  -   d\n"
                   "other: x\n", &r), 0);
    CHECK_STR(r.log, "cols=a|b c|d list @2:3 file=cfg.yaml\n"
                     "other=x @5:8 file=cfg.yaml\n");
    /* A block list at the key's indentation is valid YAML too. */
    CHECK_INT(load("cols:\n- a\n- b\n", &r), 0);
    CHECK_STR(r.log, "cols=a|b list @2:1 file=cfg.yaml\n");
    /* Empty list: a list with no values (not null). */
    CHECK_INT(load("cols: []\n", &r), 0);
    CHECK_STR(r.log, "cols= list @1:7 file=cfg.yaml\n");
    /* One-item list stays a list. */
    CHECK_INT(load("cols: [only]\n", &r), 0);
    CHECK_STR(r.log, "cols=only list @1:7 file=cfg.yaml\n");

    /* A list of 4096 values is accepted, 4097 is too long. */
    size_t cap = 4097 * 8 + 64, n = 0;
    char *big = malloc(cap);
    n += (size_t)sprintf(big + n, "k: [");
    for (int i = 0; i < 4096; i++)
        n += (size_t)sprintf(big + n, i ? ",%d" : "%d", i % 10);
    sprintf(big + n, "]\n");
    CHECK_INT(load(big, &r), 0);
    CHECK_INT(r.calls, 1);
    sprintf(big + n, ",7]\n");
    CHECK_INT(load(big, &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:8197: k: list too long");
    CHECK_INT(r.calls, 0);
    free(big);
}

static void test_nulls(void)
{
    recorder r = { 0 };
    CHECK_INT(load("a:\n"
                   "b: ~\n"
                   "c: null\n"
                   "d: Null\n"
                   "e: NULL\n"
                   "f: 'null'\n"
                   "g: \"~\"\n"
                   "h: nil\n", &r), 0);
    CHECK_CONTAINS(r.log, "a= null @");
    CHECK_CONTAINS(r.log, "b=~ null @2:4");
    CHECK_CONTAINS(r.log, "c=null null @3:4");
    CHECK_CONTAINS(r.log, "d=Null null @4:4");
    CHECK_CONTAINS(r.log, "e=NULL null @5:4");
    /* Quoted values are strings, and nil is not a YAML null. */
    CHECK_CONTAINS(r.log, "f=null @6:4");
    CHECK_CONTAINS(r.log, "g=~ @7:4");
    CHECK_CONTAINS(r.log, "h=nil @8:4");
    CHECK_INT(r.calls, 8);
    /* A null at the end of input. */
    CHECK_INT(load("last:", &r), 0);
    CHECK_INT(r.calls, 1);
    CHECK_CONTAINS(r.log, "last= null @");
}

static void test_empty(void)
{
    recorder r = { 0 };
    CHECK_INT(load("", &r), 0);
    CHECK_INT(r.calls, 0);
    CHECK_INT(load("\n\n", &r), 0);
    CHECK_INT(r.calls, 0);
    CHECK_INT(load("# nothing but a comment\n", &r), 0);
    CHECK_INT(r.calls, 0);
    CHECK_INT(load("---\n", &r), 0);
    CHECK_INT(r.calls, 0);
    CHECK_INT(load("---\n...\n", &r), 0);
    CHECK_INT(r.calls, 0);
    CHECK_INT(load("~\n", &r), 0);
    CHECK_INT(r.calls, 0);
    CHECK_INT(load("{}\n", &r), 0);
    CHECK_INT(r.calls, 0);
    /* Flow mapping at the top is a mapping. */
    CHECK_INT(load("{a: 1, b: [x, y]}\n", &r), 0);
    CHECK_STR(r.log, "a=1 @1:5 file=cfg.yaml\nb=x|y list @1:11 file=cfg.yaml\n");
}

/* The message starts with "cfg.yaml:LINE:COL: " (numbers > 0). */
static int located(const char *msg, unsigned *line, unsigned *col)
{
    int used = 0;
    if (sscanf(msg, "cfg.yaml:%u:%u: %n", line, col, &used) != 2 || used == 0)
        return 0;
    return *line > 0 && *col > 0;
}

static void test_syntax_errors(void)
{
    recorder r = { 0 };
    unsigned line, col;
    static const struct { const char *text; unsigned line; } bad[] = {
        { "a: [1, 2\nb: 3\n", 2 },
        { "a: \"unterminated\n", 2 },
        { "a: b: c\n", 1 },
        { "a: 1\n b: 2\n", 2 },
        { "a: 1\n\tb: 2\n", 2 },
        { "a: 'x' y\n", 1 },
        { "key: value\n- item\n", 2 },
        { "a: [1, 2]]\n", 1 },
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_INT(load(bad[i].text, &r), -1);
        const char *m = mk_err_msg();
        if (!located(m, &line, &col)) {
            printf("# case %zu: \"%s\"\n", i, m);
            CHECK(0);
            continue;
        }
        if (line != bad[i].line)
            printf("# case %zu: \"%s\", expected line %u\n", i, m, bad[i].line);
        CHECK_INT(line, bad[i].line);
        /* The message says something after the location. */
        CHECK(strlen(m) > strlen("cfg.yaml:1:1: ") + 5);
    }
    /* Exact messages for two common mistakes. */
    CHECK_INT(load("a: b: c\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:5: mapping values are not allowed in this context");
    CHECK_INT(load("x: 1\ny: [1, 2\n", &r), -1);
    CHECK_CONTAINS(mk_err_msg(), "while parsing a flow sequence");
    /* Items before the error were delivered, none after it. */
    CHECK_INT(load("ok: 1\nbad: [\nlater: 2\n", &r), -1);
    CHECK_STR(r.log, "ok=1 @1:5 file=cfg.yaml\n");
}

static void test_structure_errors(void)
{
    recorder r = { 0 };
    CHECK_INT(load("a:\n  b: 1\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:2:3: a: expected a value or a list of values, found a mapping");
    CHECK_INT(r.calls, 0);
    CHECK_INT(load("x: 1\nsub: {b: 1}\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:2:6: sub: expected a value or a list of values, found a mapping");
    CHECK_INT(r.calls, 1);

    CHECK_INT(load("a:\n  - b: 1\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:2:5: a: list items must be plain values, not lists or mappings");
    CHECK_INT(load("a: [x, [1, 2]]\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:8: a: list items must be plain values, not lists or mappings");

    CHECK_INT(load("a: 1\nb: 2\na: 3\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:3:1: duplicate key 'a'");
    CHECK_STR(r.log, "a=1 @1:4 file=cfg.yaml\nb=2 @2:4 file=cfg.yaml\n");
    /* Same key, one quoted: still the same key. */
    CHECK_INT(load("a: 1\n\"a\": 2\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:2:1: duplicate key 'a'");

    CHECK_INT(load("- a\n- b\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:1: expected a mapping of option names to values");
    CHECK_INT(load("[a, b]\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:1: expected a mapping of option names to values");
    CHECK_INT(load("just a scalar\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:1: expected a mapping of option names to values");
    CHECK_INT(load("\n\n  hello\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:3:3: expected a mapping of option names to values");

    CHECK_INT(load("? [a, b]\n: 1\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:3: keys must be option names");

    CHECK_INT(load("a: &x 1\nb: *x\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:2:4: aliases are not supported in memkit configs");

    CHECK_INT(load("a: 1\n---\nb: 2\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:2:1: a config holds one YAML document");
    CHECK_STR(r.log, "a=1 @1:4 file=cfg.yaml\n");
    CHECK_INT(load("---\na: 1\n...\n---\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:4:1: a config holds one YAML document");
}

static void test_callback_error(void)
{
    recorder r = { 0 };
    r.fail_on_call = 2;
    CHECK_INT(load("good: 1\nbad:   x\nnever: 3\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:2:8: bad: bad value 'x'");
    CHECK_INT(r.calls, 2);   /* nothing after the failure */
    r.fail_on_call = 1;
    CHECK_INT(load("\nlist:\n  - one\n  - two\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:3:3: list: bad value 'one'");
    r.fail_on_call = 1;
    CHECK_INT(load("n:\n", &r), -1);
    CHECK_STR(mk_err_msg(), "cfg.yaml:1:3: n: bad value ''");
    r.fail_on_call = 0;
}

/* The loader has no global state: a callback may load another config. */
static int nested_cb(void *ctx, const mk_cfg_item *it)
{
    recorder *outer = ctx;
    recorder inner = { 0 };
    if (strcmp(it->key, "include") == 0) {
        const char *text = "x: 1\ny: [2, 3]\n";
        if (mk_cfg_load_mem("inner.yaml", text, strlen(text), record, &inner) < 0)
            return -1;
        size_t room = sizeof outer->log - outer->len;
        outer->len += (size_t)snprintf(outer->log + outer->len, room, "[%s]", inner.log);
    }
    return record(ctx, it);
}

static void test_reentrant(void)
{
    recorder r = { 0 };
    const char *text = "a: 1\ninclude: yes\nb: 2\n";
    CHECK_INT(mk_cfg_load_mem("outer.yaml", text, strlen(text), nested_cb, &r), 0);
    CHECK_STR(r.log, "a=1 @1:4 file=outer.yaml\n"
                     "[x=1 @1:4 file=inner.yaml\ny=2|3 list @2:4 file=inner.yaml\n]"
                     "include=yes @2:10 file=outer.yaml\n"
                     "b=2 @3:4 file=outer.yaml\n");
}

static void test_file(void)
{
    const char *t = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/mk_test_cfg.XXXXXX", t && *t ? t : "/tmp");
    int fd = mkstemp(path);
    const char *text = "threads: 2\ncols: [a, b]\n";
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    recorder r = { 0 };
    CHECK_INT(mk_cfg_load(path, record, &r), 0);
    char want[2048];
    snprintf(want, sizeof want, "threads=2 @1:10 file=%s\ncols=a|b list @2:7 file=%s\n", path, path);
    CHECK_STR(r.log, want);

    /* Errors name the file. */
    fd = open(path, O_WRONLY | O_TRUNC);
    CHECK(write(fd, "a: 1\na: 2\n", 10) == 10);
    close(fd);
    CHECK_INT(mk_cfg_load(path, record, &r), -1);
    snprintf(want, sizeof want, "%s:2:1: duplicate key 'a'", path);
    CHECK_STR(mk_err_msg(), want);
    unlink(path);

    CHECK_INT(mk_cfg_load(path, record, &r), -1);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    CHECK_STR(mk_err_msg(), want);
}

int main(void)
{
    RUN(test_scalars);
    RUN(test_lists);
    RUN(test_nulls);
    RUN(test_empty);
    RUN(test_syntax_errors);
    RUN(test_structure_errors);
    RUN(test_callback_error);
    RUN(test_reentrant);
    RUN(test_file);
    return DONE();
}
