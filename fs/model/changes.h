/*
 * fs/model/changes.h — what a journal record means to a mail reader, for the
 * added / removed / renamed counts of a commit (fs/model/commit.h, ipmaildir log).
 *
 * Only names in a Maildir message directory count: a directory named
 * "cur" or "new" (at any depth, so Maildir++ folders too).  A regular file
 * appearing there (create, link, or rename from elsewhere, e.g. tmp/) is
 * added; leaving (unlink, or rename out) is removed; a rename between two
 * such names (new/ → cur/, a flag change) is renamed.  tmp/ and Dovecot's
 * index files never count.  So a qmail-style delivery (create in tmp/,
 * link into new/, unlink from tmp/) counts one added.
 */
#ifndef IPMD_FS_MODEL_CHANGES_H
#define IPMD_FS_MODEL_CHANGES_H

#include <stddef.h>
#include <stdint.h>

#include "fs/model/record.h"
#include "fs/model/tree.h"

struct mail_changes {
	uint64_t added, removed, renamed;
};

/* Classify r against t BEFORE it is applied; the caller adds the result
 * to its counts only if the apply succeeds. */
struct mail_changes mail_changes_of(struct fs_tree *t, const struct record *r);

/* record_apply of the decoded r (release_fn as there), and what it
 * changed added to *mc when it applied.  record_apply's result. */
int mail_changes_apply(struct fs_tree *t, const struct record *r,
		       record_release_fn release_fn, void *arg,
		       struct mail_changes *mc);

/* record_replay (fs/model/record.h), and what the record changed added to
 * *mc when it applied: a replayed journal's commit counts its mail as the
 * live mount would have.  record_replay's result. */
IPMD_MUST_CHECK
int mail_changes_replay(struct fs_tree *t, const uint8_t *payload,
			size_t len, struct mail_changes *mc);

#endif
