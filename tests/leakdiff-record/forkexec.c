/* fork and exec.
 *   The first image allocates 1000 B (kept across fork and exec), forks,
 *   waits for the child, then execs itself with the argument "exec".
 *   The child allocates 777 B (leaked) and 50 B (freed) and exits.
 *   The second image (same pid, "exec") allocates 555 B (leaked), exits.
 * Truth:
 *   first image:  live 1000 B in 1 block at exec; peak 1000 B
 *   child (recorded only with MEMKIT_RECORD_FOLLOW_FORK=1): inherits the
 *                 1000 B block; live 1777 B in 2 blocks at exit; peak
 *                 1827 B; allocs 2, frees 1
 *   second image: live 555 B in 1 block; peak 555 B
 * The exit status is the second image's: 0. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void *volatile keep[2];
static void *(*volatile mal)(size_t) = malloc;

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "exec")) {
        keep[0] = mal(555);
        return 0;
    }
    keep[0] = mal(1000);
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        keep[1] = mal(777);
        free(mal(50));
        exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return 1;
    char *args[] = {argv[0], "exec", NULL};
    execv("/proc/self/exe", args);
    return 1;
}
