#!/usr/bin/env bash
# 80-parallel.t — 8 delivering processes at once (4 dovecot-lda, 2 qmail-
# style link(), 2 rename(); 100 messages each) while an IMAP client keeps
# SELECTing and FETCHing INBOX through a private Dovecot.  No delivery may
# fail, the client may see no error and no message may shrink away, and at
# the end every one of the 800 messages is there, byte for byte, on disk and
# through IMAP.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require /usr/sbin/dovecot "$DOVECOT_LIBEXEC/dovecot-lda" setpriv python3 cc
WORKERS=8
PER=${IPMD_PARALLEL_PER:-100}
TOTAL=$((WORKERS * PER))
MNT=$TEST_DIR/mnt

menv_imap_mount "$MNT"
for k in $(seq 0 $((WORKERS - 1))); do menv_gen_many "$TEST_DIR/msgs" "p$k" "$PER" small; done
check "dovecot starts on 127.0.0.1:$PORT" menv_dovecot_start "$PORT"

# The IMAP client: "watch" until STOP exists (180 s at most), then "final".
cat >"$TEST_DIR/imapc.py" <<'PY'
import hashlib, imaplib, json, os, re, sys, time

mode, port, user, password, origdir, stop = sys.argv[1:]
MID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]+>)", re.I | re.M)


def mid(data):
    m = MID.search(data.split(b"\n\n", 1)[0])
    return m.group(1) if m else None


want = {}
for n in os.listdir(origdir):
    with open(os.path.join(origdir, n), "rb") as f:
        d = f.read()
    want[mid(d)] = hashlib.sha256(d).hexdigest()


def bodies(imap, spec):
    typ, data = imap.fetch(spec, "(BODY.PEEK[])")
    if typ != "OK":
        raise RuntimeError(f"FETCH {spec}: {typ} {data!r:.200}")
    for item in data:
        if isinstance(item, tuple):
            yield item[1].replace(b"\r\n", b"\n")


def connect():
    imap = imaplib.IMAP4("127.0.0.1", int(port))
    imap.login(user, password)
    return imap


st = {"rounds": 0, "errors": [], "mismatch": 0, "unknown": 0, "fetched": 0,
      "shrank": 0, "max_exists": 0}
imap = connect()
if mode == "watch":
    last, top, end = 0, 0, time.time() + 180
    while not os.path.exists(stop) and time.time() < end:
        try:
            typ, data = imap.select("INBOX")
            if typ != "OK":
                raise RuntimeError(f"SELECT: {typ} {data!r:.200}")
            n, new_top = int(data[0]), 0
            st["shrank"] += n < last
            last = n
            st["max_exists"] = max(st["max_exists"], n)
            if n:
                # Only what arrived since the last round: the watcher must
                # not starve the deliverers of CPU.
                typ, data = imap.uid("FETCH", f"{top + 1}:*",
                                     "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
                if typ != "OK":
                    raise RuntimeError(f"UID FETCH headers: {typ} {data!r:.200}")
                for i in data:
                    if isinstance(i, tuple):
                        uid = int(re.search(rb"UID (\d+)", i[0]).group(1))
                        if uid > top:
                            st["unknown"] += mid(i[1].replace(b"\r\n", b"\n")) not in want
                            new_top = max(new_top, uid)
                top = max(top, new_top)
                for b in bodies(imap, f"{max(1, n - 4)}:{n}"):
                    st["fetched"] += 1
                    st["mismatch"] += want.get(mid(b)) != hashlib.sha256(b).hexdigest()
            st["rounds"] += 1
        except Exception as e:  # noqa: BLE001 — every failure is reported
            st["errors"].append(repr(e)[:300])
            if len(st["errors"]) > 20:
                break
            try:
                imap = connect()
            except Exception as e2:  # noqa: BLE001
                st["errors"].append(repr(e2)[:300])
        time.sleep(0.1)
else:
    typ, data = imap.select("INBOX")
    st["max_exists"] = int(data[0])
    seen = {}
    for b in bodies(imap, "1:*"):
        st["fetched"] += 1
        k = mid(b)
        seen[k] = seen.get(k, 0) + 1
        st["mismatch"] += want.get(k) != hashlib.sha256(b).hexdigest()
    st["missing"] = sum(1 for k in want if k not in seen)
    st["duplicate"] = sum(1 for v in seen.values() if v > 1)
imap.logout()
print(json.dumps(st))
PY
jget() { "$MENV_PY" -c 'import json, sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
jerr() { "$MENV_PY" -c 'import json, sys; print(len(json.loads(sys.argv[1])["errors"]))' "$1"; }

"$MENV_PY" "$TEST_DIR/imapc.py" watch "$PORT" "$MAIL_USER" "$MAIL_PASS" "$TEST_DIR/msgs" "$TEST_DIR/stop" \
	>"$TEST_DIR/watch.json" 2>"$TEST_DIR/watch.err" &
watcher=$!
track_pid "$watcher"

# worker K — deliver messages pK-* one by one as the user, log "rc file".
# One shell per worker runs as the user: the cost per message is the
# deliverer's, not that of setpriv and env.
worker() {
	local k=$1 cmd
	case $k in
	[0-3]) cmd=("$DOVECOT_LIBEXEC/dovecot-lda" -c "$DOVECOT_CONF" -e -f sender@example.org -a "$MAIL_USER@localhost") ;;
	[4-5]) cmd=("$MAIL_DELIVER" "$MNT") ;;
	*) cmd=("$MAIL_DELIVER" --rename "$MNT") ;;
	esac
	menv_as_user bash -c 'for f in "$0"/p'"$k"'-*.eml; do
		"$@" <"$f" >/dev/null
		echo "$? ${f##*/}"
	done' "$TEST_DIR/msgs" "${cmd[@]}" >"$TEST_DIR/worker-$k.log" 2>"$TEST_DIR/worker-$k.err"
}
start=$SECONDS
pids=()
for k in $(seq 0 $((WORKERS - 1))); do
	worker "$k" &
	pids+=($!)
	track_pid "$!"
