/* blocks — record-aligned blocks with a read-ahead producer (see blocks.h). */
#include "blocks.h"
#include "err.h"
#include "pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

enum { PAD = 64 };   /* slack after every buffer so vector loops may overread */

struct buf {
    char *mem;
    size_t cap;
    mk_block blk;
    struct buf *next;
};

struct mk_blocks {
    mk_source *src;
    mk_blocks_opts o;
    const char *name;

    const char *map;        /* mapped mode: the whole file */
    size_t map_len, map_off;

    char *carry;            /* copy mode: the partial record after the last cut */
    size_t carry_len;
    int src_eof;

    uint64_t next_line, next_seq;
    int finished;           /* producer reached the end (cleanly or not) */
    int failed;
    char errmsg[1024];

    pthread_mutex_t mu;
    pthread_cond_t cv_ready;
    mk_pool *pool;             /* the buffers: grown on demand up to nbufs */
    size_t cap;                /* bytes per buffer (0 when mapped) */
    struct buf *ready_head, *ready_tail;
    pthread_t th;
    int has_thread, stop;
};

/* ---- counting, the splitter's inner loop ---------------------------------- */

typedef struct {
    uint64_t nl, quotes;
    size_t nul;             /* offset of the first NUL, or SIZE_MAX */
    size_t long_at;         /* start of the first line longer than the limit, or SIZE_MAX */
} counts;

/* After a chunk [start, i) of the vector loops: its k newlines, and whether
 * it holds a NUL. A chunk spans at most the line limit, so a line inside
 * one is never too long: only the line that ends at the chunk's first
 * newline needs its length checked, and only its last newline starts one. */
