/* progress — rate-limited progress line and --stats (see progress.h). */
#include "progress.h"
#include "err.h"
#include "parse.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static uint64_t stats_start_ns;

uint64_t mk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* MEMKIT_PROGRESS_MS overrides the 200 ms between frames (tests set 0). */
static uint64_t interval_ns(void)
{
    static uint64_t ns = UINT64_MAX;
    if (ns == UINT64_MAX) {
        const char *e = getenv("MEMKIT_PROGRESS_MS");
        ns = e && *e ? strtoull(e, NULL, 10) * 1000000u : 200000000u;
    }
    return ns;
}

void mk_progress_init(mk_progress *p, int enabled, const char *label, uint64_t total)
{
    p->enabled = enabled;
    p->drawn = 0;
    p->label = label;
    p->total = total;
    p->start_ns = p->last_ns = mk_now_ns();
}

void mk_progress_update(mk_progress *p, uint64_t done)
{
    if (!p->enabled)
        return;
    uint64_t now = mk_now_ns();
    if (now - p->last_ns < interval_ns())
        return;
    p->last_ns = now;
    double secs = (double)(now - p->start_ns) / 1e9;
    char d[32], t[32], r[32], line[256];
    mk_fmt_bytes(d, sizeof d, done);
    mk_fmt_bytes(r, sizeof r, secs > 0 ? (uint64_t)((double)done / secs) : 0);
    int n;
    if (p->total && done <= p->total) {
        mk_fmt_bytes(t, sizeof t, p->total);
        double frac = (double)done / (double)p->total;
        uint64_t eta = frac > 0 ? (uint64_t)(secs / frac - secs) : 0;
        n = snprintf(line, sizeof line, "\r%s  %s / %s  %.0f%%  %s/s  ETA %llu:%02llu\033[K",
                     p->label, d, t, frac * 100, r, (unsigned long long)(eta / 60),
                     (unsigned long long)(eta % 60));
    } else {
        n = snprintf(line, sizeof line, "\r%s  %s  %s/s\033[K", p->label, d, r);
    }
    if (n > 0 && write(2, line, (size_t)n) == n)
        p->drawn = 1;
}

void mk_progress_end(mk_progress *p)
{
    if (p->drawn && write(2, "\r\033[K", 4) == 4)
        p->drawn = 0;
}

void mk_stats_start(void)
{
    stats_start_ns = mk_now_ns();
}

void mk_stats_print(const mk_stats_counts *c)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double wall = (double)(mk_now_ns() - stats_start_ns) / 1e9;
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
                 (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
    char in[32], out[32], rss[32];
    mk_fmt_bytes(in, sizeof in, c->bytes_in);
    mk_fmt_bytes(out, sizeof out, c->bytes_out);
    mk_fmt_bytes(rss, sizeof rss, (uint64_t)ru.ru_maxrss * 1024);
    fprintf(stderr, "%s: stats: wall %.3f s, cpu %.3f s, read %s (%llu B), wrote %s (%llu B), "
            "records %llu, bad records %llu, peak rss %s (%llu B)\n",
            mk_progname, wall, cpu, in, (unsigned long long)c->bytes_in, out,
            (unsigned long long)c->bytes_out, (unsigned long long)c->records,
            (unsigned long long)c->bad_records, rss, (unsigned long long)ru.ru_maxrss * 1024);
}
