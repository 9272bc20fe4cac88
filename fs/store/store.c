/* fs/store/store.c — see store.h. */
#include "fs/store/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "util/io.h"
#include "util/spawn.h"

#define PASSPHRASE_MAX 1024

static int join(char out[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	return n < 0 || n >= PATH_MAX ? -ENAMETOOLONG : 0;
}

int store_paths_init(struct store_paths *p, const char *dir)
{
	int n;
	memset(p, 0, sizeof(*p));
	if (dir && *dir == '/') {
		n = snprintf(p->root, sizeof(p->root), "%s", dir);
	} else if (dir && *dir) {
		/* Absolute, so a daemon that changed to / still finds it. */
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		n = snprintf(p->root, sizeof(p->root), "%s/%s", cwd, dir);
	} else {
		const char *xdg = getenv("XDG_DATA_HOME");
		const char *home = getenv("HOME");
		if (xdg && *xdg)
			n = snprintf(p->root, sizeof(p->root), "%s/ipmaildir",
				     xdg);
		else if (home && *home)
			n = snprintf(p->root, sizeof(p->root),
				     "%s/.local/share/ipmaildir", home);
		else
			return -ENOENT;
	}
	if (n < 0 || n >= (int)sizeof(p->root))
		return -ENAMETOOLONG;
	if (join(p->key, p->root, STORE_KEY_FILE) ||
	    join(p->journal, p->root, STORE_JOURNAL_DIR) ||
	    join(p->head, p->root, STORE_HEAD_FILE) ||
	    join(p->lock, p->root, STORE_LOCK_FILE) ||
	    join(p->seen, p->root, STORE_SEEN_FILE) ||
	    join(p->pruned, p->root, STORE_PRUNED_FILE) ||
	    join(p->readers, p->root, STORE_READERS_FILE) ||
	    join(p->device, p->root, STORE_DEVICE_FILE) ||
	    join(p->control, p->root, STORE_CONTROL_FILE))
		return -ENAMETOOLONG;
	return 0;
}

/* Does dir hold an entry not starting with '.' for which fn says yes?
 * 1, 0 (also when dir is missing), or negative errno. */
static int dir_any(const char *dir, int (*fn)(const char *path))
{
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -errno;
	int r = 0;
	struct dirent *de;
	while (r == 0 && (de = readdir(d)) != NULL) {
		char path[PATH_MAX];
		if (de->d_name[0] == '.')
			continue; /* ., .., and in-flight temp files */
		if (join(path, dir, de->d_name))
			r = -ENAMETOOLONG;
		else
			r = fn(path);
	}
	closedir(d);
	return r;
}

static int is_block(const char *path)
{
	(void)path;
	return 1;
}

/* A block shard directory holding a block. */
static int shard_has_block(const char *path)
{
	return dir_any(path, is_block);
}

/* A journal file with something in it (an empty one records nothing). */
static int journal_has_record(const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : -errno;
	return S_ISREG(st.st_mode) && st.st_size > 0;
}

int store_has_data(const struct store_paths *p)
{
	const char *files[] = {p->head, p->seen, p->pruned};
	char blocks[PATH_MAX];
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		if (access(files[i], F_OK) == 0)
			return 1;
		if (errno != ENOENT)
			return -errno;
	}
	if (join(blocks, p->root, STORE_BLOCKS_DIR))
		return -ENAMETOOLONG;
	int r = dir_any(blocks, shard_has_block);
	return r ? r : dir_any(p->journal, journal_has_record);
}

int store_is_node_cache(const struct store_paths *p)
{
	const char *mailbox_only[] = {p->key, p->head, p->pruned};
	for (size_t i = 0; i < sizeof(mailbox_only) / sizeof(*mailbox_only);
	     i++) {
		if (access(mailbox_only[i], F_OK) == 0)
			return 0;
		if (errno != ENOENT)
			return -errno;
	}
	int r = dir_any(p->journal, journal_has_record);
	if (r)
		return r < 0 ? r : 0;
	return store_has_data(p); /* blocks or seen are left */
}

