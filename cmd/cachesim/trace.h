/* trace — request traces decoded into batches of dense requests.
 *
 * Four formats: memkit cache traces (TS OP KEY SIZE [TTL]), one key per
 * line, CSV/TSV with a column mapping, and libCacheSim's binary
 * oracleGeneral (24-byte records); each plain, zstd or gzip, the codec
 * sniffed from the content. Keys are interned into dense ids (0, 1, 2, ...
 * in order of first appearance) in a cs_keys shared by every file and pass,
 * so the caches index their entries by id in flat arrays.
 *
 * Times are nanoseconds: TS is seconds (a fraction allowed) in text traces,
 * the record's u32 seconds in oracleGeneral, the row number as seconds in
 * key-per-line traces (and CSV without a time column).
 *
 * Errors (a malformed line, a truncated record, a bad size) carry
 * FILE:LINE or FILE:record N and leave the trace unusable. One thread per
 * trace; a cs_keys is used by one thread at a time. */
#ifndef CS_TRACE_H
#define CS_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

typedef enum { CS_GET, CS_SET, CS_DEL, CS_DROP } cs_op;
extern const char *const cs_op_names[4];

typedef enum { CS_FMT_AUTO, CS_FMT_TEXT, CS_FMT_KEYS, CS_FMT_CSV, CS_FMT_ORACLE } cs_format;
extern const char *const cs_format_names[5];

typedef struct {
    uint32_t id;        /* dense key id */
    uint32_t size;      /* bytes; 0 in a get means the request is skipped */
    int64_t ts;         /* ns */
    int64_t ttl;        /* ns, or -1 when the trace gives none */
    int64_t next;       /* oracleGeneral: next access (1-based record), or MK_CACHE_NEVER */
    uint8_t op;
} cs_req;

/* ---- keys ---- */

typedef struct cs_keys cs_keys;
cs_keys *cs_keys_new(void);
void cs_keys_free(cs_keys *k);
uint32_t cs_keys_count(const cs_keys *k);
/* Intern a text key; one that spells a decimal number below 2^64 without
 * leading zeros is the same key as that oracleGeneral id. */
uint32_t cs_keys_text(cs_keys *k, const char *p, size_t n);
uint32_t cs_keys_num(cs_keys *k, uint64_t v);                 /* intern an oracleGeneral id */
/* The key of id: text (*p, *n) returning 0, or numeric (*v) returning 1. */
int cs_keys_get(const cs_keys *k, uint32_t id, const char **p, size_t *n, uint64_t *v);
/* A name of id's key that does not depend on the order ids were handed
 * out in (a hash of a text key, the number of a numeric one). */
uint64_t cs_keys_name(void *keys, uint64_t id);
/* The size of the first non-zero-size request of each id (the working set),
 * recorded by cs_keys_first_size(), and their sum. */
void cs_keys_first_size(cs_keys *k, uint32_t id, uint32_t size);
uint64_t cs_keys_wss_bytes(const cs_keys *k);
uint64_t cs_keys_wss_objects(const cs_keys *k);
size_t cs_keys_bytes(const cs_keys *k);

/* ---- traces ---- */

/* CSV column mapping, from "key=2,size=3,time=1,ttl=4,op=5": each a column
 * number from 1 or a header name. */
typedef struct {
    char *col[5];       /* time, op, key, size, ttl; NULL = absent */
} cs_csvmap;
int cs_csvmap_parse(cs_csvmap *m, const char *spec);   /* -1 + mk_err */
void cs_csvmap_free(cs_csvmap *m);

typedef struct cs_trace cs_trace;

/* Opens path ("-" = stdin) as fmt (AUTO: sniffed, see cachesim(1));
 * messages name it `name` (NULL: the path). */
cs_trace *cs_trace_open(const char *path, const char *name, cs_format fmt, const cs_csvmap *map, cs_keys *keys);
/* The same over an open source, which the trace then owns (tests, fuzzing). */
cs_trace *cs_trace_from(mk_source *src, const char *name, cs_format fmt, const cs_csvmap *map, cs_keys *keys);
cs_format cs_trace_format(const cs_trace *t);
/* Fills up to cap requests: the count, 0 at the end, -1 on error. */
long cs_trace_read(cs_trace *t, cs_req *out, size_t cap);
uint64_t cs_trace_in_bytes(const cs_trace *t);    /* stored bytes read so far */
uint64_t cs_trace_size(const cs_trace *t);        /* stored size if known, else 0 */
void cs_trace_close(cs_trace *t);

#endif
