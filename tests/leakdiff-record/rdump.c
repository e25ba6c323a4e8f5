/* rec-dump — a small reference reader of the recorder's pipe protocol
 * (cmd/leakdiff/recproto.h), for the tests of the preload library.
 *
 *   rec-dump [-p PRELOAD] [-o FILE] [-q] [-n] [-F] [-t] -- CMD [ARGS...]
 *
 * Creates a pipe, runs CMD with MEMKIT_RECORD_FD and LD_PRELOAD=PRELOAD
 * (default: ../lib/memkit/libmemkit-record.so next to this executable's
 * directory), reads every chunk, puts each process image's records back in
 * sequence order and prints one line per record:
 *
 *   PID SEQ KIND A B C NFRAMES [LABEL]      (A and C in hex, B decimal)
 *
 * with the frames appended (innermost first, joined by '<') under -F. Then
 * per image, in the order images started:
 *
 *   snapshot pid=P image=I label=L live_bytes=N live_blocks=N   (at each snapshot)
 *   summary pid=P image=I live_bytes=N live_blocks=N peak_bytes=N allocs=N
 *           frees=N reallocs=N snapshots=N inherited=N bad=N gaps=N end=E
 *
 * (one line). inherited: blocks taken over from the parent at a followed
 * fork; bad: records that contradict the heap in sequence order (a free or
 * realloc of an address not live, an allocation of a live address) — each
 * is also reported on stderr; gaps: missing sequence numbers; end: exit,
 * _exit, exec (the pid said HELLO again), crash:SIG, or none.
 *
 * -q prints only the snapshot and summary lines; -n only reads and counts
 * chunks (for measuring the transport); -t prints the CPU time of the
 * reader and of the command (its whole tree) on stderr; -o writes the report to FILE
 * instead of stdout, so that CMD's stdout stays its own. CMD's stdin,
 * stdout and stderr are rec-dump's. Exit status: CMD's, or 128 + signal. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../cmd/leakdiff/recproto.h"

static void die(const char *what)
{
    fprintf(stderr, "rec-dump: %s: %s\n", what, strerror(errno));
    exit(125);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("malloc");
    return p;
}

/* ---- address -> size ----------------------------------------------------- */

typedef struct {
    uint64_t *key, *val;
    size_t cap, len;
} amap;

static uint64_t mix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return k;
}

static void am_init(amap *m, size_t cap)
{
    m->cap = cap;
    m->len = 0;
    m->key = calloc(cap, 8);
    m->val = calloc(cap, 8);
    if (!m->key || !m->val)
        die("calloc");
}

static size_t am_find(const amap *m, uint64_t k)
{
    size_t i = mix(k) & (m->cap - 1);
    while (m->key[i] && m->key[i] != k)
        i = (i + 1) & (m->cap - 1);
    return i;
}

static void am_put(amap *m, uint64_t k, uint64_t v);

static void am_grow(amap *m)
{
    amap n;
    am_init(&n, m->cap * 2);
    for (size_t i = 0; i < m->cap; i++)
        if (m->key[i])
            am_put(&n, m->key[i], m->val[i]);
    free(m->key);
    free(m->val);
    *m = n;
}

static void am_put(amap *m, uint64_t k, uint64_t v)
{
    if ((m->len + 1) * 2 > m->cap)
        am_grow(m);
    size_t i = am_find(m, k);
    if (!m->key[i])
        m->len++;
    m->key[i] = k;
    m->val[i] = v;
}

/* Removes k; returns 1 and its value in *v if it was there. */
static int am_del(amap *m, uint64_t k, uint64_t *v)
{
    size_t i = am_find(m, k);
    if (!m->key[i])
        return 0;
    *v = m->val[i];
    m->key[i] = 0;
    m->len--;
    /* backward shift */
    for (size_t j = (i + 1) & (m->cap - 1); m->key[j]; j = (j + 1) & (m->cap - 1)) {
        size_t h = mix(m->key[j]) & (m->cap - 1);
        if ((j > i && (h <= i || h > j)) || (j < i && (h <= i && h > j))) {
            m->key[i] = m->key[j];
            m->val[i] = m->val[j];
            m->key[j] = 0;
            i = j;
        }
    }
    return 1;
}

