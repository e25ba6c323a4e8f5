/* cachesim — replay request traces through LRU, FIFO, LFU, CLOCK, SIEVE,
 * S3-FIFO, ARC, 2Q, W-TinyLFU and Belady caches of several sizes at once.
 *
 * Flow: options → (a first pass over the traces when a size is a share of
 * the working set, or Belady needs next uses of a text trace) → one cache
 * per policy × size, warm from --load-state if asked → one decode of the
 * traces, in batches that every cache reads (worker threads each own some
 * caches; the main thread decodes the next batch meanwhile) → one table of
 * statistics per cache (or per --interval), or with --mrc LRU's miss-ratio
 * curve by stack distances → --save-state. Exit 0, or 2 on bad usage or
 * input. */
#include "cache.h"
#include "cli.h"
#include "err.h"
#include "mrc.h"
#include "out.h"
#include "parse.h"
#include "progress.h"
#include "svg.h"
#include "trace.h"
#include "vec.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

/* ---- options ---------------------------------------------------------------------------- */

static mk_list policies_opt, sizes_opt;
static int count_mode, weak, mrc_opt;
static uint64_t ttl_opt, interval, points = 40;
static char *format_opt = "auto", *csv_opt, *save_opt, *load_opt, *svg_opt, *wss_opt, *tmpdir_opt, *oracle_opt;
static double sample = 1.0, small_ratio = 0.10, window_ratio = 0.01, ain_ratio = 0.25;
static int64_t clock_bits = 1, move_threshold = 2;
static mk_cli cli;

static const mk_opt opts[] = {
    { "policies", 'p', MK_ARG_LIST, &policies_opt, "LIST", "policies, comma-separated: lru fifo lfu clock sieve "
      "s3fifo arc 2q tinylfu belady, or all", NULL, "all but belady" },
    { "sizes", 's', MK_ARG_LIST, &sizes_opt, "LIST", "cache sizes, comma-separated: bytes (64M, 1G), objects "
      "with --count, or a share of the working set (10%, 0.1)", NULL, "1%,10%" },
    { "count", 0, MK_ARG_FLAG, &count_mode, NULL, "capacity in objects: every object counts as 1" },
    { "ttl", 0, MK_ARG_DURATION, &ttl_opt, "DUR", "time to live of entries whose request gives none "
      "(30s, 5m); expired entries leave when next looked up" },
    { "weak", 0, MK_ARG_FLAG, &weak, NULL, "weak entries: a drop event removes the object from the cache" },
    { "trace-format", 0, MK_ARG_CHOICE, &format_opt, "FORMAT", "input format (auto: from the content)",
      "auto|text|keys|csv|oracleGeneral", "auto" },
    { "csv", 0, MK_ARG_STR, &csv_opt, "MAP", "CSV/TSV trace columns: key=COL[,size=COL,time=COL,ttl=COL,op=COL], "
      "COL a header name or number" },
    { "wss", 0, MK_ARG_STR, &wss_opt, "SIZE", "the working set (bytes, objects with --count) that percentages "
      "refer to, instead of a first pass" },
    { "interval", 0, MK_ARG_UINT, &interval, "N", "statistics per N requests, as a timeline" },
    { "mrc", 0, MK_ARG_FLAG, &mrc_opt, NULL, "LRU's miss-ratio curve from exact stack distances, instead of "
      "simulating policies" },
    { "sample", 0, MK_ARG_FLOAT, &sample, "R", "--mrc: sample a share R of the keys by hash (SHARDS), "
      "e.g. 0.01", NULL, "1" },
    { "points", 0, MK_ARG_UINT, &points, "N", "--mrc: points on the curve besides the --sizes", NULL, "40" },
    { "svg", 0, MK_ARG_STR, &svg_opt, "FILE", "--mrc: also draw the curve as an SVG plot into FILE" },
    { "write-oracle", 0, MK_ARG_STR, &oracle_opt, "FILE", "convert the trace's gets to libCacheSim oracleGeneral "
      "records with next-access times, instead of simulating" },
    { "save-state", 0, MK_ARG_STR, &save_opt, "FILE", "write the caches' contents and statistics at the end" },
    { "load-state", 0, MK_ARG_STR, &load_opt, "FILE", "start from the caches saved by --save-state" },
    { "s3fifo-small", 0, MK_ARG_FLOAT, &small_ratio, "R", "S3-FIFO's small queue, a share of the capacity",
      NULL, "0.1" },
    { "s3fifo-threshold", 0, MK_ARG_INT, &move_threshold, "N", "S3-FIFO: reads in the small queue that "
      "move an object to main", NULL, "2" },
    { "2q-ain", 0, MK_ARG_FLOAT, &ain_ratio, "R", "2Q's Ain queue, a share of the capacity", NULL, "0.25" },
    { "tinylfu-window", 0, MK_ARG_FLOAT, &window_ratio, "R", "W-TinyLFU's window, a share of the capacity",
      NULL, "0.01" },
    { "clock-bits", 0, MK_ARG_INT, &clock_bits, "N", "CLOCK's counter bits (1 = one reference bit)", NULL, "1" },
    { "tmpdir", 0, MK_ARG_STR, &tmpdir_opt, "DIR", "where standard input is kept when it must be read twice",
      NULL, "$TMPDIR or /tmp" },
    { 0 },
};

static const mk_cli_spec spec = {
    "cachesim", "[OPTIONS] [FILE...]",
    "Replay request traces through LRU, FIFO, LFU, CLOCK, SIEVE, S3-FIFO, ARC, 2Q, W-TinyLFU and Belady caches.",
    "Input: memkit cache traces (TS OP KEY SIZE [TTL]), one key per line, CSV/TSV with\n"
    "--csv, or libCacheSim oracleGeneral; plain, zstd or gzip.\n"
    "\n"
    "Exit status: 0 done; 2 bad usage or input.\n"
    "\n"
    "Examples:\n"
    "  cachesim -p lru,s3fifo,sieve -s 1%,10% trace.oracleGeneral.zst\n"
    "  cachesim --count -s 1000,10000 -f tsv keys.txt\n"
    "  cachesim --mrc --svg mrc.svg trace.zst\n"
    "  cachesim --ttl 30s --weak app.cache",
    opts, MK_STD_CONFIG | MK_STD_FORMAT | MK_STD_OUTPUT | MK_STD_QUIET | MK_STD_PROGRESS | MK_STD_STATS |
          MK_STD_THREADS,
    NULL, NULL, NULL,
};

/* ---- inputs ------------------------------------------------------------------------------ */

static cs_keys *keys;
static cs_csvmap csvmap;
static cs_format trace_fmt = CS_FMT_AUTO;     /* as given, then as found in the first file */
static char **files;
static int nfiles;
static char *spooled;                          /* stdin, kept for a second pass */
static int spooled_at = -1;                    /* which file it was */

static void remove_spool(void)
{
    if (spooled)
        unlink(spooled);
}

/* Copies standard input (still compressed, if it is) to a file under
 * --tmpdir, so that it can be read twice. */
