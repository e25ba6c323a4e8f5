/* err — thread-local error messages and the single exit door (see err.h). */
#include "err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

const char *mk_progname = "memkit";

static _Thread_local char errbuf[1024];

int mk_err_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errbuf, sizeof errbuf, fmt, ap);
    va_end(ap);
    return -1;
}

int mk_err_errno(const char *fmt, ...)
{
    int e = errno;
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(errbuf, sizeof errbuf, "%s: %s", msg, strerror(e));
    return -1;
}

int mk_err_prefix(const char *fmt, ...)
{
    char pre[512], old[sizeof errbuf];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pre, sizeof pre, fmt, ap);
    va_end(ap);
    size_t np = strlen(pre);
    memcpy(old, errbuf, sizeof old);
    if (np >= sizeof errbuf)
        np = sizeof errbuf - 1;
    memcpy(errbuf, pre, np);
    size_t rest = strnlen(old, sizeof old - 1);
    if (rest > sizeof errbuf - 1 - np)
        rest = sizeof errbuf - 1 - np;
    memcpy(errbuf + np, old, rest);
    errbuf[np + rest] = 0;
    return -1;
}

const char *mk_err_msg(void)
{
    return errbuf[0] ? errbuf : "unknown error";
}

void mk_err_print(const char *msg)
{
    /* Built whole and written at once: stderr is unbuffered, and lines
     * from threads that warn together must not interleave. */
    char line[4096 * 4 + 256];
    size_t n = (size_t)snprintf(line, 256, "%s: ", mk_progname);
    if (n >= 256)
        n = 255;
    for (const unsigned char *c = (const unsigned char *)msg; *c && n < sizeof line - 6; c++) {
        if (*c >= 0x20 && *c != 0x7f)
            line[n++] = (char)*c;
        else if (*c == '\n' || *c == '\r' || *c == '\t')
            line[n++] = '\\', line[n++] = *c == '\n' ? 'n' : *c == '\r' ? 'r' : 't';
        else
            n += (size_t)snprintf(line + n, 5, "\\x%02x", *c);
    }
    line[n++] = '\n';
    fwrite(line, 1, n, stderr);
}

void mk_warn(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mk_err_print(msg);
}

void mk_die(const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mk_err_print(msg);
    exit(MK_EXIT_ERROR);
}

void mk_die_err(void)
{
    mk_die("%s", mk_err_msg());
}

static void *oom(void)
{
    /* No allocation and no stdio buffering here: we are out of memory. */
    static const char msg[] = ": out of memory\n";
    if (fputs(mk_progname, stderr) < 0 || fputs(msg, stderr) < 0)
        _Exit(MK_EXIT_ERROR);
    exit(MK_EXIT_ERROR);
}

/* Big arrays (hash tables, adjacency, block tables) are read at random,
 * and with 4 KiB pages nearly every access also misses the TLB. Asking for
 * transparent huge pages (where the system leaves it to madvise, as Debian
 * does) cut cyclefind's CPU time on a 1 M-node graph from 3.2 s to 1.7 s.
 * A hint only: failure changes nothing. */
enum { HUGE_MIN = 2 << 20, PAGE = 4096 };

static void *huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    /* The whole pages of the block, not just its 2 MiB-aligned middle: a
     * big block is its own mapping, and advising all of it keeps that one
     * mapping, which realloc can then grow with mremap instead of copying
     * (a mapping split in three cannot be remapped). */
    if (n >= HUGE_MIN) {
        uintptr_t a = (uintptr_t)p & ~(uintptr_t)(PAGE - 1);
        uintptr_t z = ((uintptr_t)p + n + PAGE - 1) & ~(uintptr_t)(PAGE - 1);
        madvise((void *)a, z - a, MADV_HUGEPAGE);
    }
#endif
    return p;
}

/* A block of HUGE_MIN or more starts on a huge-page boundary. malloc puts
 * a big block 16 bytes into a mapping of its own, so it straddles
 * boundaries and the partial huge page at each end falls back to 4 KiB
 * pages: half of a 4 MiB block, faulted in a page at a time. Aligned,
 * every whole 2 MiB of it is one fault: cyclefind's 2 M-node heap graph
 * went from 14,000 page faults to 10,800 and from 0.83 s to 0.61 s, for
 * about 4 % more peak RSS (the last huge page is whole). */
static void *big(size_t n)
{
    void *p;
    return posix_memalign(&p, HUGE_MIN, n) == 0 ? huge(p, n) : oom();
}

