/* fuzz_source_lines — source sniffing/decompression and the line reader.
 *
 * The input is opened as a memory source (so zstd and gzip inputs are
 * decoded) and read to the end through mk_lines with small blocks. Checked:
 * mk_lines_next returns only 1/0/-1, line numbers go 1, 2, 3, ..., no line
 * holds a LF or exceeds max_record. The lines must be exactly the lines of the
 * decoded bytes (LF or CRLF stripped), and the verdict exact: an error iff
 * there is a NUL, an over-long line or a bad compressed stream. The decoded
 * bytes are the input itself when plain, else what a reference decode of the
 * whole input (libzstd / zlib, growing output) gives. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "err.h"
#include "fuzz.h"
#include "lines.h"
#include "source.h"

enum { BLOCK = 4096, MAX_RECORD = 1024, REF_MAX = 1 << 22 };

/* Reference zstd decode of the whole input into a growing buffer, at most
 * `step` output bytes per call (0: all the room there is). Returns 1 clean,
 * 0 bad (corrupt, truncated), -1 past REF_MAX (a bomb: not worth the time). */
static int ref_zstd(const uint8_t *d, size_t n, size_t step, char **out, size_t *outn)
{
    size_t cap = 1 << 16, len = 0, r = 1;
    char *o = malloc(cap);
    int rc = 1;
    ZSTD_DStream *z = ZSTD_createDStream();
    ZSTD_initDStream(z);
    ZSTD_inBuffer in = { d, n, 0 };
    for (;;) {
        ZSTD_outBuffer ob = { o, step && len + step < cap ? len + step : cap, len };
        r = ZSTD_decompressStream(z, &ob, &in);
        len = ob.pos;
        if (ZSTD_isError(r)) {
            rc = 0;
            break;
        }
        if (in.pos == in.size && (r == 0 || ob.pos < ob.size))
            break;   /* all input taken and nothing left to flush */
        if (len == cap) {
            if ((cap *= 2) > REF_MAX) {
                rc = -1;
                break;
            }
            o = realloc(o, cap);
        }
    }
    if (rc == 1 && r != 0)
        rc = 0;   /* ended inside a frame */
    ZSTD_freeDStream(z);
    *out = o;
    *outn = len;
    return rc;
}

/* Reference gzip decode (multi-member; anything but another member after a
 * member is an error), same results as ref_zstd. */
static int ref_gzip(const uint8_t *d, size_t n, char **out, size_t *outn)
{
    size_t cap = 1 << 16, len = 0;
    char *o = malloc(cap);
    int rc = 1;
    z_stream g;
    memset(&g, 0, sizeof g);
    inflateInit2(&g, 15 + 16);
    g.next_in = (unsigned char *)d;
    g.avail_in = (uInt)n;
    for (;;) {
        g.next_out = (unsigned char *)o + len;
        g.avail_out = (uInt)(cap - len);
        int r = inflate(&g, Z_NO_FLUSH);
        len = cap - g.avail_out;
        if (r == Z_STREAM_END) {
            if (g.avail_in == 0)
                break;
            if (g.avail_in < 2 || g.next_in[0] != 0x1f || g.next_in[1] != 0x8b) {
                rc = 0;   /* trailing garbage */
                break;
            }
            inflateReset(&g);
        } else if (r != Z_OK && !(r == Z_BUF_ERROR && g.avail_out == 0)) {
            rc = 0;       /* corrupt, or truncated (no progress without input) */
            break;
        }
        if (len == cap) {
            if ((cap *= 2) > REF_MAX) {
                rc = -1;
                break;
            }
            o = realloc(o, cap);
        }
    }
    inflateEnd(&g);
    *out = o;
    *outn = len;
    return rc;
}

/* The decoded bytes and the verdict: 1 clean, 0 bad, 2 either (see below),
 * -1 skip. libzstd decodes a frame whose content fits the output window in
 * one pass, and that path rejects some frames (a zero-size compressed block)
 * that the streaming path accepts; how much room mk_source offers varies, so
 * when the two disagree either verdict is right. The streaming output is the
 * reference bytes: it is what a streaming reader can hand out. */
