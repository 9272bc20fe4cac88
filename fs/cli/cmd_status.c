/*
 * fs/cli/cmd_status.c — `ipmaildir status`: one look at a store.
 *
 * Reads without taking any lock, so it works beside a mount and beside gc:
 * the head file is replaced atomically, and the journal counts are a
 * snapshot that a running mount may already have moved past.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/outbox.h"
#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/cli/control.h"
#include "fs/mount/housekeeping.h"
#include "fs/mount/mount.h"
#include "fs/store/device.h"
#include "fs/store/history.h"
#include "fs/store/journal.h"
#include "fs/store/store.h"
#include "ipfs/bs_local.h"

static void status_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir status [--store DIR] [--json] "
		"[--passphrase-file F]\n"
		"  --json             one JSON object\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n"
		"mounted read-write, the mount answers (no passphrase "
		"asked)\n");
}

struct journal_count {
	uint64_t records, bytes;
};

static int count_record(uint64_t gen, uint64_t seq, const uint8_t *payload,
			size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	(void)payload;
	struct journal_count *jc = arg;
	jc->records++;
	/* What the record takes in its file: length, prefix, seal. */
	jc->bytes += JOURNAL_LEN_BYTES + JOURNAL_SEALED_MIN + len;
	return 0;
}

static void json_str(FILE *out, const char *key, const char *v, bool comma)
{
	/* Only paths need escaping here; ids and CIDs are plain ASCII. */
	fprintf(out, "\"%s\":\"", key);
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fprintf(out, "\"%s", comma ? "," : "");
}

/* What status shows, gathered before any of it is printed. */
struct status {
	struct history *h;
	char id[CID_TEXT_MAX], hcid[CID_TEXT_MAX], when[HISTORY_TIME_MAX];
	int wrapped, mounted;
	struct commit head;
	int head_e;
	bool has_head;
	enum state_problem sp;
	int je; /* the journal's replay */
	uint64_t jmissing; /* the first generation missing (-ENODATA) */
	uint64_t records, jbytes;
	int oe, ce; /* the outbox, its cap */
	uint64_t pending;
	struct outbox_cap_info ci;
	int ue; /* the store's usage */
	struct bs_usage u;
	char mnt[PATH_MAX]; /* where it is mounted ("": nowhere seen) */
	int de; /* STORE/device (-ENOENT: device 0, nothing seen) */
	struct device_state dev;
	char peer[CID_TEXT_MAX], peer_when[HISTORY_TIME_MAX];
};

/* "s" unless n is 1: "1 message", "2 messages". */
static const char *s_of(uint64_t n)
{
	return n == 1 ? "" : "s";
}

static void gather(struct history *h, struct status *s)
{
	memset(s, 0, sizeof(*s));
	s->h = h;
	snprintf(s->id, sizeof(s->id), "?");
	ipns_name_of_ed25519(s->id, sizeof(s->id), h->store.keys.public_key);
	int sys_errno = 0;
	s->wrapped = keyfile_is_wrapped(h->store.paths.key, &sys_errno);
	s->mounted = history_mounted(h);
	/* In this mount namespace; a mount elsewhere is only "mounted". */
	if (store_mountpoint(&h->store.paths, s->mnt, sizeof(s->mnt)) != 0)
		s->mnt[0] = '\0';
	const struct state_set *st = &h->store.state;
	s->head_e = st->head_err;
	if (!s->head_e && st->head.commit.len) {
		s->head_e = history_commit(h, &st->head.commit, &s->head);
		cid_format(&st->head.commit, s->hcid, sizeof(s->hcid));
		if (!s->head_e)
			history_format_time(s->head.time_ns, s->when);
	}
	s->has_head = !st->head_err && st->head.commit.len && !s->head_e;
	/* What a mount would refuse (a head lost over mail, seen damaged):
	 * not "nothing committed yet". */
	s->sp = history_state_problem(h);
	struct journal_count jc = {0, 0};
	struct journal_replay_stats js;
	struct head from = st->head_err ? (struct head){.journal_gen = 1}
					: st->head;
	s->je = history_journal_each(h, &from, 0, count_record, &jc, &js);
	s->jmissing = js.missing_gen;
	s->records = jc.records;
	s->jbytes = jc.bytes;
	s->oe = outbox_pending_in(h->store.paths.root, &s->pending);
	/* A capped mount's figures: this process can't ask the mount, so
	 * they are the ones it last wrote (cache/outbox.h). */
	s->ce = s->oe ? -ENOENT : outbox_cap_in(h->store.paths.root, &s->ci);
	s->ue = bs_usage(h->local, &s->u);
	s->de = h->device_err; /* STORE/device as history_open read it */
	s->dev = h->device;
	if (!s->de && s->dev.has_peer) {
		cid_format(&s->dev.peer, s->peer, sizeof(s->peer));
		history_format_time(s->dev.peer_seen_ns, s->peer_when);
	}
}

