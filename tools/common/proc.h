/*
 * proc.h - running another program and waiting for it (proc.c), shared by
 * lowbit-bench and lowbit-check: both hand their GPU work to separately
 * built device programs (CUDA / HIP binaries that the C tools cannot link).
 */
#ifndef LOWBIT_TOOLS_PROC_H
#define LOWBIT_TOOLS_PROC_H

/* Run the program at path argv[0] with arguments argv (NULL-terminated) and
 * wait for it.  out_fd >= 0 receives the child's stdout and stderr (a file
 * to parse afterwards); -1 leaves both as they are.  `who` names the calling
 * tool in the message the child prints when exec fails.
 *
 * Returns the exit status (0-255); 127 when the program could not be
 * executed; 128 + N when signal N ended it, with *sig = N (*sig = 0
 * otherwise; sig may be NULL); -1 when fork or waitpid failed (errno says
 * why). */
int tool_run(char *const argv[], int out_fd, const char *who, int *sig);

#endif
