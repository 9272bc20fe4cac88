/* tests/unit/test_journal_payload.c — the journal payload kinds and their
 * one decoder (fs/store/journal_payload.h): the first byte, as written
 * before the decoder existed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fs/model/record.h"
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

/* A merge record: told apart by its text's start, as record_merge_encode
 * writes it; anything else starting '{' stays a record. */
static void test_merge(void)
{
	struct record_merge m = {.time = {1700000000, 5}};
	m.parent.len = 36;
	m.parent.bytes[0] = 0x01;
	m.parent.bytes[1] = 0x55;
	m.parent.bytes[2] = 0x12;
	m.parent.bytes[3] = 0x20;
	char *json;
	size_t len;
	struct journal_payload p;
	is_int(record_merge_encode(&m, &json, &len), 0, "a merge record");
	ok(len > strlen(RECORD_MERGE_PREFIX) &&
		   !memcmp(json, RECORD_MERGE_PREFIX,
			   strlen(RECORD_MERGE_PREFIX)),
	   "… starts " RECORD_MERGE_PREFIX);
	journal_payload_decode((const uint8_t *)json, len, &p);
	ok(p.kind == JOURNAL_PAYLOAD_MERGE && p.body == (const uint8_t *)json &&
		   p.len == len,
	   "decoded as a merge, the whole payload its body");
	free(json);
	const char other[] = "{\"op\":\"mergeX\"}", spaced[] =
		"{ \"op\":\"merge\",\"time\":1}";
	journal_payload_decode((const uint8_t *)other, strlen(other), &p);
	is_int(p.kind, JOURNAL_PAYLOAD_RECORD, "another op: a record");
	journal_payload_decode((const uint8_t *)spaced, strlen(spaced), &p);
	is_int(p.kind, JOURNAL_PAYLOAD_RECORD,
	       "other spacing: a record (record_replay refuses it)");
	journal_payload_decode((const uint8_t *)RECORD_MERGE_PREFIX, 5, &p);
	is_int(p.kind, JOURNAL_PAYLOAD_RECORD, "a cut prefix: a record");
}

int main(void)
{
	test_block();
	test_record();
	test_merge();
	return tap_done();
}