/* ---- images -------------------------------------------------------------- */

typedef struct {
    uint64_t seq;
    mkr_rec *r; /* a copy */
} pend;

typedef struct image {
    uint32_t pid;
    int index;          /* 1, 2, ... in order of HELLO */
    uint64_t next;      /* next sequence number to apply */
    pend *heap;         /* records waiting for an earlier one (min-heap on seq) */
    size_t nheap, capheap;
    int blocked;        /* a followed fork child waiting for its parent's MKR_FORK */
    amap live;
    uint64_t live_bytes, peak_bytes;
    uint64_t allocs, frees, reallocs, snapshots, inherited, bad, gaps;
    char end[32];
} image;

static image **imgs;
static size_t nimgs;
static FILE *out;
static int quiet, frames_out;

/* Seeds for followed children whose HELLO has not arrived yet. */
typedef struct {
    uint32_t pid;
    amap live;
} seed;
static seed *seeds;
static size_t nseeds;

static image *img_cur(uint32_t pid)
{
    for (size_t i = nimgs; i-- > 0;)
        if (imgs[i]->pid == pid)
            return imgs[i];
    return NULL;
}

static image *img_new(uint32_t pid)
{
    image *prev = img_cur(pid), *im = calloc(1, sizeof *im);
    if (!im)
        die("calloc");
    if (prev && !strcmp(prev->end, "none"))
        strcpy(prev->end, "exec");
    im->pid = pid;
    im->index = prev ? prev->index + 1 : 1;
    im->next = 1;
    am_init(&im->live, 1024);
    strcpy(im->end, "none");
    imgs = realloc(imgs, (nimgs + 1) * sizeof *imgs);
    if (!imgs)
        die("realloc");
    imgs[nimgs++] = im;
    return im;
}

static void seed_image(image *im, const amap *from)
{
    for (size_t i = 0; i < from->cap; i++)
        if (from->key[i]) {
            am_put(&im->live, from->key[i], from->val[i]);
            im->live_bytes += from->val[i];
            im->inherited++;
        }
    if (im->live_bytes > im->peak_bytes)
        im->peak_bytes = im->live_bytes;
}

static const char *kind_name(int k)
{
    static const char *n[] = {"?", "hello", "alloc", "free", "realloc", "snapshot", "fork", "exit", "module", "crash"};
    return k >= 1 && k <= 9 ? n[k] : "?";
}

static void bad(image *im, const mkr_rec *r, const char *why)
{
    im->bad++;
    fprintf(stderr, "rec-dump: pid %u image %d seq %" PRIu64 ": %s %#" PRIx64 "\n", im->pid, im->index, r->seq,
            why, r->a);
}

static void drain(image *im);

