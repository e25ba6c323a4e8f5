/* recproto — what the recorder's preload library, inside the recorded
 * program, tells `leakdiff record` over a pipe. Shared by both sides; this
 * header is the contract.
 *
 * Transport: the pipe's write end is the descriptor named by the
 * environment variable MEMKIT_RECORD_FD (inherited, not close-on-exec, so
 * exec'd and forked processes keep it). Everything travels in chunks of at
 * most MKR_CHUNK bytes, each written with one write(2): POSIX makes such
 * writes to a pipe atomic, so chunks from different threads and processes
 * never interleave. A chunk is an mkr_chunk header followed by whole
 * records; records never span chunks.
 *
 * Order: every record carries a sequence number from one process-wide
 * atomic counter, taken for a free before the real free runs and for an
 * allocation after the real allocator returns, so that sequence order is an
 * order in which the heap really changed. Threads buffer records privately
 * (no lock on the fast path), so chunks arrive out of sequence order; the
 * reader puts them back in order (sequence numbers of one process are
 * dense: 1, 2, 3, ...). A thread's buffer is flushed when full, when the
 * thread exits, at a snapshot, at fork, at exec, at exit, and by the
 * preload's flusher thread after MKR_IDLE_NS without a flush, so no record
 * waits long.
 *
 * All integers are little-endian (the host's; recorder and program run on
 * the same machine). Full records are 8-byte aligned within a chunk;
 * packed ones (below) are not.
 *
 * Details the writer (cmd/leakdiff/preload/record.c) guarantees:
 *
 * - The descriptor must be a pipe open for writing; anything else and the
 *   preload only forwards to the real allocator (writes nothing).
 * - Sequence numbers are dense over every record kind, HELLO being 1. A
 *   gap means records were lost (a crash, threads still running at exit);
 *   records of a thread still running when MKR_EXIT is written may carry
 *   higher numbers than MKR_EXIT.
 * - Images: MKR_HELLO is always alone in the first chunk its image writes.
 *   After exec the same pid says MKR_HELLO again and numbers restart at 1;
 *   everything the old image wrote was written before exec, so the reader
 *   splits a pid's chunks into images at each chunk holding a HELLO, in
 *   arrival order, and sorts by seq within an image. The old image's live
 *   blocks vanish at exec (they are not leaks of the new image).
 * - Sizes are the requested ones (pvalloc(100) is 100, calloc(4, 25) is
 *   100). free(NULL) and failed allocations are not events. realloc(NULL, n)
 *   is MKR_ALLOC. realloc(p, 0) (which glibc turns into free(p), NULL) is
 *   MKR_FREE of p, numbered before the call like a free; should the
 *   allocator return a block anyway, that block follows as MKR_ALLOC of
 *   size 0. reallocarray is recorded once, as realloc of n * m bytes. A
 *   failed realloc is not an event (the old block stays).
 * - Ordering: an allocation's number is taken after the allocator returns,
 *   a free's before it runs, and a realloc holds back any allocation of its
 *   old address by another thread until the realloc has its number, so
 *   "every free and every realloc's old address is live at its number, no
 *   allocation hits a live address" holds across threads. One residue: a
 *   realloc that shrinks in place may hand its tail to another thread's
 *   allocation first (different addresses; the peak may be over by the
 *   tail for that instant).
 * - fork: the parent writes MKR_FORK after fork returns. With
 *   MEMKIT_RECORD_FOLLOW_FORK=1 the child writes its own HELLO (its pid in
 *   the chunk header, numbers from 1) and records on; its heap starts as
 *   the parent's live set at the MKR_FORK record (exact for a
 *   single-threaded parent), so its frees of blocks it did not allocate are
 *   frees of inherited blocks. Without it the child writes nothing — but an
 *   exec in that child loads the preload again and records as a new image.
 *   Processes started by posix_spawn, system() or vfork+exec appear as a
 *   HELLO from a pid no MKR_FORK named.
 * - EOF on the pipe comes only when every process holding the inherited
 *   descriptor is gone (a daemonised grandchild keeps it open): do not wait
 *   for EOF after the command has exited beyond a short drain.
 * - The preload writes through a private close-on-exec duplicate of the
 *   descriptor; if the recorder goes away its next write gets EPIPE/SIGPIPE
 *   (like any pipeline) and, if that does not kill it, it stops recording.
 * - ts is CLOCK_MONOTONIC_COARSE (the kernel tick: 4 ms here; the precise
 *   clock cost 27 ns an event against 4). Within an image it is not
 *   monotone in sequence order across threads (number and time are not
 *   taken together): clamp if the output needs non-decreasing times.
 * - The flusher writes any buffer whose oldest record is older than
 *   MKR_IDLE_NS, looking every MKR_IDLE_NS / 2; its own records (signal and
 *   interval snapshots, modules) carry its tid.
 * - Reading: measured here, a reader woken for every chunk spends about as
 *   much CPU in wake-ups as the program spends recording, and one that reads
 *   1 MiB at a time makes writers spin on the pipe's lock while it copies.
 *   What worked (rec-dump): F_SETPIPE_SZ of 1 MiB, read at most 64 KiB at a
 *   time, and sleep 1 ms whenever a read returns less than 32 KiB.
 * - Frames are return addresses (point just after the call instruction;
 *   subtract 1 before looking up a line), innermost = the caller of malloc,
 *   from frame pointers: short or skipping in code built without them.
 *   Symbolise them with the MKR_MODULE records of the same image. */
