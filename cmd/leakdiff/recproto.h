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
 * thread exits, at a snapshot, at fork, at exit, and by the preload's
 * flusher thread after MKR_IDLE_NS without a flush, so no record waits
 * long.
 *
 * All integers are little-endian (the host's; recorder and program run on
 * the same machine). Records are 8-byte aligned within a chunk. */
#ifndef LD_RECPROTO_H
#define LD_RECPROTO_H

#include <stdint.h>

#define MKR_ENV_FD "MEMKIT_RECORD_FD"             /* write end of the pipe */
#define MKR_ENV_FRAMES "MEMKIT_RECORD_FRAMES"     /* return addresses per event, 0..64 (default 8) */
#define MKR_ENV_FOLLOW "MEMKIT_RECORD_FOLLOW_FORK" /* 1: record forked children too */
#define MKR_ENV_INTERVAL "MEMKIT_RECORD_INTERVAL_NS" /* snapshot every N ns (0 = never) */
#define MKR_ENV_SIGNAL "MEMKIT_RECORD_SIGNAL"     /* snapshot on this signal (default SIGUSR2, 0 = none) */

enum { MKR_CHUNK = 4096, MKR_MAX_FRAMES = 64 };
#define MKR_IDLE_NS 20000000ull                   /* 20 ms */

typedef struct {
    uint32_t len;       /* bytes of the chunk, header included, <= MKR_CHUNK */
    uint32_t pid;       /* the process that wrote it */
} mkr_chunk;

enum mkr_kind {
    MKR_HELLO = 1,      /* first record of a process image (start, exec): aux = version */
    MKR_ALLOC = 2,      /* a = address, b = size requested; frames follow */
    MKR_FREE = 3,       /* a = address (never 0) */
    MKR_REALLOC = 4,    /* a = old address, b = size, c = new address; frames follow */
    MKR_SNAPSHOT = 5,   /* label bytes follow (aux = length) */
    MKR_FORK = 6,       /* a = the child's pid (written by the parent process) */
    MKR_EXIT = 7,       /* the process is exiting normally (after __libc_freeres) */
};

enum { MKR_VERSION = 1 };

/* Every record starts with this header; its size in bytes is
 * sizeof(mkr_rec) + 8 * nframes + aux rounded up to 8. */
typedef struct {
    uint8_t kind;
    uint8_t nframes;    /* return addresses after the fixed part, innermost first */
    uint16_t aux;       /* bytes of label after the frames */
    uint32_t tid;       /* the thread (gettid) */
    uint64_t seq;       /* 1, 2, 3 ... per process image */
    uint64_t ts;        /* ns since the process image started (CLOCK_MONOTONIC) */
    uint64_t a, b, c;
} mkr_rec;

static inline uint32_t mkr_rec_size(const mkr_rec *r)
{
    return (uint32_t)(sizeof(mkr_rec) + 8u * r->nframes + ((r->aux + 7u) & ~7u));
}

#endif
