/*
 * fs/store.h — the store directory: where a mailbox lives on this machine.
 *
 *   STORE/key        the key file (crypto/keys.h), mode 0600
 *   STORE/blocks/    the local block store (ipfs/bs_local.h)
 *   STORE/journal/   sealed journal of namespace changes since the head
 *   STORE/head       the newest commit's CID and seq (sealed)
 *   STORE/lock       held (flock) by the one process that may write
 *   STORE/seen       the newest commit accepted here (sealed, like head):
 *                    a head replaced by an older one is refused
 *   STORE/pruned     the oldest commit gc kept (fs/history.h)
 *
 * The default is $XDG_DATA_HOME/ipmaildir, else ~/.local/share/ipmaildir.
 * Nothing below the CLI prints: functions return 0 / negative errno or a
 * keys_error, with a message in err when one is useful.
 */
#ifndef IPMD_FS_STORE_H
#define IPMD_FS_STORE_H

#include <limits.h>
#include <stddef.h>

#include "crypto/keys.h"

#define STORE_KEY_FILE "key"
#define STORE_BLOCKS_DIR "blocks"
#define STORE_JOURNAL_DIR "journal"
#define STORE_HEAD_FILE "head"
#define STORE_LOCK_FILE "lock"
#define STORE_SEEN_FILE "seen"
#define STORE_PRUNED_FILE "pruned"

struct store_paths {
	char root[PATH_MAX];
	char key[PATH_MAX];
	char journal[PATH_MAX];
	char head[PATH_MAX];
	char lock[PATH_MAX];
	char seen[PATH_MAX];
	char pruned[PATH_MAX];
};

/* Fill paths for dir, or for the default when dir is NULL; a relative dir
 * is made absolute against the current directory.  0 or -ENAMETOOLONG /
 * -ENOENT (no HOME and no XDG_DATA_HOME) / -errno of getcwd. */
int store_paths_init(struct store_paths *p, const char *dir);

/*
 * Does the store hold a mailbox's data — a block, a journal record, or a
 * head, seen or pruned file?  (The key file and the lock don't count.)
 * 1, 0, or negative errno.  What init must not write a new key over, and
 * what a missing head must not be mounted over.
 */
int store_has_data(const struct store_paths *p);

/*
 * The line to give when p has no key file: "no mailbox in DIR (run
 * ipmaildir init first)" for an empty store, else that the key file is
 * missing and `ipmaildir key restore` brings it back (a new key would
 * read none of the mail there).
 */
void store_no_key_message(const struct store_paths *p, char *msg,
			  size_t size);

/* mkdir -p with mode 0700 for what it creates.  0 or negative errno. */
int store_make_dirs(const char *path);

/* Where the passphrase comes from. */
struct passphrase_source {
	const char *file; /* --passphrase-file, or NULL */
	int none;         /* --no-passphrase */
};

/*
 * Read the passphrase: from the file (first line, trailing newline dropped),
 * or by prompting on /dev/tty (echo off) when interactive.  confirm asks
 * twice (for init and key passwd).  *pass is sodium_malloc'ed; free with
 * passphrase_free.  0, -ENOENT (no source: not a terminal and no file),
 * -EINVAL (empty or mismatched), -EMSGSIZE (longer than PASSPHRASE_MAX), or
 * -errno.
 */
int passphrase_read(const struct passphrase_source *src, const char *prompt,
		    int confirm, char **pass, size_t *len);
void passphrase_free(char *pass, size_t len);

/*
 * Load the mailbox keys of a store, asking for the passphrase only if the
 * key file is wrapped.  Returns 0 or a keys_error / negative errno.
 */
int store_load_keys(const struct store_paths *p,
		    const struct passphrase_source *src,
		    struct mailbox_keys *k, int *sys_errno);

#endif
