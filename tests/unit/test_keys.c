/* tests/unit/test_keys.c — key file, subkeys, read capability, signatures. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

#define PASS "correct horse battery staple"
#define PASS2 "new passphrase"

static char dir[4096];

/* Whole file into buf; its length or -1. */
static long slurp(const char *path, uint8_t *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, cap, f);
	fclose(f);
	return (long)n;
}

static int spit(const char *path, const uint8_t *buf, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	if (fd < 0)
		return -1;
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	close(fd);
	return chmod(path, mode);
}

static int all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static int same_keys(const struct mailbox_keys *a, const struct mailbox_keys *b)
{
	return a->can_sign == b->can_sign &&
	       memcmp(a->public_key, b->public_key, IPMD_PUBLIC_KEY_BYTES) ==
		       0 &&
	       memcmp(a->convergence, b->convergence, IPMD_KEY_BYTES) == 0 &&
	       memcmp(a->manifest, b->manifest, IPMD_KEY_BYTES) == 0 &&
	       memcmp(a->journal, b->journal, IPMD_KEY_BYTES) == 0 &&
	       memcmp(a->sign_secret, b->sign_secret, IPMD_SECRET_KEY_BYTES) ==
		       0;
}

static void rechecksum(uint8_t img[KEYFILE_BYTES])
{
	crypto_generichash(img + KEYFILE_OFF_CHECKSUM, KEYFILE_CHECKSUM_BYTES,
			   img, KEYFILE_OFF_CHECKSUM, NULL, 0);
}

static void test_derivation(void)
{
	uint8_t master[IPMD_MASTER_BYTES], other[IPMD_MASTER_BYTES];
	uint8_t want[IPMD_KEY_BYTES];
	struct mailbox_keys a, b, c;
	const uint8_t *sub[3];

	tap_fill_random(master, sizeof(master), 5);
	memcpy(other, master, sizeof(master));
	other[0] ^= 1;
	is_int(keys_from_master(&a, master), 0, "keys_from_master");
	is_int(keys_from_master(&b, master), 0, "keys_from_master again");
	is_int(keys_from_master(&c, other), 0, "keys_from_master, other");
	is_int(a.can_sign, 1, "full keys can sign");
	ok(same_keys(&a, &b), "derivation is deterministic");
	ok(memcmp(a.public_key, c.public_key, IPMD_PUBLIC_KEY_BYTES) != 0 &&
		   memcmp(a.convergence, c.convergence, IPMD_KEY_BYTES) != 0,
	   "another master: other keys");

	sub[0] = a.convergence;
	sub[1] = a.manifest;
	sub[2] = a.journal;
	for (int i = 0; i < 3; i++) {
		ok(memcmp(sub[i], master, IPMD_KEY_BYTES) != 0,
		   "subkey %d differs from the master", i);
		ok(!all_zero(sub[i], IPMD_KEY_BYTES), "subkey %d not zero", i);
		for (int j = i + 1; j < 3; j++)
			ok(memcmp(sub[i], sub[j], IPMD_KEY_BYTES) != 0,
			   "subkeys %d and %d differ", i, j);
		ok(memcmp(sub[i], a.sign_secret, IPMD_KEY_BYTES) != 0,
		   "subkey %d differs from the signing seed", i);
	}
	ok(memcmp(a.sign_secret, master, IPMD_KEY_BYTES) != 0,
	   "signing seed differs from the master");

	/* Pin the derivation: these bytes are the format. */
	crypto_kdf_derive_from_key(want, sizeof(want), KDF_MANIFEST,
				   IPMD_KDF_CONTEXT, master);
	is_mem(a.manifest, want, IPMD_KEY_BYTES, "manifest = kdf(id 2)");
	crypto_kdf_derive_from_key(want, sizeof(want), KDF_CONVERGENCE,
				   IPMD_KDF_CONTEXT, master);
	is_mem(a.convergence, want, IPMD_KEY_BYTES, "convergence = kdf(id 1)");
	crypto_kdf_derive_from_key(want, sizeof(want), KDF_JOURNAL,
				   IPMD_KDF_CONTEXT, master);
	is_mem(a.journal, want, IPMD_KEY_BYTES, "journal = kdf(id 4)");
	crypto_kdf_derive_from_key(want, sizeof(want), KDF_SIGN_SEED,
				   IPMD_KDF_CONTEXT, master);
	is_mem(a.sign_secret, want, IPMD_KEY_BYTES,
	       "Ed25519 seed = kdf(id 3)");

	keys_free(&a);
	ok(a.convergence == NULL && a.sign_secret == NULL && a.can_sign == 0,
	   "keys_free clears the struct");
	keys_free(&a); /* twice: must be harmless */
	keys_free(&b);
	keys_free(&c);
	memset(&a, 0, sizeof(a));
	keys_free(&a);
	keys_free(NULL);
	ok(1, "keys_free of zeroed/freed/NULL keys");
}

