/* fs/cli/cmd_log.c — `ipmaildir log`: the commits, newest first: every
 * commit of the history's DAG once, highest seq first (history_walk), a
 * merge marked and its other parents named. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs/cli/cli.h"
#include "fs/cli/config.h"
#include "fs/store/history.h"

static void log_usage(FILE *out)
{
	fprintf(out,
		"usage: ipmaildir log [--store DIR] [-n N] [--json] "
		"[--passphrase-file F]\n"
		"  -n N               show the newest N commits only\n"
		"  --json             one JSON array of commit objects\n"
		"  --passphrase-file F   read the key's passphrase from F "
		"(- : standard input)\n"
		"  --passphrase-command CMD  or from the first line that "
		"/bin/sh -c CMD prints\n");
}

struct log_state {
	unsigned long long limit; /* 0: all */
	unsigned long long shown;
	int json;
};

/* The other parents of a merge: a JSON array, or one line each. */
static void print_merged(const struct commit *c, int json)
{
	char text[CID_TEXT_MAX];
	if (json)
		printf(",\"merged\":[");
	for (unsigned i = 0; i < c->nmerged; i++) {
		cid_format(&c->merged[i], text, sizeof(text));
		if (json)
			printf("%s\"%s\"", i ? "," : "", text);
		else
			printf("%-6s merged %s\n", "", text);
	}
	if (json)
		printf("]");
}

static int print_one(const struct cid *cid, const struct commit *c,
		     void *arg)
{
	struct log_state *s = arg;
	char ctext[CID_TEXT_MAX], ptext[CID_TEXT_MAX] = "";
	char when[HISTORY_TIME_MAX];
	if (s->limit && s->shown >= s->limit)
		return 1;
	cid_format(cid, ctext, sizeof(ctext));
	if (c->parent.len)
		cid_format(&c->parent, ptext, sizeof(ptext));
	history_format_time(c->time_ns, when);
	if (s->json) {
		printf("%s\n  {\"seq\":%llu,\"time\":\"%s\",\"time_ns\":%lld,"
		       "\"cid\":\"%s\",\"parent\":%s%s%s,\"messages\":%llu,"
		       "\"folders\":%llu,\"added\":%llu,\"removed\":%llu,"
		       "\"renamed\":%llu",
		       s->shown ? "," : "", (unsigned long long)c->seq, when,
		       (long long)c->time_ns, ctext, *ptext ? "\"" : "",
		       *ptext ? ptext : "null", *ptext ? "\"" : "",
		       (unsigned long long)c->messages,
		       (unsigned long long)c->folders,
		       (unsigned long long)c->added,
		       (unsigned long long)c->removed,
		       (unsigned long long)c->renamed);
		print_merged(c, 1);
		printf("}");
	} else {
		printf("%-6llu %s %9llu %7llu %6llu %7llu %7llu  %s%s\n",
		       (unsigned long long)c->seq, when,
		       (unsigned long long)c->messages,
		       (unsigned long long)c->folders,
		       (unsigned long long)c->added,
		       (unsigned long long)c->removed,
		       (unsigned long long)c->renamed, ctext,
		       c->nmerged ? " (merge)" : "");
		print_merged(c, 0);
	}
	s->shown++;
	return 0;
}

/* Where a broken commit sits: " (the head)", " (the parent of X)",
 * " (merged into X)", or "". */
static void where_of(const struct chain_stop *stop, char *out, size_t size)
{
	char child[CID_TEXT_MAX];
	if (!stop->child.len) {
		bool head = !stop->want_seq && !stop->parentless;
		snprintf(out, size, "%s", head ? " (the head)" : "");
		return;
	}
	cid_format(&stop->child, child, sizeof(child));
	snprintf(out, size, " (%s %s)",
		 stop->merged ? "merged into" : "the parent of", child);
}

static int log_commits(const struct history_options *ho,
		       struct log_state *s)
{
	struct history h;
	if (cli_history_open("log", &h, ho, true))
		return EXIT_FAILURE_;
	if (s->json)
		printf("[");
	else
		printf("%-6s %-20s %9s %7s %6s %7s %7s  %s\n", "SEQ",
		       "TIME (UTC)", "MESSAGES", "FOLDERS", "ADDED", "REMOVED",
		       "RENAMED", "COMMIT");
	struct chain_stop stop;
	int e = history_walk(&h, print_one, s, &stop);
	if (s->json)
		printf("%s]\n", s->shown ? "\n" : "");
	int status = EXIT_OK;
	if (e < 0) {
		char at[CID_TEXT_MAX] = "?", where[CID_TEXT_MAX + 32] = "";
		cid_format(&stop.at, at, sizeof(at));
		where_of(&stop, where, sizeof(where));
		cli_error("log: the history breaks at commit %s%s: %s; run "
			  "ipmaildir fsck",
			  at, where,
			  e == -ENOENT	      ? "missing from the store"
			  : e == -EKEYREJECTED ? "not signed by this mailbox"
			  : stop.parentless    ? "it has no parent but is not "
					      "the first commit"
			  : e == -EPROTO       ? "its seq does not fall below "
					      "its child's"
					      : "it does not open (damaged)");
		status = EXIT_FAILURE_;
	} else if (!s->json && (stop.pruned || stop.fetched) &&
		   !(s->limit && s->shown >= s->limit)) {
		printf("(older commits were freed by ipmaildir gc%s)\n",
		       stop.fetched ? stop.pruned ? ", here and on another device"
						 : " on another device"
				    : "");
	}
	history_close(&h);
	return status;
}

int cmd_log(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_STORE_OPTIONS,
		{"json", no_argument, NULL, 'j'},
		CLI_OPTIONS_END,
	};
	struct history_options ho = {.lock = HISTORY_LOCK_READ};
	struct log_state s = {0};
	int c;
	while ((c = cli_getopt(argc, argv, "s:p:n:jh", opts, &ho.store,
			       &ho.pass)) != -1) {
		switch (c) {
		case 'j': s.json = 1; break;
		case 'n':
			if (cli_count(optarg, &s.limit)) {
				cli_error("log: -n wants a count above 0, "
					  "not '%s'", optarg);
				return EXIT_USAGE;
			}
			break;
		default: return cli_help("log", log_usage, c);
		}
	}
	if (optind != argc)
		return cli_usage("log", "takes no arguments");
	struct config cfg;
	if (cli_config(&cfg, &ho.store, &ho.pass, NULL))
		return EXIT_USAGE;
	int status = log_commits(&ho, &s);
	config_free(&cfg);
	return status;
}
