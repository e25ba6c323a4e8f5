/* Snapshots between phases, through memkit_snapshot declared weak in
 * memkit/mark.h: the program runs the same without the recorder.
 *   phase1: 3 x 100 B                      snapshot "phase1": 300 B, 3 blocks
 *   phase2: + 1000 B, then one 100 B freed snapshot "phase2": 1200 B, 3 blocks
 *   phase3: all freed                      snapshot "phase3": 0 B, 0 blocks
 *   (under the recorder) raise(SIGUSR2)    snapshot "signal": 0 B, 0 blocks,
 *                                          written at the next event
 *   "sleep" argument: 200 ms asleep here (for interval snapshots)
 *   64 B kept
 * Truth at exit: live 64 B in 1 block; peak 1300 B (300 + 1000). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mark.h"

static void *(*volatile mal)(size_t) = malloc;
static void *volatile keep;

static void mark(const char *label)
{
    if (memkit_snapshot)
        memkit_snapshot(label);
}

int main(int argc, char **argv)
{
    void *a = mal(100), *b = mal(100), *c = mal(100);
    mark("phase1");
    void *d = mal(1000);
    free(a);
    mark("phase2");
    free(b);
    free(c);
    free(d);
    mark("phase3");
    if (memkit_snapshot)
        raise(SIGUSR2);
    if (argc > 1 && !strcmp(argv[1], "sleep")) {
        struct timespec ts = {0, 200000000};
        nanosleep(&ts, NULL);
    }
    keep = mal(64);
    return 0;
}
