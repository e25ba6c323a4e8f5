/* model — the reference-count semantics refwatch applies to a log, one
 * event at a time (pinned in refwatch(1) and memkit-formats(5)).
 *
 * `new O` makes O live with count 1 (an anonymous creator holds it; the
 * XPCOM/Gallium "Create" starts at 0 and its AddRef lines carry the count);
 * `ref O [from=H]` adds one and one outstanding reference (site, holder),
 * `unref` removes one, paired with the outstanding reference it undoes:
 * the one from the same holder, else from the same site, else (stacks) the
 * one sharing the most outer frames, else the newest. An object dies at the
 * first of its count reaching 0 or `free O`. At its death its weak
 * references die, their callbacks fire through the bus (higher prio first,
 * ties in registration order, filter=TYPE on the dying object's type), weak
 * references it held are destroyed (auto-cleanup), and it is unbalanced if
 * its count is not 0 or ever went below 0.
 *
 * Findings: unref at count 0 (over-release; the count goes to -1), any
 * other event after death (use-after-free), free while the count is above
 * 0 (free-while-referenced), free after free (double-free), deref of a dead
 * weak reference (dead-weak-deref), an event on a name never created
 * (unknown-object; the object is then tracked from there on, without
 * further findings about its count).
 *
 * Memory follows live objects: a dead object stays known (for use-after-
 * free) in a FIFO quarantine of `quarantine` objects, then is forgotten;
 * records, outstanding references and names of the dead are reused.
 * Call rw_model_prefetch() on an event before rw_model_apply(): it computes
 * the hash the lookups use.
 *
 * Everything found is kept in rw_model's vectors for the report; the model
 * owns all of it. Single-threaded (the bus is only used from one thread). */
#ifndef RW_MODEL_H
#define RW_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "bus.h"
#include "intern.h"
#include "keytab.h"
#include "vec.h"

#define RW_NONE UINT32_MAX

typedef enum { RW_NEW, RW_REF, RW_UNREF, RW_FREE, RW_WEAK, RW_DEREF, RW_NOPS } rw_op;
extern const char *const rw_op_name[RW_NOPS];

typedef struct {
    const char *p;
    uint32_t n;
} rw_str;

/* One log line, as the readers hand it over. Slices point into the input
 * and are used before the next event. */
typedef struct {
    rw_op op;
    rw_str obj;          /* OBJ; for deref, the weak reference W */
    rw_str weak;         /* weak: W */
    rw_str ts, type, site, from, cb, filter;
    int64_t prio;
    int64_t count;       /* XPCOM/Gallium: the count the log states */
    uint8_t has_count, has_prio;
    uint8_t stack;       /* site is a stack of several frames (newline-separated) */
    uint32_t file;       /* index into the model's file names */
    uint64_t line;
    uint64_t hash;       /* rw_hash of obj, filled by rw_model_prefetch */
    uint64_t from_hash;  /* rw_hash of from, likewise (when from is set) */
    uint32_t guess;      /* the record its name likely has (rw_model_guess), or UINT32_MAX */
    /* Filled in by the reading thread when pre is 1, else by the model: */
    uint8_t pre;
    rw_key key;          /* rw_key_probe of obj */
    /* The reader's memo of the model's ids of site and type (id + 1, 0 =
     * not known yet), which the model reads and fills; NULL: none. */
    uint32_t *site_memo, *type_memo;
} rw_event;

typedef enum {
    RW_OVER_RELEASE, RW_USE_AFTER_FREE, RW_FREE_WHILE_REFERENCED, RW_DOUBLE_FREE,
    RW_DEAD_WEAK_DEREF, RW_UNKNOWN_OBJECT, RW_NKINDS
} rw_kind;
extern const char *const rw_kind_name[RW_NKINDS];

typedef struct {
    uint32_t file;
    uint64_t line;
    rw_kind kind;
    rw_op op;
    const char *obj;     /* in the model's arena */
    const char *weak;    /* dead-weak-deref: the weak reference, else NULL */
    uint32_t type;       /* RW_NONE if unknown */
    int32_t count;       /* the count before the event */
} rw_error;

typedef struct {
    uint32_t site;       /* intern id in sites, or RW_NONE */
    uint32_t refs;
} rw_site_count;

typedef struct {
    const char *obj;
    uint32_t type;
    int32_t count;       /* final count (at end, or when it died) */
    uint8_t live;        /* still live at the end of the log */
    uint8_t went_negative;
    uint32_t file;
    uint64_t line;       /* where it died; 0 if live */
    rw_site_count *sites;   /* unmatched references by site, most first */
    uint32_t nsites;
} rw_unbalanced;

