/*
 * tests/tools/ipns_record.c — an IPNS record for a store's mailbox, signed
 * with its key, for the tests (a replayed old head, a record of another
 * key).
 *
 * Usage: ipns_record STORE CID SEQ [VALID_SECONDS]
 *
 * Writes the record (ipfs/ipns_record.h) naming CID with sequence SEQ to
 * standard output; the tests put it on a node with curl (dht/put).  The
 * key file must be unwrapped.  Exit 0, or 1 with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "ipfs/ipns_record.h"

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: ipns_record STORE CID SEQ "
				"[VALID_SECONDS]\n");
		return 2;
	}
	char path[4096];
	struct mailbox_keys k;
	struct cid cid;
	int sys = 0;
	memset(&k, 0, sizeof(k));
	snprintf(path, sizeof(path), "%s/key", argv[1]);
	if (seal_init() != 0 || keyfile_load(path, NULL, 0, &k, &sys) != 0) {
		fprintf(stderr, "ipns_record: %s: cannot load\n", path);
		return 1;
	}
	if (cid_parse(&cid, argv[2], strlen(argv[2])) != 0) {
		fprintf(stderr, "ipns_record: bad CID %s\n", argv[2]);
		keys_free(&k);
		return 1;
	}
	long long valid = argc == 5 ? atoll(argv[4]) : 86400;
	static uint8_t rec[IPNS_RECORD_MAX];
	size_t len;
	int rc = ipns_record_build(k.sign_secret, &cid,
				   strtoull(argv[3], NULL, 10),
				   (long long)time(NULL) + valid,
				   IPNS_DEFAULT_TTL_NS, rec, &len) != 0 ||
		 fwrite(rec, 1, len, stdout) != len;
	keys_free(&k);
	if (rc)
		fprintf(stderr, "ipns_record: cannot build the record\n");
	return rc;
}
