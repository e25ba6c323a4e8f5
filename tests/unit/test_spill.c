/* Unit tests for lib/spill: lines written come back in order, including
 * long lines (past the read buffer), an empty line and a last line without
 * a newline; binary records come back at any offset; writing resumes at the end after reading; reset empties; the
 * file is never visible in its directory; a missing directory is an error
 * naming it. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "spill.h"
#include "unit.h"

UNIT_RNG(0x2545f4914f6cdd1du)

static char tmpdir[256];

static int dir_entries(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    if (d)
        closedir(d);
    return n;
}

static void test_roundtrip(void)
{
    mk_spill *s = mk_spill_new(tmpdir);
    CHECK(s != NULL);
    CHECK_INT(dir_entries(), 0);
    mk_out *o = mk_spill_out(s);
    /* Lines of random lengths up to 300 KB (several read buffers). */
    enum { N = 200 };
    size_t lens[N];
    for (int i = 0; i < N; i++) {
        lens[i] = i == 7 ? 0 : (i % 50 == 3 ? 300000 : rnd() % 200);
        for (size_t k = 0; k < lens[i]; k++)
            mk_out_char(o, (char)('a' + (i + k) % 26));
        mk_out_char(o, '\n');
    }
    mk_out_str(o, "tail");
    CHECK_INT(mk_spill_rewind(s), 0);
    char *line;
    size_t len;
    int ok = 1;
    for (int i = 0; i < N; i++) {
        if (mk_spill_line(s, &line, &len) != 1 || len != lens[i] || line[len] != 0) {
            ok = 0;
            break;
        }
        for (size_t k = 0; k < len; k++)
            ok &= line[k] == (char)('a' + (i + k) % 26);
    }
    CHECK(ok);
    CHECK_INT(mk_spill_line(s, &line, &len), 1);
    CHECK_MEM(line, len, "tail");
    CHECK_INT(mk_spill_line(s, &line, &len), 0);

    /* Append after reading, read again from the start. */
    mk_out_str(mk_spill_out(s), "\nmore\n");
    CHECK_INT(mk_spill_rewind(s), 0);
    int n = 0;
    while (mk_spill_line(s, &line, &len) == 1)
        n++;
    CHECK_INT(n, N + 2);
    CHECK_MEM(line, len, "more");

    /* Reset: empty, then new content only. */
    CHECK_INT(mk_spill_reset(s), 0);
    mk_out_str(mk_spill_out(s), "x\n");
    CHECK_INT(mk_spill_rewind(s), 0);
    CHECK_INT(mk_spill_line(s, &line, &len), 1);
    CHECK_MEM(line, len, "x");
    CHECK_INT(mk_spill_line(s, &line, &len), 0);
    CHECK_INT(dir_entries(), 0);
    mk_spill_free(s);
}

/* Binary records read back at any offset (pread), short only at the end. */
static void test_pread(void)
{
    mk_spill *s = mk_spill_new(tmpdir);
    CHECK(s != NULL);
    enum { N = 3000 };
    uint32_t want[N];
    for (int i = 0; i < N; i++) {
        want[i] = (uint32_t)rnd();
        mk_out_write(mk_spill_out(s), &want[i], sizeof want[i]);
    }
    static double big[5000];
    for (int i = 0; i < 5000; i++)
        big[i] = i * 0.5;
    mk_out_write(mk_spill_out(s), big, sizeof big);
    CHECK_INT(mk_spill_flush(s), 0);
    int ok = 1;
    for (int i = 0; i < N; i += 7) {
        uint32_t x;
        ok &= mk_spill_pread(s, &x, sizeof x, (uint64_t)i * 4) == (ssize_t)sizeof x && x == want[i];
    }
    CHECK(ok);
    static double back[5000];
    CHECK(mk_spill_pread(s, back, sizeof back, (uint64_t)N * 4) == (ssize_t)sizeof back);
    CHECK(memcmp(back, big, sizeof big) == 0);
    double tail[4];
    CHECK(mk_spill_pread(s, tail, sizeof tail, (uint64_t)N * 4 + sizeof big - 16) == 16);
    CHECK(tail[0] == big[4998] && tail[1] == big[4999]);
    CHECK(mk_spill_pread(s, tail, sizeof tail, (uint64_t)N * 4 + sizeof big) == 0);
    /* writing goes on at the end; flush again and it is there */
    mk_out_write(mk_spill_out(s), "abc", 3);
    CHECK_INT(mk_spill_flush(s), 0);
    char abc[8];
    CHECK(mk_spill_pread(s, abc, sizeof abc, (uint64_t)N * 4 + sizeof big) == 3);
    CHECK_MEM(abc, 3, "abc");
    mk_spill_free(s);
}

static void test_errors(void)
{
    char missing[512];
    snprintf(missing, sizeof missing, "%s/no/such/dir", tmpdir);
    CHECK(mk_spill_new(missing) == NULL);
    CHECK_CONTAINS(mk_err_msg(), "no/such/dir: cannot create a temporary file");
    CHECK_STR(mk_spill_dir("/x"), "/x");
}

int main(void)
{
    unit_make_tmpdir(tmpdir, sizeof tmpdir, "mk_test_spill");
    RUN(test_roundtrip);
    RUN(test_pread);
    RUN(test_errors);
    rmdir(tmpdir);
    return DONE();
}
