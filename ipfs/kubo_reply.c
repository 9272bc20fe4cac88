/* ipfs/kubo_reply.c — meaning of Kubo RPC answers; see kubo_reply.h. */
#include "ipfs/kubo_reply.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "ipfs/blockstore.h"

#define HTTP_OK 200
#define HTTP_NOT_FOUND 404
#define HTTP_TOO_LARGE 413
#define HTTP_CLIENT_ERROR 400
#define HTTP_SERVER_ERROR 500
#define HTTP_MAX 599
/* Error bodies are small; a huge one is not an error report. */
#define ERROR_BODY_MAX 65536

/* Copy a node's message, printable ASCII only, so it fits on one line. */
static void keep_msg(struct kubo_reply *out, const char *s)
{
	size_t n = 0;
	for (; s && *s && n + 1 < sizeof(out->msg); s++)
		out->msg[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	out->msg[n] = '\0';
}

static bool contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* A JSON object from the body, or NULL (not JSON, not an object). */
static json_t *load_object(const uint8_t *body, size_t len)
{
	if (!body || len == 0)
		return NULL;
	json_error_t err;
	json_t *j = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES,
			       &err);
	if (j && !json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

static int parse_cid_field(json_t *j, const char *key, struct cid *c)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_string(v))
		return -EBADMSG;
	return cid_parse(c, json_string_value(v), json_string_length(v))
		       ? -EBADMSG
		       : 0;
}

/* A status that is not 200: what went wrong, in errno terms. */
static int error_status(enum kubo_op op, long status, const uint8_t *body,
			size_t len, struct kubo_reply *out)
{
	json_t *j = len <= ERROR_BODY_MAX ? load_object(body, len) : NULL;
	json_t *m = j ? json_object_get(j, "Message") : NULL;
	keep_msg(out, json_is_string(m) ? json_string_value(m) : "");
	json_decref(j);
	if (status == HTTP_NOT_FOUND) {
		out->no_endpoint = true;
		return -ENOTSUP;
	}
	if (status == HTTP_TOO_LARGE)
		return -EFBIG;
	if (status >= HTTP_CLIENT_ERROR && status < HTTP_SERVER_ERROR)
		return -EINVAL;
	if (status < HTTP_SERVER_ERROR || status > HTTP_MAX)
		return -EBADMSG; /* 1xx/3xx or no HTTP status at all */
	/* 5xx.  The node gave up waiting (js-ipfs: "request timed out";
	 * Kubo: "context deadline exceeded"): for a get, a block it could
	 * not find in time, or a node too slow to answer; for the offline
	 * stat only the latter, so never "absent" either. */
	if (contains(out->msg, "timed out") || contains(out->msg, "timeout") ||
	    contains(out->msg, "deadline exceeded"))
		return -ETIMEDOUT;
	bool lacks = contains(out->msg, "not found") ||
		     contains(out->msg, "could not find");
	/* The offline stat's answer for a block the node does not hold
	 * (Kubo: "block was not found locally (offline): ipld: could not
	 * find …"): absent, at once. */
	if (lacks && op == KUBO_OP_STAT)
		return 0;
	if ((lacks || contains(out->msg, "not pinned")) && op != KUBO_OP_PUT)
		return -ENOENT;
	/* Routing off (js-ipfs: "DHT is not available"): lasts until the
	 * node's config changes. */
	if (op == KUBO_OP_DHT && contains(out->msg, "not available"))
		return -ENOTSUP;
	return -EIO;
}

static int parse_put_stat(enum kubo_op op, const uint8_t *body, size_t len,
			  const struct cid *want, struct kubo_reply *out)
{
	json_t *j = load_object(body, len);
	if (!j)
		return -EBADMSG;
	int r = parse_cid_field(j, "Key", &out->cid);
	json_t *s = json_object_get(j, "Size");
	if (!r && json_is_integer(s) && json_integer_value(s) >= 0)
		out->size = (uint64_t)json_integer_value(s);
	else if (!r)
		r = -EBADMSG;
	json_decref(j);
	if (r)
		return r;
	/* The node must name exactly the block we meant (a put without
	 * format=raw silently answers a dag-pb CIDv0, for one). */
	if (want && !cid_equal(&out->cid, want))
		return -EBADMSG;
	return op == KUBO_OP_STAT ? 1 : 0;
}

