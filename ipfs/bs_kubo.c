/* ipfs/bs_kubo.c — block store on a node's Kubo RPC API; see bs_kubo.h. */
#include "ipfs/bs_kubo.h"
#include "ipfs/bs_kubo_internal.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "ipfs/car.h"
#include "ipfs/kubo_reply.h"
#include "util/clock.h"

#define CONNECT_TIMEOUT_MS 3000
#define PING_TIMEOUT_MS 2000
#define BACKOFF_MAX_MS 2000

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void init_curl(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const struct blockstore_ops kubo_ops;

struct bs_kubo *kubo_of(struct blockstore *bs)
{
	return (struct bs_kubo *)bs_find(bs, &kubo_ops);
}

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t add = size * n;
	if (add > b->max - b->len) {
		b->overflow = true;
		return 0; /* aborts the transfer */
	}
	if (b->len + add > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + add)
			cap *= 2;
		if (cap > b->max)
			cap = b->max;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return 0;
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, add);
	b->len += add;
	return add;
}

/* ------------------------------------------------------------ addresses */

static bool host_chars_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != ':')
			return false;
	return true;
}

static bool port_ok(const char *s, size_t n)
{
	if (n == 0 || n > 5)
		return false;
	unsigned long v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return false;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	return v >= 1 && v <= 65535;
}

/* Components of a multiaddr ("/a/b/c"): up to 6, as (pointer, length). */
static int split_multiaddr(const char *a, const char *part[6], size_t len[6])
{
	int n = 0;
	while (*a == '/') {
		a++;
		const char *end = strchr(a, '/');
		size_t l = end ? (size_t)(end - a) : strlen(a);
		if (n == 6 || l == 0)
			return -EINVAL;
		part[n] = a;
		len[n++] = l;
		a += l;
	}
	return *a ? -EINVAL : n;
}

static bool is(const char *p, size_t l, const char *word)
{
	return strlen(word) == l && !memcmp(p, word, l);
}

