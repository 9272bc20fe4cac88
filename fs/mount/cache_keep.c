/* fs/mount/cache_keep.c — local cache files across a clean unmount
 * (cache_keep.h). */
#include "fs/mount/cache_keep.h"

#include <errno.h>
#include <stdbool.h>
#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs/model/maildir.h"
#include "fs/model/tree.h"
#include "fs/mount/cache_file.h"
#include "util/wipe.h"

#define CATALOG_V 1
/* A catalog lists at most this many files (Dovecot keeps a handful per
 * folder); more are dropped, and rebuilt. */
#define CATALOG_FILES_MAX 100000

static json_t *time_json(const struct timespec *t)
{
	return json_pack("[I,I]", (json_int_t)t->tv_sec, (json_int_t)t->tv_nsec);
}

/* One kept file's entry, after naming its local file. */
static json_t *entry_of(struct inode *i)
{
	uint8_t id[CACHE_FILE_ID];
	char hex[CACHE_NAME_BYTES];
	if (cache_file_keep(i->cache, hex, id) != 0)
		return NULL;
	char idhex[2 * CACHE_FILE_ID + 1];
	sodium_bin2hex(idhex, sizeof(idhex), id, sizeof(id));
	return json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:s,s:s}",
			 "dir", (json_int_t)i->links->dir->ino,
			 "name", i->links->name, "ino", (json_int_t)i->ino,
			 "mode", (json_int_t)i->mode, "uid", (json_int_t)i->uid,
			 "gid", (json_int_t)i->gid, "size", (json_int_t)i->size,
			 "atime", time_json(&i->atime),
			 "mtime", time_json(&i->mtime),
			 "ctime", time_json(&i->ctime), "id", idhex,
			 "file", hex);
}

int cache_keep_save(struct cache_dir *d, struct fs_tree *t,
		    const struct cid *head, uint64_t gen)
{
	char cid[CID_TEXT_MAX];
	if (cid_format(head, cid, sizeof(cid)) < 0)
		return -EINVAL;
	json_t *files = json_array();
	json_t *o = json_pack("{s:i,s:s,s:I,s:o}", "v", CATALOG_V, "head", cid,
			      "gen", (json_int_t)gen, "files", files);
	if (!o)
		return -ENOMEM;
	int n = 0;
	for (uint32_t b = 0; b < t->nbuckets; b++)
		for (struct inode *i = t->buckets[b]; i; i = i->hash_next) {
			/* One name each: a second link is Dovecot's never. */
			if (!i->cache || i->nlink != 1 || !i->links ||
			    n == CATALOG_FILES_MAX)
				continue;
			json_t *e = entry_of(i);
			if (e && json_array_append_new(files, e) == 0)
				n++;
		}
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	size_t len = strlen(text);
	int e = cache_dir_put_sealed(d, CACHE_CATALOG_NAME,
				     (const uint8_t *)text, len);
	/* Names and ids of Dovecot's index files: sealed on disk, so
	 * wiped here as cache_keep_restore wipes what it reads back. */
	wipe_free(text, len);
	return e ? e : n;
}

static bool get_time(const json_t *o, const char *k, struct timespec *t)
{
	json_int_t s, ns;
	if (json_unpack(json_object_get(o, k), "[I,I]", &s, &ns) != 0 ||
	    ns < 0 || ns >= 1000000000)
		return false;
	t->tv_sec = (time_t)s;
	t->tv_nsec = (long)ns;
	return true;
}

/* Put one entry back; false when it does not fit (dropped alone).  Its
 * file's name goes to name. */
static bool restore_one(struct cache_dir *d, struct fs_tree *t,
			const json_t *e, char name_out[CACHE_NAME_BYTES])
{
	json_int_t dir, ino, mode, uid, gid, size;
	const char *name, *idhex, *file;
	struct timespec at, mt, ct;
	uint8_t id[CACHE_FILE_ID];
	if (json_unpack((json_t *)e, "{s:I,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:s}",
			"dir", &dir, "name", &name, "ino", &ino, "mode", &mode,
			"uid", &uid, "gid", &gid, "size", &size, "id", &idhex,
			"file", &file) != 0 ||
	    !get_time(e, "atime", &at) || !get_time(e, "mtime", &mt) ||
	    !get_time(e, "ctime", &ct) || strchr(file, '/') ||
	    sodium_hex2bin(id, sizeof(id), idhex, strlen(idhex), NULL, NULL,
			   NULL) != 0)
		return false;
	struct inode *p = tree_get(t, (uint64_t)dir);
	/* A free number this device allocates (one taken after the last
	 * commit moves next_ino past it, as any allocation), a free name of
	 * the list. */
	uint64_t n = (uint64_t)ino;
	bool mine = n < t->next_ino ||
		    (t->range_end ? n >= t->range_start && n < t->range_end
				  : n > TREE_ROOT_INO);
	if (!p || !p->dir || ino <= 0 || !mine || tree_get(t, n) || tree_check_name(name) != 0 ||
	    !maildir_is_index_name(name) || tree_lookup(p, name) ||
	    (mode & S_IFMT) != S_IFREG || size < 0)
		return false;
	struct cache_file *cf;
	if (cache_file_adopt(d, file, id, &cf) != 0)
		return false;
	/* Adopted: file fits CACHE_NAME_BYTES (cache_file_adopt checks). */
	memcpy(name_out, file, strlen(file) + 1);
	struct tree_new_inode spec = {.mode = (uint32_t)mode,
				      .uid = (uint32_t)uid,
				      .gid = (uint32_t)gid,
				      .ino = (uint64_t)ino};
	struct inode *i;
	if (tree_create(t, p, name, &spec, &ct, &i) != 0) {
		cache_file_unref(cf);
		return false;
	}
	i->cache = cf;
	i->size = (uint64_t)size;
	i->atime = at;
	i->mtime = mt;
	i->ctime = ct;
	return true;
}

int cache_keep_restore(struct cache_dir *d, struct fs_tree *t,
		       const struct cid *head, uint64_t gen)
{
	uint8_t *text;
	size_t len;
	int e = cache_dir_take_sealed(d, CACHE_CATALOG_NAME, &text, &len);
	if (e == -ENOENT)
		e = 0;
	json_t *o = NULL;
	if (e == 0 && text) {
		o = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES,
			       NULL);
		wipe_free(text, len);
		if (!o)
			e = -EBADMSG;
	}
	const char *cid = NULL;
	json_int_t g = -1, v = 0;
	json_t *files = NULL;
	if (o && json_unpack(o, "{s:I,s:s,s:I,s:o}", "v", &v, "head", &cid,
			     "gen", &g, "files", &files) != 0)
		e = -EBADMSG;
	struct cid c;
	size_t n = 0;
	char (*names)[CACHE_NAME_BYTES] = NULL;
	if (e == 0 && o && v == CATALOG_V && json_is_array(files) &&
	    json_array_size(files) <= CATALOG_FILES_MAX &&
	    cid_parse(&c, cid, strlen(cid)) == 0 && cid_equal(&c, head) &&
	    g >= 0 && (uint64_t)g == gen &&
	    (names = calloc(json_array_size(files) + 1, sizeof(*names)))) {
		size_t k;
		json_t *x;
		json_array_foreach(files, k, x)
			n += restore_one(d, t, x, names[n]);
	}
	json_decref(o);
	cache_dir_sweep(d, names, n); /* what was not taken back */
	free(names);
	return e ? e : (int)n;
}