static void test_sign(void)
{
	uint8_t m1[IPMD_MASTER_BYTES], m2[IPMD_MASTER_BYTES];
	uint8_t msg[200], sig[IPMD_SIGNATURE_BYTES];
	struct mailbox_keys a, b;

	tap_fill_random(m1, sizeof(m1), 51);
	tap_fill_random(m2, sizeof(m2), 52);
	tap_fill_random(msg, sizeof(msg), 53);
	is_int(keys_from_master(&a, m1), 0, "keys of master 1");
	is_int(keys_from_master(&b, m2), 0, "keys of master 2");
	is_int(keys_sign(&a, sig, msg, sizeof(msg)), 0, "sign");
	is_int(keys_verify(a.public_key, sig, msg, sizeof(msg)), 0, "verify");
	is_int(keys_verify(b.public_key, sig, msg, sizeof(msg)), -EBADMSG,
	       "verify under another key fails");
	msg[100] ^= 1;
	is_int(keys_verify(a.public_key, sig, msg, sizeof(msg)), -EBADMSG,
	       "verify of a flipped message fails");
	msg[100] ^= 1;
	sig[0] ^= 1;
	is_int(keys_verify(a.public_key, sig, msg, sizeof(msg)), -EBADMSG,
	       "verify of a flipped signature fails");
	is_int(keys_sign(&a, sig, NULL, 0), 0, "sign empty message");
	is_int(keys_verify(a.public_key, sig, NULL, 0), 0,
	       "verify empty message");
	keys_free(&a);
	keys_free(&b);
}

