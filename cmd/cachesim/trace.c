/* trace — decode request traces into dense requests (see trace.h).
 *
 * Text formats are read through one growing line buffer over the source
 * (so the first bytes can be sniffed before the format is chosen, and a
 * CSV record may span reads); oracleGeneral through a record buffer. Both
 * sit on lib source, which undoes zstd or gzip found by content. */
#include "trace.h"

#include "cache.h"
#include "err.h"
#include "fields.h"
#include "map.h"
#include "parse.h"
#include "source.h"

#include <stdlib.h>
#include <string.h>

const char *const cs_op_names[4] = { "get", "set", "del", "drop" };
const char *const cs_format_names[5] = { "auto", "text", "keys", "csv", "oracleGeneral" };

/* ---- keys ------------------------------------------------------------------------------ */

/* Numeric ids go in a table of packed 12-byte slots (the id is id + 1, 0
 * = empty) at most 3/4 full: a third of a general map's bytes, since a
 * trace of a billion requests may hold a hundred million ids. */
typedef struct __attribute__((packed)) {
    uint64_t key;
    uint32_t id1;
} numslot;

struct cs_keys {
    mk_map text;
    numslot *num;
    uint32_t nummask, numlen;
    int numbits;
    const char **kp;      /* id -> text key (the map's copy), or NULL for numeric; NULL until a text key */
    uint32_t *kn;         /* id -> text key length */
    uint64_t *kv;         /* id -> numeric key, or the hash of a text key */
    uint32_t *first;      /* id -> first non-zero size, 0 if none yet */
    uint32_t n, cap;
    uint64_t wss_bytes, wss_objects;
};

cs_keys *cs_keys_new(void)
{
    cs_keys *k = mk_xcalloc(1, sizeof *k);
    mk_map_init(&k->text, 0);
    return k;
}

void cs_keys_free(cs_keys *k)
{
    if (!k)
        return;
    mk_map_free(&k->text);
    free(k->num);
    free(k->kp);
    free(k->kn);
    free(k->kv);
    free(k->first);
    free(k);
}

uint32_t cs_keys_count(const cs_keys *k)
{
    return k->n;
}

static uint32_t new_id(cs_keys *k)
{
    if (k->n == k->cap) {
        if (k->cap >= UINT32_MAX / 2)
            mk_die("more than 2^31 distinct keys");
        k->cap = k->cap ? k->cap * 2 : 4096;
        if (k->kp) {
            k->kp = mk_xrealloc(k->kp, (size_t)k->cap * sizeof *k->kp);
            k->kn = mk_xrealloc(k->kn, (size_t)k->cap * sizeof *k->kn);
        }
        k->kv = mk_xrealloc(k->kv, (size_t)k->cap * sizeof *k->kv);
        k->first = mk_xrealloc(k->first, (size_t)k->cap * sizeof *k->first);
    }
    k->first[k->n] = 0;
    return k->n++;
}

/* A key that spells a decimal number below 2^64 (no sign, no leading
 * zero) is that number, which is also how oracleGeneral names it. */
static int decimal_key(const char *p, size_t n, uint64_t *v)
{
    if (!n || n > 20 || (p[0] == '0' && n > 1))
        return 0;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned char)p[i] - '0';
        if (d > 9 || x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    *v = x;
    return 1;
}

uint32_t cs_keys_text(cs_keys *k, const char *p, size_t n)
{
    uint64_t num;
    if (decimal_key(p, n, &num))
        return cs_keys_num(k, num);
    int fresh;
    uint64_t *v = mk_map_put(&k->text, p, n, &fresh);
    if (!fresh)
        return (uint32_t)*v;
    if (!k->kp) {
        /* The first text key: numeric ids so far have no text. */
        k->kp = mk_xcalloc(k->cap ? k->cap : 1, sizeof *k->kp);
        k->kn = mk_xcalloc(k->cap ? k->cap : 1, sizeof *k->kn);
    }
    uint32_t id = new_id(k);
    *v = id;
    size_t kl;
    k->kp[id] = mk_map_key_of(v, &kl);
    k->kn[id] = (uint32_t)kl;
    k->kv[id] = mk_map_hash(p, n);
    return id;
}

