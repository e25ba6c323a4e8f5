/* fuzz_cfg — the YAML config loader.
 *
 * Every item handed to the callback must be well formed: a key, one value
 * for a scalar (and for null), readable strings for a list, the file name,
 * a 1-based line and column inside the input. The callback rejects one item
 * chosen by the input's last byte; then the load must fail with exactly
 * "FILE:LINE:COL: " of that item in front of the callback's message. Any
 * other error must also start with "FILE:LINE:COL:". */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cfg.h"
#include "err.h"
#include "fuzz.h"

#define NAME "fuzz.yaml"

typedef struct {
    size_t size;            /* input bytes */
    unsigned calls, fail_at;
    char want[128];         /* the error the rejected item must produce */
} state;

static int item(void *ctx, const mk_cfg_item *it)
{
    state *s = ctx;
    FUZZ_CHECK(it->key, "NULL key");
    (void)strlen(it->key);
    FUZZ_CHECK(it->file && strcmp(it->file, NAME) == 0, "file %s", it->file ? it->file : "NULL");
    FUZZ_CHECK(it->line >= 1 && it->col >= 1, "line %zu col %zu", it->line, it->col);
    FUZZ_CHECK(it->line <= s->size + 1 && it->col <= s->size + 1, "line %zu col %zu past the input",
               it->line, it->col);
    FUZZ_CHECK(it->is_list == 0 || it->is_list == 1, "is_list %d", it->is_list);
    FUZZ_CHECK(it->is_null == 0 || it->is_null == 1, "is_null %d", it->is_null);
    if (it->is_null)
        FUZZ_CHECK(!it->is_list, "a null list");
    if (!it->is_list)   /* a scalar, or null: exactly one value (empty for null) */
        FUZZ_CHECK(it->nvals == 1, "scalar with %zu values", it->nvals);
    FUZZ_CHECK(it->nvals == 0 || it->vals, "NULL vals");
    for (size_t i = 0; i < it->nvals; i++) {
        FUZZ_CHECK(it->vals[i], "NULL value %zu", i);
        (void)strlen(it->vals[i]);
    }
    if (++s->calls == s->fail_at) {
        snprintf(s->want, sizeof s->want, "%s:%zu:%zu: rejected by the callback", NAME, it->line,
                 it->col);
        return mk_err_set("rejected by the callback");
    }
    return 0;
}

/* "NAME:LINE:COL:" with LINE, COL >= 1. */
static int located(const char *m)
{
    size_t n = strlen(NAME);
    if (strncmp(m, NAME ":", n + 1) != 0)
        return 0;
    m += n + 1;
    for (int part = 0; part < 2; part++) {
        if (*m < '1' || *m > '9')
            return 0;
        while (*m >= '0' && *m <= '9')
            m++;
        if (*m++ != ':')
            return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    state s = { .size = size, .fail_at = size ? data[size - 1] % 8 : 0 };
    mk_err_set("%s", "stale");
    int rc = mk_cfg_load_mem(NAME, (const char *)data, size, item, &s);
    FUZZ_CHECK(rc == 0 || rc == -1, "returned %d", rc);
    if (s.want[0]) {
        FUZZ_CHECK(rc == -1, "a rejected item did not fail the load");
        FUZZ_CHECK(strcmp(mk_err_msg(), s.want) == 0, "message '%s', expected '%s'", mk_err_msg(),
                   s.want);
    } else if (rc < 0) {
        FUZZ_CHECK(located(mk_err_msg()), "error without FILE:LINE:COL: '%s'", mk_err_msg());
    }
    return 0;
}
