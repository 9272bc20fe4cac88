/*
 * tests/unit/test_bs_kubo.c — the Kubo RPC client (ipfs/bs_kubo.h) and the
 * meaning of answers (ipfs/kubo_reply.h) on edge cases a real node rarely
 * shows: garbage bytes, slow answers, 500s, inline errors in 200 bodies,
 * wrong CIDs.  A tiny scripted HTTP server on 127.0.0.1 plays the node
 * (the only mock allowed; the real node is in tests/integration/45-*.t).
 */
#include "ipfs/blockstore.h"
#include "ipfs/bs_kubo.h"
#include "ipfs/cid.h"
#include "ipfs/kubo_reply.h"
#include "ipfs/multibase.h"
#include "tests/tap.h"
#include "util/clock.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------ mock node */

#define MAX_SCRIPT 16
#define REQ_MAX (2 * 1024 * 1024)

struct answer {
	int status;          /* 0: close the connection without answering */
	const char *body;    /* NULL: the bytes in raw/raw_len */
	const uint8_t *raw;
	size_t raw_len;
	unsigned delay_ms;   /* before answering */
	bool then_die;       /* stop listening after it: the node died */
};

struct mock {
	int fd;
	int port;
	pthread_t thread;
	pthread_mutex_t lock;
	struct answer script[MAX_SCRIPT];
	int n_script, next;
	int requests;
	char last_head[4096]; /* request line and headers of the last one */
	char lines[MAX_SCRIPT][512]; /* request lines, in order (the first) */
	bool last_body_has_type;
	bool stop;
};

