/* fs/model/manifest_read.c — the strict JSON reader of directory nodes
 * (see manifest.h for the format, manifest_internal.h for the pieces).
 *
 * Hand-written for the same reason as the writer (jansson's object model
 * costs seconds on a 100,000-entry folder).  It takes any well-formed JSON
 * of the documented shape, whitespace and key order included, and refuses
 * anything else: a syntax error, a string that is not UTF-8, an unknown or
 * repeated member, a number past int64 — the caller turns false into
 * -EBADMSG.
 */
#include "fs/model/manifest_internal.h"

/* Length of the UTF-8 sequence at p (as JSON and jansson accept it: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or 0. */
static size_t utf8_seq(const uint8_t *p, size_t avail)
{
	uint32_t cp, min;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xC2 && p[0] <= 0xDF) {
		n = 2, cp = p[0] & 0x1F, min = 0x80;
	} else if (p[0] >= 0xE0 && p[0] <= 0xEF) {
		n = 3, cp = p[0] & 0x0F, min = 0x800;
	} else if (p[0] >= 0xF0 && p[0] <= 0xF4) {
		n = 4, cp = p[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > avail)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n;
}

bool mf_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq(p + i, len - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

void mf_in_ws(struct in *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' ||
				 *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

bool mf_in_char(struct in *r, char c)
{
	mf_in_ws(r);
	if (r->p < r->end && *r->p == (uint8_t)c) {
		r->p++;
		return true;
	}
	return false;
}

bool mf_in_lit(struct in *r, const char *s)
{
	size_t n = strlen(s);

	mf_in_ws(r);
	if ((size_t)(r->end - r->p) < n || memcmp(r->p, s, n) != 0)
		return false;
	r->p += n;
	return true;
}

/* A JSON number that is an integer in int64 (no fraction, no exponent). */
bool mf_in_int(struct in *r, int64_t *v)
{
	bool neg;
	uint64_t acc = 0, lim;

	mf_in_ws(r);
	neg = r->p < r->end && *r->p == '-';
	if (neg)
		r->p++;
	if (r->p >= r->end || *r->p < '0' || *r->p > '9')
		return false;
	if (*r->p == '0' && r->p + 1 < r->end && r->p[1] >= '0' &&
	    r->p[1] <= '9')
		return false;
	lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	while (r->p < r->end && *r->p >= '0' && *r->p <= '9') {
		unsigned d = *r->p++ - '0';
		if (acc > (lim - d) / 10)
			return false;
		acc = acc * 10 + d;
	}
	if (r->p < r->end && (*r->p == '.' || *r->p == 'e' || *r->p == 'E'))
		return false;
	*v = neg ? (acc == (uint64_t)INT64_MAX + 1 ? INT64_MIN
						   : -(int64_t)acc)
		 : (int64_t)acc;
	return true;
}

static int hex4(const uint8_t *p)
{
	int v = 0;

	for (int i = 0; i < 4; i++) {
		int c = p[i], d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v << 4 | d;
	}
	return v;
}

/* A \u escape (the "\u" already read), surrogate pairs joined. */
static bool in_uescape(struct in *r, uint32_t *cp)
{
	int hi, lo;

	if (r->end - r->p < 4 || (hi = hex4(r->p)) < 0)
		return false;
	r->p += 4;
	if (hi >= 0xDC00 && hi <= 0xDFFF)
		return false;
	if (hi < 0xD800 || hi > 0xDBFF) {
		*cp = (uint32_t)hi;
		return true;
	}
	if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' ||
	    (lo = hex4(r->p + 2)) < 0xDC00 || lo > 0xDFFF)
		return false;
	r->p += 6;
	*cp = 0x10000 + (((uint32_t)hi - 0xD800) << 10) +
	      ((uint32_t)lo - 0xDC00);
	return true;
}

static size_t utf8_put(uint8_t *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (uint8_t)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (uint8_t)(0xC0 | cp >> 6);
		o[1] = (uint8_t)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (uint8_t)(0xE0 | cp >> 12);
		o[1] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
		o[2] = (uint8_t)(0x80 | (cp & 0x3F));
		return 3;
	}
	o[0] = (uint8_t)(0xF0 | cp >> 18);
	o[1] = (uint8_t)(0x80 | (cp >> 12 & 0x3F));
	o[2] = (uint8_t)(0x80 | (cp >> 6 & 0x3F));
	o[3] = (uint8_t)(0x80 | (cp & 0x3F));
	return 4;
}

/*
 * A string of at most max bytes (once unescaped) into out[max + 1],
 * NUL-terminated.  Valid UTF-8 only; no NUL inside (\u0000 is refused).
 */