static int parse_rm(const uint8_t *body, size_t len, const struct cid *want,
		    struct kubo_reply *out)
{
	json_t *j = load_object(body, len);
	if (!j)
		return -EBADMSG;
	int r = parse_cid_field(j, "Hash", &out->cid);
	json_t *e = json_object_get(j, "Error");
	if (!r && want && !cid_equal(&out->cid, want))
		r = -EBADMSG;
	if (!r && json_is_string(e) && json_string_length(e) > 0) {
		keep_msg(out, json_string_value(e));
		/* js-ipfs: "… not found"; Kubo: "ipld: could not find …" */
		r = contains(out->msg, "not found") ||
				    contains(out->msg, "could not find")
			    ? -ENOENT
		    : contains(out->msg, "pinned") ? -EBUSY
						   : -EIO;
	} else if (!r && e && !json_is_null(e) && !json_is_string(e)) {
		r = -EBADMSG;
	}
	json_decref(j);
	return r;
}

static int parse_pins(const uint8_t *body, size_t len, const struct cid *want,
		      struct kubo_reply *out)
{
	json_t *j = load_object(body, len);
	if (!j)
		return -EBADMSG;
	json_t *pins = json_object_get(j, "Pins");
	int r = -EBADMSG;
	size_t i;
	json_t *v;
	if (json_is_array(pins)) {
		json_array_foreach(pins, i, v) {
			struct cid c;
			if (!json_is_string(v) ||
			    cid_parse(&c, json_string_value(v),
				      json_string_length(v))) {
				r = -EBADMSG;
				break;
			}
			if (!want || cid_equal(&c, want)) {
				out->cid = c;
				r = 0;
			}
		}
		if (!want && json_array_size(pins) == 0)
			r = 0;
	}
	json_decref(j);
	return r;
}

/* {"Path":"/ipfs/CID"} (resolve) or {"Name":…,"Value":"/ipfs/CID"}
 * (publish): exactly one CID, no path below it. */
int kubo_parse_reply(enum kubo_op op, long status, const uint8_t *body,
		     size_t len, const struct cid *want,
		     struct kubo_reply *out)
{
	memset(out, 0, sizeof(*out));
	if (status != HTTP_OK)
		return error_status(op, status, body, len, out);
	switch (op) {
	case KUBO_OP_GET:
		/* Never trust the node: the bytes must hash to the CID. */
		if (!want || !body || !cid_matches(want, body, len))
			return -EBADMSG;
		out->cid = *want;
		out->size = len;
		return 0;
	case KUBO_OP_PUT:
	case KUBO_OP_STAT:
		return parse_put_stat(op, body, len, want, out);
	case KUBO_OP_RM:
		return parse_rm(body, len, want, out);
	case KUBO_OP_PIN_ADD:
	case KUBO_OP_PIN_RM:
		return parse_pins(body, len, want, out);
	case KUBO_OP_DHT:
		return 0; /* the events: kubo_parse_dht_events */
	case KUBO_OP_IMPORT:
		return 0; /* the roots: kubo_parse_import */
	case KUBO_OP_JSON: {
		json_t *j = load_object(body, len);
		if (!j)
			return -EBADMSG;
		json_t *t = json_object_get(j, "Type");
		json_t *m = json_object_get(j, "Message");
		int r = 0;
		if (json_is_string(t) && !strcmp(json_string_value(t), "error")) {
			keep_msg(out, json_is_string(m) ? json_string_value(m)
							: "");
			r = -EIO;
		}
		json_decref(j);
		return r;
	}
	}
	return -EINVAL;
}

#define DHT_PEER_RESPONSE 1
#define DHT_QUERY_ERROR 3
#define DHT_VALUE 5
#define DHT_VALUE_MAX 16384

static int dht_event(json_t *j, kubo_value_fn fn, void *arg,
		     struct kubo_dht_events *ev)
{
	json_t *t = json_object_get(j, "Type");
	json_t *x = json_object_get(j, "Extra");
	if (!json_is_integer(t))
		return -EBADMSG;
	switch (json_integer_value(t)) {
	case DHT_PEER_RESPONSE:
		ev->peer_responses++;
		return 0;
	case DHT_QUERY_ERROR:
		if (json_is_string(x)) {
			struct kubo_reply r;
			keep_msg(&r, json_string_value(x));
			memcpy(ev->error, r.msg, sizeof(ev->error));
		}
		return 0;
	case DHT_VALUE: {
		if (!json_is_string(x))
			return -EBADMSG;
		static const int variants[] = {
			sodium_base64_VARIANT_ORIGINAL,
			sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
		};
		uint8_t *buf = malloc(DHT_VALUE_MAX);
		if (!buf)
			return -ENOMEM;
		size_t n = 0;
		int r = -1;
		for (size_t v = 0; v < 2 && r != 0; v++)
			r = sodium_base642bin(buf, DHT_VALUE_MAX,
					      json_string_value(x),
					      json_string_length(x), NULL, &n,
					      NULL, variants[v]);
		if (r == 0) {
			ev->values++;
			if (fn)
				fn(buf, n, arg);
		}
		free(buf);
		return 0; /* an undecodable value is just not a value */
	}
	default:
		return 0; /* progress events */
	}
}

