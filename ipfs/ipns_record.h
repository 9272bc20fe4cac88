/*
 * ipfs/ipns_record.h — IPNS records (the IPNS record specification,
 * V2 signatures) for a mailbox's Ed25519 key: the mailbox publishes its
 * newest commit under its own name, signed here, not by a node's keychain.
 *
 * A record is the protobuf IpnsEntry
 *   1 value "/ipfs/<commit CID>"   3 validityType 0 (EOL)
 *   4 validity RFC 3339 with nanoseconds ("2026-11-30T12:00:00.000000000Z")
 *   5 sequence (= the commit's seq)  6 ttl (ns)
 *   8 signatureV2 = Ed25519("ipns-signature:" ‖ data)   9 data
 * where data is the DAG-CBOR map {TTL, Value, Sequence, Validity,
 * ValidityType} (keys in length-then-bytewise order, minimal heads).
 * No V1 signature and no pubKey field: an Ed25519 name holds its key.
 *
 * Opening never trusts the bytes: data is rebuilt from the protobuf fields
 * and must equal field 9 exactly (so the fields a reader uses are the ones
 * signed), the signature must verify under the expected key, the value must
 * be one /ipfs/CID and the record must not have expired.
 */
#ifndef IPMD_IPFS_IPNS_RECORD_H
#define IPMD_IPFS_IPNS_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "ipfs/cid.h"
#include "util/attr.h"

/* A record of ours is ~330 bytes; a reader accepts up to this (the
 * specification's limit is 10 KiB). */
#define IPNS_RECORD_MAX 10240
/* How long a resolver may cache a record (field 6). */
#define IPNS_DEFAULT_TTL_NS 60000000000ull

/*
 * Build a record naming cid with this sequence, valid until
 * valid_until_s (Unix seconds, UTC), signed with sk (libsodium Ed25519
 * secret key: seed ‖ public key).  out needs IPNS_RECORD_MAX bytes.
 * 0 and *len, or -EINVAL.
 */
int ipns_record_build(const uint8_t sk[64], const struct cid *cid,
		      uint64_t seq, int64_t valid_until_s, uint64_t ttl_ns,
		      uint8_t *out, size_t *len);

/*
 * Open a record found for pk's name, at time now_s.  0 with *cid and *seq;
 * -EBADMSG malformed or not of our form; -EKEYREJECTED the signature is
 * not pk's (or covers other fields); -ETIME expired.
 */
IPMD_MUST_CHECK
int ipns_record_open(const uint8_t *rec, size_t len, const uint8_t pk[32],
		     int64_t now_s, struct cid *cid, uint64_t *seq);

#endif
