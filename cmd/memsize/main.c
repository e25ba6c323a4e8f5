/* memsize — exact sizes of the same data in CPython and C structures, and
 * what a better struct layout or __slots__ saves.
 *
 * Flow, values: options → every input (one value a line, or one column of
 * a CSV/TSV; plain, zstd or gzip) typed and tallied in one pass in bounded
 * memory (values.c) → per model and structure the shallow and deep bytes
 * (pymodel.c, cmodel.c) → one table. Flow, --layout: YAML struct and class
 * definitions (layout.c) → per struct its layout, holes, padding and best
 * order, per class regular vs __slots__ → a table, or with --suggest the
 * techniques that shrink each one (suggest.c). Exit 0, or 2 on bad usage
 * or input. */
#include "cli.h"
#include "cmodel.h"
#include "err.h"
#include "fields.h"
#include "layout.h"
#include "out.h"
#include "pymodel.h"
#include "source.h"
#include "blocks.h"
#include "suggest.h"
#include "values.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---------------------------------------------------------------------------- */

static mk_list python_opt;
static char *model_opt = "all", *type_opt, *column_opt;
static char *layout_opt, *abi_opt = "x86_64", *target_opt;
static int no_header, count_shared, allocated, suggest, show;
static uint64_t memory = 64ull << 20;
static mk_cli cli;

static const mk_opt opts[] = {
    { "python", 0, MK_ARG_LIST, &python_opt, "VER", "CPython versions to model: 3.11, 3.12, 3.13 "
      "or all (comma-separated)", NULL, "3.11" },
    { "model", 0, MK_ARG_CHOICE, &model_opt, "MODEL", "which structures: python, c or all", "python|c|all",
      "all" },
    { "type", 0, MK_ARG_CHOICE, &type_opt, "TYPE", "read every value as this type (default: each "
      "value's own)", "int|float|str", NULL },
    { "column", 0, MK_ARG_STR, &column_opt, "NAME|N", "the values are this column of a CSV or TSV "
      "input (name, or 1-based number)" },
    { "no-header", 0, MK_ARG_FLAG, &no_header, NULL, "--column: the first row is data" },
    { "count-shared", 0, MK_ARG_FLAG, &count_shared, NULL, "count the objects CPython shares (small ints, "
      "'', one-character strings) once each instead of 0" },
    { "allocated", 0, MK_ARG_FLAG, &allocated, NULL, "add the bytes the allocator really hands out "
      "(what tracemalloc measures)" },
    { "memory", 0, MK_ARG_SIZE, &memory, "SIZE", "memory for exact distinct counts; past it set and dict "
      "sizes are HyperLogLog estimates", NULL, "64M" },
    { "layout", 0, MK_ARG_STR, &layout_opt, "FILE", "lay out the C structs and Python classes of a YAML "
      "file instead of reading values" },
    { "abi", 0, MK_ARG_CHOICE, &abi_opt, "ABI", "--layout: the ABI to lay structs out for",
      "x86_64|i386|aarch64", "x86_64" },
    { "show", 0, MK_ARG_FLAG, &show, NULL, "--layout: print each struct field by field, with its holes, "
      "and in its best order" },
    { "suggest", 0, MK_ARG_FLAG, &suggest, NULL, "--layout: the techniques that shrink each struct and "
      "class, alone and combined" },
    { "target", 0, MK_ARG_STR, &target_opt, "PCT", "--suggest: the saving to reach, e.g. 50%", NULL, "50%" },
    { 0 },
};

static const mk_cli_spec spec = {
    "memsize", "[OPTIONS] [FILE...]",
    "Exact sizes of the same data in CPython and C structures.",
    "Input: values one per line (or --column of a CSV/TSV), plain, zstd or gzip.\n"
    "Each value is an int, a float or a string, as Python would parse it.\n"
    "\n"
    "With --layout, reads C structs and Python classes from YAML instead and\n"
    "reports sizes, holes, padding and the best field order (--suggest: what\n"
    "each technique saves).\n"
    "\n"
    "Examples:\n"
    "  seq 1000000 | memsize\n"
    "  memsize --python all --model python ids.txt.zst\n"
    "  memsize --column user_id -f tsv events.csv\n"
    "  memsize --layout structs.yaml --suggest --target 50%",
    opts, MK_STD_CONFIG | MK_STD_FORMAT | MK_STD_OUTPUT | MK_STD_QUIET,
    NULL, NULL, NULL,
};