done
for p in "${pids[@]}"; do wait "$p"; done
diag "$TOTAL deliveries by $WORKERS processes in $((SECONDS - start)) s"
touch "$TEST_DIR/stop"
wait "$watcher"

is "$(cat "$TEST_DIR"/worker-*.log | wc -l)" "$TOTAL" "$TOTAL deliveries attempted"
failed=$(cat "$TEST_DIR"/worker-*.log | awk '$1 != 0' | wc -l)
is "$failed" 0 "every delivery exited 0"
errs=$(cat "$TEST_DIR"/worker-*.err | wc -l)
is "$errs" 0 "the deliverers wrote nothing to stderr"
[ "$failed" -eq 0 ] && [ "$errs" -eq 0 ] || head -n 5 "$TEST_DIR"/worker-*.err | while IFS= read -r l; do diag "$l"; done

watch=$(cat "$TEST_DIR/watch.json")
diag "imap watcher: $watch"
[ -s "$TEST_DIR/watch.err" ] && diag "$(head -c 500 "$TEST_DIR/watch.err")"
check "the IMAP watcher ran rounds during the deliveries" test "$(jget "$watch" rounds)" -gt 0
is "$(jerr "$watch")" 0 "the IMAP watcher saw no error"
is "$(jget "$watch" shrank)" 0 "EXISTS never went down"
is "$(jget "$watch" mismatch)" 0 "every body fetched during the deliveries was byte-exact"
is "$(jget "$watch" unknown)" 0 "no unknown Message-ID appeared"

is "$(menv_count "$MNT")" "$TOTAL" "$TOTAL files in new/ and cur/"
summary=$(menv_match --exact "$TEST_DIR/msgs" "$MNT")
check "every message on disk once, byte-exact ($summary)" test $? -eq 0
is "$(find "$MNT/tmp" -type f | wc -l)" 0 "nothing left in tmp/"

final=$("$MENV_PY" "$TEST_DIR/imapc.py" final "$PORT" "$MAIL_USER" "$MAIL_PASS" "$TEST_DIR/msgs" "$TEST_DIR/stop")
diag "imap final: $final"
is "$(jget "$final" max_exists)" "$TOTAL" "IMAP SELECT sees $TOTAL messages"
is "$(jget "$final" fetched)/$(jget "$final" missing)/$(jget "$final" duplicate)/$(jget "$final" mismatch)" \
	"$TOTAL/0/0/0" "IMAP FETCH returns all $TOTAL byte-exact, none missing or twice"

menv_stop_pid "$DOVECOT_PID"
check "no Error/Panic/Fatal in Dovecot's log" menv_dovecot_log_clean
done_testing
