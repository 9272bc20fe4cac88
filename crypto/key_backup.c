/* crypto/key_backup.c — printable master secret (key_backup.h). */
#include "crypto/key_backup.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include <sodium.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

static void checksum(uint8_t version, const uint8_t master[IPMD_MASTER_BYTES],
		     uint8_t out[KEY_BACKUP_CHECK_BYTES])
{
	uint8_t h[crypto_generichash_BYTES_MIN];
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)KEY_BACKUP_HEADER,
				  strlen(KEY_BACKUP_HEADER));
	crypto_generichash_update(&st, &version, 1);
	crypto_generichash_update(&st, master, IPMD_MASTER_BYTES);
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, h, KEY_BACKUP_CHECK_BYTES);
	sodium_memzero(&st, sizeof(st));
}

void key_backup_format(const uint8_t master[IPMD_MASTER_BYTES],
		       char out[KEY_BACKUP_TEXT_MAX])
{
	uint8_t raw[KEY_BACKUP_RAW_BYTES];
	raw[0] = KEY_BACKUP_VERSION;
	memcpy(raw + 1, master, IPMD_MASTER_BYTES);
	checksum(KEY_BACKUP_VERSION, master, raw + 1 + IPMD_MASTER_BYTES);
	char code[KEY_BACKUP_CHARS];
	/* 40 bytes = 8 blocks of 5 bytes = 8 characters each. */
	for (int b = 0; b < KEY_BACKUP_RAW_BYTES / 5; b++) {
		uint64_t v = 0;
		for (int i = 0; i < 5; i++)
			v = v << 8 | raw[b * 5 + i];
		for (int i = 0; i < 8; i++)
			code[b * 8 + i] = alphabet[(v >> (35 - 5 * i)) & 31];
	}
	size_t n = strlen(KEY_BACKUP_HEADER);
	memcpy(out, KEY_BACKUP_HEADER "\n", n + 1);
	n++;
	for (int i = 0; i < KEY_BACKUP_CHARS; i++) {
		out[n++] = code[i];
		if ((i + 1) % KEY_BACKUP_GROUP)
			continue;
		int group = (i + 1) / KEY_BACKUP_GROUP;
		out[n++] = group % KEY_BACKUP_GROUPS_PER_LINE ? '-' : '\n';
	}
	out[n] = '\0';
	sodium_memzero(raw, sizeof(raw));
	sodium_memzero(code, sizeof(code));
}

static int value_of(char c)
{
	c = (char)toupper((unsigned char)c);
	if (c == '0')
		c = 'O';
	else if (c == '1')
		c = 'I';
	else if (c == '8')
		c = 'B';
	const char *p = c ? strchr(alphabet, c) : NULL;
	return p ? (int)(p - alphabet) : -1;
}

int key_backup_parse(const char *text, uint8_t master[IPMD_MASTER_BYTES],
		     size_t *bad_at)
{
	size_t dummy;
	if (!bad_at)
		bad_at = &dummy;
	*bad_at = 0;
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	size_t hl = strlen(KEY_BACKUP_HEADER);
	if (!strncmp(p, KEY_BACKUP_HEADER, hl))
		p += hl;
	else if (!strncmp(p, "ipmaildir-key-backup-v", 22))
		return -EPROTONOSUPPORT;
	uint8_t vals[KEY_BACKUP_CHARS];
	size_t n = 0;
	int e = 0;
	for (; *p && !e; p++) {
		if (isspace((unsigned char)*p) || *p == '-')
			continue;
		int v = value_of(*p);
		if (v < 0 || n == KEY_BACKUP_CHARS) {
			*bad_at = n + 1;
			e = -EINVAL;
			break;
		}
		vals[n++] = (uint8_t)v;
	}
	if (!e && n != KEY_BACKUP_CHARS)
		e = -EINVAL;
	uint8_t raw[KEY_BACKUP_RAW_BYTES];
	if (!e) {
		for (int b = 0; b < KEY_BACKUP_RAW_BYTES / 5; b++) {
			uint64_t v = 0;
			for (int i = 0; i < 8; i++)
				v = v << 5 | vals[b * 8 + i];
			for (int i = 0; i < 5; i++)
				raw[b * 5 + i] = (uint8_t)(v >> (32 - 8 * i));
		}
		uint8_t want[KEY_BACKUP_CHECK_BYTES];
		checksum(raw[0], raw + 1, want);
		if (sodium_memcmp(want, raw + 1 + IPMD_MASTER_BYTES,
				  KEY_BACKUP_CHECK_BYTES) != 0)
			e = -EBADMSG;
		else if (raw[0] != KEY_BACKUP_VERSION)
			e = -EPROTONOSUPPORT;
		else
			memcpy(master, raw + 1, IPMD_MASTER_BYTES);
	}
	sodium_memzero(vals, sizeof(vals));
	sodium_memzero(raw, sizeof(raw));
	return e;
}