typedef struct {
    uint32_t file;
    uint64_t line;       /* the line the object died on */
    const char *obj, *weak;
    uint32_t type, cb;   /* cb: intern id in names, RW_NONE if none */
    int64_t prio;
} rw_firing;

/* A history row for --history. */
typedef struct {
    const rw_event *ev;
    rw_op op;
    int32_t count;       /* after the event */
    const char *obj;
    size_t objlen;
    uint32_t type;
    const char *holder;  /* or NULL */
    size_t holderlen;
    const char *note;    /* "died", "use-after-free", ... or NULL */
} rw_step;

typedef struct rw_model rw_model;
typedef void (*rw_history_fn)(void *ctx, const rw_step *st);

rw_model *rw_model_new(uint64_t quarantine);
void rw_model_free(rw_model *m);
uint32_t rw_model_file(rw_model *m, const char *name);
const char *rw_model_file_name(const rw_model *m, uint32_t file);

/* History for objects named `name` or of type `name` goes to fn. */
void rw_model_history(rw_model *m, const char *name, rw_history_fn fn, void *ctx);

/* Lookups in a pipeline, over an array of events whose names' hashes are
 * known, each starting with an rw_ahead: an event's table slot is fetched
 * RW_AHEAD_SLOT events before it is applied; its record, once the slot
 * has arrived, RW_AHEAD_RECORD before (the guess goes into rw_ahead.guess,
 * then rw_event.guess); the object's references (and the dead ring's slot,
 * when it will be looked at) RW_AHEAD_REFS before. So the cache misses of
 * a dozen events overlap. Call rw_model_ahead_start() once, then
 * rw_model_ahead() before applying event j of n. rw_model_prefetch() is
 * the first stage for a lone event: it hashes the name (unless pre) and
 * sets no guess. The distances: 16/10/5 took the benchmark log from 5.05
 * to 4.85 s against 10/6/3 (ab-compare of 3; twice, on a quiet machine);
 * 14/8/4 gained less, 24/14/6 and 32/18/7 no more. */
enum { RW_AHEAD_SLOT = 16, RW_AHEAD_RECORD = 10, RW_AHEAD_REFS = 5 };
typedef struct {
    uint64_t hash;
    uint32_t guess;
    uint8_t op;
    uint8_t skip;        /* no lookups ahead: the event is parsed when applied */
} rw_ahead;
void rw_model_ahead_start(rw_model *m, void *events, size_t stride, size_t n);
void rw_model_ahead(rw_model *m, void *events, size_t stride, size_t j, size_t n);
void rw_model_prefetch(rw_model *m, rw_event *e);
/* Apply one event; returns the number of findings it made (0 or 1). */
int rw_model_apply(rw_model *m, rw_event *e);
/* End of the log: live objects with a count become unbalanced (once). */
void rw_model_finish(rw_model *m);

/* Results. */
typedef struct {
    uint64_t events;
    uint64_t created, died, live;        /* objects made by new (or Create) */
    uint64_t freed;                      /* free events that were not errors or repeats */
    uint64_t implicit, live_implicit;    /* objects first met in another event */
    uint64_t weak_made, weak_died, weak_fired, weak_filtered, weak_live, weak_orphaned,
             weak_auto_cleaned, quarantine_evicted;
    uint64_t kinds[RW_NKINDS];
    uint64_t live_refs;          /* outstanding references on live objects */
    uint64_t live_unbalanced;    /* live at the end with a count, or below 0 */
    size_t peak_live;
} rw_totals;

void rw_model_totals(rw_model *m, rw_totals *t);
const rw_error *rw_model_errors(const rw_model *m, size_t *n);
/* Unbalanced objects: those found dead, in the order found, then those live
 * at the end, in no particular order. The record passed to fn is valid
 * during the call only; fn returns nonzero to stop the walk. */
typedef int (*rw_unbalanced_fn)(void *ctx, const rw_unbalanced *u);
size_t rw_model_unbalanced_count(const rw_model *m);
void rw_model_unbalanced_each(rw_model *m, rw_unbalanced_fn fn, void *ctx);
const rw_firing *rw_model_firings(const rw_model *m, size_t *n);
const char *rw_model_type(const rw_model *m, uint32_t type);   /* NULL for RW_NONE */
const char *rw_model_site(const rw_model *m, uint32_t site);   /* NULL for RW_NONE */
const char *rw_model_name(const rw_model *m, uint32_t id);     /* cb names */

/* The live holder -> held edges (outstanding references with from=), one
 * call each, in no particular order. */
typedef void (*rw_edge_fn)(void *ctx, const char *holder, size_t hn, const char *held, size_t dn);
void rw_model_edges(rw_model *m, rw_edge_fn fn, void *ctx);

/* Heap bytes held by the model's state (for --stats and the benchmark). */
size_t rw_model_bytes(const rw_model *m);

#endif
