/* libmemkit-record.so — the LD_PRELOAD half of `leakdiff record`: inside
 * the recorded program it interposes the allocator and sends every heap
 * event to the recorder over the pipe named by MEMKIT_RECORD_FD, in the
 * records of ../recproto.h (the contract; read it first).
 *
 * Without a valid MEMKIT_RECORD_FD (unset, not a number, not an open pipe
 * open for writing) it only forwards to the real allocator.
 *
 * Interposed: malloc free calloc realloc reallocarray posix_memalign
 * memalign aligned_alloc valloc pvalloc (the events); fork (to write
 * MKR_FORK with the child's pid), the exec family (to flush before the
 * image is replaced), _exit and _Exit (to flush before a process that
 * skips atexit dies). Exported: memkit_snapshot. Everything else is hidden.
 *
 * Events. An allocation is recorded after the real allocator returns, a
 * free before the real free runs (so sequence order is an order in which
 * the heap really changed); free(NULL) and failed allocations are not
 * events. Sizes are the sizes the program asked for (pvalloc(100) is 100,
 * calloc(4, 25) is 100). realloc(NULL, n) is an MKR_ALLOC. realloc(p, 0),
 * which glibc implements as free(p) returning NULL, is an MKR_FREE taken
 * before the call, exactly like free (should the next allocator return a
 * block instead, that block is an MKR_ALLOC of size 0). reallocarray never
 * reaches the real reallocarray: it checks the overflow itself and runs our
 * realloc, so it is recorded once whatever glibc does inside (measured on
 * glibc 2.36: its reallocarray calls realloc through the PLT, i.e. the
 * interposed one, so forwarding would have recorded it twice).
 *
 * The realloc window, closed. realloc can only be recorded after it
 * returns, but it frees the old block inside; another thread could be
 * handed that address and record its allocation first (an allocation of an
 * address that is still live in sequence order). A realloc therefore
 * publishes its old address in a small table of reallocs in flight (g_slot)
 * before the call and withdraws it after taking its sequence number; an
 * allocation that returns an address present in the table waits (spins)
 * until it is withdrawn. The allocator's own locking orders the realloc's
 * internal free before the other thread's allocation, so the publication
 * is always visible to it. The cost when no realloc is in flight is one
 * load of g_inflight per allocation. Measured with tests/leakdiff-record/
 * threads.c under GLIBC_TUNABLES=glibc.malloc.arena_max=1:
 * glibc.malloc.tcache_count=0 (freed blocks go straight back to the one
 * shared arena): 430 to 740 contradictions per run without the table, none
 * with it; with glibc's defaults (an arena and a tcache per thread) the
 * window is hard to hit at all. What remains approximate: a realloc
 * that shrinks in place may give its tail to another thread's allocation
 * before the realloc is recorded (different addresses, so never a
 * contradiction; the peak can be over by the tail size for that instant).
 *
 * Thread buffers and the flusher. Each thread appends records to its own
 * MKR_CHUNK buffer in initial-exec TLS (struct tstate) and writes it with
 * one write(2) when the next record does not fit, at thread exit (pthread
 * key destructor), at snapshots, before fork and exec, and at exit. A
 * flusher thread, started at the first event after the constructor (and
 * again in a followed child), wakes every MKR_IDLE_NS / 2 and writes any
 * buffer whose oldest record is older than MKR_IDLE_NS; it also writes the
 * signal and interval snapshots and new modules.
 *   Owner and flusher share the buffer through one lock word per buffer:
 * 0 free, 1 held by the owner, 2 held by someone else. The owner takes it
 * with one atomic exchange(1) and frees it with a plain release store —
 * that exchange is the only atomic read-modify-write on the fast path
 * besides the sequence counter's fetch_add, and it is uncontended except in
 * the instant the flusher works on that buffer (a realloc adds the
 * fetch_add and compare-and-swap of its in-flight slot). Everyone else
 * takes it with compare-and-swap(0 -> 2), the flusher only ever tries
 * (never waits for a busy owner). An owner whose exchange returned 2 has
 * left a 1 in the word; the holder's release store overwrites it, and the
 * owner waits for 0 before exchanging again. Lock order: the thread
 * registry lock (g_reg, a spinlock) before any buffer lock; an owner never
 * takes the registry while holding its buffer.
 *
 * Recursion. A thread-local guard is set while the library runs its own
 * code; allocations made meanwhile (pthread_create of the flusher, dlsym,
 * pthread_getattr_np) go straight to the real allocator, unrecorded. dlsym
 * itself calls calloc before the real one is known: those calls are served
 * from a static arena whose blocks are never passed to the real free.
 *
 * Frames (MEMKIT_RECORD_FRAMES, default 8): the return addresses of the
 * caller of malloc and its callers, by walking frame pointers from the
 * interposed function's own frame (this file is built with
 * -fno-omit-frame-pointer). The walk stays inside the thread's stack
 * ([lo, hi) from pthread_getattr_np, or up to __libc_stack_end on the main
 * thread), requires each next frame pointer to be 8-aligned and strictly
 * above the current one, and stops at a zero return address. Code built
 * without frame pointers gives short or skipping stacks, never a crash.
 *
 * Processes. MKR_HELLO (seq 1, alone in the first chunk of the image) at
 * the first event or the constructor, whichever comes first; after exec
 * the new image loads this library again and says MKR_HELLO again, same
 * pid, sequence numbers from 1. fork: the parent writes MKR_FORK (a = child
 * pid) after fork returns. In the child, with MEMKIT_RECORD_FOLLOW_FORK=1,
 * recording restarts (own HELLO, seq from 1, buffers of the parent's other
 * threads dropped); otherwise the child writes nothing more (it closes only
 * this library's private duplicate of the pipe) — but if it execs, the new
 * image records again, as a new image of the child's pid.
 *
 * Exit. An atexit handler registered by the constructor (before
 * __libc_start_main registers _dl_fini, so it runs after every destructor)
 * calls __libc_freeres() (and libstdc++'s __gnu_cxx::__freeres, which frees
 * its emergency exception pool) when no other thread is alive (the flusher
 * aside), then writes MKR_EXIT after flushing every buffer. _exit and _Exit
 * flush and write MKR_EXIT with flag bit 0 (no freeres). A program whose
 * main thread ends with pthread_exit would never end while the flusher
 * lives: the flusher notices when it is the last thread and calls exit(0),
 * as glibc does in the last thread.
 *   Crashes: SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT, if their action is
 * the default when the library starts, get a handler that writes this
 * thread's buffer and any other buffer it can lock without waiting, writes
 * MKR_CRASH, restores the default action and re-raises: the process dies of
 * the same signal. Other deaths (SIGKILL, SIGINT, SIGTERM, ...) lose what the
 * flusher had not written yet, at most the last MKR_IDLE_NS * 3 / 2 of
 * events (their handlers are left alone: CPython, for one, installs its
 * KeyboardInterrupt handler only over SIG_DFL).
 *
 * Measured here: 2 shared vCPUs (AMD EPYC, Firecracker VM, glibc 2.36),
 * where a bare syscall costs 1.4 us and a 4 KiB pipe write 2-2.5 us. The
 * ring benchmark, tests/leakdiff-record/bench.c: 10 M events (5 M
 * malloc/free pairs), "deep" = through 3 noinline calls; CPU = user + sys,
 * the program's and the reader's (rec-dump -t -n: the reader only reads the
 * chunks), median of 5 (native: 0.11-0.12 s):
 *
 *   make build/test/rec-bench build/test/rec-dump all
 *   /usr/bin/time -f '%U %S' build/test/rec-bench [deep]
 *   MEMKIT_RECORD_FRAMES=0|8 build/test/rec-dump -t -n -- build/test/rec-bench [deep]
 *
 *   ns of CPU added per event      program   reader    bytes/event
 *   ring, frames 0                      20        2            7.3
 *   ring, frames 8 (2 frames)           25        3
 *   deep, frames 0                      21        2
 *   deep, frames 8 (5 frames)           28        3
 *
 * Packed records (recproto.h) made that 20 ns from 52-67: a 4 KiB chunk
 * holds ~550 events instead of 85 fixed 48-byte records, so the write(2)
 * that was half the cost is now 4 ns an event. What is left is spread
 * thin: the sequence counter's fetch_add drains the store buffer (a plain
 * increment instead saved 1 ns), the buffer lock (asymmetric, below: 1.5
 * ns saved against an exchange), the coarse clock (3 ns; CLOCK_MONOTONIC
 * would add ~23 ns), the varints, the calls. The flusher makes the program
 * multi-threaded in glibc's eyes (malloc takes its arena locks): 0-3 ns an
 * event, noise here.
 *
 * Frames: frame pointers against libunwind 1.6.2's unw_backtrace, deep
 * ring, frames 8, user CPU of the program, best of 5: frames 0 0.41 s,
 * frame pointers 0.51 s (+20 ns an allocation, 5 frames: leaf middle outer
 * main __libc_start_call_main), unw_backtrace 0.93 s (+104 ns an
 * allocation, 7 frames: it continues through glibc's frames by DWARF).
 * Both are right on -fno-omit-frame-pointer code; frame pointers are 5
 * times cheaper and need no library, so they are what is here.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/membarrier.h>
#include <time.h>
#include <unistd.h>

#include "../recproto.h"

#define API __attribute__((visibility("default")))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define RELAXED memory_order_relaxed
#define IE __attribute__((tls_model("initial-exec")))

enum { HDR = sizeof(mkr_chunk), MAX_LABEL = MKR_CHUNK - sizeof(mkr_chunk) - sizeof(mkr_rec) };
enum { M_UNINIT, M_ON, M_OFF };

extern void *__libc_stack_end;
/* libstdc++'s __gnu_cxx::__freeres, bound at load time if the program has
 * libstdc++ (a weak reference: dlsym would allocate a dlerror message when
 * it is absent, a block that __libc_freeres then frees unrecorded). */
