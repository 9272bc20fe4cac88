/* fs/store/journal_payload.c — see journal_payload.h. */
#include "fs/store/journal_payload.h"

#include <string.h>

#include "fs/model/record.h"

void journal_payload_decode(const uint8_t *payload, size_t len,
			    struct journal_payload *out)
{
	if (len > 0 && payload[0] == JOURNAL_PAYLOAD_BLOCK) {
		out->kind = JOURNAL_PAYLOAD_BLOCK;
		out->body = payload + 1;
		out->len = len - 1;
		return;
	}
	size_t n = strlen(RECORD_MERGE_PREFIX);
	out->kind = len >= n && !memcmp(payload, RECORD_MERGE_PREFIX, n)
			    ? JOURNAL_PAYLOAD_MERGE
			    : JOURNAL_PAYLOAD_RECORD;
	out->body = payload;
	out->len = len;
}

size_t journal_payload_put_block(uint8_t *out, const uint8_t *block,
				 size_t len)
{
	out[0] = JOURNAL_PAYLOAD_BLOCK;
	memcpy(out + 1, block, len);
	return len + 1;
}
