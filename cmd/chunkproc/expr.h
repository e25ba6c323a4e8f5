/* expr — chunkproc's --where language: parse once, bind to columns, evaluate
 * per row.
 *
 *   expr := expr or expr | expr and expr | not expr | ( expr ) | VALUE OP VALUE
 *   OP   := = == != <> < <= > >= ~ !~        (~ is a POSIX extended regex match)
 *   VALUE:= column name | `column name` | $N | number | 'string' | "string"
 *
 * A comparison with a number literal compares numerically and is false when
 * the field is not a number; a string literal compares bytewise; two columns
 * compare numerically when both are numbers, bytewise otherwise. Logic is
 * three-valued as in SQL: a comparison with a missing (empty) field, or of a
 * number literal with a non-number, is unknown, `not unknown` is unknown, and
 * only rows that are true match — so a missing value never matches, even
 * under `not` or `!=`. Keywords are
 * case-insensitive; quotes inside strings are doubled ('it''s').
 *
 * Errors name the 1-based column of the expression where they were found.
 * A bound expression is read-only during evaluation, so worker threads share
 * it; each thread passes its own scratch buffer for unquoting. */
#ifndef CP_EXPR_H
#define CP_EXPR_H

#include <stddef.h>

#include "fields.h"

typedef struct cp_expr cp_expr;

/* Parse; on error returns NULL and sets mk_err ("column N: ..."). */
cp_expr *cp_expr_parse(const char *src);
/* Resolve column names against the header; -1 with mk_err on an unknown
 * column (with a suggestion). */
int cp_expr_bind(cp_expr *e, const mk_header *h);
/* Highest column index the expression reads, or -1. */
int cp_expr_max_column(const cp_expr *e);
/* 1 if the row matches. f/nf: the row's fields; tmp: scratch of at least the
 * longest field's size + 1. */
int cp_expr_eval(const cp_expr *e, const mk_field *f, size_t nf, char *tmp);
void cp_expr_free(cp_expr *e);

#endif
