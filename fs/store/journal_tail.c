/* fs/store/journal_tail.c — see journal_tail.h. */
#include "fs/store/journal_tail.h"

#include <stdint.h>
#include <stdio.h>

#include "fs/store/journal.h"

#define UNFINISHED_WHY "a crash stopped it before its call returned"
#define UNOPENABLE_WHY                                                      \
	"damaged, or a power cut lost part of it; it was never "            \
	"acknowledged unless the disk damaged it"
/* No "cut off" in it: only a replay that cut something says so. */
#define LEFT "left in place, the next read-write mount cuts it off"

bool journal_tail_say(const struct journal_replay_stats *js,
		      enum journal_tail which, bool cut, char *buf,
		      size_t size)
{
	bool unfinished = which == JOURNAL_TAIL_UNFINISHED;
	uint64_t n = js->unfinished_tail_bytes;
	if (!unfinished) /* the rest of the tail */
		n = js->torn_tail_bytes > n ? js->torn_tail_bytes - n : 0;
	unsigned long long b = (unsigned long long)n;
	if (size)
		buf[0] = '\0';
	if (!n || !size)
		return n != 0;
	if (unfinished && cut)
		snprintf(buf, size, "journal: cut off an unfinished write at "
			 "the end of the journal (%llu bytes): "
			 UNFINISHED_WHY, b);
	else if (unfinished)
		snprintf(buf, size, "journal: an unfinished write at the end "
			 "of the journal (%llu bytes): " UNFINISHED_WHY "; "
			 LEFT, b);
	else if (cut)
		snprintf(buf, size, "journal: cut its last record (%llu "
			 "bytes): it does not open (" UNOPENABLE_WHY ")", b);
	else
		snprintf(buf, size, "journal: its last record (%llu bytes) "
			 "does not open (" UNOPENABLE_WHY "): " LEFT, b);
	return true;
}
