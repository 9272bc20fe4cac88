/* fs/store/store_open.c — see store_open.h. */
#include "fs/store/store_open.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "util/msgbuf.h"

static int try_flock(int fd, int op)
{
	int r;
	do
		r = flock(fd, op | LOCK_NB);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* Open path (created 0600 if absent) into *fd and flock it with op:
 * 0, -EWOULDBLOCK (held against us), or -1 with "PATH: why" in msg. */
static int lock_file(const char *path, int op, int *fd, char *msg,
		     size_t msgsize)
{
	*fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (*fd < 0)
		return msgbuf_say(msg, msgsize, "%s: %s", path,
				  strerror(errno));
	int e = try_flock(*fd, op);
	if (e && e != -EWOULDBLOCK)
		return msgbuf_say(msg, msgsize, "%s: %s", path, strerror(-e));
	return e;
}

/* STORE/lock, for the kinds that take it. */
static int take_lock(struct store *s, enum store_lock kind, char *msg,
		     size_t msgsize)
{
	if (kind != STORE_LOCK_SHARED && kind != STORE_LOCK_WRITE &&
	    kind != STORE_LOCK_EXCLUSIVE)
		return 0;
	int op = kind == STORE_LOCK_SHARED ? LOCK_SH : LOCK_EX;
	int e = lock_file(s->paths.lock, op, &s->lock_fd, msg, msgsize);
	if (e != -EWOULDBLOCK)
		return e;
	if (kind == STORE_LOCK_EXCLUSIVE)
		return msgbuf_say(msg, msgsize,
				  "the mailbox in %s is mounted: unmount it "
				  "first",
				  s->paths.root);
	return msgbuf_say(msg, msgsize,
			  "%s is in use by another ipmaildir process",
			  s->paths.root);
}

/* STORE/readers, for the kinds that take it.  A past state is immutable
 * blocks: it may be read beside the writer, and only gc must wait. */
static int take_readers(struct store *s, enum store_lock kind, char *msg,
			size_t msgsize)
{
	if (kind != STORE_LOCK_READ && kind != STORE_LOCK_PAST &&
	    kind != STORE_LOCK_EXCLUSIVE)
		return 0;
	bool ex = kind == STORE_LOCK_EXCLUSIVE;
	int e = lock_file(s->paths.readers, ex ? LOCK_EX : LOCK_SH,
			  &s->readers_fd, msg, msgsize);
	if (e != -EWOULDBLOCK)
		return e;
	if (ex)
		return msgbuf_say(msg, msgsize,
				  "a past state of the mailbox in %s is "
				  "mounted or being checked (mount --at, "
				  "archive, fsck): wait for it or unmount it",
				  s->paths.root);
	if (kind == STORE_LOCK_PAST)
		return msgbuf_say(msg, msgsize,
				  "ipmaildir gc is running: try again when it "
				  "is done");
	return msgbuf_say(msg, msgsize,
			  "ipmaildir gc is running on %s: try again when it "
			  "is done",
			  s->paths.root);
}

static int load_keys(struct store *s, const struct passphrase_source *pass,
		     char *msg, size_t msgsize)
{
	int sys_errno = 0;
	int e = store_load_keys(&s->paths, pass, &s->keys, &sys_errno);
	if (!e)
		return 0;
	char why[PATH_MAX + 128];
	store_keys_strerror(&s->paths, pass, e, sys_errno, why, sizeof(why));
	return msgbuf_say(msg, msgsize, "%s", why);
}

/* A mount's refusal of a state it must not build on (state_check). */
static int refuse_damage(struct store *s, char *msg, size_t msgsize)
{
	int data = s->state.head_err == -ENOENT ? store_has_data(&s->paths)
						: 0;
	if (data < 0)
		return msgbuf_say(msg, msgsize, "%s: %s", s->paths.root,
				  strerror(-data));
	enum state_problem p = state_check(&s->state, data == 1);
	if (p != STATE_OK)
		return msgbuf_say(msg, msgsize, "%s: %s", s->paths.root,
				  state_problem_text(p));
	return 0;
}

/* A writable mount: the state typed, and a head from the first record
 * on (a new mailbox's: no commit, journal generation 1). */
static int take_state(struct store *s, char *msg, size_t msgsize)
{
	struct state_set *st = &s->state;
	int e = state_upgrade(s->paths.head, s->paths.seen, s->paths.pruned,
			      s->keys.journal, st);
	if (!e && st->head_err == -ENOENT) {
		struct head h = {.journal_gen = 1};
		e = head_write(s->paths.head, s->keys.journal,
			       BLOCK_STATE_HEAD, &h);
		if (!e) {
			st->head = h;
			st->head_err = 0;
		}
	}
	if (e)
		return msgbuf_say(msg, msgsize, "%s: %s", s->paths.head,
				  strerror(-e));
	return 0;
}

/* The state files, read, judged and upgraded as the kind says. */
static int open_state(struct store *s, enum store_lock kind, char *msg,
		      size_t msgsize)
{
	state_read(s->paths.head, s->paths.seen, s->paths.pruned,
		   s->keys.journal, &s->state);
	if ((kind == STORE_LOCK_SHARED || kind == STORE_LOCK_WRITE) &&
	    refuse_damage(s, msg, msgsize))
		return -1;
	if (kind == STORE_LOCK_WRITE)
		return take_state(s, msg, msgsize);
	int e = kind == STORE_LOCK_EXCLUSIVE
			? state_upgrade(s->paths.head, s->paths.seen,
					s->paths.pruned, s->keys.journal,
					&s->state)
			: 0;
	if (e)
		return msgbuf_say(msg, msgsize,
				  "rewriting the state files in the typed "
				  "format: %s",
				  strerror(-e));
	return 0;
}

int store_open(struct store *s, const struct store_open_options *o,
	       char *msg, size_t msgsize)
{
	store_reset(s);
	int e = store_paths_init(&s->paths, o->dir);
	if (e)
		return msgbuf_say(msg, msgsize, "cannot name the store: %s",
				  strerror(-e));
	if (access(s->paths.key, F_OK) != 0) {
		store_no_key_message(&s->paths, msg, msgsize);
		return -1;
	}
	if (take_lock(s, o->lock, msg, msgsize) ||
	    take_readers(s, o->lock, msg, msgsize) ||
	    load_keys(s, o->pass, msg, msgsize))
		return -1;
	return open_state(s, o->lock, msg, msgsize);
}

void store_reset(struct store *s)
{
	memset(s, 0, sizeof(*s));
	s->lock_fd = s->readers_fd = -1;
}

void store_close(struct store *s)
{
	keys_free(&s->keys);
	if (s->readers_fd >= 0)
		close(s->readers_fd);
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	store_reset(s);
}

enum state_problem store_state_problem(const struct store *s)
{
	int data = s->state.head_err == -ENOENT ? store_has_data(&s->paths)
						: 0;
	return state_check(&s->state, data != 0);
}

int store_writer_active(const struct store_paths *paths)
{
	int fd = open(paths->lock, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* A shared probe fails only against an exclusive holder: a writer.
	 * It is dropped at once; a mount starting in that instant is told
	 * the store is busy and can be retried. */
	int e = try_flock(fd, LOCK_SH);
	close(fd);
	if (e == -EWOULDBLOCK)
		return 1;
	return e ? e : 0;
}

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

int store_mountpoint(const struct store_paths *paths, char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	char *line = NULL;
	size_t cap = 0;
	int e = -ENOENT;
	while (e == -ENOENT && getline(&line, &cap, f) > 0) {
		/* id parent dev root MOUNTPOINT opts [tags] - TYPE SOURCE … */
		char *save = NULL, *mnt = NULL, *sep = NULL;
		int field = 0;
		for (char *t = strtok_r(line, " \n", &save); t;
		     t = strtok_r(NULL, " \n", &save), field++) {
			if (field == 4)
				mnt = t;
			if (!strcmp(t, "-")) {
				sep = t;
				break;
			}
		}
		char *type = sep ? strtok_r(NULL, " \n", &save) : NULL;
		char *source = type ? strtok_r(NULL, " \n", &save) : NULL;
		if (!mnt || !source || strcmp(type, "fuse.ipmaildir"))
			continue;
		unescape(source);
		if (strncmp(source, "ipmaildir:", 10) ||
		    strcmp(source + 10, paths->root))
			continue;
		unescape(mnt);
		e = strlen(mnt) < size ? 0 : -ENAMETOOLONG;
		if (!e)
			memcpy(out, mnt, strlen(mnt) + 1);
	}
	free(line);
	fclose(f);
	return e;
}
