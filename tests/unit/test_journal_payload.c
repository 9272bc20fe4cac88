/* tests/unit/test_journal_payload.c — the journal payload kinds and their
 * one decoder (fs/store/journal_payload.h): the first byte, as written
 * before the decoder existed. */
#include <stdint.h>
#include <string.h>

#include "fs/store/journal_payload.h"
#include "tests/tap.h"

static void test_block(void)
{
	const uint8_t block[] = {0xde, 0xad, 0xbe, 0xef};
	uint8_t rec[sizeof(block) + 1];
	is_int(journal_payload_put_block(rec, block, sizeof(block)),
	       sizeof(rec), "a block record is the block and one byte");
	is_int(rec[0], 0x00, "a block record starts with 0x00 (the format)");
	is_mem(rec + 1, block, sizeof(block), "then the sealed block bytes");
	struct journal_payload p;
	journal_payload_decode(rec, sizeof(rec), &p);
	is_int(p.kind, JOURNAL_PAYLOAD_BLOCK, "decoded as a block record");
	ok(p.body == rec + 1 && p.len == sizeof(block),
	   "its body is the block, after the type byte");
	journal_payload_decode(rec, 1, &p);
	ok(p.kind == JOURNAL_PAYLOAD_BLOCK && p.len == 0,
	   "the type byte alone: a block record with an empty body");
}

static void test_record(void)
{
	const char json[] = "{\"op\":\"unlink\"}";
	struct journal_payload p;
	journal_payload_decode((const uint8_t *)json, strlen(json), &p);
	is_int(p.kind, JOURNAL_PAYLOAD_RECORD, "'{' is a JSON record");
	is_int(JOURNAL_PAYLOAD_RECORD, '{', "whose type byte is '{'");
	ok(p.body == (const uint8_t *)json && p.len == strlen(json),
	   "its body is the whole payload, '{' included");
	/* Anything else goes to record_replay, which refuses it. */
	journal_payload_decode((const uint8_t *)" {}", 3, &p);
	is_int(p.kind, JOURNAL_PAYLOAD_RECORD, "another first byte: a record");
	journal_payload_decode(NULL, 0, &p);
	ok(p.kind == JOURNAL_PAYLOAD_RECORD && p.len == 0,
	   "an empty payload: a record (malformed, said by record_replay)");
}

int main(void)
{
	test_block();
	test_record();
	return tap_done();
}
