/* crypto/keys.c — see keys.h. */
#include "crypto/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/endian.h"
#include "util/io.h"

_Static_assert(sizeof(KEYFILE_MAGIC) - 1 == KEYFILE_MAGIC_BYTES, "magic");
_Static_assert(KEYFILE_OFF_VERSION == KEYFILE_MAGIC_BYTES, "layout");
_Static_assert(KEYFILE_OFF_WRAP == KEYFILE_OFF_VERSION + 1, "layout");
_Static_assert(KEYFILE_OFF_RESERVED == KEYFILE_OFF_WRAP + 1, "layout");
_Static_assert(KEYFILE_OFF_OPSLIMIT == KEYFILE_OFF_RESERVED + 2, "layout");
_Static_assert(KEYFILE_OFF_MEMLIMIT == KEYFILE_OFF_OPSLIMIT + 4, "layout");
_Static_assert(KEYFILE_OFF_SALT == KEYFILE_OFF_MEMLIMIT + 4, "layout");
_Static_assert(KEYFILE_OFF_NONCE == KEYFILE_OFF_SALT + KEYFILE_SALT_BYTES,
	       "layout");
_Static_assert(KEYFILE_OFF_BODY == KEYFILE_OFF_NONCE + KEYFILE_NONCE_BYTES,
	       "layout");
_Static_assert(KEYFILE_OFF_CHECKSUM == KEYFILE_OFF_BODY + KEYFILE_BODY_BYTES,
	       "layout");
_Static_assert(KEYFILE_BYTES == KEYFILE_OFF_CHECKSUM + KEYFILE_CHECKSUM_BYTES,
	       "layout");
_Static_assert(KEYFILE_SALT_BYTES == crypto_pwhash_SALTBYTES, "salt");
_Static_assert(KEYFILE_NONCE_BYTES == crypto_secretbox_NONCEBYTES, "nonce");
_Static_assert(KEYFILE_BODY_BYTES ==
		       IPMD_MASTER_BYTES + crypto_secretbox_MACBYTES,
	       "body");
_Static_assert(KEYFILE_CHECKSUM_BYTES >= crypto_generichash_BYTES_MIN,
	       "checksum");
_Static_assert(IPMD_MASTER_BYTES == crypto_kdf_KEYBYTES, "master");
_Static_assert(sizeof(IPMD_KDF_CONTEXT) - 1 == crypto_kdf_CONTEXTBYTES,
	       "kdf context");
_Static_assert(IPMD_KEY_BYTES >= crypto_kdf_BYTES_MIN &&
		       IPMD_KEY_BYTES <= crypto_kdf_BYTES_MAX,
	       "subkey size");
_Static_assert(crypto_sign_SEEDBYTES >= crypto_kdf_BYTES_MIN &&
		       crypto_sign_SEEDBYTES <= crypto_kdf_BYTES_MAX,
	       "seed size");
_Static_assert(crypto_secretbox_KEYBYTES == IPMD_KEY_BYTES, "wrap key");

#define READCAP_VARIANT sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define READCAP_BIN_BYTES (IPMD_PUBLIC_KEY_BYTES + IPMD_KEY_BYTES)
/* prefix ‖ base64 (ENCODED_LEN counts the NUL) ‖ "\n" */
_Static_assert(sizeof(READCAP_PREFIX) - 1 +
			       sodium_base64_ENCODED_LEN(READCAP_BIN_BYTES,
							 READCAP_VARIANT) +
			       1 <=
		       READCAP_MAX,
	       "READCAP_MAX holds a read capability line");

/* Transient secrets of one key file operation, in guarded memory. */
struct scratch {
	uint8_t master[IPMD_MASTER_BYTES];
	uint8_t image[KEYFILE_BYTES + 1]; /* +1: tells "too long" apart */
	uint8_t image_new[KEYFILE_BYTES];
};

static void set_sys(int *sys_errno, int e)
{
	if (sys_errno)
		*sys_errno = e;
}

static int io_error(int *sys_errno, int e)
{
	set_sys(sys_errno, e);
	return KEYS_E_IO;
}

