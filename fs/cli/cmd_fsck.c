/*
 * fs/cli/cmd_fsck.c — `ipmaildir fsck`: check a store, and with --repair make
 * it mountable again, saying exactly what that costs.
 *
 * Checks, in order: the state files (head, seen); the commit chain from the
 * head (signatures, seq falling by one, parents, ending at the first
 * commit or where gc pruned); every block of the head's tree (all retained
 * commits with --deep): present, hashing to its CID, opening under its
 * key; the journal: every record opens and replays over the head, and the
 * blocks it names are present (or carried in the journal itself).
 *
 * Repairs: a head that is missing (while the store holds mail), damaged
 * or older than STORE/seen is restored from seen (or, failing that, from
 * the newest commit found in the store, never below a seq accepted here);
 * a seen that is missing or damaged is rewritten from the head; a head
 * whose commit or tree is damaged is rolled back to the newest fully
 * intact commit (seen too: the rollback is deliberate); a
 * chain broken below the head is cut there (STORE/pruned); a journal is cut
 * at its first bad record; then the journal is replayed into a commit, as
 * a mount would.  After repairing, everything is checked again.
 *
 * With a node (--node, IPMAILDIR_NODE, the config's node), a block missing
 * from the local store — evicted under local_cap_mb, or the store wiped —
 * is read from the node and checked the same way (fs/store/history.h).
 *
 * Exit status, as e2fsck: 0 clean, 1 errors corrected, 4 errors left
 * uncorrected, 8 operational error (and 2 for usage).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/store/journal.h"
#include "cache/outbox.h"
#include "fs/store/journal_payload.h"
#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/store/history.h"
#include "fs/cli/progress.h"
#include "fs/mount/mount.h"
#include "fs/model/reach.h"
#include "fs/model/record.h"
#include "fs/tools/salvage.h"

enum fsck_exit {
	FSCK_CLEAN = 0,
	FSCK_CORRECTED = 1,
	FSCK_UNCORRECTED = 4,
	FSCK_OPERATIONAL = 8,
};

static void fsck_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir fsck [--store DIR] [--deep] [--repair] "
		"[--rollback-to SEQ]\n"
		"                     [--node ADDR] [--passphrase-file F]\n"
		"  --deep             check the blocks of every retained commit, "
		"not only the head's\n"
		"  --repair           fix what can be fixed (the mailbox must "
		"not be mounted);\n"
		"                     a damaged file is moved to "
		"/.lost+found, nothing intact is dropped\n"
		"  --rollback-to SEQ  make commit SEQ's state the head again, "
		"as a new commit,\n"
		"                     listing each file that drops (implies "
		"--repair)\n"
		"  -v, --verbose      list every block verified: kind, CID, "
		"file\n"
		"  --node ADDR        read blocks missing here from this IPFS "
		"node\n"
		"                     (default: $IPMAILDIR_NODE, the config's "
		"node)\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n"
		"exit: 0 clean, 1 errors corrected, 4 errors left, "
		"8 operational error\n");
}

/* --rollback-to's SEQ: a commit's seq, digits only.  0, or -1 (said). */
static int parse_seq(const char *s, uint64_t *seq)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || v == 0) {
		cli_error("fsck: --rollback-to wants a commit's seq (ipmaildir "
			  "log lists them), not '%s'", s);
		return -1;
	}
	*seq = v;
	return 0;
}

/* What --repair would do, found by the check. */
struct plan {
	bool restore_head;     /* write head (and seen) = new_head */
	struct head new_head;
	const char *restore_why;
	bool rollback;         /* the head's commit or tree is damaged */
	struct cid rollback_cid;
	uint64_t rollback_seq, rollback_from;
	bool no_intact;        /* no intact commit to roll back to */
	bool explicit_rollback; /* --rollback-to: list what it drops */
	struct commit head_commit; /* the head's, when it read */
	bool head_commit_ok;
	bool salvage;          /* damaged files: move them aside (salvage.h) */
	struct cid salvage_parent; /* the newest commit below the head that
				      names none of their blocks; len 0:
				      none retained (the history is cut) */
	uint64_t salvage_parent_seq;
	bool journal_damage;   /* damaged files only the journal names */
	bool dir_damaged;      /* the head's folders do not load: only
				  --rollback-to repairs that */
	uint64_t suggest_seq;  /* the newest intact commit, for it */
	bool cut_chain;        /* commits below cut_seq are unreadable */
	struct cid cut_cid;
	uint64_t cut_seq;
	bool cut_journal;
	char journal_file[256];
	uint64_t journal_offset;
	bool torn_tail;
	uint64_t journal_records; /* records that would be replayed */
};

struct fsck {
	struct history h;
	bool deep, mounted, verbose;
	unsigned problems;
	struct plan plan;
	struct cid_set *verified; /* blocks found intact */
	uint8_t *plain;
	uint64_t blocks, files;
	unsigned tree_bad; /* problems in the tree being checked */
	bool tree_loaded;  /* the last check_tree got past its folders */
	/* Damaged files of the head (and the journal over it), while
	 * collect is set: what --repair salvages. */
	struct salvage_list damaged;
	struct cid_set *bad_cids; /* their blocks that failed */
	bool collect;
	uint64_t rollback_to; /* --rollback-to SEQ; 0: none */
	/* A bar on stderr while blocks are verified, on a terminal only:
	 * the per-commit lines on stdout are the plain form.  NULL: none. */
	struct progress *prog;
	struct progress bar;
};

