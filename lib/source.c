/* source — sniffed, decompressing byte source (see source.h). */
#include "source.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define ZLIB_CONST     /* next_in may point into a read-only mapping */
#include <zlib.h>
#include <zstd.h>

enum { IN_CAP = 128 * 1024 };

struct mk_source {
    char *name;
    int fd;                 /* -1 for memory sources */
    int own_fd;
    mk_codec codec;
    const unsigned char *mem; size_t mem_len, mem_pos;   /* memory source */
    const unsigned char *in;   /* stored bytes not yet decoded: in[in_pos..in_len) */
    size_t in_pos, in_len;
    unsigned char *buf;     /* in, unless the stored file is mapped */
    unsigned char *stored;  /* a compressed regular file, mapped whole */
    size_t stored_len, dropped;   /* its pages before dropped were let go */
    int in_eof;
    uint64_t in_total;      /* stored bytes pulled from fd/mem */
    uint64_t out_total;
    uint64_t size;
    ZSTD_DStream *zd;
    size_t zret;            /* last ZSTD_decompressStream hint; 0 = frame complete */
    z_stream gz;
    int gz_live, gz_member_done;
    int done;               /* clean end reached */
    void *map; size_t map_len;
};

/* Pull up to cap stored bytes from the fd or memory; 0 = end of input. */
static ssize_t pull(mk_source *s, unsigned char *dst, size_t cap)
{
    ssize_t n;
    if (s->fd < 0) {
        size_t left = s->mem_len - s->mem_pos;
        n = (ssize_t)(left < cap ? left : cap);
        if (n > 0) {            /* mem may be NULL for an empty source */
            memcpy(dst, s->mem + s->mem_pos, (size_t)n);
            s->mem_pos += (size_t)n;
        }
    } else {
        do
            n = read(s->fd, dst, cap);
        while (n < 0 && errno == EINTR);
        if (n < 0)
            return mk_err_errno("%s: read error", s->name);
    }
    s->in_total += (uint64_t)n;
    if (n == 0)
        s->in_eof = 1;
    return n;
}

/* Make sure undecoded input is buffered, unless the input has ended. */
static int refill(mk_source *s)
{
    if (s->in_pos < s->in_len || s->in_eof)
        return 0;
    s->in_pos = s->in_len = 0;
    ssize_t n = pull(s, s->buf, IN_CAP);
    if (n < 0)
        return -1;
    s->in_len = (size_t)n;
    return 0;
}

