/* fs/store/mountinfo.c — see mountinfo.h. */
#include "fs/store/mountinfo.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape(char *s)
{
	char *o = s;
	for (char *p = s; *p; p++) {
		if (p[0] == '\\' && p[1] >= '0' && p[1] <= '7' &&
		    p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
			*o++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 +
				      (p[3] - '0'));
			p += 3;
		} else {
			*o++ = *p;
		}
	}
	*o = '\0';
}

int mountinfo_parse(char *line, struct mountinfo_entry *e)
{
	char *save = NULL, *mnt = NULL, *opts = NULL, *sep = NULL;
	int field = 0;
	for (char *t = strtok_r(line, " \n", &save); t;
	     t = strtok_r(NULL, " \n", &save), field++) {
		if (field == 4)
			mnt = t;
		if (field == 5)
			opts = t;
		/* Optional tags come before the separator, none after 5. */
		if (field >= 6 && !strcmp(t, "-")) {
			sep = t;
			break;
		}
	}
	char *type = sep ? strtok_r(NULL, " \n", &save) : NULL;
	char *source = type ? strtok_r(NULL, " \n", &save) : NULL;
	if (!source)
		return -EINVAL;
	unescape(mnt);
	unescape(source);
	*e = (struct mountinfo_entry){
		.mountpoint = mnt, .options = opts, .type = type,
		.source = source};
	return 0;
}

bool mountinfo_read_only(const struct mountinfo_entry *e)
{
	size_t n = strlen(e->options);
	for (const char *p = e->options; p && p < e->options + n;) {
		size_t len = strcspn(p, ",");
		if (len == 2 && !strncmp(p, "ro", 2))
			return true;
		p += len + 1;
	}
	return false;
}

int mountinfo_each(int (*fn)(const struct mountinfo_entry *e, void *arg),
		   void *arg)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int r = 0;
	while (!r && getline(&line, &cap, f) > 0) {
		struct mountinfo_entry e;
		if (mountinfo_parse(line, &e) == 0)
			r = fn(&e, arg);
	}
	free(line);
	fclose(f);
	return r;
}
