/* proc.c - fork, exec, wait (proc.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include "proc.h"

/* In the child: point stdout and stderr at fd, then become the program.
 * Only returns by _exit, so nothing of the parent's atexit state runs. */
static void child_exec(char *const argv[], int out_fd, const char *who)
{
    if (out_fd >= 0 && (dup2(out_fd, STDOUT_FILENO) < 0 || dup2(out_fd, STDERR_FILENO) < 0)) {
        fprintf(stderr, "%s: cannot redirect the output of %s: %s\n", who, argv[0], strerror(errno));
        _exit(127);
    }
    execv(argv[0], argv);
    fprintf(stderr, "%s: cannot run %s: %s\n", who, argv[0], strerror(errno));
    _exit(127);
}

int tool_run(char *const argv[], int out_fd, const char *who, int *sig)
{
    if (sig)
        *sig = 0;
    /* buffered output of ours would otherwise be written twice (once by the
     * child's copy of the buffer) or land after the child's */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        child_exec(argv, out_fd, who);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return -1;
    if (WIFSIGNALED(status)) {
        if (sig)
            *sig = WTERMSIG(status);
        return 128 + WTERMSIG(status);
    }
    return WEXITSTATUS(status);
}
