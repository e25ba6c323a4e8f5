/* svg — line and bar charts as inline SVG, for self-contained HTML reports.
 *
 * A chart is written straight into an mk_out as one <svg> element with a
 * viewBox (it scales with the page), axes with "nice" ticks (1, 2 or 5 times
 * a power of ten, or of 1024 when the axis is bytes), and only presentation
 * attributes: no script, no external font or stylesheet, so the page renders
 * the same offline and in any browser. Classes (mk-line, mk-bar, mk-marker,
 * mk-peak) let a page restyle it.
 *
 * Text is escaped for XML here (mk_out_html); callers pass raw strings. Values are doubles;
 * NaN or infinite values are skipped. Pure functions of their arguments:
 * thread-safe as long as each thread writes its own mk_out. */
#ifndef MK_SVG_H
#define MK_SVG_H

#include <stddef.h>

#include "out.h"

/* How tick values read: any number, whole counts, bytes (KiB, MiB), ns. */
typedef enum { MK_AXIS_NUMBER, MK_AXIS_COUNT, MK_AXIS_BYTES, MK_AXIS_DURATION } mk_axis_kind;

typedef struct {
    const char *title;         /* drawn above the plot, and the <title> (tooltip) */
    const char *x_label, *y_label;
    mk_axis_kind x_kind, y_kind;   /* how tick labels read (duration: ns) */
    int width, height;         /* viewBox size; 0 = 800 x 300 */
} mk_svg_chart;

/* A vertical line at x with a label (a snapshot), or, with has_y, a dot at
 * (x, y) with its label (the peak). */
typedef struct {
    double x, y;
    int has_y;
    const char *label;
} mk_svg_marker;

void mk_svg_line(mk_out *o, const mk_svg_chart *c, const double *xs, const double *ys, size_t n,
                 const mk_svg_marker *marks, size_t nmarks);

/* Horizontal bars, one per label, longest first as given. */
void mk_svg_bars(mk_out *o, const mk_svg_chart *c, const char *const *labels, const double *vals, size_t n);

/* The tick step for [lo, hi] to get about `want` ticks: 1, 2 or 5 times a
 * power of 10 (at least 1 for whole kinds); for bytes reaching 1024, the
 * power of two at or above span / want. */
double mk_svg_nice_step(double lo, double hi, int want, mk_axis_kind kind);

#endif
