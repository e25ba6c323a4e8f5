/* progress — what a long run tells a person while it works, and after.
 *
 * mk_progress draws one self-erasing line on stderr ("NAME  1.2 GiB / 3.4 GiB
 * 35%  850 MiB/s  ETA 0:03"), at most five times a second, and erases it at
 * the end, like zstd (MEMKIT_PROGRESS_MS in the environment changes the
 * interval; tests use 0). It draws nothing unless enabled (see
 * mk_cli_progress_wanted: a terminal, or --progress). Updates are cheap when
 * nothing is due: one clock read.
 *
 * mk_stats_print() is --stats: wall and CPU time since mk_stats_start()
 * (called by mk_cli_parse), bytes in and out, records, peak RSS.
 *
 * One thread updates a given mk_progress; stats functions are thread-safe. */
#ifndef MK_PROGRESS_H
#define MK_PROGRESS_H

#include <stdint.h>

typedef struct {
    int enabled, drawn;
    const char *label;
    uint64_t total;            /* 0 = unknown: no percentage or ETA */
    uint64_t start_ns, last_ns;
} mk_progress;

uint64_t mk_now_ns(void);

void mk_progress_init(mk_progress *p, int enabled, const char *label, uint64_t total);
void mk_progress_update(mk_progress *p, uint64_t done);
void mk_progress_end(mk_progress *p);

typedef struct {
    uint64_t bytes_in, bytes_out, records, bad_records;
} mk_stats_counts;

void mk_stats_start(void);
void mk_stats_print(const mk_stats_counts *c);

#endif