static int ref_decode(mk_codec codec, const uint8_t *d, size_t n, char **out, size_t *outn)
{
    if (codec == MK_CODEC_GZIP)
        return ref_gzip(d, n, out, outn);
    char *o1;
    size_t n1;
    int r1 = ref_zstd(d, n, 0, &o1, &n1);
    free(o1);
    if (r1 < 0)
        return -1;
    int r2 = ref_zstd(d, n, 64, out, outn);
    return r2 < 0 ? -1 : r1 == r2 ? r1 : 2;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mk_source *src = mk_source_open_mem("fuzz", data, size);
    FUZZ_CHECK(src, "open_mem failed: %s", mk_err_msg());
    mk_codec codec = mk_source_codec(src);
    /* The decoded bytes in[0..len) and whether decoding them is an error. */
    const char *in = (const char *)data;
    size_t len = size;
    char *dec = NULL;
    int bad = 0, either = 0;   /* either: a bad stream that may also pass */
    if (codec != MK_CODEC_PLAIN) {
        size_t n;
        int r = ref_decode(codec, data, size, &dec, &n);
        if (r < 0) {
            free(dec);
            mk_source_close(src);
            return 0;
        }
        bad = r != 1;
        either = r == 2;
        in = dec;
        len = n;
    }

    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.block_size = BLOCK;
    o.max_record = MAX_RECORD;
    /* A read-ahead thread on some inputs (first and last byte decide, so that
     * compressed inputs, whose first byte is fixed, get both). */
    o.threaded = size > 0 && (data[0] + data[size - 1]) % 4 == 1;
    mk_lines *l = mk_lines_from(src, &o);
    FUZZ_CHECK(l, "mk_lines_from failed: %s", mk_err_msg());

    /* Besides a bad stream, a NUL or an over-long line is an error. */
    const char *end = in + len;
    int bad_text = len && memchr(in, 0, len) != NULL;
    for (const char *p = in; p < end && !bad_text;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        bad_text = (size_t)(e - p) > MAX_RECORD;
        p = e + 1;
    }
    if (bad_text) {
        bad = 1;
        either = 0;
    }

    mk_line ln;
    uint64_t want_no = 1;
    const char *p = in;   /* start of the next expected line */
    int r;
    while ((r = mk_lines_next(l, &ln)) == 1) {
        FUZZ_CHECK(ln.no == want_no, "line %llu, expected %llu", (unsigned long long)ln.no,
                   (unsigned long long)want_no);
        want_no++;
        FUZZ_CHECK(ln.len <= MAX_RECORD, "line %llu has %zu bytes", (unsigned long long)ln.no, ln.len);
        FUZZ_CHECK(ln.len == 0 || memchr(ln.ptr, '\n', ln.len) == NULL, "LF inside line %llu",
                   (unsigned long long)ln.no);
        FUZZ_CHECK(p < end, "line %llu after the end of the decoded input", (unsigned long long)ln.no);
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        if (e > p && e[-1] == '\r')
            e--;
        FUZZ_CHECK((size_t)(e - p) == ln.len && memcmp(p, ln.ptr, ln.len) == 0,
                   "line %llu differs from the input", (unsigned long long)ln.no);
        p = nl ? nl + 1 : end;
    }
    FUZZ_CHECK(r == 0 || r == -1, "mk_lines_next returned %d", r);
    if (r < 0)
        FUZZ_CHECK(strncmp(mk_err_msg(), "fuzz", 4) == 0, "error without the name: %s", mk_err_msg());
    FUZZ_CHECK(either || r == (bad ? -1 : 0), "verdict %d for %s %s input: %s", r,
               bad ? "bad" : "good", mk_codec_name(codec), r ? mk_err_msg() : "");
    if (r == 0) {
        uint64_t want = mk_count_byte(in, len, '\n') + (len && in[len - 1] != '\n');
        FUZZ_CHECK(want_no - 1 == want, "%llu lines, expected %llu",
                   (unsigned long long)(want_no - 1), (unsigned long long)want);
    }
    /* After the end, the reader stays ended. */
    if (r == 0)
        FUZZ_CHECK(mk_lines_next(l, &ln) == 0, "a line after the end");
    mk_lines_close(l);
    free(dec);
    return 0;
}
