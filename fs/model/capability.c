/* fs/model/capability.c — see capability.h. */
#include "fs/model/capability.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define EMPTY_CAPABILITY CAPABILITY_PREFIX "empty"
#define KEY_B64_MAX 64

int capability_format(const struct obj_ref *ref, char *out, size_t out_size)
{
	char cid[CID_TEXT_MAX];
	char key[KEY_B64_MAX];
	int n;

	if (ref->size == 0) {
		n = snprintf(out, out_size, "%s", EMPTY_CAPABILITY);
		return n < 0 || (size_t)n >= out_size ? -ENOBUFS : 0;
	}
	if (cid_format(&ref->cid, cid, sizeof(cid)) != 0)
		return -ENOBUFS;
	sodium_bin2base64(key, sizeof(key), ref->key, IPMD_KEY_BYTES,
			  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	n = snprintf(out, out_size, "%s%s?size=%" PRIu64 "&depth=%u#%s",
		     CAPABILITY_PREFIX, cid, ref->size, (unsigned)ref->depth,
		     key);
	sodium_memzero(key, sizeof(key));
	return n < 0 || (size_t)n >= out_size ? -ENOBUFS : 0;
}

/* Parse a decimal number that must end at *end_char. */
static int parse_u64(const char *s, char end_char, uint64_t *v,
		     const char **next)
{
	char *end;
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end != end_char)
		return -EINVAL;
	*v = x;
	*next = end;
	return 0;
}

int capability_parse(const char *text, struct obj_ref *ref)
{
	const size_t plen = strlen(CAPABILITY_PREFIX);
	uint64_t size, depth;
	const char *p;

	memset(ref, 0, sizeof(*ref));
	if (strnlen(text, CAPABILITY_MAX) >= CAPABILITY_MAX ||
	    strncmp(text, CAPABILITY_PREFIX, plen) != 0)
		return -EINVAL;
	if (strcmp(text, EMPTY_CAPABILITY) == 0)
		return 0;
	p = text + plen;
	const char *q = strchr(p, '?');
	if (!q || cid_parse(&ref->cid, p, (size_t)(q - p)) != 0 ||
	    !cid_is_raw_sha256(&ref->cid))
		goto bad;
	if (strncmp(q, "?size=", 6) != 0 ||
	    parse_u64(q + 6, '&', &size, &p) != 0 || size == 0)
		goto bad;
	if (strncmp(p, "&depth=", 7) != 0 ||
	    parse_u64(p + 7, '#', &depth, &p) != 0 || depth > 16)
		goto bad;
	size_t key_len;
	const char *b64_end;
	if (sodium_base642bin(ref->key, IPMD_KEY_BYTES, p + 1, strlen(p + 1),
			      NULL, &key_len, &b64_end,
			      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    key_len != IPMD_KEY_BYTES || *b64_end != '\0')
		goto bad;
	ref->size = size;
	ref->depth = (uint8_t)depth;
	return 0;
bad:
	sodium_memzero(ref, sizeof(*ref));
	return -EINVAL;
}
