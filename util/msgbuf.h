/*
 * util/msgbuf.h — a one-line failure message into a caller's buffer.
 *
 * Below the CLI nothing prints: a function that can fail in several ways
 * fills a caller's char buffer with why, and the CLI shows it.  msgbuf_say
 * is the one helper for that, shared by the modules that do it (config,
 * mount, history, remote).
 */
#ifndef IPMD_UTIL_MSGBUF_H
#define IPMD_UTIL_MSGBUF_H

#include <stddef.h>

/* printf into buf (size bytes, always terminated); returns -1, so a
 * failing path can `return msgbuf_say(…)`. */
int msgbuf_say(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