static char *spool_stdin(void)
{
    const char *dir = tmpdir_opt ? tmpdir_opt : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = mk_xmalloc(strlen(dir) + 32);
    sprintf(path, "%s/cachesim.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        mk_die("cannot create a file in %s to keep standard input: %s", dir, strerror(errno));
    spooled = path;
    atexit(remove_spool);
    static char buf[1 << 16];
    for (;;) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            mk_die("standard input: %s", strerror(errno));
        if (r == 0)
            break;
        for (ssize_t o = 0; o < r;) {
            ssize_t w = write(fd, buf + o, (size_t)(r - o));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                mk_die("%s: %s", path, strerror(errno));
            o += w;
        }
    }
    if (close(fd) < 0)
        mk_die("%s: %s", path, strerror(errno));
    return path;
}

/* Before a second pass: standard input is kept in a file. */
static void spool_inputs(void)
{
    for (int f = 0; f < nfiles; f++)
        if (!strcmp(files[f], "-")) {
            if (spooled)
                mk_cli_usage_error(&cli, "standard input given twice");
            files[f] = spool_stdin();
            spooled_at = f;
        }
}

static cs_trace *open_trace(int f)
{
    cs_trace *t = cs_trace_open(files[f], f == spooled_at ? "<stdin>" : NULL, trace_fmt, csv_opt ? &csvmap : NULL,
                                keys);
    if (!t)
        mk_die_err();
    return t;
}

/* ---- the first pass: working set, and next uses for Belady ------------------------------- */

enum { BATCH = 16384, NBUF = 4 };

static uint32_t *next_use;

/* In place, backward: each request's key id becomes the index of the next
 * request of the same key, or UINT32_MAX. */
static void next_uses(uint32_t *ids, uint64_t n)
{
    uint32_t nk = cs_keys_count(keys);
    uint32_t *last = mk_xmalloc((size_t)(nk ? nk : 1) * sizeof *last);
    memset(last, 0xff, (size_t)nk * sizeof *last);
    for (uint64_t i = n; i-- > 0;) {
        uint32_t id = ids[i];
        ids[i] = last[id];
        last[id] = (uint32_t)i;
    }
    free(last);
}      /* get i (non-zero size) -> the get of its next use, or UINT32_MAX */
static uint64_t ngets;

static void first_pass(int want_next)
{
    cs_req *b = mk_xmalloc(BATCH * sizeof *b);
    mk_vec ids;
    mk_vec_init(&ids, sizeof(uint32_t));
    for (int f = 0; f < nfiles; f++) {
        cs_trace *t = open_trace(f);
        long n;
        while ((n = cs_trace_read(t, b, BATCH)) > 0)
            for (long i = 0; i < n; i++) {
                if (b[i].op != CS_GET || !b[i].size)
                    continue;
                cs_keys_first_size(keys, b[i].id, b[i].size);
                if (want_next && cs_trace_format(t) != CS_FMT_ORACLE)
                    *(uint32_t *)mk_vec_push(&ids) = b[i].id;
            }
        if (n < 0)
            mk_die_err();
        cs_trace_close(t);
    }
    free(b);
    if (!want_next || !mk_vec_len(&ids))
        return;
    /* Backward: each get learns the index of the next get of its key. */
    ngets = mk_vec_len(&ids);
    if (ngets >= UINT32_MAX)
        mk_die("Belady on a text trace handles at most 2^32 - 1 requests");
    next_use = mk_vec_data(&ids);
    next_uses(next_use, ngets);
}

/* ---- the simulated caches ------------------------------------------------------------------ */

typedef struct {
    mk_cache *c;
    mk_cache_policy policy;
    uint64_t capacity;
    const char *size_spec;
    mk_vec timeline;            /* mk_cache_stats at the end of each interval */
    uint64_t seen;              /* gets so far, for the intervals */
} sim;

static sim *sims;
static size_t nsims;
static cs_mrc *mrc;
static uint64_t *mrc_caps;
static size_t nmrc_caps;

static inline uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* One batch into one cache (gets of size 0 were dropped by prepare()),
 * cut at the ends of --interval periods to take their statistics. */
static void feed(sim *s, const mk_cache_req *r, size_t n)
{
    mk_cache *c = s->c;
    if (!interval) {
        mk_cache_run(c, r, n, 0);
        return;
    }
    while (n) {
        mk_cache_stats st;
        mk_cache_stats_get(c, &st);
        uint64_t before = st.requests;
        size_t used = mk_cache_run(c, r, n, interval - s->seen % interval);
        mk_cache_stats_get(c, &st);
        s->seen += st.requests - before;
        if (st.requests > before && s->seen % interval == 0)
            *(mk_cache_stats *)mk_vec_push(&s->timeline) = st;
        r += used;
        n -= used;
    }
}

static void feed_mrc(const mk_cache_req *r, size_t n)
{
    static uint64_t ids[BATCH];
    static uint32_t sizes[BATCH];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (r[i].op == MK_CACHE_GET) {
            ids[k] = r[i].key;
            sizes[k++] = r[i].size;
        }
    cs_mrc_access_n(mrc, ids, NULL, sizes, k);
}

/* ---- workers: each owns some caches and reads every batch -------------------------------- */

typedef struct {
    pthread_t th;
    size_t first, step;         /* its caches: first, first + step, ... */
    int mrc;                    /* it also feeds the curve */
    uint64_t done;              /* batches finished */
} worker;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t filled_cv, done_cv;
    mk_cache_req *buf[NBUF];
    size_t len[NBUF];
    uint64_t filled;
    int finished;
} ring = { .mu = PTHREAD_MUTEX_INITIALIZER, .filled_cv = PTHREAD_COND_INITIALIZER,
           .done_cv = PTHREAD_COND_INITIALIZER };

static worker *workers;
static unsigned nworkers;

static void run_batch(const worker *w, const mk_cache_req *r, size_t n)
{
    for (size_t k = w->first; k < nsims; k += w->step)
        feed(&sims[k], r, n);
    if (w->mrc)
        feed_mrc(r, n);
}

static void *work(void *arg)
{
    worker *w = arg;
    for (uint64_t seq = 0;; seq++) {
        pthread_mutex_lock(&ring.mu);
        while (ring.filled <= seq && !ring.finished)
            pthread_cond_wait(&ring.filled_cv, &ring.mu);
        if (ring.filled <= seq) {
            pthread_mutex_unlock(&ring.mu);
            return NULL;
        }
        const mk_cache_req *r = ring.buf[seq % NBUF];
        size_t n = ring.len[seq % NBUF];
        pthread_mutex_unlock(&ring.mu);
        run_batch(w, r, n);
        pthread_mutex_lock(&ring.mu);
        w->done = seq + 1;
        pthread_cond_broadcast(&ring.done_cv);
        pthread_mutex_unlock(&ring.mu);
    }
}

static void start_workers(unsigned n)
{
    nworkers = n;
    workers = mk_xcalloc(n, sizeof *workers);
    for (unsigned i = 0; i < NBUF; i++)
        ring.buf[i] = mk_xmalloc(BATCH * sizeof(mk_cache_req));
    for (unsigned i = 0; i < n; i++) {
        workers[i].first = i;
        workers[i].step = n;
        workers[i].mrc = mrc && i == n - 1;
        if (n > 1 && mrc && nsims == 0)
            workers[i].mrc = i == 0;
        if (pthread_create(&workers[i].th, NULL, work, &workers[i]))
            mk_die("cannot start a thread");
    }
}

