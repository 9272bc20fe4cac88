/*
 * fs/cli/control.h — housekeeping while mounted: the control socket.
 *
 * A read-write mount's daemon serves `ipmaildir gc` (--dry-run too),
 * `fsck` (its read-only checks) and `status` on STORE/control, a Unix
 * stream socket, so they run while the mailbox stays mounted: the
 * command, finding it there, asks, and the daemon runs the same engine
 * (fs/tools gc and fsck, status's gathering) on its live state — gc
 * beside its writers as fs/tools/gc_live.h says, fsck and status with
 * fs->housekeeping and commit_lock held (fs/mount/housekeeping.h), so
 * the head does not move under them — and sends back the report the unmounted command prints (text,
 * or --json) and its exit status.  `fsck --repair` never goes there: it
 * needs the mailbox unmounted, and says so.
 *
 * Who may connect: the socket is 0600 in the store directory (0700 since
 * init), and the daemon checks every peer's credentials (SO_PEERCRED):
 * the store directory's owner or root, nobody else; anyone else gets one
 * line and exit status 1.
 *
 * Life: made by control_start (a stale socket a killed daemon left is
 * replaced: the daemon holds STORE/lock, so no other one serves it),
 * removed by control_stop at unmount.  A client whose connect is refused
 * (nothing listens: a daemon killed, the socket stale) or finds no socket
 * runs the command itself, as before, and the store's locks decide.
 *
 * Protocol, one request per connection; every message is a frame: four
 * bytes of length (big-endian, at most CONTROL_FRAME_MAX) and that many
 * bytes of one JSON object.
 *   client → daemon  {"v": 1, "cmd": "gc" | "fsck" | "status",
 *                     "json": bool, and the command's settings: gc
 *                     "keep_last", "keep_within" (s, -1: none),
 *                     "dry_run", "node"; fsck "deep", "verbose", "node"}
 *   daemon → client  {"out": text} and {"err": text}, any number, in
 *                     the order written: the command's standard output
 *                     and error; then {"exit": status}, the last frame.
 * A connection that ends before "exit" is a daemon that died mid-way:
 * the client says so in one line and exits 1.
 */
#ifndef IPMD_FS_CLI_CONTROL_H
#define IPMD_FS_CLI_CONTROL_H

#include <jansson.h>

#include "fs/cli/cli.h"
#include "fs/store/store.h"

#define CONTROL_VERSION 1
#define CONTROL_FRAME_MAX (1u << 20)

struct ipmd_fs;
struct control;

/* The daemon's side: a thread of its own serving STORE/control (started
 * after daemonizing, as every thread).  0 with *out set, or -errno. */
int control_start(struct control **out, struct ipmd_fs *fs);
/* Finish the request under way, end the thread, remove the socket.
 * NULL: nothing. */
void control_stop(struct control *c);

/* The commands' side of a request (in their cmd_*.c): run req on the
 * mount fs, writing to io; the exit status. */
int gc_serve(struct ipmd_fs *fs, const json_t *req, const struct cli_io *io);
int fsck_serve(struct ipmd_fs *fs, const json_t *req,
	       const struct cli_io *io);
int status_serve(struct ipmd_fs *fs, const json_t *req,
		 const struct cli_io *io);

/* The client's: ask the mount of the store at dir (NULL: the default) to
 * run req (taken, "v" and "cmd" added here), its output copied to stdout
 * and stderr.  The exit status; CONTROL_UNSERVED when no mount answers
 * there (run the command here); a failure to ask is said in one line
 * ("CMD: …") and is EXIT_FAILURE_. */
#define CONTROL_UNSERVED (-1)
int control_ask(const char *cmd, const char *dir, json_t *req);

#endif
