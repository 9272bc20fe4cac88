/* tests/unit/test_progress.c — progress lines (fs/cli/progress.h), with a
 * fake clock and a pipe for the output. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fs/cli/progress.h"
#include "tests/tap.h"

static double fake_now;
static double fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static size_t drain(int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? (size_t)n : 0;
}

int main(void)
{
	int fds[2];
	ok(pipe(fds) == 0, "pipe");
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	char out[4096];
	struct progress p = {.clock = fake_clock};
	fake_now = 100;
	progress_start(&p, fds[1], "import", "files", 1000, 1000 << 20, false);
	ok(!p.tty, "a pipe is not a terminal: plain lines");
	progress_add(&p, 10, 10 << 20);
	is_int(drain(fds[0], out, sizeof(out)), 0, "nothing before %d s",
	       PROGRESS_PLAIN_SECONDS);
	fake_now = 100 + PROGRESS_PLAIN_SECONDS;
	progress_add(&p, 240, 240 << 20); /* 250 of 1000 after 5 s */
	drain(fds[0], out, sizeof(out));
	ok(strstr(out, "import 250/1000 files") != NULL, "counts: %s", out);
	ok(strstr(out, "250.0/1000.0 MiB") != NULL, "bytes");
	ok(strstr(out, "50 files/s") != NULL, "rate");
	ok(strstr(out, "ETA 0:15") != NULL, "ETA from the fraction done");
	ok(strchr(out, '\r') == NULL && out[strlen(out) - 1] == '\n',
	   "a plain line, no carriage return");
	fake_now += 1;
	progress_add(&p, 1, 0);
	is_int(drain(fds[0], out, sizeof(out)), 0, "rate-limited");
	fake_now = 110;
	progress_done(&p, "3 skipped");
	drain(fds[0], out, sizeof(out));
	ok(strstr(out, "import: 251 files") && strstr(out, "in 10.0 s") &&
		   strstr(out, "; 3 skipped\n"),
	   "summary line: %s", out);

	/* Unknown totals: no ETA, no "/total". */
	fake_now = 0;
	progress_start(&p, fds[1], "gc", "blocks", 0, 0, true);
	p.items = 42;
	char line[256];
	progress_format(&p, 2, line, sizeof(line));
	ok(strstr(line, "gc 42 blocks") && !strstr(line, "42/"),
	   "unknown totals: no /total: %s", line);
	ok(!strstr(line, "ETA"), "no ETA without totals");

	/* The terminal form draws a bar; format it without a terminal. */
	p.tty = true;
	p.total_items = 100;
	p.items = 50;
	progress_format(&p, 1, line, sizeof(line));
	ok(strstr(line, "[##########..........]") != NULL, "bar: %s", line);

	/* progress_clear erases a drawn bar once (the terminal form; the
	 * pipe stands in for the terminal), and nothing else. */
	fake_now = 0;
	progress_start(&p, fds[1], "fsck", "blocks", 0, 0, false);
	p.tty = true;
	drain(fds[0], out, sizeof(out));
	progress_clear(&p);
	is_int(drain(fds[0], out, sizeof(out)), 0, "clear with no bar: nothing");
	fake_now = 1;
	progress_add(&p, 5, 0);
	drain(fds[0], out, sizeof(out));
	ok(out[0] == '\r' && strstr(out, "fsck 5 blocks") &&
		   strstr(out, "\033[K"),
	   "a bar drawn in place");
	ok(p.drawn, "…and remembered as drawn");
	progress_clear(&p);
	is_int(drain(fds[0], out, sizeof(out)), 4, "clear: four bytes");
	ok(!memcmp(out, "\r\033[K", 4) && !p.drawn, "…\\r and erase line");
	progress_clear(&p);
	is_int(drain(fds[0], out, sizeof(out)), 0, "a second clear: nothing");
	p.tty = false;
	p.drawn = true;
	progress_clear(&p);
	is_int(drain(fds[0], out, sizeof(out)), 0, "plain form: nothing");

	progress_add(NULL, 1, 1);
	progress_done(NULL, NULL);
	progress_clear(NULL);
	ok(1, "NULL progress is accepted");
	close(fds[0]);
	close(fds[1]);
	return tap_done();
}
