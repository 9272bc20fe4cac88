# tests/integration/mail-env.sh — the test user, private Dovecot and Postfix
# instances, and message checks for the integration scripts.
#
# Source after lib.sh:   . "$here/lib.sh"; . "$here/mail-env.sh"
#
# Nothing here touches the system's own Dovecot or Postfix: every instance
# has its own configuration, base/queue/state directories and log under
# $TEST_DIR, listens on 127.0.0.1 only, and is stopped by pid at exit.

MENV_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MENV_TOP=${IPMD_TOP:-$(cd "$MENV_DIR/../.." && pwd)}
# pid_start: lib.sh brings it; the benchmarks source this file alone.
declare -F pid_start >/dev/null || . "$MENV_DIR/../ipfs-node/pid.sh"
MAIL_USER=ipmdtest
MAIL_PASS=ipmd-test-secret
# A system user keeps a fixed home: Postfix's local(8) finds the Maildir
# through it, so 30-postfix.t points $MAIL_HOME/Maildir at the mount.
MAIL_HOME=/var/lib/ipmdtest
DOVECOT_LIBEXEC=/usr/lib/dovecot
# The distribution's interpreter: a version manager's shim on PATH can cost
# half a second per start, and these scripts start python often.
MENV_PY=/usr/bin/python3
[ -x "$MENV_PY" ] || MENV_PY=python3
export CI=${CI:-true}

# menv_require CMD... — skip the whole script when a program is missing.
menv_require() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip_all "$c not installed"
	done
}

# menv_user — create the test user once (idempotent, safe when two scripts
# race), set MAIL_UID/MAIL_GID.
menv_user() {
	if ! getent passwd "$MAIL_USER" >/dev/null; then
		useradd -r -M -d "$MAIL_HOME" -s /usr/sbin/nologin \
			-c "ipmaildir integration tests" "$MAIL_USER" 2>/dev/null ||
			getent passwd "$MAIL_USER" >/dev/null || bail "cannot create user $MAIL_USER"
	fi
	MAIL_UID=$(id -u "$MAIL_USER")
	MAIL_GID=$(id -g "$MAIL_USER")
	mkdir -p "$MAIL_HOME"
	chown "$MAIL_UID:$MAIL_GID" "$MAIL_HOME"
	chmod 755 "$MAIL_HOME"
}

# menv_user_argv — MENV_ARGV becomes the prefix that runs a command as the
# test user with a clean environment (more VAR=value words may follow it);
# $MENV_USER_HOME (default $TEST_DIR/home) is its $HOME.
menv_user_argv() {
	MENV_ARGV=(setpriv --reuid="$MAIL_UID" --regid="$MAIL_GID" --init-groups
		env -i PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin
		HOME="${MENV_USER_HOME:-$TEST_DIR/home}" USER="$MAIL_USER"
		LOGNAME="$MAIL_USER" LANG=C.UTF-8 TZ=UTC)
}

# menv_as_user CMD... — run CMD as the test user (see menv_user_argv).
menv_as_user() {
	local MENV_ARGV
	menv_user_argv
	"${MENV_ARGV[@]}" "$@"
}

