#!/usr/bin/env bash
# 50-imap.t — a private Dovecot imapd serves the mount on 127.0.0.1; a
# scripted imaplib session checks every response and what it did on disk:
# FETCH byte-exact, STORE -> :2,FLAGS suffixes, COPY (hard links) to a
# folder, EXPUNGE, CREATE/RENAME/DELETE of Maildir++ .Folder directories,
# APPEND.  Dovecot's log must end up with no Error/Panic/Fatal line.
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
. "$here/mail-env.sh"

menv_require /usr/sbin/dovecot "$DOVECOT_LIBEXEC/dovecot-lda" setpriv python3 cc
MNT=$TEST_DIR/mnt

menv_imap_mount "$MNT"

# 12 messages: half through dovecot-lda, half qmail-style behind its back.
menv_gen_many "$TEST_DIR/msgs" imap 11 small
menv_gen imap-big 1800000 >"$TEST_DIR/msgs/imap-big.eml"
failed=0
i=0
for f in "$TEST_DIR"/msgs/*.eml; do
	if [ $((i % 2)) -eq 0 ]; then menv_lda <"$f"; else menv_as_user "$MAIL_DELIVER" "$MNT" <"$f" >/dev/null; fi 2>>"$TEST_DIR/deliver.err"
	[ $? -eq 0 ] || failed=$((failed + 1))
	i=$((i + 1))
done
is "$failed" 0 "12 messages delivered (dovecot-lda and qmail-style)"
is "$(wc -l <"$TEST_DIR/deliver.err")" 0 "the deliverers wrote nothing to stderr"

check "dovecot starts on 127.0.0.1:$PORT" menv_dovecot_start "$PORT"

"$MENV_PY" - "$PORT" "$MAIL_USER" "$MAIL_PASS" "$TEST_DIR/msgs" "$MNT" "$here/genmail.py" >"$TEST_DIR/imap.tap" 2>&1 <<'PY'
import imaplib, os, re, subprocess, sys

port, user, password, origdir, mnt, genmail = sys.argv[1:]
MID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]+>)", re.I | re.M)


def report(good, desc):
    print(("PASS " if good else "FAIL ") + desc, flush=True)
    return good


def diag(s):
    print("# " + s, flush=True)


def msgid(data):
    m = MID.search(data.split(b"\n\n", 1)[0])
    return m.group(1).decode() if m else None


def run(desc, fn, *args, want="OK"):
    """One IMAP command; its status must be `want`."""
    try:
        typ, data = fn(*args)
    except imaplib.IMAP4.error as e:
        typ, data = "EXC", [str(e).encode()]
    report(typ == want, f"{desc} -> {typ}" + ("" if typ == want else f" {data!r:.200}"))
    return data if typ == want else None


def disk(folder=None):
    """{message-id: [(sub, name, flags, path)]} of a folder on disk."""
    base = mnt if folder is None else os.path.join(mnt, "." + folder)
    out = {}
    for sub in ("new", "cur"):
        for n in os.listdir(os.path.join(base, sub)):
            p = os.path.join(base, sub, n)
            with open(p, "rb") as f:
                d = f.read()
            flags = n.split(":2,", 1)[1] if ":2," in n else ""
            out.setdefault(msgid(d), []).append((sub, n, flags, p))
    return out


def fetch_all(imap):
    """{uid: (message-id, body as stored with LF, rfc822.size)}"""
    data = run("UID FETCH 1:* (RFC822.SIZE BODY.PEEK[])", imap.uid, "FETCH", "1:*",
               "(RFC822.SIZE BODY.PEEK[])")
    out = {}
    for item in data or []:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        size = int(re.search(r"RFC822\.SIZE (\d+)", meta).group(1))
        body = item[1]
        out[uid] = (msgid(body.replace(b"\r\n", b"\n")), body, size)
    return out


origs = {}
for n in sorted(os.listdir(origdir)):
    with open(os.path.join(origdir, n), "rb") as f:
        d = f.read()
    origs[msgid(d)] = d
N = len(origs)

imap = imaplib.IMAP4("127.0.0.1", int(port))
report("IMAP4REV1" in imap.capabilities,
       "greeting advertises IMAP4rev1")
run("LOGIN", imap.login, user, password)
data = run('LIST "" "*"', imap.list, '""', '"*"')
report(data is not None and any(b'"INBOX"' in l or l.endswith(b" INBOX") for l in data),
       "LIST shows INBOX")
data = run("SELECT INBOX", imap.select, "INBOX")
report(data == [str(N).encode()], f"SELECT reports {N} messages (got {data})")
report(not os.listdir(os.path.join(mnt, "new")), "SELECT moved every message from new/ to cur/")

# FETCH: every message byte for byte (the server sends CRLF).
got = fetch_all(imap)
report(len(got) == N, f"FETCH returns {N} messages (got {len(got)})")
bad = 0
for uid, (mid, body, size) in got.items():
    want = origs.get(mid)
    if want is None or body.replace(b"\r\n", b"\n") != want or size != len(body) \
            or body.count(b"\r\n") != want.count(b"\n"):
        bad += 1
        diag(f"uid {uid} {mid}: {len(body)} bytes, RFC822.SIZE {size}, "
             f"original {len(want) if want else 'unknown'}")
report(bad == 0 and set(m for m, _, _ in got.values()) == set(origs),
       "every FETCHed body is byte-exact (LF<->CRLF) with its RFC822.SIZE")
uids = sorted(got)
mid_of = {u: got[u][0] for u in uids}

# STORE: flags end up as the :2,FLAGS suffix of the file in cur/.
stores = [("+FLAGS", r"(\Seen)", "S"), ("+FLAGS", r"(\Flagged \Answered)", "FR"),
          ("+FLAGS", r"(\Deleted)", "T"), ("+FLAGS", r"(\Draft \Seen)", "DS"),
          ("+FLAGS", "($Label1)", "a")]
for (op, flags, _), uid in zip(stores, uids):
    run(f"UID STORE {uid} {op} {flags}", imap.uid, "STORE", str(uid), op, flags)
run("NOOP", imap.noop)
on_disk = disk()
for (_, flags, suffix), uid in zip(stores, uids):
    files = on_disk.get(mid_of[uid], [])
    names = [f"{s}/{n}" for s, n, _, _ in files]
    report(len(files) == 1 and files[0][0] == "cur" and files[0][2] == suffix,
           f"STORE {flags} gives cur/*:2,{suffix} ({names})")
untouched = [on_disk.get(mid_of[u], [("?", "?", "?", "?")])[0][2] for u in uids[len(stores):]]
report(all(f == "" for f in untouched), "messages without flags keep an empty :2, suffix")
kw = os.path.join(mnt, "dovecot-keywords")
report(os.path.exists(kw) and "$Label1" in open(kw).read(), "dovecot-keywords names $Label1")
data = run(f"UID FETCH {uids[1]} FLAGS", imap.uid, "FETCH", str(uids[1]), "(FLAGS)")
report(data is not None and b"\\Flagged" in data[0] and b"\\Answered" in data[0],
       "FETCH FLAGS returns the stored flags")

# CREATE + COPY: the copies are hard links (maildir_copy_with_hardlinks).
run("CREATE Archive", imap.create, "Archive")
report(os.path.isdir(os.path.join(mnt, ".Archive", "cur")), ".Archive/cur exists on disk")
report(os.path.exists(os.path.join(mnt, ".Archive", "maildirfolder")), ".Archive/maildirfolder exists")
run(f"UID COPY {uids[0]}:{uids[1]} Archive", imap.uid, "COPY", f"{uids[0]}:{uids[1]}", "Archive")
arch = disk("Archive")
for uid, suffix in ((uids[0], "S"), (uids[1], "FR")):
    files = arch.get(mid_of[uid], [])
    ok = len(files) == 1 and files[0][2] == suffix
    if ok:
        with open(files[0][3], "rb") as f:
            ok = f.read() == origs[mid_of[uid]]
    report(ok, f"COPY put {mid_of[uid]} in .Archive/cur with :2,{suffix}, byte-exact")
    if files:
        st = os.stat(files[0][3])
        src = on_disk[mid_of[uid]][0][3]
        report(st.st_nlink == 2 and st.st_ino == os.stat(src).st_ino,
               f"the copy is a hard link of the INBOX file (st_nlink {st.st_nlink})")
data = run("STATUS Archive (MESSAGES)", imap.status, "Archive", "(MESSAGES)")
report(data is not None and b"MESSAGES 2" in data[0], f"STATUS Archive says 2 messages ({data})")

# EXPUNGE removes the \Deleted message's file.
data = run("EXPUNGE", imap.expunge)
report(data is not None and data != [None] and len(data) == 1, f"EXPUNGE expunges one message ({data})")
on_disk = disk()
report(mid_of[uids[2]] not in on_disk, "the expunged message's file is gone from cur/")
report(len(on_disk) == N - 1, f"{N - 1} messages left on disk ({len(on_disk)})")

# Folders: CREATE/RENAME/DELETE as Maildir++ directories.
def isdir(name):
    return os.path.isdir(os.path.join(mnt, name))
run("CREATE Projects", imap.create, "Projects")
report(isdir(".Projects") and isdir(".Projects/new") and isdir(".Projects/tmp"),
       ".Projects with cur/ new/ tmp/ appears")
run(f"UID COPY {uids[5]} Projects", imap.uid, "COPY", str(uids[5]), "Projects")
run("RENAME Projects Work", imap.rename, "Projects", "Work")
report(not isdir(".Projects") and isdir(".Work/cur"), ".Projects became .Work")
report(mid_of[uids[5]] in disk("Work"), "the message moved along with the folder")
run("CREATE Work/Sub", imap.create, "Work/Sub")
report(isdir(".Work.Sub/cur"), ".Work.Sub appears for Work/Sub")
data = run('LIST "" "*"', imap.list, '""', '"*"')
names = b"\n".join(data or [])
report(all(n in names for n in (b"Archive", b"Work", b"Work/Sub")), "LIST shows Archive, Work, Work/Sub")
run("DELETE Work/Sub", imap.delete, "Work/Sub")
report(not isdir(".Work.Sub"), ".Work.Sub is gone")
run("SELECT Work", imap.select, "Work")
run("STORE 1:* +FLAGS (\\Deleted)", imap.store, "1:*", "+FLAGS", r"(\Deleted)")
run("CLOSE", imap.close)
run("DELETE Work", imap.delete, "Work")
report(not isdir(".Work"), ".Work is gone")
run("SELECT INBOX", imap.select, "INBOX")

# APPEND: stored with LF, flags in the name, readable back.
appended = []
for i, (folder, flags, suffix) in enumerate((("INBOX", r"(\Seen)", "S"),
                                             ("Archive", r"(\Seen \Flagged)", "FS"),
                                             ("INBOX", None, ""))):
    msg = subprocess.run([sys.executable, genmail, f"imap-append-{i}", str(3000 + i * 200000)],
                         check=True, capture_output=True).stdout
    run(f"APPEND {folder} {flags}", imap.append, folder, flags, None, msg.replace(b"\n", b"\r\n"))
    files = disk(None if folder == "INBOX" else folder).get(msgid(msg), [])
    good = len(files) == 1 and files[0][2] == suffix
    if good:
        with open(files[0][3], "rb") as f:
            good = f.read() == msg
    report(good, f"APPEND to {folder} stores the message byte-exact with :2,{suffix}"
           f" ({[n for _, n, _, _ in files]})")
    appended.append(msgid(msg))
run("NOOP", imap.noop)
got = fetch_all(imap)
report(set(appended[0::2]) <= set(m for m, _, _ in got.values()), "FETCH sees the appended messages")
run("LOGOUT", imap.logout, want="BYE")

# A fresh session agrees with the first one.
imap = imaplib.IMAP4("127.0.0.1", int(port))
run("LOGIN again", imap.login, user, password)
data = run("SELECT INBOX", imap.select, "INBOX")
report(data == [str(N - 1 + 2).encode()], f"INBOX holds {N + 1} messages in a new session ({data})")
data = run("STATUS Archive (MESSAGES)", imap.status, "Archive", "(MESSAGES)")
report(data is not None and b"MESSAGES 3" in data[0], f"Archive holds 3 messages ({data})")
run("LOGOUT", imap.logout, want="BYE")
PY
diag "imap client exit $?"
while IFS= read -r line; do
	case $line in
	"PASS "*) ok "${line#PASS }" ;;
	"FAIL "*) not_ok "${line#FAIL }" ;;
	*) diag "$line" ;;
	esac
done <"$TEST_DIR/imap.tap"
check "the imap session ran to its end" grep -q 'Archive holds 3 messages' "$TEST_DIR/imap.tap"

menv_stop_pid "$DOVECOT_PID"
check "no Error/Panic/Fatal in Dovecot's log" menv_dovecot_log_clean
done_testing
