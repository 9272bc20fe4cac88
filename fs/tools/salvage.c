/* fs/tools/salvage.c — see salvage.h. */
#include "fs/tools/salvage.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "fs/model/maildir.h"
#include "fs/model/record.h"
#include "util/array.h"
#include "util/clock.h"
#include "util/wipe.h"

/* Other names tried in SALVAGE_DIR/cur when a file's own is taken. */
#define SALVAGE_RENAME_TRIES 1000
/* Subfolders that make SALVAGE_DIR a Maildir++ folder: maildir_subdirs. */

int salvage_add(struct salvage_list *l, const char *path, const char *why)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].path, path) == 0)
			return 0;
	struct salvage_item *p =
		array_grow(l->v, l->n, &l->cap, sizeof(*p), 8);
	if (!p)
		return -ENOMEM;
	l->v = p;
	struct salvage_item *it = &l->v[l->n];
	if (!(it->path = strdup(path)))
		return -ENOMEM;
	snprintf(it->why, sizeof(it->why), "%s", why);
	l->n++;
	return 0;
}

void salvage_free(struct salvage_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].path);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* The directory holding path and the last name in it; NULL when a
 * component is missing or not a directory.  name points into path. */
static struct inode *parent_of(struct fs_tree *t, const char *path,
			       char *comp, const char **name)
{
	struct inode *dir = t->root;
	const char *p = path;
	while (*p == '/')
		p++;
	for (;;) {
		const char *slash = strchr(p, '/');
		if (!slash) {
			*name = p;
			return *p ? dir : NULL;
		}
		size_t n = (size_t)(slash - p);
		if (n == 0 || n > TREE_NAME_MAX)
			return NULL;
		memcpy(comp, p, n);
		comp[n] = '\0';
		struct dirent *d = tree_lookup(dir, comp);
		if (!d || !S_ISDIR(d->inode->mode))
			return NULL;
		dir = d->inode;
		p = slash + 1;
	}
}

/* Under lock: the directory name in dir, made (0700) when absent. */
static int ensure_dir(struct ipmd_fs *fs, struct inode *dir, const char *name,
		      struct inode **out)
{
	struct dirent *d = tree_lookup(dir, name);
	if (d) {
		*out = d->inode;
		return S_ISDIR(d->inode->mode) ? 0 : -ENOTDIR;
	}
	struct record r = {.op = REC_CREATE, .dir = dir->ino, .name = name,
			   .ino = fs->tree->next_ino, .mode = S_IFDIR | 0700,
			   .uid = dir->uid, .gid = dir->gid, .time = wall_now()};
	int e = ipmd_fs_log(fs, &r);
	if (e)
		return e;
	*out = tree_get(fs->tree, r.ino);
	return *out ? 0 : -EIO;
}

/* Under lock: SALVAGE_DIR with cur/ new/ tmp/; *cur is its cur/. */
static int ensure_lost_found(struct ipmd_fs *fs, struct inode **cur)
{
	struct inode *lf;
	int e = ensure_dir(fs, fs->tree->root, &SALVAGE_DIR[1], &lf);
	for (size_t i = 0; !e && i < sizeof(maildir_subdirs) /
					   sizeof(*maildir_subdirs); i++) {
		struct inode *sub;
		e = ensure_dir(fs, lf, maildir_subdirs[i], &sub);
		if (!e && i == 0)
			*cur = sub;
	}
	return e;
}

/* What of a file reads: its chunks and which of them open. */
struct readable {
	struct chunk_ref *chunks; /* NULL when the index does not read */
	bool *ok;
	size_t n;
	uint64_t recovered;
	uint8_t *buf; /* bufsize = st->chunk_size bytes */
	size_t bufsize;
};

static void readable_free(struct readable *r)
{
	wipe_free(r->chunks, r->n * sizeof(*r->chunks));
	free(r->ok);
	wipe_free(r->buf, r->bufsize); /* plaintext */
	memset(r, 0, sizeof(*r));
}

/* Open every chunk of ref once: which read, how many bytes.  0, or
 * -ENOMEM; an unreadable index leaves r->chunks NULL. */