extern void _ZN9__gnu_cxx9__freeresEv(void) __attribute__((weak));

/* ---- the real functions -------------------------------------------------- */

static void *(*r_malloc)(size_t);
static void (*r_free)(void *);
static void *(*r_calloc)(size_t, size_t);
static void *(*r_realloc)(void *, size_t);
static int (*r_posix_memalign)(void **, size_t, size_t);
static void *(*r_memalign)(size_t, size_t);
static void *(*r_aligned_alloc)(size_t, size_t);
static void *(*r_valloc)(size_t);
static void *(*r_pvalloc)(size_t);
static pid_t (*r_fork)(void);
static void (*r__exit)(int);
static void (*r__Exit)(int);
static int (*r_execve)(const char *, char *const[], char *const[]);
static int (*r_execv)(const char *, char *const[]);
static int (*r_execvp)(const char *, char *const[]);
static int (*r_execvpe)(const char *, char *const[], char *const[]);
static int (*r_fexecve)(int, char *const[], char *const[]);
static int (*r_execveat)(int, const char *, char *const[], char *const[], int);
static void (*r_freeres)(void);

/* dlsym's own calloc calls, before r_calloc is known: a bump arena with a
 * 16-byte size header per block, never freed. */
static _Alignas(16) unsigned char boot[16384];
static size_t boot_used;
static _Atomic int resolving;

static int is_boot(const void *p)
{
    return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t n, size_t align)
{
    if (align < 16)
        align = 16;
    size_t at = (boot_used + 16 + align - 1) & ~(align - 1);
    if (n > sizeof boot || at + n > sizeof boot)
        return NULL;
    *(size_t *)(boot + at - 16) = n;
    boot_used = at + n;
    return boot + at;
}

static size_t boot_size(const void *p)
{
    return *(const size_t *)((const unsigned char *)p - 16);
}

#define SYM(var, name) (var = (__typeof__(var))dlsym(RTLD_NEXT, name))

static void resolve(void)
{
    atomic_store(&resolving, 1);
    SYM(r_calloc, "calloc");
    SYM(r_free, "free");
    SYM(r_realloc, "realloc");
    SYM(r_posix_memalign, "posix_memalign");
    SYM(r_memalign, "memalign");
    SYM(r_aligned_alloc, "aligned_alloc");
    SYM(r_valloc, "valloc");
    SYM(r_pvalloc, "pvalloc");
    SYM(r_fork, "fork");
    SYM(r__exit, "_exit");
    SYM(r__Exit, "_Exit");
    SYM(r_execve, "execve");
    SYM(r_execv, "execv");
    SYM(r_execvp, "execvp");
    SYM(r_execvpe, "execvpe");
    SYM(r_fexecve, "fexecve");
    SYM(r_execveat, "execveat");
    SYM(r_freeres, "__libc_freeres");
    SYM(r_malloc, "malloc"); /* last: its being set means all are */
    atomic_store(&resolving, 0);
}

/* ---- process state ------------------------------------------------------- */

