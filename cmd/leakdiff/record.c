/* record — run a program under the preload library and write its heap
 * trace (see record.h).
 *
 * Flow: options → CMD found and checked (127 not found, 126 not
 * executable, 2 statically linked or LD_PRELOAD already replacing malloc)
 * → a pipe, fork, exec with LD_PRELOAD and MEMKIT_RECORD_* set → chunks
 * read as they come, records put back in sequence order per process, each
 * call stack interned once (symbolized through addr2line with the module
 * map read from /proc/PID/maps) and written as an `s` record, events
 * written as the memkit heap format through zstd, with the live blocks
 * kept in a lean table of their own (live.h) → at the end (CMD exited or died) the summary
 * on stderr and CMD's status as ours. */
#include "record.h"

#include "cli.h"
#include "err.h"
#include "intern.h"
#include "map.h"
#include "parse.h"
#include "recproto.h"
#include "trace.h"
#include "live.h"
#include "vec.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#ifndef MK_LIBDIR
#define MK_LIBDIR "/usr/local/lib"
#endif

/* ---- options ------------------------------------------------------------------------ */

static char *preload_opt, *signal_opt = "USR2";
static uint64_t frames_opt = 8, interval_opt;
static int follow_fork;
static mk_cli cli;
static int keep_addresses;   /* --addresses (see put_freed) */

static const mk_opt opts[] = {
    { "frames", 0, MK_ARG_UINT, &frames_opt, "N", "return addresses kept per allocation (0 = none, at most 64)",
      NULL, "8" },
    { "interval", 0, MK_ARG_DURATION, &interval_opt, "DUR", "a snapshot (@ record) every DUR, e.g. 500ms" },
    { "signal", 0, MK_ARG_STR, &signal_opt, "SIG", "a snapshot when the program receives SIG (USR1, USR2, a "
      "number, or none)", NULL, "USR2" },
    { "follow-fork", 0, MK_ARG_FLAG, &follow_fork, NULL, "record forked children too, each into its own trace "
      "memkit-heap.PID.zst" },
    { "addresses", 0, MK_ARG_FLAG, &keep_addresses, NULL, "write each block's address (by default "
      "blocks are numbered: a trace a fifth the size)" },
    { "preload", 0, MK_ARG_STR, &preload_opt, "PATH", "the preload library (default: found next to leakdiff)" },
    { 0 },
};

static const mk_cli_spec spec = {
    "leakdiff record", "[OPTIONS] -- CMD [ARGS...]",
    "Run CMD and record every heap event; print current and peak memory at the end.",
    "The trace goes to -o FILE (default memkit-heap.PID.zst), zstd-compressed; -o - writes it to\n"
    "standard output, and CMD's standard output then goes to standard error.\n"
    "\n"
    "Exit status: CMD's; 128+N when CMD died of signal N; 127 CMD not found; 126 not executable;\n"
    "2 recorder errors.\n"
    "\n"
    "Examples:\n"
    "  leakdiff record -- ./server --port 8080\n"
    "  leakdiff record -o - -- make -j4 | leakdiff summary\n"
    "  leakdiff record --interval 1s -o run.zst -- ./batch && leakdiff timeline run.zst",
    opts, MK_STD_OUTPUT | MK_STD_QUIET, NULL, NULL, NULL,
};

/* ---- finding and checking CMD ---------------------------------------------------------- */

/* CMD's path as execvp would find it; NULL with *err = ENOENT or EACCES. */
static char *find_cmd(const char *cmd, int *err)
{
    struct stat sb;
    if (strchr(cmd, '/')) {
        if (stat(cmd, &sb) < 0) {
            *err = errno;
            return NULL;
        }
        if (S_ISDIR(sb.st_mode) || access(cmd, X_OK) < 0) {
            *err = EACCES;
            return NULL;
        }
        return mk_xstrdup(cmd);
    }
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    *err = ENOENT;
    for (const char *p = path;;) {
        const char *colon = strchr(p, ':');
        size_t n = colon ? (size_t)(colon - p) : strlen(p);
        char *full = mk_xmalloc(n + strlen(cmd) + 2);
        sprintf(full, "%.*s%s%s", (int)n, p, n ? "/" : "", cmd);
        if (stat(full, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            if (access(full, X_OK) == 0)
                return full;
            *err = EACCES;
        }
        free(full);
        if (!colon)
            return NULL;
        p = colon + 1;
    }
}

/* 1 when path is an ELF executable without an interpreter: the dynamic
 * loader never runs, so no LD_PRELOAD. */
static int is_static_elf(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    Elf64_Ehdr eh;
    int stat_ = 0;
    if (read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
        eh.e_ident[EI_CLASS] == ELFCLASS64 && eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum < 256) {
        Elf64_Phdr ph[256];
        size_t n = (size_t)eh.e_phnum * sizeof *ph;
        if (pread(fd, ph, n, (off_t)eh.e_phoff) == (ssize_t)n) {
            stat_ = 1;
            for (int i = 0; i < eh.e_phnum; i++)
                if (ph[i].p_type == PT_INTERP)
                    stat_ = 0;
        }
    }
    close(fd);
    return stat_;
}

static char *find_preload(void)
{
    const char *env = preload_opt ? preload_opt : getenv("MEMKIT_RECORD_PRELOAD");
    if (env)
        return access(env, R_OK) == 0 ? mk_xstrdup(env) : NULL;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 64);
    if (n > 0) {
        self[n] = 0;
        char *slash = strrchr(self, '/');
        if (slash) {
            strcpy(slash, "/../lib/memkit/libmemkit-record.so");
            if (access(self, R_OK) == 0)
                return realpath(self, NULL);
        }
    }
    if (access(MK_LIBDIR "/memkit/libmemkit-record.so", R_OK) == 0)
        return mk_xstrdup(MK_LIBDIR "/memkit/libmemkit-record.so");
    return NULL;
}

/* Libraries that replace malloc themselves: under them our hooks would
 * see nothing, or see it twice. */
static const char *preload_conflict(const char *ld)
{
    static const char *const known[] = { "asan", "tsan", "msan", "lsan", "jemalloc", "tcmalloc", "mimalloc",
                                         "heaptrack", "malloc_debug", "vgpreload", "libmemkit-record", NULL };
    for (int i = 0; known[i]; i++)
        if (strstr(ld, known[i]))
            return known[i];
    return NULL;
}