static inline void chunk_done(const char *p, size_t start, size_t i, uint64_t k, int nul,
                              size_t maxl, counts *c, size_t *ls)
{
    c->nl += k;
    if (nul && c->nul == SIZE_MAX) {
        const char *z = memchr(p + start, 0, i - start);
        c->nul = (size_t)(z - p);
    }
    if (k) {
        const char *first = memchr(p + start, '\n', i - start);
        if ((size_t)(first - p) - *ls > maxl && c->long_at == SIZE_MAX)
            c->long_at = *ls;
        *ls = (size_t)((const char *)memrchr(p + start, '\n', i - start) - p) + 1;
    }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SCAN_AVX2 1
int mk_blocks_avx2;

__attribute__((constructor)) static void detect_avx2(void)
{
    __builtin_cpu_init();
    mk_blocks_avx2 = __builtin_cpu_supports("avx2");
}

/* The sum of the four 64-bit lanes of a psadbw result. */
__attribute__((target("avx2"))) static inline uint64_t lanes_sum(__m256i v)
{
    return (uint64_t)_mm256_extract_epi64(v, 0) + (uint64_t)_mm256_extract_epi64(v, 1) +
           (uint64_t)_mm256_extract_epi64(v, 2) + (uint64_t)_mm256_extract_epi64(v, 3);
}

/* scan's vector loop, 32 bytes a step, where the CPU has AVX2 (the build
 * targets plain x86-64): it returns how far it got. Task D at -j 1, medians
 * of 5: CPU 1.10 -> 1.05 s. */
__attribute__((target("avx2"))) static size_t scan_avx2(const char *p, size_t n, int want_quotes,
                                                        size_t maxl, counts *c, size_t *ls)
{
    const __m256i vn = _mm256_set1_epi8('\n'), vq = _mm256_set1_epi8('"'), vz = _mm256_setzero_si256();
    size_t i = 0, max_rounds = maxl / 32 < 255 ? maxl / 32 : 255;   /* maxl >= 32 */
    while (n - i >= 32) {
        size_t rounds = (n - i) / 32, start = i;
        if (rounds > max_rounds)
            rounds = max_rounds;
        __m256i an = vz, aq = vz, az = vz;
        for (size_t k = 0; k < rounds; k++, i += 32) {
            __m256i v = _mm256_loadu_si256((const __m256i *)(p + i));
            an = _mm256_sub_epi8(an, _mm256_cmpeq_epi8(v, vn));
            if (want_quotes)
                aq = _mm256_sub_epi8(aq, _mm256_cmpeq_epi8(v, vq));
            az = _mm256_or_si256(az, _mm256_cmpeq_epi8(v, vz));
        }
        uint64_t k = lanes_sum(_mm256_sad_epu8(an, vz));
        if (want_quotes)
            c->quotes += lanes_sum(_mm256_sad_epu8(aq, vz));
        chunk_done(p, start, i, k, _mm256_movemask_epi8(az) != 0, maxl, c, ls);
    }
    return i;
}
#else
int mk_blocks_avx2;
#endif

/* One pass that counts newlines (and quotes, for CSV), finds the first NUL
 * and the first over-long line. Compare results are summed in 8-bit lanes
 * over chunks of up to 255 vectors, then folded with psadbw: no popcount and
 * no branch per vector. */
static inline counts scan(const char *p, size_t n, int want_quotes, size_t maxl)
{
    counts c = { 0, 0, SIZE_MAX, SIZE_MAX };
    size_t i = 0, ls = 0;   /* ls: start of the current line */
#ifdef SCAN_AVX2
    if (mk_blocks_avx2 && maxl >= 32)
        i = scan_avx2(p, n, want_quotes, maxl, &c, &ls);
#endif
#ifdef __SSE2__
    const __m128i vn = _mm_set1_epi8('\n'), vq = _mm_set1_epi8('"'), vz = _mm_setzero_si128();
    size_t max_rounds = maxl / 16 < 255 ? maxl / 16 : 255;   /* maxl >= 16 */
    while (n - i >= 16) {
        size_t rounds = (n - i) / 16, start = i;
        if (rounds > max_rounds)
            rounds = max_rounds;
        __m128i an = vz, aq = vz, az = vz;
        for (size_t k = 0; k < rounds; k++, i += 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
            an = _mm_sub_epi8(an, _mm_cmpeq_epi8(v, vn));
            if (want_quotes)
                aq = _mm_sub_epi8(aq, _mm_cmpeq_epi8(v, vq));
            az = _mm_or_si128(az, _mm_cmpeq_epi8(v, vz));
        }
        an = _mm_sad_epu8(an, vz);
        uint64_t k = (uint64_t)_mm_cvtsi128_si32(an) + (uint64_t)_mm_extract_epi16(an, 4);
        if (want_quotes) {
            aq = _mm_sad_epu8(aq, vz);
            c.quotes += (uint64_t)_mm_cvtsi128_si32(aq) + (uint64_t)_mm_extract_epi16(aq, 4);
        }
        chunk_done(p, start, i, k, _mm_movemask_epi8(az) != 0, maxl, &c, &ls);
    }
#endif
    for (; i < n; i++) {
        if (p[i] == '\n') {
            c.nl++;
            if (i - ls > maxl && c.long_at == SIZE_MAX)
                c.long_at = ls;
            ls = i + 1;
        }
        if (want_quotes)
            c.quotes += p[i] == '"';
        if (p[i] == 0 && c.nul == SIZE_MAX)
            c.nul = i;
    }
    if (n - ls > maxl && c.long_at == SIZE_MAX)
        c.long_at = ls;
    return c;
}

size_t mk_count_byte(const char *p, size_t n, char ch)
{
    size_t cnt = 0, i = 0;
#ifdef __SSE2__
    const __m128i vc = _mm_set1_epi8(ch), vz = _mm_setzero_si128();
    while (n - i >= 16) {
        size_t rounds = (n - i) / 16;
        if (rounds > 255)
            rounds = 255;
        __m128i acc = vz;
        for (size_t k = 0; k < rounds; k++, i += 16)
            acc = _mm_sub_epi8(acc, _mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *)(p + i)), vc));
        acc = _mm_sad_epu8(acc, vz);
        cnt += (size_t)_mm_cvtsi128_si32(acc) + (size_t)_mm_extract_epi16(acc, 4);
    }
#endif
    for (; i < n; i++)
        cnt += p[i] == ch;
    return cnt;
}

/* ---- splitting ------------------------------------------------------------ */

/* Offset of the quote that opened a still-open quoted field in p[0..n), or
 * SIZE_MAX. Doubled quotes inside a field are escapes, not toggles. */