static _Atomic int g_mode;              /* M_UNINIT, M_ON, M_OFF */
static int g_fd = -1;                   /* our private duplicate of the pipe */
static int g_envfd = -1;                /* the inherited MEMKIT_RECORD_FD */
static int g_frames = 8;
static int g_follow;
static uint64_t g_interval;             /* ns, 0 = none */
static int g_sig;
static pid_t g_pid;
static uint64_t g_t0;
static _Atomic uint64_t g_seq;
static _Atomic int g_sigsnap;           /* the snapshot signal arrived */
static _Atomic int g_flusher;           /* 0 not started, 1 running, 2 failed */
static _Atomic int g_exiting;
static int g_ctor_done;
static pthread_key_t g_key;

/* Per thread. buf starts with room for the chunk header. */
struct tstate {
    _Atomic int lock;                   /* 0 free, 1 owner, 2 someone else (see own_lock) */
    _Atomic int steal;                  /* asymmetric mode: someone else holds or wants it */
    int guard;                          /* inside this library: record nothing */
    uint32_t len;                       /* bytes used in buf, header included */
    uint32_t tid;
    _Atomic uint64_t first_ts;          /* ts of the oldest unflushed record, UINT64_MAX for
                                           none: the flusher reads it unlocked, as a hint */
    mkr_delta delta;                    /* the packed records' previous fields in buf */
    uintptr_t lo, hi;                   /* stack bounds for the frame walk */
    struct tstate *next, *prev;         /* registry, under g_reg */
    int reg;                            /* in the registry */
    int dead;                           /* key destructor ran: write directly */
    _Alignas(16) unsigned char buf[MKR_CHUNK];
};

static __thread struct tstate T IE;

static _Atomic int g_reg;               /* registry spinlock */
static struct tstate *g_threads;

/* CLOCK_MONOTONIC_COARSE: 4 ns a call against 27 for CLOCK_MONOTONIC
 * here (kvm-clock), at the resolution of the kernel tick (4 ms). */
static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void cpu_relax(unsigned *spins)
{
    if (++*spins < 64)
        __builtin_ia32_pause();
    else
        sched_yield();
}

static void reg_lock(void)
{
    unsigned spins = 0;
    int z = 0;
    while (!atomic_compare_exchange_weak_explicit(&g_reg, &z, 1, memory_order_acquire, RELAXED)) {
        z = 0;
        cpu_relax(&spins);
    }
}

static int reg_trylock(void)
{
    int z = 0;
    return atomic_compare_exchange_strong_explicit(&g_reg, &z, 1, memory_order_acquire, RELAXED);
}

static void reg_unlock(void)
{
    atomic_store_explicit(&g_reg, 0, memory_order_release);
}

/* A thread's buffer is locked by its owner on every event and by others
 * (the flusher, exit, fork, a crash) rarely. An exchange on every event
 * cost 7 ns, a third of the preload's time, so where the kernel has
 * membarrier(2) the lock is asymmetric (Dekker's handshake with the heavy
 * fence on the rare side, as in liburcu and folly): the owner stores
 * lock = 1 and reads steal with only a compiler barrier between; another
 * thread sets steal, calls membarrier, which puts a full fence into every
 * running thread of the process, then reads lock. Either the owner's store
 * is visible to it (it backs off), or the owner's read comes after the
 * fence and sees steal (the owner backs off). Without membarrier, lock is
 * taken by exchange and compare-and-swap as before. */
static int g_asym;

static void own_lock(struct tstate *t)
{
    if (likely(g_asym)) {
        for (unsigned spins = 0;;) {
            atomic_store_explicit(&t->lock, 1, RELAXED);
            atomic_signal_fence(memory_order_seq_cst);
            if (likely(atomic_load_explicit(&t->steal, memory_order_acquire) == 0))
                return;
            atomic_store_explicit(&t->lock, 0, memory_order_release);
            while (atomic_load_explicit(&t->steal, RELAXED) != 0)
                cpu_relax(&spins);
        }
    }
    if (likely(atomic_exchange_explicit(&t->lock, 1, memory_order_acquire) == 0))
        return;
    unsigned spins = 0;
    do {
        while (atomic_load_explicit(&t->lock, RELAXED) != 0)
            cpu_relax(&spins);
    } while (atomic_exchange_explicit(&t->lock, 1, memory_order_acquire) != 0);
}

static void own_unlock(struct tstate *t)
{
    atomic_store_explicit(&t->lock, 0, memory_order_release);
}

static int other_trylock(struct tstate *t)
{
    int z = 0;
    if (!g_asym)
        return atomic_compare_exchange_strong_explicit(&t->lock, &z, 2, memory_order_acquire, RELAXED);
    if (!atomic_compare_exchange_strong_explicit(&t->steal, &z, 1, memory_order_acquire, RELAXED))
        return 0;
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
    if (atomic_load_explicit(&t->lock, memory_order_acquire) == 0)
        return 1;
    atomic_store_explicit(&t->steal, 0, memory_order_release);
    return 0;
}

static void other_lock(struct tstate *t)
{
    unsigned spins = 0;
    while (!other_trylock(t))
        cpu_relax(&spins);
}

static void other_unlock(struct tstate *t)
{
    if (g_asym)
        atomic_store_explicit(&t->steal, 0, memory_order_release);
    else
        atomic_store_explicit(&t->lock, 0, memory_order_release);
}

/* Asymmetric locking if the kernel allows it (Linux 4.14, not every
 * sandbox); called while this is the process's only recording thread. */
static void asym_init(void)
{
    g_asym = syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
}

/* ---- output -------------------------------------------------------------- */

/* One chunk, one write(2). A write the pipe refuses for good (the recorder
 * is gone) ends recording for this process. */
static void out_chunk(unsigned char *buf, uint32_t len)
{
    /* whole multiples of 8, so the reader's chunks and full records stay
     * aligned however packed records fill them (MKR_CHUNK is one too) */
    uint32_t pad = (8u - len % 8u) % 8u;
    memset(buf + len, 0, pad);
    len += pad;
    mkr_chunk *h = (mkr_chunk *)buf;
    h->len = len;
    h->pid = (uint32_t)g_pid;
    int e = errno;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(g_fd, buf + off, len - off);
        if (w > 0) {
            off += (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN) {
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        } else {
            atomic_store(&g_mode, M_OFF);
            break;
        }
    }
    errno = e;
}

static void tb_flush(struct tstate *t)
{
    if (t->len > HDR)
        out_chunk(t->buf, t->len);
    t->len = HDR;
    memset(&t->delta, 0, sizeof t->delta);
    atomic_store_explicit(&t->first_ts, UINT64_MAX, RELAXED);
}