static void apply(image *im, const mkr_rec *r)
{
    uint64_t v;
    const uint64_t *fr = (const uint64_t *)(r + 1);
    const char *label = (const char *)(fr + r->nframes);
    if (!quiet) {
        fprintf(out, "%u %" PRIu64 " %s %#" PRIx64 " %" PRIu64 " %#" PRIx64 " %u", im->pid, r->seq, kind_name(r->kind),
                r->a, r->b, r->c, r->nframes);
        if (r->aux && (r->kind == MKR_SNAPSHOT || r->kind == MKR_MODULE))
            fprintf(out, " %.*s", (int)r->aux, label);
        if (frames_out)
            for (int i = 0; i < r->nframes; i++)
                fprintf(out, "%s%#" PRIx64, i ? "<" : " ", fr[i]);
        fputc('\n', out);
    }
    switch (r->kind) {
    case MKR_ALLOC:
        im->allocs++;
        if (am_del(&im->live, r->a, &v)) {
            bad(im, r, "allocation of a live address");
            im->live_bytes -= v;
        }
        am_put(&im->live, r->a, r->b);
        im->live_bytes += r->b;
        break;
    case MKR_FREE:
        im->frees++;
        if (am_del(&im->live, r->a, &v))
            im->live_bytes -= v;
        else
            bad(im, r, "free of an address not live");
        break;
    case MKR_REALLOC:
        im->reallocs++;
        if (am_del(&im->live, r->a, &v))
            im->live_bytes -= v;
        else
            bad(im, r, "realloc of an address not live");
        if (am_del(&im->live, r->c, &v)) {
            bad(im, r, "realloc to a live address");
            im->live_bytes -= v;
        }
        am_put(&im->live, r->c, r->b);
        im->live_bytes += r->b;
        break;
    case MKR_SNAPSHOT:
        im->snapshots++;
        fprintf(out, "snapshot pid=%u image=%d label=%.*s live_bytes=%" PRIu64 " live_blocks=%zu\n", im->pid,
                im->index, (int)r->aux, label, im->live_bytes, im->live.len);
        break;
    case MKR_FORK: {
        uint32_t child = (uint32_t)r->a;
        image *c = img_cur(child);
        if (c && c->blocked) {
            seed_image(c, &im->live);
            c->blocked = 0;
            drain(c);
        } else {
            seeds = realloc(seeds, (nseeds + 1) * sizeof *seeds);
            if (!seeds)
                die("realloc");
            seeds[nseeds].pid = child;
            am_init(&seeds[nseeds].live, im->live.cap);
            for (size_t i = 0; i < im->live.cap; i++)
                if (im->live.key[i])
                    am_put(&seeds[nseeds].live, im->live.key[i], im->live.val[i]);
            nseeds++;
        }
        break;
    }
    case MKR_EXIT:
        strcpy(im->end, r->b & 1 ? "_exit" : "exit");
        break;
    case MKR_CRASH:
        snprintf(im->end, sizeof im->end, "crash:%" PRIu64, r->a);
        break;
    }
    if (im->live_bytes > im->peak_bytes)
        im->peak_bytes = im->live_bytes;
}

static void heap_push(image *im, const mkr_rec *r)
{
    if (im->nheap == im->capheap) {
        im->capheap = im->capheap ? im->capheap * 2 : 256;
        im->heap = realloc(im->heap, im->capheap * sizeof *im->heap);
        if (!im->heap)
            die("realloc");
    }
    uint32_t sz = mkr_rec_size(r);
    mkr_rec *c = xmalloc(sz);
    memcpy(c, r, sz);
    size_t i = im->nheap++;
    while (i && im->heap[(i - 1) / 2].seq > r->seq) {
        im->heap[i] = im->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    im->heap[i] = (pend){r->seq, c};
}

static mkr_rec *heap_pop(image *im)
{
    mkr_rec *top = im->heap[0].r;
    pend last = im->heap[--im->nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= im->nheap)
            break;
        if (c + 1 < im->nheap && im->heap[c + 1].seq < im->heap[c].seq)
            c++;
        if (im->heap[c].seq >= last.seq)
            break;
        im->heap[i] = im->heap[c];
        i = c;
    }
    if (im->nheap)
        im->heap[i] = last;
    return top;
}

/* Apply what is now in order (at_end: everything, noting gaps). */
static void drain_to(image *im, int at_end)
{
    if (im->blocked && !at_end)
        return;
    while (im->nheap && (im->heap[0].seq == im->next || at_end)) {
        mkr_rec *r = heap_pop(im);
        if (r->seq > im->next)
            im->gaps += r->seq - im->next;
        im->next = r->seq + 1;
        apply(im, r);
        free(r);
    }
}

static void drain(image *im)
{
    drain_to(im, 0);
}

