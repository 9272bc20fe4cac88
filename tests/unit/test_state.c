/* tests/unit/test_state.c — the store's state files (fs/store/head.h): typed
 * head/seen/pruned, the untyped files of earlier releases, state_read's
 * rule, state_upgrade, state_check; and store_has_data (fs/store/store.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/keys.h"
#include "crypto/seal.h"
#include "fs/model/tree.h"
#include "fs/store/device.h"
#include "fs/store/head.h"
#include "fs/store/store.h"
#include "ipfs/cid.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

static struct mailbox_keys keys;

static void copy_file(const char *from, const char *to)
{
	size_t n;
	uint8_t *buf = harness_read_file(from, &n);
	harness_write_file(to, buf, n);
	free(buf);
}

static struct head sample(uint64_t seq, uint64_t seed)
{
	uint8_t data[64];
	struct head h = {.seq = seq, .journal_gen = seq + 1, .max_seq = seq};
	tap_fill_random(data, sizeof(data), seed);
	cid_of_raw_block(&h.commit, data, sizeof(data));
	return h;
}

static bool same(const struct head *a, const struct head *b)
{
	return cid_equal(&a->commit, &b->commit) && a->seq == b->seq &&
	       a->journal_gen == b->journal_gen && a->max_seq == b->max_seq;
}

/* A state file whose JSON is fmt (given h's commit, journal_gen,
 * max_seq, seq in that order), sealed as kind. */
static void write_json(const char *path, const struct head *h,
		       enum block_kind kind, const char *fmt)
{
	char text[512], ctext[CID_TEXT_MAX];
	uint8_t sealed[sizeof(text) + IPMD_SEAL_OVERHEAD];
	if (cid_format(&h->commit, ctext, sizeof(ctext)) != 0)
		abort();
	int n = snprintf(text, sizeof(text), fmt, ctext,
			 (unsigned long long)h->journal_gen,
			 (unsigned long long)h->max_seq,
			 (unsigned long long)h->seq);
	if (seal_with_key(sealed, (const uint8_t *)text, (size_t)n, kind,
			  keys.journal, NULL) != 0)
		abort();
	harness_write_file(path, sealed, (size_t)n + IPMD_SEAL_OVERHEAD);
}

/* A state file as releases before the typed format wrote it. */
static void write_untyped(const char *path, const struct head *h)
{
	write_json(path, h, BLOCK_JOURNAL,
		   "{\"commit\":\"%s\",\"journal_gen\":%llu,"
		   "\"max_seq\":%llu,\"seq\":%llu,\"v\":1}");
}

static void test_kinds(void)
{
	const char *a = harness_path("a"), *b = harness_path("b");
	struct head h = sample(4, 1), got;
	bool untyped = true;

	is_int(head_write(a, keys.journal, BLOCK_STATE_SEEN, &h), 0,
	       "seen written typed");
	is_int(head_read(a, keys.journal, BLOCK_STATE_SEEN, &got, &untyped), 0,
	       "and reads as seen");
	ok(same(&h, &got) && !untyped, "every field, and typed");
	is_int(head_read(a, keys.journal, BLOCK_STATE_HEAD, &got, &untyped),
	       -EBADMSG, "a seen does not open as a head (even with untyped "
			 "files allowed)");
	is_int(head_read(a, keys.journal, BLOCK_STATE_PRUNED, &got, NULL),
	       -EBADMSG, "nor as pruned");
	is_int(head_read(a, keys.journal, BLOCK_JOURNAL, &got, NULL), -EINVAL,
	       "a kind that is not a state file: -EINVAL");
	is_int(head_write(a, keys.journal, BLOCK_CHUNK, &h), -EINVAL,
	       "nor written as one");

	write_untyped(b, &h);
	is_int(head_read(b, keys.journal, BLOCK_STATE_HEAD, &got, NULL),
	       -EBADMSG, "an untyped file is refused when only typed ones "
			 "may be");
	untyped = false;
	is_int(head_read(b, keys.journal, BLOCK_STATE_HEAD, &got, &untyped), 0,
	       "and read when untyped ones may be");
	ok(same(&h, &got) && untyped, "every field, and said untyped");
}

