/* util/log.c — the daemon's log (log.h). */
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <paths.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum log_dest { TO_STDERR, TO_SYSLOG, TO_FILE };

/* Set by log_to_* before threads start, only read after (log.h). */
static struct {
	enum log_dest dest;
	int fd;    /* stderr's copy or the file; -1: fd 2 as it is now */
	bool copy; /* syslog lines also to fd (a foreground process) */
	char path[PATH_MAX];
} sink = {.dest = TO_STDERR, .fd = -1};

static int copy_stderr(void)
{
	int fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	return fd < 0 ? -errno : fd;
}

int log_to_default(bool foreground)
{
	int fd = copy_stderr();
	if (fd < 0)
		return fd;
	if (sink.fd >= 0)
		close(sink.fd);
	sink.fd = fd;
	sink.copy = foreground;
	/* A socket, as syslog needs: not merely a name. */
	struct stat st;
	sink.dest = stat(_PATH_LOG, &st) == 0 && S_ISSOCK(st.st_mode)
			    ? TO_SYSLOG
			    : TO_STDERR;
	if (sink.dest == TO_SYSLOG)
		openlog(LOG_IDENT, LOG_PID, LOG_MAIL);
	return 0;
}

int log_to_file(const char *path)
{
	if (strlen(path) >= sizeof(sink.path))
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
		      0600);
	if (fd < 0)
		return -errno;
	if (sink.fd >= 0)
		close(sink.fd);
	sink.fd = fd;
	sink.copy = false;
	sink.dest = TO_FILE;
	memcpy(sink.path, path, strlen(path) + 1);
	return 0;
}

const char *log_where(void)
{
	switch (sink.dest) {
	case TO_SYSLOG: return "syslog";
	case TO_FILE: return sink.path;
	case TO_STDERR: break;
	}
	return "stderr";
}

/* One line, one write: whole lines even from several writers. */
static void put_line(const char *msg, bool stamp)
{
	char line[LOG_LINE_MAX + 64];
	size_t n = 0;
	if (stamp) {
		struct tm tm;
		time_t t = time(NULL);
		if (localtime_r(&t, &tm))
			n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S%z ",
				     &tm);
	}
	int k = snprintf(line + n, sizeof(line) - n, LOG_IDENT "[%ld]: %s",
			 (long)getpid(), msg);
	if (k > 0)
		n += (size_t)k;
	if (n > sizeof(line) - 2) /* cut: the newline still ends it */
		n = sizeof(line) - 2;
	line[n++] = '\n';
	ssize_t w = write(sink.fd >= 0 ? sink.fd : STDERR_FILENO, line, n);
	(void)w; /* a log never stops the daemon */
}

void vlogmsg(int prio, const char *fmt, va_list ap)
{
	char msg[LOG_LINE_MAX];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (sink.dest == TO_SYSLOG)
		syslog(prio, "%s", msg);
	if (sink.dest != TO_SYSLOG || sink.copy)
		put_line(msg, sink.dest == TO_FILE);
}

void logmsg(int prio, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlogmsg(prio, fmt, ap);
	va_end(ap);
}
