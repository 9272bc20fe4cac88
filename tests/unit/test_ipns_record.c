/* tests/unit/test_ipns_record.c — IPNS records (ipfs/ipns_record.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "ipfs/ipns_record.h"
#include "tests/tap.h"

/* A record built by hand and checked with the `ipns` package's validator
 * (js-ipfs 0.66.1's), then resolved by a second real node after dht/put:
 * seed 00…1f, value /ipfs/bafkreibm6…, seq 1, ttl 60 s, validity
 * 2030-01-01T00:00:00.000000000Z.  Ed25519 is deterministic, so building
 * the same inputs here must give these bytes exactly. */
static const char *vector_seed =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char *vector_cid =
	"bafkreibm6jg3ux5qumhcn2b3flc3tyu6dmlb4xa7u5bf44yegnrjhc4yeq";
static const int64_t vector_until = 1893456000; /* 2030-01-01T00:00:00Z */
static const char *vector_record =
	"0a412f697066732f6261666b726569626d366a673375783571756d68636e3262"
	"33666c633374797536646d6c62347861377535626634347965676e726a686334"
	"7965711800221e323033302d30312d30315430303a30303a30302e3030303030"
	"303030305a28013080b09dc2df014240a71036687f055e3f8f3047653f13df91"
	"ae300aa8c2c21f9e878498f318d4e37c4b16c4dd2666ca3dfeffb0b9f3b4fef1"
	"0e43200bea527ff8902b5e6155409d0e4a9801"
	"a56354544c1b0000000df84758006556616c756558412f697066732f6261666b"
	"726569626d366a673375783571756d68636e326233666c633374797536646d6c"
	"62347861377535626634347965676e726a6863347965716853657175656e6365"
	"016856616c6964697479581e323033302d30312d30315430303a30303a30302e"
	"3030303030303030305a6c56616c69646974795479706500";

static size_t unhex(const char *h, uint8_t *out, size_t cap)
{
	size_t n;
	if (sodium_hex2bin(out, cap, h, strlen(h), NULL, &n, NULL) != 0)
		return 0;
	return n;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	uint8_t seed[32], pk[32], sk[64];
	unhex(vector_seed, seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	struct cid cid, got;
	is_int(cid_parse(&cid, vector_cid, strlen(vector_cid)), 0, "CID parses");

	static uint8_t want[IPNS_RECORD_MAX], rec[IPNS_RECORD_MAX];
	size_t want_len = unhex(vector_record, want, sizeof(want)), len = 0;
	is_int((int)want_len, 331, "the vector is 331 bytes");
	is_int(ipns_record_build(sk, &cid, 1, vector_until, IPNS_DEFAULT_TTL_NS,
				 rec, &len),
	       0, "build");
	is_int((int)len, (int)want_len, "same length as the vector");
	is_mem(rec, want, want_len, "byte for byte the record a node accepted");

	uint64_t seq = 0;
	int64_t now = vector_until - 3600;
	is_int(ipns_record_open(want, want_len, pk, now, &got, &seq), 0,
	       "the vector opens");
	ok(cid_equal(&got, &cid) && seq == 1, "… naming the CID, seq 1");
	is_int(ipns_record_open(want, want_len, pk, vector_until + 1, &got,
				&seq),
	       -ETIME, "expired: -ETIME");

	/* Another key's name. */
	uint8_t pk2[32], sk2[64];
	crypto_sign_keypair(pk2, sk2);
	is_int(ipns_record_open(want, want_len, pk2, now, &got, &seq),
	       -EKEYREJECTED, "another key: -EKEYREJECTED");

	/* Every single-byte change is refused; none opens as something else. */
	int opened = 0;
	for (size_t i = 0; i < want_len; i++) {
		memcpy(rec, want, want_len);
		rec[i] ^= 0x01;
		if (ipns_record_open(rec, want_len, pk, now, &got, &seq) == 0)
			opened++;
	}
	is_int(opened, 0, "no flipped byte of %zu opens", want_len);
	/* The sequence in the protobuf raised without re-signing. */
	memcpy(rec, want, want_len);
	for (size_t i = 0; i + 1 < want_len; i++)
		if (rec[i] == 0x28 && rec[i + 1] == 0x01) {
			rec[i + 1] = 0x05;
			break;
		}
	is_int(ipns_record_open(rec, want_len, pk, now, &got, &seq),
	       -EKEYREJECTED, "a raised sequence not signed: refused");
	int cut = 0;
	for (size_t n = 0; n < want_len; n++)
		if (ipns_record_open(want, n, pk, now, &got, &seq) == 0)
			cut++;
	is_int(cut, 0, "no truncation opens");

	/* Round trip with a large seq and a fresh key. */
	is_int(ipns_record_build(sk2, &cid, 1234567890123ull, now + 86400,
				 IPNS_DEFAULT_TTL_NS, rec, &len),
	       0, "build with a large seq");
	is_int(ipns_record_open(rec, len, pk2, now, &got, &seq), 0, "opens");
	ok(seq == 1234567890123ull, "seq round trips");
	return tap_done();
}
