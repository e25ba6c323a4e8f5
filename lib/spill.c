/* spill — unlinked temporary files, written then read back by line (see spill.h). */
#include "spill.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Small: merges read many spill files at once, and the kernel reads ahead. */
enum { READ_BUF = 16 * 1024 };

struct mk_spill {
    int fd;
    char *name;                /* "DIR (temporary file)", for messages */
    mk_out *out;               /* while writing, else NULL */
    uint64_t written;          /* bytes of writers already closed */
    char *buf;                 /* reading: bytes [pos, len) not yet returned */
    size_t pos, len, cap;
    int eof;
};

const char *mk_spill_dir(const char *dir)
{
    if (dir && *dir)
        return dir;
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

static int open_unlinked(const char *dir)
{
    int fd;
#ifdef O_TMPFILE
    fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
        return -1;    /* a real failure (missing dir, no permission): report it */
#endif
    size_t n = strlen(dir);
    char *path = mk_xmalloc(n + 24);
    memcpy(path, dir, n);
    memcpy(path + n, "/memkit-spill.XXXXXX", 21);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    free(path);
    return fd;
}

mk_spill *mk_spill_new(const char *dir)
{
    dir = mk_spill_dir(dir);
    int fd = open_unlinked(dir);
    /* O_APPEND: writes go to the end even after reading moved the offset. */
    if (fd < 0 || fcntl(fd, F_SETFL, O_APPEND) < 0) {
        mk_err_errno("%s: cannot create a temporary file", dir);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    mk_spill *s = mk_xcalloc(1, sizeof *s);
    s->fd = fd;
    size_t n = strlen(dir);
    s->name = mk_xmalloc(n + 20);
    memcpy(s->name, dir, n);
    memcpy(s->name + n, " (temporary file)", 18);
    return s;
}

/* The writer exists only while writing: its 64 KiB buffer is given back
 * when reading starts (merges read hundreds of runs at once). */
mk_out *mk_spill_out(mk_spill *s)
{
    if (!s->out)
        s->out = mk_out_open_fd(s->fd, s->name);
    return s->out;
}

uint64_t mk_spill_bytes(const mk_spill *s) { return s->written + (s->out ? mk_out_bytes(s->out) : 0); }

/* Flush and drop the writer; -1 with mk_err on a write error. */
static int close_writer(mk_spill *s)
{
    if (!s->out)
        return 0;
    s->written += mk_out_bytes(s->out);
    int rc = mk_out_close(s->out);
    s->out = NULL;
    return rc;
}

int mk_spill_flush(mk_spill *s) { return close_writer(s); }

ssize_t mk_spill_pread(mk_spill *s, void *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(s->fd, (char *)buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return mk_err_errno("%s: read", s->name);
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

int mk_spill_rewind(mk_spill *s)
{
    if (close_writer(s) < 0)
        return -1;
    s->pos = s->len = 0;
    s->eof = 0;
    if (!s->buf) {
        s->cap = READ_BUF;
        s->buf = mk_xmalloc(s->cap + 1);
    }
    if (lseek(s->fd, 0, SEEK_SET) < 0)
        return mk_err_errno("%s: seek", s->name);
    return 0;
}

int mk_spill_reset(mk_spill *s)
{
    if (close_writer(s) < 0)
        return -1;
    if (ftruncate(s->fd, 0) < 0 || lseek(s->fd, 0, SEEK_SET) < 0)
        return mk_err_errno("%s: truncate", s->name);
    s->written = 0;
    s->pos = s->len = 0;
    return 0;
}

/* Move the unread tail to the front and read more after it. */
static int fill(mk_spill *s)
{
    if (s->pos) {
        memmove(s->buf, s->buf + s->pos, s->len - s->pos);
        s->len -= s->pos;
        s->pos = 0;
    }
    if (s->len == s->cap) {
        s->cap *= 2;
        s->buf = mk_xrealloc(s->buf, s->cap + 1);
    }
    for (;;) {
        ssize_t r = read(s->fd, s->buf + s->len, s->cap - s->len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return mk_err_errno("%s: read", s->name);
        if (r == 0)
            s->eof = 1;
        s->len += (size_t)r;
        return 0;
    }
}

int mk_spill_line(mk_spill *s, char **line, size_t *len)
{
    if (!s->buf)
        return mk_err_set("internal error: spill read before rewind");
    size_t scanned = s->pos;
    for (;;) {
        char *nl = memchr(s->buf + scanned, '\n', s->len - scanned);
        if (nl) {
            *line = s->buf + s->pos;
            *len = (size_t)(nl - *line);
            *nl = 0;
            s->pos = (size_t)(nl - s->buf) + 1;
            return 1;
        }
        if (s->eof) {
            if (s->pos == s->len)
                return 0;
            *line = s->buf + s->pos;     /* a last line without newline */
            *len = s->len - s->pos;
            s->buf[s->len] = 0;
            s->pos = s->len;
            return 1;
        }
        size_t done = s->len - s->pos;
        if (fill(s) < 0)
            return -1;
        scanned = s->pos + done;
    }
}

void mk_spill_free(mk_spill *s)
{
    if (!s)
        return;
    if (s->out)
        mk_out_close(s->out);
    close(s->fd);
    free(s->buf);
    free(s->name);
    free(s);
}
