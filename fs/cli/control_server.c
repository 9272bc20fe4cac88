/*
 * fs/cli/control_server.c — the daemon's side of the control socket
 * (control.h): one thread, one request at a time, each run by the
 * command's own code (gc_serve, fsck_serve, status_serve) with its
 * output kept, then framed back to the client once the command is done.
 *
 * Here, in fs/cli, because the engines are fs/tools': the mount's room
 * may not call them (docs/ARCHITECTURE.md), the CLI may call both.
 */
#include "fs/cli/control.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs/cli/control_frame.h"
#include "fs/mount/mount.h"
#include "util/log.h"
#include "util/thread.h"

/* A client that connects and says nothing does not hold the thread. */
#define CONTROL_REQUEST_WAIT_S 10
/* Nor one that stops reading its answer for longer (the answer is sent
 * after the command ran, so this holds no lock: only the next request
 * waits; a pager gets minutes). */
#define CONTROL_ANSWER_WAIT_S 300

struct control {
	struct ipmd_fs *fs;
	int listen_fd;
	int wake[2];   /* control_stop writes one byte: the poll returns */
	uid_t owner;   /* the store directory's */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* thread_start's; the poll is the wait */
	bool stopping;
	int conn;      /* under lock: the connection being served, or -1 */
	pthread_t thread;
};

/* ---- the command's output, as frames ---- */

/*
 * The output is kept here while the command runs and sent after it
 * returned: gc and fsck hold the mount's housekeeping and commit_lock
 * while they write, and a client that stops reading (`fsck --verbose |
 * less`) would otherwise stop the mount's commits with them.  Runs of
 * one stream are joined into frames of up to CONTROL_CHUNK bytes, each
 * write whole (a frame's text must be UTF-8, which a cut could break),
 * and at most CONTROL_OUTPUT_MAX bytes are kept: past that the answer
 * says it was cut.
 */
#define CONTROL_CHUNK (64u << 10)
#define CONTROL_OUTPUT_MAX (64u << 20)

struct outq {
	json_t *frames;  /* {"out": text} and {"err": text}, in order */
	const char *key; /* the stream of buf */
	char *buf;
	size_t len, cap, total;
	bool cut;
};

struct stream {
	struct outq *q;
	const char *key; /* "out" or "err" */
};

static void outq_flush(struct outq *q)
{
	if (q->len) {
		json_t *text = json_stringn(q->buf, q->len);
		json_t *m = text ? json_object() : NULL;
		/* Text that is not UTF-8 is dropped, as before it was. */
		if (m && !json_object_set_new(m, q->key, text))
			json_array_append_new(q->frames, m);
		else {
			json_decref(m);
			json_decref(text);
		}
	}
	q->len = 0;
}

static ssize_t stream_write(void *cookie, const char *buf, size_t size)
{
	struct stream *s = cookie;
	struct outq *q = s->q;
	if (q->cut || q->total + size > CONTROL_OUTPUT_MAX) {
		q->cut = true;
		return (ssize_t)size;
	}
	if (q->key != s->key || q->len + size > CONTROL_CHUNK)
		outq_flush(q);
	q->key = s->key;
	if (q->len + size > q->cap) {
		size_t cap = q->len + size > CONTROL_CHUNK ? q->len + size
							    : CONTROL_CHUNK;
		char *b = realloc(q->buf, cap);
		if (!b) {
			q->cut = true;
			return (ssize_t)size;
		}
		q->buf = b;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, buf, size);
	q->len += size;
	q->total += size;
	/* Output that can't be kept costs it the output, never the work:
	 * gc goes on to the end it would have reached. */
	return (ssize_t)size;
}

static FILE *stream_open(struct stream *s)
{
	FILE *f = fopencookie(s, "w", (cookie_io_functions_t){
					      .write = stream_write});
	if (f)
		setvbuf(f, NULL, _IONBF, 0); /* frames keep out/err order */
	return f;
}

/* Send what the command wrote, then its exit status (none: status < 0).
 * A client that reads nothing for CONTROL_ANSWER_WAIT_S (SO_SNDTIMEO)
 * gets no more: it sees the answer end early and says the daemon ended
 * before it answered. */
static void outq_send(struct outq *q, int fd, int status)
{
	outq_flush(q);
	if (q->cut) {
		json_t *m = json_pack("{s:s}", "err",
				      "ipmaildir: the mount's answer was too "
				      "long: the rest is cut\n");
		if (m)
			json_array_append_new(q->frames, m);
	}
	json_t *end = status >= 0 ? json_pack("{s:i}", "exit", status) : NULL;
	if (end)
		json_array_append_new(q->frames, end);
	size_t i;
	json_t *m;
	json_array_foreach(q->frames, i, m) {
		int e = control_frame_send(fd, m);
		if (e) {
			logmsg(LOG_WARNING, "control: the answer was cut: %s",
			       strerror(-e));
			break;
		}
	}
}

/* ---- one request ---- */

static const struct {
	const char *cmd;
	int (*serve)(struct ipmd_fs *fs, const json_t *req,
		     const struct cli_io *io);
} handlers[] = {
	{"gc", gc_serve},
	{"fsck", fsck_serve},
	{"status", status_serve},
};

