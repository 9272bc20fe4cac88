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
 * it).
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

static void test_read_wiped(void)
{
	struct fuse_file_info fi = {.flags = O_WRONLY | O_CREAT};
	uint8_t *body = malloc(BODY), masked[BODY - FROM], head[FUSE_STUB_BUF];
	struct memscan_hit hits[4];
	if (!ok(body != NULL, "a body"))
		return;
	tap_fill_random(body, BODY, 17);
	memscan_mask(masked, body + FROM, sizeof(masked));
	memcpy(head, body, sizeof(head));
	ipmd_ops.create(req(), TREE_ROOT_INO, "m", 0600, &fi);
	fi.fh = stub.fh;
	struct inode *i = fuse_stub_named(&fs, "m");
	uint64_t ino = i ? i->ino : 0;
	ipmd_ops.write(req(), ino, (const char *)body, BODY, 0, &fi);
	ipmd_ops.fsync(req(), ino, 0, &fi);
	ipmd_ops.release(req(), ino, &fi);
	sodium_memzero(body, BODY);
	free(body);
	is_int(stub.err, 0, "written, fsynced, closed");
	ok(ipmd_fs_commit(&fs) == 0, "committed");
	is_int(memscan(masked, sizeof(masked), hits, 4), 0,
	       "written and sealed: its bytes nowhere in memory");

	fi.flags = O_RDONLY;
	ipmd_ops.read(req(), ino, 4096, 0, &fi);
	is_int(stub.err, 0, "read whole");
	ok(stub.buf_len == sizeof(head) &&
		   memcmp(stub.buf, head, sizeof(head)) == 0,
	   "the reply is the file's bytes");
	is_int(memscan(masked, sizeof(masked), hits, 4), 0,
	       "after the read: its bytes nowhere in memory");
}

int main(void)
{
	if (!fuse_stub_start(&fs, &stub))
		return tap_done();
	test_read_wiped();
	ipmd_fs_close(&fs);
	return tap_done();
}