const char *keys_strerror(int err)
{
	switch (err) {
	case KEYS_OK:
		return "success";
	case KEYS_E_IO:
		return "key file could not be read or written";
	case KEYS_E_TRUNCATED:
		return "key file is truncated (or has the wrong size)";
	case KEYS_E_CORRUPT:
		return "key file is damaged (checksum mismatch or not a key "
		       "file)";
	case KEYS_E_VERSION:
		return "key file version is not supported by this build";
	case KEYS_E_PASSPHRASE:
		return "wrong passphrase";
	case KEYS_E_NEED_PASS:
		return "key file is protected by a passphrase; none was given";
	case KEYS_E_PERMS:
		return "key file is readable by other users (chmod 600 it)";
	case KEYS_E_EXISTS:
		return "key file already exists; refusing to overwrite it";
	case KEYS_E_NOMEM:
		return "out of memory";
	case KEYS_E_READCAP:
		return "malformed read capability";
	default:
		break;
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown key error";
}

/* ---- subkeys ---------------------------------------------------------- */

void keys_free(struct mailbox_keys *k)
{
	if (!k)
		return;
	/* sodium_free wipes before it frees and accepts NULL. */
	sodium_free(k->convergence);
	sodium_free(k->manifest);
	sodium_free(k->journal);
	sodium_free(k->sign_secret);
	sodium_memzero(k, sizeof(*k));
}

static uint8_t *secret_alloc(size_t len)
{
	uint8_t *p = sodium_malloc(len);

	/* sodium_malloc fills with garbage on purpose; we promise zeros. */
	if (p)
		sodium_memzero(p, len);
	return p;
}

/* Every secret buffer allocated and zero; k untouched-but-zeroed on error. */
static int alloc_secrets(struct mailbox_keys *k)
{
	memset(k, 0, sizeof(*k));
	k->convergence = secret_alloc(IPMD_KEY_BYTES);
	k->manifest = secret_alloc(IPMD_KEY_BYTES);
	k->journal = secret_alloc(IPMD_KEY_BYTES);
	k->sign_secret = secret_alloc(IPMD_SECRET_KEY_BYTES);
	if (!k->convergence || !k->manifest || !k->journal ||
	    !k->sign_secret) {
		keys_free(k);
		return KEYS_E_NOMEM;
	}
	return 0;
}

/* Done: no key changes for the life of k, so a stray write faults. */
static void secrets_readonly(struct mailbox_keys *k)
{
	sodium_mprotect_readonly(k->convergence);
	sodium_mprotect_readonly(k->manifest);
	sodium_mprotect_readonly(k->journal);
	sodium_mprotect_readonly(k->sign_secret);
}

int keys_from_master(struct mailbox_keys *k,
		     const uint8_t master[IPMD_MASTER_BYTES])
{
	uint8_t seed[crypto_sign_SEEDBYTES];
	int rc;

	if (!k || !master)
		return -EINVAL;
	rc = alloc_secrets(k);
	if (rc)
		return rc;
	crypto_kdf_derive_from_key(k->convergence, IPMD_KEY_BYTES,
				   KDF_CONVERGENCE, IPMD_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(k->manifest, IPMD_KEY_BYTES, KDF_MANIFEST,
				   IPMD_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(k->journal, IPMD_KEY_BYTES, KDF_JOURNAL,
				   IPMD_KDF_CONTEXT, master);
	crypto_kdf_derive_from_key(seed, sizeof(seed), KDF_SIGN_SEED,
				   IPMD_KDF_CONTEXT, master);
	crypto_sign_seed_keypair(k->public_key, k->sign_secret, seed);
	sodium_memzero(seed, sizeof(seed));
	k->can_sign = 1;
	secrets_readonly(k);
	return 0;
}

/* Each secret copied (a NULL one stays NULL: a capability's keys have
 * no signing secret, a zeroed k none at all). */
static int copy_secret(uint8_t **dst, const uint8_t *src, size_t len)
{
	if (!src)
		return 0;
	*dst = secret_alloc(len);
	if (!*dst)
		return KEYS_E_NOMEM;
	memcpy(*dst, src, len);
	sodium_mprotect_readonly(*dst);
	return 0;
}

int keys_copy(struct mailbox_keys *dst, const struct mailbox_keys *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->can_sign = src->can_sign;
	memcpy(dst->public_key, src->public_key, sizeof(dst->public_key));
	if (copy_secret(&dst->convergence, src->convergence, IPMD_KEY_BYTES) ||
	    copy_secret(&dst->manifest, src->manifest, IPMD_KEY_BYTES) ||
	    copy_secret(&dst->journal, src->journal, IPMD_KEY_BYTES) ||
	    copy_secret(&dst->sign_secret, src->sign_secret,
			IPMD_SECRET_KEY_BYTES)) {
		keys_free(dst);
		return KEYS_E_NOMEM;
	}
	return 0;
}

/* ---- key file image (pure) -------------------------------------------- */

static void image_checksum(const uint8_t *img,
			   uint8_t out[KEYFILE_CHECKSUM_BYTES])
{
	crypto_generichash(out, KEYFILE_CHECKSUM_BYTES, img,
			   KEYFILE_OFF_CHECKSUM, NULL, 0);
}

static int wrap_params_ok(const uint8_t *img)
{
	uint32_t ops = get_be32(img + KEYFILE_OFF_OPSLIMIT);
	uint32_t kib = get_be32(img + KEYFILE_OFF_MEMLIMIT);
	/* In 64 bits: 4 GiB does not fit a 32-bit size_t. */
	unsigned long long bytes = (unsigned long long)kib * 1024;

	return ops >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
	       ops <= KEYFILE_OPSLIMIT_MAX &&
	       bytes >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
	       kib <= KEYFILE_MEMLIMIT_KIB_MAX &&
	       bytes <= crypto_pwhash_argon2id_MEMLIMIT_MAX;
}

/*
 * Structure of an image, without the passphrase.  The version is looked at
 * before the size and checksum, so a file from a later build (which may be
 * laid out differently) is reported as such, not as damage.
 */
static int check_image(const uint8_t *img, size_t len)
{
	uint8_t sum[KEYFILE_CHECKSUM_BYTES];
	size_t magic_len = len < KEYFILE_MAGIC_BYTES ? len : KEYFILE_MAGIC_BYTES;
	static const uint8_t zero[KEYFILE_BODY_BYTES - IPMD_MASTER_BYTES];

	if (!img && len > 0)
		return -EINVAL;
	if (magic_len > 0 && memcmp(img, KEYFILE_MAGIC, magic_len) != 0)
		return KEYS_E_CORRUPT;
	if (len <= KEYFILE_OFF_VERSION)
		return KEYS_E_TRUNCATED;
	if (img[KEYFILE_OFF_VERSION] != KEYFILE_VERSION)
		return KEYS_E_VERSION;
	if (len != KEYFILE_BYTES)
		return KEYS_E_TRUNCATED;
	image_checksum(img, sum);
	if (sodium_memcmp(sum, img + KEYFILE_OFF_CHECKSUM, sizeof(sum)) != 0)
		return KEYS_E_CORRUPT;
	/* Past the checksum only a crafted file can get these wrong. */
	if (img[KEYFILE_OFF_RESERVED] != 0 || img[KEYFILE_OFF_RESERVED + 1] != 0)
		return KEYS_E_CORRUPT;
	switch (img[KEYFILE_OFF_WRAP]) {
	case KEYFILE_WRAP_NONE:
		if (memcmp(img + KEYFILE_OFF_BODY + IPMD_MASTER_BYTES, zero,
			   sizeof(zero)) != 0)
			return KEYS_E_CORRUPT;
		return 0;
	case KEYFILE_WRAP_ARGON2ID:
		return wrap_params_ok(img) ? 0 : KEYS_E_CORRUPT;
	default:
		return KEYS_E_CORRUPT;
	}
}

/* Argon2id with the cost and salt stored in img; 0 or KEYS_E_NOMEM. */
static int wrap_key(uint8_t key[crypto_secretbox_KEYBYTES], const char *pass,
		    size_t pass_len, const uint8_t *img)
{
	unsigned long long ops = get_be32(img + KEYFILE_OFF_OPSLIMIT);
	size_t mem = (size_t)get_be32(img + KEYFILE_OFF_MEMLIMIT) * 1024;

	if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, pass_len,
			  img + KEYFILE_OFF_SALT, ops, mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return KEYS_E_NOMEM;
	return 0;
}

static int build_image(uint8_t img[KEYFILE_BYTES],
		       const uint8_t master[IPMD_MASTER_BYTES],
		       const char *pass, size_t pass_len)
{
	uint8_t key[crypto_secretbox_KEYBYTES];

	memset(img, 0, KEYFILE_BYTES);
	memcpy(img, KEYFILE_MAGIC, KEYFILE_MAGIC_BYTES);
	img[KEYFILE_OFF_VERSION] = KEYFILE_VERSION;
	if (!pass) {
		img[KEYFILE_OFF_WRAP] = KEYFILE_WRAP_NONE;
		memcpy(img + KEYFILE_OFF_BODY, master, IPMD_MASTER_BYTES);
	} else {
		img[KEYFILE_OFF_WRAP] = KEYFILE_WRAP_ARGON2ID;
		put_be32(img + KEYFILE_OFF_OPSLIMIT, KEYFILE_OPSLIMIT);
		put_be32(img + KEYFILE_OFF_MEMLIMIT, KEYFILE_MEMLIMIT_KIB);
		randombytes_buf(img + KEYFILE_OFF_SALT, KEYFILE_SALT_BYTES);
		randombytes_buf(img + KEYFILE_OFF_NONCE, KEYFILE_NONCE_BYTES);
		if (wrap_key(key, pass, pass_len, img) != 0)
			return KEYS_E_NOMEM;
		crypto_secretbox_easy(img + KEYFILE_OFF_BODY, master,
				      IPMD_MASTER_BYTES,
				      img + KEYFILE_OFF_NONCE, key);
		sodium_memzero(key, sizeof(key));
	}
	image_checksum(img, img + KEYFILE_OFF_CHECKSUM);
	return 0;
}

int keyfile_parse(const uint8_t *buf, size_t len, const char *passphrase,
		  size_t pass_len, uint8_t master[IPMD_MASTER_BYTES])
{
	uint8_t key[crypto_secretbox_KEYBYTES];
	int rc;

	if (!master)
		return -EINVAL;
	rc = check_image(buf, len);
	if (rc)
		return rc;
	if (buf[KEYFILE_OFF_WRAP] == KEYFILE_WRAP_NONE) {
		memcpy(master, buf + KEYFILE_OFF_BODY, IPMD_MASTER_BYTES);
		return 0;
	}
	if (!passphrase)
		return KEYS_E_NEED_PASS;
	rc = wrap_key(key, passphrase, pass_len, buf);
	if (rc)
		return rc;
	rc = crypto_secretbox_open_easy(master, buf + KEYFILE_OFF_BODY,
					KEYFILE_BODY_BYTES,
					buf + KEYFILE_OFF_NONCE, key);
	sodium_memzero(key, sizeof(key));
	if (rc != 0) {
		sodium_memzero(master, IPMD_MASTER_BYTES);
		/* The checksum matched, so the file is intact. */
		return KEYS_E_PASSPHRASE;
	}
	return 0;
}

/* ---- key file I/O ----------------------------------------------------- */

/* Read at most cap bytes of a private regular file. */
static int read_image(const char *path, uint8_t *buf, size_t cap,
		      size_t *len, int *sys_errno)
{
	struct stat st;
	size_t got = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return io_error(sys_errno, errno);
	if (fstat(fd, &st) != 0) {
		int e = errno;
		close(fd);
		return io_error(sys_errno, e);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return io_error(sys_errno, S_ISDIR(st.st_mode) ? EISDIR
							      : EINVAL);
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		close(fd);
		return KEYS_E_PERMS;
	}
	int e = read_full(fd, buf, cap, &got);
	close(fd);
	if (e)
		return io_error(sys_errno, -e);
	*len = got;
	return 0;
}

/*
 * A new private file next to path holding img, durable on disk; its name is
 * left in tmp.  mkostemp opens with O_CREAT|O_EXCL and mode 0600.
 */
static int write_temp(const char *path, const uint8_t *img, char tmp[PATH_MAX],
		      int *sys_errno)
{
	int fd, e;
	int n = snprintf(tmp, PATH_MAX, "%s.tmp.XXXXXX", path);

	if (n < 0 || n >= PATH_MAX)
		return io_error(sys_errno, ENAMETOOLONG);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return io_error(sys_errno, errno);
	e = -write_all(fd, img, KEYFILE_BYTES);
	if (!e && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && !e)
		e = errno;
	if (e) {
		unlink(tmp);
		return io_error(sys_errno, e);
	}
	return 0;
}

/* Make the new name of path durable.  EINVAL: this file system cannot
 * sync directories; nothing to do. */
static int fsync_dir(const char *path, int *sys_errno)
{
	int e = fsync_parent(path);
	return e && e != -EINVAL ? io_error(sys_errno, -e) : 0;
}

static struct scratch *scratch_new(void)
{
	return sodium_malloc(sizeof(struct scratch));
}

/* A scratch holding path's key file image (*len bytes); sys_errno is
 * cleared first.  The caller sodium_free()s *s, also on failure (it may
 * be NULL then, which sodium_free allows). */
static int scratch_read(const char *path, struct scratch **s, size_t *len,
			int *sys_errno)
{
	set_sys(sys_errno, 0);
	*s = NULL;
	if (!path)
		return -EINVAL;
	*s = scratch_new();
	if (!*s)
		return KEYS_E_NOMEM;
	return read_image(path, (*s)->image, sizeof((*s)->image), len,
			  sys_errno);
}

static int create_file(const char *path, const uint8_t *master,
		       const char *passphrase, size_t pass_len,
		       struct mailbox_keys *k, int *sys_errno);

int keyfile_create(const char *path, const char *passphrase, size_t pass_len,
		   struct mailbox_keys *k, int *sys_errno)
{
	return create_file(path, NULL, passphrase, pass_len, k, sys_errno);
}

int keyfile_create_from(const char *path,
			const uint8_t master[IPMD_MASTER_BYTES],
			const char *passphrase, size_t pass_len,
			struct mailbox_keys *k, int *sys_errno)
{
	return create_file(path, master, passphrase, pass_len, k, sys_errno);
}

int keyfile_read_master(const char *path, const char *passphrase,
			size_t pass_len, uint8_t master[IPMD_MASTER_BYTES],
			int *sys_errno)
{
	struct scratch *s;
	size_t len = 0;
	set_sys(sys_errno, 0);
	if (!path || !master)
		return -EINVAL;
	s = scratch_new();
	if (!s)
		return KEYS_E_NOMEM;
	int rc = read_image(path, s->image, sizeof(s->image), &len, sys_errno);
	if (!rc)
		rc = keyfile_parse(s->image, len, passphrase, pass_len, master);
	sodium_free(s);
	return rc;
}

/* A new key file with master, or a fresh random one when master is NULL. */
static int create_file(const char *path, const uint8_t *master,
		       const char *passphrase, size_t pass_len,
		       struct mailbox_keys *k, int *sys_errno)
{
	char tmp[PATH_MAX];
	struct stat st;
	struct scratch *s;
	int rc;

	set_sys(sys_errno, 0);
	if (!path || !k)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	/* Early and cheap; link() below is what guarantees no overwrite. */
	if (lstat(path, &st) == 0)
		return KEYS_E_EXISTS;
	s = scratch_new();
	if (!s)
		return KEYS_E_NOMEM;
	if (master)
		memcpy(s->master, master, sizeof(s->master));
	else
		randombytes_buf(s->master, sizeof(s->master));
	rc = keys_from_master(k, s->master);
	if (!rc)
		rc = build_image(s->image_new, s->master, passphrase, pass_len);
	if (!rc)
		rc = write_temp(path, s->image_new, tmp, sys_errno);
	if (!rc) {
		if (link(tmp, path) != 0)
			rc = errno == EEXIST ? KEYS_E_EXISTS
					     : io_error(sys_errno, errno);
		/* The temp name holds a copy of the key: never leave it. */
		if (unlink(tmp) != 0 && !rc)
			rc = io_error(sys_errno, errno);
	}
	if (!rc)
		rc = fsync_dir(path, sys_errno);
	if (rc)
		keys_free(k);
	sodium_free(s);
	return rc;
}

int keyfile_load(const char *path, const char *passphrase, size_t pass_len,
		 struct mailbox_keys *k, int *sys_errno)
{
	struct scratch *s;
	size_t len = 0;
	int rc;

	set_sys(sys_errno, 0);
	if (!path || !k)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	rc = scratch_read(path, &s, &len, sys_errno);
	if (!rc)
		rc = keyfile_parse(s->image, len, passphrase, pass_len,
				   s->master);
	if (!rc)
		rc = keys_from_master(k, s->master);
	sodium_free(s);
	return rc;
}

int keyfile_is_wrapped(const char *path, int *sys_errno)
{
	struct scratch *s;
	size_t len = 0;
	int rc = scratch_read(path, &s, &len, sys_errno);

	if (!rc)
		rc = check_image(s->image, len);
	if (!rc)
		rc = s->image[KEYFILE_OFF_WRAP] == KEYFILE_WRAP_ARGON2ID;
	sodium_free(s);
	return rc;
}

int keyfile_rewrap(const char *path, const char *old_pass, size_t old_len,
		   const char *new_pass, size_t new_len, int *sys_errno)
{
	char tmp[PATH_MAX];
	struct scratch *s;
	size_t len = 0;
	int rc = scratch_read(path, &s, &len, sys_errno);

	if (!rc)
		rc = keyfile_parse(s->image, len, old_pass, old_len, s->master);
	if (!rc)
		rc = build_image(s->image_new, s->master, new_pass, new_len);
	if (!rc)
		rc = write_temp(path, s->image_new, tmp, sys_errno);
	if (!rc && rename(tmp, path) != 0) {
		rc = io_error(sys_errno, errno);
		unlink(tmp);
	}
	if (!rc)
		rc = fsync_dir(path, sys_errno);
	sodium_free(s);
	return rc;
}

/* ---- read capability -------------------------------------------------- */

int readcap_format(const struct mailbox_keys *k, char out[READCAP_MAX])
{
	uint8_t bin[READCAP_BIN_BYTES];
	const size_t pre = sizeof(READCAP_PREFIX) - 1;
	size_t b64_len;

	if (!k || !k->manifest || !out)
		return -EINVAL;
	memcpy(bin, k->public_key, IPMD_PUBLIC_KEY_BYTES);
	memcpy(bin + IPMD_PUBLIC_KEY_BYTES, k->manifest, IPMD_KEY_BYTES);
	memcpy(out, READCAP_PREFIX, pre);
	sodium_bin2base64(out + pre, READCAP_MAX - pre, bin, sizeof(bin),
			  READCAP_VARIANT);
	sodium_memzero(bin, sizeof(bin));
	b64_len = strlen(out + pre);
	out[pre + b64_len] = '\n';
	out[pre + b64_len + 1] = '\0';
	return 0;
}

int readcap_parse(const char *text, struct mailbox_keys *k)
{
	uint8_t bin[READCAP_BIN_BYTES];
	const size_t pre = sizeof(READCAP_PREFIX) - 1;
	size_t len, bin_len = 0;
	int rc;

	if (!k)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	if (!text)
		return -EINVAL;
	len = strnlen(text, READCAP_MAX);
	if (len == READCAP_MAX)
		return KEYS_E_READCAP;
	/* A file read whole ends in "\n" (or "\r\n" after a round trip). */
	if (len > 0 && text[len - 1] == '\n')
		len--;
	if (len > 0 && text[len - 1] == '\r')
		len--;
	if (len <= pre || memcmp(text, READCAP_PREFIX, pre) != 0)
		return KEYS_E_READCAP;
	/* NULL ignore and end: any stray character fails the decode. */
	if (sodium_base642bin(bin, sizeof(bin), text + pre, len - pre, NULL,
			      &bin_len, NULL, READCAP_VARIANT) != 0 ||
	    bin_len != sizeof(bin) ||
	    !crypto_core_ed25519_is_valid_point(bin)) {
		sodium_memzero(bin, sizeof(bin));
		return KEYS_E_READCAP;
	}
	rc = alloc_secrets(k);
	if (!rc) {
		memcpy(k->public_key, bin, IPMD_PUBLIC_KEY_BYTES);
		memcpy(k->manifest, bin + IPMD_PUBLIC_KEY_BYTES,
		       IPMD_KEY_BYTES);
		k->can_sign = 0;
		secrets_readonly(k);
	}
	sodium_memzero(bin, sizeof(bin));
	return rc;
}

/* ---- signatures ------------------------------------------------------- */

int keys_sign(const struct mailbox_keys *k, uint8_t sig[IPMD_SIGNATURE_BYTES],
	      const uint8_t *msg, size_t len)
{
	if (!k || !k->can_sign || !k->sign_secret)
		return -EPERM;
	if (!sig || (len > 0 && !msg))
		return -EINVAL;
	crypto_sign_detached(sig, NULL, msg, len, k->sign_secret);
	return 0;
}

int keys_verify(const uint8_t public_key[IPMD_PUBLIC_KEY_BYTES],
		const uint8_t sig[IPMD_SIGNATURE_BYTES], const uint8_t *msg,
		size_t len)
{
	if (!public_key || !sig || (len > 0 && !msg))
		return -EINVAL;
	return crypto_sign_verify_detached(sig, msg, len, public_key) == 0
		       ? 0
		       : -EBADMSG;
}
