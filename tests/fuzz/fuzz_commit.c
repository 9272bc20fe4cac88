/*
 * tests/fuzz/fuzz_commit.c — libFuzzer target: commit blocks.
 *
 * First input byte picks the mode, the rest is the commit JSON:
 *  even: the JSON sealed as it is (the signature almost never verifies,
 *        so this walks the path up to keys_verify);
 *  odd:  the JSON re-signed by the mailbox key first (any "sig" replaced),
 *        so commit_fields sees every shape the fuzzer makes.  A commit that
 *        opens must seal and open again to the same struct.
 * Also: the raw input as a sealed block (wrong framing, wrong tag).
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/seal.h"
#include "fs/model/commit.h"

#define CANON (JSON_COMPACT | JSON_SORT_KEYS)

static struct mailbox_keys keys;

static void init_keys(void)
{
	static int done;
	uint8_t master[IPMD_MASTER_BYTES];

	if (done)
		return;
	if (seal_init() != 0)
		abort();
	memset(master, 3, sizeof(master));
	if (keys_from_master(&keys, master) != 0)
		abort();
	done = 1;
}

/* The JSON with "sig" set to a valid signature, or NULL. */
static char *resign(const uint8_t *data, size_t size)
{
	uint8_t sig[IPMD_SIGNATURE_BYTES];
	char b64[sodium_base64_ENCODED_LEN(IPMD_SIGNATURE_BYTES,
					   sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
	json_t *o = json_loadb((const char *)data, size,
			       JSON_REJECT_DUPLICATES, NULL);
	char *canon, *out = NULL;

	if (!json_is_object(o)) {
		json_decref(o);
		return NULL;
	}
	json_object_del(o, "sig");
	canon = json_dumps(o, CANON);
	if (canon && keys_sign(&keys, sig, (const uint8_t *)canon,
			       strlen(canon)) == 0) {
		sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		json_object_set_new(o, "sig", json_string(b64));
		out = json_dumps(o, CANON);
	}
	free(canon);
	json_decref(o);
	return out;
}

static void open_sealed(const uint8_t *plain, size_t n)
{
	uint8_t *block = malloc(n + IPMD_SEAL_OVERHEAD);
	struct commit c, c2;
	uint8_t *again = NULL;
	size_t alen = 0;

	if (!block || seal_with_key(block, plain, n, BLOCK_COMMIT,
				    keys.manifest, NULL) != 0)
		abort();
	if (commit_open(block, n + IPMD_SEAL_OVERHEAD, &keys, &c) == 0) {
		if (commit_seal(&keys, &c, &again, &alen) != 0 ||
		    commit_open(again, alen, &keys, &c2) != 0 ||
		    memcmp(&c, &c2, sizeof(c)) != 0)
			abort();
		free(again);
	}
	free(block);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct commit c;

	init_keys();
	if (size == 0)
		return 0;
	/* The bytes as a whole sealed block: must never open. */
	if (commit_open(data, size, &keys, &c) == 0)
		abort();
	if (data[0] & 1) {
		char *signed_json = resign(data + 1, size - 1);
		if (signed_json) {
			open_sealed((const uint8_t *)signed_json,
				    strlen(signed_json));
			free(signed_json);
		}
	} else {
		open_sealed(data + 1, size - 1);
	}
	return 0;
}