bool mf_in_str(struct in *r, char *out, size_t max, size_t *len)
{
	uint8_t *o = (uint8_t *)out;
	size_t n = 0;

	if (!mf_in_char(r, '"'))
		return false;
	while (r->p < r->end) {
		const uint8_t *run = r->p;
		uint8_t c, enc[4];
		size_t k;
		uint32_t cp;

		/* The common case: plain ASCII, copied as one run. */
		while (run < r->end && *run >= 0x20 && *run < 0x80 &&
		       *run != '"' && *run != '\\')
			run++;
		k = (size_t)(run - r->p);
		if (k > max - n)
			return false;
		memcpy(o + n, r->p, k);
		n += k;
		r->p = run;
		if (r->p == r->end)
			break;
		c = *r->p;
		if (c == '"') {
			r->p++;
			out[n] = '\0';
			*len = n;
			return true;
		}
		if (c < 0x20)
			return false;
		if (c != '\\') {
			k = utf8_seq(r->p, (size_t)(r->end - r->p));
			if (k == 0 || k > max - n)
				return false;
			memcpy(o + n, r->p, k);
			r->p += k;
			n += k;
			continue;
		}
		if (r->end - r->p < 2)
			return false;
		r->p += 2;
		switch (r->p[-1]) {
		case '"': cp = '"'; break;
		case '\\': cp = '\\'; break;
		case '/': cp = '/'; break;
		case 'b': cp = '\b'; break;
		case 'f': cp = '\f'; break;
		case 'n': cp = '\n'; break;
		case 'r': cp = '\r'; break;
		case 't': cp = '\t'; break;
		case 'u':
			if (!in_uescape(r, &cp) || cp == 0)
				return false;
			break;
		default:
			return false;
		}
		k = utf8_put(enc, cp);
		if (k > max - n)
			return false;
		memcpy(o + n, enc, k);
		n += k;
	}
	return false;
}

/* enum field's names, in its order (manifest_internal.h). */
static const char *const field_names[F_COUNT] = {
	"atime", "bname", "btarget", "cid", "ctime", "depth", "gid", "ino",
	"key", "mode", "mtime", "name", "rdev", "size", "target", "uid",
};

/* Index of key in a sorted table of n names, or -1. */
int mf_lookup(const char *const *names, int n, const char *key)
{
	int lo = 0, hi = n - 1;

	while (lo <= hi) {
		int mid = (lo + hi) / 2, c = strcmp(key, names[mid]);
		if (c == 0)
			return mid;
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return -1;
}

/* A base64url string decoding to 1 … max bytes (exactly max if exact). */
static bool in_b64(struct in *r, struct fields *x, uint8_t *out, size_t max,
		   bool exact, size_t *len)
{
	size_t n;

	if (!mf_in_str(r, x->b64, sizeof(x->b64) - 1, &n))
		return false;
	*len = 0;
	return sodium_base642bin(out, max, x->b64, n, NULL, len, NULL,
				 B64_VARIANT) == 0 &&
	       *len > 0 && (!exact || *len == max);
}

static bool in_field(struct in *r, struct fields *x, int f)
{
	char text[CID_TEXT_MAX];
	size_t n;

	switch (f) {
	case F_NAME:
		return mf_in_str(r, x->name, TREE_NAME_MAX, &x->name_len);
	case F_BNAME:
		return in_b64(r, x, (uint8_t *)x->name, TREE_NAME_MAX, false,
			      &x->name_len) &&
		       (x->name[x->name_len] = '\0', true);
	case F_TARGET:
		return mf_in_str(r, x->target, TREE_SYMLINK_MAX,
				 &x->target_len);
	case F_BTARGET:
		return in_b64(r, x, (uint8_t *)x->target, TREE_SYMLINK_MAX,
			      false, &x->target_len) &&
		       (x->target[x->target_len] = '\0', true);
	case F_CID:
		return mf_in_str(r, text, sizeof(text) - 1, &n) &&
		       cid_parse(&x->cid, text, n) == 0 &&
		       x->cid.len == CID_RAW_BYTES &&
		       cid_is_raw_sha256(&x->cid);
	case F_KEY:
		return in_b64(r, x, x->key, IPMD_KEY_BYTES, true, &n);
	default:
		return mf_in_int(r, &x->num[f]);
	}
}

/* An object of known members, each at most once. */
bool mf_in_fields(struct in *r, struct fields *x)
{
	char key[KEY_NAME_MAX + 1];
	size_t n;

	x->seen = 0;
	if (!mf_in_char(r, '{'))
		return false;
	if (mf_in_char(r, '}'))
		return true;
	do {
		int f;
		if (!mf_in_str(r, key, KEY_NAME_MAX, &n) ||
		    !mf_in_char(r, ':') ||
		    (f = mf_lookup(field_names, F_COUNT, key)) < 0 ||
		    (x->seen & BIT(f)) ||
		    !in_field(r, x, f))
			return false;
		x->seen |= BIT(f);
	} while (mf_in_char(r, ','));
	return mf_in_char(r, '}');
}