/* Room for a full record of need bytes at an offset that is a multiple of
 * 8 (packed records before it leave any offset): zero padding, or a flush. */
static void tb_align(struct tstate *t, uint32_t need)
{
    uint32_t at = (t->len + 7u) & ~7u;
    if (at + need > MKR_CHUNK) {
        tb_flush(t);
        return;
    }
    memset(t->buf + t->len, 0, at - t->len);
    t->len = at;
}

static uint32_t gettid_(void)
{
    return (uint32_t)syscall(SYS_gettid);
}

static void fill(mkr_rec *r, int kind, uint32_t tid, uint64_t a, uint64_t b, uint64_t c)
{
    r->kind = (uint8_t)kind;
    r->nframes = 0;
    r->aux = 0;
    r->tid = tid;
    r->seq = atomic_fetch_add(&g_seq, 1) + 1;
    r->ts = now_ns() - g_t0;
    r->a = a;
    r->b = b;
    r->c = c;
}

/* A chunk assembled on the stack, for records that do not go through a
 * thread buffer (HELLO, FORK, EXIT, CRASH, modules, a dead thread's
 * events). */
struct cb {
    uint32_t len;
    _Alignas(16) unsigned char buf[MKR_CHUNK];
};

static mkr_rec *cb_rec(struct cb *c, int kind, uint64_t a, uint64_t b, uint64_t cc, const void *label,
                       size_t llen)
{
    if (llen > MAX_LABEL)
        llen = MAX_LABEL;
    uint32_t need = (uint32_t)(sizeof(mkr_rec) + ((llen + 7) & ~(size_t)7));
    if (c->len + need > MKR_CHUNK) {
        out_chunk(c->buf, c->len);
        c->len = HDR;
    }
    mkr_rec *r = (mkr_rec *)(c->buf + c->len);
    fill(r, kind, T.tid ? T.tid : gettid_(), a, b, cc);
    r->aux = (uint16_t)llen;
    if (llen) {
        memcpy(r + 1, label, llen);
        memset((unsigned char *)(r + 1) + llen, 0, ((llen + 7) & ~(size_t)7) - llen);
    }
    c->len += need;
    return r;
}

static void cb_done(struct cb *c)
{
    if (c->len > HDR)
        out_chunk(c->buf, c->len);
    c->len = HDR;
}

static void emit_direct(int kind, uint64_t a, uint64_t b, uint64_t c, const char *label)
{
    struct cb cb;
    cb.len = HDR;
    /* HELLO's aux is the version, and like every aux it counts bytes that
     * follow the record: one byte, the version again (8 with padding). */
    static const char version[1] = {MKR_VERSION};
    if (kind == MKR_HELLO)
        cb_rec(&cb, kind, a, b, c, version, 1);
    else
        cb_rec(&cb, kind, a, b, c, label, label ? strlen(label) : 0);
    cb_done(&cb);
}

/* ---- threads ------------------------------------------------------------- */

static void thread_gone(void *arg);

static void thread_register(struct tstate *t)
{
    t->tid = gettid_();
    t->len = HDR;
    atomic_store_explicit(&t->first_ts, UINT64_MAX, RELAXED);
    if (t->hi) {
        /* known already (a followed fork child's thread) */
    } else if ((pid_t)t->tid == g_pid) {
        t->hi = (uintptr_t)__libc_stack_end;
        struct rlimit rl;
        uintptr_t span = 8u << 20;
        if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur > span)
            span = rl.rlim_cur;
        t->lo = t->hi > span ? t->hi - span : 0;
    } else {
        pthread_attr_t at;
        void *addr;
        size_t size;
        if (pthread_getattr_np(pthread_self(), &at) == 0) {
            if (pthread_attr_getstack(&at, &addr, &size) == 0) {
                t->lo = (uintptr_t)addr;
                t->hi = (uintptr_t)addr + size;
            }
            pthread_attr_destroy(&at);
        }
    }
    reg_lock();
    t->prev = NULL;
    t->next = g_threads;
    if (g_threads)
        g_threads->prev = t;
    g_threads = t;
    t->reg = 1;
    reg_unlock();
    pthread_setspecific(g_key, t);
}

static void unlink_locked(struct tstate *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        g_threads = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->next = t->prev = NULL;
    t->reg = 0;
}

/* pthread key destructor: the thread is exiting. What it does afterwards
 * (later destructors, glibc's thread teardown) is written record by
 * record. */
static void thread_gone(void *arg)
{
    struct tstate *t = &T;
    int g = t->guard;
    t->guard = 1;
    reg_lock();
    if (t->reg) {
        own_lock(t);
        tb_flush(t);
        unlink_locked(t);
        own_unlock(t);
    }
    t->dead = 1;
    reg_unlock();
    t->guard = g;
}

/* Write every registered buffer; waits for owners in the middle of an
 * event (a few hundred ns). */
static void flush_all(void)
{
    reg_lock();
    for (struct tstate *t = g_threads; t; t = t->next) {
        other_lock(t);
        tb_flush(t);
        other_unlock(t);
    }
    reg_unlock();
}

/* ---- modules ------------------------------------------------------------- */

static unsigned long long mod_adds = ~0ull, mod_subs = ~0ull;

static int mod_peek(struct dl_phdr_info *i, size_t size, void *arg)
{
    unsigned long long *v = arg;
    v[0] = i->dlpi_adds;
    v[1] = i->dlpi_subs;
    return 1;
}

static int mod_one(struct dl_phdr_info *i, size_t size, void *arg)
{
    uintptr_t lo = UINTPTR_MAX, hi = 0;
    for (int k = 0; k < i->dlpi_phnum; k++) {
        const ElfW(Phdr) *p = &i->dlpi_phdr[k];
        if (p->p_type != PT_LOAD)
            continue;
        uintptr_t s = i->dlpi_addr + p->p_vaddr, e = s + p->p_memsz;
        if (s < lo)
            lo = s;
        if (e > hi)
            hi = e;
    }
    if (hi == 0)
        return 0;
    const char *name = i->dlpi_name;
    char exe[1024];
    if (!name || !*name) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        exe[n > 0 ? n : 0] = 0;
        name = exe;
    }
    cb_rec(arg, MKR_MODULE, i->dlpi_addr, lo, hi, name, strlen(name));
    return 0;
}

/* MKR_MODULE for every loaded object, again whenever objects were loaded
 * or unloaded since the last look. */
