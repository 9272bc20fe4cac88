/*
 * tests/fuzz/fuzz_kubo.c — libFuzzer target: what a Kubo node answers
 * (ipfs/kubo_reply.h).
 *
 * Input: op byte ‖ status (2 bytes, mapped to 100…599) ‖ want byte ‖ body.
 * want picks the CID the request was about: the body's own CID (so a
 * block/get body can pass the hash check), a fixed one, or none.
 * A get answered 200 with success must hold exactly the bytes asked for.
 * A DHT op also runs the event stream parser, each value through the
 * IPNS record opener (ipfs/ipns_record.h) — what `mount --from-node`
 * does with what a node's DHT hands back.  An IMPORT op runs the
 * dag/import answer parser, whose confirmations must name only CIDs
 * asked about.
 */
#include <stdlib.h>
#include <string.h>

#include "ipfs/ipns_record.h"
#include "ipfs/kubo_reply.h"

static void open_value(const uint8_t *v, size_t len, void *arg)
{
	static const uint8_t pk[32] = {1};
	struct cid c;
	uint64_t seq;
	(void)arg;
	(void)ipns_record_open(v, len, pk, 0, &c, &seq);
	(void)ipns_record_open(v, len, pk, 4102444800, &c, &seq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kubo_reply r;
	struct cid want, *w = &want;
	enum kubo_op op;
	const uint8_t *body;
	long status;
	size_t len;
	int rc;

	if (size < 4)
		return 0;
	op = (enum kubo_op)(data[0] % (KUBO_OP_JSON + 1));
	status = 100 + (long)((data[1] << 8 | data[2]) % 500);
	body = data + 4;
	len = size - 4;
	switch (data[3] % 3) {
	case 0: cid_of_raw_block(&want, body, len); break;
	case 1: cid_of_raw_block(&want, (const uint8_t *)"x", 1); break;
	default: w = NULL; break;
	}
	rc = kubo_parse_reply(op, status, body, len, w, &r);
	(void)kubo_reply_temporary(rc);
	if (memchr(r.msg, '\0', sizeof(r.msg)) == NULL)
		abort(); /* the message must be a C string */
	if (op == KUBO_OP_GET && rc == 0 && w && !cid_matches(w, body, len))
		abort(); /* served bytes that are not the block */
	if (op == KUBO_OP_DHT) {
		struct kubo_dht_events ev;
		(void)kubo_parse_dht_events(body, len, open_value, NULL, &ev);
		if (memchr(ev.error, '\0', sizeof(ev.error)) == NULL)
			abort();
		/* stats/dht's tables: a count, whatever the body */
		unsigned peers = 1;
		if (kubo_parse_dht_peers(body, len, &peers) != 0 && peers > len)
			abort(); /* no more peers than bytes, even on failure */
	}
	if (op == KUBO_OP_IMPORT) {
		/* The fixed CID, then the body's own: a root the body names
		 * may confirm either, nothing else. */
		struct cid asked[2];
		bool confirmed[2];
		char msg[KUBO_MSG_MAX];
		cid_of_raw_block(&asked[0], (const uint8_t *)"x", 1);
		cid_of_raw_block(&asked[1], body, len);
		(void)kubo_parse_import(body, len, asked, 2, confirmed, msg);
		if (memchr(msg, '\0', sizeof(msg)) == NULL)
			abort();
	}
	return 0;
}