static void test_readcap(void)
{
	uint8_t master[IPMD_MASTER_BYTES], msg[32] = { 1 };
	uint8_t sig[IPMD_SIGNATURE_BYTES];
	char line[READCAP_MAX], bad[READCAP_MAX * 2];
	struct mailbox_keys full, rc;
	size_t pre = strlen(READCAP_PREFIX), len;

	tap_fill_random(master, sizeof(master), 61);
	is_int(keys_from_master(&full, master), 0, "keys of the master");
	is_int(readcap_format(&full, line), 0, "readcap_format");
	len = strlen(line);
	ok(strncmp(line, READCAP_PREFIX, pre) == 0, "starts with the prefix");
	ok(len > pre && line[len - 1] == '\n', "ends with a newline");
	ok(strspn(line + pre, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
			      "wxyz0123456789-_") == len - pre - 1,
	   "base64url without padding");

	is_int(readcap_parse(line, &rc), 0, "readcap_parse");
	is_int(rc.can_sign, 0, "a read capability cannot sign");
	is_mem(rc.public_key, full.public_key, IPMD_PUBLIC_KEY_BYTES,
	       "public key survives");
	ok(rc.manifest && memcmp(rc.manifest, full.manifest,
				 IPMD_KEY_BYTES) == 0,
	   "manifest key survives");
	ok(!rc.convergence || all_zero(rc.convergence, IPMD_KEY_BYTES),
	   "no convergence secret");
	ok(!rc.journal || all_zero(rc.journal, IPMD_KEY_BYTES),
	   "no journal key");
	ok(!rc.sign_secret || all_zero(rc.sign_secret, IPMD_SECRET_KEY_BYTES),
	   "no signing key");
	is_int(keys_sign(&rc, sig, msg, sizeof(msg)), -EPERM,
	       "keys_sign refused without can_sign");
	is_int(keys_sign(&full, sig, msg, sizeof(msg)), 0, "full key signs");
	is_int(keys_verify(rc.public_key, sig, msg, sizeof(msg)), 0,
	       "the read capability verifies its signature");
	keys_free(&rc);

	line[len - 1] = '\0';
	is_int(readcap_parse(line, &rc), 0, "parse without the newline");
	keys_free(&rc);
	snprintf(bad, sizeof(bad), "%s\r\n", line);
	is_int(readcap_parse(bad, &rc), 0, "parse with CRLF");
	keys_free(&rc);

	/* Malformed lines; each must be refused and leave k zeroed. */
	const char *cases[] = {
		"",
		READCAP_PREFIX,
		"ipmaildir-read-v2:",
		"garbage",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		is_int(readcap_parse(cases[i], &rc), KEYS_E_READCAP,
		       "refused: '%s'", cases[i]);
		ok(rc.manifest == NULL && rc.can_sign == 0, "... k zeroed");
	}
	snprintf(bad, sizeof(bad), "ipmaildir-read-v2:%s", line + pre);
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP, "other version tag");
	snprintf(bad, sizeof(bad), "%.*s", (int)(len - 2), line);
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP, "one char short");
	snprintf(bad, sizeof(bad), "%.*s", (int)(len - 3), line);
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP,
	       "two chars short (decodes to 63 bytes)");
	{
		uint8_t zeros[IPMD_PUBLIC_KEY_BYTES + IPMD_KEY_BYTES] = { 0 };
		memcpy(bad, READCAP_PREFIX, pre);
		sodium_bin2base64(bad + pre, sizeof(bad) - pre, zeros,
				  sizeof(zeros),
				  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
		is_int(readcap_parse(bad, &rc), KEYS_E_READCAP,
		       "public key that is not a valid point");
	}
	snprintf(bad, sizeof(bad), "%sA", line);
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP, "one char extra");
	snprintf(bad, sizeof(bad), "%sAAAA", line);
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP, "three bytes extra");
	snprintf(bad, sizeof(bad), "%s=", line);
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP, "padding refused");
	snprintf(bad, sizeof(bad), "%s", line);
	bad[pre + 5] = '+';
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP,
	       "standard base64 char refused");
	snprintf(bad, sizeof(bad), " %s", line);
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP, "leading space");
	memset(bad, 'A', sizeof(bad) - 1);
	memcpy(bad, READCAP_PREFIX, pre);
	bad[sizeof(bad) - 1] = '\0';
	is_int(readcap_parse(bad, &rc), KEYS_E_READCAP, "overlong line");
	ok(rc.manifest == NULL, "... k zeroed");
	keys_free(&full);
}

/* img with byte off set to v and its checksum made right again: damage
 * only the parser's rules can see. */
static void patched(uint8_t *img, const uint8_t *from, size_t off, uint8_t v)
{
	memcpy(img, from, KEYFILE_BYTES);
	img[off] = v;
	rechecksum(img);
}

/* Key files cut short, and checksummed ones whose contents are wrong. */
static const struct {
	size_t len;
	const char *what;
} truncated[] = {
	{100, "truncated file"},
	{4, "truncated inside the magic"},
	{0, "empty file"},
};
static const struct {
	size_t off;
	uint8_t v;
	const char *what;
} corrupt[] = {
	{0, 'X', "bad magic"},
	{KEYFILE_OFF_WRAP, 7, "unknown wrap"},
	{KEYFILE_OFF_RESERVED, 1, "reserved bytes not zero"},
};