# menv_pty SECONDS SCREENLOG CMD... — run CMD on a pseudo-terminal of
# 120x40 (for full-screen programs such as neomutt), feed it nothing, keep
# what it drew in SCREENLOG, SIGKILL it after SECONDS.  Exit: CMD's status,
# 124 on timeout.
menv_pty() {
	"$MENV_PY" - "$@" <<'PY'
import fcntl, os, pty, select, signal, struct, sys, termios, time
limit, log, argv = float(sys.argv[1]), sys.argv[2], sys.argv[3:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(argv[0], argv)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
end, out, status = time.time() + limit, bytearray(), None
while status is None and time.time() < end:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            out += os.read(fd, 65536)
        except OSError:
            pass
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(st)
if status is None:
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    status = 124
with open(log, "wb") as f:
    f.write(out)
sys.exit(status if 0 <= status < 256 else 1)
PY
}

# menv_mount MNT [STORE] — a fresh mailbox mounted at MNT with allow_other
# (plain target: a directory), handed to the test user.  Sets MAIL_STORE.
menv_mount() {
	local mnt=$1
	MAIL_STORE=${2:-$TEST_DIR/store}
	if [ "$IPMD_TEST_TARGET" != plain ]; then
		[ -x "$IPMD_BIN" ] || bail "no ipmaildir binary at $IPMD_BIN (run make)"
		ipmd_init "$MAIL_STORE" || bail "ipmaildir init failed"
		ipmd_mount "$MAIL_STORE" "$mnt" -o allow_other || bail "mount failed"
	else
		ipmd_mount "$MAIL_STORE" "$mnt"
	fi
	# The mail software runs as the test user, as it would for a real
	# mailbox: the mailbox root and cur/ new/ tmp/ must be its own.
	chown "$MAIL_UID:$MAIL_GID" "$mnt" "$mnt/cur" "$mnt/new" "$mnt/tmp" ||
		diag "chown of the mount to $MAIL_USER failed"
	mkdir -p "$TEST_DIR/home"
	chown "$MAIL_UID:$MAIL_GID" "$TEST_DIR/home"
}

# menv_stop_pid PID [START] — SIGTERM, wait up to 10 s, then SIGKILL; with
# START (pid_start, tests/ipfs-node/pid.sh), only while PID is still that process: an
# EXIT trap runs it long after, when the pid may name another.
menv_stop_pid() {
	local p=$1 s=${2:-} i
	[ -z "$s" ] || pid_is "$p" "$s" || return 0
	kill "$p" 2>/dev/null || return 0
	for i in $(seq 100); do
		kill -0 "$p" 2>/dev/null || return 0
		[ -z "$s" ] || pid_is "$p" "$s" || return 0
		sleep 0.1
	done
	kill -9 "$p" 2>/dev/null || true
}

# menv_wait_port PORT — until 127.0.0.1:PORT accepts (10 s).
menv_wait_port() {
	"$MENV_PY" - "$1" <<'PY'
import socket, sys, time
end = time.time() + 10
while time.time() < end:
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
}

# ---------------------------------------------------------------- Dovecot

# menv_dovecot_conf DIR MAILDIR [PORT [LMTP_USER]] — write
# DIR/dovecot.conf for a private instance: Maildir++ at MAILDIR with
# Dovecot's own index files in it (as a user's Dovecot would), IMAP on
# 127.0.0.1:PORT when PORT is given (0: no IMAP listener), plain login
# for $MAIL_USER / $MAIL_PASS.  With LMTP_USER, Dovecot's LMTP server
# also runs, on the unix socket $DOVECOT_LMTP (mode 0600, owned by
# LMTP_USER: Postfix's lmtp(8) runs as mail_owner).  Sets DOVECOT_CONF,
# DOVECOT_LOG and DOVECOT_LMTP.
menv_dovecot_conf() {
	local dir=$1 maildir=$2 port=${3:-} lmtp_user=${4:-} protocols=
	[ "$port" = 0 ] && port=
	[ -n "$port" ] && protocols=imap
	[ -n "$lmtp_user" ] && protocols="$protocols lmtp"
	mkdir -p "$dir"
	DOVECOT_CONF=$dir/dovecot.conf
	DOVECOT_LOG=$dir/dovecot.log
	# base_dir is run/; the socket is named after its listener.
	DOVECOT_LMTP=${lmtp_user:+$dir/run/lmtp}
	printf '%s:{PLAIN}%s::::::\n' "$MAIL_USER" "$MAIL_PASS" >"$dir/passwd"
	chmod 644 "$dir/passwd"
	# Written by the log process (root) and by dovecot-lda (the user).
	: >"$DOVECOT_LOG"
	chown "$MAIL_UID:$MAIL_GID" "$DOVECOT_LOG"
	cat >"$DOVECOT_CONF" <<EOF
# Private Dovecot instance of an ipmaildir integration test.
instance_name = ipmd-$(basename "$TEST_DIR")-$(basename "$dir")
base_dir = $dir/run
state_dir = $dir/state
log_path = $DOVECOT_LOG
info_log_path = $DOVECOT_LOG
log_timestamp = "%Y-%m-%d %H:%M:%S "
protocols = ${protocols# }
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = $MAIL_UID
last_valid_uid = 0
mail_location = maildir:$maildir
# Index files read, not mapped (docs/mail-software.md, "Dovecot"): on a
# FUSE mount fstat during another process's append can be ahead of the
# kernel's size, and a mapped page between the two is SIGBUS
# (tests/integration/23-mmap-grow.t).  The plain directory gets the same.
mmap_disable = yes
postmaster_address = postmaster@localhost
hostname = localhost
namespace inbox {
  inbox = yes
  separator = /
  mailbox Trash {
    special_use = \\Trash
  }
}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%n $dir/passwd
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$TEST_DIR/home
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${port:-0}
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = 0
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = 0
  }
}
service lmtp {
  unix_listener lmtp {
    mode = 0600${lmtp_user:+
    user = $lmtp_user}
  }
}
# dovecot-lda runs as the test user and reports to the stats process when
# this instance is up: let it, or it logs "Permission denied" errors.
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
	# LMTP's recipient is user@domain; the passdb knows the user.
	[ -z "$lmtp_user" ] || cat >>"$DOVECOT_CONF" <<'EOF'
protocol lmtp {
  auth_username_format = %Ln
}
EOF
	chmod 644 "$DOVECOT_CONF"
}