static void modules_check(void)
{
    unsigned long long v[2] = {0, 0};
    dl_iterate_phdr(mod_peek, v);
    if (v[0] == mod_adds && v[1] == mod_subs)
        return;
    mod_adds = v[0];
    mod_subs = v[1];
    struct cb cb;
    cb.len = HDR;
    dl_iterate_phdr(mod_one, &cb);
    cb_done(&cb);
}

/* ---- events -------------------------------------------------------------- */

/* Return addresses from the interposed function's frame fp: fp[1] is the
 * return address into the caller of malloc, fp[0] the caller's frame. */
static int walk(uint64_t *out, int max, uintptr_t fp, const struct tstate *t)
{
    int n = 0;
    uintptr_t lo = t->lo, hi = t->hi;
    if (!hi) /* stack unknown: only our own frame is sure */
        hi = fp + 16;
    while (n < max) {
        if ((fp & 7) || fp < lo || fp > hi - 16)
            break;
        uintptr_t next = ((const uintptr_t *)fp)[0], ret = ((const uintptr_t *)fp)[1];
        if (!ret)
            break;
        out[n++] = ret;
        if (next <= fp)
            break;
        fp = next;
    }
    return n;
}

/* reallocs in flight (see the header comment) */
enum { NSLOT = 64 };
static _Atomic uintptr_t g_slot[NSLOT];
static _Atomic int g_inflight;

static int slot_take(uintptr_t p)
{
    atomic_fetch_add(&g_inflight, 1);
    unsigned spins = 0;
    for (unsigned i = T.tid % NSLOT;; i = (i + 1) % NSLOT) {
        uintptr_t z = 0;
        if (atomic_load_explicit(&g_slot[i], RELAXED) == 0 &&
            atomic_compare_exchange_strong(&g_slot[i], &z, p))
            return (int)i;
        if (i == NSLOT - 1)
            cpu_relax(&spins);
    }
}

static void slot_drop(int i)
{
    atomic_store_explicit(&g_slot[i], 0, memory_order_release);
    atomic_fetch_sub_explicit(&g_inflight, 1, memory_order_release);
}

static void slot_wait_any(uintptr_t p, int self)
{
    for (int i = 0; i < NSLOT; i++) {
        if (i == self)
            continue;
        unsigned spins = 0;
        /* bounded: never hang the program on an allocator that frees
         * before it allocates (not glibc) */
        while (atomic_load_explicit(&g_slot[i], memory_order_acquire) == p && spins < 100000)
            cpu_relax(&spins);
    }
}

static inline void slot_wait(uintptr_t p, int self)
{
    if (unlikely(atomic_load_explicit(&g_inflight, memory_order_acquire) > (self >= 0)))
        slot_wait_any(p, self);
}

static void start_flusher(void);
static void snapshot(struct tstate *t, const char *label);
static int proc_stat(char *state);

/* Everything an event needs before its record: the thread registered, a
 * pending signal snapshot written, the flusher started. 0: do not record. */
static int ev_begin(struct tstate *t)
{
    int m = atomic_load_explicit(&g_mode, RELAXED);
    if (unlikely(m != M_ON))
        return 0;
    if (unlikely(!t->reg) && !t->dead)
        thread_register(t);
    if (unlikely(atomic_load_explicit(&g_sigsnap, RELAXED)) && atomic_exchange(&g_sigsnap, 0))
        snapshot(t, "signal");
    if (unlikely(atomic_load_explicit(&g_flusher, RELAXED) == 0) && g_ctor_done)
        start_flusher();
    return 1;
}

/* Append one record to the thread's buffer (or write it alone if the
 * thread's key destructor already ran). */
static void ev_put(struct tstate *t, int kind, uint64_t a, uint64_t b, uint64_t c, const uint64_t *fr, int nf)
{
    if (unlikely(t->dead)) {
        struct cb cb;
        cb.len = HDR;
        mkr_rec *r = cb_rec(&cb, kind, a, b, c, NULL, 0);
        if (nf)
            memcpy(r + 1, fr, 8u * (unsigned)nf);
        r->nframes = (uint8_t)nf;
        cb.len += 8u * (unsigned)nf;
        cb_done(&cb);
        return;
    }
    own_lock(t);
    if (unlikely(t->len + MKR_PACKED_MAX > MKR_CHUNK))
        tb_flush(t);
    uint64_t seq = atomic_fetch_add_explicit(&g_seq, 1, RELAXED) + 1, ts = now_ns() - g_t0;
    if (t->len == HDR)
        atomic_store_explicit(&t->first_ts, ts, RELAXED);
    unsigned char *end = mkr_pack(t->buf + t->len, &t->delta, kind, seq, ts, a, b, c, fr, nf);
    t->len = (uint32_t)(end - t->buf);
    own_unlock(t);
}

/* An allocation that returned p (kind MKR_ALLOC, or MKR_REALLOC from old);
 * slot is the caller's own realloc slot or -1. */
static void rec_alloc(int kind, void *old, void *p, size_t n, uintptr_t fp, int slot)
{
    struct tstate *t = &T;
    t->guard = 1;
    if (ev_begin(t)) {
        uint64_t fr[MKR_MAX_FRAMES];
        int nf = g_frames ? walk(fr, g_frames, fp, t) : 0;
        slot_wait((uintptr_t)p, slot);
        if (kind == MKR_ALLOC)
            ev_put(t, kind, (uintptr_t)p, n, 0, fr, nf);
        else
            ev_put(t, kind, (uintptr_t)old, n, (uintptr_t)p, fr, nf);
    }
    t->guard = 0;
}

static void rec_free(void *p)
{
    struct tstate *t = &T;
    t->guard = 1;
    if (ev_begin(t))
        ev_put(t, MKR_FREE, (uintptr_t)p, 0, 0, NULL, 0);
    t->guard = 0;
}

static void init(void);

/* Whether to record an event on this thread now (initialising on the
 * first call). */
static inline int recording(void)
{
    int m = atomic_load_explicit(&g_mode, RELAXED);
    if (likely(m == M_ON))
        return !T.guard;
    if (m == M_UNINIT && !T.guard) {
        init();
        return atomic_load_explicit(&g_mode, RELAXED) == M_ON;
    }
    return 0;
}

/* ---- snapshots ----------------------------------------------------------- */

