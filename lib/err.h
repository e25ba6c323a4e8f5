/* err — how errors travel from the library to the one place a tool reports them.
 *
 * A library function that fails returns -1 (or NULL) after recording a message
 * with mk_err_set(); the caller either adds context and returns -1 itself, or,
 * at the top of a tool, calls mk_die_err() which prints "tool: message" on
 * stderr and exits 2. Messages carry their own location ("file:line: ...").
 * The message buffer is thread-local, so worker threads can fail independently;
 * mk_err_msg() is valid until the next mk_err_set() on the same thread.
 *
 * Out of memory is not propagated: mk_xmalloc() and friends print
 * "tool: out of memory" and exit 2, because no caller can do better.
 * Blocks of 2 MiB and more from mk_xmalloc()/mk_xcalloc() start on a
 * 2 MiB boundary and are advised for transparent huge pages (big arrays
 * are read at random; see err.c for the measured effect); all are freed
 * with free(). */
#ifndef MK_ERR_H
#define MK_ERR_H

#include <stddef.h>

enum { MK_EXIT_OK = 0, MK_EXIT_FOUND = 1, MK_EXIT_ERROR = 2 };

extern const char *mk_progname;          /* set by mk_cli_init(); "memkit" before */

int mk_err_set(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int mk_err_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* appends ": strerror(errno)" */
int mk_err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2))); /* prepends context */
const char *mk_err_msg(void);

/* Writes "prog: msg" and a newline to stderr, control characters in msg
 * escaped (\n, \r, \t, \xHH): an error or warning is one line however much
 * of the input it quotes. mk_die, mk_warn and usage errors go through it. */
void mk_err_print(const char *msg);
__attribute__((noreturn)) void mk_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
__attribute__((noreturn)) void mk_die_err(void);
void mk_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void *mk_xmalloc(size_t n);
void *mk_xcalloc(size_t n, size_t size);
/* Zeroed, aligned to `align` (a power of two ≥ sizeof(void *)); free() it. */
void *mk_xcalloc_aligned(size_t align, size_t n, size_t size);
void *mk_xrealloc(void *p, size_t n);
/* A buffer filled from its start and reused (read blocks, line buffers):
 * plain malloc, no huge-page hint, so the pages it never reaches cost no
 * memory. A 2 MiB block buffer of which 1 MiB is used is all resident as a
 * huge page: chunkproc's five of them added 5 MiB to its peak RSS. */
void *mk_xmalloc_flat(size_t n);
/* Arrays that grow to many MiB and are read at random (hash tables, record
 * arrays): from MK_XGROW_MAPPED bytes on, a mapping of their own in whole
 * 2 MiB pages, which the kernel places on a huge-page boundary, backs with
 * huge pages, and moves with mremap when it grows: no copy, and the peak
 * is the new size, not the old plus the new (mk_xrealloc copies a block
 * into a new aligned one). Below that, malloc. The caller keeps the size
 * and passes the same one to mk_xgrow_free(). Grown bytes are undefined,
 * except that those of a mapping come zeroed from the kernel. p may be
 * NULL with old_bytes 0. */
#define MK_XGROW_MAPPED ((size_t)2 << 20)
void *mk_xgrow(void *p, size_t old_bytes, size_t new_bytes);
void mk_xgrow_free(void *p, size_t bytes);
/* Zeroed pages of their own, for arrays replaced whole when they grow
 * (hash tables rehashed into a bigger one): freed, they go back to the
 * system at once, where from the heap they leave holes that later, bigger
 * arrays cannot use (chunkproc's 64-stripe sets: about 10 MB of RSS).
 * Below 2 MiB the pages are populated at once (faulted in 4 KiB at a time
 * they made task B 20 % slower); from 2 MiB on they are advised for huge
 * pages, as above, and come one 2 MiB fault at a time. Free with
 * mk_xunmap and the same size. */
void *mk_xmap(size_t bytes);
void mk_xunmap(void *p, size_t bytes);
char *mk_xstrdup(const char *s);
char *mk_xstrndup(const char *s, size_t n);

#endif
