/* tests/unit/test_store_open.c — fs/store/store_open.h: the refusals of
 * each kind of open (no key file, the locks, damaged state) with their
 * callers' lines, a writer's new head, and what each kind holds. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "fs/store/store_open.h"
#include "ipfs/blockstore.h"
#include "ipfs/bs_local.h"
#include "tests/tap.h"

static char root[PATH_MAX];
static char msg[PATH_MAX + 256];

static int open_kind(struct store *s, enum store_lock kind)
{
	static const struct passphrase_source none = {.none = 1};
	struct store_open_options o = {.dir = root, .pass = &none,
				       .lock = kind};
	msg[0] = '\0';
	return store_open(s, &o, msg, sizeof(msg));
}

/* Did the open fail with a line containing want? */
static void refused(enum store_lock kind, const char *want, const char *what)
{
	struct store s;
	int r = open_kind(&s, kind);
	ok(r == -1 && strstr(msg, want), "%s: \"%s\"", what, msg);
	store_close(&s);
}

static void test_no_key(void)
{
	refused(STORE_LOCK_READ, "no mailbox in", "an empty store is refused");
}

static void make_store(void)
{
	struct store_paths p;
	struct mailbox_keys k = {0};
	int sys_errno = 0;
	if (store_paths_init(&p, root) || store_make_dirs(p.root) ||
	    keyfile_create(p.key, NULL, 0, &k, &sys_errno))
		abort();
	keys_free(&k);
}

static void test_writer(void)
{
	struct store w;
	is_int(open_kind(&w, STORE_LOCK_WRITE), 0, "a writer opens");
	ok(w.lock_fd >= 0 && w.readers_fd < 0,
	   "it holds STORE/lock, not STORE/readers");
	ok(w.keys.can_sign, "with the keys");
	ok(w.state.head_err == 0 && w.state.head.journal_gen == 1 &&
	       w.state.head.commit.len == 0,
	   "and gave the new mailbox its head");
	ok(access(w.paths.head, F_OK) == 0, "written to STORE/head");
	is_int(store_writer_active(&w.paths), 1, "store_writer_active: 1");

	refused(STORE_LOCK_WRITE, "is in use by another ipmaildir process",
		"a second writer");
	refused(STORE_LOCK_SHARED, "is in use by another ipmaildir process",
		"a read-only mount beside a writer");
	refused(STORE_LOCK_EXCLUSIVE, "is mounted: unmount it first",
		"gc beside a writer");

	struct store r;
	is_int(open_kind(&r, STORE_LOCK_READ), 0, "a reader opens beside it");
	ok(r.lock_fd < 0 && r.readers_fd >= 0, "holding STORE/readers only");
	store_close(&r);
	struct store_paths paths = w.paths;
	store_close(&w);
	is_int(store_writer_active(&paths), 0,
	       "store_writer_active: 0 once closed");
	ok(w.lock_fd == -1 && w.readers_fd == -1, "close leaves nothing held");
}

static void test_readers(void)
{
	struct store r, g;
	is_int(open_kind(&r, STORE_LOCK_PAST), 0, "mount --at opens");
	refused(STORE_LOCK_EXCLUSIVE,
		"past state of the mailbox in",
		"gc beside a past state");
	store_close(&r);
	is_int(open_kind(&g, STORE_LOCK_EXCLUSIVE), 0, "gc opens alone");
	refused(STORE_LOCK_READ, "ipmaildir gc is running on ",
		"fsck under gc");
	refused(STORE_LOCK_PAST,
		"ipmaildir gc is running: try again when it is done",
		"mount --at under gc");
	refused(STORE_LOCK_WRITE, "is in use by another ipmaildir process",
		"a mount under gc");
	struct store n;
	is_int(open_kind(&n, STORE_LOCK_NONE), 0, "log opens under gc");
	store_close(&n);
	store_close(&g);
}

static void test_damage(void)
{
	/* A block, and no head: mounting would start a new mailbox over
	 * it. */
	struct store_paths p;
	struct blockstore *bs;
	if (store_paths_init(&p, root) || bs_local_open(root, &bs))
		abort();
	const uint8_t block[] = "not a mailbox's block, but a block";
	is_int(bs_put(bs, block, sizeof(block), BS_PUT_DURABLE, NULL), 0,
	       "a block in the store");
	bs_close(bs);
	ok(unlink(p.head) == 0, "the head removed");
	const char *text = state_problem_text(STATE_HEAD_MISSING);
	refused(STORE_LOCK_SHARED, text, "a read-only mount refuses it");
	refused(STORE_LOCK_WRITE, text, "a writable mount refuses it");
	ok(access(p.head, F_OK) != 0, "and writes no head over it");
	struct store r;
	is_int(open_kind(&r, STORE_LOCK_READ), 0, "fsck opens it");
	is_int(r.state.head_err, -ENOENT, "and sees the head missing");
	is_int(store_state_problem(&r), STATE_HEAD_MISSING,
	       "store_state_problem names it");
	store_close(&r);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	snprintf(root, sizeof(root), "%s/store", tap_tempdir());
	test_no_key();
	make_store();
	test_writer();
	test_readers();
	test_damage();
	return tap_done();
}