/* Calls fn on every non-blank line of an NDJSON body, parsed; stops at
 * the first non-zero return, or -EBADMSG for a line that is not an
 * object. */
typedef int (*json_line_fn)(json_t *line, void *arg);
static int each_json_line(const uint8_t *body, size_t len, json_line_fn fn,
			  void *arg)
{
	size_t i = 0;
	while (i < len) {
		const uint8_t *nl = memchr(body + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - body) : len;
		size_t j = i;
		while (j < end && (body[j] == ' ' || body[j] == '\r'))
			j++;
		if (j < end) {
			json_t *e = load_object(body + j, end - j);
			if (!e)
				return -EBADMSG;
			int r = fn(e, arg);
			json_decref(e);
			if (r)
				return r;
		}
		i = end + 1;
	}
	return 0;
}

struct dht_state {
	kubo_value_fn fn;
	void *arg;
	struct kubo_dht_events *ev;
};

static int dht_line(json_t *line, void *arg)
{
	struct dht_state *st = arg;
	return dht_event(line, st->fn, st->arg, st->ev);
}

int kubo_parse_dht_events(const uint8_t *body, size_t len, kubo_value_fn fn,
			  void *arg, struct kubo_dht_events *ev)
{
	memset(ev, 0, sizeof(*ev));
	struct dht_state st = {fn, arg, ev};
	return each_json_line(body, len, dht_line, &st);
}

static int dht_peers_line(json_t *line, void *arg)
{
	unsigned *peers = arg;
	json_t *buckets = json_object_get(line, "Buckets");
	if (!json_is_array(buckets) && !json_is_null(buckets))
		return -EBADMSG;
	size_t i;
	json_t *b;
	json_array_foreach(buckets, i, b) {
		json_t *p = json_is_object(b) ? json_object_get(b, "Peers")
					      : NULL;
		if (!json_is_array(p) && !json_is_null(p))
			return -EBADMSG;
		*peers += (unsigned)json_array_size(p);
	}
	return 0;
}

int kubo_parse_dht_peers(const uint8_t *body, size_t len, unsigned *peers)
{
	*peers = 0;
	return each_json_line(body, len, dht_peers_line, peers);
}

struct import_state {
	const struct cid *want;
	size_t n;
	bool *confirmed;
	char *msg;
};

static int import_line(json_t *line, void *arg)
{
	struct import_state *st = arg;
	json_t *t = json_object_get(line, "Type");
	if (json_is_string(t) && !strcmp(json_string_value(t), "error")) {
		if (st->msg) {
			struct kubo_reply r;
			json_t *m = json_object_get(line, "Message");
			keep_msg(&r, json_is_string(m) ? json_string_value(m)
						       : "");
			memcpy(st->msg, r.msg, KUBO_MSG_MAX);
		}
		return -EIO;
	}
	json_t *root = json_object_get(line, "Root");
	if (!root)
		return 0; /* Stats, progress */
	json_t *c = json_is_object(root) ? json_object_get(root, "Cid") : NULL;
	json_t *text = json_is_object(c) ? json_object_get(c, "/") : NULL;
	json_t *pin_err = json_object_get(root, "PinErrorMsg");
	struct cid cid;
	if (!json_is_string(text) ||
	    cid_parse(&cid, json_string_value(text), json_string_length(text)))
		return -EBADMSG;
	if (pin_err && !json_is_string(pin_err) && !json_is_null(pin_err))
		return -EBADMSG;
	if (json_is_string(pin_err) && json_string_length(pin_err) > 0) {
		if (st->msg) {
			struct kubo_reply r;
			keep_msg(&r, json_string_value(pin_err));
			memcpy(st->msg, r.msg, KUBO_MSG_MAX);
		}
		return 0; /* that block stays unconfirmed */
	}
	for (size_t i = 0; i < st->n; i++)
		if (cid_equal(&cid, &st->want[i]))
			st->confirmed[i] = true;
	return 0;
}

int kubo_parse_import(const uint8_t *body, size_t len, const struct cid *want,
		      size_t n, bool *confirmed, char *msg)
{
	for (size_t i = 0; i < n; i++)
		confirmed[i] = false;
	if (msg)
		msg[0] = '\0';
	struct import_state st = {want, n, confirmed, msg};
	return each_json_line(body, len, import_line, &st);
}

bool kubo_reply_temporary(int result)
{
	return result != -ETIMEDOUT && bs_transient(result);
}