/* ---- reading ------------------------------------------------------------------------------ */

static int add_value(ms_values *v, const char *name, uint64_t line, const char *p, size_t n)
{
    if (ms_values_add(v, p, n) < 0)
        return mk_err_prefix("%s:%llu: ", name, (unsigned long long)line);
    return 0;
}

static int read_lines(ms_values *v, mk_blocks *bl, const char *name)
{
    mk_block *b;
    int r;
    while ((r = mk_blocks_next(bl, &b)) > 0) {
        uint64_t line = b->first_line;
        int rc = ms_values_add_lines(v, b->data, b->data + b->len, &line);
        mk_blocks_release(bl, b);
        if (rc < 0)
            return mk_err_prefix("%s:%llu: ", name, (unsigned long long)line);
    }
    return r;
}

enum { MAX_FIELDS = 4096 };

/* One column of a CSV or TSV: the header (or --no-header) binds it; a tab
 * in the first line means TSV. */
static int read_column(ms_values *v, mk_blocks *bl, const char *name)
{
    mk_block *b;
    int r, tsv = -1, col = -1;
    mk_field *f = mk_xmalloc(MAX_FIELDS * sizeof *f);
    char *tmp = NULL;
    size_t tmpcap = 0;
    while ((r = mk_blocks_next(bl, &b)) > 0) {
        const char *p = b->data, *end = p + b->len;
        uint64_t line = b->first_line;
        if (tsv < 0) {
            const char *eol = memchr(p, '\n', (size_t)(end - p));
            tsv = memchr(p, '\t', (size_t)((eol ? eol : end) - p)) != NULL;
        }
        while (p < end) {
            size_t nf, used_lines;
            const char *next;
            if (tsv) {
                const char *eol = memchr(p, '\n', (size_t)(end - p));
                const char *e = eol ? eol : end;
                size_t n = (size_t)(e - p);
                if (n && p[n - 1] == '\r')
                    n--;
                nf = mk_split_tsv(p, n, f, MAX_FIELDS);
                next = eol ? eol + 1 : end;
                used_lines = 1;
            } else {
                mk_csv_result cr;
                if (mk_csv_record(p, end, ',', f, MAX_FIELDS, &cr) < 0) {
                    mk_blocks_release(bl, b);
                    free(f);
                    free(tmp);
                    return mk_err_set("%s:%llu: %s", name, (unsigned long long)line, cr.why);
                }
                nf = cr.nf;
                next = cr.next;
                used_lines = cr.newlines ? cr.newlines : 1;
            }
            if (col < 0) {
                mk_header h;
                if (no_header) {
                    char *endp;
                    unsigned long k = strtoul(column_opt, &endp, 10);
                    col = *endp || k == 0 ? -2 : (int)k - 1;
                } else {
                    mk_header_init(&h, f, nf < MAX_FIELDS ? nf : MAX_FIELDS);
                    col = mk_header_find(&h, column_opt, strlen(column_opt));
                    if (col < 0) {
                        const char *s = mk_header_suggest(&h, column_opt, strlen(column_opt));
                        if (s)
                            mk_err_set("%s:%llu: no column '%s' (did you mean '%s'?)", name,
                                       (unsigned long long)line, column_opt, s);
                        else
                            mk_err_set("%s:%llu: no column '%s'", name, (unsigned long long)line, column_opt);
                    }
                    mk_header_free(&h);
                }
                if (col == -2)
                    mk_err_set("--column %s: with --no-header give a column number", column_opt);
                if (col < 0) {
                    mk_blocks_release(bl, b);
                    free(f);
                    free(tmp);
                    return -1;
                }
                if (!no_header) {
                    line += used_lines;
                    p = next;
                    continue;
                }
            }
            if ((size_t)col >= nf) {
                mk_blocks_release(bl, b);
                free(f);
                free(tmp);
                return mk_err_set("%s:%llu: %zu fields, no column %d", name, (unsigned long long)line, nf,
                                  col + 1);
            }
            const char *vp = f[col].ptr;
            size_t vn = f[col].len;
            if (f[col].flags & MK_FIELD_ESCAPED) {
                if (tmpcap < vn) {
                    tmpcap = vn;
                    tmp = mk_xrealloc(tmp, tmpcap);
                }
                vn = mk_field_unquote(&f[col], tmp);
                vp = tmp;
            }
            if (add_value(v, name, line, vp, vn) < 0) {
                mk_blocks_release(bl, b);
                free(f);
                free(tmp);
                return -1;
            }
            line += used_lines;
            p = next;
        }
        mk_blocks_release(bl, b);
    }
    free(f);
    free(tmp);
    return r;
}