/* The peers' head: what the mailbox's IPNS name named at the last sync. */
static void print_device_json(FILE *out, const struct status *s)
{
	if (s->de && s->de != -ENOENT)
		return;
	fprintf(out, "\"device\":%llu,", (unsigned long long)s->dev.device);
	if (!s->dev.has_peer) {
		fprintf(out, "\"peers_head\":null,");
		return;
	}
	fprintf(out, "\"peers_head\":{\"seq\":%llu,\"cid\":\"%s\","
	       "\"seen\":\"%s\",\"seen_ns\":%lld,\"how\":\"%s\"},",
	       (unsigned long long)s->dev.peer_seq, s->peer, s->peer_when,
	       (long long)s->dev.peer_seen_ns, s->dev.peer_how);
}

static void print_device_text(FILE *out, const struct status *s)
{
	if (s->de && s->de != -ENOENT) {
		fprintf(out, "device:    %s unreadable (%s)\n",
		       s->h->store.paths.device, strerror(-s->de));
		return;
	}
	fprintf(out, "device:    %llu (inode range)\n",
	       (unsigned long long)s->dev.device);
	if (s->dev.has_peer)
		fprintf(out, "peers:     head commit %llu seen %s: %s\n"
		       "           %s\n",
		       (unsigned long long)s->dev.peer_seq, s->peer_when,
		       s->dev.peer_how, s->peer);
}

static void print_json(FILE *out, const struct status *s)
{
	fprintf(out, "{");
	json_str(out, "mailbox", s->id, true);
	json_str(out, "store", s->h->store.paths.root, true);
	if (s->has_head)
		fprintf(out, "\"head\":{\"seq\":%llu,\"cid\":\"%s\","
		       "\"time\":\"%s\",\"time_ns\":%lld,"
		       "\"messages\":%llu,\"folders\":%llu},",
		       (unsigned long long)s->head.seq, s->hcid, s->when,
		       (long long)s->head.time_ns,
		       (unsigned long long)s->head.messages,
		       (unsigned long long)s->head.folders);
	else
		fprintf(out, "\"head\":null,");
	if (!s->je)
		fprintf(out, "\"journal\":{\"records\":%llu,\"bytes\":%llu},",
		       (unsigned long long)s->records,
		       (unsigned long long)s->jbytes);
	else
		fprintf(out, "\"journal\":null,");
	if (!s->oe && !s->ce)
		fprintf(out, "\"outbox\":{\"pending\":%llu,\"cap_bytes\":"
		       "%llu,\"local_bytes\":%llu,\"evicted\":%llu},",
		       (unsigned long long)s->pending,
		       (unsigned long long)s->ci.cap_bytes,
		       (unsigned long long)s->ci.local_bytes,
		       (unsigned long long)s->ci.evicted);
	else if (!s->oe)
		fprintf(out, "\"outbox\":{\"pending\":%llu},",
		       (unsigned long long)s->pending);
	else
		fprintf(out, "\"outbox\":null,");
	if (!s->ue)
		fprintf(out, "\"blocks\":%llu,\"bytes\":%llu,",
		       (unsigned long long)s->u.blocks,
		       (unsigned long long)s->u.bytes);
	print_device_json(out, s);
	if (s->sp != STATE_OK)
		json_str(out, "problem", state_problem_text(s->sp), true);
	if (s->mnt[0])
		json_str(out, "mountpoint", s->mnt, true);
	else
		fprintf(out, "\"mountpoint\":null,");
	fprintf(out, "\"mounted\":%s,\"key_wrapped\":%s}\n",
	       s->mounted == 1 ? "true" : "false",
	       s->wrapped == 1 ? "true" : "false");
}

