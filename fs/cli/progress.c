/* fs/cli/progress.c — progress bars and plain progress lines (progress.h). */
#include "fs/cli/progress.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/io.h"

#define MIB (1024.0 * 1024.0)
#define BAR_WIDTH 20

static double mono_now(const struct progress *p)
{
	return p->clock ? p->clock(p->clock_arg) : now_s();
}

static void put(int fd, const char *s, size_t n)
{
	(void)write_all(fd, s, n); /* best effort: progress never fails work */
}

void progress_start(struct progress *p, int fd, const char *what,
		    const char *unit, uint64_t total_items,
		    uint64_t total_bytes, bool force_plain)
{
	if (!p)
		return;
	double (*clock)(void *) = p->clock;
	void *clock_arg = p->clock_arg;
	memset(p, 0, sizeof(*p));
	p->clock = clock;
	p->clock_arg = clock_arg;
	p->fd = fd;
	p->tty = !force_plain && isatty(fd);
	p->what = what;
	p->unit = unit;
	p->total_items = total_items;
	p->total_bytes = total_bytes;
	p->start = p->last_draw = mono_now(p);
}

void progress_set_total(struct progress *p, uint64_t items, uint64_t bytes)
{
	if (!p)
		return;
	p->total_items = items;
	p->total_bytes = bytes;
}

/* "1:02:03" or "2:03". */
static void fmt_duration(double s, char *out, size_t size)
{
	if (s < 0 || s > 1e8) {
		snprintf(out, size, "?");
		return;
	}
	unsigned long t = (unsigned long)(s + 0.5);
	if (t >= 3600)
		snprintf(out, size, "%lu:%02lu:%02lu", t / 3600, t / 60 % 60,
			 t % 60);
	else
		snprintf(out, size, "%lu:%02lu", t / 60, t % 60);
}

int progress_format(const struct progress *p, double now, char *out,
		    size_t size)
{
	double el = now - p->start;
	double rate = el > 0 ? (double)p->items / el : 0;
	char bar[BAR_WIDTH + 3] = "";
	char items[64], bytes[64], eta[48] = "";
	/* The fraction done: by bytes when known (big files dominate the
	 * time), else by items. */
	double frac = -1;
	if (p->total_bytes)
		frac = (double)p->bytes / (double)p->total_bytes;
	else if (p->total_items)
		frac = (double)p->items / (double)p->total_items;
	if (frac > 1)
		frac = 1;
	if (p->total_items)
		snprintf(items, sizeof(items), "%llu/%llu %s",
			 (unsigned long long)p->items,
			 (unsigned long long)p->total_items, p->unit);
	else
		snprintf(items, sizeof(items), "%llu %s",
			 (unsigned long long)p->items, p->unit);
	if (p->total_bytes)
		snprintf(bytes, sizeof(bytes), "  %.1f/%.1f MiB",
			 (double)p->bytes / MIB, (double)p->total_bytes / MIB);
	else if (p->bytes)
		snprintf(bytes, sizeof(bytes), "  %.1f MiB",
			 (double)p->bytes / MIB);
	else
		bytes[0] = '\0';
	if (frac > 0 && el > 0) {
		char d[32];
		fmt_duration(el / frac - el, d, sizeof(d));
		snprintf(eta, sizeof(eta), "  ETA %s", d);
	}
	if (p->tty && frac >= 0) {
		int fill = (int)(frac * BAR_WIDTH);
		bar[0] = '[';
		for (int i = 0; i < BAR_WIDTH; i++)
			bar[1 + i] = i < fill ? '#' : '.';
		bar[BAR_WIDTH + 1] = ']';
		bar[BAR_WIDTH + 2] = '\0';
	}
	int n = snprintf(out, size, "%s %s%s%s%s  %.0f %s/s%s", p->what, bar,
			 bar[0] ? " " : "", items, bytes, rate, p->unit, eta);
	return n < 0 ? 0 : n >= (int)size ? (int)size - 1 : n;
}

static void draw(struct progress *p, double now)
{
	char line[512];
	int n = progress_format(p, now, line, sizeof(line));
	if (p->tty) {
		char buf[600];
		int m = snprintf(buf, sizeof(buf), "\r%.*s\033[K", n, line);
		put(p->fd, buf, (size_t)m);
		p->drawn = true;
	} else {
		line[n] = '\n';
		put(p->fd, line, (size_t)n + 1);
	}
	p->last_draw = now;
}

void progress_add(struct progress *p, uint64_t items, uint64_t bytes)
{
	if (!p)
		return;
	p->items += items;
	p->bytes += bytes;
	double now = mono_now(p);
	double every = p->tty ? 1.0 / PROGRESS_TTY_HZ : PROGRESS_PLAIN_SECONDS;
	if (now - p->last_draw >= every)
		draw(p, now);
}

void progress_clear(struct progress *p)
{
	if (!p || !p->tty || !p->drawn)
		return;
	put(p->fd, "\r\033[K", 4);
	p->drawn = false;
}

void progress_done(struct progress *p, const char *extra)
{
	if (!p)
		return;
	double el = mono_now(p) - p->start;
	if (p->tty && p->drawn)
		put(p->fd, "\r\033[K", 4);
	char line[512];
	double secs = el > 0 ? el : 0;
	int n = snprintf(line, sizeof(line),
			 "%s: %llu %s, %.1f MiB in %.1f s (%.0f %s/s, "
			 "%.1f MiB/s)%s%s\n",
			 p->what, (unsigned long long)p->items, p->unit,
			 (double)p->bytes / MIB, secs,
			 secs > 0 ? (double)p->items / secs : 0, p->unit,
			 secs > 0 ? (double)p->bytes / MIB / secs : 0,
			 extra && *extra ? "; " : "", extra ? extra : "");
	if (n > 0)
		put(p->fd, line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}