static void read_input(ms_values *v, char **files, int nfiles)
{
    for (int i = 0; i < nfiles; i++) {
        mk_source *src = mk_source_open(files[i]);
        if (!src)
            mk_die_err();
        mk_blocks_opts o;
        mk_blocks_defaults(&o);
        o.threaded = 1;
        o.check_nul = 1;
        if (column_opt)
            o.split = MK_SPLIT_CSV;
        mk_blocks *bl = mk_blocks_open(src, &o);
        if (!bl)
            mk_die_err();
        const char *name = mk_source_name(src);
        int rc = column_opt ? read_column(v, bl, name) : read_lines(v, bl, name);
        mk_blocks_close(bl);
        if (rc < 0)
            mk_die_err();
        mk_source_close(src);
    }
}

/* ---- report --------------------------------------------------------------------------------- */

/* The table on stdout or -o, in the chosen format. */
static void write_table(mk_table *t)
{
    mk_out *o = mk_out_open(cli.output);
    if (!o)
        mk_die_err();
    mk_table_write(t, cli.format, o);
    if (mk_out_close(o) < 0)
        mk_die_err();
    mk_table_free(t);
}

typedef struct {
    const char *model, *structure, *detail;
    int available, estimate;
    uint64_t count, shallow, deep, alloc_shallow, alloc_deep;
} row;

static void report(const ms_result *r, const ms_pyver **vers, size_t nvers, int want_py, int want_c)
{
    row rows[64];
    size_t n = 0;
    static char names[8][32];
    static char details[64][32];
    ms_pyopts po = { count_shared };
    for (size_t i = 0; want_py && i < nvers; i++) {
        snprintf(names[i], sizeof names[i], "python%s", ms_pyver_name(vers[i]));
        for (int s = 0; s < MS_PY_STRUCTURES; s++) {
            ms_pysize z;
            ms_py_size(vers[i], s, r, &po, &z);
            row *w = &rows[n];
            *w = (row){ names[i], ms_py_structure[s], z.note, z.available,
                        !r->exact && (s == MS_PY_SET || s == MS_PY_FROZENSET || s == MS_PY_DICT),
                        z.count, z.shallow, z.deep, z.alloc_shallow, z.alloc_deep };
            if (z.typecode) {
                snprintf(details[n], sizeof details[n], "typecode %c", z.typecode);
                w->detail = details[n];
            }
            n++;
        }
    }
    for (int s = 0; want_c && s < MS_C_STRUCTURES; s++) {
        ms_csize z;
        ms_c_size(s, r, &z);
        rows[n] = (row){ "c", ms_c_structure[s], z.note ? z.note : z.ctype, z.available,
                         !r->exact && s == MS_C_HASHSET, z.count, z.shallow, z.deep, z.shallow, z.deep };
        n++;
    }
    uint64_t smallest = UINT64_MAX;
    for (size_t i = 0; i < n; i++)
        if (rows[i].available && rows[i].deep < smallest)
            smallest = rows[i].deep;

    mk_table *t = mk_table_new();
    size_t c_model = mk_table_col(t, "model", MK_COL_STR);
    size_t c_struct = mk_table_col(t, "structure", MK_COL_STR);
    size_t c_count = mk_table_col(t, "count", MK_COL_UINT);
    size_t c_shallow = mk_table_col(t, "shallow", MK_COL_UINT);
    size_t c_deep = mk_table_col(t, "deep", MK_COL_UINT);
    size_t c_per = mk_table_col(t, "per_item", MK_COL_FLOAT);
    size_t c_ratio = mk_table_col(t, "ratio", MK_COL_FLOAT);
    size_t c_ash = 0, c_adeep = 0;
    if (allocated) {
        c_ash = mk_table_col(t, "alloc_shallow", MK_COL_UINT);
        c_adeep = mk_table_col(t, "alloc_deep", MK_COL_UINT);
    }
    size_t c_exact = mk_table_col(t, "exact", MK_COL_STR);
    size_t c_err = mk_table_col(t, "error", MK_COL_RATIO);
    size_t c_detail = mk_table_col(t, "detail", MK_COL_STR);
    for (size_t i = 0; i < n; i++) {
        row *w = &rows[i];
        mk_table_row(t);
        mk_table_cstr(t, c_model, w->model);
        mk_table_cstr(t, c_struct, w->structure);
        mk_table_uint(t, c_count, w->count);
        if (w->available) {
            mk_table_uint(t, c_shallow, w->shallow);
            mk_table_uint(t, c_deep, w->deep);
            if (w->count)
                mk_table_float(t, c_per, (double)w->deep / (double)w->count);
            if (smallest && smallest != UINT64_MAX)
                mk_table_float(t, c_ratio, (double)w->deep / (double)smallest);
            if (allocated) {
                mk_table_uint(t, c_ash, w->alloc_shallow);
                mk_table_uint(t, c_adeep, w->alloc_deep);
            }
        }
        mk_table_cstr(t, c_exact, w->estimate ? "estimate" : "exact");
        if (w->estimate)
            mk_table_float(t, c_err, r->rel_error);
        if (w->detail)
            mk_table_cstr(t, c_detail, w->detail);
    }
    write_table(t);
}

