/*
 * fs/mount/cache_file.h — local cache files: Dovecot's index files kept
 * outside the signed manifest (docs/ARCHITECTURE.md, "Local cache files").
 *
 * Dovecot's index files are caches it rebuilds from the Maildir when they
 * are lost, and it rewrites them on every delivery and flag change: as
 * mailbox files each append re-sealed a tail chunk into a new block and
 * a journal record.  A regular file created under one of Dovecot's index
 * names (fs/model/maildir.h, maildir_is_index_name; fs/mount/cache_class.h)
 * lives instead in a local file of this mount:
 *
 *  - its bytes are pages of CACHE_PAGE bytes, each sealed on its own with
 *    XChaCha20-Poly1305 under a key derived from the journal key
 *    (CACHE_KEY_LABEL), a random nonce per write, and the file's random
 *    id and the page number as associated data (a page moved within or
 *    between files does not open);
 *  - the local file is made with O_TMPFILE in STORE/cache (nothing names
 *    it: a crash frees it); a clean unmount names it and lists it in a
 *    sealed catalog that the next mount of the same head takes back
 *    (fs/mount/cache_keep.h), any other mount removes it;
 *  - its name, attributes and content are never journaled, committed,
 *    uploaded, exported or shown by a read capability, --at or a
 *    snapshot; fsync promises nothing;
 *  - a page that fails to open reads as EIO.
 *
 * So the mail and the mailbox state (dovecot-uidlist, dovecot-keywords:
 * names outside the list) keep every promise they had; a crash loses
 * at most the cache files, and Dovecot rebuilds them.
 *
 * Thread safety: a cache_file has its own mutex; reads and writes may run
 * outside the mount's lock while a reference is held (cache_file_ref,
 * taken under the mount's lock).  The last cache_file_unref frees it.
 */
#ifndef IPMD_FS_MOUNT_CACHE_FILE_H
#define IPMD_FS_MOUNT_CACHE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/attr.h"

#define CACHE_PAGE 4096
#define CACHE_DIR_NAME "cache"
#define CACHE_FILE_ID 16
#define CACHE_NAME_BYTES (2 * CACHE_FILE_ID + 1) /* a kept file's name */
#define CACHE_SEALED_MAX (64u << 20) /* a sealed blob's bound on read */

struct cache_dir;
struct cache_file;

/* The mount's cache directory ROOT/cache (made 0700 if missing) and the
 * page key from journal_key.  0 or negative errno: -ELOOP or -ENOTDIR
 * when ROOT/cache is a symlink (it is never followed), -EPERM when it is
 * not owned by the effective uid or is group- or other-writable.  Files named there are
 * what a clean unmount kept (fs/mount/cache_keep.h) or what a crash left:
 * the caller adopts what it wants, then sweeps. */
IPMD_MUST_CHECK
int cache_dir_open(const char *root, const uint8_t *journal_key,
		   struct cache_dir **out);
void cache_dir_close(struct cache_dir *d);
/* Remove every named file of the cache directory but the nkeep named in
 * keep (files adopted). */
void cache_dir_sweep(struct cache_dir *d,
		     const char (*keep)[CACHE_NAME_BYTES], size_t nkeep);
/* A small sealed file of the cache directory (the key, name as the
 * associated data), written whole (never through a symlink: -ELOOP);
 * taken: read, opened and removed.
 * -EBADMSG when it does not open. */
int cache_dir_put_sealed(struct cache_dir *d, const char *name,
			 const uint8_t *data, size_t len);
IPMD_MUST_CHECK
int cache_dir_take_sealed(struct cache_dir *d, const char *name,
			  uint8_t **data, size_t *len);

/* A new, empty cache file (one reference).  0 or negative errno. */
int cache_file_new(struct cache_dir *d, struct cache_file **out);
/* Give f a name in the cache directory that outlives it (it stays open
 * and usable): the name and id a later cache_file_adopt needs. */
int cache_file_keep(struct cache_file *f, char name[CACHE_NAME_BYTES],
		    uint8_t id[CACHE_FILE_ID]);
/* The file a cache_file_keep named, with its id.  It keeps the name (a
 * file once unlinked can't be named again) until its last reference goes,
 * which removes it unless it was kept again; a crash leaves it to the
 * next mount's sweep.  -ENAMETOOLONG for a name that does not fit
 * CACHE_NAME_BYTES (so an adopted name does), -EBADMSG for a file that is
 * not whole slots. */
int cache_file_adopt(struct cache_dir *d, const char *name,
		     const uint8_t id[CACHE_FILE_ID], struct cache_file **out);
struct cache_file *cache_file_ref(struct cache_file *f);
void cache_file_unref(struct cache_file *f);

/* Read [off, off+len) of a file of size bytes: *got is short only at
 * size.  -EIO for a page that does not open. */
IPMD_MUST_CHECK
int cache_file_read(struct cache_file *f, uint64_t size, uint64_t off,
		    uint8_t *buf, size_t len, size_t *got);
/* Write; the caller sets the inode's size to max(size, off + len).  The
 * bytes between the old size and off read as zeros. */
int cache_file_write(struct cache_file *f, uint64_t off, const uint8_t *data,
		     size_t len);
/* Cut or extend a file of size bytes to new_size (zeros). */
int cache_file_truncate(struct cache_file *f, uint64_t size,
			uint64_t new_size);

#endif