static void print_text(FILE *out, const struct status *s)
{
	fprintf(out, "mailbox:   %s\n", s->id);
	fprintf(out, "store:     %s\n", s->h->store.paths.root);
	if (s->has_head)
		fprintf(out, "head:      commit %llu, %s, %llu message%s, %llu "
		       "folder%s\n           %s\n",
		       (unsigned long long)s->head.seq, s->when,
		       (unsigned long long)s->head.messages,
		       s_of(s->head.messages),
		       (unsigned long long)s->head.folders,
		       s_of(s->head.folders), s->hcid);
	else if (s->sp == STATE_HEAD_MISSING || s->sp == STATE_HEAD_EMPTY ||
		 s->sp == STATE_HEAD_DAMAGED)
		fprintf(out, "head:      %s\n", state_problem_text(s->sp));
	else if (s->h->store.state.head_err == -ENOENT ||
		 !s->h->store.state.head.commit.len)
		fprintf(out, "head:      nothing committed yet\n");
	else
		fprintf(out, "head:      unreadable (%s): run ipmaildir "
		       "fsck\n",
		       strerror(-s->head_e));
	if (s->sp == STATE_SEEN_DAMAGED || s->sp == STATE_SEEN_MISSING)
		fprintf(out, "seen:      %s\n", state_problem_text(s->sp));
	if (!s->je)
		fprintf(out, "journal:   %llu record%s (%llu byte%s) not yet in "
		       "a commit\n",
		       (unsigned long long)s->records, s_of(s->records),
		       (unsigned long long)s->jbytes, s_of(s->jbytes));
	else if (s->je == -ENODATA && s->jmissing)
		fprintf(out, "journal:   generation %llu is missing: run "
		       "ipmaildir fsck\n",
		       (unsigned long long)s->jmissing);
	else
		fprintf(out, "journal:   unreadable (%s): run ipmaildir "
		       "fsck\n",
		       strerror(-s->je));
	if (!s->oe)
		fprintf(out, "outbox:    %llu block%s not yet on the node\n",
		       (unsigned long long)s->pending, s_of(s->pending));
	if (!s->oe && !s->ce)
		fprintf(out, "cache cap: %.1f MiB; %s: %.1f MiB local, "
		       "%llu block%s dropped (on the node)\n",
		       (double)s->ci.cap_bytes / (1024.0 * 1024.0),
		       s->mounted == 1 ? "the mount's last eviction"
				       : "as the last mount left it",
		       (double)s->ci.local_bytes / (1024.0 * 1024.0),
		       (unsigned long long)s->ci.evicted, s_of(s->ci.evicted));
	if (s->oe)
		fprintf(out, "outbox:    none (no node configured)\n");
	if (!s->ue)
		fprintf(out, "store use: %llu block%s, %.1f MiB\n",
		       (unsigned long long)s->u.blocks, s_of(s->u.blocks),
		       (double)s->u.bytes / (1024.0 * 1024.0));
	print_device_text(out, s);
	fprintf(out, "mounted:   %s%s%s\n",
	       s->mounted == 1 ? "yes (read-write)"
	       : s->mnt[0]     ? "read-only"
			       : "no",
	       s->mnt[0] ? " on " : "", s->mnt);
	fprintf(out, "key:       %s\n",
	       s->wrapped == 1 ? "wrapped with a passphrase"
			       : "not wrapped: the key file alone "
				 "opens the mailbox");
}

/* The cache of a `mount --from-node` (store_is_node_cache): no key, head,
 * journal or device; what is true of it: its blocks and where it is
 * mounted.  The exit status. */
static int status_node_cache(const struct store_paths *p, bool json,
			     const struct cli_io *io)
{
	struct blockstore *bs = NULL;
	struct bs_usage u;
	char mnt[PATH_MAX];
	int ue = bs_local_open(p->root, &bs);
	if (!ue)
		ue = bs_usage(bs, &u);
	bs_close(bs);
	if (store_mountpoint(p, mnt, sizeof(mnt)) != 0)
		mnt[0] = '\0';
	FILE *out = io->out;
	if (json) {
		fprintf(out, "{");
		json_str(out, "store", p->root, true);
		fprintf(out, "\"from_node_cache\":true,\"head\":null,"
			"\"journal\":null,\"outbox\":null,");
		if (!ue)
			fprintf(out, "\"blocks\":%llu,\"bytes\":%llu,",
				(unsigned long long)u.blocks,
				(unsigned long long)u.bytes);
		fprintf(out, "\"device\":null,\"peers_head\":null,");
		if (mnt[0])
			json_str(out, "mountpoint", mnt, true);
		else
			fprintf(out, "\"mountpoint\":null,");
		fprintf(out, "\"mounted\":false,\"key_wrapped\":false}\n");
		return EXIT_OK;
	}
	fprintf(out, "store:     %s\n"
		"           the cache of a read-only mount --from-node: "
		"blocks fetched\n           from a node, not a mailbox "
		"(the mailbox's own store is elsewhere)\n"
		"head:      none here (each mount takes the published head)\n",
		p->root);
	if (!ue)
		fprintf(out, "store use: %llu block%s, %.1f MiB\n",
			(unsigned long long)u.blocks, s_of(u.blocks),
			(double)u.bytes / (1024.0 * 1024.0));
	fprintf(out, "device:    none (a read-only reader has no inode range "
		"and merges nothing)\n");
	fprintf(out, "mounted:   %s%s\n", mnt[0] ? "read-only on " : "no", mnt);
	fprintf(out, "key:       none (a read capability, given at mount)\n");
	return EXIT_OK;
}