/* ---- layouts ----------------------------------------------------------------------------------- */

/* The best order as field names, comma-separated. */
static char *order_names(const ml_struct *s, const size_t *order)
{
    size_t len = 1;
    for (size_t i = 0; i < s->nfields; i++)
        len += strlen(s->fields[i].name) + 1;
    char *b = mk_xmalloc(len), *p = b;
    *p = 0;
    for (size_t i = 0; i < s->nfields; i++)
        p += sprintf(p, "%s%s", i ? "," : "", s->fields[order[i]].name);
    return b;
}

static void layout_table(const ml_doc *d, ml_abi abi, const ms_pyver **vers, size_t nvers)
{
    mk_table *t = mk_table_new();
    size_t c_name = mk_table_col(t, "name", MK_COL_STR), c_kind = mk_table_col(t, "kind", MK_COL_STR);
    size_t c_size = mk_table_col(t, "size", MK_COL_UINT), c_align = mk_table_col(t, "align", MK_COL_UINT);
    size_t c_holes = mk_table_col(t, "holes", MK_COL_UINT), c_hb = mk_table_col(t, "hole_bytes", MK_COL_UINT);
    size_t c_pad = mk_table_col(t, "padding", MK_COL_UINT), c_best = mk_table_col(t, "best_size", MK_COL_UINT);
    size_t c_saving = mk_table_col(t, "saving", MK_COL_UINT), c_count = mk_table_col(t, "count", MK_COL_UINT);
    size_t c_total = mk_table_col(t, "total", MK_COL_UINT);
    size_t c_tsaving = mk_table_col(t, "total_saving", MK_COL_UINT);
    size_t c_bh = mk_table_col(t, "bit_holes", MK_COL_UINT), c_bhb = mk_table_col(t, "bit_hole_bits", MK_COL_UINT);
    size_t c_model = mk_table_col(t, "model", MK_COL_STR), c_proven = mk_table_col(t, "proven", MK_COL_STR);
    size_t c_order = mk_table_col(t, "best_order", MK_COL_STR);
    for (size_t i = 0; i < d->nstructs; i++) {
        const ml_struct *s = &d->structs[i];
        ml_layout l;
        size_t *order = mk_xmalloc((s->nfields ? s->nfields : 1) * sizeof *order);
        uint64_t best;
        int proven;
        if (ml_lay_out(d, abi, s->fields, s->nfields, &l) < 0 ||
            ml_best_order(d, abi, s->fields, s->nfields, order, &best, &proven) < 0)
            mk_die("%s:%zu:%zu: struct %s: %s", d->file, s->line, s->col, s->name, mk_err_msg());
        uint64_t count = s->has_count ? s->count : 1;
        mk_table_row(t);
        mk_table_cstr(t, c_name, s->name);
        mk_table_cstr(t, c_kind, "struct");
        mk_table_uint(t, c_size, l.size);
        mk_table_uint(t, c_align, l.align);
        mk_table_uint(t, c_holes, l.holes);
        mk_table_uint(t, c_hb, l.hole_bytes);
        mk_table_uint(t, c_pad, l.padding);
        mk_table_uint(t, c_best, best);
        mk_table_uint(t, c_saving, l.size - best);
        mk_table_uint(t, c_count, count);
        mk_table_uint(t, c_total, l.size * count);
        mk_table_uint(t, c_tsaving, (l.size - best) * count);
        mk_table_uint(t, c_bh, l.bit_holes);
        mk_table_uint(t, c_bhb, l.bit_hole_bits);
        mk_table_cstr(t, c_model, ml_abi_name(abi));
        mk_table_cstr(t, c_proven, proven ? "yes" : "no");
        char *names = order_names(s, order);
        mk_table_cstr(t, c_order, names);
        free(names);
        free(order);
        ml_layout_free(&l);
    }
    for (size_t i = 0; i < d->nclasses; i++)
        for (size_t k = 0; k < nvers; k++) {
            const ml_class *c = &d->classes[i];
            ms_pyclass pc;
            ms_py_class(vers[k], c->nattrs, c->count, &pc);
            char model[32];
            snprintf(model, sizeof model, "python%s", ms_pyver_name(vers[k]));
            mk_table_row(t);
            mk_table_cstr(t, c_name, c->name);
            mk_table_cstr(t, c_kind, "class");
            mk_table_uint(t, c_size, pc.regular);
            mk_table_uint(t, c_align, 8);
            mk_table_uint(t, c_holes, 0);
            mk_table_uint(t, c_hb, 0);
            mk_table_uint(t, c_pad, 0);
            mk_table_uint(t, c_best, pc.slots);
            mk_table_uint(t, c_saving, pc.regular > pc.slots ? pc.regular - pc.slots : 0);
            mk_table_uint(t, c_count, c->count);
            mk_table_uint(t, c_total, pc.regular_total);
            mk_table_uint(t, c_tsaving, pc.regular_total > pc.slots_total ? pc.regular_total - pc.slots_total : 0);
            mk_table_cstr(t, c_model, model);
            mk_table_cstr(t, c_proven, "yes");
            mk_table_cstr(t, c_order, "__slots__");
        }
    write_table(t);
}