static size_t open_quote(const char *p, size_t n)
{
    size_t open = SIZE_MAX;
    const char *q = p, *end = p + n;
    while ((q = memchr(q, '"', (size_t)(end - q)))) {
        if (open == SIZE_MAX) {
            open = (size_t)(q - p);
            q++;
        } else if (q + 1 < end && q[1] == '"') {
            q += 2;
        } else {
            open = SIZE_MAX;
            q++;
        }
    }
    return open;
}

/* Find where the whole records in p[0..n) end. Returns the cut (0 = no
 * complete record yet) and sets *nl to the newlines before it. */
static size_t find_cut(const mk_blocks *b, const char *p, size_t n, int at_end, counts *c)
{
    if (at_end)
        return n;
    const char *nlp = memrchr(p, '\n', n);
    if (!nlp)
        return 0;
    size_t cut = (size_t)(nlp - p) + 1;
    if (b->o.split == MK_SPLIT_CSV) {
        /* Only a newline at even quote parity ends a record. */
        uint64_t q = c->quotes - mk_count_byte(p + cut, n - cut, '"');
        while (q & 1) {
            const char *prev = cut > 1 ? memrchr(p, '\n', cut - 1) : NULL;
            if (!prev)
                return 0;
            size_t pc = (size_t)(prev - p) + 1;
            q -= mk_count_byte(p + pc, cut - pc, '"');
            cut = pc;
        }
    }
    c->nl -= mk_count_byte(p + cut, n - cut, '\n');
    return cut;
}

static int fail(mk_blocks *b, const char *msg)
{
    snprintf(b->errmsg, sizeof b->errmsg, "%s", msg);
    b->failed = 1;
    return -1;
}

static int too_long(mk_blocks *b, const char *p, size_t n)
{
    char msg[512];
    size_t oq = b->o.split == MK_SPLIT_CSV ? open_quote(p, n) : SIZE_MAX;
    if (oq != SIZE_MAX)
        snprintf(msg, sizeof msg, "%s:%llu: unterminated quoted field (record longer than %zu bytes)",
                 b->name, (unsigned long long)(b->next_line + mk_count_byte(p, oq, '\n')),
                 b->o.max_record);
    else
        snprintf(msg, sizeof msg, "%s:%llu: line longer than %zu bytes", b->name,
                 (unsigned long long)b->next_line, b->o.max_record);
    return fail(b, msg);
}

/* Turn p[0..cut) into the next block; check NULs and line lengths;
 * advance line numbers. */
static int emit(mk_blocks *b, struct buf *bf, const char *p, size_t cut, const counts *c)
{
    char msg[512];
    if (b->o.check_nul && c->nul < cut && c->nul <= c->long_at) {
        snprintf(msg, sizeof msg, "%s:%llu: NUL byte in text input (binary file?)", b->name,
                 (unsigned long long)(b->next_line + mk_count_byte(p, c->nul, '\n')));
        return fail(b, msg);
    }
    if (c->long_at < cut) {
        snprintf(msg, sizeof msg, "%s:%llu: line longer than %zu bytes", b->name,
                 (unsigned long long)(b->next_line + mk_count_byte(p, c->long_at, '\n')),
                 b->o.max_record);
        return fail(b, msg);
    }
    bf->blk.data = p;
    bf->blk.len = cut;
    bf->blk.first_line = b->next_line;
    bf->blk.lines = c->nl;
    bf->blk.seq = b->next_seq++;
    b->next_line += c->nl;
    return 1;
}

static int produce_mapped(mk_blocks *b, struct buf *bf)
{
    if (b->map_off >= b->map_len)
        return 0;
    const char *p = b->map + b->map_off;
    size_t avail = b->map_len - b->map_off, n = b->o.block_size;
    for (;;) {
        if (n > avail)
            n = avail;
        counts c = scan(p, n, b->o.split == MK_SPLIT_CSV, b->o.max_record);
        size_t cut = find_cut(b, p, n, n == avail, &c);
        if (cut) {
            b->map_off += cut;
            return emit(b, bf, p, cut, &c);
        }
        if (n > b->o.max_record)
            return too_long(b, p, n);
        n += b->o.block_size;
    }
}

