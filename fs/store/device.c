/* fs/store/device.c — see device.h. */
#include "fs/store/device.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "crypto/seal.h"
#include "fs/model/tree.h"
#include "fs/store/head.h"
#include "util/io.h"

#define DEVICE_V 1

static const char *const machine_files[] = {"/etc/machine-id",
					    "/var/lib/dbus/machine-id"};

void device_machine_id(char out[DEVICE_MACHINE_MAX + 1])
{
	out[0] = '\0';
	for (size_t i = 0; i < sizeof(machine_files) / sizeof(*machine_files);
	     i++) {
		int fd = open(machine_files[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		size_t n = 0;
		int e = read_full(fd, out, DEVICE_MACHINE_MAX, &n);
		close(fd);
		if (e)
			n = 0;
		/* The id, up to its newline; only what JSON carries as is. */
		size_t k = 0;
		while (k < n && isxdigit((unsigned char)out[k]))
			k++;
		out[k] = '\0';
		if (k)
			return;
	}
}

uint64_t device_draw(const uint64_t *avoid, unsigned n)
{
	for (;;) {
		uint64_t d = 1 + randombytes_uniform(
					 (uint32_t)(TREE_DEVICES - 1));
		bool taken = false;
		for (unsigned i = 0; i < n && !taken; i++)
			taken = tree_ino_range(avoid[i]) == d;
		if (!taken)
			return d;
	}
}

static bool get_u64(const json_t *o, const char *k, uint64_t *v)
{
	const json_t *x = json_object_get(o, k);
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return false;
	*v = (uint64_t)json_integer_value(x);
	return true;
}

static bool get_str(const json_t *o, const char *k, char *out, size_t cap)
{
	const json_t *x = json_object_get(o, k);
	if (!json_is_string(x) || json_string_length(x) >= cap)
		return false;
	memcpy(out, json_string_value(x), json_string_length(x) + 1);
	return true;
}

static int parse_peer(const json_t *p, struct device_state *d)
{
	if (json_is_null(p))
		return 0;
	const json_t *c = json_object_get(p, "commit");
	const json_t *seen = json_object_get(p, "seen");
	if (!json_is_object(p) || !json_is_string(c) ||
	    cid_parse(&d->peer, json_string_value(c),
		      json_string_length(c)) != 0 ||
	    !get_u64(p, "seq", &d->peer_seq) || !json_is_integer(seen) ||
	    !get_str(p, "how", d->peer_how, sizeof(d->peer_how)))
		return -EBADMSG;
	d->peer_seen_ns = json_integer_value(seen);
	d->has_peer = true;
	return 0;
}

static int parse_ends(const json_t *a, struct device_state *d)
{
	size_t i;
	const json_t *x;
	if (!a)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > DEVICE_ENDS_MAX)
		return -EBADMSG;
	json_array_foreach(a, i, x) {
		if (!json_is_string(x) ||
		    cid_parse(&d->ends[i], json_string_value(x),
			      json_string_length(x)) != 0 ||
		    !cid_is_raw_sha256(&d->ends[i]))
			return -EBADMSG;
		d->nends = (unsigned)i + 1;
	}
	return 0;
}

unsigned device_add_ends(struct device_state *d, const struct cid *ends,
			 size_t n)
{
	unsigned added = 0;
	for (size_t i = 0; i < n; i++) {
		bool have = false;
		for (unsigned k = 0; k < d->nends && !have; k++)
			have = cid_equal(&d->ends[k], &ends[i]);
		if (have)
			continue;
		if (d->nends == DEVICE_ENDS_MAX) {
			memmove(d->ends, d->ends + 1,
				(DEVICE_ENDS_MAX - 1) * sizeof(d->ends[0]));
			d->nends--;
		}
		d->ends[d->nends++] = ends[i];
		added++;
	}
	return added;
}

static int parse(const uint8_t *plain, size_t len, struct device_state *d)
{
	json_t *o = json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES,
			       NULL);
	uint64_t v = 0;
	int e = -EBADMSG;
	memset(d, 0, sizeof(*d));
	if (json_is_object(o) && get_u64(o, "v", &v) && v == DEVICE_V &&
	    get_u64(o, "device", &d->device) && d->device < TREE_DEVICES &&
	    get_str(o, "machine", d->machine, sizeof(d->machine)))
		e = parse_peer(json_object_get(o, "peer"), d);
	if (!e)
		e = parse_ends(json_object_get(o, "ends"), d);
	json_decref(o);
	return e;
}

