/*
 * util/attr.h — compiler attributes that state a function's contract.
 *
 * IPMD_MUST_CHECK marks a function whose result decides safety: an open,
 * verify, parse or read that tells authentic from forged, whole from
 * damaged, or "this key" from "another" (libsodium marks its own so).
 * A caller that drops the result is a compile error under -Werror.  A
 * deliberate ignore must be an explicit test with a comment saying why —
 * a (void) cast does not silence GCC, on purpose.
 *
 * Written on a line of its own above the declaration, in the header:
 *
 *     IPMD_MUST_CHECK
 *     int commit_open(const uint8_t *block, size_t len, …);
 */
#ifndef IPMD_UTIL_ATTR_H
#define IPMD_UTIL_ATTR_H

#define IPMD_MUST_CHECK __attribute__((warn_unused_result))

#endif
