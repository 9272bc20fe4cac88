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

#include "fs/store/mountinfo.h"
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

int store_open_beside(struct store *s, const struct store *writer,
		      enum store_lock kind, char *msg, size_t msgsize)
{
	store_reset(s);
	if (kind != STORE_LOCK_NONE && kind != STORE_LOCK_READ &&
	    kind != STORE_LOCK_EXCLUSIVE)
		return msgbuf_say(msg, msgsize, "no such lock beside a writer");
	s->paths = writer->paths;
	if (keys_copy(&s->keys, &writer->keys))
		return msgbuf_say(msg, msgsize, "out of memory");
	if (take_readers(s, kind, msg, msgsize))
		return -1;
	/* The writer typed the state files when it opened the store. */
	state_read(s->paths.head, s->paths.seen, s->paths.pruned,
		   s->keys.journal, &s->state);
	return 0;
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

struct where {
	const char *root;
	char *out;
	size_t size;
};

static int is_store_mount(const struct mountinfo_entry *e, void *arg)
{
	struct where *w = arg;
	size_t n = strlen(MOUNTINFO_SOURCE);
	if (strcmp(e->type, MOUNTINFO_TYPE) ||
	    strncmp(e->source, MOUNTINFO_SOURCE, n) ||
	    strcmp(e->source + n, w->root))
		return 0;
	if (strlen(e->mountpoint) >= w->size)
		return -ENAMETOOLONG;
	memcpy(w->out, e->mountpoint, strlen(e->mountpoint) + 1);
	return 1;
}

int store_mountpoint(const struct store_paths *paths, char *out, size_t size)
{
	struct where w = {.root = paths->root, .out = out, .size = size};
	int r = mountinfo_each(is_store_mount, &w);
	return r == 1 ? 0 : r < 0 ? r : -ENOENT;
}