static int produce_copied(mk_blocks *b, struct buf *bf)
{
    char *m = bf->mem;
    size_t fill = b->carry_len, target = b->o.block_size;
    memcpy(m, b->carry, fill);
    b->carry_len = 0;
    for (;;) {
        while (fill < target && !b->src_eof) {
            ssize_t r = mk_source_read(b->src, m + fill, target - fill);
            if (r < 0)
                return fail(b, mk_err_msg());
            if (r == 0)
                b->src_eof = 1;
            fill += (size_t)r;
        }
        if (fill == 0)
            return 0;
        counts c = scan(m, fill, b->o.split == MK_SPLIT_CSV, b->o.max_record);
        size_t cut = find_cut(b, m, fill, b->src_eof, &c);
        if (cut) {
            b->carry_len = fill - cut;
            memcpy(b->carry, m + cut, b->carry_len);
            return emit(b, bf, m, cut, &c);
        }
        if (fill > b->o.max_record)
            return too_long(b, m, fill);
        target = fill + b->o.block_size;
        if (target > bf->cap)
            target = bf->cap;
    }
}

static int produce(mk_blocks *b, struct buf *bf)
{
    if (b->failed)
        return -1;
    int r = b->map ? produce_mapped(b, bf) : produce_copied(b, bf);
    if (r == 1 && b->o.prepare)
        b->o.prepare(b->o.ctx, &bf->blk);
    return r;
}

/* ---- hand-off between producer and consumers ---------------------------- */

static void push_ready(mk_blocks *b, struct buf *bf)
{
    bf->next = NULL;
    if (b->ready_tail)
        b->ready_tail->next = bf;
    else
        b->ready_head = bf;
    b->ready_tail = bf;
}

/* ---- the buffer pool ------------------------------------------------------
 * Buffers come from an mk_pool: created when every one is in use (up to
 * nbufs), destroyed after a second idle, and checked on every acquire: a
 * canary after the data area catches a reader or writer that ran past it. */

static const uint64_t CANARY = 0x6d656d6b69742121ull;   /* "memkit!!" */

static void *buf_create(void *ctx)
{
    mk_blocks *b = ctx;
    struct buf *bf = mk_xcalloc(1, sizeof *bf);
    bf->cap = b->cap;
    bf->mem = mk_xmalloc_flat(b->cap + PAD);
    memcpy(bf->mem + b->cap + PAD - sizeof CANARY, &CANARY, sizeof CANARY);
    return bf;
}

static void buf_destroy(void *obj, void *ctx)
{
    struct buf *bf = obj;
    mk_blocks *b = ctx;
    if (bf->blk.aux && b->o.aux_free)
        b->o.aux_free(bf->blk.aux);
    free(bf->mem);
    free(bf);
}

static int buf_check(void *obj, void *ctx)
{
    struct buf *bf = obj;
    (void)ctx;
    return memcmp(bf->mem + bf->cap + PAD - sizeof CANARY, &CANARY, sizeof CANARY) == 0;
}

static void *producer(void *arg)
{
    mk_blocks *b = arg;
    for (;;) {
        struct buf *bf = mk_pool_acquire(b->pool);
        pthread_mutex_lock(&b->mu);
        if (b->stop || !bf) {
            if (!bf && !b->stop) {
                fail(b, mk_err_msg());
                b->finished = 1;
                pthread_cond_broadcast(&b->cv_ready);
            }
            pthread_mutex_unlock(&b->mu);
            if (bf)
                mk_pool_release(b->pool, bf);
            return NULL;
        }
        pthread_mutex_unlock(&b->mu);

        int r = produce(b, bf);

        pthread_mutex_lock(&b->mu);
        if (r == 1) {
            push_ready(b, bf);
        } else {
            mk_pool_release(b->pool, bf);
            b->finished = 1;
        }
        pthread_cond_broadcast(&b->cv_ready);
        pthread_mutex_unlock(&b->mu);
        if (r != 1)
            return NULL;
    }
}

void mk_blocks_defaults(mk_blocks_opts *o)
{
    memset(o, 0, sizeof *o);
    o->block_size = 1 << 20;
    o->max_record = 1 << 20;
    o->split = MK_SPLIT_LINES;
    o->nbufs = 4;
    o->threaded = 1;
    o->check_nul = 1;
}

