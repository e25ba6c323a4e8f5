/* extagg — external hash aggregation: group tables and distinct sets that
 * outgrow --memory go to partition files on disk and are combined one
 * partition at a time, so the answer is the one an unbounded run gives.
 *
 * Spilling. A worker whose table is over its share writes every group (the
 * G and Q records of the --partial text) to one of 32 group partitions,
 * chosen by a hash of the group key, as a new segment ("S" line), and
 * empties its table. The shared distinct set writes its entries (K records)
 * to 32 distinct partitions chosen by a hash of the whole entry, so even the
 * values of a single group spread evenly.
 *
 * Finishing. Each distinct partition is read into a set — a repeated value
 * always lands in the same partition, so counts are exact — and its count
 * per group goes to the group partitions as C records. Each group partition
 * is then read back segment by segment and merged (the same merge threads
 * and --merge use) into one table, whose rows go, in result order, to a run
 * file; the runs are merged into the output, written in pieces so the
 * result never has to fit in memory either. A partition over half the
 * budget is split 16 ways by a fresh hash, up to 5 times. The --exact
 * values of big groups are not in the tables but in the quantile log
 * (qlog.h), which segments name by ref ("l" Q records); each finished
 * partition resolves its groups' quantiles from it. With --partial, which
 * has no log, each partition becomes one segment of the output instead, and
 * a single group over the budget (the exact quantiles of a huge group) has
 * its values counted and copied through, never held.
 *
 * Spill files are unlinked temporaries (lib/spill) in --tmpdir, gone when
 * the process ends. Thread-safe: the spill calls take one lock; finishing
 * runs in one thread after the workers are done. */
#ifndef CP_EXTAGG_H
#define CP_EXTAGG_H

#include <stdint.h>

#include "agg.h"
#include "out.h"

typedef struct cp_ext cp_ext;

typedef struct {
    uint64_t spills;           /* tables written out */
    uint64_t groups;           /* groups written (with repeats) */
    uint64_t set_spills;       /* distinct set written out */
    uint64_t entries;          /* distinct entries written (with repeats) */
    uint64_t bytes;            /* bytes written to spill files, splits and runs included */
    uint64_t splits;           /* partitions split again */
    uint64_t runs;             /* sorted runs merged into the output */
    uint64_t big_groups;       /* groups over the budget (exact quantiles by selection) */
} cp_ext_stats;

cp_ext *cp_ext_new(cp_plan *p, const char *tmpdir, uint64_t memory);
/* Whether anything was spilled (else the caller finishes in memory). */
int cp_ext_active(const cp_ext *x);
/* Write one worker's table out and empty it; -1 with mk_err. */
int cp_ext_spill_groups(cp_ext *x, cp_groups *g);
/* Write the shared distinct set out and empty it; -1 with mk_err. */
int cp_ext_spill_distinct(cp_ext *x);

/* Keep the tables (table_bytes, as the caller counts them) and the shared
 * sets within --memory: the sets go to disk first when they are over half
 * of it, then g if still needed. -1 with mk_err. */
int cp_ext_fit(cp_ext *x, cp_groups *g, size_t table_bytes);

/* Called before each --partial segment: writes its header lines. */
typedef void (*cp_head_fn)(void *ctx, mk_out *o);

/* Spill what is left in the tables, combine every partition and write the
 * result (or, with head != NULL, the --partial segments) to o; -1 with
 * mk_err. h names the key columns (NULL: as written). */
int cp_ext_finish(cp_ext *x, cp_groups **rest, unsigned nrest, const mk_header *h, mk_format fmt,
                  mk_out *o, cp_head_fn head, void *head_ctx);
void cp_ext_stats_get(const cp_ext *x, cp_ext_stats *st);
void cp_ext_free(cp_ext *x);

#endif