/* The buffer for batch seq, once every worker is done with its last use. */
static mk_cache_req *ring_slot(uint64_t seq)
{
    pthread_mutex_lock(&ring.mu);
    for (;;) {
        uint64_t low = UINT64_MAX;
        for (unsigned i = 0; i < nworkers; i++)
            if (workers[i].done < low)
                low = workers[i].done;
        if (seq < NBUF || low > seq - NBUF)
            break;
        pthread_cond_wait(&ring.done_cv, &ring.mu);
    }
    pthread_mutex_unlock(&ring.mu);
    return ring.buf[seq % NBUF];
}

static void ring_publish(uint64_t seq, size_t n)
{
    pthread_mutex_lock(&ring.mu);
    ring.len[seq % NBUF] = n;
    ring.filled = seq + 1;
    pthread_cond_broadcast(&ring.filled_cv);
    pthread_mutex_unlock(&ring.mu);
}

static void stop_workers(void)
{
    pthread_mutex_lock(&ring.mu);
    ring.finished = 1;
    pthread_cond_broadcast(&ring.filled_cv);
    pthread_mutex_unlock(&ring.mu);
    for (unsigned i = 0; i < nworkers; i++)
        pthread_join(workers[i].th, NULL);
    for (unsigned i = 0; i < NBUF; i++)
        free(ring.buf[i]);
    free(workers);
}

/* ---- the replay ---------------------------------------------------------------------------- */

static uint64_t n_requests, n_skipped;

/* Decoded requests into cache requests: gets and sets of size 0 are
 * dropped, TTLs become expiry times, and a text trace's gets learn their
 * next use (Belady). Returns the count kept. */
static size_t prepare(const cs_req *r, size_t n, mk_cache_req *out, int text_next)
{
    static const uint8_t op[4] = { MK_CACHE_GET, MK_CACHE_SET, MK_CACHE_DEL, MK_CACHE_DROP };
    size_t k = 0;
    int64_t dflt = ttl_opt ? (int64_t)ttl_opt : -1;
    for (size_t i = 0; i < n; i++) {
        const cs_req *x = &r[i];
        mk_cache_req *q = &out[k];
        q->key = x->id;
        q->size = x->size;
        q->op = op[x->op];
        q->now = x->ts;
        q->expire = MK_CACHE_NEVER;
        q->next = x->next;
        if (x->op == CS_GET || x->op == CS_SET) {
            if (!x->size) {
                n_skipped++;
                continue;
            }
            int64_t ttl = x->ttl >= 0 ? x->ttl : dflt;
            if (ttl >= 0)
                q->expire = x->ts + ttl;
            if (x->op == CS_GET) {
                if (text_next) {
                    uint32_t nx = ngets ? next_use[n_requests] : UINT32_MAX;
                    q->next = nx == UINT32_MAX ? MK_CACHE_NEVER : (int64_t)nx;
                }
                n_requests++;
            }
        }
        k++;
    }
    return k;
}

static void replay(mk_progress *pr, int text_next)
{
    unsigned threads = (unsigned)cli.threads;
    size_t jobs = nsims + (mrc ? 1 : 0);
    if (threads > jobs)
        threads = (unsigned)jobs;
    int threaded = cli.threads > 1;
    cs_req *dec = mk_xmalloc(BATCH * sizeof *dec);
    mk_cache_req *own = NULL;
    if (threaded)
        start_workers(threads ? threads : 1);
    else
        own = mk_xmalloc(BATCH * sizeof *own);
    worker all = { .first = 0, .step = 1, .mrc = mrc != NULL };
    uint64_t seq = 0, in_done = 0;
    for (int f = 0; f < nfiles; f++) {
        cs_trace *t = open_trace(f);
        for (;;) {
            long n = cs_trace_read(t, dec, BATCH);
            if (n < 0)
                mk_die_err();
            if (n == 0)
                break;
            mk_cache_req *b = threaded ? ring_slot(seq) : own;
            size_t k = prepare(dec, (size_t)n, b, text_next && cs_trace_format(t) != CS_FMT_ORACLE);
            if (threaded)
                ring_publish(seq++, k);
            else
                run_batch(&all, b, k);
            mk_progress_update(pr, in_done + cs_trace_in_bytes(t));
        }
        in_done += cs_trace_in_bytes(t);
        cs_trace_close(t);
    }
    if (threaded)
        stop_workers();
    free(own);
    free(dec);
}

/* ---- --write-oracle --------------------------------------------------------------------- */

/* The u64 id a key gets in oracleGeneral: its own for oracleGeneral input,
 * the number a text key spells when it is a decimal below 2^64, else the
 * XXH3 hash of its bytes. */
static uint64_t oracle_id(uint32_t id)
{
    const char *p;
    size_t n;
    uint64_t v;
    if (cs_keys_get(keys, id, &p, &n, &v))
        return v;
    if (mk_parse_u64(p, n, &v) == 0 && (n == 1 || p[0] != '0'))
        return v;
    return cs_keys_name(keys, id);
}

/* Two passes: the ids of every get (size 0 included, as libCacheSim's
 * traceConv counts them), then the records, each with the 1-based number
 * of the next record of its key, or -1. */
static void write_oracle(void)
{
    cs_req *b = mk_xmalloc(BATCH * sizeof *b);
    mk_vec ids;
    mk_vec_init(&ids, sizeof(uint32_t));
    for (int f = 0; f < nfiles; f++) {
        cs_trace *t = open_trace(f);
        long n;
        while ((n = cs_trace_read(t, b, BATCH)) > 0)
            for (long i = 0; i < n; i++)
                if (b[i].op == CS_GET)
                    *(uint32_t *)mk_vec_push(&ids) = b[i].id;
        if (n < 0)
            mk_die_err();
        cs_trace_close(t);
    }
    uint64_t nrec = mk_vec_len(&ids);
    if (nrec >= UINT32_MAX)
        mk_die("--write-oracle handles at most 2^32 - 1 requests");
    uint32_t *nx = mk_vec_data(&ids);
    next_uses(nx, nrec);
    mk_out *o = mk_out_open(oracle_opt);
    if (!o)
        mk_die_err();
    uint64_t k = 0;
    for (int f = 0; f < nfiles; f++) {
        cs_trace *t = open_trace(f);
        long n;
        while ((n = cs_trace_read(t, b, BATCH)) > 0)
            for (long i = 0; i < n; i++) {
                if (b[i].op != CS_GET)
                    continue;
                unsigned char rec[24];
                uint64_t ts = (uint64_t)b[i].ts / 1000000000, id = oracle_id(b[i].id);
                int64_t next = nx[k] == UINT32_MAX ? -1 : (int64_t)nx[k] + 1;
                k++;
                if (ts > UINT32_MAX)
                    mk_die("--write-oracle: time %llu s does not fit oracleGeneral's 32 bits",
                           (unsigned long long)ts);
                for (int j = 0; j < 4; j++)
                    rec[j] = (unsigned char)(ts >> (8 * j));
                for (int j = 0; j < 8; j++)
                    rec[4 + j] = (unsigned char)(id >> (8 * j));
                for (int j = 0; j < 4; j++)
                    rec[12 + j] = (unsigned char)(b[i].size >> (8 * j));
                for (int j = 0; j < 8; j++)
                    rec[16 + j] = (unsigned char)((uint64_t)next >> (8 * j));
                mk_out_write(o, rec, sizeof rec);
            }
        if (n < 0)
            mk_die_err();
        cs_trace_close(t);
    }
    if (mk_out_close(o) < 0)
        mk_die_err();
    mk_vec_free(&ids);
    free(b);
}

