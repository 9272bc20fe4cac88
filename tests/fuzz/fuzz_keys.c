/*
 * tests/fuzz/fuzz_keys.c — libFuzzer target: key files and read
 * capabilities.
 *
 * First byte picks the mode:
 *  0: the rest as a key file image, as it is (checksum usually wrong);
 *  1: the same with its checksum fixed, so the fields behind it are
 *     parsed; a passphrase is offered only when the file asks for a cheap
 *     Argon2id (a real cost would make each run take a second);
 *  2: the rest as a read capability line.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "util/endian.h"

static void keyfile(const uint8_t *data, size_t size, int fix)
{
	uint8_t buf[KEYFILE_BYTES], master[IPMD_MASTER_BYTES];
	const char *pass = NULL;

	if (!fix || size != KEYFILE_BYTES) {
		(void)keyfile_parse(data, size, NULL, 0, master);
		return;
	}
	memcpy(buf, data, size);
	crypto_generichash(buf + KEYFILE_OFF_CHECKSUM, KEYFILE_CHECKSUM_BYTES,
			   buf, KEYFILE_OFF_CHECKSUM, NULL, 0);
	if (get_be32(buf + KEYFILE_OFF_OPSLIMIT) <= 1 &&
	    get_be32(buf + KEYFILE_OFF_MEMLIMIT) <= 64)
		pass = "x";
	(void)keyfile_parse(buf, size, pass, pass ? 1 : 0, master);
}

static void readcap(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), out[READCAP_MAX];
	struct mailbox_keys k, k2;

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	if (readcap_parse(text, &k) == 0) {
		if (k.can_sign || readcap_format(&k, out) != 0 ||
		    readcap_parse(out, &k2) != 0 ||
		    memcmp(k.public_key, k2.public_key,
			   sizeof(k.public_key)) != 0 ||
		    memcmp(k.manifest, k2.manifest, IPMD_KEY_BYTES) != 0)
			abort();
		keys_free(&k2);
		keys_free(&k);
	}
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (seal_init() != 0)
		abort();
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0: keyfile(data + 1, size - 1, 0); break;
	case 1: keyfile(data + 1, size - 1, 1); break;
	default: readcap(data + 1, size - 1); break;
	}
	return 0;
}