int device_read(const char *path, const uint8_t key[IPMD_KEY_BYTES],
		struct device_state *d)
{
	uint8_t sealed[STATE_FILE_PLAIN_MAX + IPMD_SEAL_OVERHEAD];
	uint8_t plain[STATE_FILE_PLAIN_MAX];
	size_t len = 0, plen = 0;
	memset(d, 0, sizeof(*d));
	int e = state_file_load(path, sealed, sizeof(sealed), &len);
	if (e)
		return e;
	if (seal_open(plain, &plen, sealed, len, BLOCK_STATE_DEVICE, key))
		return -EBADMSG;
	return parse(plain, plen, d);
}

static json_t *peer_json(const struct device_state *d)
{
	char text[CID_TEXT_MAX];
	if (!d->has_peer)
		return json_null();
	if (cid_format(&d->peer, text, sizeof(text)) != 0)
		return NULL;
	return json_pack("{s:s,s:I,s:I,s:s}", "commit", text, "seq",
			 (json_int_t)d->peer_seq, "seen",
			 (json_int_t)d->peer_seen_ns, "how", d->peer_how);
}

/* d's ends as a JSON array, or NULL (out of memory). */
static json_t *ends_json(const struct device_state *d)
{
	json_t *a = json_array();
	for (unsigned i = 0; a && i < d->nends; i++) {
		char text[CID_TEXT_MAX];
		if (cid_format(&d->ends[i], text, sizeof(text)) != 0 ||
		    json_array_append_new(a, json_string(text))) {
			json_decref(a);
			a = NULL;
		}
	}
	return a;
}

int device_write(const char *path, const uint8_t key[IPMD_KEY_BYTES],
		 const struct device_state *d)
{
	if (d->device >= TREE_DEVICES)
		return -EINVAL;
	json_t *o = json_pack("{s:i,s:I,s:s,s:o}", "v", DEVICE_V, "device",
			      (json_int_t)d->device, "machine", d->machine,
			      "peer", peer_json(d));
	/* Only when there are any: the file is byte for byte as before. */
	if (o && d->nends && json_object_set_new(o, "ends", ends_json(d))) {
		json_decref(o);
		o = NULL;
	}
	char *text = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	if (!text)
		return -ENOMEM;
	int e = state_file_write(path, key, BLOCK_STATE_DEVICE,
				 (const uint8_t *)text, strlen(text));
	free(text);
	return e;
}

int device_take(const struct store_paths *p, const uint8_t key[IPMD_KEY_BYTES],
		const uint64_t *avoid, unsigned n, struct device_state *d,
		enum device_taken *how)
{
	char here[DEVICE_MACHINE_MAX + 1];
	device_machine_id(here);
	int e = device_read(p->device, key, d);
	if (e == 0 && (!d->machine[0] || !here[0] ||
		       !strcmp(d->machine, here))) {
		*how = DEVICE_KEPT;
		if (d->machine[0] || !here[0])
			return 0;
		/* Recorded before a machine id existed: record it now. */
		snprintf(d->machine, sizeof(d->machine), "%s", here);
		return device_write(p->device, key, d);
	}
	if (e && e != -ENOENT)
		return e;
	if (e == -ENOENT) {
		memset(d, 0, sizeof(*d));
		*how = DEVICE_FIRST;
	} else {
		/* A copy of another machine's store: a range of its own, and
		 * whatever it saw of the others is that machine's. */
		d->device = device_draw(avoid, n);
		d->has_peer = false;
		*how = DEVICE_MOVED;
	}
	snprintf(d->machine, sizeof(d->machine), "%s", here);
	return device_write(p->device, key, d);
}

int device_restore(const struct store_paths *p,
		   const uint8_t key[IPMD_KEY_BYTES], uint64_t *device,
		   bool *drawn)
{
	struct device_state d;
	*drawn = false;
	int e = device_read(p->device, key, &d);
	if (e != -ENOENT) {
		if (!e && device)
			*device = d.device;
		return e;
	}
	int data = store_has_data(p);
	if (data < 0)
		return data;
	if (data)
		return 0; /* the store init made (or an old one): device 0 */
	memset(&d, 0, sizeof(d));
	d.device = device_draw(NULL, 0);
	device_machine_id(d.machine);
	e = device_write(p->device, key, &d);
	if (!e) {
		*drawn = true;
		if (device)
			*device = d.device;
	}
	return e;
}
