/*
 * crypto/keys.h — the mailbox key: key file, subkeys, signing, read capability.
 *
 * A mailbox is one 32-byte master secret.  Everything else is derived with
 * crypto_kdf (crypto/format.h, enum kdf_id): the convergence secret, the
 * manifest key, the Ed25519 signing seed and the journal key.  The mailbox
 * id is the Ed25519 public key.
 *
 * A struct mailbox_keys is either
 *  - full (can_sign == 1): every subkey, made from the master secret; or
 *  - a read capability (can_sign == 0): manifest key and public key only;
 *    convergence, journal and secret key are zero.  It can decrypt and
 *    verify commits but never seal a content block or sign.
 * Secrets live in sodium_malloc'ed memory (guarded, mlocked where allowed),
 * read-only once made (a write to them faults), and are wiped by
 * keys_free().  Nothing here prints.
 *
 * Key file v1 (binary, fixed KEYFILE_BYTES, mode 0600):
 *   magic "ipmdkey\n" (8) ‖ version u8 (=1) ‖ wrap u8 (0 none, 1 argon2id)
 *   ‖ reserved u16 (0) ‖ opslimit u32be ‖ memlimit_kib u32be ‖ salt[16]
 *   ‖ nonce[24] ‖ body[48] ‖ checksum[16]
 * body = secretbox(master) (32 + 16 MAC) when wrapped, else master ‖ 16 zero
 * bytes.  checksum = BLAKE2b-128 of every byte before it, so a damaged file
 * is told apart from a wrong passphrase.
 *
 * Read capability file (text, one line):
 *   "ipmaildir-read-v1:" base64url(public key ‖ manifest key) "\n"
 */
#ifndef IPMD_CRYPTO_KEYS_H
#define IPMD_CRYPTO_KEYS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/format.h"
#include "util/attr.h"

#define KEYFILE_MAGIC "ipmdkey\n"
#define KEYFILE_VERSION 1
#define KEYFILE_BYTES 124
#define READCAP_PREFIX "ipmaildir-read-v1:"

/* Byte offsets and sizes of the key file v1 fields (the layout above). */
#define KEYFILE_MAGIC_BYTES 8
#define KEYFILE_OFF_VERSION 8
#define KEYFILE_OFF_WRAP 9
#define KEYFILE_OFF_RESERVED 10
#define KEYFILE_OFF_OPSLIMIT 12
#define KEYFILE_OFF_MEMLIMIT 16
#define KEYFILE_OFF_SALT 20
#define KEYFILE_SALT_BYTES 16 /* crypto_pwhash_SALTBYTES */
#define KEYFILE_OFF_NONCE 36
#define KEYFILE_NONCE_BYTES 24 /* crypto_secretbox_NONCEBYTES */
#define KEYFILE_OFF_BODY 60
#define KEYFILE_BODY_BYTES 48 /* master + crypto_secretbox_MACBYTES */
#define KEYFILE_OFF_CHECKSUM 108
#define KEYFILE_CHECKSUM_BYTES 16

/*
 * Argon2id cost written into new key files.  The cost is read back from the
 * file, so a later build may raise these without breaking old files; a file
 * asking for more than the _MAX values is refused as damaged (a corrupt cost
 * field must not make us allocate terabytes).
 */
#define KEYFILE_OPSLIMIT 3
#define KEYFILE_MEMLIMIT_KIB (64u * 1024u) /* 64 MiB */
#define KEYFILE_OPSLIMIT_MAX 64
#define KEYFILE_MEMLIMIT_KIB_MAX (4u * 1024u * 1024u) /* 4 GiB */

enum keyfile_wrap { KEYFILE_WRAP_NONE = 0, KEYFILE_WRAP_ARGON2ID = 1 };

/* Errors beyond negative errno that key handling reports. */
enum keys_error {
	KEYS_OK = 0,
	KEYS_E_IO = -1001,          /* read/write failed; errno kept in *sys_errno */
	KEYS_E_TRUNCATED = -1002,   /* file shorter or longer than a key file */
	KEYS_E_CORRUPT = -1003,     /* bad magic or checksum mismatch */
	KEYS_E_VERSION = -1004,     /* a key file version this build can't read */
	KEYS_E_PASSPHRASE = -1005,  /* wrapped key did not open: wrong passphrase */
	KEYS_E_NEED_PASS = -1006,   /* the file is wrapped and no passphrase given */
	KEYS_E_PERMS = -1007,       /* the file is readable or writable by others */
	KEYS_E_EXISTS = -1008,      /* refusing to overwrite an existing key file */
	KEYS_E_NOMEM = -1009,
	KEYS_E_READCAP = -1010,     /* malformed read capability */
};