#ifndef LD_RECPROTO_H
#define LD_RECPROTO_H

#include <stdint.h>

#define MKR_ENV_FD "MEMKIT_RECORD_FD"             /* write end of the pipe */
#define MKR_ENV_FRAMES "MEMKIT_RECORD_FRAMES"     /* return addresses per event, 0..64 (default 8) */
#define MKR_ENV_FOLLOW "MEMKIT_RECORD_FOLLOW_FORK" /* 1: record forked children too */
#define MKR_ENV_INTERVAL "MEMKIT_RECORD_INTERVAL_NS" /* snapshot every N ns (0 = never; at least 1 ms) */
#define MKR_ENV_SIGNAL "MEMKIT_RECORD_SIGNAL"     /* snapshot on this signal (default SIGUSR2, 0 = none) */

enum { MKR_CHUNK = 4096, MKR_MAX_FRAMES = 64 };
#define MKR_IDLE_NS 20000000ull                   /* 20 ms */

typedef struct {
    uint32_t len;       /* bytes of the chunk, header included, <= MKR_CHUNK, a multiple of 8
                           (zero bytes pad the end) */
    uint32_t pid;       /* the process that wrote it */
} mkr_chunk;

enum mkr_kind {
    MKR_HELLO = 1,      /* first record of a process image (start, exec): aux = version
                           (MKR_VERSION = 1, so one byte follows: the version again,
                           padded to 8 like any aux bytes);
                           a = parent pid, b = frames per event asked for,
                           c = flags (bit 0: forked children are followed; bit 1: this
                           image is a followed fork child, its heap starts as the
                           parent's live set at the parent's MKR_FORK naming this pid) */
    MKR_ALLOC = 2,      /* a = address, b = size requested; frames follow */
    MKR_FREE = 3,       /* a = address (never 0) */
    MKR_REALLOC = 4,    /* a = old address (never 0), b = size (never 0), c = new address
                           (never 0; may equal a); frames follow */
    MKR_SNAPSHOT = 5,   /* label bytes follow (aux = length): the program's label,
                           "signal" (MEMKIT_RECORD_SIGNAL) or "interval" */
    MKR_FORK = 6,       /* a = the child's pid (written by the parent process) */
    MKR_EXIT = 7,       /* the process is exiting normally (after __libc_freeres);
                           b = flags: bit 0 by _exit/_Exit (no atexit, no freeres),
                           bit 1 freeres skipped because other threads were alive */
    MKR_MODULE = 8,     /* a loaded object: a = load bias (file address = address - a),
                           b = start, c = end of its mapped range; label = path (the
                           main program's from /proc/self/exe). Written at start, for
                           objects loaded since at snapshots and every MKR_IDLE_NS/2
                           (all objects again when the set changed); a later record
                           for an overlapping range replaces an earlier one */
    MKR_CRASH = 9,      /* a = signal number: the process is being killed by it; what
                           the preload could flush is written, nothing follows */
};

