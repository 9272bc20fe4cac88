/* fs/mount/remote.c — mount a mailbox from a node; see remote.h. */
#include "fs/mount/remote.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/model/manifest.h"
#include "fs/store/history.h"
#include "ipfs/bs_kubo.h"
#include "util/log.h"
#include "util/msgbuf.h"

/* How long a mount waits for the node to resolve the name. */
#define RESOLVE_TIMEOUT_MS 30000
/* A capability line is ~110 bytes; anything much larger is not one. */
#define CAPABILITY_FILE_MAX 1024

/* The capability file: private to its owner, one line.  The buffer is
 * wiped by the caller. */
static int read_capability(const char *path, char *buf, size_t size,
			   char *msg, size_t msgsize)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return msgbuf_say(msg, msgsize, "--capability %s: %s", path,
			   strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return msgbuf_say(msg, msgsize, "--capability %s: not a file", path);
	}
	/* It decrypts every message: the same rule as for key files. */
	if (st.st_mode & 077) {
		close(fd);
		return msgbuf_say(msg, msgsize,
			   "--capability %s is readable by others (it "
			   "decrypts the whole mailbox): chmod 600 it",
			   path);
	}
	ssize_t n = read(fd, buf, size - 1);
	int err = errno;
	close(fd);
	if (n < 0)
		return msgbuf_say(msg, msgsize, "--capability %s: %s", path,
			   strerror(err));
	buf[n] = '\0';
	return 0;
}