/* A one-line English message for a keys_error (or negative errno). */
const char *keys_strerror(int err);

struct mailbox_keys {
	int can_sign;
	uint8_t *convergence; /* IPMD_KEY_BYTES, sodium_malloc'ed */
	uint8_t *manifest;    /* IPMD_KEY_BYTES */
	uint8_t *journal;     /* IPMD_KEY_BYTES */
	uint8_t *sign_secret; /* IPMD_SECRET_KEY_BYTES */
	uint8_t public_key[IPMD_PUBLIC_KEY_BYTES];
};

/* Derive every subkey from a master secret.  0 or KEYS_E_NOMEM. */
IPMD_MUST_CHECK
int keys_from_master(struct mailbox_keys *k,
		     const uint8_t master[IPMD_MASTER_BYTES]);

/* dst: a copy of src with secrets of its own (read-only, as src's), to
 * be keys_free'd independently.  0 or KEYS_E_NOMEM (dst then zeroed). */
IPMD_MUST_CHECK
int keys_copy(struct mailbox_keys *dst, const struct mailbox_keys *src);

/* Wipe and free the secrets; k may be zeroed or half-built. */
void keys_free(struct mailbox_keys *k);

/*
 * Create a new key file at path with a fresh random master secret.
 * passphrase == NULL stores it unwrapped.  Refuses (KEYS_E_EXISTS) to
 * replace an existing file.  Written to a temp file, fsync'ed, linked into
 * place, directory fsync'ed.  On success fills k.
 */
int keyfile_create(const char *path, const char *passphrase, size_t pass_len,
		   struct mailbox_keys *k, int *sys_errno);

/* The same with a given master secret (key restore from a backup). */
int keyfile_create_from(const char *path,
			const uint8_t master[IPMD_MASTER_BYTES],
			const char *passphrase, size_t pass_len,
			struct mailbox_keys *k, int *sys_errno);

/* The master secret of a key file (key backup); the caller wipes it. */
IPMD_MUST_CHECK
int keyfile_read_master(const char *path, const char *passphrase,
			size_t pass_len, uint8_t master[IPMD_MASTER_BYTES],
			int *sys_errno);

/*
 * Load a key file.  passphrase may be NULL for an unwrapped file.
 * Refuses a file that group or others can read or write (KEYS_E_PERMS).
 */
IPMD_MUST_CHECK
int keyfile_load(const char *path, const char *passphrase, size_t pass_len,
		 struct mailbox_keys *k, int *sys_errno);

/* Parse an in-memory key file image (for tests and fuzzing). */
IPMD_MUST_CHECK
int keyfile_parse(const uint8_t *buf, size_t len, const char *passphrase,
		  size_t pass_len, uint8_t master[IPMD_MASTER_BYTES]);

/* Is the key file at path wrapped with a passphrase?  1, 0, or an error. */
IPMD_MUST_CHECK
int keyfile_is_wrapped(const char *path, int *sys_errno);

/*
 * Re-wrap the master secret under a new passphrase (or none), atomically
 * replacing the file.  Data is untouched: only the wrapping changes.
 */
int keyfile_rewrap(const char *path, const char *old_pass, size_t old_len,
		   const char *new_pass, size_t new_len, int *sys_errno);

/*
 * Write/parse the read capability line.  out must hold READCAP_MAX bytes;
 * readcap_format writes the whole line, "\n" included, NUL-terminated, and
 * returns 0 or -EINVAL.  readcap_parse accepts the line with or without a
 * final "\n" (or "\r\n"); on error (KEYS_E_READCAP, KEYS_E_NOMEM) k is
 * left zeroed.  A parsed capability has can_sign 0 and its convergence,
 * journal and sign_secret buffers allocated but all zero.
 */
#define READCAP_MAX 128
int readcap_format(const struct mailbox_keys *k, char out[READCAP_MAX]);
IPMD_MUST_CHECK
int readcap_parse(const char *text, struct mailbox_keys *k);

/* Ed25519 detached signature over msg.  Requires can_sign. */
int keys_sign(const struct mailbox_keys *k, uint8_t sig[IPMD_SIGNATURE_BYTES],
	      const uint8_t *msg, size_t len);
/* 0 if sig is valid for msg under public_key, else -EBADMSG. */
IPMD_MUST_CHECK
int keys_verify(const uint8_t public_key[IPMD_PUBLIC_KEY_BYTES],
		const uint8_t sig[IPMD_SIGNATURE_BYTES], const uint8_t *msg,
		size_t len);

#endif