# menv_dovecot_start — run the instance of $DOVECOT_CONF in the foreground
# as a tracked child; wait until IMAP answers when PORT was configured.
menv_dovecot_start() {
	local port=${1:-}
	/usr/sbin/dovecot -c "$DOVECOT_CONF" -F &
	DOVECOT_PID=$!
	track_pid "$DOVECOT_PID"
	# Before the unmount in the EXIT trap: imap processes hold files open.
	on_cleanup "menv_stop_pid $DOVECOT_PID $(pid_start "$DOVECOT_PID")"
	if [ -n "$port" ]; then
		menv_wait_port "$port" || { cat "$DOVECOT_LOG" >&2; return 1; }
	fi
}

# menv_lda [ARGS...] <MESSAGE — dovecot-lda as the test user, as Postfix's
# mailbox_command would run it.  Exit code is the LDA's.
menv_lda() {
	menv_as_user "$DOVECOT_LIBEXEC/dovecot-lda" -c "$DOVECOT_CONF" -e \
		-f sender@example.org -a "$MAIL_USER@localhost" "$@"
}

# menv_doveadm ARGS... — doveadm of the private instance, as the test user
# (no auth lookup needed: the mailbox is the caller's own).
menv_doveadm() {
	menv_as_user doveadm -c "$DOVECOT_CONF" "$@"
}

# menv_dovecot_log_clean — no Error/Panic/Fatal line in Dovecot's log.
menv_dovecot_log_clean() {
	if grep -E '(Error|Panic|Fatal):' "$DOVECOT_LOG" >&2; then return 1; fi
	return 0
}

# ---------------------------------------------------------------- Postfix