static int default_cache_dir(char *out, size_t size, const char *id)
{
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	int n;
	if (xdg && *xdg)
		n = snprintf(out, size, "%s/ipmaildir/%s", xdg, id);
	else if (home && *home)
		n = snprintf(out, size, "%s/.cache/ipmaildir/%s", home, id);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int remote_prepare(const struct remote_options *o, struct mailbox_keys *keys,
		   struct store_paths *paths, char *msg, size_t msgsize)
{
	if (!o->capability)
		return msgbuf_say(msg, msgsize,
			   "--from-node needs --capability FILE (what "
			   "`ipmaildir key export --read-only` wrote)");
	char line[CAPABILITY_FILE_MAX];
	int e = read_capability(o->capability, line, sizeof(line), msg,
				msgsize);
	if (e == 0 && readcap_parse(line, keys) != 0)
		e = msgbuf_say(msg, msgsize,
			"--capability %s: not a read capability (`ipmaildir "
			"key export --read-only` writes one)",
			o->capability);
	sodium_memzero(line, sizeof(line));
	if (e)
		return e;

	/* A mailbox id must be the capability's: checked here, before the
	 * node is asked anything. */
	uint8_t pk[IPMD_PUBLIC_KEY_BYTES];
	if (ipns_name_parse_ed25519(o->from_node, pk) == 0 &&
	    sodium_memcmp(pk, keys->public_key, sizeof(pk)) != 0)
		return msgbuf_say(msg, msgsize,
			   "--from-node %s: the capability is for another "
			   "mailbox",
			   o->from_node);

	char id[CID_TEXT_MAX], dir[PATH_MAX];
	ipns_name_of_ed25519(id, sizeof(id), keys->public_key);
	const char *cache = o->store;
	if (!cache) {
		e = default_cache_dir(dir, sizeof(dir), id);
		if (e)
			return msgbuf_say(msg, msgsize,
				   "no cache directory (set --store, "
				   "XDG_CACHE_HOME or HOME): %s",
				   strerror(-e));
		cache = dir;
	}
	e = store_paths_init(paths, cache);
	if (!e)
		e = store_make_dirs(paths->root);
	if (e)
		return msgbuf_say(msg, msgsize, "cache directory %s: %s", cache,
			   strerror(-e));
	/* A cache of someone else's mail is not a mailbox: refuse to mix
	 * the two in one directory. */
	if (access(paths->key, F_OK) == 0)
		return msgbuf_say(msg, msgsize,
			   "%s holds a mailbox of its own: give --from-node "
			   "a cache directory of its own (--store)",
			   paths->root);
	return 0;
}

/* The commit the name points at now, or the CID given.  For a name,
 * *rseq is the sequence of the record that names it. */
static int find_head(struct blockstore *node,
		     const struct remote_options *o, struct cid *head,
		     bool *from_ipns, uint64_t *rseq, char *msg,
		     size_t msgsize)
{
	uint8_t pk[IPMD_PUBLIC_KEY_BYTES];
	if (ipns_name_parse_ed25519(o->from_node, pk) != 0) {
		if (cid_parse(head, o->from_node, strlen(o->from_node)) != 0 ||
		    !cid_is_raw_sha256(head))
			return msgbuf_say(msg, msgsize,
				   "--from-node %s: neither a mailbox id "
				   "(k51…) nor a commit CID (bafkrei…)",
				   o->from_node);
		*from_ipns = false;
		return 0;
	}
	*from_ipns = true;
	if (!node)
		return msgbuf_say(msg, msgsize, "--from-node needs a node (--node)");
	/* Every record the node's DHT has, each verified here, the highest
	 * sequence winning.  Nothing else names a head: a node's own resolve
	 * answers from a stale local copy, and one that fails the DHT call
	 * on purpose would pick the head itself. */
	unsigned refused = 0;
	int e = bs_kubo_ipns_get(node, pk, RESOLVE_TIMEOUT_MS, head, rseq,
				 &refused);
	if (refused)
		logmsg(LOG_WARNING,
		       "%u IPNS records for %s were refused (bad signature, "
		       "malformed or expired)",
		       refused, o->from_node);
	if (e == -ENOENT)
		return msgbuf_say(msg, msgsize,
			   "--from-node %s: the node found no valid IPNS "
			   "record for this mailbox (nothing published, or "
			   "not found in time)",
			   o->from_node);
	if (e) {
		char why[512];
		bs_kubo_last_error(node, why, sizeof(why));
		return msgbuf_say(msg, msgsize,
			   "--from-node %s: the node's IPNS lookup failed "
			   "(%s); no head is taken without a record signed "
			   "by the mailbox",
			   o->from_node, why[0] ? why : strerror(-e));
	}
	if (!cid_is_raw_sha256(head))
		return msgbuf_say(msg, msgsize,
			   "--from-node %s: the name points at something that "
			   "is not a commit",
			   o->from_node);
	return 0;
}

static const char *commit_error(int e)
{
	switch (e) {
	case -EKEYREJECTED:
		return "is not signed by this mailbox's key: refusing it";
	case -EBADMSG: /* also: the node sent bytes that do not hash */
		return "does not open with this capability (damaged, "
		       "tampered with, or another mailbox's)";
	case -ENOENT:
		return "could not be fetched: the node does not have it";
	case -ETIMEDOUT:
		return "could not be fetched: the node did not find it in "
		       "time (or did not answer)";
	case -ECONNREFUSED:
		return "could not be fetched: the node does not answer (is "
		       "it running?)";
	case -EIO:
	case -ECONNRESET:
	case -EAGAIN:
		return "could not be fetched from the node";
	default:
		return "could not be read";
	}
}

int remote_load(const struct remote_options *o, struct remote_mount *m,
		char *msg, size_t msgsize)
{
	struct cid head;
	bool from_ipns;
	uint64_t rseq = 0;
	if (find_head(m->node, o, &head, &from_ipns, &rseq, msg, msgsize))
		return -1;
	/* Rollback protection for what IPNS says is newest: the record's
	 * sequence, before its commit is even fetched. */
	struct head seen;
	bool untyped;
	int se = from_ipns ? head_read(m->seen, m->keys->manifest,
				       BLOCK_STATE_SEEN, &seen, &untyped)
			   : -ENOENT;
	if (se == -ENOENT)
		memset(&seen, 0, sizeof(seen));
	else if (se)
		/* Read as "nothing seen", a damaged file would reset the
		 * rollback protection: refuse instead.  (A commit named by
		 * hand is a deliberate choice and needs no seen.) */
		return msgbuf_say(msg, msgsize,
			   "%s is damaged (%s): remove it only if you trust "
			   "the node not to serve an old record",
			   m->seen, strerror(-se));
	if (from_ipns && rseq < seen.max_seq)
		return msgbuf_say(msg, msgsize,
			   "the newest IPNS record for %s has sequence %llu, "
			   "but commit %llu was already seen: refusing a "
			   "rollback (an old record); mount that state by CID "
			   "if you mean it",
			   o->from_node, (unsigned long long)rseq,
			   (unsigned long long)seen.max_seq);
	char text[CID_TEXT_MAX] = "?";
	cid_format(&head, text, sizeof(text));
	struct commit c;
	int e = commit_read(m->st->bs, m->keys, &head, &c);
	if (e)
		return msgbuf_say(msg, msgsize, "commit %s %s", text,
			   commit_error(e));
	/* The mailbox publishes each commit under its own seq: a record whose
	 * sequence is not its commit's is not one of ours, and its sequence
	 * would say nothing about what is newest. */
	if (from_ipns && c.seq != rseq)
		return msgbuf_say(msg, msgsize,
			   "the IPNS record for %s has sequence %llu but names "
			   "commit %llu: refusing it",
			   o->from_node, (unsigned long long)rseq,
			   (unsigned long long)c.seq);
	if (from_ipns && c.seq > seen.max_seq) {
		struct head h = {.commit = head, .seq = c.seq,
				 .max_seq = c.seq};
		e = head_write(m->seen, m->keys->manifest, BLOCK_STATE_SEEN,
			       &h);
		if (e)
			logmsg(LOG_WARNING, "%s: %s (rollback protection "
			       "not updated)", m->seen, strerror(-e));
	}
	if (o->at) {
		struct history_at at;
		if (history_parse_at(o->at, &at))
			return msgbuf_say(msg, msgsize,
				   "--at %s: not a commit seq, a commit CID or "
				   "an ISO-8601 UTC time",
				   o->at);
		struct cid cid;
		/* No STORE/pruned, no STORE/device here: a parent the node
		 * does not have ends its line (history.h, walk_ends). */
		struct walk_ends we = {.absent = true};
		e = history_resolve_ends(m->st->bs, m->keys, &head, &we, &at,
					 &cid, &c);
		if (e)
			return msgbuf_say(msg, msgsize, "--at %s: %s", o->at,
				   e == -ENOENT ? "no such commit before the "
						  "head"
						: strerror(-e));
		head = cid;
		cid_format(&head, text, sizeof(text));
	}
	m->last = c;
	m->head.commit = head;
	m->head.seq = m->head.max_seq = c.seq;
	e = manifest_load(m->st, &c.tree, c.next_ino, &m->tree);
	if (e)
		return msgbuf_say(msg, msgsize, "the tree of commit %llu: %s",
			   (unsigned long long)c.seq,
			   e == -EBADMSG ? "damaged or malformed"
					 : strerror(-e));
	logmsg(LOG_INFO, "mounted commit %llu (%s) of %s read-only",
	       (unsigned long long)c.seq, text, o->from_node);
	return 0;
}