static inline uint32_t num_home(const cs_keys *k, uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 29;
    return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - k->numbits));
}

static inline __attribute__((always_inline)) void num_prefetch(const cs_keys *k, uint64_t key)
{
    if (k->num)
        __builtin_prefetch(&k->num[num_home(k, key)]);
}

static void num_grow(cs_keys *k)
{
    numslot *old = k->num;
    uint32_t oldcap = old ? k->nummask + 1 : 0;
    k->numbits = old ? k->numbits + 1 : 12;
    if (k->numbits > 31)
        mk_die("more than 2^30 distinct keys");
    uint32_t cap = 1u << k->numbits;
    k->num = mk_xcalloc(cap, sizeof *k->num);
    k->nummask = cap - 1;
    for (uint32_t i = 0; i < oldcap; i++)
        if (old[i].id1) {
            uint32_t h = num_home(k, old[i].key);
            while (k->num[h].id1)
                h = (h + 1) & k->nummask;
            k->num[h] = old[i];
        }
    free(old);
}

uint32_t cs_keys_num(cs_keys *k, uint64_t key)
{
    if (!k->num || (uint64_t)(k->numlen + 1) * 4 > (uint64_t)(k->nummask + 1) * 3)
        num_grow(k);
    uint32_t h = num_home(k, key);
    for (;; h = (h + 1) & k->nummask) {
        numslot *sl = &k->num[h];
        if (!sl->id1)
            break;
        if (sl->key == key)
            return sl->id1 - 1;
    }
    uint32_t id = new_id(k);
    k->num[h].key = key;
    k->num[h].id1 = id + 1;
    k->numlen++;
    if (k->kp) {
        k->kp[id] = NULL;
        k->kn[id] = 0;
    }
    k->kv[id] = key;
    return id;
}

int cs_keys_get(const cs_keys *k, uint32_t id, const char **p, size_t *n, uint64_t *v)
{
    if (k->kp && k->kp[id]) {
        *p = k->kp[id];
        *n = k->kn[id];
        return 0;
    }
    *v = k->kv[id];
    return 1;
}

uint64_t cs_keys_name(void *keys, uint64_t id)
{
    return ((const cs_keys *)keys)->kv[id];
}

void cs_keys_first_size(cs_keys *k, uint32_t id, uint32_t size)
{
    if (k->first[id] || !size)
        return;
    k->first[id] = size;
    k->wss_bytes += size;
    k->wss_objects++;
}

uint64_t cs_keys_wss_bytes(const cs_keys *k)
{
    return k->wss_bytes;
}

uint64_t cs_keys_wss_objects(const cs_keys *k)
{
    return k->wss_objects;
}

size_t cs_keys_bytes(const cs_keys *k)
{
    return mk_map_bytes(&k->text) + (k->num ? (size_t)(k->nummask + 1) * sizeof *k->num : 0) +
           (size_t)k->cap * ((k->kp ? sizeof *k->kp + sizeof *k->kn : 0) + sizeof *k->kv + sizeof *k->first);
}

/* ---- CSV mapping -------------------------------------------------------------------------- */

enum { COL_TIME, COL_OP, COL_KEY, COL_SIZE, COL_TTL, NCOL };
static const char *const col_names[NCOL] = { "time", "op", "key", "size", "ttl" };

int cs_csvmap_parse(cs_csvmap *m, const char *spec)
{
    memset(m, 0, sizeof *m);
    const char *p = spec;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (!eq || eq == p || eq + 1 == p + n) {
            cs_csvmap_free(m);
            return mk_err_set("--csv: '%.*s' is not NAME=COLUMN (time, op, key, size, ttl)", (int)n, p);
        }
        int c = -1;
        for (int i = 0; i < NCOL; i++)
            if (strlen(col_names[i]) == (size_t)(eq - p) && !strncmp(p, col_names[i], (size_t)(eq - p)))
                c = i;
        if (c < 0) {
            cs_csvmap_free(m);
            return mk_err_set("--csv: unknown field '%.*s' (time, op, key, size, ttl)", (int)(eq - p), p);
        }
        free(m->col[c]);
        m->col[c] = mk_xstrndup(eq + 1, (size_t)(p + n - eq - 1));
        p += n;
        if (*p == ',')
            p++;
    }
    if (!m->col[COL_KEY]) {
        cs_csvmap_free(m);
        return mk_err_set("--csv: the mapping needs key=COLUMN");
    }
    return 0;
}