static int parse_signal(const char *s)
{
    static const struct { const char *name; int sig; } names[] = {
        { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 }, { "HUP", SIGHUP }, { "PROF", SIGPROF }, { "none", 0 },
    };
    if (!strncmp(s, "SIG", 3))
        s += 3;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (!strcasecmp(s, names[i].name))
            return names[i].sig;
    uint64_t v;
    if (mk_parse_u64(s, strlen(s), &v) == 0 && v < 65)
        return (int)v;
    return -1;
}

/* ---- the zstd trace writer ------------------------------------------------------------- */

typedef struct {
    int fd;
    const char *name;
    ZSTD_CCtx *z;
    char in[1 << 16], out[1 << 17];
    size_t inlen;
    uint64_t bytes_out, events;
    uint64_t ts;            /* the last time written (once has_ts): the next is "=" if the same */
    int has_ts;
    uint64_t back;          /* the last ^N written, as back_txt (back_len bytes) */
    unsigned back_len;
    char back_txt[24];
    int failed;
} zwriter;

static void zw_drain(zwriter *w, ZSTD_EndDirective end)
{
    ZSTD_inBuffer in = { w->in, w->inlen, 0 };
    for (;;) {
        ZSTD_outBuffer out = { w->out, sizeof w->out, 0 };
        size_t left = ZSTD_compressStream2(w->z, &out, &in, end);
        if (ZSTD_isError(left))
            mk_die("%s: zstd: %s", w->name, ZSTD_getErrorName(left));
        for (size_t o = 0; o < out.pos && !w->failed;) {
            ssize_t r = write(w->fd, w->out + o, out.pos - o);
            if (r < 0 && errno == EINTR)
                continue;
            if (r < 0) {
                mk_warn("%s: %s", w->name, strerror(errno));
                w->failed = 1;
                break;
            }
            o += (size_t)r;
        }
        w->bytes_out += out.pos;
        if (end == ZSTD_e_end ? left == 0 : in.pos == in.size)
            break;
    }
    w->inlen = 0;
}

static void zw_write(zwriter *w, const char *p, size_t n)
{
    if (w->inlen + n > sizeof w->in)
        zw_drain(w, ZSTD_e_continue);
    memcpy(w->in + w->inlen, p, n);
    w->inlen += n;
}

static void zw_open(zwriter *w, int fd, const char *name)
{
    memset(w, 0, offsetof(zwriter, in));
    w->fd = fd;
    w->name = name;
    w->z = ZSTD_createCCtx();
    if (!w->z)
        mk_die("out of memory");
    ZSTD_CCtx_setParameter(w->z, ZSTD_c_compressionLevel, 1);
    zw_write(w, "#memkit heap v1\n", 16);
}

static int zw_close(zwriter *w)
{
    zw_drain(w, ZSTD_e_end);
    ZSTD_freeCCtx(w->z);
    int failed = w->failed;
    if (w->fd > 2 && close(w->fd) < 0) {
        mk_warn("%s: %s", w->name, strerror(errno));
        failed = 1;
    }
    return failed ? -1 : 0;
}

/* ---- symbols: the module map and addr2line ------------------------------------------- */

typedef struct {
    uint64_t start, end, base;
    char *path;
    int unused;
} module;

typedef struct {
    char *path;
    pid_t pid;
    FILE *to, *from;
    int dead;
} a2l;

static mk_vec *modules_now;   /* the modules of the process being read (proc.modules) */
#define modules (*modules_now)
static mk_vec a2ls;         /* a2l */

static int elf_type(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    Elf64_Ehdr eh;
    int t = 0;
    if (fd >= 0 && read(fd, &eh, sizeof eh) == (ssize_t)sizeof eh && !memcmp(eh.e_ident, ELFMAG, SELFMAG))
        t = eh.e_type;
    if (fd >= 0)
        close(fd);
    return t;
}

static void read_maps(pid_t pid, int from_records)
{
    if (from_records)
        return;
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(p, "re");
    if (!f)
        return;
    for (size_t i = 0; i < mk_vec_len(&modules); i++)
        free(((module *)mk_vec_get(&modules, i))->path);
    mk_vec_clear(&modules);
    char line[PATH_MAX + 128];
    while (fgets(line, sizeof line, f)) {
        unsigned long long s, e, off;
        char perm[8];
        int pos = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perm, &off, &pos) < 4 || !pos)
            continue;
        char *path = line + pos;
        path[strcspn(path, "\n")] = 0;
        if (path[0] != '/')
            continue;
        /* The load base: the start of the file's mapping at offset 0. */
        uint64_t base = s - off;
        for (size_t i = 0; i < mk_vec_len(&modules); i++) {
            module *m = mk_vec_get(&modules, i);
            if (!strcmp(m->path, path))
                base = m->base;
        }
        module *m = mk_vec_push(&modules);
        *m = (module){ s, e, elf_type(path) == ET_EXEC ? 0 : base, mk_xstrdup(path), 0 };
    }
    fclose(f);
}

static const module *module_of(uint64_t addr)
{
    for (size_t i = 0; i < mk_vec_len(&modules); i++) {
        const module *m = mk_vec_get(&modules, i);
        if (addr >= m->start && addr < m->end)
            return m;
    }
    return NULL;
}

static a2l *a2l_for(const char *path)
{
    for (size_t i = 0; i < mk_vec_len(&a2ls); i++) {
        a2l *a = mk_vec_get(&a2ls, i);
        if (!strcmp(a->path, path))
            return a->dead ? NULL : a;
    }
    a2l *a = mk_vec_push(&a2ls);
    memset(a, 0, sizeof *a);
    a->path = mk_xstrdup(path);
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0) {
        a->dead = 1;
        return NULL;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0)
            dup2(null, 2);
        execlp("addr2line", "addr2line", "-f", "-C", "-e", path, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    if (pid < 0) {
        close(in[1]);
        close(out[0]);
        a->dead = 1;
        return NULL;
    }
    a->pid = pid;
    a->to = fdopen(in[1], "w");
    a->from = fdopen(out[0], "r");
    if (!a->to || !a->from)
        a->dead = 1;
    return a->dead ? NULL : a;
}