# menv_postfix_conf DIR [SMTP_PORT LMTP_SOCKET] — a private Postfix:
# config, queue and data directories under DIR, nothing relayed.  Alone:
# local delivery to home_mailbox = Maildir/, nothing listening on the
# network.  With SMTP_PORT and LMTP_SOCKET: smtpd(8) on 127.0.0.1:SMTP_PORT
# and every local recipient handed to the LMTP server at LMTP_SOCKET (a
# unix socket, e.g. Dovecot's), as an MX in front of Dovecot runs.  Sets
# POSTFIX_CONF, POSTFIX_QUEUE and POSTFIX_LOG.
menv_postfix_conf() {
	local dir=$1 smtp_port=${2:-} lmtp_socket=${3:-}
	POSTFIX_CONF=$dir/etc
	POSTFIX_QUEUE=$dir/spool
	POSTFIX_LOG=$dir/maillog
	mkdir -p "$POSTFIX_CONF" "$POSTFIX_QUEUE" "$dir/data"
	chown postfix "$dir/data"
	cat >"$POSTFIX_CONF/main.cf" <<EOF
# Private Postfix instance of an ipmaildir integration test.
compatibility_level = 3.6
queue_directory = $POSTFIX_QUEUE
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-ipmdtest
maillog_file = $POSTFIX_LOG
maillog_file_prefixes = $dir
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = localhost
mydomain = localdomain
myorigin = localhost
mydestination = localhost
mynetworks = 127.0.0.0/8
relayhost =
default_transport = error:no mail leaves an ipmaildir test
relay_transport = error:no mail leaves an ipmaildir test
alias_maps =
alias_database =
local_recipient_maps =
home_mailbox = Maildir/
mailbox_command =
biff = no
append_dot_mydomain = no
smtputf8_enable = no
disable_dns_lookups = yes
smtp_dns_support_level = disabled
queue_run_delay = 5s
minimal_backoff_time = 5s
maximal_backoff_time = 10s
EOF
	# Only what a sendmail(1) submission to a local mailbox needs.
	cat >"$POSTFIX_CONF/master.cf" <<'EOF'
# service type  private unpriv  chroot  wakeup  maxproc command
pickup    unix  n       -       n       1       1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
flush     unix  n       -       n       1000?   0       flush
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
	[ -n "$smtp_port" ] || return 0
	# Mail from 127.0.0.1 is treated as an MX treats mail from outside:
	# its headers are not rewritten (local_header_rewrite_clients), and
	# no MIME conversion: what comes in is what Dovecot gets.  Delays are
	# logged to the ms (bench/mail_pipeline.sh sums them).
	cat >>"$POSTFIX_CONF/main.cf" <<EOF
local_transport = lmtp:unix:$lmtp_socket
local_header_rewrite_clients =
disable_mime_output_conversion = yes
smtpd_peername_lookup = no
delay_logging_resolution_limit = 3
EOF
	cat >>"$POSTFIX_CONF/master.cf" <<EOF
127.0.0.1:$smtp_port inet n     -       n       -       -       smtpd
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
proxymap  unix  -       -       n       -       -       proxymap
EOF
}

# menv_postfix_start — start the instance (postfix(1) daemonizes master;
# its pid is tracked and `postfix stop` runs at exit).
menv_postfix_start() {
	# postfix(1) logs to syslog until postlogd runs: show its file on failure.
	if ! postfix -c "$POSTFIX_CONF" check >&2 || ! postfix -c "$POSTFIX_CONF" start >&2; then
		cat "$POSTFIX_LOG" >&2 2>/dev/null
		return 1
	fi
	on_cleanup "postfix -c '$POSTFIX_CONF' stop"
	local i
	for i in $(seq 50); do
		[ -s "$POSTFIX_QUEUE/pid/master.pid" ] && break
		sleep 0.1
	done
	POSTFIX_PID=$(tr -d ' \n' <"$POSTFIX_QUEUE/pid/master.pid" 2>/dev/null)
	[ -n "$POSTFIX_PID" ] || return 1
	track_pid "$POSTFIX_PID"
}

# menv_sendmail RCPT <MESSAGE — submit through the private instance.
menv_sendmail() {
	sendmail -C "$POSTFIX_CONF" -i -f sender@example.org "$@"
}

# menv_smtp_expect ORIGDIR EXPECTDIR — each ORIGDIR/*.eml as it arrives
# when smtp-source -F sends it: smtp-source ends the DATA with an empty
# line of its own (CRLF CRLF "." CRLF), so the message the server receives
# is the file and one more LF.  What the mail server must then store.
menv_smtp_expect() {
	"$MENV_PY" - "$1" "$2" <<'PY'
import os, sys
src, dst = sys.argv[1:]
os.makedirs(dst, exist_ok=True)
for n in sorted(os.listdir(src)):
    if n.endswith(".eml"):
        with open(os.path.join(src, n), "rb") as f:
            d = f.read()
        with open(os.path.join(dst, n), "wb") as f:
            f.write(d + b"\n")
PY
}