static void snapshot(struct tstate *t, const char *label)
{
    size_t llen = strlen(label);
    if (llen > MAX_LABEL)
        llen = MAX_LABEL;
    if (t->reg) {
        uint32_t need = (uint32_t)(sizeof(mkr_rec) + ((llen + 7) & ~(size_t)7));
        own_lock(t);
        tb_align(t, need);
        mkr_rec *r = (mkr_rec *)(t->buf + t->len);
        fill(r, MKR_SNAPSHOT, t->tid, 0, 0, 0);
        r->aux = (uint16_t)llen;
        memcpy(r + 1, label, llen);
        memset((unsigned char *)(r + 1) + llen, 0, ((llen + 7) & ~(size_t)7) - llen);
        t->len += need;
        tb_flush(t);
        own_unlock(t);
    } else {
        struct cb cb;
        cb.len = HDR;
        cb_rec(&cb, MKR_SNAPSHOT, 0, 0, 0, label, llen);
        cb_done(&cb);
    }
    flush_all();
}

API void memkit_snapshot(const char *label)
{
    if (!recording())
        return;
    struct tstate *t = &T;
    t->guard = 1;
    if (ev_begin(t)) {
        snapshot(t, label ? label : "");
        modules_check();
    }
    t->guard = 0;
}

static void on_snapsig(int sig)
{
    atomic_store(&g_sigsnap, 1);
}

/* ---- the flusher --------------------------------------------------------- */

static void *flusher_main(void *arg)
{
    struct tstate *t = &T;
    t->guard = 1;
    t->tid = gettid_();
    t->len = HDR;
    uint64_t tick = MKR_IDLE_NS / 2;
    uint64_t next_look = 0;
    uint64_t next_iv = g_interval ? now_ns() + g_interval : UINT64_MAX;
    for (;;) {
        uint64_t now = now_ns(), wake = now + tick;
        if (next_iv < wake)
            wake = next_iv;
        struct timespec ts = {(time_t)((wake - now) / 1000000000u), (long)((wake - now) % 1000000000u)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        if (atomic_load(&g_mode) != M_ON || atomic_load(&g_exiting))
            continue;
        now = now_ns();
        if (atomic_load_explicit(&g_sigsnap, RELAXED) && atomic_exchange(&g_sigsnap, 0))
            snapshot(t, "signal");
        if (now >= next_iv) {
            snapshot(t, "interval");
            next_iv += g_interval;
            if (next_iv <= now)
                next_iv = now + g_interval;
        }
        modules_check();
        /* A process whose main thread called pthread_exit ends when its
         * last thread does (glibc then calls exit(0) there) — but this
         * thread never ends: when it is the last, it does the same. */
        char state = 0;
        if (now >= next_look) {
            next_look = now + 5 * tick;
            if (proc_stat(&state) <= 2 && state == 'Z')
                exit(0);
        }
        reg_lock();
        for (struct tstate *o = g_threads; o; o = o->next) {
            /* A busy thread fills and writes its buffer long before it is
             * idle: leave it alone (taking its lock costs a membarrier and
             * makes it wait). */
            uint64_t first = atomic_load_explicit(&o->first_ts, RELAXED);
            if (first == UINT64_MAX || now - g_t0 - first < MKR_IDLE_NS || !other_trylock(o))
                continue;
            first = atomic_load_explicit(&o->first_ts, RELAXED);
            if (o->len > HDR && first != UINT64_MAX && now - g_t0 - first >= MKR_IDLE_NS)
                tb_flush(o);
            other_unlock(o);
        }
        reg_unlock();
    }
    return NULL;
}

static void start_flusher(void)
{
    int z = 0;
    if (!atomic_compare_exchange_strong(&g_flusher, &z, 1))
        return;
    pthread_attr_t at;
    pthread_t th;
    sigset_t all, old;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 64 << 10);
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* no signal is ever delivered to it */
    if (pthread_create(&th, &at, flusher_main, NULL) != 0)
        atomic_store(&g_flusher, 2);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&at);
}

/* ---- crashes and exit ---------------------------------------------------- */

/* Only the signals of a program's own failure. Catching SIGINT or SIGTERM
 * too would change programs that look at the disposition they inherit
 * (CPython installs its KeyboardInterrupt handler only over SIG_DFL); what
 * such a signal cuts off is what the flusher had not written yet. */
static const int crash_sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