/* ---- sizes and policies ------------------------------------------------------------------- */

/* A share of the working set ("10%" or "0.1"), as a fraction; 0 if s is
 * an absolute size. -1 if malformed. */
static double share(const char *s)
{
    size_t n = strlen(s);
    double d;
    if (n > 1 && s[n - 1] == '%') {
        if (mk_parse_double(s, n - 1, &d) < 0 || !(d > 0 && d <= 100))
            return -1;
        return d / 100;
    }
    if (strchr(s, '.') && mk_parse_double(s, n, &d) == 0) {
        if (!(d > 0 && d <= 1))
            return -1;
        return d;
    }
    return 0;
}

static uint64_t absolute(const char *s)
{
    uint64_t v;
    int bad = count_mode ? mk_parse_u64(s, strlen(s), &v) : mk_parse_size(s, strlen(s), &v);
    if (bad < 0)
        mk_cli_usage_error(&cli, "-s: bad size '%s' (%s, or a share such as 10%%)", s,
                           count_mode ? "a number of objects" : "bytes such as 64M or 1G");
    return v;
}

static int needs_wss(void)
{
    for (size_t i = 0; i < sizes_opt.n; i++)
        if (share(sizes_opt.v[i]) != 0)
            return 1;
    return 0;
}

static uint64_t wss_given(void)
{
    uint64_t v;
    int bad = count_mode ? mk_parse_u64(wss_opt, strlen(wss_opt), &v) : mk_parse_size(wss_opt, strlen(wss_opt), &v);
    if (bad < 0 || !v)
        mk_cli_usage_error(&cli, "--wss: bad size '%s'", wss_opt);
    return v;
}

static uint64_t capacity_of(const char *s, uint64_t wss)
{
    double f = share(s);
    if (f < 0)
        mk_cli_usage_error(&cli, "-s: bad share '%s' (a percentage in (0, 100] or a fraction in (0, 1])", s);
    if (f > 0 && !wss)
        return 0;   /* an empty trace: nothing to size, nothing to count */
    uint64_t cap = f > 0 ? (uint64_t)((double)wss * f) : absolute(s);
    if (!cap)
        mk_die("-s %s: capacity 0%s", s, f > 0 ? " (the working set is too small for that share)" : "");
    return cap;
}

static void parse_policies(mk_cache_policy *out, size_t *n)
{
    *n = 0;
    static const char *const dflt[] = { "all-but-belady" };
    const char *const *v = policies_opt.n ? (const char *const *)policies_opt.v : dflt;
    size_t nv = policies_opt.n ? policies_opt.n : 1;
    for (size_t i = 0; i < nv; i++) {
        int all = !strcmp(v[i], "all"), most = !strcmp(v[i], "all-but-belady");
        if (all || most) {
            for (int p = 0; p < MK_CACHE_NPOLICIES; p++)
                if (all || p != MK_CACHE_BELADY)
                    out[(*n)++] = (mk_cache_policy)p;
            continue;
        }
        mk_cache_policy p;
        if (mk_cache_policy_parse(v[i], strlen(v[i]), &p) < 0)
            mk_cli_usage_error(&cli, "-p: unknown policy '%s' (lru, fifo, lfu, clock, sieve, s3fifo, arc, 2q, "
                               "tinylfu, belady, all)", v[i]);
        out[(*n)++] = p;
        if (*n > 64)
            mk_cli_usage_error(&cli, "-p: too many policies");
    }
}

static void make_opts(mk_cache_opts *o, mk_cache_policy p, uint64_t cap, uint64_t wss_bytes, uint64_t wss_objs)
{
    mk_cache_defaults(o, p, cap);
    o->count = count_mode;
    o->weak = weak;
    o->dense = 1;
    if (p == MK_CACHE_S3FIFO)
        o->small_ratio = small_ratio;
    if (p == MK_CACHE_2Q)
        o->small_ratio = ain_ratio;
    o->window_ratio = window_ratio;
    o->key_name = cs_keys_name;
    o->key_name_ctx = keys;
    o->clock_bits = (int)clock_bits;
    o->move_threshold = (int)move_threshold;
    /* The sketch counts objects: as many as the cache holds. */
    double mean = wss_objs ? (double)wss_bytes / (double)wss_objs : 0;
    o->expected_objects = count_mode ? cap : mean > 0 ? (uint64_t)((double)cap / mean) + 1 : 0;
}

/* ---- state files --------------------------------------------------------------------------- */

/* Layout (all little-endian), see cachesim(1) and memkit-formats(5):
 *   "MKCACHE\0" u32 version=1, u32 flags (1 count, 2 weak), u32 caches,
 *   u32 reserved, u64 keys, the keys (u8 0, u32 length and bytes for a text
 *   key; u8 1 and u64 for a numeric one); then per cache: u32 policy, u32 reserved,
 *   u64 capacity, f64 × 4 ratios, i32 × 2 counters, u64 expected objects,
 *   u64 × 17 statistics, u64 entries, each u64 key index, i64 expiry,
 *   u32 size, u32 freq, u8 queue, u8 flags; u64 state length and bytes;
 *   last, the XXH64 of everything before it. */
enum { STATE_VERSION = 1, NSTAT = 17 };
static const char state_magic[8] = "MKCACHE";

static void stats_words(const mk_cache_stats *st, uint64_t *w)
{
    uint64_t v[NSTAT] = { st->requests,  st->hits,     st->misses,      st->bytes,         st->miss_bytes,
                          st->evictions, st->evicted_bytes, st->expirations, st->weak_drops, st->sets,
                          st->deletes,   st->rejected, st->objects,     st->used,          st->retained,
                          st->retained_bytes, st->retained_hits };
    memcpy(w, v, sizeof v);
}

static void words_stats(const uint64_t *w, mk_cache_stats *st)
{
    *st = (mk_cache_stats){ .requests = w[0], .hits = w[1], .misses = w[2], .bytes = w[3], .miss_bytes = w[4],
                            .evictions = w[5], .evicted_bytes = w[6], .expirations = w[7], .weak_drops = w[8],
                            .sets = w[9], .deletes = w[10], .rejected = w[11] };
}

typedef struct {
    mk_out *o;
    XXH64_state_t *h;
    mk_vec *kidx;       /* dense id -> saved key index + 1 */
    uint64_t nkeys;
    mk_vec *order;      /* saved key index -> dense id */
} saver;

static void put(saver *s, const void *p, size_t n)
{
    mk_out_write(s->o, p, n);
    XXH64_update(s->h, p, n);
}

static void put_u32(saver *s, uint32_t v)
{
    put(s, &v, 4);
}

static void put_u64(saver *s, uint64_t v)
{
    put(s, &v, 8);
}