int kubo_api_url(const char *addr, char *url, size_t size)
{
	int n;
	if (!addr)
		return -EINVAL;
	if (!strncmp(addr, "http://", 7) || !strncmp(addr, "https://", 8)) {
		const char *host = strstr(addr, "//") + 2;
		size_t hl = strcspn(host, "/?#");
		if (!host_chars_ok(host, hl) && !(host[0] == '[' && hl > 2))
			return -EINVAL;
		size_t l = strlen(addr);
		while (l > 0 && addr[l - 1] == '/')
			l--;
		bool has_api = l >= 7 && !memcmp(addr + l - 7, "/api/v0", 7);
		n = snprintf(url, size, "%.*s%s", (int)l, addr,
			     has_api ? "" : "/api/v0");
		return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
	}
	const char *p[6];
	size_t l[6];
	int c = split_multiaddr(addr, p, l);
	if (c < 4 || c > 5 || !is(p[2], l[2], "tcp") || !port_ok(p[3], l[3]) ||
	    !host_chars_ok(p[1], l[1]))
		return -EINVAL;
	const char *scheme = "http";
	if (c == 5) {
		if (is(p[4], l[4], "https") || is(p[4], l[4], "tls"))
			scheme = "https";
		else if (!is(p[4], l[4], "http"))
			return -EINVAL;
	}
	bool v6 = is(p[0], l[0], "ip6");
	if (!v6 && !is(p[0], l[0], "ip4") && !is(p[0], l[0], "dns") &&
	    !is(p[0], l[0], "dns4") && !is(p[0], l[0], "dns6"))
		return -EINVAL;
	n = snprintf(url, size, "%s://%s%.*s%s:%.*s/api/v0", scheme,
		     v6 ? "[" : "", (int)l[1], p[1], v6 ? "]" : "", (int)l[3],
		     p[3]);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int kubo_auto_addr(char *addr, size_t size)
{
	char path[4096];
	const char *ipfs_path = getenv("IPFS_PATH");
	const char *home = getenv("HOME");
	int n;
	if (ipfs_path && *ipfs_path)
		n = snprintf(path, sizeof(path), "%s/api", ipfs_path);
	else if (home && *home)
		n = snprintf(path, sizeof(path), "%s/.ipfs/api", home);
	else
		return -ENOENT;
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	size_t got = fread(addr, 1, size - 1, f);
	int err = ferror(f) ? -EIO : 0;
	fclose(f);
	if (err)
		return err;
	addr[got] = '\0';
	while (got > 0 && isspace((unsigned char)addr[got - 1]))
		addr[--got] = '\0';
	return got ? 0 : -EINVAL;
}

int bs_kubo_open_addr(const char *node, unsigned get_timeout_ms,
		      struct blockstore **out, char *msg, size_t msgsize)
{
	char addr[KUBO_URL_MAX];
	if (!strcmp(node, "auto")) {
		int e = kubo_auto_addr(addr, sizeof(addr));
		if (e) {
			snprintf(msg, msgsize,
				 "--node auto: no running IPFS node found "
				 "($IPFS_PATH/api or ~/.ipfs/api: %s)",
				 strerror(-e));
			return -1;
		}
		node = addr;
	}
	struct kubo_config kc = {.addr = node,
				 .get_timeout_ms = get_timeout_ms};
	int e = bs_kubo_open(&kc, out);
	if (e) {
		snprintf(msg, msgsize, "--node %s: %s", node,
			 e == -EINVAL ? "not a node address (a multiaddr like "
					"/ip4/127.0.0.1/tcp/5001 or an http:// "
					"URL)"
				      : strerror(-e));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ transport */

static CURL *take_handle(struct bs_kubo *k, unsigned *slot)
{
	pthread_mutex_lock(&k->lock);
	for (;;) {
		for (unsigned i = 0; i < k->nconn; i++)
			if (!k->busy[i]) {
				k->busy[i] = true;
				*slot = i;
				pthread_mutex_unlock(&k->lock);
				return k->pool[i];
			}
		pthread_cond_wait(&k->freed, &k->lock);
	}
}

static void give_handle(struct bs_kubo *k, unsigned slot)
{
	pthread_mutex_lock(&k->lock);
	k->busy[slot] = false;
	pthread_cond_signal(&k->freed);
	pthread_mutex_unlock(&k->lock);
}

static int curl_errno(CURLcode c, const struct body *b)
{
	switch (c) {
	case CURLE_OK: return 0;
	case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
	case CURLE_WRITE_ERROR: return b->overflow ? -EBADMSG : -ENOMEM;
	case CURLE_OUT_OF_MEMORY: return -ENOMEM;
	case CURLE_COULDNT_RESOLVE_HOST: return -EAGAIN;
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE: return -ECONNRESET;
	default: return -EIO;
	}
}

/* One attempt: 0 with the HTTP status in *status, or a transport errno. */
static int attempt(struct bs_kubo *k, const struct kubo_req *rq,
		   uint64_t timeout_ms, struct body *b, long *status)
{
	char short_url[KUBO_URL_MAX + QUERY_MAX + 64], *url = short_url;
	const char *q = rq->long_query ? rq->long_query : rq->query;
	if (rq->long_query) {
		if (asprintf(&url, "%s/%s?%s", k->url, rq->endpoint, q) < 0)
			return -ENOMEM;
	} else {
		snprintf(url, sizeof(short_url), "%s/%s%s%s", k->url,
			 rq->endpoint, q[0] ? "?" : "", q);
	}
	unsigned slot;
	CURL *h = take_handle(k, &slot);
	curl_easy_reset(h); /* keeps the live connection */
	curl_mime *mime = NULL;
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(timeout_ms < CONNECT_TIMEOUT_MS
					? timeout_ms
					: CONNECT_TIMEOUT_MS));
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, k->headers);
	if (rq->upload) {
		mime = curl_mime_init(h);
		curl_mimepart *part = mime ? curl_mime_addpart(mime) : NULL;
		if (!part || curl_mime_name(part, "file") ||
		    curl_mime_filename(part, "block") ||
		    curl_mime_type(part, rq->upload_type
						 ? rq->upload_type
						 : "application/octet-stream") ||
		    curl_mime_data(part, (const char *)rq->upload,
				   rq->upload_len)) {
			curl_mime_free(mime);
			give_handle(k, slot);
			if (url != short_url)
				free(url);
			return -ENOMEM;
		}
		curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
	} else {
		curl_easy_setopt(h, CURLOPT_POST, 1L);
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
	}
	CURLcode c = curl_easy_perform(h);
	*status = 0;
	if (c == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
	curl_easy_setopt(h, CURLOPT_MIMEPOST, NULL);
	curl_mime_free(mime);
	give_handle(k, slot);
	if (url != short_url)
		free(url);
	return curl_errno(c, b);
}

static const char *transport_msg(int e)
{
	switch (e) {
	case -ECONNREFUSED: return "connection refused (is the node running?)";
	case -ETIMEDOUT: return "no answer in time";
	case -ECONNRESET: return "connection lost";
	case -EBADMSG: return "malformed or wrong answer, rejected";
	default: return strerror(-e);
	}
}

static void set_error(struct bs_kubo *k, const struct kubo_req *rq, int e,
		      const char *node_msg)
{
	pthread_mutex_lock(&k->lock);
	/* A long URL may cut the message: still one useful line. */
	if (snprintf(k->last_error, sizeof(k->last_error), "%s %s: %s%s%s",
		 k->url, rq->endpoint,
		 node_msg && *node_msg ? "the node says: " : "",
		 node_msg && *node_msg ? node_msg : "",
		 node_msg && *node_msg ? "" : transport_msg(e)) < 0)
		k->last_error[0] = '\0';
	pthread_mutex_unlock(&k->lock);
}

int kubo_call(struct bs_kubo *k, const struct kubo_req *rq, struct body *b,
	      struct kubo_reply *rep)
{
	uint64_t start = now_ms(), deadline = start + rq->deadline_ms;
	uint64_t pause = k->backoff_ms;
	int r = -ETIMEDOUT;
	for (unsigned n = 0;; n++) {
		uint64_t t = now_ms();
		if (t >= deadline)
			break;
		b->len = 0;
		b->overflow = false;
		long status;
		r = attempt(k, rq, deadline - t, b, &status);
		if (r == 0)
			r = kubo_parse_reply(rq->op, status, b->data, b->len,
					     rq->want, rep);
		else
			rep->msg[0] = '\0';
		bool temp = kubo_reply_temporary(r) ||
			    (r == -ETIMEDOUT && !rep->msg[0] &&
			     rq->op != KUBO_OP_GET);
		if (r >= 0 || !temp || !rq->retry || n >= k->retries)
			break;
		t = now_ms();
		if (t + pause >= deadline)
			break;
		sleep_ms(pause);
		pause = pause * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : pause * 2;
	}
	if (r < 0 && !rq->quiet && !(rq->absent_ok && r == -ENOENT))
		set_error(k, rq, r, rep->msg);
	return r;
}

static int cid_arg(char *q, size_t size, const char *fmt_after,
		   const struct cid *cid, unsigned node_timeout_ms)
{
	char text[CID_TEXT_MAX];
	if (cid_format(cid, text, sizeof(text)))
		return -EINVAL;
	int n = node_timeout_ms
			? snprintf(q, size, "arg=%s%s&timeout=%ums", text,
				   fmt_after, node_timeout_ms)
			: snprintf(q, size, "arg=%s%s", text, fmt_after);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ------------------------------------------------------------ the store */

static int kubo_put(struct blockstore *bs, const uint8_t *data, size_t len,
		    unsigned flags, struct cid *cid_out)
{
	(void)flags; /* the node has the block once it answers */
	struct bs_kubo *k = to_kubo(bs);
	if (len > BLOCK_MAX_BYTES)
		return -EFBIG;
	struct cid cid;
	cid_of_raw_block(&cid, data, len);
	struct kubo_req rq = {
		.op = KUBO_OP_PUT, .endpoint = "block/put", .upload = data,
		.upload_len = len, .want = &cid, .deadline_ms = k->timeout_ms,
		.retry = true,
		/* Pinned in the same request: measured on js-ipfs, one pin
		 * per block beats a pin-set DAG (docs/ARCHITECTURE.md). */
		.query = "format=raw&cid-codec=raw&mhtype=sha2-256"
			 "&cid-base=base32&pin=true",
	};
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	int r = kubo_call(k, &rq, &b, &rep);
	free(b.data);
	if (r >= 0 && cid_out)
		*cid_out = cid;
	return r < 0 ? r : 0;
}

/*
 * Batches: one dag/import of a CAR whose roots are its blocks stores and
 * pins them all (pin-roots).  Measured on js-ipfs 0.66.1, 5 KB blocks: 2.6x
 * the blocks/s of one block/put each, a third of the node's CPU per block.
 * On Kubo 0.43.1 a dag/import costs about 90 ms beyond its blocks' own
 * ~2.5 ms of CPU each (2,010 blocks of 16 KB one request after another:
 * 25 requests of 1 MiB 7-8 s, 4 of 8 MiB 5-6 s), hence bodies of up to
 * KUBO_IMPORT_MAX_BYTES.  The node's answer names every root it pinned; a
 * block it does not name is put again on its own.  A node that refuses a
 * body (413 or another 4xx) gets bodies of KUBO_IMPORT_SMALL_BYTES from
 * then on, and one that refuses those too or has no dag/import (404)
 * gets block/put.
 */
static size_t import_limit(struct bs_kubo *k)
{
	pthread_mutex_lock(&k->lock);
	size_t max = k->import_max;
	pthread_mutex_unlock(&k->lock);
	return max;
}

/* The node refused a dag/import of a body under max: smaller bodies
 * from then on, or none (block/put) if they were small already. */
static void import_refused(struct bs_kubo *k, size_t max, int r)
{
	pthread_mutex_lock(&k->lock);
	if (r == -ENOTSUP || max <= KUBO_IMPORT_SMALL_BYTES)
		k->import_max = 0;
	else if (k->import_max > KUBO_IMPORT_SMALL_BYTES)
		k->import_max = KUBO_IMPORT_SMALL_BYTES;
	pthread_mutex_unlock(&k->lock);
}

static int import_batch(struct bs_kubo *k, const struct cid *cids,
			const struct bs_block *blocks, size_t n, int *results)
{
	const uint8_t *data[KUBO_IMPORT_MAX_BLOCKS];
	size_t lens[KUBO_IMPORT_MAX_BLOCKS];
	bool confirmed[KUBO_IMPORT_MAX_BLOCKS];
	for (size_t i = 0; i < n; i++) {
		data[i] = blocks[i].data;
		lens[i] = blocks[i].len;
	}
	uint8_t *car;
	size_t car_len;
	int r = car_batch(cids, data, lens, n, &car, &car_len);
	if (r)
		return r;
	struct kubo_req rq = {
		.op = KUBO_OP_IMPORT, .endpoint = "dag/import", .upload = car,
		.upload_len = car_len, .upload_type = "application/vnd.ipld.car",
		.deadline_ms = k->timeout_ms, .retry = true,
		.query = "pin-roots=true",
	};
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	r = kubo_call(k, &rq, &b, &rep);
	free(car);
	if (r >= 0) {
		char msg[KUBO_MSG_MAX];
		r = kubo_parse_import(b.data, b.len, cids, n, confirmed, msg);
		if (r)
			set_error(k, &rq, r, msg);
	}
	free(b.data);
	if (r)
		return r;
	for (size_t i = 0; i < n; i++)
		results[i] = confirmed[i] ? 0 : -EIO;
	return 0;
}

static int kubo_put_many(struct blockstore *bs, const struct bs_block *blocks,
			 size_t n, unsigned flags, int *results)
{
	struct bs_kubo *k = to_kubo(bs);
	struct cid cids[KUBO_IMPORT_MAX_BLOCKS];
	size_t lens[KUBO_IMPORT_MAX_BLOCKS];
	size_t i = 0, max;
	while (i < n && (max = import_limit(k)) > 0) {
		/* As many blocks as one request's body takes. */
		size_t m = 0;
		while (i + m < n && m < KUBO_IMPORT_MAX_BLOCKS &&
		       blocks[i + m].len <= BLOCK_MAX_BYTES) {
			cid_of_raw_block(&cids[m], blocks[i + m].data,
					 blocks[i + m].len);
			lens[m] = blocks[i + m].len;
			if (m > 0 && car_batch_bound(cids, lens, m + 1) > max)
				break;
			m++;
		}
		if (m < 2) { /* one block: block/put is the simpler call */
			results[i] = kubo_put(bs, blocks[i].data, blocks[i].len,
					      flags, NULL);
			i++;
			continue;
		}
		int r = import_batch(k, cids, blocks + i, m, results + i);
		if (r == -ENOTSUP || r == -EINVAL || r == -EFBIG) {
			import_refused(k, max, r); /* the same blocks again */
			continue;
		}
		for (size_t j = 0; j < m; j++)
			if (r)
				results[i + j] = r;
			else if (results[i + j])
				results[i + j] = kubo_put(bs, blocks[i + j].data,
							  blocks[i + j].len,
							  flags, NULL);
		i += m;
	}
	for (; i < n; i++)
		results[i] = kubo_put(bs, blocks[i].data, blocks[i].len, flags,
				      NULL);
	for (i = 0; i < n; i++)
		if (results[i])
			return results[i];
	return 0;
}

static int kubo_get(struct blockstore *bs, const struct cid *cid,
		    uint8_t *buf, size_t cap, size_t *len)
{
	struct bs_kubo *k = to_kubo(bs);
	*len = 0;
	struct kubo_req rq = {.op = KUBO_OP_GET, .endpoint = "block/get",
			      .want = cid, .retry = true,
			      .deadline_ms = k->get_timeout_ms + GET_MARGIN_MS};
	int r = cid_arg(rq.query, sizeof(rq.query), "", cid, k->get_timeout_ms);
	if (r)
		return r;
	struct body b = {.max = BLOCK_MAX_BYTES};
	struct kubo_reply rep;
	r = kubo_call(k, &rq, &b, &rep);
	if (r >= 0) {
		if (b.len > cap) {
			r = -ENOBUFS;
		} else {
			if (b.len)
				memcpy(buf, b.data, b.len);
			*len = b.len;
			r = 0;
		}
	}
	free(b.data);
	return r;
}

int kubo_cid_call(struct bs_kubo *k, enum kubo_op op, const char *endpoint,
		  const char *extra, const struct cid *cid,
		  unsigned node_timeout_ms, unsigned deadline_ms)
{
	struct kubo_req rq = {.op = op, .endpoint = endpoint, .want = cid,
			      .retry = true, .deadline_ms = deadline_ms,
			      .absent_ok = op == KUBO_OP_RM ||
					   op == KUBO_OP_PIN_RM};
	int r = cid_arg(rq.query, sizeof(rq.query), extra, cid,
			node_timeout_ms);
	if (r)
		return r;
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	r = kubo_call(k, &rq, &b, &rep);
	free(b.data);
	return r;
}

/* Offline: the node answers from its own store at once (a block it
 * lacks is "not found locally", 0) instead of looking for the block on
 * the network until timeout=, when "lacks it" and "slow" would look the
 * same.  The timeout stays for a node too slow to answer even that:
 * -ETIMEDOUT, an error. */
static int kubo_has(struct blockstore *bs, const struct cid *cid)
{
	struct bs_kubo *k = to_kubo(bs);
	return kubo_cid_call(k, KUBO_OP_STAT, "block/stat",
			   "&offline=true&cid-base=base32", cid,
			   k->get_timeout_ms,
			   k->get_timeout_ms + GET_MARGIN_MS);
}

static int kubo_remove(struct blockstore *bs, const struct cid *cid)
{
	struct bs_kubo *k = to_kubo(bs);
	return kubo_cid_call(k, KUBO_OP_RM, "block/rm", "&cid-base=base32", cid,
			   0, k->timeout_ms);
}

static int kubo_sync(struct blockstore *bs)
{
	(void)bs;
	return 0;
}

static void kubo_close(struct blockstore *bs)
{
	struct bs_kubo *k = to_kubo(bs);
	if (!k)
		return;
	for (unsigned i = 0; i < k->nconn; i++)
		if (k->pool[i])
			curl_easy_cleanup(k->pool[i]);
	curl_slist_free_all(k->headers);
	pthread_cond_destroy(&k->freed);
	pthread_mutex_destroy(&k->lock);
	free(k);
}

static const struct blockstore_ops kubo_ops = {
	.version = BLOCKSTORE_OPS_VERSION,
	.name = "kubo",
	.put = kubo_put,
	.get = kubo_get,
	.has = kubo_has,
	.remove = kubo_remove,
	.sync = kubo_sync,
	.pin = kubo_pin,
	.unpin = kubo_unpin,
	.close = kubo_close,
	.put_many = kubo_put_many,
};

int bs_kubo_open(const struct kubo_config *cfg, struct blockstore **out)
{
	pthread_once(&curl_once, init_curl);
	if (curl_init_result != CURLE_OK)
		return -ENOMEM;
	struct bs_kubo *k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	int e = kubo_api_url(cfg->addr, k->url, sizeof(k->url));
	if (e) {
		free(k);
		return e == -ENAMETOOLONG ? -EINVAL : e;
	}
	k->base.ops = &kubo_ops;
	k->base.caps = BS_CAP_REMOVE | BS_CAP_PIN;
	k->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : KUBO_DEFAULT_TIMEOUT_MS;
	k->get_timeout_ms = cfg->get_timeout_ms ? cfg->get_timeout_ms
						: KUBO_DEFAULT_GET_TIMEOUT_MS;
	k->retries = cfg->retries == ~0u ? 0
		     : cfg->retries      ? cfg->retries
					 : KUBO_DEFAULT_RETRIES;
	k->backoff_ms = cfg->backoff_ms ? cfg->backoff_ms : KUBO_DEFAULT_BACKOFF_MS;
	k->nconn = cfg->connections ? cfg->connections : KUBO_DEFAULT_CONNECTIONS;
	k->import_max = KUBO_IMPORT_MAX_BYTES;
	if (k->nconn > KUBO_MAX_CONNECTIONS)
		k->nconn = KUBO_MAX_CONNECTIONS;
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->freed, NULL);
	/* No "Expect: 100-continue" round trip before a put's body. */
	k->headers = curl_slist_append(NULL, "Expect:");
	bool ok = k->headers != NULL;
	for (unsigned i = 0; i < k->nconn && ok; i++)
		ok = (k->pool[i] = curl_easy_init()) != NULL;
	if (!ok) {
		kubo_close(&k->base);
		return -ENOMEM;
	}
	*out = &k->base;
	return 0;
}

int bs_kubo_ping(struct blockstore *bs)
{
	struct bs_kubo *k = kubo_of(bs);
	if (!k)
		return -EINVAL;
	struct kubo_req rq = {.op = KUBO_OP_JSON, .endpoint = "id",
			      .deadline_ms = PING_TIMEOUT_MS};
	struct body b = {.max = SMALL_BODY_MAX};
	struct kubo_reply rep;
	int r = kubo_call(k, &rq, &b, &rep);
	free(b.data);
	return r < 0 ? r : 0;
}

void bs_kubo_last_error(struct blockstore *bs, char *buf, size_t size)
{
	struct bs_kubo *k = kubo_of(bs);
	if (!k) {
		snprintf(buf, size, "not an IPFS node");
		return;
	}
	pthread_mutex_lock(&k->lock);
	snprintf(buf, size, "%s", k->last_error);
	pthread_mutex_unlock(&k->lock);
}

const char *bs_kubo_url(struct blockstore *bs)
{
	struct bs_kubo *k = kubo_of(bs);
	return k ? k->url : NULL;
}

bool bs_kubo_refused(struct blockstore *bs, int e, char *buf, size_t size)
{
	const char *url = bs_kubo_url(bs);
	if (e != -ECONNREFUSED || !url)
		return false;
	snprintf(buf, size, "the IPFS node is not running, or not reachable "
		 "at %s", url);
	return true;
}
