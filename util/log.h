/*
 * util/log.h — the daemon's log: syslog, standard error, or a file.
 *
 * Every room that logs calls logmsg with a syslog priority (LOG_ERR …
 * LOG_DEBUG, from <syslog.h>, included here).  Where the lines go is chosen
 * once, by the CLI, before any thread starts (log_to_default, log_to_file)
 * and kept until the process ends: the one process-wide setting, as
 * openlog's is for syslog, and read-only once threads run.  Before any
 * choice, lines go to standard error.
 *
 *   syslog       ident "ipmaildir", the pid, facility LOG_MAIL; used when
 *                /dev/log is a socket.  A foreground process also
 *                copies each line to standard error.
 *   stderr       "ipmaildir[PID]: message": with no /dev/log.  The stream
 *                is the one the process had when the choice was made (a
 *                copy of fd 2), so a daemon whose fd 2 fuse_daemonize
 *                points at /dev/null still writes where it was started.
 *   file         "2026-01-02T03:04:05+0100 ipmaildir[PID]: message",
 *                appended (O_APPEND: each line is one write, whole, even
 *                from several threads or processes; logrotate's
 *                copytruncate works), created 0600.
 *
 * A line longer than LOG_LINE_MAX is cut.  A failed write is dropped: a
 * log never stops the daemon.
 */
#ifndef IPMD_UTIL_LOG_H
#define IPMD_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

#define LOG_IDENT "ipmaildir"
#define LOG_LINE_MAX 2048

/* syslog if /dev/log is a socket (copied to stderr when foreground), else
 * stderr.  0 or -errno (no copy of fd 2 could be made). */
int log_to_default(bool foreground);
/* Lines to the file path (appended; created 0600).  A relative path is
 * the current directory's, now.  0 or -errno of the open. */
int log_to_file(const char *path);
/* Where lines go now, for the CLI to tell: "syslog", "stderr" or the
 * file's path. */
const char *log_where(void);

void logmsg(int prio, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void vlogmsg(int prio, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

#endif