/* --show: the struct as declared, field by field with offsets, sizes and
 * holes as pahole prints them, then in its best order. */
static void show_fields(mk_out *o, const ml_doc *d, ml_abi abi, const ml_struct *s, const ml_field *f,
                        size_t n, const char *title)
{
    ml_layout l;
    if (ml_lay_out(d, abi, f, n, &l) < 0)
        mk_die("%s:%zu:%zu: struct %s: %s", d->file, s->line, s->col, s->name, mk_err_msg());
    mk_out_printf(o, "struct %s { /* %s: size %llu, align %llu */\n", s->name, title,
                  (unsigned long long)l.size, (unsigned long long)l.align);
    uint64_t end_bit = 0;
    for (size_t i = 0; i < l.nplaced; i++) {
        const ml_placed *pl = &l.placed[i];
        const ml_field *fi = &f[pl->field];
        uint64_t start = pl->offset * 8 + pl->bit_offset;
        if (start > end_bit) {
            uint64_t gap = start - end_bit;
            if (gap % 8 == 0 && end_bit % 8 == 0)
                mk_out_printf(o, "        /* hole: %llu byte%s */\n", (unsigned long long)(gap / 8),
                              gap == 8 ? "" : "s");
            else
                mk_out_printf(o, "        /* hole: %llu bit%s */\n", (unsigned long long)gap, gap == 1 ? "" : "s");
        }
        char decl[256];
        size_t tl = strlen(fi->type);
        int k = snprintf(decl, sizeof decl, "%s%s%s", fi->type, tl && fi->type[tl - 1] == '*' ? "" : " ",
                         fi->name);
        if (fi->count)
            k += snprintf(decl + k, sizeof decl - (size_t)k, "[%llu]", (unsigned long long)fi->count);
        if (fi->is_bitfield)
            k += snprintf(decl + k, sizeof decl - (size_t)k, ":%u", fi->bits);
        snprintf(decl + k, sizeof decl - (size_t)k, ";");
        uint64_t bits = fi->is_bitfield ? fi->bits : pl->size * 8;
        mk_out_printf(o, "    %-36s /* %6llu", decl, (unsigned long long)pl->offset);
        if (fi->is_bitfield)
            mk_out_printf(o, ":%-2u %4llu bits */\n", pl->bit_offset, (unsigned long long)bits);
        else
            mk_out_printf(o, "    %6llu */\n", (unsigned long long)pl->size);
        end_bit = start + bits;
    }
    if (l.padding)
        mk_out_printf(o, "        /* padding: %llu */\n", (unsigned long long)l.padding);
    mk_out_printf(o, "};  /* holes: %llu, sum holes: %llu, bit holes: %llu (%llu bits), padding: %llu */\n\n",
                  (unsigned long long)l.holes, (unsigned long long)l.hole_bytes,
                  (unsigned long long)l.bit_holes, (unsigned long long)l.bit_hole_bits,
                  (unsigned long long)l.padding);
    ml_layout_free(&l);
}