mk_blocks *mk_blocks_open(mk_source *src, const mk_blocks_opts *opts)
{
    mk_blocks *b = mk_xcalloc(1, sizeof *b);
    if (opts)
        b->o = *opts;
    else
        mk_blocks_defaults(&b->o);
    if (b->o.block_size < 4096)
        b->o.block_size = 4096;
    if (b->o.max_record < 16)
        b->o.max_record = 16;
    if (b->o.nbufs < 2)
        b->o.nbufs = 2;
    b->src = src;
    b->name = mk_source_name(src);
    b->next_line = 1;
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv_ready, NULL);

    const char *data;
    size_t len;
    int mapped = b->o.map ? mk_source_map(src, &data, &len) : 0;
    if (mapped < 0) {
        free(b);
        return NULL;
    }
    if (mapped) {
        b->map = data;
        b->map_len = len;
    } else {
        b->carry = mk_xmalloc_flat(b->o.max_record + b->o.block_size);
    }
    /* Large buffers come from mmap inside malloc: pages never touched (the
     * room kept for one over-long record) cost no resident memory. */
    b->cap = b->map ? 0 : b->o.block_size + b->o.max_record;
    mk_pool_opts po = { buf_create, buf_destroy, buf_check, NULL, 1, b->o.nbufs,
                        1000000000u, b };
    if (!(b->pool = mk_pool_new(&po))) {
        free(b->carry);
        free(b);
        return NULL;
    }
    if (b->o.threaded) {
        if (pthread_create(&b->th, NULL, producer, b) != 0) {
            b->o.threaded = 0;   /* read synchronously instead */
        } else {
            b->has_thread = 1;
        }
    }
    return b;
}

static int deliver_end(mk_blocks *b)
{
    if (b->failed) {
        mk_err_set("%s", b->errmsg);
        return -1;
    }
    return 0;
}

int mk_blocks_next(mk_blocks *b, mk_block **out)
{
    pthread_mutex_lock(&b->mu);
    if (!b->has_thread) {
        /* Synchronous: produce in the caller, one consumer at a time. */
        int r = -1;
        struct buf *bf = b->finished ? NULL : mk_pool_try_acquire(b->pool);
        if (b->finished) {
            r = deliver_end(b);
        } else if (!bf) {
            r = mk_err_set("%s: all %u blocks are held; release blocks before taking more",
                           b->name, b->o.nbufs);
        } else {
            r = produce(b, bf);
            if (r == 1) {
                *out = &bf->blk;
            } else {
                mk_pool_release(b->pool, bf);
                b->finished = 1;
                r = deliver_end(b);
            }
        }
        pthread_mutex_unlock(&b->mu);
        return r;
    }
    while (!b->ready_head && !b->finished)
        pthread_cond_wait(&b->cv_ready, &b->mu);
    int r;
    if (b->ready_head) {
        struct buf *bf = b->ready_head;
        b->ready_head = bf->next;
        if (!b->ready_head)
            b->ready_tail = NULL;
        *out = &bf->blk;
        r = 1;
    } else {
        r = deliver_end(b);
    }
    pthread_mutex_unlock(&b->mu);
    return r;
}

void mk_blocks_release(mk_blocks *b, mk_block *blk)
{
    struct buf *bf = (struct buf *)((char *)blk - offsetof(struct buf, blk));
    if (b->map)
        mk_source_unmap_hint(b->src, (size_t)(blk->data - b->map), blk->len);
    mk_pool_release(b->pool, bf);
}

void mk_blocks_pool_stats(mk_blocks *b, struct mk_pool_stats *st)
{
    mk_pool_stats(b->pool, st);
}

/* Return every block waiting in the ready queue to the pool. */
static void release_ready(mk_blocks *b, int stop)
{
    pthread_mutex_lock(&b->mu);
    if (stop)
        b->stop = 1;
    struct buf *bf = b->ready_head;
    b->ready_head = b->ready_tail = NULL;
    pthread_mutex_unlock(&b->mu);
    while (bf) {
        struct buf *next = bf->next;
        mk_pool_release(b->pool, bf);
        bf = next;
    }
}

void mk_blocks_close(mk_blocks *b)
{
    if (!b)
        return;
    if (b->has_thread) {
        /* Stop the producer: hand back the blocks nobody took, which also
         * wakes it if it waits for a buffer; then what it produced since. */
        release_ready(b, 1);
        pthread_join(b->th, NULL);
        release_ready(b, 0);
    }
    mk_pool_free(b->pool);
    free(b->carry);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cv_ready);
    free(b);
}
