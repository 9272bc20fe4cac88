/*
 * fs/store/store.h — the store directory: where a mailbox lives on this machine.
 *
 *   STORE/key        the key file (crypto/keys.h), mode 0600
 *   STORE/blocks/    the local block store (ipfs/bs_local.h)
 *   STORE/journal/   sealed journal of namespace changes since the head
 *   STORE/head       the newest commit's CID and seq (sealed)
 *   STORE/lock       held (flock) by the one process that may write
 *   STORE/seen       the newest commit accepted here (sealed, like head):
 *                    a head replaced by an older one is refused
 *   STORE/pruned     the oldest commit gc kept (fs/store/history.h)
 *   STORE/readers    held (flock) by readers of past states, and by gc
 *                    (fs/store/store_open.h)
 *   STORE/device     this store's device number (its inode range) and the
 *                    head other devices published, last seen
 *                    (fs/store/device.h)
 *   STORE/control    a read-write mount's control socket, owner-only: gc,
 *                    fsck and status while mounted (fs/cli/control.h)
 *
 * The default is $XDG_DATA_HOME/ipmaildir, else ~/.local/share/ipmaildir.
 * Nothing below the CLI prints: functions return 0 / negative errno or a
 * keys_error, with a message in err when one is useful.
 */
#ifndef IPMD_FS_STORE_STORE_H
#define IPMD_FS_STORE_STORE_H

#include <limits.h>
#include <stddef.h>

#include "crypto/keys.h"
#include "util/attr.h"

#define STORE_KEY_FILE "key"
#define STORE_BLOCKS_DIR "blocks"
#define STORE_JOURNAL_DIR "journal"
#define STORE_HEAD_FILE "head"
#define STORE_LOCK_FILE "lock"
#define STORE_SEEN_FILE "seen"
#define STORE_PRUNED_FILE "pruned"
#define STORE_READERS_FILE "readers"
#define STORE_DEVICE_FILE "device"
#define STORE_CONTROL_FILE "control"

struct store_paths {
	char root[PATH_MAX];
	char key[PATH_MAX];
	char journal[PATH_MAX];
	char head[PATH_MAX];
	char lock[PATH_MAX];
	char seen[PATH_MAX];
	char pruned[PATH_MAX];
	char readers[PATH_MAX];
	char device[PATH_MAX];
	char control[PATH_MAX];
};

/* Fill paths for dir, or for the default when dir is NULL; a relative dir
 * is made absolute against the current directory.  0 or -ENAMETOOLONG /
 * -ENOENT (no HOME and no XDG_DATA_HOME) / -errno of getcwd. */
IPMD_MUST_CHECK
int store_paths_init(struct store_paths *p, const char *dir);

/*
 * Does the store hold a mailbox's data — a block, a journal record, or a
 * head, seen or pruned file?  (The key file and the lock don't count.)
 * 1, 0, or negative errno.  What init must not write a new key over, and
 * what a missing head must not be mounted over.
 */
IPMD_MUST_CHECK
int store_has_data(const struct store_paths *p);

/*
 * Is p the cache of a `mount --from-node` (fs/mount/remote.h): no key
 * file, no head, no pruned, no journal record, but blocks or a seen file?
 * A mailbox always has a head (init writes it) and its key; a reader of
 * another machine's mailbox keeps only the blocks it fetched and the
 * newest head it accepted (seen, under the capability's key).  1, 0, or
 * negative errno.
 */
IPMD_MUST_CHECK
int store_is_node_cache(const struct store_paths *p);

/*
 * The line to give when p has no key file: "no mailbox in DIR (run
 * ipmaildir init first)" for an empty store; for a --from-node cache
 * (store_is_node_cache) that it is one, and not a mailbox; else that the
 * key file is missing and `ipmaildir key restore` brings it back (a new
 * key would read none of the mail there).
 */
void store_no_key_message(const struct store_paths *p, char *msg,
			  size_t size);

/* mkdir -p with mode 0700 for what it creates, each made durable
 * (mkdir_durable, util/io.h).  0 or negative errno. */
int store_make_dirs(const char *path);

/* Where the passphrase comes from: at most one of file and command (the
 * CLI refuses both); neither: the terminal. */
struct passphrase_source {
	const char *file;    /* --passphrase-file: a path, or "-": stdin */
	const char *command; /* --passphrase-command: run by /bin/sh -c */
	int none;            /* --no-passphrase */
};

/* passphrase_read's errors beside -errno (none collides with keys_error). */
enum passphrase_error {
	PASS_E_PERMS = -1101,   /* the file is open to group or others */
	PASS_E_COMMAND = -1102, /* the command exited non-zero or was killed */
	PASS_E_NOOUTPUT = -1103 /* the command printed nothing */
};

/*
 * Read the passphrase: the first line (newline dropped) of the file, of
 * standard input (file "-"), or of what the command writes on its stdout
 * (its stdin and stderr are ours: it may prompt); else prompt on /dev/tty
 * (echo off) when there is one.  A file, like the key file, must not be
 * open to group or others (PASS_E_PERMS); a pipe such as bash's <(...) is
 * 0600 and passes.  confirm asks the terminal twice (init, key passwd).
 * *pass is sodium_malloc'ed; free with passphrase_free.  0, -ENOTTY (no
 * source: no file, no command, no terminal), -EINVAL (empty, or the two
 * entries differ), -EMSGSIZE (longer than PASSPHRASE_MAX), a
 * passphrase_error, or -errno of the file, stdin or the command.
 */
IPMD_MUST_CHECK
int passphrase_read(const struct passphrase_source *src, const char *prompt,
		    int confirm, char **pass, size_t *len);
/* A new passphrase of fewer characters (UTF-8 code points) than this is
 * taken, with a warning: the key file's Argon2id slows a guess, it does
 * not make a short one safe. */
#define PASSPHRASE_SHORT 8
/* The characters of pass (len bytes, UTF-8): its bytes but continuation
 * bytes. */
size_t passphrase_chars(const char *pass, size_t len);
/* One line for the user saying which source failed and why, e.g.
 * "--passphrase-file /x: No such file or directory". */
void passphrase_strerror(const struct passphrase_source *src, int err,
			 char *msg, size_t size);
void passphrase_free(char *pass, size_t len);

/* store_load_keys: the passphrase could not be read; *sys_errno holds
 * passphrase_read's error (for passphrase_strerror). */
#define STORE_E_PASSPHRASE (-1100)

/*
 * Load the mailbox keys of a store, asking for the passphrase only if the
 * key file is wrapped.  Returns 0, STORE_E_PASSPHRASE, or a keys_error /
 * negative errno of the key file (KEYS_E_NEED_PASS: no source to ask).
 */
IPMD_MUST_CHECK
int store_load_keys(const struct store_paths *p,
		    const struct passphrase_source *src,
		    struct mailbox_keys *k, int *sys_errno);
/* One line for a store_load_keys error: "KEYFILE: why" or the
 * passphrase source and why. */
void store_keys_strerror(const struct store_paths *p,
			 const struct passphrase_source *src, int err,
			 int sys_errno, char *msg, size_t size);

#endif
