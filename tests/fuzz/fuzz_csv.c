/* fuzz_csv — mk_csv_record and the CSV block splitter.
 *
 * The input is parsed record by record as a reader does (after an error the
 * reader resumes after the next LF), with ',' and with ';'. Checked: progress,
 * fields inside the record, flags consistent with the bytes, LF count,
 * unquoted length <= len, and that the record re-encoded (fields quoted when
 * they hold the separator, a quote, CR or LF) parses back to the same values.
 * Then blocks with MK_SPLIT_CSV over the same input: they concatenate to the
 * input, end at LFs, keep quote parity even, carry exact line numbers, and,
 * when the whole input is valid CSV, are cut only at record starts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "err.h"
#include "fields.h"
#include "fuzz.h"
#include "source.h"

enum { MAXF = 64 };

static size_t count(const char *p, const char *e, char c)
{
    size_t n = 0;
    for (; p < e; p++)
        n += *p == c;
    return n;
}

static int needs_quotes(const char *v, size_t n, char sep)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] == sep || v[i] == '"' || v[i] == '\r' || v[i] == '\n')
            return 1;
    return 0;
}

/* Values of f[0..nf) unquoted into one buffer; off[i]..off[i+1] is value i. */
static char *values(const mk_field *f, size_t nf, size_t *off)
{
    size_t total = 0;
    for (size_t i = 0; i < nf; i++)
        total += f[i].len;
    char *buf = malloc(total + 1), *d = buf;
    off[0] = 0;
    for (size_t i = 0; i < nf; i++) {
        size_t n = mk_field_unquote(&f[i], d);
        FUZZ_CHECK(n <= f[i].len, "unquoted %zu > len %u", n, f[i].len);
        if (!(f[i].flags & MK_FIELD_ESCAPED))
            FUZZ_CHECK(n == f[i].len, "unescaped field changed length");
        d += n;
        off[i + 1] = (size_t)(d - buf);
    }
    return buf;
}

static void roundtrip(const mk_field *f, size_t nf, char sep)
{
    size_t off[MAXF + 1], off2[MAXF + 1];
    char *v = values(f, nf, off);
    char *enc = malloc(2 * off[nf] + 3 * nf + 1), *e = enc;
    for (size_t i = 0; i < nf; i++) {
        const char *s = v + off[i];
        size_t n = off[i + 1] - off[i];
        if (i)
            *e++ = sep;
        if (needs_quotes(s, n, sep)) {
            *e++ = '"';
            for (size_t k = 0; k < n; k++) {
                if (s[k] == '"')
                    *e++ = '"';
                *e++ = s[k];
            }
            *e++ = '"';
        } else {
            memcpy(e, s, n);
            e += n;
        }
    }
    *e++ = '\n';
    mk_field g[MAXF];
    mk_csv_result r;
    int rc = mk_csv_record(enc, e, sep, g, MAXF, &r);
    FUZZ_CHECK(rc == 0, "re-encoded record rejected: %s at %td", r.why, r.err_at - enc);
    FUZZ_CHECK(r.next == e, "re-encoded record ends early");
    FUZZ_CHECK(r.nf == nf, "re-encoded record has %zu fields, not %zu", r.nf, nf);
    char *w = values(g, nf, off2);
    for (size_t i = 0; i < nf; i++)
        FUZZ_CHECK(off[i + 1] - off[i] == off2[i + 1] - off2[i] &&
                   memcmp(v + off[i], w + off2[i], off[i + 1] - off[i]) == 0,
                   "field %zu differs after re-encoding", i);
    free(w);
    free(enc);
    free(v);
}

/* Parses the whole input; returns 1 when every record was valid, and marks
 * record starts in starts[] (input offsets). */
