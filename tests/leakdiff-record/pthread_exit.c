/* The main thread ends with pthread_exit while a worker still runs: the
 * process ends when the worker does (glibc calls exit(0) in the last
 * thread), and the recorder's flusher thread must not keep it alive.
 *   pthread_create allocates the worker's DTV (288 B here; the worker is
 * never joined, so it is never freed). main's pthread_exit makes glibc
 * dlopen libgcc_s.so.1 for the unwinder: 7 blocks, 4134 B (36, 1238, 36,
 * 56, 456, 8 and 2304 B); the 8 B one is freed at once, the 56 and 2304 B
 * ones by __libc_freeres, and 1766 B in 4 blocks stay (libgcc_s stays
 * loaded). The worker sleeps 50 ms, keeps 99 B, frees 20 B and returns.
 * Truth at exit (glibc 2.36): live 2153 B in 6 blocks; peak 4533 B; allocs
 * 10, frees 4; exit status 0. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static void *volatile keep;
static void *(*volatile mal)(size_t) = malloc;

static void *worker(void *arg)
{
    struct timespec ts = {0, 50000000};
    nanosleep(&ts, NULL);
    keep = mal(99);
    free(mal(20));
    return arg;
}

int main(void)
{
    pthread_t t;
    if (pthread_create(&t, NULL, worker, NULL) != 0)
        return 1;
    pthread_exit(NULL);
}