static int probe(struct obj_store *st, const struct obj_ref *ref,
		 struct readable *r)
{
	memset(r, 0, sizeof(*r));
	if (!(r->buf = malloc(st->chunk_size)))
		return -ENOMEM;
	r->bufsize = st->chunk_size;
	if (ref->depth == 0) {
		if (!(r->chunks = calloc(1, sizeof(*r->chunks))))
			return -ENOMEM;
		r->chunks[0].cid = ref->cid;
		r->chunks[0].size = ref->size;
		memcpy(r->chunks[0].key, ref->key, sizeof(ref->key));
		r->n = 1;
	} else {
		int e = obj_list_chunks(st, ref, &r->chunks, &r->n);
		if (e == -ENOMEM)
			return e;
		if (e)
			return 0;
	}
	if (!(r->ok = calloc(r->n ? r->n : 1, sizeof(*r->ok))))
		return -ENOMEM;
	for (size_t i = 0; i < r->n; i++) {
		size_t len;
		r->ok[i] = obj_open_chunk(st, &r->chunks[i], r->buf, &len) ==
				   0 &&
			   len == r->chunks[i].size;
		if (r->ok[i])
			r->recovered += len;
	}
	return 0;
}

static bool reads_whole(const struct readable *r)
{
	if (!r->chunks)
		return false;
	for (size_t i = 0; i < r->n; i++)
		if (!r->ok[i])
			return false;
	return true;
}

/* path with control characters and non-ASCII made '?', for a header. */
static void header_safe(char *out, size_t size, const char *path)
{
	size_t i = 0;
	for (; path[i] && i + 1 < size; i++) {
		unsigned char c = (unsigned char)path[i];
		out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
	}
	out[i] = '\0';
}

