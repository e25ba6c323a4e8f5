/* Unit tests for lib/source: codec sniffing from content (plain, zstd with
 * skippable frames and several frames, gzip with several members), exact
 * round trips at every caller buffer size from 1 byte up, truncated and
 * corrupt streams with their messages and byte offsets, checksum errors,
 * trailing garbage, tiny and empty inputs, files, missing paths, a pipe on
 * stdin fed in small pieces, mapping (of plain files on request, of
 * compressed regular files always), and in_pos/out_pos accounting.
 * Compressed inputs are built here with libzstd and zlib. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "err.h"
#include "source.h"
#include "unit.h"

UNIT_RNG(0x9e3779b97f4a7c15u)

/* ---- helpers -------------------------------------------------------------- */

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void buf_add(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 16;
        b->p = realloc(b->p, b->cap);
    }
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
}

/* memcmp that accepts (NULL, 0): an empty buf has no pointer. */
static int same(const void *a, const void *b, size_t n)
{
    return n == 0 || memcmp(a, b, n) == 0;
}

static void buf_free(buf *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* Compressible text: numbered lines of words. */
static unsigned char *make_text(size_t n)
{
    static const char *const words[] = { "alpha", "beta", "gamma", "delta", "malloc",
                                         "free", "0x7f3a", "site.c:42", "\t", "  " };
    unsigned char *p = malloc(n ? n : 1);
    size_t i = 0, line = 0;
    while (i < n) {
        char tmp[64];
        int k = (rnd() % 7 == 0) ? snprintf(tmp, sizeof tmp, "%zu\n", line++)
                                 : snprintf(tmp, sizeof tmp, "%s ", words[rnd() % 10]);
        for (int j = 0; j < k && i < n; j++)
            p[i++] = (unsigned char)tmp[j];
    }
    return p;
}

/* Incompressible bytes. */
static unsigned char *make_random(size_t n)
{
    unsigned char *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(rnd() >> 24);
    return p;
}

/* One zstd frame of data[0..n), appended to out. */
static void zstd_frame(buf *out, const void *data, size_t n, int level, int checksum)
{
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, checksum);
    size_t bound = ZSTD_compressBound(n);
    unsigned char *tmp = malloc(bound);
    size_t r = ZSTD_compress2(cc, tmp, bound, data, n);
    if (ZSTD_isError(r)) {
        printf("# ZSTD_compress2: %s\n", ZSTD_getErrorName(r));
        abort();
    }
    buf_add(out, tmp, r);
    free(tmp);
    ZSTD_freeCCtx(cc);
}

static void put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void zstd_skippable(buf *out, uint32_t magic, const void *payload, uint32_t n)
{
    unsigned char h[8];
    put_le32(h, magic);
    put_le32(h + 4, n);
    buf_add(out, h, 8);
    buf_add(out, payload, n);
}

/* One gzip member (windowBits 31), optionally with a file name in the header
 * of name_len bytes (to place member boundaries exactly). */
static void gzip_member_named(buf *out, const void *data, size_t n, int level, size_t name_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, level, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    gz_header h;
    char *name = NULL;
    if (name_len) {
        memset(&h, 0, sizeof h);
        name = malloc(name_len + 1);
        memset(name, 'n', name_len);
        name[name_len] = 0;
        h.name = (Bytef *)name;
        h.os = 3;
        deflateSetHeader(&z, &h);
    }
    size_t bound = deflateBound(&z, (uLong)n) + name_len + 64;
    unsigned char *tmp = malloc(bound);
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = tmp;
    z.avail_out = (uInt)bound;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    buf_add(out, tmp, bound - z.avail_out);
    deflateEnd(&z);
    free(tmp);
    free(name);
}

static void gzip_member(buf *out, const void *data, size_t n, int level)
{
    gzip_member_named(out, data, n, level, 0);
}

/* Reads the whole source with caller buffers of `cap` bytes (0: a random
 * size 1..8192 per call). Returns the last read's result (0 = clean end,
 * -1 = error) and the bytes in *got. */
static int read_all(mk_source *s, size_t cap, buf *got)
{
    unsigned char *tmp = malloc((cap ? cap : 8192) + 64);
    for (;;) {
        size_t c = cap ? cap : 1 + rnd() % 8192;
        /* Canary after the buffer: the source must not write past cap. */
        memset(tmp + c, 0xA5, 64);
        ssize_t r = mk_source_read(s, tmp, c);
        for (int i = 0; i < 64; i++)
            if (tmp[c + i] != 0xA5) {
                printf("# wrote past the caller's buffer (cap %zu)\n", c);
                unit_cur_failed = 1;
                break;
            }
        if (r > 0 && (size_t)r > c) {
            printf("# read returned %zd > cap %zu\n", r, c);
            unit_cur_failed = 1;
            r = (ssize_t)c;
        }
        if (r <= 0) {
            free(tmp);
            return (int)r;
        }
        buf_add(got, tmp, (size_t)r);
    }
}

/* Opens data[0..n) as a memory source, checks its codec, reads it all with
 * caller buffers of `cap` bytes and compares to want[0..wn). */
static int roundtrip(const char *name, const void *data, size_t n, mk_codec codec,
                     const void *want, size_t wn, size_t cap)
{
    mk_source *s = mk_source_open_mem(name, data, n);
    if (!s) {
        printf("# %s: open failed: %s\n", name, mk_err_msg());
        return 0;
    }
    int ok = 1;
    if (mk_source_codec(s) != codec) {
        printf("# %s: codec %s, expected %s\n", name, mk_codec_name(mk_source_codec(s)),
               mk_codec_name(codec));
        ok = 0;
    }
    buf got = { 0 };
    int r = read_all(s, cap, &got);
    if (r != 0) {
        printf("# %s (cap %zu): read failed after %zu bytes: %s\n", name, cap, got.n, mk_err_msg());
        ok = 0;
    } else if (got.n != wn || (wn && memcmp(got.p, want, wn) != 0)) {
        printf("# %s (cap %zu): got %zu bytes, expected %zu\n", name, cap, got.n, wn);
        ok = 0;
    } else {
        if (mk_source_out_pos(s) != wn) {
            printf("# %s: out_pos %llu, expected %zu\n", name,
                   (unsigned long long)mk_source_out_pos(s), wn);
            ok = 0;
        }
        if (mk_source_in_pos(s) != n) {
            printf("# %s: in_pos %llu at the end, expected %zu\n", name,
                   (unsigned long long)mk_source_in_pos(s), n);
            ok = 0;
        }
        /* The end is sticky. */
        char x;
        if (mk_source_read(s, &x, 1) != 0) {
            printf("# %s: read after the end did not return 0\n", name);
            ok = 0;
        }
    }
    buf_free(&got);
    mk_source_close(s);
    return ok;
}