/* Read until at least 4 bytes are buffered (or EOF), without losing them. */
static int sniff(mk_source *s)
{
    if (refill(s) < 0)
        return -1;
    while (s->in_len < 4 && !s->in_eof) {
        ssize_t n = pull(s, s->buf + s->in_len, IN_CAP - s->in_len);
        if (n < 0)
            return -1;
        s->in_len += (size_t)n;
    }
    const unsigned char *b = s->in;
    uint32_t magic = s->in_len >= 4 ? (uint32_t)b[0] | (uint32_t)b[1] << 8 |
                                      (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0;
    if (s->in_len >= 4 && (magic == ZSTD_MAGICNUMBER ||
                           (magic & ZSTD_MAGIC_SKIPPABLE_MASK) == ZSTD_MAGIC_SKIPPABLE_START)) {
        s->codec = MK_CODEC_ZSTD;
        if (!(s->zd = ZSTD_createDStream()))
            return mk_err_set("%s: cannot create zstd decoder", s->name);
        ZSTD_initDStream(s->zd);
        s->zret = 1;
    } else if (s->in_len >= 2 && b[0] == 0x1f && b[1] == 0x8b) {
        s->codec = MK_CODEC_GZIP;
        memset(&s->gz, 0, sizeof s->gz);
        if (inflateInit2(&s->gz, 15 + 16) != Z_OK)
            return mk_err_set("%s: cannot create gzip decoder", s->name);
        s->gz_live = 1;
    } else {
        s->codec = MK_CODEC_PLAIN;
    }
    return 0;
}

static mk_source *source_new(const char *name)
{
    mk_source *s = mk_xcalloc(1, sizeof *s);
    s->name = mk_xstrdup(name);
    s->in = s->buf = mk_xmalloc(IN_CAP);
    s->fd = -1;
    return s;
}

/* A compressed regular file is decoded from a mapping of it rather than
 * read in pieces: the decoder's thread is what bounds `chunkproc f.zst`,
 * and the read copies were a sixth of its time (the 354 MB benchmark file,
 * task A: 0.21 s in the kernel's copy out of 1.8 CPU-s). Pages the decoder
 * has passed are let go every few MiB, so they do not add up in the
 * resident size. Reading stays the fallback: a file that cannot be mapped,
 * or a position that cannot be told (stdin redirected mid-file is fine, it
 * is mapped from where it stands). */
enum { DROP_EVERY = 2 << 20 };

/* A mapped file that shrinks under us (rewritten, truncated) raises
 * SIGBUS at the first page past its new end. That is reported as an input
 * error, one line and exit 2, like a short read would be, instead of the
 * shell's "Bus error". The name is the last file mapped: mappings are
 * read one after another. Async-signal-safe: write(2) and _exit only. */
static const char *volatile bus_name;

static void put(const char *p)
{
    ssize_t r = write(2, p, strlen(p));
    (void)r;
}

static void on_sigbus(int sig)
{
    (void)sig;
    put(mk_progname);
    put(": ");
    put(bus_name ? bus_name : "input");
    put(": file shrank while being read\n");
    _exit(MK_EXIT_ERROR);
}

static void guard_mapping(const mk_source *s)
{
    static int installed;
    bus_name = s->name;
    if (__atomic_exchange_n(&installed, 1, __ATOMIC_ACQ_REL))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigbus;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGBUS, &sa, NULL);
}

static void map_stored(mk_source *s, const struct stat *st)
{
    off_t now = lseek(s->fd, 0, SEEK_CUR);
    if (now < 0 || (uint64_t)now < s->in_len - s->in_pos || now > st->st_size)
        return;
    size_t len = (size_t)st->st_size, cur = (size_t)now - (s->in_len - s->in_pos);
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (p == MAP_FAILED)
        return;
    madvise(p, len, MADV_SEQUENTIAL);
    guard_mapping(s);
    s->stored = p;
    s->stored_len = len;
    s->dropped = cur;
    s->in_total += len - (size_t)now;    /* at() is unchanged: see there */
    s->in = s->stored + cur;
    s->in_pos = 0;
    s->in_len = len - cur;
    s->in_eof = 1;
}

/* Lets go of the whole pages of map[off..end): a page partly outside may
 * still be read. Returns where the next release may start. */
static size_t release_pages(const void *map, size_t off, size_t end)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t a = (off + pg - 1) / pg * pg, e = end / pg * pg;
    if (e > a)
        madvise((char *)map + a, e - a, MADV_DONTNEED);
    return e > a ? e : off;
}

/* Lets go of the mapped pages the decoder has passed. */
static void drop_behind(mk_source *s)
{
    if (!s->stored)
        return;
    size_t pos = (size_t)(s->in - s->stored) + s->in_pos;
    if (pos - s->dropped >= DROP_EVERY)
        s->dropped = release_pages(s->stored, s->dropped, pos);
}

