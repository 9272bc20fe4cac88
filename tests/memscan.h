/*
 * tests/memscan.h — find a secret's bytes in this process's memory.
 *
 * For tests that a key is wiped after use, or lives only in guarded
 * (sodium_malloc'ed) pages.  The needle is given masked (each byte xor
 * MEMSCAN_MASK), so the test's own copy never matches.  Scans every
 * readable mapping of /proc/self/maps that is writable or anonymous, up to
 * MEMSCAN_MAP_MAX bytes (heap, anonymous, .data/.bss), skipping the stacks: a thread's
 * stack holds transient copies (the cipher's state) by design.  The
 * read buffer is its own mapping, skipped too.
 */
#ifndef IPMD_TESTS_MEMSCAN_H
#define IPMD_TESTS_MEMSCAN_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MEMSCAN_MASK 0xa5
#define MEMSCAN_MAP_MAX (256ul << 20)
#define MEMSCAN_READ (1ul << 20)

struct memscan_hit {
	uintptr_t addr;
	bool guarded; /* PROT_NONE pages right before and after its mapping */
};

static inline void memscan_mask(uint8_t *out, const uint8_t *in, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = in[i] ^ MEMSCAN_MASK;
}

static inline bool memscan_at(const uint8_t *p, const uint8_t *masked,
			      size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((uint8_t)(p[i] ^ MEMSCAN_MASK) != masked[i])
			return false;
	return true;
}

struct memscan_map {
	uintptr_t lo, hi;
	bool none, scan;
};

/* Every mapping of /proc/self/maps, in address order; count or -1. */
static inline int memscan_maps(struct memscan_map *m, int max,
			       uintptr_t skip)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[512], perms[8], name[256];
	int n = 0;

	if (!f)
		return -1;
	while (n < max && fgets(line, sizeof(line), f)) {
		name[0] = 0;
		if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %255s", &m[n].lo,
			   &m[n].hi, perms, name) < 3)
			continue;
		m[n].none = !strncmp(perms, "---", 3);
		/* Writable, or anonymous (a key made read-only after use). */
		m[n].scan = perms[0] == 'r' && (perms[1] == 'w' || !name[0]) &&
			    m[n].hi - m[n].lo <= MEMSCAN_MAP_MAX &&
			    strncmp(name, "[stack", 6) != 0 &&
			    strcmp(name, "[vvar]") != 0 && m[n].lo != skip;
		n++;
	}
	fclose(f);
	return n;
}

/*
 * Hits of the unmasked needle; at most max stored in hits.  Returns the
 * number found, or -1 if /proc/self is unreadable.
 */
static inline int memscan(const uint8_t *masked, size_t n,
			  struct memscan_hit *hits, int max)
{
	enum { MAPS_MAX = 8192, ALIGN = 64 };
	size_t maps_at = (MEMSCAN_READ + n + ALIGN - 1) / ALIGN * ALIGN;
	size_t maps_bytes = MAPS_MAX * sizeof(struct memscan_map);
	uint8_t *buf = mmap(NULL, maps_at + maps_bytes,
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return -1;
	struct memscan_map *m = (struct memscan_map *)(buf + maps_at);
	int mem = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	int nm = mem < 0 ? -1 : memscan_maps(m, MAPS_MAX, (uintptr_t)buf);
	int found = 0;

	for (int k = 0; k < nm; k++) {
		if (!m[k].scan)
			continue;
		bool guarded = k > 0 && k + 1 < nm && m[k - 1].none &&
			       m[k - 1].hi == m[k].lo && m[k + 1].none &&
			       m[k + 1].lo == m[k].hi;
		for (uintptr_t at = m[k].lo; at < m[k].hi; at += MEMSCAN_READ) {
			size_t want = m[k].hi - at < MEMSCAN_READ + n
					      ? m[k].hi - at
					      : MEMSCAN_READ + n;
			ssize_t got = pread(mem, buf, want, (off_t)at);
			for (size_t i = 0;
			     got >= (ssize_t)n && i + n <= (size_t)got &&
			     i < MEMSCAN_READ;
			     i++) {
				if (!memscan_at(buf + i, masked, n))
					continue;
				if (found < max)
					hits[found] = (struct memscan_hit){
						at + i, guarded};
				found++;
			}
		}
	}
	if (mem >= 0)
		close(mem);
	munmap(buf, maps_at + maps_bytes);
	return nm < 0 ? -1 : found;
}

#endif
