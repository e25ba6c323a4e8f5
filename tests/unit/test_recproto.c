/* Unit tests for leakdiff's recorder protocol (cmd/leakdiff/recproto.h):
 * packed records round-trip through mkr_pack and mkr_unpack, with
 * differences of either sign, big values, frames, and every kind; a record
 * cut short or of a kind that is not packed is refused. */
#include <stdint.h>
#include <stdlib.h>

#include "../../cmd/leakdiff/recproto.h"
#include "unit.h"

UNIT_RNG(0x452821e638d01377u)

/* A value of a random magnitude: varints of every length. */
static uint64_t any(void)
{
    unsigned bits = (unsigned)(rnd() % 65);
    return bits == 64 ? rnd() : rnd() & ((UINT64_C(1) << bits) - 1);
}

static void test_round_trip(void)
{
    static unsigned char buf[1 << 20];
    static mkr_rec want[4000];
    static uint64_t wframes[4000][MKR_MAX_FRAMES];
    mkr_delta wd = { 0, 0, 0, 0 }, rd = { 0, 0, 0, 0 };
    unsigned char *o = buf;
    uint64_t seq = 0;
    for (int i = 0; i < 4000; i++) {
        static const int kinds[] = { MKR_ALLOC, MKR_FREE, MKR_REALLOC };
        mkr_rec *r = &want[i];
        r->kind = (uint8_t)kinds[rnd() % 3];
        seq += rnd() % 3 ? 1 : any();
        r->seq = seq;
        r->ts = i && rnd() % 3 ? want[i - 1].ts : any();   /* the same time, mostly */
        r->a = any();
        r->b = r->kind == MKR_FREE ? 0 : any();
        r->c = r->kind == MKR_REALLOC ? any() : 0;
        r->nframes = r->kind == MKR_FREE ? 0 : (uint8_t)(rnd() % (MKR_MAX_FRAMES + 1));
        for (unsigned k = 0; k < r->nframes; k++)
            wframes[i][k] = rnd() % 4 ? 0x400000 + rnd() % 100000 : any();
        o = mkr_pack(o, &wd, r->kind, r->seq, r->ts, r->a, r->b, r->c, wframes[i], r->nframes);
        CHECK(o - buf < (long)sizeof buf - MKR_PACKED_MAX);
    }
    const unsigned char *p = buf;
    int bad = 0;
    for (int i = 0; i < 4000 && !bad; i++) {
        mkr_rec r;
        uint64_t frames[MKR_MAX_FRAMES];
        const unsigned char *start = p;
        if (!mkr_unpack(&p, o, &rd, &r, frames)) {
            bad = 1;
            break;
        }
        CHECK(p - start <= MKR_PACKED_MAX);
        const mkr_rec *w = &want[i];
        if (r.kind != w->kind || r.seq != w->seq || r.ts != w->ts || r.a != w->a || r.b != w->b ||
            r.c != w->c || r.nframes != w->nframes || r.aux != 0)
            bad = 1;
        for (unsigned k = 0; k < r.nframes; k++)
            if (frames[k] != wframes[i][k])
                bad = 1;
    }
    CHECK(!bad);
    CHECK(p == o);
}

static void test_small_and_refused(void)
{
    unsigned char buf[64];
    mkr_delta d = { 0, 0, 0, 0 };
    /* the common case: the next number, the same time, a nearby address, a small size */
    mkr_delta w = { 41, 7000, 0x55e718893000, 0 };
    unsigned char *e = mkr_pack(buf, &w, MKR_ALLOC, 42, 7000, 0x55e7188932a0, 142, 0, NULL, 0);
    CHECK_INT(e - buf, 1 + 2 + 2);   /* flags say seq + 1 and the same time; no frames */
    CHECK_INT(buf[0], MKR_PACKED | MKR_P_NEXT | MKR_P_SAME_TS | MKR_ALLOC);
    /* cut anywhere: refused */
    mkr_delta w2 = { 0, 0, 0, 0 };
    e = mkr_pack(buf, &w2, MKR_REALLOC, 9, 1, 0x1000, 300, 0x2000, (const uint64_t[]){ 0x401000, 0x400f00 }, 2);
    for (const unsigned char *end = buf; end < e; end++) {
        const unsigned char *p = buf;
        mkr_rec r;
        uint64_t fr[MKR_MAX_FRAMES];
        mkr_delta z = { 0, 0, 0, 0 };
        CHECK(!mkr_unpack(&p, end, &z, &r, fr));
    }
    const unsigned char *p = buf;
    mkr_rec r;
    uint64_t fr[MKR_MAX_FRAMES];
    CHECK(mkr_unpack(&p, e, &d, &r, fr));
    CHECK_U64(r.c, 0x2000);
    CHECK_U64(fr[1], 0x400f00);
    /* a kind that is never packed, and too many frames */
    unsigned char k[] = { MKR_SNAPSHOT | MKR_PACKED, 1, 0, 0 };
    p = k;
    CHECK(!mkr_unpack(&p, k + sizeof k, &d, &r, fr));
    unsigned char f[] = { MKR_ALLOC | MKR_PACKED | MKR_P_FRAMES, 1, 0, 0, 8, MKR_MAX_FRAMES + 1 };
    p = f;
    CHECK(!mkr_unpack(&p, f + sizeof f, &d, &r, fr));
    f[5] = 0;   /* the flag says frames follow: at least one */
    p = f;
    CHECK(!mkr_unpack(&p, f + sizeof f, &d, &r, fr));
    unsigned char g[] = { MKR_FREE | MKR_PACKED | MKR_P_FRAMES, 1, 0, 0 };   /* a free has no frames */
    p = g;
    CHECK(!mkr_unpack(&p, g + sizeof g, &d, &r, fr));
    /* a varint of more than 10 bytes */
    unsigned char v[16] = { MKR_FREE | MKR_PACKED };
    for (int i = 1; i < 16; i++)
        v[i] = 0x80;
    p = v;
    CHECK(!mkr_unpack(&p, v + sizeof v, &d, &r, fr));
}

int main(void)
{
    RUN(test_round_trip);
    RUN(test_small_and_refused);
    return DONE();
}