static void problem(struct fsck *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void problem(struct fsck *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	progress_clear(f->prog);
	fputs("fsck: DAMAGE: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	f->problems++;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("fsck: ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
}

/* Why a read failed, naming the block: the store's failure if it had one
 * (missing, altered), else the block's own (does not open).  Returns
 * the error it names. */
static int why(struct fsck *f, const struct cid *hint, int err,
		char *text, size_t tsize, char *cid_text)
{
	struct cid bad;
	int store_err = 0;
	bool from_store = history_last_bad(&f->h, &bad, &store_err);
	cid_format(from_store ? &bad : hint, cid_text, CID_TEXT_MAX);
	int e = from_store ? store_err : err;
	snprintf(text, tsize, "%s",
		 e == -ENOENT	       ? "missing from the store"
		 : from_store && e == -EBADMSG
			 ? "altered (its bytes do not hash to its CID)"
		 : e == -EKEYREJECTED ? "not signed by this mailbox's key"
		 : e == -EBADMSG      ? "does not open under its key "
				       "(damaged or malformed)"
				      : strerror(-e));
	return e;
}

/* ---- blocks of a tree ---- */

/* A damaged file of the head: what --repair will move aside.  Only a
 * block that is gone or does not open is damage; any other failure (a
 * node that does not answer, EIO) may pass, and moving the file would
 * drop the blocks that still hold it. */
static int collect(struct fsck *f, const struct reach_block *b, int err,
		   const char *kind, const char *ctext, const char *text)
{
	if (!f->collect)
		return 0;
	if (err != -ENOENT && err != -EBADMSG) {
		note("%s: a read error, not damage: --repair leaves it in "
		     "place (run again when the store or node answers)",
		     b->path);
		return 0;
	}
	if (!f->bad_cids && !(f->bad_cids = cid_set_new()))
		return -ENOMEM;
	if (cid_set_add(f->bad_cids, b->cid) < 0)
		return -ENOMEM;
	char why[SALVAGE_WHY_MAX];
	if (snprintf(why, sizeof(why), "%s %s %s", kind, ctext, text) >=
	    (int)sizeof(why))
		why[sizeof(why) - 1] = '\0'; /* a shorter reason is enough */
	return salvage_add(&f->damaged, b->path, why);
}

static int verify_block(const struct reach_block *b, void *arg)
{
	struct fsck *f = arg;
	char text[128], ctext[CID_TEXT_MAX];
	if (b->error) {
		int err = why(f, b->cid, b->error, text, sizeof(text), ctext);
		problem(f, "file %s: index block %s: %s", b->path, ctext,
			text);
		f->tree_bad++;
		return collect(f, b, err, "index block", ctext, text);
	}
	f->blocks++;
	progress_add(f->prog, 1, b->chunk ? b->chunk->size : 0);
	if (b->kind != BLOCK_CHUNK)
		return 0; /* directories and indexes opened on the way */
	history_clear_bad(&f->h);
	size_t len;
	int e = obj_open_chunk(&f->h.st, b->chunk, f->plain, &len);
	if (e) {
		e = why(f, b->cid, e, text, sizeof(text), ctext);
		problem(f, "file %s: chunk %s: %s", b->path, ctext, text);
		f->tree_bad++;
		return collect(f, b, e, "chunk", ctext, text);
	}
	return 0;
}

static const char *kind_name(enum block_kind k)
{
	return k == BLOCK_CHUNK	    ? "chunk"
	       : k == BLOCK_INDEX     ? "index"
	       : k == BLOCK_DIRECTORY ? "directory"
				      : "block";
}

/* --verbose: one line per block, for an admin who wants to see (and for
 * tests that need to know which block file holds what). */
static int verify_block_verbose(const struct reach_block *b, void *arg)
{
	struct fsck *f = arg;
	unsigned before = f->problems;
	int r = verify_block(b, arg);
	char ctext[CID_TEXT_MAX];
	cid_format(b->cid, ctext, sizeof(ctext));
	if (f->problems == before)
		printf("fsck: ok %s %s %s\n", kind_name(b->kind), ctext,
		       b->path);
	return r;
}

/* Check one commit's tree; returns the number of problems found in it. */
static unsigned check_tree(struct fsck *f, const struct cid *cid,
			   const struct commit *c, struct fs_tree **keep)
{
	char text[128], ctext[CID_TEXT_MAX];
	struct fs_tree *t = NULL;
	f->tree_bad = 0;
	f->tree_loaded = false;
	history_clear_bad(&f->h);
	int e = history_tree(&f->h, c, &t);
	if (e) {
		why(f, &c->tree.cid, e, text, sizeof(text), ctext);
		problem(f, "commit %llu: directory node %s: %s",
			(unsigned long long)c->seq, ctext, text);
		return 1;
	}
	f->tree_loaded = true;
	uint64_t before = f->blocks;
	if (f->verbose) {
		char ctext2[CID_TEXT_MAX];
		cid_format(cid, ctext2, sizeof(ctext2));
		printf("fsck: ok commit %s %llu\n", ctext2,
		       (unsigned long long)c->seq);
	}
	e = reach_tree(&f->h.st, t, f->verified,
		       f->verbose ? verify_block_verbose : verify_block, f);
	if (e) {
		problem(f, "commit %llu: walking its tree: %s",
			(unsigned long long)c->seq, strerror(-e));
		f->tree_bad++;
	}
	cid_format(cid, ctext, sizeof(ctext));
	progress_clear(f->prog);
	if (!f->tree_bad)
		note("commit %llu (%s): %llu more blocks verified",
		     (unsigned long long)c->seq, ctext,
		     (unsigned long long)(f->blocks - before));
	if (keep && !f->tree_bad)
		*keep = t;
	else
		tree_free(t);
	return f->tree_bad;
}

/* ---- the head ---- */

struct newest {
	struct history *h;
	struct cid cid;
	struct commit c;
	bool found;
	uint8_t *buf;
};

static int try_commit(const struct cid *cid, void *arg)
{
	struct newest *n = arg;
	size_t len;
	struct commit c;
	if (bs_get(n->h->local, cid, n->buf, COMMIT_PLAIN_MAX + 64, &len))
		return 0; /* too big to be a commit, or unreadable */
	if (commit_open(n->buf, len, &n->h->keys, &c) == 0 &&
	    (!n->found || c.seq > n->c.seq)) {
		n->cid = *cid;
		n->c = c;
		n->found = true;
	}
	return 0;
}

/* The newest commit anywhere in the store: the last resort for a head. */
static bool find_newest_commit(struct fsck *f, struct cid *cid,
			       struct commit *c)
{
	struct newest n = {.h = &f->h, .buf = malloc(COMMIT_PLAIN_MAX + 64)};
	if (!n.buf)
		return false;
	bs_iterate(f->h.local, try_commit, &n);
	free(n.buf);
	if (n.found) {
		*cid = n.cid;
		*c = n.c;
	}
	return n.found;
}

/* ---- the state files: a head or seen that is missing or damaged ---- */

/* The highest seq this store is known to have accepted, from the state
 * files that still read: a rebuilt head may not fall below it. */
static uint64_t accepted_top(const struct history *h)
{
	uint64_t top = 0;
	if (h->head_err == 0 && h->head.max_seq > top)
		top = h->head.max_seq;
	if (h->seen_err == 0 && h->seen.max_seq > top)
		top = h->seen.max_seq;
	if (h->pruned_err == 0 && h->pruned.seq > top)
		top = h->pruned.seq;
	return top;
}

/*
 * The head from the newest commit that verifies: never below what was
 * accepted here, so when that commit is older, its state becomes a new
 * commit above (the rollback repair).  The journal generation is unknown:
 * replay them all.  false: no commit of this mailbox is left.
 */
static bool head_from_newest(struct fsck *f, struct cid *start)
{
	struct cid cid;
	struct commit c;
	if (!find_newest_commit(f, &cid, &c))
		return false;
	uint64_t top = accepted_top(&f->h);
	f->plan.restore_head = true;
	f->plan.new_head = (struct head){.commit = cid, .seq = c.seq,
					 .journal_gen = 1,
					 .max_seq = c.seq > top ? c.seq : top};
	f->plan.restore_why = "from the newest commit in the store";
	if (c.seq < top) {
		f->plan.rollback = true;
		f->plan.rollback_cid = cid;
		f->plan.rollback_seq = c.seq;
		f->plan.rollback_from = top;
	}
	*start = cid;
	return true;
}

/*
 * The head is missing, damaged, or names no commit while seen names one:
 * report it unless the store is simply new, and plan its rebuild — from
 * seen, else from the newest commit that verifies, else (nothing was ever
 * committed, only journaled) as a new mailbox's head.  Returns pick_head's
 * answer.
 */
static bool rebuild_head(struct fsck *f, struct cid *start)
{
	struct history *h = &f->h;
	bool seen_ok = h->seen_err == 0 && h->seen.commit.len;
	int data = h->head_err == -ENOENT ? store_has_data(&h->paths) : 0;
	struct commit c;
	if (h->head_err == -EBADMSG)
		problem(f, "STORE/head is damaged, an old untyped copy, or "
			   "not written with this mailbox's key");
	else if (h->head_err == -ENOENT && (data != 0 || seen_ok))
		problem(f, "STORE/head is missing, but the store holds mail: "
			   "a mount would start an empty mailbox over it");
	else if (h->head_err == 0 && seen_ok)
		problem(f, "STORE/head names no commit, but commit %llu was "
			   "accepted here (STORE/seen): the head was "
			   "replaced by an old copy",
			(unsigned long long)h->seen.seq);
	else
		return false; /* never committed */
	if (seen_ok && history_commit(h, &h->seen.commit, &c) == 0) {
		f->plan.restore_head = true;
		f->plan.new_head = h->seen;
		f->plan.restore_why = "from STORE/seen";
		*start = h->seen.commit;
		return true;
	}
	if (head_from_newest(f, start))
		return true;
	if (accepted_top(h) > 0) {
		problem(f, "no commit of this mailbox is left in the store");
		f->plan.no_intact = true;
		return false;
	}
	/* Only journal records: the head of a mailbox with no commit yet. */
	f->plan.restore_head = true;
	f->plan.new_head = (struct head){.journal_gen = 1};
	f->plan.restore_why = "as a new mailbox's (no commit yet; its "
			      "journal is replayed)";
	return false;
}

/*
 * The head reads but seen does not (damaged, an old untyped copy, or
 * gone): rollback protection is lost until it is rewritten.  The repair
 * writes it from the head — or, when the store holds a newer commit than
 * the head names, moves the head there first (a head rolled back behind a
 * damaged seen).  true when it did (and set *start).
 */
static bool check_seen(struct fsck *f, struct cid *start)
{
	struct history *h = &f->h;
	if (h->seen_err == 0)
		return false;
	problem(f, "STORE/seen is %s: a rolled-back head can't be told apart "
		   "without it",
		h->seen_err == -ENOENT ? "missing"
				       : "damaged or an old untyped copy");
	struct cid cid;
	struct commit c;
	f->plan.restore_head = true;
	f->plan.new_head = h->head;
	f->plan.restore_why = "as it was, and STORE/seen from it";
	if (find_newest_commit(f, &cid, &c) && c.seq > h->head.seq) {
		char ctext[CID_TEXT_MAX];
		cid_format(&cid, ctext, sizeof(ctext));
		problem(f, "STORE/head names commit %llu, but the store holds "
			   "commit %llu (%s): the head may have been rolled "
			   "back",
			(unsigned long long)h->head.seq,
			(unsigned long long)c.seq, ctext);
		f->plan.new_head = (struct head){
			.commit = cid, .seq = c.seq,
			.journal_gen = h->head.journal_gen,
			.max_seq = c.seq > h->head.max_seq ? c.seq
							   : h->head.max_seq};
		f->plan.restore_why = "from the newest commit in the store";
		*start = cid;
		return true;
	}
	return false;
}

/* Decide which commit the check starts from; false: none (new mailbox). */
static bool pick_head(struct fsck *f, struct cid *start)
{
	struct history *h = &f->h;
	char ctext[CID_TEXT_MAX];
	bool seen_ok = h->seen_err == 0 && h->seen.commit.len;
	struct commit c;
	if (h->head_err == 0 && h->head.commit.len) {
		*start = h->head.commit;
		if (seen_ok && h->seen.max_seq > h->head.seq &&
		    h->seen.seq > h->head.seq &&
		    history_commit(h, &h->seen.commit, &c) == 0) {
			cid_format(&h->seen.commit, ctext, sizeof(ctext));
			problem(f,
				"STORE/head names commit %llu, but commit "
				"%llu (%s) was already accepted here "
				"(STORE/seen): the head was rolled back or "
				"replaced by an older copy",
				(unsigned long long)h->head.seq,
				(unsigned long long)h->seen.seq, ctext);
			f->plan.restore_head = true;
			f->plan.new_head = h->seen;
			f->plan.restore_why = "from STORE/seen";
			*start = h->seen.commit;
		}
		check_seen(f, start);
		return true;
	}
	if (h->head_err == 0 && !seen_ok) /* a head with no commit yet */
		return h->seen_err == -EBADMSG && check_seen(f, start);
	return rebuild_head(f, start);
}

/* ---- the chain ---- */

static int check_chain(struct fsck *f, const struct cid *start,
		       struct commit_list *l)
{
	struct chain_stop stop;
	char ctext[CID_TEXT_MAX], text[128];
	history_clear_bad(&f->h);
	int e = chain_walk(f->h.bs, &f->h.keys, start,
			   f->h.pruned_err ? NULL : &f->h.pruned.commit,
			   commit_list_add, l, &stop);
	if (e == -ENOMEM)
		return e;
	if (e) {
		why(f, &stop.at, e, text, sizeof(text), ctext);
		if (e == -EPROTO && stop.parentless)
			snprintf(text, sizeof(text),
				 "has no parent but seq %llu (a first commit "
				 "is seq 1)",
				 (unsigned long long)stop.got_seq);
		else if (e == -EPROTO)
			snprintf(text, sizeof(text),
				 "has seq %llu, not below its child's %llu",
				 (unsigned long long)stop.got_seq,
				 (unsigned long long)stop.want_seq + 1);
		if (l->n == 0)
			problem(f, "the head commit %s: %s", ctext, text);
		else
			problem(f, "commit chain broken below commit %llu: "
				   "its parent %s %s",
				(unsigned long long)l->commits[l->n - 1].seq,
				ctext, text);
		if (l->n > 0) {
			f->plan.cut_chain = true;
			f->plan.cut_cid = l->cids[l->n - 1];
			f->plan.cut_seq = l->commits[l->n - 1].seq;
		}
	}
	if (l->n)
		note("chain: %zu commits, seq %llu down to %llu%s", l->n,
		     (unsigned long long)l->commits[0].seq,
		     (unsigned long long)l->commits[l->n - 1].seq,
		     stop.pruned ? " (older ones freed by gc)" : "");
	return 0;
}

/* ---- the journal ---- */

struct replay {
	struct fsck *f;
	struct fs_tree *tree;
	uint64_t applied, skipped, blocks;
	int bad; /* a block record that does not fit */
};

static int replay_record(uint64_t gen, uint64_t seq, const uint8_t *payload,
			 size_t len, void *arg)
{
	(void)gen;
	(void)seq;
	struct replay *r = arg;
	struct journal_payload p;
	journal_payload_decode(payload, len, &p);
	if (p.kind == JOURNAL_PAYLOAD_BLOCK) {
		struct cid cid;
		int e = history_add_overlay(&r->f->h, p.body, p.len, &cid);
		if (e)
			return e;
		r->blocks++;
		return 0;
	}
	int e = record_replay(r->tree, p.body, p.len);
	if (e == -EBADMSG)
		return e;
	if (e)
		r->skipped++;
	else
		r->applied++;
	return 0;
}

static void check_journal(struct fsck *f, const struct commit *base,
			  uint64_t from_gen)
{
	if (f->mounted) {
		note("journal: not checked: the mailbox is mounted and "
		     "writing it");
		return;
	}
	struct replay r = {.f = f};
	int e = base ? history_tree(&f->h, base, &r.tree)
		     : tree_new(&r.tree, getuid(), getgid(),
				&(struct timespec){0, 0});
	if (e) {
		note("journal: not checked: no intact tree to replay it over");
		return;
	}
	struct journal_replay_stats js;
	e = journal_replay(f->h.paths.journal, f->h.keys.journal, from_gen,
			   false, replay_record, &r, &js);
	if (e == -EBADMSG) {
		problem(f, "journal %s: the record at offset %llu does not "
			   "open or is malformed (%llu records before it "
			   "are fine)",
			js.bad_file, (unsigned long long)js.bad_offset,
			(unsigned long long)js.records);
		f->plan.cut_journal = true;
		snprintf(f->plan.journal_file, sizeof(f->plan.journal_file),
			 "%s", js.bad_file);
		f->plan.journal_offset = js.bad_offset;
	} else if (e) {
		problem(f, "journal: %s", strerror(-e));
	}
	if (!e && js.torn_tail_bytes) {
		problem(f, "journal: its last record (%llu bytes) is torn or "
			   "does not open: cut off at the next mount",
			(unsigned long long)js.torn_tail_bytes);
		f->plan.torn_tail = true;
	}
	f->plan.journal_records = r.applied + r.skipped;
	if (!e && js.records)
		note("journal: %llu files, %llu records (%llu blocks carried "
		     "in it): %llu changes replay over commit %llu, %llu "
		     "skipped (failed live too)",
		     (unsigned long long)js.files,
		     (unsigned long long)js.records,
		     (unsigned long long)r.blocks,
		     (unsigned long long)r.applied,
		     (unsigned long long)(base ? base->seq : 0),
		     (unsigned long long)r.skipped);
	else if (!e)
		note("journal: empty");
	/* What the replayed tree names beyond the commit must be there. */
	if (!e && r.applied) {
		f->tree_bad = 0;
		e = reach_tree(&f->h.st, r.tree, f->verified, verify_block, f);
		if (e)
			problem(f, "journal: walking the replayed tree: %s",
				strerror(-e));
	}
	tree_free(r.tree);
}

/* ---- the whole check ---- */

/* Newest commit (from index i on) whose tree is intact, or -1. */
static long newest_intact(struct fsck *f, struct commit_list *l, size_t i)
{
	for (; i < l->n; i++) {
		struct cid_set *save = f->verified;
		unsigned before = f->problems;
		/* Checked against a set of its own, quietly counted. */
		f->verified = cid_set_new();
		if (!f->verified) {
			f->verified = save;
			return -1;
		}
		unsigned bad = check_tree(f, &l->cids[i], &l->commits[i],
					  NULL);
		cid_set_free(f->verified);
		f->verified = save;
		f->problems = before; /* already reported for the head */
		if (!bad)
			return (long)i;
	}
	return -1;
}

/* Does a commit's tree name a block that failed in the head (or fail to
 * load or walk)?  Listing only: chunks are not opened. */
static int names_bad(const struct reach_block *b, void *arg)
{
	struct fsck *f = arg;
	return b->error || (f->bad_cids && cid_set_has(f->bad_cids, b->cid))
		       ? 1
		       : 0;
}

static bool commit_names_bad(struct fsck *f, const struct commit *c)
{
	struct fs_tree *t;
	if (history_tree(&f->h, c, &t))
		return true;
	int r = reach_tree(&f->h.st, t, NULL, names_bad, f);
	tree_free(t);
	return r != 0;
}

/*
 * Every commit from the head down to where the damaged files came in
 * names their lost blocks: gc and fsck --deep would refuse or cut each.
 * The salvage commit's parent is therefore the newest commit below that
 * names none of them (a seq gap, as a rollback has); the ones skipped
 * leave the history.  None retained: the history starts at the salvage.
 */
static void salvage_parent(struct fsck *f, struct commit_list *l)
{
	for (size_t i = 1; i < l->n; i++) {
		if (!commit_names_bad(f, &l->commits[i])) {
			f->plan.salvage_parent = l->cids[i];
			f->plan.salvage_parent_seq = l->commits[i].seq;
			return;
		}
	}
}

/*
 * The head's tree is damaged.  Damaged files only: they are salvaged and
 * the rest stays (plan.salvage).  A directory node that does not load
 * hides the folders under it, and rolling back would drop whatever came
 * after the intact commit: that is for the user to ask (--rollback-to),
 * so only the newest intact commit is named.
 */
static void plan_damaged_head(struct fsck *f, struct commit_list *l,
			      const struct commit **base)
{
	if (f->tree_loaded) {
		f->plan.salvage = true;
		*base = &l->commits[0];
		salvage_parent(f, l);
		return;
	}
	long i = newest_intact(f, l, 1);
	if (i < 0) {
		f->plan.no_intact = true;
		note("no retained commit is intact: nothing to roll back to");
		return;
	}
	char ctext[CID_TEXT_MAX];
	cid_format(&l->cids[i], ctext, sizeof(ctext));
	f->plan.dir_damaged = true;
	f->plan.suggest_seq = l->commits[i].seq;
	note("the newest intact commit is %llu (%s): ipmaildir fsck "
	     "--rollback-to %llu restores it and lists what that drops",
	     (unsigned long long)l->commits[i].seq, ctext,
	     (unsigned long long)l->commits[i].seq);
}

/* --rollback-to SEQ: the commit must be in the chain below the head, and
 * intact.  -ECANCELED (said why) otherwise. */
static int plan_rollback_to(struct fsck *f, struct commit_list *l,
			    const struct commit **base)
{
	size_t i = 0;
	while (i < l->n && l->commits[i].seq != f->rollback_to)
		i++;
	const char *why = i == l->n ? "no such commit in the retained chain"
			  : i == 0  ? "that is the head already"
				    : NULL;
	if (!why && newest_intact(f, l, i) != (long)i)
		why = "that commit is damaged too";
	if (why) {
		cli_error("fsck: --rollback-to %llu: %s (ipmaildir log lists "
			  "the commits)",
			  (unsigned long long)f->rollback_to, why);
		return -ECANCELED;
	}
	f->plan.rollback = f->plan.explicit_rollback = true;
	f->plan.rollback_cid = l->cids[i];
	f->plan.rollback_seq = l->commits[i].seq;
	f->plan.rollback_from = l->commits[0].seq;
	*base = &l->commits[i];
	return 0;
}

static int run_check(struct fsck *f)
{
	struct cid start;
	struct commit_list l = {0};
	memset(&f->plan, 0, sizeof(f->plan));
	salvage_free(&f->damaged);
	cid_set_free(f->bad_cids);
	f->bad_cids = NULL;
	f->problems = 0;
	f->blocks = 0;
	progress_start(f->prog, STDERR_FILENO, "fsck", "blocks", 0, 0, false);
	cid_set_free(f->verified);
	f->verified = cid_set_new();
	if (!f->verified)
		return -ENOMEM;
	if (!pick_head(f, &start)) {
		check_journal(f, NULL, 1);
		return 0;
	}
	int e = check_chain(f, &start, &l);
	if (e)
		goto out;
	const struct commit *base = NULL;
	uint64_t from_gen = f->plan.restore_head ? f->plan.new_head.journal_gen
						 : f->h.head.journal_gen;
	if (l.n == 0 && f->rollback_to) {
		cli_error("fsck: --rollback-to %llu: the head commit does not "
			  "read, so the chain to it can't be followed; "
			  "ipmaildir fsck --repair restores the newest commit "
			  "in the store",
			  (unsigned long long)f->rollback_to);
		e = -ECANCELED;
		goto out;
	}
	if (l.n == 0) {
		/* The head commit itself is gone: its parent link with it.
		 * The newest commit still in the store is where to go. */
		struct cid cid;
		struct commit nc;
		char ctext[CID_TEXT_MAX];
		if (find_newest_commit(f, &cid, &nc) &&
		    check_tree(f, &cid, &nc, NULL) == 0) {
			f->plan.rollback = true;
			f->plan.rollback_cid = cid;
			f->plan.rollback_seq = nc.seq;
			f->plan.rollback_from = f->plan.restore_head
							? f->plan.new_head.seq
							: f->h.head.seq;
			cid_format(&cid, ctext, sizeof(ctext));
			note("the newest intact commit in the store is %llu "
			     "(%s)",
			     (unsigned long long)nc.seq, ctext);
		} else {
			f->plan.no_intact = true;
		}
	} else {
		f->plan.head_commit = l.commits[0];
		f->plan.head_commit_ok = true;
		f->collect = !f->rollback_to;
		unsigned bad = check_tree(f, &l.cids[0], &l.commits[0], NULL);
		f->collect = false;
		if (f->rollback_to)
			e = plan_rollback_to(f, &l, &base);
		else if (bad)
			plan_damaged_head(f, &l, &base);
		else
			base = &l.commits[0];
		if (e)
			goto out;
		for (size_t i = 1; f->deep && i < l.n; i++) {
			/* A damaged old commit: the history is cut above it
			 * (its blocks go at the next gc). */
			if (check_tree(f, &l.cids[i], &l.commits[i], NULL) &&
			    !f->plan.cut_chain && !f->plan.rollback) {
				f->plan.cut_chain = true;
				f->plan.cut_cid = l.cids[i - 1];
				f->plan.cut_seq = l.commits[i - 1].seq;
			}
		}
	}
	if (base) {
		size_t before = f->damaged.n;
		f->collect = true;
		check_journal(f, base, from_gen);
		f->collect = false;
		f->plan.journal_damage = f->damaged.n > before;
	}
	e = 0;
out:
	commit_list_free(&l);
	return e;
}

/* ---- repairs ---- */

static int write_head(struct fsck *f, const struct head *h)
{
	int e = head_write(f->h.paths.head, f->h.keys.journal,
			   BLOCK_STATE_HEAD, h);
	if (!e)
		e = head_write(f->h.paths.seen, f->h.keys.journal,
			       BLOCK_STATE_SEEN, h);
	return e;
}

static int cut_file(const char *dir, const char *name, uint64_t off)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	int e = ftruncate(fd, (off_t)off) || fsync(fd) ? -errno : 0;
	close(fd);
	return e;
}

/*
 * The rollback target's state as a new signed commit whose seq is above
 * every seq accepted here (head, seen, the damaged chain): a remote reader
 * that saw the lost commits refuses anything below them, and the next
 * commit of the mount follows this one.  Its parent is the intact commit,
 * so history and gc keep walking (a seq gap is allowed there only).
 */
static int rollback_commit(struct fsck *f, struct head *h)
{
	struct plan *p = &f->plan;
	struct commit c;
	int e = history_commit(&f->h, &p->rollback_cid, &c);
	if (e)
		return e;
	uint64_t top = p->rollback_from;
	if (f->h.head_err == 0 && f->h.head.max_seq > top)
		top = f->h.head.max_seq;
	if (f->h.seen_err == 0 && f->h.seen.max_seq > top)
		top = f->h.seen.max_seq;
	if (p->restore_head && p->new_head.max_seq > top)
		top = p->new_head.max_seq;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	c.seq = top + 1;
	c.parent = p->rollback_cid;
	c.time_ns = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	c.added = c.removed = c.renamed = 0;
	memset(h, 0, sizeof(*h));
	/* Into the local store, durably, and queued for the node when the
	 * mailbox has one: every commit a head names must reach it. */
	e = commit_write(f->h.local, &f->h.keys, &c, &h->commit);
	if (!e)
		e = outbox_queue_in(f->h.paths.root, &h->commit);
	if (e)
		return e;
	h->seq = h->max_seq = c.seq;
	h->journal_gen = p->restore_head ? p->new_head.journal_gen
					 : f->h.head.journal_gen;
	return 0;
}

/* Files of the head tree that the rollback target has no more (by
 * inode: a message whose flags changed is the same message). */
struct dropped {
	struct fs_tree *target;
	char *path;
	size_t len, cap;
	uint64_t n;
};

static int dropped_walk(struct dropped *d, struct inode *dir, unsigned depth)
{
	if (depth > TREE_DEPTH_MAX)
		return -ELOOP;
	for (uint32_t b = 0; b < dir->dir->nbuckets; b++) {
		for (struct dirent *e = dir->dir->buckets[b]; e;
		     e = e->hash_next) {
			size_t back = d->len, need = back + e->name_len + 2;
			if (need > d->cap) {
				char *p = realloc(d->path, need * 2);
				if (!p)
					return -ENOMEM;
				d->path = p;
				d->cap = need * 2;
			}
			d->path[d->len++] = '/';
			memcpy(d->path + d->len, e->name, e->name_len);
			d->len += e->name_len;
			d->path[d->len] = '\0';
			int r = 0;
			if (S_ISDIR(e->inode->mode)) {
				r = dropped_walk(d, e->inode, depth + 1);
			} else if (!tree_get(d->target, e->inode->ino)) {
				printf("fsck: DROPPED: %s\n", d->path);
				d->n++;
			}
			d->len = back;
			if (r)
				return r;
		}
	}
	return 0;
}

/* Print what an asked-for rollback drops; -1 when the head's tree does
 * not load (then it can't be listed), else the count. */
static long list_dropped(struct fsck *f)
{
	struct fs_tree *head = NULL;
	struct dropped d = {0};
	struct commit target;
	if (!f->plan.head_commit_ok ||
	    history_tree(&f->h, &f->plan.head_commit, &head))
		return -1;
	int e = history_commit(&f->h, &f->plan.rollback_cid, &target);
	if (!e)
		e = history_tree(&f->h, &target, &d.target);
	if (!e)
		e = dropped_walk(&d, head->root, 0);
	tree_free(head);
	tree_free(d.target);
	free(d.path);
	return e ? -1 : (long)d.n;
}

static void say_rollback(struct fsck *f, const struct head *h)
{
	struct plan *p = &f->plan;
	char ctext[CID_TEXT_MAX];
	long dropped = p->explicit_rollback ? list_dropped(f) : 0;
	cid_format(&p->rollback_cid, ctext, sizeof(ctext));
	printf("fsck: REPAIRED: rolled the head back from commit %llu "
	       "to commit %llu (%s), %s: the changes of commits %llu to "
	       "%llu are lost; the journal is replayed over it (changes "
	       "that no longer apply are skipped)\n",
	       (unsigned long long)p->rollback_from,
	       (unsigned long long)p->rollback_seq, ctext,
	       p->explicit_rollback ? "as asked" : "the newest intact one",
	       (unsigned long long)p->rollback_seq + 1,
	       (unsigned long long)p->rollback_from);
	if (p->explicit_rollback && dropped >= 0)
		printf("fsck: REPAIRED: the rollback dropped %ld file%s of "
		       "the head (listed above as DROPPED)\n",
		       dropped, dropped == 1 ? "" : "s");
	else if (p->explicit_rollback)
		printf("fsck: REPAIRED: the head's tree does not read, so "
		       "what the rollback dropped can't be listed\n");
	cid_format(&h->commit, ctext, sizeof(ctext));
	printf("fsck: REPAIRED: that state is the new commit %llu "
	       "(%s), above every commit accepted before, so that "
	       "readers who saw those take it as news, not as a "
	       "rollback\n",
	       (unsigned long long)h->seq, ctext);
}

/* Everything but the journal replay; returns the first error. */
static int repair_files(struct fsck *f)
{
	struct plan *p = &f->plan;
	char ctext[CID_TEXT_MAX];
	int e = 0;
	if (p->restore_head && !p->rollback && !p->new_head.commit.len) {
		e = write_head(f, &p->new_head);
		if (e)
			return e;
		printf("fsck: REPAIRED: STORE/head written %s\n",
		       p->restore_why);
	} else if (p->restore_head && !p->rollback) {
		cid_format(&p->new_head.commit, ctext, sizeof(ctext));
		e = write_head(f, &p->new_head);
		if (e)
			return e;
		printf("fsck: REPAIRED: STORE/head restored %s: commit %llu "
		       "(%s)\n",
		       p->restore_why, (unsigned long long)p->new_head.seq,
		       ctext);
	}
	if (p->rollback) {
		struct head h;
		e = rollback_commit(f, &h);
		if (e)
			return e;
		e = write_head(f, &h);
		if (e)
			return e;
		say_rollback(f, &h);
	}
	if (p->cut_chain && !p->rollback) {
		cid_format(&p->cut_cid, ctext, sizeof(ctext));
		e = history_write_pruned(&f->h, &p->cut_cid, p->cut_seq);
		if (e)
			return e;
		printf("fsck: REPAIRED: the history now starts at commit %llu "
		       "(%s): older commits are unreadable and were "
		       "dropped from it\n",
		       (unsigned long long)p->cut_seq, ctext);
	}
	if (p->cut_journal) {
		e = cut_file(f->h.paths.journal, p->journal_file,
			     p->journal_offset);
		if (e)
			return e;
		printf("fsck: REPAIRED: cut journal %s at offset %llu: the "
		       "changes recorded from there on are lost\n",
		       p->journal_file,
		       (unsigned long long)p->journal_offset);
	}
	return 0;
}

/* One line per damaged file: where it went, or why it stayed. */
static void say_salvaged(const struct salvage_report *r, void *arg)
{
	(void)arg;
	const char *path = r->item->path;
	switch (r->outcome) {
	case SALVAGE_MOVED:
		printf("fsck: REPAIRED: %s: damaged (%s): moved to %s (%llu "
		       "of its %llu bytes read)\n",
		       path, r->item->why, r->to,
		       (unsigned long long)r->recovered,
		       (unsigned long long)r->size);
		break;
	case SALVAGE_GONE:
		printf("fsck: %s: gone after the journal's changes: nothing "
		       "to move\n", path);
		break;
	case SALVAGE_READS:
		printf("fsck: %s: reads whole now: left in place\n", path);
		break;
	case SALVAGE_FAILED:
		printf("fsck: NOT REPAIRED: %s: moving it to %s failed: %s\n",
		       path, SALVAGE_DIR, strerror(-r->error));
		break;
	}
}

/* Commit the moves.  Its parent is the newest commit naming none of the
 * lost blocks: below the head when they came from it (plan.salvage_parent;
 * none left: the history starts at the new commit), else the head the
 * journal was replayed over (the replay's commit names them). */
static int salvage_commit(struct ipmd_fs *fs, const struct plan *p)
{
	char ctext[CID_TEXT_MAX];
	uint64_t from = fs->head.seq, pseq = 0;
	struct cid parent = {0};
	if (p->salvage) {
		parent = p->salvage_parent;
		pseq = p->salvage_parent_seq;
	} else if (p->journal_damage && fs->last.parent.len) {
		parent = fs->last.parent;
		pseq = from - 1;
	}
	if (parent.len)
		fs->head.commit = parent;
	int e = ipmd_fs_commit(fs);
	if (e || (!parent.len && !p->salvage))
		return e;
	if (parent.len) {
		cid_format(&parent, ctext, sizeof(ctext));
		printf("fsck: REPAIRED: commits %llu to %llu name the lost "
		       "blocks: the new commit %llu follows commit %llu (%s), "
		       "the newest that does not, so the history (log, --at) "
		       "skips them and gc frees what only they held\n",
		       (unsigned long long)pseq + 1, (unsigned long long)from,
		       (unsigned long long)fs->head.seq,
		       (unsigned long long)pseq, ctext);
		return 0;
	}
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/%s", fs->paths.root,
		     HISTORY_PRUNED_FILE) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	struct head pr = {.commit = fs->head.commit, .seq = fs->head.seq,
			  .max_seq = fs->head.seq};
	e = head_write(path, fs->keys.journal, BLOCK_STATE_PRUNED, &pr);
	if (!e)
		printf("fsck: REPAIRED: every retained commit names the lost "
		       "blocks: the history now starts at the new commit "
		       "%llu\n",
		       (unsigned long long)fs->head.seq);
	return e;
}

