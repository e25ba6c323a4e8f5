/* cfg — flat YAML mappings through libyaml (see cfg.h). */
#include "cfg.h"
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { MAX_LIST = 4096 };

typedef struct {
    yaml_parser_t p;
    const char *name;
    mk_cfg_fn fn;
    void *ctx;
    char **keys;            /* seen keys, for duplicates */
    size_t nkeys;
} loader;

static int at(const loader *l, const yaml_mark_t *m, const char *msg)
{
    return mk_err_set("%s:%zu:%zu: %s", l->name, m->line + 1, m->column + 1, msg);
}

static int next(loader *l, yaml_event_t *ev)
{
    if (yaml_parser_parse(&l->p, ev))
        return 0;
    const yaml_mark_t *m = &l->p.problem_mark;
    const char *what = l->p.problem ? l->p.problem : "YAML syntax error";
    if (l->p.context)
        return mk_err_set("%s:%zu:%zu: %s %s", l->name, m->line + 1, m->column + 1, what,
                          l->p.context);
    return mk_err_set("%s:%zu:%zu: %s", l->name, m->line + 1, m->column + 1, what);
}

static int is_null_scalar(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
            strcmp(v, "NULL") == 0);
}

static int deliver(loader *l, const char *key, const yaml_mark_t *m, char **vals, size_t n,
                   int is_list, int is_null)
{
    mk_cfg_item it = { key, (const char *const *)vals, n, is_list, is_null,
                       l->name, m->line + 1, m->column + 1 };
    if (l->fn(l->ctx, &it) < 0)
        return mk_err_prefix("%s:%zu:%zu: ", l->name, it.line, it.col);
    return 0;
}

/* Reads the value after `key`: a scalar or a flat list of scalars. */
static int value(loader *l, const char *key)
{
    yaml_event_t ev;
    if (next(l, &ev) < 0)
        return -1;
    int rc = 0;
    yaml_mark_t m = ev.start_mark;
    if (ev.type == YAML_SCALAR_EVENT) {
        char *v = (char *)ev.data.scalar.value;
        rc = deliver(l, key, &m, &v, 1, 0, is_null_scalar(&ev));
        yaml_event_delete(&ev);
        return rc;
    }
    if (ev.type == YAML_ALIAS_EVENT) {
        rc = at(l, &m, "aliases are not supported in memkit configs");
        yaml_event_delete(&ev);
        return rc;
    }
    if (ev.type != YAML_SEQUENCE_START_EVENT) {
        char msg[300];
        snprintf(msg, sizeof msg, "%s: expected a value or a list of values, found a mapping", key);
        rc = at(l, &m, msg);
        yaml_event_delete(&ev);
        return rc;
    }
    yaml_event_delete(&ev);
    char **vals = NULL;
    size_t n = 0;
    for (;;) {
        if (next(l, &ev) < 0) {
            rc = -1;
            break;
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            rc = deliver(l, key, &m, vals, n, 1, 0);
            break;
        }
        if (ev.type != YAML_SCALAR_EVENT || n == MAX_LIST) {
            char msg[300];
            snprintf(msg, sizeof msg, "%s: %s", key, n == MAX_LIST ? "list too long"
                     : "list items must be plain values, not lists or mappings");
            rc = at(l, &ev.start_mark, msg);
            yaml_event_delete(&ev);
            break;
        }
        vals = mk_xrealloc(vals, (n + 1) * sizeof *vals);
        vals[n++] = mk_xstrdup((const char *)ev.data.scalar.value);
        yaml_event_delete(&ev);
    }
    for (size_t i = 0; i < n; i++)
        free(vals[i]);
    free(vals);
    return rc;
}

static int mapping(loader *l)
{
    for (;;) {
        yaml_event_t ev;
        if (next(l, &ev) < 0)
            return -1;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            int rc = at(l, &ev.start_mark, "keys must be option names");
            yaml_event_delete(&ev);
            return rc;
        }
        const char *key = (const char *)ev.data.scalar.value;
        for (size_t i = 0; i < l->nkeys; i++)
            if (strcmp(l->keys[i], key) == 0) {
                char msg[300];
                snprintf(msg, sizeof msg, "duplicate key '%s'", key);
                int rc = at(l, &ev.start_mark, msg);
                yaml_event_delete(&ev);
                return rc;
            }
        l->keys = mk_xrealloc(l->keys, (l->nkeys + 1) * sizeof *l->keys);
        l->keys[l->nkeys++] = mk_xstrdup(key);
        yaml_event_delete(&ev);
        if (value(l, l->keys[l->nkeys - 1]) < 0)
            return -1;
    }
}

static int document(loader *l)
{
    yaml_event_t ev;
    int rc = 0, docs = 0;
    for (;;) {
        if (next(l, &ev) < 0)
            return -1;
        yaml_event_type_t t = ev.type;
        yaml_mark_t m = ev.start_mark;
        int null_doc = t == YAML_SCALAR_EVENT && is_null_scalar(&ev);
        yaml_event_delete(&ev);
        switch (t) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
            break;
        case YAML_STREAM_END_EVENT:
            return rc;
        case YAML_DOCUMENT_START_EVENT:
            if (docs++)
                return at(l, &m, "a config holds one YAML document");
            break;
        case YAML_MAPPING_START_EVENT:
            if (mapping(l) < 0)
                return -1;
            break;
        default:
            if (!null_doc)
                return at(l, &m, "expected a mapping of option names to values");
        }
    }
}

static int run(loader *l)
{
    int rc = document(l);
    yaml_parser_delete(&l->p);
    for (size_t i = 0; i < l->nkeys; i++)
        free(l->keys[i]);
    free(l->keys);
    return rc;
}

int mk_cfg_load_mem(const char *name, const char *data, size_t len, mk_cfg_fn fn, void *ctx)
{
    loader l = { .name = name, .fn = fn, .ctx = ctx };
    if (!yaml_parser_initialize(&l.p))
        return mk_err_set("%s: cannot initialize the YAML parser", name);
    yaml_parser_set_input_string(&l.p, (const unsigned char *)data, len);
    return run(&l);
}

int mk_cfg_load(const char *path, mk_cfg_fn fn, void *ctx)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return mk_err_errno("%s", path);
    loader l = { .name = path, .fn = fn, .ctx = ctx };
    if (!yaml_parser_initialize(&l.p)) {
        fclose(f);
        return mk_err_set("%s: cannot initialize the YAML parser", path);
    }
    yaml_parser_set_input_file(&l.p, f);
    int rc = run(&l);
    if (ferror(f) && rc == 0)
        rc = mk_err_errno("%s: read error", path);
    fclose(f);
    return rc;
}