/* First walk: number the keys the caches hold. */
static void note_key(void *ctx, const mk_cache_entry *e)
{
    saver *s = ctx;
    uint64_t *slot = mk_vec_get(s->kidx, (size_t)e->key);
    if (!*slot) {
        *slot = ++s->nkeys;
        *(uint32_t *)mk_vec_push(s->order) = (uint32_t)e->key;
    }
}

static void count_entry(void *ctx, const mk_cache_entry *e)
{
    (void)ctx;
    (void)e;
}

static void put_entry(void *ctx, const mk_cache_entry *e)
{
    saver *s = ctx;
    uint64_t k = *(uint64_t *)mk_vec_get(s->kidx, (size_t)e->key) - 1;
    put_u64(s, k);
    put(s, &e->expire, 8);
    put_u32(s, e->size);
    put_u32(s, e->freq);
    put(s, &e->queue, 1);
    put(s, &e->flags, 1);
}

static void save_state(const char *path)
{
    mk_out *o = mk_out_open(path);
    if (!o)
        mk_die_err();
    mk_vec kidx, order;
    mk_vec_init(&kidx, sizeof(uint64_t));
    mk_vec_init(&order, sizeof(uint32_t));
    uint32_t nk = cs_keys_count(keys);
    memset(mk_vec_push_n(&kidx, nk ? nk : 1), 0, (size_t)(nk ? nk : 1) * sizeof(uint64_t));
    saver s = { o, XXH64_createState(), &kidx, 0, &order };
    if (!s.h)
        mk_die("out of memory");
    XXH64_reset(s.h, 0);
    for (size_t i = 0; i < nsims; i++)
        mk_cache_walk(sims[i].c, note_key, &s);
    put(&s, state_magic, 8);
    put_u32(&s, STATE_VERSION);
    put_u32(&s, (uint32_t)(count_mode | weak << 1));
    put_u32(&s, (uint32_t)nsims);
    put_u32(&s, 0);
    put_u64(&s, s.nkeys);
    for (uint64_t i = 0; i < s.nkeys; i++) {
        uint32_t id = *(uint32_t *)mk_vec_get(&order, (size_t)i);
        const char *p;
        size_t n;
        uint64_t v;
        uint8_t kind = (uint8_t)cs_keys_get(keys, id, &p, &n, &v);
        put(&s, &kind, 1);
        if (kind) {
            put_u64(&s, v);
        } else {
            put_u32(&s, (uint32_t)n);
            put(&s, p, n);
        }
    }
    for (size_t i = 0; i < nsims; i++) {
        const mk_cache_opts *co = mk_cache_options(sims[i].c);
        put_u32(&s, (uint32_t)co->policy);
        put_u32(&s, 0);
        put_u64(&s, co->capacity);
        double r[4] = { co->small_ratio, co->ghost_ratio, co->window_ratio, co->protected_ratio };
        put(&s, r, sizeof r);
        put_u32(&s, (uint32_t)co->move_threshold);
        put_u32(&s, (uint32_t)co->clock_bits);
        put_u64(&s, co->expected_objects);
        mk_cache_stats st;
        mk_cache_stats_get(sims[i].c, &st);
        uint64_t w[NSTAT];
        stats_words(&st, w);
        put(&s, w, sizeof w);
        put_u64(&s, mk_cache_walk(sims[i].c, count_entry, NULL));
        mk_cache_walk(sims[i].c, put_entry, &s);
        size_t blen = mk_cache_state_size(sims[i].c);
        void *blob = mk_xmalloc(blen);
        mk_cache_state_write(sims[i].c, blob);
        put_u64(&s, blen);
        put(&s, blob, blen);
        free(blob);
    }
    uint64_t sum = XXH64_digest(s.h);
    mk_out_write(o, &sum, 8);
    XXH64_freeState(s.h);
    mk_vec_free(&kidx);
    mk_vec_free(&order);
    if (mk_out_close(o) < 0)
        mk_die_err();
}

/* A state file read whole: it holds what the caches held, so it is as big
 * as the caches' contents, which fit in memory by definition. */
typedef struct {
    mk_cache_opts o;
    mk_cache_stats st;
    mk_cache_entry *e;
    uint64_t n;
    const void *blob;
    uint64_t blen;
    int used;
} saved_cache;

static saved_cache *saved;
static uint32_t nsaved;
static char *state_data;

typedef struct {
    const char *p, *end;
    const char *path;
} reader;

static const void *take(reader *r, size_t n)
{
    if ((size_t)(r->end - r->p) < n)
        mk_die("%s: truncated state file", r->path);
    const void *p = r->p;
    r->p += n;
    return p;
}

static uint32_t take_u32(reader *r)
{
    uint32_t v;
    memcpy(&v, take(r, 4), 4);
    return v;
}

static uint64_t take_u64(reader *r)
{
    uint64_t v;
    memcpy(&v, take(r, 8), 8);
    return v;
}

static void load_state(const char *path)
{
    int fd = open(path, O_RDONLY);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) < 0)
        mk_die("%s: %s", path, strerror(errno));
    size_t len = (size_t)sb.st_size;
    state_data = mk_xmalloc(len ? len : 1);
    for (size_t o = 0; o < len;) {
        ssize_t r = read(fd, state_data + o, len - o);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            mk_die("%s: %s", path, r < 0 ? strerror(errno) : "file shrank while reading");
        o += (size_t)r;
    }
    close(fd);
    if (len < 8 + 8 || memcmp(state_data, state_magic, 8))
        mk_die("%s: not a cachesim state file", path);
    uint64_t sum;
    memcpy(&sum, state_data + len - 8, 8);
    if (XXH64(state_data, len - 8, 0) != sum)
        mk_die("%s: checksum mismatch: the state file is corrupt", path);
    reader r = { state_data + 8, state_data + len - 8, path };
    uint32_t version = take_u32(&r);
    if (version != STATE_VERSION)
        mk_die("%s: state file version %u; this cachesim reads version %d", path, version, STATE_VERSION);
    uint32_t flags = take_u32(&r);
    if ((flags & 1) != (uint32_t)count_mode)
        mk_die("%s: saved %s capacities, but this run %s --count", path, flags & 1 ? "object" : "byte",
               count_mode ? "has" : "lacks");
    nsaved = take_u32(&r);
    take_u32(&r);
    uint64_t nk = take_u64(&r);
    if (nk > (uint64_t)(r.end - r.p))
        mk_die("%s: truncated state file", path);
    uint32_t *ids = mk_xmalloc((size_t)(nk ? nk : 1) * sizeof *ids);
    for (uint64_t i = 0; i < nk; i++) {
        uint8_t kind = *(const uint8_t *)take(&r, 1);
        if (kind == 1) {
            ids[i] = cs_keys_num(keys, take_u64(&r));
        } else if (kind == 0) {
            uint32_t n = take_u32(&r);
            ids[i] = cs_keys_text(keys, take(&r, n), n);
        } else {
            mk_die("%s: bad key record", path);
        }
    }
    saved = mk_xcalloc(nsaved ? nsaved : 1, sizeof *saved);
    for (uint32_t c = 0; c < nsaved; c++) {
        saved_cache *sc = &saved[c];
        uint32_t pol = take_u32(&r);
        take_u32(&r);
        if (pol >= MK_CACHE_NPOLICIES)
            mk_die("%s: unknown policy %u", path, pol);
        mk_cache_defaults(&sc->o, (mk_cache_policy)pol, take_u64(&r));
        double ratios[4];
        memcpy(ratios, take(&r, sizeof ratios), sizeof ratios);
        sc->o.small_ratio = ratios[0];
        sc->o.ghost_ratio = ratios[1];
        sc->o.window_ratio = ratios[2];
        sc->o.protected_ratio = ratios[3];
        sc->o.move_threshold = (int)take_u32(&r);
        sc->o.clock_bits = (int)take_u32(&r);
        sc->o.expected_objects = take_u64(&r);
        sc->o.count = count_mode;
        sc->o.weak = weak;
        sc->o.dense = 1;
        sc->o.key_name = cs_keys_name;
        sc->o.key_name_ctx = keys;
        uint64_t w[NSTAT];
        memcpy(w, take(&r, sizeof w), sizeof w);
        words_stats(w, &sc->st);
        sc->n = take_u64(&r);
        if (sc->n > (uint64_t)(r.end - r.p) / 26)
            mk_die("%s: truncated state file", path);
        sc->e = mk_xmalloc((size_t)(sc->n ? sc->n : 1) * sizeof *sc->e);
        for (uint64_t i = 0; i < sc->n; i++) {
            mk_cache_entry *e = &sc->e[i];
            uint64_t k = take_u64(&r);
            if (k >= nk)
                mk_die("%s: entry names key %llu of %llu", path, (unsigned long long)k, (unsigned long long)nk);
            e->key = ids[k];
            memcpy(&e->expire, take(&r, 8), 8);
            e->size = take_u32(&r);
            e->freq = take_u32(&r);
            e->queue = *(const uint8_t *)take(&r, 1);
            e->flags = *(const uint8_t *)take(&r, 1);
        }
        sc->blen = take_u64(&r);
        sc->blob = take(&r, (size_t)sc->blen);
    }
    if (r.p != r.end)
        mk_die("%s: %zu bytes after the last cache", path, (size_t)(r.end - r.p));
    free(ids);
}