/* How often status reads the state again when the head moved under its
 * journal count (reread_moved). */
#define STATUS_REREADS 3

/* The journal count said a generation is missing (-ENODATA): read the
 * state again, and say whether the head's generation moved.  A mount
 * starting (reuse_generation moves the head, then drops the older
 * generations) or committing (the last commit of an unmount) may have
 * dropped the one the head read before named: no loss, only a stale
 * head.  Without a daemon to ask, status holds no lock that would stop
 * it, so it counts again from the new head. */
static bool reread_moved(struct history *h, const struct status *s)
{
	struct state_set *st = &h->store.state;
	if (s->je != -ENODATA)
		return false;
	int err = st->head_err;
	uint64_t gen = st->head.journal_gen;
	bool first = st->head.journal_first;
	state_read(h->store.paths.head, h->store.paths.seen,
		   h->store.paths.pruned, h->store.keys.journal, st);
	return st->head_err != err || st->head.journal_gen != gen ||
	       st->head.journal_first != first;
}

/* Open, gather, print: the exit status.  live: the running mount whose
 * daemon this is (fs/cli/control.h): gathered between its commits. */
static int status_run(struct history_options *ho, bool json,
		      struct ipmd_fs *live, const struct cli_io *io)
{
	struct history h;
	char msg[1024] = "";
	if (history_open(&h, ho, msg, sizeof(msg))) {
		int st = EXIT_FAILURE_;
		if (!live && h.store.paths.root[0] &&
		    store_is_node_cache(&h.store.paths) == 1)
			st = status_node_cache(&h.store.paths, json, io);
		else
			cli_error_to(io->err, "status: %s", msg);
		history_close(&h);
		return st;
	}
	struct status *st = calloc(1, sizeof(*st));
	if (!st) {
		cli_error_to(io->err, "status: out of memory");
		history_close(&h);
		return EXIT_FAILURE_;
	}
	if (live) {
		housekeeping_begin(live);
		/* The head as of now: a commit since history_open may have
		 * dropped the generations the one read then names. */
		state_read(h.store.paths.head, h.store.paths.seen,
			   h.store.paths.pruned, h.store.keys.journal,
			   &h.store.state);
	}
	/* Live: between the mount's commits, the head cannot move. */
	gather(&h, st);
	for (int i = 0; !live && i < STATUS_REREADS && reread_moved(&h, st);
	     i++)
		gather(&h, st);
	if (live)
		housekeeping_end(live);
	if (json)
		print_json(io->out, st);
	else
		print_text(io->out, st);
	free(st);
	history_close(&h);
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"json", no_argument, NULL, 'j'},
		CLI_OPTIONS_END,
	};
	struct history_options ho = {.lock = HISTORY_LOCK_NONE};
	bool json = false;
	int c;
	while ((c = cli_getopt(argc, argv, "s:p:jh", opts, &ho.store,
			       &ho.pass)) != -1) {
		if (c != 'j')
			return cli_help("status", status_usage, c);
		json = true;
	}
	if (optind != argc)
		return cli_usage("status", "takes no arguments");
	struct config cfg;
	if (cli_config(&cfg, &ho.store, &ho.pass, NULL))
		return EXIT_USAGE;
	/* Mounted read-write: its daemon answers, with no passphrase. */
	json_t *req = json_pack("{s:b}", "json", json);
	int status = req ? control_ask("status", ho.store, req)
			 : CONTROL_UNSERVED;
	if (status == CONTROL_UNSERVED) {
		struct cli_io io = cli_io_std();
		status = status_run(&ho, json, NULL, &io);
	}
	config_free(&cfg);
	return status;
}

int status_serve(struct ipmd_fs *fs, const json_t *req,
		 const struct cli_io *io)
{
	int json = 0;
	if (json_unpack((json_t *)req, "{s?b}", "json", &json)) {
		cli_error_to(io->err, "status: a request the daemon does not "
			     "understand");
		return EXIT_USAGE;
	}
	struct history_options ho = {.lock = HISTORY_LOCK_NONE,
				     .beside = &fs->store};
	return status_run(&ho, json, fs, io);
}
