/* tests/unit/fuse_reply_stub.c — libfuse's replies as the unit tests of
 * the FUSE table make them answer (see fuse_reply_stub.h). */
#include "tests/unit/fuse_reply_stub.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "fs/model/tree.h"
#include "fs/mount/mount.h"
#include "tests/tap.h"
#include "tests/unit/harness.h"

void fuse_stub_init(struct fuse_reply_stub *s, struct ipmd_fs *fs)
{
	memset(s, 0, sizeof(*s));
	s->userdata = fs;
	s->ctx.uid = getuid();
	s->ctx.gid = getgid();
}

fuse_req_t fuse_stub_req(struct fuse_reply_stub *s)
{
	return (fuse_req_t)(void *)s;
}

static struct fuse_reply_stub *stub(fuse_req_t req)
{
	return (struct fuse_reply_stub *)(void *)req;
}

struct inode *fuse_stub_named(struct ipmd_fs *fs, const char *name)
{
	pthread_mutex_lock(&fs->lock);
	struct dirent *d = tree_lookup(tree_get(fs->tree, TREE_ROOT_INO), name);
	pthread_mutex_unlock(&fs->lock);
	return d ? d->inode : NULL;
}

/* ---- libfuse's, replaced ---- */

void *fuse_req_userdata(fuse_req_t req)
{
	return stub(req)->userdata;
}

const struct fuse_ctx *fuse_req_ctx(fuse_req_t req)
{
	return &stub(req)->ctx;
}

int fuse_reply_err(fuse_req_t req, int err)
{
	stub(req)->err = err;
	return 0;
}

void fuse_reply_none(fuse_req_t req)
{
	(void)req;
}

int fuse_reply_entry(fuse_req_t req, const struct fuse_entry_param *e)
{
	(void)e;
	stub(req)->err = 0;
	return stub(req)->result;
}

int fuse_reply_create(fuse_req_t req, const struct fuse_entry_param *e,
		      const struct fuse_file_info *fi)
{
	(void)e;
	(void)fi;
	stub(req)->err = 0;
	return stub(req)->result;
}

int fuse_reply_open(fuse_req_t req, const struct fuse_file_info *fi)
{
	stub(req)->err = 0;
	stub(req)->fh = fi->fh;
	return stub(req)->result;
}

int fuse_reply_write(fuse_req_t req, size_t count)
{
	(void)count;
	stub(req)->err = 0;
	return stub(req)->result;
}

int fuse_reply_buf(fuse_req_t req, const char *buf, size_t size)
{
	struct fuse_reply_stub *s = stub(req);
	s->buf_len = size < sizeof(s->buf) ? size : sizeof(s->buf);
	if (s->buf_len)
		memcpy(s->buf, buf, s->buf_len);
	s->err = 0;
	return s->result;
}

int fuse_stub_mount(struct ipmd_fs *fs, struct fuse_reply_stub *s,
		    char *msg, size_t msg_len)
{
	/* static: fs may hold on to both while it is open */
	static char store[PATH_MAX];
	static struct mount_options mo;
	snprintf(store, sizeof(store), "%s/store", tap_tempdir());
	if (harness_make_store(store) != 0) {
		snprintf(msg, msg_len, "cannot make a store in %s", store);
		return -1;
	}
	fuse_stub_init(s, fs);
	mo = (struct mount_options){.store = store};
	return ipmd_fs_open(fs, &mo, msg, msg_len) == 0 ? 0 : -1;
}

bool fuse_stub_start(struct ipmd_fs *fs, struct fuse_reply_stub *s)
{
	if (sodium_init() < 0)
		exit(1);
	alarm(120);
	char msg[512] = "";
	return ok(fuse_stub_mount(fs, s, msg, sizeof(msg)) == 0,
		  "a store, opened %s", msg);
}