static void test_plain_file(void)
{
	const char *path, *path2;
	uint8_t img[KEYFILE_BYTES + 8], before[KEYFILE_BYTES + 8];
	uint8_t master[IPMD_MASTER_BYTES], bad[KEYFILE_BYTES + 1];
	struct mailbox_keys k, l, m;
	struct stat st;
	int err = -1;

	path = harness_path("plain.key");
	is_int(keyfile_create(path, NULL, 0, &k, &err), 0,
	       "create unwrapped key file");
	is_int(err, 0, "sys_errno 0 on success");
	is_int(k.can_sign, 1, "created keys can sign");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "mode 0600");
	is_int(st.st_size, KEYFILE_BYTES, "size is KEYFILE_BYTES");
	is_int(harness_dir_entries(dir), 1, "no temp file left behind");
	is_int(slurp(path, img, sizeof(img)), KEYFILE_BYTES, "read it back");
	is_mem(img, KEYFILE_MAGIC, KEYFILE_MAGIC_BYTES, "magic");
	is_int(img[KEYFILE_OFF_VERSION], 1, "version 1");
	is_int(img[KEYFILE_OFF_WRAP], KEYFILE_WRAP_NONE, "unwrapped");
	is_int(keyfile_is_wrapped(path, &err), 0, "keyfile_is_wrapped: no");

	is_int(keyfile_load(path, NULL, 0, &l, &err), 0, "load it");
	ok(same_keys(&k, &l), "loaded keys == created keys");
	keys_free(&l);
	is_int(keyfile_load(path, PASS, strlen(PASS), &l, &err), 0,
	       "an unwrapped file loads even if a passphrase is given");
	keys_free(&l);
	is_int(keyfile_parse(img, KEYFILE_BYTES, NULL, 0, master), 0,
	       "keyfile_parse");
	is_int(keys_from_master(&m, master), 0, "keys from parsed master");
	ok(same_keys(&k, &m), "parsed master gives the same keys");
	ok(memcmp(master, k.convergence, IPMD_KEY_BYTES) &&
		   memcmp(master, k.manifest, IPMD_KEY_BYTES) &&
		   memcmp(master, k.journal, IPMD_KEY_BYTES),
	   "no subkey equals the stored master");
	keys_free(&m);

	/* Never replace an existing key file. */
	memcpy(before, img, KEYFILE_BYTES);
	is_int(keyfile_create(path, NULL, 0, &l, &err), KEYS_E_EXISTS,
	       "create over an existing file refused");
	ok(l.convergence == NULL, "... k left empty");
	is_int(slurp(path, img, sizeof(img)), KEYFILE_BYTES, "... still there");
	is_mem(img, before, KEYFILE_BYTES, "... unchanged byte for byte");
	is_int(harness_dir_entries(dir), 1, "... and no temp file left");

	/* Damage, told apart. */
	path2 = harness_path("bad.key");
	for (size_t i = 0; i < sizeof(truncated) / sizeof(truncated[0]); i++) {
		spit(path2, before, truncated[i].len, 0600);
		is_int(keyfile_load(path2, NULL, 0, &l, &err),
		       KEYS_E_TRUNCATED, "%s", truncated[i].what);
	}
	memcpy(bad, before, KEYFILE_BYTES);
	bad[KEYFILE_BYTES] = '\n';
	spit(path2, bad, KEYFILE_BYTES + 1, 0600);
	is_int(keyfile_load(path2, NULL, 0, &l, &err), KEYS_E_TRUNCATED,
	       "file one byte too long");

	memcpy(bad, before, KEYFILE_BYTES);
	bad[KEYFILE_OFF_BODY + 3] ^= 0x10;
	spit(path2, bad, KEYFILE_BYTES, 0600);
	is_int(keyfile_load(path2, NULL, 0, &l, &err), KEYS_E_CORRUPT,
	       "a flipped body byte");
	ok(l.convergence == NULL, "... k left empty");
	is_int(keyfile_is_wrapped(path2, &err), KEYS_E_CORRUPT,
	       "keyfile_is_wrapped sees the damage too");
	memcpy(bad, before, KEYFILE_BYTES);
	bad[KEYFILE_BYTES - 1] ^= 0x01;
	is_int(keyfile_parse(bad, KEYFILE_BYTES, NULL, 0, master),
	       KEYS_E_CORRUPT, "a flipped checksum byte");
	for (size_t i = 0; i < sizeof(corrupt) / sizeof(corrupt[0]); i++) {
		patched(bad, before, corrupt[i].off, corrupt[i].v);
		is_int(keyfile_parse(bad, KEYFILE_BYTES, NULL, 0, master),
		       KEYS_E_CORRUPT, "%s", corrupt[i].what);
	}

	patched(bad, before, KEYFILE_OFF_VERSION, 2);
	spit(path2, bad, KEYFILE_BYTES, 0600);
	is_int(keyfile_load(path2, NULL, 0, &l, &err), KEYS_E_VERSION,
	       "version 2 (checksum recomputed)");
	is_int(keyfile_parse(bad, 40, NULL, 0, master), KEYS_E_VERSION,
	       "version 2 of another size is still 'version'");

	/* Permissions. */
	chmod(path, 0644);
	is_int(keyfile_load(path, NULL, 0, &l, &err), KEYS_E_PERMS,
	       "mode 0644 refused");
	chmod(path, 0620);
	is_int(keyfile_load(path, NULL, 0, &l, &err), KEYS_E_PERMS,
	       "mode 0620 refused");
	chmod(path, 0400);
	is_int(keyfile_load(path, NULL, 0, &l, &err), 0, "mode 0400 loads");
	keys_free(&l);
	chmod(path, 0600);

	path2 = harness_path("missing.key");
	is_int(keyfile_load(path2, NULL, 0, &l, &err), KEYS_E_IO,
	       "missing file: KEYS_E_IO");
	is_int(err, ENOENT, "... sys_errno ENOENT");
	is_int(keyfile_load(dir, NULL, 0, &l, &err), KEYS_E_IO,
	       "a directory: KEYS_E_IO");
	path2 = harness_path("nodir/x.key");
	is_int(keyfile_create(path2, NULL, 0, &l, &err), KEYS_E_IO,
	       "create in a missing directory: KEYS_E_IO");
	is_int(err, ENOENT, "... sys_errno ENOENT");
	unlink(harness_path("bad.key"));
	keys_free(&k);
}