static void take(image *im, const mkr_rec *r)
{
    if (r->seq == im->next && !im->blocked && !im->nheap) {
        im->next++;
        apply(im, r);
    } else {
        heap_push(im, r);
        drain(im);
    }
}

static void chunk(const unsigned char *c, uint32_t len)
{
    const mkr_chunk *h = (const mkr_chunk *)c;
    uint32_t off = sizeof *h;
    image *im = NULL;
    mkr_delta d = { 0, 0, 0, 0 };
    struct {
        mkr_rec r;
        uint64_t frames[MKR_MAX_FRAMES];
    } u;
    while (off < len) {
        const mkr_rec *r;
        uint32_t sz;
        if (c[off] & MKR_PACKED) {
            const unsigned char *p = c + off;
            if (!mkr_unpack(&p, c + len, &d, &u.r, u.frames)) {
                fprintf(stderr, "rec-dump: pid %u: bad packed record\n", h->pid);
                break;
            }
            r = &u.r;
            sz = (uint32_t)(p - (c + off));
        } else if (c[off] == 0) {
            off++;
            continue;
        } else {
            r = (const mkr_rec *)(c + off);
            sz = mkr_rec_size(r);
            if (off % 8 || off + sizeof(mkr_rec) > len || off + sz > len) {
                fprintf(stderr, "rec-dump: pid %u: record overruns its chunk\n", h->pid);
                break;
            }
        }
        if (r->kind == MKR_HELLO) {
            im = img_new(h->pid);
            if (r->c & 2) {
                im->blocked = 1;
                for (size_t i = 0; i < nseeds; i++)
                    if (seeds[i].pid == h->pid) {
                        seed_image(im, &seeds[i].live);
                        free(seeds[i].live.key);
                        free(seeds[i].live.val);
                        seeds[i] = seeds[--nseeds];
                        im->blocked = 0;
                        break;
                    }
            }
        } else if (!im) {
            im = img_cur(h->pid);
            if (!im)
                im = img_new(h->pid);
        }
        take(im, r);
        off += sz;
    }
}

static const char *default_preload(void)
{
    static char path[PATH_MAX + 64];
    ssize_t n = readlink("/proc/self/exe", path, PATH_MAX);
    if (n <= 0)
        return NULL;
    path[n] = 0;
    char *s = strrchr(path, '/');
    if (!s)
        return NULL;
    *s = 0;
    s = strrchr(path, '/');
    if (!s)
        return NULL;
    strcpy(s, "/lib/memkit/libmemkit-record.so");
    return path;
}

