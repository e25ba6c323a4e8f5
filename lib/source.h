/* source — bytes in, whatever they were stored as: plain, zstd or gzip.
 *
 * mk_source_open() takes a path ("-" or NULL is stdin) and sniffs the first
 * bytes: the zstd magic (or a skippable frame) means zstd, 1f 8b means gzip,
 * anything else is plain; the file name is never consulted. mk_source_read()
 * then returns decompressed bytes into the caller's buffer. Streams are read
 * through one fixed 128 KiB input buffer, so memory does not grow with input.
 * A compressed regular file (a path, or stdin redirected from one) is
 * decoded from a mapping instead, from where its position stands, and the
 * pages passed are let go every 2 MiB: no read copies on the decoder's
 * thread. Like any reader of a mapping, it dies of SIGBUS if the file is
 * truncated while being read.
 *
 * The verdict is part of the contract: mk_source_read() returns 0 only when
 * the input ended cleanly (every zstd frame and gzip member complete and
 * checksummed). A truncated or corrupt stream returns -1 with
 * "NAME: truncated zstd stream at byte N" (N = compressed offset) in mk_err.
 * Several zstd frames, skippable frames, and multi-member gzip are read as one
 * stream; bytes after a gzip member that are not another member are an error.
 *
 * A plain regular file can instead be mapped whole (mk_source_map); the
 * mapping is private and read-only, and mk_source_unmap_hint() lets a reader
 * drop pages it has finished with, so resident memory stays bounded.
 *
 * One mk_source is used by one thread at a time; distinct sources are
 * independent. The source owns its buffers and the fd it opened. */
#ifndef MK_SOURCE_H
#define MK_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum { MK_CODEC_PLAIN, MK_CODEC_ZSTD, MK_CODEC_GZIP } mk_codec;

typedef struct mk_source mk_source;

mk_source *mk_source_open(const char *path);
/* A source over caller-owned memory (tests, fuzzing); still sniffed. */
mk_source *mk_source_open_mem(const char *name, const void *data, size_t len);
ssize_t mk_source_read(mk_source *s, void *buf, size_t cap);
int mk_source_close(mk_source *s);

const char *mk_source_name(const mk_source *s);
mk_codec mk_source_codec(const mk_source *s);
const char *mk_codec_name(mk_codec c);
uint64_t mk_source_in_pos(const mk_source *s);   /* stored bytes consumed */
uint64_t mk_source_out_pos(const mk_source *s);  /* bytes returned so far */
uint64_t mk_source_size(const mk_source *s);     /* stored size if known, else 0 */

/* Map a plain regular file whole. Returns 1 and sets *data and *len when mapped,
 * 0 when the source cannot be mapped (stream, compressed, empty, nothing read
 * yet is required), -1 on error. After mapping, do not call mk_source_read. */
int mk_source_map(mk_source *s, const char **data, size_t *len);
void mk_source_unmap_hint(mk_source *s, size_t off, size_t len);

#endif