/* Six Argon2id runs in all: create, load, wrong, rewrap, load, rewrap. */
static void test_wrapped_file(void)
{
	const char *path;
	uint8_t img[KEYFILE_BYTES + 8], before[KEYFILE_BYTES + 8];
	uint8_t master[IPMD_MASTER_BYTES];
	struct mailbox_keys k, l;
	int err = -1;

	path = harness_path("wrapped.key");
	is_int(keyfile_create(path, PASS, strlen(PASS), &k, &err), 0,
	       "create wrapped key file");
	is_int(keyfile_is_wrapped(path, &err), 1, "keyfile_is_wrapped: yes");
	is_int(slurp(path, img, sizeof(img)), KEYFILE_BYTES, "read it back");
	is_int(img[KEYFILE_OFF_WRAP], KEYFILE_WRAP_ARGON2ID, "wrap = argon2id");
	ok(img[KEYFILE_OFF_OPSLIMIT + 3] == KEYFILE_OPSLIMIT &&
		   img[KEYFILE_OFF_OPSLIMIT] == 0,
	   "opslimit stored big-endian");
	ok(img[KEYFILE_OFF_MEMLIMIT + 1] == 1 && img[KEYFILE_OFF_MEMLIMIT] == 0 &&
		   img[KEYFILE_OFF_MEMLIMIT + 2] == 0,
	   "memlimit 65536 KiB stored big-endian");
	ok(memcmp(img + KEYFILE_OFF_BODY, k.sign_secret, IPMD_KEY_BYTES) != 0,
	   "body is not the seed in clear");

	is_int(keyfile_load(path, PASS, strlen(PASS), &l, &err), 0,
	       "load with the passphrase");
	ok(same_keys(&k, &l), "same keys");
	keys_free(&l);
	is_int(keyfile_load(path, "wrong", 5, &l, &err), KEYS_E_PASSPHRASE,
	       "wrong passphrase");
	ok(l.convergence == NULL, "... k left empty");
	is_int(keyfile_load(path, NULL, 0, &l, &err), KEYS_E_NEED_PASS,
	       "no passphrase for a wrapped file");
	is_int(keyfile_parse(img, KEYFILE_BYTES, NULL, 0, master),
	       KEYS_E_NEED_PASS, "keyfile_parse: needs a passphrase");
	memcpy(before, img, KEYFILE_BYTES);
	/* ~4 TiB: refused, not attempted */
	patched(img, before, KEYFILE_OFF_MEMLIMIT, 0xff);
	is_int(keyfile_parse(img, KEYFILE_BYTES, PASS, strlen(PASS), master),
	       KEYS_E_CORRUPT, "absurd memlimit refused without running it");
	patched(img, before, KEYFILE_OFF_OPSLIMIT + 3, 0);
	is_int(keyfile_parse(img, KEYFILE_BYTES, PASS, strlen(PASS), master),
	       KEYS_E_CORRUPT, "opslimit 0 refused");

	is_int(keyfile_rewrap(path, PASS, strlen(PASS), PASS2, strlen(PASS2),
			      &err),
	       0, "rewrap to a new passphrase");
	is_int(harness_dir_entries(dir), 2, "no temp file left behind");
	is_int(slurp(path, img, sizeof(img)), KEYFILE_BYTES, "read it back");
	ok(memcmp(img + KEYFILE_OFF_SALT, before + KEYFILE_OFF_SALT,
		  KEYFILE_SALT_BYTES) != 0,
	   "fresh salt");
	is_int(keyfile_load(path, PASS2, strlen(PASS2), &l, &err), 0,
	       "load with the new passphrase");
	ok(same_keys(&k, &l), "same master-derived keys after rewrap");
	keys_free(&l);
	is_int(keyfile_rewrap(path, NULL, 0, PASS, strlen(PASS), &err),
	       KEYS_E_NEED_PASS, "rewrap without the old passphrase refused");
	is_int(slurp(path, before, sizeof(before)), KEYFILE_BYTES, "reread");
	is_mem(before, img, KEYFILE_BYTES, "... file unchanged");

	is_int(keyfile_rewrap(path, PASS2, strlen(PASS2), NULL, 0, &err), 0,
	       "rewrap to no passphrase");
	is_int(keyfile_is_wrapped(path, &err), 0, "now unwrapped");
	is_int(keyfile_load(path, NULL, 0, &l, &err), 0, "load unwrapped");
	ok(same_keys(&k, &l), "still the same keys");
	keys_free(&l);
	keys_free(&k);
}