/* Expects reading to fail; returns the message (static copy) and the bytes
 * delivered before the error in *got (may be NULL). */
static const char *read_error(const char *name, const void *data, size_t n, size_t cap, buf *got)
{
    static char msg[1024];
    buf tmp = { 0 };
    if (!got)
        got = &tmp;
    mk_source *s = mk_source_open_mem(name, data, n);
    if (!s) {
        snprintf(msg, sizeof msg, "(open failed) %s", mk_err_msg());
        buf_free(&tmp);
        return msg;
    }
    int r = read_all(s, cap, got);
    if (r == 0)
        snprintf(msg, sizeof msg, "(no error: clean end after %zu bytes)", got->n);
    else
        snprintf(msg, sizeof msg, "%s", mk_err_msg());
    mk_source_close(s);
    buf_free(&tmp);
    return msg;
}

static char tmpdir[256];

static void make_tmpdir(void)
{
    unit_make_tmpdir(tmpdir, sizeof tmpdir, "mk_test_source");
}


/* ---- tests ---------------------------------------------------------------- */

static void test_plain(void)
{
    static const char text[] = "hello\nworld\n";
    mk_source *s = mk_source_open_mem("mem", text, 12);
    CHECK(s != NULL);
    CHECK_INT(mk_source_codec(s), MK_CODEC_PLAIN);
    CHECK_STR(mk_codec_name(mk_source_codec(s)), "plain");
    CHECK_STR(mk_source_name(s), "mem");
    CHECK_U64(mk_source_size(s), 12);
    CHECK_U64(mk_source_out_pos(s), 0);
    char b[64];
    ssize_t r = mk_source_read(s, b, 5);
    CHECK_INT(r, 5);
    CHECK_MEM(b, 5, "hello");
    CHECK_U64(mk_source_out_pos(s), 5);
    CHECK_U64(mk_source_in_pos(s), 5);
    CHECK_INT(mk_source_read(s, b, 0), 0);   /* cap 0 reads nothing... */
    CHECK_U64(mk_source_out_pos(s), 5);      /* ...and does not end the stream */
    r = mk_source_read(s, b, sizeof b);
    CHECK_INT(r, 7);
    CHECK_MEM(b, 7, "\nworld\n");
    CHECK_U64(mk_source_out_pos(s), 12);
    CHECK_U64(mk_source_in_pos(s), 12);
    CHECK_INT(mk_source_read(s, b, sizeof b), 0);
    CHECK_INT(mk_source_read(s, b, sizeof b), 0);
    CHECK_INT(mk_source_close(s), 0);
    CHECK_INT(mk_source_close(NULL), 0);

    CHECK_STR(mk_codec_name(MK_CODEC_ZSTD), "zstd");
    CHECK_STR(mk_codec_name(MK_CODEC_GZIP), "gzip");

    /* Plain text larger than the 128 KiB input buffer, odd read sizes. */
    size_t n = 300001;
    unsigned char *t = make_text(n);
    CHECK(roundtrip("big", t, n, MK_CODEC_PLAIN, t, n, 0));
    CHECK(roundtrip("big", t, n, MK_CODEC_PLAIN, t, n, 65536));
    CHECK(roundtrip("big", t, n, MK_CODEC_PLAIN, t, n, 3));
    /* Bytes that look almost like a magic are plain. */
    memcpy(t, "\x28\xb5\x2f\xfc", 4);   /* zstd magic with a wrong last byte */
    CHECK(roundtrip("almost-zstd", t, 1000, MK_CODEC_PLAIN, t, 1000, 0));
    memcpy(t, "\x1f\x8a", 2);
    CHECK(roundtrip("almost-gzip", t, 1000, MK_CODEC_PLAIN, t, 1000, 0));
    free(t);
}

static void test_empty_and_tiny(void)
{
    mk_source *s = mk_source_open_mem("empty", "", 0);
    CHECK(s != NULL);
    CHECK_INT(mk_source_codec(s), MK_CODEC_PLAIN);
    char b[8];
    CHECK_INT(mk_source_read(s, b, sizeof b), 0);
    CHECK_INT(mk_source_read(s, b, sizeof b), 0);
    CHECK_U64(mk_source_in_pos(s), 0);
    CHECK_U64(mk_source_out_pos(s), 0);
    CHECK_U64(mk_source_size(s), 0);
    mk_source_close(s);

    /* 1-3 bytes: too short for any magic but gzip's; plain, read back exactly. */
    static const char *const tiny[] = { "a", "\n", "ab", "\x1f", "\x28\xb5", "abc",
                                        "\x28\xb5\x2f", "\x00\x00\x00" };
    static const size_t tiny_len[] = { 1, 1, 2, 1, 2, 3, 3, 3 };
    for (size_t i = 0; i < sizeof tiny / sizeof *tiny; i++)
        for (size_t cap = 1; cap <= 4; cap++)
            CHECK(roundtrip("tiny", tiny[i], tiny_len[i], MK_CODEC_PLAIN, tiny[i], tiny_len[i], cap));

    /* The gzip magic alone is a gzip stream with nothing after its magic. */
    s = mk_source_open_mem("gz2", "\x1f\x8b", 2);
    CHECK(s != NULL);
    CHECK_INT(mk_source_codec(s), MK_CODEC_GZIP);
    CHECK_INT(mk_source_read(s, b, sizeof b), -1);
    CHECK_STR(mk_err_msg(), "gz2: truncated gzip stream at byte 2");
    mk_source_close(s);
    /* The zstd magic alone is a truncated zstd stream. */
    s = mk_source_open_mem("zs4", "\x28\xb5\x2f\xfd", 4);
    CHECK(s != NULL);
    CHECK_INT(mk_source_codec(s), MK_CODEC_ZSTD);
    CHECK_INT(mk_source_read(s, b, sizeof b), -1);
    CHECK_STR(mk_err_msg(), "zs4: truncated zstd stream at byte 4");
    mk_source_close(s);
}

