#!/usr/bin/env bash
# 93-crash.t — SIGKILL the daemon at random moments, many times, and check
# after each crash that nothing acknowledged is lost and nothing is torn.
#
# One store lives through every iteration.  Each iteration mounts it (with
# a commit delay of 5 ms, 50 ms or 1 s, so kills land before, during and
# between commits), checks what the previous crash left, then runs at once:
#   - two qmail-style deliverers (link(), and rename()) and dovecot-lda,
#     each delivering fresh small messages one after another;
#   - a rename storm: flag changes of the same 8 messages in cur/;
#   - folder creation: Maildir++ folders (.F/cur new tmp, maildirfolder);
# and SIGKILLs the daemon a random 0 … 0.7 s after the first delivery of
# the iteration is acknowledged.  The checks:
#   - every delivery whose MDA exited 0 is there, byte-exact (dovecot-lda
#     may add header lines in front), exactly once;
#   - every file in new/ and cur/ (every folder) is a whole message;
#   - each storm message exists exactly once, under the name of its last
#     acknowledged rename, or of the one rename in flight at the kill;
#   - every acknowledged folder is there with cur/ new/ tmp/;
#   - fsck (when built) finds the crashed store consistent (exit 0).
# IPMD_CRASH_ITERATIONS (default 50, as the issue asks of CI); `93-crash.t --long` runs 2000.
# IPMD_CRASH_SEED fixes the random choices.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"
[ "$IPMD_TEST_TARGET" = plain ] && skip_all "crashes need an ipmaildir mount"
menv_require "$DOVECOT_LIBEXEC/dovecot-lda" setpriv python3 cc

ITER=${IPMD_CRASH_ITERATIONS:-50}
[ "${1:-}" = --long ] && ITER=${IPMD_CRASH_ITERATIONS:-2000}
SEED=${IPMD_CRASH_SEED:-$$}
RANDOM=$SEED
diag "iterations=$ITER seed=$SEED"
MNT=$TEST_DIR/mnt
W=$TEST_DIR/work
mkdir -p "$W/msgs"

menv_user
menv_mount "$MNT"
STORE=$MAIL_STORE
menv_deliverer
menv_dovecot_conf "$TEST_DIR/dovecot" "$MNT"
chmod 755 "$W" "$W/msgs"
have_fsck=0
"$IPMD_BIN" fsck --help >/dev/null 2>&1 && have_fsck=1

# The storm's messages, in cur/ before the first crash.
STORM=8
for j in $(seq 1 $STORM); do
	menv_gen "storm-$j" 3000 >"$W/msgs/storm-$j.eml"
	cp "$W/msgs/storm-$j.eml" "$MNT/cur/storm-$j:2,"
done
chown -R "$MAIL_UID:$MAIL_GID" "$MNT/cur"
check "setup unmounts" ipmd_umount "$MNT"
# Under the mountpoint nothing may be created while it is detached.
chmod 555 "$MNT"

cat >"$W/crash.py" <<'PY'
# crash.py MAILDIR WORKDIR PREV NEXT — check what the crash of iteration
# PREV left ("" for none), then write the messages of iteration NEXT.
import os, re, sys
mdir, work, prev, nxt = sys.argv[1:5]
sys.path.insert(0, os.environ["MENV_DIR"])
import genmail
HDR = re.compile(rb"^(?:[!-9;-~]+:.*|[ \t].*)$")
msgs = os.path.join(work, "msgs")
index = os.path.join(work, "index.tsv")
errors = []

def msgid(data):
    head = data.split(b"\n\n", 1)[0]
    m = re.search(rb"^message-id:[ \t]*(<[^>\n]+>)", head, re.I | re.M)
    return m.group(1).decode() if m else None

if not os.path.exists(index):  # first run: what setup wrote (the storm)
    with open(index, "w") as ix:
        for f in sorted(os.listdir(msgs)):
            ix.write("%s\t%s\n" % (msgid(open(os.path.join(msgs, f), "rb").read()), f))
byid = dict(l.rstrip("\n").split("\t") for l in open(index))

def whole(data, o):
    if data == o:
        return True
    if not data.endswith(o):
        return False
    pre = data[: len(data) - len(o)]
    return pre.endswith(b"\n") and all(HDR.match(l) for l in pre[:-1].split(b"\n"))

