/* util/spawn.c — start a program with a captured stream, wait for it
 * (spawn.h). */
#include "util/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int spawn_start(char *const argv[], int capture, struct spawn *s)
{
	int pipefd[2];
	s->pid = -1;
	s->fd = -1;
	if (pipe2(pipefd, O_CLOEXEC) != 0)
		return -errno;
	posix_spawn_file_actions_t fa;
	int e = posix_spawn_file_actions_init(&fa);
	if (e == 0) {
		/* dup2 clears close-on-exec on the copy: the child keeps
		 * only its stream, never the pipe's ends. */
		e = posix_spawn_file_actions_adddup2(&fa, pipefd[1], capture);
		if (e == 0)
			e = posix_spawnp(&s->pid, argv[0], &fa, NULL, argv,
					 environ);
		posix_spawn_file_actions_destroy(&fa);
	}
	close(pipefd[1]);
	if (e != 0) {
		close(pipefd[0]);
		s->pid = -1;
		return -e;
	}
	s->fd = pipefd[0];
	return 0;
}

int spawn_finish(struct spawn *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if (s->pid < 0)
		return -ECHILD;
	int status;
	while (waitpid(s->pid, &status, 0) < 0)
		if (errno != EINTR) {
			int e = -errno;
			s->pid = -1;
			return e;
		}
	s->pid = -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return SPAWN_SIGNALED + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

void spawn_strerror(int r, char *buf, size_t size)
{
	if (r == -ENOENT)
		snprintf(buf, size, "not found");
	else if (r < 0)
		snprintf(buf, size, "%s", strerror(-r));
	else if (r >= SPAWN_SIGNALED)
		snprintf(buf, size, "killed by SIG%s",
			 sigabbrev_np(r - SPAWN_SIGNALED)
				 ? sigabbrev_np(r - SPAWN_SIGNALED)
				 : "?");
	else
		snprintf(buf, size, "exited with status %d", r);
}
