/* ipfs/ipns_record.c — IPNS records; see ipns_record.h. */
#include "ipfs/ipns_record.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "ipfs/cbor.h"
#include "ipfs/varint.h"

#define SIG_PREFIX "ipns-signature:"
#define SIG_PREFIX_LEN (sizeof(SIG_PREFIX) - 1)
#define VALUE_PREFIX "/ipfs/"
#define VALUE_PREFIX_LEN (sizeof(VALUE_PREFIX) - 1)
/* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" */
#define VALIDITY_LEN 30
#define VALUE_MAX (VALUE_PREFIX_LEN + CID_TEXT_MAX)
#define DATA_MAX 512

/* Protobuf field keys: (number << 3) | wire type. */
#define PB_VALUE 0x0a
#define PB_SIG_V1 0x12
#define PB_VALIDITY_TYPE 0x18
#define PB_VALIDITY 0x22
#define PB_SEQUENCE 0x28
#define PB_TTL 0x30
#define PB_PUBKEY 0x3a
#define PB_SIG_V2 0x42
#define PB_DATA 0x4a

/* The record is built in a struct cbor_out (ipfs/cbor.h): its protobuf
 * framing goes in raw, the signed data as CBOR. */
static void put_byte(struct cbor_out *o, uint8_t b)
{
	cbor_raw(o, &b, 1);
}

/* The signed data: DAG-CBOR keys sort by length, then bytes. */
static size_t build_data(uint8_t *buf, size_t cap, const uint8_t *value,
			 size_t value_len, const uint8_t *validity,
			 size_t validity_len, uint64_t seq, uint64_t ttl)
{
	struct cbor_out o = CBOR_OUT_INIT(buf, cap);
	cbor_head(&o, CBOR_MAP, 5);
	cbor_text(&o, "TTL");
	cbor_head(&o, CBOR_UINT, ttl);
	cbor_text(&o, "Value");
	cbor_bytes(&o, value, value_len);
	cbor_text(&o, "Sequence");
	cbor_head(&o, CBOR_UINT, seq);
	cbor_text(&o, "Validity");
	cbor_bytes(&o, validity, validity_len);
	cbor_text(&o, "ValidityType");
	cbor_head(&o, CBOR_UINT, 0);
	return o.ok ? o.len : 0;
}

static void pb_bytes(struct cbor_out *o, uint8_t key, const void *b, size_t n)
{
	uint8_t v[VARINT_MAX_BYTES];
	put_byte(o, key);
	cbor_raw(o, v, varint_encode(n, v));
	cbor_raw(o, b, n);
}

static void pb_varint(struct cbor_out *o, uint8_t key, uint64_t x)
{
	uint8_t v[VARINT_MAX_BYTES];
	put_byte(o, key);
	cbor_raw(o, v, varint_encode(x, v));
}

static int format_validity(int64_t t, char out[VALIDITY_LEN + 1])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 > 9999 ||
	    tm.tm_year + 1900 < 1970)
		return -EINVAL;
	return strftime(out, VALIDITY_LEN + 1, "%Y-%m-%dT%H:%M:%S.000000000Z",
			&tm) == VALIDITY_LEN
		       ? 0
		       : -EINVAL;
}

/* Seconds since the epoch of a validity we could have written, or -1. */
static int64_t parse_validity(const uint8_t *v, size_t n)
{
	char s[VALIDITY_LEN + 1];
	if (n != VALIDITY_LEN)
		return -1;
	memcpy(s, v, n);
	s[n] = '\0';
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	const char *rest = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!rest || rest[0] != '.')
		return -1;
	for (int i = 1; i <= 9; i++)
		if (rest[i] < '0' || rest[i] > '9')
			return -1;
	if (strcmp(rest + 10, "Z") != 0)
		return -1;
	return (int64_t)timegm(&tm);
}