/* Async-signal-safe: write(2), atomics and try-locks only. */
static void on_crash(int sig)
{
    int e = errno;
    struct tstate *t = &T;
    if (atomic_load(&g_mode) == M_ON && syscall(SYS_getpid) == g_pid) {
        int g = t->guard;
        t->guard = 1;
        if (t->reg) {
            if (g && atomic_load(&t->lock) == 1) {
                tb_flush(t); /* we interrupted ourselves: [0, len) is whole */
            } else if (other_trylock(t)) {
                tb_flush(t);
                other_unlock(t);
            }
        }
        if (reg_trylock()) {
            for (struct tstate *o = g_threads; o; o = o->next)
                if (o != t && other_trylock(o)) {
                    tb_flush(o);
                    other_unlock(o);
                }
            reg_unlock();
        }
        atomic_store(&g_mode, M_OFF);
        emit_direct(MKR_CRASH, (uint64_t)sig, 0, 0, NULL);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigaction(sig, &sa, NULL);
    raise(sig);
    errno = e;
}

/* From /proc/self/stat: the number of threads (field 20), and in *state
 * the main thread's state (field 3; 'Z' once it has called pthread_exit). */
static int proc_stat(char *state)
{
    char b[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, b, sizeof b - 1);
    close(fd);
    if (n <= 0)
        return -1;
    b[n] = 0;
    char *p = strrchr(b, ')');
    if (!p || !p[1] || !p[2])
        return -1;
    if (state)
        *state = p[2];
    for (int f = 2; f < 20 && p; f++)
        p = strchr(p + 1, ' ');
    return p ? atoi(p + 1) : -1;
}

static int thread_count(void)
{
    return proc_stat(NULL);
}

/* The end of a process image that exits. freeres: run __libc_freeres. */
static void finish(int freeres, uint64_t flags)
{
    if (atomic_load(&g_mode) != M_ON || syscall(SYS_getpid) != g_pid)
        return;
    struct tstate *t = &T;
    atomic_store(&g_exiting, 1);
    if (freeres) {
        int others = thread_count() - 1 - (atomic_load(&g_flusher) == 1);
        if (others == 0 && r_freeres) {
            int g = t->guard;
            /* libstdc++'s emergency exception pool (72 KiB, allocated by
             * its constructor) is freed only by this, as under valgrind */
            t->guard = 0; /* the frees are events */
            if (_ZN9__gnu_cxx9__freeresEv)
                _ZN9__gnu_cxx9__freeresEv();
            r_freeres();
            t->guard = g;
        } else {
            flags |= 2;
        }
    }
    t->guard = 1;
    atomic_store(&g_mode, M_OFF);
    flush_all();
    emit_direct(MKR_EXIT, 0, flags, 0, NULL);
}

static void at_exit(void)
{
    finish(1, 0);
}

API void _exit(int status)
{
    finish(0, 1);
    if (r__exit)
        r__exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

API void _Exit(int status)
{
    finish(0, 1);
    if (r__Exit)
        r__Exit(status);
    syscall(SYS_exit_group, status);
    __builtin_unreachable();
}

/* ---- fork and exec ------------------------------------------------------- */

static __thread int fork_locked IE;

static void at_prepare(void)
{
    if (atomic_load(&g_mode) != M_ON)
        return;
    struct tstate *t = &T;
    int g = t->guard;
    t->guard = 1;
    reg_lock();
    for (struct tstate *o = g_threads; o; o = o->next) {
        other_lock(o);
        tb_flush(o);
        other_unlock(o);
    }
    fork_locked = 1;
    t->guard = g;
}

static void at_parent(void)
{
    if (fork_locked) {
        fork_locked = 0;
        reg_unlock();
    }
}

static void at_child(void)
{
    if (!fork_locked)
        return;
    fork_locked = 0;
    struct tstate *t = &T;
    atomic_store(&g_reg, 0);
    if (!g_follow) {
        atomic_store(&g_mode, M_OFF);
        if (g_fd != g_envfd)
            close(g_fd); /* ours, close-on-exec; the inherited MEMKIT_RECORD_FD stays */
        return;
    }
    int g = t->guard;
    t->guard = 1;
    g_pid = (pid_t)syscall(SYS_getpid);
    g_t0 = now_ns();
    atomic_store(&g_seq, 0);
    atomic_store(&g_flusher, 0);
    atomic_store(&g_sigsnap, 0);
    for (int i = 0; i < NSLOT; i++)
        atomic_store(&g_slot[i], 0);
    atomic_store(&g_inflight, 0);
    g_threads = NULL;
    t->reg = 0;
    atomic_store(&t->lock, 0);
    atomic_store(&t->steal, 0);
    asym_init();   /* the child is a new process: register again (its only thread is this one) */
    t->tid = gettid_();
    emit_direct(MKR_HELLO, (uint64_t)getppid(), (uint64_t)g_frames, 3, NULL);
    if (!t->dead)
        thread_register(t);
    mod_adds = mod_subs = ~0ull;
    t->guard = g;
}

API pid_t fork(void)
{
    if (!r_malloc)
        resolve();
    recording(); /* initialise, so that the atfork handlers are in place */
    pid_t pid = r_fork();
    if (pid > 0 && atomic_load(&g_mode) == M_ON) {
        struct tstate *t = &T;
        int g = t->guard;
        t->guard = 1;
        emit_direct(MKR_FORK, (uint64_t)pid, 0, 0, NULL);
        t->guard = g;
    }
    return pid;
}

/* The image is about to be replaced: nothing buffered may stay behind. */
static void before_exec(void)
{
    if (!r_malloc)
        resolve();
    if (atomic_load(&g_mode) != M_ON || syscall(SYS_getpid) != g_pid)
        return;
    struct tstate *t = &T;
    int g = t->guard;
    t->guard = 1;
    flush_all();
    t->guard = g;
}

API int execve(const char *path, char *const argv[], char *const envp[])
{
    before_exec();
    return r_execve(path, argv, envp);
}

API int execv(const char *path, char *const argv[])
{
    before_exec();
    return r_execv(path, argv);
}

API int execvp(const char *file, char *const argv[])
{
    before_exec();
    return r_execvp(file, argv);
}

API int execvpe(const char *file, char *const argv[], char *const envp[])
{
    before_exec();
    return r_execvpe(file, argv, envp);
}

API int fexecve(int fd, char *const argv[], char *const envp[])
{
    before_exec();
    return r_fexecve(fd, argv, envp);
}

API int execveat(int dirfd, const char *path, char *const argv[], char *const envp[], int flags)
{
    before_exec();
    return r_execveat(dirfd, path, argv, envp, flags);
}

/* execl, execlp, execle: the arguments into an array, then the v form. */
#define VARGS(first, ap, argv)                                                   \
    size_t argc_ = 1;                                                            \
    va_start(ap, first);                                                         \
    while (va_arg(ap, const char *))                                             \
        argc_++;                                                                 \
    va_end(ap);                                                                  \
    char *argv[argc_ + 1];                                                       \
    argv[0] = (char *)(first);                                                   \
    va_start(ap, first);                                                         \
    for (size_t i_ = 1; i_ <= argc_; i_++)                                       \
        argv[i_] = va_arg(ap, char *);

API int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    VARGS(arg, ap, argv)
    va_end(ap);
    return execv(path, argv);
}

API int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    VARGS(arg, ap, argv)
    va_end(ap);
    return execvp(file, argv);
}

API int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    VARGS(arg, ap, argv)
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}

/* ---- start --------------------------------------------------------------- */