void store_no_key_message(const struct store_paths *p, char *msg,
			  size_t size)
{
	if (store_is_node_cache(p) == 1)
		snprintf(msg, size,
			 "%s is the cache of a read-only mount --from-node "
			 "(blocks fetched from a node; no key, no head, no "
			 "device): not a mailbox (mount it with --from-node "
			 "and --capability; do not restore a key into it)",
			 p->root);
	else if (store_has_data(p) != 0)
		snprintf(msg, size,
			 "%s holds a mailbox but its key file %s is missing: "
			 "restore it (ipmaildir key restore, or a copy of "
			 "the file); a new key would read none of this mail",
			 p->root, p->key);
	else
		snprintf(msg, size,
			 "no mailbox in %s (run ipmaildir init first)",
			 p->root);
}

/* Read one line (without its newline) from fd into buf. */
static int read_line(int fd, char *buf, size_t cap, size_t *len)
{
	size_t n = 0;
	for (;;) {
		char c;
		ssize_t r = read(fd, &c, 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0 || c == '\n')
			break;
		if (n + 1 >= cap)
			return -EMSGSIZE;
		buf[n++] = c;
	}
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	*len = n;
	return 0;
}

static int prompt_tty(int tty, const char *prompt, char *buf, size_t cap,
		      size_t *len)
{
	struct termios old, quiet;
	if (tcgetattr(tty, &old) != 0)
		return -errno;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* Echo off (dropping what was typed ahead, as getpass does) before
	 * the prompt shows: what is typed after it is all kept. */
	if (tcsetattr(tty, TCSAFLUSH, &quiet) != 0)
		return -errno;
	if (write(tty, prompt, strlen(prompt)) < 0) {
		int e = -errno;
		tcsetattr(tty, TCSAFLUSH, &old);
		return e;
	}
	int r = read_line(tty, buf, cap, len);
	tcsetattr(tty, TCSAFLUSH, &old);
	return r;
}

/* A passphrase file: like the key file (crypto/keys.c), nobody else's. */
static int open_pass_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	struct stat st;
	int e = fstat(fd, &st) != 0 ? -errno
		: S_ISDIR(st.st_mode) ? -EISDIR
		: st.st_mode & (S_IRWXG | S_IRWXO) ? PASS_E_PERMS
						   : 0;
	if (e) {
		close(fd);
		return e;
	}
	return fd;
}

static int read_pass_file(const char *path, char *buf, size_t *len)
{
	if (!strcmp(path, "-"))
		return read_line(STDIN_FILENO, buf, PASSPHRASE_MAX, len);
	int fd = open_pass_file(path);
	if (fd < 0)
		return fd;
	int r = read_line(fd, buf, PASSPHRASE_MAX, len);
	close(fd);
	return r;
}

/* Read what is left of the command's output, so that it is not killed by
 * SIGPIPE for writing more than one line; bounded, then we stop. */
