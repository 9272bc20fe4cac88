/* fs/store/lock_note.c — see lock_note.h. */
#include "fs/store/lock_note.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/io.h"

#define NOTE_MAX 64

static int put(int fd, const char *fmt, long value)
{
	char text[NOTE_MAX];
	int n = snprintf(text, sizeof(text), fmt, value);
	if (ftruncate(fd, 0) != 0)
		return -errno;
	return pwrite_all(fd, text, (size_t)n, 0);
}

int lock_note_running(int fd, pid_t pid)
{
	return put(fd, "running %ld\n", (long)pid);
}

int lock_note_exit(int fd, int status)
{
	return put(fd, "exit %ld\n", (long)status);
}

void lock_note_parse(const char *text, struct lock_note *n)
{
	static const struct {
		const char *word;
		int kind;
	} forms[] = {{"running ", NOTE_RUNNING}, {"exit ", NOTE_EXIT}};
	n->kind = NOTE_NONE;
	n->value = 0;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		size_t len = strlen(forms[i].word);
		if (strncmp(text, forms[i].word, len) ||
		    text[len] < '0' || text[len] > '9')
			continue;
		char *end;
		errno = 0;
		long v = strtol(text + len, &end, 10);
		if (errno || (*end && strcmp(end, "\n")))
			return;
		n->kind = forms[i].kind;
		n->value = v;
	}
}

int lock_note_wait(const struct store_paths *p, struct lock_note *n)
{
	int fd = open(p->lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int e = 0;
	while (flock(fd, LOCK_SH) != 0)
		if (errno != EINTR) {
			e = -errno;
			break;
		}
	char text[NOTE_MAX];
	size_t got = 0;
	if (!e)
		e = read_full(fd, text, sizeof(text) - 1, &got);
	close(fd);
	text[e ? 0 : got] = '\0';
	lock_note_parse(text, n);
	return e;
}