static const char *size_name(uint64_t cap, char *buf, size_t n)
{
    if (count_mode)
        snprintf(buf, n, "%llu", (unsigned long long)cap);
    else
        mk_fmt_bytes(buf, n, cap);
    return buf;
}

/* Restores sim s from the saved cache of the same policy and capacity. */
static void warm_start(sim *s)
{
    char b[MK_FMT_BUFSZ];
    for (uint32_t c = 0; c < nsaved; c++) {
        saved_cache *sc = &saved[c];
        if (sc->used || sc->o.policy != s->policy || sc->o.capacity != s->capacity)
            continue;
        sc->used = 1;
        for (uint64_t i = 0; i < sc->n; i++)
            if (mk_cache_restore(s->c, &sc->e[i]) < 0)
                mk_die("%s: %s %s: %s", load_opt, mk_cache_policy_names[s->policy],
                       size_name(s->capacity, b, sizeof b), mk_err_msg());
        if (mk_cache_state_read(s->c, sc->blob, (size_t)sc->blen) < 0)
            mk_die("%s: %s %s: %s", load_opt, mk_cache_policy_names[s->policy], size_name(s->capacity, b, sizeof b),
                   mk_err_msg());
        mk_cache_stats_set(s->c, &sc->st);
        return;
    }
    mk_die("%s: no saved %s cache of %s (the file holds %u caches; run with the same -p and -s, or without "
           "them to take the saved ones)", load_opt, mk_cache_policy_names[s->policy],
           size_name(s->capacity, b, sizeof b), nsaved);
}

/* ---- output ---------------------------------------------------------------------------------- */

static void ratio(mk_table *t, size_t col, uint64_t num, uint64_t den)
{
    char b[32];
    snprintf(b, sizeof b, "%.6f", den ? (double)num / (double)den : 0.0);
    mk_table_str(t, col, b, strlen(b));
}

typedef struct {
    size_t policy, capacity, requests, hits, misses, mr, bmr, evictions, expirations, weak_drops, retained,
        retained_bytes, retained_hits, sets, deletes, rejected, objects, used, size, interval, start, end;
} cols;

static mk_table *stats_table(cols *c, int timeline)
{
    mk_table *t = mk_table_new();
    mk_coltype cap = count_mode ? MK_COL_UINT : MK_COL_BYTES;
    c->policy = mk_table_col(t, "policy", MK_COL_STR);
    c->capacity = mk_table_col(t, "capacity", cap);
    c->requests = mk_table_col(t, "requests", MK_COL_UINT);
    c->hits = mk_table_col(t, "hits", MK_COL_UINT);
    c->misses = mk_table_col(t, "misses", MK_COL_UINT);
    c->mr = mk_table_col(t, "miss_ratio", MK_COL_NUM);
    c->bmr = mk_table_col(t, "byte_miss_ratio", MK_COL_NUM);
    c->evictions = mk_table_col(t, "evictions", MK_COL_UINT);
    c->expirations = mk_table_col(t, "expirations", MK_COL_UINT);
    c->weak_drops = mk_table_col(t, "weak_drops", MK_COL_UINT);
    c->retained = mk_table_col(t, "retained", MK_COL_UINT);
    c->retained_bytes = mk_table_col(t, "retained_bytes", MK_COL_BYTES);
    c->retained_hits = mk_table_col(t, "retained_hits", MK_COL_UINT);
    c->sets = mk_table_col(t, "sets", MK_COL_UINT);
    c->deletes = mk_table_col(t, "deletes", MK_COL_UINT);
    c->rejected = mk_table_col(t, "rejected", MK_COL_UINT);
    c->objects = mk_table_col(t, "objects", MK_COL_UINT);
    c->used = mk_table_col(t, "used", cap);
    c->size = mk_table_col(t, "size", MK_COL_STR);
    if (timeline) {
        c->interval = mk_table_col(t, "interval", MK_COL_UINT);
        c->start = mk_table_col(t, "start", MK_COL_UINT);
        c->end = mk_table_col(t, "end", MK_COL_UINT);
    }
    return t;
}

/* A row: st minus prev (the interval's counts; prev NULL = since start). */
static void stats_row(mk_table *t, const cols *c, const sim *s, const mk_cache_stats *st, const mk_cache_stats *prev)
{
    static const mk_cache_stats zero;
    const mk_cache_stats *p = prev ? prev : &zero;
    mk_table_row(t);
    mk_table_cstr(t, c->policy, mk_cache_policy_names[s->policy]);
    mk_table_uint(t, c->capacity, s->capacity);
    uint64_t req = st->requests - p->requests, misses = st->misses - p->misses;
    mk_table_uint(t, c->requests, req);
    mk_table_uint(t, c->hits, st->hits - p->hits);
    mk_table_uint(t, c->misses, misses);
    ratio(t, c->mr, misses, req);
    ratio(t, c->bmr, st->miss_bytes - p->miss_bytes, st->bytes - p->bytes);
    mk_table_uint(t, c->evictions, st->evictions - p->evictions);
    mk_table_uint(t, c->expirations, st->expirations - p->expirations);
    mk_table_uint(t, c->weak_drops, st->weak_drops - p->weak_drops);
    mk_table_uint(t, c->retained, st->retained);
    mk_table_uint(t, c->retained_bytes, st->retained_bytes);
    mk_table_uint(t, c->retained_hits, st->retained_hits - p->retained_hits);
    mk_table_uint(t, c->sets, st->sets - p->sets);
    mk_table_uint(t, c->deletes, st->deletes - p->deletes);
    mk_table_uint(t, c->rejected, st->rejected - p->rejected);
    mk_table_uint(t, c->objects, st->objects);
    mk_table_uint(t, c->used, st->used);
    mk_table_cstr(t, c->size, s->size_spec);
}

