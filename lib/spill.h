/* spill — temporary files for state that outgrows memory.
 *
 * A spill file is created already unlinked (O_TMPFILE, else mkstemp and
 * unlink) in a directory: the one given, else $TMPDIR, else /tmp. So it
 * disappears however the process ends — exit, error, signal or crash — and
 * nothing needs cleaning up. Write it through mk_spill_out(); then
 * mk_spill_rewind() flushes it and reads it back from the start, one line at
 * a time, through a 16 KiB buffer that grows only for longer lines (no
 * thread, no NUL check: spill files hold what we wrote), or at any offset
 * from several threads (mk_spill_pread). Writing may resume after reading:
 * it appends at the end. The writer's buffer exists only
 * while writing, so a merge can read hundreds of spill files at once.
 *
 * The spill owns its fd, writer and buffer. One thread at a time. */
#ifndef MK_SPILL_H
#define MK_SPILL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "out.h"

typedef struct mk_spill mk_spill;

/* NULL with mk_err "DIR: cannot create a temporary file: REASON". */
mk_spill *mk_spill_new(const char *dir);
/* The writer; valid until the next rewind, reset or free. Errors (a full
 * disk) are sticky and reported by mk_spill_rewind. */
mk_out *mk_spill_out(mk_spill *s);
/* Flush, and read from the first byte. -1 with mk_err on a write error. */
int mk_spill_rewind(mk_spill *s);
/* The next line, without its newline and NUL-terminated, modifiable and valid
 * until the next call: 1, 0 at the end, -1 with mk_err on a read error. */
int mk_spill_line(mk_spill *s, char **line, size_t *len);
/* Reading at an offset, for several threads at once: flush first (one
 * thread, no writer in use), then mk_spill_pread from any thread. pread
 * returns the bytes read (fewer only at the end), -1 with mk_err. */
int mk_spill_flush(mk_spill *s);
ssize_t mk_spill_pread(mk_spill *s, void *buf, size_t n, uint64_t off);
/* Bytes written so far. */
uint64_t mk_spill_bytes(const mk_spill *s);
/* Empty the file (ftruncate) and start writing again from nothing. */
int mk_spill_reset(mk_spill *s);
void mk_spill_free(mk_spill *s);

/* The directory spill files go to: dir, else $TMPDIR, else /tmp. */
const char *mk_spill_dir(const char *dir);

#endif
