/* html — the whole analysis as one self-contained HTML page.
 *
 * Summary, an inline SVG timeline of live bytes (snapshot markers, the peak
 * marked), a bar chart of the top sites, the leak, growth, diff (first to
 * last snapshot) and suggestion tables. No script and nothing fetched: the
 * file renders offline, and mails or attaches to a CI run as it is. Charts
 * come from lib svg. */
#ifndef LD_HTML_H
#define LD_HTML_H

#include "out.h"
#include "report.h"
#include "track.h"

typedef struct {
    const char *title;
    const char *format;        /* trace format name */
} ld_html_opts;

void ld_html_write(ld_track *k, const ld_opts *o, const ld_html_opts *h, mk_out *out);

#endif