static void test_strerror(void)
{
	const int errs[] = { KEYS_E_IO,        KEYS_E_TRUNCATED,
			     KEYS_E_CORRUPT,   KEYS_E_VERSION,
			     KEYS_E_PASSPHRASE, KEYS_E_NEED_PASS,
			     KEYS_E_PERMS,     KEYS_E_EXISTS,
			     KEYS_E_NOMEM,     KEYS_E_READCAP };
	int distinct = 1;

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		for (size_t j = i + 1; j < sizeof(errs) / sizeof(errs[0]); j++)
			if (!strcmp(keys_strerror(errs[i]),
				    keys_strerror(errs[j])))
				distinct = 0;
	ok(distinct, "every keys_error has its own message");
	is_str(keys_strerror(KEYS_E_PASSPHRASE), "wrong passphrase",
	       "wrong passphrase message");
	ok(strstr(keys_strerror(KEYS_E_PERMS), "chmod 600") != NULL,
	   "permissions message says what to do");
	is_str(keys_strerror(-ENOENT), strerror(ENOENT), "errno fallback");
	ok(keys_strerror(12345) != NULL, "unknown code still a message");
}

/* Does writing one byte of p fault?  Tried in a child. */
static int write_faults(uint8_t *p)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		/* The fault is expected: keep a sanitizer's report quiet. */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		*(volatile uint8_t *)p ^= 1;
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* Derived keys are read-only once made: a stray write faults. */
static void test_read_only(void)
{
	uint8_t master[IPMD_MASTER_BYTES];
	struct mailbox_keys k, rc;
	char line[READCAP_MAX];

	randombytes_buf(master, sizeof(master));
	if (keys_from_master(&k, master) != 0)
		abort();
	sodium_memzero(master, sizeof(master));
	is_int(write_faults(k.manifest), 1,
	       "a write to the manifest key faults");
	is_int(write_faults(k.journal), 1, "to the journal key");
	is_int(write_faults(k.convergence), 1, "to the convergence secret");
	is_int(write_faults(k.sign_secret), 1, "to the signing key");
	if (readcap_format(&k, line) != 0 || readcap_parse(line, &rc) != 0)
		abort();
	is_int(write_faults(rc.manifest), 1,
	       "a read capability's manifest key too");
	keys_free(&rc);
	keys_free(&k);
	sodium_memzero(line, sizeof(line));
}

int main(void)
{
	const char *t;

	if (!ok(seal_init() == 0, "sodium initialised"))
		return tap_done();
	t = tap_tempdir();
	if (!ok(t != NULL, "temp dir"))
		return tap_done();
	snprintf(dir, sizeof(dir), "%s", t);
	test_derivation();
	test_sign();
	test_readcap();
	test_plain_file();
	test_wrapped_file();
	test_strerror();
	test_read_only();
	return tap_done();
}