enum { MKR_VERSION = 2 };

/* Every record of the kinds above starts with this header, at an offset
 * of the chunk that is a multiple of 8; its size in bytes is
 * sizeof(mkr_rec) + 8 * nframes + aux rounded up to 8. Zero bytes before a
 * header are padding. */
typedef struct {
    uint8_t kind;
    uint8_t nframes;    /* return addresses after the fixed part, innermost first */
    uint16_t aux;       /* bytes of label after the frames */
    uint32_t tid;       /* the thread (gettid) */
    uint64_t seq;       /* 1, 2, 3 ... per process image */
    uint64_t ts;        /* ns since the process image started (CLOCK_MONOTONIC_COARSE) */
    uint64_t a, b, c;
} mkr_rec;

static inline uint32_t mkr_rec_size(const mkr_rec *r)
{
    return (uint32_t)(sizeof(mkr_rec) + 8u * r->nframes + ((r->aux + 7u) & ~7u));
}

/* Packed records (version 2): the heap events of a thread's buffer, MKR_ALLOC,
 * MKR_FREE and MKR_REALLOC, take 4-8 bytes instead of 48, so a 4 KiB chunk
 * holds ~800 of them and the program makes a tenth of the write(2) calls
 * (each costs 2 us here), and both sides copy a sixth of the bytes. A
 * packed record is one byte, MKR_PACKED | flags | kind, then LEB128 varints,
 * each a difference from the same field of the previous packed record of
 * the chunk (0 before the first), zigzag-coded where it can be negative:
 *   seq (plain difference) unless MKR_P_NEXT says it is 1;
 *   ts (zigzag) unless MKR_P_SAME_TS says it is 0; a (zigzag);
 *   MKR_ALLOC: b; MKR_REALLOC: b, c - a (zigzag);
 *   MKR_ALLOC and MKR_REALLOC with MKR_P_FRAMES: nframes (one byte, 1..64),
 *   then the frames, the first as a difference from the previous record's
 *   first frame, the others from the frame before them (zigzag).
 * They carry no tid (a chunk of packed records is one thread's) and need no
 * alignment; a full record after them is padded to 8. */
enum {
    MKR_PACKED = 0x80,
    MKR_P_FRAMES = 0x40,       /* frames follow */
    MKR_P_NEXT = 0x20,         /* seq is the previous one + 1 */
    MKR_P_SAME_TS = 0x10,      /* ts is the previous one's */
    MKR_P_KIND = 0x0f,
    MKR_PACKED_MAX = 1 + 4 * 10 + 1 + 10 * MKR_MAX_FRAMES,
};

typedef struct {
    uint64_t seq, ts, a, f0;
} mkr_delta;

