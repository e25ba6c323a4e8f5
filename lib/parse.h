/* parse — strict parsing of option and field values, and the human formatting
 * of numbers that every tool's text output uses.
 *
 * Parsers turn one value (an option argument, a config value, a record field)
 * into a number: integers, hex addresses, decimals, sizes (`64K`, `2GiB`),
 * durations (`500ms`, `1h30m`) and booleans. They are strict: the whole slice
 * must be the value, with no blanks, no trailing junk and no silent
 * saturation, so a typo is an error rather than a wrong answer. Formatters go
 * the other way for people: `1.50 KiB`, `2.35 s`, and the shortest decimal of
 * a double that reads back to the same double.
 *
 * Inputs are slices (s, n) into a bigger buffer and are NOT NUL-terminated:
 * no function reads s[n] or beyond, and s may be NULL when n is 0.
 *
 * Errors: a parser returns 0 and stores the value, or returns -1, leaves *out
 * untouched and records (mk_err_set) a message that says what was expected
 * and quotes what was found, e.g.
 *     expected a size like 64K, 50M or 2G, found '12K3'
 *     integer out of range: '99999999999999999999'
 * The quote shows at most 40 bytes (then "... (N bytes)"), with bytes outside
 * printable ASCII as \xNN and ' and \ escaped with a backslash. Messages start
 * lowercase with no prefix: the caller adds the context (option name,
 * file:line) with mk_err_prefix().
 *
 * Formatters write at most cap bytes including a terminating NUL (nothing
 * when cap is 0) and return the length actually written, so (buf, return
 * value) is always a valid slice; MK_FMT_BUFSZ bytes always hold the whole
 * text.
 *
 * Thread-safety: pure functions, thread-safe; the only shared state is the
 * thread-local error message. No allocation, except one temporary copy when
 * mk_parse_double() gets a plain integer longer than 64 bytes. Assumes the
 * "C" locale for LC_NUMERIC (strtod/snprintf decimal point).
 *
 * Cost: integer and hex parsers are single passes with no copying, for hot
 * paths. mk_parse_double() converts plain decimals of up to 15 significant
 * digits and exponents within 1e±22 exactly without strtod (Clinger's fast
 * path); others go through strtod on a stack copy. */
#ifndef MK_PARSE_H
#define MK_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* A buffer this big always holds the full output of every mk_fmt_*(). */
#define MK_FMT_BUFSZ 32

/* Decimal integers: [+-]?[0-9]+ for i64, [0-9]+ for u64 (no sign at all;
 * '-' is reported as "expected a non-negative integer"). Leading zeros are
 * allowed. Values outside INT64_MIN..INT64_MAX / 0..UINT64_MAX are errors
 * ("integer out of range"). */
int mk_parse_i64(const char *s, size_t n, int64_t *out);
int mk_parse_u64(const char *s, size_t n, uint64_t *out);

/* Hex address: optional 0x/0X, then 1 to 16 significant hex digits of either
 * case (leading zeros do not count). */
int mk_parse_hex(const char *s, size_t n, uint64_t *out);
/* Value of a hex digit byte (either case), 16 for any other byte: for hand
 * loops on hot paths that must not branch per digit. */
extern const uint8_t mk_hex_value[256];

/* Decimal floating point: [+-]?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?, so not
 * ".5", "5.", hex floats, inf or nan. The result is correctly rounded (as
 * strtod); underflow gives 0 or a subnormal, overflow is an error. Slices
 * over 64 bytes are rejected unless they are a plain [+-]?[0-9]+ integer. */
int mk_parse_double(const char *s, size_t n, double *out);
/* For hot loops over data: classify and convert without building a message.
 * MK_NUM_INT: an integer that fits int64 (*i and *d set); MK_NUM_REAL: any
 * other number mk_parse_double accepts (*d set); 0: not a number. */
enum { MK_NUM_INT = 1, MK_NUM_REAL = 2 };
int mk_parse_num(const char *s, size_t n, int64_t *i, double *d);

/* Size in bytes: [0-9]+(\.[0-9]+)? followed by nothing, B, or one of
 * K M G T P E (powers of 1024) optionally followed by B or iB; all letters
 * case-insensitive: 123, 123B, 64K, 64KB, 64KiB, 1.5G. A fraction is exact
 * and the result rounded down to whole bytes. Over UINT64_MAX is an error. */
int mk_parse_size(const char *s, size_t n, uint64_t *out);

/* Duration in nanoseconds: one or more NUMBER UNIT components, NUMBER as for
 * sizes, UNIT one of ns, us (or µs), ms, s, m, h, d (case-sensitive), in
 * strictly decreasing order: 500ms, 1.5s, 2h, 1h30m, 3m05s. A bare number
 * (only as the whole value) means seconds. Fractions are exact, rounded down
 * to whole nanoseconds. Over UINT64_MAX ns (about 584 years) is an error. */
int mk_parse_duration(const char *s, size_t n, uint64_t *out);

/* true/false, yes/no, on/off, 1/0, case-insensitive; *out = 1 or 0. */
int mk_parse_bool(const char *s, size_t n, int *out);

/* Human bytes: "0 B", "1023 B", then three significant digits in binary
 * units: "1.50 KiB", "15.0 KiB", "150 KiB", "1000 KiB", "12.3 MiB",
 * "1.00 GiB" ... "16.0 EiB" (exact, rounded half up; a value that would
 * round to 1024 of a unit is shown as 1.00 of the next). */
size_t mk_fmt_bytes(char *buf, size_t cap, uint64_t v);

/* Human duration: "850 ns", then three significant digits: "12.5 us",
 * "1.50 ms", "2.35 s"; from one minute on (59.95 s), to the nearest second,
 * minute or hour: "3m05s", "1h02m", "2d03h". All rounding is exact, half up.
 * Compound forms parse back with mk_parse_duration(). */
size_t mk_fmt_duration(char *buf, size_t cap, uint64_t ns);

/* Shortest of %.15g, %.16g, %.17g that strtod reads back as exactly v;
 * integral values with |v| < 1e15 without exponent or fraction ("3", "-0"),
 * "1e+20", "0.1"; NaN -> "nan", infinities -> "inf", "-inf". */
size_t mk_fmt_double(char *buf, size_t cap, double v);

#endif