/* Replay the journal into a commit, exactly as a mount would; damaged
 * files (if any) are moved aside in a commit of their own
 * (fs/tools/salvage.h). */
static int repair_replay(const struct history_options *ho, bool torn,
			 uint64_t records, const struct salvage_list *damaged,
			 const struct plan *p)
{
	struct mount_options mo = {.store = ho->store, .pass = ho->pass};
	static struct ipmd_fs fs;
	char msg[1024] = "";
	if (ipmd_fs_open(&fs, &mo, msg, sizeof(msg)) != 0) {
		cli_error("fsck: replaying the journal: %s", msg);
		ipmd_fs_close(&fs);
		return -1;
	}
	long moved = damaged->n
			     ? salvage_apply(&fs, damaged, say_salvaged, NULL)
			     : 0;
	if (moved < 0) {
		cli_error("fsck: moving damaged files aside: %s",
			  strerror((int)-moved));
		ipmd_fs_close(&fs);
		return -1;
	}
	/* The replay was committed by the open; the moves get their own. */
	int e = moved ? salvage_commit(&fs, p) : 0;
	uint64_t seq = fs.head.seq;
	int ce = ipmd_fs_close(&fs);
	e = e ? e : ce;
	if (e) {
		cli_error("fsck: the commit after the replay failed: %s",
			  strerror(-e));
		return -1;
	}
	if (torn)
		printf("fsck: REPAIRED: cut the torn last journal record\n");
	if (records)
		printf("fsck: REPAIRED: replayed %llu journal records into "
		       "commit %llu\n",
		       (unsigned long long)records, (unsigned long long)seq);
	if (moved)
		printf("fsck: REPAIRED: %ld damaged file%s moved to %s (a "
		       "Maildir++ folder: mail readers show it as "
		       "\"lost+found\") in commit %llu; every other file is "
		       "kept\n",
		       moved, moved == 1 ? "" : "s", SALVAGE_DIR,
		       (unsigned long long)seq);
	return 0;
}