static inline uint64_t mkr_zig(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t mkr_unzig(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

static inline unsigned char *mkr_put(unsigned char *o, uint64_t v)
{
    while (v >= 0x80) {
        *o++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *o++ = (unsigned char)v;
    return o;
}

/* A varint from [*p, end): 0 if it runs past end or over 10 bytes. */
static inline int mkr_get(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    if (__builtin_expect(*p < end && **p < 0x80, 1)) {   /* most fields: one byte */
        *v = *(*p)++;
        return 1;
    }
    uint64_t x = 0;
    for (unsigned s = 0; *p < end && s < 70; s += 7) {
        unsigned char c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << s;
        if (!(c & 0x80)) {
            *v = x;
            return 1;
        }
    }
    return 0;
}

/* Write one packed record at o (room for MKR_PACKED_MAX bytes); returns its end. */
static inline unsigned char *mkr_pack(unsigned char *o, mkr_delta *d, int kind, uint64_t seq, uint64_t ts,
                                      uint64_t a, uint64_t b, uint64_t c, const uint64_t *fr, int nf)
{
    unsigned char *head = o++;
    int flags = MKR_PACKED | kind | (nf ? MKR_P_FRAMES : 0);
    if (seq - d->seq == 1)
        flags |= MKR_P_NEXT;
    else
        o = mkr_put(o, seq - d->seq);
    if (ts == d->ts)
        flags |= MKR_P_SAME_TS;
    else
        o = mkr_put(o, mkr_zig((int64_t)(ts - d->ts)));
    *head = (unsigned char)flags;
    o = mkr_put(o, mkr_zig((int64_t)(a - d->a)));
    d->seq = seq;
    d->ts = ts;
    d->a = a;
    if (kind == MKR_FREE)
        return o;
    o = mkr_put(o, b);
    if (kind == MKR_REALLOC)
        o = mkr_put(o, mkr_zig((int64_t)(c - a)));
    if (!nf)
        return o;
    *o++ = (unsigned char)nf;
    uint64_t prev = d->f0;
    for (int i = 0; i < nf; i++) {
        o = mkr_put(o, mkr_zig((int64_t)(fr[i] - prev)));
        prev = fr[i];
    }
    d->f0 = fr[0];
    return o;
}

/* Read one packed record from [*p, end) into r and frames (room for
 * MKR_MAX_FRAMES); 0 if it is cut short or malformed. */
static inline int mkr_unpack(const unsigned char **p, const unsigned char *end, mkr_delta *d, mkr_rec *r,
                             uint64_t *frames)
{
    uint64_t v;
    if (*p >= end)
        return 0;
    int flags = *(*p)++, kind = flags & MKR_P_KIND;
    if (!(flags & MKR_PACKED) || (kind != MKR_ALLOC && kind != MKR_FREE && kind != MKR_REALLOC) ||
        (kind == MKR_FREE && (flags & MKR_P_FRAMES)))
        return 0;
    r->kind = (uint8_t)kind;
    r->nframes = 0;
    r->aux = 0;
    r->tid = 0;
    if (flags & MKR_P_NEXT)
        d->seq++;
    else if (mkr_get(p, end, &v))
        d->seq += v;
    else
        return 0;
    if (!(flags & MKR_P_SAME_TS)) {
        if (!mkr_get(p, end, &v))
            return 0;
        d->ts += (uint64_t)mkr_unzig(v);
    }
    if (!mkr_get(p, end, &v))
        return 0;
    d->a += (uint64_t)mkr_unzig(v);
    r->seq = d->seq;
    r->ts = d->ts;
    r->a = d->a;
    r->b = r->c = 0;
    if (kind == MKR_FREE)
        return 1;
    if (!mkr_get(p, end, &r->b))
        return 0;
    if (kind == MKR_REALLOC) {
        if (!mkr_get(p, end, &v))
            return 0;
        r->c = r->a + (uint64_t)mkr_unzig(v);
    }
    if (!(flags & MKR_P_FRAMES))
        return 1;
    if (*p >= end || **p == 0 || **p > MKR_MAX_FRAMES)
        return 0;
    r->nframes = *(*p)++;
    uint64_t prev = d->f0;
    for (unsigned i = 0; i < r->nframes; i++) {
        if (!mkr_get(p, end, &v))
            return 0;
        prev += (uint64_t)mkr_unzig(v);
        frames[i] = prev;
    }
    d->f0 = frames[0];
    return 1;
}

#endif
