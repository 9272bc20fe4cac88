/*
 * tests/tools/head_state.c — STORE/head as the tests need to see or age it.
 *
 * Usage: head_state STORE               print "journal_gen=G journal_first=B"
 *        head_state --v2 STORE [GEN]    rewrite the head in the "v":2 format
 *                                       (no journal_first), journal_gen GEN
 *                                       if given
 *
 * --v2 makes the head a release before journal_first wrote (fs/store/
 * head.h, Versions): the same commit, seq and max_seq, sealed as a typed
 * head under STORE's journal key.  Key files must be unwrapped.  Exit 0,
 * or 1 with why on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/store/head.h"
#include "tests/dagstore.h"

static int fail(const char *what, int e)
{
	fprintf(stderr, "head_state: %s: %s\n", what, strerror(e < 0 ? -e : e));
	return 1;
}

/* h as a "v":2 head's JSON (keys sorted, as head.c writes them). */
static int write_v2(const char *path, const struct mailbox_keys *k,
		    const struct head *h)
{
	char text[512], ctext[CID_TEXT_MAX] = "";
	if (h->commit.len && cid_format(&h->commit, ctext, sizeof(ctext)))
		return -EINVAL;
	char commit[CID_TEXT_MAX + 2] = "null";
	if (h->commit.len)
		snprintf(commit, sizeof(commit), "\"%s\"", ctext);
	int n = snprintf(text, sizeof(text),
			 "{\"commit\":%s,\"journal_gen\":%" PRIu64
			 ",\"max_seq\":%" PRIu64 ",\"seq\":%" PRIu64
			 ",\"v\":2}",
			 commit, h->journal_gen, h->max_seq, h->seq);
	return state_file_write(path, k->journal, BLOCK_STATE_HEAD,
				(const uint8_t *)text, (size_t)n);
}

int main(int argc, char **argv)
{
	bool v2 = argc > 1 && strcmp(argv[1], "--v2") == 0;
	int at = v2 ? 2 : 1;
	if (argc < at + 1 || argc > at + 1 + v2) {
		fprintf(stderr, "usage: head_state [--v2] STORE [GEN]\n");
		return 2;
	}
	/* The store's keys and paths, as the other test tools open them. */
	struct dagstore d;
	int e = seal_init();
	if (e)
		return fail("seal_init", e);
	e = dagstore_open(&d, argv[at]);
	const char *what = argv[at];
	struct head h;
	if (!e) {
		what = d.paths.head;
		e = head_read(what, d.keys.journal, BLOCK_STATE_HEAD, &h, NULL);
	}
	if (!e && !v2)
		printf("journal_gen=%" PRIu64 " journal_first=%d\n",
		       h.journal_gen, h.journal_first);
	if (!e && v2) {
		if (argc == at + 2)
			h.journal_gen = strtoull(argv[at + 1], NULL, 0);
		e = write_v2(what, &d.keys, &h);
	}
	int rc = e ? fail(what, e) : 0;
	dagstore_close(&d);
	return rc;
}
