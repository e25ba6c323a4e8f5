/* svg — line and bar charts as inline SVG (see svg.h). */
#include "svg.h"
#include "parse.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Plot margins inside the viewBox: room for tick labels and titles. */
enum { LEFT = 80, RIGHT = 20, TOP = 34, BOTTOM = 46, MAX_TICKS = 20 };

static void esc(mk_out *o, const char *s)
{
    if (s)
        mk_out_html(o, s, strlen(s));
}

double mk_svg_nice_step(double lo, double hi, int want, mk_axis_kind kind)
{
    double span = hi - lo;
    if (!(span > 0) || want < 1)
        return 1;
    double raw = span / want;
    if (kind == MK_AXIS_BYTES && hi >= 1024) {
        /* the power of two at or above: ticks read 512 B, 1.00 KiB, 1.50 KiB */
        double step = 1;
        while (step < raw)
            step *= 2;
        return step;
    }
    double mag = pow(10, floor(log10(raw)));
    double f = raw / mag;
    double step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
    if (kind != MK_AXIS_NUMBER && step < 1)
        step = 1;   /* bytes, counts and ns are whole */
    return step;
}

static void tick_label(char *buf, size_t cap, double v, mk_axis_kind kind)
{
    if (kind == MK_AXIS_BYTES && v >= 0)
        mk_fmt_bytes(buf, cap, (uint64_t)llround(v));
    else if (kind == MK_AXIS_DURATION && v >= 0)
        mk_fmt_duration(buf, cap, (uint64_t)llround(v));
    else
        snprintf(buf, cap, "%.6g", v);
}

static void open_svg(mk_out *o, const mk_svg_chart *c, int w, int h)
{
    mk_out_printf(o, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" role=\"img\" "
                     "font-family=\"sans-serif\" font-size=\"12\">\n<title>", w, h);
    esc(o, c->title);
    mk_out_str(o, "</title>\n");
    if (c->title) {
        mk_out_printf(o, "<text x=\"%d\" y=\"20\" font-size=\"15\" font-weight=\"bold\">", LEFT);
        esc(o, c->title);
        mk_out_str(o, "</text>\n");
    }
}

static int finite_pair(double x, double y)
{
    return isfinite(x) && isfinite(y);
}

void mk_svg_line(mk_out *o, const mk_svg_chart *c, const double *xs, const double *ys, size_t n,
                 const mk_svg_marker *marks, size_t nmarks)
{
    int w = c->width ? c->width : 800, h = c->height ? c->height : 300;
    double x0 = INFINITY, x1 = -INFINITY, y1 = 0;
    for (size_t i = 0; i < n; i++) {
        if (!finite_pair(xs[i], ys[i]))
            continue;
        x0 = fmin(x0, xs[i]);
        x1 = fmax(x1, xs[i]);
        y1 = fmax(y1, ys[i]);
    }
    for (size_t i = 0; i < nmarks; i++)
        if (marks[i].has_y && isfinite(marks[i].y))
            y1 = fmax(y1, marks[i].y);
    if (!(x0 <= x1)) {
        x0 = 0;
        x1 = 1;
    }
    if (x1 == x0)
        x1 = x0 + 1;
    double ystep = mk_svg_nice_step(0, y1 > 0 ? y1 : 1, 5, c->y_kind);
    double ytop = ceil((y1 > 0 ? y1 : 1) / ystep) * ystep;
    double pw = w - LEFT - RIGHT, ph = h - TOP - BOTTOM;
#define PX(x) (LEFT + ((x) - x0) / (x1 - x0) * pw)
#define PY(y) (TOP + ph - (y) / ytop * ph)
    open_svg(o, c, w, h);
    char b[64];
    /* y grid and labels */
    /* Ticks by index, at most MAX_TICKS: with values far from zero a step
     * can be smaller than their spacing as doubles, and y += step would
     * never move. */
    for (int k = 0; k <= MAX_TICKS && k * ystep <= ytop + ystep / 2; k++) {
        double y = k * ystep;
        tick_label(b, sizeof b, y, c->y_kind);
        mk_out_printf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                         "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                      LEFT, LEFT + pw, PY(y), PY(y), LEFT - 6, PY(y) + 4, b);
    }
    /* x ticks */
    double xstep = mk_svg_nice_step(x0, x1, 6, c->x_kind);
    double xfirst = ceil(x0 / xstep) * xstep;
    for (int k = 0; k <= MAX_TICKS && xfirst + k * xstep <= x1 + xstep / 1e6; k++) {
        double x = xfirst + k * xstep;
        tick_label(b, sizeof b, x, c->x_kind);
        mk_out_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\"/>"
                         "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                      PX(x), PX(x), TOP + ph, TOP + ph + 5, PX(x), TOP + ph + 18, b);
    }
    mk_out_printf(o, "<line x1=\"%d\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#333\"/>\n", LEFT,
                  LEFT + pw, TOP + ph, TOP + ph);
    if (c->x_label) {
        mk_out_printf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", LEFT + pw / 2, h - 6);
        esc(o, c->x_label);
        mk_out_str(o, "</text>\n");
    }
    if (c->y_label) {
        mk_out_printf(o, "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">",
                      TOP + ph / 2, TOP + ph / 2);
        esc(o, c->y_label);
        mk_out_str(o, "</text>\n");
    }
    /* snapshot markers under the line */
    for (size_t i = 0; i < nmarks; i++) {
        const mk_svg_marker *m = &marks[i];
        if (m->has_y || !isfinite(m->x))
            continue;
        int right = PX(m->x) > LEFT + pw * 0.9;   /* near the edge: label to the left */
        mk_out_printf(o, "<g class=\"mk-marker\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" "
                         "stroke=\"#999\" stroke-dasharray=\"4 3\"/><text x=\"%.1f\" y=\"%d\" "
                         "font-size=\"10\" fill=\"#555\"%s>",
                      PX(m->x), PX(m->x), TOP, TOP + ph, PX(m->x) + (right ? -3 : 3),
                      TOP + 10 + (int)(i % 3) * 11, right ? " text-anchor=\"end\"" : "");
        esc(o, m->label);
        mk_out_str(o, "</text></g>\n");
    }
    mk_out_str(o, "<polyline class=\"mk-line\" fill=\"none\" stroke=\"#1f6fb2\" stroke-width=\"2\" points=\"");
    for (size_t i = 0; i < n; i++)
        if (finite_pair(xs[i], ys[i]))
            mk_out_printf(o, "%s%.1f,%.1f", i ? " " : "", PX(xs[i]), PY(ys[i]));
    mk_out_str(o, "\"/>\n");
    for (size_t i = 0; i < nmarks; i++) {
        const mk_svg_marker *m = &marks[i];
        if (!m->has_y || !finite_pair(m->x, m->y))
            continue;
        mk_out_printf(o, "<g class=\"mk-peak\"><circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#c0392b\"/>"
                         "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c0392b\" text-anchor=\"%s\">",
                      PX(m->x), PY(m->y), PX(m->x) + (PX(m->x) > LEFT + pw * 0.7 ? -8 : 8),
                      PY(m->y) + (PY(m->y) < TOP + 14 ? 14 : -6), PX(m->x) > LEFT + pw * 0.7 ? "end" : "start");
        esc(o, m->label);
        mk_out_str(o, "</text></g>\n");
    }
    mk_out_str(o, "</svg>\n");
#undef PX
#undef PY
}