/* Seen and pruned are written as "v":2 with exactly the five keys a
 * release before "v":3 requires (so it reads them and rebuilds a head it
 * cannot read from seen); a "v":3 seen or pruned (the release before
 * this wrote them so) still reads. */
static void test_versions_seen(void)
{
	const char *a = harness_path("v-seen");
	const enum block_kind kinds[] = {BLOCK_STATE_SEEN, BLOCK_STATE_PRUNED};
	const char *const names[] = {"seen", "pruned"};
	struct head h = sample(6, 10), got;
	uint8_t sealed[HEAD_PLAIN_MAX + IPMD_SEAL_OVERHEAD];
	uint8_t plain[HEAD_PLAIN_MAX + 1];
	for (size_t k = 0; k < 2; k++) {
		size_t len = 0, plen = 0;
		char want[512], ctext[CID_TEXT_MAX];
		h.journal_first = true;
		is_int(head_write(a, keys.journal, kinds[k], &h), 0,
		       "%s written (given journal_first)", names[k]);
		ok(state_file_load(a, sealed, sizeof(sealed), &len) == 0 &&
			   seal_open(plain, &plen, sealed, len, kinds[k],
				     keys.journal) == 0,
		   "its bytes open");
		plain[plen] = 0;
		if (cid_format(&h.commit, ctext, sizeof(ctext)) != 0)
			abort();
		snprintf(want, sizeof(want),
			 "{\"commit\":\"%s\",\"journal_gen\":%llu,"
			 "\"max_seq\":%llu,\"seq\":%llu,\"v\":2}",
			 ctext, (unsigned long long)h.journal_gen,
			 (unsigned long long)h.max_seq,
			 (unsigned long long)h.seq);
		is_str((char *)plain, want,
		       "as \"v\":2 with the five keys of that version");
		ok(head_read(a, keys.journal, kinds[k], &got, NULL) == 0 &&
			   same(&h, &got) && !got.journal_first,
		   "reads back, journal_first false");
		write_json(a, &h, kinds[k],
			   "{\"commit\":\"%s\",\"journal_gen\":%llu,"
			   "\"max_seq\":%llu,\"seq\":%llu,\"v\":3,"
			   "\"journal_first\":true}");
		ok(head_read(a, keys.journal, kinds[k], &got, NULL) == 0 &&
			   same(&h, &got),
		   "a \"v\":3 %s still reads", names[k]);
	}
}