static void show_structs(const ml_doc *d, ml_abi abi)
{
    mk_out *o = mk_out_open(cli.output);
    if (!o)
        mk_die_err();
    for (size_t i = 0; i < d->nstructs; i++) {
        const ml_struct *s = &d->structs[i];
        show_fields(o, d, abi, s, s->fields, s->nfields, "as declared");
        size_t *order = mk_xmalloc((s->nfields ? s->nfields : 1) * sizeof *order);
        ml_field *f = mk_xmalloc((s->nfields ? s->nfields : 1) * sizeof *f);
        uint64_t best;
        int proven;
        if (ml_best_order(d, abi, s->fields, s->nfields, order, &best, &proven) < 0)
            mk_die("%s:%zu:%zu: struct %s: %s", d->file, s->line, s->col, s->name, mk_err_msg());
        for (size_t k = 0; k < s->nfields; k++)
            f[k] = s->fields[order[k]];
        show_fields(o, d, abi, s, f, s->nfields, proven ? "best order" : "best order found (not proven)");
        free(order);
        free(f);
    }
    if (mk_out_close(o) < 0)
        mk_die_err();
}

static double parse_target(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || (*end && strcmp(end, "%") != 0) || v <= 0 || v >= 100)
        mk_cli_usage_error(&cli, "--target: a percentage between 0 and 100, such as 50%%, not '%s'", s);
    return v / 100;
}

static void suggest_table(const ml_doc *d, ml_abi abi, const ms_pyver **vers, size_t nvers)
{
    double target = parse_target(target_opt ? target_opt : "50%");
    mk_table *t = mk_table_new();
    size_t c_name = mk_table_col(t, "name", MK_COL_STR), c_kind = mk_table_col(t, "kind", MK_COL_STR);
    size_t c_step = mk_table_col(t, "step", MK_COL_UINT), c_tech = mk_table_col(t, "technique", MK_COL_STR);
    size_t c_before = mk_table_col(t, "before", MK_COL_UINT), c_alone = mk_table_col(t, "alone", MK_COL_UINT);
    size_t c_apct = mk_table_col(t, "alone_saving", MK_COL_RATIO);
    size_t c_cum = mk_table_col(t, "cumulative", MK_COL_UINT);
    size_t c_cpct = mk_table_col(t, "cumulative_saving", MK_COL_RATIO);
    size_t c_count = mk_table_col(t, "count", MK_COL_UINT);
    size_t c_tb = mk_table_col(t, "total_before", MK_COL_UINT), c_ta = mk_table_col(t, "total_after", MK_COL_UINT);
    size_t c_met = mk_table_col(t, "target_met", MK_COL_STR), c_model = mk_table_col(t, "model", MK_COL_STR);
    size_t c_what = mk_table_col(t, "what", MK_COL_STR);
    size_t nplans = d->nstructs + d->nclasses * nvers;
    for (size_t i = 0; i < nplans; i++) {
        ms_plan p;
        const char *name, *kind;
        char model[32];
        if (i < d->nstructs) {
            if (ms_suggest_struct(d, abi, i, &p) < 0)
                mk_die("%s:%zu:%zu: struct %s: %s", d->file, d->structs[i].line, d->structs[i].col,
                       d->structs[i].name, mk_err_msg());
            name = d->structs[i].name;
            kind = "struct";
            snprintf(model, sizeof model, "%s", ml_abi_name(abi));
        } else {
            size_t ci = (i - d->nstructs) / nvers;
            const ms_pyver *v = vers[(i - d->nstructs) % nvers];
            if (ms_suggest_class(d, v, ci, &p) < 0)
                mk_die_err();
            name = d->classes[ci].name;
            kind = "class";
            snprintf(model, sizeof model, "python%s", ms_pyver_name(v));
        }
        uint64_t total_before = p.before * p.count + p.before_once;
        for (size_t k = 0; k < (p.nsteps ? p.nsteps : 1); k++) {
            mk_table_row(t);
            mk_table_cstr(t, c_name, name);
            mk_table_cstr(t, c_kind, kind);
            mk_table_uint(t, c_before, p.before);
            mk_table_uint(t, c_count, p.count);
            mk_table_uint(t, c_tb, total_before);
            mk_table_cstr(t, c_model, model);
            if (!p.nsteps) {
                mk_table_uint(t, c_step, 0);
                mk_table_cstr(t, c_tech, "none");
                mk_table_cstr(t, c_what, "no technique saves anything here");
                mk_table_uint(t, c_ta, total_before);
                mk_table_cstr(t, c_met, "no");
                continue;
            }
            const ms_step *st = &p.steps[k];
            uint64_t after = st->cumulative * p.count + st->once_cumulative;
            mk_table_uint(t, c_step, k + 1);
            mk_table_cstr(t, c_tech, st->technique);
            mk_table_uint(t, c_alone, st->alone);
            mk_table_uint(t, c_cum, st->cumulative);
            if (p.before) {
                mk_table_float(t, c_apct, 1 - (double)st->alone / (double)p.before);
                mk_table_float(t, c_cpct, 1 - (double)st->cumulative / (double)p.before);
            }
            mk_table_uint(t, c_ta, after);
            int met = total_before && 1 - (double)after / (double)total_before >= target - 1e-12;
            mk_table_cstr(t, c_met, met ? "yes" : "no");
            if (st->combined) {
                mk_table_cstr(t, c_what, st->what);
            } else {
                char w[320];
                snprintf(w, sizeof w, "%s (alone only: nothing more on top of the steps above)", st->what);
                mk_table_cstr(t, c_what, w);
            }
        }
    }
    write_table(t);
}