static int put_text(struct obj_writer *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int put_text(struct obj_writer *w, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
	return obj_writer_write(w, (const uint8_t *)line, len);
}

/* The report's header and explanation, before the recovered bytes. */
static int put_header(struct obj_writer *w, const struct salvage_item *it,
		      const struct readable *r, uint64_t size)
{
	char date[64], safe[512];
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	header_safe(safe, sizeof(safe), it->path);
	int e = put_text(w,
			 "From: ipmaildir fsck <MAILER-DAEMON>\n"
			 "Date: %s\n"
			 "Subject: [ipmaildir fsck] damaged file %s\n"
			 "MIME-Version: 1.0\n"
			 "Content-Type: text/plain; charset=utf-8\n"
			 "\n"
			 "ipmaildir fsck --repair found this file damaged and "
			 "moved it here.\n\n",
			 date, safe);
	if (!e)
		e = put_text(w,
			     "  was:        %s\n"
			     "  size:       %llu bytes\n"
			     "  damage:     %s\n"
			     "  recovered:  %llu of %llu bytes, below the "
			     "line; each part that could not be read is one "
			     "line [ipmaildir fsck: N bytes lost here]\n"
			     "-----------------------------------------------"
			     "-------------------------\n",
			     safe, (unsigned long long)size, it->why,
			     (unsigned long long)r->recovered,
			     (unsigned long long)size);
	return e;
}

/* The report, then what reads of the file, into a new object. */
static int write_report(struct obj_store *st, const struct salvage_item *it,
			struct readable *r, uint64_t size, struct obj_ref *out)
{
	struct obj_writer *w;
	int e = obj_writer_new(st, &w);
	if (e)
		return e;
	e = put_header(w, it, r, size);
	if (!e && !r->chunks)
		e = put_text(w, "[ipmaildir fsck: %llu bytes lost here: the "
				"file's index does not read]\n",
			     (unsigned long long)size);
	for (size_t i = 0; !e && r->chunks && i < r->n; i++) {
		size_t len;
		if (r->ok[i] &&
		    obj_open_chunk(st, &r->chunks[i], r->buf, &len) == 0)
			e = obj_writer_write(w, r->buf, len);
		else
			e = put_text(w, "\n[ipmaildir fsck: %llu bytes lost "
					"here]\n",
				     (unsigned long long)r->chunks[i].size);
	}
	if (e) {
		obj_writer_abort(w);
		return e;
	}
	return obj_writer_finish(w, out);
}

/* Under lock: rename dir/name into cur under a free name (to). */
static int move_to(struct ipmd_fs *fs, struct inode *dir, const char *name,
		   struct inode *cur, char to[TREE_NAME_MAX + 1])
{
	snprintf(to, TREE_NAME_MAX + 1, "%s", name);
	for (unsigned i = 1; tree_lookup(cur, to); i++) {
		if (i >= SALVAGE_RENAME_TRIES)
			return -EEXIST;
		int n = snprintf(to, TREE_NAME_MAX + 1, "fsck%u.%s", i, name);
		if (n < 0 || n > TREE_NAME_MAX)
			return -ENAMETOOLONG;
	}
	struct record r = {.op = REC_RENAME, .dir = dir->ino, .name = name,
			   .newdir = cur->ino, .newname = to,
			   .flags = TREE_RENAME_NOREPLACE, .time = wall_now()};
	return ipmd_fs_log(fs, &r);
}

/* One item: probe, write the report, move it, swap its content. */
static int salvage_one(struct ipmd_fs *fs, const struct salvage_item *it,
		       struct inode **cur, struct salvage_report *rep,
		       char *to)
{
	char comp[TREE_NAME_MAX + 1];
	const char *name;
	pthread_mutex_lock(&fs->lock);
	struct inode *dir = parent_of(fs->tree, it->path, comp, &name);
	struct dirent *d = dir ? tree_lookup(dir, name) : NULL;
	struct obj_ref ref = {0};
	uint64_t ino = 0;
	if (d && S_ISREG(d->inode->mode)) {
		ref = d->inode->content;
		ino = d->inode->ino;
	}
	pthread_mutex_unlock(&fs->lock);
	rep->outcome = SALVAGE_GONE;
	if (!ino)
		return 0;
	rep->size = ref.size;
	struct readable r;
	int e = probe(&fs->st, &ref, &r);
	if (!e && reads_whole(&r)) {
		rep->outcome = SALVAGE_READS;
		readable_free(&r);
		return 0;
	}
	rep->recovered = r.recovered;
	struct obj_ref report;
	if (!e)
		e = write_report(&fs->st, it, &r, ref.size, &report);
	readable_free(&r);
	sodium_memzero(&ref, sizeof(ref));
	if (e)
		return e;
	pthread_mutex_lock(&fs->lock);
	struct inode *in = tree_get(fs->tree, ino);
	dir = parent_of(fs->tree, it->path, comp, &name);
	if (!in || !dir || !(d = tree_lookup(dir, name)) || d->inode != in)
		e = -ESTALE;
	if (!e && !*cur)
		e = ensure_lost_found(fs, cur);
	if (!e)
		e = move_to(fs, dir, name, *cur, to);
	if (!e) {
		struct record c = {.op = REC_CONTENT, .ino = ino,
				   .content = report, .mtime = in->mtime,
				   .time = wall_now()};
		c.content.size = report.size;
		e = ipmd_fs_log(fs, &c);
	}
	pthread_mutex_unlock(&fs->lock);
	sodium_memzero(&report, sizeof(report));
	if (!e)
		rep->outcome = SALVAGE_MOVED;
	return e;
}

long salvage_apply(struct ipmd_fs *fs, const struct salvage_list *l,
		   salvage_fn fn, void *arg)
{
	struct inode *cur = NULL;
	long moved = 0;
	for (size_t i = 0; i < l->n; i++) {
		char name[TREE_NAME_MAX + 1] = "";
		char to[sizeof(SALVAGE_DIR "/cur/") + TREE_NAME_MAX];
		struct salvage_report rep = {.item = &l->v[i]};
		int e = salvage_one(fs, &l->v[i], &cur, &rep, name);
		if (e == -ENOMEM)
			return e;
		if (e) {
			rep.outcome = SALVAGE_FAILED;
			rep.error = e;
		}
		snprintf(to, sizeof(to), "%s/cur/%s", SALVAGE_DIR, name);
		rep.to = to;
		if (rep.outcome == SALVAGE_MOVED)
			moved++;
		fn(&rep, arg);
	}
	return moved;
}
