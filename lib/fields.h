/* fields — split a record into fields without copying: blanks, TSV, CSV.
 *
 * A field is a slice of the caller's buffer. CSV follows RFC 4180: a field
 * may be quoted; inside quotes, separators and newlines are data and "" is a
 * quote. Such a field's slice excludes the outer quotes and carries
 * MK_FIELD_QUOTED, plus MK_FIELD_ESCAPED when it still contains "" pairs;
 * only then must it be unquoted (mk_field_unquote) before use. Strictness is
 * deliberate, because quote parity also decides where blocks are cut: a quote
 * inside an unquoted field, or anything but a separator or end of line after
 * a closing quote, is an error, as is a quote left open at the end of input.
 *
 * Line endings: LF or CRLF end a record; the CR is not part of the last field.
 *
 * All functions are pure and thread-safe; outputs go to caller arrays. When a
 * record has more fields than the array holds, the count is still returned
 * (as *nf) but only the first `max` are filled. */
#ifndef MK_FIELDS_H
#define MK_FIELDS_H

#include <stddef.h>
#include <stdint.h>

enum { MK_FIELD_QUOTED = 1, MK_FIELD_ESCAPED = 2 };

typedef struct {
    const char *ptr;
    uint32_t len;
    uint32_t flags;
} mk_field;

/* Blank-separated tokens (runs of spaces and tabs) of one line. */
size_t mk_split_blank(const char *p, size_t n, mk_field *f, size_t max);
/* TSV: every tab separates, no quoting. */
size_t mk_split_tsv(const char *p, size_t n, mk_field *f, size_t max);
/* Undo the escapes mk_out_tsv_field writes (\t \n \r \\; any other
 * backslash pair stands for its second byte) in place; returns the length. */
size_t mk_tsv_unescape(char *p, size_t n);

/* Parse one CSV record starting at p (p < end). On success returns 0, sets
 * *nf, *next (start of the following record, or end) and *newlines (LFs
 * consumed, including those inside quotes and the terminator). On a format
 * error returns -1 with *err_at pointing at the offending byte (for an open
 * quote: the opening quote) and *why a static reason. */
typedef struct {
    const char *next;
    size_t nf;
    size_t newlines;
    const char *err_at;
    const char *why;
} mk_csv_result;

int mk_csv_record(const char *p, const char *end, char sep, mk_field *f, size_t max,
                  mk_csv_result *res);

/* Copies the field's value into dst (room for f->len bytes), undoubling
 * quotes; returns its length. */
size_t mk_field_unquote(const mk_field *f, char *dst);

/* Column names of a header record: owned copies, unquoted, with a UTF-8 BOM
 * dropped from the first. */
typedef struct {
    char **names;
    size_t n;
} mk_header;

void mk_header_init(mk_header *h, const mk_field *f, size_t n);
/* Index of a column given as its name or as $N / N (1-based); -1 if none. */
int mk_header_find(const mk_header *h, const char *name, size_t len);
/* Suggestion for an unknown column name, or NULL. */
const char *mk_header_suggest(const mk_header *h, const char *name, size_t len);
void mk_header_free(mk_header *h);

#endif
