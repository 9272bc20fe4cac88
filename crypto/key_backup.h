/*
 * crypto/key_backup.h — the printable, checksummed form of a master secret
 * (`ipmaildir key backup` / `key restore`): to write on paper or keep in a
 * password manager, independent of the key file and its passphrase.
 *
 *   ipmaildir-key-backup-v1
 *   ABCD-EFGH-IJKL-MNOP
 *   QRST-UVWX-YZ23-4567
 *   ABCD-EFGH-IJKL-MNOP
 *   QRST-UVWX-YZ23-4567
 *
 * 64 characters of RFC 4648 base32 (A–Z, 2–7) in 16 groups of 4, encoding
 * 40 bytes: version (1) ‖ master secret (32) ‖ checksum (7), where checksum
 * = the first 7 bytes of BLAKE2b-128 over KEY_BACKUP_HEADER ‖ version ‖
 * master.  A mistyped character is caught (2^-56 odds of slipping by).
 * The reader is lenient where it can't be ambiguous: lower case, spaces,
 * dashes and line breaks anywhere, the header line optional, and 0, 1, 8
 * (not in the alphabet) read as O, I, B.
 *
 * The text holds the master secret in the clear: it is the whole mailbox.
 */
#ifndef IPMD_CRYPTO_KEY_BACKUP_H
#define IPMD_CRYPTO_KEY_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/format.h"
#include "util/attr.h"

#define KEY_BACKUP_HEADER "ipmaildir-key-backup-v1"
#define KEY_BACKUP_VERSION 1
#define KEY_BACKUP_CHECK_BYTES 7
#define KEY_BACKUP_RAW_BYTES (1 + IPMD_MASTER_BYTES + KEY_BACKUP_CHECK_BYTES)
#define KEY_BACKUP_CHARS 64 /* KEY_BACKUP_RAW_BYTES * 8 / 5 */
#define KEY_BACKUP_GROUP 4
#define KEY_BACKUP_GROUPS_PER_LINE 4
/* Header line, 4 lines of 4 groups, newlines, NUL. */
#define KEY_BACKUP_TEXT_MAX 128

/* The whole text, header and final newline included, NUL-terminated. */
void key_backup_format(const uint8_t master[IPMD_MASTER_BYTES],
		       char out[KEY_BACKUP_TEXT_MAX]);

/* 0 and the master secret; -EINVAL for a character outside the alphabet
 * or a wrong count (*bad_at: 1-based index of the offending character
 * among the code characters, or 0); -EBADMSG for a checksum mismatch
 * (a typo somewhere); -EPROTONOSUPPORT for another version. */
IPMD_MUST_CHECK
int key_backup_parse(const char *text, uint8_t master[IPMD_MASTER_BYTES],
		     size_t *bad_at);

#endif