def lines(name):
    p = os.path.join(work, name)
    return [l.split() for l in open(p)] if os.path.exists(p) else []

acked = 0
if prev:
    seen = {}
    folders = [""] + [d for d in os.listdir(mdir) if d.startswith(".")]
    for fo in folders:
        for sub in ("new", "cur"):
            d = os.path.join(mdir, fo, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                data = open(os.path.join(d, name), "rb").read()
                src = byid.get(msgid(data))
                if not src or not whole(data, open(os.path.join(msgs, src), "rb").read()):
                    errors.append("not a whole message: %s/%s/%s (%d bytes)" % (fo, sub, name, len(data)))
                    continue
                seen.setdefault(src, []).append(os.path.join(fo, sub, name))
    for w in ("link", "rename", "lda"):
        for l in lines("%s-%s.log" % (w, prev)):
            if l[0] != "0":
                continue
            acked += 1
            if len(seen.get(l[1], [])) != 1:
                errors.append("delivery %s acknowledged, found %d times" % (l[1], len(seen.get(l[1], []))))
    for src, where in seen.items():
        if len(where) > 1:
            errors.append("%s present %d times: %s" % (src, len(where), where))
    # The storm: its names before the iteration, then each acknowledged
    # rename; the first failed one was in flight at the kill.
    allowed = {l[0]: set(l[1:2]) for l in lines("storm-start-%s" % prev)}
    inflight = None
    for rc, j, old, new in lines("storm-%s.log" % prev):
        if rc == "0":
            allowed[j] = {new}
        elif inflight is None:
            inflight = (j, new)
    if inflight:
        allowed.setdefault(inflight[0], set()).add(inflight[1])
    for j, names in allowed.items():
        got = [w[len("cur/"):] for w in seen.get("storm-%s.eml" % j, [])]
        if len(got) != 1 or got[0] not in names:
            errors.append("storm message %s: found %s, allowed %s" % (j, got, sorted(names)))
    for rc, f in lines("folders-%s.log" % prev):
        if rc == "0" and not all(os.path.isdir(os.path.join(mdir, f, s)) for s in ("cur", "new", "tmp")):
            errors.append("folder %s acknowledged, not whole" % f)

if nxt:
    with open(index, "a") as ix:
        for w in ("link", "rename", "lda"):
            for i in range(8):
                name = "%s-%s-%02d.eml" % (w, nxt, i)
                data = genmail.message(name, 2000 + (i * 997) % 6000).encode("ascii")
                with open(os.path.join(msgs, name), "wb") as f:
                    f.write(data)
                os.chmod(os.path.join(msgs, name), 0o644)
                ix.write("%s\t%s\n" % (msgid(data), name))

for e in errors[:20]:
    print("# " + e)
print("acked=%d errors=%d" % (acked, len(errors)))
sys.exit(1 if errors else 0)
PY

# Workers: each logs "rc what" per operation until STOP appears.
deliver_loop() { # NAME ITER [--rename]
	local name=$1 it=$2; shift 2
	menv_as_user bash -c 'for f in "$0"/'"$name"'-'"$it"'-*.eml; do
		[ -e "$1" ] && break
		"$2" "${@:4}" "$3" <"$f" >/dev/null 2>&1
		echo "$? ${f##*/}"
	done' "$W/msgs" "$W/stop" "$MAIL_DELIVER" "$MNT" "$@" >"$W/$name-$it.log"
}
lda_loop() { # ITER
	menv_as_user bash -c 'for f in "$0"/lda-'"$1"'-*.eml; do
		[ -e "$2" ] && break
		"${@:3}" <"$f" >/dev/null 2>&1
		echo "$? ${f##*/}"
	done' "$W/msgs" "$it" "$W/stop" "$DOVECOT_LIBEXEC/dovecot-lda" -c "$DOVECOT_CONF" -e \
		-f sender@example.org -a "$MAIL_USER@localhost" >"$W/lda-$1.log"
}
storm_loop() { # ITER — names come from storm-start-ITER
	local it=$1 flags=(S RS FRS F "" T ST) n=0 j old new
	declare -A cur
	while read -r j old; do cur[$j]=$old; done <"$W/storm-start-$it"
	while [ ! -e "$W/stop" ] && [ $n -lt 400 ]; do
		j=$((RANDOM % STORM + 1))
		old=${cur[$j]}
		new="storm-$j:2,${flags[$((RANDOM % ${#flags[@]}))]}"
		[ "$new" = "$old" ] && continue
		mv "$MNT/cur/$old" "$MNT/cur/$new" 2>/dev/null
		rc=$?
		echo "$rc $j $old $new"
		[ $rc -eq 0 ] && cur[$j]=$new
		[ $rc -eq 0 ] || break
		n=$((n + 1))
	done >"$W/storm-$it.log"
}
folder_loop() { # ITER
	local it=$1 k=0 f
	while [ ! -e "$W/stop" ] && [ $k -lt 6 ]; do
		f=.F$it-$k
		{ mkdir "$MNT/$f" && mkdir "$MNT/$f/cur" "$MNT/$f/new" "$MNT/$f/tmp" &&
			: >"$MNT/$f/maildirfolder"; } 2>/dev/null
		rc=$?
		echo "$rc $f"
		[ $rc -eq 0 ] || break
		k=$((k + 1))
	done >"$W/folders-$it.log"
}

# kill_tree PID — SIGKILL PID's descendants (by parent pid), deepest first.
# After the crash a deliverer still in flight only retries (qmail-style
# deliverers sleep between tries on a failed stat): its answer can no
# longer be a success, so it is cut short rather than waited for.
kill_tree() {
	local c
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do kill_tree "$c"; done
	kill -9 "$1" 2>/dev/null
}

# show_tree PID — what a hung client and its children wait on.
show_tree() {
	local c
	kill -0 "$1" 2>/dev/null || return 0
	diag "  $(ps -o pid=,stat=,wchan:24=,args= -p "$1" | cut -c1-110)"
	sed -n 1,4p "/proc/$1/stack" 2>/dev/null | while IFS= read -r l; do diag "      $l"; done
	if [ -n "${IPMD_CRASH_GDB:-}" ] && grep -qx dovecot-lda "/proc/$1/comm" 2>/dev/null; then
		ls -l "/proc/$1/fd" | sed 's/^/#        /'
		gdb -batch -p "$1" -ex bt 2>/dev/null | grep '^#' | sed 's/^/#        /'
		strace -f -tt -p "$1" -o "$W/lda-strace.$1" & local sp=$!
		sleep 5; kill "$sp"; wait "$sp" 2>/dev/null
		tail -20 "$W/lda-strace.$1" | sed 's/^/#  strace /'
	fi
	for c in $(ps -o pid= --ppid "$1" 2>/dev/null); do show_tree "$c"; done
}

# wait_all SECONDS PID... — 0 when all exit in time, else 1 (a hang).
wait_all() {
	local limit=$1 p; shift
	for _ in $(seq $((limit * 10))); do
		local alive=0
		for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && break
		sleep 0.1
	done
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done
	for p in "$@"; do wait "$p" 2>/dev/null; done
	return 0
}

mount_it() {
	local delays=(5 50 1000)
	ipmd_mount "$STORE" "$MNT" -o allow_other,commit_delay=${delays[$((RANDOM % 3))]}
}

lost_iters=0 total_acked=0 hangs=0 fsck_bad=0 mount_bad=0 renames=0 folders=0
prev=
t_start=$SECONDS
for it in $(seq 1 "$ITER"); do
	if ! mount_it; then
		mount_bad=$((mount_bad + 1))
		diag "iteration $it: the store does not mount after crash $prev"
		tail -5 "$TEST_DIR/ipmaildir.log" | while IFS= read -r l; do diag "$l"; done
		break
	fi
	out=$(MENV_DIR=$MENV_DIR "$MENV_PY" "$W/crash.py" "$MNT" "$W" "$prev" "$it")
	rc=$?
	acked=$(echo "$out" | sed -n 's/^acked=\([0-9]*\).*/\1/p')
	total_acked=$((total_acked + ${acked:-0}))
	if [ $rc -ne 0 ]; then
		lost_iters=$((lost_iters + 1))
		diag "after crash $prev:"
		echo "$out" | grep '^#' | head -10
	fi
	# Checked: keep the mailbox small so each check stays cheap.
	if [ $((it % 10)) = 0 ]; then
		find "$MNT/new" "$MNT/cur" -type f ! -name 'storm-*' -delete
	fi
	rm -rf "$MNT"/.F*
	ls "$MNT/cur" | awk -v n=$STORM '/^storm-[0-9]+:/ {
		split($0, a, /[-:]/); name[a[2]] = $0 }
		END { for (j = 1; j <= n; j++) print j, name[j] }' >"$W/storm-start-$it"
	rm -f "$W/stop"
	# (bash's "Killed" notices of cut-short deliverers go to /dev/null)
	{ deliver_loop link "$it" & } 2>/dev/null; p1=$!
	{ deliver_loop rename "$it" --rename & } 2>/dev/null; p2=$!
	lda_loop "$it" & p3=$!
	storm_loop "$it" & p4=$!
	folder_loop "$it" & p5=$!
	# Kill at a random moment once work is under way: after the first
	# acknowledged delivery (or 3 s), then 0 … 0.7 s more.
	for _ in $(seq 30); do
		cat "$W"/{link,rename,lda}-"$it".log 2>/dev/null | grep -q '^0 ' && break
		sleep 0.1
	done
	sleep "0.$((RANDOM % 8))"
	kill -9 "$IPMD_PID" 2>/dev/null
	wait "$IPMD_PID" 2>/dev/null
	touch "$W/stop"
	# dovecot-lda, the storm and the folders must end by themselves.
	# After a crash dovecot-lda still walks every folder's uidlist
	# dotlock (mailbox_list_index_sync), each attempt on the dead mount
	# waiting in Dovecot's own event loop for seconds before it gives up:
	# bounded, but ~3 s a folder.  So folders are few and wiped every
	# iteration, and the bound is for hangs, not for Dovecot's slowness.
	if ! wait_all 60 $p3 $p4 $p5; then
		hangs=$((hangs + 1))
		diag "iteration $it: a client still runs 60 s after the crash"
		for p in $p3 $p4 $p5; do show_tree "$p"; done
		for p in $p3 $p4 $p5; do kill_tree "$p"; done
	fi
	for p in $p1 $p2; do
		for c in $(ps -o pid= --ppid "$p" 2>/dev/null); do kill_tree "$c"; done
	done
	wait_all 10 $p1 $p2 || hangs=$((hangs + 1))
	fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
	renames=$((renames + $(awk '$1 == 0' "$W/storm-$it.log" | wc -l)))
	folders=$((folders + $(awk '$1 == 0' "$W/folders-$it.log" | wc -l)))
	if [ "$have_fsck" = 1 ]; then
		"$IPMD_BIN" fsck --store "$STORE" >"$W/fsck.out" 2>&1
		rc=$?
		if [ $rc -ne 0 ]; then
			fsck_bad=$((fsck_bad + 1))
			# On stderr too, which prove shows without -v: a CI
			# log keeps the reason.
			[ $fsck_bad -le 3 ] && {
				said="# fsck after crash $it (seed $SEED): exit $rc"$'\n'$(head -n 40 "$W/fsck.out" | sed 's/^/#   /')
				echo "$said"
				echo "$said" >&2
			}
		fi
	fi
	prev=$it
done
if [ "$mount_bad" = 0 ] && mount_it; then
	out=$(MENV_DIR=$MENV_DIR "$MENV_PY" "$W/crash.py" "$MNT" "$W" "$prev" "")
	rc=$?
	acked=$(echo "$out" | sed -n 's/^acked=\([0-9]*\).*/\1/p')
	total_acked=$((total_acked + ${acked:-0}))
	[ $rc -ne 0 ] && { lost_iters=$((lost_iters + 1)); echo "$out" | grep '^#' | head -10; }
	ipmd_umount "$MNT"
else
	mount_bad=$((mount_bad + 1))
fi
diag "$ITER crashes in $((SECONDS - t_start)) s; $total_acked acknowledged deliveries, $renames acknowledged renames, $folders folders checked"
is "$mount_bad" 0 "the store mounts again after every crash"
is "$lost_iters" 0 "no acknowledged delivery, rename or folder lost; nothing partial ($ITER crashes)"
is "$hangs" 0 "no client hangs when the daemon dies"
check "deliveries were acknowledged before the crashes ($total_acked)" test "$total_acked" -gt "$ITER"
if [ "$have_fsck" = 1 ]; then
	is "$fsck_bad" 0 "fsck finds every crashed store consistent"
fi
done_testing
