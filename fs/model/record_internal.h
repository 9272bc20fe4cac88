/*
 * fs/model/record_internal.h — what the pieces of record.h share; for
 * fs/model/record*.c only.
 *
 * The pieces, one job each:
 *   record.c        the record format through jansson: every op's text,
 *                   the checks every record passes first (check_record),
 *                   parsing (replay), applying, the merge record;
 *   record_write.c  the text of the two hottest records, append and
 *                   content, written straight into one buffer sized up
 *                   front: no jansson object, no copy of the base64 text.
 *
 * The writers produce exactly the bytes jansson's path produced for the
 * same record (json_dumps with JSON_COMPACT, members in insertion order:
 * the order below), so record_decode, replay, older binaries and fsck see
 * no difference; tests/unit/test_record_write.c checks it byte for byte
 * against jansson on random records.  They take a record record_encode has
 * already checked (check_record): they refuse nothing but a failed
 * allocation.
 *
 *   {"op":"append","time":NS,"ino":I,"off":O,"data":B64,"mtime":NS}
 *   {"op":"content","time":NS,"ino":I,"mtime":NS,"size":S
 *    [,"cid":C,"key":K,"depth":D]}            (the last three if S > 0)
 */
#ifndef IPMD_FS_MODEL_RECORD_INTERNAL_H
#define IPMD_FS_MODEL_RECORD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <sodium.h>

#include "fs/model/record.h"

#define RECORD_NS_PER_SEC 1000000000LL
/* Base64 of names, keys and an append's bytes (as the manifest's). */
#define RECORD_B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

/* A time as JSON carries it, in ns (check_record has bounded it). */
static inline int64_t record_ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * RECORD_NS_PER_SEC + ts->tv_nsec;
}

/* The text of a checked append (r->op == REC_APPEND) or content record
 * (REC_CONTENT): malloc'ed, NUL-terminated, *len without the NUL; the
 * caller wipes and frees it (it holds the bytes or the file key).  0 or
 * -ENOMEM (content: -EINVAL if its CID does not format). */
int record_write_append(const struct record *r, char **json, size_t *len);
int record_write_content(const struct record *r, char **json, size_t *len);

#endif