static void drain(int fd)
{
	char junk[4096];
	for (int i = 0; i < 256; i++) {
		ssize_t n = read(fd, junk, sizeof(junk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
	}
	sodium_memzero(junk, sizeof(junk));
}

/* The first line of `/bin/sh -c command`'s stdout; its exit must be 0. */
static int read_pass_command(const char *command, char *buf, size_t *len)
{
	char *argv[] = {"/bin/sh", "-c", (char *)command, NULL};
	struct spawn sp;
	int e = spawn_start(argv, STDOUT_FILENO, &sp);
	if (e)
		return e;
	int r = read_line(sp.fd, buf, PASSPHRASE_MAX, len);
	drain(sp.fd);
	int status = spawn_finish(&sp);
	if (status < 0)
		return status;
	if (status != 0)
		return PASS_E_COMMAND;
	if (r == 0 && *len == 0)
		return PASS_E_NOOUTPUT;
	return r;
}

/* Ask on the terminal, twice when confirm. */
static int read_pass_tty(const char *prompt, int confirm, char *buf,
			 size_t *len)
{
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (tty < 0)
		return -ENOTTY;
	int r = prompt_tty(tty, prompt, buf, PASSPHRASE_MAX, len);
	if (r == 0 && confirm) {
		size_t len2;
		char *again = sodium_malloc(PASSPHRASE_MAX);
		r = again ? prompt_tty(tty, "Again: ", again, PASSPHRASE_MAX,
				       &len2)
			  : -ENOMEM;
		if (r == 0 && (len2 != *len ||
			       sodium_memcmp(again, buf, *len) != 0))
			r = -EINVAL;
		if (again)
			sodium_free(again);
	}
	close(tty);
	return r;
}

int passphrase_read(const struct passphrase_source *src, const char *prompt,
		    int confirm, char **pass, size_t *len)
{
	char *buf = sodium_malloc(PASSPHRASE_MAX);
	int r;
	*len = 0;
	if (!buf)
		return -ENOMEM;
	if (src && src->file)
		r = read_pass_file(src->file, buf, len);
	else if (src && src->command)
		r = read_pass_command(src->command, buf, len);
	else
		r = read_pass_tty(prompt, confirm, buf, len);
	if (r == 0 && *len == 0)
		r = -EINVAL;
	if (r != 0) {
		sodium_free(buf);
		*pass = NULL;
		*len = 0;
		return r;
	}
	*pass = buf;
	return 0;
}

void passphrase_strerror(const struct passphrase_source *src, int err,
			 char *msg, size_t size)
{
	const char *why = err == PASS_E_PERMS
				  ? "is readable by other users (chmod 600 it)"
			  : err == PASS_E_COMMAND
				  ? "failed (it exited non-zero or was killed)"
			  : err == PASS_E_NOOUTPUT ? "printed no passphrase"
			  : err == -EMSGSIZE	   ? "too long"
			  : err == -EINVAL ? "empty, or the two entries differ"
					   : strerror(-err);
	/* "is …", "failed …", "printed …" read on from the name; an errno
	 * string follows a colon. */
	const char *sep = err == PASS_E_PERMS || err == PASS_E_COMMAND ||
				  err == PASS_E_NOOUTPUT
			  ? " "
			  : ": ";
	if (src && src->file && !strcmp(src->file, "-"))
		snprintf(msg, size, "--passphrase-file - (standard input)%s%s",
			 sep, why);
	else if (src && src->file)
		snprintf(msg, size, "--passphrase-file %s%s%s", src->file,
			 sep, why);
	else if (src && src->command)
		snprintf(msg, size, "--passphrase-command %s", why);
	else if (err == -ENOTTY)
		snprintf(msg, size, "no terminal to ask the passphrase on: "
				    "give --passphrase-file F (or - for "
				    "standard input) or --passphrase-command "
				    "CMD");
	else
		snprintf(msg, size, "passphrase: %s", why);
}

size_t passphrase_chars(const char *pass, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)pass[i] & 0xc0) != 0x80;
	return n;
}

void passphrase_free(char *pass, size_t len)
{
	(void)len; /* sodium_free wipes the whole allocation */
	if (pass)
		sodium_free(pass);
}

int store_load_keys(const struct store_paths *p,
		    const struct passphrase_source *src,
		    struct mailbox_keys *k, int *sys_errno)
{
	int wrapped = keyfile_is_wrapped(p->key, sys_errno);
	if (wrapped < 0)
		return wrapped;
	if (!wrapped)
		return keyfile_load(p->key, NULL, 0, k, sys_errno);
	if (src && src->none)
		return KEYS_E_NEED_PASS;
	char *pass;
	size_t len;
	int r = passphrase_read(src, "Passphrase: ", 0, &pass, &len);
	if (r == -ENOTTY)
		return KEYS_E_NEED_PASS;
	/* An empty line opens no wrapped key (init refuses empty ones). */
	if (r == -EINVAL)
		return KEYS_E_PASSPHRASE;
	if (r < 0) {
		*sys_errno = r;
		return STORE_E_PASSPHRASE;
	}
	r = keyfile_load(p->key, pass, len, k, sys_errno);
	passphrase_free(pass, len);
	return r;
}

void store_keys_strerror(const struct store_paths *p,
			 const struct passphrase_source *src, int err,
			 int sys_errno, char *msg, size_t size)
{
	if (err == STORE_E_PASSPHRASE)
		passphrase_strerror(src, sys_errno, msg, size);
	else
		snprintf(msg, size, "%s: %s", p->key,
			 err == KEYS_E_IO && sys_errno ? strerror(sys_errno)
						       : keys_strerror(err));
}

int store_make_dirs(const char *path)
{
	return mkdir_durable(path);
}
