/* out — everything a tool writes to stdout or -o FILE, in one place.
 *
 * mk_out is a buffered writer. With a path it writes "PATH.tmp.XXXXXX" in the
 * same directory and renames it over PATH at mk_out_close(), so an
 * interrupted or failed run never leaves a half-written file; temporary files
 * are removed at exit and on SIGINT/SIGTERM/SIGHUP. Write errors are sticky
 * and reported once, by mk_out_close() ("-1", message in mk_err), except a
 * closed pipe (EPIPE on stdout), which ends the process quietly with status 0
 * as `| head` users expect. SIGPIPE is ignored once the first writer opens.
 *
 * mk_table is the report model every tool fills: named, typed columns and
 * rows of cells (any cell may be empty). One renderer writes it as text
 * (aligned columns; bytes as KiB/MiB, durations human, ratios as percent),
 * tsv, csv (RFC 4180, quoting only when needed), json (an array of objects)
 * or ndjson (one object per line). Machine formats carry raw numbers: bytes
 * and durations (ns) as integers, ratios as fractions, floats in the shortest
 * form that reads back exactly. Strings are copied into the table's arena.
 *
 * Neither is thread-safe: one thread writes a given mk_out or mk_table. */
#ifndef MK_OUT_H
#define MK_OUT_H

#include <stddef.h>
#include <stdint.h>

typedef enum { MK_FMT_TEXT, MK_FMT_TSV, MK_FMT_CSV, MK_FMT_JSON, MK_FMT_NDJSON } mk_format;
#define MK_FORMAT_CHOICES "text|tsv|csv|json|ndjson"

int mk_format_parse(const char *s, mk_format *f);
const char *mk_format_name(mk_format f);

typedef struct mk_out mk_out;

mk_out *mk_out_open(const char *path);          /* NULL or "-" = stdout */
/* A writer over the caller's fd (a spill file): buffered, errors name
 * `name`, and neither close nor discard closes the fd. */
mk_out *mk_out_open_fd(int fd, const char *name);
/* A writer into memory, for workers that render output to be written later
 * in order: mk_out_mem() gives everything written so far; reset empties it. */
mk_out *mk_out_open_mem(void);
const char *mk_out_mem(mk_out *o, size_t *len);
void mk_out_mem_reset(mk_out *o);
void mk_out_write(mk_out *o, const void *p, size_t n);
void mk_out_str(mk_out *o, const char *s);
void mk_out_char(mk_out *o, char c);
void mk_out_printf(mk_out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mk_out_u64(mk_out *o, uint64_t v);
void mk_out_i64(mk_out *o, int64_t v);
void mk_out_double(mk_out *o, double v);        /* shortest exact form */
/* Exactly what printf's %a writes (glibc), without printf: state files and
 * spills write millions of doubles that must read back bit for bit. */
void mk_out_hex_double(mk_out *o, double v);
void mk_out_csv_field(mk_out *o, const char *p, size_t n, char sep);  /* quoted if needed */
void mk_out_json_str(mk_out *o, const char *p, size_t n);             /* with quotes */
/* Whether s is a valid JSON number (RFC 8259 grammar). */
int mk_json_number(const char *s, size_t n);
/* TSV cannot quote: tab, LF, CR and backslash are written as \t \n \r \\. */
void mk_out_tsv_field(mk_out *o, const char *p, size_t n);
/* Escape &, <, >, " and ' for HTML/XML text and attribute values. */
void mk_out_html(mk_out *o, const char *p, size_t n);
int mk_out_flush(mk_out *o);
uint64_t mk_out_bytes(const mk_out *o);
int mk_out_close(mk_out *o);                    /* commit; -1 on any write error */
void mk_out_discard(mk_out *o);                 /* drop a file being written */

typedef enum {
    MK_COL_STR,
    MK_COL_INT,        /* int64 */
    MK_COL_UINT,       /* uint64 */
    MK_COL_BYTES,      /* uint64 bytes: text shows KiB/MiB */
    MK_COL_FLOAT,      /* double */
    MK_COL_RATIO,      /* double fraction: text shows percent */
    MK_COL_DURATION,   /* uint64 ns: text shows 1.5 s */
    MK_COL_NUM,        /* a number already formatted (mk_table_str): exact
                          128-bit integers, full-precision decimals; written
                          as is, right-aligned in text, bare in JSON */
    MK_COL_JSON,       /* JSON text (mk_table_str): bare in json and ndjson,
                          as text elsewhere, left-aligned */
} mk_coltype;

typedef struct mk_table mk_table;

mk_table *mk_table_new(void);
size_t mk_table_col(mk_table *t, const char *name, mk_coltype type);
void mk_table_row(mk_table *t);                 /* start a row; cells default to empty */
void mk_table_str(mk_table *t, size_t col, const char *p, size_t n);
void mk_table_cstr(mk_table *t, size_t col, const char *s);
void mk_table_int(mk_table *t, size_t col, int64_t v);
void mk_table_uint(mk_table *t, size_t col, uint64_t v);
void mk_table_float(mk_table *t, size_t col, double v);
size_t mk_table_rows(const mk_table *t);
/* The machine (tsv/csv) text of a cell into *s (buf, 64 bytes, holds numbers;
 * strings point into the table); 0 when the cell is empty. */
int mk_table_cell(const mk_table *t, size_t row, size_t col, char *buf, size_t cap,
                  const char **s, size_t *n);
void mk_table_write(const mk_table *t, mk_format f, mk_out *o);
/* An HTML <table>: cells as in text (KiB, percent), numbers right-aligned
 * (class "num"), the exact machine value in a title attribute where the
 * text rounds it. */
void mk_table_write_html(const mk_table *t, mk_out *o);
/* A table too big to hold is written in pieces with the same columns: the
 * header goes out with the first piece, JSON's brackets around all of them
 * (last = 1 on the final piece, which may have no rows). Text alignment
 * needs the widths of every piece: add each piece's mk_table_widths() into
 * one array (zeroed, one per column) first and set pos.widths; without it
 * each piece is aligned on its own. mk_table_clear_rows() empties a table
 * for the next piece, keeping its columns. */
typedef struct {
    const size_t *widths;      /* text: column widths, or NULL */
    uint64_t rows;             /* rows written so far */
    int started;
} mk_table_pos;
void mk_table_write_piece(const mk_table *t, mk_format f, mk_out *o, mk_table_pos *pos, int last);
void mk_table_widths(const mk_table *t, size_t *w);
void mk_table_clear_rows(mk_table *t);
void mk_table_free(mk_table *t);

#endif