void *mk_xmalloc(size_t n)
{
    if (n >= HUGE_MIN)
        return big(n);
    void *p = malloc(n ? n : 1);
    return p ? huge(p, n) : oom();
}

void *mk_xmalloc_flat(size_t n)
{
    void *p = malloc(n ? n : 1);
    return p ? p : oom();
}

void *mk_xcalloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return oom();
    if (n * size >= HUGE_MIN)   /* the clearing costs far less than the faults it spares */
        return memset(big(n * size), 0, n * size);
    void *p = calloc(n ? n : 1, size ? size : 1);
    return p ? huge(p, n * size) : oom();
}

void *mk_xcalloc_aligned(size_t align, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return oom();
    size_t bytes = n * size;
    if (bytes == 0)
        bytes = 1;
    void *p;
    if (posix_memalign(&p, align, bytes) != 0)
        return oom();
    memset(p, 0, bytes);
    return p;
}

/* A block that grows to HUGE_MIN or more moves to a new aligned block.
 * realloc would grow it with mremap, which keeps the pages already there
 * (those copied in while it was small are 4 KiB pages) and moves it to an
 * address that is not 2 MiB-aligned, which splits its huge pages: at the
 * end of a refwatch run only 44 % of its doubled arrays were huge pages.
 * The copy costs far less than the TLB misses it spares. */
void *mk_xrealloc(void *p, size_t n)
{
    if (n >= HUGE_MIN) {
        size_t old = p ? malloc_usable_size(p) : 0;
        /* Shrinking (arrays trimmed to their final size) stays in place:
         * realloc gives the tail back and keeps the start, so the alignment
         * and the huge pages stay. */
        if (old >= n) {
            void *q = realloc(p, n);
            return q ? q : oom();
        }
        void *q = big(n);
        if (p)
            memcpy(q, p, old < n ? old : n);
        free(p);
        return q;
    }
    void *q = realloc(p, n ? n : 1);
    return q ? huge(q, n) : oom();
}

static size_t map_bytes(size_t n)
{
    return (n + MK_XGROW_MAPPED - 1) & ~(MK_XGROW_MAPPED - 1);
}

static void *map_new(size_t bytes)
{
    void *p = mmap(NULL, map_bytes(bytes), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return oom();
#ifdef MADV_HUGEPAGE
    madvise(p, map_bytes(bytes), MADV_HUGEPAGE);   /* a hint: failure changes nothing */
#endif
    return p;
}

void *mk_xgrow(void *p, size_t old_bytes, size_t new_bytes)
{
    if (new_bytes < MK_XGROW_MAPPED) {
        if (old_bytes < MK_XGROW_MAPPED)
            return mk_xrealloc(p, new_bytes);
        void *q = mk_xmalloc(new_bytes);
        memcpy(q, p, new_bytes);
        munmap(p, map_bytes(old_bytes));
        return q;
    }
    if (old_bytes < MK_XGROW_MAPPED) {
        void *q = map_new(new_bytes);
        if (old_bytes)
            memcpy(q, p, old_bytes);
        free(p);
        return q;
    }
    if (map_bytes(new_bytes) == map_bytes(old_bytes))
        return p;
    void *q = mremap(p, map_bytes(old_bytes), map_bytes(new_bytes), MREMAP_MAYMOVE);
    if (q == MAP_FAILED)
        return oom();
#ifdef MADV_HUGEPAGE
    madvise(q, map_bytes(new_bytes), MADV_HUGEPAGE);
#endif
    return q;
}

void mk_xgrow_free(void *p, size_t bytes)
{
    if (bytes < MK_XGROW_MAPPED)
        free(p);
    else if (p)
        munmap(p, map_bytes(bytes));
}

static size_t page_bytes(size_t n)
{
    return n >= HUGE_MIN ? map_bytes(n) : (n + PAGE - 1) & ~(size_t)(PAGE - 1);
}

void *mk_xmap(size_t bytes)
{
    if (bytes >= HUGE_MIN)
        return map_new(bytes);
    void *p = mmap(NULL, page_bytes(bytes ? bytes : 1), PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    return p == MAP_FAILED ? oom() : p;
}

void mk_xunmap(void *p, size_t bytes)
{
    if (p)
        munmap(p, page_bytes(bytes ? bytes : 1));
}

char *mk_xstrdup(const char *s)
{
    return mk_xstrndup(s, strlen(s));
}

char *mk_xstrndup(const char *s, size_t n)
{
    char *p = mk_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}
