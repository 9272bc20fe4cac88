/*
 * tests/unit/fuse_reply_stub.h — libfuse's request and reply calls,
 * replaced, for the unit tests that drive the FUSE table (fs/fuse/ops.h)
 * over a mount as the kernel would, without a kernel.
 *
 * Linked into those tests only (the Makefile's FUSE_STUB_TESTS), as an
 * object: its definitions come before the shared library's, so every
 * fuse_req_userdata, fuse_req_ctx and fuse_reply_* below is this file's.
 * A reply not defined here would go to libfuse, which reads the request
 * as its own: define it here before a test makes an op send it.
 *
 * A request is a struct fuse_reply_stub the test owns, passed as
 * fuse_stub_req(s): each reply records in it what the op answered.  No
 * state of its own: a test may keep several requests at once.
 *
 * What a reply returns is s->result: 0, or -ENOENT, which is libfuse's
 * answer when the kernel interrupted the request and dropped it ("the
 * reply discarded").  fuse_reply_err and fuse_reply_none always succeed:
 * an error reply hands the kernel no reference, so whether it arrived
 * changes nothing an op must undo.
 */
#ifndef IPMD_TESTS_UNIT_FUSE_REPLY_STUB_H
#define IPMD_TESTS_UNIT_FUSE_REPLY_STUB_H

#define FUSE_USE_VERSION 34
#include <fuse_lowlevel.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct inode;
struct ipmd_fs;

/* The first bytes of a fuse_reply_buf kept (a read's, a directory's). */
#define FUSE_STUB_BUF 64

struct fuse_reply_stub {
	void *userdata;      /* fuse_req_userdata's answer: the ipmd_fs */
	struct fuse_ctx ctx; /* fuse_req_ctx's answer: who is calling */
	int result;          /* what a reply returns: 0, or -ENOENT */
	int err;             /* the last reply's error: 0 for a success */
	uint64_t fh;         /* the last fuse_reply_open's handle */
	char buf[FUSE_STUB_BUF]; /* the last fuse_reply_buf's bytes … */
	size_t buf_len;          /* … as many as it sent, at most the above */
};

/* s zeroed, its userdata fs, its caller this process's uid and gid. */
void fuse_stub_init(struct fuse_reply_stub *s, struct ipmd_fs *fs);

/* The request whose replies land in s (s must outlive the call). */
fuse_req_t fuse_stub_req(struct fuse_reply_stub *s);

/* A new store in the run's temp directory, opened as fs (ipmd_fs_open,
 * no threads), s initialised for it: 0, or -1 with why in msg. */
int fuse_stub_mount(struct ipmd_fs *fs, struct fuse_reply_stub *s,
		    char *msg, size_t msg_len);

/* The start of such a test's main: libsodium initialised (exit 1 when it
 * cannot be), the run bounded (alarm, 120 s), and fuse_stub_mount said as
 * the run's first check ("a store, opened").  true when the store is
 * open; false when that check failed, and main returns tap_done(). */
bool fuse_stub_start(struct ipmd_fs *fs, struct fuse_reply_stub *s);

/* The inode fs's root names name (taken under fs->lock), or NULL. */
struct inode *fuse_stub_named(struct ipmd_fs *fs, const char *name);

#endif
