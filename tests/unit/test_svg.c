/* svg: nice axis steps, escaping, the chart elements a report relies on;
 * out: the HTML table renderer. */
#include "out.h"
#include "svg.h"
#include "unit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Render into memory; the returned string is NUL-terminated (caller frees). */
static char *rendered(mk_out *o)
{
    size_t n;
    const char *p = mk_out_mem(o, &n);
    char *s = malloc(n + 1);
    memcpy(s, p, n);
    s[n] = 0;
    mk_out_discard(o);
    return s;
}

static size_t count(const char *s, const char *sub)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, sub)); p += strlen(sub))
        n++;
    return n;
}

static void test_nice_step(void)
{
    CHECK(mk_svg_nice_step(0, 100, 5, MK_AXIS_NUMBER) == 20);
    CHECK(mk_svg_nice_step(0, 1, 5, MK_AXIS_NUMBER) == 0.2);
    CHECK(mk_svg_nice_step(0, 7, 5, MK_AXIS_NUMBER) == 2);
    CHECK(mk_svg_nice_step(0, 3e6, 6, MK_AXIS_NUMBER) == 5e5);
    /* bytes: a power of two once KiB are reached */
    CHECK(mk_svg_nice_step(0, 10 << 20, 5, MK_AXIS_BYTES) == 2 << 20);
    CHECK(mk_svg_nice_step(0, 5000, 5, MK_AXIS_BYTES) == 1024);
    CHECK(mk_svg_nice_step(0, 2048, 5, MK_AXIS_BYTES) == 512);
    CHECK(mk_svg_nice_step(0, 100, 5, MK_AXIS_BYTES) == 20);
    /* whole units, and degenerate ranges */
    CHECK(mk_svg_nice_step(0, 2, 5, MK_AXIS_BYTES) == 1);
    CHECK(mk_svg_nice_step(0, 3, 6, MK_AXIS_COUNT) == 1);
    CHECK(mk_svg_nice_step(0, 3, 6, MK_AXIS_NUMBER) == 0.5);
    CHECK(mk_svg_nice_step(5, 5, 5, MK_AXIS_NUMBER) == 1);
    CHECK(mk_svg_nice_step(0, NAN, 5, MK_AXIS_NUMBER) == 1);
}

static void test_escape(void)
{
    mk_out *o = mk_out_open_mem();
    mk_out_html(o, "a<b & \"c\" 'd'>", 15);
    char *s = rendered(o);
    CHECK_STR(s, "a&lt;b &amp; &quot;c&quot; &#39;d&#39;&gt;");
    free(s);
}

static void test_line_chart(void)
{
    mk_out *o = mk_out_open_mem();
    double xs[] = { 0, 1, 2, 3 }, ys[] = { 0, 1024, NAN, 512 };
    mk_svg_marker m[] = { { 1, 0, 0, "snap <1>" }, { 1, 2048, 1, "peak" } };
    mk_svg_chart c = { "Live & well", "event", "bytes", MK_AXIS_NUMBER, MK_AXIS_BYTES, 400, 200 };
    mk_svg_line(o, &c, xs, ys, 4, m, 2);
    char *s = rendered(o);
    CHECK(strncmp(s, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 400 200\"", 61) == 0);
    CHECK_CONTAINS(s, "<title>Live &amp; well</title>");
    CHECK_CONTAINS(s, ">snap &lt;1&gt;</text>");
    CHECK_INT(count(s, "<polyline"), 1);
    CHECK_INT(count(s, "class=\"mk-marker\""), 1);
    CHECK_INT(count(s, "class=\"mk-peak\""), 1);
    /* the NaN point is skipped: three points in the line */
    const char *pts = strstr(s, "points=\"");
    CHECK(pts != NULL);
    if (pts) {
        const char *e = strchr(pts + 8, '"');
        size_t spaces = 0;
        for (const char *p = pts + 8; p < e; p++)
            spaces += *p == ' ';
        CHECK_INT(spaces, 2);
    }
    /* the y axis reaches the peak marker (2048) in 1 KiB ticks (0..2 KiB) */
    CHECK_CONTAINS(s, ">512 B</text>");
    CHECK_CONTAINS(s, ">1.50 KiB</text>");
    CHECK_CONTAINS(s, ">2.00 KiB</text>");
    CHECK(strstr(s, "2.50 KiB") == NULL);
    CHECK_STR(s + strlen(s) - 7, "</svg>\n");
    free(s);
}

static void test_bars(void)
{
    mk_out *o = mk_out_open_mem();
    const char *labels[] = { "a<b", "\xc3\xa9tait-un-nom-de-site-tr\xc3\xa8s-long-qui-d\xc3\xa9passe-la-limite", "c" };
    double vals[] = { 300, 100, 0 };
    mk_svg_chart c = { "Top", NULL, "bytes", MK_AXIS_NUMBER, MK_AXIS_BYTES, 0, 0 };
    mk_svg_bars(o, &c, labels, vals, 3);
    char *s = rendered(o);
    CHECK_INT(count(s, "class=\"mk-bar\""), 3);
    CHECK_CONTAINS(s, ">a&lt;b<title>a&lt;b</title>");
    /* a long label is cut at a character boundary, whole in its tooltip */
    CHECK_CONTAINS(s, "\xe2\x80\xa6<title>\xc3\xa9tait-un-nom");
    CHECK_CONTAINS(s, ">300 B</text>");
    free(s);
}

static void test_table_html(void)
{
    mk_table *t = mk_table_new();
    size_t c0 = mk_table_col(t, "site", MK_COL_STR), c1 = mk_table_col(t, "bytes", MK_COL_BYTES);
    size_t c2 = mk_table_col(t, "n", MK_COL_UINT);
    mk_table_row(t);
    mk_table_cstr(t, c0, "f<g");
    mk_table_uint(t, c1, 4096);
    mk_table_uint(t, c2, 7);
    mk_table_row(t);
    mk_table_cstr(t, c0, "h");
    mk_out *o = mk_out_open_mem();
    mk_table_write_html(t, o);
    mk_table_free(t);
    char *s = rendered(o);
    CHECK_STR(s, "<table>\n<thead><tr><th>site</th><th class=\"num\">bytes</th><th class=\"num\">n</th></tr></thead>\n"
                 "<tbody>\n"
                 "<tr><td>f&lt;g</td><td class=\"num\" title=\"4096\">4.00 KiB</td><td class=\"num\">7</td></tr>\n"
                 "<tr><td>h</td><td class=\"num\"></td><td class=\"num\"></td></tr>\n"
                 "</tbody>\n</table>\n");
    free(s);
}

int main(void)
{
    RUN(test_nice_step);
    RUN(test_escape);
    RUN(test_line_chart);
    RUN(test_bars);
    RUN(test_table_html);
    return DONE();
}