int ipns_record_build(const uint8_t sk[64], const struct cid *cid,
		      uint64_t seq, int64_t valid_until_s, uint64_t ttl_ns,
		      uint8_t *out, size_t *len)
{
	char value[VALUE_MAX], validity[VALIDITY_LEN + 1];
	memcpy(value, VALUE_PREFIX, VALUE_PREFIX_LEN);
	if (cid_format(cid, value + VALUE_PREFIX_LEN,
		       sizeof(value) - VALUE_PREFIX_LEN) ||
	    format_validity(valid_until_s, validity))
		return -EINVAL;
	size_t value_len = strlen(value);

	uint8_t data[DATA_MAX];
	size_t data_len = build_data(data, sizeof(data), (uint8_t *)value,
				     value_len, (uint8_t *)validity,
				     VALIDITY_LEN, seq, ttl_ns);
	uint8_t signed_msg[SIG_PREFIX_LEN + DATA_MAX];
	if (!data_len)
		return -EINVAL;
	memcpy(signed_msg, SIG_PREFIX, SIG_PREFIX_LEN);
	memcpy(signed_msg + SIG_PREFIX_LEN, data, data_len);
	uint8_t sig[crypto_sign_BYTES];
	crypto_sign_detached(sig, NULL, signed_msg, SIG_PREFIX_LEN + data_len,
			     sk);

	struct cbor_out o = CBOR_OUT_INIT(out, IPNS_RECORD_MAX);
	pb_bytes(&o, PB_VALUE, value, value_len);
	pb_varint(&o, PB_VALIDITY_TYPE, 0);
	pb_bytes(&o, PB_VALIDITY, validity, VALIDITY_LEN);
	pb_varint(&o, PB_SEQUENCE, seq);
	pb_varint(&o, PB_TTL, ttl_ns);
	pb_bytes(&o, PB_SIG_V2, sig, sizeof(sig));
	pb_bytes(&o, PB_DATA, data, data_len);
	if (!o.ok)
		return -EINVAL;
	*len = o.len;
	return 0;
}

/* The fields a reader needs; pointers into the record. */
struct fields {
	const uint8_t *value, *validity, *sig, *data;
	size_t value_len, validity_len, sig_len, data_len;
	uint64_t validity_type, seq, ttl;
	bool has_type, has_seq, has_ttl;
};

IPMD_MUST_CHECK
static int parse_fields(const uint8_t *p, size_t len, struct fields *f)
{
	memset(f, 0, sizeof(*f));
	size_t i = 0;
	while (i < len) {
		uint64_t key, v;
		size_t n = varint_decode(p + i, len - i, &key);
		if (!n)
			return -EBADMSG;
		i += n;
		unsigned wire = key & 7;
		if (wire == 0) {
			n = varint_decode(p + i, len - i, &v);
			if (!n)
				return -EBADMSG;
			i += n;
			if (key == PB_VALIDITY_TYPE)
				f->validity_type = v, f->has_type = true;
			else if (key == PB_SEQUENCE)
				f->seq = v, f->has_seq = true;
			else if (key == PB_TTL)
				f->ttl = v, f->has_ttl = true;
			continue;
		}
		if (wire != 2)
			return -EBADMSG;
		n = varint_decode(p + i, len - i, &v);
		if (!n || v > len - i - n)
			return -EBADMSG;
		i += n;
		const uint8_t *b = p + i;
		i += (size_t)v;
		switch (key) {
		case PB_VALUE: f->value = b, f->value_len = (size_t)v; break;
		case PB_VALIDITY:
			f->validity = b, f->validity_len = (size_t)v;
			break;
		case PB_SIG_V2: f->sig = b, f->sig_len = (size_t)v; break;
		case PB_DATA: f->data = b, f->data_len = (size_t)v; break;
		default: break; /* V1 signature, pubKey: not needed */
		}
	}
	return 0;
}

int ipns_record_open(const uint8_t *rec, size_t len, const uint8_t pk[32],
		     int64_t now_s, struct cid *cid, uint64_t *seq)
{
	struct fields f;
	if (!rec || len > IPNS_RECORD_MAX || parse_fields(rec, len, &f) ||
	    !f.value || !f.validity || !f.data || !f.has_seq || !f.has_ttl ||
	    f.validity_type != 0 || f.sig_len != crypto_sign_BYTES ||
	    f.data_len > DATA_MAX)
		return -EBADMSG;
	/* Only what the signature covers counts: the protobuf's own fields
	 * must rebuild data exactly. */
	uint8_t data[DATA_MAX];
	size_t data_len = build_data(data, sizeof(data), f.value, f.value_len,
				     f.validity, f.validity_len, f.seq, f.ttl);
	if (!data_len || data_len != f.data_len ||
	    memcmp(data, f.data, data_len) != 0)
		return -EKEYREJECTED;
	uint8_t msg[SIG_PREFIX_LEN + DATA_MAX];
	memcpy(msg, SIG_PREFIX, SIG_PREFIX_LEN);
	memcpy(msg + SIG_PREFIX_LEN, data, data_len);
	if (crypto_sign_verify_detached(f.sig, msg, SIG_PREFIX_LEN + data_len,
					pk) != 0)
		return -EKEYREJECTED;
	int64_t until = parse_validity(f.validity, f.validity_len);
	if (until < 0)
		return -EBADMSG;
	if (until <= now_s)
		return -ETIME;
	if (f.value_len <= VALUE_PREFIX_LEN ||
	    memcmp(f.value, VALUE_PREFIX, VALUE_PREFIX_LEN) != 0 ||
	    cid_parse(cid, (const char *)f.value + VALUE_PREFIX_LEN,
		      f.value_len - VALUE_PREFIX_LEN) != 0)
		return -EBADMSG;
	*seq = f.seq;
	return 0;
}
