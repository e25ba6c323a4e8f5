/* gencsv — seeded generator of a web-log-like CSV for the benchmarks.
 * usage: gencsv ROWS [SEED] > out.csv
 * Columns: ts,user_id,region,method,status,bytes,latency_ms,path — the path is
 * quoted and holds commas, doubled quotes and, rarely, a newline. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t s;
static uint64_t rnd(void)
{
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return s;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: gencsv ROWS [SEED]\n");
        return 2;
    }
    long long rows = atoll(argv[1]);
    s = argc > 2 ? strtoull(argv[2], NULL, 10) * 2654435761u + 88172645463325252ull : 88172645463325252ull;
    static const char *regions[] = { "us-east", "us-west", "eu-central", "eu-west", "ap-south", "ap-east", "sa-east", "af-south" };
    static const char *methods[] = { "GET", "GET", "GET", "POST", "PUT", "DELETE" };
    static const char *words[] = { "api", "v1", "users", "items", "search", "static", "img", "cart", "login", "feed" };
    static char buf[1 << 16];
    setvbuf(stdout, buf, _IOFBF, sizeof buf);
    printf("ts,user_id,region,method,status,bytes,latency_ms,path\n");
    uint64_t ts = 1700000000000ull;
    for (long long i = 0; i < rows; i++) {
        ts += rnd() % 50;
        uint64_t r = rnd();
        /* Skewed ids: a quarter of requests from 1000 heavy users. */
        uint64_t user = (r & 3) ? rnd() % 2000000 : rnd() % 1000;
        int st = (r >> 8) % 100 < 90 ? 200 : (r >> 8) % 100 < 96 ? 404 : 500 + (int)((r >> 16) % 4);
        printf("%llu,u%06llu,%s,%s,%d,%llu,%llu.%03llu,\"/", (unsigned long long)ts,
               (unsigned long long)user, regions[(r >> 20) % 8], methods[(r >> 24) % 6], st,
               (unsigned long long)(rnd() % 100000), (unsigned long long)(rnd() % 2000),
               (unsigned long long)(rnd() % 1000));
        int parts = 1 + (int)(rnd() % 4);
        for (int k = 0; k < parts; k++)
            printf("%s%s", k ? "/" : "", words[rnd() % 10]);
        uint64_t x = rnd() % 1000;
        if (x < 100)
            printf("?q=a,b");
        else if (x < 150)
            printf("?title=\"\"quoted\"\"");
        else if (x == 999)
            printf("\nsecond line");
        printf("\"\n");
    }
    return fflush(stdout) ? 1 : 0;
}
