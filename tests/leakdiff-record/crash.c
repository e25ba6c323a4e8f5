/* A crash: leaks 4242 B, frees 100 B, then raises SIGSEGV — or, with the
 * argument "kill", sleeps 200 ms and raises SIGKILL, which no handler sees:
 * then only the flusher thread (records idle for more than MKR_IDLE_NS)
 * can have delivered the records.
 * Truth at the crash: live 4242 B in 1 block; peak 4342 B; allocs 2,
 * frees 1; the process dies of signal 11 (status 139 through rec-dump), or
 * 9 (137). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void *volatile keep;
static void *(*volatile mal)(size_t) = malloc;

int main(int argc, char **argv)
{
    keep = mal(4242);
    void *t = mal(100);
    free(t);
    if (argc > 1 && !strcmp(argv[1], "kill")) {
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
        raise(SIGKILL);
    }
    raise(SIGSEGV);
    return 0;
}
