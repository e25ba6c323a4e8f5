/* cfg — read a YAML config file into (key, values, location) triples.
 *
 * memkit configs are one flat mapping: each key is a tool's long option name
 * and each value is a scalar or a list of scalars. cfg knows YAML (through
 * libyaml) but not the options; it hands every pair to a callback, which
 * decides what is valid. A YAML syntax error, a nested mapping, a non-scalar
 * key or a duplicate key is reported as "FILE:LINE:COL: message" in mk_err;
 * when the callback fails (-1 with a message in mk_err), cfg prefixes the
 * value's location, so every config error names file, line and column.
 *
 * An empty file or an empty document is a config with no keys. The values
 * passed to the callback are valid only during the call. Reentrant: no
 * global state. */
#ifndef MK_CFG_H
#define MK_CFG_H

#include <stddef.h>

typedef struct {
    const char *key;
    const char *const *vals;   /* scalar values; one for a scalar */
    size_t nvals;
    int is_list;
    int is_null;               /* "key:" with no value (YAML null) */
    const char *file;
    size_t line, col;          /* of the value, 1-based */
} mk_cfg_item;

typedef int (*mk_cfg_fn)(void *ctx, const mk_cfg_item *item);

int mk_cfg_load(const char *path, mk_cfg_fn fn, void *ctx);
int mk_cfg_load_mem(const char *name, const char *data, size_t len, mk_cfg_fn fn, void *ctx);

#endif
