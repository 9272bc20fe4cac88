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
#include "fs/store/history.h"
#include "fs/store/journal.h"

static void status_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir status [--store DIR] [--json] "
		"[--passphrase-file F]\n"
		"  --json             one JSON object\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n");
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

static void json_str(const char *key, const char *v, bool comma)
{
	/* Only paths need escaping here; ids and CIDs are plain ASCII. */
	printf("\"%s\":\"", key);
	for (const char *p = v; *p; p++) {
		if (*p == '"' || *p == '\\')
			printf("\\%c", *p);
		else if ((unsigned char)*p < 0x20)
			printf("\\u%04x", *p);
		else
			putchar(*p);
	}
	printf("\"%s", comma ? "," : "");
}

int cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {
		{"store", required_argument, NULL, 's'},
		{"passphrase-file", required_argument, NULL, 'p'},
		{"passphrase-command", required_argument, NULL, 'P'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{0, 0, 0, 0},
	};
	struct history_options ho = {.lock = HISTORY_LOCK_NONE};
	bool json = false;
	int c;
	while ((c = getopt_long(argc, argv, "s:p:jh", opts, NULL)) != -1) {
		switch (c) {
		case 's': ho.store = optarg; break;
		case 'p': ho.pass.file = optarg; break;
		case 'P': ho.pass.command = optarg; break;
		case 'j': json = true; break;
		case 'h': status_usage(stdout); return EXIT_OK;
		default: status_usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind != argc) {
		status_usage(stderr);
		return EXIT_USAGE;
	}
	struct config cfg;
	if (cli_config(&cfg, &ho.store, &ho.pass, NULL))
		return EXIT_USAGE;
	struct history h;
	char msg[1024] = "";
	if (history_open(&h, &ho, msg, sizeof(msg))) {
		cli_error("status: %s", msg);
		history_close(&h);
		config_free(&cfg);
		return EXIT_FAILURE_;
	}
	char id[CID_TEXT_MAX] = "?", hcid[CID_TEXT_MAX] = "";
	char when[HISTORY_TIME_MAX] = "";
	ipns_name_of_ed25519(id, sizeof(id), h.keys.public_key);
	int sys_errno = 0;
	int wrapped = keyfile_is_wrapped(h.paths.key, &sys_errno);
	int mounted = history_mounted(&h);
	struct commit head;
	int head_e = h.head_err;
	if (!head_e && h.head.commit.len) {
		head_e = history_commit(&h, &h.head.commit, &head);
		cid_format(&h.head.commit, hcid, sizeof(hcid));
		if (!head_e)
			history_format_time(head.time_ns, when);
	}
	bool has_head = !h.head_err && h.head.commit.len && !head_e;
	/* What a mount would refuse (a head lost over mail, seen damaged):
	 * not "nothing committed yet". */
	enum state_problem sp = history_state_problem(&h);
	struct journal_count jc = {0, 0};
	struct journal_replay_stats js;
	uint64_t from = h.head_err ? 1 : h.head.journal_gen;
	int je = journal_replay(h.paths.journal, h.keys.journal, from, false,
				count_record, &jc, &js);
	uint64_t records = jc.records, jbytes = jc.bytes;
	uint64_t pending = 0;
	int oe = outbox_pending_in(h.paths.root, &pending);
	/* A capped mount's figures: this process can't ask the mount, so
	 * they are the ones it last wrote (cache/outbox.h). */
	struct outbox_cap_info ci;
	int ce = oe ? -ENOENT : outbox_cap_in(h.paths.root, &ci);
	struct bs_usage u = {0, 0};
	int ue = bs_usage(h.local, &u);

	if (json) {
		printf("{");
		json_str("mailbox", id, true);
		json_str("store", h.paths.root, true);
		if (has_head)
			printf("\"head\":{\"seq\":%llu,\"cid\":\"%s\","
			       "\"time\":\"%s\",\"time_ns\":%lld,"
			       "\"messages\":%llu,\"folders\":%llu},",
			       (unsigned long long)head.seq, hcid, when,
			       (long long)head.time_ns,
			       (unsigned long long)head.messages,
			       (unsigned long long)head.folders);
		else
			printf("\"head\":null,");
		if (!je)
			printf("\"journal\":{\"records\":%llu,\"bytes\":%llu},",
			       (unsigned long long)records,
			       (unsigned long long)jbytes);
		else
			printf("\"journal\":null,");
		if (!oe && !ce)
			printf("\"outbox\":{\"pending\":%llu,\"cap_bytes\":"
			       "%llu,\"local_bytes\":%llu,\"evicted\":%llu},",
			       (unsigned long long)pending,
			       (unsigned long long)ci.cap_bytes,
			       (unsigned long long)ci.local_bytes,
			       (unsigned long long)ci.evicted);
		else if (!oe)
			printf("\"outbox\":{\"pending\":%llu},",
			       (unsigned long long)pending);
		else
			printf("\"outbox\":null,");
		if (!ue)
			printf("\"blocks\":%llu,\"bytes\":%llu,",
			       (unsigned long long)u.blocks,
			       (unsigned long long)u.bytes);
		if (sp != STATE_OK)
			json_str("problem", state_problem_text(sp), true);
		printf("\"mounted\":%s,\"key_wrapped\":%s}\n",
		       mounted == 1 ? "true" : "false",
		       wrapped == 1 ? "true" : "false");
	} else {
		printf("mailbox:   %s\n", id);
		printf("store:     %s\n", h.paths.root);
		if (has_head)
			printf("head:      commit %llu, %s, %llu messages, %llu "
			       "folders\n           %s\n",
			       (unsigned long long)head.seq, when,
			       (unsigned long long)head.messages,
			       (unsigned long long)head.folders, hcid);
		else if (sp == STATE_HEAD_MISSING || sp == STATE_HEAD_EMPTY)
			printf("head:      %s\n", state_problem_text(sp));
		else if (h.head_err == -ENOENT || !h.head.commit.len)
			printf("head:      nothing committed yet\n");
		else
			printf("head:      unreadable (%s): run ipmaildir "
			       "fsck\n",
			       strerror(-head_e));
		if (sp == STATE_SEEN_DAMAGED || sp == STATE_SEEN_MISSING)
			printf("seen:      %s\n", state_problem_text(sp));
		if (!je)
			printf("journal:   %llu records (%llu bytes) not yet in "
			       "a commit\n",
			       (unsigned long long)records,
			       (unsigned long long)jbytes);
		else
			printf("journal:   unreadable (%s): run ipmaildir "
			       "fsck\n",
			       strerror(-je));
		if (!oe)
			printf("outbox:    %llu blocks not yet on the node\n",
			       (unsigned long long)pending);
		if (!oe && !ce)
			printf("cache cap: %.1f MiB; %s: %.1f MiB local, "
			       "%llu blocks dropped (on the node)\n",
			       (double)ci.cap_bytes / (1024.0 * 1024.0),
			       mounted == 1 ? "the mount's last eviction"
					    : "as the last mount left it",
			       (double)ci.local_bytes / (1024.0 * 1024.0),
			       (unsigned long long)ci.evicted);
		if (oe)
			printf("outbox:    none (no node configured)\n");
		if (!ue)
			printf("store use: %llu blocks, %.1f MiB\n",
			       (unsigned long long)u.blocks,
			       (double)u.bytes / (1024.0 * 1024.0));
		printf("mounted:   %s\n",
		       mounted == 1 ? "yes (read-write)" : "no");
		printf("key:       %s\n",
		       wrapped == 1 ? "wrapped with a passphrase"
				    : "not wrapped: the key file alone "
				      "opens the mailbox");
	}
	history_close(&h);
	config_free(&cfg);
	return EXIT_OK;
}