static void run_layout(const ms_pyver **vers, size_t nvers)
{
    ml_abi abi;
    if (ml_abi_parse(abi_opt, &abi) < 0)
        mk_cli_usage_error(&cli, "--abi: %s", mk_err_msg());
    ml_doc *d = ml_load(layout_opt);
    if (!d || ml_resolve(d) < 0)
        mk_die_err();
    if (suggest)
        suggest_table(d, abi, vers, nvers);
    else if (show && cli.format == MK_FMT_TEXT)
        show_structs(d, abi);
    else
        layout_table(d, abi, vers, nvers);
    ml_free(d);
}

/* ---- main ------------------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    const ms_pyver *vers[8];
    size_t nvers = 0;
    if (python_opt.n == 0) {
        vers[nvers++] = ms_pyver_find("3.11");
    }
    for (size_t i = 0; i < python_opt.n; i++) {
        if (strcmp(python_opt.v[i], "all") == 0) {
            nvers = 0;
            for (int k = 0; ms_pyver_at(k); k++)
                vers[nvers++] = ms_pyver_at(k);
            break;
        }
        const ms_pyver *pv = ms_pyver_find(python_opt.v[i]);
        if (!pv)
            mk_cli_usage_error(&cli, "--python: unknown version '%s' (3.11, 3.12, 3.13 or all)", python_opt.v[i]);
        if (nvers < 3)
            vers[nvers++] = pv;
    }
    if (layout_opt) {
        if (first < argc)
            mk_cli_usage_error(&cli, "--layout reads its YAML file, not '%s'", argv[first]);
        run_layout(vers, nvers);
        return 0;
    }
    if (suggest || show || target_opt)
        mk_cli_usage_error(&cli, "--%s needs --layout", suggest ? "suggest" : show ? "show" : "target");
    int type = MS_ANY;
    if (type_opt)
        type = strcmp(type_opt, "int") == 0 ? MS_INT : strcmp(type_opt, "float") == 0 ? MS_FLOAT : MS_STR;
    if (no_header && !column_opt)
        mk_cli_usage_error(&cli, "--no-header needs --column");
    int nfiles;
    char **files = mk_cli_files(argc, argv, first, &nfiles);
    /* The blocks in flight, the decompressor and the rest of the process
     * take ~10 MiB; the distinct table gets the remainder of the budget. */
    uint64_t table = memory > (32ull << 20) ? memory - (16ull << 20) : memory / 2;
    ms_values_opts vo = { type, table };
    ms_values *v = ms_values_new(&vo);
    read_input(v, files, nfiles);
    const ms_result *r = ms_values_result(v);
    report(r, vers, nvers, strcmp(model_opt, "c") != 0, strcmp(model_opt, "python") != 0);
    ms_values_free(v);
    return 0;
}
