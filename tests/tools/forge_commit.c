/*
 * tests/tools/forge_commit.c — an attacker's commit, for the tests.
 *
 * Usage: forge_commit STORE OTHER_STORE
 *        forge_commit --reencode STORE
 *
 * The first writes a new head commit into STORE that opens under STORE's
 * manifest key (so it gets past decryption) but is signed with
 * OTHER_STORE's signing key.  --reencode takes the head commit's signed
 * JSON as it is, adds one space after its opening brace (the same JSON
 * meaning, the same signature, other bytes) and seals it again: what a
 * read-capability holder can do to mint a second CID for a commit.
 * Either way STORE/head then points at the new commit (the head file is
 * sealed under STORE's journal key, which the attacker is granted here:
 * the point is that the commit check alone must stop it).  Key files must
 * be unwrapped.  Exit 0 when the forgery is in place, 1 otherwise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/model/commit.h"
#include "fs/store/head.h"
#include "ipfs/bs_local.h"

#define PATH_CAP 4096

static int load(const char *store, struct mailbox_keys *k)
{
	char path[PATH_CAP];
	int sys = 0;
	snprintf(path, sizeof(path), "%s/key", store);
	if (keyfile_load(path, NULL, 0, k, &sys) != 0) {
		fprintf(stderr, "forge_commit: %s: cannot load\n", path);
		return -1;
	}
	return 0;
}

/* store's head file (its path in path), naming a commit, and its block
 * store: 0, or -1. */
static int open_head(const char *store, const struct mailbox_keys *k,
		     char path[PATH_CAP], struct head *h,
		     struct blockstore **bs)
{
	snprintf(path, PATH_CAP, "%s/head", store);
	if (head_read(path, k->journal, BLOCK_STATE_HEAD, h, NULL) != 0 ||
	    h->commit.len == 0)
		return -1;
	return bs_local_open(store, bs) != 0 ? -1 : 0;
}

/* h, now naming cid, written back to path: the exit status. */
static int set_head(const char *path, const struct mailbox_keys *k,
		    struct head *h, const struct cid *cid)
{
	h->commit = *cid;
	if (head_write(path, k->journal, BLOCK_STATE_HEAD, h) != 0) {
		fprintf(stderr, "forge_commit: cannot write the head\n");
		return 1;
	}
	return 0;
}

/* The head commit's plaintext with a space after "{", sealed again. */
static int reencode(struct blockstore *bs, const struct mailbox_keys *k,
		    const struct cid *head, struct cid *out)
{
	uint8_t block[COMMIT_PLAIN_MAX + IPMD_SEAL_OVERHEAD];
	uint8_t plain[COMMIT_PLAIN_MAX + 1], sealed[sizeof(block) + 1];
	size_t len = 0, plen = 0;

	if (bs_get(bs, head, block, sizeof(block), &len) != 0 ||
	    seal_open(plain + 1, &plen, block, len, BLOCK_COMMIT,
		      k->manifest) != 0 ||
	    plen < 2 || plain[1] != '{')
		return -1;
	plain[0] = '{';
	plain[1] = ' ';
	if (seal_with_key(sealed, plain, plen + 1, BLOCK_COMMIT, k->manifest,
			  NULL) != 0)
		return -1;
	return bs_put(bs, sealed, plen + 1 + IPMD_SEAL_OVERHEAD,
		      BS_PUT_DURABLE, out);
}

static int reencode_main(const char *store)
{
	struct mailbox_keys k;
	struct blockstore *bs = NULL;
	struct head h;
	struct cid cid;
	char path[PATH_CAP];
	int rc = 1;

	memset(&k, 0, sizeof(k));
	if (seal_init() != 0 || load(store, &k))
		goto out;
	if (open_head(store, &k, path, &h, &bs) != 0 ||
	    reencode(bs, &k, &h.commit, &cid) != 0) {
		fprintf(stderr, "forge_commit: cannot re-encode the head\n");
		goto out;
	}
	rc = set_head(path, &k, &h, &cid);
out:
	bs_close(bs);
	keys_free(&k);
	return rc;
}

int main(int argc, char **argv)
{
	struct mailbox_keys mine, theirs, forged;
	struct blockstore *bs = NULL;
	struct head h;
	struct commit c;
	struct cid cid;
	char path[PATH_CAP];
	int rc = 1;

	if (argc == 3 && strcmp(argv[1], "--reencode") == 0)
		return reencode_main(argv[2]);
	if (argc != 3) {
		fprintf(stderr, "usage: forge_commit STORE OTHER_STORE\n"
				"       forge_commit --reencode STORE\n");
		return 2;
	}
	memset(&mine, 0, sizeof(mine));
	memset(&theirs, 0, sizeof(theirs));
	if (seal_init() != 0 || load(argv[1], &mine) || load(argv[2], &theirs))
		goto out;
	if (open_head(argv[1], &mine, path, &h, &bs) != 0 ||
	    commit_read(bs, &mine, &h.commit, &c) != 0) {
		fprintf(stderr, "forge_commit: cannot read the head commit\n");
		goto out;
	}
	/* This mailbox's manifest key, another mailbox's signature. */
	forged = mine;
	forged.sign_secret = theirs.sign_secret;
	memcpy(forged.public_key, theirs.public_key, sizeof(forged.public_key));
	forged.can_sign = 1;
	c.parent = h.commit;
	c.seq++;
	if (commit_write(bs, &forged, &c, &cid) != 0) {
		fprintf(stderr, "forge_commit: cannot write the commit\n");
		goto out;
	}
	h.seq = c.seq;
	h.max_seq = c.seq;
	rc = set_head(path, &mine, &h, &cid);
out:
	bs_close(bs);
	keys_free(&mine);
	keys_free(&theirs);
	return rc;
}
