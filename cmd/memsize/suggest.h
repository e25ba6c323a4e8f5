/* suggest — what each memory-saving technique does to one struct or class,
 * alone and combined, measured by laying the rewritten struct out again
 * (layout.c) or sizing the rewritten class (pymodel.c), never estimated.
 *
 * Struct techniques (each applies only where the file says enough):
 *   reorder        the best field order (ml_best_order)
 *   narrow         integer fields with a range: the narrowest intN_t /
 *                  uintN_t that holds it
 *   bitfields      bool fields, and integers whose range is [0, 1], as
 *                  1-bit fields
 *   intern         pointer fields with `distinct: N`: an index into a table
 *                  of the N distinct targets (uint8_t/16/32), the table's
 *                  N pointers paid once
 *   soa            struct of arrays: one array per field, so no padding
 * Class techniques: slots (__slots__ instead of an instance dict);
 * with `list_len: N` (each instance holds a list of N floats): tuple
 * instead of list, array('d') instead of list; with `distinct` and
 * `str_len` (attrs holding one of N strings of L characters): intern,
 * one string object per distinct value instead of one per instance.
 *
 * The plan is the combination of techniques that leaves the fewest bytes,
 * its steps in order of impact; the cumulative figures apply the steps so
 * far together (a reorder is laid out last, so it reorders the rewritten
 * fields). Techniques that save alone but add nothing to that combination
 * follow it, not combined. Per-instance bytes; totals multiply by the
 * count and add one-off tables.
 *
 * Pure over a resolved doc; thread-safe; out arrays are the caller's. */
#ifndef MS_SUGGEST_H
#define MS_SUGGEST_H

#include <stddef.h>
#include <stdint.h>

#include "layout.h"
#include "pymodel.h"

enum { MS_MAX_STEPS = 8 };

typedef struct {
    const char *technique;
    const char *what;            /* one line: which fields, what change */
    uint64_t alone;              /* per instance, this step alone */
    uint64_t cumulative;         /* per instance, this and every step before */
    uint64_t once_alone, once_cumulative;   /* one-off bytes (intern tables) */
    int combined;                /* 0: saves alone, adds nothing to the best combination */
} ms_step;

typedef struct {
    uint64_t before;             /* per instance, as declared */
    uint64_t before_once;        /* one-off bytes as declared (a class's first instances) */
    uint64_t count;
    ms_step steps[MS_MAX_STEPS];
    size_t nsteps;
} ms_plan;

int ms_suggest_struct(const ml_doc *d, ml_abi abi, size_t si, ms_plan *p);
int ms_suggest_class(const ml_doc *d, const ms_pyver *v, size_t ci, ms_plan *p);

#endif