/* Only a rollback would repair this, and none was asked for: say how. */
static bool rollback_unasked(const struct fsck *f)
{
	if (!f->plan.dir_damaged)
		return false;
	note("not repaired: a folder of the head does not load; nothing is "
	     "rolled back unasked: ipmaildir fsck --rollback-to %llu "
	     "restores the newest intact commit and lists what that drops",
	     (unsigned long long)f->plan.suggest_seq);
	return true;
}

int cmd_fsck(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"passphrase-command", required_argument, NULL, 'P'},
		{"deep", no_argument, NULL, 'D'},
		{"repair", no_argument, NULL, 'R'},
		{"verbose", no_argument, NULL, 'v'},
		{"node", required_argument, NULL, 'N'},
		{"rollback-to", required_argument, NULL, 'B'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct history_options ho = {.lock = HISTORY_LOCK_READ};
	bool repair = false, deep = false, node_arg = false;
	const char *node = getenv("IPMAILDIR_NODE");
	node = node && *node ? node : NULL;
	static struct fsck f;
	memset(&f, 0, sizeof(f));
	int c;
	while ((c = getopt_long(argc, argv, "s:p:vh", opts, NULL)) != -1) {
		switch (c) {
		case 's': ho.store = optarg; break;
		case 'p': ho.pass.file = optarg; break;
		case 'P': ho.pass.command = optarg; break;
		case 'D': deep = true; break;
		case 'R': repair = true; break;
		case 'v': f.verbose = true; break;
		case 'N': node = optarg; node_arg = true; break;
		case 'B':
			if (parse_seq(optarg, &f.rollback_to))
				return EXIT_USAGE;
			repair = true;
			break;
		case 'h': fsck_usage(stdout); return EXIT_OK;
		default: fsck_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fsck_usage(stderr);
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cli_config(&cfg, &ho.store, &ho.pass,
		       node_arg ? NULL : &node))
		return EXIT_USAGE;
	ho.node = node;
	if (repair)
		ho.lock = HISTORY_LOCK_EXCLUSIVE;
	f.deep = deep;
	char msg[1024] = "";
	int status = FSCK_OPERATIONAL;
	if (history_open(&f.h, &ho, msg, sizeof(msg))) {
		cli_error("fsck: %s", msg);
		goto out;
	}
	f.plain = malloc(OBJ_CHUNK_DEFAULT);
	int m = history_mounted(&f.h);
	f.mounted = m == 1;
	if (!f.plain || m < 0) {
		cli_error("fsck: %s", f.plain ? strerror(-m) : "out of memory");
		goto out;
	}
	note("checking %s%s", f.h.paths.root,
	     f.mounted ? " (mounted: the journal is left alone)" : "");
	f.prog = isatty(STDERR_FILENO) ? &f.bar : NULL;
	int e = run_check(&f);
	progress_done(f.prog, NULL);
	if (e) {
		if (e != -ECANCELED) /* said already */
			cli_error("fsck: %s", strerror(-e));
		goto out;
	}
	if (f.problems == 0 && !f.rollback_to) {
		if (repair && f.plan.journal_records) {
			history_close(&f.h);
			status = repair_replay(&ho, false,
					       f.plan.journal_records,
					       &f.damaged, &f.plan)
					 ? FSCK_OPERATIONAL
							   : FSCK_CORRECTED;
			goto out;
		}
		note("clean: %llu blocks verified",
		     (unsigned long long)f.blocks);
		status = FSCK_CLEAN;
		goto out;
	}
	if (!repair) {
		note("%u problem%s found; ipmaildir fsck --repair fixes what "
		     "can be fixed",
		     f.problems, f.problems == 1 ? "" : "s");
		status = FSCK_UNCORRECTED;
		goto out;
	}
	if (rollback_unasked(&f)) {
		status = FSCK_UNCORRECTED;
		goto out;
	}
	if (f.plan.no_intact && !f.plan.restore_head) {
		note("%u problem%s found and no intact commit to repair from",
		     f.problems, f.problems == 1 ? "" : "s");
		status = FSCK_UNCORRECTED;
		goto out;
	}
	e = repair_files(&f);
	if (e) {
		cli_error("fsck: repairing: %s", strerror(-e));
		goto out;
	}
	bool torn = f.plan.torn_tail;
	uint64_t records = f.plan.journal_records;
	history_close(&f.h);
	if (repair_replay(&ho, torn, records, &f.damaged, &f.plan))
		goto out;
	f.rollback_to = 0; /* done: the check below must not plan it again */
	/* Everything again, as a check only: the exit status tells the
	 * truth about the result, not about the intent. */
	ho.lock = HISTORY_LOCK_READ;
	if (history_open(&f.h, &ho, msg, sizeof(msg))) {
		cli_error("fsck: %s", msg);
		goto out;
	}
	note("checking again after the repair");
	e = run_check(&f);
	progress_done(f.prog, NULL);
	if (e) {
		cli_error("fsck: %s", strerror(-e));
		goto out;
	}
	if (f.problems) {
		note("%u problem%s left after the repair", f.problems,
		     f.problems == 1 ? "" : "s");
		status = FSCK_UNCORRECTED;
	} else {
		note("repaired: the mailbox is consistent and mountable");
		status = FSCK_CORRECTED;
	}
out:
	history_close(&f.h);
	cid_set_free(f.verified);
	salvage_free(&f.damaged);
	cid_set_free(f.bad_cids);
	free(f.plain);
	config_free(&cfg);
	return status;
}
