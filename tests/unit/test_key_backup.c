/* tests/unit/test_key_backup.c — the printable key form
 * (crypto/key_backup.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "crypto/key_backup.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static void test_roundtrip(void)
{
	uint8_t master[IPMD_MASTER_BYTES], back[IPMD_MASTER_BYTES];
	char text[KEY_BACKUP_TEXT_MAX];
	int good = 1;
	for (uint64_t seed = 1; seed <= 200; seed++) {
		tap_fill_random(master, sizeof(master), seed);
		key_backup_format(master, text);
		memset(back, 0, sizeof(back));
		if (key_backup_parse(text, back, NULL) != 0 ||
		    memcmp(master, back, sizeof(master)))
			good = 0;
	}
	ok(good, "200 random secrets round-trip");
	tap_fill_random(master, sizeof(master), 7);
	key_backup_format(master, text);
	ok(!strncmp(text, KEY_BACKUP_HEADER "\n", strlen(KEY_BACKUP_HEADER) + 1),
	   "starts with the header line");
	is_int(strlen(text), strlen(KEY_BACKUP_HEADER) + 1 + 4 * 20,
	       "4 lines of 4 groups of 4");
	const char *code = text + strlen(KEY_BACKUP_HEADER) + 1;
	ok(strspn(code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567-\n") == strlen(code),
	   "only the base32 alphabet, dashes and newlines");

	/* Lenient reading: lower case, no header, other separators, and
	 * 0/1/8 for O/I/B. */
	char loose[KEY_BACKUP_TEXT_MAX * 2];
	size_t n = 0;
	for (const char *p = code; *p; p++) {
		char c = *p;
		if (c == '-' || c == '\n') {
			loose[n++] = ' ';
			continue;
		}
		c = c == 'O' ? '0' : c == 'I' ? '1' : c == 'B' ? '8' : c;
		loose[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	loose[n] = '\0';
	memset(back, 0, sizeof(back));
	ok(key_backup_parse(loose, back, NULL) == 0 &&
		   !memcmp(back, master, sizeof(master)),
	   "lower case, spaces, no header, 0/1/8 read as O/I/B");
}

static void test_errors(void)
{
	uint8_t master[IPMD_MASTER_BYTES], back[IPMD_MASTER_BYTES];
	char text[KEY_BACKUP_TEXT_MAX];
	tap_fill_random(master, sizeof(master), 3);
	key_backup_format(master, text);
	char *code = text + strlen(KEY_BACKUP_HEADER) + 1;
	/* Every single-character typo is caught by the checksum. */
	int caught = 1;
	for (size_t i = 0; code[i]; i++) {
		if (code[i] == '-' || code[i] == '\n')
			continue;
		char keep = code[i];
		code[i] = keep == 'A' ? 'C' : 'A';
		if (key_backup_parse(text, back, NULL) != -EBADMSG)
			caught = 0;
		code[i] = keep;
	}
	ok(caught, "every one-character typo: -EBADMSG");
	char swapped[KEY_BACKUP_TEXT_MAX];
	memcpy(swapped, text, sizeof(text));
	char *sc = swapped + (code - text);
	if (sc[0] != sc[1]) {
		char t = sc[0];
		sc[0] = sc[1];
		sc[1] = t;
		is_int(key_backup_parse(swapped, back, NULL), -EBADMSG,
		       "two characters swapped: -EBADMSG");
	}
	size_t bad_at = 0;
	char bad[KEY_BACKUP_TEXT_MAX];
	memcpy(bad, text, sizeof(text));
	bad[(size_t)(code - text) + 5] = '9';
	is_int(key_backup_parse(bad, back, &bad_at), -EINVAL,
	       "a character outside the alphabet: -EINVAL");
	is_int(bad_at, 5, "…at code character 5 (the dash is not counted)");
	code[10] = '\0';
	is_int(key_backup_parse(text, back, NULL), -EINVAL, "too short: -EINVAL");
	is_int(key_backup_parse("", back, NULL), -EINVAL, "empty: -EINVAL");
	is_int(key_backup_parse("ipmaildir-key-backup-v2\nAAAA", back, NULL),
	       -EPROTONOSUPPORT, "another version's header: refused");
	char longer[KEY_BACKUP_TEXT_MAX + 8];
	key_backup_format(master, text);
	snprintf(longer, sizeof(longer), "%sAAAA", text);
	is_int(key_backup_parse(longer, back, NULL), -EINVAL,
	       "extra characters: -EINVAL");
}

int main(void)
{
	harness_seal_init();
	test_roundtrip();
	test_errors();
	return tap_done();
}