static int env_int(const char *name, long long lo, long long hi, long long *out)
{
    const char *s = getenv(name);
    if (!s || !*s)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

static int env_signal(void)
{
    const char *s = getenv(MKR_ENV_SIGNAL);
    long long v;
    if (!s || !*s)
        return SIGUSR2;
    if (env_int(MKR_ENV_SIGNAL, 0, NSIG - 1, &v))
        return (int)v;
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (int i = 1; i < NSIG; i++) {
        const char *a = sigabbrev_np(i);
        if (a && !strcmp(a, s))
            return i;
    }
    return SIGUSR2;
}

static void catch(int sig, void (*fn)(int))
{
    struct sigaction old, sa;
    if (sigaction(sig, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) || old.sa_handler != SIG_DFL)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = SA_RESTART | SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    sigaction(sig, &sa, NULL);
}

static void init(void)
{
    static _Atomic int once;
    int z = 0;
    if (!atomic_compare_exchange_strong(&once, &z, 1)) {
        unsigned spins = 0;
        while (atomic_load(&once) == 1 && !T.guard)
            cpu_relax(&spins);
        return;
    }
    struct tstate *t = &T;
    int g = t->guard;
    t->guard = 1;
    if (!r_malloc)
        resolve();
    long long fd, v;
    struct stat st;
    int fl;
    if (!env_int(MKR_ENV_FD, 0, INT32_MAX, &fd) || fstat((int)fd, &st) != 0 || !S_ISFIFO(st.st_mode) ||
        (fl = fcntl((int)fd, F_GETFL)) < 0 || (fl & O_ACCMODE) == O_RDONLY) {
        atomic_store(&g_mode, M_OFF);
        atomic_store(&once, 2);
        t->guard = g;
        return;
    }
    /* A private descriptor, high and close-on-exec, so that a program that
     * closes or reuses the inherited number never gets our records. */
    g_envfd = (int)fd;
    g_fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 1000);
    if (g_fd < 0)
        g_fd = (int)fd;
    if (env_int(MKR_ENV_FRAMES, 0, MKR_MAX_FRAMES, &v))
        g_frames = (int)v;
    g_follow = env_int(MKR_ENV_FOLLOW, 0, 1, &v) && v == 1;
    if (env_int(MKR_ENV_INTERVAL, 0, INT64_MAX, &v))
        g_interval = v && v < 1000000 ? 1000000 : (uint64_t)v; /* at least 1 ms */
    g_sig = env_signal();
    g_pid = getpid();
    g_t0 = now_ns();
    pthread_key_create(&g_key, thread_gone);
    pthread_atfork(at_prepare, at_parent, at_child);
    asym_init();
    if (g_sig)
        catch(g_sig, on_snapsig);
    for (size_t i = 0; i < sizeof crash_sigs / sizeof *crash_sigs; i++)
        if (crash_sigs[i] != g_sig)
            catch(crash_sigs[i], on_crash);
    t->tid = gettid_();
    emit_direct(MKR_HELLO, (uint64_t)getppid(), (uint64_t)g_frames, (uint64_t)g_follow, NULL);
    atomic_store(&g_mode, M_ON);
    atomic_store(&once, 2);
    t->guard = g;
}

__attribute__((constructor)) static void ctor(void)
{
    if (atomic_load(&g_mode) == M_UNINIT)
        init();
    if (atomic_load(&g_mode) != M_ON)
        return;
    int g = T.guard;
    T.guard = 1;
    atexit(at_exit);
    modules_check();
    g_ctor_done = 1;
    T.guard = g;
}

/* ---- the allocator ------------------------------------------------------- */

#define FP() ((uintptr_t)__builtin_frame_address(0))

API void *malloc(size_t n)
{
    if (unlikely(!r_malloc)) {
        if (atomic_load(&resolving))
            return boot_alloc(n, 16);
        resolve();
    }
    void *p = r_malloc(n);
    if (p && recording())
        rec_alloc(MKR_ALLOC, NULL, p, n, FP(), -1);
    return p;
}

API void free(void *p)
{
    if (!p || unlikely(is_boot(p)))
        return;
    if (unlikely(!r_free)) /* cannot happen: only boot blocks exist then */
        return;
    if (recording())
        rec_free(p);
    r_free(p);
}

API void *calloc(size_t n, size_t m)
{
    if (unlikely(!r_calloc)) {
        if (atomic_load(&resolving)) {
            size_t s;
            return __builtin_mul_overflow(n, m, &s) ? NULL : boot_alloc(s, 16);
        }
        resolve();
    }
    void *p = r_calloc(n, m);
    if (p && recording())
        rec_alloc(MKR_ALLOC, NULL, p, n * m, FP(), -1);
    return p;
}

static void *do_realloc(void *old, size_t n, uintptr_t fp)
{
    if (unlikely(!r_realloc)) {
        if (atomic_load(&resolving)) {
            void *p = boot_alloc(n, 16);
            if (p && old)
                memcpy(p, old, boot_size(old) < n ? boot_size(old) : n);
            return p;
        }
        resolve();
    }
    if (unlikely(old && is_boot(old))) {
        void *p = malloc(n);
        if (p)
            memcpy(p, old, boot_size(old) < n ? boot_size(old) : n);
        return p;
    }
    if (!recording())
        return r_realloc(old, n);
    if (!old) {
        void *p = r_realloc(NULL, n);
        if (p)
            rec_alloc(MKR_ALLOC, NULL, p, n, fp, -1);
        return p;
    }
    if (n == 0) { /* glibc: free(old), NULL */
        rec_free(old);
        void *p = r_realloc(old, 0);
        if (p)
            rec_alloc(MKR_ALLOC, NULL, p, 0, fp, -1);
        return p;
    }
    T.guard = 1;
    int slot = slot_take((uintptr_t)old);
    T.guard = 0;
    void *p = r_realloc(old, n);
    if (p)
        rec_alloc(MKR_REALLOC, old, p, n, fp, slot);
    slot_drop(slot);
    return p;
}

API void *realloc(void *old, size_t n)
{
    return do_realloc(old, n, FP());
}

API void *reallocarray(void *old, size_t n, size_t m)
{
    size_t s;
    if (__builtin_mul_overflow(n, m, &s)) {
        errno = ENOMEM;
        return NULL;
    }
    return do_realloc(old, s, FP());
}

API int posix_memalign(void **out, size_t align, size_t n)
{
    if (unlikely(!r_posix_memalign))
        resolve();
    int r = r_posix_memalign(out, align, n);
    if (r == 0 && recording())
        rec_alloc(MKR_ALLOC, NULL, *out, n, FP(), -1);
    return r;
}

API void *memalign(size_t align, size_t n)
{
    if (unlikely(!r_memalign)) {
        if (atomic_load(&resolving))
            return boot_alloc(n, align);
        resolve();
    }
    void *p = r_memalign(align, n);
    if (p && recording())
        rec_alloc(MKR_ALLOC, NULL, p, n, FP(), -1);
    return p;
}

API void *aligned_alloc(size_t align, size_t n)
{
    if (unlikely(!r_aligned_alloc))
        resolve();
    void *p = r_aligned_alloc(align, n);
    if (p && recording())
        rec_alloc(MKR_ALLOC, NULL, p, n, FP(), -1);
    return p;
}

API void *valloc(size_t n)
{
    if (unlikely(!r_valloc))
        resolve();
    void *p = r_valloc(n);
    if (p && recording())
        rec_alloc(MKR_ALLOC, NULL, p, n, FP(), -1);
    return p;
}

API void *pvalloc(size_t n)
{
    if (unlikely(!r_pvalloc))
        resolve();
    void *p = r_pvalloc(n);
    if (p && recording())
        rec_alloc(MKR_ALLOC, NULL, p, n, FP(), -1);
    return p;
}
