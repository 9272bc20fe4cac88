/*
 * fs/model/capability.h — the text form of one object's read capability.
 *
 *   ipmaildir:<cid>?size=<bytes>&depth=<n>#<key, base64url>
 *
 * The root (CID, key) alone reads the whole object and nothing else of the
 * mailbox.  The key sits in the fragment, as in web capability URLs, so
 * software that logs or forwards the locator part does not leak it.  An
 * empty object has no block: "ipmaildir:empty".
 */
#ifndef IPMD_FS_MODEL_CAPABILITY_H
#define IPMD_FS_MODEL_CAPABILITY_H

#include "fs/model/object.h"
#include "util/attr.h"

#define CAPABILITY_PREFIX "ipmaildir:"
#define CAPABILITY_MAX 256

/* 0, or -ENOBUFS if out (CAPABILITY_MAX is always enough) is too small. */
int capability_format(const struct obj_ref *ref, char *out, size_t out_size);
/* 0 or -EINVAL for anything malformed. */
IPMD_MUST_CHECK
int capability_parse(const char *text, struct obj_ref *ref);

#endif