mk_source *mk_source_open(const char *path)
{
    int stdin_ = !path || strcmp(path, "-") == 0;
    mk_source *s = source_new(stdin_ ? "<stdin>" : path);
    if (stdin_) {
        s->fd = 0;
    } else {
        s->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (s->fd < 0) {
            mk_err_errno("%s", path);
            mk_source_close(s);
            return NULL;
        }
        s->own_fd = 1;
    }
    struct stat st;
    if (fstat(s->fd, &st) < 0) {
        mk_err_errno("%s", s->name);
        mk_source_close(s);
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        mk_err_set("%s: is a directory", s->name);
        mk_source_close(s);
        return NULL;
    }
    if (S_ISREG(st.st_mode)) {
        s->size = (uint64_t)st.st_size;
        posix_fadvise(s->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    }
#ifdef F_SETPIPE_SZ
    /* A 64 KiB pipe makes `zstd -dc | tool` switch between the two
     * processes every 64 KiB; 1 MiB (the usual unprivileged limit) lets
     * each run longer. Only a hint: failure changes nothing. */
    if (S_ISFIFO(st.st_mode))
        (void)fcntl(s->fd, F_SETPIPE_SZ, 1 << 20);
#endif
    if (sniff(s) < 0) {
        mk_source_close(s);
        return NULL;
    }
    if (S_ISREG(st.st_mode) && s->codec != MK_CODEC_PLAIN)
        map_stored(s, &st);
    return s;
}

mk_source *mk_source_open_mem(const char *name, const void *data, size_t len)
{
    mk_source *s = source_new(name);
    s->mem = data;
    s->mem_len = len;
    s->size = len;
    if (sniff(s) < 0) {
        mk_source_close(s);
        return NULL;
    }
    return s;
}

/* Offset of the next undecoded stored byte: where an error was noticed. */
static uint64_t at(const mk_source *s)
{
    return s->in_total - (s->in_len - s->in_pos);
}

static ssize_t read_plain(mk_source *s, unsigned char *buf, size_t cap)
{
    if (s->in_pos < s->in_len) {
        size_t n = s->in_len - s->in_pos;
        if (n > cap)
            n = cap;
        memcpy(buf, s->in + s->in_pos, n);
        s->in_pos += n;
        return (ssize_t)n;
    }
    if (s->in_eof)
        return 0;
    return pull(s, buf, cap);
}

static ssize_t read_zstd(mk_source *s, unsigned char *buf, size_t cap)
{
    ZSTD_outBuffer out = { buf, cap, 0 };
    while (out.pos == 0) {
        if (refill(s) < 0)
            return -1;
        if (s->in_pos == s->in_len) {
            /* Input over: clean only if the last frame was completed. */
            if (s->zret != 0)
                return mk_err_set("%s: truncated zstd stream at byte %llu",
                                  s->name, (unsigned long long)at(s));
            return 0;
        }
        ZSTD_inBuffer in = { s->in, s->in_len, s->in_pos };
        size_t r = ZSTD_decompressStream(s->zd, &out, &in);
        s->in_pos = in.pos;
        drop_behind(s);
        if (ZSTD_isError(r))
            return mk_err_set("%s: corrupt zstd stream at byte %llu: %s", s->name,
                              (unsigned long long)at(s), ZSTD_getErrorName(r));
        s->zret = r;
    }
    return (ssize_t)out.pos;
}

static ssize_t read_gzip(mk_source *s, unsigned char *buf, size_t cap)
{
    size_t got = 0;
    while (got == 0) {
        if (refill(s) < 0)
            return -1;
        if (s->gz_member_done) {
            /* Between members: either the input ends, or another member starts. */
            if (s->in_pos == s->in_len)
                return 0;
            if (s->in_len - s->in_pos < 2 && !s->in_eof) {
                /* The magic straddles a buffer edge: keep one byte, read more. */
                s->buf[0] = s->in[s->in_pos];
                s->in_pos = 0;
                s->in_len = 1;
                ssize_t n = pull(s, s->buf + 1, IN_CAP - 1);
                if (n < 0)
                    return -1;
                s->in_len += (size_t)n;
            }
            if (s->in_len - s->in_pos < 2 || s->in[s->in_pos] != 0x1f || s->in[s->in_pos + 1] != 0x8b)
                return mk_err_set("%s: trailing garbage after gzip stream at byte %llu",
                                  s->name, (unsigned long long)at(s));
            if (inflateReset(&s->gz) != Z_OK)
                return mk_err_set("%s: gzip decoder reset failed", s->name);
            s->gz_member_done = 0;
        }
        if (s->in_pos == s->in_len)
            return mk_err_set("%s: truncated gzip stream at byte %llu",
                              s->name, (unsigned long long)at(s));
        s->gz.next_in = s->in + s->in_pos;
        s->gz.avail_in = (uInt)(s->in_len - s->in_pos);
        s->gz.next_out = buf + got;
        s->gz.avail_out = (uInt)(cap - got > UINT32_MAX ? UINT32_MAX : cap - got);
        uInt before = s->gz.avail_out;
        int r = inflate(&s->gz, Z_NO_FLUSH);
        got += before - s->gz.avail_out;
        s->in_pos = s->in_len - s->gz.avail_in;
        drop_behind(s);
        if (r == Z_STREAM_END) {
            s->gz_member_done = 1;
        } else if (r == Z_BUF_ERROR) {
            /* No progress possible with this input: more is needed. */
            if (s->in_pos != s->in_len && s->gz.avail_out != 0)
                return mk_err_set("%s: corrupt gzip stream at byte %llu", s->name,
                                  (unsigned long long)at(s));
        } else if (r != Z_OK) {
            return mk_err_set("%s: corrupt gzip stream at byte %llu: %s", s->name,
                              (unsigned long long)at(s), s->gz.msg ? s->gz.msg : "data error");
        }
    }
    return (ssize_t)got;
}

ssize_t mk_source_read(mk_source *s, void *buf, size_t cap)
{
    if (s->done || cap == 0)
        return 0;
    ssize_t n;
    switch (s->codec) {
    case MK_CODEC_ZSTD: n = read_zstd(s, buf, cap); break;
    case MK_CODEC_GZIP: n = read_gzip(s, buf, cap); break;
    default:            n = read_plain(s, buf, cap); break;
    }
    if (n > 0)
        s->out_total += (uint64_t)n;
    else if (n == 0)
        s->done = 1;
    return n;
}

int mk_source_map(mk_source *s, const char **data, size_t *len)
{
    if (s->codec != MK_CODEC_PLAIN || s->fd < 0 || s->size == 0 || s->out_total != 0)
        return 0;
    struct stat st;
    if (fstat(s->fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return 0;
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, s->fd, 0);
    if (p == MAP_FAILED)
        return 0;   /* fall back to reading */
    madvise(p, (size_t)st.st_size, MADV_SEQUENTIAL);
    guard_mapping(s);
    s->map = p;
    s->map_len = (size_t)st.st_size;
    s->in_total = s->out_total = s->size = (uint64_t)st.st_size;
    s->in_pos = s->in_len = 0;
    s->done = 1;
    *data = p;
    *len = s->map_len;
    return 1;
}

void mk_source_unmap_hint(mk_source *s, size_t off, size_t len)
{
    if (!s->map || off >= s->map_len)
        return;
    release_pages(s->map, off, len > s->map_len - off ? s->map_len : off + len);
}

int mk_source_close(mk_source *s)
{
    if (!s)
        return 0;
    int rc = 0;
    if (s->map)
        munmap(s->map, s->map_len);
    if (s->zd)
        ZSTD_freeDStream(s->zd);
    if (s->gz_live)
        inflateEnd(&s->gz);
    if (s->own_fd && close(s->fd) < 0)
        rc = mk_err_errno("%s: close", s->name);
    if (s->stored)
        munmap(s->stored, s->stored_len);
    if (bus_name == s->name)
        bus_name = NULL;
    free(s->buf);
    free(s->name);
    free(s);
    return rc;
}

const char *mk_source_name(const mk_source *s) { return s->name; }
mk_codec mk_source_codec(const mk_source *s) { return s->codec; }
uint64_t mk_source_in_pos(const mk_source *s) { return s->map ? s->map_len : at(s); }
uint64_t mk_source_out_pos(const mk_source *s) { return s->out_total; }
uint64_t mk_source_size(const mk_source *s) { return s->size; }

const char *mk_codec_name(mk_codec c)
{
    return c == MK_CODEC_ZSTD ? "zstd" : c == MK_CODEC_GZIP ? "gzip" : "plain";
}
