#!/usr/bin/env bash
# 97-fuzz.t — every libFuzzer target (tests/fuzz/) for a short fixed time:
# a crash or sanitizer report in any parser fails the suite.
# IPMD_FUZZ_SECONDS (default 20; the slow tree loaders get twice that, the
# pure parsers half: 2 min in all); IPMD_FUZZ_SECONDS=0 skips.
# Builds the targets (make fuzz, clang) into IPMD_FUZZ_BUILD (build-fuzz).
set -u
top=${IPMD_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
secs=${IPMD_FUZZ_SECONDS:-20}
[ "$secs" = 0 ] && { echo "1..0 # SKIP IPMD_FUZZ_SECONDS=0"; exit 0; }
command -v clang >/dev/null ||
	{ echo "1..0 # SKIP clang not installed"; exit 0; }
ls /usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a \
	>/dev/null 2>&1 || ls /usr/lib/clang/*/lib/linux/libclang_rt.fuzzer*.a \
	>/dev/null 2>&1 || { echo "1..0 # SKIP libclang-rt (libFuzzer) missing"; exit 0; }
fb=${IPMD_FUZZ_BUILD:-build-fuzz}
if ! make -C "$top" -s FUZZ_BUILD="$fb" fuzz >/tmp/ipmd-fuzz-build.$$ 2>&1; then
	echo "not ok 1 - make fuzz"
	sed 's/^/# /' /tmp/ipmd-fuzz-build.$$ | tail -30
	rm -f /tmp/ipmd-fuzz-build.$$
	echo "1..1"
	exit 1
fi
rm -f /tmp/ipmd-fuzz-build.$$
FUZZ_BUILD=$fb FUZZ_SECONDS=$secs exec "$top/tests/fuzz/run"
