/*
 * tests/tools/dag_commit.c — DAG-shaped histories for the integration
 * tests, without the mount (tests/dagstore.h does the work).
 *
 * Usage:
 *   dag_commit STORE line FROM DEVICE N TAG
 *       N commits on FROM ("head" or a commit CID), one after the other,
 *       the i-th adding the message cur/TAG-i, numbered in DEVICE's inode
 *       range; prints each new commit's CID on a line.
 *   dag_commit STORE merge LOCAL REMOTE [DEVICE [SEQ]]
 *       the merge of REMOTE into LOCAL as DEVICE (default 0) would make it
 *       (SEQ: that seq instead of one above both, to forge a bad edge);
 *       prints its CID.
 *   dag_commit STORE head CID
 *       STORE/head and STORE/seen name CID.
 * The store's key file must be unwrapped and nothing may be mounted on
 * it.  Exit 0, or 1 with a line on stderr.
 */
#include <errno.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/seal.h"

#include "tests/dagstore.h"

static int usage(void)
{
	fprintf(stderr,
		"usage: dag_commit STORE line FROM DEVICE N TAG\n"
		"       dag_commit STORE merge LOCAL REMOTE [DEVICE [SEQ]]\n"
		"       dag_commit STORE head CID\n");
	return 2;
}

static int fail(const char *what, int e)
{
	fprintf(stderr, "dag_commit: %s: %s\n", what, strerror(-e));
	return 1;
}

/* A commit named on the command line: "head" or a CID. */
static int commit_arg(struct dagstore *d, const char *s, struct cid *out)
{
	if (!strcmp(s, "head"))
		return dagstore_head(d, out);
	return cid_parse(out, s, strlen(s)) ? -EINVAL : 0;
}

static void print_cid(const struct cid *c)
{
	char text[CID_TEXT_MAX];
	cid_format(c, text, sizeof(text));
	printf("%s\n", text);
}

static int line(struct dagstore *d, char **argv)
{
	struct cid at;
	int e = commit_arg(d, argv[0], &at);
	if (e)
		return fail(argv[0], e);
	uint64_t device = strtoull(argv[1], NULL, 10);
	long n = strtol(argv[2], NULL, 10);
	for (long i = 1; i <= n; i++) {
		char name[256];
		snprintf(name, sizeof(name), "%s-%ld", argv[3], i);
		e = dagstore_add(d, &at, device, name, &at);
		if (e)
			return fail(name, e);
		print_cid(&at);
	}
	return 0;
}

static int merge(struct dagstore *d, int argc, char **argv)
{
	struct cid local, remote, out;
	int e = commit_arg(d, argv[0], &local);
	if (!e)
		e = commit_arg(d, argv[1], &remote);
	if (e)
		return fail("a commit", e);
	uint64_t device = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	uint64_t seq = argc > 3 ? strtoull(argv[3], NULL, 10) : 0;
	e = dagstore_merge(d, &local, &remote, device, seq, &out);
	if (e)
		return fail("merge", e);
	print_cid(&out);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 4 || seal_init() != 0)
		return usage();
	const char *op = argv[2];
	bool ok = (!strcmp(op, "line") && argc == 7) ||
		  (!strcmp(op, "merge") && argc >= 5 && argc <= 7) ||
		  (!strcmp(op, "head") && argc == 4);
	if (!ok)
		return usage();
	struct dagstore d;
	int e = dagstore_open(&d, argv[1]);
	int rc;
	if (e)
		rc = fail(argv[1], e);
	else if (!strcmp(op, "line"))
		rc = line(&d, argv + 3);
	else if (!strcmp(op, "merge"))
		rc = merge(&d, argc - 3, argv + 3);
	else {
		struct cid c;
		e = commit_arg(&d, argv[3], &c);
		if (!e)
			e = dagstore_set_head(&d, &c);
		rc = e ? fail("head", e) : 0;
	}
	dagstore_close(&d);
	return rc;
}
