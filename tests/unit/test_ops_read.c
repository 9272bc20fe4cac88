/*
 * tests/unit/test_ops_read.c — a read leaves no copy of what it read in
 * the daemon's memory (fs/fuse/ops_file.c, ops_read).
 *
 * The FUSE table over a mount, libfuse's replies replaced
 * (tests/unit/fuse_reply_stub.h), as in test_ops_entry.c.  A file's
 * bytes are looked for in the process's memory (tests/memscan.h) after
 * it is written and sealed (none: the write path wipes what it held),
 * and again after it is read whole: a chunk read whole leaves the chunk
 * cache (docs/ARCHITECTURE.md, "Reads"), so a copy found then is one the
 * read left, its buffer freed unwiped (as ops_read did before it wiped
 * it).  The same for a local cache file (fs/mount/cache_file.h: a name
 * of Dovecot's index files, sealed pages in STORE/cache), read by
 * ops_cache_read (fs/fuse/ops_cache.c): its pages are sealed on write,
 * so a copy found after the read is the read buffer's.
 */
/* libfuse, its replies this test's: first, as it defines the version */
#include "tests/unit/fuse_reply_stub.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "fs/fuse/ops.h"
#include "fs/model/tree.h"
#include "fs/mount/mount.h"
#include "tests/memscan.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define BODY 3000
/* The needle: past the bytes the reply stub keeps (FUSE_STUB_BUF) and
 * the 16 a freed chunk's free-list pointers overwrite. */
#define FROM 1000

static struct ipmd_fs fs;
static struct fuse_reply_stub stub;

static fuse_req_t req(void)
{
	return fuse_stub_req(&stub);
}

/* Write name whole (BODY random bytes from seed) and close it; the
 * test's copy wiped.  Its inode (0: none) and, masked, its bytes from
 * FROM on; the first FUSE_STUB_BUF bytes into head. */
static uint64_t write_file(const char *name, uint64_t seed,
			   uint8_t masked[BODY - FROM],
			   uint8_t head[FUSE_STUB_BUF])
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT};
	uint8_t *body = malloc(BODY);
	if (!ok(body != NULL, "a body for %s", name))
		return 0;
	tap_fill_random(body, BODY, seed);
	memscan_mask(masked, body + FROM, BODY - FROM);
	memcpy(head, body, FUSE_STUB_BUF);
	ipmd_ops.create(req(), TREE_ROOT_INO, name, 0600, &fi);
	fi.fh = stub.fh;
	struct inode *i = fuse_stub_named(&fs, name);
	uint64_t ino = i ? i->ino : 0;
	ipmd_ops.write(req(), ino, (const char *)body, BODY, 0, &fi);
	ipmd_ops.fsync(req(), ino, 0, &fi);
	ipmd_ops.release(req(), ino, &fi);
	sodium_memzero(body, BODY);
	free(body);
	is_int(stub.err, 0, "%s written, fsynced, closed", name);
	return ino;
}

/* Read ino whole: the reply is head, and its bytes are nowhere after. */
static void read_whole(uint64_t ino, const uint8_t masked[BODY - FROM],
		       const uint8_t head[FUSE_STUB_BUF])
{
	struct fuse_file_info fi = {.flags = O_RDONLY};
	struct memscan_hit hits[4];
	ipmd_ops.read(req(), ino, 4096, 0, &fi);
	is_int(stub.err, 0, "read whole");
	ok(stub.buf_len == FUSE_STUB_BUF &&
		   memcmp(stub.buf, head, FUSE_STUB_BUF) == 0,
	   "the reply is the file's bytes");
	is_int(memscan(masked, BODY - FROM, hits, 4), 0,
	       "after the read: its bytes nowhere in memory");
}

/* A cache file: ops_cache_read's buffer, wiped (ops_cache.c). */
static void test_cache_read_wiped(void)
{
	uint8_t masked[BODY - FROM], head[FUSE_STUB_BUF];
	struct memscan_hit hits[4];
	uint64_t ino = write_file("dovecot.index.cache", 23, masked, head);
	struct inode *i = fuse_stub_named(&fs, "dovecot.index.cache");
	ok(i && i->cache, "a local cache file");
	is_int(memscan(masked, sizeof(masked), hits, 4), 0,
	       "written: its bytes nowhere in memory (pages sealed)");
	read_whole(ino, masked, head);
}

static void test_read_wiped(void)
{
	uint8_t masked[BODY - FROM], head[FUSE_STUB_BUF];
	struct memscan_hit hits[4];
	uint64_t ino = write_file("m", 17, masked, head);
	ok(ipmd_fs_commit(&fs) == 0, "committed");
	is_int(memscan(masked, sizeof(masked), hits, 4), 0,
	       "written and sealed: its bytes nowhere in memory");
	read_whole(ino, masked, head);
}

int main(void)
{
	if (!fuse_stub_start(&fs, &stub))
		return tap_done();
	test_read_wiped();
	test_cache_read_wiped();
	ipmd_fs_close(&fs);
	return tap_done();
}