void cs_csvmap_free(cs_csvmap *m)
{
    for (int i = 0; i < NCOL; i++) {
        free(m->col[i]);
        m->col[i] = NULL;
    }
}

/* ---- reading ----------------------------------------------------------------------------- */

enum { BUF_MIN = 1 << 20, MAX_LINE = 1 << 20, REC = 24, MAX_FIELDS = 256 };

struct cs_trace {
    mk_source *src;
    const char *name;
    cs_format fmt;
    cs_keys *keys;
    char *buf;
    size_t cap, off, len;       /* unread bytes are buf[off, len) */
    int eof;
    size_t nul;                 /* offset of the first NUL in buf[off, len), or SIZE_MAX */
    uint64_t line;              /* line of buf[off] (text), records done (oracle) */
    uint64_t nreq;              /* requests so far (the time of key-per-line traces) */
    /* CSV */
    int csv_tsv, csv_header_done;
    int csv_col[NCOL];
    const cs_csvmap *map;
    mk_field *f;
    char *unq;
    size_t unqcap;
};

static int fill(cs_trace *t)
{
    if (t->off) {
        memmove(t->buf, t->buf + t->off, t->len - t->off);
        if (t->nul != SIZE_MAX)
            t->nul -= t->off;
        t->len -= t->off;
        t->off = 0;
    }
    if (t->len == t->cap) {
        t->cap *= 2;
        t->buf = mk_xrealloc(t->buf, t->cap + 1);
    }
    ssize_t r = mk_source_read(t->src, t->buf + t->len, t->cap - t->len);
    if (r < 0)
        return mk_err_prefix("%s: ", t->name);
    if (r == 0)
        t->eof = 1;
    /* Text formats forbid NUL: one scan per read, not one per line. */
    if (t->nul == SIZE_MAX && r > 0) {
        const char *z = memchr(t->buf + t->len, 0, (size_t)r);
        if (z)
            t->nul = (size_t)(z - t->buf);
    }
    t->len += (size_t)r;
    return 0;
}

/* Reads until at least `want` bytes are buffered or the input ends. */
static int fill_to(cs_trace *t, size_t want)
{
    while (!t->eof && t->len - t->off < want)
        if (fill(t) < 0)
            return -1;
    return 0;
}

static int is_op(const char *p, size_t n)
{
    for (int i = 0; i < 4; i++)
        if (strlen(cs_op_names[i]) == n && !memcmp(p, cs_op_names[i], n))
            return i;
    return -1;
}

/* The format of the first bytes of the input. */
static int sniff(cs_trace *t, const cs_csvmap *map)
{
    if (fill_to(t, 65536) < 0)
        return -1;
    const char *p = t->buf + t->off;
    size_t n = t->len - t->off;
    if (strstr(t->name, "oracleGeneral")) {
        t->fmt = CS_FMT_ORACLE;
        return 0;
    }
    if (map) {
        t->fmt = CS_FMT_CSV;
        return 0;
    }
    if (n >= 13 && !memcmp(p, "#memkit cache", 13)) {
        t->fmt = CS_FMT_TEXT;
        return 0;
    }
    if (memchr(p, 0, n)) {
        t->fmt = CS_FMT_ORACLE;
        return 0;
    }
    /* The first line that is not blank or a comment. */
    while (n) {
        const char *eol = memchr(p, '\n', n);
        size_t ln = eol ? (size_t)(eol - p) : n;
        mk_field f[6];
        size_t nf = mk_split_blank(p, ln && p[ln - 1] == '\r' ? ln - 1 : ln, f, 6);
        if (nf && f[0].ptr[0] != '#') {
            if (nf >= 4 && nf <= 5)
                t->fmt = CS_FMT_TEXT;   /* a bad operation is reported by the parser */
            else if (nf == 1)
                t->fmt = CS_FMT_KEYS;
            else
                return mk_err_set("%s: cannot tell the trace format from its first line; use --trace-format "
                                  "or --csv", t->name);
            return 0;
        }
        if (!eol)
            break;
        p = eol + 1;
        n -= ln + 1;
    }
    t->fmt = CS_FMT_KEYS;   /* empty or only comments: no requests either way */
    return 0;
}