int main(int argc, char **argv)
{
    const char *preload = NULL, *outfile = NULL;
    int count_only = 0, times = 0, o;
    while ((o = getopt(argc, argv, "+p:o:qnFt")) != -1) {
        switch (o) {
        case 'p': preload = optarg; break;
        case 'o': outfile = optarg; break;
        case 'q': quiet = 1; break;
        case 'n': count_only = 1; break;
        case 'F': frames_out = 1; break;
        case 't': times = 1; break;
        default:
            fprintf(stderr, "usage: rec-dump [-p PRELOAD] [-o FILE] [-q] [-n] [-F] [-t] -- CMD [ARGS...]\n");
            return 125;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "usage: rec-dump [-p PRELOAD] [-o FILE] [-q] [-n] [-F] [-t] -- CMD [ARGS...]\n");
        return 125;
    }
    if (!preload && !(preload = default_preload()))
        die("cannot find the preload library");
    out = stdout;
    if (outfile && !(out = fopen(outfile, "w")))
        die(outfile);

    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        die("pipe");
    fcntl(p[0], F_SETPIPE_SZ, 1 << 20);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        char fd[16];
        int w = dup(p[1]); /* without close-on-exec */
        snprintf(fd, sizeof fd, "%d", w);
        setenv(MKR_ENV_FD, fd, 1);
        setenv("LD_PRELOAD", preload, 1);
        execvp(argv[optind], argv + optind);
        fprintf(stderr, "rec-dump: %s: %s\n", argv[optind], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    close(p[1]);

    size_t cap = 1 << 20, have = 0;
    unsigned char *buf = xmalloc(cap);
    uint64_t chunks = 0, bytes = 0;
    int status = 0, exited = 0;
    for (;;) {
        struct pollfd pf = {p[0], POLLIN, 0};
        int pr = poll(&pf, 1, exited ? 500 : 100);
        if (pr < 0 && errno != EINTR)
            die("poll");
        if (pr <= 0) {
            if (exited)
                break; /* the command is gone and nothing came for 500 ms */
            if (waitpid(pid, &status, WNOHANG) == pid)
                exited = 1;
            continue;
        }
        /* 64 KiB at a time: the pipe's lock is held while a read copies,
         * and a writer that finds it taken spins in the kernel */
        ssize_t n = read(p[0], buf + have, cap - have < (64 << 10) ? cap - have : (64 << 10));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("read");
        if (n == 0)
            break;
        bytes += (uint64_t)n;
        have += (size_t)n;
        if (!exited && n < (32 << 10)) {
            /* let the pipe fill: one wake-up per many chunks, for both sides */
            struct timespec ts = {0, 1000000};
            nanosleep(&ts, NULL);
        }
        size_t off = 0;
        while (have - off >= sizeof(mkr_chunk)) {
            const mkr_chunk *h = (const mkr_chunk *)(buf + off);
            if (h->len < sizeof *h || h->len > MKR_CHUNK || h->len % 8) {
                fprintf(stderr, "rec-dump: bad chunk length %u\n", h->len);
                return 125;
            }
            if (have - off < h->len)
                break;
            chunks++;
            if (!count_only)
                chunk(buf + off, h->len);
            off += h->len;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    if (!exited && waitpid(pid, &status, 0) != pid)
        die("waitpid");

    if (count_only)
        fprintf(out, "chunks=%" PRIu64 " bytes=%" PRIu64 "\n", chunks, bytes);
    for (size_t i = 0; i < nimgs; i++) {
        image *im = imgs[i];
        drain_to(im, 1);
        fprintf(out,
                "summary pid=%u image=%d live_bytes=%" PRIu64 " live_blocks=%zu peak_bytes=%" PRIu64
                " allocs=%" PRIu64 " frees=%" PRIu64 " reallocs=%" PRIu64 " snapshots=%" PRIu64
                " inherited=%" PRIu64 " bad=%" PRIu64 " gaps=%" PRIu64 " end=%s\n",
                im->pid, im->index, im->live_bytes, im->live.len, im->peak_bytes, im->allocs, im->frees,
                im->reallocs, im->snapshots, im->inherited, im->bad, im->gaps, im->end);
    }
    free(buf);
    for (size_t i = 0; i < nimgs; i++) {
        free(imgs[i]->live.key);
        free(imgs[i]->live.val);
        free(imgs[i]->heap);
        free(imgs[i]);
    }
    free(imgs);
    for (size_t i = 0; i < nseeds; i++) {
        free(seeds[i].live.key);
        free(seeds[i].live.val);
    }
    free(seeds);
    if (times) {
        struct rusage self, kids;
        getrusage(RUSAGE_SELF, &self);
        getrusage(RUSAGE_CHILDREN, &kids);
#define SEC(tv) ((double)(tv).tv_sec + (double)(tv).tv_usec / 1e6)
        fprintf(stderr, "rec-dump: cpu seconds: reader %.3f user %.3f sys, command %.3f user %.3f sys\n",
                SEC(self.ru_utime), SEC(self.ru_stime), SEC(kids.ru_utime), SEC(kids.ru_stime));
    }
    if (fflush(out) != 0 || (outfile && fclose(out) != 0))
        die("write");
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
