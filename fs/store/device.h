/*
 * fs/store/device.h — which device a store is, and what it last saw of the
 * others (docs/ARCHITECTURE.md, "Several devices: merging histories").
 *
 * STORE/device, sealed as BLOCK_STATE_DEVICE under the journal key and
 * written the state files' way (head.h: atomically):
 *   {"v":1,"device":D,"machine":"<machine id>",
 *    "peer":null|{"commit":"bafk…","seq":N,"seen":NS,"how":"…"},
 *    "ends":["bafk…",…]}
 *
 * D names the store's inode range (fs/model/tree.h, TREE_INO_RANGE_BITS):
 *  - 0: the store that ran init, and every store without the file (all
 *    stores made before devices existed);
 *  - a random D in [1, TREE_DEVICES): a store made by `key restore` (a
 *    second device), or one that finds itself on another machine than the
 *    one it recorded (a copied store directory: two devices would share a
 *    range).  The draw avoids every range the head commit lists in "inos";
 *    two devices drawing one D at once (about 10^-7) is the collision the
 *    design accepts.
 * machine: /etc/machine-id (else /var/lib/dbus/machine-id), "" where
 * neither exists: then no move can be seen, and none is assumed.
 * peer: the head the mailbox's IPNS name named when a mount last looked
 * (fs/mount/sync.h), when (ns), and what the mount did with it
 * (DEVICE_HOW_*); shown by `ipmaildir status`.
 * ends (absent: none): commits of lines fetched from another device whose
 * parents neither this store nor the node had — that device's gc freed
 * them — so the history ends there on purpose (fs/store/history.h,
 * walk_ends); recorded by a sync that took such a line in.
 *
 * Errors: 0 or negative errno; a file that does not open or parse is
 * -EBADMSG (a mount refuses to guess its range).
 */
#ifndef IPMD_FS_STORE_DEVICE_H
#define IPMD_FS_STORE_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

#include "crypto/format.h"
#include "fs/store/store.h"
#include "ipfs/cid.h"
#include "util/attr.h"

/* A machine id is 32 hex digits; longer ones are cut. */
#define DEVICE_MACHINE_MAX 64
#define DEVICE_HOW_MAX 16

/* What a sync did with the published head (peer.how). */
#define DEVICE_HOW_CONTAINED "contained"   /* ours already had it */
#define DEVICE_HOW_FORWARD "fast-forward"  /* ours became it */
#define DEVICE_HOW_MERGED "merged"         /* merged into ours */
#define DEVICE_HOW_FAILED "failed"         /* could not follow it (logged) */

/* Ends of fetched lines kept (the newest). */
#define DEVICE_ENDS_MAX 16

struct device_state {
	uint64_t device;
	char machine[DEVICE_MACHINE_MAX + 1];
	bool has_peer;
	struct cid peer;
	uint64_t peer_seq;
	int64_t peer_seen_ns;
	char peer_how[DEVICE_HOW_MAX + 1];
	unsigned nends;                   /* ends[0..nends), oldest first */
	struct cid ends[DEVICE_ENDS_MAX];
};

/* Add ends[0..n) to d's, each once; past DEVICE_ENDS_MAX the oldest go.
 * How many were new. */
unsigned device_add_ends(struct device_state *d, const struct cid *ends,
			 size_t n);

IPMD_MUST_CHECK
int device_read(const char *path, const uint8_t key[IPMD_KEY_BYTES],
		struct device_state *d);
int device_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
		 const struct device_state *d);

/* This machine's id into out ("" when there is none). */
void device_machine_id(char out[DEVICE_MACHINE_MAX + 1]);

/* A random device in [1, TREE_DEVICES) whose range no number of
 * avoid[0..n) (a commit's "inos") lies in. */
uint64_t device_draw(const uint64_t *avoid, unsigned n);

enum device_taken {
	DEVICE_KEPT,  /* the file's device, on the machine it names */
	DEVICE_FIRST, /* no file: device 0, recorded now */
	DEVICE_MOVED, /* another machine's file: a new device drawn */
};

/*
 * The device of a store a writer takes (a read-write mount): the file's
 * (rewritten with a new draw, avoiding avoid[0..n), if it names another
 * machine), or 0 when there is none, recording it either way.  *how says
 * which.  0, or -EBADMSG (a damaged file) or a write's error.
 */
IPMD_MUST_CHECK
int device_take(const struct store_paths *p, const uint8_t key[IPMD_KEY_BYTES],
		const uint64_t *avoid, unsigned n, struct device_state *d,
		enum device_taken *how);

/*
 * For `key restore`: a store without data (store_has_data) and without a
 * device file is a new device: draw its number and record it; any other
 * store keeps what it is.  *device (may be NULL): its number, when drawn
 * or read.  0, or negative errno.
 */
int device_restore(const struct store_paths *p,
		   const uint8_t key[IPMD_KEY_BYTES], uint64_t *device,
		   bool *drawn);

#endif