cs_trace *cs_trace_open(const char *path, const char *name, cs_format fmt, const cs_csvmap *map, cs_keys *keys)
{
    mk_source *src = mk_source_open(path);
    if (!src) {
        if (name)
            mk_err_set("%s: cannot read it back: %s", name, mk_err_msg());
        return NULL;
    }
    return cs_trace_from(src, name, fmt, map, keys);
}

cs_trace *cs_trace_from(mk_source *src, const char *name, cs_format fmt, const cs_csvmap *map, cs_keys *keys)
{
    cs_trace *t = mk_xcalloc(1, sizeof *t);
    t->src = src;
    t->name = name ? name : mk_source_name(src);
    t->keys = keys;
    t->cap = BUF_MIN;
    t->buf = mk_xmalloc(t->cap + 1);
    t->line = 1;
    t->nul = SIZE_MAX;
    t->map = map;
    t->fmt = fmt;
    if (fmt == CS_FMT_AUTO && sniff(t, map) < 0) {
        cs_trace_close(t);
        return NULL;
    }
    if (t->fmt == CS_FMT_CSV && !map) {
        mk_err_set("--trace-format csv needs --csv MAP");
        cs_trace_close(t);
        return NULL;
    }
    if (t->fmt == CS_FMT_CSV)
        t->f = mk_xmalloc(MAX_FIELDS * sizeof *t->f);
    return t;
}

cs_format cs_trace_format(const cs_trace *t)
{
    return t->fmt;
}

uint64_t cs_trace_in_bytes(const cs_trace *t)
{
    return mk_source_in_pos(t->src);
}

uint64_t cs_trace_size(const cs_trace *t)
{
    return mk_source_size(t->src);
}

void cs_trace_close(cs_trace *t)
{
    if (!t)
        return;
    mk_source_close(t->src);
    free(t->buf);
    free(t->f);
    free(t->unq);
    free(t);
}

/* ---- oracleGeneral ---- */

static inline uint32_t le32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const unsigned char *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static long read_oracle(cs_trace *t, cs_req *out, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        if (t->len - t->off < REC) {
            if (fill_to(t, REC) < 0)
                return -1;
            if (t->len - t->off < REC) {
                if (t->len - t->off)
                    return mk_err_set("%s: record %llu: truncated (%zu of 24 bytes; the file is not a whole "
                                      "number of oracleGeneral records)", t->name,
                                      (unsigned long long)t->line, t->len - t->off);
                break;
            }
        }
        const unsigned char *p = (const unsigned char *)t->buf + t->off;
        size_t avail = (t->len - t->off) / REC;
        if (avail > cap - n)
            avail = cap - n;
        /* Ids are looked up PF records after their slots were prefetched:
         * the table is far bigger than the caches, so this hides a miss. */
        enum { PF = 16 };
        cs_keys *k = t->keys;
        for (size_t i = 0; i < avail && i < PF; i++)
            num_prefetch(k, le64(p + i * REC + 4));
        for (size_t i = 0; i < avail; i++, p += REC) {
            if (i + PF < avail)
                num_prefetch(k, le64(p + PF * REC + 4));
            cs_req *r = &out[n++];
            r->ts = (int64_t)le32(p) * 1000000000;
            r->id = cs_keys_num(k, le64(p + 4));
            r->size = le32(p + 12);
            int64_t nx = (int64_t)le64(p + 16);
            r->next = nx < 0 ? MK_CACHE_NEVER : nx;
            r->ttl = -1;
            r->op = CS_GET;
        }
        t->off += avail * REC;
        t->line += avail;
    }
    return (long)n;
}

/* ---- text lines ---- */