static void test_zstd(void)
{
    size_t n = 200000;
    unsigned char *t = make_text(n);
    buf z = { 0 };
    zstd_frame(&z, t, n, 3, 0);
    CHECK(z.n < n / 2);
    CHECK(roundtrip("t.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, 0));
    CHECK(roundtrip("t.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, 65536));
    CHECK(roundtrip("t.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, 1 << 20));

    /* Size is the stored size; out_pos/in_pos advance as bytes are returned. */
    mk_source *s = mk_source_open_mem("t.zst", z.p, z.n);
    CHECK_U64(mk_source_size(s), z.n);
    CHECK_STR(mk_codec_name(mk_source_codec(s)), "zstd");
    unsigned char b[1000];
    uint64_t out = 0, last_in = 0;
    int bad = 0;
    ssize_t r;
    while ((r = mk_source_read(s, b, sizeof b)) > 0) {
        bad += memcmp(b, t + out, (size_t)r) != 0;
        out += (uint64_t)r;
        bad += mk_source_out_pos(s) != out;
        bad += mk_source_in_pos(s) < last_in || mk_source_in_pos(s) > z.n;
        last_in = mk_source_in_pos(s);
    }
    CHECK_INT(r, 0);
    CHECK_INT(bad, 0);
    CHECK_U64(out, n);
    CHECK_U64(mk_source_in_pos(s), z.n);
    mk_source_close(s);

    /* Incompressible data bigger than the input buffer (raw blocks), with a
     * checksum. */
    size_t rn = 400000;
    unsigned char *rd = make_random(rn);
    buf zr = { 0 };
    zstd_frame(&zr, rd, rn, 1, 1);
    CHECK(zr.n > 128 * 1024);
    CHECK(roundtrip("r.zst", zr.p, zr.n, MK_CODEC_ZSTD, rd, rn, 0));
    CHECK(roundtrip("r.zst", zr.p, zr.n, MK_CODEC_ZSTD, rd, rn, 65536));

    /* An empty frame decodes to nothing, cleanly. */
    buf ze = { 0 };
    zstd_frame(&ze, "", 0, 3, 1);
    CHECK(roundtrip("e.zst", ze.p, ze.n, MK_CODEC_ZSTD, "", 0, 16));
    buf_free(&ze);
    zstd_frame(&ze, "", 0, 3, 0);
    CHECK(roundtrip("e.zst", ze.p, ze.n, MK_CODEC_ZSTD, "", 0, 16));
    buf_free(&ze);

    buf_free(&z);
    buf_free(&zr);
    free(t);
    free(rd);
}

static void test_zstd_frames(void)
{
    size_t n = 150000;
    unsigned char *t = make_text(n);
    /* Frames of t[0..a), t[a..a) (empty), t[a..b), t[b..n), mixed options. */
    size_t a = 70000, bcut = 70001;
    buf z = { 0 };
    zstd_frame(&z, t, a, 1, 0);
    zstd_frame(&z, t + a, 0, 3, 1);
    zstd_frame(&z, t + a, bcut - a, 19, 1);
    zstd_frame(&z, t + bcut, n - bcut, 3, 0);
    CHECK(roundtrip("frames.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, 0));
    CHECK(roundtrip("frames.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, 100000));

    /* Many tiny frames, one per byte. */
    buf many = { 0 };
    for (size_t i = 0; i < 300; i++)
        zstd_frame(&many, t + i, 1, 1, (int)(i & 1));
    CHECK(roundtrip("many.zst", many.p, many.n, MK_CODEC_ZSTD, t, 300, 0));
    CHECK(roundtrip("many.zst", many.p, many.n, MK_CODEC_ZSTD, t, 300, 4096));

    buf_free(&z);
    buf_free(&many);
    free(t);
}

static void test_zstd_skippable(void)
{
    size_t n = 50000;
    unsigned char *t = make_text(n);
    static const char payload[] = "memkit metadata, not data";

    /* A leading skippable frame: still zstd, its payload is not output. */
    buf z = { 0 };
    zstd_skippable(&z, 0x184D2A50, payload, sizeof payload);
    zstd_frame(&z, t, n, 3, 1);
    CHECK(roundtrip("skip.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, 0));
    buf_free(&z);

    /* Every skippable magic 0x184D2A5?, leading, between and after frames,
     * including an empty payload. */
    for (uint32_t m = 0x184D2A50; m <= 0x184D2A5F; m += 5) {
        zstd_skippable(&z, m, payload, (uint32_t)(m & 7) * 3);
        zstd_frame(&z, t, 1000, 3, 0);
        zstd_skippable(&z, m, "", 0);
        zstd_frame(&z, t + 1000, n - 1000, 3, 1);
        zstd_skippable(&z, m, payload, sizeof payload);
        CHECK(roundtrip("skip2.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, 0));
        buf_free(&z);
    }

    /* Only a skippable frame: zstd, no output, clean end. */
    zstd_skippable(&z, 0x184D2A5A, payload, sizeof payload);
    CHECK(roundtrip("only-skip.zst", z.p, z.n, MK_CODEC_ZSTD, "", 0, 7));
    /* A truncated skippable frame is a truncated stream. */
    const char *msg = read_error("cut-skip.zst", z.p, z.n - 3, 64, NULL);
    char want[128];
    snprintf(want, sizeof want, "cut-skip.zst: truncated zstd stream at byte %zu", z.n - 3);
    CHECK_STR(msg, want);
    buf_free(&z);
    free(t);
}

static void test_zstd_truncated(void)
{
    size_t n = 100000;
    unsigned char *t = make_text(n);
    for (int checksum = 0; checksum <= 1; checksum++) {
        buf z = { 0 };
        zstd_frame(&z, t, n, 3, checksum);
        int bad = 0;
        /* Every cut from 4 bytes (the magic) to one byte short. */
        for (size_t cut = 4; cut < z.n; cut += cut < 64 || cut > z.n - 64 ? 1 : 97) {
            buf got = { 0 };
            const char *msg = read_error("cut.zst", z.p, cut, 0, &got);
            char want[128];
            snprintf(want, sizeof want, "cut.zst: truncated zstd stream at byte %zu", cut);
            if (strcmp(msg, want) != 0) {
                if (bad++ < 5)
                    printf("# checksum %d, cut %zu of %zu: \"%s\"\n", checksum, cut, z.n, msg);
            } else if (got.n > n || !same(got.p, t, got.n)) {
                if (bad++ < 5)
                    printf("# cut %zu: wrong bytes before the error\n", cut);
            }
            buf_free(&got);
        }
        CHECK_INT(bad, 0);
        buf_free(&z);
    }

    /* A cut after the 128 KiB input buffer: the offset counts all of it. */
    size_t rn = 300000;
    unsigned char *rd = make_random(rn);
    buf zr = { 0 };
    zstd_frame(&zr, rd, rn, 1, 0);
    size_t cut = 200003;
    buf got = { 0 };
    CHECK_STR(read_error("big.zst", zr.p, cut, 65536, &got),
              "big.zst: truncated zstd stream at byte 200003");
    CHECK(got.n < rn && same(got.p, rd, got.n));
    buf_free(&got);

    /* A complete frame followed by the start of another. */
    buf two = { 0 };
    zstd_frame(&two, t, 1000, 3, 0);
    size_t first = two.n;
    zstd_frame(&two, t, 1000, 3, 0);
    got = (buf){ 0 };
    char want[128];
    snprintf(want, sizeof want, "two.zst: truncated zstd stream at byte %zu", first + 6);
    CHECK_STR(read_error("two.zst", two.p, first + 6, 0, &got), want);
    CHECK(got.n == 1000 && memcmp(got.p, t, 1000) == 0);   /* the whole first frame came out */
    buf_free(&got);

    buf_free(&two);
    buf_free(&zr);
    free(rd);
    free(t);
}

static void test_zstd_corrupt(void)
{
    size_t n = 60000;
    unsigned char *t = make_text(n);
    buf z = { 0 };
    zstd_frame(&z, t, n, 3, 1);

    /* The stored checksum (last 4 bytes) is wrong. */
    unsigned char *c = malloc(z.n);
    memcpy(c, z.p, z.n);
    c[z.n - 1] ^= 0x55;
    const char *msg = read_error("ck.zst", c, z.n, 0, NULL);
    CHECK_CONTAINS(msg, "ck.zst: corrupt zstd stream at byte ");
    CHECK_CONTAINS(msg, "checksum");

    /* Data bytes flipped in the middle: an error of some kind, never a clean
     * end with wrong data (a flip in bits the decoder ignores may decode to
     * the very same bytes, which is fine). */
    int bad = 0, clean = 0;
    for (size_t pos = 20; pos < z.n - 4; pos += 37) {
        memcpy(c, z.p, z.n);
        c[pos] ^= (unsigned char)(1 + rnd() % 255);
        buf got = { 0 };
        msg = read_error("flip.zst", c, z.n, 0, &got);
        if (strncmp(msg, "(no error", 9) == 0 && got.n == n && memcmp(got.p, t, n) == 0) {
            clean++;
        } else if (strncmp(msg, "flip.zst: corrupt zstd stream at byte ", 38) != 0 &&
            strncmp(msg, "flip.zst: truncated zstd stream at byte ", 40) != 0) {
            if (bad++ < 5)
                printf("# flip at %zu: \"%s\"\n", pos, msg);
        }
        buf_free(&got);
    }
    CHECK_INT(bad, 0);
    CHECK(clean < 5);   /* nearly every flip is noticed */

    /* A reserved bit set in the frame header descriptor. */
    memcpy(c, z.p, z.n);
    c[4] |= 0x08;
    msg = read_error("hdr.zst", c, z.n, 0, NULL);
    CHECK_CONTAINS(msg, "hdr.zst: corrupt zstd stream at byte ");

    /* Garbage after a complete frame. */
    buf g = { 0 };
    buf_add(&g, z.p, z.n);
    buf_add(&g, "garbage!garbage!", 16);
    buf got = { 0 };
    msg = read_error("tail.zst", g.p, g.n, 0, &got);
    CHECK_CONTAINS(msg, "tail.zst: corrupt zstd stream at byte ");
    CHECK(got.n == n && memcmp(got.p, t, n) == 0);
    buf_free(&got);

    buf_free(&g);
    free(c);
    buf_free(&z);
    free(t);
}

static void test_gzip(void)
{
    size_t n = 200000;
    unsigned char *t = make_text(n);
    buf g = { 0 };
    gzip_member(&g, t, n, 6);
    mk_source *s = mk_source_open_mem("t.gz", g.p, g.n);
    CHECK_INT(mk_source_codec(s), MK_CODEC_GZIP);
    CHECK_STR(mk_codec_name(mk_source_codec(s)), "gzip");
    CHECK_U64(mk_source_size(s), g.n);
    mk_source_close(s);
    CHECK(roundtrip("t.gz", g.p, g.n, MK_CODEC_GZIP, t, n, 0));
    CHECK(roundtrip("t.gz", g.p, g.n, MK_CODEC_GZIP, t, n, 65536));

    /* Several members, one of them empty, one stored (level 0). */
    buf m = { 0 };
    gzip_member(&m, t, 1000, 1);
    gzip_member(&m, t + 1000, 0, 6);
    gzip_member(&m, t + 1000, 100000, 0);
    gzip_member(&m, t + 101000, n - 101000, 9);
    CHECK(roundtrip("multi.gz", m.p, m.n, MK_CODEC_GZIP, t, n, 0));
    CHECK(roundtrip("multi.gz", m.p, m.n, MK_CODEC_GZIP, t, n, 4096));

    /* Many small members. */
    buf many = { 0 };
    for (size_t i = 0; i < 200; i++)
        gzip_member(&many, t + i * 10, 10, 6);
    CHECK(roundtrip("many.gz", many.p, many.n, MK_CODEC_GZIP, t, 2000, 0));
    CHECK(roundtrip("many.gz", many.p, many.n, MK_CODEC_GZIP, t, 2000, 3));

    buf_free(&many);
    buf_free(&m);
    buf_free(&g);
    free(t);
}

/* A member boundary at every position around the 128 KiB input buffer's
 * edge, in particular with just one byte of the next member's magic left in
 * the buffer: the memory source must still see the second member. */
static void test_gzip_member_at_buffer_edge(void)
{
    size_t n = 3000;
    unsigned char *t = make_text(n);
    unsigned char *rd = make_random(120000);
    buf probe = { 0 };
    gzip_member(&probe, rd, 120000, 0);
    size_t base = probe.n;   /* member size without a name */
    buf_free(&probe);
    int bad = 0;
    for (size_t edge = 128 * 1024 - 3; edge <= 128 * 1024 + 1; edge++) {
        buf g = { 0 };
        /* A name of k bytes adds k + 1 bytes (with its NUL) to the header. */
        gzip_member_named(&g, rd, 120000, 0, edge - base - 1);
        if (g.n != edge) {
            printf("# could not build a member of %zu bytes (%zu)\n", edge, g.n);
            bad++;
        }
        gzip_member(&g, t, n, 6);
        buf want = { 0 };
        buf_add(&want, rd, 120000);
        buf_add(&want, t, n);
        if (!roundtrip("edge.gz", g.p, g.n, MK_CODEC_GZIP, want.p, want.n, 65536)) {
            printf("# first member of %zu bytes (buffer edge %d)\n", edge, 128 * 1024);
            bad++;
        }
        buf_free(&want);
        buf_free(&g);
    }
    CHECK_INT(bad, 0);
    free(rd);
    free(t);
}

static void test_gzip_errors(void)
{
    size_t n = 50000;
    unsigned char *t = make_text(n);
    buf g = { 0 };
    gzip_member(&g, t, n, 6);

    /* Truncated at every length from the magic to one byte short. */
    int bad = 0;
    for (size_t cut = 2; cut < g.n; cut += cut < 40 || cut > g.n - 40 ? 1 : 53) {
        buf got = { 0 };
        const char *msg = read_error("cut.gz", g.p, cut, 0, &got);
        char want[128];
        snprintf(want, sizeof want, "cut.gz: truncated gzip stream at byte %zu", cut);
        if (strcmp(msg, want) != 0) {
            if (bad++ < 5)
                printf("# cut %zu of %zu: \"%s\"\n", cut, g.n, msg);
        } else if (got.n > n || !same(got.p, t, got.n)) {
            if (bad++ < 5)
                printf("# cut %zu: wrong bytes before the error\n", cut);
        }
        buf_free(&got);
    }
    CHECK_INT(bad, 0);

    /* Garbage after a complete member. */
    buf x = { 0 };
    buf_add(&x, g.p, g.n);
    buf_add(&x, "junk", 4);
    buf got = { 0 };
    char want[128];
    snprintf(want, sizeof want, "junk.gz: trailing garbage after gzip stream at byte %zu", g.n);
    CHECK_STR(read_error("junk.gz", x.p, x.n, 0, &got), want);
    CHECK(got.n == n && memcmp(got.p, t, n) == 0);
    buf_free(&got);
    /* One stray byte, even the first magic byte, and NUL padding. */
    static const char *const tails[] = { "\x1f", "\n", "\0\0\0\0" };
    static const size_t tail_len[] = { 1, 1, 4 };
    for (int i = 0; i < 3; i++) {
        x.n = g.n;
        buf_add(&x, tails[i], tail_len[i]);
        snprintf(want, sizeof want, "tail.gz: trailing garbage after gzip stream at byte %zu", g.n);
        CHECK_STR(read_error("tail.gz", x.p, x.n, 0, NULL), want);
    }
    /* A second member that is cut short. */
    x.n = g.n;
    gzip_member(&x, t, 1000, 6);
    snprintf(want, sizeof want, "second.gz: truncated gzip stream at byte %zu", x.n - 5);
    CHECK_STR(read_error("second.gz", x.p, x.n - 5, 0, NULL), want);

    /* Wrong CRC and wrong length in the trailer. */
    unsigned char *c = malloc(g.n);
    memcpy(c, g.p, g.n);
    c[g.n - 8] ^= 1;
    const char *msg = read_error("crc.gz", c, g.n, 0, NULL);
    CHECK_CONTAINS(msg, "crc.gz: corrupt gzip stream at byte ");
    CHECK_CONTAINS(msg, "incorrect data check");
    memcpy(c, g.p, g.n);
    c[g.n - 4] ^= 1;
    msg = read_error("len.gz", c, g.n, 0, NULL);
    CHECK_CONTAINS(msg, "len.gz: corrupt gzip stream at byte ");
    CHECK_CONTAINS(msg, "incorrect length check");

    /* Bytes flipped in the deflate data: always an error. */
    bad = 0;
    for (size_t pos = 10; pos < g.n - 8; pos += 41) {
        memcpy(c, g.p, g.n);
        c[pos] ^= (unsigned char)(1 + rnd() % 255);
        msg = read_error("flip.gz", c, g.n, 0, NULL);
        if (strncmp(msg, "flip.gz: corrupt gzip stream at byte ", 37) != 0 &&
            strncmp(msg, "flip.gz: truncated gzip stream at byte ", 39) != 0 &&
            strncmp(msg, "flip.gz: trailing garbage after gzip stream", 43) != 0) {
            if (bad++ < 5)
                printf("# flip at %zu: \"%s\"\n", pos, msg);
        }
    }
    CHECK_INT(bad, 0);
    /* A bad compression method in the header. */
    memcpy(c, g.p, g.n);
    c[2] = 7;
    CHECK_CONTAINS(read_error("method.gz", c, g.n, 0, NULL), "method.gz: corrupt gzip stream at byte ");

    free(c);
    buf_free(&x);
    buf_free(&g);
    free(t);
}

/* Every codec read with caller buffers of 1..7 bytes gives the same bytes. */
static void test_tiny_buffers(void)
{
    size_t n = 12000;
    unsigned char *t = make_text(n);
    buf z = { 0 }, zc = { 0 }, zm = { 0 }, g = { 0 }, gm = { 0 };
    zstd_frame(&z, t, n, 3, 0);
    zstd_frame(&zc, t, n, 3, 1);
    zstd_skippable(&zm, 0x184D2A51, "abc", 3);
    zstd_frame(&zm, t, 5000, 3, 0);
    zstd_frame(&zm, t + 5000, n - 5000, 3, 1);
    gzip_member(&g, t, n, 6);
    gzip_member(&gm, t, 5000, 6);
    gzip_member(&gm, t + 5000, n - 5000, 1);
    struct { const char *name; buf *b; mk_codec c; } in[] = {
        { "plain", NULL, MK_CODEC_PLAIN }, { "zstd", &z, MK_CODEC_ZSTD },
        { "zstd+checksum", &zc, MK_CODEC_ZSTD }, { "zstd frames", &zm, MK_CODEC_ZSTD },
        { "gzip", &g, MK_CODEC_GZIP }, { "gzip members", &gm, MK_CODEC_GZIP },
    };
    for (size_t i = 0; i < sizeof in / sizeof *in; i++)
        for (size_t cap = 1; cap <= 7; cap++) {
            const void *p = in[i].b ? in[i].b->p : t;
            size_t pn = in[i].b ? in[i].b->n : n;
            if (!roundtrip(in[i].name, p, pn, in[i].c, t, n, cap))
                CHECK(0);
        }
    buf_free(&z);
    buf_free(&zc);
    buf_free(&zm);
    buf_free(&g);
    buf_free(&gm);
    free(t);
}

/* Caller buffers smaller than a zstd block's output, at every size the block
 * layer might use: the decoder must be drained before the end is judged. */
static void test_zstd_small_caller_buffers(void)
{
    size_t n = 300000;
    unsigned char *t = make_text(n);
    buf z = { 0 };
    zstd_frame(&z, t, n, 3, 0);
    static const size_t caps[] = { 1000, 4096, 65536, 100000, 131071, 131072, 200000 };
    for (size_t i = 0; i < sizeof caps / sizeof *caps; i++)
        if (!roundtrip("cap.zst", z.p, z.n, MK_CODEC_ZSTD, t, n, caps[i]))
            CHECK(0);
    buf_free(&z);
    free(t);
}

static void test_files(void)
{
    char path[512];
    size_t n = 250000;
    unsigned char *t = make_text(n);

    /* Plain, zstd, gzip files, sniffed whatever their names say. */
    buf z = { 0 }, g = { 0 };
    zstd_frame(&z, t, n, 3, 1);
    gzip_member(&g, t, n, 6);
    struct { const char *name; const void *p; size_t n; mk_codec c; } f[] = {
        { "plain.gz", t, n, MK_CODEC_PLAIN },
        { "data.txt", z.p, z.n, MK_CODEC_ZSTD },
        { "data.zst", g.p, g.n, MK_CODEC_GZIP },
    };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, f[i].name);
        unit_write_file(path, f[i].p, f[i].n);
        mk_source *s = mk_source_open(path);
        CHECK(s != NULL);
        if (!s)
            continue;
        CHECK_STR(mk_source_name(s), path);
        CHECK_INT(mk_source_codec(s), f[i].c);
        CHECK_U64(mk_source_size(s), f[i].n);
        buf got = { 0 };
        CHECK_INT(read_all(s, i == 0 ? 0 : 777, &got), 0);
        CHECK(got.n == n && memcmp(got.p, t, n) == 0);
        CHECK_U64(mk_source_out_pos(s), n);
        CHECK_U64(mk_source_in_pos(s), f[i].n);
        buf_free(&got);
        CHECK_INT(mk_source_close(s), 0);
        unlink(path);
    }

    /* A truncated zstd file: the offset is the file's length. */
    snprintf(path, sizeof path, "%s/cut.zst", tmpdir);
    unit_write_file(path, z.p, z.n - 10);
    mk_source *s = mk_source_open(path);
    CHECK(s != NULL);
    buf got = { 0 };
    CHECK_INT(read_all(s, 4096, &got), -1);
    char want[700];
    snprintf(want, sizeof want, "%s: truncated zstd stream at byte %zu", path, z.n - 10);
    CHECK_STR(mk_err_msg(), want);
    buf_free(&got);
    mk_source_close(s);
    unlink(path);

    /* An empty file is plain and empty. */
    snprintf(path, sizeof path, "%s/empty", tmpdir);
    unit_write_file(path, "", 0);
    s = mk_source_open(path);
    CHECK(s != NULL);
    CHECK_INT(mk_source_codec(s), MK_CODEC_PLAIN);
    char b[16];
    CHECK_INT(mk_source_read(s, b, sizeof b), 0);
    mk_source_close(s);
    unlink(path);

    /* A missing path: NULL and "PATH: strerror". */
    snprintf(path, sizeof path, "%s/no-such-file", tmpdir);
    errno = 0;
    mk_err_set("%s", "");
    CHECK(mk_source_open(path) == NULL);
    snprintf(want, sizeof want, "%s: %s", path, strerror(ENOENT));
    CHECK_STR(mk_err_msg(), want);
    /* A directory. */
    CHECK(mk_source_open(tmpdir) == NULL);
    snprintf(want, sizeof want, "%s: is a directory", tmpdir);
    CHECK_STR(mk_err_msg(), want);

    buf_free(&z);
    buf_free(&g);
    free(t);
}

/* Is path mapped into this process now? (/proc/self/maps lists it.) */
static int mapped(const char *path)
{
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        return -1;
    char line[1024];
    int hit = 0;
    size_t n = strlen(path);
    while (fgets(line, sizeof line, f)) {
        size_t k = strcspn(line, "\n");
        if (k >= n && memcmp(line + k - n, path, n) == 0)
            hit = 1;
    }
    fclose(f);
    return hit;
}

/* A compressed regular file is decoded from a mapping (and a plain one is
 * read: mk_source_map is its caller's choice). Contents, offsets and errors
 * are the same as when read: past several drop-behind steps, from stdin
 * redirected from a file whose position is past a prefix, and cut short. */
static void test_stored_mapped(void)
{
    char path[512];
    size_t n = 9u << 20;   /* random, so the stored file is > 4 drop steps */
    unsigned char *t = make_random(n);
    memcpy(t + 1000, "a line\n", 7);
    buf z = { 0 }, g = { 0 };
    zstd_frame(&z, t, n, 1, 1);
    gzip_member(&g, t, n, 1);
    struct { const char *name; buf *b; } f[] = { { "big.zst", &z }, { "big.gz", &g } };
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, f[i].name);
        unit_write_file(path, f[i].b->p, f[i].b->n);
        mk_source *s = mk_source_open(path);
        CHECK(s != NULL);
        if (!s)
            continue;
        CHECK_INT(mapped(path), 1);
        buf got = { 0 };
        CHECK_INT(read_all(s, 65536, &got), 0);
        CHECK(got.n == n && memcmp(got.p, t, n) == 0);
        CHECK_U64(mk_source_in_pos(s), f[i].b->n);
        buf_free(&got);
        CHECK_INT(mk_source_close(s), 0);
        CHECK_INT(mapped(path), 0);

        /* Cut short: the same message, at the same byte, as when read. */
        unit_write_file(path, f[i].b->p, f[i].b->n / 2);
        s = mk_source_open(path);
        CHECK(s != NULL);
        CHECK_INT(read_all(s, 65536, &got), -1);
        char want[700];
        snprintf(want, sizeof want, "%s: truncated %s stream at byte %zu", path,
                 i == 0 ? "zstd" : "gzip", f[i].b->n / 2);
        CHECK_STR(mk_err_msg(), want);
        buf_free(&got);
        mk_source_close(s);
        unlink(path);
    }

    /* stdin from a file, positioned past 5 bytes of something else: mapped
     * from where it stands, offsets counted from there. */
    snprintf(path, sizeof path, "%s/prefixed.zst", tmpdir);
    buf p = { 0 };
    buf_add(&p, "junk\n", 5);
    buf_add(&p, z.p, z.n);
    unit_write_file(path, p.p, p.n);
    int fd = open(path, O_RDONLY), saved = dup(0);
    CHECK(fd >= 0 && saved >= 0);
    CHECK(lseek(fd, 5, SEEK_SET) == 5);
    CHECK(dup2(fd, 0) == 0);
    mk_source *s = mk_source_open(NULL);
    CHECK(s != NULL);
    if (s) {
        CHECK_INT(mk_source_codec(s), MK_CODEC_ZSTD);
        CHECK_INT(mapped(path), 1);
        buf got = { 0 };
        CHECK_INT(read_all(s, 100000, &got), 0);
        CHECK(got.n == n && memcmp(got.p, t, n) == 0);
        CHECK_U64(mk_source_in_pos(s), z.n);
        buf_free(&got);
        mk_source_close(s);
    }
    CHECK(dup2(saved, 0) == 0);
    close(saved);
    close(fd);
    unlink(path);
    buf_free(&p);
    buf_free(&z);
    buf_free(&g);
    free(t);
}

/* A mapped file that shrinks while it is decoded: SIGBUS becomes one line,
 * "PROG: NAME: file shrank while being read", and exit 2. In a child, as
 * the process ends. */
static void test_mapped_file_shrinks(void)
{
    char path[512];
    size_t n = 4u << 20;
    unsigned char *t = make_random(n);
    buf z = { 0 };
    zstd_frame(&z, t, n, 1, 1);
    snprintf(path, sizeof path, "%s/shrinks.zst", tmpdir);
    unit_write_file(path, z.p, z.n);
    int err[2];
    CHECK(pipe(err) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(err[1], 2);
        close(err[0]);
        mk_source *s = mk_source_open(path);
        if (!s)
            _exit(90);
        char b[65536];
        if (mk_source_read(s, b, sizeof b) <= 0)
            _exit(91);
        if (truncate(path, 4096) != 0)
            _exit(92);
        while (mk_source_read(s, b, sizeof b) > 0)
            ;
        _exit(93);   /* not reached: the pages past 4096 are gone */
    }
    close(err[1]);
    char msg[1024] = "";
    size_t got = 0;
    ssize_t r;
    while ((r = read(err[0], msg + got, sizeof msg - 1 - got)) > 0)
        got += (size_t)r;
    msg[got] = 0;
    close(err[0]);
    int st = 0;
    CHECK(waitpid(pid, &st, 0) == pid);
    CHECK(WIFEXITED(st));
    CHECK_INT(WEXITSTATUS(st), 2);
    char want[700];
    snprintf(want, sizeof want, "%s: %s: file shrank while being read\n", mk_progname, path);
    CHECK_STR(msg, want);
    unlink(path);
    buf_free(&z);
    free(t);
}

static void test_map(void)
{
    char path[512];
    size_t n = 100000;
    unsigned char *t = make_text(n);
    snprintf(path, sizeof path, "%s/map.txt", tmpdir);
    unit_write_file(path, t, n);

    mk_source *s = mk_source_open(path);
    CHECK(s != NULL);
    const char *data = NULL;
    size_t len = 0;
    CHECK_INT(mk_source_map(s, &data, &len), 1);
    CHECK_U64(len, n);
    CHECK(data && memcmp(data, t, n) == 0);
    CHECK_U64(mk_source_in_pos(s), n);
    CHECK_U64(mk_source_size(s), n);
    /* Dropping pages is only a hint: the data stays readable. */
    mk_source_unmap_hint(s, 0, n / 2);
    mk_source_unmap_hint(s, n - 10, 1000);
    mk_source_unmap_hint(s, n + 10, 10);
    CHECK(memcmp(data, t, n) == 0);
    mk_source_close(s);

    /* Not mappable: after a read, memory sources, compressed files, empty files. */
    s = mk_source_open(path);
    char b[10];
    CHECK_INT(mk_source_read(s, b, sizeof b), 10);
    CHECK_INT(mk_source_map(s, &data, &len), 0);
    buf got = { 0 };
    buf_add(&got, b, 10);
    CHECK_INT(read_all(s, 0, &got), 0);   /* reading goes on normally */
    CHECK(got.n == n && memcmp(got.p, t, n) == 0);
    buf_free(&got);
    mk_source_close(s);

    s = mk_source_open_mem("mem", t, n);
    CHECK_INT(mk_source_map(s, &data, &len), 0);
    mk_source_close(s);

    buf g = { 0 };
    gzip_member(&g, t, n, 6);
    unit_write_file(path, g.p, g.n);
    s = mk_source_open(path);
    CHECK_INT(mk_source_codec(s), MK_CODEC_GZIP);
    CHECK_INT(mk_source_map(s, &data, &len), 0);
    CHECK_INT(read_all(s, 0, &got), 0);
    CHECK(got.n == n && memcmp(got.p, t, n) == 0);
    buf_free(&got);
    mk_source_close(s);

    unit_write_file(path, "", 0);
    s = mk_source_open(path);
    CHECK_INT(mk_source_map(s, &data, &len), 0);
    mk_source_close(s);
    unlink(path);
    buf_free(&g);
    free(t);
}

/* ---- stdin as a pipe fed in small pieces --------------------------------- */

struct feeder {
    int fd;
    const unsigned char *p;
    size_t n;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    uint64_t x = 0x1234567u;
    for (size_t off = 0; off < f->n;) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t k = 1 + x % 5;
        if (x % 64 == 0)
            k = 70000;
        if (k > f->n - off)
            k = f->n - off;
        ssize_t w = write(f->fd, f->p + off, k);
        if (w <= 0)
            break;
        off += (size_t)w;
        if (x % 8 == 0)
            usleep(50);   /* let the reader catch up: short reads */
    }
    close(f->fd);
    return NULL;
}

static int pipe_roundtrip(const char *label, const void *data, size_t n, mk_codec codec,
                          const void *want, size_t wn)
{
    int pfd[2];
    if (pipe(pfd) < 0)
        return 0;
    int saved = dup(0);
    dup2(pfd[0], 0);
    close(pfd[0]);
    struct feeder f = { pfd[1], data, n };
    pthread_t th;
    pthread_create(&th, NULL, feed, &f);
    int ok = 1;
    mk_source *s = mk_source_open("-");
    if (!s) {
        printf("# %s: open failed: %s\n", label, mk_err_msg());
        ok = 0;
    } else {
        if (strcmp(mk_source_name(s), "<stdin>") != 0 || mk_source_codec(s) != codec ||
            mk_source_size(s) != 0) {
            printf("# %s: name %s codec %s size %llu\n", label, mk_source_name(s),
                   mk_codec_name(mk_source_codec(s)), (unsigned long long)mk_source_size(s));
            ok = 0;
        }
        const char *d;
        size_t dl;
        if (mk_source_map(s, &d, &dl) != 0) {
            printf("# %s: a pipe was mapped\n", label);
            ok = 0;
        }
        buf got = { 0 };
        int r = read_all(s, 0, &got);
        if (r != 0 || got.n != wn || !same(got.p, want, wn)) {
            printf("# %s: r=%d, %zu bytes (expected %zu): %s\n", label, r, got.n, wn,
                   r ? mk_err_msg() : "");
            ok = 0;
        } else if (mk_source_in_pos(s) != n) {
            printf("# %s: in_pos %llu, expected %zu\n", label,
                   (unsigned long long)mk_source_in_pos(s), n);
            ok = 0;
        }
        buf_free(&got);
        mk_source_close(s);   /* does not close fd 0: it did not open it */
    }
    /* Drain whatever is left so the feeder can finish. */
    char sink[4096];
    while (read(0, sink, sizeof sink) > 0)
        ;
    pthread_join(th, NULL);
    dup2(saved, 0);
    close(saved);
    return ok;
}

static void test_stdin_pipe(void)
{
    size_t n = 200000;
    unsigned char *t = make_text(n);
    buf z = { 0 }, g = { 0 };
    zstd_skippable(&z, 0x184D2A50, "xy", 2);
    zstd_frame(&z, t, 100000, 3, 1);
    zstd_frame(&z, t + 100000, n - 100000, 3, 0);
    for (size_t i = 0; i < 50; i++)
        gzip_member(&g, t + i * 4000, 4000, 6);
    CHECK(pipe_roundtrip("plain pipe", t, n, MK_CODEC_PLAIN, t, n));
    CHECK(pipe_roundtrip("zstd pipe", z.p, z.n, MK_CODEC_ZSTD, t, n));
    CHECK(pipe_roundtrip("gzip pipe", g.p, g.n, MK_CODEC_GZIP, t, n));
    CHECK(pipe_roundtrip("tiny pipe", "ab", 2, MK_CODEC_PLAIN, "ab", 2));
    CHECK(pipe_roundtrip("empty pipe", "", 0, MK_CODEC_PLAIN, "", 0));
    buf_free(&z);
    buf_free(&g);
    free(t);
}

/* NULL data with length 0 is an empty memory source too (no memcpy from
 * NULL, which UBSan rejects even for 0 bytes). Last, because under
 * -fno-sanitize-recover a failure here ends the process. */
static void test_null_mem(void)
{
    char b[8];
    mk_source *s = mk_source_open_mem("null", NULL, 0);
    CHECK(s != NULL);
    CHECK_INT(mk_source_codec(s), MK_CODEC_PLAIN);
    CHECK_INT(mk_source_read(s, b, sizeof b), 0);
    CHECK_U64(mk_source_in_pos(s), 0);
    mk_source_close(s);
}

int main(void)
{
    make_tmpdir();
    RUN(test_plain);
    RUN(test_empty_and_tiny);
    RUN(test_zstd);
    RUN(test_zstd_frames);
    RUN(test_zstd_skippable);
    RUN(test_zstd_truncated);
    RUN(test_zstd_corrupt);
    RUN(test_gzip);
    RUN(test_gzip_member_at_buffer_edge);
    RUN(test_gzip_errors);
    RUN(test_tiny_buffers);
    RUN(test_zstd_small_caller_buffers);
    RUN(test_files);
    RUN(test_map);
    RUN(test_stored_mapped);
    RUN(test_mapped_file_shrinks);
    RUN(test_stdin_pipe);
    rmdir(tmpdir);
    RUN(test_null_mem);   /* needs no files: may abort under UBSan */
    return DONE();
}
