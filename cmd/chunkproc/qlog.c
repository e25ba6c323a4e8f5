/* qlog — the exact quantile values of big stores, on disk (see qlog.h). */
#include "qlog.h"
#include "err.h"
#include "map.h"
#include "out.h"
#include "spill.h"
#include "vec.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cp_qlog {
    pthread_mutex_t mu;
    char *tmpdir;
    mk_spill *f;               /* made on the first write */
    mk_vec at;                 /* uint64: where each chunk starts */
    mk_vec ref;                /* uint32: each chunk's ref, so scans skip others unread */
    uint64_t end;              /* bytes written */
    mk_map refs;               /* [store u32][key] → ref */
    char *kbuf;
    size_t kcap;
    uint32_t nrefs;
    int failed;                /* the first error is in err */
    char err[256];
    cp_qlog_stats st;
};

cp_qlog *cp_qlog_new(const char *tmpdir)
{
    cp_qlog *l = mk_xcalloc(1, sizeof *l);
    pthread_mutex_init(&l->mu, NULL);
    l->tmpdir = tmpdir ? mk_xstrdup(tmpdir) : NULL;
    mk_map_init(&l->refs, 0);
    mk_vec_init(&l->at, sizeof(uint64_t));
    mk_vec_init(&l->ref, sizeof(uint32_t));
    l->nrefs = 1;
    return l;
}

uint32_t cp_qlog_ref(cp_qlog *l, unsigned store, const char *key, size_t klen)
{
    pthread_mutex_lock(&l->mu);
    if (l->kcap < klen + 4) {
        l->kcap = 2 * (klen + 4);
        l->kbuf = mk_xrealloc(l->kbuf, l->kcap);
    }
    uint32_t s = store;
    memcpy(l->kbuf, &s, 4);
    memcpy(l->kbuf + 4, key, klen);
    int fresh;
    uint64_t *v = mk_map_put(&l->refs, l->kbuf, klen + 4, &fresh);
    if (fresh)
        *v = l->nrefs++;
    uint32_t ref = (uint32_t)*v;
    pthread_mutex_unlock(&l->mu);
    return ref;
}

uint32_t cp_qlog_nrefs(cp_qlog *l)
{
    pthread_mutex_lock(&l->mu);
    uint32_t n = l->nrefs;
    pthread_mutex_unlock(&l->mu);
    return n;
}

static void fail(cp_qlog *l)
{
    if (!l->failed)
        snprintf(l->err, sizeof l->err, "%s", mk_err_msg());
    l->failed = 1;
}

void cp_qlog_write(cp_qlog *l, uint32_t ref, const double *v, size_t n)
{
    pthread_mutex_lock(&l->mu);
    if (!l->f && !l->failed && !(l->f = mk_spill_new(l->tmpdir)))
        fail(l);
    if (l->f) {
        mk_out *o = mk_spill_out(l->f);
        for (size_t at = 0; at < n; at += CP_QLOG_CHUNK) {
            uint32_t h[2] = { ref, (uint32_t)(n - at < CP_QLOG_CHUNK ? n - at : CP_QLOG_CHUNK) };
            *(uint64_t *)mk_vec_push(&l->at) = l->end;
            *(uint32_t *)mk_vec_push(&l->ref) = ref;
            mk_out_write(o, h, sizeof h);
            mk_out_write(o, v + at, h[1] * sizeof *v);
            l->end += sizeof h + h[1] * sizeof *v;
        }
        l->st.values += n;
        l->st.bytes = l->end;
    }
    pthread_mutex_unlock(&l->mu);
}

int cp_qlog_check(cp_qlog *l)
{
    pthread_mutex_lock(&l->mu);
    int failed = l->failed;
    pthread_mutex_unlock(&l->mu);
    return failed ? mk_err_set("%s", l->err) : 0;
}

int cp_qlog_begin(cp_qlog *l, size_t *chunks)
{
    *chunks = 0;
    if (cp_qlog_check(l) < 0)
        return -1;
    if (!l->f)
        return 0;
    l->st.scans++;
    if (mk_spill_flush(l->f) < 0) {
        fail(l);
        return -1;
    }
    *chunks = mk_vec_len(&l->at);
    return 0;
}

void cp_qlog_shared(cp_qlog *l, unsigned nt)
{
    if (nt > l->st.threads)
        l->st.threads = nt;
}

/* Chunks are read a few at a time (each is at most 32 KiB and 8 bytes). */
enum { READ = 1 << 20 };

int cp_qlog_scan(cp_qlog *l, size_t from, size_t to, const int32_t *want, cp_qlog_fn fn,
                 void *ctx)
{
    const uint64_t *at = mk_vec_data(&l->at);
    const uint32_t *ref = mk_vec_data(&l->ref);
    size_t n = mk_vec_len(&l->at);
    char *buf = mk_xmalloc(READ);
    int rc = 0;
    for (;;) {
        while (from < to && want && want[ref[from]] < 0)
            from++;
        if (from >= to || rc < 0)
            break;
        /* As many whole wanted chunks in a row as fit in the buffer. */
        uint64_t start = at[from];
        size_t last = from + 1;
        while (last < to && (!want || want[ref[last]] >= 0) &&
               (last + 1 < n ? at[last + 1] : l->end) - start <= READ)
            last++;
        uint64_t stop = last < n ? at[last] : l->end;
        ssize_t got = mk_spill_pread(l->f, buf, (size_t)(stop - start), start);
        if (got < 0) {
            rc = -1;
            break;
        }
        if ((uint64_t)got != stop - start) {
            rc = mk_err_set("exact quantile values: temporary file truncated");
            break;
        }
        for (size_t k = from; k < last; k++) {
            const char *c = buf + (at[k] - start);
            uint32_t h[2];
            memcpy(h, c, sizeof h);
            if (h[0] != ref[k] || h[0] == 0 || h[0] >= l->nrefs || h[1] == 0 || h[1] > CP_QLOG_CHUNK ||
                (k + 1 < n ? at[k + 1] : l->end) - at[k] != sizeof h + h[1] * sizeof(double)) {
                rc = mk_err_set("exact quantile values: temporary file corrupt");
                break;
            }
            /* aligned: a chunk starts at a multiple of 8 in the file, and
             * the buffer is malloc'd */
            fn(ctx, h[0], (const double *)(const void *)(c + sizeof h), h[1]);
        }
        from = last;
    }
    free(buf);
    return rc;
}

void cp_qlog_stats_get(const cp_qlog *l, cp_qlog_stats *st)
{
    *st = l->st;
    st->refs = l->nrefs - 1;
}

void cp_qlog_free(cp_qlog *l)
{
    if (!l)
        return;
    mk_spill_free(l->f);
    mk_vec_free(&l->at);
    mk_vec_free(&l->ref);
    mk_map_free(&l->refs);
    pthread_mutex_destroy(&l->mu);
    free(l->kbuf);
    free(l->tmpdir);
    free(l);
}
