/* lines — line iterator over blocks (see lines.h). */
#include "lines.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

struct mk_lines {
    mk_source *src;
    mk_blocks *blocks;
    mk_block *cur;          /* block being read, or NULL */
    size_t pos;
    uint64_t no;            /* number of the next line */
    int done;
};

mk_lines *mk_lines_from(mk_source *src, const mk_blocks_opts *opts)
{
    mk_blocks_opts o;
    if (opts)
        o = *opts;
    else
        mk_blocks_defaults(&o);
    mk_lines *l = mk_xcalloc(1, sizeof *l);
    l->src = src;
    if (!(l->blocks = mk_blocks_open(src, &o))) {
        mk_source_close(src);
        free(l);
        return NULL;
    }
    return l;
}

mk_lines *mk_lines_open(const char *path, const mk_blocks_opts *opts)
{
    mk_source *src = mk_source_open(path);
    return src ? mk_lines_from(src, opts) : NULL;
}

int mk_lines_next(mk_lines *l, mk_line *out)
{
    while (!l->cur || l->pos >= l->cur->len) {
        if (l->done)
            return 0;
        if (l->cur) {
            mk_blocks_release(l->blocks, l->cur);
            l->cur = NULL;
        }
        int r = mk_blocks_next(l->blocks, &l->cur);
        if (r <= 0) {
            l->cur = NULL;
            l->done = 1;
            return r;
        }
        l->pos = 0;
        l->no = l->cur->first_line;
    }
    const char *p = l->cur->data + l->pos;
    size_t rest = l->cur->len - l->pos;
    const char *nl = memchr(p, '\n', rest);
    size_t len = nl ? (size_t)(nl - p) : rest;
    l->pos += len + (nl != NULL);
    if (len && p[len - 1] == '\r')
        len--;
    out->ptr = p;
    out->len = len;
    out->no = l->no++;
    return 1;
}

const char *mk_lines_name(const mk_lines *l) { return mk_source_name(l->src); }
mk_source *mk_lines_source(const mk_lines *l) { return l->src; }

int mk_lines_close(mk_lines *l)
{
    if (!l)
        return 0;
    if (l->cur)
        mk_blocks_release(l->blocks, l->cur);
    mk_blocks_close(l->blocks);
    int rc = mk_source_close(l->src);
    free(l);
    return rc;
}