/* Seconds with an optional fraction, to ns. */
static int parse_ts(const char *p, size_t n, int64_t *out)
{
    size_t i = 0;
    uint64_t s = 0, frac = 0, scale = 1000000000;
    if (!n)
        return -1;
    for (; i < n && p[i] >= '0' && p[i] <= '9'; i++) {
        if (s > 9000000000ull)
            return -1;
        s = s * 10 + (uint64_t)(p[i] - '0');
    }
    if (i == 0)
        return -1;
    if (i < n && p[i] == '.') {
        size_t d = 0;
        for (i++; i < n && p[i] >= '0' && p[i] <= '9'; i++, d++)
            if (d < 9) {
                scale /= 10;
                frac += (uint64_t)(p[i] - '0') * scale;
            }
        if (!d)
            return -1;
    }
    if (i != n)
        return -1;
    *out = (int64_t)(s * 1000000000 + frac);
    return 0;
}

static int parse_size(const char *p, size_t n, uint32_t *out)
{
    uint64_t v;
    if (mk_parse_u64(p, n, &v) < 0 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_ttl(const char *p, size_t n, int64_t *out)
{
    uint64_t v;
    if (mk_parse_duration(p, n, &v) < 0 || v > (uint64_t)INT64_MAX / 2)
        return -1;
    *out = (int64_t)v;
    return 0;
}

static int line_error(cs_trace *t, const char *fmt, const char *p, size_t n)
{
    return mk_err_set("%s:%llu: %s: '%.*s'", t->name, (unsigned long long)t->line, fmt, (int)(n > 60 ? 60 : n), p);
}

/* One memkit cache trace line into r; 0 = a request, 1 = nothing (blank,
 * comment), -1 = error. */
static int text_line(cs_trace *t, const char *p, size_t n, cs_req *r)
{
    mk_field f[7];
    size_t nf = mk_split_blank(p, n, f, 7);
    if (!nf)
        return 1;
    if (f[0].ptr[0] == '#') {
        if (t->line == 1 && n >= 13 && !memcmp(p, "#memkit cache", 13) &&
            !(n == 16 && !memcmp(p + 13, " v1", 3)))
            return line_error(t, "unsupported trace version (this is #memkit cache v1)", p, n);
        return 1;
    }
    int op = nf >= 2 ? is_op(f[1].ptr, f[1].len) : -1;
    if (nf < 3 || op < 0 || nf > 5 || (nf < 4 && op == CS_GET) || (nf < 4 && op == CS_SET))
        return line_error(t, nf >= 2 && op < 0 ? "unknown operation (get, set, del, drop)"
                                               : "expected TS OP KEY SIZE [TTL]", p, n);
    if (parse_ts(f[0].ptr, f[0].len, &r->ts) < 0)
        return line_error(t, "bad time (seconds)", f[0].ptr, f[0].len);
    r->op = (uint8_t)op;
    r->size = 0;
    if (nf >= 4 && parse_size(f[3].ptr, f[3].len, &r->size) < 0)
        return line_error(t, "bad size (bytes, 0 to 4294967295)", f[3].ptr, f[3].len);
    r->ttl = -1;
    if (nf == 5 && parse_ttl(f[4].ptr, f[4].len, &r->ttl) < 0)
        return line_error(t, "bad TTL (seconds or a duration such as 30s)", f[4].ptr, f[4].len);
    r->id = cs_keys_text(t->keys, f[2].ptr, f[2].len);
    r->next = MK_CACHE_NEVER;
    return 0;
}

static int keys_line(cs_trace *t, const char *p, size_t n, cs_req *r)
{
    if (!n)
        return 1;
    r->id = cs_keys_text(t->keys, p, n);
    r->size = 1;
    r->ts = (int64_t)t->nreq * 1000000000;
    r->ttl = -1;
    r->next = MK_CACHE_NEVER;
    r->op = CS_GET;
    return 0;
}

static int check_line(cs_trace *t, const char *p, size_t n)
{
    size_t at = (size_t)(p - t->buf);
    if (t->nul != SIZE_MAX && t->nul >= at && t->nul < at + n)
        return mk_err_set("%s:%llu: NUL byte in a text trace (binary data? use --trace-format oracleGeneral)",
                          t->name, (unsigned long long)t->line);
    return 0;
}

static long read_lines(cs_trace *t, cs_req *out, size_t cap)
{
    size_t n = 0;
    while (n < cap) {
        char *p = t->buf + t->off;
        char *end = t->buf + t->len;
        char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) {
            if (t->eof) {
                if (p == end)
                    break;
                eol = end;   /* the last line, without LF */
            } else {
                if ((size_t)(end - p) > MAX_LINE)
                    return mk_err_set("%s:%llu: line longer than %d bytes", t->name, (unsigned long long)t->line,
                                      MAX_LINE);
                if (fill(t) < 0)
                    return -1;
                continue;
            }
        }
        size_t ln = (size_t)(eol - p);
        if (ln > MAX_LINE)
            return mk_err_set("%s:%llu: line longer than %d bytes", t->name, (unsigned long long)t->line, MAX_LINE);
        if (ln && p[ln - 1] == '\r')
            ln--;
        if (check_line(t, p, ln) < 0)
            return -1;
        int rc = t->fmt == CS_FMT_TEXT ? text_line(t, p, ln, &out[n]) : keys_line(t, p, ln, &out[n]);
        if (rc < 0)
            return -1;
        if (rc == 0) {
            n++;
            t->nreq++;
        }
        t->off = (size_t)(eol - t->buf) + (eol < end);
        t->line++;
    }
    return (long)n;
}

/* ---- CSV ---- */

static int csv_bind(cs_trace *t, const mk_field *f, size_t nf)
{
    mk_header h;
    mk_header_init(&h, f, nf < MAX_FIELDS ? nf : MAX_FIELDS);
    int rc = 0;
    for (int c = 0; c < NCOL; c++) {
        t->csv_col[c] = -1;
        const char *want = t->map->col[c];
        if (!want)
            continue;
        char *endp;
        unsigned long k = strtoul(want[0] == '$' ? want + 1 : want, &endp, 10);
        if (!*endp && endp != want && k >= 1) {
            t->csv_col[c] = (int)k - 1;
            continue;
        }
        int col = mk_header_find(&h, want, strlen(want));
        if (col < 0) {
            const char *s = mk_header_suggest(&h, want, strlen(want));
            rc = s ? mk_err_set("%s:%llu: --csv %s=%s: no such column (did you mean '%s'?)", t->name,
                                (unsigned long long)t->line, col_names[c], want, s)
                   : mk_err_set("%s:%llu: --csv %s=%s: no such column", t->name, (unsigned long long)t->line,
                                col_names[c], want);
            break;
        }
        t->csv_col[c] = col;
    }
    mk_header_free(&h);
    return rc;
}

static const char *csv_value(cs_trace *t, const mk_field *f, size_t *n)
{
    if (!(f->flags & MK_FIELD_ESCAPED)) {
        *n = f->len;
        return f->ptr;
    }
    if (t->unqcap < f->len) {
        t->unqcap = f->len;
        t->unq = mk_xrealloc(t->unq, t->unqcap);
    }
    *n = mk_field_unquote(f, t->unq);
    return t->unq;
}

static int csv_row(cs_trace *t, const mk_field *f, size_t nf, cs_req *r)
{
    if (nf == 1 && f[0].len == 0)
        return 1;   /* blank line */
    for (int c = 0; c < NCOL; c++)
        if (t->csv_col[c] >= 0 && (size_t)t->csv_col[c] >= nf)
            return mk_err_set("%s:%llu: %zu fields, no column %d (%s)", t->name, (unsigned long long)t->line, nf,
                              t->csv_col[c] + 1, col_names[c]);
    size_t n;
    const char *p;
    r->ts = (int64_t)t->nreq * 1000000000;
    if (t->csv_col[COL_TIME] >= 0) {
        p = csv_value(t, &f[t->csv_col[COL_TIME]], &n);
        if (parse_ts(p, n, &r->ts) < 0)
            return line_error(t, "bad time (seconds)", p, n);
    }
    r->op = CS_GET;
    if (t->csv_col[COL_OP] >= 0) {
        p = csv_value(t, &f[t->csv_col[COL_OP]], &n);
        int op = is_op(p, n);
        if (op < 0)
            return line_error(t, "unknown operation (get, set, del, drop)", p, n);
        r->op = (uint8_t)op;
    }
    r->size = 1;
    if (t->csv_col[COL_SIZE] >= 0) {
        p = csv_value(t, &f[t->csv_col[COL_SIZE]], &n);
        if (parse_size(p, n, &r->size) < 0)
            return line_error(t, "bad size (bytes, 0 to 4294967295)", p, n);
    }
    r->ttl = -1;
    if (t->csv_col[COL_TTL] >= 0) {
        p = csv_value(t, &f[t->csv_col[COL_TTL]], &n);
        if (n && parse_ttl(p, n, &r->ttl) < 0)
            return line_error(t, "bad TTL (seconds or a duration such as 30s)", p, n);
    }
    p = csv_value(t, &f[t->csv_col[COL_KEY]], &n);
    r->id = cs_keys_text(t->keys, p, n);
    r->next = MK_CACHE_NEVER;
    return 0;
}

static long read_csv(cs_trace *t, cs_req *out, size_t cap)
{
    size_t n = 0;
    if (!t->csv_header_done && fill_to(t, 65536) < 0)
        return -1;
    if (!t->csv_header_done) {
        const char *p = t->buf + t->off;
        size_t len = t->len - t->off;
        if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3))
            t->off += 3, p += 3, len -= 3;
        const char *eol = memchr(p, '\n', len);
        t->csv_tsv = memchr(p, '\t', (size_t)((eol ? eol : p + len) - p)) != NULL;
    }
    while (n < cap) {
        char *p = t->buf + t->off, *end = t->buf + t->len;
        if (p == end) {
            if (t->eof)
                break;
            if (fill(t) < 0)
                return -1;
            continue;
        }
        size_t nf, lines;
        const char *next;
        if (t->csv_tsv) {
            char *eol = memchr(p, '\n', (size_t)(end - p));
            if (!eol && !t->eof) {
                if ((size_t)(end - p) > MAX_LINE)
                    return mk_err_set("%s:%llu: line longer than %d bytes", t->name, (unsigned long long)t->line,
                                      MAX_LINE);
                if (fill(t) < 0)
                    return -1;
                continue;
            }
            char *e = eol ? eol : end;
            size_t ln = (size_t)(e - p);
            if (ln && p[ln - 1] == '\r')
                ln--;
            if (check_line(t, p, ln) < 0)
                return -1;
            nf = mk_split_tsv(p, ln, t->f, MAX_FIELDS);
            next = eol ? eol + 1 : end;
            lines = 1;
        } else {
            mk_csv_result cr;
            int rc = mk_csv_record(p, end, ',', t->f, MAX_FIELDS, &cr);
            int complete = rc == 0 && (t->eof || (cr.next > p && cr.next[-1] == '\n'));
            /* Only an open quote may be a record cut by the end of the buffer. */
            if (rc < 0 && strcmp(cr.why, "unterminated quoted field"))
                return mk_err_set("%s:%llu: %s", t->name, (unsigned long long)t->line, cr.why);
            if (!complete) {
                if (t->eof)
                    return mk_err_set("%s:%llu: %s", t->name, (unsigned long long)t->line, cr.why);
                if ((size_t)(end - p) > MAX_LINE)
                    return mk_err_set("%s:%llu: record longer than %d bytes", t->name, (unsigned long long)t->line,
                                      MAX_LINE);
                if (fill(t) < 0)
                    return -1;
                continue;
            }
            if (check_line(t, p, (size_t)(cr.next - p)) < 0)
                return -1;
            nf = cr.nf;
            next = cr.next;
            lines = cr.newlines ? cr.newlines : 1;
        }
        if (nf > MAX_FIELDS)
            return mk_err_set("%s:%llu: more than %d fields", t->name, (unsigned long long)t->line, MAX_FIELDS);
        int rc;
        if (!t->csv_header_done) {
            rc = csv_bind(t, t->f, nf) < 0 ? -1 : 1;
            t->csv_header_done = 1;
        } else {
            rc = csv_row(t, t->f, nf, &out[n]);
        }
        if (rc < 0)
            return -1;
        if (rc == 0) {
            n++;
            t->nreq++;
        }
        t->off = (size_t)(next - t->buf);
        t->line += lines;
    }
    return (long)n;
}

long cs_trace_read(cs_trace *t, cs_req *out, size_t cap)
{
    switch (t->fmt) {
    case CS_FMT_ORACLE:
        return read_oracle(t, out, cap);
    case CS_FMT_CSV:
        return read_csv(t, out, cap);
    default:
        return read_lines(t, out, cap);
    }
}