/* Who may ask: the store's owner, or root (SO_PEERCRED). */
static bool allowed(const struct control *c, int fd, struct ucred *cr)
{
	socklen_t len = sizeof(*cr);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, cr, &len) != 0)
		return false;
	return cr->uid == 0 || cr->uid == c->owner;
}

static int run(struct control *c, const json_t *req, FILE *out, FILE *err)
{
	const char *cmd = json_string_value(json_object_get(req, "cmd"));
	json_t *v = json_object_get(req, "v");
	if (!json_is_integer(v) || json_integer_value(v) != CONTROL_VERSION) {
		fprintf(err, "ipmaildir: the mount's daemon speaks control "
			     "protocol %d: unmount and mount again with this "
			     "ipmaildir\n", CONTROL_VERSION);
		return EXIT_FAILURE_;
	}
	struct cli_io io = {.out = out, .err = err, .bars = false};
	for (size_t i = 0; cmd && i < sizeof(handlers) / sizeof(*handlers); i++)
		if (!strcmp(cmd, handlers[i].cmd))
			return handlers[i].serve(c->fs, req, &io);
	fprintf(err, "ipmaildir: the mount's daemon does not run '%s'\n",
		cmd ? cmd : "?");
	return EXIT_USAGE;
}

static void serve(struct control *c, int fd)
{
	struct ucred cr;
	struct outq q = {.frames = json_array()};
	struct stream so = {&q, "out"}, se = {&q, "err"};
	FILE *out = stream_open(&so), *err = stream_open(&se);
	json_t *req = NULL;
	int status = EXIT_FAILURE_;
	/* The request is read even from a peer refused: closing with it
	 * unread would reset the connection before the refusal arrives. */
	if (control_frame_recv(fd, &req) != 0) {
		status = -1; /* no request, nobody to answer */
	} else if (!out || !err || !q.frames) {
		logmsg(LOG_ERR, "control: out of memory");
	} else if (!allowed(c, fd, &cr)) {
		logmsg(LOG_WARNING, "control: refused a request from uid %u",
		       (unsigned)cr.uid);
		fprintf(err, "ipmaildir: only the mailbox's owner may ask its "
			     "mount (uid %u is not)\n", (unsigned)cr.uid);
	} else {
		status = run(c, req, out, err);
	}
	if (out)
		fclose(out);
	if (err)
		fclose(err);
	json_decref(req);
	if (q.frames)
		outq_send(&q, fd, status);
	json_decref(q.frames);
	free(q.buf);
}

static bool stopping(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	bool s = c->stopping;
	pthread_mutex_unlock(&c->lock);
	return s;
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	struct pollfd p[2] = {{.fd = c->listen_fd, .events = POLLIN},
			      {.fd = c->wake[0], .events = POLLIN}};
	while (!stopping(c)) {
		if (poll(p, 2, -1) < 0 || p[1].revents)
			continue; /* EINTR, or the stop: looked at above */
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		struct timeval tv = {.tv_sec = CONTROL_REQUEST_WAIT_S};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		tv.tv_sec = CONTROL_ANSWER_WAIT_S;
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		pthread_mutex_lock(&c->lock);
		c->conn = fd;
		pthread_mutex_unlock(&c->lock);
		serve(c, fd);
		pthread_mutex_lock(&c->lock);
		c->conn = -1;
		pthread_mutex_unlock(&c->lock);
		close(fd);
	}
	return NULL;
}

/* Bind STORE/control, owner-only, and listen: the fd or -errno. */
static int listen_on(const char *path)
{
	struct stat st;
	/* A socket left by a daemon that was killed: we hold STORE/lock,
	 * so no daemon serves it.  Anything else there is not ours. */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	return control_socket(path, true);
}

int control_start(struct control **out, struct ipmd_fs *fs)
{
	struct stat st;
	if (stat(fs->store.paths.root, &st) != 0)
		return -errno;
	struct control *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fs = fs;
	c->owner = st.st_uid;
	c->wake[0] = c->wake[1] = -1;
	c->conn = -1;
	c->listen_fd = listen_on(fs->store.paths.control);
	int e = c->listen_fd < 0 ? c->listen_fd : 0;
	if (!e && pipe2(c->wake, O_CLOEXEC) != 0)
		e = -errno;
	if (!e) {
		int n = thread_start(&c->lock, &c->cond, &c->thread, 1,
				     control_main, c);
		e = n < 0 ? n : 0;
	}
	if (e) {
		if (c->listen_fd >= 0) {
			close(c->listen_fd);
			unlink(fs->store.paths.control);
		}
		if (c->wake[0] >= 0) {
			close(c->wake[0]);
			close(c->wake[1]);
		}
		free(c);
		return e;
	}
	*out = c;
	return 0;
}

void control_stop(struct control *c)
{
	if (!c)
		return;
	/* Gone first: a client from now on runs the command itself (and
	 * finds the store locked until the daemon ends). */
	unlink(c->fs->store.paths.control);
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	/* The request under way runs to its end, but a client that stopped
	 * reading must not hold the unmount: its output is cut. */
	if (c->conn >= 0)
		shutdown(c->conn, SHUT_WR);
	pthread_mutex_unlock(&c->lock);
	(void)!write(c->wake[1], "", 1);
	pthread_join(c->thread, NULL);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	close(c->listen_fd);
	close(c->wake[0]);
	close(c->wake[1]);
	free(c);
}
