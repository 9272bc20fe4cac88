/* util/msgbuf.c — see msgbuf.h. */
#include "util/msgbuf.h"

#include <stdarg.h>
#include <stdio.h>

int msgbuf_say(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return -1;
}