void mk_svg_bars(mk_out *o, const mk_svg_chart *c, const char *const *labels, const double *vals, size_t n)
{
    int w = c->width ? c->width : 800;
    int bar = 22, gap = 6, label_w = 300;
    int h = c->height ? c->height : TOP + (int)n * (bar + gap) + BOTTOM;
    double vmax = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(vals[i]))
            vmax = fmax(vmax, vals[i]);
    double step = mk_svg_nice_step(0, vmax > 0 ? vmax : 1, 4, c->y_kind);
    double top = ceil((vmax > 0 ? vmax : 1) / step) * step;
    double pw = w - label_w - RIGHT - 10;
    open_svg(o, c, w, h);
    char b[64];
    double bottom = TOP + (double)n * (bar + gap);
    for (int k = 0; k <= MAX_TICKS && k * step <= top + step / 2; k++) {
        double v = k * step;
        double x = label_w + v / top * pw;
        tick_label(b, sizeof b, v, c->y_kind);
        mk_out_printf(o, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                         "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
                      x, x, TOP, bottom, x, bottom + 16, b);
    }
    for (size_t i = 0; i < n; i++) {
        double y = TOP + (double)i * (bar + gap);
        double v = isfinite(vals[i]) && vals[i] > 0 ? vals[i] : 0;
        tick_label(b, sizeof b, v, c->y_kind);
        /* a long label keeps its start: chains list the innermost frame first */
        const char *l = labels[i] ? labels[i] : "";
        size_t ll = strlen(l), maxc = 46;
        mk_out_printf(o, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">", label_w - 8, y + bar * 0.7);
        if (ll > maxc) {
            size_t cut = maxc - 1;
            while (cut > 0 && ((unsigned char)l[cut] & 0xC0) == 0x80)
                cut--;   /* not inside a UTF-8 sequence */
            mk_out_html(o, l, cut);
            mk_out_str(o, "\xe2\x80\xa6");
        } else {
            mk_out_html(o, l, ll);
        }
        mk_out_printf(o, "<title>");
        mk_out_html(o, l, ll);
        /* the value after the bar, or inside its end when the bar is long */
        double bw = v / top * pw;
        int inside = bw > pw * 0.8;
        mk_out_printf(o, "</title></text><rect class=\"mk-bar\" x=\"%d\" y=\"%.1f\" width=\"%.1f\" "
                         "height=\"%d\" fill=\"#1f6fb2\"/><text x=\"%.1f\" y=\"%.1f\" font-size=\"11\"%s>%s</text>\n",
                      label_w, y, bw, bar, label_w + bw + (inside ? -4 : 4), y + bar * 0.7,
                      inside ? " text-anchor=\"end\" fill=\"#fff\"" : "", b);
    }
    if (c->y_label) {
        mk_out_printf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", label_w + pw / 2, h - 6);
        esc(o, c->y_label);
        mk_out_str(o, "</text>\n");
    }
    mk_out_str(o, "</svg>\n");
}