static int parse_all(const char *in, size_t size, char sep, unsigned char *starts)
{
    const char *p = in, *end = in + size;
    int valid = 1;
    while (p < end) {
        if (starts)
            starts[p - in] = 1;
        mk_field f[MAXF];
        mk_csv_result r;
        memset(&r, 0, sizeof r);
        int rc = mk_csv_record(p, end, sep, f, MAXF, &r);
        FUZZ_CHECK(rc == 0 || rc == -1, "mk_csv_record returned %d", rc);
        if (rc < 0) {
            valid = 0;
            FUZZ_CHECK(r.err_at >= p && r.err_at < end, "err_at outside the input");
            FUZZ_CHECK(r.why && *r.why, "no reason");
            const char *nl = memchr(r.err_at, '\n', (size_t)(end - r.err_at));
            p = nl ? nl + 1 : end;
            continue;
        }
        FUZZ_CHECK(r.next > p && r.next <= end, "no progress");
        FUZZ_CHECK(r.next == end || r.next[-1] == '\n', "record ends inside a line");
        FUZZ_CHECK(r.newlines == count(p, r.next, '\n'), "newlines %zu, counted %zu", r.newlines,
                   count(p, r.next, '\n'));
        FUZZ_CHECK(r.nf >= 1, "no fields");
        size_t nf = r.nf < MAXF ? r.nf : MAXF;
        for (size_t i = 0; i < nf; i++) {
            const mk_field *fi = &f[i];
            FUZZ_CHECK(fi->ptr >= p && fi->ptr + fi->len <= r.next, "field %zu outside the record", i);
            if (!(fi->flags & MK_FIELD_QUOTED)) {
                FUZZ_CHECK(fi->flags == 0, "flags %u", fi->flags);
                FUZZ_CHECK(!memchr(fi->ptr, sep, fi->len) && !memchr(fi->ptr, '\n', fi->len) &&
                           !memchr(fi->ptr, '"', fi->len), "special byte in unquoted field %zu", i);
            } else if (!(fi->flags & MK_FIELD_ESCAPED)) {
                FUZZ_CHECK(!memchr(fi->ptr, '"', fi->len), "quote in unescaped field %zu", i);
            }
        }
        if (r.nf <= MAXF)
            roundtrip(f, r.nf, sep);
        p = r.next;
    }
    return valid;
}

static void check_blocks(const uint8_t *data, size_t size, const unsigned char *starts, int valid)
{
    mk_source *src = mk_source_open_mem("fuzz", data, size);
    FUZZ_CHECK(src, "open_mem: %s", mk_err_msg());
    if (mk_source_codec(src) != MK_CODEC_PLAIN) {   /* compressed: not this target's job */
        mk_source_close(src);
        return;
    }
    mk_blocks_opts o;
    mk_blocks_defaults(&o);
    o.block_size = 4096;
    o.max_record = 8192;
    o.split = MK_SPLIT_CSV;
    o.threaded = 0;
    o.check_nul = 0;
    mk_blocks *b = mk_blocks_open(src, &o);
    FUZZ_CHECK(b, "blocks_open: %s", mk_err_msg());
    const char *in = (const char *)data;
    size_t pos = 0;
    uint64_t line = 1, seq = 0;
    mk_block *blk;
    int r;
    while ((r = mk_blocks_next(b, &blk)) == 1) {
        FUZZ_CHECK(blk->len > 0, "empty block");
        FUZZ_CHECK(blk->len <= size - pos && memcmp(blk->data, in + pos, blk->len) == 0,
                   "block %llu is not the input at %zu", (unsigned long long)blk->seq, pos);
        FUZZ_CHECK(blk->seq == seq, "seq %llu, expected %llu", (unsigned long long)blk->seq,
                   (unsigned long long)seq);
        FUZZ_CHECK(blk->first_line == line, "first_line %llu, expected %llu",
                   (unsigned long long)blk->first_line, (unsigned long long)line);
        FUZZ_CHECK(blk->lines == count(blk->data, blk->data + blk->len, '\n'), "lines miscounted");
        pos += blk->len;
        if (pos < size) {
            FUZZ_CHECK(blk->data[blk->len - 1] == '\n', "block %llu does not end at a LF",
                       (unsigned long long)seq);
            FUZZ_CHECK(count(in, in + pos, '"') % 2 == 0, "cut at odd quote parity at %zu", pos);
            if (valid)
                FUZZ_CHECK(starts[pos], "cut at %zu is not a record start", pos);
        }
        line += blk->lines;
        seq++;
        mk_blocks_release(b, blk);
    }
    FUZZ_CHECK(r == 0 || r == -1, "mk_blocks_next returned %d", r);
    if (r == 0)
        FUZZ_CHECK(pos == size, "blocks end at %zu of %zu", pos, size);
    else
        FUZZ_CHECK(strncmp(mk_err_msg(), "fuzz:", 5) == 0, "error without file: %s", mk_err_msg());
    mk_blocks_close(b);
    mk_source_close(src);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    unsigned char *starts = calloc(size + 1, 1);
    int valid = parse_all(in, size, ',', starts);
    parse_all(in, size, ';', NULL);
    check_blocks(data, size, starts, valid);
    free(starts);
    return 0;
}
