/*
 * fs/store/journal_payload.h — what a journal record's payload is: the one
 * place that knows the payload kinds and tells them apart.
 *
 * The journal (journal.h) seals opaque payloads.  Two kinds go into it,
 * told apart by the first byte (the format since the journal had block
 * records; nothing here changes a byte of it):
 *   JOURNAL_PAYLOAD_BLOCK  0x00 ‖ sealed block bytes: a small block made
 *                          durable with the records naming it (wal_store.h)
 *   JOURNAL_PAYLOAD_RECORD a namespace or attribute change, compact JSON
 *                          (fs/model/record.h): record_encode writes '{'
 *                          first.  Any other first byte (or an empty
 *                          payload) is also handed on as a record, and
 *                          record_replay refuses it as malformed: that
 *                          decision stays where the JSON is parsed.
 *
 * Readers (mount replay, fsck, gc) decode with journal_payload_decode and
 * switch on the kind; the writer of block records uses
 * journal_payload_put_block.  Pure functions over bytes: no I/O, no state.
 */
#ifndef IPMD_FS_STORE_JOURNAL_PAYLOAD_H
#define IPMD_FS_STORE_JOURNAL_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

enum journal_payload_kind {
	JOURNAL_PAYLOAD_BLOCK = 0x00,  /* the first byte of a block record */
	JOURNAL_PAYLOAD_RECORD = '{',  /* the first byte record_encode writes */
	JOURNAL_PAYLOAD_MERGE = 'm',   /* not a byte of the format: a record
					  starting RECORD_MERGE_PREFIX */
};

/* A payload's kind and its body: for a block, the sealed block bytes
 * after the type byte; for a record or a merge, the whole payload (the
 * JSON includes its '{').  body points into the payload decoded: it lives as long. */
struct journal_payload {
	enum journal_payload_kind kind;
	const uint8_t *body;
	size_t len;
};

/* Classify payload[0..len).  Never fails: see the header comment. */
void journal_payload_decode(const uint8_t *payload, size_t len,
			    struct journal_payload *out);

/* The payload of a block record for block[0..len) into out, which holds
 * len + 1 bytes; returns len + 1. */
size_t journal_payload_put_block(uint8_t *out, const uint8_t *block,
				 size_t len);

#endif