/* Read one request (headers, then Content-Length bytes of body). */
static int read_request(int c, char *buf, size_t cap, size_t *head_len,
			size_t *total)
{
	size_t n = 0;
	char *end = NULL;
	while (!end) {
		if (n + 1 >= cap)
			return -1;
		ssize_t r = read(c, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
		end = strstr(buf, "\r\n\r\n");
	}
	*head_len = (size_t)(end - buf) + 4;
	size_t clen = 0;
	char *cl = strcasestr(buf, "content-length:");
	if (cl && cl < end)
		clen = strtoul(cl + 15, NULL, 10);
	while (n < *head_len + clen) {
		if (n + 1 >= cap)
			return -1;
		ssize_t r = read(c, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	*total = n;
	return 0;
}

static void *mock_main(void *arg)
{
	struct mock *m = arg;
	char *buf = malloc(REQ_MAX);
	for (;;) {
		int c = accept(m->fd, NULL, NULL);
		if (c < 0)
			break;
		pthread_mutex_lock(&m->lock);
		bool stop = m->stop;
		pthread_mutex_unlock(&m->lock);
		if (stop) {
			close(c);
			break;
		}
		size_t hl, total;
		if (read_request(c, buf, REQ_MAX, &hl, &total) < 0) {
			close(c);
			continue;
		}
		pthread_mutex_lock(&m->lock);
		m->requests++;
		size_t keep = hl < sizeof(m->last_head) ? hl
							: sizeof(m->last_head) - 1;
		memcpy(m->last_head, buf, keep);
		m->last_head[keep] = '\0';
		if (m->requests <= MAX_SCRIPT)
			snprintf(m->lines[m->requests - 1],
				 sizeof(m->lines[0]), "%.*s",
				 (int)strcspn(buf, "\r"), buf);
		buf[total] = '\0';
		m->last_body_has_type =
			memmem(buf + hl, total - hl,
			       "Content-Type: application/octet-stream", 38) !=
			NULL;
		struct answer a = {.status = 500, .body = "{}"};
		if (m->next < m->n_script)
			a = m->script[m->next++];
		else if (m->n_script)
			a = m->script[m->n_script - 1];
		pthread_mutex_unlock(&m->lock);
		if (a.delay_ms)
			sleep_ms(a.delay_ms);
		if (a.status) {
			const uint8_t *b = a.body ? (const uint8_t *)a.body : a.raw;
			size_t bl = a.body ? strlen(a.body) : a.raw_len;
			char head[256];
			int n = snprintf(head, sizeof(head),
					 "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
					 "Connection: close\r\n\r\n",
					 a.status, bl);
			/* The client may be gone already: fine. */
			if (write(c, head, (size_t)n) == n && bl)
				(void)!write(c, b, bl);
		}
		if (a.then_die) { /* before the client sees the end: its
				     next connection is refused */
			pthread_mutex_lock(&m->lock);
			close(m->fd);
			m->fd = -1;
			pthread_mutex_unlock(&m->lock);
			close(c);
			break;
		}
		close(c);
	}
	free(buf);
	return NULL;
}

static void mock_start(struct mock *m)
{
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	m->fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t sl = sizeof(sa);
	if (bind(m->fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(m->fd, 16) ||
	    getsockname(m->fd, (struct sockaddr *)&sa, &sl))
		abort();
	m->port = ntohs(sa.sin_port);
	pthread_create(&m->thread, NULL, mock_main, m);
}

static void mock_script(struct mock *m, const struct answer *a, int n)
{
	pthread_mutex_lock(&m->lock);
	memcpy(m->script, a, sizeof(*a) * (size_t)n);
	m->n_script = n;
	m->next = 0;
	m->requests = 0;
	pthread_mutex_unlock(&m->lock);
}

static int mock_requests(struct mock *m)
{
	pthread_mutex_lock(&m->lock);
	int n = m->requests;
	pthread_mutex_unlock(&m->lock);
	return n;
}

static void mock_stop(struct mock *m)
{
	pthread_mutex_lock(&m->lock);
	m->stop = true;
	bool died = m->fd < 0;
	pthread_mutex_unlock(&m->lock);
	if (died) { /* mock_main has returned */
		pthread_join(m->thread, NULL);
		pthread_mutex_destroy(&m->lock);
		return;
	}
	/* wake accept() */
	int c = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)m->port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	connect(c, (struct sockaddr *)&sa, sizeof(sa));
	close(c);
	pthread_join(m->thread, NULL);
	close(m->fd);
	pthread_mutex_destroy(&m->lock);
}

/* ------------------------------------------------------------ helpers */

static void cid_text(const struct cid *c, char *out, size_t size)
{
	if (cid_format(c, out, size))
		abort();
}

static void cid_b58(const struct cid *c, char *out, size_t size)
{
	if (!multibase_encode('z', out, size, c->bytes, c->len))
		abort();
}

static struct blockstore *open_kubo(int port, unsigned get_timeout_ms,
				    unsigned timeout_ms)
{
	char addr[64];
	snprintf(addr, sizeof(addr), "/ip4/127.0.0.1/tcp/%d", port);
	struct kubo_config cfg = {.addr = addr, .connections = 2,
				  .get_timeout_ms = get_timeout_ms,
				  .timeout_ms = timeout_ms, .backoff_ms = 20};
	struct blockstore *bs = NULL;
	if (bs_kubo_open(&cfg, &bs))
		return NULL;
	return bs;
}

/* A mock node started in m and a store on it (600 ms gets, 3 s calls);
 * what names the check that it opens.  NULL (m stopped) if it does not. */
static struct blockstore *mock_open(struct mock *m, const char *what)
{
	mock_start(m);
	struct blockstore *bs = open_kubo(m->port, 600, 3000);
	if (!ok(bs != NULL, "%s", what))
		mock_stop(m);
	return bs;
}

/* ------------------------------------------------------------ tests */

static void test_urls(void)
{
	char u[KUBO_URL_MAX];
	is_int(kubo_api_url("/ip4/127.0.0.1/tcp/5001", u, sizeof(u)), 0,
	       "multiaddr ip4");
	is_str(u, "http://127.0.0.1:5001/api/v0", "ip4 → URL");
	is_int(kubo_api_url("/ip6/::1/tcp/5001/http", u, sizeof(u)), 0,
	       "multiaddr ip6 with /http");
	is_str(u, "http://[::1]:5001/api/v0", "ip6 → bracketed URL");
	is_int(kubo_api_url("/dns4/localhost/tcp/80", u, sizeof(u)), 0, "dns4");
	is_str(u, "http://localhost:80/api/v0", "dns4 → URL");
	is_int(kubo_api_url("http://127.0.0.1:5001/", u, sizeof(u)), 0, "URL");
	is_str(u, "http://127.0.0.1:5001/api/v0", "URL gets /api/v0");
	is_int(kubo_api_url("http://127.0.0.1:5001/api/v0", u, sizeof(u)), 0,
	       "URL with /api/v0");
	is_str(u, "http://127.0.0.1:5001/api/v0", "kept as it is");
	is_int(kubo_api_url("/ip4/127.0.0.1/udp/5001", u, sizeof(u)), -EINVAL,
	       "udp refused");
	is_int(kubo_api_url("/ip4/127.0.0.1/tcp/0", u, sizeof(u)), -EINVAL,
	       "port 0 refused");
	is_int(kubo_api_url("/ip4/127.0.0.1/tcp/70000", u, sizeof(u)), -EINVAL,
	       "port over 65535 refused");
	is_int(kubo_api_url("/ip4/1.2.3.4?x/tcp/1", u, sizeof(u)), -EINVAL,
	       "odd characters in a host refused");
	is_int(kubo_api_url("localhost:5001", u, sizeof(u)), -EINVAL,
	       "neither multiaddr nor URL refused");
	is_int(kubo_api_url("/ip4/127.0.0.1/tcp/5001", u, 10), -ENAMETOOLONG,
	       "too small a buffer");

	char dir[512], path[600], addr[128];
	snprintf(dir, sizeof(dir), "%s/ipfsrepo", tap_tempdir());
	snprintf(path, sizeof(path), "%s/api", dir);
	char *old = getenv("IPFS_PATH") ? strdup(getenv("IPFS_PATH")) : NULL;
	setenv("IPFS_PATH", dir, 1);
	is_int(kubo_auto_addr(addr, sizeof(addr)), -ENOENT,
	       "auto: no api file, no daemon");
	mkdir(dir, 0700);
	FILE *f = fopen(path, "w");
	fputs("/ip4/127.0.0.1/tcp/5002\n", f);
	fclose(f);
	is_int(kubo_auto_addr(addr, sizeof(addr)), 0, "auto: api file read");
	is_str(addr, "/ip4/127.0.0.1/tcp/5002", "auto: trailing newline cut");
	if (old) {
		setenv("IPFS_PATH", old, 1);
		free(old);
	} else {
		unsetenv("IPFS_PATH");
	}
}

static void test_parse(void)
{
	const uint8_t data[] = "some sealed block";
	struct cid c, other;
	cid_of_raw_block(&c, data, sizeof(data));
	cid_of_raw_block(&other, data, sizeof(data) - 1);
	char t32[CID_TEXT_MAX], t58[CID_TEXT_MAX], b[512];
	cid_text(&c, t32, sizeof(t32));
	cid_b58(&c, t58, sizeof(t58));
	struct kubo_reply r;
#define PARSE(op, st, body, want)                                             \
	kubo_parse_reply(op, st, (const uint8_t *)(body), strlen(body), want, &r)

	snprintf(b, sizeof(b), "{\"Key\":\"%s\",\"Size\":18}", t32);
	is_int(PARSE(KUBO_OP_PUT, 200, b, &c), 0, "put: base32 CID accepted");
	is_int(r.size, 18, "put: size read");
	snprintf(b, sizeof(b), "{\"Key\":\"%s\",\"Size\":18}", t58);
	is_int(PARSE(KUBO_OP_PUT, 200, b, &c), 0,
	       "put: the same CID in base58btc accepted (decoded, not text)");
	snprintf(b, sizeof(b), "{\"Key\":\"%s\",\"Size\":18}",
		 "QmbWqxBEKC3P8tqsKc98xmWNzrzDtRLMiMPL8wBuTGsMnR");
	is_int(PARSE(KUBO_OP_PUT, 200, b, &c), -EBADMSG,
	       "put: a dag-pb CIDv0 for our raw block is refused");
	char to[CID_TEXT_MAX];
	cid_text(&other, to, sizeof(to));
	snprintf(b, sizeof(b), "{\"Key\":\"%s\",\"Size\":18}", to);
	is_int(PARSE(KUBO_OP_PUT, 200, b, &c), -EBADMSG,
	       "put: another block's CID refused");
	is_int(PARSE(KUBO_OP_PUT, 200, "{\"Key\":7}", &c), -EBADMSG,
	       "put: Key not a string");
	is_int(PARSE(KUBO_OP_PUT, 200, "not json at all", &c), -EBADMSG,
	       "put: garbage body");
	is_int(PARSE(KUBO_OP_PUT, 200, "[1,2]", &c), -EBADMSG,
	       "put: JSON but not an object");
	is_int(PARSE(KUBO_OP_PUT, 200, "", &c), -EBADMSG, "put: empty body");
	snprintf(b, sizeof(b), "{\"Key\":\"%s\",\"Key\":\"%s\",\"Size\":1}",
		 t32, to);
	is_int(PARSE(KUBO_OP_PUT, 200, b, &c), -EBADMSG,
	       "put: duplicate keys refused");

	is_int(kubo_parse_reply(KUBO_OP_GET, 200, data, sizeof(data), &c, &r), 0,
	       "get: matching bytes");
	is_int(kubo_parse_reply(KUBO_OP_GET, 200, data, sizeof(data) - 1, &c,
				&r),
	       -EBADMSG, "get: one byte short is refused");
	is_int(kubo_parse_reply(KUBO_OP_GET, 200, NULL, 0, &c, &r), -EBADMSG,
	       "get: empty body for a non-empty block refused");

	snprintf(b, sizeof(b), "{\"Key\":\"%s\",\"Size\":18}", t58);
	is_int(PARSE(KUBO_OP_STAT, 200, b, &c), 1, "stat: present");
	is_int(PARSE(KUBO_OP_STAT, 500,
		     "{\"Message\":\"Failed to get block stats: request timed "
		     "out\",\"Code\":0,\"Type\":\"error\"}",
		     &c),
	       -ETIMEDOUT,
	       "stat: a node that timed out is slow, not absent → -ETIMEDOUT");
	is_int(PARSE(KUBO_OP_GET, 500,
		     "{\"Message\":\"Failed to get block: request timed out\","
		     "\"Code\":0,\"Type\":\"error\"}",
		     &c),
	       -ETIMEDOUT, "get: node timed out → -ETIMEDOUT");
	ok(strstr(r.msg, "timed out") != NULL, "the node's message is kept");
	ok(!kubo_reply_temporary(-ETIMEDOUT) && bs_transient(-ETIMEDOUT),
	   "a timeout: not retried within the call (kubo_call decides), "
	   "worth a try later");
	is_int(PARSE(KUBO_OP_GET, 500, "{\"Message\":\"disk on fire\"}", &c),
	       -EIO, "500 → -EIO (temporary)");
	ok(kubo_reply_temporary(-EIO), "-EIO is temporary");
	is_int(PARSE(KUBO_OP_PUT, 400,
		     "{\"Message\":\"Invalid request query input\",\"Code\":1,"
		     "\"Type\":\"error\"}",
		     &c),
	       -EINVAL, "400 → -EINVAL (permanent)");
	ok(!kubo_reply_temporary(-EINVAL), "-EINVAL is permanent");
	is_int(PARSE(KUBO_OP_PUT, 404, "404 page not found", &c), -ENOTSUP,
	       "404 → -ENOTSUP");
	ok(r.no_endpoint, "… the node has no such call");
	is_int(PARSE(KUBO_OP_DHT, 500,
		     "{\"Message\":\"DHT is not available\",\"Type\":\"error\"}",
		     NULL),
	       -ENOTSUP, "routing off (\"not available\") → -ENOTSUP");
	ok(!r.no_endpoint, "… but the call exists");
	/* Kubo 0.43.1's words for the same cases as js-ipfs's */
	is_int(PARSE(KUBO_OP_STAT, 500,
		     "{\"Message\":\"context deadline exceeded\",\"Code\":0,"
		     "\"Type\":\"error\"}",
		     &c),
	       -ETIMEDOUT,
	       "stat: Kubo's 'context deadline exceeded' → -ETIMEDOUT, not "
	       "absent");
	/* The offline stat of a block the node does not hold (Kubo 0.43.1,
	 * block/stat?offline=true), and js-ipfs's words for the same */
	is_int(PARSE(KUBO_OP_STAT, 500,
		     "{\"Message\":\"block was not found locally (offline): "
		     "ipld: could not find bafkreidzijuhotgtkw47guyna3xymdjb24"
		     "rmtjf5jz7gwqpngcicojsicq\",\"Code\":0,\"Type\":\"error\"}",
		     &c),
	       0, "stat: Kubo's offline 'not found locally' → absent");
	is_int(PARSE(KUBO_OP_STAT, 500,
		     "{\"Message\":\"block not found locally\",\"Code\":0,"
		     "\"Type\":\"error\"}",
		     &c),
	       0, "stat: 'block not found locally' → absent");
	is_int(PARSE(KUBO_OP_STAT, 500, "{\"Message\":\"disk on fire\"}", &c),
	       -EIO, "stat: another 500 → -EIO, not absent");
	is_int(PARSE(KUBO_OP_GET, 500,
		     "{\"Message\":\"context deadline exceeded\",\"Code\":0,"
		     "\"Type\":\"error\"}",
		     &c),
	       -ETIMEDOUT, "get: Kubo's 'context deadline exceeded' → -ETIMEDOUT");
	is_int(PARSE(KUBO_OP_DHT, 500,
		     "{\"Message\":\"routing: not found\",\"Code\":0,"
		     "\"Type\":\"error\"}",
		     NULL),
	       -ENOENT, "routing/get: Kubo's 'routing: not found' → -ENOENT");
	is_int(PARSE(KUBO_OP_PUT, 413, "{\"Message\":\"Payload too large\"}",
		     &c),
	       -EFBIG, "413 → -EFBIG");
	is_int(PARSE(KUBO_OP_PUT, 302, "", &c), -EBADMSG, "302 → -EBADMSG");
	is_int(PARSE(KUBO_OP_GET, 500, "\x01\x02garbage\xff", &c), -EIO,
	       "500 with a garbage body still a clean -EIO");
	ok(strlen(r.msg) == 0, "no message from a garbage body");
	is_int(PARSE(KUBO_OP_PUT, 500, "{\"Message\":\"a\\nb\\u0001c\"}", &c),
	       -EIO, "500 with control characters");
	is_str(r.msg, "a?b?c", "control characters replaced: one line");

	snprintf(b, sizeof(b), "{\"Hash\":\"%s\"}\n", t58);
	is_int(PARSE(KUBO_OP_RM, 200, b, &c), 0, "rm: removed");
	snprintf(b, sizeof(b),
		 "{\"Hash\":\"%s\",\"Error\":\"cannot remove %s: pinned: "
		 "recursive\"}\n",
		 t58, t32);
	is_int(PARSE(KUBO_OP_RM, 200, b, &c), -EBUSY,
	       "rm: inline error in a 200 body (pinned) → -EBUSY");
	snprintf(b, sizeof(b),
		 "{\"Hash\":\"%s\",\"Error\":\"cannot remove %s: block not "
		 "found\"}\n",
		 t58, t32);
	is_int(PARSE(KUBO_OP_RM, 200, b, &c), -ENOENT,
	       "rm: inline 'not found' → -ENOENT");
	snprintf(b, sizeof(b),
		 "{\"Hash\":\"%s\",\"Error\":\"ipld: could not find %s\"}\n",
		 t32, t32);
	is_int(PARSE(KUBO_OP_RM, 200, b, &c), -ENOENT,
	       "rm: Kubo's inline 'ipld: could not find' → -ENOENT");
	snprintf(b, sizeof(b), "{\"Hash\":\"%s\",\"Error\":\"weird\"}", t58);
	is_int(PARSE(KUBO_OP_RM, 200, b, &c), -EIO, "rm: other inline error");
	snprintf(b, sizeof(b), "{\"Hash\":\"%s\"}", to);
	is_int(PARSE(KUBO_OP_RM, 200, b, &c), -EBADMSG,
	       "rm: answer about another block refused");

	snprintf(b, sizeof(b), "{\"Pins\":[\"%s\"]}", t58);
	is_int(PARSE(KUBO_OP_PIN_ADD, 200, b, &c), 0, "pin/add: our CID");
	snprintf(b, sizeof(b), "{\"Pins\":[\"%s\"]}", to);
	is_int(PARSE(KUBO_OP_PIN_ADD, 200, b, &c), -EBADMSG,
	       "pin/add: another CID refused");
	is_int(PARSE(KUBO_OP_PIN_ADD, 200, "{\"Pins\":[42]}", &c), -EBADMSG,
	       "pin/add: not a string");
	is_int(PARSE(KUBO_OP_PIN_RM, 500,
		     "{\"Message\":\"is not pinned\",\"Type\":\"error\"}", &c),
	       -ENOENT, "pin/rm: not pinned → -ENOENT");
	is_int(PARSE(KUBO_OP_JSON, 200, "{\"ID\":\"x\"}", NULL), 0,
	       "json: an object");
	is_int(PARSE(KUBO_OP_JSON, 200,
		     "{\"Type\":\"error\",\"Message\":\"no\"}", NULL),
	       -EIO, "json: an error object in a 200");
#undef PARSE
}

/* dag/import answers: which of the blocks sent the node says it pinned. */
static void test_parse_import(void)
{
	struct cid c[3];
	char t[3][CID_TEXT_MAX];
	for (int i = 0; i < 3; i++) {
		uint8_t b[64];
		tap_fill_random(b, sizeof(b), 100 + (unsigned)i);
		cid_of_raw_block(&c[i], b, sizeof(b));
		if (i == 1)
			cid_b58(&c[i], t[i], sizeof(t[i]));
		else
			cid_text(&c[i], t[i], sizeof(t[i]));
	}
	bool conf[3];
	char msg[KUBO_MSG_MAX], body[2048];
	snprintf(body, sizeof(body),
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\n"
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\r\n"
		 "\n{\"Stats\":{\"BlockCount\":3}}\n",
		 t[0], t[1]);
	is_int(kubo_parse_import((const uint8_t *)body, strlen(body), c, 3,
				 conf, msg),
	       0, "import: a well-formed answer");
	ok(conf[0] && conf[1] && !conf[2],
	   "import: the two roots named (base32 and base58) are confirmed, "
	   "the third is not");
	snprintf(body, sizeof(body),
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"disk "
		 "full\"}}\n{\"Root\":{\"Cid\":{\"/\":\"%s\"}}}\n",
		 t[0], t[2]);
	is_int(kubo_parse_import((const uint8_t *)body, strlen(body), c, 3,
				 conf, msg),
	       0, "import: a pin error on one root");
	ok(!conf[0] && !conf[1] && conf[2],
	   "import: the root with a pin error is not confirmed");
	ok(strstr(msg, "disk full") != NULL, "import: the node's words kept");
	uint8_t other[64];
	tap_fill_random(other, sizeof(other), 999);
	struct cid oc;
	cid_of_raw_block(&oc, other, sizeof(other));
	char ot[CID_TEXT_MAX];
	cid_text(&oc, ot, sizeof(ot));
	snprintf(body, sizeof(body),
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\n", ot);
	is_int(kubo_parse_import((const uint8_t *)body, strlen(body), c, 3,
				 conf, msg),
	       0, "import: a root we did not send");
	ok(!conf[0] && !conf[1] && !conf[2], "import: confirms nothing");
	const char *bad[] = {
		"{\"Root\":{\"Cid\":{\"/\":\"notacid\"}}}\n",
		"{\"Root\":{\"Cid\":\"bafy\"}}\n",
		"[1,2]\n",
		"{\"Root\":{\"Cid\":{\"/\":\"x\"}\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		is_int(kubo_parse_import((const uint8_t *)bad[i], strlen(bad[i]),
					 c, 3, conf, msg),
		       -EBADMSG, "import: malformed answer %zu → -EBADMSG", i);
	const char *err = "{\"Message\":\"blockstore closed\",\"Type\":\"error\"}";
	is_int(kubo_parse_import((const uint8_t *)err, strlen(err), c, 3, conf,
				 msg),
	       -EIO, "import: an error line → -EIO");
	ok(!strcmp(msg, "blockstore closed"), "import: its message kept");
}

/* put_many on a scripted node: one dag/import for the batch, a block the
 * answer leaves out put again alone, block/put for good after a 404. */
static void test_put_many(void)
{
	struct mock m;
	struct blockstore *bs = mock_open(&m, "open for put_many");
	if (!bs)
		return;
	enum { N = 3 };
	static uint8_t data[N][5000];
	struct bs_block blocks[N];
	struct cid c[N];
	char t[N][CID_TEXT_MAX];
	for (int i = 0; i < N; i++) {
		tap_fill_random(data[i], sizeof(data[i]), 200 + (unsigned)i);
		blocks[i] = (struct bs_block){data[i], sizeof(data[i])};
		cid_of_raw_block(&c[i], data[i], sizeof(data[i]));
		cid_text(&c[i], t[i], sizeof(t[i]));
	}
	char all[2048], two[2048], put2[512];
	snprintf(all, sizeof(all),
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\n"
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\n"
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\n",
		 t[0], t[1], t[2]);
	snprintf(two, sizeof(two),
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\n"
		 "{\"Root\":{\"Cid\":{\"/\":\"%s\"},\"PinErrorMsg\":\"\"}}\n",
		 t[0], t[1]);
	snprintf(put2, sizeof(put2), "{\"Key\":\"%s\",\"Size\":5000}", t[2]);
	int res[N];

	struct answer a1[] = {{.status = 200, .body = all}};
	mock_script(&m, a1, 1);
	is_int(bs_put_many(bs, blocks, N, 0, res), 0, "put_many: stored");
	is_int(mock_requests(&m), 1, "put_many: one request for three blocks");
	ok(strstr(m.last_head, "POST /api/v0/dag/import?") &&
		   strstr(m.last_head, "pin-roots=true"),
	   "put_many: a dag/import that pins its roots");
	ok(res[0] == 0 && res[1] == 0 && res[2] == 0, "put_many: each block 0");

	struct answer a2[] = {{.status = 200, .body = two},
			      {.status = 200, .body = put2}};
	mock_script(&m, a2, 2);
	is_int(bs_put_many(bs, blocks, N, 0, res), 0,
	       "put_many: a block the answer leaves out …");
	is_int(mock_requests(&m), 2, "… is put again on its own");
	ok(strstr(m.last_head, "POST /api/v0/block/put?") != NULL,
	   "… with block/put");

	struct answer a3[] = {{.status = 500, .body = "{\"Message\":\"x\"}"}};
	mock_script(&m, a3, 1);
	int r = bs_put_many(bs, blocks, N, 0, res);
	ok(r == -EIO && res[0] == -EIO && res[1] == -EIO && res[2] == -EIO,
	   "put_many: a failing node fails every block of the batch (%d)", r);

	char p[N][512];
	for (int i = 0; i < N; i++)
		snprintf(p[i], sizeof(p[i]), "{\"Key\":\"%s\",\"Size\":5000}",
			 t[i]);
	struct answer a4[] = {{.status = 404, .body = "404 page not found"},
			      {.status = 200, .body = p[0]},
			      {.status = 200, .body = p[1]},
			      {.status = 200, .body = p[2]}};
	mock_script(&m, a4, 4);
	is_int(bs_put_many(bs, blocks, N, 0, res), 0,
	       "put_many: a node without dag/import …");
	is_int(mock_requests(&m), 4, "… gets one block/put per block");
	mock_script(&m, a4 + 1, 3);
	is_int(bs_put_many(bs, blocks, N, 0, res), 0, "… and from then on");
	is_int(mock_requests(&m), 3, "… no dag/import is tried again");
	ok(strstr(m.last_head, "POST /api/v0/block/put?") != NULL,
	   "… block/put only");
	bs_close(bs);

	/* A body too large for the node (413): the same blocks again in
	 * bodies of KUBO_IMPORT_SMALL_BYTES, and from then on; refused at
	 * that size too: block/put. */
	bs = open_kubo(m.port, 600, 3000);
	const char *big = "{\"Message\":\"request body too large\"}";
	struct answer a5[] = {{.status = 413, .body = big},
			      {.status = 200, .body = all}};
	mock_script(&m, a5, 2);
	is_int(bs_put_many(bs, blocks, N, 0, res), 0,
	       "put_many: a node refusing a large body …");
	ok(mock_requests(&m) == 2 && strstr(m.lines[1], "/dag/import?"),
	   "… gets the batch again in a smaller dag/import");
	struct answer a6[] = {{.status = 200, .body = all}};
	mock_script(&m, a6, 1);
	is_int(bs_put_many(bs, blocks, N, 0, res), 0, "… and from then on");
	is_int(mock_requests(&m), 1, "… one dag/import");
	a4[0] = (struct answer){.status = 413, .body = big}; /* then puts */
	mock_script(&m, a4, 4);
	is_int(bs_put_many(bs, blocks, N, 0, res), 0,
	       "… refused at the small size too");
	ok(mock_requests(&m) == 4 && strstr(m.lines[3], "/block/put?"),
	   "… block/put for each block");
	bs_close(bs);
	mock_stop(&m);
}

static void test_mock(void)
{
	struct mock m;
	struct blockstore *bs = mock_open(&m, "open on a multiaddr");
	if (!bs)
		return;
	uint8_t block[4096];
	tap_fill_random(block, sizeof(block), 7);
	struct cid c, got;
	cid_of_raw_block(&c, block, sizeof(block));
	char t32[CID_TEXT_MAX], t58[CID_TEXT_MAX], ok_put[256];
	cid_text(&c, t32, sizeof(t32));
	cid_b58(&c, t58, sizeof(t58));
	snprintf(ok_put, sizeof(ok_put), "{\"Key\":\"%s\",\"Size\":4096}", t58);

	/* put: what goes out, and retries of 500s */
	struct answer a1[] = {{.status = 500, .body = "{\"Message\":\"busy\"}"},
			      {.status = 503, .body = "oops"},
			      {.status = 200, .body = ok_put}};
	mock_script(&m, a1, 3);
	is_int(bs_put(bs, block, sizeof(block), 0, &got), 0,
	       "put succeeds after two 5xx answers");
	is_int(mock_requests(&m), 3, "three requests: two retries");
	ok(cid_equal(&got, &c), "put returns the CID computed locally");
	ok(strstr(m.last_head, "POST /api/v0/block/put?") != NULL,
	   "put goes to block/put");
	ok(strstr(m.last_head, "format=raw") &&
		   strstr(m.last_head, "cid-codec=raw") &&
		   strstr(m.last_head, "mhtype=sha2-256"),
	   "put asks for format=raw, cid-codec=raw, sha2-256");
	ok(m.last_body_has_type, "the multipart part has a Content-Type");
	ok(!strcasestr(m.last_head, "Expect: 100"), "no Expect: 100-continue");

	/* put: a node that names another CID */
	struct answer a2[] = {{.status = 200,
			       .body = "{\"Key\":\"QmbWqxBEKC3P8tqsKc98xmWNzrzDt"
				       "RLMiMPL8wBuTGsMnR\",\"Size\":4096}"}};
	mock_script(&m, a2, 1);
	is_int(bs_put(bs, block, sizeof(block), 0, NULL), -EBADMSG,
	       "put: a wrong CID in the answer is -EBADMSG");
	is_int(mock_requests(&m), 1, "not retried: it's permanent");
	char err[512];
	bs_kubo_last_error(bs, err, sizeof(err));
	ok(strstr(err, "block/put") != NULL, "last error names the call: %s",
	   err);

	/* get: right bytes, wrong bytes, garbage, too much */
	uint8_t buf[BLOCK_MAX_BYTES];
	size_t len = 0;
	struct answer a3[] = {{.status = 200, .raw = block,
			       .raw_len = sizeof(block)}};
	mock_script(&m, a3, 1);
	is_int(bs_get(bs, &c, buf, sizeof(buf), &len), 0, "get: right bytes");
	ok(len == sizeof(block) && !memcmp(buf, block, len),
	   "get: the bytes served");
	ok(strstr(m.last_head, t32) != NULL, "get asks for the base32 CID");
	ok(strstr(m.last_head, "timeout=600ms") != NULL,
	   "get passes its bound to the node (timeout=)");
	uint8_t evil[4096];
	memcpy(evil, block, sizeof(evil));
	evil[100] ^= 1;
	struct answer a4[] = {{.status = 200, .raw = evil,
			       .raw_len = sizeof(evil)}};
	mock_script(&m, a4, 1);
	len = 77;
	is_int(bs_get(bs, &c, buf, sizeof(buf), &len), -EBADMSG,
	       "get: one flipped bit → -EBADMSG");
	is_int(len, 0, "get: nothing served");
	is_int(mock_requests(&m), 1, "wrong bytes are not retried");
	static uint8_t huge[BLOCK_MAX_BYTES + 4096];
	struct answer a5[] = {{.status = 200, .raw = huge,
			       .raw_len = sizeof(huge)}};
	mock_script(&m, a5, 1);
	is_int(bs_get(bs, &c, buf, sizeof(buf), &len), -EBADMSG,
	       "get: an answer over the block limit → -EBADMSG");
	is_int(bs_get(bs, &c, buf, 100, &len), -EBADMSG,
	       "get: same with a small buffer");
	struct answer a6[] = {{.status = 200, .raw = block,
			       .raw_len = sizeof(block)}};
	mock_script(&m, a6, 1);
	is_int(bs_get(bs, &c, buf, 100, &len), -ENOBUFS,
	       "get: right block, buffer too small → -ENOBUFS");

	/* get: slow node — bounded */
	struct answer a7[] = {{.status = 200, .raw = block,
			       .raw_len = sizeof(block), .delay_ms = 3000}};
	mock_script(&m, a7, 1);
	uint64_t t0 = now_ms();
	int r = bs_get(bs, &c, buf, sizeof(buf), &len);
	uint64_t took = now_ms() - t0;
	is_int(r, -ETIMEDOUT, "get: a node slower than the bound → -ETIMEDOUT");
	ok(took < 2500, "… within the bound (%llu ms for 600 + margin)",
	   (unsigned long long)took);
	sleep_ms(2600); /* let the mock finish that answer */

	/* the node's own timeout answer is not retried */
	struct answer a8[] = {{.status = 500,
			       .body = "{\"Message\":\"Failed to get block: "
				       "request timed out\",\"Type\":\"error\"}"}};
	mock_script(&m, a8, 1);
	is_int(bs_get(bs, &c, buf, sizeof(buf), &len), -ETIMEDOUT,
	       "get: the node timed out → -ETIMEDOUT");
	is_int(mock_requests(&m), 1, "… asked once");

	/* connection closed without an answer, then fine */
	struct answer a9[] = {{.status = 0},
			      {.status = 200, .raw = block,
			       .raw_len = sizeof(block)}};
	mock_script(&m, a9, 2);
	is_int(bs_get(bs, &c, buf, sizeof(buf), &len), 0,
	       "get: retried after the node hung up");
	is_int(mock_requests(&m), 2, "… two requests");

	/* has, rm, pin */
	char stat_ok[256];
	snprintf(stat_ok, sizeof(stat_ok), "{\"Key\":\"%s\",\"Size\":4096}",
		 t32);
	struct answer a10[] = {{.status = 200, .body = stat_ok}};
	mock_script(&m, a10, 1);
	is_int(bs_has(bs, &c), 1, "has: block/stat says present");
	ok(strstr(m.last_head, "/block/stat?") != NULL, "has uses block/stat");
	ok(strstr(m.last_head, "offline=true") != NULL,
	   "… offline: the node's own store, no wait for the network");
	struct answer a10b[] = {
		{.status = 500,
		 .body = "{\"Message\":\"block was not found locally "
			 "(offline): ipld: could not find x\",\"Code\":0,"
			 "\"Type\":\"error\"}"}};
	mock_script(&m, a10b, 1);
	is_int(bs_has(bs, &c), 0, "has: 'not found locally' → absent");
	is_int(mock_requests(&m), 1, "… asked once");
	/* The node's timeout on the offline stat: a node too slow to answer
	 * for its own store, not one that lacks the block (the old stat
	 * said 0, and --at ended a line of history at a slow block). */
	struct answer a10c[] = {
		{.status = 500,
		 .body = "{\"Message\":\"context deadline exceeded\","
			 "\"Code\":0,\"Type\":\"error\"}"}};
	mock_script(&m, a10c, 1);
	is_int(bs_has(bs, &c), -ETIMEDOUT, "has: node timed out → -ETIMEDOUT");
	char rm_pinned[512];
	snprintf(rm_pinned, sizeof(rm_pinned),
		 "{\"Hash\":\"%s\",\"Error\":\"cannot remove: pinned: "
		 "recursive\"}",
		 t58);
	struct answer a11[] = {{.status = 200, .body = rm_pinned}};
	mock_script(&m, a11, 1);
	is_int(bs_remove(bs, &c), -EBUSY, "rm: inline error in 200 → -EBUSY");
	char pins[256];
	snprintf(pins, sizeof(pins), "{\"Pins\":[\"%s\"]}", t58);
	struct answer a12[] = {{.status = 200, .body = pins}};
	mock_script(&m, a12, 1);
	is_int(bs_pin(bs, &c), 0, "pin/add");
	ok(strstr(m.last_head, "/pin/add?") != NULL, "pin uses pin/add");
	mock_script(&m, a12, 1);
	is_int(bs_unpin(bs, &c), 0, "pin/rm");

	/* persistent 500s: retries end, the call fails with -EIO */
	struct answer a13[] = {{.status = 500, .body = "{\"Message\":\"x\"}"}};
	mock_script(&m, a13, 1);
	is_int(bs_put(bs, block, sizeof(block), 0, NULL), -EIO,
	       "put: persistent 500 → -EIO");
	is_int(mock_requests(&m), 1 + KUBO_DEFAULT_RETRIES,
	       "… after the configured retries");
	bs_close(bs);
	mock_stop(&m);

	/* nobody listening: -ECONNREFUSED, quickly */
	struct mock dead;
	mock_start(&dead);
	int port = dead.port;
	mock_stop(&dead);
	bs = open_kubo(port, 500, 1500);
	t0 = now_ms();
	is_int(bs_put(bs, block, sizeof(block), 0, NULL), -ECONNREFUSED,
	       "put with the node down → -ECONNREFUSED");
	took = now_ms() - t0;
	ok(took < 2000, "… within the call's bound (%llu ms)",
	   (unsigned long long)took);
	is_int(bs_get(bs, &c, buf, sizeof(buf), &len), -ECONNREFUSED,
	       "get with the node down → -ECONNREFUSED");
	is_int(bs_kubo_ping(bs), -ECONNREFUSED, "ping: down");
	bs_kubo_last_error(bs, err, sizeof(err));
	ok(strstr(err, "connection refused") != NULL, "message: %s", err);
	bs_close(bs);

	struct kubo_config bad = {.addr = "nonsense"};
	struct blockstore *none = NULL;
	is_int(bs_kubo_open(&bad, &none), -EINVAL, "open: bad address refused");
}

/* IPNS records: routing/put and routing/get (Kubo), dht/put and dht/get
 * on a node without them (js-ipfs: 404), remembered. */
static void test_routing(void)
{
	struct mock m;
	struct blockstore *bs = mock_open(&m, "routing: open");
	if (!bs)
		return;
	uint8_t pk[32], rec[100];
	tap_fill_random(pk, sizeof(pk), 11);
	tap_fill_random(rec, sizeof(rec), 12);
	/* Kubo 0.43.1's whole answer: one Type 5 event naming the name's
	 * peer id, no event per peer. */
	const char *stored = "{\"ID\":\"12D3KooWGZWKdtymaBftptaN1m3McesMWKHqLm"
			     "CRKk8zWNSFcUtf\",\"Type\":5,\"Responses\":null,"
			     "\"Extra\":\"\"}\n";
	/* js-ipfs's dht/put: one Type 1 event per peer that took it */
	const char *took = "{\"Extra\":\"\",\"ID\":\"12D3KooWGZWKdtymaBftpt"
			   "aN1m3McesMWKHqLmCRKk8zWNSFcUtf\",\"Responses\":null,"
			   "\"Type\":1}\n";
	/* So the peers it went to are those of its routing tables. */
	const char *tables = "{\"Name\":\"wan\",\"Buckets\":[]}\n"
			     "{\"Name\":\"lan\",\"Buckets\":[{\"Peers\":["
			     "{\"ID\":\"12D3KooWA\",\"Connected\":true},"
			     "{\"ID\":\"12D3KooWB\",\"Connected\":true}]},"
			     "{\"Peers\":[{\"ID\":\"12D3KooWC\"}]}]}\n";
	struct answer kubo[] = {{.status = 200, .body = stored},
				{.status = 200, .body = tables}};
	mock_script(&m, kubo, 2);
	unsigned peers = 7;
	is_int(bs_kubo_ipns_put(bs, pk, rec, sizeof(rec), 0, &peers), 0,
	       "ipns put on Kubo");
	is_int(mock_requests(&m), 2, "… two requests");
	ok(strstr(m.last_head, "POST /api/v0/stats/dht") != NULL,
	   "… routing/put, then stats/dht (Kubo names no peer)");
	is_int(peers, 3, "… the 3 peers of its routing tables");
	struct answer lonely[] = {
		{.status = 200, .body = stored},
		{.status = 200, .body = "{\"Name\":\"wan\",\"Buckets\":[]}\n"
					"{\"Name\":\"lan\",\"Buckets\":[]}\n"}};
	mock_script(&m, lonely, 2);
	is_int(bs_kubo_ipns_put(bs, pk, rec, sizeof(rec), 0, &peers), 0,
	       "ipns put on Kubo without DHT peers: still a success");
	is_int(peers, 0, "… reaching no peer");
	struct answer no_dht[] = {
		{.status = 200, .body = stored},
		{.status = 500, .body = "{\"Message\":\"routing service is not "
					"a DHT\",\"Code\":0,\"Type\":\"error\"}"}};
	mock_script(&m, no_dht, 2);
	peers = 7;
	is_int(bs_kubo_ipns_put(bs, pk, rec, sizeof(rec), 0, &peers), 0,
	       "ipns put on Kubo with Routing.Type none: a success");
	is_int(peers, 0, "… reaching no peer");
	is_int(mock_requests(&m), 2, "… stats/dht asked once, not retried");
	char why[256];
	bs_kubo_last_error(bs, why, sizeof(why));
	ok(strstr(why, "stats/dht") == NULL,
	   "… and that answer is no failure to report");

	/* The count shares the put's bound: a put that took 600 of its
	 * 1000 ms leaves the count 400, too little for an 800 ms answer
	 * (given the whole 1000 again, it would have named 3 peers). */
	struct answer slow[] = {{.status = 200, .body = stored,
				 .delay_ms = 600},
				{.status = 200, .body = tables, .delay_ms = 800}};
	mock_script(&m, slow, 2);
	peers = 7;
	is_int(bs_kubo_ipns_put(bs, pk, rec, sizeof(rec), 1000, &peers), 0,
	       "ipns put taking most of its bound: a success");
	is_int(peers, 0, "… the count gets only what is left of the bound");
	sleep_ms(900); /* let the mock finish that answer */

	struct answer none[] = {{.status = 500,
				 .body = "{\"Message\":\"routing: not found\","
					 "\"Code\":0,\"Type\":\"error\"}"}};
	mock_script(&m, none, 1);
	struct cid c;
	uint64_t seq;
	is_int(bs_kubo_ipns_get(bs, pk, 500, &c, &seq, NULL), -ENOENT,
	       "ipns get on Kubo, no record: -ENOENT");
	ok(strstr(m.last_head, "POST /api/v0/routing/get?arg=/ipns/") != NULL,
	   "… asked routing/get");
	bs_close(bs);

	/* js-ipfs 0.66: no routing/put (404), dht/put answers */
	bs = open_kubo(m.port, 600, 3000);
	struct answer js[] = {{.status = 404, .body = "{\"Message\":\"Not Found\","
						    "\"Code\":0,\"Type\":\"error\"}"},
			      {.status = 200, .body = took}};
	mock_script(&m, js, 2);
	is_int(bs_kubo_ipns_put(bs, pk, rec, sizeof(rec), 0, &peers), 0,
	       "ipns put on a node without routing/put");
	is_int(peers, 1, "… one peer took it");
	is_int(mock_requests(&m), 2, "… routing/put, then dht/put");
	ok(strstr(m.last_head, "POST /api/v0/dht/put?arg=/ipns/") != NULL,
	   "… the second to dht/put");
	mock_script(&m, none, 1);
	is_int(bs_kubo_ipns_get(bs, pk, 500, &c, &seq, NULL), -ENOENT,
	       "ipns get on that node");
	is_int(mock_requests(&m), 1, "… one request: the 404 is remembered");
	ok(strstr(m.last_head, "POST /api/v0/dht/get?arg=/ipns/") != NULL,
	   "… to dht/get");

	/* routing off on a node that has the call: no fallback */
	bs_close(bs);
	bs = open_kubo(m.port, 600, 3000);
	struct answer off[] = {{.status = 500,
				.body = "{\"Message\":\"DHT is not available\","
					"\"Type\":\"error\"}"}};
	mock_script(&m, off, 1);
	is_int(bs_kubo_ipns_put(bs, pk, rec, sizeof(rec), 0, NULL), -ENOTSUP,
	       "routing off: -ENOTSUP");
	is_int(mock_requests(&m), 1, "… asked once, no dht/put after it");
	bs_close(bs);
	mock_stop(&m);
}

/* bs_kubo_unpin_many: a batch is asked about (pin/ls) before its pin/rm,
 * since Kubo's pin/rm of several, one not pinned, unpins those before it
 * and fails; a batch with one not pinned is halved; the count is what
 * was unpinned. */
static void test_unpin_many(void)
{
	struct mock m;
	mock_start(&m);
	struct blockstore *bs = open_kubo(m.port, 600, 3000);
	enum { N = 3 };
	struct cid c[N];
	char t[N][CID_TEXT_MAX], rm[N][256];
	for (int i = 0; i < N; i++) {
		uint8_t data[8] = {'u', 'n', 'p', 'i', 'n', (uint8_t)i};
		cid_of_raw_block(&c[i], data, sizeof(data));
		cid_text(&c[i], t[i], sizeof(t[i]));
		snprintf(rm[i], sizeof(rm[i]), "{\"Pins\":[\"%s\"]}", t[i]);
	}
	const char *listed = "{\"Keys\":{}}";
	const char *not_pinned = "{\"Message\":\"path 'x' is not pinned\","
				 "\"Code\":0,\"Type\":\"error\"}";
	const char *rm_fail = "{\"Message\":\"not pinned or pinned "
			      "indirectly\",\"Code\":0,\"Type\":\"error\"}";
	char all[1024];
	snprintf(all, sizeof(all), "{\"Pins\":[\"%s\",\"%s\",\"%s\"]}",
		 t[0], t[1], t[2]);
	size_t n = 99;

	struct answer a1[] = {{.status = 200, .body = listed},
			      {.status = 200, .body = all}};
	mock_script(&m, a1, 2);
	is_int(bs_kubo_unpin_many(bs, c, N, &n), 0, "unpin_many: all pinned");
	ok(n == N && mock_requests(&m) == 2,
	   "… one pin/ls, one pin/rm, %zu unpinned", n);
	ok(strstr(m.lines[0], "/pin/ls?") && strstr(m.lines[0], "type=recursive") &&
		   strstr(m.lines[1], "/pin/rm?") && strstr(m.lines[1], t[2]),
	   "… pin/ls of the recursive pins, then pin/rm of the batch");

	struct answer a2[] = {
		{.status = 500, .body = not_pinned}, /* ls 0 1 2 */
		{.status = 200, .body = listed},     /* ls 0 */
		{.status = 200, .body = rm[0]},      /* rm 0 */
		{.status = 500, .body = not_pinned}, /* ls 1 2 */
		{.status = 500, .body = not_pinned}, /* ls 1 */
		{.status = 200, .body = listed},     /* ls 2 */
		{.status = 200, .body = rm[2]},      /* rm 2 */
	};
	mock_script(&m, a2, 7);
	is_int(bs_kubo_unpin_many(bs, c, N, &n), 0,
	       "unpin_many: the middle one not pinned");
	ok(n == 2 && mock_requests(&m) == 7,
	   "… halved: 2 unpinned in %d requests", mock_requests(&m));
	bool named1 = false;
	for (int i = 0; i < 7; i++)
		if (strstr(m.lines[i], "/pin/rm?") && strstr(m.lines[i], t[1]))
			named1 = true;
	ok(!named1 && strstr(m.lines[2], "/pin/rm?") && strstr(m.lines[2], t[0]) &&
		   strstr(m.lines[6], "/pin/rm?") && strstr(m.lines[6], t[2]),
	   "… no pin/rm names the one not pinned");
	char why[256];
	bs_kubo_last_error(bs, why, sizeof(why));
	ok(!strstr(why, "not pinned"), "… which is no error (%s)", why);

	struct answer a3[] = {
		{.status = 200, .body = listed},  /* ls 0 1 2 */
		{.status = 500, .body = rm_fail}, /* rm 0 1 2: one went since */
		{.status = 500, .body = rm_fail}, /* rm 0 */
		{.status = 200, .body = rm[1]},   /* rm 1 */
		{.status = 200, .body = rm[2]},   /* rm 2 */
	};
	mock_script(&m, a3, 5);
	is_int(bs_kubo_unpin_many(bs, c, N, &n), 0,
	       "unpin_many: one unpinned by someone else after the pin/ls");
	ok(n == 2 && mock_requests(&m) == 5, "… one by one then: %zu unpinned",
	   n);

	struct answer a4[] = {{.status = 500, .body = "{\"Message\":\"x\"}"}};
	mock_script(&m, a4, 1);
	is_int(bs_kubo_unpin_many(bs, c, N, &n), -EIO,
	       "unpin_many: a failing node is an error");
	is_int((int)n, 0, "… nothing unpinned");

	/* The pin/rm reaches the node, which dies before it answers: the
	 * retry is refused.  A refusal with nothing counted does not mean
	 * nothing was unpinned (fs/tools/gc.c unpin_list). */
	struct answer a5[] = {{.status = 200, .body = listed},
			      {.status = 0, .then_die = true}};
	mock_script(&m, a5, 2);
	is_int(bs_kubo_unpin_many(bs, c, N, &n), -ECONNREFUSED,
	       "unpin_many: the node died during the pin/rm: refused");
	ok(n == 0 && mock_requests(&m) == 2 &&
		   strstr(m.lines[1], "/pin/rm?") != NULL,
	   "… nothing counted, though the pin/rm reached it");
	bs_close(bs);
	mock_stop(&m);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN); /* the mock writes to clients that left */
	test_urls();
	test_parse();
	test_parse_import();
	test_mock();
	test_put_many();
	test_routing();
	test_unpin_many();
	return tap_done();
}