/* "v":3 adds journal_first and is written; "v":2 still reads, without. */
static void test_versions(void)
{
	const char *a = harness_path("v");
	struct head h = sample(5, 9), got;
	uint8_t sealed[HEAD_PLAIN_MAX + IPMD_SEAL_OVERHEAD];
	uint8_t plain[HEAD_PLAIN_MAX + 1];
	size_t len = 0, plen = 0;

	h.journal_first = true;
	is_int(head_write(a, keys.journal, BLOCK_STATE_HEAD, &h), 0,
	       "a head with journal_first written");
	ok(head_read(a, keys.journal, BLOCK_STATE_HEAD, &got, NULL) == 0 &&
		   same(&h, &got) && got.journal_first,
	   "reads back with journal_first");
	ok(state_file_load(a, sealed, sizeof(sealed), &len) == 0 &&
		   seal_open(plain, &plen, sealed, len, BLOCK_STATE_HEAD,
			     keys.journal) == 0,
	   "its bytes open");
	plain[plen] = 0;
	ok(strstr((char *)plain, "\"v\":3") &&
		   strstr((char *)plain, "\"journal_first\":true"),
	   "as \"v\":3 with \"journal_first\":true (%s)", (char *)plain);
	h.journal_first = false;
	is_int(head_write(a, keys.journal, BLOCK_STATE_HEAD, &h), 0,
	       "and without");
	ok(head_read(a, keys.journal, BLOCK_STATE_HEAD, &got, NULL) == 0 &&
		   same(&h, &got) && !got.journal_first,
	   "reads back without");

	write_json(a, &h, BLOCK_STATE_HEAD,
		   "{\"commit\":\"%s\",\"journal_gen\":%llu,"
		   "\"max_seq\":%llu,\"seq\":%llu,\"v\":2}");
	got.journal_first = true;
	ok(head_read(a, keys.journal, BLOCK_STATE_HEAD, &got, NULL) == 0 &&
		   same(&h, &got) && !got.journal_first,
	   "a \"v\":2 head reads, journal_first false");
	/* The JSON after "max_seq" and "seq", and why it does not read. */
	static const struct {
		const char *tail, *why;
	} bad[] = {
		{"\"v\":2,\"journal_first\":true",
		 "a \"v\":2 head with journal_first is malformed"},
		{"\"v\":3", "a \"v\":3 head without it is malformed"},
		{"\"v\":3,\"journal_first\":1",
		 "journal_first must be a boolean"},
		{"\"v\":4,\"journal_first\":true", "a later version is refused"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char fmt[256];
		snprintf(fmt, sizeof(fmt),
			 "{\"commit\":\"%%s\",\"journal_gen\":%%llu,"
			 "\"max_seq\":%%llu,\"seq\":%%llu,%s}",
			 bad[i].tail);
		write_json(a, &h, BLOCK_STATE_HEAD, fmt);
		is_int(head_read(a, keys.journal, BLOCK_STATE_HEAD, &got,
				 NULL),
		       -EBADMSG, "%s", bad[i].why);
	}
}

struct files {
	const char *head, *seen, *pruned;
};

static struct files fresh_dir(const char *name)
{
	const char *dir = harness_path(name);
	struct files f;
	static char paths[3][3][PATH_MAX];
	static int n;
	if (mkdir(dir, 0700) != 0)
		abort();
	snprintf(paths[n][0], PATH_MAX, "%s/head", dir);
	snprintf(paths[n][1], PATH_MAX, "%s/seen", dir);
	snprintf(paths[n][2], PATH_MAX, "%s/pruned", dir);
	f = (struct files){paths[n][0], paths[n][1], paths[n][2]};
	n = (n + 1) % 3;
	return f;
}

/* state_read of f's three files. */
static void read_set(const struct files *f, struct state_set *s)
{
	state_read(f->head, f->seen, f->pruned, keys.journal, s);
}

/* f read again: state_check's verdict (blocks: the store holds data). */
static void check_set(const struct files *f, struct state_set *s,
		      bool blocks, enum state_problem want, const char *what)
{
	read_set(f, s);
	is_int(state_check(s, blocks), want, "%s", what);
}

static void test_state_read(void)
{
	struct files f = fresh_dir("s1");
	struct state_set s;
	struct head h = sample(7, 2), p = sample(3, 3), got;
	bool untyped;

	read_set(&f, &s);
	ok(s.head_err == -ENOENT && s.seen_err == -ENOENT &&
		   s.pruned_err == -ENOENT && !s.untyped,
	   "an empty store: nothing, all -ENOENT");
	is_int(state_check(&s, false), STATE_OK, "a new mailbox is fine");
	is_int(state_check(&s, true), STATE_HEAD_MISSING,
	       "no head over blocks or journal records: refused");

	/* A store of the release before: untyped, accepted, upgraded. */
	write_untyped(f.head, &h);
	write_untyped(f.seen, &h);
	write_untyped(f.pruned, &p);
	read_set(&f, &s);
	ok(s.head_err == 0 && s.seen_err == 0 && s.pruned_err == 0 &&
		   s.untyped,
	   "untyped files of an untyped store are read (and flagged)");
	ok(same(&s.head, &h) && same(&s.seen, &h) && same(&s.pruned, &p),
	   "with their contents");
	is_int(state_check(&s, true), STATE_OK, "and are fine");
	is_int(state_upgrade(f.head, f.seen, f.pruned, keys.journal, &s), 0,
	       "state_upgrade");
	ok(!s.untyped, "clears the flag");
	ok(head_read(f.head, keys.journal, BLOCK_STATE_HEAD, &got, NULL) == 0 &&
		   same(&got, &h),
	   "head rewritten typed, same contents");
	ok(head_read(f.seen, keys.journal, BLOCK_STATE_SEEN, &got, NULL) == 0 &&
		   same(&got, &h),
	   "seen rewritten typed");
	ok(head_read(f.pruned, keys.journal, BLOCK_STATE_PRUNED, &got,
		     NULL) == 0 &&
		   same(&got, &p),
	   "pruned rewritten typed");

	/* A typed store: an untyped copy put back is damage. */
	write_untyped(f.head, &h);
	read_set(&f, &s);
	is_int(s.head_err, -EBADMSG,
	       "an untyped head beside a typed seen reads as damaged");
	ok(!s.untyped && s.head.commit.len == 0, "and is not used");
	is_int(state_check(&s, true), STATE_HEAD_DAMAGED,
	       "state_check: the head is damaged");
	write_untyped(f.pruned, &p);
	is_int(head_write(f.head, keys.journal, BLOCK_STATE_HEAD, &h), 0,
	       "typed head back");
	read_set(&f, &s);
	is_int(s.pruned_err, -EBADMSG,
	       "an untyped pruned in a typed store too");

	/* The swap: seen copied over the head. */
	is_int(head_write(f.pruned, keys.journal, BLOCK_STATE_PRUNED, &p), 0,
	       "typed pruned back");
	copy_file(f.seen, f.head);
	read_set(&f, &s);
	ok(s.head_err == -EBADMSG && s.seen_err == 0,
	   "seen copied over head: the head does not open");
	is_int(head_read(f.head, keys.journal, BLOCK_STATE_HEAD, &got,
			 &untyped),
	       -EBADMSG, "not even with untyped files allowed");

	/* A flipped byte in seen. */
	is_int(head_write(f.head, keys.journal, BLOCK_STATE_HEAD, &h), 0,
	       "head back");
	size_t n;
	uint8_t *buf = harness_read_file(f.seen, &n);
	if (!buf || n == 0)
		harness_bail("read %s", f.seen);
	buf[n / 2] ^= 1;
	harness_write_file(f.seen, buf, n);
	free(buf);
	read_set(&f, &s);
	is_int(s.seen_err, -EBADMSG, "a flipped byte in seen: damaged");
	is_int(state_check(&s, true), STATE_SEEN_DAMAGED,
	       "state_check refuses it (not treated as absent)");
	unlink(f.seen);
	check_set(&f, &s, true, STATE_SEEN_MISSING,
		  "a committed head without seen: refused");

	/* A head with no commit while seen names one. */
	struct head empty = {.journal_gen = 1};
	is_int(head_write(f.seen, keys.journal, BLOCK_STATE_SEEN, &h), 0,
	       "seen back");
	is_int(head_write(f.head, keys.journal, BLOCK_STATE_HEAD, &empty), 0,
	       "an empty head");
	check_set(&f, &s, true, STATE_HEAD_EMPTY,
		  "an empty head after a commit was accepted: refused");
	unlink(f.head);
	check_set(&f, &s, false, STATE_HEAD_MISSING,
		  "no head beside a seen: refused even with no blocks");
	ok(state_problem_text(STATE_HEAD_MISSING) &&
		   strstr(state_problem_text(STATE_HEAD_MISSING),
			  "ipmaildir fsck --repair"),
	   "the refusal names fsck --repair");
}

static void test_has_data(void)
{
	struct store_paths p;
	char path[PATH_MAX + 32];
	const char *root = harness_path("store");
	is_int(store_paths_init(&p, root), 0, "store paths");
	is_int(store_has_data(&p), 0, "no directory: no data");
	is_int(store_make_dirs(root), 0, "store directory");
	harness_write_file(p.key, (const uint8_t *)"k", 1);
	snprintf(path, sizeof(path), "%s/lock", root);
	harness_write_file(path, (const uint8_t *)"", 0);
	snprintf(path, sizeof(path), "%s/blocks", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/blocks/AB", root);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/blocks/AB/.tmp-1", root);
	harness_write_file(path, (const uint8_t *)"x", 1);
	mkdir(p.journal, 0700);
	snprintf(path, sizeof(path), "%s/0000000000000001.wal", p.journal);
	harness_write_file(path, (const uint8_t *)"", 0);
	is_int(store_has_data(&p), 0,
	       "key, lock, an empty shard, a temp file and an empty journal "
	       "file: no data");
	harness_write_file(path, (const uint8_t *)"r", 1);
	is_int(store_has_data(&p), 1, "a journal record: data");
	unlink(path);
	snprintf(path, sizeof(path), "%s/blocks/AB/bafkreiab", root);
	harness_write_file(path, (const uint8_t *)"b", 1);
	is_int(store_has_data(&p), 1, "a block: data");
	unlink(path);
	harness_write_file(p.seen, (const uint8_t *)"s", 1);
	is_int(store_has_data(&p), 1, "a seen file: data");
	unlink(p.seen);
	harness_write_file(p.pruned, (const uint8_t *)"s", 1);
	is_int(store_has_data(&p), 1, "a pruned file: data");
}

/* STORE/device (fs/store/device.h): its file, what a writer takes, what
 * key restore draws. */
static void test_device(void)
{
	struct store_paths p;
	struct device_state d = {.device = 77, .has_peer = true,
				 .peer_seq = 9, .peer_seen_ns = 123456789};
	struct device_state got;
	enum device_taken how;
	const char *root = harness_path("dev");
	is_int(store_paths_init(&p, root), 0, "store paths");
	is_int(store_make_dirs(root), 0, "store directory");
	snprintf(d.machine, sizeof(d.machine), "0123abcd");
	snprintf(d.peer_how, sizeof(d.peer_how), DEVICE_HOW_MERGED);
	d.peer.len = 36;
	memcpy(d.peer.bytes, "\x01\x55\x12\x20", 4);
	is_int(device_read(p.device, keys.journal, &got), -ENOENT,
	       "no device file: -ENOENT");
	is_int(device_write(p.device, keys.journal, &d), 0, "written");
	ok(device_read(p.device, keys.journal, &got) == 0 &&
		   got.device == 77 && !strcmp(got.machine, "0123abcd") &&
		   got.has_peer && got.peer_seq == 9 &&
		   got.peer_seen_ns == 123456789 &&
		   cid_equal(&got.peer, &d.peer) &&
		   !strcmp(got.peer_how, DEVICE_HOW_MERGED),
	   "… and read back, the peer's head with it");
	struct head h = {.seq = 0, .journal_gen = 1};
	is_int(head_write(p.head, keys.journal, BLOCK_STATE_HEAD, &h), 0,
	       "a head file");
	uint8_t buf[4096];
	size_t n = 0;
	int fd = open(p.head, O_RDONLY);
	n = (size_t)read(fd, buf, sizeof(buf));
	close(fd);
	harness_write_file(p.device, buf, n);
	is_int(device_read(p.device, keys.journal, &got), -EBADMSG,
	       "a head copied over the device file does not open as one");
	unlink(p.head);

	/* A writer: no file is device 0, recorded. */
	unlink(p.device);
	ok(device_take(&p, keys.journal, NULL, 0, &got, &how) == 0 &&
		   how == DEVICE_FIRST && got.device == 0,
	   "no file: device 0");
	ok(device_take(&p, keys.journal, NULL, 0, &got, &how) == 0 &&
		   how == DEVICE_KEPT && got.device == 0,
	   "… kept by the next writer");
	char here[DEVICE_MACHINE_MAX + 1];
	device_machine_id(here);
	/* A store copied from another machine: a new range, avoiding the
	 * head's. */
	d.device = 5;
	d.has_peer = false;
	snprintf(d.machine, sizeof(d.machine), "%s",
		 strcmp(here, "feedface") ? "feedface" : "deadbeef");
	is_int(device_write(p.device, keys.journal, &d), 0,
	       "another machine's file");
	uint64_t avoid[2] = {UINT64_C(5) << TREE_INO_RANGE_BITS | 9, 100};
	int e = device_take(&p, keys.journal, avoid, 2, &got, &how);
	if (here[0])
		ok(e == 0 && how == DEVICE_MOVED && got.device != 5 &&
			   got.device != 0 && got.device < TREE_DEVICES &&
			   !strcmp(got.machine, here),
		   "a copied store draws a device of its own (%llu)",
		   (unsigned long long)got.device);
	else
		ok(e == 0 && how == DEVICE_KEPT, "no machine id: kept");
	for (int i = 0; i < 1000; i++) {
		uint64_t v = device_draw(avoid, 1);
		if (v == 5 || v == 0 || v >= TREE_DEVICES) {
			ok(0, "a draw avoided range 5: %llu",
			   (unsigned long long)v);
			break;
		}
	}

	/* key restore: a store without data draws, one with data does not. */
	uint64_t dev = 0;
	bool drawn = false;
	unlink(p.device);
	ok(device_restore(&p, keys.journal, &dev, &drawn) == 0 && drawn &&
		   dev > 0 && dev < TREE_DEVICES,
	   "a restore into an empty store draws a device (%llu)",
	   (unsigned long long)dev);
	uint64_t again = 0;
	ok(device_restore(&p, keys.journal, &again, &drawn) == 0 && !drawn &&
		   again == dev,
	   "… a second restore keeps it");
	unlink(p.device);
	harness_write_file(p.seen, (const uint8_t *)"s", 1);
	ok(device_restore(&p, keys.journal, NULL, &drawn) == 0 && !drawn &&
		   access(p.device, F_OK) != 0,
	   "a store with data and no device file stays device 0");
	unlink(p.seen);
}

/* state_advance says which of its two writes failed: the head (nothing
 * changed) or seen (the head holds), for a caller to go on or not. */
static void test_advance(void)
{
	struct files f = fresh_dir("adv");
	struct head h1 = sample(4, 1), h2 = sample(5, 2), got;
	enum state_failed failed = STATE_FAILED_HEAD;
	is_int(state_advance(f.head, f.seen, keys.journal, &h1, &failed), 0,
	       "state_advance: both written");
	is_int(failed, STATE_FAILED_NONE, "… nothing failed");
	bool untyped;
	/* seen a directory: its rename fails, the head's does not. */
	ok(unlink(f.seen) == 0 && mkdir(f.seen, 0700) == 0, "seen blocked");
	ok(state_advance(f.head, f.seen, keys.journal, &h2, &failed) < 0 &&
		   failed == STATE_FAILED_SEEN,
	   "seen fails: said so");
	ok(head_read(f.head, keys.journal, BLOCK_STATE_HEAD, &got,
		     &untyped) == 0 && same(&got, &h2),
	   "… the head was written and holds");
	/* the head a directory too: nothing is written. */
	ok(unlink(f.head) == 0 && mkdir(f.head, 0700) == 0, "head blocked");
	ok(state_advance(f.head, f.seen, keys.journal, &h1, &failed) < 0 &&
		   failed == STATE_FAILED_HEAD,
	   "the head fails: said so");
}

int main(void)
{
	harness_seal_init();
	harness_keys(&keys, 9);
	test_kinds();
	test_versions();
	test_versions_seen();
	test_state_read();
	test_has_data();
	test_device();
	test_advance();
	keys_free(&keys);
	return tap_done();
}
