/*
 * tests/tools/kubo_has.c — ask a node, through ipmaildir's own Kubo
 * store (ipfs/bs_kubo.h), whether it holds blocks: has() as the outbox's
 * eviction and a --from-node view's history walk ask it.
 *
 * Usage: kubo_has NODE NODE_TIMEOUT_MS CID…
 *
 * NODE as `--node` takes it (multiaddr, URL or auto).  Prints one line a
 * CID: "1" (the node holds it), "0" (it does not) or "error: MESSAGE"
 * (any other answer: a node too slow to answer, or none).  Exit 0 when
 * every CID got an answer, 1 when one got an error, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ipfs/bs_kubo.h"

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: kubo_has NODE NODE_TIMEOUT_MS CID…\n");
		return 2;
	}
	char msg[256];
	struct blockstore *bs;
	if (bs_kubo_open_addr(argv[1], (unsigned)strtoul(argv[2], NULL, 10),
			      &bs, msg, sizeof(msg)) != 0) {
		fprintf(stderr, "kubo_has: %s\n", msg);
		return 2;
	}
	int rc = 0;
	for (int i = 3; i < argc; i++) {
		struct cid cid;
		if (cid_parse(&cid, argv[i], strlen(argv[i])) != 0) {
			fprintf(stderr, "kubo_has: bad CID %s\n", argv[i]);
			rc = 2;
			break;
		}
		int r = bs_has(bs, &cid);
		if (r == 0 || r == 1) {
			printf("%d\n", r);
		} else {
			printf("error: %s\n", strerror(-r));
			rc = 1;
		}
	}
	bs_close(bs);
	return rc;
}
