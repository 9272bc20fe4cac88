/* fs/model/maildir_name.c — see maildir_name.h. */
#include "fs/model/maildir_name.h"

#include <string.h>

/* name is base, alone or followed by '.' and anything. */
static bool has_prefix_name(const char *name, const char *base)
{
	size_t n = strlen(base);
	return strncmp(name, base, n) == 0 &&
	       (name[n] == '\0' || name[n] == '.');
}

bool maildir_is_index_name(const char *name)
{
	return has_prefix_name(name, "dovecot.index") ||
	       has_prefix_name(name, "dovecot.list.index");
}
