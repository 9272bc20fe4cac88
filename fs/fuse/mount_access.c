/* fs/fuse/mount_access.c — allow_other implies default_permissions
 * (mount_access.h). */
#include "fs/fuse/mount_access.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define OPT_ALLOW_OTHER "allow_other"
#define OPT_DEFAULT_PERMS "default_permissions"

/* Append tok to the list out; the caller made room. */
static void append(char *out, const char *tok)
{
	if (*out)
		strcat(out, ",");
	strcat(out, tok);
}

int mount_access_options(char *opts, size_t size)
{
	size_t len = strlen(opts);
	char *copy = strdup(opts);
	/* The list only shrinks, but for default_permissions and a comma. */
	char *out = malloc(len + sizeof(OPT_DEFAULT_PERMS) + 1);
	if (!copy || !out) {
		free(copy);
		free(out);
		return -ENOMEM;
	}
	*out = '\0';
	bool other = false, checked = false, opt_out = false;
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, MOUNT_ACCESS_OPT_OUT)) {
			opt_out = true;
			continue;
		}
		other |= !strcmp(tok, OPT_ALLOW_OTHER);
		checked |= !strcmp(tok, OPT_DEFAULT_PERMS);
		append(out, tok);
	}
	free(copy);
	bool add = other && !checked && !opt_out;
	if (add)
		append(out, OPT_DEFAULT_PERMS);
	int r = !other    ? MOUNT_ACCESS_OWNER
		: opt_out ? MOUNT_ACCESS_UNCHECKED
			  : MOUNT_ACCESS_CHECKED;
	if (checked && opt_out)
		r = -EINVAL;
	else if (strlen(out) + 1 > size)
		r = -E2BIG;
	else
		strcpy(opts, out);
	free(out);
	return r;
}