static void a2l_close_all(void)
{
    for (size_t i = 0; i < mk_vec_len(&a2ls); i++) {
        a2l *a = mk_vec_get(&a2ls, i);
        if (a->to)
            fclose(a->to);
        if (a->from)
            fclose(a->from);
        if (a->pid > 0)
            waitpid(a->pid, NULL, 0);
        free(a->path);
    }
    mk_vec_free(&a2ls);
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* One frame as a site token: func@file.c:42, func+0x1a when there is no
 * line, module+0x1a without symbols, 0x401136 outside any module. */
static void frame_token(mk_vec *buf, uint64_t addr)
{
    char tok[512];
    const module *m = module_of(addr);
    if (!m) {
        snprintf(tok, sizeof tok, "0x%llx", (unsigned long long)addr);
    } else {
        uint64_t rel = addr - m->base;
        a2l *a = a2l_for(m->path);
        char fn[256] = "", fl[256] = "";
        /* A return address points after the call: ask for the call. */
        if (a && fprintf(a->to, "0x%llx\n", (unsigned long long)(rel ? rel - 1 : 0)) > 0 && fflush(a->to) == 0 &&
            fgets(fn, sizeof fn, a->from) && fgets(fl, sizeof fl, a->from)) {
            fn[strcspn(fn, "\n")] = 0;
            fl[strcspn(fl, "\n (")] = 0;
        } else if (a) {
            a->dead = 1;
        }
        for (char *c = fn; *c; c++)
            if (*c == ' ' || *c == '<' || *c == '\t')
                *c = '_';
        int has_fn = fn[0] && strcmp(fn, "??");
        int has_line = fl[0] && fl[0] != '?' && !strstr(fl, ":0") && !strstr(fl, ":?");
        if (has_fn && has_line)
            snprintf(tok, sizeof tok, "%s@%s", fn, base_name(fl));
        else if (has_fn)
            snprintf(tok, sizeof tok, "%s+0x%llx", fn, (unsigned long long)rel);
        else
            snprintf(tok, sizeof tok, "%s+0x%llx", base_name(m->path), (unsigned long long)rel);
    }
    mk_vec_append(buf, tok, strlen(tok));
}

/* ---- processes and their records ------------------------------------------------------- */

typedef struct {
    pid_t pid;
    int followed, hellos, exited;
    int wait_fork;          /* a followed child whose parent's MKR_FORK is not applied yet */
    uint64_t next_seq;
    mk_imap pending;        /* seq -> index + 1 into pend (records that came early) */
    mk_vec pend;            /* char *, malloc'd copies */
    uint64_t ts_base, last_ts;
    zwriter *w;
    char *name;
    ld_live live;
    mk_intern sites, types;
    mk_map site_ids;        /* frames (raw) -> site id + 1 */
    uint32_t unknown_site;  /* the site "?" (UINT32_MAX: not seen yet), never written */
    uint32_t last_site;     /* site_of's last answer (UINT32_MAX: none yet), for: */
    unsigned last_n;
    uint64_t last_frames[MKR_MAX_FRAMES];
    mk_vec mods;            /* module: from MKR_MODULE records, else /proc/PID/maps */
    int mods_from_records;
    mk_imap deferred;       /* address -> index + 1 into held: events waiting for a realloc */
    size_t nheld;           /* addresses in deferred */
    mk_vec held;            /* mk_vec of char * record copies, per deferred address */
} proc;

static mk_vec procs;        /* proc * */
static pid_t main_pid;
static uint64_t nframes_keep;

static proc *proc_of(pid_t pid)
{
    for (size_t i = 0; i < mk_vec_len(&procs); i++) {
        proc *p = *(proc **)mk_vec_get(&procs, i);
        if (p->pid == pid)
            return p;
    }
    return NULL;
}

static proc *proc_new(pid_t pid, int fd, const char *name)
{
    proc *p = mk_xcalloc(1, sizeof *p);
    p->pid = pid;
    p->next_seq = 1;
    mk_imap_init(&p->pending, 0);
    mk_vec_init(&p->pend, sizeof(char *));
    mk_intern_init(&p->sites, 0);
    mk_intern_init(&p->types, 0);
    mk_map_init(&p->site_ids, 0);
    mk_vec_init(&p->mods, sizeof(module));
    mk_imap_init(&p->deferred, 0);
    mk_vec_init(&p->held, sizeof(mk_vec));
    ld_live_init(&p->live);
    p->last_site = UINT32_MAX;
    p->unknown_site = UINT32_MAX;
    p->w = mk_xmalloc(sizeof *p->w);
    p->name = mk_xstrdup(name);
    zw_open(p->w, fd, p->name);
    *(proc **)mk_vec_push(&procs) = p;
    return p;
}

static void emit(proc *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void emit(proc *p, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n >= (int)sizeof line)
        n = sizeof line - 1;
    zw_write(p->w, line, (size_t)n);
}

/* The hot records, formatted by hand: printf costs more than the rest of
 * the recorder together. kind is '+', '-' or '~'; old/size/site as the
 * record has them (site UINT32_MAX: none). */
static char *put_dec(char *o, uint64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                   "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                   "8081828384858687888990919293949596979899";
    unsigned n = 1;
    for (uint64_t x = v; x >= 10; x /= 10)
        n++;
    char *e = o + n;
    while (v >= 100) {
        e -= 2;
        memcpy(e, pairs + 2 * (v % 100), 2);
        v /= 100;
    }
    if (v >= 10)
        memcpy(e - 2, pairs + 2 * v, 2);
    else
        e[-1] = (char)('0' + v);
    return o + n;
}

static char *put_hex(char *o, uint64_t v)
{
    int n = v ? (64 - __builtin_clzll(v) + 3) / 4 : 1;   /* digits, written from the last */
    for (int i = n - 1; i >= 0; i--, v >>= 4)
        o[i] = "0123456789abcdef"[v & 15];
    return o + n;
}

static uint32_t site_lookup(proc *p, const uint64_t *frames, unsigned n);

/* A new site: an s record, except for "?" (no frames), which the
 * allocations leave out instead (memkit-formats(5)). */
static void define_site(proc *p, uint32_t id, const char *name, size_t n)
{
    if (n == 1 && name[0] == '?')
        p->unknown_site = id;
    else
        emit(p, "s %u %.*s\n", id, (int)n, name);
}

/* The site id of a stack, defining it (s record) the first time. */
static uint32_t site_of(proc *p, const uint64_t *frames, unsigned n)
{
    /* Loops allocate from one stack over and over: the last one is kept
     * (and a stack of no frames always hits it). */
    if (p->last_site != UINT32_MAX && n == p->last_n && (n == 0 || !memcmp(frames, p->last_frames, 8u * n)))
        return p->last_site;
    uint32_t id = site_lookup(p, frames, n);
    p->last_site = id;
    p->last_n = n;
    memcpy(p->last_frames, frames, 8u * n);
    return id;
}

static uint32_t site_lookup(proc *p, const uint64_t *frames, unsigned n)
{
    int fresh;
    uint64_t *v = mk_map_put(&p->site_ids, frames, n * 8u, &fresh);
    if (!fresh)
        return (uint32_t)(*v - 1);
    mk_vec tok;
    mk_vec_init(&tok, 1);
    if (!n) {
        mk_vec_append(&tok, "?", 1);
    } else {
        modules_now = &p->mods;
        if (!module_of(frames[0]))
            read_maps(p->pid, p->mods_from_records);
        for (unsigned i = 0; i < n; i++) {
            if (i)
                mk_vec_append(&tok, "<", 1);
            frame_token(&tok, frames[i]);
        }
    }
    /* Two stacks may read the same once symbolized: one site. */
    size_t known = mk_intern_count(&p->sites);
    uint32_t id = mk_intern_id(&p->sites, mk_vec_data(&tok), mk_vec_len(&tok));
    *mk_map_get(&p->site_ids, frames, n * 8u) = (uint64_t)id + 1;
    if (id >= known)
        define_site(p, id, mk_vec_data(&tok), mk_vec_len(&tok));
    mk_vec_free(&tok);
    return id;
}

/* A site known by its name (a block inherited through fork). */
static uint32_t site_named(proc *p, const char *name, size_t n)
{
    size_t known = mk_intern_count(&p->sites);
    uint32_t id = mk_intern_id(&p->sites, name, n);
    if (id >= known)
        define_site(p, id, name, n);
    return id;
}

/* Unless --addresses, blocks are written in the compact form "+ TS . SIZE
 * SITE" and named "^N" (made N events back) when freed or reallocated: the
 * same events, and a trace a fifth the size, since an address is the one
 * field zstd cannot predict. */

/* The start of an event line: its kind and time, written straight into
 * the compressor's input. The clock ticks every few ms, so most events
 * repeat the last time's digits. */
static char *line_start(proc *p, char kind, uint64_t ts)
{
    zwriter *w = p->w;
    if (w->inlen + 128 > sizeof w->in)
        zw_drain(w, ZSTD_e_continue);
    char *o = w->in + w->inlen;
    *o++ = kind;
    *o++ = ' ';
    if (ts != w->ts || !w->has_ts) {
        w->ts = ts;
        w->has_ts = 1;
        o = put_dec(o, ts);
    } else {
        *o++ = '=';
    }
    *o++ = ' ';
    return o;
}

static void line_end(proc *p, char *o)
{
    *o++ = '\n';
    p->w->inlen = (size_t)(o - p->w->in);
    p->w->events++;
}

/* A block being freed or reallocated, as the trace names it: ^N when it
 * was live (made: what ld_live_del said), else its address, for the
 * analysis to report. */
static char *put_freed(char *o, proc *p, uint64_t addr, uint64_t made)
{
    if (keep_addresses || !made)
        return put_hex(o, addr);
    /* programs that free in a pattern repeat one distance: its digits are kept */
    uint64_t n = (p->w->events + 1 - made) & LD_LIVE_MADE_MASK;
    if (n != p->w->back || !p->w->back_len) {
        p->w->back = n;
        p->w->back_txt[0] = '^';
        p->w->back_len = (unsigned)(put_dec(p->w->back_txt + 1, n) - p->w->back_txt);
    }
    memcpy(o, p->w->back_txt, sizeof p->w->back_txt);
    return o + p->w->back_len;
}

static char *put_new(char *o, const proc *p, uint64_t addr, uint64_t size, uint32_t site)
{
    if (keep_addresses)
        o = put_hex(o, addr);
    else
        *o++ = '.';
    *o++ = ' ';
    *o++ = '0';
    *o++ = 'x';
    o = put_hex(o, size);
    if (site == p->unknown_site)
        return o;
    *o++ = ' ';
    *o++ = '$';
    return put_dec(o, site);
}

static void ev_free(proc *p, uint64_t ts, uint64_t addr)
{
    uint64_t made = ld_live_del(&p->live, addr);
    char *o = line_start(p, '-', ts);
    line_end(p, put_freed(o, p, addr, made));
}

/* A block is handed out at an address that is still live: its free never
 * came (see apply). A compact trace says so with a free of the old block;
 * with addresses, the analysis reports the reuse. */
static void missing_free(proc *p, uint64_t ts, uint64_t addr)
{
    if (keep_addresses)
        ld_live_del(&p->live, addr);
    else
        ev_free(p, ts, addr);
}

/* 0 if a block lives at addr and the caller may hold the allocation
 * until its realloc comes (nothing is written then). */
static int ev_alloc(proc *p, uint64_t ts, uint64_t addr, uint64_t size, uint32_t site, int may_hold)
{
    if (!ld_live_add(&p->live, addr, size, site, p->w->events + 1)) {
        if (may_hold)
            return 0;
        missing_free(p, ts, addr);
        ld_live_add(&p->live, addr, size, site, p->w->events + 1);
    }
    char *o = line_start(p, '+', ts);
    line_end(p, put_new(o, p, addr, size, site));
    return 1;
}

static void ev_realloc(proc *p, uint64_t ts, uint64_t old, uint64_t addr, uint64_t size, uint32_t site)
{
    if (addr != old && ld_live_has(&p->live, addr))
        missing_free(p, ts, addr);
    uint64_t made = ld_live_del(&p->live, old);
    ld_live_add(&p->live, addr, size, site, p->w->events + 1);
    char *o = line_start(p, '~', ts);
    o = put_freed(o, p, old, made);
    *o++ = ' ';
    line_end(p, put_new(o, p, addr, size, site));
}

/* realloc is recorded after it returns, so another thread may be handed
 * the old address, and record that, first. An allocation of an address
 * still live therefore waits (with whatever follows on that address) for
 * the realloc that released it; at the end, anything still waiting is
 * applied as it came, and the analysis reports it. */
static void apply_now(proc *p, const mkr_rec *r, int may_hold);

static char *rec_copy(const mkr_rec *r)
{
    size_t sz = mkr_rec_size(r);
    char *c = mk_xmalloc(sz);
    memcpy(c, r, sz);
    return c;
}

/* Records waiting on addr (a realloc that frees it has not come yet): r
 * joins them. 0 if none wait. */
static int queued(proc *p, const mkr_rec *r, uint64_t addr)
{
    uint64_t *d = p->nheld ? mk_imap_get(&p->deferred, addr) : NULL;
    if (!d)
        return 0;
    mk_vec *q = mk_vec_get(&p->held, (size_t)*d - 1);
    *(char **)mk_vec_push(q) = rec_copy(r);
    return 1;
}

/* An allocation of an address still live: it waits for the realloc. */
static void hold(proc *p, const mkr_rec *r, uint64_t addr)
{
    mk_vec *q = mk_vec_push(&p->held);
    mk_vec_init(q, sizeof(char *));
    *mk_imap_put(&p->deferred, addr, NULL) = mk_vec_len(&p->held);
    p->nheld++;
    *(char **)mk_vec_push(q) = rec_copy(r);
}

/* The realloc that freed addr came: what waited on it goes now. */
static void release(proc *p, uint64_t addr)
{
    uint64_t *d = mk_imap_get(&p->deferred, addr);
    if (!d)
        return;
    mk_vec q = *(mk_vec *)mk_vec_get(&p->held, (size_t)*d - 1);
    mk_vec_init(mk_vec_get(&p->held, (size_t)*d - 1), sizeof(char *));
    mk_imap_del(&p->deferred, addr);
    p->nheld--;
    for (size_t i = 0; i < mk_vec_len(&q); i++) {
        char *rec = *(char **)mk_vec_get(&q, i);
        apply_now(p, (const mkr_rec *)rec, 0);
        free(rec);
    }
    mk_vec_free(&q);
}

static void release_all(proc *p)
{
    size_t it = 0;
    uint64_t addr, *v;
    mk_vec addrs;
    mk_vec_init(&addrs, sizeof(uint64_t));
    while (mk_imap_next(&p->deferred, &it, &addr, &v))
        *(uint64_t *)mk_vec_push(&addrs) = addr;
    for (size_t i = 0; i < mk_vec_len(&addrs); i++) {
        addr = *(uint64_t *)mk_vec_get(&addrs, i);
        release(p, addr);
    }
    mk_vec_free(&addrs);
}

static void inherit(proc *parent, pid_t child);

static void apply(proc *p, const mkr_rec *r)
{
    uint64_t addr = r->kind == MKR_ALLOC || r->kind == MKR_FREE ? r->a : r->kind == MKR_REALLOC ? r->c : 0;
    if (addr && queued(p, r, addr))
        return;
    apply_now(p, r, 1);
    if (r->kind == MKR_REALLOC && r->a != r->c)
        release(p, r->a);
}

/* may_hold: an allocation of a live address waits (else the block there
 * is taken as freed: see missing_free). */
static void apply_now(proc *p, const mkr_rec *r, int may_hold)
{
    const uint64_t *frames = (const uint64_t *)(r + 1);
    uint64_t ts = p->ts_base + r->ts;
    p->last_ts = ts;
    switch (r->kind) {
    case MKR_ALLOC: {
        uint32_t site = site_of(p, frames, r->nframes);
        if (!ev_alloc(p, ts, r->a, r->b, site, may_hold))
            hold(p, r, r->a);
        break;
    }
    case MKR_FREE:
        ev_free(p, ts, r->a);
        break;
    case MKR_REALLOC: {
        uint32_t site = site_of(p, frames, r->nframes);
        if (!r->c) {   /* realloc(p, 0) freed p */
            ev_free(p, ts, r->a);
            break;
        }
        ev_realloc(p, ts, r->a, r->c, r->b, site);
        break;
    }
    case MKR_SNAPSHOT: {
        const char *label = (const char *)(frames + r->nframes);
        size_t n = r->aux;
        char clean[256];
        if (n > sizeof clean - 1)
            n = sizeof clean - 1;
        for (size_t i = 0; i < n; i++)
            clean[i] = label[i] == '\n' || label[i] == '\r' ? ' ' : label[i];
        clean[n] = 0;
        emit(p, "@ %llu %s\n", (unsigned long long)ts, n ? clean : "snapshot");
        p->w->ts = ts;   /* a later "=" means this time */
        p->w->has_ts = 1;
        break;
    }
    case MKR_MODULE: {
        /* The preload's own view of what is loaded: it outlives the process,
         * unlike /proc/PID/maps. A range overlapping an older one replaces it. */
        if (!p->mods_from_records) {
            for (size_t i = 0; i < mk_vec_len(&p->mods); i++)
                free(((module *)mk_vec_get(&p->mods, i))->path);
            mk_vec_clear(&p->mods);
            p->mods_from_records = 1;
        }
        const char *path = (const char *)(frames + r->nframes);
        for (size_t i = 0; i < mk_vec_len(&p->mods);) {
            module *m = mk_vec_get(&p->mods, i);
            if (m->start < r->c && r->b < m->end) {
                free(m->path);
                *m = *(module *)mk_vec_get(&p->mods, mk_vec_len(&p->mods) - 1);
                mk_vec_pop(&p->mods);
            } else {
                i++;
            }
        }
        module *m = mk_vec_push(&p->mods);
        *m = (module){ r->b, r->c, r->a, mk_xstrndup(path, strnlen(path, r->aux)), 0 };
        break;
    }
    case MKR_FORK:
        if (follow_fork)
            inherit(p, (pid_t)r->a);
        break;
    case MKR_EXIT:
        p->exited = 1;
        break;
    default:
        break;
    }
}

/* An exec replaced the process image: its blocks went with it. */
static void release_all(proc *p);

static void new_image(proc *p)
{
    release_all(p);
    size_t it = 0;
    uint64_t addr, size;
    uint32_t site;
    mk_vec addrs;
    mk_vec_init(&addrs, sizeof(uint64_t));
    while (ld_live_next(&p->live, &it, &addr, &size, &site))
        *(uint64_t *)mk_vec_push(&addrs) = addr;
    for (size_t i = 0; i < mk_vec_len(&addrs); i++) {
        uint64_t a = *(uint64_t *)mk_vec_get(&addrs, i);
        ev_free(p, p->last_ts, a);
    }
    mk_vec_free(&addrs);
    emit(p, "@ %llu exec\n", (unsigned long long)p->last_ts);
    p->w->ts = p->last_ts;
    p->w->has_ts = 1;
    for (size_t i = 0; i < mk_vec_len(&p->pend); i++)
        free(*(char **)mk_vec_get(&p->pend, i));
    mk_vec_clear(&p->pend);
    mk_imap_clear(&p->pending);
    mk_map_clear(&p->site_ids);
    p->last_site = UINT32_MAX;
    p->ts_base = p->last_ts;
    p->next_seq = 1;
    for (size_t i = 0; i < mk_vec_len(&p->mods); i++)
        free(((module *)mk_vec_get(&p->mods, i))->path);
    mk_vec_clear(&p->mods);
    p->mods_from_records = 0;
}

static void drain(proc *p);

/* A record in sequence order, or kept until its turn comes. */
static void take(proc *p, const mkr_rec *r)
{
    if (r->kind == MKR_HELLO && r->seq == 1 && p->hellos++ > 0)
        new_image(p);
    if (r->seq != p->next_seq || p->wait_fork) {
        if (r->seq < p->next_seq)
            return;   /* a duplicate: cannot happen with atomic pipe writes */
        size_t sz = mkr_rec_size(r);
        char *copy = mk_xmalloc(sz);
        memcpy(copy, r, sz);
        *(char **)mk_vec_push(&p->pend) = copy;
        *mk_imap_put(&p->pending, r->seq, NULL) = mk_vec_len(&p->pend);
        return;
    }
    apply(p, r);
    p->next_seq++;
    drain(p);
}

/* The common case, without take's and apply's calls: an allocation or a
 * free that comes in its turn, with nothing held or pending. 0: take it the
 * general way. */
static inline int take_fast(proc *p, const mkr_rec *r)
{
    if (r->seq != p->next_seq || p->wait_fork || p->nheld || mk_imap_len(&p->pending))
        return 0;
    uint64_t ts = p->ts_base + r->ts;
    if (r->kind == MKR_FREE) {
        ev_free(p, ts, r->a);
    } else if (r->kind == MKR_ALLOC) {
        uint32_t site = site_of(p, (const uint64_t *)(r + 1), r->nframes);
        if (!ev_alloc(p, ts, r->a, r->b, site, 1))
            return 0;   /* a live address: take() holds it */
    } else {
        return 0;
    }
    p->last_ts = ts;
    p->next_seq++;
    return 1;
}

/* Applies what came early, as long as the sequence continues. */
static void drain(proc *p)
{
    if (!mk_imap_len(&p->pending))
        return;
    uint64_t *v;
    while ((v = mk_imap_get(&p->pending, p->next_seq))) {
        char **slot = mk_vec_get(&p->pend, (size_t)*v - 1);
        char *rec = *slot;
        *slot = NULL;
        mk_imap_del(&p->pending, p->next_seq);
        apply(p, (const mkr_rec *)rec);
        free(rec);
        p->next_seq++;
    }
    /* Keep the copies' index small once everything pending is applied. */
    if (!mk_imap_len(&p->pending))
        mk_vec_clear(&p->pend);
}

/* ---- the main loop --------------------------------------------------------------------- */

static const char *trace_dir = ".";

static proc *open_child_trace(pid_t pid)
{
    char *name = mk_xmalloc(strlen(trace_dir) + 48);
    sprintf(name, "%s/memkit-heap.%d.zst", trace_dir, (int)pid);
    int fd = open(name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        mk_warn("%s: %s; the child is not recorded", name, strerror(errno));
        free(name);
        return NULL;
    }
    proc *p = proc_new(pid, fd, name);
    p->followed = 1;
    p->wait_fork = 1;
    free(name);
    return p;
}

/* The child starts with its parent's heap at the fork: those blocks are
 * written into the child's trace first, at their parent's sites. Exact
 * for a single-threaded parent (other threads' later events are not the
 * child's). Then the child's own records, held until now, go. */
static void inherit(proc *parent, pid_t child)
{
    proc *c = proc_of(child);
    if (!c)
        c = open_child_trace(child);
    if (!c || !c->wait_fork)
        return;
    size_t it = 0;
    uint64_t addr, size;
    uint32_t psite;
    while (ld_live_next(&parent->live, &it, &addr, &size, &psite)) {
        size_t n;
        const char *name = mk_intern_str(&parent->sites, psite, &n);
        ev_alloc(c, 0, addr, size, site_named(c, name, n), 0);
    }
    c->wait_fork = 0;
    drain(c);
}

enum { AHEAD = 8 };

static void chunk(const char *data, size_t len)
{
    const mkr_chunk *h = (const mkr_chunk *)data;
    proc *p = proc_of((pid_t)h->pid);
    if (!p) {
        if (!follow_fork)
            return;
        p = open_child_trace((pid_t)h->pid);
        if (!p)
            return;
    }
    const unsigned char *at = (const unsigned char *)data + sizeof *h, *end = (const unsigned char *)data + len;
    mkr_delta d = { 0, 0, 0, 0 };
    /* Packed records are decoded AHEAD records before they are applied,
     * and the live-table slots they will touch loaded meanwhile: the
     * compressor's tables push the live table out of the cache between
     * events, and these loads were the recorder's biggest cost. */
    static struct {
        mkr_rec r;
        uint64_t frames[MKR_MAX_FRAMES];
    } ahead[AHEAD];
    size_t first = 0, n = 0;
    while (at < end) {
        if (*at & MKR_PACKED) {
            if (n == AHEAD) {
                if (!take_fast(p, &ahead[first].r))
                    take(p, &ahead[first].r);
                first = (first + 1) % AHEAD;
                n--;
            }
            size_t k = (first + n) % AHEAD;
            if (!mkr_unpack(&at, end, &d, &ahead[k].r, ahead[k].frames))
                break;
            ld_live_prefetch(&p->live, ahead[k].r.a);
            if (ahead[k].r.kind == MKR_REALLOC)
                ld_live_prefetch(&p->live, ahead[k].r.c);
            n++;
            continue;
        }
        for (; n; n--, first = (first + 1) % AHEAD)
            take(p, &ahead[first].r);
        if (*at == 0) {   /* padding before a full record */
            at++;
            continue;
        }
        size_t off = (size_t)(at - (const unsigned char *)data);
        if (off % 8 || off + sizeof(mkr_rec) > len)
            break;
        const mkr_rec *r = (const mkr_rec *)at;
        uint32_t sz = mkr_rec_size(r);
        if (off + sz > len || r->nframes > MKR_MAX_FRAMES)
            break;
        take(p, r);
        at += sz;
    }
    for (; n; n--, first = (first + 1) % AHEAD)
        take(p, &ahead[first].r);
}

static volatile sig_atomic_t child_pid_for_signals;

static void forward(int sig)
{
    if (child_pid_for_signals > 0)
        kill((pid_t)child_pid_for_signals, sig);
}

/* Reads chunks until the child has exited and the pipe stays quiet (or
 * is closed by every process holding it). */
static int pump(int rfd, pid_t child)
{
    static _Alignas(8) char buf[1 << 16];   /* chunks are multiples of 8: all aligned */
    size_t have = 0;
    int status = 0, done = 0;
    int pidfd = (int)syscall(SYS_pidfd_open, child, 0);
    /* A big pipe and unhurried reads: woken for every 4 KiB chunk, the
     * reader spent as much CPU as the program's recording (measured with
     * rec-dump). */
    fcntl(rfd, F_SETPIPE_SZ, 1 << 20);
    for (;;) {
        struct pollfd pf[2] = { { rfd, POLLIN, 0 }, { pidfd, POLLIN, 0 } };
        int np = pidfd >= 0 && !done ? 2 : 1;
        int r = poll(pf, (nfds_t)np, done ? 200 : pidfd >= 0 ? -1 : 100);
        if (r < 0 && errno == EINTR)
            continue;
        if (!done && (pidfd < 0 || (np == 2 && (pf[1].revents & POLLIN)))) {
            pid_t w = waitpid(child, &status, pidfd < 0 ? WNOHANG : 0);
            if (w == child)
                done = 1;
        }
        if (r == 0 && done)
            break;   /* exited, and nothing more comes */
        if (!(pf[0].revents & (POLLIN | POLLHUP)))
            continue;
        ssize_t n = read(rfd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (!done) {
                waitpid(child, &status, 0);
                done = 1;
            }
            break;
        }
        if ((size_t)n < (1 << 15) && !done) {
            struct timespec ms = { 0, 1000000 };
            nanosleep(&ms, NULL);
        }
        have += (size_t)n;
        size_t off = 0;
        while (have - off >= sizeof(mkr_chunk)) {
            const mkr_chunk *h = (const mkr_chunk *)(buf + off);
            if (h->len < sizeof *h || h->len > MKR_CHUNK || h->len % 8)
                mk_die("garbled data from the preload library (chunk of %u bytes)", h->len);
            if (have - off < h->len)
                break;
            chunk(buf + off, h->len);
            off += h->len;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    if (pidfd >= 0)
        close(pidfd);
    return status;
}

/* ---- the summary -------------------------------------------------------------------------- */

typedef struct {
    uint32_t site;
    uint64_t bytes, blocks;
} top;

static int by_bytes(const void *a, const void *b)
{
    const top *x = a, *y = b;
    return x->bytes < y->bytes ? 1 : x->bytes > y->bytes ? -1 : (x->site > y->site) - (x->site < y->site);
}

static void summary(proc *p, const char *what)
{
    const ld_live *l = &p->live;
    char b1[MK_FMT_BUFSZ], b2[MK_FMT_BUFSZ];
    mk_fmt_bytes(b1, sizeof b1, l->bytes);
    mk_fmt_bytes(b2, sizeof b2, l->peak);
    fprintf(stderr, "leakdiff record: %s\n", what);
    fprintf(stderr, "current: %llu bytes in %llu blocks (%s)\n", (unsigned long long)l->bytes,
            (unsigned long long)l->blocks, b1);
    fprintf(stderr, "peak: %llu bytes (%s)\n", (unsigned long long)l->peak, b2);
    mk_vec tops;
    mk_vec_init(&tops, sizeof(top));
    for (uint32_t s = 0; s < (uint32_t)mk_vec_len(&l->sites); s++) {
        ld_live_site st = ld_live_site_of(l, s);
        if (st.bytes)
            *(top *)mk_vec_push(&tops) = (top){ s, st.bytes, st.blocks };
    }
    qsort(mk_vec_data(&tops), mk_vec_len(&tops), sizeof(top), by_bytes);
    for (size_t i = 0; i < mk_vec_len(&tops) && i < 5; i++) {
        const top *x = mk_vec_get(&tops, i);
        size_t n;
        const char *name = mk_intern_str(&p->sites, x->site, &n);
        mk_fmt_bytes(b1, sizeof b1, x->bytes);
        fprintf(stderr, "  %10s in %6llu blocks  %.*s\n", b1, (unsigned long long)x->blocks, (int)n, name);
    }
    mk_vec_free(&tops);
    fprintf(stderr, "trace: %s (%llu events, %llu bytes)\n", p->name, (unsigned long long)p->w->events,
            (unsigned long long)p->w->bytes_out);
}

static void proc_free(proc *p)
{
    for (size_t i = 0; i < mk_vec_len(&p->pend); i++)
        free(*(char **)mk_vec_get(&p->pend, i));
    mk_vec_free(&p->pend);
    mk_imap_free(&p->pending);
    ld_live_free(&p->live);
    mk_intern_free(&p->sites);
    mk_intern_free(&p->types);
    mk_map_free(&p->site_ids);
    for (size_t i = 0; i < mk_vec_len(&p->mods); i++)
        free(((module *)mk_vec_get(&p->mods, i))->path);
    mk_vec_free(&p->mods);
    mk_imap_free(&p->deferred);
    for (size_t i = 0; i < mk_vec_len(&p->held); i++)
        mk_vec_free(mk_vec_get(&p->held, i));
    mk_vec_free(&p->held);
    free(p->w);
    free(p->name);
    free(p);
}

/* ---- main ---------------------------------------------------------------------------------- */

int ld_record_main(int argc, char **argv)
{
    int first = mk_cli_parse(&cli, &spec, argc, argv);
    if (first < argc && !strcmp(argv[first], "--"))
        first++;
    if (first >= argc)
        mk_cli_usage_error(&cli, "no command to record (leakdiff record [OPTIONS] -- CMD [ARGS...])");
    if (frames_opt > MKR_MAX_FRAMES)
        mk_cli_usage_error(&cli, "--frames: at most %d", MKR_MAX_FRAMES);
    int sig = parse_signal(signal_opt);
    if (sig < 0)
        mk_cli_usage_error(&cli, "--signal: unknown signal '%s'", signal_opt);
    nframes_keep = frames_opt;
    char **cmdv = argv + first;
    int err = 0;
    char *path = find_cmd(cmdv[0], &err);
    if (!path) {
        fprintf(stderr, "leakdiff record: %s: %s\n", cmdv[0],
                err == ENOENT ? "command not found" : strerror(err));
        return err == ENOENT ? 127 : 126;
    }
    if (is_static_elf(path))
        mk_die("%s is statically linked: LD_PRELOAD cannot hook its allocator (link it dynamically, "
               "or use valgrind)", path);
    char *preload = find_preload();
    if (!preload)
        mk_die("the preload library libmemkit-record.so is missing (looked next to leakdiff, in "
               MK_LIBDIR "/memkit; set MEMKIT_RECORD_PRELOAD or --preload)");
    const char *old_ld = getenv("LD_PRELOAD");
    const char *clash = old_ld ? preload_conflict(old_ld) : NULL;
    if (clash)
        mk_die("LD_PRELOAD already holds %s (\"%s\"), which also replaces malloc; unset it first", clash,
               old_ld);

    /* The output: checked before CMD runs, so a typo costs nothing. */
    int to_stdout = cli.output && !strcmp(cli.output, "-");
    int outfd = -1;
    char *outname = NULL;
    if (to_stdout) {
        outfd = dup(1);
        outname = mk_xstrdup("<stdout>");
    } else if (cli.output) {
        outname = mk_xstrdup(cli.output);
        outfd = open(outname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (outfd < 0)
            mk_die("%s: %s", outname, strerror(errno));
        char *slash = strrchr(outname, '/');
        if (slash)
            trace_dir = mk_xstrndup(outname, (size_t)(slash - outname));
    } else if (access(".", W_OK) < 0) {
        mk_die("cannot write the trace into the current directory: %s", strerror(errno));
    }
    if (outfd >= 0)
        fcntl(outfd, F_SETFD, FD_CLOEXEC);

    int data[2], st[2];
    if (pipe2(data, O_CLOEXEC) < 0 || pipe2(st, O_CLOEXEC) < 0)
        mk_die("pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        mk_die("fork: %s", strerror(errno));
    if (pid == 0) {
        /* The write end survives exec; everything else of ours does not. */
        int wfd = dup(data[1]);
        char num[32], ld[PATH_MAX * 2];
        snprintf(num, sizeof num, "%d", wfd);
        setenv(MKR_ENV_FD, num, 1);
        snprintf(num, sizeof num, "%llu", (unsigned long long)frames_opt);
        setenv(MKR_ENV_FRAMES, num, 1);
        setenv(MKR_ENV_FOLLOW, follow_fork ? "1" : "0", 1);
        snprintf(num, sizeof num, "%llu", (unsigned long long)interval_opt);
        setenv(MKR_ENV_INTERVAL, num, 1);
        snprintf(num, sizeof num, "%d", sig);
        setenv(MKR_ENV_SIGNAL, num, 1);
        snprintf(ld, sizeof ld, "%s%s%s", preload, old_ld && *old_ld ? ":" : "", old_ld ? old_ld : "");
        setenv("LD_PRELOAD", ld, 1);
        if (to_stdout)
            dup2(2, 1);
        execv(path, cmdv);
        int e = errno;
        ssize_t w = write(st[1], &e, sizeof e);
        (void)w;
        _exit(127);
    }
    close(data[1]);
    close(st[1]);
    int e;
    if (read(st[0], &e, sizeof e) == (ssize_t)sizeof e) {
        waitpid(pid, NULL, 0);
        fprintf(stderr, "leakdiff record: %s: %s\n", cmdv[0], strerror(e));
        if (outname && !to_stdout)
            unlink(outname);
        return e == ENOENT ? 127 : 126;
    }
    close(st[0]);
    main_pid = pid;
    child_pid_for_signals = pid;
    /* A Ctrl-C reaches the program through the terminal; the recorder
     * stays to write what it has. Other termination requests are passed on. */
    signal(SIGINT, SIG_IGN);
    signal(SIGQUIT, SIG_IGN);
    struct sigaction sa = { 0 };
    sa.sa_handler = forward;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (sig > 0 && sig != SIGTERM && sig != SIGHUP)
        sigaction(sig, &sa, NULL);

    mk_vec_init(&procs, sizeof(proc *));
    mk_vec_init(&a2ls, sizeof(a2l));
    if (!outname) {
        outname = mk_xmalloc(48);
        sprintf(outname, "memkit-heap.%d.zst", (int)pid);
        outfd = open(outname, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (outfd < 0)
            mk_die("%s: %s", outname, strerror(errno));
    }
    proc *mainp = proc_new(pid, outfd, outname);
    int status = pump(data[0], pid);
    close(data[0]);

    int rc;
    char what[256];
    if (WIFSIGNALED(status)) {
        rc = 128 + WTERMSIG(status);
        snprintf(what, sizeof what, "%s was killed by signal %d (%s); the trace holds what it did until then",
                 cmdv[0], WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        rc = WEXITSTATUS(status);
        snprintf(what, sizeof what, "%s exited with status %d", cmdv[0], rc);
    }
    int failed = 0;
    for (size_t i = 0; i < mk_vec_len(&procs); i++) {
        proc *p = *(proc **)mk_vec_get(&procs, i);
        if (p->wait_fork) {   /* no fork record named it (posix_spawn, vfork) */
            p->wait_fork = 0;
            drain(p);
        }
        release_all(p);
        if (mk_imap_len(&p->pending))
            mk_warn("%s: %zu events never came in order (the process died mid-write?)", p->name,
                    mk_imap_len(&p->pending));
        if (zw_close(p->w) < 0)
            failed = 1;
        if (!cli.quiet && p == mainp)
            summary(p, what);
        else if (!cli.quiet)
            fprintf(stderr, "leakdiff record: child %d: current %llu bytes, peak %llu bytes, trace %s\n",
                    (int)p->pid, (unsigned long long)p->live.bytes,
                    (unsigned long long)p->live.peak, p->name);
    }
    for (size_t i = 0; i < mk_vec_len(&procs); i++)
        proc_free(*(proc **)mk_vec_get(&procs, i));
    mk_vec_free(&procs);
    a2l_close_all();
    free(path);
    free(preload);
    free(outname);
    if (failed)
        return 2;
    return rc;
}