# menv_smtp_send PORT SESSIONS LIST — every file named in LIST (one path a
# line) sent to smtpd on 127.0.0.1:PORT by Postfix's smtp-source (see
# menv_smtp_expect for what arrives), one SMTP session per message (from
# sender@example.org to $MAIL_USER@localhost), SESSIONS sessions at a
# time.  Prints "rc file" per message (rc: 0 the server accepted it).
menv_smtp_send() {
	# shellcheck disable=SC2016 # expanded by the inner shell
	tr '\n' '\0' <"$3" | xargs -0 -r -n 1 -P "$2" sh -c 'smtp-source -4 -F "$2" -m 1 \
		-f sender@example.org -t "$0@localhost" -M client.example.org \
		"inet:127.0.0.1:$1" >/dev/null 2>&1; echo "$? $2"' "$MAIL_USER" "$1"
}

# ---------------------------------------------------------------- deliverer

# menv_deliverer — path of the qmail-style C deliverer in MAIL_DELIVER:
# the one `make` built, else compiled here into $TEST_DIR.
menv_deliverer() {
	local src=$MENV_TOP/tests/tools/maildir_deliver.c
	MAIL_DELIVER=$IPMD_TOOLS/maildir_deliver
	if [ -x "$MAIL_DELIVER" ] && [ ! "$src" -nt "$MAIL_DELIVER" ]; then return 0; fi
	MAIL_DELIVER=$TEST_DIR/maildir_deliver
	cc -std=c17 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o "$MAIL_DELIVER" "$src" ||
		bail "cannot build $src"
}

# menv_imap_mount MNT — what an IMAP test starts from: the test user, its
# mount at MNT, the C deliverer, and a private Dovecot configured to serve
# MNT on 127.0.0.1:$PORT, a free port (menv_dovecot_start "$PORT").
menv_imap_mount() {
	PORT=$(free_port)
	menv_user
	menv_mount "$1"
	menv_deliverer
	menv_dovecot_conf "$TEST_DIR/dovecot" "$1" "$PORT"
}

# menv_notmuch_config FILE MAILDIR — a notmuch configuration for the test
# user in FILE: the database in MAILDIR, new mail tagged unread and inbox,
# no tag excluded from searches, flags kept in step with Maildir names.
menv_notmuch_config() {
	cat >"$1" <<EOF
[database]
path=$2
[user]
name=Test User
primary_email=$MAIL_USER@localhost
[new]
tags=unread;inbox;
ignore=
[search]
exclude_tags=
[maildir]
synchronize_flags=true
EOF
	chmod 644 "$1"
}

# ---------------------------------------------------------------- messages

# menv_gen SEED SIZE [MARKER] — one message on stdout (see genmail.py).
menv_gen() {
	"$MENV_PY" "$MENV_DIR/genmail.py" "$@"
}

# menv_gen_many DIR PREFIX COUNT [MIX] — see genmail.py --many.
menv_gen_many() {
	"$MENV_PY" "$MENV_DIR/genmail.py" --many "$@"
}

# menv_match [--exact] ORIGDIR MAILDIR — see mailcheck.py: every ORIGDIR/*.eml
# is in MAILDIR's new/ or cur/ exactly once (found by Message-ID), byte for
# byte: the delivered file ends with the original and anything before it is
# whole header lines an MDA added (Return-Path, Delivered-To, Received...);
# --exact allows nothing before.  Prints one summary line
# "originals=N found=N missing=N duplicate=N corrupt=N others=N"; details go
# to stderr as TAP comments.  Exit 0 when nothing is missing, duplicate or
# corrupt (messages other than the originals are counted, not errors).
menv_match() {
	"$MENV_PY" "$MENV_DIR/mailcheck.py" "$@"
}

# menv_count MAILDIR — number of messages in new/ and cur/.
menv_count() {
	find "$1/new" "$1/cur" -maxdepth 1 -type f | wc -l
}
