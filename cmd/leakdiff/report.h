/* report — the tables leakdiff prints, built from replayed traces.
 *
 * Every report is an mk_table (so every output format comes for free) except
 * the summary, which is one record: an object in JSON, a header and one row
 * in TSV/CSV, "name  value" lines in text.
 *
 * Sites may be grouped by their N innermost frames (--depth): a group's
 * figures are the sums of its sites'. Suppression patterns (fnmatch globs)
 * match a site's whole chain or any one of its frames.
 *
 * Tables are owned by the caller (mk_table_free). Not thread-safe. */
#ifndef LD_REPORT_H
#define LD_REPORT_H

#include <stddef.h>
#include <stdint.h>

#include "intern.h"
#include "out.h"
#include "track.h"

typedef enum { BY_LIVE, BY_PEAK, BY_TOTAL, BY_COUNT } ld_by;

typedef struct {
    mk_intern *sites, *types;
    unsigned depth;            /* 0 = whole chains */
    uint64_t limit;            /* rows; 0 = all */
    ld_by by;
    int by_type;               /* top: group by type / size class, not site */
    uint64_t buckets;          /* timeline rows */
    uint64_t min_rises;        /* growth: consecutive rises that make a suspect */
    char **supp;               /* suppression patterns */
    size_t nsupp;
} ld_opts;

/* Sites grouped by --depth: group ids and their names. */
typedef struct {
    mk_intern names;
    mk_vec of;                 /* uint32_t group of each site id */
} ld_groups;

void ld_groups_init(ld_groups *g);
uint32_t ld_group_of(ld_groups *g, const ld_opts *o, uint32_t site);
void ld_groups_free(ld_groups *g);

int ld_suppressed(const ld_opts *o, const char *site, size_t len);

void ld_summary_write(const ld_track *k, const char *format_name, mk_format f, mk_out *out);
mk_table *ld_top(ld_track *k, const ld_opts *o);
/* Blocks live at the end, by site; *suppressed gets the bytes/blocks left out. */
mk_table *ld_leaks(ld_track *k, const ld_opts *o, uint64_t *leak_blocks, uint64_t *supp_bytes,
                   uint64_t *supp_blocks);
/* Growth suspects over the snapshots (or automatic windows when the trace
 * has too few); *n gets their number. */
mk_table *ld_growth(ld_track *k, const ld_opts *o, uint64_t *n);
mk_table *ld_timeline(const ld_track *k, const ld_opts *o);
mk_table *ld_timeline_snapshots(const ld_track *k);
/* Per-site live figures at a moment: a snapshot (index) or the end (-1). */
typedef struct {
    const ld_track *k;
    long snap;
} ld_moment;
mk_table *ld_diff(ld_moment a, ld_moment b, const ld_opts *o);
mk_table *ld_findings(const ld_track *k, const ld_opts *o);
/* "N unknown frees, N double frees, ..." into buf; 0 when there are none. */
int ld_findings_text(const ld_track *k, char *buf, size_t cap);
mk_table *ld_suggest(ld_track *k, const ld_opts *o);

/* Index of the snapshot with this label (the last one so named), -1 if none. */
long ld_snapshot_find(const ld_track *k, const char *label);

#endif