static void write_results(mk_out *out)
{
    cols c;
    mk_table *t = stats_table(&c, interval != 0);
    if (!interval) {
        for (size_t i = 0; i < nsims; i++) {
            mk_cache_stats st;
            mk_cache_stats_get(sims[i].c, &st);
            stats_row(t, &c, &sims[i], &st, NULL);
        }
    } else {
        for (size_t i = 0; i < nsims; i++) {
            sim *s = &sims[i];
            mk_cache_stats st;
            mk_cache_stats_get(s->c, &st);
            size_t n = mk_vec_len(&s->timeline);
            /* The last, partial interval too. */
            if (!n || ((mk_cache_stats *)mk_vec_get(&s->timeline, n - 1))->requests != st.requests) {
                *(mk_cache_stats *)mk_vec_push(&s->timeline) = st;
                n++;
            }
            for (size_t k = 0; k < n; k++) {
                const mk_cache_stats *cur = mk_vec_get(&s->timeline, k);
                const mk_cache_stats *prev = k ? mk_vec_get(&s->timeline, k - 1) : NULL;
                stats_row(t, &c, s, cur, prev);
                mk_table_uint(t, c.interval, k + 1);
                mk_table_uint(t, c.start, k * interval + 1);
                mk_table_uint(t, c.end, k * interval + (cur->requests - (prev ? prev->requests : 0)));
            }
        }
    }
    mk_table_write(t, cli.format, out);
    mk_table_free(t);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Curve points spaced evenly on a log scale from the smallest to the
 * largest distance seen, where cache sizes are usually chosen. */
static size_t mrc_curve(size_t want, double *xs, double *ys)
{
    double lo = cs_mrc_min_distance(mrc), hi = cs_mrc_max_distance(mrc);
    if (!(hi > 0))
        return 0;
    if (lo < 1)
        lo = 1;
    size_t n = 0;
    for (size_t i = 0; i < want; i++) {
        double x = want == 1 || hi <= lo ? hi : lo * pow(hi / lo, (double)i / (double)(want - 1));
        x = floor(x + 0.5);
        if (n && x <= xs[n - 1])
            continue;
        xs[n] = x;
        ys[n++] = cs_mrc_estimate(mrc, x);
    }
    return n;
}

static void write_mrc(mk_out *out)
{
    mk_table *t = mk_table_new();
    mk_coltype cap = count_mode ? MK_COL_UINT : MK_COL_BYTES;
    size_t c_cap = mk_table_col(t, "capacity", cap), c_mr = mk_table_col(t, "miss_ratio", MK_COL_NUM),
           c_bmr = mk_table_col(t, "byte_miss_ratio", MK_COL_NUM), c_kind = mk_table_col(t, "kind", MK_COL_STR),
           c_req = mk_table_col(t, "requests", MK_COL_UINT), c_miss = mk_table_col(t, "misses", MK_COL_UINT);
    const char *kind = cs_mrc_rate(mrc) < 1 ? "sampled" : "exact";
    for (size_t i = 0; i < nmrc_caps; i++) {
        mk_table_row(t);
        mk_table_uint(t, c_cap, mrc_caps[i]);
        char b[32];
        snprintf(b, sizeof b, "%.6f", cs_mrc_miss_ratio_at(mrc, i));
        mk_table_str(t, c_mr, b, strlen(b));
        snprintf(b, sizeof b, "%.6f", cs_mrc_byte_miss_ratio_at(mrc, i));
        mk_table_str(t, c_bmr, b, strlen(b));
        mk_table_cstr(t, c_kind, kind);
        mk_table_uint(t, c_req, cs_mrc_requests(mrc));
        mk_table_uint(t, c_miss, cs_mrc_misses_at(mrc, i));
    }
    size_t np = points;
    double *xs = mk_xmalloc((np + nmrc_caps + 1) * sizeof *xs), *ys = mk_xmalloc((np + nmrc_caps + 1) * sizeof *ys);
    np = np ? mrc_curve(np, xs, ys) : 0;
    for (size_t i = 0; i < np; i++) {
        mk_table_row(t);
        mk_table_uint(t, c_cap, (uint64_t)xs[i]);
        char b[32];
        snprintf(b, sizeof b, "%.6f", ys[i]);
        mk_table_str(t, c_mr, b, strlen(b));
        mk_table_cstr(t, c_kind, "curve");
    }
    mk_table_write(t, cli.format, out);
    mk_table_free(t);
    if (svg_opt) {
        /* The curve and the exact points, by capacity. */
        size_t n = np;
        for (size_t i = 0; i < nmrc_caps; i++) {
            xs[n] = (double)mrc_caps[i];
            ys[n++] = cs_mrc_miss_ratio_at(mrc, i);
        }
        double *xy = mk_xmalloc(2 * (n ? n : 1) * sizeof *xy);
        for (size_t i = 0; i < n; i++)
            xy[2 * i] = xs[i], xy[2 * i + 1] = ys[i];
        qsort(xy, n, 2 * sizeof *xy, cmp_double);
        for (size_t i = 0; i < n; i++)
            xs[i] = xy[2 * i], ys[i] = xy[2 * i + 1];
        free(xy);
        mk_out *o = mk_out_open(svg_opt);
        if (!o)
            mk_die_err();
        mk_svg_chart ch = { "LRU miss-ratio curve", count_mode ? "cache size (objects)" : "cache size",
                            "miss ratio", count_mode ? MK_AXIS_COUNT : MK_AXIS_BYTES, MK_AXIS_NUMBER, 800, 400 };
        mk_out_str(o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        mk_svg_line(o, &ch, xs, ys, n, NULL, 0);
        if (mk_out_close(o) < 0)
            mk_die_err();
    }
    free(xs);
    free(ys);
}

/* ---- main ------------------------------------------------------------------------------------- */

static void check_options(int first, int argc)
{
    if (!strcmp(format_opt, "text"))
        trace_fmt = CS_FMT_TEXT;
    else if (!strcmp(format_opt, "keys"))
        trace_fmt = CS_FMT_KEYS;
    else if (!strcmp(format_opt, "csv"))
        trace_fmt = CS_FMT_CSV;
    else if (!strcmp(format_opt, "oracleGeneral"))
        trace_fmt = CS_FMT_ORACLE;
    if (csv_opt && cs_csvmap_parse(&csvmap, csv_opt) < 0)
        mk_cli_usage_error(&cli, "%s", mk_err_msg());
    if (csv_opt && trace_fmt != CS_FMT_AUTO && trace_fmt != CS_FMT_CSV)
        mk_cli_usage_error(&cli, "--csv reads CSV traces, not --trace-format %s", format_opt);
    if (trace_fmt == CS_FMT_CSV && !csv_opt)
        mk_cli_usage_error(&cli, "--trace-format csv needs --csv MAP");
    if (!(sample > 0 && sample <= 1))
        mk_cli_usage_error(&cli, "--sample: a share in (0, 1], not %g", sample);
    if ((sample < 1 || svg_opt) && !mrc_opt)
        mk_cli_usage_error(&cli, "--%s needs --mrc", sample < 1 ? "sample" : "svg");
    if (mrc_opt && (policies_opt.n || save_opt || load_opt || interval))
        mk_cli_usage_error(&cli, "--mrc draws LRU's curve from stack distances; -p, --interval and the state "
                           "files do not apply");
    if (!(small_ratio > 0 && small_ratio < 1) || !(ain_ratio > 0 && ain_ratio < 1) ||
        !(window_ratio > 0 && window_ratio < 1))
        mk_cli_usage_error(&cli, "segment shares must lie in (0, 1)");
    if (clock_bits < 1 || clock_bits > 16)
        mk_cli_usage_error(&cli, "--clock-bits: 1 to 16");
    if (move_threshold < 1)
        mk_cli_usage_error(&cli, "--s3fifo-threshold: at least 1");
    (void)first;
    (void)argc;
}

int main(int argc, char **argv)
{
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    check_options(first, argc);
    files = mk_cli_files(argc, argv, first, &nfiles);
    keys = cs_keys_new();
    if (load_opt)
        load_state(load_opt);

    if (oracle_opt) {
        if (policies_opt.n || sizes_opt.n || mrc_opt || load_opt || save_opt || interval)
            mk_cli_usage_error(&cli, "--write-oracle converts the trace; it does not simulate");
        spool_inputs();
        write_oracle();
        cs_keys_free(keys);
        return 0;
    }
    mk_cache_policy pols[80];
    size_t npol = 0;
    int from_state = load_opt && !policies_opt.n && !sizes_opt.n;
    if (!from_state)
        parse_policies(pols, &npol);
    static char *dflt_sizes[] = { "1%", "10%" };
    if (!sizes_opt.n && !from_state) {
        sizes_opt.v = dflt_sizes;
        sizes_opt.n = 2;
    }
    int belady = 0;
    for (size_t i = 0; i < npol; i++)
        belady |= pols[i] == MK_CACHE_BELADY;
    int wss_pass = needs_wss() && !wss_opt;
    int next_pass = belady && trace_fmt != CS_FMT_ORACLE;
    if (wss_pass || next_pass || (belady && trace_fmt == CS_FMT_AUTO)) {
        spool_inputs();
        first_pass(belady);
    }
    uint64_t wss = wss_opt ? wss_given() : count_mode ? cs_keys_wss_objects(keys) : cs_keys_wss_bytes(keys);
    if (needs_wss() && !wss && !cli.quiet)
        mk_warn("the trace has no requests: no working set to take shares of");

    if (mrc_opt) {
        nmrc_caps = sizes_opt.n;
        mrc_caps = mk_xmalloc(nmrc_caps * sizeof *mrc_caps);
        for (size_t i = 0; i < nmrc_caps; i++)
            if (!(mrc_caps[i] = capacity_of(sizes_opt.v[i], wss)))
                mrc_caps[i] = 1;
        mrc = cs_mrc_new(count_mode, sample, mrc_caps, nmrc_caps);
        /* Sampled misses over R times all requests (SHARDS-adj): the sampled
         * request count swings with the few popular keys a sample catches. */
        if (sample < 1)
            cs_mrc_adjust(mrc, 1);
    } else if (from_state) {
        nsims = nsaved;
        sims = mk_xcalloc(nsims ? nsims : 1, sizeof *sims);
        for (size_t i = 0; i < nsims; i++) {
            sims[i].policy = saved[i].o.policy;
            sims[i].capacity = saved[i].o.capacity;
            sims[i].size_spec = "saved";
            sims[i].c = mk_cache_new(&saved[i].o);
            if (!sims[i].c)
                mk_die("%s: %s", load_opt, mk_err_msg());
        }
    } else {
        nsims = npol * sizes_opt.n;
        sims = mk_xcalloc(nsims, sizeof *sims);
        size_t k = 0;
        uint64_t wb = cs_keys_wss_bytes(keys), wo = cs_keys_wss_objects(keys);
        for (size_t p = 0; p < npol; p++)
            for (size_t z = 0; z < sizes_opt.n; z++, k++) {
                sim *s = &sims[k];
                s->policy = pols[p];
                s->capacity = capacity_of(sizes_opt.v[z], wss);
                s->size_spec = sizes_opt.v[z];
                mk_cache_opts o;
                make_opts(&o, s->policy, s->capacity ? s->capacity : 1, wb, wo);
                s->c = mk_cache_new(&o);
                if (!s->c)
                    mk_die("-p %s -s %s: %s", mk_cache_policy_names[s->policy], s->size_spec, mk_err_msg());
            }
    }
    for (size_t i = 0; i < nsims; i++)
        mk_vec_init(&sims[i].timeline, sizeof(mk_cache_stats));
    if (load_opt)
        for (size_t i = 0; i < nsims; i++)
            warm_start(&sims[i]);

    mk_progress pr;
    uint64_t total = 0;
    for (int f = 0; f < nfiles; f++) {
        struct stat sb;
        if (strcmp(files[f], "-") && stat(files[f], &sb) == 0)
            total += (uint64_t)sb.st_size;
    }
    mk_progress_init(&pr, mk_cli_progress_wanted(&cli), "cachesim", total);
    replay(&pr, belady);
    mk_progress_end(&pr);

    mk_out *out = mk_out_open(cli.output);
    if (!out)
        mk_die_err();
    if (mrc)
        write_mrc(out);
    else
        write_results(out);
    if (mk_out_close(out) < 0)
        mk_die_err();
    if (save_opt)
        save_state(save_opt);
    if (cli.stats) {
        mk_stats_counts st = { 0 };
        st.records = n_requests;
        mk_stats_print(&st);
        size_t mem = cs_keys_bytes(keys);
        for (size_t i = 0; i < nsims; i++)
            mem += mk_cache_bytes(sims[i].c);
        if (mrc)
            mem += cs_mrc_bytes(mrc);
        char b[MK_FMT_BUFSZ];
        mk_fmt_bytes(b, sizeof b, mem);
        fprintf(stderr, "cachesim: stats: %llu requests (%llu of size 0 skipped), %u keys, %zu caches, %s of cache "
                "state\n", (unsigned long long)n_requests, (unsigned long long)n_skipped, cs_keys_count(keys), nsims,
                b);
    }
    for (size_t i = 0; i < nsims; i++) {
        mk_cache_free(sims[i].c);
        mk_vec_free(&sims[i].timeline);
    }
    free(sims);
    if (mrc)
        cs_mrc_free(mrc);
    free(mrc_caps);
    free(next_use);
    cs_keys_free(keys);
    cs_csvmap_free(&csvmap);
    for (uint32_t i = 0; i < nsaved; i++)
        free(saved[i].e);
    free(saved);
    free(state_data);
    return 0;
}
